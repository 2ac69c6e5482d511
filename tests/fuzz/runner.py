"""Worker processes with per-input timeouts, recycled after N policies.

The parent sends a worker a range of case indexes; the worker runs them one by one and,
before each, writes the index it is starting into shared memory, so when it stops
answering (a hang in Python or inside durable-rules' C code, which no signal interrupts)
the parent knows which input hung, kills the worker, counts a hang, and starts a fresh
worker after that input.

A hang is measured so that machine load cannot fake one: a case hangs when the worker
has used `timeout` seconds of CPU time on it without answering (`cpu`: an endless loop),
or when it has not answered within `wall_cap` seconds of wall time (default 20 x
`timeout`) whatever CPU it used (`wall`: a worker blocked without computing, a
deadlock). A worker at `nice -n 19` on a busy machine may get a tenth of a core; the old
rule (no answer within `timeout` wall seconds) called such a starved worker hung. CPU
time is read from /proc/<pid>/stat (utime + stime), or psutil where there is no /proc;
with neither, `timeout` is a wall-clock limit again (the finding says so). Workers are also recycled after `recycle` policies compiled on
the durable backend (durable-rules never frees a ruleset: ~600 KB each) and after
`recycle_cases` cases of any kind.

A worker reports after every case `(index, counts delta, findings)`; the parent merges
them. With the fork start method a worker starts in a few milliseconds, as the parent
has already imported the engine (but never durable-rules: the parent decides nothing).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

from .cases import Config, RecordCases, run_grid_case, run_policy_case
from .oracle import Finding, PolicyOracle, _exc_detail, where


SLOW = 5.0  # seconds: a case slower than this is reported (item 10 was 17 s for one `in` list)
WALL_CAP_FACTOR = 20  # the default wall-clock cap, in units of the CPU timeout
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process `pid` has used, or None when it cannot be read
    (no such process, no /proc and no psutil)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        try:
            import psutil  # noqa: PLC0415 - only where there is no /proc (macOS)
        except ImportError:
            return None
        try:
            t = psutil.Process(pid).cpu_times()
        except Exception:  # noqa: BLE001 - gone, or not ours to read
            return None
        return t.user + t.system
    # fields after the command name (in parentheses, which may hold spaces): the state is
    # field 3, utime and stime fields 14 and 15 (proc(5)), in clock ticks
    rest = data[data.rindex(b")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / _TICKS


class HangClock:
    """When the case a worker is on counts as hung: `timeout` CPU seconds used by the
    worker since the case began, or `wall_cap` wall seconds (see the module docstring)."""

    def __init__(self, pid: int, timeout: float, wall_cap: float):
        self.pid, self.timeout, self.wall_cap = pid, timeout, wall_cap
        self.restart()

    def restart(self) -> None:
        """A new case began (the worker answered, or was sent a range)."""
        self.t0 = time.monotonic()
        self.cpu0 = cpu_seconds(self.pid)

    def slice(self) -> float:
        """How long to wait for an answer before looking at the clocks again."""
        return max(0.05, min(0.5, self.timeout / 4, self.wall_cap / 4))

    def verdict(self) -> tuple[str, str] | None:
        """None while the case may go on; else (rule, detail): rule `cpu` or `wall`."""
        waited = time.monotonic() - self.t0
        cpu = cpu_seconds(self.pid)
        if cpu is None or self.cpu0 is None:  # no CPU clock: the old wall-clock rule
            if waited >= self.timeout:
                return "wall", f"no answer within {self.timeout:g} s of wall time (no CPU clock to read)"
            return None
        used = cpu - self.cpu0
        if used >= self.timeout:
            return "cpu", f"no answer after {used:.1f} s of CPU time ({waited:.1f} s wall; limit {self.timeout:g} CPU s)"
        if waited >= self.wall_cap:
            return "wall", (f"no answer within {waited:.1f} s of wall time while using {used:.1f} s of CPU "
                            f"(blocked; limit {self.wall_cap:g} s wall)")
        return None


@dataclass
class Result:
    counts: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)
    hangs: list = field(default_factory=list)  # (case name, rule "cpu" or "wall", detail)
    workers: int = 0
    seconds: float = 0.0
    incomplete: bool = False  # stopped by `stop_event` before the end of its range


def _worker(conn, current, kind: str, seed: int, cfg: Config) -> None:
    # Ctrl-C is the parent's to handle (it discards the ranges in progress and saves its
    # state); a worker killed by it mid-case would look like a crash
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # what the worker inherited from the parent (the engine, the examples) lives as long as
    # it does: out of the collector's way, its full collections stay short (3-5 % a case)
    gc.freeze()
    oracle = PolicyOracle(Counter())
    records = RecordCases(oracle, cfg) if kind == "record" else None
    while True:
        msg = conn.recv()
        if msg is None:
            return
        start, stop = msg
        for i in range(start, stop):
            current.value = i
            before = Counter(oracle.counts)
            t0 = time.monotonic()
            try:
                findings = _run_case(kind, oracle, records, seed, i, cfg)
            except Exception as exc:  # noqa: BLE001 - a bug of the harness, not of the product
                oracle.counts["harness_error"] += 1
                findings = [Finding("harness-error", kind, where(exc), _exc_detail(exc), case=f"{kind}:{seed}:{i}")]
            took = time.monotonic() - t0
            if took > SLOW:  # not a failure, but how super-linear analysis shows before it hangs
                oracle.counts["slow"] += 1
                findings.append(Finding("slow", kind, f"slower than {SLOW:.0f} s", f"{took:.1f} s",
                                        case=f"{kind}:{seed}:{i}"))
            delta = oracle.counts - before
            conn.send((i, dict(delta), [f.to_dict() for f in findings]))
        conn.send(("done", oracle.counts.get("durable_compiled", 0)))


def _run_case(kind: str, oracle: PolicyOracle, records, seed: int, i: int, cfg: Config) -> list:
    """One case's findings (a module function, so a test can put a slow or stuck one in)."""
    if kind == "grid":
        return run_grid_case(oracle, i)
    if records is not None:
        return records.run(seed, i)
    return run_policy_case(oracle, seed, i, cfg)


