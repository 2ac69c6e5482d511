"""Static analysis: each finding on a small policy whose answer is known by hand, the seeded
broken copies of the example policy, and properties: every witness exhibits its finding
when evaluated, and the regions agree with evaluation at every sampled point."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.findings import GAP, find, verdict_of
from engine.cli.main import main
from engine.compile import compile_policy
from engine.evaluate import evaluate
from engine.language.source import load_bytes
from engine.language.validate import validate
from engine.space import Budget, Regions, Space

ROOT = Path(__file__).resolve().parent.parent
DOUBLE11 = ROOT / "policies" / "double11-coupon.yaml"


def load(text: str, name: str = "p.yaml"):
    doc, diags = load_bytes(text.encode(), name)
    assert doc is not None, diags
    policy, diags = validate(doc)
    assert policy is not None, [d.render() for d in diags]
    return policy


HEAD = """
policy: p
version: 1
facts:
  score: {type: integer, minimum: 300, maximum: 900}
  days: {type: integer, minimum: 0}
  tier: {type: string, enum: [basic, silver, gold]}
  frozen: {type: boolean, default: false}
outcomes: [denied, gold, silver, none]
"""


def head_with_fact(declaration: str) -> str:
    """HEAD with one more fact declared, e.g. `income: {type: number, required: false}`."""
    frozen = "  frozen: {type: boolean, default: false}\n"
    return HEAD.replace(frozen, frozen + f"  {declaration}\n")


def policy_of(rules: str, default: str | None = "none", extra: str = ""):
    text = HEAD + (f"default: {default}\n" if default else "") + extra + "rules:\n" + rules
    return load(text)


def codes(findings) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.rule) for f in findings if f.code != GAP)


def check_witness(policy, f) -> None:
    """The finding's witness is a valid fact set and evaluation shows the finding."""
    ruleset = compile_policy(policy)
    d = evaluate(ruleset, f.witness, trace=False)  # raises FactsError for an invalid fact set
    ref = verdict_of(policy, f.witness)
    assert d.outcome == ref.outcome and tuple(d.matched) == tuple(ref.matched)
    idx = {r.id: r.index for r in policy.rules}
    prec = {o: i for i, o in enumerate(policy.outcome_ids)}
    if f.code == "rule-shadowed":
        r = policy.rules[idx[f.rule]]
        assert d.matched[r.index] is True
        assert prec[d.outcome] < prec[r.then.outcome]
    elif f.code == "rule-subsumed":
        assert d.matched[idx[f.rule]] is True
        other = f.message.split("`")[3]
        assert d.matched[idx[other]] is True
    elif f.code == "gap" and f.message.startswith("no row of table `"):  # a table's own gap
        table = policy.table(f.message.split("`")[1])
        assert not any(d.matched[i] for i in table.rules)
    elif f.code == "gap":
        assert not d.decided_by and d.outcome == policy.default
    elif f.code == "threshold-inverted":
        assert d.matched[idx[f.rule]] is True
    else:
        raise AssertionError(f"unexpected witness on {f.code}")


# -- one small policy per finding, the answer known by hand ---------------------------------------

def test_rule_that_can_never_match():
    p = policy_of("""
  - id: impossible
    when: {all: [{score: {gte: 700}}, {score: {lt: 650}}]}
    then: {outcome: gold}
""")
    fs = find(p)
    assert codes(fs) == [("rule-unsatisfiable", "impossible")]
    [f] = [f for f in fs if f.code == "rule-unsatisfiable"]
    assert f.witness is None  # a universal claim: no fact set can show it
    assert (f.loc.line, f.loc.column) == (13, 5)  # the rule's `- id:` line


