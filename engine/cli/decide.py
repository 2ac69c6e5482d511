"""Deciding a stream of records for `verdict eval` and `verdict explain`: read them through
`engine.io.records`, evaluate each, render it, and write the decisions to stdout or
atomically to a file through `engine.io.files`; malformed records are located one-line
errors, an unreadable or empty input one line naming it. A failure to write is never
caught here: it is an `OutputError`, which the `main` group reports as the output's.
"""

from __future__ import annotations

import sys

import click

from .common import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, InputError


def _render_decision(decision, fmt: str, lang: str | None, trace: bool, counterfactuals=None,
                     record_id=None) -> str:
    """One decision in the output format; text and Markdown name the record when it has an id."""
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
        self.enabled = False  # once: a second call (an error path, then `finally`) does nothing


class _Abort(Exception):
    """Stop the run with exit `code`: the problem is already on stderr."""

    def __init__(self, code: int = EXIT_INPUT):
        super().__init__(code)
        self.code = code


def run_records(ruleset, paths: list[str], fmt: str | None, lang: str | None, trace: bool, backend: str,
                on_error: str, output: str | None, summary: bool | None, counterfactuals: bool = False,
                id_field: str | None = None, input_format: str | None = None, allow_empty: bool = False,
                master: str | None = None) -> int:
    """Evaluate every record of every path, streaming decisions to stdout or atomically to a file.

    `fmt` None means JSON for one record and JSON lines for a stream of them (several
    inputs, JSONL, CSV, a list), which also gets a summary on stderr when `summary` is None.
    With `counterfactuals`, each decision also carries what would change it; with `id_field`,
    that field of each record is not a fact but the record's id, copied into its decision.
    A warning repeated across records (say an undeclared column) is shown once, with a count
    in the summary. An input without records is an input error unless `allow_empty`.
    Failures to write raise `OutputError` (the `main` group reports them)."""
    if backend in ("duckdb", "spark"):  # files in batch: engine/batch (docs/batch.md)
        from ..batch.dispatch import BatchError, dispatch

        try:
            code = dispatch(ruleset, paths, fmt, lang, trace, backend, on_error, output, summary, counterfactuals,
                            id_field, input_format, allow_empty, master)
        except BatchError as exc:
            raise InputError(str(exc)) from None
        if code is not None:
            return code
    from ..errors import BackendError, DurableLimitError, FactsError, InternalError
    from ..evaluate import evaluate
    from ..io.files import open_output
    from ..io.records import RecordsError, open_records

    if counterfactuals:
        from ..analysis.counterfactuals import counterfactuals as compute_counterfactuals

    counts: dict[str, int] = {}
    warned: dict[str, int] = {}
    skipped = 0
    progress = _Progress(summary is not False and sys.stderr.isatty())
    policy = ruleset.policy
    try:
        with open_output(output) as sink:
            first = True
            for path in paths:
                try:
                    source = open_records(path, policy, input_format, allow_empty=allow_empty)
                except RecordsError as exc:
                    click.echo(f"verdict: {exc}", err=True)
                    raise _Abort() from None
                with source:
                    if fmt is None:  # decided by the first input: one record, or a stream
                        fmt = "jsonl" if len(paths) > 1 or source.stream else "json"
                    if summary is None:
                        summary = len(paths) > 1 or source.stream
                    separator = "\n" if fmt in ("text", "markdown") else ""
                    records = iter(source)
                    while True:
                        try:
                            rec = next(records, None)
                        except RecordsError as exc:
                            click.echo(f"verdict: {exc}", err=True)
                            raise _Abort() from None
                        if rec is None:
                            break
                        progress.tick()
                        problem = rec.error
                        decision = None
                        record_id = None
                        data = rec.data
                        if problem is None and id_field is not None:
                            if data.get(id_field) is None:
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
                            except DurableLimitError as exc:  # this record only: skipped with --on-error skip
                                problem = str(exc)
                            except InternalError as exc:  # backends that disagree, an engine that failed
                                click.echo(f"verdict: {rec.label}: internal error: {exc}", err=True)
                                raise _Abort(EXIT_INTERNAL) from None
                        if problem is not None:
                            click.echo(f"verdict: {rec.label}: {problem}", err=True)
                            if on_error == "fail":
                                raise _Abort()
                            skipped += 1
                            continue
                        if decision.warnings:
                            for w in decision.warnings:
                                if w not in warned:
                                    click.echo(f"verdict: warning: {rec.label}: {w}", err=True)
                                warned[w] = warned.get(w, 0) + 1
                            if fmt in ("text", "markdown"):
                                # Shown once, on stderr, above: not again inside the explanation.
                                decision = decision._replace(warnings=())
                        counts[str(decision.outcome)] = counts.get(str(decision.outcome), 0) + 1
                        cfs = compute_counterfactuals(ruleset, decision) if counterfactuals else None
                        sink.write(("" if first else separator)
                                   + _render_decision(decision, fmt, lang, trace, cfs, record_id))
                        first = False
    except _Abort as abort:
        if output:
            click.echo(f"verdict: {output} not written", err=True)
        return abort.code
    except BackendError as exc:
        raise InputError(str(exc)) from None
    finally:
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
