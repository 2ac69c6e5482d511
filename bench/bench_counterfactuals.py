"""Cost of counterfactuals per decision on the example policies.

    python bench/bench_counterfactuals.py [--records N] [--seed S]

For each policy in policies/ (not *.test.yaml): N reproducible random records (values
drawn near every threshold the policy compares a fact with, and uniformly within the
declared range), decided once; then the median, 90th percentile and maximum time of
`engine.analysis.counterfactuals.counterfactuals` per decision (verification included), and the
one-time per-policy analysis (`Reach`: the region of each outcome). Writes only bench/RESULTS-counterfactuals.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.api import load_policy  # noqa: E402
from engine.analysis.counterfactuals import Reach, counterfactuals, reach  # noqa: E402
from engine.evaluate import evaluate  # noqa: E402
from engine.runtime.semantics import operand_value  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS-counterfactuals.md"


def _points(policy, name) -> list:
    spec = policy.facts[name]
    out = []
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind == "fact" and leaf.subject == name:
                v = operand_value(leaf)
                for x in v if isinstance(v, tuple) else (v,):
                    if isinstance(x, (int, float)) and not isinstance(x, bool):
                        step = 1 if spec.type == "integer" else 0.01
                        out += [x - step, x, x + step]
    lo = spec.minimum if spec.minimum is not None else min(out + [0])
    hi = spec.maximum if spec.maximum is not None else max(out + [1]) * 2
    return [p for p in out if lo <= p <= hi], lo, hi


def record(policy, rng: random.Random) -> dict:
    rec = {}
    for name, spec in policy.facts.items():
        if not spec.required and rng.random() < 0.2:
            continue
        if spec.type == "boolean":
            rec[name] = rng.random() < 0.3
        elif spec.type == "string":
            rec[name] = rng.choice(spec.enum) if spec.enum else "x"
        else:
            points, lo, hi = _points(policy, name)
            if points and rng.random() < 0.7:
                v = rng.choice(points)
            else:
                v = rng.uniform(lo, hi)
            rec[name] = int(round(v)) if spec.type == "integer" else round(float(v), 2)
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rows = []
    for path in sorted(p for p in (ROOT / "policies").glob("*.yaml") if not p.name.endswith(".test.yaml")):
        ruleset = load_policy(path).ruleset
        t0 = time.perf_counter()
        Reach(ruleset.policy)
        analysis_ms = (time.perf_counter() - t0) * 1e3
        reach(ruleset)  # warm the cache, as a long-running process would be
        rng = random.Random(args.seed)
        decisions = [evaluate(ruleset, record(ruleset.policy, rng), trace=False) for _ in range(args.records)]
        times, shown = [], 0
        for d in decisions:
            t = time.perf_counter()
            found = counterfactuals(ruleset, d)
            times.append(time.perf_counter() - t)
            shown += len(found)
        times.sort()
        rows.append((ruleset.policy.id, len(decisions), statistics.median(times) * 1e6,
                     times[int(0.9 * len(times))] * 1e6, times[-1] * 1e6, shown / len(decisions), analysis_ms))
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = ["# Counterfactuals: cost per decision", "",
             "Written by `bench/bench_counterfactuals.py` (this file only). Time of "
             "`engine.analysis.counterfactuals.counterfactuals(ruleset, decision)` per decision, verification "
             "included, the per-policy analysis cached; the analysis is measured once, separately.", "",
             f"- date: {now}",
             f"- python: {sys.version.split()[0]} ({platform.python_implementation()}, {platform.machine()})",
             f"- records per policy: {args.records} (seed {args.seed})", "",
             "| policy | decisions | median µs | p90 µs | max µs | counterfactuals per decision | analysis ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for pid, n, med, p90, mx, per, an in rows:
        lines.append(f"| {pid} | {n} | {med:.0f} | {p90:.0f} | {mx:.0f} | {per:.2f} | {an:.1f} |")
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text, end="")


if __name__ == "__main__":
    main()
