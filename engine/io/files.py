"""The output edge: where decisions and reports go (a file named with `-o`, or stdout), so
that a failed, interrupted or killed run never leaves a partial file, and a failure to
write is always reported as what it is: the output's fault, named, never a read error.

- `atomic_writer(path)` writes a regular file all or nothing. On Linux it writes through
  an anonymous temporary file (`O_TMPFILE` in the target's folder) that is linked into
  place only when the block succeeds: a `kill -9` mid-write leaves nothing behind, because
  the kernel frees a file that has no name. Where `O_TMPFILE` is missing or the file
  system refuses it, it falls back to a named temporary file of our own pattern
  (`.NAME.verdict-XXXXXXXX.tmp`), locked while it is written; stale ones (older than
  `STALE_AFTER_SECONDS` and not locked, so their writer is dead) are removed by the next
  write into that folder. A target that exists and is not a regular file (`/dev/null`,
  `/dev/stdout`, a FIFO) is written directly: it cannot be replaced, and must not be.
- `Sink` wraps a text stream so every failure to write raises `OutputError` naming the
  output (or `OutputClosed` for a reader that went away: a closed pipe), an exception that
  is deliberately *not* an `OSError`, so no reader's `except OSError` can mistake it for a
  read error.
- `write_files` writes a set of files (a scaffold) all or nothing: each file atomically,
  and on a failure the files it had created are removed again.
- `append_text` is the one append (a CI step summary), never atomic by nature.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

try:  # advisory locks: POSIX only; elsewhere stale files are told by age alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STDOUT_NAME = "<stdout>"
# A named temporary file (the fallback) older than this, and not locked by its writer, is
# the leftover of a killed run: the next write into its folder removes it.
STALE_AFTER_SECONDS = 3600
TEMP_MARK = ".verdict-"
TEMP_SUFFIX = ".tmp"
# errnos by which a file system (or an old kernel) says "no O_TMPFILE here".
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


class OutputError(Exception):
    """The output could not be written: `target` names it (a path, or `<stdout>`).
    Not an OSError on purpose (see the module docstring)."""

    def __init__(self, target: str, reason: str):
        super().__init__(f"cannot write {target}: {reason}")
        self.target = target
        self.reason = reason

    @classmethod
    def from_os(cls, target: str, exc: OSError) -> "OutputError":
        if exc.errno == errno.EPIPE:
            return OutputClosed(target, exc.strerror or "Broken pipe")
        return cls(target, exc.strerror or str(exc))


class OutputClosed(OutputError):
    """The reader of the output went away (`verdict eval … | head -1`): not an error of
    verdict's, so the command line ends quietly with the status of a filter killed by
    SIGPIPE."""


class Sink:
    """A text stream whose write failures raise `OutputError` naming `target`."""

    __slots__ = ("_fh", "target")

    def __init__(self, fh: TextIO, target: str):
        self._fh = fh
        self.target = target

    def isatty(self) -> bool:
        """Whether the stream is a terminal (where colour may be used)."""
        isatty = getattr(self._fh, "isatty", None)
        return bool(isatty and isatty())

    def write(self, text: str) -> None:
        try:
            self._fh.write(text)
        except OSError as exc:
            raise OutputError.from_os(self.target, exc) from None

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            raise OutputError.from_os(self.target, exc) from None


def stdout_sink() -> Sink:
    """Standard output (whatever `sys.stdout` is now: click's runner replaces it)."""
    if sys.stdout is None:  # started with stdout closed (`verdict … >&-`)
        raise OutputError(STDOUT_NAME, "standard output is closed")
    return Sink(sys.stdout, STDOUT_NAME)


def flush_stdout() -> None:
    """Flush standard output now, so that a full disk or a closed pipe is reported here, by
    the command line, rather than by the interpreter's own flush at exit."""
    if sys.stdout is not None:
        stdout_sink().flush()


def _is_special(target: Path) -> bool:
    """True when `target` exists and is not a regular file (a device, a FIFO, a socket)."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMP_MARK}{os.urandom(4).hex()}{TEMP_SUFFIX}")


def _open_anonymous(folder: Path) -> int | None:
    """An `O_TMPFILE` descriptor in `folder`, or None where that is not supported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise


def _link_anonymous(fd: int, temp: Path) -> None:
    """Give the anonymous file `fd` the name `temp` (linkat(2) cannot replace a name: the
    caller renames it over the target). A file system that refuses the link gets a copy."""
    folder = os.open(temp.parent, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        # A dir_fd makes os.link call linkat(2) with AT_SYMLINK_FOLLOW, which follows the
        # /proc magic link to the file; plain link(2) would try to link the symlink itself.
        os.link(f"/proc/self/fd/{fd}", temp.name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=True)
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOENT, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(folder)
    out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        offset = 0
        while chunk := os.pread(fd, 1 << 20, offset):
            os.write(out, chunk)
            offset += len(chunk)
        os.fsync(out)
    finally:
        os.close(out)


def clean_stale(folder: Path, now: float | None = None) -> list[Path]:
    """Remove named temporary files of ours in `folder` whose writer is dead (older than
    STALE_AFTER_SECONDS and not locked). Returns what it removed; never raises."""
    removed: list[Path] = []
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and TEMP_MARK in name and name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or now - entry.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: its writer is alive
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            finally:
                os.close(fd)
        except OSError:
            continue
    return removed


def _lock(fd: int) -> None:
    """Hold a lock on our named temporary file while writing it, so that `clean_stale` of
    another run leaves it alone however old it gets (a file system without locks: age only)."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[Sink]:
    """A `Sink` whose text replaces `path` only if the block succeeds; any failure (an
    exception, Ctrl-C) leaves `path` as it was and no temporary file behind. Every
    failure to create, write or put the file in place is an `OutputError` naming `path`."""
    target = Path(path)
    name = str(path)
    if _is_special(target):
        with _direct(target, name) as sink:
            yield sink
        return
    folder = target.parent
    clean_stale(folder)
    try:
        fd = _open_anonymous(folder)
        temp = None
        if fd is None:
            temp = _temp_name(target)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            _lock(fd)
        fh = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise OutputError.from_os(name, exc) from None
    try:
        # What the block raises (a read error, Ctrl-C) passes through untouched; only the
        # steps below, which are the output's, become OutputError.
        yield Sink(fh, name)
        try:
            fh.flush()
            os.fsync(fh.fileno())
            if temp is None:
                temp = _temp_name(target)
                _link_anonymous(fh.fileno(), temp)
            os.replace(temp, target)
            temp = None
        except OSError as exc:
            raise OutputError.from_os(name, exc) from None
    finally:
        try:
            fh.close()
        except OSError:
            pass  # a failure that matters was raised above; the file is discarded anyway
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass


class PathTarget:
    """An output another writer fills by path (DuckDB's COPY, a Parquet writer): `path` is a
    hidden temporary file of ours in the target's folder, created and locked here (so no
    other run's stale cleaning removes it while it is written), moved over the target by
    `commit` and removed by `discard` (a no-op after `commit`). A target that is not a
    regular file (`/dev/null`, a FIFO) is written in place. Failures are OutputErrors
    naming the output."""

    def __init__(self, output: str):
        self.name = output
        target = Path(output)
        self.target = target
        self.fd = None
        if _is_special(target):
            self.path, self.temp = output, None
            return
        clean_stale(target.parent)
        temp = _temp_name(target)
        try:
            self.fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise OutputError.from_os(output, exc) from None
        _lock(self.fd)
        self.path, self.temp = str(temp), temp

    def commit(self) -> None:
        if self.temp is None:
            return
        try:
            os.fsync(self.fd)
            with open(self.temp, "rb") as fh:  # the other writer's own file handle is closed
                os.fsync(fh.fileno())
            os.replace(self.temp, self.target)
            self.temp = None
        except OSError as exc:
            raise OutputError.from_os(self.name, exc) from None

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.temp is not None:
            try:
                os.unlink(self.temp)
            except OSError:
                pass
            self.temp = None


@contextmanager
def _direct(target: Path, name: str) -> Iterator[Sink]:
    """Write straight into a device or FIFO (`-o /dev/null`): nothing to make atomic."""
    try:
        fh = open(target, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise OutputError.from_os(name, exc) from None
    try:
        yield Sink(fh, name)
        try:
            fh.flush()
        except OSError as exc:
            raise OutputError.from_os(name, exc) from None
    finally:
        try:
            fh.close()
        except OSError:
            pass


@contextmanager
def open_output(path: str | os.PathLike | None) -> Iterator[Sink]:
    """Where a command writes: `path` atomically, or standard output for None."""
    if path is None:
        yield stdout_sink()
    else:
        with atomic_writer(path) as sink:
            yield sink


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Replace `path` with `text`, all or nothing."""
    with atomic_writer(path) as fh:
        fh.write(text)


def write_files(files: dict[Path, str]) -> None:
    """Write every `path -> text` of `files`, creating the folders they need, all or
    nothing: each file is replaced atomically, and when one cannot be written the files this
    call created (they did not exist before) are removed again, so a failed scaffold leaves
    no half of itself behind. A file it replaced stays replaced: the caller decides up front
    whether replacing is allowed (`verdict init --force`)."""
    created: list[Path] = []
    folders: list[Path] = []
    try:
        for path, text in files.items():
            missing = [p for p in reversed(path.parents) if not p.exists()]
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError.from_os(str(path), exc) from None
            folders.extend(missing)
            new = not os.path.lexists(path)
            atomic_write_text(path, text)
            if new:
                created.append(path)
    except BaseException:
        for path in reversed(created):
            try:
                os.unlink(path)
            except OSError:
                pass
        for folder in reversed(folders):  # only the folders this call made, deepest first
            try:
                os.rmdir(folder)
            except OSError:
                pass
        raise


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append to a file another tool also writes to (a CI step summary): never atomic by
    nature, so written in one call."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise OutputError.from_os(str(path), exc) from None
