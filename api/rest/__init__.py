"""The HTTP layer: the Falcon app, its middleware, request schemas, resources, envelope and OpenAPI."""
