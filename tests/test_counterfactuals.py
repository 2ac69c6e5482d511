"""Counterfactuals (engine/analysis/counterfactuals.py): the issue's examples and the
algorithm's guarantees as hypothesis properties (minimality against brute force is
tests/test_counterfactuals_grid.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import load_policy, load_policy_text
from engine.cli.main import main
from engine.analysis.counterfactuals import better_outcomes, change_cost, counterfactuals
from engine.evaluate import evaluate
from engine.runtime.facts import check_value
from engine.language.model import FactSpec
from engine.space import Space
from engine.space.nearest import Origin, nearest_value
from factgen import fact_value

POLICY = "policies/double11-coupon.yaml"
BASE = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 3200.5, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
        "credit_utilization": 0.35}
D11 = load_policy(POLICY).ruleset


def explain(record, *args):
    r = CliRunner().invoke(main, ["explain", "-p", POLICY, *args, "-"], input=json.dumps(record))
    assert r.exit_code == 0, r.output
    return r.stdout


def cfs(record, ruleset=D11, **kw):
    return counterfactuals(ruleset, evaluate(ruleset, record, trace=False), **kw)


def shown(cf) -> tuple:
    return cf.outcome, tuple((c.fact, c.old, c.new) for c in cf.changes)


# -- the "done when" ---------------------------------------------------------------

def test_denied_only_for_overdue_45_shows_overdue_to_30_with_remedy_and_outcome():
    out = explain({**BASE, "overdue_days": 45})
    assert out.startswith("DENIED")
    assert "To change this: overdue_days 45 → 30 (Repay the overdue balance) ⇒ silver\n" in out
    assert "or: overdue_days 45 → 3 (Repay the overdue balance) ⇒ gold\n" in out


def test_gold_member_overdue_12_is_silver_and_can_reach_gold():
    out = explain({**BASE, "overdue_days": 12})
    assert out.startswith("SILVER")
    assert "To change this: overdue_days 12 → 3 (Repay the overdue balance) ⇒ gold\n" in out


def test_gold_member_score_690_can_reach_gold_by_score():
    out = explain({**BASE, "credit_score": 690})
    assert out.startswith("SILVER")
    assert "To change this: credit_score 690 → 700 (Keep repaying on time to raise your credit score) ⇒ gold\n" in out


def test_chinese_remedies():
    out = explain({**BASE, "overdue_days": 45}, "--lang", "zh")
    assert "To change this: overdue_days 45 → 30 (还清逾期欠款) ⇒ silver" in out


def test_best_outcome_has_no_counterfactuals():
    record = {**BASE, "membership": "platinum", "credit_score": 800}
    assert evaluate(D11, record).outcome == "platinum"
    assert cfs(record) == []
    assert "To change this" not in explain(record)


def test_immutable_facts_are_never_changed():
    # Frozen and overdue_count_12m are `change: none`: nothing can undo either denial.
    for record in ({**BASE, "frozen": True}, {**BASE, "overdue_count_12m": 5}):
        assert cfs(record) == []
        assert "To change this: no better outcome is reachable by changes the policy allows" in explain(record)


def test_direction_is_respected():
    # account_age_days may only increase: a young account reaches basic by ageing, and
    # overdue_days may only decrease.
    record = {**BASE, "credit_score": 620, "monthly_spend": 100, "account_age_days": 10, "membership": "basic"}
    assert evaluate(D11, record).outcome == "ineligible"
    found = {shown(c) for c in cfs(record)}
    assert ("basic", (("account_age_days", 10, 90),)) in found
    for cf in cfs({**BASE, "overdue_days": 45}):
        for ch in cf.changes:
            if ch.fact == "overdue_days":
                assert ch.new < ch.old


def test_dominated_alternatives_are_pruned():
    # basic needs overdue ≤ 30 and silver false; silver itself needs only overdue ≤ 30.
    full = {shown(c) for c in cfs({**BASE, "overdue_days": 45}, prune=False)}
    pruned = {shown(c) for c in cfs({**BASE, "overdue_days": 45})}
    assert pruned < full
    assert all(o != "basic" and o != "ineligible" for o, _ in pruned)


def test_ranked_by_facts_changed_then_distance():
    found = cfs({**BASE, "overdue_days": 45, "credit_score": 500, "monthly_spend": 100})
    keys = [(c.size, c.distance) for c in found]
    assert keys == sorted(keys)


OFFERS = load_policy("tests/fixtures/v3_surface/offers.yaml").ruleset  # ok where a derived ratio < 0.3


def test_a_far_value_of_a_derived_facts_input_still_finds_its_change():
    """Doubling steps from 0.01 never reach a value of 1e300 or 10^400 (an integer in a
    number fact: the step once raised OverflowError); the declared bound is tried then,
    and verified: monthly_debt → 0 reaches `ok`. The claim "no better outcome is
    reachable" was false."""
    for debt in (1e300, 10 ** 400):
        found = {shown(cf) for cf in cfs({"monthly_debt": debt, "monthly_income": 1}, OFFERS)}
        assert ("ok", (("monthly_debt", debt, 0),)) in found, found
    # Ordinary values keep their nearest changes (the bound is a fallback only).
    assert {shown(cf) for cf in cfs({"monthly_debt": 5000, "monthly_income": 1000}, OFFERS)} >= {
        ("ok", (("monthly_income", 1000, 16666.67),))}


