"""`verdict diff`: where the outcome changes between two versions of a policy (regions,
witnesses, moved thresholds), optionally counted over a dataset of records."""

from __future__ import annotations

import click

from .common import (ALLOW_EMPTY, AS_OF, EXIT_FINDINGS, EXIT_OK, AsOf, InputError, load_valid_policy,
                     write_output)


@click.command("diff")
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="Output format.")
@click.option("--facts", "facts_path", help="Also count, over a dataset (JSONL or CSV), records whose outcome changes.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when some outcome changes (like `git diff --exit-code`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the diff to a file (atomically).")
@click.option("--backend", type=click.Choice(["native", "durable", "duckdb", "spark"]), default="native",
              show_default=True,
              help="With --facts: count records natively, or in SQL with DuckDB (JSONL, CSV or Parquet facts).")
@click.option("--id", "id_field", metavar="FIELD",
              help="With --facts --backend duckdb: the records' id field; a sample of moved ids is shown.")
@ALLOW_EMPTY
@AS_OF
def diff_cmd(old_path, new_path, fmt, facts_path, exit_code, output, allow_empty, backend, id_field,
             as_of=None) -> int:
    """Where the outcome changes between two versions of a policy: regions, witnesses, thresholds.

    `--as-of` is the one evaluation date of both versions (the analysis and every record of
    --facts); default: today in the new version's timezone."""
    from ..analysis import diff as policy_diff
    from ..io.records import RecordsError, read_records

    old, new = load_valid_policy(old_path), load_valid_policy(new_path)
    # One date for both versions: when either uses time, the new version's day (or --as-of).
    day = AsOf(as_of)(new if new.uses_time else old)
    result = policy_diff.diff_policies(old, new, as_of=day)
    if (backend != "native" or id_field is not None) and facts_path is None:
        raise click.UsageError("--backend and --id go with --facts")
    if backend in ("durable", "spark"):
        raise click.UsageError(f"diff --facts counts with --backend native or duckdb, not {backend}")
    if id_field is not None and backend != "duckdb":
        raise click.UsageError("--id goes with --backend duckdb")
    if facts_path is not None and backend == "duckdb":
        from ..batch.diff import BatchError, count_records_sql

        try:
            sample = count_records_sql(result, facts_path, id_field=id_field, allow_empty=allow_empty, as_of=day)
        except BatchError as exc:
            raise InputError(str(exc)) from None
        text = policy_diff.RENDERERS[fmt](result)
        write_output(text + _sample_text(sample, fmt), output)
        return EXIT_FINDINGS if exit_code and not result.unchanged else EXIT_OK
    if facts_path is not None:
        try:
            policy_diff.count_records(result, read_records(facts_path, result.new, allow_empty=allow_empty), as_of=day)
        except RecordsError as exc:  # unreadable, or empty without --allow-empty
            raise InputError(str(exc)) from None
    write_output(policy_diff.RENDERERS[fmt](result), output)
    return EXIT_FINDINGS if exit_code and not result.unchanged else EXIT_OK


def _sample_text(sample, fmt: str) -> str:
    """With --id: moved record ids per from → to pair (text and Markdown; JSON carries them
    in `records.moved`)."""
    if not sample or fmt == "json":
        return ""
    lines = ["moved records (sample):" if fmt == "text" else "\n**Moved records (sample)**\n"]
    for (a, b), ids in sample.items():
        shown = ", ".join(str(i) for i in ids)
        lines.append(f"  {a} → {b}: {shown}" if fmt == "text" else f"- {a} → {b}: {shown}")
    return "\n".join(lines) + "\n"