def test_rule_never_deciding_is_shadowed_with_witness():
    p = policy_of("""
  - id: frozen
    when: {frozen: true}
    then: {outcome: denied, reason: FROZEN}
  - id: gold
    when: {score: {gte: 700}}
    then: {outcome: gold}
  - id: silver-frozen
    when: {all: [{frozen: true}, {score: {gte: 650}}]}
    then: {outcome: silver}
""")
    fs = find(p)
    assert codes(fs) == [("rule-shadowed", "silver-frozen")]
    [f] = [f for f in fs if f.code == "rule-shadowed"]
    assert "`frozen`" in f.message
    assert f.witness["frozen"] is True and f.witness["score"] >= 650
    check_witness(p, f)


def test_shadowed_by_union_of_two_higher_rules():
    p = policy_of("""
  - id: low
    when: {score: {lt: 600}}
    then: {outcome: denied, reason: LOW}
  - id: high
    when: {score: {gte: 600}}
    then: {outcome: gold}
  - id: silver
    when: {tier: silver}
    then: {outcome: silver}
""")
    fs = find(p)
    assert codes(fs) == [("rule-shadowed", "silver")]
    # and no gap: the first two rules cover everything
    assert not [f for f in fs if f.code == GAP]


def test_subsumed_rule_same_outcome():
    p = policy_of("""
  - id: overdue
    when: {days: {gt: 10}}
    then: {outcome: denied, reason: OVERDUE}
  - id: very-overdue
    when: {days: {gt: 20}}
    then: {outcome: denied, reason: OVERDUE}
""")
    fs = find(p)
    assert codes(fs) == [("rule-subsumed", "very-overdue")]
    [f] = [f for f in fs if f.code == "rule-subsumed"]
    assert f.witness["days"] == 21
    check_witness(p, f)


def test_equal_rules_report_the_later_only():
    p = policy_of("""
  - id: a
    when: {tier: gold}
    then: {outcome: gold}
  - id: b
    when: {tier: {in: [gold]}}
    then: {outcome: gold}
""")
    assert codes(find(p)) == [("rule-subsumed", "b")]


def test_gap_region_is_compact_and_witnessed():
    p = policy_of("""
  - id: low
    when: {score: {lt: 550}}
    then: {outcome: denied, reason: LOW}
  - id: gold
    when: {all: [{score: {gte: 600}}]}
    then: {outcome: gold}
  - id: silver
    when: {all: [{score: {between: [550, 599]}}, {days: {gte: 90}}]}
    then: {outcome: silver}
""")
    fs = [f for f in find(p) if f.code == GAP]
    assert [f.message for f in fs] == [
        "no rule decides where score 550..599 and days < 90; these users get the default `none`"]
    assert fs[0].severity == "info"
    assert fs[0].witness == {"score": 550, "days": 0, "tier": "basic", "frozen": False}
    check_witness(p, fs[0])


def test_gap_without_default_is_a_warning():
    p = policy_of("""
  - id: gold
    when: {score: {gte: 600}}
    then: {outcome: gold}
""", default=None)
    [f] = [f for f in find(p) if f.code == GAP]
    assert f.severity == "warning"
    assert "score < 600" in f.message
    check_witness(p, f)


def test_inverted_tier_threshold():
    p = policy_of("""
  - id: gold
    when: {score: {gte: 600}}
    then: {outcome: gold}
  - id: silver
    when: {score: {gte: 650}}
    then: {outcome: silver}
""")
    fs = find(p)
    assert codes(fs) == [("rule-shadowed", "silver")]
    # silver is shadowed (gold takes every user silver would): the inversion is moot there.
    p = policy_of("""
  - id: gold
    when: {all: [{score: {gte: 600}}, {tier: gold}]}
    then: {outcome: gold}
  - id: silver
    when: {score: {gte: 650}}
    then: {outcome: silver}
""")
    fs = find(p)
    assert codes(fs) == [("threshold-inverted", "gold")]
    [f] = [f for f in fs if f.code == "threshold-inverted"]
    assert f.witness["score"] < 650 and f.witness["tier"] == "gold"
    assert "misses the ≥ 650 every rule for the worse outcome `silver` demands" in f.message
    check_witness(p, f)


