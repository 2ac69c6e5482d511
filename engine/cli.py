"""The `verdict` command line: thin click commands over the library.

Exit codes: 0 success; 1 findings (invalid policy, failed test); 2 usage or input error.
Commands never print tracebacks for bad input: every failure is one located line.
"""

from __future__ import annotations

import sys

import click

from . import report
from .diagnostics import ERROR, Diagnostic
from .loader import check_policy_file, discover

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


class InputError(click.ClickException):
    """A usage or input problem: one line on stderr, exit 2."""

    exit_code = EXIT_INPUT

    def show(self, file=None) -> None:
        click.echo(f"verdict: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="verdict", prog_name="verdict")
def main() -> None:
    """verdict: declarative consumer-credit policies that explain every decision."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="text", show_default=True,
              help="Output format for the findings.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 on any warning).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file (atomically).")
def validate(paths: tuple[str, ...], fmt: str, strict: bool, output: str | None) -> None:
    """Load, schema-check, type-check and lint policies (files or folders of *.yaml)."""
    files = discover(list(paths))
    if not files:
        raise InputError(f"no policy files found in {', '.join(paths)}")
    diags: list[Diagnostic] = []
    unreadable = False
    seen_ids: dict[str, str] = {}
    for f in files:
        policy, ds = check_policy_file(f)
        diags.extend(ds)
        unreadable |= any(d.code == "unreadable" for d in ds)
        if policy is not None:
            if policy.id in seen_ids:
                loc = policy.extras["id_loc"]
                diags.append(Diagnostic("policy-duplicate-id", f"policy id `{policy.id}` is also used by "
                                        f"{seen_ids[policy.id]}", ERROR, f, loc.line, loc.column, "/policy"))
            else:
                seen_ids[policy.id] = f
    if strict:
        diags = [Diagnostic(**{**d.__dict__, "severity": ERROR}) if d.severity == "warning" else d for d in diags]
    if unreadable:
        # An unreadable input is a usage problem, not a finding: one line each, no report.
        for d in diags:
            if d.code == "unreadable":
                click.echo(f"verdict: {d.file}: {d.message}", err=True)
        sys.exit(EXIT_INPUT)
    write_output(report.render(fmt, diags, files), output)
    sys.exit(EXIT_FINDINGS if any(d.severity == ERROR for d in diags) else EXIT_OK)


@main.command()
@click.argument("name", type=click.Choice(["policy", "decision", "test"]), default="policy")
def schema(name: str) -> None:
    """Print a JSON Schema: the policy language (default), the decision, or a test file."""
    from .schema_errors import load_schema
    import json

    click.echo(json.dumps(load_schema(f"{name}.schema.json"), indent=2, ensure_ascii=False))


def write_output(text: str, output: str | None) -> None:
    """Write to stdout, or atomically to a file (never a half-written file)."""
    if output is None:
        click.echo(text, nl=False)
        return
    from .io import atomic_write_text

    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None


if __name__ == "__main__":  # pragma: no cover
    main()
