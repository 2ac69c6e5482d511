"""`verdict schema`: print one of the JSON Schemas verdict ships (policy, decision, test file)."""

from __future__ import annotations

import click

from .common import EXIT_OK, InputError, write_output


@click.command("schema")
@click.argument("name", type=click.Choice(["policy", "decision", "test"]), default="policy")
def schema_cmd(name: str) -> int:
    """Print a JSON Schema: the policy language (default), the decision, or a test file."""
    import json

    from ..language.schema.validate import load_schema  # the one reader of schemas

    try:
        doc = load_schema(f"{name}.schema.json")
    except (OSError, ModuleNotFoundError):
        # Not shipped (yet) in this build: one line and exit 2, not a traceback.
        raise InputError(f"no `{name}` schema in this version of verdict") from None
    write_output(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", None)
    return EXIT_OK