def test_inverted_upper_bound():
    p = policy_of("""
  - id: gold
    when: {all: [{days: {lte: 10}}, {tier: gold}]}
    then: {outcome: gold}
  - id: silver
    when: {days: {lte: 3}}
    then: {outcome: silver}
""")
    fs = find(p)
    assert codes(fs) == [("threshold-inverted", "gold")]
    check_witness(p, fs[[f.code for f in fs].index("threshold-inverted")])


def test_conditions_always_true_or_false_within_declared_ranges():
    p = policy_of("""
  - id: a
    when: {all: [{days: {gte: 0}}, {tier: gold}]}
    then: {outcome: gold}
  - id: b
    when: {any: [{score: {gt: 900}}, {tier: silver}]}
    then: {outcome: silver}
  - id: c
    when: {score: {lte: 900}}
    then: {outcome: none}
""")
    fs = find(p)
    got = sorted((f.code, f.rule, f.message) for f in fs if f.code.startswith("condition"))
    assert got == [
        ("condition-always-false", "b", "condition `score > 900` of rule `b` is always false within the declared "
         "ranges"),
        ("condition-always-true", "a", "condition `days ≥ 0` of rule `a` is always true within the declared ranges"),
        ("condition-always-true", "c", "the condition of rule `c` holds for every valid fact set"),
    ]
    assert all(f.witness is None for f in fs if f.code.startswith("condition"))


def test_rules_depending_on_other_rules():
    p = policy_of("""
  - id: gold
    when: {score: {gte: 700}}
    then: {outcome: gold}
  - id: risky
    when: {days: {gt: 5}}
    then: {flags: [risk]}
  - id: coupon
    when: {all: [{outcome: gold}, {score: {lt: 650}}]}
    then: {set: {coupon: 50}}
  - id: warn
    when: {all: [{flag: risk}, {rule: gold}, {not: {flag: risk}}]}
    then: {reason: R}
  - id: fine
    when: {all: [{outcome: gold}, {not: {flag: risk}}]}
    then: {set: {coupon: 50}}
""", extra="outputs:\n  coupon: {type: integer, default: 0, combine: max}\n")
    assert codes(find(p)) == [("rule-unsatisfiable", "coupon"), ("rule-unsatisfiable", "warn")]


def test_optional_fact_absence_is_a_point_of_its_own():
    text = head_with_fact("income: {type: number, minimum: 0, required: false}") + """default: none
rules:
  - id: poor
    when: {income: {lt: 1000}}
    then: {outcome: denied, reason: POOR}
  - id: rich
    when: {income: {gte: 1000}}
    then: {outcome: gold}
"""
    p = load(text)
    [f] = [f for f in find(p) if f.code == GAP]
    assert "income missing" in f.message
    assert "income" not in f.witness
    check_witness(p, f)


def test_lint_ignore_silences_one_code_on_one_rule():
    rules = """
  - id: overdue
    when: {days: {gt: 10}}
    then: {outcome: denied, reason: OVERDUE}
  - id: very-overdue
    when: {days: {gt: 20}}
    then: {outcome: denied, reason: VERY_OVERDUE}
    lint: {ignore: [rule-subsumed], reason: kept for its own reason code}
"""
    [f] = [f for f in find(policy_of(rules)) if f.code != "gap"]  # acknowledged, with the rule's reason
    assert (f.code, f.rule, f.suppressed) == ("rule-subsumed", "very-overdue", "kept for its own reason code")


def test_number_facts_open_and_closed_intervals():
    text = head_with_fact("util: {type: number, minimum: 0, maximum: 1}") + """default: none
rules:
  - id: high
    when: {util: {gt: 0.9}}
    then: {outcome: denied, reason: UTIL}
  - id: low
    when: {util: {lt: 0.9}}
    then: {outcome: gold}
"""
    p = load(text)
    [f] = [f for f in find(p) if f.code == GAP]
    assert "util = 0.9" in f.message and f.witness["util"] == 0.9
    check_witness(p, f)


