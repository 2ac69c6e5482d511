"""Table findings and counterfactuals through YAML (issue 15): a `hit: first` table whose
rows are a CSV file — the unreachable row reported at its CSV line, its witness confirmed,
the table's gap acknowledged like the policy's own; a counterfactual through a
fact-to-fact comparison moves one of its two facts, verified."""

from __future__ import annotations

from pathlib import Path

from engine.analysis.counterfactuals import counterfactuals
from engine.analysis.findings import GAP, TABLE_ROW_UNREACHABLE, find, verdict_of
from engine.api import load_policy, load_policy_text
from engine.evaluate import evaluate

HERE = Path(__file__).parent / "fixtures" / "v3_space"


def test_a_csv_row_taken_by_an_earlier_row_is_reported_at_its_csv_line():
    p = load_policy(HERE / "csvtable" / "policy.yaml").policy
    findings = find(p)
    [f] = [x for x in findings if x.code == TABLE_ROW_UNREACHABLE]
    assert f.loc.file.endswith("tier.csv") and f.loc.line == 3 and f.rule == "tier#2"
    v = verdict_of(p, f.witness)
    assert v.matched[0] is True and v.matched[1] is not True
    gaps = [x for x in findings if x.code == GAP]
    assert gaps and all(g.suppressed for g in gaps)  # the table's gap and the policy's, both inside `where`
    assert any("table `tier`" in g.message for g in gaps)


def test_counterfactuals_through_a_fact_to_fact_comparison():
    cp = load_policy_text((HERE / "v3.yaml").read_text("utf-8"), "v3.yaml")
    user = {"product_tags": ["cash", "card"], "phone": "1", "monthly_debt": 100, "monthly_income": 5000,
            "requested": 6000}
    d = evaluate(cp.ruleset, user)
    assert d.outcome == "decline" and d.decided_by_rules[0].id == "over-income"
    cfs = [c for c in counterfactuals(cp.ruleset, d, prune=False) if c.outcome == "approve"]
    moves = {c.changes[0].fact: c.changes[0].new for c in cfs if c.size == 1}
    assert moves["requested"] == 5000  # no longer above the income
    assert moves["monthly_income"] == 6000
    for c in cfs:
        assert evaluate(cp.ruleset, {**user, **c.facts}).outcome == "approve"


RELATION_POLICY = """
policy: inv
version: 1
title: a fact-to-fact comparison beside a tier threshold
facts:
  requested: {type: integer, minimum: 0, maximum: 100000}
  income: {type: integer, minimum: 1, maximum: 100000}
outcomes:
  - {id: gold}
  - {id: silver}
default: silver
rules:
  - id: g
    when: {requested: {lt: {fact: income}}}
    then: {outcome: gold}
  - id: s
    when: {requested: {gte: 10}}
    then: {outcome: silver}
"""


def test_a_gap_beside_a_fact_to_fact_comparison_has_a_searched_witness():
    p = load_policy_text(RELATION_POLICY, "inv.yaml").policy
    findings = find(p)
    [gap] = [f for f in findings if f.code == GAP]
    assert "not requested < income" in gap.message
    w = gap.witness
    assert w["requested"] < 10 and not w["requested"] < w["income"]
    assert not verdict_of(p, w).decided_by
    assert {f.code for f in findings} == {GAP}  # no tier finding from a comparison with another fact
