"""The `verdict` command line: thin click commands over the library.

Exit codes: 0 success; 1 findings (invalid policy, failed test); 2 usage or input error.
Commands never print tracebacks for bad input: every failure is one located line.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import click

from ..explain import report
from ..language.diagnostics import ERROR, WARNING, Diagnostic
from ..language.loader import check_policy_file, discover
from .compile import compile_cmd

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


main.add_command(compile_cmd)


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
            from ..analysis.findings import analyse  # exact static analysis: warnings and information, with witnesses

            diags.extend(analyse(policy))
            if policy.id in seen_ids:
                loc = policy.extras["id_loc"]
                diags.append(Diagnostic("policy-duplicate-id", f"policy id `{policy.id}` is also used by "
                                        f"{seen_ids[policy.id]}", ERROR, f, loc.line, loc.column, "/policy"))
            else:
                seen_ids[policy.id] = f
    if strict:
        diags = [replace(d, severity=ERROR) if d.severity == WARNING else d for d in diags]
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
    from ..language.schema.validate import load_schema
    import json

    try:
        doc = load_schema(f"{name}.schema.json")
    except (OSError, ModuleNotFoundError):
        # Not shipped (yet) in this build: one line and exit 2, not a traceback.
        raise InputError(f"no `{name}` schema in this version of verdict") from None
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def load_ruleset(policy_path: str):
    """Load, validate and compile a policy for evaluation; an invalid policy is an input error."""
    from ..compile import compile_policy
    from ..language.loader import PolicyError, load_policy

    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        raise InputError(f"{policy_path}: policy is not valid (run `verdict validate {policy_path}`)") from None
    return compile_policy(policy)


def _render_decision(decision, fmt: str, lang: str | None, trace: bool, counterfactuals=None,
                     record_id=None) -> str:
    from ..explain import render as explain

    if fmt == "json":
        return explain.to_json(decision, lang, trace=trace, counterfactuals=counterfactuals,
                               record_id=record_id) + "\n"
    if fmt == "jsonl":
        return explain.to_json(decision, lang, trace=trace, indent=None, counterfactuals=counterfactuals,
                               record_id=record_id) + "\n"
    head = "" if record_id is None else f"Record {record_id}\n"
    if fmt == "markdown":
        return head + explain.explain_markdown(decision, lang, counterfactuals)
    return head + explain.explain_text(decision, lang, counterfactuals)


class _Progress:
    """A one-line record counter on a terminal's stderr; silent otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 10000 == 0:
            click.echo(f"\r{self.count:,} records", err=True, nl=False)

    def done(self) -> None:
        if self.enabled and self.count >= 10000:
            click.echo("\r" + " " * 30 + "\r", err=True, nl=False)


def run_records(ruleset, paths: list[str], fmt: str, lang: str | None, trace: bool, backend: str,
                on_error: str, output: str | None, summary: bool, counterfactuals: bool = False,
                id_field: str | None = None) -> int:
    """Evaluate every record of every path, streaming decisions to stdout or atomically to a file.
    With `counterfactuals`, each decision also carries what would change it; with `id_field`,
    that field of each record is not a fact but the record's id, copied into its decision.
    A warning repeated across records (say an undeclared column) is shown once, with a count
    in the summary."""
    from contextlib import nullcontext

    from ..compile import BackendError
    from ..evaluate import evaluate
    from ..runtime.facts import FactsError
    from ..io.files import atomic_writer
    from ..io.records import read_records

    try:
        from ..backends.durable import DurableEngineError
    except ImportError:  # pragma: no cover - packaging problem; nothing can raise it then
        DurableEngineError = RuntimeError  # noqa: N806

    if counterfactuals:
        from ..analysis.counterfactuals import counterfactuals as compute_counterfactuals

    counts: dict[str, int] = {}
    warned: dict[str, int] = {}
    skipped = 0
    progress = _Progress(summary and sys.stderr.isatty())
    separator = "\n" if fmt in ("text", "markdown") else ""
    sink_cm = atomic_writer(output) if output else nullcontext(None)
    try:
        with sink_cm as sink:
            first = True
            for path in paths:
                try:
                    records = read_records(path, ruleset.policy)
                    for rec in records:
                        progress.tick()
                        problem = rec.error
                        decision = None
                        record_id = None
                        data = rec.data
                        if problem is None and id_field is not None:
                            if not isinstance(data, dict) or data.get(id_field) is None:
                                problem = f"record has no `{id_field}` (the --id field)"
                            else:
                                data = dict(data)
                                record_id = data.pop(id_field)
                                if not isinstance(record_id, (str, int, float)) or isinstance(record_id, bool):
                                    problem = f"`{id_field}` must be a string or a number"
                        if problem is None:
                            try:
                                decision = evaluate(ruleset, data, trace=trace, backend=backend)
                            except FactsError as exc:
                                problem = "; ".join(p.message for p in exc.problems)
                            except DurableEngineError as exc:
                                click.echo(f"verdict: {rec.label}: durable backend failed: {exc}", err=True)
                                raise _Abort() from None
                        if problem is not None:
                            click.echo(f"verdict: {rec.label}: {problem}", err=True)
                            if on_error == "fail":
                                raise _Abort()
                            skipped += 1
                            continue
                        for w in decision.warnings:
                            if w not in warned:
                                click.echo(f"verdict: warning: {rec.label}: {w}", err=True)
                            warned[w] = warned.get(w, 0) + 1
                        counts[str(decision.outcome)] = counts.get(str(decision.outcome), 0) + 1
                        cfs = compute_counterfactuals(ruleset, decision) if counterfactuals else None
                        text = ("" if first else separator) + _render_decision(decision, fmt, lang, trace, cfs,
                                                                               record_id)
                        first = False
                        if sink is None:
                            click.echo(text, nl=False)
                        else:
                            sink.write(text)
                except OSError as exc:
                    click.echo(f"verdict: {path}: cannot read: {exc.strerror or exc}", err=True)
                    raise _Abort() from None
    except _Abort:
        progress.done()
        if output:
            click.echo(f"verdict: {output} not written", err=True)
        return EXIT_INPUT
    except BackendError as exc:
        raise InputError(str(exc)) from None
    progress.done()
    if summary:
        total = sum(counts.values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        line = f"{total:,} decision{'s' if total != 1 else ''}: {parts or 'none'}"
        if skipped:
            line += f"; {skipped:,} record{'s' if skipped != 1 else ''} skipped"
        click.echo(line, err=True)
        for w, n in warned.items():
            if n > 1:
                click.echo(f"verdict: warning: {w} (in {n:,} records)", err=True)
    return EXIT_OK


class _Abort(Exception):
    pass


_COMMON_EVAL_OPTIONS = [
    click.option("-p", "--policy", "policy_path", required=True, help="The policy file."),
    click.option("--backend", type=click.Choice(["native", "durable"]), default="native", show_default=True,
                 help="Which executable form decides (they must agree)."),
    click.option("--lang", help="Language of messages (e.g. en, zh); default: the policy's language."),
    click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
                 help="On a malformed record: stop with exit 2, or report it and go on."),
    click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write decisions to a file (atomically)."),
    click.option("--id", "id_field", metavar="FIELD",
                 help="A record field that is the record's id (e.g. user_id): not a fact, copied into its decision."),
]


