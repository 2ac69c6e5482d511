"""Which runner decides a `verdict eval` with `--backend duckdb|spark`.

Whole files of records (JSONL, CSV, Parquet; globs, folders) without a trace go to the
set-based runners: `engine.batch.run.run_batch` (DuckDB) or `run_spark` below (the Spark
runner of `engine.batch.spark`). Everything else (one JSON or YAML document, stdin,
`--explain`, text and Markdown) is decided record by record: `duckdb` through the SQL
form's per-record backend, which `engine.evaluate.checked_matches` compares with the
native form; `spark` has no per-record form and says so (exit 2).
"""

from __future__ import annotations

import click

from .inputs import batchable
from .outputs import format_of_output

BATCH_OUTPUTS = (None, "jsonl", "csv", "parquet")


def dispatch(ruleset, paths: list[str], fmt: str | None, lang: str | None, trace: bool, backend: str,
             on_error: str, output: str | None, summary, counterfactuals: bool, id_field: str | None,
             input_format: str | None, allow_empty: bool, master: str | None) -> int | None:
    """The exit code of a batch run, or None: decide record by record (duckdb only)."""
    from ..cli.common import InputError

    out_fmt = fmt or format_of_output(output)
    if out_fmt == "json" and fmt is None:
        out_fmt = None  # `-o out.json` of a stream: JSON lines, as the native path writes
    if (not trace and not counterfactuals and summary is not False and out_fmt in BATCH_OUTPUTS
            and batchable(paths, input_format)):
        if backend == "duckdb":
            from .run import run_batch

            return run_batch(ruleset, paths, fmt=out_fmt, lang=lang, on_error=on_error, output=output,
                             id_field=id_field, input_format=input_format, allow_empty=allow_empty)
        return run_spark(ruleset, paths, master=master, fmt=out_fmt, lang=lang, on_error=on_error, output=output,
                         id_field=id_field, input_format=input_format, allow_empty=allow_empty)
    if fmt in ("csv", "parquet") or input_format == "parquet":
        raise InputError(f"--{'format ' + fmt if fmt in ('csv', 'parquet') else 'input-format parquet'} is for "
                         "batch runs: JSONL, CSV or Parquet files, without --explain")
    if backend == "spark":
        raise InputError("--backend spark decides JSONL, CSV and Parquet files in batch (without --explain); "
                         "for one record, stdin or explanations use --backend duckdb or native")
    return None


def run_spark(ruleset, paths: list[str], *, master: str | None, fmt: str | None, lang: str | None, on_error: str,
              output: str | None, id_field: str | None, input_format: str | None, allow_empty: bool) -> int:
    """`--backend spark`: the records decided by `engine.batch.spark.decide_files`, written
    (JSON lines, atomically) and summarised as the native path does."""
    from ..cli.common import InputError
    from ..errors import BackendError
    from ..io.files import open_output
    from ..io.records import RecordsError

    try:
        from . import spark as sp
    except ImportError as exc:
        raise InputError(f"--backend spark is not available: {exc}") from None
    if fmt not in (None, "jsonl"):
        raise InputError("--backend spark writes JSON lines (--format jsonl); use --backend duckdb for CSV or Parquet")
    try:
        session = sp.spark_session(master or sp.DEFAULT_MASTER)
        result = sp.decide_files(session, ruleset, paths, lang=lang, id_field=id_field, input_format=input_format,
                                 allow_empty=allow_empty)
    except RecordsError as exc:
        click.echo(f"verdict: {exc}", err=True)
        if output:
            click.echo(f"verdict: {output} not written", err=True)
        return 2
    except BackendError as exc:
        raise InputError(str(exc)) from None
    skipped = 0
    lines = []
    failed = False
    for row, label, text, problem, outcome, _ in result.rows:
        if problem is not None:
            click.echo(f"verdict: {label}: {problem}", err=True)
            if on_error == "fail":
                failed = True
                break
            skipped += 1
            continue
        if text is not None:
            lines.append(text + "\n")
    if failed and output:
        click.echo(f"verdict: {output} not written", err=True)
        return 2
    with open_output(output) as sink:
        sink.write("".join(lines))
    if failed:
        return 2
    for w, label in result.first_label.items():
        click.echo(f"verdict: warning: {label}: {w}", err=True)
    counts = result.counts
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    line = f"{total:,} decision{'s' if total != 1 else ''}: {parts or 'none'}"
    if skipped:
        line += f"; {skipped:,} record{'s' if skipped != 1 else ''} skipped"
    click.echo(line, err=True)
    for w, n in result.warned.items():
        if n > 1:
            click.echo(f"verdict: warning: {w} (in {n:,} records)", err=True)
    return 0