# -- the example policy and its seeded broken copies -------------------------------------------------

def test_example_policy_has_no_warnings():
    from engine.io.policies import load_policy

    fs = find(load_policy(DOUBLE11))
    assert [f for f in fs if f.severity != "info"] == []
    assert {f.code for f in fs} == {GAP}
    for f in fs:
        check_witness(load_policy(DOUBLE11), f)


SHADOWED_TIER = """
  - id: clean-silver
    when:
      all:
        - credit_score: {gte: gold_credit_score}
        - membership: {in: [gold, platinum]}
        - overdue_days: 0
    then: {outcome: silver}

  - id: high-risk
"""


def _seeded(kind: str) -> str:
    text = DOUBLE11.read_text()
    if kind == "shadowed":
        # (the tiers are a table's rows, after the rules: the copy goes before `high-risk`)
        return text.replace("\n  - id: high-risk\n", SHADOWED_TIER, 1)
    if kind == "impossible":
        return text.replace('[basic-tier,    ">= basic_credit_score",    "-",              "-",',
                            '[basic-tier,    ">= basic_credit_score",    "-",              "< 0",', 1)
    if kind == "inverted":
        return text.replace("  gold_credit_score: 700\n", "  gold_credit_score: 640\n", 1)
    raise ValueError(kind)


@pytest.mark.parametrize("kind, expected", [
    ("shadowed", [("rule-shadowed", "clean-silver")]),
    ("impossible", [("rule-unsatisfiable", "basic-tier")]),
    ("inverted", [("threshold-inverted", "gold-tier")]),
])
def test_seeded_broken_copies_report_exactly_that(kind, expected, tmp_path):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(_seeded(kind))
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(path)])
    doc = json.loads(result.stdout)
    warnings = sorted((d["code"], d.get("rule")) for d in doc["diagnostics"] if d["severity"] != "info")
    assert warnings == expected
    assert result.exit_code == 0
    [d] = [d for d in doc["diagnostics"] if d["severity"] == "warning"]
    if kind != "impossible":
        policy = load(_seeded(kind), str(path))
        [f] = [f for f in find(policy) if f.code == expected[0][0]]
        check_witness(policy, f)
        assert d["witness"] == f.witness
    strict = CliRunner().invoke(main, ["validate", "--strict", str(path)])
    assert strict.exit_code == 1


def test_findings_in_sarif_carry_the_witness(tmp_path):
    path = tmp_path / "inverted.yaml"
    path.write_text(_seeded("inverted"))
    result = CliRunner().invoke(main, ["validate", "--format", "sarif", str(path)])
    doc = json.loads(result.stdout)
    [res] = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "threshold-inverted"]
    assert res["level"] == "warning"
    assert res["properties"]["witness"]["membership"] in ("gold", "platinum")
    region = res["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] > 0
    text = CliRunner().invoke(main, ["validate", str(path)]).stdout
    assert "warning threshold-inverted" in text and "witness: credit_score=640" in text


# -- properties over generated policies ---------------------------------------------------------------

FACTS = """
facts:
  a: {type: integer, minimum: 0, maximum: 20}
  b: {type: integer, minimum: 0, maximum: 20}
  m: {type: string, enum: [x, y, z]}
  f: {type: boolean, default: false}
  u: {type: number, minimum: 0, maximum: 1}
  o: {type: integer, minimum: 0, maximum: 5, required: false}
"""


def _leaf(draw):
    fact = draw(st.sampled_from(["a", "b", "m", "f", "u", "o"]))
    if fact in ("a", "b", "o"):
        top = 5 if fact == "o" else 20
        op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in"]))
        if op == "between":
            lo = draw(st.integers(0, top))
            return {fact: {"between": [lo, draw(st.integers(lo, top))]}}
        if op in ("in", "not_in"):
            return {fact: {op: draw(st.lists(st.integers(0, top), min_size=1, max_size=3))}}
        return {fact: {op: draw(st.integers(0, top))}}
    if fact == "u":
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"]))
        return {fact: {op: draw(st.sampled_from([0, 0.25, 0.5, 0.75, 1]))}}
    if fact == "m":
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
        if op in ("in", "not_in"):
            return {fact: {op: draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=2, unique=True))}}
        return {fact: {op: draw(st.sampled_from(["x", "y", "z"]))}}
    return {fact: draw(st.booleans())}


