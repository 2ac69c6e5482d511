"""Shared test options: `--update-golden` rewrites golden files instead of comparing them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The suite compiles thousands of policy versions on the durable backend in one process
# (every hypothesis example of a random table is a new version), far past the limit a
# service gets (engine.backends.durable.limits.DEFAULT_MAX_POLICIES, 256). Past it every
# later durable test would fail with "restart the process", wherever the suite reached it.
# The tests of the limit itself set it with monkeypatch.
os.environ.setdefault("VERDICT_DURABLE_MAX_POLICIES", "1000000")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files with the actual output instead of comparing")


def golden(path: str | Path, actual: str, request: pytest.FixtureRequest) -> None:
    """Assert that `actual` equals the golden file at `path`; with --update-golden, write it."""
    path = Path(path)
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert path.is_file(), f"no golden file {path}: run `pytest --update-golden` to create it"
    assert actual == path.read_text(encoding="utf-8"), f"output differs from {path} (--update-golden rewrites it)"


def invoke_in(cwd: str | Path, args):
    """`verdict ARGS` through click's runner with `cwd` as the working folder (what a CI job
    in another folder sees), the folder restored afterwards."""
    import os

    from click.testing import CliRunner

    from engine.cli import main

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)
