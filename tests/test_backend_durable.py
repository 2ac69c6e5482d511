"""The durable backend: every durable-rules trap pinned, and agreement with the reference.

Two kinds of tests. *Characterization* tests (`test_upstream_*`) pin what durable-rules
2.0.28 itself does, measured on raw rulesets, so a change upstream shows up here. *Guard*
tests pin that the backend neutralises it. The properties compare
`DurableBackend.rule_matches` with `semantics.reference_matches` on generated facts.
Everything that needs durable-rules is skipped when it cannot be imported (Python 3.13).
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import engine.backends.durable as bd
import factgen
from engine import errors
from engine.backends.durable import host as dhost
from engine.backends.durable import limits, network, normal
from engine.io.policies import check_policy_file
from engine.runtime.facts import check_facts
from engine.runtime.semantics import Plan, operand_value, reference_matches
from engine.language.source import load_text
from engine.language.validate import validate

ROOT = Path(__file__).resolve().parent.parent
DOUBLE11 = ROOT / "policies" / "double11-coupon.yaml"


# -- helpers ---------------------------------------------------------------------------------

def load_policy(text: str, path: str = "test.yaml"):
    doc, diags = load_text(text, path)
    assert doc is not None, [d.message for d in diags]
    policy, diags = validate(doc)
    assert policy is not None, [f"{d.code}: {d.message}" for d in diags]
    return policy


def double11():
    return load_policy(DOUBLE11.read_text(encoding="utf-8"), str(DOUBLE11))


def backend(policy):
    return bd.DurableBackend(policy, Plan(policy))


def agree(policy, records, be=None):
    """Evaluate normalized records through both; return the first disagreement or None."""
    be = be or backend(policy)
    plan = Plan(policy)
    for facts in records:
        got, want = be.rule_matches(facts), reference_matches(policy, facts, plan)
        if got != want:
            return facts, got, want
    return None


_names = itertools.count()


def raw_ruleset(rules: dict) -> str:
    """Register a raw ruleset (dict form, through durable's own set_rulesets) on the
    backend's host; return its name."""
    _, _, host = dhost._runtime()
    name = f"raw-{next(_names)}"
    host.set_rulesets({name: rules})
    return name


ANCHOR = {"$ex": {"_n": 1}}


@pytest.fixture(scope="module")
def durable():
    """The durable-rules modules; skips the test when they cannot be imported."""
    pytest.importorskip("durable.engine")
    dengine, dcore, host = dhost._runtime()
    return dengine, dcore, host


# -- import and availability (run without durable too) ----------------------------------------

def test_engine_import_never_imports_durable():
    code = ("import sys, engine, engine.backends.durable, engine.runtime.semantics, engine.language.validate, engine.cli.main\n"
            "assert not any(m == 'durable' or m.startswith('durable.') or m == 'durable_rules_engine'"
            " for m in sys.modules), sorted(m for m in sys.modules if 'durable' in m)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unimportable_durable_is_one_clear_line(monkeypatch):
    # What Python 3.13 does: the C extension fails to import (undefined PyEval_CallObject).
    monkeypatch.setattr(dhost, "_RUNTIME", None)
    for mod in ("durable", "durable.engine", "durable_rules_engine"):
        monkeypatch.setitem(sys.modules, mod, None)
    policy = double11()
    with pytest.raises(errors.BackendUnavailable) as err:
        bd.DurableBackend(policy, Plan(policy))
    text = str(err.value)
    assert "\n" not in text
    assert "durable-rules" in text and "native backend" in text
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in text


# -- events vs facts: post fires one rule ------------------------------------------------------

def test_upstream_post_fires_only_one_rule(durable):
    dengine, _, host = durable
    hits = []
    name = raw_ruleset({
        "a": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 0}}]}}], "run": lambda c: hits.append("a")},
        "b": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 1}}]}}], "run": lambda c: hits.append("b")},
    })
    host.post(name, {"x": 5, "_n": 1, "sid": "0"})
    assert len(hits) == 1  # an event is consumed by the first rule that fires


POLICY_HEAD = """
policy: t
version: 1
facts:
  x: {type: integer, minimum: -1000000, maximum: 1000000}
  y: {type: number, required: false}
  s: {type: string, enum: [a, b, c, 北京], required: false}
  flag_in: {type: boolean, default: false}
outcomes: [high, mid, low, none]
default: none
"""


def test_all_matching_rules_are_reported_and_post_is_never_used(durable, monkeypatch):
    _, _, host = durable
    policy = load_policy(POLICY_HEAD + """
rules:
  - {id: r1, when: {x: {gt: 0}}, then: {outcome: high}}
  - {id: r2, when: {x: {gt: 1}}, then: {outcome: mid}}
  - {id: r3, when: {x: {gt: 2}}, then: {outcome: low}}
""")
    be = backend(policy)
    for method in ("post", "post_batch", "assert_facts", "retract_facts", "set_rulesets"):
        monkeypatch.setattr(host, method, lambda *a, **k: pytest.fail("durable batch/event API used"))
    assert be.rule_matches({"x": 5, "flag_in": False}) == (True, True, True)
    assert be.rule_matches({"x": 2, "flag_in": False}) == (True, True, False)


# -- $or fires once per true branch --------------------------------------------------------------

def test_upstream_or_fires_once_per_true_branch(durable):
    _, _, host = durable
    hits = []
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$or": [{"$gt": {"x": 0}}, {"$gt": {"x": 1}}]}]}}],
                              "run": lambda c: hits.append("r")}})
    host.assert_fact(name, {"x": 5, "_n": 1, "sid": "0"})
    assert hits == ["r", "r"]


def test_or_double_firing_is_deduplicated(durable):
    policy = load_policy(POLICY_HEAD + """
rules:
  - id: r1
    when: {any: [{x: {gt: 0}}, {x: {gt: 1}}, {x: {in: [5, 6]}}]}
    then: {outcome: high}
""")
    be = backend(policy)
    rs = be._compiled.strata[0][1][0]
    text = be._message(rs, {"x": 5, "flag_in": False}, None, next(dhost._COUNTER))
    assert be._run(rs, text) == {0}  # three branches fired, one code
    assert be.rule_matches({"x": 5, "flag_in": False}) == (True,)


# -- nothing matches; identical content ------------------------------------------------------------

def test_upstream_no_match_raises_and_stores_nothing(durable):
    dengine, _, host = durable
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 10}}]}}], "run": lambda c: None}})
    with pytest.raises(dengine.MessageNotHandledException):
        host.assert_fact(name, {"x": 1, "_n": 1, "sid": "0"})
    assert host.get_facts(name, "0") == []