def test_better_outcomes():
    policy = D11.policy
    assert better_outcomes(policy, "denied") == ["platinum", "gold", "silver", "basic", "ineligible"]
    assert better_outcomes(policy, "silver") == ["platinum", "gold"]
    assert better_outcomes(policy, "platinum") == []
    assert better_outcomes(policy, None) == ["platinum", "gold", "silver", "basic", "ineligible"]


def test_nearest_values_respect_open_and_closed_bounds_and_types():
    rs = load_policy_text(NEAREST).ruleset
    space = Space([rs.policy])
    u = space.dim("utilization")  # cells: [0] (0, 0.9) [0.9] (0.9, 0.905) [0.905] (0.905, 1) [1]
    spans = [(c.lo, c.hi) for c in u.cells]
    assert spans == [(0, 0), (0, 0.9), (0.9, 0.9), (0.9, 0.905), (0.905, 0.905), (0.905, 1), (1, 1)]
    assert nearest_value(u, 1, 0.9) == 0.89  # below an open bound, from the bound itself
    assert nearest_value(u, 1, 0.95) == 0.89
    assert nearest_value(u, 2, 0.95) == 0.9  # a closed point is the bound itself
    assert nearest_value(u, 3, 0.5) == 0.9025  # narrower than one step: halfway
    assert nearest_value(u, 5, 0.5) == 0.915 and nearest_value(u, 5, 1) == 0.99
    assert nearest_value(u, 1, None) == 0.01  # supplying: just inside the lower end
    n = space.dim("count")  # integers: closed intervals, cut at the constant and past it
    assert [(c.lo, c.hi) for c in n.cells] == [(0, 2), (3, 3), (4, 10)]
    assert nearest_value(n, 2, 0) == 4 and nearest_value(n, 0, 10) == 2 and nearest_value(n, 1, 10) == 3
    level = space.dim("level")
    assert [nearest_value(level, i) for i in range(len(level.cells))] == ["a", "b", "c", "d", None]
    # Directions: `level` only goes up, in declaration order; a present fact is never made missing.
    def cost(name, old, new):
        return change_cost(rs.policy.facts[name], old, new)

    k = space.index["level"]
    at_b = Origin(space, {"utilization": 0.5, "count": 1, "level": "b"}, cost)
    assert at_b.cell(k) == 1 and [v for _, _, v in at_b.options(k)] == ["c", "d"]
    missing = Origin(space, {"utilization": 0.5, "count": 1}, cost)
    assert missing.cell(k) == 4
    assert [(d, v) for d, _, v in missing.options(k)] == [(1.0, "a"), (1.0, "b"), (1.0, "c"), (1.0, "d")]
    u = space.index["utilization"]  # `change: decrease` from 0.9: the open interval below, at 0.89 (distance 0.01)
    assert [(round(d, 9), v) for d, _, v in Origin(space, {"utilization": 0.9, "count": 1}, cost).options(u)] == [
        (0.01, 0.89), (0.9, 0)]
    assert change_cost(FactSpec("s", "string", change="increase"), "x", "y") is None  # free strings have no order


