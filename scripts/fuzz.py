#!/usr/bin/env python3
"""The long fuzz run of issue 11: resumable, in recycled worker processes, with timeouts.

    nice -n 10 .venv/bin/python scripts/fuzz.py --workers 2 --state bench/out/fuzz-final   # the full volumes
    .venv/bin/python scripts/fuzz.py --policies 20000 --records 50000 --cli 200   # a taste
    .venv/bin/python scripts/fuzz.py --status --state bench/out/fuzz-final   # the issue's counts so far
    .venv/bin/python scripts/fuzz.py --minimize bench/out/fuzz/findings/<dir>   # shrink one

Phases, each a range of case indexes of one seed (every case is a pure function of
(seed, index), so a run stopped anywhere resumes where it stopped, whatever --workers, and
any finding can be regenerated with the harness of the same commit): `grid` (every
comparison operator against the numbers where int64 and doubles run out, on both
backends), `policy` (load and validate every generated policy and check its diagnostics
are located; the static analysis on 1 in --analyse-every of them, every report format
on 1 in 7; compile the valid ones of --compile-of in --compile-every cases and decide
--records-per-policy fuzzed records on both backends), `record` (fuzzed records on both
backends against fixed policies) and `cli` (`verdict validate`, `eval`, `explain` as
subprocesses on files, including the output side). Every sample is by case index.

--workers N runs N units of work at once (ranges of cases, the next free one taken by
whichever worker is idle), each in its own recycled worker process with its own per-input
timeout. State (per phase: `next`, the ranges done ahead of it, counts, worker seconds and
wall seconds; the commits; each invocation's options) is kept in --state (a file, or a
folder holding state.json and findings/; default bench/out/fuzz/state.json) and saved
after every unit; findings go to findings/ beside it (one folder per distinct failure, the
first few inputs of each). bench/out/ is git-ignored. Stop with Ctrl-C or --time-limit (the
units in progress are dropped and run again in full on resume); run again to continue.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # `tests.fuzz`; this script's own folder must not shadow it
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from tests.fuzz import cases, runner  # noqa: E402
from tests.fuzz.oracle import FAILURE_KINDS, Finding, to_jsonable  # noqa: E402

OUT = ROOT / "bench" / "out" / "fuzz"
KEEP_PER_SIGNATURE = 3


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
        return head + ("+engine-changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_state(path: Path, seed: int | None) -> dict:
    """The state at `path`, or a new one; `seed` None: the state's own (11 for a new one)."""
    if path.exists():
        state = json.loads(path.read_text("utf-8"))
        if seed is not None and state.get("seed") != seed:
            sys.exit(f"fuzz: {path} is a run with seed {state.get('seed')}; pass --seed {state.get('seed')} "
                     f"or --state elsewhere")
        return state
    return {"seed": 11 if seed is None else seed, "commits": [], "elapsed": 0.0, "phases": {}}


def save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, path)


def signature_dir(f: dict) -> str:
    key = f"{f['kind']}|{f['stage']}|{f['signature'].split(' (generated')[0]}"
    return f"{f['kind']}-{f['stage']}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def save_findings(findings: list[dict], folder: Path, index: dict) -> int:
    """Save the first few inputs of each distinct failure; the number of new signatures."""
    new = 0
    for f in findings:
        name = signature_dir(f)
        entry = index.setdefault(name, {"kind": f["kind"], "stage": f["stage"], "signature": f["signature"],
                                        "item": f.get("item"), "count": 0, "example": f["detail"][:200]})
        if entry["count"] == 0:
            new += 1
        entry["count"] += 1
        if entry["count"] <= KEEP_PER_SIGNATURE:
            d = folder / name
            d.mkdir(parents=True, exist_ok=True)
            try:
                text = json.dumps(f, indent=1, ensure_ascii=True)
            except ValueError:  # a value the harness did not tag: keep the finding, say so
                text = json.dumps({**f, "record": "<not serializable>", "detail": f["detail"][:200]}, indent=1)
            (d / f"{entry['count']}.json").write_text(text, "utf-8")
            if f.get("policy") is not None:
                (d / f"{entry['count']}.policy.yaml").write_bytes(
                    bytes.fromhex(f["policy_hex"]) if f.get("policy_hex") else f["policy"].encode("utf-8", "surrogatepass"))
    return new