def test_no_match_is_false_and_leaves_no_fact(durable):
    _, _, host = durable
    policy = load_policy(POLICY_HEAD + """
rules:
  - {id: r1, when: {x: {gt: 10}}, then: {outcome: high}}
  - {id: r2, when: {x: {lt: -10}}, then: {outcome: low}}
""")
    be = backend(policy)
    assert be.rule_matches({"x": 0, "flag_in": False}) == (False, False)
    for _, rulesets in be._compiled.strata:
        for rs in rulesets:
            assert host.get_facts(rs.name, limits.SID) == []
    assert be.rule_matches({"x": 11, "flag_in": False}) == (True, False)
    assert be.rule_matches({"x": -11, "flag_in": False}) == (False, True)


def test_upstream_identical_content_is_already_observed(durable):
    dengine, _, host = durable
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 0}}]}}], "run": lambda c: None}})
    host.assert_fact(name, {"x": 1, "_n": 1, "sid": "0"})
    with pytest.raises(dengine.MessageObservedException):
        host.assert_fact(name, {"x": 1, "_n": 1, "sid": "0"})
    host.retract_fact(name, {"x": 1, "_n": 1, "sid": "0"})


def test_memo_tables_stay_bounded_and_never_go_stale(durable, monkeypatch):
    """The memo tables (fired codes → matches, matches → conclusions, conclusions → message
    fields) are pure functions of their keys: past their bound they stop growing and every
    answer is still computed, and a full table never answers for another key."""
    monkeypatch.setattr(dhost, "CACHE_LIMIT", 3)
    policy = double11()
    be = backend(policy)
    plan = Plan(policy)
    rnd = random.Random(7)
    tiers = ["basic", "silver", "gold", "platinum"]
    for _ in range(300):
        facts, _ = check_facts(policy, {
            "credit_score": rnd.choice([500, 549, 550, 600, 650, 700, 750, 800]),
            "overdue_days": rnd.choice([0, 1, 3, 4, 30, 31]), "overdue_count_12m": rnd.choice([0, 2, 3]),
            "membership": rnd.choice(tiers), "monthly_spend": rnd.choice([0, 1999.99, 2000]),
            "account_age_days": rnd.choice([10, 29, 30, 90]), "frozen": rnd.random() < 0.1,
            "loan_applications_30d": rnd.choice([0, 5]), "credit_utilization": rnd.choice([0.1, 0.9, 0.95])})
        assert be.rule_matches(facts) == reference_matches(policy, facts, plan), facts
    assert len(be._done) <= 3 and len(be._fragments) <= 3 and all(len(t) <= 3 for t in be._resolved)
    assert len(be._done) == 3  # they did fill up: the rest was computed each time


def test_identical_facts_twice_in_a_row(durable):
    policy = double11()
    be = backend(policy)
    facts, _ = check_facts(policy, {"credit_score": 800, "overdue_days": 0, "overdue_count_12m": 0,
                                    "membership": "platinum", "monthly_spend": 5000, "account_age_days": 400,
                                    "loan_applications_30d": 0, "credit_utilization": 0.1})
    first = be.rule_matches(facts)
    assert first == be.rule_matches(facts) == be.rule_matches(dict(facts)) == reference_matches(policy, facts)
    rs = be._compiled.strata[0][1][0]
    assert be._message(rs, facts, None, 1) != be._message(rs, facts, None, 2)  # the unique `_n`


# -- anchoring, in/not_in, NNF ------------------------------------------------------------------------

def compiled_texts(be):
    _, _, host = dhost._runtime()
    return [host.get_ruleset(rs.name)._definition for _, rulesets in be._compiled.strata for rs in rulesets]


def test_every_rule_is_anchored_and_never_uses_nex_or_pri(durable):
    policy = load_policy(POLICY_HEAD + """
rules:
  - {id: r1, when: {not: {y: {gt: 1.5}}}, then: {outcome: high}}
  - {id: r2, when: {not: {any: [{s: {in: [a, b]}}, {x: {between: [1, 5]}}]}}, then: {flags: [f1]}}
  - {id: r3, when: {all: [{not: {flag: f1}}, {not: {rule: r1}}, {outcome: {not_in: [high]}}]},
     then: {reason: R}}
""")
    be = backend(policy)
    assert be._compiled.maybe_unknown == (True, True, True)  # y and s are optional
    for text in compiled_texts(be):
        assert "$nex" not in text and '"pri"' not in text
        for name, rule in json.loads(text).items():
            assert len(rule["all"]) == 1 and list(rule["all"][0]) == ["m"]  # one fact, no join
            first = rule["all"][0]["m"]["$and"][0]
            assert first == {"$ex": {"_n": 1}} or set(first) == {"$neq"} and first["$neq"]["_n"] < 0


def test_in_and_not_in_compile_to_eq_and_neq(durable):
    policy = load_policy(POLICY_HEAD + """
rules:
  - {id: r1, when: {s: {in: [a, 北京]}}, then: {outcome: high}}
  - {id: r2, when: {x: {not_in: [1, 2]}}, then: {outcome: low}}
""")
    be = backend(policy)
    text = "".join(compiled_texts(be))
    assert '{"$or":[{"$eq":{"f2":"a"}},{"$eq":{"f2":"北京"}}]}' in text
    assert '{"$neq":{"f0":1}},{"$neq":{"f0":2}}' in text
    records = [{"x": x, "s": s, "flag_in": False} for x in (0, 1, 2, 3) for s in ("a", "b", "北京")]
    assert agree(policy, records) is None
    assert agree(policy, [{"x": 1, "flag_in": False}]) is None  # s missing: r1 unknown


def test_three_valued_logic_on_missing_facts(durable):
    policy = load_policy(POLICY_HEAD + """
rules:
  - {id: plain, when: {y: {gt: 1}}, then: {flags: [f]}}
  - {id: negated, when: {not: {y: {gt: 1}}}, then: {reason: N}}
  - {id: any_true, when: {any: [{y: {gt: 1}}, {x: {gt: 0}}]}, then: {reason: A}}
  - {id: all_false, when: {all: [{y: {gt: 1}}, {x: {gt: 0}}]}, then: {reason: B}}
  - {id: reads_flag, when: {not: {flag: f}}, then: {reason: C}}
  - {id: reads_rule, when: {rule: any_true}, then: {reason: D}}
""")
    be = backend(policy)
    assert be.rule_matches({"x": 5, "flag_in": False}) == (None, None, True, None, None, True)
    assert be.rule_matches({"x": 0, "flag_in": False}) == (None, None, None, False, None, None)
    assert be.rule_matches({"x": 0, "y": 2, "flag_in": False}) == (True, False, True, False, False, True)
    assert be.rule_matches({"x": 0, "y": None, "flag_in": False}) == be.rule_matches({"x": 0, "flag_in": False})


