"""Evaluation throughput of double11-coupon: hand-written Python vs the engine's paths.

    python bench/bench_eval.py            # 100,000 users (20,000 for durable), 7 rounds
    python bench/bench_eval.py --quick    # smoke run: 5,000 users, 2 rounds

All variants run in ONE process, interleaved round by round (the order rotates each
round); the figure per variant is the median of its rounds. Before timing, every variant's
decision on every user is compared with the hand-written function (outcome, reason codes,
notices, flags, coupon): any mismatch fails the run. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import machine_info, write_section  # noqa: E402
from double11_oracle import BOUNDARIES, double11  # noqa: E402  (a): the hand-written function

from engine.api import CompiledPolicy  # noqa: E402
from engine.compile import compile_policy  # noqa: E402
from engine.evaluate import evaluate, slow_decide  # noqa: E402
from engine.io.policies import load_policy  # noqa: E402

POLICY = ROOT / "policies" / "double11-coupon.yaml"
SEED = 20261111

TARGETS = {  # variant: minimum ratio to the hand-written function (the service API, docs/api.md)
    "api": 0.5,
    "api_trace": 0.2,
}
INFO = {  # the same decisions through the internal function the CLI calls, for comparison
    "native": "api",
    "native_trace": "api_trace",
}
DURABLE_MAX_OVERHEAD = 1.25  # durable backend within 1.25x of bare durable-rules


# -- users ------------------------------------------------------------------------------------
def make_users(n: int, seed: int = SEED) -> list[dict]:
    """A realistic mix: ~6% overdue (mostly a few days, some severe), every membership tier,
    ~1.5% frozen, and ~8% of each numeric or enum field replaced by a threshold boundary
    value from tests/double11_oracle.py (for overdue_days, one of the same sign)."""
    rnd = random.Random(seed)
    tiers = ["basic", "silver", "gold", "platinum"]
    users = []
    for _ in range(n):
        overdue = rnd.random() < 0.06
        if overdue:
            r = rnd.random()
            od = rnd.randint(1, 3) if r < 0.45 else rnd.randint(4, 30) if r < 0.8 else rnd.randint(31, 200)
        else:
            od = 0
        r = rnd.random()
        oc = 0 if r < 0.85 else rnd.randint(1, 2) if r < 0.96 else rnd.randint(3, 8)
        if overdue and oc == 0 and rnd.random() < 0.5:
            oc = 1
        cs = int(min(950, max(300, rnd.gauss(675, 75))))
        u = {
            "credit_score": cs,
            "overdue_days": od,
            "overdue_count_12m": oc,
            "membership": rnd.choices(tiers, weights=[45, 30, 18, 7])[0],
            "monthly_spend": round(rnd.lognormvariate(7.2, 0.9), 2) if rnd.random() < 0.8
            else rnd.randint(0, 8000),
            "account_age_days": int(rnd.expovariate(1 / 700)),
            "frozen": rnd.random() < 0.015,
            "loan_applications_30d": min(int(rnd.expovariate(1 / 1.3)), 20),
            "credit_utilization": round(min(1.3, rnd.betavariate(2, 4) * 1.3), 4),
        }
        for name, values in BOUNDARIES.items():
            if name == "frozen" or rnd.random() >= 0.08:
                continue
            if name == "overdue_days":  # keep the overdue share: boundaries within each group
                values = [v for v in values if (v > 0) == overdue]
            u[name] = rnd.choice(values)
        users.append(u)
    return users


def mix_summary(users: list[dict]) -> str:
    n = len(users)
    pct = lambda k: f"{100 * k / n:.1f}%"  # noqa: E731
    tiers = {t: sum(u["membership"] == t for u in users) for t in ("basic", "silver", "gold", "platinum")}
    outcomes: dict[str, int] = {}
    for u in users:
        o = double11(u)["outcome"]
        outcomes[o] = outcomes.get(o, 0) + 1
    return (f"overdue {pct(sum(u['overdue_days'] > 0 for u in users))}, "
            f"frozen {pct(sum(u['frozen'] for u in users))}, "
            f"membership {', '.join(f'{t} {pct(c)}' for t, c in tiers.items())}; "
            f"outcomes {', '.join(f'{o} {pct(c)}' for o, c in sorted(outcomes.items(), key=lambda x: -x[1]))}")


# -- canonical forms for the mismatch check ---------------------------------------------------
def canon_oracle(o: dict) -> tuple:
    return (o["outcome"], tuple(o["reasons"]), tuple(o["notices"]), tuple(o["flags"]), o["coupon_yuan"])


def canon_decision(d) -> tuple:
    return (d.outcome, tuple(r.then.reason for r in d.reason_rules),
            tuple(r.then.reason for r in d.notice_rules), tuple(d.flags), d.outputs.get("coupon_yuan"))


# -- bare durable-rules: the same registered rulesets, driven directly -------------------------
class BareDurable:
    """The floor any durable-rules backend pays: for each message the durable backend
    sends for a user (one per registered ruleset: the facts, then the outcome and flags
    for the coupon stratum), `json.dumps` of a plain dict with a fresh `_n`, then
    `host.assert_fact` on the same Host and ruleset the backend registered, reading the
    fired codes, and `host.retract_fact`. The messages (what each stratum's fact holds) are
    captured from the backend once, untimed; computing the second stratum's inputs, fact
    validation, the Decision and the lock are what the backend adds on top."""

    def __init__(self, ruleset):
        from engine.backends.durable import host as dhost

        self.backend = be = ruleset.backend("durable")
        self.host, self.dengine, self.hits = be._host, be._dengine, be._compiled.hits
        self.counter = dhost._COUNTER  # the backend's own message numbers: never a duplicate
        self.prepared: dict[int, list] = {}

    def prepare(self, users: list[dict]) -> None:
        """Capture the backend's messages for `users` (keyed by id(user)), untimed."""
        from engine.runtime.facts import normalize

        be = self.backend
        captured: list = []
        original = be._run

        def capture(rs, text):
            msg = json.loads(text)
            del msg["_n"]
            captured.append((rs.name, msg))
            return original(rs, text)

        be._run = capture  # instance attribute: shadows the method for this pass only
        try:
            for u in users:
                captured.clear()
                be.rule_matches(normalize(ruleset_policy(be), u)[0])
                self.prepared[id(u)] = list(captured)
        finally:
            del be._run

    def run(self, users: list[dict]) -> None:
        host, hits, counter, dumps = self.host, self.hits, self.counter, json.dumps
        not_handled = self.dengine.MessageNotHandledException
        prepared = self.prepared
        for u in users:
            for name, msg in prepared[id(u)]:
                msg["_n"] = next(counter)
                text = dumps(msg, ensure_ascii=False)
                hits.clear()
                try:
                    host.assert_fact(name, text)
                except not_handled:
                    continue
                fired = set(hits)  # noqa: F841 - what a caller would read
                host.retract_fact(name, text)


def ruleset_policy(backend):
    return backend.policy


# -- timing -----------------------------------------------------------------------------------
def make_loops(ruleset, durable_users: list[dict] | None):
    hand = double11
    ev = evaluate
    rs = ruleset
    policy = CompiledPolicy(ruleset)  # what `engine.load_policy` returns to a service

    def run_hand(users):
        for u in users:
            hand(u)

    def run_api(users):
        for u in users:
            policy.evaluate(u)

    def run_api_trace(users):
        for u in users:
            policy.evaluate(u, trace=True)

    def run_native(users):
        for u in users:
            ev(rs, u, trace=False)

    def run_trace(users):
        for u in users:
            ev(rs, u, trace=True)

    loops = {"hand": run_hand, "api": run_api, "native": run_native, "api_trace": run_api_trace,
             "native_trace": run_trace}
    fast_trace = getattr(rs.native, "decide_trace", None)
    if fast_trace is not None:
        def run_fast_trace(users):  # what (c) becomes with the evaluate.py routing in bench/README.md
            for u in users:
                fast_trace(u)

        loops["native_trace_direct"] = run_fast_trace
    if durable_users is not None:
        def run_durable(users):
            for u in users:
                policy.evaluate(u, backend="durable")

        bare = BareDurable(rs)
        bare.prepare(durable_users)
        loops["durable"] = run_durable
        loops["durable_bare"] = bare.run
    return loops


def time_once(fn, users) -> float:
    """CPU seconds of this process for one pass (see bench/README.md: the machine is shared,
    and process CPU time is what other processes' load disturbs least)."""
    t0 = CLOCK()
    fn(users)
    return CLOCK() - t0


CLOCK = time.process_time
CHUNKS = 20  # slices per round, see main()


def n_check_durable(n: int, nd: int, args) -> int:
    """Users on which the durable backend is checked against the oracle (all of them unless
    --durable-check-users says fewer)."""
    return n if args.durable_check_users is None else min(n, max(nd, args.durable_check_users))


# -- main -------------------------------------------------------------------------------------
LABELS = {
    "hand": "(a) hand-written Python (tests/double11_oracle.py)",
    "api": "(b) native, `policy.evaluate(facts)`: the service API (`engine.load_policy`)",
    "native": "(b') native, `engine.evaluate.evaluate(ruleset, facts, trace=False)` (the CLI's call)",
    "api_trace": "(c) native, `policy.evaluate(facts, trace=True)` (full trace, service API)",
    "native_trace": "(c') native, `engine.evaluate.evaluate(ruleset, facts, trace=True)`",
    "native_trace_direct": "(c*) native, generated `decide_trace` called directly (what `evaluate(trace=True)` routes an ordinary record to)",
    "durable": "(d) durable backend, `policy.evaluate(facts, backend=\"durable\")`",
    "durable_bare": "(e) bare durable-rules, assert_fact + retract_fact",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: few users, 2 rounds; still writes RESULTS.md")
    ap.add_argument("--users", type=int, help="users for the native and hand-written runs (default 100,000)")
    ap.add_argument("--durable-users", type=int, help="users for the durable runs (default 20,000)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 7)")
    ap.add_argument("--no-durable", action="store_true", help="skip the durable variants")
    ap.add_argument("--durable-check-users", type=int,
                    help="users checked on the durable backend (default: all; at least the timed ones)")
    ap.add_argument("--wall", action="store_true", help="time with the wall clock instead of process CPU time")
    ap.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args(argv)
    n = args.users or (5_000 if args.quick else 100_000)
    nd = min(n, args.durable_users or (2_000 if args.quick else 20_000))
    rounds = args.rounds or (2 if args.quick else 7)

    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    users = make_users(n)
    ruleset = compile_policy(load_policy(POLICY))

    durable_note = ""
    durable_ok = not args.no_durable
    if durable_ok:
        try:
            ruleset.backend("durable")
        except Exception as exc:  # noqa: BLE001 - reported, the native figures still count
            durable_ok = False
            durable_note = f"durable variants not measured: {type(exc).__name__}: {exc}"
            print(durable_note, file=sys.stderr)
    elif args.no_durable:
        durable_note = "durable variants skipped (--no-durable)"
    fast_trace = getattr(ruleset.native, "decide_trace", None)

    # 1. Correctness on every user, untimed.
    print(f"checking {n:,} users ...", file=sys.stderr)
    mismatches: dict[str, list] = {k: [] for k in ("native", "native_trace", "native_trace_direct", "durable", "api")}
    policy = CompiledPolicy(ruleset)
    for i, u in enumerate(users):
        want = canon_oracle(double11(u))
        fast = evaluate(ruleset, u, trace=False)
        traced = evaluate(ruleset, u, trace=True)
        if policy.evaluate(u) != fast or policy.evaluate(u, trace=True) != traced:
            mismatches["api"].append((i, "the service API differs from engine.evaluate"))
        for key, d in (("native", fast), ("native_trace", traced)):
            if canon_decision(d) != want:
                mismatches[key].append((i, canon_decision(d), want))
        if fast != slow_decide(ruleset, u):
            mismatches["native"].append((i, "fast path differs from the generic path"))
        if fast.matched != traced.matched:
            mismatches["native_trace"].append((i, "matched differ", fast.matched, traced.matched))
        if fast_trace is not None:
            direct = fast_trace(u)
            if direct != traced or list(direct.facts) != list(traced.facts):
                mismatches["native_trace_direct"].append((i, "decide_trace differs from the generic trace path"))
        if durable_ok and i < n_check_durable(n, nd, args):
            dd = policy.evaluate(u, backend="durable")
            if canon_decision(dd) != want or dd.matched != fast.matched:
                mismatches["durable"].append((i, canon_decision(dd), want))
    n_bad = sum(len(v) for v in mismatches.values())
    for key, bad in mismatches.items():
        for item in bad[:5]:
            print(f"MISMATCH {key}: user #{item[0]} {users[item[0]]} -> {item[1:]}", file=sys.stderr)

    # 2. Timing: rounds; within a round the users are cut into CHUNKS slices and, slice by
    # slice, every variant runs on its slice (order rotated), so all variants see the same
    # machine conditions; a variant's round time is the sum over its slices.
    loops = make_loops(ruleset, users[:nd] if durable_ok else None)
    sets = {k: (users[:nd] if k.startswith("durable") else users) for k in loops}
    for k, fn in loops.items():  # warm-up
        fn(sets[k][: min(2000, len(sets[k]))])
    names = list(loops)
    samples: dict[str, list[float]] = {k: [] for k in names}
    ratios: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        gc.collect()  # once per round: per slice it would evict the caches the short slices rely on
        for c in range(CHUNKS):
            shift = (r * CHUNKS + c) % len(names)
            for k in names[shift:] + names[:shift]:
                part = sets[k]
                spent[k] += time_once(loops[k], part[c * len(part) // CHUNKS:(c + 1) * len(part) // CHUNKS])
        for k in names:
            samples[k].append(len(sets[k]) / spent[k])
            ratios[k].append(samples[k][-1] / samples["hand"][-1])
        print(f"round {r + 1}/{rounds}: " + ", ".join(f"{k} {samples[k][-1]:,.0f}/s ({ratios[k][-1]:.3f}x)"
                                                     for k in names), file=sys.stderr)
    rate = {k: statistics.median(v) for k, v in samples.items()}
    spread = {k: (min(v), max(v)) for k, v in samples.items()}
    ratio = {k: statistics.median(v) for k, v in ratios.items()}
    overheads = [b / d for b, d in zip(samples.get("durable_bare", []), samples.get("durable", []))]

    # 3. Verdicts.
    hand = rate["hand"]
    checks = []
    for k, minimum in TARGETS.items():
        checks.append((f"native {'no-trace' if k == 'api' else 'trace'} >= {minimum}x hand-written (service API)",
                       f"{ratio[k]:.3f}x", ratio[k] >= minimum))
    if durable_ok:
        overhead = statistics.median(overheads)
        checks.append((f"durable backend within {DURABLE_MAX_OVERHEAD}x of bare durable-rules",
                       f"{overhead:.3f}x slower", overhead <= DURABLE_MAX_OVERHEAD))
    else:
        checks.append((f"durable backend within {DURABLE_MAX_OVERHEAD}x of bare durable-rules",
                       "not measured", None))
    nchk = n_check_durable(n, nd, args)
    checks.append(("zero mismatches: (a) vs (b), (b'), (c), (c')" + (", (c*)" if fast_trace else "")
                   + f" on {n:,} users" + (f", (a) vs (d) on {nchk:,}" if durable_ok else "")
                   + "; (b) = (b') = the generic path, (c) = (c') = (c*)",
                   f"{n_bad} mismatches", n_bad == 0))
    if fast_trace is not None:
        r_direct = ratio["native_trace_direct"]
        info = ("(info) generated `decide_trace` alone, without the `evaluate` call", f"{r_direct:.3f}x",
                r_direct >= TARGETS["api_trace"])

    # 4. Report.
    lines = ["## Evaluation throughput (`bench/bench_eval.py" + (" --quick" if args.quick else "") + "`)", "",
             machine_info().rstrip(),
             f"- policy: policies/double11-coupon.yaml ({len(ruleset.policy.rules)} rules)",
             f"- users: {n:,} generated with seed {SEED} (durable variants: the first {nd:,} of them)",
             f"- mix: {mix_summary(users)}",
             f"- method: one process, {rounds} rounds; in each, the users are cut into {CHUNKS} slices and every "
             "variant runs slice by slice, interleaved (order rotated); evals/s per round, median over rounds "
             "(min..max shown); ratios are the median of the per-round ratios to (a); clock: "
             f"{'wall (perf_counter)' if CLOCK is time.perf_counter else 'process CPU time (process_time)'}; "
             f"load average at the end: {os.getloadavg()[0]:.2f}", ""]
    if durable_note:
        lines += [f"- NOTE: {durable_note}", ""]
    lines += ["| variant | users | evals/s (median) | min..max | µs/eval | ratio to (a) | min..max ratio |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for k in names:
        lo, hi = spread[k]
        lines.append(f"| {LABELS[k]} | {len(sets[k]):,} | {rate[k]:,.0f} | {lo:,.0f}..{hi:,.0f} | "
                     f"{1e6 / rate[k]:.2f} | {ratio[k]:.3f}x | {min(ratios[k]):.3f}..{max(ratios[k]):.3f} |")
    if durable_ok:
        lines += ["", f"durable backend / bare durable time per eval, per round: "
                      f"{', '.join(f'{o:.2f}' for o in overheads)} (median {statistics.median(overheads):.2f})"]
    lines += ["", "| target | measured | result |", "|---|---:|:---:|"]
    for what, measured, ok in checks:
        lines.append(f"| {what} | {measured} | {'PASS' if ok else 'FAIL' if ok is not None else 'n/a'} |")
    for k, target_row in INFO.items():
        lines.append(f"| (info) {LABELS[k].split(' ', 1)[0]} the same through `engine.evaluate.evaluate` "
                     f"(target row {LABELS[target_row].split(' ', 1)[0]}: {ratio[target_row]:.3f}x) | "
                     f"{ratio[k]:.3f}x | info |")
    if fast_trace is not None:
        lines.append(f"| {info[0]} | {info[1]} | {'info'} |")
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.no_write:
        print(f"wrote {write_section('bench_eval', body)}", file=sys.stderr)
    return 0 if all(ok is not False for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
