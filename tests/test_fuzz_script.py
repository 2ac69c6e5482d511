"""The long run's bookkeeping (`scripts/fuzz.py`): units of work finished out of order by
several workers merge into a state that resumes exactly, and the counts of a range do not
depend on the number of workers or on a stop and resume."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("fuzz_script", ROOT / "scripts" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_units_skip_ranges_done_ahead(script) -> None:
    p = {"next": 0, "done": []}
    assert list(script.units(p, 10, 4)) == [(0, 4), (4, 8), (8, 10)]
    p = {"next": 2, "done": [[4, 6], [8, 9]]}
    assert list(script.units(p, 12, 3)) == [(2, 4), (6, 8), (9, 12)]


def test_mark_done_advances_next_over_contiguous_ranges(script) -> None:
    p = {"next": 0, "done": []}
    script.mark_done(p, 4, 8)  # finished before the unit below it
    assert p == {"next": 0, "done": [[4, 8]]}
    script.mark_done(p, 8, 12)
    script.mark_done(p, 0, 4)
    assert p == {"next": 12, "done": []}


def _counts(state_dir: Path) -> dict:
    return json.loads((state_dir / "state.json").read_text("utf-8"))["phases"]["policy"]


def test_workers_and_resume_give_the_same_counts(script, tmp_path: Path, capsys) -> None:
    common = ["--phases", "policy", "--policies", "240", "--seed", "5", "--chunk", "40"]
    script.main([*common, "--workers", "1", "--state", str(tmp_path / "one")])
    # two workers, stopped after the first units and resumed
    script.main([*common, "--workers", "2", "--policies", "120", "--state", str(tmp_path / "two")])
    script.main([*common, "--workers", "2", "--state", str(tmp_path / "two")])
    one, two = _counts(tmp_path / "one"), _counts(tmp_path / "two")
    assert one["next"] == two["next"] == 240 and not two["done"]
    assert one["counts"] == two["counts"] and one["counts"]["policies"] == 240
    capsys.readouterr()
    script.main(["--status", "--state", str(tmp_path / "two")])
    out = capsys.readouterr().out
    assert "policies validated:" in out and "240 (of 1,000,000)" in out
    assert "line for docs/reliability.md" in out and "0 disagreements" in out
