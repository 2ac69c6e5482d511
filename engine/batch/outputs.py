"""Writing a batch's decisions with DuckDB's COPY, atomically, through the project's
mechanism (`engine.io.files`): COPY writes a hidden temporary file of ours in the target's
folder (`.NAME.verdict-XXXXXXXX.tmp`, locked while written), which is renamed over the
target only when complete; any failure, Ctrl-C included, removes it, and a run killed
outright leaves a stale one that the next write into that folder removes (see
docs/cli.md, Outputs). A target that is not a regular file (`/dev/null`, a FIFO) is
written in place. Every failure is an `OutputError` naming the output.
"""

from __future__ import annotations

from ..io.files import OutputError, PathTarget

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
             ".json": "json"}


def format_of_output(output: str | None) -> str | None:
    if output is None:
        return None
    lower = output.lower()
    for suffix, fmt in _SUFFIXES.items():
        if lower.endswith(suffix):
            return fmt
    return None


def copy_options(fmt: str) -> str:
    if fmt == "jsonl":  # one column of finished JSON text, written as it is
        return "FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01'"
    if fmt == "csv":
        return "FORMAT csv, HEADER true"
    return "FORMAT parquet, COMPRESSION zstd"


def copy_to(con, select_sql: str, output: str, fmt: str) -> None:
    """COPY the rows of `select_sql` to `output` in `fmt`, all or nothing."""
    target = PathTarget(output)
    try:
        _copy(con, select_sql, target.path, fmt, output)
        target.commit()
    finally:
        target.discard()


def _copy(con, select_sql: str, path: str, fmt: str, name: str) -> None:
    import duckdb

    from .inputs import lit

    try:
        con.execute(f"COPY ({select_sql}) TO {lit(path)} ({copy_options(fmt)})")
    except duckdb.IOException as exc:
        raise OutputError(name, _reason(exc)) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for marker in ("No space left on device", "Permission denied", "No such file or directory", "Read-only file system"):
        if marker in text:
            return marker
    return text
