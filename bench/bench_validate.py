"""Wall time of `verdict validate policies/` (a CI gate), and of validating each policy in-process.

    .venv/bin/python bench/bench_validate.py            # 15 runs of the CLI, 20 of each in-process step
    .venv/bin/python bench/bench_validate.py --quick    # 5 and 5

Run it with the interpreter of the environment the README's setup creates (`.venv`): the
command timed is the `verdict` console script installed next to that interpreter, which is
what a user or a CI job runs after `bash scripts/demo.sh` (never a version manager's shim,
e.g. pyenv's bash wrapper, which alone adds ~80 ms). The CLI is timed as a subprocess, wall
clock, interpreter start-up and imports included (that is what CI pays); the figure is the
median. Each run times the three commands back to back, in a rotating order, so they see the
same machine conditions; the children's CPU time is recorded too (less disturbed by other
jobs on a shared machine). Whether `engine`'s bytecode is cached is reported: without it,
every start compiles the package again (the setup scripts run `compileall`, as a wheel
install would; `PYTHONDONTWRITEBYTECODE=1` otherwise prevents the cache). In-process, per policy file: the first
validation in a fresh process (`check_policy_file`: read, parse, schema, semantic checks,
with the schema loaded on first use), then the warm median, and separately the static
analysis `verdict validate` also runs (`engine.analysis.findings.analyse`). The slowest imports are
listed from `python -X importtime`. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import finish, machine_info  # noqa: E402

TARGET_S = 0.5
PATH_ARG = "policies/"


def cli_command() -> list[str]:
    """The console script installed beside this interpreter (what `.venv/bin/verdict` is)."""
    exe = Path(sys.executable).parent / "verdict"
    if exe.exists():
        return [str(exe), "validate", PATH_ARG]
    return [sys.executable, "-m", "engine.cli.main", "validate", PATH_ARG]


def bytecode_cached() -> str:
    """Whether every module of `engine` has its bytecode cached (else each start compiles it)."""
    missing = [f.name for f in sorted((ROOT / "engine").glob("*.py"))
               if not Path(importlib.util.cache_from_source(str(f))).exists()]
    return "yes" if not missing else f"no ({len(missing)} modules compiled at every start)"


def run_once(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall time, the child's CPU time (user + system), exit code and output of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.returncode, p.stdout + p.stderr


def time_interleaved(cmds: dict[str, list[str]], runs: int) -> tuple[dict, dict, int, str]:
    """`runs` rounds; in each, every command once, the order rotated round by round."""
    names = list(cmds)
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    rc, out = 0, ""
    for n in names:  # warm the page cache; not counted
        run_once(cmds[n])
    for r in range(runs):
        for n in names[r % len(names):] + names[:r % len(names)]:
            w, c, code, text = run_once(cmds[n])
            wall[n].append(w)
            cpu[n].append(c)
            if n == "cli":
                rc, out = code, text
    return wall, cpu, rc, out


IN_PROCESS = r'''
import json, statistics, sys, time
t0 = time.perf_counter()
from engine.io.policies import check_policy_file, discover
t_import = time.perf_counter() - t0
files = discover([sys.argv[1]])
runs = int(sys.argv[2])
try:
    from engine.analysis.findings import analyse
except ImportError:
    analyse = None
rows = []
for f in files:
    t = time.perf_counter(); policy, diags = check_policy_file(f); first = time.perf_counter() - t
    warm = []
    for _ in range(runs):
        t = time.perf_counter(); check_policy_file(f); warm.append(time.perf_counter() - t)
    an_first = an_warm = None
    if analyse is not None and policy is not None:
        t = time.perf_counter(); analyse(policy); an_first = time.perf_counter() - t
        ws = []
        for _ in range(max(1, runs // 4)):
            t = time.perf_counter(); analyse(policy); ws.append(time.perf_counter() - t)
        an_warm = statistics.median(ws)
    rows.append({"file": f, "ok": policy is not None, "errors": sum(d.severity == "error" for d in diags),
                 "rules": len(policy.rules) if policy else None, "first": first,
                 "warm": statistics.median(warm), "an_first": an_first, "an_warm": an_warm})
print(json.dumps({"import": t_import, "rows": rows}))
'''


def slowest_imports(n: int = 8) -> list[tuple[str, float]]:
    """Cumulative import times (s) of the heaviest modules `engine.cli.main` pulls in."""
    p = subprocess.run([sys.executable, "-X", "importtime", "-c", "import engine.cli.main"], cwd=ROOT,
                       capture_output=True, text=True)
    rows = []
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        try:
            _, cum, name = line.split("|")
            rows.append((name.rstrip(), int(cum.strip()) / 1e6))
        except ValueError:
            continue
    top = [r for r in rows if not r[0].startswith(" ")]  # top-level imports of the statement
    deep = sorted((r for r in rows if r[0].strip() != "engine.cli.main"), key=lambda r: -r[1])
    total = next((c for name, c in rows if name.strip() == "engine.cli.main"), None)
    seen, out = set(), []
    for name, cum in deep:
        key = name.strip()
        if key in seen:
            continue
        seen.add(key)
        out.append((name, cum))
        if len(out) >= n:
            break
    return ([("engine.cli.main (total)", total)] if total else []) + [(nm.strip(), c) for nm, c in out] + top[:0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    ap.add_argument("--runs", type=int, help="rounds (default 15)")
    ap.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args(argv)
    runs = args.runs or (5 if args.quick else 15)
    inner = 5 if args.quick else 20

    cmd = cli_command()
    cached = bytecode_cached()
    wall, cpu, rc, out = time_interleaved(
        {"cli": cmd, "bare": [sys.executable, "-c", "pass"], "import": [sys.executable, "-c", "import engine.cli.main"]},
        runs)
    cli_times, bare_times, import_times = wall["cli"], wall["bare"], wall["import"]
    p = subprocess.run([sys.executable, "-c", IN_PROCESS, PATH_ARG, str(inner)], cwd=ROOT, capture_output=True,
                       text=True, check=True)
    import json

    inproc = json.loads(p.stdout.strip().splitlines()[-1])
    imports = slowest_imports()

    cli = statistics.median(cli_times)
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    lines = ["## Validation time (`bench/bench_validate.py" + (" --quick" if args.quick else "") + "`)", "",
             machine_info().rstrip(),
             f"- command: `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}` in {ROOT.name}/ "
             f"(exit {rc}; last line: {summary!r})",
             f"- interpreter: `{sys.executable}`; `engine` bytecode cached: {cached}",
             f"- method: {runs} rounds, each running the three commands below as subprocesses back to back "
             f"(order rotated); wall clock and the child's CPU time, median (min..max); in-process steps timed "
             f"in a fresh interpreter; load average at the end: {os.getloadavg()[0]:.2f}", "",
             "| measurement | wall median (s) | wall min..max (s) | CPU median (s) |", "|---|---:|---:|---:|",
             f"| `verdict validate {PATH_ARG}` (subprocess, everything included) | {cli:.3f} | "
             f"{min(cli_times):.3f}..{max(cli_times):.3f} | {statistics.median(cpu['cli']):.3f} |",
             f"| of which: `python -c pass` (interpreter start-up) | {statistics.median(bare_times):.3f} | "
             f"{min(bare_times):.3f}..{max(bare_times):.3f} | {statistics.median(cpu['bare']):.3f} |",
             f"| of which: `python -c 'import engine.cli.main'` (start-up + imports) | {statistics.median(import_times):.3f} | "
             f"{min(import_times):.3f}..{max(import_times):.3f} | {statistics.median(cpu['import']):.3f} |", "",
             f"In-process (`engine.io.policies` imported in {inproc['import']:.3f} s):", "",
             "| policy | rules | valid | first `check_policy_file` (s) | warm median (s) | "
             "`analyse` first (s) | `analyse` warm (s) |",
             "|---|---:|:---:|---:|---:|---:|---:|"]
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    for r in inproc["rows"]:
        lines.append(f"| {r['file']} | {r['rules'] if r['rules'] is not None else '-'} | "
                     f"{'yes' if r['ok'] else 'no (' + str(r['errors']) + ' errors)'} | {fmt(r['first'])} | "
                     f"{fmt(r['warm'])} | {fmt(r['an_first'])} | {fmt(r['an_warm'])} |")
    lines += ["", "Heaviest imports behind `engine.cli.main` (cumulative, one `-X importtime` run, s):", ""]
    lines += [f"- {name}: {cum:.3f}" for name, cum in imports]
    checks = [(f"`verdict validate {PATH_ARG}` under {TARGET_S} s (median, start-up included)", f"{cli:.3f} s",
               cli < TARGET_S)]
    return finish("bench_validate", lines, checks, not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
