"""Writing a batch's decisions with DuckDB's COPY, atomically, through the project's
mechanism (`engine.io.files`): COPY writes a hidden temporary file of ours in the target's
folder (`.NAME.verdict-XXXXXXXX.tmp`, locked while written), which is renamed over the
target only when complete; any failure, Ctrl-C included, removes it, and a run killed
outright leaves a stale one that the next write into that folder removes (see
docs/cli.md, Outputs). A target that is not a regular file (`/dev/null`, a FIFO) is
written in place. Every failure is an `OutputError` naming the output.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..io.files import OutputError, _is_special, _lock, _temp_name, clean_stale

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
    target = Path(output)
    if _is_special(target):
        _copy(con, select_sql, output, fmt, output)
        return
    folder = target.parent
    clean_stale(folder)
    temp = _temp_name(target)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise OutputError.from_os(output, exc) from None
    try:
        _lock(fd)  # held while DuckDB writes the same file, so no other run removes it
        _copy(con, select_sql, str(temp), fmt, output)
        try:
            os.fsync(fd)
            with open(temp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(temp, target)
            temp = None
        except OSError as exc:
            raise OutputError.from_os(output, exc) from None
    finally:
        os.close(fd)
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass


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
