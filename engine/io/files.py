"""File-output edge: atomic writes, so a failed run never leaves a half-written file, and
the one append (a CI step summary)."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[TextIO]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Replace `path` with `text`, all or nothing."""
    with atomic_writer(path) as fh:
        fh.write(text)


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append to a file another tool also writes to (a CI step summary): never atomic by
    nature, so written in one call."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
