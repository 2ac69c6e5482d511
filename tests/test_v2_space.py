"""The fact space on presence tests and dates, and "wait" counterfactuals (issue 13).

- the example policy (tests/fixtures/v2_space/cash-loan-limit.yaml) on 2026-11-11: the
  credit-repair path by waiting (81 days to 2027-01-31), "repay + wait", waiting for a
  `with_time` fact;
- a property: on generated small policies with a relative date fact, an absolute date fact
  and a `with_time` fact, the earliest wait (alone and with each set of changed facts) and
  the minimal (changes, days) pairs equal a brute force over every day 0..max_wait_days,
  evaluated with the real evaluator on as_of + w;
- findings exact on presence and date conditions, each witness a valid fact set with
  `datetime.date` days that evaluation on the same `as_of` confirms;
- coverage and generated boundary suites on dates (day before / of / after) and presence.
"""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.counterfactuals import Reach, better_outcomes, counterfactuals
from engine.analysis.findings import find, verdict_of
from engine.api import load_policy, load_policy_text
from engine.evaluate import evaluate
from engine.space import Regions, Space, describe_box
from engine.suites.coverage import boundaries, coverage_of
from engine.suites.generate import generate_boundary_suite
from engine.suites.model import Case, CaseResult, Expect

FIXTURES = Path(__file__).parent / "fixtures" / "v2_space"
AS_OF = datetime.date(2026, 11, 11)
D = datetime.date


def example():
    return load_policy(FIXTURES / "cash-loan-limit.yaml")


KEPT_USER = {"credit_score": 720, "overdue_days": 0, "account_age_days": 400, "membership": "basic",
             "current_limit_yuan": 5123.45, "last_overdue_date": "2026-08-03"}


def decide(cp, facts, as_of=AS_OF):
    return evaluate(cp.ruleset, facts, as_of=as_of)


# -- the example policy -------------------------------------------------------------------------

def test_waiting_alone_reaches_the_raise_on_2027_01_31():
    cp = example()
    d = decide(cp, KEPT_USER)
    assert d.outcome == "keep"
    cfs = counterfactuals(cp.ruleset, d)
    raise_ = [c for c in cfs if c.outcome == "raise"]
    assert raise_[0].changes == ()
    assert raise_[0].wait_days == 81
    assert raise_[0].date == D(2027, 1, 31)
    # The first counterfactual of all: nothing changed beats any change.
    assert cfs[0] == raise_[0]
    # One day earlier is not enough; on the day it is (the real evaluator).
    assert decide(cp, {**KEPT_USER, "account_age_days": 480}, AS_OF + datetime.timedelta(days=80)).outcome == "keep"
    assert decide(cp, {**KEPT_USER, "account_age_days": 481}, D(2027, 1, 31)).outcome == "raise"


def test_repay_and_wait():
    cp = example()
    d = decide(cp, {**KEPT_USER, "overdue_days": 5})
    assert d.outcome == "cut"
    cfs = counterfactuals(cp.ruleset, d)
    shown = [(c.outcome, tuple((ch.fact, ch.old, ch.new) for ch in c.changes), c.wait_days, c.date) for c in cfs]
    # Repaying keeps the limit today; repaying and waiting 81 days raises it.
    assert shown[0] == ("keep", (("overdue_days", 5, 0),), 0, None)
    assert ("raise", (("overdue_days", 5, 0),), 81, D(2027, 1, 31)) in shown
    # Ranked by (facts changed, days waited, distance, outcome): the wait comes after today's change.
    keys = [(c.size, c.wait_days, c.distance) for c in cfs]
    assert keys == sorted(keys)
    assert shown.index(("raise", (("overdue_days", 5, 0),), 81, D(2027, 1, 31))) > 0


def test_waiting_for_account_age_days():
    cp = example()
    user = {k: v for k, v in KEPT_USER.items() if k != "last_overdue_date"}
    user["account_age_days"] = 30
    d = decide(cp, user)
    assert d.outcome == "keep"
    cfs = counterfactuals(cp.ruleset, d)
    assert cfs[0].outcome == "raise" and cfs[0].changes == ()
    assert cfs[0].wait_days == 60 and cfs[0].date == D(2027, 1, 10)


