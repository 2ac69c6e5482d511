"""Policy language v2 (issue 13) in the validator: dates, presence tests, relative dates,
computed outputs, the evaluation-date settings and message formats.

`BASE` is a small valid v2 policy; each row of `CASES` makes one mistake in it (a text
replacement) and names the first error's code and position. The whole rendered output is
compared with `tests/golden/v2_lang/<name>.txt` (`pytest --update-golden` rewrites them).
The IR the validator builds is checked directly on `BASE` and on the example policy
`tests/fixtures/v2/cash-loan-limit.yaml`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import golden

from engine.explain import codes
from engine.io.policies import check_policy_file
from engine.language.diagnostics import ERROR, sorted_diagnostics
from engine.language.loader import check_policy_bytes
from engine.language.model import Arith, Operand, Ref, RelativeDate, Round, Rounding, is_expr
from engine.language.templates import Field, template_names, template_parts
from engine.language.values import (DIFF, TEXT, WITNESS, YAML, decimal_text, format_field, format_value, literal,
                                    parse_date)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "v2_lang"
CASH = ROOT / "tests" / "fixtures" / "v2" / "cash-loan-limit.yaml"

BASE = """\
policy: v2-base
version: 1
timezone: Asia/Shanghai
max_wait_days: 200
facts:
  score: {type: integer, minimum: 300, maximum: 900}
  limit: {type: number, minimum: 0, maximum: 100000}
  last_late: {type: date, required: false}
  opened: {type: date, minimum: "2000-01-01", maximum: "2100-12-31"}
  age_days: {type: integer, minimum: 0, change: with_time}
  tier: {type: string, enum: [basic, gold]}
thresholds:
  min_score: 600
  factor: 1.5
  clean_days: 90
  launch: "2020-01-01"
outcomes:
  - {id: decline, adverse: true}
  - approve
default: approve
outputs:
  new_limit: {type: number, default: limit, combine: max, round: {to: 100, mode: down}, minimum: 0}
  change: {type: number, default: {sub: [new_limit, limit]}}
  tier_out: {type: string, default: none}
reasons:
  LOW: Score too low
rules:
  - id: low
    when: {score: {lt: min_score}}
    then: {outcome: decline, reason: LOW, message: "Your score {score} is below {min_score:,}"}
  - id: up
    when:
      all:
        - score: {gte: min_score}
        - last_late: {missing: true}
        - opened: {lt: launch}
        - age_days: {gte: clean_days}
    then:
      outcome: approve
      set: {new_limit: {min: [{mul: [limit, factor]}, 100000]}}
      message: "New limit {new_limit:,.2f}"
  - id: recent
    when: {last_late: {missing: false, gte: {days_ago: clean_days}}}
    then: {set: {tier_out: basic}}
  - id: gold
    when: {all: [{tier: gold}, {opened: {between: ["2001-01-01", {days_ahead: 0}]}}]}
    then: {set: {new_limit: {round: {mul: [limit, 2]}, to: 0.01, mode: half_up}}}
