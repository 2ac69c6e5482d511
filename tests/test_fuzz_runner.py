"""The runner's hang rule (`tests/fuzz/runner.py`): a case hangs when its worker used the
timeout in CPU seconds without answering, or gave no answer within the wall-clock cap
(a worker blocked without computing). A worker that is merely slow in wall time (starved
by load, or sleeping) is not hung.

Each test puts a case of its own into the worker (`runner._run_case`, inherited through
fork), so what the worker does on each index is exact."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from fuzz import runner


def _case(action):
    def run_case(kind, oracle, records, seed, i, cfg):
        oracle.counts["ran"] += 1
        if i == 1:
            action()
        return []
    return run_case


def _sleep():
    time.sleep(1.5)  # past the old 0.5 s wall timeout, with no CPU used


def _spin():
    while True:  # an endless computation
        pass


def _block():
    threading.Event().wait()  # a deadlock: waits forever without using CPU


def _run(monkeypatch, action, **kw):
    monkeypatch.setattr(runner, "_run_case", _case(action))
    return runner.run("policy", 1, 0, 3, timeout=0.5, batch=3, **kw)


pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat") and runner.cpu_seconds(os.getpid()) is None,
                                reason="no CPU clock (neither /proc nor psutil)")


def test_cpu_seconds_reads_a_busy_process() -> None:
    before = runner.cpu_seconds(os.getpid())
    t = time.process_time()
    while time.process_time() - t < 0.2:
        pass
    after = runner.cpu_seconds(os.getpid())
    assert before is not None and after - before >= 0.15
    assert runner.cpu_seconds(2**22 + 12345) is None  # no such process


def test_a_sleeping_worker_under_the_cpu_budget_is_not_hung(monkeypatch) -> None:
    res = _run(monkeypatch, _sleep, wall_cap=10)
    assert res.hangs == [] and res.counts["ran"] == 3 and res.counts["cases"] == 3 and res.workers == 1


def test_a_busy_loop_is_a_cpu_hang(monkeypatch) -> None:
    res = _run(monkeypatch, _spin, wall_cap=60)
    assert [(case, rule) for case, rule, _ in res.hangs] == [("policy:1:1", "cpu")]
    assert "CPU time" in res.hangs[0][2]
    # the case after the hung one runs in a fresh worker
    assert res.counts == Counter({"ran": 2, "cases": 3, "hang": 1}) and res.workers == 2


def test_a_blocked_worker_past_the_wall_cap_is_a_wall_hang(monkeypatch) -> None:
    t0 = time.monotonic()
    res = _run(monkeypatch, _block, wall_cap=2)
    assert [(case, rule) for case, rule, _ in res.hangs] == [("policy:1:1", "wall")]
    assert "blocked" in res.hangs[0][2]
    assert res.counts["hang"] == 1 and res.counts["ran"] == 2
    assert time.monotonic() - t0 < 30


def test_the_hang_finding_names_the_rule() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("fuzz_script_r", Path(__file__).parents[1] / "scripts" / "fuzz.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    f = script.hang_finding("policy:11:5", "wall", "blocked for 600 s")
    assert f["kind"] == "hang" and f["signature"] == "no answer within the wall-clock cap"
    assert f["detail"] == "blocked for 600 s" and f["policy"]
    assert script.hang_finding("policy:11:5", "cpu", "x")["signature"] == "no answer within the CPU-time limit"
