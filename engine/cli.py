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


def load_ruleset(policy_path: str):
    """Load, validate and compile a policy for evaluation; an invalid policy is an input error."""
    from .compile import compile_policy
    from .loader import PolicyError, load_policy

    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        raise InputError(f"{policy_path}: policy is not valid (run `verdict validate {policy_path}`)") from None
    return compile_policy(policy)


def _render_decision(decision, fmt: str, lang: str | None, trace: bool) -> str:
    from . import explain

    if fmt == "json":
        return explain.to_json(decision, lang, trace=trace) + "\n"
    if fmt == "jsonl":
        return explain.to_json(decision, lang, trace=trace, indent=None) + "\n"
    if fmt == "markdown":
        return explain.explain_markdown(decision, lang)
    return explain.explain_text(decision, lang)


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
                on_error: str, output: str | None, summary: bool) -> int:
    """Evaluate every record of every path, streaming decisions to stdout or atomically to a file."""
    from contextlib import nullcontext

    from .compile import BackendError
    from .evaluate import evaluate
    from .facts import FactsError
    from .io import atomic_writer
    from .records import read_records

    counts: dict[str, int] = {}
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
                        if problem is None:
                            try:
                                decision = evaluate(ruleset, rec.data, trace=trace, backend=backend)
                            except FactsError as exc:
                                problem = "; ".join(p.message for p in exc.problems)
                        if problem is not None:
                            click.echo(f"verdict: {rec.label}: {problem}", err=True)
                            if on_error == "fail":
                                raise _Abort()
                            skipped += 1
                            continue
                        for w in decision.warnings:
                            click.echo(f"verdict: warning: {rec.label}: {w}", err=True)
                        counts[str(decision.outcome)] = counts.get(str(decision.outcome), 0) + 1
                        text = ("" if first else separator) + _render_decision(decision, fmt, lang, trace)
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
@click.option("--explain", "trace", is_flag=True, help="Add the full trace: every rule and condition.")
def eval_cmd(facts, policy_path, backend, lang, on_error, output, fmt, trace) -> None:
    """Evaluate user facts (JSON/YAML files, `-` for stdin, JSONL/CSV for many records)."""
    from .records import is_batch

    paths = list(facts) or ["-"]
    batch = is_batch(paths)
    fmt = fmt or ("jsonl" if batch else "json")
    ruleset = load_ruleset(policy_path)
    sys.exit(run_records(ruleset, paths, fmt, lang, trace or fmt in ("text", "markdown"), backend, on_error,
                         output, summary=batch))


@main.command("explain")
@click.argument("facts", nargs=-1)
@_eval_options
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Output format.")
def explain_cmd(facts, policy_path, backend, lang, on_error, output, fmt) -> None:
    """Explain the decision for user facts: each rule, each condition, actual vs threshold."""
    paths = list(facts) or ["-"]
    ruleset = load_ruleset(policy_path)
    sys.exit(run_records(ruleset, paths, fmt, lang, True, backend, on_error, output, summary=False))


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
