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


class _Buffered:
    """Writes to a sink gathered in batches of 128 (one write call per batch, not per
    decision; on a terminal, each at once). Whatever is gathered is written when the block ends, also on an error,
    so the decisions before a bad record are still written (a failure to write raises
    `OutputError` from here)."""

    __slots__ = ("sink", "parts", "size")

    def __init__(self, sink):
        self.sink = sink
        self.parts: list[str] = []
        self.size = 1 if sink.isatty() else 128  # a terminal sees each decision as it is made

    def write(self, text: str) -> None:
        self.parts.append(text)
        if len(self.parts) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            text = "".join(self.parts)
            self.parts.clear()
            self.sink.write(text)

    def __enter__(self) -> "_Buffered":
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


class _Abort(Exception):
    """Stop the run with exit `code`: the problem is already on stderr."""

    def __init__(self, code: int = EXIT_INPUT):
        super().__init__(code)
        self.code = code


def _names(keys: list) -> str:
    """Undeclared keys for a message: backquoted, at most ten, then how many more."""
    from ..runtime.facts import shown_key

    shown = ", ".join(f"`{shown_key(k)}`" for k in keys[:10])
    return shown + (f" and {len(keys) - 10:,} more" if len(keys) > 10 else "")


class _Undeclared:
    """The keys of records that name no declared fact (`--undeclared`): found per record
    from the record's keys (a cache per key layout: the records of one file share a few),
    remembered for the one warning at the end of the batch (`warn-once`)."""

    def __init__(self, policy):
        self.facts = policy.facts
        self.layouts: dict = {}
        self.keys: dict = {}  # key → None, in the order first seen
        self.records = 0
        self.first: str | None = None

    def of(self, data: dict, label: str) -> tuple:
        """The undeclared keys of a record (the callers look its layout up in `layouts`
        first, and count `records`)."""
        layout = tuple(data)
        extra = self.layouts.get(layout)
        if extra is None:
            facts = self.facts
            extra = tuple(k for k in layout if k not in facts)
            if len(self.layouts) < 1024:
                self.layouts[layout] = extra
            for k in extra:
                self.keys.setdefault(k, None)
            if extra and self.first is None:
                self.first = label
        return extra

    def warning(self) -> str | None:
        if not self.records:
            return None
        keys = list(self.keys)
        line = (f"verdict: warning: {self.first}: undeclared fact{'s' if len(keys) > 1 else ''} "
                f"{_names(keys)} ignored")
        return line + (f" (in {self.records:,} records)" if self.records > 1 else "")