def test_outcome_unknown_and_no_outcome_at_all(durable):
    policy = load_policy("""
policy: t
version: 1
facts:
  y: {type: number, required: false}
outcomes: [gold, silver]
rules:
  - {id: g, when: {y: {gt: 10}}, then: {outcome: gold}}
  - {id: coupon, when: {outcome: {in: [gold]}}, then: {reason: C}}
  - {id: not_gold, when: {outcome: {ne: gold}}, then: {reason: N}}
  - {id: no_silver, when: {outcome: {not_in: [silver]}}, then: {reason: S}}
""")
    be = backend(policy)
    # no default and no rule matched: "no outcome" is known, equals no outcome id
    assert be.rule_matches({"y": 1}) == reference_matches(policy, {"y": 1}) == (False, False, True, True)
    assert be.rule_matches({"y": 11}) == reference_matches(policy, {"y": 11}) == (True, True, False, True)
    assert be.rule_matches({}) == reference_matches(policy, {}) == (None, None, None, None)


# -- numbers: mixed types, exponents, int64 -----------------------------------------------------------

def test_upstream_null_is_not_different_from_anything(durable):
    dengine, _, host = durable
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$neq": {"x": 5}}]}}], "run": lambda c: None}})
    with pytest.raises(dengine.MessageNotHandledException):
        host.assert_fact(name, {"x": None, "_n": 1, "sid": "0"})


def test_none_is_a_missing_fact_and_never_sent_as_null(durable):
    policy = load_policy(POLICY_HEAD + """
rules:
  - {id: r1, when: {y: {ne: 5}}, then: {outcome: high}}
  - {id: r2, when: {s: {ne: a}}, then: {outcome: low}}
""")
    be = backend(policy)
    rs = be._compiled.strata[0][1][0]
    text = be._message(rs, {"x": 1, "y": None, "s": None, "flag_in": False}, be._initial, 1)
    assert "null" not in text and '"f1"' not in text
    assert be.rule_matches({"x": 1, "y": None, "flag_in": False}) == (None, None)
    assert be.rule_matches({"x": 1, "y": 4, "s": "a", "flag_in": False}) == (True, False)


def test_upstream_mixed_types_compare_as_strings(durable):
    _, _, host = durable
    hits = []
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$gte": {"x": 700}}]}}],
                              "run": lambda c: hits.append(c.m.x)}})
    host.assert_fact(name, {"x": "95", "_n": 1, "sid": "0"})
    assert hits == ["95"]  # "95" >= 700: a string comparison


def test_wrong_types_never_reach_durable(durable):
    be = backend(double11())
    base = dict(credit_score=700, overdue_days=0, overdue_count_12m=0, membership="gold", monthly_spend=1.5,
                account_age_days=10, frozen=False, loan_applications_30d=0, credit_utilization=0.5)
    for fact, bad in (("credit_score", "95"), ("credit_score", True), ("credit_score", 700.0),
                      ("frozen", 1), ("membership", 3), ("monthly_spend", "1")):
        with pytest.raises(TypeError, match=fact):
            be.rule_matches({**base, fact: bad})
    with pytest.raises(ValueError, match="credit_score"):
        be.rule_matches({k: v for k, v in base.items() if k != "credit_score"})


def test_upstream_exponent_floats_are_rejected(durable):
    _, dcore, host = durable
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 0}}]}}], "run": lambda c: None}})
    assert json.dumps(1e-07) == "1e-07"
    with pytest.raises(dcore.error, match="204"):
        host.assert_fact(name, {"x": 1e-07, "_n": 1, "sid": "0"})
    with pytest.raises(dcore.error, match="204"):
        host.assert_fact(name, {"x": 1e20, "_n": 2, "sid": "0"})


@pytest.mark.parametrize("value, text", [
    (1e-07, "0.0000001"), (1e20, "100000000000000000000.0"), (-2.5e-10, "-0.00000000025"), (0.1, "0.1"),
    (5.0, "5.0"), (1e16, "10000000000000000.0"), (-0.0, "-0.0"),
])
def test_floats_are_written_without_exponent(value, text):
    assert normal.format_float(value) == text
    assert float(text) == value


# The generated message writer inlines the common types; everything else must reach the
# checking encoders. Each row: facts → the exact JSON fields written, or the error raised.
WRITER_POLICY = POLICY_HEAD + """
rules:
  - {id: r1, when: {all: [{x: {gt: 0}}, {y: {gt: 0.5}}, {s: {eq: a}}, {flag_in: {eq: true}}]}, then: {outcome: high}}
"""


@pytest.mark.parametrize("facts, expected", [
    ({"x": 5, "y": 0.25, "s": "a", "flag_in": True}, '"f0":5,"f1":0.25,"f2":"a","f3":true'),
    ({"x": -7, "y": 3, "s": "北京", "flag_in": False}, '"f0":-7,"f1":3,"f2":"北京","f3":false'),
    ({"x": 0, "y": 1e-07, "flag_in": False}, '"f0":0,"f1":0.0000001,"f3":false'),
    ({"x": 0, "y": 1e20, "s": None, "flag_in": False}, '"f0":0,"f1":100000000000000000000.0,"f3":false'),
    ({"x": 0, "y": -0.0, "s": "c", "flag_in": False}, '"f0":0,"f1":-0.0,"f2":"c","f3":false'),
    ({"x": 2**63 - 1, "flag_in": False}, '"f0":9223372036854775807,"f3":false'),
    ({"x": 0, "s": 'q"\\', "flag_in": False}, '"f0":0,"f2":"q\\"\\\\","f3":false'),  # not in the enum: escaped
    ({"x": 2**63, "flag_in": False}, errors.DurableLimitError),
    ({"x": True, "flag_in": False}, TypeError),
    ({"x": 1.0, "flag_in": False}, TypeError),
    ({"x": 1, "y": math.inf, "flag_in": False}, ValueError),
    ({"x": 1, "y": math.nan, "flag_in": False}, ValueError),
    ({"x": 1, "y": "1", "flag_in": False}, TypeError),
    ({"x": 1, "flag_in": 1}, TypeError),
    ({"x": 1, "s": 3, "flag_in": False}, TypeError),
])
def test_message_writer(durable, facts, expected):
    be = backend(load_policy(WRITER_POLICY))
    rs = be._compiled.strata[0][1][0]
    if isinstance(expected, str):
        text = be._message(rs, facts, be._initial, 42)
        assert text == '{"sid":"0","_n":42,' + expected + "}"
        assert json.loads(text)["f0"] == facts["x"]
    else:
        with pytest.raises(expected):
            be._message(rs, facts, be._initial, 42)


