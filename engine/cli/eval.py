"""`verdict eval`: decide user facts (one record, or a batch streamed from JSONL/CSV) and
print each decision as JSON, JSON lines, text or Markdown."""

from __future__ import annotations

import click

from .common import AsOf, check_backend, eval_options, load_ruleset


@click.command("eval")
@click.argument("facts", nargs=-1)
@eval_options
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "text", "markdown", "csv", "parquet"]),
              help="Output format (default: json for one record, jsonl for many; with --backend duckdb, "
                   "the suffix of -o: .jsonl, .csv, .parquet). csv and parquet need --backend duckdb or spark.")
@click.option("--explain", "trace", is_flag=True,
              help="Add the full trace (every rule and condition) and the counterfactuals.")
@click.option("--no-counterfactuals", is_flag=True, help="With --explain: skip computing what would change it.")
def eval_cmd(facts, policy_path, backend, master, lang, on_error, output, id_field, undeclared, input_format,
             as_of, allow_empty, fmt, trace, no_counterfactuals) -> int:
    """Evaluate user facts (JSON/YAML files, `-` for stdin, JSONL/CSV for many records).

    One record prints pretty JSON; a stream of records (several files, JSONL, CSV, a JSON
    or YAML list, JSON lines on stdin) one JSON line each, and a summary on stderr."""
    from .decide import run_records

    check_backend(backend, master)
    if backend in ("native", "durable") and (fmt in ("csv", "parquet") or input_format == "parquet"):
        raise click.UsageError("--format csv/parquet and --input-format parquet need --backend duckdb (or spark)")
    paths = list(facts) or ["-"]
    ruleset = load_ruleset(policy_path)
    # Without --format, the input decides: JSON for one record, JSON lines for a stream.
    return run_records(ruleset, paths, fmt, lang, trace or fmt in ("text", "markdown"), backend, on_error,
                       output, summary=None, counterfactuals=trace and not no_counterfactuals,
                       id_field=id_field, input_format=input_format, allow_empty=allow_empty,
                       undeclared=undeclared, master=master, as_of=AsOf(as_of)(ruleset.policy))
