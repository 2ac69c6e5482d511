"""Before/after of the native backend's generated code, in one process, through `evaluate`.

    git show HEAD:engine/backends/native.py > /tmp/backend_native_base.py
    python bench/ab_native.py /tmp/backend_native_base.py [--users 20000] [--rounds 9]

Builds a second RuleSet whose native backend comes from the given baseline file, then
times, interleaved slice by slice, the hand-written function, `evaluate(trace=False)` and
`evaluate(trace=True)` with the baseline and with the current engine/backends/native.py
(process CPU time, median of the rounds), and checks both give equal Decisions.
"""

from __future__ import annotations

import argparse
import copy
import gc
import importlib.util
import inspect
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_eval import POLICY, make_users  # noqa: E402
from double11_oracle import double11  # noqa: E402

from engine.compile import compile_policy  # noqa: E402
from engine.evaluate import assemble, evaluate, slow_decide  # noqa: E402
from engine.io.policies import load_policy  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("baseline", help="a baseline copy of engine/backends/native.py")
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)

    spec = importlib.util.spec_from_file_location("engine._backend_native_baseline", args.baseline)
    base_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base_mod)

    new = compile_policy(load_policy(POLICY))
    old = copy.copy(new)  # same policy and plan; only the native backend differs
    hooks = {"slow": lambda r: slow_decide(old, r), "assemble": lambda f, m: assemble(old, f, m)}
    if "general" in inspect.signature(base_mod.NativeBackend).parameters:
        hooks["general"] = lambda r, trace, backend: evaluate(old, r, trace=trace, backend=backend)
    old.native = base_mod.NativeBackend(new.policy, new.plan, **hooks)
    # `evaluate` calls the RuleSet's own references to the generated fast paths
    old.decide = old.native.decide
    old.decide_trace = getattr(old.native, "decide_trace", lambda r: None)
    users = make_users(args.users)
    bad = sum(evaluate(old, u, trace=t) != evaluate(new, u, trace=t) for u in users for t in (False, True))

    def loop(fn):
        def run(part):
            for u in part:
                fn(u)
        return run

    variants = {
        "hand-written": loop(double11),
        "baseline evaluate(trace=False)": loop(lambda u: evaluate(old, u, trace=False)),
        "current  evaluate(trace=False)": loop(lambda u: evaluate(new, u, trace=False)),
        "baseline evaluate(trace=True)": loop(lambda u: evaluate(old, u, trace=True)),
        "current  evaluate(trace=True)": loop(lambda u: evaluate(new, u, trace=True)),
    }
    if hasattr(new.native, "decide_trace"):
        variants["current  decide_trace (direct)"] = loop(new.native.decide_trace)
    names = list(variants)
    samples = {k: [] for k in names}
    ratios = {k: [] for k in names}
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
            ratios[k].append(spent["hand-written"] / spent[k])
    print(f"{len(users):,} users, {args.rounds} rounds of {chunks} interleaved slices, process CPU time, "
          f"medians; {bad} differing decisions")
    for k in names:
        m = statistics.median(samples[k])
        print(f"{k:34s} {m:>12,.0f} evals/s  {1e6 / m:7.2f} µs  {statistics.median(ratios[k]):6.3f}x hand-written "
              f"({min(ratios[k]):.3f}..{max(ratios[k]):.3f})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