def test_exponent_thresholds_and_facts_compare_exactly(durable):
    policy = load_policy("""
policy: t
version: 1
facts:
  u: {type: number}
thresholds:
  tiny: 1.0e-7
  huge: 1.0e+20
outcomes: [a, b, c]
rules:
  - {id: r1, when: {u: {gt: tiny}}, then: {outcome: a}}
  - {id: r2, when: {u: {gte: huge}}, then: {outcome: b}}
  - {id: r3, when: {u: {eq: tiny}}, then: {outcome: c}}
""")
    be = backend(policy)
    for text in compiled_texts(be):
        assert "e-" not in text and "e+" not in text
    values = [0, 1e-07, math.nextafter(1e-07, 1), math.nextafter(1e-07, 0), 1e20, math.nextafter(1e20, 0),
              1e21, 5e-324, -1e-300, 1.7976931348623157e308, 2**62, -(2**63 - 1)]
    assert agree(policy, [{"u": v} for v in values], be) is None


def test_upstream_integers_saturate_at_int64(durable):
    _, _, host = durable
    hits = []
    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$eq": {"x": 2**63 - 1}}]}}],
                              "run": lambda c: hits.append(1)}})
    host.assert_fact(name, {"x": 2**64 + 5, "_n": 1, "sid": "0"})
    assert hits == [1]  # 2^64 + 5 "equals" 2^63 - 1


def test_integers_beyond_int64_are_refused(durable):
    policy = load_policy("""
policy: t
version: 1
facts:
  n: {type: integer}
  m: {type: number, required: false}
outcomes: [a]
rules:
  - {id: r1, when: {n: {gt: 0}}, then: {outcome: a}}
  - {id: r2, when: {m: {gt: 0}}, then: {reason: M}}
""")
    be = backend(policy)
    for fact, value in (("n", 2**63), ("n", -2**63), ("m", 2**70)):
        facts = {"n": 1, fact: value}
        with pytest.raises(errors.DurableLimitError, match=f"`{fact}`.*2\\^63"):
            be.rule_matches(facts)
    assert be.rule_matches({"n": 2**63 - 1, "m": -(2**63 - 1)}) == (True, False)


def test_integer_thresholds_are_exact_and_clamped(durable):
    policy = load_policy("""
policy: t
version: 1
facts:
  n: {type: integer}
outcomes: [a]
rules:
  - {id: gt, when: {n: {gt: 2.0}}, then: {outcome: a}}
  - {id: ne, when: {n: {ne: 2.0}}, then: {reason: E}}
  - {id: huge, when: {n: {lt: 1.0e+30}}, then: {reason: F}}
  - {id: tiny, when: {n: {gt: -1.0e+30}}, then: {reason: G}}
  - {id: never, when: {n: {gt: 9223372036854775807}}, then: {reason: H}}
  - {id: above, when: {n: {lte: 9223372036854775808}}, then: {reason: J}}
  - {id: btw, when: {n: {between: [-1.0, 3]}}, then: {reason: I}}
  - {id: inn, when: {n: {in: [1.0e+19, 3.0, -1.0e+19]}}, then: {reason: K}}
""")
    text = "".join(compiled_texts(backend(policy)))
    assert "9223372036854775808" not in text and "e+" not in text
    values = [-(2**63 - 1), -4, -3, -2, -1, 0, 1, 2, 3, 4, 2**53 + 1, 2**63 - 1]
    assert agree(policy, [{"n": v} for v in values]) is None


@pytest.mark.parametrize("op, c, expected", [
    ("gt", 2.5, ("cmp", "f", "$gt", 2)), ("gte", 2.5, ("cmp", "f", "$gte", 3)),
    ("lt", -2.5, ("cmp", "f", "$lt", -2)), ("lte", -2.5, ("cmp", "f", "$lte", -3)),
    ("eq", 2.5, normal.FALSE), ("ne", 2.5, ("ex", "f")), ("eq", 2.0, ("cmp", "f", "$eq", 2)),
    ("gt", 2**63 - 1, normal.FALSE), ("gte", 2**63, normal.FALSE), ("lt", -(2**63 - 1), normal.FALSE),
    ("lte", 1e30, ("ex", "f")), ("gt", -1e30, ("ex", "f")), ("eq", 2**63, normal.FALSE),
])
def test_int_compare_is_exact_for_integer_values(op, c, expected):
    got = normal.int_compare("f", op, c)
    assert got == expected and (got[0] != "cmp" or type(got[3]) is int)


def test_big_integers_against_fractions_are_exact(durable):
    policy = load_policy("""
policy: t
version: 1
facts:
  m: {type: number}
outcomes: [a]
rules:
  - {id: frac, when: {m: {gt: 0.5}}, then: {outcome: a}}
  - {id: big, when: {m: {lt: 9007199254740993}}, then: {reason: B}}
""")
    be = backend(policy)
    # 2^53 + 1 is not a double: an int fact value compares int-to-int, exactly
    assert agree(policy, [{"m": v} for v in (2**53, 2**53 + 1, 2**53 + 2, 2**62 + 1, 0, 1)], be) is None
    # a float against it would be rounded by durable: refused, naming fact and threshold
    with pytest.raises(errors.DurableLimitError, match="`m`.*9007199254740993"):
        be.rule_matches({"m": 1.5})


def test_hostile_strings_compare_exactly(durable):
    values = ['a"b', "a\\b", "line\nbreak", "{x}", '__import__("os")', "it's", "😀", "北京 朝阳", "\x00z", ""]
    enum = json.dumps(values, ensure_ascii=False)
    policy = load_policy(f"""
policy: t
version: 1
facts:
  s: {{type: string, enum: {enum}}}
outcomes: [a]
rules:
  - {{id: eq, when: {{s: {json.dumps(values[0])}}}, then: {{outcome: a}}}}
  - {{id: inn, when: {{s: {{in: {json.dumps(values[1:6], ensure_ascii=False)}}}}}, then: {{reason: A}}}}
  - {{id: notin, when: {{s: {{not_in: {json.dumps(values[5:], ensure_ascii=False)}}}}}, then: {{reason: B}}}}
""")
    assert agree(policy, [{"s": v} for v in values]) is None


