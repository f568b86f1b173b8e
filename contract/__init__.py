"""The farm's shared contract: names, script-config schemas, materials and secrets that api/, flows/ and devices/ all use."""