def _eval_options(fn):
    for opt in reversed(_COMMON_EVAL_OPTIONS):
        fn = opt(fn)
    return fn


@main.command("eval")
@click.argument("facts", nargs=-1)
@_eval_options
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "text", "markdown"]),
              help="Output format (default: json for one record, jsonl for many).")
@click.option("--explain", "trace", is_flag=True,
              help="Add the full trace (every rule and condition) and the counterfactuals.")
@click.option("--no-counterfactuals", is_flag=True, help="With --explain: skip computing what would change it.")
def eval_cmd(facts, policy_path, backend, lang, on_error, output, id_field, fmt, trace, no_counterfactuals) -> None:
    """Evaluate user facts (JSON/YAML files, `-` for stdin, JSONL/CSV for many records)."""
    from ..io.records import is_batch

    paths = list(facts) or ["-"]
    batch = is_batch(paths)
    fmt = fmt or ("jsonl" if batch else "json")
    ruleset = load_ruleset(policy_path)
    sys.exit(run_records(ruleset, paths, fmt, lang, trace or fmt in ("text", "markdown"), backend, on_error,
                         output, summary=batch, counterfactuals=trace and not no_counterfactuals,
                         id_field=id_field))


@main.command("explain")
@click.argument("facts", nargs=-1)
@_eval_options
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--no-counterfactuals", is_flag=True, help="Skip computing what would change the outcome.")
def explain_cmd(facts, policy_path, backend, lang, on_error, output, id_field, fmt, no_counterfactuals) -> None:
    """Explain the decision for user facts: each rule, each condition, actual vs threshold,
    the principal reasons and what would change the outcome."""
    paths = list(facts) or ["-"]
    ruleset = load_ruleset(policy_path)
    sys.exit(run_records(ruleset, paths, fmt, lang, True, backend, on_error, output, summary=False,
                         counterfactuals=not no_counterfactuals, id_field=id_field))


@main.command("diff")
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="Output format.")
@click.option("--facts", "facts_path", help="Also count, over a dataset (JSONL or CSV), records whose outcome changes.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when some outcome changes (like `git diff --exit-code`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the diff to a file (atomically).")
def diff_cmd(old_path, new_path, fmt, facts_path, exit_code, output) -> None:
    """Where the outcome changes between two versions of a policy: regions, witnesses, thresholds."""
    from ..analysis import diff as policy_diff
    from ..language.loader import PolicyError, load_policy

    policies = []
    for path in (old_path, new_path):
        try:
            policies.append(load_policy(path))
        except PolicyError as exc:
            for d in exc.diagnostics:
                click.echo(d.render(), err=True)
            raise InputError(f"{path}: policy is not valid (run `verdict validate {path}`)") from None
    result = policy_diff.diff_policies(*policies)
    if facts_path is not None:
        try:
            policy_diff.count_records(result, facts_path)
        except OSError as exc:
            raise InputError(f"{facts_path}: cannot read: {exc.strerror or exc}") from None
    write_output(policy_diff.RENDERERS[fmt](result), output)
    sys.exit(EXIT_FINDINGS if exit_code and not result.unchanged else EXIT_OK)