@st.composite
def conditions(draw, depth=2):
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return _leaf(draw)
    kind = draw(st.sampled_from(["all", "any", "not"]))
    if kind == "not":
        return {"not": draw(conditions(depth - 1))}
    return {kind: draw(st.lists(conditions(depth - 1), min_size=1, max_size=3))}


OUTCOMES = ["denied", "gold", "silver", "basic"]


@st.composite
def policies(draw):
    n = draw(st.integers(1, 6))
    rules = []
    for i in range(n):
        outcome = draw(st.sampled_from(OUTCOMES))
        then = {"outcome": outcome}
        if outcome == "denied":
            then["reason"] = "NO"
        rules.append({"id": f"r{i}", "when": draw(conditions()), "then": then})
    if draw(st.booleans()):  # a rule that depends on what the others concluded
        rules.append({"id": "flagger", "when": draw(conditions(1)), "then": {"flags": ["hot"]}})
        rules.append({"id": "after", "when": {"all": [{"outcome": {"in": ["gold", "silver"]}},
                                                         {"not": {"flag": "hot"}}]}, "then": {"reason": "AFTER"}})
    default = draw(st.sampled_from([None, "basic"]))
    doc = {"policy": "gen", "version": 1, "outcomes": [{"id": "denied", "adverse": True}] + OUTCOMES[1:],
           "rules": rules}
    if default:
        doc["default"] = default
    text = FACTS + "\n".join(f"{k}: {json.dumps(v)}" for k, v in doc.items())
    return text


def _random_facts(rng: random.Random) -> dict:
    out = {"a": rng.randint(0, 20), "b": rng.randint(0, 20), "m": rng.choice("xyz"), "f": rng.random() < 0.5,
           "u": rng.choice([0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.75, 0.9, 1])}
    if rng.random() < 0.7:
        out["o"] = rng.randint(0, 5)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), st.integers(0, 10**6))
def test_every_witness_exhibits_its_finding(text, seed):
    doc, _ = load_bytes(text.encode(), "gen.yaml")
    policy, diags = validate(doc)
    if policy is None:  # e.g. an unknown reason code: not this test's concern
        return
    fs = find(policy)
    assert not [f for f in fs if f.code in ("analysis-unverified", "analysis-incomplete")]
    for f in fs:
        if f.witness is not None:
            check_witness(policy, f)
    # Universal findings: no sampled fact set contradicts them.
    rng = random.Random(seed)
    unsat = {f.rule for f in fs if f.code == "rule-unsatisfiable"}
    shadowed = {f.rule for f in fs if f.code == "rule-shadowed"}
    idx = {r.id: r.index for r in policy.rules}
    for _ in range(30):
        v = verdict_of(policy, _random_facts(rng))
        for r in unsat:
            assert v.matched[idx[r]] is not True
        for r in shadowed:
            assert idx[r] not in v.decided_by


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), st.integers(0, 10**6))
def test_outcome_regions_agree_with_evaluation(text, seed):
    """Exactness: the region analysis puts every sampled fact set in the outcome evaluation gives."""
    doc, _ = load_bytes(text.encode(), "gen.yaml")
    policy, _ = validate(doc)
    if policy is None:
        return
    space = Space([policy])
    regions = Regions(policy, space)
    chosen = regions.chosen()
    rng = random.Random(seed)
    for _ in range(30):
        facts = _random_facts(rng)
        cell = tuple(1 << space.cell_of(d.name, facts.get(d.name)) for d in space.dims)
        where = [o for o, region in chosen.items() if any(all(c & m for c, m in zip(cell, box)) for box in region)]
        assert where == [verdict_of(policy, facts).outcome]
        for r in policy.rules:  # and every rule's true/false regions agree with Kleene evaluation
            m = verdict_of(policy, facts).matched[r.index]
            in_t = any(all(c & x for c, x in zip(cell, box)) for box in regions.T[r.index])
            in_f = any(all(c & x for c, x in zip(cell, box)) for box in regions.F[r.index])
            assert (in_t, in_f) == (m is True, m is False)


