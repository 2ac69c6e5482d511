"""JSON Schema checks of loaded documents: a fast acceptance test, and jsonschema for located errors."""