def test_counterfactuals_follow_the_decisions_as_of():
    """One rule set, decisions on two evaluation dates: each is waited from its own."""
    cp = example()
    first = counterfactuals(cp.ruleset, decide(cp, KEPT_USER))
    later = counterfactuals(cp.ruleset, decide(cp, {**KEPT_USER, "account_age_days": 430}, D(2026, 12, 11)))
    assert (first[0].wait_days, first[0].date) == (81, D(2027, 1, 31))
    assert (later[0].outcome, later[0].wait_days, later[0].date) == ("raise", 51, D(2027, 1, 31))


def test_no_wait_beyond_the_horizon():
    cp = example()
    text = (FIXTURES / "cash-loan-limit.yaml").read_text().replace("max_wait_days: 365", "max_wait_days: 80")
    short = load_policy_text(text)
    d = evaluate(short.ruleset, KEPT_USER, as_of=AS_OF)
    assert not [c for c in counterfactuals(short.ruleset, d) if c.outcome == "raise" and not c.changes]
    assert [c for c in counterfactuals(cp.ruleset, decide(cp, KEPT_USER)) if c.wait_days == 81]


def test_relative_regions_move_with_as_of():
    policy = example().policy
    for as_of in (AS_OF, AS_OF + datetime.timedelta(days=10)):
        space = Space([policy], as_of)
        assert space.as_of == as_of
        # The clean period's first day, as_of - 180, is where a cell of the date axis starts.
        starts = {c.lo for c in space.dim("last_overdue_date").cells if c.kind == "int"}
        assert (as_of - datetime.timedelta(days=180)).toordinal() in starts
        # Descriptions name it as the policy does, the same on every evaluation date.
        text = [describe_box(space, box) for box in Reach(policy, as_of=as_of).boxes["raise"]]
        assert any("last_overdue_date < clean_days days ago" in t for t in text), text


# -- the earliest wait against brute force ------------------------------------------------------

H = 12  # max_wait_days of the generated policies
S_MAX = 3