def run(kind: str, seed: int, start: int, stop: int, cfg: Config = Config(), *, timeout: float = 20.0,
        wall_cap: float | None = None, recycle: int = 200, recycle_cases: int = 20000, batch: int = 50, on_progress=None,
        start_method: str = "fork", stop_event=None, fork_lock=None) -> Result:
    """Run cases [start, stop) of `kind` ("policy", "record" or "grid") in one worker at a time.

    `timeout` is CPU seconds per input (a policy case includes compiling and its records),
    `wall_cap` wall seconds per input (default `WALL_CAP_FACTOR` x `timeout`). Several
    calls may run at once in threads of one parent (`scripts/fuzz.py --workers`), each with
    its own worker process and timeout; when `stop_event` (a `threading.Event`) is set the
    call stops after the batch in progress and returns with `incomplete` set. `fork_lock`:
    held while a worker is forked, by a parent whose other threads print or write files
    under it (a lock held by another thread at a fork stays held in the child)."""
    ctx = mp.get_context(start_method)
    if wall_cap is None:
        wall_cap = WALL_CAP_FACTOR * timeout
    res = Result()
    t0 = time.monotonic()
    i = start
    while i < stop:
        if stop_event is not None and stop_event.is_set():
            res.incomplete = True
            break
        parent, child = ctx.Pipe()
        current = ctx.Value("q", -1, lock=False)
        proc = ctx.Process(target=_worker, args=(child, current, kind, seed, cfg), daemon=True)
        if fork_lock is not None:
            with fork_lock:
                proc.start()
        else:
            proc.start()
        child.close()
        res.workers += 1
        clock = HangClock(proc.pid, timeout, wall_cap)
        done_in_worker = 0
        alive = True
        try:
            while alive and i < stop:
                if stop_event is not None and stop_event.is_set():
                    break
                hi = min(stop, i + batch)
                parent.send((i, hi))
                clock.restart()
                while True:
                    if not parent.poll(clock.slice()):
                        hang = clock.verdict()
                        if hang is None:
                            continue
                        hung = current.value if current.value >= i else i
                        res.hangs.append((f"{kind}:{seed}:{hung}", *hang))
                        res.counts["hang"] += 1
                        res.counts["cases"] += 1
                        i = hung + 1
                        alive = False
                        break
                    try:
                        msg = parent.recv()
                    except EOFError:  # the worker died (a segfault in C code): count it as a crash
                        hung = current.value if current.value >= i else i
                        proc.join(2)  # reap it, for its exit code (a negative signal number)
                        res.findings.append(Finding("traceback", "worker", f"worker exited with {proc.exitcode}",
                                                    "the worker process died", case=f"{kind}:{seed}:{hung}").to_dict())
                        res.counts["traceback"] += 1
                        res.counts["cases"] += 1
                        i = hung + 1
                        alive = False
                        break
                    if msg[0] == "done":
                        durable_compiled = msg[1]
                        break
                    idx, delta, findings = msg
                    clock.restart()  # the worker goes on with the next case
                    res.counts.update(delta)
                    res.counts["cases"] += 1
                    res.findings.extend(findings)
                    i = idx + 1
                    done_in_worker += 1
                if alive and (durable_compiled >= recycle or done_in_worker >= recycle_cases):
                    break  # recycle: a fresh process frees durable's rulesets
                if on_progress is not None:
                    on_progress(i, res)
        finally:
            if proc.is_alive():
                try:
                    if alive:
                        parent.send(None)
                        proc.join(2)
                finally:
                    if proc.is_alive():
                        proc.kill()
                    proc.join()
            parent.close()
        if on_progress is not None:
            on_progress(i, res)
    res.seconds = time.monotonic() - t0
    return res
