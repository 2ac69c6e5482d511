"""`verdict schema`: print one of the JSON Schemas verdict ships (policy, decision, test
file), or write them into a folder (`--write DIR`) so that a policy repository carries its
own copies: editors (yaml-language-server's modeline, VS Code's `yaml.schemas`) then
resolve them offline, in that repository, whatever verdict version anyone has installed.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import EXIT_OK, InputError, write_output

NAMES = ("policy", "decision", "test")


def schema_text(name: str) -> str:
    """The schema `name` as verdict prints and writes it (pretty JSON, one final newline)."""
    import json

    from ..language.schema.validate import load_schema  # the one reader of schemas

    try:
        doc = load_schema(f"{name}.schema.json")
    except (OSError, ModuleNotFoundError):
        # Not shipped (yet) in this build: one line and exit 2, not a traceback.
        raise InputError(f"no `{name}` schema in this version of verdict") from None
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def schema_files(folder: Path, names=NAMES) -> dict[Path, str]:
    """`<folder>/<name>.schema.json` -> text, for each schema named."""
    return {folder / f"{name}.schema.json": schema_text(name) for name in names}


@click.command("schema")
@click.argument("name", type=click.Choice(NAMES), required=False)
@click.option("--write", "folder", type=click.Path(file_okay=False), metavar="DIR",
              help="Write the schemas (all three, or NAME) into DIR as NAME.schema.json, replacing older copies.")
def schema_cmd(name: str | None, folder: str | None) -> int:
    """Print a JSON Schema: the policy language (default), the decision, or a test file."""
    if folder is None:
        write_output(schema_text(name or "policy"), None)
        return EXIT_OK
    from ..io.files import write_files

    # Copies of verdict's own schemas: replacing them is what refreshing them after an
    # upgrade means, so no --force here (unlike `verdict init`, which writes user files).
    files = schema_files(Path(folder), (name,) if name else NAMES)
    write_files(files)
    click.echo(f"wrote {', '.join(str(p) for p in files)}", err=True)
    return EXIT_OK