# -- sessions, state, actions ---------------------------------------------------------------------------

def test_one_session_for_thousands_of_evaluations(durable, monkeypatch):
    _, _, host = durable
    policy = double11()
    be = backend(policy)
    sids = set()
    real = host.assert_fact

    def spy(name, fact, complete=None):
        sids.add(json.loads(fact)["sid"])
        return real(name, fact, complete)

    monkeypatch.setattr(host, "assert_fact", spy)
    rng = random.Random(7)
    records = [random_double11(policy, rng) for _ in range(1100)]  # > 1,024 sessions would crash
    assert agree(policy, records, be) is None
    assert sids == {limits.SID}
    for _, rulesets in be._compiled.strata:
        for rs in rulesets:
            assert host.get_facts(rs.name, limits.SID) == []


def test_upstream_swallows_action_exceptions(durable):
    _, _, host = durable

    def boom(c):
        raise KeyboardInterrupt  # even BaseException is swallowed

    name = raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 0}}]}}], "run": boom}})
    state = host.assert_fact(name, {"x": 1, "_n": 1, "sid": "0"})
    assert "exception" in state  # returned normally; only the session state records it


def test_swallowed_action_exception_is_raised_not_lost(durable, monkeypatch):
    policy = double11()
    be = backend(policy)
    rng = random.Random(3)
    facts = random_double11(policy, rng)

    class Exploding(list):
        def append(self, item):
            raise RuntimeError("lost")

    real = be._compiled.hits
    exploding = Exploding()
    # the actions closed over `hits.append`: rebuild them against the exploding list
    _, _, host = dhost._runtime()
    dengine = dhost._runtime()[0]
    saved = {}
    for _, rulesets in be._compiled.strata:
        for rs in rulesets:
            ruleset = host.get_ruleset(rs.name)
            saved[rs.name] = dict(ruleset._actions)
            for rule_name, promise in ruleset._actions.items():
                fn = promise._func
                code = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__)))["code"]
                ruleset._actions[rule_name] = dengine.Promise(dhost._make_action(exploding, code))
    try:
        with pytest.raises(errors.DurableEngineError, match="raised"):
            be.rule_matches(facts | {"credit_score": 900})  # some rule surely fires
    finally:
        for name, actions in saved.items():
            host.get_ruleset(name)._actions.update(actions)
    assert be._compiled.hits is real
    # the session was reset: the next evaluations are right again
    assert agree(policy, [random_double11(policy, rng) for _ in range(50)], be) is None


def test_upstream_two_parameter_actions_are_async_and_lose_results(durable):
    _, _, host = durable
    hits = []

    def two(c, complete):  # durable waits for `complete` forever
        hits.append("two")

    name = raw_ruleset({"a": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 0}}]}}], "run": two},
                        "b": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 1}}]}}],
                              "run": lambda c: hits.append("b")}})
    host.assert_fact(name, {"x": 5, "_n": 1, "sid": "0"})
    host.assert_fact(name, {"x": 6, "_n": 2, "sid": "0"})
    assert hits == ["two"]  # `b` never ran, and the session is stuck


def test_actions_take_one_parameter_and_only_append(durable):
    _, _, host = durable
    be = backend(double11())
    for _, rulesets in be._compiled.strata:
        for rs in rulesets:
            for promise in host.get_ruleset(rs.name)._actions.values():
                fn = promise._func
                assert promise._sync and fn.__code__.co_argcount == 1
                assert fn.__code__.co_names == () and set(fn.__code__.co_freevars) == {"append", "code"}


def test_upstream_set_rulesets_deletes_run_keys(durable):
    _, _, host = durable
    definition = {"r": {"all": [{"m": {"$and": [ANCHOR, {"$gt": {"x": 0}}]}}], "run": lambda c: None}}
    raw_ruleset(definition)
    assert "run" not in definition["r"]  # hence we pass JSON text and actions separately


def test_rulesets_registered_once_per_digest(durable):
    _, _, host = durable
    policy = double11()
    first = backend(policy)
    count = len(host._ruleset_list)
    second = backend(load_policy(DOUBLE11.read_text(encoding="utf-8"), "elsewhere.yaml"))
    assert second._compiled is first._compiled
    assert len(host._ruleset_list) == count


