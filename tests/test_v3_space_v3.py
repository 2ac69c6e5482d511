"""Analysis, counterfactuals and boundary suites on a YAML policy with every v3 leaf
(tests/fixtures/v3_space/v3.yaml: a list fact, a string test, a derived fact, a
fact-to-fact comparison, a condition on an output), evaluated by the runtime:

- every finding's witness verifies (no `analysis-unverified`), claims of non-existence on
  a list's bounds and on enum strings are proven, and one that only a search could
  answer stays `analysis-incomplete` (never a false `rule-unsatisfiable`);
- counterfactuals change the facts a derived fact reads (never the derived fact), items
  of a list, a string by its test; each reaches its outcome when evaluated;
- the generated boundary suite has cases on both sides of the derived boundary (checked
  with `Decision.derived`), with and without the list items and the string prefix.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml

from engine.analysis.counterfactuals import counterfactuals
from engine.analysis.findings import (ANALYSIS_INCOMPLETE, ANALYSIS_UNVERIFIED, CONDITION_ALWAYS_FALSE, GAP,
                                      RULE_UNSATISFIABLE, find, verdict_of)
from engine.api import load_policy_text
from engine.evaluate import evaluate
from engine.suites.generate import generate_boundary_suite

FIXTURE = Path(__file__).parent / "fixtures" / "v3_space" / "v3.yaml"
EXTRA_RULES = """
  - id: too-many-tags
    when: {product_tags: {length: {gt: 4}}}
    then: {outcome: decline, reason: DEBT}
  - id: indebted-without-debt
    when: {all: [{monthly_debt: 0}, {debt_to_income: {gte: 0.6}}]}
    then: {outcome: decline, reason: DEBT}
  - id: odd-channel
    when: {channel: {starts_with: x}}
    then: {outcome: decline, reason: DEBT}
