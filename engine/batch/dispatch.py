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

from .inputs import BatchError, batchable
from .outputs import format_of_output

BATCH_OUTPUTS = (None, "jsonl", "csv", "parquet")


def dispatch(ruleset, paths: list[str], fmt: str | None, lang: str | None, trace: bool, backend: str,
             on_error: str, output: str | None, summary, counterfactuals: bool, id_field: str | None,
             input_format: str | None, allow_empty: bool, master: str | None,
             undeclared: str = "warn-once", as_of=None) -> int | None:
    """The exit code of a batch run, or None: decide record by record (duckdb only).
    `as_of`: the evaluation date of the run (None: today in the policy's timezone)."""

    out_fmt = fmt or format_of_output(output)
    if out_fmt == "json" and fmt is None:
        out_fmt = None  # `-o out.json` of a stream: JSON lines, as the native path writes
    if (not trace and not counterfactuals and summary is not False and out_fmt in BATCH_OUTPUTS
            and batchable(paths, input_format)):
        if backend == "duckdb":
            from .run import run_batch

            return run_batch(ruleset, paths, fmt=out_fmt, lang=lang, on_error=on_error, output=output,
                             id_field=id_field, input_format=input_format, allow_empty=allow_empty,
                             undeclared=undeclared, as_of=as_of)
        return run_spark(ruleset, paths, master=master, fmt=out_fmt, lang=lang, on_error=on_error, output=output,
                         id_field=id_field, input_format=input_format, allow_empty=allow_empty,
                         undeclared=undeclared, as_of=as_of)
    if fmt in ("csv", "parquet") or input_format == "parquet":
        raise BatchError(f"--{'format ' + fmt if fmt in ('csv', 'parquet') else 'input-format parquet'} is for "
                         "batch runs: JSONL, CSV or Parquet files, without --explain")
    if backend == "spark":
        raise BatchError("--backend spark decides JSONL, CSV and Parquet files in batch (without --explain); "
                         "for one record, stdin or explanations use --backend duckdb or native")
    return None


def run_spark(ruleset, paths: list[str], *, master: str | None, fmt: str | None, lang: str | None, on_error: str,
              output: str | None, id_field: str | None, input_format: str | None, allow_empty: bool,
              undeclared: str = "warn-once", as_of=None) -> int:
    """`--backend spark`: `engine.batch.spark.run_eval` (helper H4's runner) decides, writes
    and summarises, with `--undeclared` as the native and DuckDB runners take it; a Spark
    that cannot start, or an input it cannot take, is one line, exit 2."""
    from ..errors import BackendError

    try:
        from . import spark as sp
    except ImportError as exc:
        raise BatchError(f"--backend spark is not available: {exc}") from None
    kwargs = {} if master is None else {"master": master}
    try:
        return sp.run_eval(ruleset, paths, output=output, fmt=fmt, lang=lang, on_error=on_error, id_field=id_field,
                           input_format=input_format, allow_empty=allow_empty, undeclared=undeclared,
                           as_of=as_of, echo=lambda line: click.echo(line, err=True), **kwargs)
    except BackendError as exc:  # SparkUnavailable (no Java, no pyspark), an input Spark cannot take
        raise BatchError(str(exc)) from None