# -- verdict test ---------------------------------------------------------------------------

@main.command("test")
@click.argument("paths", nargs=-1)
@click.option("--backend", type=click.Choice(["native", "durable"]), default="native", show_default=True,
              help="Which executable form decides every case.")
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
def test_cmd(paths, backend, fmt, with_coverage, min_coverage, select, verbose, output, markdown_summary,
             generate, force) -> None:
    """Run policy test suites (*.test.yaml), with coverage of rules, conditions and thresholds.

    PATHS are test files, policies (their suites are found beside them) or folders
    searched recursively; default: the current folder. Exit 0 all passed, 1 a case failed
    or coverage is below the minimum, 2 usage error or an invalid test file."""
    import re as _re

    from ..suites import testing
    from ..compile import BackendError

    if generate:
        if paths:
            raise InputError("--generate-boundaries takes a policy, not test PATHS")
        sys.exit(_generate_boundaries(generate, output, force))
    minimum = None
    if min_coverage is not None:
        try:
            minimum = testing.parse_min_coverage(min_coverage)
        except ValueError as exc:
            raise InputError(f"--min-coverage: {exc}") from None
    if select is not None:
        try:
            _re.compile(select)
        except _re.error as exc:
            raise InputError(f"--run: invalid regular expression: {exc}") from None
    files, problems = testing.discover_tests(list(paths) or ["."])
    for p in problems:
        click.echo(f"verdict: {p}", err=True)
    if problems:
        sys.exit(EXIT_INPUT)
    if not files:
        raise InputError(f"no test files (*.test.yaml) found in {', '.join(paths) or '.'}")
    suites, diags = testing.load_suites(files)
    if any(d.severity == ERROR for d in diags):
        # An invalid test file is an input error: every finding, located, and no results.
        click.echo(report.render_text(diags, files), err=True, nl=False)
        sys.exit(EXIT_INPUT)
    try:
        run = testing.run_suites(suites, backend, select)
    except BackendError as exc:
        raise InputError(str(exc)) from None
    if select is not None and not run.results:
        raise InputError(f"--run: no case name matches `{select}`")
    rep = testing.Report(run, verbose=verbose, minimum=minimum)
    if with_coverage or minimum is not None:
        rep.coverage = testing.coverage(run)
        if minimum is not None:
            rep.gate_failures = testing.gate(rep.coverage, minimum)
    write_output(testing.render(fmt, rep), None if output == "-" else output)
    if markdown_summary:
        try:
            with open(markdown_summary, "a", encoding="utf-8") as fh:
                fh.write(testing.render_markdown(rep))
        except OSError as exc:
            raise InputError(f"cannot write {markdown_summary}: {exc.strerror or exc}") from None
    sys.exit(EXIT_OK if rep.ok else EXIT_FINDINGS)


def _generate_boundaries(policy_path: str, output: str | None, force: bool) -> int:
    import os
    from pathlib import Path

    from ..suites import testing

    ruleset = load_ruleset(policy_path)
    if output is None:
        stem = Path(policy_path).name
        for suffix in (".yaml", ".yml"):
            stem = stem.removesuffix(suffix)
        output = str(Path(policy_path).with_name(stem + ".test.yaml"))
    target_dir = Path(output).parent if output != "-" else Path(".")
    if output != "-" and Path(output).exists() and not force:
        raise InputError(f"{output} exists; use --force to overwrite it, or -o to write elsewhere")
    policy_ref = os.path.relpath(policy_path, target_dir).replace(os.sep, "/")
    schema = Path(__file__).resolve().parents[2] / "schemas" / "test.schema.json"
    try:
        schema_ref = os.path.relpath(schema, target_dir.resolve()).replace(os.sep, "/") if schema.is_file() \
            else "https://verdict.dev/schemas/test.schema.json"
    except ValueError:  # another drive (Windows)
        schema_ref = "https://verdict.dev/schemas/test.schema.json"
    try:
        text = testing.generate_boundary_suite(ruleset.policy, policy_ref, schema_ref)
    except ValueError as exc:
        raise InputError(f"{policy_path}: {exc}") from None
    write_output(text, None if output == "-" else output)
    if output != "-":
        n = text.count("\n  - name: ")
        click.echo(f"wrote {output}: {n} boundary case{'s' if n != 1 else ''}; review every expectation", err=True)
    return EXIT_OK


def write_output(text: str, output: str | None) -> None:
    """Write to stdout, or atomically to a file (never a half-written file)."""
    if output is None:
        click.echo(text, nl=False)
        return
    from ..io.files import atomic_write_text

    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None


if __name__ == "__main__":  # pragma: no cover
    main()
