"""Evaluation: business rules, the three evaluation paths agreeing, facts validation,
determinism and the decision schema."""

from __future__ import annotations

import itertools
import json
import random

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.compile import compile_policy
from engine.evaluate import evaluate, slow_decide
from engine.explain.render import decision_dict, to_json
from engine.errors import FactsError
from engine.io.policies import load_policy
from engine.language.schema.validate import load_schema
from engine.runtime.semantics import reference_matches
from engine.language.source import load_text
from engine.language.validate import validate

from double11_oracle import BOUNDARIES, double11

POLICY = "policies/double11-coupon.yaml"


@pytest.fixture(scope="module")
def ruleset():
    return compile_policy(load_policy(POLICY))


def _check_against_oracle(rs, user, backend="native"):
    want = double11(user)
    for d in (evaluate(rs, user, trace=False), evaluate(rs, user, trace=True, backend=backend)):
        got = decision_dict(d)
        assert got["outcome"] == want["outcome"], user
        if want["outcome"] == "denied":
            assert [r["code"] for r in got["reasons"]] == want["reasons"], user
        assert [n["code"] for n in got["notices"]] == want["notices"], user
        assert got["flags"] == want["flags"], user
        assert got["outputs"] == {"coupon_yuan": want["coupon_yuan"]}, user


def test_business_rules_on_boundary_grid(ruleset):
    """Every pairwise combination of boundary values, the rest from a random base user."""
    rnd = random.Random(7)
    names = list(BOUNDARIES)
    checked = 0
    for a, b in itertools.combinations(names, 2):
        for va, vb in itertools.product(BOUNDARIES[a], BOUNDARIES[b]):
            user = {n: rnd.choice(BOUNDARIES[n]) for n in names}
            user[a], user[b] = va, vb
            _check_against_oracle(ruleset, user)
            checked += 1
    assert checked == 1265  # every pair of boundary lists, fully crossed


def _user_strategy():
    return st.fixed_dictionaries({n: st.sampled_from(v) for n, v in BOUNDARIES.items()})


@settings(max_examples=400, deadline=None)
@given(_user_strategy())
def test_fast_slow_reference_agree(user):
    rs = compile_policy(load_policy(POLICY))
    fast = evaluate(rs, user, trace=False)
    slow = slow_decide(rs, user)
    traced = evaluate(rs, user, trace=True)
    assert fast == slow
    assert traced.matched == fast.matched == reference_matches(rs.policy, user)
    assert double11(user)["outcome"] == fast.outcome


@pytest.mark.parametrize("user, outcome, decided_by", [
    ({"frozen": True}, "denied", ["account-frozen"]),
    ({"overdue_days": 45}, "denied", ["overdue-severe"]),
    ({"overdue_days": 45, "credit_score": 500, "overdue_count_12m": 3}, "denied",
     ["overdue-severe", "repeated-overdue", "low-credit-score"]),
    ({"credit_score": 760, "membership": "platinum"}, "platinum", ["platinum-tier"]),
    ({"credit_score": 720, "overdue_days": 12}, "silver", ["silver-tier"]),
    ({"credit_score": 720, "overdue_days": 3}, "gold", ["gold-tier"]),
    ({"credit_score": 640, "monthly_spend": 100}, "basic", ["basic-tier"]),
    ({"credit_score": 580, "account_age_days": 10}, "ineligible", []),
], ids=["frozen", "overdue", "every-deny-reported", "platinum", "overdue-drops-gold", "gold-at-3-days",
        "basic", "ineligible-default"])
def test_examples(ruleset, user, outcome, decided_by):
    base = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
            "monthly_spend": 3000, "account_age_days": 400, "frozen": False, "loan_applications_30d": 0,
            "credit_utilization": 0.2}
    d = evaluate(ruleset, {**base, **user})
    assert d.outcome == outcome
    assert [ruleset.policy.rules[i].id for i in d.decided_by] == decided_by


BASE = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 3000, "account_age_days": 400, "frozen": False, "loan_applications_30d": 0,
        "credit_utilization": 0.2}


@pytest.mark.parametrize("change, fact, words", [
    ({"credit_score": "720"}, "credit_score", "must be an integer"),
    ({"credit_score": 7.5e2 + 0.5}, "credit_score", "must be an integer"),
    ({"credit_score": 1000}, "credit_score", "above the declared maximum"),
    ({"credit_score": True}, "credit_score", "must be an integer"),
    ({"monthly_spend": float("nan")}, "monthly_spend", "finite"),
    ({"monthly_spend": float("inf")}, "monthly_spend", "finite"),
    ({"membership": "diamond"}, "membership", "not one of"),
    ({"frozen": "no"}, "frozen", "must be a boolean"),
    ({"overdue_days": -1}, "overdue_days", "below the declared minimum"),
    ({"credit_score": None}, "credit_score", "missing required fact"),
], ids=["string-number", "fractional-int", "over-max", "bool-as-int", "nan", "inf", "enum", "string-bool",
        "negative", "missing"])
def test_bad_facts_are_errors_naming_the_fact(ruleset, change, fact, words):
    record = {**BASE, **change}
    for trace in (False, True):
        with pytest.raises(FactsError) as exc:
            evaluate(ruleset, record, trace=trace)
        assert exc.value.problems[0].fact == fact
        assert words in str(exc.value)


