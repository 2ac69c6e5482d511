"""Honesty of the analysis on derived facts and fact-to-fact comparisons, by brute force:
on generated small policies (two integer facts of 0..6, a derived fact of them, rules
mixing leaves on the facts, the derived fact and a comparison of the two facts), the whole
fact space is 49 fact sets, so evaluation of every one of them decides each claim.

- a rule reported `rule-unsatisfiable` matches no fact set (a claim of non-existence is
  proven), and a rule that matches none is reported so: on integer cells this small the
  witness search tries every fact set, which proves emptiness (on wide cells it would be
  an `analysis-incomplete` note instead, tests/test_v3_space_v3.py);
- every `gap` witness is a fact set no rule decides; no witness fails to verify.
"""

from __future__ import annotations

import itertools
import random

import pytest

from engine.analysis.findings import ANALYSIS_INCOMPLETE, ANALYSIS_UNVERIFIED, GAP, RULE_UNSATISFIABLE, find, \
    verdict_of
from engine.api import load_policy_text

EXPRS = ["{sub: [a, b]}", "{add: [a, b]}", "{mul: [a, b]}", "{div: [a, {add: [b, 1]}]}"]
LEAVES = ["{a: {gte: %d}}", "{a: {lt: %d}}", "{b: {gt: %d}}", "{b: {lte: %d}}", "{d: {gte: %d}}",
          "{d: {lt: %d}}", "{d: {eq: %d}}", "{a: {gt: {fact: b}}}", "{a: {lte: {fact: b}}}"]


def generated(seed: int) -> str:
    rnd = random.Random(seed)
    rules = []
    for i in range(rnd.randint(2, 4)):
        parts = []
        for _ in range(rnd.randint(1, 3)):
            t = rnd.choice(LEAVES)
            k = rnd.randint(-3, 12) if t.startswith("{d") else rnd.randint(0, 6)  # within a's and b's range
            parts.append(t % k if "%d" in t else t)
        rules.append(f"  - id: r{i}\n    when: {{all: [{', '.join(parts)}]}}\n"
                     f"    then: {{outcome: {rnd.choice(['hi', 'lo'])}}}")
    return (f"policy: g{seed}\nversion: 1\ntitle: generated\nfacts:\n"
            "  a: {type: integer, minimum: 0, maximum: 6}\n  b: {type: integer, minimum: 0, maximum: 6}\n"
            f"derived:\n  d: {rnd.choice(EXPRS)}\n"
            "outcomes:\n  - {id: hi}\n  - {id: lo}\ndefault: lo\nrules:\n" + "\n".join(rules) + "\n")


@pytest.mark.parametrize("seed", range(40))
def test_derived_findings_are_proven_or_witnessed_or_incomplete(seed):
    p = load_policy_text(generated(seed), f"g{seed}.yaml").policy
    findings = find(p)
    assert not [f for f in findings if f.code == ANALYSIS_UNVERIFIED]
    grid = [{"a": a, "b": b} for a, b in itertools.product(range(7), repeat=2)]
    matched = [verdict_of(p, x).matched for x in grid]
    unsat = {f.rule for f in findings if f.code == RULE_UNSATISFIABLE}
    open_ = {f.rule for f in findings if f.code == ANALYSIS_INCOMPLETE}
    assert not open_, generated(seed)
    for r in p.rules:
        ever = any(m[r.index] is True for m in matched)
        assert (r.id in unsat) == (not ever), (r.id, generated(seed))
    for g in (f for f in findings if f.code == GAP and f.witness):
        assert not verdict_of(p, g.witness).decided_by
    index = {r.id: r.index for r in p.rules}
    for f in findings:
        if f.code == "condition-always-true" and f.message.startswith("the condition of rule"):
            assert all(m[index[f.rule]] is True for m in matched), (f.message, generated(seed))
        if f.code == "rule-subsumed":  # every fact set the rule matches, the other matches too
            other = index[f.message.split("subsumed by `")[1].split("`")[0]]
            assert all(m[other] is True for m in matched if m[index[f.rule]] is True)
