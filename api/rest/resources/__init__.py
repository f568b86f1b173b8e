"""Falcon resources, one module per group of routes; each parses, calls the domain and replies."""
