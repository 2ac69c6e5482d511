"""Issue 15's "done when": the two tables of the issue, completed into a policy
(`tests/fixtures/v3_tables/loyalty.yaml`: account-status inline, then loyalty-tier from
`loyalty-tier.csv`, reading account-status's output `account_status`), decide a generated
population exactly as a hand-written first-hit evaluation of the same rows, on the native
backend (fast and traced), on durable and by the reference tree-walker."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from engine.api import load_policy
from engine.evaluate import evaluate
from engine.runtime.semantics import reference_matches

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v3_tables" / "loyalty.yaml"

AGES = [0, 1, 11, 12, 13, 23, 24, 25, 35, 36, 37, 120, 600]
HISTORIES = ["excellent", "good", "fair", "poor"]
CONTRACTS = ["active", "pending_renewal", "expired"]
SPENDS = [0, 50.5, 119.99, 120, 120.01, 999]


def account_status(age: int, history: str, contract: str) -> tuple[str, bool]:
    """The account-status table, first hit, by hand."""
    if age >= 24 and history == "excellent":
        return "excellent", True
    if age >= 12 and history in ("excellent", "good") and contract in ("active", "pending_renewal"):
        return "good", True
    if contract == "expired":
        return "poor", False
    return "review", False


def loyalty_tier(age: int, spend: float, status: str) -> tuple[str, int]:
    """The loyalty-tier table, first hit, by hand."""
    if age >= 36 and spend >= 120 and status == "excellent":
        return "platinum", 20
    return "standard", 0


def population() -> list[dict]:
    grid = [dict(account_age_months=a, payment_history=h, contract_status=c, monthly_spend=s)
            for a, h, c, s in itertools.product(AGES, HISTORIES, CONTRACTS, SPENDS)]
    rng = random.Random(15)
    drawn = [dict(account_age_months=rng.randint(0, 600), payment_history=rng.choice(HISTORIES),
                  contract_status=rng.choice(CONTRACTS), monthly_spend=round(rng.uniform(0, 400), 2))
             for _ in range(1500)]
    return grid + drawn


@pytest.fixture(scope="module")
def compiled():
    return load_policy(FIXTURE)


def test_the_issue_tables_decide_a_population_as_first_hit_by_hand(compiled):
    rs = compiled.ruleset
    decided = {"platinum": 0, "standard": 0}
    for record in population():
        status, standing = account_status(record["account_age_months"], record["payment_history"],
                                          record["contract_status"])
        outcome, pct = loyalty_tier(record["account_age_months"], record["monthly_spend"], status)
        expected = (outcome, {"account_status": status, "good_standing": standing, "loyalty_discount_pct": pct})
        fast = evaluate(rs, record, trace=False)
        assert (fast.outcome, fast.outputs) == expected, record
        assert fast.outcome_known
        traced = evaluate(rs, record, trace=True)
        durable = evaluate(rs, record, trace=True, backend="durable")
        assert traced.matched == durable.matched == fast.matched == reference_matches(rs.policy, fast.facts), record
        assert (durable.outcome, durable.outputs) == expected, record
        # exactly one row of each table applies: the first whose cells hold
        assert sum(fast.matched[:4]) == 1 and sum(fast.matched[4:]) == 1
        decided[outcome] += 1
    assert decided["platinum"] > 100 and decided["standard"] > 100  # the population reaches both tiers


def test_each_row_of_the_issue_tables_is_reached(compiled):
    """The population is not lopsided: every row of both tables applies to someone."""
    rs = compiled.ruleset
    reached = set()
    for record in population()[:1000]:
        d = evaluate(rs, record, trace=False)
        reached |= {rs.policy.rules[i].id for i, m in enumerate(d.matched) if m}
    assert reached == {r.id for r in rs.policy.rules}