NEAREST = """
policy: nearest
version: 1
facts:
  utilization: {type: number, minimum: 0, maximum: 1, change: decrease}
  count: {type: integer, minimum: 0, maximum: 10}
  level: {type: string, enum: [a, b, c, d], change: increase, required: false}
outcomes: [{id: denied, adverse: true}, approved]
default: approved
reasons: {R: r}
rules:
  - id: r
    when: {any: [{utilization: {gt: 0.9}}, {utilization: {lte: 0.905}}, {count: {gt: 3}}, {level: a}]}
    then: {outcome: denied, reason: R}
"""


def test_number_open_bound_moves_one_hundredth():
    text = """
policy: p
version: 1
language: en
facts:
  utilization: {type: number, minimum: 0, maximum: 1, change: decrease, remedy: Pay down the line}
  spend: {type: number, minimum: 0}
outcomes: [{id: denied, adverse: true}, approved]
default: approved
reasons: {HIGH_UTILIZATION: Credit line nearly used up}
rules:
  - id: high
    when: {any: [{utilization: {gt: 0.9}}, {spend: {lt: 100}}]}
    then: {outcome: denied, reason: HIGH_UTILIZATION}
"""
    rs = load_policy_text(text).ruleset
    assert [shown(c) for c in cfs({"utilization": 0.95, "spend": 500}, rs)] == [
        ("approved", (("utilization", 0.95, 0.9),))]
    assert [shown(c) for c in cfs({"utilization": 0.5, "spend": 50}, rs)] == [("approved", (("spend", 50, 100),))]
    assert [shown(c) for c in cfs({"utilization": 0.95, "spend": 50}, rs)] == [
        ("approved", (("utilization", 0.95, 0.9), ("spend", 50, 100)))]


def test_eval_only_with_explain_and_no_counterfactuals_flag():
    run = lambda *a: CliRunner().invoke(main, list(a), input=json.dumps({**BASE, "overdue_days": 45}))  # noqa: E731
    plain = json.loads(run("eval", "-p", POLICY, "-").stdout)
    assert "counterfactuals" not in plain and plain["principal_reasons"][0]["code"] == "OVERDUE_SEVERE"
    explained = json.loads(run("eval", "-p", POLICY, "--explain", "-").stdout)
    assert explained["counterfactuals"][0]["changes"] == {"overdue_days": 30}
    assert "counterfactuals" not in json.loads(run("eval", "-p", POLICY, "--explain", "--no-counterfactuals",
                                                   "-").stdout)
    assert "To change this" not in run("explain", "-p", POLICY, "--no-counterfactuals", "-").stdout


# -- properties on the example policy ---------------------------------------------------------

def _records(policy):
    return st.fixed_dictionaries({name: fact_value(policy, name) for name in policy.facts})