def test_no_timer_threads():
    pytest.importorskip("durable.engine")
    code = ("import threading\n"
            "from engine.language.source import load_text\nfrom engine.language.validate import validate\n"
            "from engine.runtime.semantics import Plan\nfrom engine.backends.durable import DurableBackend\n"
            "doc, _ = load_text(open('policies/double11-coupon.yaml', encoding='utf-8').read(), 'p.yaml')\n"
            "p, _ = validate(doc)\nb = DurableBackend(p, Plan(p))\nb.rule_matches({'credit_score': 700, "
            "'overdue_days': 0, 'overdue_count_12m': 0, 'membership': 'gold', 'monthly_spend': 1, "
            "'account_age_days': 1, 'frozen': False, 'loan_applications_30d': 0, 'credit_utilization': 0})\n"
            "ours = threading.active_count()\n"
            "import durable.engine\ndurable.engine.Host()\n"  # the stock Host, for contrast
            "print(ours, threading.active_count())\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.split() == ["1", "3"]


def test_threads_share_the_backend_safely(durable):
    policy = double11()
    be = backend(policy)
    errors = []

    def work(seed):
        rng = random.Random(seed)
        bad = agree(policy, [random_double11(policy, rng) for _ in range(300)], be)
        if bad:
            errors.append(bad)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- structural limits -----------------------------------------------------------------------------------

def many_rules_policy(n: int, extra: str = "") -> str:
    rules = "\n".join(f"  - {{id: r{i}, when: {{x: {{gt: {-i - 1}}}}}, then: {{reason: R}}}}" for i in range(n))
    return POLICY_HEAD + "rules:\n" + rules + "\n" + extra


RAW_303 = """
import durable.engine as de
class H(de.Host):
    def _run(self): pass
h = H()
A = {"$ex": {"_n": 1}}
h.set_rulesets({"r": {f"r{i}": {"all": [{"m": {"$and": [A, {"$gt": {"x": -i - 1}}]}}], "run": lambda c: None}
                      for i in range(65)}})
try:
    h.assert_fact("r", {"x": 1, "_n": 1, "sid": "0"})
except Exception as exc:
    print(exc, flush=True)
h.delete_state("r", "0")
print("survived", flush=True)
"""


def test_upstream_more_than_64_true_conditions_overflow_and_delete_state_crashes():
    pytest.importorskip("durable.engine")
    out = subprocess.run([sys.executable, "-c", RAW_303], capture_output=True, text=True, timeout=60)
    assert "error code: 303" in out.stdout
    assert "survived" not in out.stdout and out.returncode != 0  # delete_state after 303: SIGSEGV


def test_an_engine_error_is_raised_and_the_process_survives(durable, monkeypatch):
    # Disable our own limits so that 70 true rules land in one ruleset: durable fails (303).
    monkeypatch.setattr(network, "STACK_CAP", 10_000)
    monkeypatch.setattr(network, "MAX_RULES_PER_RULESET", 10_000)
    policy = load_policy(many_rules_policy(70).replace("policy: t", "policy: unguarded"))
    be = backend(policy)
    assert len(be._compiled.strata[0][1]) == 1
    with pytest.raises(errors.DurableEngineError, match="303"):
        be.rule_matches({"x": 1, "flag_in": False})
    assert be.rule_matches({"x": -30, "flag_in": False}) == (False,) * 30 + (True,) * 40  # fine again


def test_many_true_rules_are_split_into_rulesets(durable):
    policy = load_policy(many_rules_policy(150))
    be = backend(policy)
    assert len(be._compiled.strata[0][1]) >= 3
    assert be.rule_matches({"x": 1, "flag_in": False}) == (True,) * 150
    assert agree(policy, [{"x": x, "flag_in": False} for x in (-200, -100, -1, 0, 1)], be) is None


def test_a_wide_any_counts_towards_the_stack(durable):
    # 41 rules would pass a "≤ 60 rules" rule, but 40 + a 30-branch `any` overflow durable's stack
    wide = "{any: [" + ", ".join(f"{{x: {{gt: {-i - 100}}}}}" for i in range(30)) + "]}"
    policy = load_policy(many_rules_policy(40, f"  - {{id: wide, when: {wide}, then: {{reason: W}}}}\n"))
    be = backend(policy)
    assert len(be._compiled.strata[0][1]) >= 2
    assert be.rule_matches({"x": 1, "flag_in": False}) == (True,) * 41


def test_a_very_wide_any_is_split(durable):
    wide = "{any: [" + ", ".join(f"{{x: {{gt: {-i}}}}}" for i in range(200)) + "]}"
    policy = load_policy(POLICY_HEAD + f"rules:\n  - {{id: wide, when: {{all: [{{flag_in: false}}, {wide}]}}, "
                                       f"then: {{outcome: high}}}}\n")
    be = backend(policy)
    assert be._compiled.durable_rules > 1
    assert agree(policy, [{"x": x, "flag_in": f} for x in (-300, -199, 0, 5) for f in (True, False)], be) is None


def test_long_in_lists_avoid_512_siblings(durable):
    values = list(range(0, 2400, 2))  # 1,200 values: ≥ 512 siblings would hang durable
    policy = load_policy(POLICY_HEAD + "rules:\n"
                         f"  - {{id: r, when: {{x: {{in: {values}}}}}, then: {{outcome: high}}}}\n"
                         f"  - {{id: q, when: {{x: {{not_in: {values}}}}}, then: {{outcome: low}}}}\n")
    be = backend(policy)
    assert be._compiled.durable_rules >= 4
    assert agree(policy, [{"x": x, "flag_in": False} for x in (-2, 0, 1, 2, 1198, 1199, 2398, 2399, 2400)], be) is None


def test_upstream_sixteen_groups_are_refused(durable):
    _, dcore, host = durable
    expr = {"$gt": {"x": 0}}
    for i in range(15):
        expr = {("$and" if i % 2 else "$or"): [expr, {"$lt": {"y": 100 + i}}]}
    with pytest.raises(dcore.error, match="113"):
        raw_ruleset({"r": {"all": [{"m": {"$and": [ANCHOR, expr]}}], "run": lambda c: None}})


def test_deeply_grouped_rules_are_split(durable):
    conds = ", ".join(f"{{x: {{in: [{i}, {i + 100}, {i + 200}]}}}}" for i in range(20))
    policy = load_policy(POLICY_HEAD + f"rules:\n  - {{id: deep, when: {{any: [{{all: [{conds}]}}, "
                                       f"{{not: {{all: [{conds}]}}}}]}}, then: {{outcome: high}}}}\n"
                                       f"  - {{id: deep2, when: {{all: [{conds}]}}, then: {{outcome: low}}}}\n")
    be = backend(policy)
    assert agree(policy, [{"x": x, "flag_in": False} for x in (0, 5, 100, 300)], be) is None


def test_more_than_252_fields_in_one_rule_are_split(durable):
    facts = "\n".join(f"  v{i}: {{type: integer}}" for i in range(600))
    conds = ", ".join(f"{{v{i}: {{gt: 0}}}}" for i in range(600))
    text = (f"policy: wide\nversion: 1\nfacts:\n{facts}\noutcomes: [a]\nrules:\n"
            f"  - {{id: every, when: {{all: [{conds}]}}, then: {{outcome: a}}}}\n"
            f"  - {{id: some, when: {{any: [{conds}]}}, then: {{reason: R}}}}\n")
    policy = load_policy(text)
    be = backend(policy)
    assert all(len(rs.fields) <= limits.MAX_FIELDS - 1 for _, rss in be._compiled.strata for rs in rss)
    ones = {f"v{i}": 1 for i in range(600)}
    records = [ones, {**ones, "v599": 0}, {**ones, "v0": 0}, {k: 0 for k in ones}, {**{k: 0 for k in ones}, "v300": 1}]
    assert agree(policy, records, be) is None


def test_many_fields_across_rules_are_split(durable):
    facts = "\n".join(f"  v{i}: {{type: integer}}" for i in range(300))
    rules = "\n".join(f"  - {{id: r{i}, when: {{v{i}: {{gt: 0}}}}, then: {{reason: R}}}}" for i in range(300))
    policy = load_policy(f"policy: wide2\nversion: 1\nfacts:\n{facts}\noutcomes: [a]\nrules:\n{rules}\n")
    be = backend(policy)
    assert all(len(rs.fields) <= limits.MAX_FIELDS - 1 for _, rss in be._compiled.strata for rs in rss)
    rng = random.Random(1)
    assert agree(policy, [{f"v{i}": rng.randint(-1, 1) for i in range(300)} for _ in range(5)], be) is None


# -- properties: durable == reference ---------------------------------------------------------------------

def random_double11(policy, rng: random.Random) -> dict:
    record = {}
    for name, spec in policy.facts.items():
        if spec.type == "boolean":
            record[name] = rng.random() < 0.2
        elif spec.type == "string":
            record[name] = rng.choice(spec.enum)
        else:
            lo = spec.minimum if spec.minimum is not None else 0
            hi = spec.maximum if spec.maximum is not None else 1000
            record[name] = rng.randint(lo, hi) if spec.type == "integer" else round(rng.uniform(lo, hi), 2)
    facts, problems = check_facts(policy, record)
    assert not [p for p in problems if p.severity == "error"], problems
    return facts


def fact_values(policy, name: str, as_of: datetime.date | None = None):
    """Values of one declared fact: every constant it is compared with, ±1 and ±0.01
    (a day for dates, relative ones resolved on `as_of`), the declared bounds, and
    anything else in range."""
    spec = policy.facts[name]
    if spec.type == "boolean":
        return st.booleans()
    if spec.type in ("string", "array"):  # lists, and texts the string operators test
        return factgen.fact_value(policy, name)
    consts = set()
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind == "fact" and leaf.subject == name and leaf.op != "missing":
                v = operand_value(leaf, as_of)
                consts.update(x for x in (v if isinstance(v, tuple) else (v,)) if not isinstance(x, bool))
    if spec.type == "date":
        lo = spec.minimum if spec.minimum is not None else datetime.date(1900, 1, 1)
        hi = spec.maximum if spec.maximum is not None else datetime.date(2200, 12, 31)
        days = {c + datetime.timedelta(days=d) for c in consts | {lo, hi} for d in (0, 1, -1)}
        return st.one_of(st.sampled_from(sorted(c for c in days if lo <= c <= hi)), st.dates(lo, hi))
    consts.add(0)
    lo = spec.minimum if spec.minimum is not None else -10**6
    hi = spec.maximum if spec.maximum is not None else 10**6
    deltas = (0, 1, -1) + ((0.01, -0.01) if spec.type == "number" else ())
    candidates = {c + d for c in consts | {lo, hi} for d in deltas}
    candidates = [c for c in candidates if lo <= c <= hi]
    if spec.type == "integer":
        candidates = sorted({int(c) for c in candidates if float(c).is_integer()})
        return st.one_of(st.sampled_from(candidates), st.integers(math.ceil(lo), math.floor(hi)))
    return st.one_of(st.sampled_from(sorted(candidates)), st.integers(math.ceil(lo), math.floor(hi)),
                     st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def records(policy, as_of: datetime.date | None = None):
    """Records as a user would send them (optional and defaulted facts maybe absent),
    normalized the way every backend receives them; dates near the ones the policy names
    on the evaluation date `as_of`."""
    fields = {}
    for name, spec in policy.facts.items():
        values = fact_values(policy, name, as_of)
        fields[name] = st.one_of(st.none(), values) if (not spec.required or spec.has_default) else values

    def normalize(record):
        facts, problems = check_facts(policy, {k: v for k, v in record.items() if v is not None})
        assert not [p for p in problems if p.severity == "error"], problems
        return facts

    return st.fixed_dictionaries(fields).map(normalize)


_DOUBLE11 = None


def double11_cached():
    global _DOUBLE11
    if _DOUBLE11 is None:
        _DOUBLE11 = double11()
    return _DOUBLE11


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_double11_matches_reference(durable, data):
    policy = double11_cached()
    facts = data.draw(records(policy))
    be = backend(policy)
    assert be.rule_matches(facts) == reference_matches(policy, facts)


SYNTHETIC = """
policy: synthetic
version: 1
facts:
  age: {type: integer, minimum: 0, maximum: 120, required: false}
  income: {type: number, minimum: 0, required: false}
  score: {type: integer, minimum: 300, maximum: 900}
  city: {type: string, enum: [北京, 上海, "it's \\"q\\"", other], required: false}
  vip: {type: boolean, default: false}
  ratio: {type: number}
thresholds:
  adult: 18
  tiny: 1.0e-7
  cities: [北京, 上海]
outcomes: [deny, review, approve, none]
default: none
rules:
  - id: minor
    when: {age: {lt: adult}}
    then: {outcome: deny, reason: MINOR}
  - id: risky
    when: {any: [{ratio: {gt: 0.8}}, {not: {income: {gte: 1000.5}}}, {city: {not_in: cities}}]}
    then: {flags: [risk]}
  - id: review-band
    when: {all: [{score: {between: [600, 700]}}, {not: {vip: true}}]}
    then: {outcome: review}
  - id: approve
    when: {all: [{score: {gt: 700}}, {not: {flag: risk}}, {any: [{city: {in: cities}}, {vip: true}]}]}
    then: {outcome: approve}
  - id: tiny-ratio
    when: {ratio: {lte: tiny}}
    then: {flags: [tiny]}
  - id: after-approve
    when: {all: [{outcome: {in: [approve, review]}}, {not: {rule: minor}}, {not: {flag: tiny}}]}
    then: {reason: FOLLOW_UP}
  - id: unknown-outcome
    when: {any: [{outcome: {eq: none}}, {not: {rule: risky}}]}
    then: {reason: NOTE}
  - id: third-stratum
    when: {not: {any: [{rule: after-approve}, {all: [{flag: risk}, {age: {ne: 40}}]}]}}
    then: {reason: LAST}
"""


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_synthetic_matches_reference(durable, data):
    policy = _synthetic()
    facts = data.draw(records(policy))
    assert backend(policy).rule_matches(facts) == reference_matches(policy, facts)


_SYNTH = None


def _synthetic():
    global _SYNTH
    if _SYNTH is None:
        _SYNTH = load_policy(SYNTHETIC)
        assert len(_SYNTH.strata) == 4
    return _SYNTH


# random policies: condition trees over a fixed set of facts

RANDOM_FACTS = {
    "age": ("integer", 0, 120, False),
    "income": ("number", 0, None, False),
    "score": ("integer", 300, 900, True),
    "ratio": ("number", None, None, True),
    "city": ("string", ["北京", "上海", 'x"y', "z"], None, False),
    "vip": ("boolean", None, None, True),
}


def yaml_value(v) -> str:
    if isinstance(v, float):
        text = repr(v)
        mantissa, _, exp = text.partition("e")
        if exp and "." not in mantissa:
            text = mantissa + ".0e" + exp
        return text
    return json.dumps(v, ensure_ascii=False)


@st.composite
def numbers_for(draw, name):
    ftype, lo, hi, _ = RANDOM_FACTS[name]
    lo = -1000 if lo is None else lo
    hi = 1000 if hi is None else hi
    if ftype == "integer":
        return draw(st.integers(lo, hi))
    return draw(st.one_of(st.integers(lo, hi), st.floats(lo, hi, allow_nan=False).map(lambda f: round(f, 2)),
                          st.sampled_from([v for v in (1e-07, 0.5, 2.5e-05) if lo <= v <= hi])))


@st.composite
def leaf_condition(draw):
    name = draw(st.sampled_from(sorted(RANDOM_FACTS)))
    ftype = RANDOM_FACTS[name][0]
    if ftype == "boolean":
        return f"{{{name}: {yaml_value(draw(st.booleans()))}}}"
    if ftype == "string":
        values = RANDOM_FACTS[name][1]
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
        if op in ("in", "not_in"):
            items = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
            return f"{{{name}: {{{op}: [{', '.join(yaml_value(v) for v in items)}]}}}}"
        return f"{{{name}: {{{op}: {yaml_value(draw(st.sampled_from(values)))}}}}}"
    op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"]))
    if op == "between":
        a, b = sorted([draw(numbers_for(name)), draw(numbers_for(name))])
        return f"{{{name}: {{between: [{yaml_value(a)}, {yaml_value(b)}]}}}}"
    if op in ("in", "not_in"):
        items = draw(st.lists(numbers_for(name), min_size=1, max_size=4))
        return f"{{{name}: {{{op}: [{', '.join(yaml_value(v) for v in items)}]}}}}"
    return f"{{{name}: {{{op}: {yaml_value(draw(numbers_for(name)))}}}}}"


def condition(extra_leaves=()):
    leaves = leaf_condition()
    if extra_leaves:
        leaves = st.one_of(leaves, st.sampled_from(list(extra_leaves)))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"{{all: [{', '.join(xs)}]}}"),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"{{any: [{', '.join(xs)}]}}"),
            inner.map(lambda x: f"{{not: {x}}}"),
        ),
        max_leaves=6,
    )


