"""The fuzz harness's v2 parts: the exact evaluation of computed outputs (`fuzz/exact.py`)
the oracle compares with, the v2 policy builder (`fuzz/policies_v2.py`), date records and
evaluation dates (`fuzz/records.py`)."""

from __future__ import annotations

import datetime
import random
from collections import Counter
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

import pytest

from engine.api import load_policy_text
from fuzz import exact
from fuzz.oracle import PolicyOracle, from_jsonable, to_jsonable
from fuzz.policies import build_policy
from fuzz.records import AS_OF_DAYS, AS_OF_EXTREMES, as_of_for, fuzz_record

ROOT = Path(__file__).resolve().parents[1]
CASH = (ROOT / "policies" / "cash-loan-limit.yaml").read_text("utf-8")
GOLD = {"credit_score": 700, "overdue_days": 0, "account_age_days": 400, "membership": "gold",
        "fraud_suspected": False, "current_limit_yuan": 5123.45}


@pytest.mark.parametrize("q, text", [(F(6000), "6000"), (F("6000.5"), "6000.5"), (F("0.3"), "0.3"),
                                     (F("-0.125"), "-0.125"), (F(0), "0"), (F(1, 10**30), "0." + "0" * 29 + "1")])
def test_plain_is_the_shortest_plain_decimal(q, text) -> None:
    assert exact.plain(q) == text


@pytest.mark.parametrize("q, to, mode, want", [
    ("6148.14", "100", "down", "6100"), ("6148.14", "100", "up", "6200"), ("-6148.14", "100", "down", "-6100"),
    ("-6148.14", "100", "up", "-6200"), ("2.5", "1", "half_even", "2"), ("3.5", "1", "half_even", "4"),
    ("-2.5", "1", "half_up", "-3"), ("2.5", "1", "half_up", "3"), ("0.125", "0.01", "half_even", "0.12"),
    ("5123.45", "1e30", "up", "1e30"), ("5123.45", "1e30", "half_up", "0"), ("1.5e-30", "1e-30", "half_even", "2e-30"),
])
def test_round_to_every_mode(q, to, mode, want) -> None:
    assert exact.round_to(F(q), F(to), mode) == F(want)


def test_division_keeps_28_significant_digits_half_even() -> None:
    assert exact.significant(F(2, 3)) == F("0.6666666666666666666666666667")
    assert exact.significant(F(10**40, 3)) == F("3333333333333333333333333333") * 10**12
    assert exact.significant(F(-1, 7)) == -F("0.1428571428571428571428571429")


@pytest.mark.parametrize("facts, limit", [(GOLD, "7600"), ({**GOLD, "membership": "basic"}, "6100"),
                                          ({**GOLD, "overdue_days": 5}, "2500"),
                                          ({**GOLD, "fraud_suspected": True}, "0")])
def test_exact_outputs_of_the_example(facts, limit) -> None:
    cp = load_policy_text(CASH, "cash.yaml")
    d = cp.evaluate(facts, as_of=datetime.date(2026, 12, 1))
    want = exact.expected_outputs(cp.policy, d)
    assert want == {"new_limit_yuan": F(limit), "limit_change_yuan": F(limit) - F("5123.45")}
    assert {k: F(v) for k, v in d.outputs.items()} == want


def test_the_oracle_reports_a_wrong_computed_output() -> None:
    """The check can fail: a decision whose output is off by a cent is a disagreement."""
    cp = load_policy_text(CASH, "cash.yaml")
    d = cp.evaluate(GOLD, as_of=datetime.date(2026, 12, 1))
    oracle = PolicyOracle(Counter())
    failures: list = []
    oracle._exact(cp, d, lambda *a: failures.append(a))
    assert failures == [] and oracle.counts["outputs_checked"] == 1
    wrong = type(d)((*d[:7], {**d.outputs, "new_limit_yuan": Decimal("7600.01")}, *d[8:]))
    oracle._exact(cp, wrong, lambda *a: failures.append(a))
    assert failures and failures[0][1] == "computed-output" and "7600.01" in failures[0][3]
    unnormalized = type(d)((*d[:7], {**d.outputs, "new_limit_yuan": Decimal("7.6E+3")}, *d[8:]))
    failures.clear()
    oracle._exact(cp, unnormalized, lambda *a: failures.append(a))
    assert failures and "not normalized" in failures[0][2]


def test_the_v2_builder_makes_every_construct_and_mostly_valid_policies() -> None:
    from engine.language.source import load_text
    from engine.language.validate import validate

    seen: Counter = Counter()
    for i in range(120):
        text = build_policy(random.Random(f"v2-test:{i}"), v2=True)
        for marker in ("type: date", "with_time", "missing: true", "missing: false", "days_ago", "days_ahead",
                       "round:", "mode: half_even", "timezone:", "max_wait_days", ":,.2f}", "div:", "combine: sum"):
            seen[marker] += marker in text
        doc, _ = load_text(text, "p.yaml")
        policy = validate(doc)[0] if doc is not None else None
        if policy is not None:
            seen["valid"] += 1
            seen["uses_time"] += policy.uses_time
            seen["computed"] += any(o.computed for o in policy.outputs.values())
    assert all(seen[k] > 0 for k in ("type: date", "with_time", "missing: true", "missing: false", "days_ago",
                                     "days_ahead", "round:", "mode: half_even", "timezone:", "max_wait_days",
                                     ":,.2f}", "div:", "combine: sum")), seen
    assert seen["valid"] >= 40 and seen["uses_time"] >= 20 and seen["computed"] >= 15, seen


def test_date_records_and_evaluation_dates() -> None:
    cp = load_policy_text(CASH, "cash.yaml")
    rng = random.Random("dates")
    days = [as_of_for(rng) for _ in range(300)]
    assert datetime.date(1, 1, 1) in days and datetime.date(9999, 12, 31) in days
    assert all(isinstance(d, datetime.date) for d in days) and set(AS_OF_DAYS + AS_OF_EXTREMES) <= set(days)
    values = Counter()
    for _ in range(400):
        record = fuzz_record(rng, cp.policy, as_of=datetime.date(2026, 12, 1))
        if isinstance(record, dict) and "last_overdue_date" in record:
            v = record["last_overdue_date"]
            values[type(v).__name__] += 1
            values["2023-02-29"] += v == "2023-02-29"
            values["2026-06-04"] += v == "2026-06-04"  # clean_days (180) days ago, the rule's edge
    assert values["str"] > 50 and values["date"] > 0 and values["2023-02-29"] > 0 and values["2026-06-04"] > 0


def test_dates_round_trip_through_findings() -> None:
    v = {"d": datetime.date(2024, 2, 29), "t": datetime.datetime(2026, 1, 5, 10, 0), "x": Decimal("0.1")}
    assert from_jsonable(to_jsonable(v)) == v
