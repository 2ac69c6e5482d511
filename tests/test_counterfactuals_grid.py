"""Counterfactuals against brute force over the full cell grid of small generated policies
(`number` and `integer` facts, open and closed bounds, enums, booleans, optional facts that
may be missing), and the credit-limit cases of the open-bound bug as a table.

The brute force knows nothing of `engine.space`: it cuts each fact's domain at the
constants the generator drew (every integer; every number constant as a point and the open
gaps between them; enum values; booleans; missing for an optional fact), evaluates one
representative of every combination of cells with the real evaluator, and prices a move
into a cell by the documented rule (docs/explanations.md): integers and closed points
exactly, an open gap of a number one `NUMBER_STEP` past its near end (halfway when the gap
is narrower), supplying a missing fact 1.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.counterfactuals import better_outcomes, counterfactuals
from engine.api import load_policy, load_policy_text
from engine.evaluate import evaluate

N = 5  # integer fact `a` ranges over 0..N
X_CONSTANTS = (0.0, 0.2, 0.5, 0.505, 0.8, 1.0)  # `x` is a number in [0, 1]; 0.5..0.505 is narrower than a step
LEVELS = ("l0", "l1", "l2")
CHANGES = ("any", "increase", "decrease", "none")
STEP = 0.01
MISSING = None


@st.composite
def grid_policies(draw):
    """(policy text, per-fact declarations) of a small policy over a, x, level, ok; the
    declaration of `x` records the constants the rules compare it with (`constants`)."""
    decl = {
        "a": {"type": "integer", "minimum": 0, "maximum": N},
        "x": {"type": "number", "minimum": 0, "maximum": 1},
        "level": {"type": "string", "enum": list(LEVELS)},
        "ok": {"type": "boolean"},
    }
    for name, d in decl.items():
        d["change"] = draw(st.sampled_from(CHANGES))
        presence = draw(st.sampled_from(["required", "optional"] + (["default"] if name == "ok" else [])))
        if presence == "optional":
            d["required"] = False
        elif presence == "default":
            d["default"] = False

    used = set()

    def number_leaf(fact, pool):
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne", "between", "in", "not_in"]))

        def pick():
            v = draw(st.sampled_from(pool))
            if fact == "x":
                used.add(v)
            return v
        if op == "between":
            return {fact: {"between": sorted((pick(), pick()))}}
        if op in ("in", "not_in"):
            return {fact: {op: sorted({pick(), pick()})}}
        return {fact: {op: pick()}}

    def leaf():
        kind = draw(st.sampled_from(["a", "x", "x", "level", "ok"]))
        if kind == "a":
            return number_leaf("a", list(range(N + 1)))
        if kind == "x":
            return number_leaf("x", list(X_CONSTANTS))
        if kind == "level":
            op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
            vals = sorted(set(draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=2))))
            return {"level": {op: vals if op in ("in", "not_in") else vals[0]}}
        return {"ok": draw(st.booleans())}

    def cond(depth=0):
        shape = draw(st.sampled_from(["leaf", "leaf", "all", "any", "not"] if depth < 2 else ["leaf"]))
        if shape == "leaf":
            return leaf()
        if shape == "not":
            return {"not": cond(depth + 1)}
        return {shape: [cond(depth + 1) for _ in range(draw(st.integers(1, 3)))]}

    rules = [{"id": "risky", "when": cond(), "then": {"flags": ["risky"]}}]
    outcomes = [("deny", True), ("top", False), ("mid", False), ("low", False)]
    for oid, adverse in outcomes:
        for k in range(draw(st.integers(0 if oid == "low" else 1, 2))):
            when = cond()
            if draw(st.integers(0, 3)) == 0:
                when = {"all": [when, {"not": {"flag": "risky"}} if oid != "deny" else {"flag": "risky"}]}
            then = {"outcome": oid, **({"reason": "R"} if adverse else {})}
            rules.append({"id": f"{oid}-{k}", "when": when, "then": then})
    doc = {"policy": "grid", "version": 1, "language": "en", "facts": decl,
           "outcomes": [{"id": o, "adverse": a} for o, a in outcomes], "reasons": {"R": "denied"}, "rules": rules}
    if draw(st.booleans()):
        doc["default"] = "low"
    text = json.dumps(doc)
    decl["x"]["constants"] = used
    return text, decl


# -- the brute force: its own cells, its own prices ------------------------------------------------

def cells(name: str, decl: dict) -> list[tuple]:
    """Every cell of a fact as (kind, lo, hi): ("point", v, v), ("gap", lo, hi), ("missing",)."""
    if name == "a":
        out = [("point", v, v) for v in range(N + 1)]
    elif name == "x":  # the number line cut where the rules (and the declared range) cut it
        pts = sorted(decl["x"]["constants"] | {0, 1})
        out = []
        for p, q in zip(pts, pts[1:]):
            out += [("point", p, p), ("gap", p, q)]
        out.append(("point", pts[-1], pts[-1]))
    elif name == "level":
        out = [("point", v, v) for v in LEVELS]
    else:
        out = [("point", False, False), ("point", True, True)]
    if decl[name].get("required") is False:
        out.append(("missing",))
    return out


def representative(cell):
    if cell[0] == "missing":
        return MISSING
    if cell[0] == "point":
        return cell[1]
    return (cell[1] + cell[2]) / 2


def in_cell(cell, v) -> bool:
    if cell[0] == "missing":
        return v is None
    if v is None:
        return False
    if cell[0] == "point":
        return v == cell[1] and type(v) is not bool or (isinstance(v, bool) and v is cell[1])
    return cell[1] < v < cell[2]


def nearest_in(cell, v):
    """The documented nearest value of `cell` to `v` (outside it); for a missing `v`, any value."""
    if cell[0] == "point":
        return cell[1]
    lo, hi = cell[1], cell[2]
    step = STEP if round(lo + STEP, 12) < hi else (hi - lo) / 2
    if v is None or v <= lo:
        return lo + step
    return hi - step


def price(name: str, fact: dict, old, new) -> float | None:
    """The distance of one move of fact `name` (declared as `fact`), None when the
    declaration forbids it."""
    change = fact["change"]
    if change == "none" or new is None:  # immutable; and a present fact is never made missing
        return None
    if old is None:
        return 1.0
    order = {"level": LEVELS.index, "ok": int}.get(name, lambda v: v)
    if change != "any" and (order(new) > order(old)) != (change == "increase"):
        return None
    if name == "a":
        return abs(new - old) / N
    if name == "x":
        return abs(new - old)
    if name == "level":
        return abs(LEVELS.index(new) - LEVELS.index(old)) / (len(LEVELS) - 1)
    return 1.0


def grid(ruleset, decl) -> list[tuple[tuple, str]]:
    """Every combination of cells, with the outcome evaluation knows there (unknown: skipped)."""
    names = list(decl)
    out = []
    for combo in itertools.product(*(cells(n, decl) for n in names)):
        point = {n: representative(c) for n, c in zip(names, combo) if representative(c) is not None}
        d = evaluate(ruleset, point, trace=False)
        if d.outcome is not None and d.outcome_known:
            out.append((combo, d.outcome))
    return out


def brute_force(decl, points, facts) -> dict[str, tuple[int, float]]:
    """Per reachable outcome, the least (facts changed, distance) from `facts`."""
    names = list(decl)
    best: dict[str, tuple[int, float]] = {}
    for combo, outcome in points:
        size, dist = 0, 0.0
        for n, cell in zip(names, combo):
            v = facts.get(n)
            if in_cell(cell, v):
                continue
            cost = price(n, decl[n], v, None if cell[0] == "missing" else nearest_in(cell, v))
            if cost is None:
                break
            size, dist = size + 1, dist + cost
        else:
            key = (size, dist)
            if outcome not in best or key < best[outcome]:
                best[outcome] = key
    return best


def draw_facts(data, decl) -> dict:
    facts = {}
    for n in decl:
        choices = [c for c in cells(n, decl)]
        cell = data.draw(st.sampled_from(choices))
        if cell[0] == "missing":
            continue
        if cell[0] == "gap":
            v = data.draw(st.sampled_from([cell[1] + (cell[2] - cell[1]) * f for f in (0.1, 0.5, 0.9)]))
            facts[n] = round(v, 6)
        else:
            facts[n] = cell[1]
    if "ok" not in facts and decl["ok"].get("default") is False:
        facts["ok"] = False
    return facts


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=grid_policies(), data=st.data())
def test_counterfactuals_match_brute_force_over_the_cell_grid(generated, data):
    text, decl = generated
    ruleset = load_policy_text(text).ruleset
    policy = ruleset.policy
    points = grid(ruleset, decl)
    for _ in range(3):
        facts = draw_facts(data, decl)
        decision = evaluate(ruleset, facts, trace=False)
        found = counterfactuals(ruleset, decision, prune=False)
        for cf in found:  # every change set verifies, and moves only as declared
            again = evaluate(ruleset, {**decision.facts, **cf.facts}, trace=False)
            assert again.outcome == cf.outcome and again.outcome_known
            for ch in cf.changes:
                assert price(ch.fact, decl[ch.fact], ch.old, ch.new) is not None, ch
        ours: dict[str, tuple[int, float]] = {}
        for cf in found:
            ours[cf.outcome] = min(ours.get(cf.outcome, (cf.size, cf.distance)), (cf.size, cf.distance))
        brute = brute_force(decl, points, decision.facts)
        expected = {o: brute[o] for o in better_outcomes(policy, decision.outcome) if o in brute}
        assert ours.keys() == expected.keys(), (facts, decision.outcome, ours, expected)
        for o, (size, dist) in expected.items():
            assert ours[o][0] == size, (o, facts, ours[o], expected[o])
            assert ours[o][1] == pytest.approx(dist, abs=1e-6), (o, facts, ours[o], expected[o])
        # The pruned public list only drops alternatives, and keeps the best reachable outcome.
        pruned = counterfactuals(ruleset, decision)
        assert {(c.outcome, c.changes) for c in pruned} <= {(c.outcome, c.changes) for c in found}
        if expected:
            best = min(expected, key=better_outcomes(policy, None).index)
            assert any(c.outcome == best for c in pruned)


# -- the open-bound bug, on the example policy ---------------------------------------------------

CREDIT = "policies/credit-limit.yaml"
USER = {"credit_score": 700, "score_change_90d": 0, "overdue_days": 0, "overdue_count_12m": 0,
        "debt_ratio": 0.1, "membership": "gold", "account_age_days": 400, "frozen": False,
        "fraud_suspected": False, "current_limit_yuan": 10000, "income_verified": True}


def _shown(ruleset, facts):
    d = evaluate(ruleset, facts, trace=False)
    return d.outcome, [(c.outcome, [(ch.fact, ch.old, ch.new) for ch in c.changes])
                       for c in counterfactuals(ruleset, d)]


@pytest.mark.parametrize("note, utilization, threshold, outcome, expected", [
    ("on the open bound: was no counterfactual at all", 0.9, None, "hold",
     [("increase", [("credit_utilization", 0.9, 0.89)])]),
    ("just past it: unchanged", 0.91, None, "hold", [("increase", [("credit_utilization", 0.91, 0.89)])]),
    ("on `gte: 0.95`: one hundredth, not 69 score points", 0.95, 0.95, "hold",
     [("increase", [("credit_utilization", 0.95, 0.94)])]),
    ("below the bound: nothing to change for utilization", 0.5, None, "increase", []),
])
def test_credit_limit_open_bound_cases(note, utilization, threshold, outcome, expected):
    if threshold is None:
        ruleset = load_policy(CREDIT).ruleset
    else:
        text = open(CREDIT, encoding="utf-8").read().replace("high_utilization: 0.9\n",
                                                              f"high_utilization: {threshold}\n")
        ruleset = load_policy_text(text).ruleset
    assert _shown(ruleset, {**USER, "credit_utilization": utilization}) == (outcome, expected), note


def test_nearest_is_chosen_over_a_farther_fact_past_an_open_bound():
    # At utilization 0.95 against `gte: 0.95`, lowering it by 0.01 beats raising the score by 69.
    text = """
policy: near
version: 1
facts:
  utilization: {type: number, minimum: 0, maximum: 2, change: decrease}
  score: {type: integer, minimum: 300, maximum: 950, change: increase}
outcomes: [{id: hold, adverse: true}, approve]
default: approve
reasons: {STRESS: r}
rules:
  - id: stress
    when: {all: [{utilization: {gte: 0.95}}, {score: {lt: 800}}]}
    then: {outcome: hold, reason: STRESS}
"""
    rs = load_policy_text(text).ruleset
    outcome, shown = _shown(rs, {"utilization": 0.95, "score": 731})
    assert outcome == "hold"
    assert shown == [("approve", [("utilization", 0.95, 0.94)]), ("approve", [("score", 731, 800)])]