"""


def compiled(extra: str = ""):
    text = FIXTURE.read_text("utf-8")
    if extra:
        text = text.replace("reasons:\n", extra.lstrip("\n") + "reasons:\n")
        text = text.replace("  requested:", "  channel: {type: string, enum: [web, app], required: false}\n"
                                           "  requested:")
    return load_policy_text(text, "v3.yaml")


def test_findings_on_v3_leaves_are_proven_or_witnessed_or_honestly_incomplete():
    cp = compiled(EXTRA_RULES)
    p = cp.policy
    findings = find(p)
    assert not [f for f in findings if f.code == ANALYSIS_UNVERIFIED], findings
    assert not [f for f in findings if f.code == ANALYSIS_INCOMPLETE and f.rule is None], findings
    unsat = {f.rule for f in findings if f.code == RULE_UNSATISFIABLE}
    # proven: a list of at most 4 items; an enum with no value starting with `x`
    assert {"too-many-tags", "odd-channel"} <= unsat
    # debt 0 makes the ratio 0: the space cannot prove it, the search finds no witness
    assert "indebted-without-debt" not in unsat
    assert any(f.code == ANALYSIS_INCOMPLETE and f.rule == "indebted-without-debt" for f in findings)
    # rules on the derived fact, the fact-to-fact comparison and the output are satisfiable:
    # no finding claims otherwise
    for rid in ("too-indebted", "over-income", "approve-premium", "premium-segment", "test-numbers"):
        assert rid not in unsat
        assert not [f for f in findings if f.rule == rid and f.code in (CONDITION_ALWAYS_FALSE, ANALYSIS_INCOMPLETE)]
    for f in findings:
        if f.witness is not None:
            verdict_of(p, f.witness)  # a valid fact set
    for g in (f for f in findings if f.code == GAP and f.witness):
        v = verdict_of(p, g.witness)
        assert not v.decided_by and v.outcome == p.default


USER = {"product_tags": ["cash", "card"], "phone": "1234", "monthly_debt": 3000, "monthly_income": 5000,
        "requested": 1000}


def test_counterfactuals_change_the_inputs_of_a_derived_fact():
    cp = compiled()
    d = evaluate(cp.ruleset, USER)
    assert d.outcome == "decline" and d.derived["debt_to_income"] == Decimal("0.6")
    cfs = counterfactuals(cp.ruleset, d, prune=False)
    assert cfs
    for cf in cfs:
        assert "debt_to_income" not in cf.facts
        assert evaluate(cp.ruleset, {**USER, **cf.facts}).outcome == cf.outcome
    approve = {cf.changes[0].fact: cf.changes[0].new for cf in cfs if cf.outcome == "approve" and cf.size == 1}
    assert approve.get("monthly_debt") == 1999  # the nearest debt under 0.4 of 5000
    assert approve.get("monthly_income") == 7501  # the nearest income over 3000 / 0.4
    review = {cf.changes[0].fact: cf.changes[0].new for cf in cfs if cf.outcome == "review" and cf.size == 1}
    assert review.get("monthly_debt") == 2999


def test_counterfactuals_add_list_items_and_change_strings_by_their_test():
    cp = compiled()
    d = evaluate(cp.ruleset, {**USER, "product_tags": ["cash"], "monthly_debt": 500})
    assert d.outcome == "review"
    [cf] = [c for c in counterfactuals(cp.ruleset, d) if c.outcome == "approve"]
    assert cf.facts == {"product_tags": ("cash", "card")}
    d = evaluate(cp.ruleset, {**USER, "phone": "9991", "monthly_debt": 500})
    assert d.outcome == "decline"
    cfs = [c for c in counterfactuals(cp.ruleset, d) if c.outcome == "approve"]
    assert cfs and not cfs[0].facts["phone"].startswith("999")


def test_boundary_suite_covers_both_sides_of_v3_boundaries():
    cp = compiled()
    text = generate_boundary_suite(cp.policy, "v3.yaml")
    suite = yaml.safe_load(text)
    names = [c["name"] for c in suite["cases"]]
    base = suite["profiles"]["base"]
    sides = {}
    for c in suite["cases"]:
        rec = {**base, **{k: v for k, v in c["facts"].items() if v is not None}}
        for k in [k for k, v in c["facts"].items() if v is None]:
            rec.pop(k, None)
        dec = evaluate(cp.ruleset, rec)
        assert dec.outcome == c["expect"]["outcome"], c
        if c["name"].startswith("debt_to_income"):
            sides[c["name"]] = dec.derived["debt_to_income"]
    below = [v for n, v in sides.items() if "just below" in n and "0.4" in n]
    above = [v for n, v in sides.items() if "just above" in n and "0.4" in n]
    assert below and above and all(v < 0.4 for v in below) and all(v > 0.4 for v in above)
    assert any("contains all of" in n and "holds" in n for n in names)
    assert any("contains all of" in n and "fails" in n for n in names)
    assert any("starts with" in n and "holds" in n for n in names)
    assert any("product_tags of 4 items" in n for n in names)


def test_generated_derived_cases_cover_the_derived_boundaries():
    from engine.suites.coverage import coverage_of
    from engine.suites.model import Case, CaseResult, Expect

    cp = compiled()
    suite = yaml.safe_load(generate_boundary_suite(cp.policy, "v3.yaml"))
    base = suite["profiles"]["base"]
    results = []
    for i, c in enumerate(suite["cases"]):
        rec = {**base, **{k: v for k, v in c["facts"].items() if v is not None}}
        results.append(CaseResult(Case(c["name"], i, rec, Expect(), None), evaluate(cp.ruleset, rec, trace=True), ()))
    cov = coverage_of(cp.policy, results)
    derived = [bc for bc in cov.boundaries if bc.boundary.of == "derived"]
    assert len(derived) == 2
    for bc in derived:
        assert all(pc.covered_by for pc in bc.points), [(pc.point, pc.covered_by, pc.seen_by) for pc in bc.points]