@st.composite
def random_policy(draw):
    facts = []
    for name, (ftype, a, b, required) in RANDOM_FACTS.items():
        parts = [f"type: {ftype}"]
        if ftype == "string":
            parts.append(f"enum: [{', '.join(yaml_value(v) for v in a)}]")
        elif ftype in ("integer", "number"):
            if a is not None:
                parts.append(f"minimum: {a}")
            if b is not None:
                parts.append(f"maximum: {b}")
        if not required:
            parts.append("required: false")
        facts.append(f"  {name}: {{{', '.join(parts)}}}")
    base = draw(st.integers(2, 5))
    rules = []
    for i in range(base):
        then = draw(st.sampled_from(["{outcome: ok}", "{outcome: maybe}", "{flags: [risk]}", "{reason: R}"]))
        if i < 2:  # a flag and an outcome for the dependent rules to read
            then = ("{flags: [risk]}", "{outcome: ok}")[i]
        rules.append(f"  - {{id: b{i}, when: {draw(condition())}, then: {then}}}")
    dependent_leaves = ["{flag: risk}", "{rule: b1}", "{outcome: {in: [ok, maybe]}}", "{outcome: {ne: ok}}",
                        "{outcome: {eq: none}}"]
    for j in range(draw(st.integers(1, 3))):
        cond = draw(condition(dependent_leaves))
        rules.append(f"  - {{id: d{j}, when: {{all: [{draw(st.sampled_from(dependent_leaves))}, {cond}]}}, "
                     f"then: {{reason: D}}}}")
    text = ("policy: random\nversion: 1\nfacts:\n" + "\n".join(facts) +
            "\noutcomes: [ok, maybe, none]\ndefault: none\nrules:\n" + "\n".join(rules) + "\n")
    doc, _ = load_text(text, "random.yaml")
    assert doc is not None, text
    policy, diags = validate(doc)
    assume(policy is not None)  # e.g. an out-of-range literal
    return policy


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_random_policies_match_reference(durable, data):
    policy = data.draw(random_policy())  # each one registers rulesets for good: keep it modest
    be = backend(policy)
    for facts in data.draw(st.lists(records(policy), min_size=1, max_size=20)):
        assert be.rule_matches(facts) == reference_matches(policy, facts), facts


