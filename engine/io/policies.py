"""The file edge of policy loading: read a path (safely, size-capped), walk folders.

What the bytes mean is `engine.language.loader`'s business; this module only gets them
off the disk and turns a missing or unreadable file into one `unreadable` diagnostic.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..language.diagnostics import ERROR, Diagnostic
from ..language.loader import POLICY_SUFFIXES, check_policy_bytes, require_policy
from ..language.model import Policy
from ..language.source import MAX_BYTES


def read_file(path: str | os.PathLike) -> tuple[bytes | None, list[Diagnostic]]:
    """Bytes of a file, or one `unreadable` diagnostic (missing, a folder, no permission, too big)."""
    p = Path(path)
    try:
        if p.is_dir():
            return None, [Diagnostic("unreadable", "is a directory, expected a file", ERROR, str(path))]
        with open(p, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, [Diagnostic("unreadable", "no such file", ERROR, str(path))]
    except OSError as exc:
        return None, [Diagnostic("unreadable", f"cannot read file: {exc.strerror or exc}", ERROR, str(path))]
    return raw, []


def beside(path: str | os.PathLike):
    """The reader of the files a policy at `path` attaches (its tables' CSV rows): a path
    relative to the policy's folder, which must stay inside that folder once symlinks are
    resolved (the language refuses `..` and absolute paths before asking)."""
    folder = Path(path).resolve().parent

    def read(relative: str) -> bytes:
        target = (folder / relative).resolve()
        if not target.is_relative_to(folder):
            raise OSError(f"leaves the policy's folder (it resolves to {target})")
        raw, diags = read_file(target)
        if raw is None:
            raise OSError(diags[0].message)
        if len(raw) > MAX_BYTES:
            raise OSError(f"is larger than the limit of {MAX_BYTES} bytes")
        return raw

    return read


def check_policy_file(path: str | os.PathLike) -> tuple[Policy | None, list[Diagnostic]]:
    """Load and validate one policy file (and the files beside it that it attaches); never
    raises for bad content."""
    raw, diags = read_file(path)
    if raw is None:
        return None, diags
    return check_policy_bytes(raw, str(path), beside(path))


def load_policy(path: str | os.PathLike) -> Policy:
    """The validated Policy at `path`, or PolicyError listing every problem."""
    return require_policy(*check_policy_file(path))


def discover(paths: list[str], suffixes: tuple[str, ...] = POLICY_SUFFIXES,
             exclude_suffixes: tuple[str, ...] = (".test.yaml", ".test.yml")) -> list[str]:
    """Files named on the command line, and files found recursively in named folders, sorted.

    A file reached twice (`verdict validate policies/ policies/a.yaml`) is listed once, as
    first spelt: checked twice, it would clash with itself as a duplicate policy id.
    """
    found: list[str] = []
    seen: set[Path] = set()

    def add(path: str) -> None:
        key = Path(path).resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                name = child.name
                if child.is_file() and name.endswith(suffixes) and not name.endswith(exclude_suffixes) \
                        and not any(part.startswith(".") for part in child.relative_to(p).parts):
                    add(str(child))
        else:
            add(raw)
    return found
