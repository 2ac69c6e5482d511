"""`verdict test`: run policy test suites (*.test.yaml) with rule, condition and threshold
coverage and CI report formats; or, with --generate-boundaries, write a starter suite."""

from __future__ import annotations

import click

from .common import (AS_OF, EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, AsOf, InputError, load_ruleset,
                     write_output)


@click.command("test")
@click.argument("paths", nargs=-1)
@click.option("--backend", type=click.Choice(["native", "durable", "duckdb"]), default="native", show_default=True,
              help="Which executable form decides every case (duckdb: the SQL form, compared with native).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "github", "markdown"]),
              default="text", show_default=True, help="Report format.")
@click.option("--coverage", "with_coverage", is_flag=True,
              help="Report rule, condition and threshold-boundary coverage.")
@click.option("--min-coverage", metavar="N|METRIC=N,…",
              help="Fail (exit 1) when a policy's coverage is below N% (implies --coverage); "
                   "metrics: rules, conditions, boundaries.")
@click.option("-k", "--run", "select", metavar="REGEX", help="Run only the cases whose name matches.")
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only failures.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the report (or, with --generate-boundaries, the test file) to a file; `-` is stdout.")
@click.option("--markdown-summary", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also append a Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--generate-boundaries", "generate", metavar="POLICY",
              help="Write a starter test file for POLICY: one case per threshold boundary.")
@click.option("--force", is_flag=True, help="With --generate-boundaries: overwrite an existing file.")
@AS_OF
def test_cmd(paths, backend, fmt, with_coverage, min_coverage, select, verbose, output, markdown_summary,
             generate, force, as_of=None) -> int:
    """Run policy test suites (*.test.yaml), with coverage of rules, conditions and thresholds.

    PATHS are test files, policies (their suites are found beside them) or folders
    searched recursively; default: the current folder. `--as-of` is the evaluation date of
    the cases that give none (a case's `as_of`, else its suite's, come first). Exit 0 all
    passed, 1 a case failed or coverage is below the minimum, 2 usage error or an invalid
    test file."""
    import re as _re

    from ..errors import BackendError
    from ..explain import report
    from ..io.policies import check_policy_file, read_file
    from ..language.diagnostics import ERROR
    from ..suites import coverage, load, render, run as runner

    if generate:
        if paths:
            raise InputError("--generate-boundaries takes a policy, not test PATHS")
        return _generate_boundaries(generate, output, force, as_of)
    minimum = None
    if min_coverage is not None:
        try:
            minimum = coverage.parse_min_coverage(min_coverage)
        except ValueError as exc:
            raise InputError(f"--min-coverage: {exc}") from None
    if select is not None:
        try:
            _re.compile(select)
        except _re.error as exc:
            raise InputError(f"--run: invalid regular expression: {exc}") from None
    files, problems = load.discover_tests(list(paths) or ["."])
    for p in problems:
        click.echo(f"verdict: {p}", err=True)
    if problems:
        return EXIT_INPUT
    if not files:
        raise InputError(f"no test files (*.test.yaml) found in {', '.join(paths) or '.'}")
    suites, diags = load.load_suites(files, read_file, check_policy_file, as_of=as_of)
    if any(d.severity == ERROR for d in diags):
        # An invalid test file is an input error: every finding, located, and no results.
        click.echo(report.render_text(diags, files), err=True, nl=False)
        return EXIT_INPUT
    try:
        run = runner.run_suites(suites, backend, select)
    except BackendError as exc:
        raise InputError(str(exc)) from None
    if select is not None and not run.results:
        raise InputError(f"--run: no case name matches `{select}`")
    rep = render.Report(run, verbose=verbose, minimum=minimum)
    if with_coverage or minimum is not None:
        rep.coverage = coverage.coverage(run)
        if minimum is not None:
            rep.gate_failures = coverage.gate(rep.coverage, minimum)
    write_output(render.render(fmt, rep), None if output == "-" else output)
    if markdown_summary:
        from ..io.files import append_text

        append_text(markdown_summary, render.render_markdown(rep))  # failing: OutputError, reported by `main`
    return EXIT_OK if rep.ok else EXIT_FINDINGS


def _generate_boundaries(policy_path: str, output: str | None, force: bool, as_of=None) -> int:
    """Write the boundary suite of a policy beside it (or to `output`; `-` is stdout). The
    suite of a policy that uses time is generated on `as_of` (default today), which it
    records, so its date boundaries stay where they were generated."""
    import os
    from pathlib import Path

    from ..language.loader import POLICY_SUFFIXES
    from ..suites.generate import generate_boundary_suite
    from ..suites.load import TEST_SCHEMA

    ruleset = load_ruleset(policy_path)
    if output is None:
        stem = Path(policy_path).name
        for suffix in POLICY_SUFFIXES:
            stem = stem.removesuffix(suffix)
        output = str(Path(policy_path).with_name(stem + ".test.yaml"))
    target_dir = Path(output).parent if output != "-" else Path(".")
    if output != "-" and Path(output).exists() and not force:
        raise InputError(f"{output} exists; use --force to overwrite it, or -o to write elsewhere")
    policy_ref = os.path.relpath(policy_path, target_dir).replace(os.sep, "/")
    # The modeline points at the test schema of the repository the file lands in (where
    # `verdict init` or `verdict schema --write schemas` puts it), so editors check it offline;
    # with none above the target there is no modeline rather than an address nothing serves.
    schema_ref = None
    for folder in [target_dir.resolve(), *target_dir.resolve().parents]:
        candidate = folder / "schemas" / TEST_SCHEMA
        if candidate.is_file():
            schema_ref = os.path.relpath(candidate, target_dir.resolve()).replace(os.sep, "/")
            break
    try:
        text = generate_boundary_suite(ruleset.policy, policy_ref, schema_ref,
                                       as_of=AsOf(as_of)(ruleset.policy))
    except ValueError as exc:
        raise InputError(f"{policy_path}: {exc}") from None
    write_output(text, None if output == "-" else output)
    if output != "-":
        n = text.count("\n  - name: ")
        click.echo(f"wrote {output}: {n} boundary case{'s' if n != 1 else ''}; review every expectation", err=True)
    if schema_ref is None:
        click.echo(f"verdict: note: no schemas/{TEST_SCHEMA} above {target_dir}, so no editor modeline; "
                   "`verdict schema --write schemas` adds the schemas", err=True)
    return EXIT_OK