def test_beyond_the_bound_it_says_so_rather_than_guess():
    p = load(DOUBLE11.read_text(), str(DOUBLE11))
    fs = find(p, Budget(max_boxes=2))
    assert [f.code for f in fs] == ["analysis-incomplete"]
    assert fs[0].severity == "info" and "more than 2 boxes" in fs[0].message
    fs = find(p, Budget(max_steps=0))
    assert [f.code for f in fs] == ["analysis-incomplete"]
    assert "the budget of 0 box operations ran out" in fs[0].message


def test_the_budget_counts_work_so_the_answer_never_depends_on_the_clock():
    p = load(DOUBLE11.read_text(), str(DOUBLE11))
    spent = Budget()
    full = find(p, spent)
    assert spent.steps > 0 and "analysis-incomplete" not in [f.code for f in full]
    again = Budget()
    assert find(p, again) == full and again.steps == spent.steps  # deterministic, to the step
    # One step short of what it needs: some check stops, and says which, instead of guessing.
    short = find(p, Budget(max_steps=spent.steps - 1))
    stopped = [f for f in short if f.code == "analysis-incomplete"]
    assert stopped and all("its findings may be missing" in f.message for f in stopped)
    assert all(f in full for f in short if f.code != "analysis-incomplete")


def test_budgets_are_per_computation_and_threads_do_not_share_them():
    from concurrent.futures import ThreadPoolExecutor

    p = load(DOUBLE11.read_text(), str(DOUBLE11))
    expected = find(p)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: find(p), range(8)))
    assert all(r == expected for r in results)


def test_validate_example_policy_shows_gaps_as_information():
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(DOUBLE11)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["errors"] == 0 and doc["warnings"] == 0
    gaps = [d for d in doc["diagnostics"] if d["code"] == "gap"]
    assert gaps and all(d["severity"] == "info" and d["witness"] for d in gaps)
    assert gaps[0]["message"] == ("no rule decides where credit_score 550..599 and overdue_days ≤ 30 and "
                                  "overdue_count_12m < 3 and frozen = false; these users get the default "
                                  "`ineligible`")


def test_api_analyse_returns_what_validate_reports_from_analysis():
    from engine.analysis.findings import CODES
    from engine.api import load_policy as load_compiled

    for name in ("double11-coupon", "credit-limit", "risk-alerts"):
        path = f"policies/{name}.yaml"
        found = load_compiled(path).analyse()
        assert all(d.code in CODES for d in found) and (found or name == "credit-limit")
        doc = json.loads(CliRunner().invoke(main, ["validate", "--format", "json", path]).stdout)
        reported = [(d["code"], d["message"], d.get("witness")) for d in doc["diagnostics"] if d["code"] in CODES]
        assert sorted(reported, key=repr) == sorted(((d.code, d.message, d.witness) for d in found), key=repr)



# -- acknowledging findings (`lint:`) ----------------------------------------------------------

GAP_RULES = """
  - id: low
    when: {days: {lt: 5}}
    then: {outcome: gold}
  - id: high
    when: {days: {gt: 20}}
    then: {outcome: denied, reason: OVERDUE}
"""


def acknowledged(lint: str):
    return [(f.code, f.region, f.suppressed) for f in find(policy_of(GAP_RULES, extra=lint)) if f.code in
            (GAP, "acknowledgement-unused")]