AS_OFS = (datetime.date(2026, 11, 11), datetime.date(2024, 2, 29), datetime.date(2027, 1, 31))
EXAMPLES = sorted(p for p in (ROOT / "policies").glob("*.yaml") if not p.name.endswith(".test.yaml"))
_EXAMPLE_POLICIES: dict = {}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_example_policies_match_reference(durable, path, data):
    if path not in _EXAMPLE_POLICIES:
        policy, diags = check_policy_file(path)  # with the CSV rows its tables attach
        assert policy is not None, [d.render() for d in diags]
        _EXAMPLE_POLICIES[path] = policy
    policy = _EXAMPLE_POLICIES[path]
    if policy.uses_time:  # relative dates: on a few evaluation dates
        as_of = data.draw(st.sampled_from(AS_OFS))
        facts = data.draw(records(policy, as_of))
        assert backend(policy).rule_matches(facts, as_of=as_of) == reference_matches(policy, facts, as_of=as_of)
    else:
        facts = data.draw(records(policy))
        assert backend(policy).rule_matches(facts) == reference_matches(policy, facts)


# -- throughput (printed, never asserted) ---------------------------------------------------------------------

def test_throughput_double11(durable, capsys):
    policy = double11()
    be = backend(policy)
    rng = random.Random(11)
    users = [random_double11(policy, rng) for _ in range(10_000)]
    wall, cpu = time.perf_counter(), time.process_time()
    results = [be.rule_matches(u) for u in users]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    plan = Plan(policy)
    assert all(r == reference_matches(policy, u, plan) for r, u in zip(results, users))
    with capsys.disabled():
        print(f"\ndurable backend, double11-coupon: {len(users) / wall:,.0f} rule_matches/s wall clock, "
              f"{len(users) / cpu:,.0f}/s of CPU time ({len(users):,} users, {be.rulesets} rulesets)")