"""


def check(text: str, name: str = "policy.yaml"):
    return check_policy_bytes(text.encode("utf-8"), name)


def test_base_is_clean() -> None:
    policy, diags = check(BASE)
    assert policy is not None and diags == [], [d.render() for d in diags]


# -- the IR ----------------------------------------------------------------------------------

def test_base_ir() -> None:
    policy, _ = check(BASE)
    assert (policy.timezone, policy.max_wait_days, policy.uses_time) == ("Asia/Shanghai", 200, True)
    f = policy.facts
    assert f["opened"].minimum == datetime.date(2000, 1, 1) and f["opened"].maximum == datetime.date(2100, 12, 31)
    assert f["age_days"].change == "with_time" and f["last_late"].type == "date"
    out = policy.outputs
    assert out["new_limit"].computed and out["new_limit"].round == Rounding(Decimal(100), "down")
    assert out["new_limit"].minimum == Decimal(0) and type(out["new_limit"].minimum) is Decimal
    assert out["new_limit"].default == Ref("fact", "limit", out["new_limit"].default.loc)
    change = out["change"].default
    assert isinstance(change, Arith) and change.op == "sub"
    assert [(a.kind, a.name) for a in change.args] == [("output", "new_limit"), ("fact", "limit")]
    assert not out["tier_out"].computed and out["tier_out"].default == "none"  # a string output stays literal
    up = policy.rule("up")
    [(name, value)] = up.then.set
    assert name == "new_limit" and isinstance(value, Arith) and value.op == "min"
    mul, cap = value.args
    assert (mul.op, [(a.kind, a.name) for a in mul.args]) == ("mul", [("fact", "limit"), ("threshold", "factor")])
    assert cap == Decimal(100000) and type(cap) is Decimal
    leaves = {(leaf.subject, leaf.op): leaf.operand for leaf in up.leaves}
    assert leaves[("last_late", "missing")] == Operand(True)
    assert leaves[("opened", "lt")] == Operand(datetime.date(2020, 1, 1), "launch")  # a date threshold
    recent = policy.rule("recent")
    assert [(leaf.op, leaf.operand) for leaf in recent.leaves] == [
        ("missing", Operand(False)), ("gte", Operand(RelativeDate(-1, 90, "clean_days")))]
    gold = policy.rule("gold")
    between = [leaf for leaf in gold.leaves if leaf.op == "between"][0].operand
    assert between == (Operand(datetime.date(2001, 1, 1)), Operand(RelativeDate(1, 0, None)))
    [(_, rounded)] = gold.then.set
    assert isinstance(rounded, Round) and rounded.rounding == Rounding(Decimal("0.01"), "half_up")
    assert is_expr(rounded) and is_expr(Decimal(1)) and not is_expr(1)


def test_computed_literals_are_decimals_and_plain_outputs_stay_as_written() -> None:
    text = BASE.replace("  tier_out: {type: string, default: none}",
                        "  tier_out: {type: string, default: none}\n  bonus: {type: number, default: 0.5, combine: max}"
                        "\n  cut: {type: integer, default: 3, round: {to: 1}}")
    text = text.replace("then: {set: {tier_out: basic}}", "then: {set: {tier_out: basic, bonus: 1.25, cut: 7}}")
    policy, diags = check(text)
    assert policy is not None, [d.render() for d in diags]
    bonus, cut = policy.outputs["bonus"], policy.outputs["cut"]
    assert not bonus.computed and type(bonus.default) is float  # no expression: exactly as before
    assert cut.computed and cut.default == Decimal(3) and type(cut.default) is Decimal
    assert cut.round == Rounding(Decimal(1), "half_even")  # the documented default mode
    assert dict(policy.rule("recent").then.set) == {"tier_out": "basic", "bonus": 1.25, "cut": Decimal(7)}


def test_the_example_policy_validates_into_the_v2_ir() -> None:
    policy, diags = check_policy_file(CASH)
    assert policy is not None and diags == [], [d.render() for d in diags]
    assert (policy.timezone, policy.max_wait_days, policy.uses_time) == ("Asia/Shanghai", 365, True)
    assert policy.facts["last_overdue_date"].type == "date" and not policy.facts["last_overdue_date"].required
    assert policy.facts["account_age_days"].change == "with_time"
    new, change = policy.outputs["new_limit_yuan"], policy.outputs["limit_change_yuan"]
    assert new.computed and change.computed and (new.minimum, new.maximum) == (Decimal(0), Decimal(1000000))
    assert (new.default.kind, new.default.name) == ("fact", "current_limit_yuan")
    assert [(a.kind, a.name) for a in change.default.args] == [("output", "new_limit_yuan"),
                                                                ("fact", "current_limit_yuan")]
    assert dict(policy.rule("fraud-suspected").then.set) == {"new_limit_yuan": Decimal(0)}
    [(_, cut)] = policy.rule("overdue-current").then.set
    assert isinstance(cut, Round) and cut.rounding == Rounding(Decimal(100), "down")
    assert [(a.kind, a.name) for a in cut.arg.args] == [("fact", "current_limit_yuan"), ("threshold", "cut_factor")]
    raise_leaves = [(leaf.subject, leaf.op, leaf.operand) for leaf in policy.rule("raise-standard").leaves]
    assert ("last_overdue_date", "missing", Operand(True)) in raise_leaves
    assert ("last_overdue_date", "lt", Operand(RelativeDate(-1, 180, "clean_days"))) in raise_leaves
    clean = [(leaf.op, leaf.operand) for leaf in policy.rule("clean-period").leaves]
    assert clean == [("missing", Operand(False)), ("gte", Operand(RelativeDate(-1, 180, "clean_days")))]


# -- one mistake each: (name, replace this, with this, code of the first error, line, column) -----

CASES = [
    # dates
    ("date-bad-minimum", 'minimum: "2000-01-01"', 'minimum: "2000-02-30"', "date-invalid", 9, 33),
    ("date-bad-default", "last_late: {type: date, required: false}",
     'last_late: {type: date, required: false, default: "01/02/2026"}', "fact-bad-default", 8, 53),
    ("date-number-minimum", 'minimum: "2000-01-01"', "minimum: 2000", "schema-type", 9, 33),
    ("date-bad-literal", "opened: {lt: launch}", 'opened: {lt: "2020-1-1"}', "date-invalid", 36, 24),
    ("date-bad-threshold", 'launch: "2020-01-01"', 'launch: "2020-13-01"', "operand-type-mismatch", 16, 3),
    ("date-unknown-threshold", "opened: {lt: launch}", "opened: {lt: lanch}", "unknown-threshold", 36, 24),
    ("date-out-of-range", "opened: {lt: launch}", 'opened: {lt: "1999-12-31"}', "value-out-of-range", 36, 24),
    ("date-number-operand", "opened: {lt: launch}", "opened: {lt: 2020}", "operand-type-mismatch", 36, 24),
    ("relative-on-number", "score: {gte: min_score}", "score: {gte: {days_ago: 3}}", "operand-type-mismatch", 34, 24),
    ("relative-both", "{days_ago: clean_days}", "{days_ago: 1, days_ahead: 2}", "operand-type-mismatch", 43, 45),
    ("relative-negative", "{days_ago: clean_days}", "{days_ago: -1}", "schema-range", 43, 56),
    ("relative-unknown-threshold", "{days_ago: clean_days}", "{days_ago: clean_dayz}", "unknown-threshold", 43, 56),
    ("relative-float-threshold", "{days_ago: clean_days}", "{days_ago: factor}", "operand-type-mismatch", 43, 56),
    ("relative-in-list", '{opened: {between: ["2001-01-01", {days_ahead: 0}]}}',
     '{opened: {in: ["2001-01-01", {days_ahead: 0}]}}', "schema-type", 46, 61),
    ("between-relative-empty", '["2001-01-01", {days_ahead: 0}]', "[{days_ahead: 5}, {days_ago: 5}]",
     "between-empty", 46, 51),
    ("order-on-string", "{tier: gold}", "{tier: {gt: basic}}", "operator-type-mismatch", 46, 26),
    ("with-time-on-date", "last_late: {type: date, required: false}",
     "last_late: {type: date, required: false, change: with_time}", "fact-with-time-not-numeric", 8, 52),
    ("timezone-unknown", "timezone: Asia/Shanghai", "timezone: Asia/Shangai", "timezone-unknown", 3, 11),
    ("max-wait-negative", "max_wait_days: 200", "max_wait_days: -1", "schema-range", 4, 16),
    # presence
    ("missing-on-outcome", "when: {score: {lt: min_score}}", "when: {outcome: {missing: true}}",
     "operator-type-mismatch", 29, 22),
    ("missing-not-boolean", "last_late: {missing: true}", "last_late: {missing: yes}", "schema-type", 35, 32),
    # expressions
    ("expr-unknown-name", "{mul: [limit, factor]}", "{mul: [limt, factor]}", "expr-unknown-name", 40, 38),
    ("expr-later-output", "default: {sub: [new_limit, limit]}", "default: {sub: [limit, tier_out]}",
     "expr-unknown-name", 23, 49),
    ("expr-reads-itself", "default: limit, combine", "default: new_limit, combine", "expr-unknown-name", 22, 38),
    ("expr-string-fact", "{mul: [limit, factor]}", "{mul: [limit, tier]}", "expr-operand-type", 40, 45),
    ("expr-date-fact", "{mul: [limit, factor]}", "{mul: [limit, opened]}", "expr-operand-type", 40, 45),
    ("expr-string-threshold", "{mul: [limit, factor]}", "{mul: [limit, launch]}", "expr-operand-type", 40, 45),
    ("expr-two-operators", "{mul: [limit, factor]}", "{mul: [limit, factor], add: [1, 2]}", "expr-malformed", 40, 31),
    ("expr-to-without-round", "{mul: [limit, factor]}", "{mul: [limit, factor], to: 100}", "expr-malformed", 40, 54),
    ("expr-round-without-to", "to: 0.01, mode: half_up", "mode: half_up", "expr-malformed", 47, 29),
    ("expr-round-to-zero", "to: 0.01, mode: half_up", "to: 0, mode: half_up", "expr-malformed", 47, 60),
    ("expr-sub-three", "{sub: [new_limit, limit]}", "{sub: [new_limit, limit, 1]}", "schema-too-long", 23, 41),
    ("expr-unknown-operator", "{mul: [limit, factor]}", "{times: [limit, factor]}", "schema-unknown-key", 40, 32),
    ("expr-bad-mode", "mode: half_up", "mode: nearest", "schema-enum", 47, 72),
    ("expr-on-string-output", "then: {set: {tier_out: basic}}", "then: {set: {tier_out: {add: [1, 2]}}}",
     "output-type-mismatch", 44, 28),
    ("expr-ambiguous-name", "  tier_out: {type: string, default: none}",
     "  tier_out: {type: string, default: none}\n  factor: {type: number, default: 1}", "expr-ambiguous-name", 41, 45),
    ("round-on-string-output", "tier_out: {type: string, default: none}",
     "tier_out: {type: string, default: none, round: {to: 1}}", "output-not-numeric", 24, 43),
    ("output-quoted-number", "then: {set: {tier_out: basic}}", "then: {set: {tier_out: basic, change: \"50\"}}",
     "output-type-mismatch", 44, 43),
    ("output-conflict-expressions", ("then: {set: {tier_out: basic}}", "then: {outcome: decline, reason: LOW,"),
     ("then: {set: {tier_out: basic, change: {mul: [limit, 2]}}}",
      "then: {set: {change: {mul: [limit, 3]}}, outcome: decline, reason: LOW,"), "output-conflict", 44, 35),
    # what expressions can compute (interval arithmetic over the declared ranges)
    ("div-by-unbounded", "{mul: [limit, factor]}", "{div: [limit, age_days]}", "expr-div-by-zero", 40, 45),
    ("div-by-zero-literal", "{mul: [limit, factor]}", "{div: [limit, 0]}", "expr-div-by-zero", 40, 45),
    ("div-by-difference", "{mul: [limit, factor]}", "{div: [limit, {sub: [score, 600]}]}", "expr-div-by-zero", 40, 45),
    ("output-always-below", ("default: {sub: [new_limit, limit]}}", "then: {set: {tier_out: basic}}"),
     ("default: {sub: [new_limit, limit]}, combine: first, minimum: -100000}",
      "then: {set: {tier_out: basic, change: {sub: [0, 200001]}}}"), "output-out-of-range", 44, 43),
    ("output-always-above", ("default: {sub: [new_limit, limit]}}", "then: {set: {tier_out: basic}}"),
     ("default: {sub: [new_limit, limit]}, combine: first, maximum: 200000}",
      "then: {set: {tier_out: basic, change: {add: [limit, 200001]}}}"), "output-out-of-range", 44, 43),
    ("output-can-exceed", "combine: max, round: {to: 100, mode: down}, minimum: 0}",
     "combine: max, round: {to: 100, mode: down}, minimum: 0, maximum: 100000}", "output-may-leave-range", 47, 29),
    ("output-sum-can-exceed", ("tier_out: {type: string, default: none}", "then: {set: {tier_out: basic}}",
                               "then: {outcome: decline, reason: LOW,"),
     ("tier_out: {type: string, default: none}\n  bonus: {type: integer, default: 0, combine: sum, maximum: 100}",
      "then: {set: {tier_out: basic, bonus: 60}}", "then: {set: {bonus: 50}, outcome: decline, reason: LOW,"),
     "output-may-leave-range", 25, 47),
    ("output-range-empty", "default: {sub: [new_limit, limit]}}", "default: {sub: [new_limit, limit]}, minimum: 5, "
     "maximum: 1}", "output-range-empty", 23, 71),
    ("integer-output-div", "  tier_out: {type: string, default: none}",
     "  tier_out: {type: string, default: none}\n  points: {type: integer, default: {div: [score, 3]}}",
     "output-not-integral", 25, 36),
    ("integer-output-factor", "  tier_out: {type: string, default: none}",
     "  tier_out: {type: string, default: none}\n  points: {type: integer, default: {mul: [score, factor]}}",
     "output-not-integral", 25, 36),
    ("integer-output-round-fraction", "  tier_out: {type: string, default: none}",
     "  tier_out: {type: string, default: none}\n  points: {type: integer, default: {round: score, to: 0.5}}",
     "output-not-integral", 25, 36),
    ("optional-fact-in-default", ("  tier: {type: string, enum: [basic, gold]}", "default: {sub: [new_limit, limit]}"),
     ("  tier: {type: string, enum: [basic, gold]}\n  extra: {type: number, required: false, minimum: 0}",
      "default: {sub: [new_limit, extra]}"), "expr-optional-fact", 24, 53),
    ("optional-fact-unguarded", ("  tier: {type: string, enum: [basic, gold]}", "then: {set: {tier_out: basic}}"),
     ("  tier: {type: string, enum: [basic, gold]}\n  extra: {type: number, required: false, minimum: 0}",
      "then: {set: {tier_out: basic, change: {add: [extra, 1]}}}"), "expr-optional-fact", 45, 50),
    ("template-format-string", "{score} is below", "{tier:,.2f} is below", "template-format-type", 30, 52),
    ("template-format-date", "{score} is below", "{opened:,} is below", "template-format-type", 30, 52),
    # message formats
    ("template-bad-format", "{new_limit:,.2f}", "{new_limit:.2e}", "template-syntax", 41, 16),
    ("template-too-many-decimals", "{new_limit:,.2f}", "{new_limit:,.7f}", "template-syntax", 41, 16),
]


def _case_text(old, new) -> str:
    """BASE with `old` replaced by `new` (or each of a tuple of `old` by its `new`)."""
    text = BASE
    for o, n in zip(*((old, new) if isinstance(old, tuple) else ((old,), (new,)))):
        assert text.count(o) == 1, o
        text = text.replace(o, n)
    return text


@pytest.mark.parametrize("name,old,new,code,line,column", CASES, ids=[c[0] for c in CASES])
def test_one_mistake(name, old, new, code, line, column, request) -> None:
    policy, diags = check(_case_text(old, new), f"{name}.yaml")
    errors = [d for d in sorted_diagnostics(diags) if d.severity == ERROR]
    assert (policy is None) == bool(errors) and diags, [d.render() for d in diags]
    first = (errors or sorted_diagnostics(diags))[0]  # the first error, or the first warning of a valid policy
    assert (first.code, first.line, first.column) == (code, line, column), first.render()
    assert all(d.code in codes.DESCRIPTIONS for d in diags)
    golden(GOLDEN / f"{name}.txt", "\n".join(d.render() for d in sorted_diagnostics(diags)) + "\n", request)


def test_every_golden_file_has_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.txt")} == {c[0] for c in CASES}


def test_equal_expressions_are_no_conflict() -> None:
    text = _case_text(("then: {set: {tier_out: basic}}", "then: {outcome: decline, reason: LOW,"),
                      ("then: {set: {tier_out: basic, change: {mul: [limit, 2]}}}",
                       "then: {set: {change: {mul: [limit, 2]}}, outcome: decline, reason: LOW,"))
    policy, diags = check(text)
    assert policy is not None and diags == [], [d.render() for d in diags]


# -- templates and values ----------------------------------------------------------------------

def test_template_fields_carry_their_format() -> None:
    parts = template_parts("limit ¥{new_limit:,.2f} for {name}, {{literal}} {n:.0f}")
    assert parts == ("limit ¥", "new_limit", " for ", "name", ", {literal} ", "n", "")
    assert [(p.name, p.spec) for p in parts[1::2]] == [("new_limit", ",.2f"), ("name", ""), ("n", ".0f")]
    assert all(isinstance(p, Field) and isinstance(p, str) for p in parts[1::2])
    names, problem = template_names("a {x:,} b {y}")
    assert problem is None and names == ["x", "y"] and [n.spec for n in names] == [",", ""]
    for bad in ("{x:.2e}", "{x:,.7f}", "{x:>10}", "{x:.f}", "{x.y}", "{x:}", "{x:,:,}"):
        assert template_names(bad)[1] is not None, bad
    assert "the formats are" in template_names("{x:d}")[1]


@pytest.mark.parametrize("value,spec,text", [
    (Decimal("6148.14"), ",.2f", "6,148.14"), (6000, ",.0f", "6,000"), (Decimal("6E+3"), "", "6000"),
    (Decimal("1234567.5"), ",", "1,234,567.5"), (700.0, ",", "700"), (0.1, ".3f", "0.100"),
    (Decimal("0.125"), ".2f", "0.12"), (Decimal("0.135"), ".2f", "0.14"),  # half to even
    (Decimal("-0.001"), ".2f", "0.00"), (Decimal("-1234.56"), ",.1f", "-1,234.6"), (5, "", "5"),
    (Decimal("999.995"), ",.2f", "1,000.00"), (Decimal("1E+30"), ",.0f", "1,000,000,000,000,000,000,000,000,000,000"),
    ("gold", ",.2f", "gold"), (None, ",", "missing"), (True, ",", "true"),
    (datetime.date(2027, 1, 31), "", "2027-01-31"),
])
def test_format_field(value, spec, text) -> None:
    assert format_field(value, spec) == text


@pytest.mark.parametrize("d,text", [
    (Decimal("6E+3"), "6000"), (Decimal("6000.50"), "6000.5"), (Decimal("-0"), "0"), (Decimal("-0.000"), "0"),
    (Decimal("0.3"), "0.3"), (Decimal("1.5E-7"), "0.00000015"), (Decimal("-12.3400"), "-12.34"), (Decimal(7), "7"),
])
def test_decimal_text(d, text) -> None:
    assert decimal_text(d) == text


def test_decimals_and_dates_in_every_style() -> None:
    for style in (YAML, TEXT, WITNESS, DIFF):
        assert format_value(Decimal("6000.50"), style) == "6000.5"
        assert format_value(datetime.date(2026, 11, 11), style) == "2026-11-11"
    assert literal((Decimal("0.5"), datetime.date(2026, 1, 2))) == "[0.5, 2026-01-02]"


def test_parse_date() -> None:
    assert parse_date("2026-02-28") == datetime.date(2026, 2, 28)
    assert parse_date(datetime.date(2026, 2, 28)) == datetime.date(2026, 2, 28)
    for bad in ("2026-02-29", "2026-2-28", "20260228", "2026-02-28\n", "2026-02-28T00:00", "２０２６-02-28", 20260228,
                None):
        assert parse_date(bad) is None, bad


# -- what the checks accept, and their parts -----------------------------------------------------

OPTIONAL = BASE.replace("  tier: {type: string, enum: [basic, gold]}", "  tier: {type: string, enum: [basic, gold]}\n"
                        "  extra: {type: number, required: false, minimum: 0}")


@pytest.mark.parametrize("when,guaranteed", [
    ("{extra: {missing: false}}", True),
    ("{extra: {gt: 5}}", True),  # unknown when absent, so the rule cannot match without it
    ("{extra: {missing: false, gte: 1}}", True),
    ("{not: {extra: {missing: true}}}", True),
    ("{not: {extra: {gt: 5}}}", True),  # not unknown is unknown
    ("{extra: {missing: true}}", False),
    ("{not: {extra: {missing: false}}}", False),
    ("{all: [{score: {gt: 400}}, {extra: {lt: 9}}]}", True),
    ("{any: [{extra: {lt: 9}}, {extra: {gt: 20}}]}", True),
    ("{any: [{extra: {lt: 9}}, {score: {gt: 400}}]}", False),
    ("{not: {any: [{extra: {missing: true}}, {score: {gt: 400}}]}}", True),
    ("{not: {all: [{extra: {missing: true}}, {score: {gt: 400}}]}}", False),
    ("{score: {gt: 400}}", False),
    ("{tier: gold}", False),
])
def test_presence_guarantee(when, guaranteed) -> None:
    text = OPTIONAL.replace("when: {last_late: {missing: false, gte: {days_ago: clean_days}}}\n"
                            "    then: {set: {tier_out: basic}}",
                            f"when: {when}\n    then: {{set: {{tier_out: basic, change: {{add: [extra, 1]}}}}}}")
    policy, diags = check(text)
    codes_found = [d.code for d in diags if d.severity == ERROR]
    assert codes_found == ([] if guaranteed else ["expr-optional-fact"]), [d.render() for d in diags]


@pytest.mark.parametrize("value", [
    "{div: [limit, score]}",  # score is 300..900: bounded away from 0
    "{div: [limit, {add: [age_days, 1]}]}",  # 1..
    "{div: [limit, {sub: [0, {add: [score, 1]}]}]}",  # ..-301
    "{div: [limit, -2]}",
    "{max: [0, {div: [limit, min_score]}]}",
])
def test_divisions_bounded_away_from_zero(value) -> None:
    policy, diags = check(BASE.replace("{mul: [limit, factor]}", value).replace("  factor: 1.5\n", ""))
    # (a negative divisor makes the limit negative: a warning against `minimum: 0`, not an error)
    assert policy is not None and {d.code for d in diags} <= {"output-may-leave-range"}, [d.render() for d in diags]


@pytest.mark.parametrize("output", [
    "{type: integer, default: {round: {div: [score, 3]}, to: 1}}",
    "{type: integer, default: {div: [score, 3]}, round: {to: 1}}",
    "{type: integer, default: {div: [score, 3]}, round: {to: 10, mode: up}}",
    "{type: integer, default: {mul: [score, 2, clean_days]}}",
    "{type: integer, default: {max: [score, age_days, 3]}}",
    "{type: integer, default: {sub: [score, 2.0]}}",
])
def test_integral_integer_outputs(output) -> None:
    text = BASE.replace("  tier_out: {type: string, default: none}",
                        f"  tier_out: {{type: string, default: none}}\n  points: {output}")
    policy, diags = check(text)
    assert policy is not None and diags == [], [d.render() for d in diags]
    assert policy.outputs["points"].computed


def test_output_ranges_by_interval_arithmetic() -> None:
    from engine.language.exprcheck import Interval, Ranges
    policy, _ = check_policy_file(CASH)
    ranges = Ranges(policy)
    assert ranges.outputs["new_limit_yuan"] == Interval(Decimal(0), Decimal(1000000))
    assert ranges.outputs["limit_change_yuan"] == Interval(Decimal(-1000000), Decimal(1000000))
    [(_, raised)] = policy.rule("raise-standard").then.set
    assert ranges.of(raised) == Interval(Decimal(0), Decimal(200000))
    [(_, cut)] = policy.rule("overdue-current").then.set
    assert ranges.of(cut) == Interval(Decimal(0), Decimal(500000))
    assert ranges.of(cut.arg) == Interval(Decimal(0), Decimal("500000.0"))


def test_interval_rounding_follows_the_mode() -> None:
    from engine.language.exprcheck import INF, Interval, rounded
    x = Interval(Decimal(-150), Decimal(149))
    assert rounded(x, Rounding(Decimal(100), "down")) == (Decimal(-100), Decimal(100))
    assert rounded(x, Rounding(Decimal(100), "up")) == (Decimal(-200), Decimal(200))
    assert rounded(x, Rounding(Decimal(100), "half_up")) == (Decimal(-200), Decimal(100))
    assert rounded(x, Rounding(Decimal(100), "half_even")) == (Decimal(-200), Decimal(100))
    assert rounded(Interval(-INF, Decimal("0.05")), Rounding(Decimal("0.1"), "half_even")) == (-INF, Decimal(0))


def test_formats_on_numbers_and_outputs_are_accepted() -> None:
    text = BASE.replace("{score} is below {min_score:,}", "{score:,} is below {min_score:.1f}, {new_limit:,.0f}")
    policy, diags = check(text)
    assert policy is not None and diags == [], [d.render() for d in diags]


def test_new_codes_have_descriptions_and_a_case() -> None:
    new = {"date-invalid", "fact-with-time-not-numeric", "timezone-unknown", "output-not-numeric", "expr-malformed",
           "expr-unknown-name", "expr-ambiguous-name", "expr-operand-type", "expr-div-by-zero", "output-out-of-range",
           "output-may-leave-range", "output-range-empty", "output-not-integral", "expr-optional-fact",
           "template-format-type"}
    assert new <= set(codes.DESCRIPTIONS)
    assert new <= {c[3] for c in CASES}
    doc = (ROOT / "docs" / "policy-language.md").read_text("utf-8")
    assert not {c for c in new if f"| `{c}` |" not in doc}, "list every new code in the doc's §18 tables"
    for heading in ("### 8.1 Computed outputs", "### 12.1 Presence tests", "### 12.2 Dates and the evaluation date",
                    "### 14.1 Message formats"):
        assert heading in doc


# -- the language server: completion, names, hover -----------------------------------------------

def _complete_after(text: str, snippet: str, typed: str = "") -> list[str]:
    """Completion labels with the cursor after `snippet` (its first line), `typed` typed there."""
    from engine.lsp.complete import completions
    from engine.lsp.index import build_index
    index = build_index(text)
    lines = text.split("\n")
    n = next(i for i, line in enumerate(lines) if snippet in line)
    col = lines[n].index(snippet) + len(snippet)
    lines[n] = lines[n][:col] + typed
    return [i["label"] for i in completions("\n".join(lines), index, n, col + len(typed))]


@pytest.mark.parametrize("snippet,typed,wanted,unwanted", [
    ("last_overdue_date: {missing: false, ", "", ["missing", "gte", "between"], []),
    ("last_overdue_date: {missing: ", "", ["true", "false"], ["clean_days"]),
    ("last_overdue_date: {lt: ", "{", ["days_ago", "days_ahead"], ["gte"]),
    ("last_overdue_date: {lt: {days_ago: ", "", ["clean_days", "min_account_age_days"], ["cut_factor", "raise"]),
    ("new_limit_yuan: {round: {mul: [", "", ["current_limit_yuan", "cut_factor", "account_age_days"],
     ["membership", "last_overdue_date", "fraud_suspected", "new_limit_yuan", "limit_change_yuan"]),
    ("new_limit_yuan: {round: {mul: [current_limit_yuan, cut_factor]}, ", "", ["to", "mode", "round", "div"],
     ["current_limit_yuan"]),
    ("new_limit_yuan: {round: {mul: [current_limit_yuan, cut_factor]}, to: 100, mode: ", "",
     ["down", "up", "half_up", "half_even"], []),
    ("    default: {sub: [", "", ["new_limit_yuan", "current_limit_yuan"], ["limit_change_yuan", "membership"]),
    ("    default: current_limit_yuan", "", ["current_limit_yuan"], ["new_limit_yuan"]),  # not itself
])
def test_completion_of_v2_keys_and_operators(snippet, typed, wanted, unwanted) -> None:
    labels = _complete_after(CASH.read_text("utf-8"), snippet, typed)
    assert set(wanted) <= set(labels), labels
    assert not set(unwanted) & set(labels), labels


def test_the_index_sees_names_in_expressions_relative_dates_and_formatted_placeholders() -> None:
    from engine.lsp.index import build_index
    from engine.lsp.navigate import describe
    text = CASH.read_text("utf-8")
    index = build_index(text)
    lines = text.split("\n")

    def uses(kind, name):
        return [lines[o.span.line][o.span.start:o.span.end] for o in index.symbols[(kind, name)].uses]

    assert uses("threshold", "clean_days").count("clean_days") == 4  # 2 relative dates, 2 placeholders
    assert len(uses("fact", "current_limit_yuan")) == 6  # 2 defaults, 4 rule values
    assert len(uses("threshold", "cut_factor")) == 2
    formatted = [o for o in index.symbols[("output", "new_limit_yuan")].uses
                 if lines[o.span.line][o.span.end:o.span.end + 5] == ":,.2f"]
    assert len(formatted) == 4  # `{new_limit_yuan:,.2f}` in two rules, en and zh
    [head, _] = describe(index.symbols[("output", "limit_change_yuan")])
    assert head == "**output** `limit_change_yuan`: number (default `{sub: [new_limit_yuan, current_limit_yuan]}`)"
    [head] = describe(build_index(BASE).symbols[("fact", "opened")])
    assert head == "**fact** `opened`: date (range 2000-01-01..2100-12-31)"
    [head, _] = describe(index.symbols[("output", "new_limit_yuan")])
    assert head == "**output** `new_limit_yuan`: number (default `current_limit_yuan`, combine max, range 0..1000000)"


def test_verdict_schema_prints_the_v2_keys_with_their_texts() -> None:
    import json

    from click.testing import CliRunner

    from engine.cli.main import main
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    defs, props = schema["$defs"], schema["properties"]
    texts = [props["timezone"], props["max_wait_days"], defs["comparison"]["properties"]["missing"],
             defs["comparison"]["properties"]["gte"]["properties"]["days_ago"], defs["output"]["properties"]["round"],
             defs["expr_op"]["properties"]["div"], defs["expr_op"]["properties"]["mode"]]
    assert all(t["description"] and t["markdownDescription"] for t in texts)
    assert "date" in defs["fact"]["properties"]["type"]["enum"]
    assert "with_time" in defs["fact"]["properties"]["change"]["enum"]


# -- yaml-language-server on the v2 keys (skipped without npm, as there) ------------------------

from test_yaml_language_server import client, scaffold, server_command  # noqa: E402,F401  the fixtures


@pytest.mark.parametrize("line_start,column,text", [
    ("timezone:", 1, "IANA time zone"),
    ("max_wait_days:", 1, "wait"),
    ("    change: with_time", 5, "with_time"),
    ("            - last_overdue_date: {missing: true}", 34, "Presence test"),
    ("            - last_overdue_date: {lt: {days_ago: clean_days}}", 42, "days before the evaluation date"),
    # (under a `$ref`, the server shows the operation's text, which covers `round`)
    ("          round: {min:", 11, "{round: e, to: N, mode: down|up|half_up|half_even}"),
    ("    default: {sub:", 5, "an expression for a numeric output"),
])
def test_hover_texts_of_the_v2_keys(client, scaffold, line_start, column, text) -> None:
    policy = scaffold / "policies" / "cash-loan-limit.yaml"
    policy.write_text(CASH.read_text("utf-8"), "utf-8")
    assert client.open(policy) == []  # the v2 policy is valid for the editor too
    lines = policy.read_text("utf-8").splitlines()
    line = next(i for i, t in enumerate(lines) if t.startswith(line_start))
    assert text in client.hover(policy, line, column)


def test_sarif_rule_metadata_of_the_new_codes() -> None:
    import json

    from engine.explain import sarif
    text = _case_text("{mul: [limit, factor]}", "{div: [limit, age_days]}")
    _, diags = check(text, "div.yaml")
    doc = json.loads(sarif.render_sarif(diags, ["div.yaml"]))
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["expr-div-by-zero"]
    assert rule["name"] == "ExprDivByZero"
    assert rule["shortDescription"]["text"] == "A `div` whose divisor can be 0 over the declared ranges."
    assert rule["fullDescription"]["text"] == codes.DESCRIPTIONS["expr-div-by-zero"]
    [result] = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "expr-div-by-zero"]
    assert result["level"] == "error" and result["locations"][0]["physicalLocation"]["region"]["startLine"] == 40


@pytest.mark.parametrize("zone,hint", [
    ("UTC", None), ("Europe/Berlin", None), ("Etc/GMT-8", None),
    ("utc", "did you mean `UTC`?"), ("asia/shanghai", "did you mean `Asia/Shanghai`?"),
    ("localtime", "e.g. `Asia/Shanghai` or `UTC`"),  # whatever the machine is set to: not a policy's zone
    ("../../etc/passwd", "e.g. `Asia/Shanghai` or `UTC`"), ("Asia/Shanghai\\n", "did you mean `Asia/Shanghai`?"),
])
def test_timezones(zone, hint) -> None:
    policy, diags = check(BASE.replace("timezone: Asia/Shanghai", f'timezone: "{zone}"'))
    assert [d.hint for d in diags] == ([] if hint is None else [hint]), [d.render() for d in diags]
    assert (policy is None) == (hint is not None)


# -- never a traceback: v2 constructs dropped anywhere into the example policy ----------------------

def test_v2_values_anywhere_never_raise() -> None:
    import copy
    import os

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_fuzz_validate import check_text, dump, parent_of, paths

    from engine.language.source import load_text
    cash = load_text(CASH.read_text("utf-8"), "cash.yaml")[0].data
    names = sorted({*cash["facts"], *cash["thresholds"], *cash["outputs"], "add", "sub", "mul", "div", "min", "max",
                    "round", "to", "mode", "down", "half_even", "days_ago", "days_ahead", "missing", "date",
                    "with_time", "2026-01-31", "2026-02-30", "1999-12-31"})
    scalars = (st.booleans() | st.integers(-3, 10**6) | st.sampled_from([0, 0.5, -1.5, 1e-9, 1e300, 10**40])
               | st.sampled_from(names) | st.text(max_size=6))
    keys = st.sampled_from(names)
    values = st.recursive(scalars, lambda inner: st.lists(inner, min_size=1, max_size=3)
                          | st.dictionaries(keys, inner, min_size=1, max_size=3), max_leaves=12)

    @settings(max_examples=int(os.environ.get("VERDICT_FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def run(data) -> None:
        policy = copy.deepcopy(cash)
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(paths(policy)))
            parent_of(policy, path)[path[-1]] = data.draw(values)
        check_text(dump(policy))

    run()


@pytest.mark.parametrize("old,new,code", [
    ("{mul: [limit, factor]}", "{mul: [limt, factor]}", "expr-unknown-name"),
    ("timezone: Asia/Shanghai", "timezone: Asia/Shangai", "timezone-unknown"),
    ("{days_ago: clean_days}", "{days_ago: clean_dayz}", "unknown-threshold"),
])
def test_the_editor_quick_fix_applies_the_did_you_mean(old, new, code) -> None:
    from test_lsp_units import URI, apply, lsp_diagnostics

    from engine.lsp.actions import code_actions
    from engine.lsp.index import build_index
    text = _case_text(old, new)
    diags = [d for d in lsp_diagnostics(text) if d["severity"] == 1]
    assert [d["code"] for d in diags] == [code]
    (fix,) = code_actions(text, build_index(text), URI, diags)
    assert apply(text, fix["edit"]) == BASE


def test_unquoted_dates_are_dates_where_a_date_goes() -> None:
    text = (BASE.replace('minimum: "2000-01-01"', "minimum: 2000-01-01")
            .replace("opened: {lt: launch}", "opened: {lt: 2020-06-30}").replace('  launch: "2020-01-01"\n', ""))
    policy, diags = check(text)
    assert policy is not None and diags == [], [d.render() for d in diags]
    assert policy.facts["opened"].minimum == datetime.date(2000, 1, 1)
    [lt] = [leaf for leaf in policy.rule("up").leaves if leaf.subject == "opened"]
    assert lt.operand == Operand(datetime.date(2020, 6, 30))


def test_completion_and_hover_anywhere_in_a_half_typed_v2_policy_never_raise() -> None:
    from engine.lsp.complete import completions
    from engine.lsp.index import build_index
    from engine.lsp.navigate import hover
    text = CASH.read_text("utf-8")
    index = build_index(text)
    lines = text.split("\n")
    offered = 0
    for i, line in enumerate(lines):
        for c in range(0, len(line) + 1, 2):
            hover(index, i, c)
            cut = "\n".join(lines[:i] + [line[:c]] + lines[i + 1:])  # the line typed up to the cursor
            offered += len(completions(text, index, i, c)) + len(completions(cut, index, i, c))
    assert offered > 1000  # (and something was offered)
