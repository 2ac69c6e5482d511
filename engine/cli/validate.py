"""`verdict validate`: load, schema-check, type-check and lint policy files, then report
the findings (text, JSON, GitHub annotations, JUnit or SARIF).

The cheap CI gate: this module and its imports stay free of the compiler, the evaluator
and the test suites (a valid policy does not even import jsonschema).
"""

from __future__ import annotations

import os
from dataclasses import replace

import click

from ..explain import report
from ..io.policies import check_policy_file, discover
from ..language.diagnostics import ERROR, WARNING, Diagnostic
from ..language.loader import check_policy_ids
from .common import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, InputError, write_output


@click.command("validate")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="text", show_default=True,
              help="Output format for the findings.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 on any warning).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file (atomically).")
@click.option("--root", type=click.Path(file_okay=False, exists=True),
              help="Repository root that SARIF and Code Quality paths are relative to "
                   "[default: the nearest folder upwards with a .git].")
def validate_cmd(paths: tuple[str, ...], fmt: str, strict: bool, output: str | None, root: str | None = None) -> int:
    """Load, schema-check, type-check and lint policies (files or folders of *.yaml)."""
    files = discover(list(paths))
    if not files:
        raise InputError(f"no policy files found in {', '.join(paths)}")
    diags: list[Diagnostic] = []
    policies = []
    unreadable = False
    for f in files:
        policy, ds = check_policy_file(f)
        diags.extend(ds)
        unreadable |= any(d.code == "unreadable" for d in ds)
        if policy is not None:
            from ..analysis.findings import analyse  # exact static analysis: warnings and information, with witnesses

            diags.extend(analyse(policy))
            policies.append(policy)
    diags.extend(check_policy_ids(policies))
    if strict:
        diags = [replace(d, severity=ERROR) if d.severity == WARNING and d.suppressed is None else d for d in diags]
    if unreadable:
        # An unreadable input is a usage problem, not a finding: one line each, no report.
        for d in diags:
            if d.code == "unreadable":
                click.echo(f"verdict: {d.file}: {d.message}", err=True)
        return EXIT_INPUT
    write_output(report.render(fmt, diags, files, root or find_root(os.getcwd())), output)
    return EXIT_FINDINGS if any(d.severity == ERROR and d.suppressed is None for d in diags) else EXIT_OK


def find_root(start: str) -> str:
    """The repository root: the nearest folder from `start` upwards holding `.git` (a
    folder, or a file in a worktree or submodule); `start` itself when there is none."""
    here = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return os.path.abspath(start)
        here = parent