def test_a_policy_acknowledges_an_intended_gap_with_its_reason():
    lint = "lint:\n  acknowledge:\n    - {code: gap, reason: the middle band gets the default on purpose}\n"
    assert acknowledged(lint) == [(GAP, "days 5..20", "the middle band gets the default on purpose")]


def test_where_acknowledges_only_gap_regions_inside_it_exactly():
    inside = "lint:\n  acknowledge:\n    - {code: gap, reason: meant, where: {days: {between: [5, 20]}}}\n"
    assert acknowledged(inside) == [(GAP, "days 5..20", "meant")]
    # A `where` that covers only part of the gap acknowledges nothing (a region is all or
    # nothing), and the acknowledgement is reported as left unused.
    part = "lint:\n  acknowledge:\n    - {code: gap, reason: meant, where: {days: {lt: 10}}}\n"
    assert acknowledged(part) == [(GAP, "days 5..20", None), ("acknowledgement-unused", None, None)]


def test_a_stale_acknowledgement_is_a_warning():
    lint = "lint:\n  acknowledge:\n    - {code: rule-shadowed, rule: high, reason: kept}\n"
    [f] = [f for f in find(policy_of(GAP_RULES, extra=lint)) if f.code == "acknowledgement-unused"]
    assert f.severity == "warning" and f.rule == "high" and f.loc.line > 0


@pytest.mark.parametrize("lint, code, words", [
    ("lint:\n  acknowledge:\n    - {code: gap, rule: low, reason: x}\n", "lint-ignore-not-applicable", "remove `rule:`"),
    ("lint:\n  acknowledge:\n    - {code: rule-shadowed, rule: lowe, reason: x}\n", "unknown-rule", "`low`"),
    ("lint:\n  acknowledge:\n    - {code: rule-shadowed, where: {days: 1}, reason: x}\n",
     "lint-ignore-not-applicable", "use `rule:`"),
    ("lint:\n  acknowledge:\n    - {code: gap, where: {rule: low}, reason: x}\n", "lint-ignore-not-applicable",
     "cannot test `rule`"),
    ("lint:\n  acknowledge:\n    - {code: gaps, reason: x}\n", "schema-enum", "gap"),
    ("lint:\n  acknowledge:\n    - {code: gap}\n", "schema-missing-key", "reason"),
])
def test_acknowledgements_that_cannot_apply_are_refused(lint: str, code: str, words: str):
    from engine.language.source import load_text

    doc, _ = load_text(HEAD + "default: none\n" + lint + "rules:\n" + GAP_RULES, "p.yaml")
    policy, diags = validate(doc)
    errors = [d for d in diags if d.severity == "error"]
    assert policy is None and [d.code for d in errors] == [code], errors
    assert words in errors[0].message + " " + (errors[0].hint or "")


CLEAN_BUT_A_GAP = """
policy: p
version: 1
facts:
  days: {type: integer, minimum: 0}
outcomes: [{id: denied, adverse: true}, gold, none]
reasons: {OVERDUE: overdue}
default: none
lint:
  acknowledge:
    - {code: gap, reason: the middle band gets the default on purpose}
rules:
""" + GAP_RULES


def test_acknowledged_findings_are_sarif_suppressions_and_never_fail_strict(tmp_path):
    from click.testing import CliRunner

    from engine.cli import main

    path = tmp_path / "p.yaml"
    path.write_text(CLEAN_BUT_A_GAP, "utf-8")
    text = CliRunner().invoke(main, ["validate", "--strict", str(path)])
    assert text.exit_code == 0 and "gap" not in text.output and text.output.endswith("1 acknowledged\n")
    sarif = json.loads(CliRunner().invoke(main, ["validate", "--format", "sarif", str(path)]).output)
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == GAP]
    assert result["suppressions"] == [{"kind": "inSource",
                                       "justification": "the middle band gets the default on purpose"}]
    github = CliRunner().invoke(main, ["validate", "--format", "github", str(path)]).output
    assert "::notice" not in github
