"""Batch evaluation from the command line: records/s and peak memory of `verdict eval`.

    .venv/bin/python bench/bench_batch.py            # 100,000 and 10,000 users, 3 runs each
    .venv/bin/python bench/bench_batch.py --quick    # 20,000 and 2,000 users, 1 run each

The users of `bench_eval.make_users` (fixed seed) are written once as CSV and as JSONL
(with a `user_id` column/field), then `verdict eval -p policies/double11-coupon.yaml --id
user_id FILE -o OUT` runs as a subprocess: the console script beside this interpreter, as
a user runs it, start-up included. Reported per input: the median wall time, records/s,
and the child's peak resident memory (VmHWM sampled from /proc while it runs: `ru_maxrss`
would count the pages the child inherited from this process before exec). Streaming is
shown by the memory of the small and the large input being the same. The output of the
large CSV run is checked: one decision per user, and each decision's outcome equal to the
hand-written function's. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

from _results import finish, machine_info  # noqa: E402
from bench_eval import POLICY, SEED, make_users  # noqa: E402
from double11_oracle import double11  # noqa: E402

# Streaming: peak memory may not grow with the input (10x the records, same peak +-15%).
MEMORY_GROWTH_MAX = 1.15


def verdict_command() -> list[str]:
    exe = Path(sys.executable).parent / "verdict"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli.main"]


def write_inputs(users: list[dict], folder: Path, stem: str) -> dict[str, Path]:
    csv_path, jsonl_path = folder / f"{stem}.csv", folder / f"{stem}.jsonl"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", *users[0]])
        for i, u in enumerate(users):
            w.writerow([f"u{i}", *(("true" if v else "false") if isinstance(v, bool) else v for v in u.values())])
    with jsonl_path.open("w", encoding="utf-8") as fh:
        for i, u in enumerate(users):
            fh.write(json.dumps({"user_id": f"u{i}", **u}) + "\n")
    return {"CSV": csv_path, "JSONL": jsonl_path}


def _peak_kib(pid: int) -> int | None:
    """VmHWM (peak RSS, KiB) of the running process `pid` once it has exec'd verdict; None
    before (a forked child still has its parent's pages, which `ru_maxrss` would count)."""
    try:
        if b"eval" not in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (KiB) of one child process, sampled from /proc every 5 ms
    (VmHWM only grows, so the last sample before exit is the peak up to then)."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, text=True)
        peak = 0
        while True:
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _peak_kib(proc.pid) or 0)
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, "", err.read())
    return wall, peak, done


def check_output(path: Path, users: list[dict]) -> int:
    """Mismatches between the decisions written and the hand-written rules."""
    bad = 0
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    if len(rows) != len(users):
        return abs(len(rows) - len(users)) + 1
    for i, (row, u) in enumerate(zip(rows, users)):
        if row["record_id"] != f"u{i}" or row["outcome"] != double11(u)["outcome"]:
            bad += 1
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 and 2,000 users, one run each")
    ap.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args(argv)
    big = 20_000 if args.quick else 100_000
    runs = 1 if args.quick else 3
    users = make_users(big)
    verdict = verdict_command()
    rows, peaks, bad = [], {}, None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (big // 10, big):
            for kind, path in write_inputs(users[:n], folder, f"users{n}").items():
                out = folder / f"out-{kind}-{n}.jsonl"
                cmd = [*verdict, "eval", "-p", str(POLICY), "--id", "user_id", str(path), "-o", str(out)]
                samples = [run(cmd) for _ in range(runs)]
                for _, _, done in samples:
                    if done.returncode != 0:
                        print(done.stderr, file=sys.stderr)
                        return 2
                wall = statistics.median(s[0] for s in samples)
                peak = max(s[1] for s in samples)
                peaks[(kind, n)] = peak
                rows.append(f"| {kind} | {n:,} | {wall:.2f} | {n / wall:,.0f} | {peak / 1024:.1f} |")
                if kind == "CSV" and n == big:
                    bad = check_output(out, users)
    growth = max(peaks[(k, big)] / peaks[(k, big // 10)] for k in ("CSV", "JSONL"))
    lines = ["## Batch evaluation (`bench/bench_batch.py" + (" --quick" if args.quick else "") + "`)", "",
             machine_info().rstrip(),
             f"- command: `verdict eval -p policies/double11-coupon.yaml --id user_id FILE -o OUT` "
             f"(`{Path(verdict[0]).name}` beside `{sys.executable}`), JSONL decisions written atomically",
             f"- users: `bench_eval.make_users` (seed {SEED}); {runs} run(s) per input, median wall time "
             f"(start-up included), peak RSS of the child; load average at the end: {os.getloadavg()[0]:.2f}",
             "", "| input | records | wall (s) | records/s | peak RSS (MiB) |", "|---|---:|---:|---:|---:|", *rows]
    checks = [(f"streaming: peak memory for {big:,} records within {MEMORY_GROWTH_MAX}x of {big // 10:,}",
               f"{growth:.2f}x", growth <= MEMORY_GROWTH_MAX),
              (f"every decision written, outcomes equal to the hand-written rules ({big:,} CSV records)",
               f"{bad} mismatches", bad == 0)]
    return finish("bench_batch", lines, checks, not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