def test_defaults_integral_floats_and_extra_facts(ruleset):
    record = {k: v for k, v in BASE.items() if k != "frozen"}
    record["credit_score"] = 720.0
    record["nickname"] = "小明"
    d = evaluate(ruleset, record, trace=False)
    assert d.facts["frozen"] is False and d.facts["credit_score"] == 720
    assert isinstance(d.facts["credit_score"], int)
    assert d.warnings == ("undeclared fact `nickname` ignored",)


def test_json_is_deterministic_and_valid(ruleset):
    # A second, independently loaded and compiled ruleset, and one schema validator: built
    # once (rebuilding both per user made this the slowest test for no added coverage).
    other = compile_policy(load_policy(POLICY))
    validator = jsonschema.Draft202012Validator(load_schema("decision.schema.json"))
    rnd = random.Random(3)
    for _ in range(200):
        user = {n: rnd.choice(v) for n, v in BOUNDARIES.items()}
        for trace in (False, True):
            a = to_json(evaluate(ruleset, user, trace=trace))
            b = to_json(evaluate(other, dict(user), trace=trace))
            assert a == b
            validator.validate(json.loads(a))


OPTIONAL = """
policy: optional-facts
version: 1
facts:
  score: {type: integer, minimum: 0, maximum: 100}
  verified: {type: boolean, required: false}
  income: {type: number, required: false, minimum: 0}
outcomes: [{id: denied, adverse: true}, approved, review]
default: review
rules:
  - id: low
    when: {score: {lt: 50}}
    then: {outcome: denied, reason: LOW}
  - id: good
    when: {all: [{score: {gte: 80}}, {verified: true}]}
    then: {outcome: approved}
  - id: rich
    when: {any: [{income: {gte: 10000}}, {not: {verified: false}}]}
    then: {flags: [vip]}
  - id: vip-approve
    when: {all: [{flag: vip}, {score: {gte: 60}}]}
    then: {outcome: approved}
"""


def _policy(text):
    doc, diags = load_text(text, "inline.yaml")
    policy, diags = validate(doc)
    assert policy is not None, [d.render() for d in diags]
    return compile_policy(policy)


@pytest.mark.parametrize("facts, outcome, known, missing, undetermined", [
    ({"score": 90, "verified": True}, "approved", True, ["income"], []),
    ({"score": 90}, "review", False, ["verified", "income"], ["good", "rich", "vip-approve"]),
    ({"score": 90, "income": 20000}, "approved", True, ["verified"], ["good"]),
    ({"score": 40}, "denied", True, ["verified", "income"], ["rich"]),  # false && unknown is false
    ({"score": 55, "verified": False, "income": 10}, "review", True, [], []),
], ids=["verified", "all-unknown", "flag-known-via-any", "deny-wins-anyway", "all-known"])
def test_missing_optional_facts_are_unknown_not_false(facts, outcome, known, missing, undetermined):
    rs = _policy(OPTIONAL)
    for trace in (False, True):
        d = evaluate(rs, facts, trace=trace)
        assert (d.outcome, d.outcome_known) == (outcome, known)
        assert list(d.missing_facts) == missing
        assert [r.id for r in d.undetermined] == undetermined
        assert d.matched == reference_matches(rs.policy, d.facts)


@pytest.mark.parametrize("path", ["policies/credit-limit.yaml", "policies/risk-alerts.yaml"])
def test_explicit_null_optional_fact_is_missing_on_every_path(path):
    """An optional fact given as null is reported missing, exactly as when it is absent."""
    from hypothesis import find

    from factgen import records

    rs = compile_policy(load_policy(path))
    optional = [n for n, s in rs.policy.facts.items() if not s.required and not s.has_default]
    assert optional
    record = find(records(rs.policy), lambda r: all(n in r for n in rs.policy.facts))
    record = {**record, optional[0]: None}
    for trace in (False, True):
        d = evaluate(rs, record, trace=trace)
        assert optional[0] in d.missing_facts
        assert optional[0] not in d.facts
        assert d == slow_decide(rs, record, trace=trace)


def test_decision_is_an_immutable_tuple_of_named_fields(ruleset):
    import pickle

    from engine.runtime.decision import FIELDS, Decision

    user = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
            "monthly_spend": 2500.0, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
            "credit_utilization": 0.3}
    fast = evaluate(ruleset, user, trace=False)
    slow = slow_decide(ruleset, user)
    assert type(fast) is type(slow) is Decision and fast == slow  # generated and generic builders agree
    assert len(fast) == len(FIELDS) and [getattr(fast, n) for n in FIELDS] == list(fast)
    assert (fast.outcome, fast.outcome_known, fast.trace, fast.warnings) == ("gold", True, None, ())
    changed = fast._replace(warnings=("w",))
    assert type(changed) is Decision and changed.warnings == ("w",) and fast.warnings == ()
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert repr(fast).startswith("Decision(policy=") and "outcome='gold'" in repr(fast)
    with pytest.raises(AttributeError):
        fast.outcome = "denied"