def hang_finding(case: str, rule: str = "", detail: str = "") -> dict:
    """A hang's finding, its input regenerated; `rule` says which limit it hit: `cpu` (the
    worker used --timeout CPU seconds: an endless computation) or `wall` (no answer within
    --wall-cap seconds: blocked, a deadlock)."""
    from tests.fuzz.policies import policy_case

    kind, seed, index = case.split(":")
    if kind == "policy":
        raw = policy_case(int(seed), int(index))[0]
    elif kind == "grid":
        from tests.fuzz.cases import grid_case

        raw = grid_case(int(index))[0].encode("utf-8")
    else:
        raw = b""
    signature = {"cpu": "no answer within the CPU-time limit", "wall": "no answer within the wall-clock cap"}.get(
        rule, "no answer within the per-input timeout")
    f = Finding("hang", kind, signature, detail or case, case=case)
    f.policy = raw.decode("utf-8", "replace") if raw else None
    return f.to_dict()


def slow_finding(f: dict) -> dict:
    """A slow case, with its input regenerated (the worker reports only its index)."""
    slow = hang_finding(f["case"])
    slow.update(kind="slow", signature=f["signature"], detail=f["detail"])
    return slow


def table(state: dict) -> str:
    rows = ["| phase | cases | policies validated | valid | compiled (both backends) | records decided (native) | "
            "records decided on durable | durable refusals (policy / record) | tracebacks | disagreements | "
            "unlocated | wrong errors | hangs | of which known issue-11 items | slow (> 5 s) |", "|" + "---|" * 15]
    for phase, p in state["phases"].items():
        c = Counter(p["counts"])
        known = sum(v for k, v in c.items() if ":item" in k)
        rows.append(f"| {phase} | {c['cases']:,} | {c['policies']:,} | {c['valid']:,} | {c['durable_compiled']:,} | "
                    f"{c['records_decided']:,} | {c['records_durable']:,} | {c['refused_policy']:,} / "
                    f"{c['refused']:,} | {c['traceback']:,} | {c['disagreement']:,} | {c['unlocated']:,} | "
                    f"{c['wrong-error']:,} | {c['hang']:,} | {known:,} | {c['slow']:,} |")
    return "\n".join(rows)


def findings_table(index: dict) -> str:
    """The distinct failures, most frequent first, with the issue 11 item each is."""
    rows = ["| count | kind | stage | where | issue 11 item | folder |", "|---|---|---|---|---|---|"]
    for name, e in sorted(index.items(), key=lambda kv: (-kv[1]["count"], kv[0])):
        where = e["signature"].split(" (generated")[0].replace("|", "\\|")
        rows.append(f"| {e['count']:,} | {e['kind']} | {e['stage']} | {where} | {e.get('item') or 'new'} | {name} |")
    return "\n".join(rows)


UNITS = {"grid": 117, "policy": 1000, "record": 20000, "cli": 25}  # cases per unit of work, by phase
# What the issue asks the long run to reach (issue 11, "A fuzz harness that keeps this fixed").
VOLUMES = {"validated": 1_000_000, "both_policies": 100_000, "both_records": 1_000_000}


