"""`python -m engine.cli`: the `verdict` command."""

from .main import main

main()
