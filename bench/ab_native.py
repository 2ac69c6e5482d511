"""Before/after of the evaluation paths, two engine trees in ONE process.

    python bench/ab_native.py [REV] [--users 20000] [--rounds 9]

Extracts `engine/` at the git revision REV (default HEAD) into a temporary directory as the
package `engine_base` (the engine uses relative imports only, so the copy is a second,
independent engine), loads double11-coupon with both, and times, interleaved slice by
slice, the hand-written function and each path with the baseline and with the working
tree: the service API `policy.evaluate` (with and without the trace) and
`engine.evaluate.evaluate` (the CLI's call). Process CPU time, median of the rounds; the
ratio column is current/baseline throughput per round, median (above 1: faster now).
Before timing, both engines' Decisions are compared on every user (every field but the
policy object): any difference fails the run.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_eval import POLICY, make_users  # noqa: E402
from double11_oracle import double11  # noqa: E402

import engine.api  # noqa: E402
import engine.evaluate  # noqa: E402


def baseline_engine(rev: str, into: Path):
    """`engine/` at `rev` as the package `engine_base` (with its `evaluate` module), and
    `schemas/` beside it, where a source checkout's engine reads its schemas."""
    tar = subprocess.run(["git", "archive", rev, "engine", "schemas"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    (into / "engine").rename(into / "engine_base")
    sys.path.insert(0, str(into))
    return importlib.import_module("engine_base.api"), importlib.import_module("engine_base.evaluate")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", nargs="?", default="HEAD", help="the baseline git revision (default HEAD)")
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="verdict-ab-")
    base_api, base_eval = baseline_engine(args.rev, Path(tmp.name))
    engines = {"baseline": (base_api.load_policy(POLICY), base_eval.evaluate),
               "current ": (engine.api.load_policy(POLICY), engine.evaluate.evaluate)}
    users = make_users(args.users)

    def canon(d):
        return tuple(d)[1:]  # every field but the policy (each engine has its own classes)

    (pb, eb), (pc, ec) = engines.values()
    bad = sum(canon(eb(pb.ruleset, u, trace=t)) != canon(ec(pc.ruleset, u, trace=t))
              or canon(pb.evaluate(u, trace=t)) != canon(pc.evaluate(u, trace=t))
              for u in users for t in (False, True))

    def loop(fn):
        def run(part):
            for u in part:
                fn(u)
        return run

    variants = {"hand-written": loop(double11)}
    for label, (policy, evaluate) in engines.items():
        rs = policy.ruleset
        variants[f"{label} policy.evaluate(u)"] = loop(policy.evaluate)
        variants[f"{label} evaluate(rs, u, trace=False)"] = loop(lambda u, rs=rs, ev=evaluate: ev(rs, u, trace=False))
        variants[f"{label} policy.evaluate(u, trace=True)"] = loop(lambda u, p=policy: p.evaluate(u, trace=True))
        variants[f"{label} evaluate(rs, u, trace=True)"] = loop(lambda u, rs=rs, ev=evaluate: ev(rs, u, trace=True))
    names = list(variants)
    samples: dict[str, list[float]] = {k: [] for k in names}
    spent_rounds: list[dict[str, float]] = []
    chunks = 20  # as in bench_eval: slice by slice, every variant, so all see the same conditions
    for r in range(args.rounds):
        gc.collect()
        spent = dict.fromkeys(names, 0.0)
        for c in range(chunks):
            part = users[c * len(users) // chunks:(c + 1) * len(users) // chunks]
            shift = (r * chunks + c) % len(names)
            for k in names[shift:] + names[:shift]:
                t0 = time.process_time()
                variants[k](part)
                spent[k] += time.process_time() - t0
        for k in names:
            samples[k].append(len(users) / spent[k])
        spent_rounds.append(spent)
    print(f"{len(users):,} users, {args.rounds} rounds of {chunks} interleaved slices, process CPU time, medians; "
          f"baseline {args.rev}; {bad} differing decisions")
    for k in names:
        m = statistics.median(samples[k])
        hand = statistics.median(s["hand-written"] / s[k] for s in spent_rounds)
        line = f"{k:40s} {m:>11,.0f} evals/s {1e6 / m:6.2f} µs  {hand:6.3f}x hand-written"
        if k.startswith("current"):
            other = "baseline" + k[len("current "):]
            ratios = [s[other] / s[k] for s in spent_rounds]
            line += (f"   current/baseline {statistics.median(ratios):5.3f} "
                     f"({min(ratios):.3f}..{max(ratios):.3f})")
        print(line)
    tmp.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