@st.composite
def wait_policies(draw, d_change: str | None = "none"):
    """A small policy: `d` (a date compared with relative days, maybe also with absolute
    days or bounded below, maybe missing), `e` (a date compared with absolute days), `t` (a `with_time` day count 0..20), `s` (an integer
    0..S_MAX any user can change), over three outcomes."""
    # `d` also compared with absolute days (then it is never changed, only waited for)
    mixed = draw(st.booleans()) if d_change == "none" else False
    if d_change is None:
        d_change = draw(st.sampled_from(["any", "increase", "decrease"]))

    def d_leaf():
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne", "between", "missing"]))
        if op == "missing":
            return {"d": {"missing": draw(st.booleans())}}
        if op in ("eq", "ne") or (mixed and op != "between" and draw(st.booleans())):
            # (the schema takes relative dates with the order operators only)
            if not mixed:
                op = draw(st.sampled_from(["gt", "gte", "lt", "lte"]))
            else:
                return {"d": {op: str(D(2026, 1, 10) + datetime.timedelta(days=draw(st.integers(-8, 8))))}}
        def rel():
            n = draw(st.integers(0, 8))
            return {draw(st.sampled_from(["days_ago", "days_ahead"])): n}
        if op == "between":
            a, b = sorted(draw(st.lists(st.integers(-8, 8), min_size=2, max_size=2)))
            return {"d": {"between": [{"days_ago": -a} if a < 0 else {"days_ahead": a},
                                      {"days_ago": -b} if b < 0 else {"days_ahead": b}]}}
        return {"d": {op: rel()}}

    def leaf():
        kind = draw(st.sampled_from(["d", "d", "e", "t", "t", "s"]))
        if kind == "d":
            return d_leaf()
        if kind == "e":
            return {"e": {draw(st.sampled_from(["gt", "gte", "lt", "lte"])):
                          str(D(2026, 1, 10) + datetime.timedelta(days=draw(st.integers(-3, 3))))}}
        if kind == "t":
            return {"t": {draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"])): draw(st.integers(0, 20))}}
        return {"s": {draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq"])): draw(st.integers(0, S_MAX))}}

    def cond(depth=0):
        if depth < 2 and draw(st.booleans()):
            return {draw(st.sampled_from(["all", "any"])): [cond(depth + 1) for _ in range(draw(st.integers(1, 3)))]}
        return leaf()

    rules = []
    for i in range(draw(st.integers(1, 4))):
        outcome = draw(st.sampled_from(["no", "best", "good"]))
        then = {"outcome": outcome, **({"reason": "R"} if outcome == "no" else {})}
        rules.append({"id": f"r{i}", "when": cond(), "then": then})
    doc = {
        "policy": "waits", "version": 1, "title": "waits", "language": "en", "max_wait_days": H,
        "facts": {
            "d": {"type": "date", "required": False, "change": d_change,
                  **({"minimum": "2025-12-20"} if mixed and draw(st.booleans()) else {})},
            "e": {"type": "date", "change": "none"},
            "t": {"type": "integer", "minimum": 0, "maximum": 20, "change": "with_time"},
            "s": {"type": "integer", "minimum": 0, "maximum": S_MAX, "change": "any" if d_change == "none" else "none"},
        },
        "outcomes": [{"id": "no", "adverse": True}, {"id": "best"}, {"id": "good"}],
        "default": "good",
        "reasons": {"R": "refused"},
        "rules": rules,
    }
    user = {"e": str(D(2026, 1, 10) + datetime.timedelta(days=draw(st.integers(-4, 4)))),
            "t": draw(st.integers(0, 20)), "s": draw(st.integers(0, S_MAX))}
    if draw(st.booleans()):
        user["d"] = str(D(2026, 1, 10) + datetime.timedelta(days=draw(st.integers(-12, 12))))
    return yaml.safe_dump(doc, sort_keys=False), user


def _brute(ruleset, user: dict, as_of: datetime.date, target: str) -> dict:
    """Per set of changed facts, the earliest day 0..H on which some values of them (each
    different from today's, in the fact's direction) reach `target`: every day and value
    tried. `s` takes 0..S_MAX; a changeable `d` every day within 25 of 2026-01-10 (the
    policies' days are within 23 of it)."""
    policy = ruleset.policy
    choices = {}
    if policy.facts["s"].change != "none":
        choices["s"] = [v for v in range(S_MAX + 1) if v != user["s"]]
    d_change = policy.facts["d"].change
    if d_change != "none":
        now = D.fromisoformat(user["d"]) if "d" in user else None
        days = [D(2026, 1, 10) + datetime.timedelta(days=i) for i in range(-25, 26)]
        choices["d"] = [v for v in days if v != now and (now is None or d_change == "any"
                                                         or (v > now) == (d_change == "increase"))]
    out = {}
    for n in range(len(choices) + 1):
        for changed in itertools.combinations(sorted(choices), n):
            values = [dict(zip(changed, vs)) for vs in itertools.product(*(choices[c] for c in changed))]
            for w in range(H + 1):
                if w + user["t"] > 20:
                    break  # past the declared maximum of `t`: no valid record
                day = as_of + datetime.timedelta(days=w)
                if any(_reaches(ruleset, {**user, **vals, "t": user["t"] + w}, day, target) for vals in values):
                    if changed or w > 0:
                        out[frozenset(changed)] = w
                    break
    # The minimal pairs: no pair with fewer facts waits no longer.
    return {k: w for k, w in out.items() if not any(o < k and out[o] <= w for o in out)}


def _reaches(ruleset, facts, day, target) -> bool:
    dec = evaluate(ruleset, facts, trace=False, as_of=day)
    return dec.outcome == target and dec.outcome_known


def _check_earliest(case, shift):
    text, user = case
    cp = load_policy_text(text)
    as_of = D(2026, 1, 10) + datetime.timedelta(days=shift)
    d = evaluate(cp.ruleset, user, as_of=as_of)
    cfs = counterfactuals(cp.ruleset, d, prune=False)
    # Exact before verification: verifying drops nothing.
    assert counterfactuals(cp.ruleset, d, prune=False, verify=False) == cfs
    got: dict = {}
    for c in cfs:
        got.setdefault(c.outcome, {})[frozenset(ch.fact for ch in c.changes)] = c.wait_days
        if c.wait_days:
            assert c.date == as_of + datetime.timedelta(days=c.wait_days)
        else:
            assert c.date is None
    for target in better_outcomes(cp.policy, d.outcome):
        assert got.get(target, {}) == _brute(cp.ruleset, user, as_of, target), (target, text, user)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wait_policies(), st.integers(-3, 3))
def test_earliest_wait_equals_brute_force(case, shift):
    _check_earliest(case, shift)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wait_policies(d_change=None), st.integers(-3, 3))
def test_earliest_wait_with_a_changed_date_equals_brute_force(case, shift):
    """A date fact a user may change (any way, or only later / earlier days) as well as
    wait for: changing it and waiting are priced together."""
    _check_earliest(case, shift)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wait_policies(), st.integers(-3, 3), st.lists(st.tuples(st.integers(-12, 12), st.integers(0, 20),
                                                               st.integers(0, S_MAX), st.booleans()),
                                                     min_size=1, max_size=8))
def test_regions_agree_with_evaluation(case, shift, users):
    """Every rule's true / false / unknown and the known outcome regions, on presence
    tests and relative and absolute dates, against the real evaluator at sampled fact sets."""
    from engine.space import contains

    text, _ = case
    cp = load_policy_text(text)
    policy = cp.policy
    as_of = D(2026, 1, 10) + datetime.timedelta(days=shift)
    space = Space([policy], as_of)
    regions = Regions(policy, space)
    known = regions.known()
    for dd, t, sv, present in users:
        facts = {"e": str(D(2026, 1, 10) + datetime.timedelta(days=dd // 3)), "t": t, "s": sv}
        if present:
            facts["d"] = str(D(2026, 1, 10) + datetime.timedelta(days=dd))
        dec = evaluate(cp.ruleset, facts, as_of=as_of)
        cells = tuple(space.cell_of(dim.name, dec.facts.get(dim.name)) for dim in space.dims)
        for r in policy.rules:
            want = dec.matched[r.index]
            assert contains(regions.T[r.index], cells) == (want is True), (r.id, facts)
            assert contains(regions.F[r.index], cells) == (want is False), (r.id, facts)
        inside = [o for o, region in known.items() if contains(region, cells)]
        assert inside == ([dec.outcome] if dec.outcome_known else []), facts


def test_no_wait_takes_a_with_time_fact_past_its_maximum():
    """`t` grows while waiting even where no rule reads it: a wait that would take it past
    its declared maximum is no counterfactual (the record would not be valid)."""
    cp = load_policy_text(wait_policies_example())
    for t, expected in ((20, None), (17, None), (16, 4)):
        user = {"e": "2026-01-10", "t": t, "s": 0, "d": "2026-01-10"}
        d = evaluate(cp.ruleset, user, as_of=D(2026, 1, 10))
        waits = [c.wait_days for c in counterfactuals(cp.ruleset, d, verify=False) if not c.changes]
        assert waits == ([] if expected is None else [expected]), t


def wait_policies_example() -> str:
    """`best` once `d` is more than 3 days old; `t` (a with_time fact up to 20) unread."""
    return """
policy: waits
version: 1
title: waits
language: en
max_wait_days: 12
facts:
  d: {type: date, required: false, change: none}
  e: {type: date, change: none}
  t: {type: integer, minimum: 0, maximum: 20, change: with_time}
  s: {type: integer, minimum: 0, maximum: 3, change: none}
outcomes: [{id: best}, {id: good}]
default: good
rules:
  - id: old
    when: {d: {lt: {days_ago: 3}}}
    then: {outcome: best}
"""


# -- findings on presence tests and dates --------------------------------------------------------

FINDINGS = """
policy: dated
version: 1
title: dated
language: en
timezone: Asia/Shanghai
facts:
  last_overdue_date: {type: date, required: false, change: none}
  opened: {type: date, minimum: "2020-01-01", change: none}
  score: {type: integer, minimum: 0, maximum: 100}
outcomes:
  - {id: deny, adverse: true}
  - {id: approve}
  - {id: review}
default: review
reasons:
  RECENT: Recent overdue repayment
rules:
  - id: recent
    when: {last_overdue_date: {missing: false, gte: {days_ago: 30}}}
    then: {outcome: deny, reason: RECENT}
  - id: never-and-dated
    when:
      all:
        - last_overdue_date: {missing: true}
        - last_overdue_date: {lt: {days_ago: 30}}
    then: {outcome: approve}
  - id: shadowed
    when: {last_overdue_date: {gte: {days_ago: 10}}}
    then: {outcome: approve}
  - id: clean
    when:
      all:
        - any:
            - last_overdue_date: {missing: true}
            - last_overdue_date: {lt: {days_ago: 30}}
        - opened: {lt: "2025-06-01"}
        - score: {gte: 50}
    then: {outcome: approve}
"""


def test_findings_exact_on_presence_and_dates():
    cp = load_policy_text(FINDINGS)
    policy = cp.policy
    found = find(policy, as_of=AS_OF)
    by = {(f.code, f.rule) for f in found}
    assert ("rule-unsatisfiable", "never-and-dated") in by
    assert ("rule-shadowed", "shadowed") in by
    assert not [f for f in found if f.code in ("analysis-unverified", "analysis-incomplete")]
    assert ("rule-unsatisfiable", "clean") not in by and ("rule-shadowed", "clean") not in by
    gaps = [f for f in found if f.code == "gap" and f.witness is not None]
    assert gaps
    for f in found:
        if f.witness is None:
            continue
        for name in ("last_overdue_date", "opened"):
            if name in f.witness:
                assert isinstance(f.witness[name], datetime.date)
        dec = evaluate(cp.ruleset, f.witness, as_of=AS_OF)  # the real evaluator confirms it
        if f.code == "gap":
            assert not dec.decided_by and dec.outcome == "review"
        if f.code == "rule-shadowed":
            assert dec.matched[policy.rule(f.rule).index] is True and dec.outcome == "deny"
    # The gap names relative days as the policy writes them; absolute ones as dates.
    regions = " / ".join(f.region or "" for f in gaps)
    assert "last_overdue_date < 30 days ago" in regions and "2025-06-01" in regions, regions


def test_missing_is_never_unknown():
    cp = load_policy_text(FINDINGS)
    policy = cp.policy
    space = Space([policy], AS_OF)
    regions = Regions(policy, space)
    recent = policy.rule("recent").index
    dim = space.dim("last_overdue_date")
    # `missing: false, gte: …` is false (not unknown) where the date is absent.
    absent = [box for box in regions.F[recent] if box[space.index["last_overdue_date"]] & dim.absent]
    assert absent
    assert verdict_of(policy, {"opened": "2024-01-01", "score": 60}, as_of=AS_OF).matched[recent] is False
    # T ∪ F of a presence leaf is the whole axis.
    from engine.space import leaf_masks
    leaf = policy.rule("never-and-dated").leaves[0]
    t, f = leaf_masks(dim, policy.facts["last_overdue_date"], leaf, AS_OF)
    assert t == dim.absent and t | f == dim.full and not t & f


def test_analysis_default_date_is_today_in_the_policy_timezone():
    from zoneinfo import ZoneInfo

    policy = load_policy_text(FINDINGS).policy
    before = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert Space([policy]).as_of in (before, datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date())


# -- coverage and generated suites ---------------------------------------------------------------

def _results(cp, records, as_of):
    out = []
    for i, rec in enumerate(records):
        d = evaluate(cp.ruleset, rec, as_of=as_of)
        out.append(CaseResult(Case(f"c{i}", i, rec, Expect(), None), d, ()))
    return out


def test_date_boundaries_day_before_of_after():
    cp = example()
    found = {b.fact: b for b in boundaries(cp.policy, as_of=AS_OF) if b.fact == "last_overdue_date"}
    b = found["last_overdue_date"]
    assert b.relative and b.label == "clean_days (180 days ago)"
    assert [(p.side, p.value) for p in b.points] == [("below", D(2026, 5, 14)), ("at", D(2026, 5, 15)),
                                                     ("above", D(2026, 5, 16))]


def test_relative_boundary_covered_on_another_evaluation_date():
    cp = example()
    base = {**KEPT_USER}
    # On 2026-11-12 the clean period starts on 2026-05-16: the "at" point of the boundary.
    res = _results(cp, [{**base, "last_overdue_date": "2026-05-16"}], D(2026, 11, 12))
    cov = coverage_of(cp.policy, res, as_of=AS_OF)
    bc = next(bc for bc in cov.boundaries if bc.boundary.fact == "last_overdue_date")
    covered = {pc.point.side for pc in bc.points if pc.covered_by}
    assert covered == {"at"}


def test_generated_suite_records_as_of_and_covers_dates_and_presence():
    cp = example()
    text = generate_boundary_suite(cp.policy, "cash-loan-limit.yaml", None, as_of=AS_OF)
    doc = yaml.safe_load(text)
    assert doc["as_of"] == AS_OF
    names = [c["name"] for c in doc["cases"]]
    for day in ("2026-05-14", "2026-05-15", "2026-05-16"):
        assert any(n.startswith(f"last_overdue_date {day}:") for n in names), names
    assert "last_overdue_date missing: presence test" in names
    assert "last_overdue_date present: presence test" in names
    assert "# NOTE" not in text  # every case makes its comparison decide its rule
    # Every generated case, evaluated on the suite's as_of, gives what it expects, and the
    # cases cover every date boundary point and both values of every presence test.
    records = []
    for c in doc["cases"]:
        rec = {**doc["profiles"]["base"], **c["facts"]}
        rec = {k: v for k, v in rec.items() if v is not None}
        d = evaluate(cp.ruleset, rec, as_of=AS_OF)
        assert d.outcome == c["expect"]["outcome"], c
        records.append(rec)
    absent = next(c for c in doc["cases"] if c["name"] == "last_overdue_date missing: presence test")
    assert absent["facts"]["last_overdue_date"] is None
    cov = coverage_of(cp.policy, _results(cp, records, AS_OF))
    for bc in cov.boundaries:
        if bc.boundary.fact == "last_overdue_date":
            assert all(pc.covered_by for pc in bc.points if pc.point.reachable)
    for cc in cov.conditions:
        if cc.leaf.op == "missing":
            assert cc.true_by and cc.false_by, cc.leaf


def test_a_longer_horizon_finds_the_same_earliest_days():
    """Waiting is computed from cell bounds, not day by day: a horizon of 100 years gives
    the same earliest days as one of 365."""
    cp = example()
    text = (FIXTURES / "cash-loan-limit.yaml").read_text().replace("max_wait_days: 365", "max_wait_days: 36500")
    long = load_policy_text(text)
    a = counterfactuals(cp.ruleset, decide(cp, KEPT_USER))
    b = counterfactuals(long.ruleset, evaluate(long.ruleset, KEPT_USER, as_of=AS_OF))
    assert [(c.outcome, c.changes, c.wait_days) for c in a] == [(c.outcome, c.changes, c.wait_days) for c in b]


def test_brute_force_helper_sees_a_wait():
    """The brute force itself finds the example's 81 days (so the property compares real values)."""
    cp = example()
    user = dict(KEPT_USER)
    reached = next(w for w in range(0, 200) if evaluate(
        cp.ruleset, {**user, "account_age_days": 400 + w}, as_of=AS_OF + datetime.timedelta(days=w)).outcome == "raise")
    assert reached == 81
