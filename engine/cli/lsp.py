"""`verdict lsp`: start the language server for policy files (stdio).

The server lives in `engine.lsp`: its standard input and output are the protocol's own
transport, not command output, so nothing here writes to them. It is imported when the
command runs, so other commands never load it (nor pygls, an optional dependency).
"""

from __future__ import annotations

import click

from .common import EXIT_OK, InputError


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin and stdout (the default and only transport; "
                                             "accepted because editors pass it).")
def lsp_cmd(stdio: bool) -> int:
    """Run the language server for policy files over stdin/stdout (for VS Code, Neovim,
    Helix; see docs/editor.md): diagnostics, hover, definitions, references, completion
    and quick fixes."""
    try:
        from ..lsp.server import serve
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith(("pygls", "lsprotocol")):
            raise
        raise InputError("verdict lsp needs pygls: install verdict with its `lsp` extra "
                         "(pip install 'pygls>=1.3,<2')") from None
    serve()
    return EXIT_OK
