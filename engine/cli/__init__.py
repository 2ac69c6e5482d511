"""The `verdict` command line: the only place that reads files and prints (with `engine.io`)."""

from .main import main

__all__ = ["main"]