def totals(state: dict) -> Counter:
    """The counts issue 11 asks for, over every phase of a state."""
    t = Counter()
    for phase, p in state["phases"].items():
        c = Counter(p["counts"])
        if phase in ("grid", "policy"):
            t["validated"] += c["policies"]
        if phase == "policy":
            # built on durable and deciding at least one record on both backends (the older
            # states, without that count, are counted by the policies built on durable)
            t["both_policies"] += c["policies_both"] if "policies_both" in c else c["durable_compiled"]
            t["durable_built"] += c["durable_compiled"]
        t["both_records"] += c["records_durable"]
        t["cli_runs"] += c["cli_runs"]
        for k in FAILURE_KINDS + ("harness_error", "slow"):
            t[k] += c[k]
    return t


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers, the CLI runs)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def wall(seconds: float) -> str:
    m = int(seconds // 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{int(seconds % 60):02d}s"


def status(state: dict, state_path: Path) -> str:
    """The counts of issue 11, whether the volumes are reached, and a line for
    docs/reliability.md ("Recorded runs")."""
    t = totals(state)
    reached = all(t[k] >= v for k, v in VOLUMES.items())
    lines = [
        f"policies validated:                          {t['validated']:,} (of {VOLUMES['validated']:,})",
        f"policies compiled and evaluated on both:     {t['both_policies']:,} (of {VOLUMES['both_policies']:,}; "
        f"{t['durable_built']:,} built on durable)",
        f"records decided on both backends:            {t['both_records']:,} (of {VOLUMES['both_records']:,})",
        f"tracebacks: {t['traceback']:,}  disagreements: {t['disagreement']:,}  hangs: {t['hang']:,}  "
        f"unlocated: {t['unlocated']:,}  wrong-error: {t['wrong-error']:,}  (harness errors: {t['harness_error']:,}, "
        f"slow > 5 s: {t['slow']:,})",
    ]
    phases = ", ".join(f"{ph} {p['next']:,}" + (f" (+{sum(b - a for a, b in p.get('done', [])):,} ahead)"
                                                   if p.get("done") else "")
                       for ph, p in state["phases"].items())
    lines.append(f"cases done by phase: {phases}; wall {wall(state.get('wall', state['elapsed']))}, "
                 f"worker time {wall(state['elapsed'])}")
    rates = []
    for ph, p in state["phases"].items():
        c, w = Counter(p["counts"]), p.get("wall", p["seconds"])
        rates.append(f"{ph} {c['cases'] / w:,.0f} cases/s" if w else ph)
        if p.get("cpu"):
            rates[-1] += f" ({p['cpu_cases'] / p['cpu']:,.0f} a CPU second)"
    lines.append("throughput (wall): " + ", ".join(rates))
    lines.append("volumes of issue 11: " + ("reached" if reached else "NOT reached yet"))
    inv = state.get("invocations", [{}])
    workers = sorted({i.get("workers", 1) for i in inv})
    clean = all(t[k] == 0 for k in FAILURE_KINDS) and t["harness_error"] == 0
    lines.append("")
    lines.append("line for docs/reliability.md (Recorded runs):")
    lines.append(
        f"- {time.strftime('%Y-%m-%d')}, engine at `{' '.join(state['commits'])}`, seed {state['seed']}, "
        f"{'/'.join(map(str, workers))} worker{'s' if workers != [1] else ''}, {wall(state.get('wall', state['elapsed']))} wall: "
        f"{t['validated']:,} policies validated, {t['both_policies']:,} compiled and evaluated on both backends, "
        f"{t['both_records']:,} records decided on both backends, {t['cli_runs']:,} CLI runs; "
        f"**{t['traceback']:,} tracebacks, {t['disagreement']:,} disagreements, {t['hang']:,} hangs**, "
        f"{t['unlocated']:,} unlocated, {t['wrong-error']:,} wrong errors"
        + ("" if reached else " (volumes NOT reached)") + ("" if clean else " (see the findings table)")
        + f" (`{state_path}`).")
    return "\n".join(lines)


def units(p: dict, target: int, size: int):
    """The ranges of a phase still to run: from `next` on, skipping the ones done ahead of it."""
    done = sorted(tuple(r) for r in p.get("done", []))
    i = p["next"]
    while i < target:
        hi = min(target, i + size)
        for a, b in done:  # a range done by an earlier run (whose sizes may differ)
            if a <= i < b:
                i = b
                break
            if i < a < hi:
                hi = a
        else:
            yield i, hi
            i = hi


def mark_done(p: dict, a: int, b: int) -> None:
    """Record [a, b) done; `next` advances over every range done contiguously after it."""
    done = sorted([tuple(r) for r in p.get("done", [])] + [(a, b)])
    while done and done[0][0] <= p["next"]:
        p["next"] = max(p["next"], done.pop(0)[1])
    p["done"] = [list(r) for r in done]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="default: the state's own, 11 for a new state")
    ap.add_argument("--workers", type=int, default=1,
                    help="worker processes at once, each on its own ranges of cases, with its own timeout")
    ap.add_argument("--policies", type=int, default=1_000_000, help="policy cases (each validates one policy)")
    ap.add_argument("--compile-every", type=int, default=1,
                    help="compile and decide the valid policies of --compile-of in N cases, by index")
    ap.add_argument("--compile-of", type=int, default=1, help="(see --compile-every; 1 of 1: all of them)")
    ap.add_argument("--analyse-every", type=int, default=2,
                    help="run the static analysis on the valid policies of 1 in N cases, by index")
    ap.add_argument("--records-per-policy", type=int, default=8)
    ap.add_argument("--records", type=int, default=1_500_000, help="record cases against fixed policies")
    ap.add_argument("--cli", type=int, default=2_000, help="CLI cases (subprocesses)")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="CPU seconds a worker may spend on one input before it counts as a hang")
    ap.add_argument("--wall-cap", type=float, default=None,
                    help="wall seconds without an answer before an input counts as a hang (a worker blocked "
                         "without using CPU); default 20 x --timeout")
    ap.add_argument("--recycle", type=int, default=200, help="recycle a worker after N durable policies")
    ap.add_argument("--chunk", type=int, default=0,
                    help="cases per unit of work (state saved after each); default by phase: "
                         + ", ".join(f"{k} {v}" for k, v in UNITS.items()))
    ap.add_argument("--time-limit", type=float, default=0, help="stop (resumably) after this many seconds")
    ap.add_argument("--phases", default="grid,policy,record,cli")
    ap.add_argument("--state", type=Path, default=OUT / "state.json",
                    help="the state file, or a folder for state.json and findings/")
    ap.add_argument("--findings", type=Path, default=None, help="default: findings/ beside the state file")
    ap.add_argument("--no-durable", action="store_true")
    ap.add_argument("--status", action="store_true", help="print the counts so far and exit")
    ap.add_argument("--minimize", type=Path, help="shrink the first input of a findings folder")
    args = ap.parse_args(argv)
    if args.state.suffix != ".json":  # a folder: --state bench/out/fuzz-final
        args.state = args.state / "state.json"
    if args.findings is None:
        args.findings = args.state.parent / "findings"

    if args.minimize:
        from tests.fuzz.minimize import minimize_finding

        f = Finding(**json.loads((args.minimize / "1.json").read_text("utf-8")))
        raw, record = minimize_finding(f)
        (args.minimize / "min.policy.yaml").write_bytes(raw)
        (args.minimize / "min.record.json").write_text(json.dumps(to_jsonable(record)), "utf-8")
        print(raw.decode("utf-8", "replace"))
        print("record:", record)
        if f.as_of:  # the evaluation date it was decided on: a corpus entry needs it too
            print("as_of:", f.as_of)
        return 0

    state = load_state(args.state, args.seed)
    args.seed = state["seed"]
    if args.status:
        print(table(state))
        index_path = args.findings / "index.json"
        if index_path.exists():
            print(findings_table(json.loads(index_path.read_text("utf-8"))))
        print()
        print(status(state, args.state))
        return 0
    if args.workers < 1 or not 0 < args.compile_of <= args.compile_every or args.analyse_every < 1:
        ap.error("--workers and --analyse-every must be at least 1, and 0 < --compile-of <= --compile-every")
    if commit() not in state["commits"]:
        state["commits"].append(commit())
    # what each invocation ran with: a resumed run may change options (say --compile-every),
    # and its counts then mix them
    state.setdefault("invocations", []).append({"commit": commit(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                                 "argv": sys.argv[1:] if argv is None else list(argv),
                                                 "workers": args.workers,
                                                 "compile_every": args.compile_every,
                                                 "compile_of": args.compile_of,
                                                 "analyse_every": args.analyse_every,
                                                 "records_per_policy": args.records_per_policy})
    index_path = args.findings / "index.json"
    index = json.loads(index_path.read_text("utf-8")) if index_path.exists() else {}
    cfg = cases.Config(records=args.records_per_policy, compile_every=args.compile_every,
                       compile_of=args.compile_of, analyse_every=args.analyse_every, durable=not args.no_durable)
    from tests.fuzz import cli

    targets = {"grid": cases.grid_size(), "policy": args.policies, "record": args.records, "cli": args.cli}
    t_start = time.monotonic()
    deadline = t_start + args.time_limit if args.time_limit else None
    lock = threading.Lock()  # the state, the findings index and the output
    stop = threading.Event()
    errors: list[BaseException] = []

    def run_unit(phase: str, a: int, b: int):
        if phase == "cli":
            return cli.run_range(args.seed, a, b, timeout=args.timeout)
        return runner.run(phase, args.seed, a, b, cfg, timeout=args.timeout, wall_cap=args.wall_cap,
                          recycle=args.recycle, stop_event=stop,
                          fork_lock=lock)

    def merge(phase: str, p: dict, a: int, b: int, res, wall_start: float) -> None:
        """Under the lock: fold one finished unit into the state and save it."""
        findings = [slow_finding(f) if f["kind"] == "slow" else f for f in res.findings]
        findings += [hang_finding(*h) if isinstance(h, (tuple, list)) else hang_finding(h) for h in res.hangs]
        new = save_findings(findings, args.findings, index)
        args.findings.mkdir(parents=True, exist_ok=True)
        index_path.write_text(json.dumps(index, indent=1, sort_keys=True), "utf-8")
        p["counts"] = dict(Counter(p["counts"]) + res.counts)
        mark_done(p, a, b)
        # wall time, for the throughput of N workers together (the old states, of one worker
        # at a time, had only the worker time, which was the wall time)
        now = time.monotonic()
        p["wall"] = p.get("wall", p["seconds"]) + (now - merge.last.get(phase, wall_start))
        merge.last[phase] = now
        state["wall"] = state.get("wall", state["elapsed"]) + (now - merge.last_any)
        merge.last_any = now
        p["seconds"] += res.seconds  # worker time (with N workers, up to N times the wall time)
        # CPU time: what a case costs whatever else the machine runs (with N workers at once,
        # attributed to the phase whose unit finishes)
        cpu = cpu_seconds()
        p["cpu"] = p.get("cpu", 0.0) + (cpu - merge.cpu)
        p["cpu_cases"] = p.get("cpu_cases", 0) + res.counts["cases"]  # (an older state has no CPU times)
        merge.cpu = cpu
        state["elapsed"] += res.seconds
        save_state(args.state, state)
        (args.state.parent / "counts.md").write_text(table(state) + "\n", "utf-8")
        c = Counter(p["counts"])
        rate = c["cases"] / p["wall"] if p["wall"] else 0
        per_cpu = p["cpu_cases"] / p["cpu"] if p["cpu"] else 0
        fails = " ".join(f"{k} {c[k]}" for k in FAILURE_KINDS + ("harness_error",))
        print(f"[{time.strftime('%H:%M:%S')}] {phase} {c['cases']:,}/{targets[phase]:,} "
              f"({rate:.0f} cases/s, {args.workers} worker{'s' if args.workers > 1 else ''}; "
              f"{per_cpu:.0f} a CPU second) {fails}"
              + (f"; {new} new failure kinds" if new else ""), flush=True)

    merge.last = {}
    merge.cpu = cpu_seconds()
    merge.last_any = time.monotonic()

    def work(phase: str, p: dict, todo, wall_start: float) -> None:
        try:
            while not stop.is_set():
                if deadline and time.monotonic() >= deadline:
                    stop.set()
                    break
                with lock:
                    unit = next(todo, None)
                if unit is None:
                    return
                res = run_unit(phase, *unit)
                if res.incomplete or stop.is_set():
                    return  # a unit cut short is run again in full on resume
                with lock:
                    merge(phase, p, *unit, res, wall_start)
        except BaseException as exc:  # noqa: BLE001 - a bug of this script: stop the others, report it
            errors.append(exc)
            stop.set()

    def terminate(signum, frame):
        raise KeyboardInterrupt  # `kill PID` stops as Ctrl-C does: the state saved, the workers ended

    signal.signal(signal.SIGTERM, terminate)
    try:
        for phase in args.phases.split(","):
            p = state["phases"].setdefault(phase, {"next": 0, "counts": {}, "seconds": 0.0})
            todo = units(p, targets[phase], args.chunk or UNITS[phase])
            wall_start = time.monotonic()
            merge.last_any = wall_start
            threads = [threading.Thread(target=work, args=(phase, p, todo, wall_start), daemon=True)
                       for _ in range(args.workers)]
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
            if errors:
                raise errors[0]
            if stop.is_set():
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        stop.set()  # the threads stop after their batch in progress and discard their unit
        for t in threading.enumerate():
            if t is not threading.current_thread() and t.daemon:
                t.join(60)
        with lock:
            save_state(args.state, state)
        print("fuzz: stopped; run again to resume", file=sys.stderr)
    print(table(state))
    print(f"findings: {len(index)} distinct ({args.findings})")
    print(status(state, args.state))
    return 1 if any(Counter(p["counts"])[k] for p in state["phases"].values() for k in FAILURE_KINDS) else 0


if __name__ == "__main__":
    sys.exit(main())
