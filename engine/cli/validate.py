"""`verdict validate`: load, schema-check, type-check and lint policy files, then report
the findings (text, JSON, GitHub annotations, JUnit, SARIF or GitLab Code Quality).

The cheap CI gate: this module and its imports stay free of the compiler, the evaluator
and the test suites (a valid policy does not even import jsonschema).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

import click

from ..explain import report
from ..io.files import stdout_sink
from ..io.policies import check_policy_file, discover
from ..language.diagnostics import ERROR, WARNING, Diagnostic
from ..language.loader import POLICY_SUFFIXES, check_policy_ids
from ..language.source import MAX_BYTES
from .common import AS_OF, EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, AsOf, InputError, write_output


@click.command("validate")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="text", show_default=True,
              help="Output format for the findings.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 on any warning).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file (atomically).")
@click.option("--root", type=click.Path(file_okay=False, exists=True),
              help="Repository root that SARIF and Code Quality paths are relative to "
                   "[default: the nearest folder upwards with a .git].")
@click.option("--severity", "least", type=click.Choice(report.SEVERITIES), default="info", show_default=True,
              help="The least severe findings shown (all of them still decide the exit code).")
@click.option("-q", "--quiet", is_flag=True, help="Show only errors and the summary (as --severity error).")
@click.option("--max-warnings", type=click.IntRange(min=0), metavar="N",
              help="Exit 1 when there are more than N warnings.")
@AS_OF
def validate_cmd(paths: tuple[str, ...], fmt: str, strict: bool, output: str | None, root: str | None = None,
                 least: str = "info", quiet: bool = False, max_warnings: int | None = None, as_of=None) -> int:
    """Load, schema-check, type-check and lint policies (files or folders of *.yaml); a
    *.test.yaml named on the command line is checked as a test suite, and any other file
    named that is not a policy is skipped with a notice. `--as-of` is the evaluation date
    the analysis resolves relative dates on (default: today in each policy's timezone)."""
    found = discover(list(paths))
    if not found:
        raise InputError(f"no policy files found in {', '.join(paths)}")
    named = {os.path.abspath(p) for p in paths if not os.path.isdir(p)}
    files, suite_files = [], []
    for f in found:
        kind, why = _kind(f) if os.path.abspath(f) in named else ("policy", "")
        if kind == "suite":
            suite_files.append(f)
        elif kind == "policy":
            files.append(f)
        else:  # what pre-commit hands over: every changed file, a workflow or a README too
            click.echo(f"verdict: {f}: skipped, {why}", err=True)
    diags: list[Diagnostic] = []
    policies = []
    dates = AsOf(as_of)
    owners: dict[str, str] = {}  # a policy's other file (a table's rows CSV) -> the policy
    analysed_on: dict[str, str] = {}  # file -> the day its relative dates were resolved on
    for f in files:
        policy, ds = check_policy_file(f)
        if policy is not None:
            from ..analysis.findings import analyse  # exact static analysis: warnings and information, with witnesses

            day = dates(policy)
            if day is not None:  # a policy that uses time: its findings are of this day
                analysed_on[f] = day.isoformat()
            ds = list(ds) + list(analyse(policy, as_of=day))
            policies.append(policy)
        diags.extend(ds)
        owners.update((d.file, f) for d in ds if d.file and d.file != f)
    diags.extend(check_policy_ids(policies))
    if suite_files:
        from ..io.policies import read_file
        from ..suites.load import load_suites

        diags.extend(load_suites(suite_files, read_file, check_policy_file, as_of=as_of)[1])
        files += suite_files
    if strict:
        diags = [replace(d, severity=ERROR) if d.severity == WARNING and d.suppressed is None else d for d in diags]
    if any(d.code == "unreadable" for d in diags):
        # An unreadable input is a usage problem, not a finding: one line each, no report.
        for d in diags:
            if d.code == "unreadable":
                click.echo(f"verdict: {d.file}: {d.message}", err=True)
        return EXIT_INPUT
    colour = fmt == "text" and output is None and report.use_colour(stdout_sink())
    text = report.render(fmt, diags, files, root or find_root(os.getcwd()),
                         least=ERROR if quiet else least, colour=colour, owners=owners, as_of=analysed_on)
    write_output(text, output)  # the sink writes the text as it is, colour codes included
    # The exit code counts every finding, shown or not.
    counted = [d for d in diags if d.suppressed is None]
    if any(d.severity == ERROR for d in counted):
        return EXIT_FINDINGS
    warnings = len({d for d in counted if d.severity == WARNING})  # as the summary counts them
    if max_warnings is not None and warnings > max_warnings:
        click.echo(f"verdict: {warnings} warning{'s' if warnings != 1 else ''}, more than --max-warnings "
                   f"{max_warnings}", err=True)
        return EXIT_FINDINGS
    return EXIT_OK


# What engine.suites.load.TEST_SUFFIXES says, not imported from there: `validate` loads the
# test suites only when one is named (a test checks the two agree).
TEST_SUFFIXES = (".test.yaml", ".test.yml")
_MODELINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=\S*policy\.schema\.json", re.M)
_POLICY_KEY = re.compile(r"""^["']?policy["']?[ \t]*:""", re.M)
_TOP_LEVEL_KEY = re.compile(r"""^[^\s#\-\[{!&*|>%@`][^\n]*?:(?:[ \t]|$)""", re.M)


def _kind(path: str) -> tuple[str, str]:
    """What a file named on the command line is: "suite" (a *.test.yaml), "policy" (a
    top-level `policy` key or the policy schema's modeline), or "skip" and why. A YAML
    file with no top-level key at all (empty, a list, unreadable) is checked as a policy,
    so its author hears what is wrong with it."""
    if path.endswith(TEST_SUFFIXES):
        return "suite", ""
    if not path.endswith(POLICY_SUFFIXES):
        return "skip", "not a YAML file"
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return "policy", ""  # the loader reports it, located
    if _MODELINE.search(text) or _POLICY_KEY.search(text) or not _TOP_LEVEL_KEY.search(text):
        return "policy", ""
    return "skip", "not a policy (no top-level `policy` key or policy schema modeline)"


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
