"""Static analysis time on a generated 200-rule policy (target: under 10 s on this machine).

    python bench/bench_analysis.py            # 200 rules, 5 rounds
    python bench/bench_analysis.py --rules 400 --rounds 3

The policy is generated from a fixed seed with the shape of a real tiered credit policy:
12 declared facts (integer and number ranges, enums, booleans, one optional fact), deny
rules first, then eight tiers whose score thresholds rise with the tier, tier rules with
`all`/`any`/`not` over several facts, flag and notice rules, and post-decision rules that
read the outcome and flags. Times `analysis.find` (every finding, witnesses verified) and
`diff.diff_policies` against a copy with one tier threshold raised; writes
bench/RESULTS-analysis.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.analysis.findings import find  # noqa: E402
from engine.analysis.diff import diff_policies  # noqa: E402
from engine.language.source import load_bytes  # noqa: E402
from engine.language.validate import validate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS-analysis.md"
TIERS = [f"tier{i}" for i in range(1, 9)]
REGIONS = ["bj", "sh", "gz", "sz", "hz", "cd", "wh", "xa", "nj", "cq"]
MEMBERSHIP = ["basic", "silver", "gold", "platinum", "diamond", "staff"]


def generate(n_rules: int, seed: int = 11, bump: int = 0) -> str:
    """A valid policy of `n_rules` rules, as YAML (JSON flow style is valid YAML)."""
    rng = random.Random(seed)
    facts = {
        "credit_score": {"type": "integer", "minimum": 300, "maximum": 950},
        "overdue_days": {"type": "integer", "minimum": 0},
        "overdue_count_12m": {"type": "integer", "minimum": 0},
        "membership": {"type": "string", "enum": MEMBERSHIP},
        "monthly_spend": {"type": "number", "minimum": 0},
        "account_age_days": {"type": "integer", "minimum": 0},
        "frozen": {"type": "boolean", "default": False},
        "loan_applications_30d": {"type": "integer", "minimum": 0},
        "credit_utilization": {"type": "number", "minimum": 0, "maximum": 2},
        "region": {"type": "string", "enum": REGIONS},
        "income": {"type": "number", "minimum": 0, "required": False},
        "device_trusted": {"type": "boolean", "default": True},
    }
    thresholds = {f"{t}_score": 880 - 40 * i + (bump if i == 2 else 0) for i, t in enumerate(TIERS)}
    rules: list[dict] = []
    n_deny = n_rules // 5
    n_post = n_rules // 10
    n_tier = n_rules - n_deny - n_post
    deny_makers = [
        lambda: {"overdue_days": {"gt": rng.choice([30, 45, 60, 90])}},
        lambda: {"all": [{"region": {"in": rng.sample(REGIONS, 2)}},
                         {"credit_score": {"lt": rng.randrange(400, 560, 10)}}]},
        lambda: {"all": [{"overdue_count_12m": {"gte": rng.randint(3, 8)}},
                         {"not": {"membership": {"in": ["diamond", "staff"]}}}]},
        lambda: {"any": [{"frozen": True}, {"all": [{"device_trusted": False},
                                                    {"loan_applications_30d": {"gte": rng.randint(8, 15)}}]}]},
        lambda: {"credit_utilization": {"gt": rng.choice([1.2, 1.5, 1.8])}},
    ]
    for i in range(n_deny):
        rules.append({"id": f"deny-{i}", "when": rng.choice(deny_makers)(),
                      "then": {"outcome": "denied", "reason": "RISK"}})
    for i in range(n_tier):
        k = rng.randrange(len(TIERS))
        tier = TIERS[k]
        conds: list = [{"credit_score": {"gte": f"{tier}_score"}}]
        if rng.random() < 0.6:
            conds.append({"membership": {"in": MEMBERSHIP[max(0, 5 - k):]}})
        if rng.random() < 0.5:
            conds.append({"monthly_spend": {"gte": rng.choice([500, 1000, 2000, 5000, 10000]) * (8 - k) // 4}})
        if rng.random() < 0.4:
            conds.append({"overdue_days": {"lte": k}})
        if rng.random() < 0.3:
            conds.append({"any": [{"account_age_days": {"gte": rng.choice([90, 180, 365])}},
                                  {"income": {"gte": rng.choice([5000, 10000, 20000])}}]})
        if rng.random() < 0.3:
            conds.append({"region": {"not_in": rng.sample(REGIONS, 2)}})
        rules.append({"id": f"{tier}-{i}", "when": {"all": conds}, "then": {"outcome": tier}})
    for i in range(n_post):
        kind = i % 3
        if kind == 0:
            rules.append({"id": f"flag-{i}", "when": {"any": [
                {"loan_applications_30d": {"gte": rng.randint(3, 9)}},
                {"credit_utilization": {"gt": rng.choice([0.8, 0.9, 0.95])}}]}, "then": {"flags": [f"risk{i % 4}"]}})
        elif kind == 1:
            rules.append({"id": f"notice-{i}", "when": {"overdue_days": {"between": [1, rng.randint(5, 30)]}},
                          "then": {"reason": "NOTICE"}})
        else:
            rules.append({"id": f"coupon-{i}", "when": {"all": [
                {"outcome": {"in": rng.sample(TIERS[:4], 2)}}, {"not": {"flag": f"risk{rng.randrange(3)}"}}]},
                "then": {"set": {"coupon_yuan": rng.choice([10, 20, 50])}}})
    # Post-decision rules may name a flag raised by no rule when n is small: keep it valid.
    raised = {f for r in rules for f in r["then"].get("flags", [])}
    for r in rules:
        for c in r["when"].get("all", []):
            if "not" in c and "flag" in c["not"] and c["not"]["flag"] not in raised:
                c["not"]["flag"] = sorted(raised)[0]
    doc = {"policy": "generated", "version": 1, "facts": facts, "thresholds": thresholds,
           "outcomes": [{"id": "denied", "adverse": True}] + TIERS + ["ineligible"], "default": "ineligible",
           "outputs": {"coupon_yuan": {"type": "integer", "default": 0, "combine": "max"}}, "rules": rules}
    return "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in doc.items()) + "\n"


def load(text: str, name: str):
    doc, diags = load_bytes(text.encode(), name)
    policy, diags = validate(doc)
    if policy is None:
        raise SystemExit("generated policy is invalid:\n" + "\n".join(d.render() for d in diags))
    return policy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    policy = load(generate(args.rules), "generated-200.yaml")
    bumped = load(generate(args.rules, bump=15), "generated-200-bumped.yaml")
    load_s = time.perf_counter() - t0
    analysis_times, diff_times = [], []
    findings = diff = None
    for _ in range(args.rounds):
        t = time.perf_counter()
        findings = find(policy)
        analysis_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        diff = diff_policies(policy, bumped)
        diff_times.append(time.perf_counter() - t)
    # End to end, as CI runs it: `verdict validate` on the generated file (load, validate, analyse, render).
    import tempfile

    from click.testing import CliRunner

    from engine.cli.main import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated-200.yaml"
        path.write_text(generate(args.rules))
        t = time.perf_counter()
        result = CliRunner().invoke(cli, ["validate", "--format", "json", str(path)])
        cli_s = time.perf_counter() - t
        if result.exit_code != 0:
            raise SystemExit("verdict validate failed on the generated policy:\n" + result.output[:2000])
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.code] = counts.get(f.code, 0) + 1
    unverified = counts.get("analysis-unverified", 0)
    incomplete = counts.get("analysis-incomplete", 0)
    a_med, a_max = statistics.median(analysis_times), max(analysis_times)
    d_med, d_max = statistics.median(diff_times), max(diff_times)
    ok = a_max < 10 and cli_s < 10 and unverified == 0 and incomplete == 0
    text = f"""# Static analysis benchmark

Written by `bench/bench_analysis.py` (`python bench/bench_analysis.py`).

- date: {_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
- nproc: {os.cpu_count()}; python {sys.version.split()[0]} ({platform.python_implementation()}, {platform.system()} {platform.machine()})
- policy: generated, {len(policy.rules)} rules ({sum(r.decides_outcome for r in policy.rules)} deciding an outcome), {len(policy.facts)} facts, {len(policy.outcomes)} outcomes, seed 11 (load + validate both copies: {load_s:.2f} s)
- rounds: {args.rounds}

| step | median | max |
|---|---:|---:|
| `analysis.find` (all findings, witnesses verified) | {a_med:.2f} s | {a_max:.2f} s |
| `diff.diff_policies` (vs tier3 threshold +15) | {d_med:.2f} s | {d_max:.2f} s |
| `verdict validate --format json` (one run, end to end) | {cli_s:.2f} s | |

Target: analysis under 10 s — **{"met" if ok else "NOT met"}**.

Findings on the generated policy: {", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"}
(the generator draws thresholds at random, so shadowed and subsumed tier rules are expected).
Diff: {len(diff.changes)} regions where the outcome changes; complete: {diff.complete}.
"""
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