def run_records(ruleset, paths: list[str], fmt: str | None, lang: str | None, trace: bool, backend: str,
                on_error: str, output: str | None, summary: bool | None, counterfactuals: bool = False,
                id_field: str | None = None, input_format: str | None = None, allow_empty: bool = False,
                undeclared: str = "warn-once", master: str | None = None, as_of=None) -> int:
    """Evaluate every record of every path, streaming decisions to stdout or atomically to a file.

    `fmt` None means JSON for one record and JSON lines for a stream of them (several
    inputs, JSONL, CSV, a list), which also gets a summary on stderr when `summary` is None.
    With `counterfactuals`, each decision also carries what would change it; with `id_field`,
    that field of each record is not a fact but the record's id, copied into its decision.
    Keys that name no declared fact (`undeclared`): "warn-once" (ignored, one warning on
    stderr at the end naming them), "ignore" (silently) or "refuse" (the record is an input
    error); never in a decision's `warnings`, and never the `id_field`. Another warning
    repeated across records is shown once, with a count in the summary. An input without
    records is an input error unless `allow_empty`. `as_of` is the evaluation date of every
    record (resolved once for the run by the caller; None for a policy that does not use time).
    Failures to write raise `OutputError` (the `main` group reports them)."""
    if backend in ("duckdb", "spark"):  # files in batch: engine/batch (docs/batch.md)
        from ..batch.dispatch import BatchError, dispatch

        try:
            code = dispatch(ruleset, paths, fmt, lang, trace, backend, on_error, output, summary, counterfactuals,
                            id_field, input_format, allow_empty, master, undeclared, as_of=as_of)
        except BatchError as exc:
            raise InputError(str(exc)) from None
        if code is not None:
            return code
    from ..errors import BackendError, DurableLimitError, FactsError, InternalError
    from ..evaluate import evaluate
    from ..explain import render as explain
    from ..explain.runs import nothing_decided, repeated_warnings, summary_line
    from ..io.files import open_output
    from ..io.records import RecordsError, open_records
    from ..runtime.facts import undeclared_problem

    if counterfactuals:
        from ..analysis.counterfactuals import counterfactuals as compute_counterfactuals

    counts: dict[str, int] = {}
    warned: dict[str, int] = {}
    skipped = 0
    progress = _Progress(summary is not False and sys.stderr.isatty())
    policy = ruleset.policy
    nfacts = len(policy.facts)
    extras = _Undeclared(policy)
    refuse = undeclared == "refuse"
    layouts = extras.layouts
    undeclared_records = 0  # records with an undeclared key
    # The native backend without a trace: the generated `decide` itself, given the record
    # without its undeclared keys (found per key layout); a record of the declared size
    # goes straight in, and when `decide` takes its generic path the warnings it makes
    # for undeclared keys (a missing fact and an extra key) are stripped below.
    fast = backend == "native" and not trace
    strict = ruleset.native.decide  # (record, as_of): a policy that uses time on the run's day
    try:
        with open_output(output) as sink, _Buffered(sink) as out:
            gathered, batch = out.parts, out.size
            pending = gathered.append
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
                    # JSON lines without a trace: the policy's line encoder, straight.
                    encode_line = explain.line_encoder(policy, lang).encode if fmt == "jsonl" and not trace else None
                    try:
                        for label, data, problem in source:  # RecordsError: the input cannot be read on
                            if progress.enabled:
                                progress.tick()
                            decision = None
                            record_id = None
                            if problem is None and id_field is not None:
                                record_id = data.pop(id_field, None)  # the record is ours: decoded for this run
                                if record_id is None:
                                    problem = f"record has no `{id_field}` (the --id field)"
                                elif (record_id.__class__ is not str and record_id.__class__ is not int
                                      and record_id.__class__ is not float):
                                    problem = f"`{id_field}` must be a string or a number"
                            if problem is None:
                                try:
                                    if fast and len(data) == nfacts:
                                        decision = strict(data, as_of)
                                        if decision[10]:  # the generic path: undeclared keys, maybe
                                            extra = extras.of(data, label)
                                            if extra:
                                                if refuse:
                                                    evaluate(ruleset, data, trace=False, undeclared="refuse",
                                                             as_of=as_of)
                                                undeclared_records += 1
                                                gone = {undeclared_problem(k).message for k in extra}
                                                decision = decision._replace(
                                                    warnings=tuple(w for w in decision[10] if w not in gone))
                                    else:
                                        extra = layouts.get(tuple(data))
                                        if extra is None:
                                            extra = extras.of(data, label)
                                        if extra:
                                            if refuse:
                                                evaluate(ruleset, data, trace=False, undeclared="refuse", as_of=as_of)
                                            undeclared_records += 1
                                            if fast:  # the record is ours: without them, `decide` takes it
                                                for k in extra:
                                                    del data[k]
                                        decision = strict(data, as_of) if fast else evaluate(
                                            ruleset, data, trace=trace, backend=backend, undeclared="ignore",
                                            as_of=as_of)
                                except FactsError as exc:
                                    problems = exc.problems
                                    if fast and decision is None and len(data) == nfacts:
                                        # `decide` refused a value before anyone looked for
                                        # undeclared keys (one can stand in for a missing
                                        # fact): count them, and refuse them too, as the
                                        # generic path and the SQL forms do.
                                        extra = extras.of(data, label)
                                        if extra:
                                            undeclared_records += 1
                                            if refuse:
                                                try:
                                                    evaluate(ruleset, data, trace=False, undeclared="refuse",
                                                             as_of=as_of)
                                                except FactsError as full:
                                                    problems = full.problems
                                    problem = "; ".join(p.message for p in problems)
                                except DurableLimitError as exc:  # this record only: skipped with --on-error skip
                                    problem = str(exc)
                                except InternalError as exc:  # backends that disagree, an engine that failed
                                    click.echo(f"verdict: {label}: internal error: {exc}", err=True)
                                    raise _Abort(EXIT_INTERNAL) from None
                            if problem is not None:
                                click.echo(f"verdict: {label}: {problem}", err=True)
                                if on_error == "fail":
                                    raise _Abort()
                                skipped += 1
                                continue
                            if decision[10]:
                                for w in decision.warnings:
                                    if w not in warned:
                                        click.echo(f"verdict: warning: {label}: {w}", err=True)
                                    warned[w] = warned.get(w, 0) + 1
                                if fmt in ("text", "markdown"):
                                    # Shown once, on stderr, above: not again inside the explanation.
                                    decision = decision._replace(warnings=())
                            outcome = decision[2]
                            counts[outcome] = counts.get(outcome, 0) + 1
                            if encode_line is not None and not counterfactuals:
                                pending(encode_line(decision, record_id, "\n"))  # `out.write`, inline
                                if len(gathered) >= batch:
                                    out.flush()
                                continue
                            cfs = compute_counterfactuals(ruleset, decision) if counterfactuals else None
                            text = _render_decision(decision, fmt, lang, trace, cfs, record_id)
                            out.write(text if first else separator + text)
                            first = False
                    except RecordsError as exc:
                        click.echo(f"verdict: {exc}", err=True)
                        raise _Abort() from None
            empty = nothing_decided(sum(counts.values()), skipped, allow_empty)
            if empty is not None:
                click.echo(f"verdict: {empty}", err=True)
                raise _Abort()
    except _Abort as abort:
        if output:
            click.echo(f"verdict: {output} not written", err=True)
        return abort.code
    except BackendError as exc:
        raise InputError(str(exc)) from None
    finally:
        progress.done()
    if summary:
        by_name: dict[str, int] = {}
        for k, v in counts.items():
            by_name[str(k)] = by_name.get(str(k), 0) + v
        click.echo(summary_line(by_name, skipped), err=True)
        for line in repeated_warnings(warned):
            click.echo(line, err=True)
    extras.records = undeclared_records
    warning = extras.warning() if undeclared == "warn-once" else None
    if warning:
        click.echo(warning, err=True)
    return EXIT_OK
