"""Policy test suites: model, loading, running, coverage, rendering, generation."""
