"""Batch evaluation from the command line: records/s and peak memory of `verdict eval`.

    .venv/bin/python bench/bench_batch.py            # 100,000 and 10,000 users, 3 runs each
    .venv/bin/python bench/bench_batch.py --quick    # 20,000 and 2,000 users, 1 run each
    .venv/bin/python bench/bench_batch.py --baseline DIR   # and the tree in DIR, in the same run

The users of `bench_eval.make_users` (fixed seed) are written once as CSV and as JSONL,
each record with a `user_id` and one more undeclared field (`channel`, as real exports
have), then `verdict eval -p policies/double11-coupon.yaml --id user_id FILE -o OUT` runs as
a subprocess: the console script beside this interpreter, as a user runs it, start-up
included. With `--baseline DIR` (a checkout of an earlier commit, say `git archive HEAD~1 |
tar -x -C DIR`), the same command runs from that tree too (`python -m engine.cli` with
`PYTHONPATH=DIR`), run for run alternating with the current one, and its output is
compared with the current output: the same lines but for the per-record `warnings` field
the earlier tree wrote for the undeclared field. Reported per input and tree: the median
wall time, records/s by wall time and by the child's CPU time (user + system, from
`wait4`; on a shared machine the wall time also holds the time other processes had the
core), and the child's peak resident memory (VmHWM sampled from /proc while it runs:
`ru_maxrss` would count the pages the child inherited from this process before exec).
Streaming is shown by the memory of the small and the large input being the same. The
output of the large CSV and JSONL runs is checked: one decision per user, and each
decision's outcome equal to the hand-written function's. Writes its section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
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


TARGET = 150_000  # records/s, JSONL -> JSONL, one core (issue 12)


def write_inputs(users: list[dict], folder: Path, stem: str) -> dict[str, Path]:
    """CSV and JSONL of `users`, each record with `user_id` first and an undeclared
    `channel` last."""
    csv_path, jsonl_path = folder / f"{stem}.csv", folder / f"{stem}.jsonl"
    channels = ("app", "web", "mini-program")
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", *users[0], "channel"])
        for i, u in enumerate(users):
            w.writerow([f"u{i}", *(("true" if v else "false") if isinstance(v, bool) else v for v in u.values()),
                        channels[i % 3]])
    with jsonl_path.open("w", encoding="utf-8") as fh:
        for i, u in enumerate(users):
            fh.write(json.dumps({"user_id": f"u{i}", **u, "channel": channels[i % 3]}) + "\n")
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


def run(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, float, int,
                                                                           subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one child process,
    sampled from /proc every 5 ms (VmHWM only grows, so the last sample before exit is the
    peak up to then)."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, text=True, env=env)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _peak_kib(proc.pid) or 0)
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, "", err.read())
    return wall, usage.ru_utime + usage.ru_stime, peak, done


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


_WARNINGS = re.compile(r',"warnings":\[[^\]]*\]')


def differing_lines(current: Path, baseline: Path) -> int:
    """Lines of the current output that are not the baseline's line without its per-record
    `warnings` field (the only field the undeclared `channel` put in each decision)."""
    with current.open(encoding="utf-8") as a, baseline.open(encoding="utf-8") as b:
        cur, old = a.readlines(), b.readlines()
    return abs(len(cur) - len(old)) + sum(1 for x, y in zip(cur, old) if x != _WARNINGS.sub("", y))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 and 2,000 users, one run each")
    ap.add_argument("--runs", type=int, help="runs per input and tree (default 3, 1 with --quick)")
    ap.add_argument("--baseline", type=Path, help="a checkout of an earlier tree to run side by side")
    ap.add_argument("--baseline-name", default=None, help="what to call the baseline in the table")
    ap.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args(argv)
    big = 20_000 if args.quick else 100_000
    runs = args.runs or (1 if args.quick else 3)
    users = make_users(big)
    trees = [("current", verdict_command(), None, ROOT)]
    if args.baseline is not None:
        base = args.baseline.resolve()
        env = {**os.environ, "PYTHONPATH": str(base)}
        probe = subprocess.run([sys.executable, "-c", "import engine; print(engine.__file__)"], env=env,
                               capture_output=True, text=True, cwd=base)
        if not probe.stdout.startswith(str(base)):
            print(f"the baseline does not import from {base}: {probe.stdout or probe.stderr}", file=sys.stderr)
            return 2
        # Run from its folder: `python -m` puts the working directory first on sys.path.
        trees.append((args.baseline_name or f"baseline ({base.name})", [sys.executable, "-m", "engine.cli"], env, base))
    rows, peaks, stats, bad, differ = [], {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (big // 10, big):
            for kind, path in write_inputs(users[:n], folder, f"users{n}").items():
                samples: dict = {name: [] for name, _, _, _ in trees}
                outs = {}
                for r in range(runs):  # the trees alternate run for run: the same load for both
                    for name, verdict, env, cwd in (trees if r % 2 == 0 else trees[::-1]):
                        tree = trees.index((name, verdict, env, cwd))
                        out = outs[name] = folder / f"out-{kind}-{n}-{len(samples[name])}-{tree}.jsonl"
                        cmd = [*verdict, "eval", "-p", str(POLICY), "--id", "user_id", str(path), "-o", str(out)]
                        sample = run(cmd, env, cwd)
                        if sample[3].returncode != 0:
                            print(sample[3].stderr, file=sys.stderr)
                            return 2
                        samples[name].append(sample)
                for name, _, _, _ in trees:
                    wall = statistics.median(s[0] for s in samples[name])
                    cpu = statistics.median(s[1] for s in samples[name])
                    peak = max(s[2] for s in samples[name])
                    peaks[(name, kind, n)] = peak
                    stats[(name, kind, n)] = (n / wall, n / cpu)
                    rows.append(f"| {kind} | {name} | {n:,} | {wall:.2f} | {n / wall:,.0f} | {cpu:.2f} | "
                                f"{n / cpu:,.0f} | {peak / 1024:.1f} |")
                if n == big:
                    bad[kind] = check_output(outs["current"], users)
                    if len(trees) > 1:
                        differ[kind] = differing_lines(outs["current"], outs[trees[1][0]])
    growth = max(peaks[("current", k, big)] / peaks[("current", k, big // 10)] for k in ("CSV", "JSONL"))
    lines = ["## Batch evaluation (`bench/bench_batch.py" + (" --quick" if args.quick else "") + "`)", "",
             machine_info().rstrip(),
             f"- command: `verdict eval -p policies/double11-coupon.yaml --id user_id FILE -o OUT` "
             f"(`{Path(trees[0][1][0]).name}` beside `{sys.executable}`), JSONL decisions written atomically; "
             "each record has a `user_id` (the id) and one undeclared field, `channel`",
             f"- users: `bench_eval.make_users` (seed {SEED}); {runs} run(s) per input and tree, alternating, "
             f"median wall and CPU time (start-up included), peak RSS of the child; "
             f"load average at the end: {os.getloadavg()[0]:.2f}",
             "", "| input | tree | records | wall (s) | records/s (wall) | CPU (s) | records/s (CPU) "
                 "| peak RSS (MiB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|", *rows]
    if len(trees) > 1:
        name = trees[1][0]
        lines += ["", f"Current / {name}, {big:,} records: "
                  + ", ".join(f"{k} {stats[('current', k, big)][0] / stats[(name, k, big)][0]:.2f}x (wall), "
                              f"{stats[('current', k, big)][1] / stats[(name, k, big)][1]:.2f}x (CPU)"
                              for k in ("JSONL", "CSV")) + "."]
    wall_rate, cpu_rate = stats[("current", "JSONL", big)]
    checks = [(f"JSONL -> JSONL with `--id` >= {TARGET:,} records/s (wall, start-up included)",
               f"{wall_rate:,.0f}", wall_rate >= TARGET),
              (f"(info) the same by the child's CPU time", f"{cpu_rate:,.0f}", True),
              (f"streaming: peak memory for {big:,} records within {MEMORY_GROWTH_MAX}x of {big // 10:,}",
               f"{growth:.2f}x", growth <= MEMORY_GROWTH_MAX),
              *((f"every decision written, outcomes equal to the hand-written rules ({big:,} {k} records)",
                 f"{bad[k]} mismatches", bad[k] == 0) for k in ("CSV", "JSONL")),
              *((f"the same lines as {trees[1][0]} but its per-record `warnings` ({big:,} {k} records)",
                 f"{differ[k]} differ", differ[k] == 0) for k in differ)]
    return finish("bench_batch", lines, checks, not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
