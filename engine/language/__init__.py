"""The policy language: reading YAML with positions, diagnostics, the IR, validation and its schemas."""