def _check_counterfactual(ruleset, decision, cf):
    policy = ruleset.policy
    assert cf.outcome in better_outcomes(policy, decision.outcome)
    changed = {**decision.facts, **cf.facts}
    again = evaluate(ruleset, changed, trace=False)
    assert again.outcome == cf.outcome and again.outcome_known
    for ch in cf.changes:
        spec = policy.facts[ch.fact]
        assert ch.old == decision.facts[ch.fact] and ch.new != ch.old
        assert spec.change != "none"
        _, problem = check_value(spec, ch.new)
        assert problem is None, problem
        if spec.change in ("increase", "decrease"):
            order = spec.enum or (False, True)
            key = (lambda v: v) if spec.numeric else order.index
            assert (key(ch.new) > key(ch.old)) == (spec.change == "increase")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_counterfactual_flips_the_outcome_within_range_and_mutability(data):
    record = data.draw(_records(D11.policy))
    decision = evaluate(D11, record, trace=False)
    found = counterfactuals(D11, decision)
    for cf in found:
        _check_counterfactual(D11, decision, cf)
    keys = [(c.size, c.distance) for c in found]
    assert keys == sorted(keys)
    by_outcome = {}
    for cf in found:
        by_outcome.setdefault(cf.outcome, []).append(cf)
    assert all(len(v) <= 3 for v in by_outcome.values())


# Minimality against brute force over generated policies (integer and number facts, open
# and closed bounds, enums, optional facts) is tests/test_counterfactuals_grid.py.


OPTIONAL = """
policy: opt
version: 1
language: en
facts:
  score: {type: integer, minimum: 0, maximum: 100, change: increase}
  verified: {type: boolean, required: false, change: increase, remedy: {en: Verify your income, zh: 完成收入认证}}
  level: {type: string, enum: [basic, silver, gold], change: increase}
outcomes: [premium, standard]
default: standard
rules:
  - id: premium
    when: {all: [{score: {gte: 80}}, {verified: true}, {level: {in: [silver, gold]}}]}
    then: {outcome: premium}
"""


def test_missing_optional_fact_can_be_supplied_and_enum_levels_only_go_up():
    rs = load_policy_text(OPTIONAL).ruleset
    assert [shown(c) for c in cfs({"score": 90, "level": "gold"}, rs)] == [
        ("premium", (("verified", None, True),))]
    assert [shown(c) for c in cfs({"score": 70, "verified": True, "level": "basic"}, rs)] == [
        ("premium", (("score", 70, 80), ("level", "basic", "silver")))]
    assert [shown(c) for c in cfs({"score": 90, "verified": False, "level": "gold"}, rs)] == [
        ("premium", (("verified", False, True),))]
    assert cfs({"score": 90, "verified": True, "level": "gold"}, rs) == []  # already the best
    d = evaluate(rs, {"score": 90, "level": "gold"})
    from engine.explain.render import describe_counterfactual

    assert describe_counterfactual(d, counterfactuals(rs, d)[0], "zh") == "verified missing → true (完成收入认证) ⇒ premium"
    import jsonschema

    from engine.explain.render import decision_dict

    data = decision_dict(d, "en", counterfactuals=counterfactuals(rs, d))
    assert data["counterfactuals"][0]["steps"] == [
        {"fact": "verified", "from": None, "to": True, "remedy": "Verify your income"}]
    schema = Path(__file__).resolve().parent.parent / "schemas" / "decision.schema.json"
    jsonschema.validate(data, json.loads(schema.read_text("utf-8")))


def test_api_counterfactuals_prune_false_returns_every_minimal_set():
    policy = load_policy(POLICY)
    d = policy.evaluate({**BASE, "overdue_days": 45})
    pruned, every = policy.counterfactuals(d), policy.counterfactuals(d, prune=False)
    assert [shown(c) for c in pruned] == [shown(c) for c in cfs({**BASE, "overdue_days": 45})]
    assert {shown(c) for c in pruned} < {shown(c) for c in every}
    assert {shown(c) for c in every} == {shown(c) for c in cfs({**BASE, "overdue_days": 45}, prune=False,
                                                               per_outcome=1000)}
    # The dominated alternative the pruned list drops (45 → 30 alone reaches the better silver).
    dominated = ("basic", (("credit_score", 720, 649), ("overdue_days", 45, 30)))
    assert dominated in {shown(c) for c in every} and dominated not in {shown(c) for c in pruned}
