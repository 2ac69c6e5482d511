"""A YAML policy using every construct of issue #15 (validated by the lang helper's
builder: tests/fixtures/v3_runtime/every-construct.yaml) decides generated records the same
on the reference evaluator, the generated code (fast and generic paths, traced or not) and
durable-rules; and one record's Decision, exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import load_policy
from engine.errors import BackendUnavailable
from engine.evaluate import evaluate
from engine.runtime.facts import normalize
from engine.runtime.semantics import reference_matches

COMPILED = load_policy(Path(__file__).parent / "fixtures" / "v3_runtime" / "every-construct.yaml")
RS = COMPILED.ruleset
POLICY = RS.policy
CITIES = ["shanghai", "beijing", "shenzhen"]


def _durable():
    try:
        return RS.backend("durable")
    except BackendUnavailable as exc:  # pragma: no cover - Python 3.13
        pytest.skip(str(exc))


def _money(hi):
    return st.one_of(st.integers(0, hi), st.decimals(0, hi, places=2).map(float))


RECORDS = st.fixed_dictionaries(
    {"home_city": st.sampled_from(CITIES), "monthly_income": _money(5000).map(lambda x: max(x, 1)),
     "card_limit": st.integers(0, 3000), "min_limit": st.integers(0, 3000)},
    optional={"product_tags": st.lists(st.sampled_from(["cash", "card", "bnpl"]), max_size=5),
              "linked_cards": st.lists(st.integers(0, 3), max_size=3),
              "coupons": st.lists(st.floats(0, 50, allow_nan=False), max_size=3),
              "phone": st.sampled_from(["13800", "1390000", "+8613800", "00"]),
              "email": st.sampled_from(["li@corp.cn", "li@corp.cn.x", "x@y"]),
              "work_city": st.sampled_from(CITIES), "monthly_debt": _money(5000),
              "loan_limit": st.integers(0, 3000)})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS)
def test_every_backend_and_path_agrees(record):
    durable = _durable()
    facts, _ = normalize(POLICY, record)
    expected = reference_matches(POLICY, facts)
    assert RS.native.rule_matches(facts) == expected == RS.native.trace(facts)[0] == durable.rule_matches(facts)
    fast = COMPILED.evaluate(dict(record))
    assert fast.matched == expected
    for other in (evaluate(RS, dict(record), label="generic", trace=False),
                  evaluate(RS, dict(record), backend="durable", trace=False)):
        assert tuple(other) == tuple(fast)
    traced = COMPILED.evaluate(dict(record), trace=True)
    assert tuple(traced)[:9] == tuple(fast)[:9] and tuple(traced)[10:] == tuple(fast)[10:]


def test_one_decision_exactly():
    record = {"product_tags": ["cash", "card"], "phone": "13800", "email": "li@corp.cn", "home_city": "beijing",
              "work_city": "beijing", "monthly_income": 1000, "monthly_debt": 450.5, "card_limit": 100,
              "loan_limit": 250, "min_limit": 50}
    for backend in ("native", "durable"):
        if backend == "durable":
            _durable()
        d = COMPILED.evaluate(dict(record), backend=backend)
        assert d.matched == (True, True, True, False, True, False, True, True, False)  # dti 0.4505: not low
        assert d.outcome == "decline" and d.outcome_known
        assert d.outputs == {"offers": ("cash_plus", "card_plus", "local", "coupon"), "n_offers": 3,
                             "status": "good", "grade": "-", "tier": "-", "graded": False}
        assert d.derived == {"debt_to_income": Decimal("0.4505"), "total_limit": 350, "spare_limit": 300}
        assert d.facts["coupons"] == (5, 10.5) and "debt_to_income" not in d.facts
