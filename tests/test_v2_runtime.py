"""Language v2 at run time (issue 13): computed outputs, presence tests, dates, `as_of`.

- The expression evaluator (`runtime/expressions.py`) against an independent evaluation
  written here with `fractions.Fraction` and explicit rounding, on generated expressions,
  facts and output declarations (hypothesis).
- Presence and date semantics, table-driven, in the reference evaluator.
- The native backend against `semantics.reference_matches` on generated date and presence
  records, and its fast path against its generic path.
- `as_of` through `evaluate` and the API, date facts, CSV date columns, the bounds of exact
  arithmetic.
Policies are built as IR by hand (the YAML front end is another part of the work).
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal as D
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile import compile_policy
from engine.errors import FactsError
from engine.evaluate import evaluate
from engine.io.records import cell_converter, read_records
from engine.language.values import int_from_digits, parse_date
from engine.language.model import (All, Any, Arith, Comparison, Effect, FactSpec, Not, Operand, Outcome, OutputSpec,
                                   Policy, Ref, RelativeDate, Round, Rounding, Rule, Threshold)
from engine.runtime.decision import FIELDS, assemble
from engine.runtime.expressions import OutputPlan, normalized, round_to
from engine.runtime.facts import check_facts, check_value
from engine.runtime.semantics import Plan, eval_condition, eval_leaf, operand_value, reference_matches, today

# -- building IR by hand ----------------------------------------------------------------------


def leaf(subject, op, value, index=0, kind="fact"):
    operand = (Operand(value[0]), Operand(value[1])) if op == "between" else Operand(value)
    return Comparison(kind, subject, op, operand, index)


def leaves_of(cond):
    if isinstance(cond, Comparison):
        return (cond,)
    if isinstance(cond, Not):
        return leaves_of(cond.item)
    return tuple(lf for item in cond.items for lf in leaves_of(item))


def numbered(cond, start=0):
    """The condition with its leaves numbered in document order (as validation does)."""
    counter = [start]

    def walk(c):
        if isinstance(c, Comparison):
            counter[0] += 1
            return Comparison(c.kind, c.subject, c.op, c.operand, counter[0] - 1)
        if isinstance(c, Not):
            return Not(walk(c.item))
        return type(c)(tuple(walk(i) for i in c.items))

    return walk(cond)


def rule(rid, index, when, **then):
    when = numbered(when)
    return Rule(rid, index, when, Effect(**then), leaves=leaves_of(when))


def policy(facts, rules, outputs=(), thresholds=(), outcomes=("yes", "no"), default="no", timezone="UTC"):
    return Policy(id="p", version=1, title="", description="", language="en",
                  facts={f.name: f for f in facts}, thresholds={t.name: t for t in thresholds},
                  outcomes=tuple(Outcome(o) for o in outcomes), default=default,
                  outputs={o.name: o for o in outputs}, reasons={}, rules=tuple(rules),
                  strata=(tuple(r.index for r in rules),), digest="0" * 64, path="p.yaml", timezone=timezone)


AS_OF = datetime.date(2026, 11, 11)

# -- the independent decimal evaluation -------------------------------------------------------


def round_half_even(q: Fraction) -> int:
    return round(q)  # Fraction rounds half to even


def to_multiple(x: Fraction, step: Fraction, mode: str) -> Fraction:
    q = x / step
    sign = -1 if q < 0 else 1
    a = abs(q)
    whole, frac = a.numerator // a.denominator, a - a.numerator // a.denominator
    if mode == "down":
        n = whole
    elif mode == "up":
        n = whole + (1 if frac else 0)
    elif mode == "half_up":
        n = whole + (1 if frac >= Fraction(1, 2) else 0)
    else:
        n = round_half_even(a)
    return sign * n * step


def significant(q: Fraction, digits: int) -> Fraction:
    """q rounded to `digits` significant digits, half to even."""
    if q == 0:
        return Fraction(0)
    a = abs(q)
    e = len(str(a.numerator)) - len(str(a.denominator))
    while Fraction(10) ** e > a:
        e -= 1
    while Fraction(10) ** (e + 1) <= a:
        e += 1
    scale = Fraction(10) ** (digits - 1 - e)
    return (1 if q > 0 else -1) * round_half_even(a * scale) / scale


def independent(expr, facts_text: dict, thresholds_text: dict, outputs: dict) -> Fraction:
    """The value of an expression from the texts the numbers were written as."""
    if isinstance(expr, D):
        return Fraction(str(expr))
    if isinstance(expr, Ref):
        table = {"fact": facts_text, "threshold": thresholds_text, "output": outputs}[expr.kind]
        return Fraction(table[expr.name])
    if isinstance(expr, Round):
        return to_multiple(independent(expr.arg, facts_text, thresholds_text, outputs),
                           Fraction(str(expr.rounding.to)), expr.rounding.mode)
    args = [independent(a, facts_text, thresholds_text, outputs) for a in expr.args]
    if expr.op == "add":
        return sum(args, Fraction(0))
    if expr.op == "sub":
        return args[0] - args[1]
    if expr.op == "mul":
        result = Fraction(1)
        for a in args:
            result *= a
        return result
    if expr.op == "div":
        if args[1] == 0:
            raise ZeroDivisionError
        return significant(args[0] / args[1], 28)
    return min(args) if expr.op == "min" else max(args)


# -- generated expressions ---------------------------------------------------------------------

FACTS = ("f0", "f1", "f2")
THRESHOLDS = ("t0", "t1")
ROUNDINGS = [Rounding(D(t), m) for t in ("100", "1", "0.01", "0.05", "0.3")
             for m in ("down", "up", "half_up", "half_even")]


@st.composite
def decimal_text(draw, max_digits=15):
    """A decimal numeral of at most `max_digits` significant digits (what a float's repr
    gives back exactly), sometimes with a tie digit to exercise the rounding modes."""
    digits = draw(st.integers(1, max_digits))
    places = draw(st.integers(0, min(digits, 6)))
    n = draw(st.integers(0, 10 ** digits - 1) | st.sampled_from([0, 5, 50, 25, 15, 10 ** digits - 1]))
    text = str(n).rjust(places + 1, "0")
    text = (text[:-places] + "." + text[-places:]) if places else text
    return ("-" if draw(st.booleans()) else "") + text


def number(text: str, as_float: bool):
    """A fact or threshold value as JSON would give it: an int, or the float of the text."""
    if not as_float and "." not in text:
        return int(text)
    return float(text)


leaf_exprs = st.one_of(
    decimal_text(8).map(lambda t: D(t)),
    st.sampled_from(FACTS).map(lambda n: Ref("fact", n)),
    st.sampled_from(THRESHOLDS).map(lambda n: Ref("threshold", n)),
)


def _extend(children):
    two = st.tuples(children, children)
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        st.tuples(st.sampled_from(["add", "mul", "min", "max"]), many).map(lambda a: Arith(a[0], a[1])),
        st.tuples(st.sampled_from(["sub", "div"]), two).map(lambda a: Arith(a[0], a[1])),
        st.tuples(children, st.sampled_from(ROUNDINGS)).map(lambda a: Round(a[0], a[1])),
    )


exprs = st.recursive(leaf_exprs, _extend, max_leaves=7)


@st.composite
def numbers_env(draw):
    texts = {n: draw(decimal_text()) for n in FACTS + THRESHOLDS}
    floats = {n: draw(st.booleans()) for n in texts}
    values = {n: number(texts[n], floats[n]) for n in texts}
    # The values and the texts they were written as, which `Decimal(repr(float))` must
    # give back (for at most 15 significant digits).
    return values, texts


def output_policy(spec: OutputSpec, values: list, thresholds: dict) -> Policy:
    facts = [FactSpec(n, "number") for n in FACTS]
    rules = [rule(f"r{i}", i, leaf("f0", "gte", -1e300), set=((spec.name, v),)) for i, v in enumerate(values)]
    return policy(facts, rules, [spec], [Threshold(n, v) for n, v in thresholds.items()])


def is_normalized(d: D) -> bool:
    sign, digits, exponent = d.as_tuple()
    if not d:
        return d.as_tuple() == D(0).as_tuple()
    return exponent <= 0 and (exponent == 0 or digits[-1] != 0)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env=numbers_env(), expr=exprs)
def test_an_expression_is_the_exact_decimal_its_numbers_say(env, expr):
    values, shown = env
    facts = {n: values[n] for n in FACTS}
    thresholds = {n: values[n] for n in THRESHOLDS}
    spec = OutputSpec("x", "number", expr, computed=True)
    plan = OutputPlan(output_policy(spec, [], thresholds))
    try:
        want = independent(expr, {n: shown[n] for n in FACTS}, {n: shown[n] for n in THRESHOLDS}, {})
    except ZeroDivisionError:
        with pytest.raises(FactsError, match="output `x` cannot be computed exactly: it divides by zero"):
            plan.compute(facts, ())
        return
    got = plan.compute(facts, ())["x"]
    assert type(got) is D and Fraction(str(got)) == want
    assert is_normalized(got) and "E" not in format(got, "f")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env=numbers_env(), default=exprs, rule_values=st.lists(exprs, max_size=4),
       contributing=st.sets(st.integers(0, 3)), combine=st.sampled_from([None, "first", "min", "max", "sum"]),
       rounding=st.none() | st.sampled_from(ROUNDINGS), integer=st.booleans())
def test_outputs_round_each_value_then_combine(env, default, rule_values, contributing, combine, rounding, integer):
    values, shown = env
    facts = {n: values[n] for n in FACTS}
    thresholds = {n: values[n] for n in THRESHOLDS}
    if integer:  # an integer output: validation requires its values integral, so round to 1
        rounding = Rounding(D(1), rounding.mode if rounding else "half_even")
    spec = OutputSpec("x", "integer" if integer else "number", default, combine=combine, round=rounding, computed=True)
    # A second output reads the first: its final value.
    after = OutputSpec("y", "number", Arith("add", (Ref("output", "x"), D("0.5"))), computed=True)
    pol = output_policy(spec, rule_values, thresholds)
    pol = policy(list(pol.facts.values()), pol.rules, [spec, after], list(pol.thresholds.values()))
    plan = OutputPlan(pol)
    chosen = [v for i, v in enumerate(rule_values) if i in contributing] or [default]
    try:
        results = [independent(v, {n: shown[n] for n in FACTS}, {n: shown[n] for n in THRESHOLDS}, {})
                   for v in chosen]
    except ZeroDivisionError:
        with pytest.raises(FactsError, match="divides by zero"):
            plan.compute(facts, contributing)
        return
    if rounding is not None:
        results = [to_multiple(r, Fraction(str(rounding.to)), rounding.mode) for r in results]
    want = {"min": min, "max": max, "sum": lambda rs: sum(rs, Fraction(0))}.get(combine, lambda rs: rs[0])(results)
    got = plan.compute(facts, contributing)
    if integer:
        assert type(got["x"]) is int and got["x"] == want
    else:
        assert type(got["x"]) is D and Fraction(str(got["x"])) == want and is_normalized(got["x"])
    assert Fraction(str(got["y"])) == want + Fraction(1, 2)


@pytest.mark.parametrize("value, rounding, want", [
    ("6148.14", ("100", "down"), "6100"), ("-6148.14", ("100", "down"), "-6100"),
    ("6148.14", ("100", "up"), "6200"), ("-6148.14", ("100", "up"), "-6200"),
    ("6150", ("100", "half_up"), "6200"), ("-6150", ("100", "half_up"), "-6200"),
    ("6150", ("100", "half_even"), "6200"), ("6250", ("100", "half_even"), "6200"),
    ("6250.0001", ("100", "half_even"), "6300"), ("0.125", ("0.01", "half_even"), "0.12"),
    ("0.135", ("0.01", "half_even"), "0.14"), ("1.07", ("0.05", "half_up"), "1.05"),
    ("1.075", ("0.05", "half_up"), "1.1"), ("-0.004", ("0.01", "half_up"), "0"),
    ("7685.175", ("100", "down"), "7600"), ("5000", ("100", "up"), "5000"),
])
def test_rounding_modes(value, rounding, want):
    got = normalized(round_to(D(value), Rounding(D(rounding[0]), rounding[1])))
    assert str(got) == want


@pytest.mark.parametrize("value, want", [
    (D("6E+3"), "6000"), (D("6000.500"), "6000.5"), (D("-0"), "0"), (D("0E-7"), "0"), (D("-0.000"), "0"),
    (D("1.2300E+2"), "123"), (D("0.30"), "0.3"),
])
def test_results_are_normalized(value, want):
    assert str(normalized(value)) == want


def test_floats_are_the_decimal_their_text_says():
    pol = output_policy(OutputSpec("x", "number", Arith("add", (Ref("fact", "f0"), Ref("fact", "f1"))),
                                   computed=True), [], {})
    assert OutputPlan(pol).compute({"f0": 0.1, "f1": 0.2, "f2": 0}, ())["x"] == D("0.3")


def test_division_keeps_28_significant_digits_half_even():
    third = Arith("div", (D(2), D(3)))
    pol = output_policy(OutputSpec("x", "number", third, computed=True), [], {})
    assert str(OutputPlan(pol).compute({}, ())["x"]) == "0.6666666666666666666666666667"


def test_huge_integers_are_exact_or_refused_quickly():
    big = int("7" * 4000)
    square = OutputSpec("sq", "number", Arith("mul", (Ref("fact", "f0"), Ref("fact", "f0"))), computed=True)
    pol = output_policy(square, [], {})
    t0 = time.process_time()
    got = OutputPlan(pol).compute({"f0": big}, ())["sq"]
    assert int_from_digits(format(got, "f")) == big * big
    cube = OutputSpec("cube", "integer", Arith("mul", (Ref("fact", "f0"),) * 3), computed=True)
    with pytest.raises(FactsError, match="`cube` cannot be computed exactly: a value has more than 10,000 digits"):
        OutputPlan(output_policy(cube, [], {})).compute({"f0": big}, ())
    enormous = OutputSpec("e", "number", Ref("fact", "f0"), computed=True)
    with pytest.raises(FactsError, match="more than 10,000 significant digits"):
        OutputPlan(output_policy(enormous, [], {})).compute({"f0": 10 ** 20000}, ())
    tiny = OutputSpec("t", "number", Arith("mul", (Ref("fact", "f0"),) * 40), computed=True)
    with pytest.raises(FactsError, match="more than 10,000 zeros after the decimal point"):
        OutputPlan(output_policy(tiny, [], {})).compute({"f0": 1e-300}, ())
    assert time.process_time() - t0 < 5
    # An integer output of more digits than Python's int/str limit is still an int.
    integer = OutputSpec("i", "integer", Arith("mul", (Ref("fact", "f0"), D(2))), computed=True)
    assert OutputPlan(output_policy(integer, [], {})).compute({"f0": big}, ())["i"] == 2 * big


# -- presence and dates in the reference evaluator -----------------------------------------------

D1, D2 = datetime.date(2026, 5, 15), datetime.date(2026, 8, 3)
AGO_180 = RelativeDate(-1, 180)  # on AS_OF: 2026-05-15
AHEAD_3 = RelativeDate(1, 3, "grace")  # on AS_OF: 2026-11-14


@pytest.mark.parametrize("facts, op, operand, want", [
    ({}, "missing", True, True), ({}, "missing", False, False),
    ({"d": D1}, "missing", True, False), ({"d": D1}, "missing", False, True),
    ({"d": None}, "missing", True, True),  # a None value is an absent one
    ({}, "lt", AGO_180, None), ({}, "eq", D1, None),
    ({"d": D1}, "lt", AGO_180, False), ({"d": D1}, "lte", AGO_180, True),
    ({"d": datetime.date(2026, 5, 14)}, "lt", AGO_180, True),
    ({"d": D1}, "gte", AGO_180, True), ({"d": D1}, "gt", AGO_180, False),
    ({"d": D1}, "eq", D1, True), ({"d": D1}, "ne", D1, False), ({"d": D2}, "ne", AGO_180, True),
    ({"d": D2}, "between", (D1, AHEAD_3), True), ({"d": datetime.date(2026, 11, 15)}, "between", (D1, AHEAD_3), False),
    ({"d": datetime.date(2026, 11, 14)}, "between", (AGO_180, AHEAD_3), True),
    ({"d": D2}, "in", (D1, D2), True), ({"d": D2}, "not_in", (D1, D2), False),
])
def test_presence_and_date_comparisons(facts, op, operand, want):
    lf = leaf("d", op, operand)
    assert eval_leaf(lf, facts, None, {}, AS_OF) is want


def test_a_relative_date_needs_an_evaluation_date():
    lf = leaf("d", "lt", AGO_180)
    assert operand_value(lf, AS_OF) == D1
    assert operand_value(leaf("d", "between", (D1, AHEAD_3)), AS_OF) == (D1, datetime.date(2026, 11, 14))
    with pytest.raises(ValueError, match="needs `as_of`"):
        operand_value(lf)
    with pytest.raises(ValueError, match="as_of must be a datetime.date"):
        operand_value(lf, "2026-11-11")
    with pytest.raises(ValueError, match="outside the calendar"):
        operand_value(leaf("d", "lt", RelativeDate(1, 3)), datetime.date(9999, 12, 30))
    # Presence and absolute dates need none.
    assert eval_leaf(leaf("d", "missing", True), {}, None, {}) is True
    assert eval_leaf(leaf("d", "eq", D1), {"d": D1}, None, {}) is True


def test_presence_is_never_unknown_under_kleene_logic():
    # {missing: false, gte: …} is two leaves; an absent fact makes the AND false, not unknown.
    cond = numbered(All((leaf("d", "missing", False), leaf("d", "gte", AGO_180))))
    assert eval_condition(cond, {}, None, {}, as_of=AS_OF) is False
    either = numbered(Any((leaf("d", "missing", True), leaf("d", "lt", AGO_180))))
    assert eval_condition(either, {}, None, {}, as_of=AS_OF) is True
    assert eval_condition(Not(either), {"d": D2}, None, {}, as_of=AS_OF) is True


@pytest.mark.parametrize("value, want", [
    ("2026-11-11", datetime.date(2026, 11, 11)), ("2024-02-29", datetime.date(2024, 2, 29)),
    (datetime.date(2026, 1, 1), datetime.date(2026, 1, 1)),
    ("2026-13-01", "fact `d` must be a date (YYYY-MM-DD), got string `2026-13-01`"),
    ("2026-02-29", "got string `2026-02-29`"), ("20261111", "got string `20261111`"),
    ("2026-1-01", "got string `2026-1-01`"), (" 2026-01-01", "got string ` 2026-01-01`"),
    ("2026-01-01T00:00", "got string"), ("０２０２-01-01", "got string"), ("0000-01-01", "got string"),
    (20261111, "got integer `20261111`"), (True, "got boolean `true`"),
    (datetime.datetime(2026, 1, 1, 8, 0), "got datetime `2026-01-01T08:00:00`"),
    (datetime.date(2019, 12, 31), "fact `d` is 2019-12-31, before the declared minimum 2020-01-01"),
    ("2031-01-01", "fact `d` is 2031-01-01, after the declared maximum 2030-12-31"),
])
def test_date_facts(value, want):
    spec = FactSpec("d", "date", minimum=datetime.date(2020, 1, 1), maximum=datetime.date(2030, 12, 31))
    normal, problem = check_value(spec, value)
    if isinstance(want, datetime.date):
        assert problem is None and normal == want and type(normal) is datetime.date
    else:
        assert problem is not None and want in problem


def test_date_defaults_and_parse_date():
    pol = policy([FactSpec("d", "date", default=D1, has_default=True, required=False)], [])
    assert check_facts(pol, {}) == ({"d": D1}, [])
    assert parse_date("2026-05-15") == D1 and parse_date("2026-5-15") is None and parse_date(20260515) is None


# -- the native backend on dates and presence ----------------------------------------------------

DATE_FACTS = [
    FactSpec("d", "date", required=False),
    FactSpec("e", "date", minimum=datetime.date(2025, 1, 1), maximum=datetime.date(2027, 12, 31)),
    FactSpec("n", "integer", required=False),
    FactSpec("age", "integer", minimum=0, change="with_time"),
    FactSpec("limit", "number", minimum=0),
]
DATE_RULES = [
    rule("never-late", 0, leaf("d", "missing", True), outcome="yes", set=(("new", Arith("mul", (Ref("fact", "limit"),
                                                                                              D("1.2")))),)),
    rule("recent", 1, All((leaf("d", "missing", False), leaf("d", "gte", RelativeDate(-1, 30)))), outcome="no",
         set=(("new", Round(Arith("mul", (Ref("fact", "limit"), Ref("threshold", "cut"))),
                            Rounding(D(100), "down"))),)),
    rule("window", 2, leaf("d", "between", (datetime.date(2026, 1, 1), RelativeDate(1, 10))), flags=("w",)),
    rule("listed", 3, leaf("e", "in", (datetime.date(2026, 3, 1), datetime.date(2026, 11, 11))), outcome="yes"),
    rule("n-or-absent", 4, Any((leaf("n", "missing", True), leaf("n", "gte", 5))), flags=("n",)),
    rule("not-march", 5, Not(leaf("d", "eq", datetime.date(2026, 3, 1))), outcome="no"),
    rule("not-today", 6, All((leaf("e", "ne", RelativeDate(-1, 0)), leaf("age", "gte", 90))), outcome="yes"),
    rule("old-and-small", 7, All((leaf("d", "lte", RelativeDate(-1, 180, "clean")), leaf("n", "lt", 3),
                                   leaf("e", "gt", datetime.date(2026, 6, 30)))), outcome="yes"),
    rule("e-present", 8, leaf("e", "missing", False), flags=("e",)),
]
DATE_OUTPUTS = [OutputSpec("new", "number", Ref("fact", "limit"), combine="max", computed=True),
                OutputSpec("change", "number", Arith("sub", (Ref("output", "new"), Ref("fact", "limit"))),
                           computed=True),
                OutputSpec("coupon", "integer", 5)]
DATE_POLICY = policy(DATE_FACTS, DATE_RULES, DATE_OUTPUTS, [Threshold("cut", 0.5), Threshold("clean", 180)],
                     timezone="Asia/Shanghai")
RS = compile_policy(DATE_POLICY)


@st.composite
def date_records(draw):
    as_of = datetime.date(2026, 1, 1) + datetime.timedelta(days=draw(st.integers(-30, 400)))
    near = st.integers(-200, 20).map(lambda k: as_of + datetime.timedelta(days=k))
    record = {"e": draw(st.sampled_from([datetime.date(2026, 3, 1), datetime.date(2026, 11, 11)]) | near.filter(
        lambda d: datetime.date(2025, 1, 1) <= d <= datetime.date(2027, 12, 31))),
              "age": draw(st.integers(0, 200)), "limit": draw(st.sampled_from([5123.45, 0, 100, 2.5, 999999.99]))}
    if draw(st.booleans()):
        record["d"] = draw(near | st.just(datetime.date(2026, 3, 1)))
    if draw(st.booleans()):
        record["n"] = draw(st.integers(0, 8))
    as_text = draw(st.booleans())  # as JSON gives them
    if as_text:
        record = {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in record.items()}
    return record, as_of


@settings(max_examples=400, deadline=None)
@given(case=date_records())
def test_native_agrees_with_the_reference_on_dates_and_presence(case):
    record, as_of = case
    facts, problems = check_facts(DATE_POLICY, record)
    assert not problems
    want = reference_matches(DATE_POLICY, facts, as_of=as_of)
    assert RS.native.rule_matches(facts, as_of) == want
    matched, leaves = RS.native.trace(facts, as_of)
    assert matched == want
    plan = Plan(DATE_POLICY)
    for r in DATE_POLICY.rules:
        trace = [None] * len(r.leaves)
        eval_condition(r.when, facts, None, plan.rule_index, trace, as_of=as_of)
        assert tuple(trace) == leaves[r.index]
    # The fast paths (a record of every fact) and the generic path give one Decision.
    slow = evaluate(RS, record, trace=False, label="case", as_of=as_of)
    assert slow == assemble(plan, facts, want, warnings=(), as_of=as_of)
    assert evaluate(RS, record, trace=False, as_of=as_of) == slow
    assert evaluate(RS, record, trace=True, as_of=as_of) == evaluate(RS, record, trace=True, label="x", as_of=as_of)
    assert RS.native.decide_open(dict(record, user="u"), as_of) == slow
    assert slow.as_of == as_of and slow.facts == facts


def test_the_fast_path_parses_days_and_computes_outputs():
    record = {"e": "2026-11-11", "age": 400, "limit": 5123.45, "d": "2026-11-01", "n": 1}
    decision = RS.decide(record, AS_OF)
    assert decision.facts["d"] == datetime.date(2026, 11, 1) and decision.facts["e"] == AS_OF
    assert decision.outcome == "yes" and [DATE_POLICY.rules[i].id for i in decision.decided_by] == ["listed"]
    assert decision.outputs == {"new": D("5123.45"), "change": D(0), "coupon": 5}
    assert str(decision.outputs["new"]) == "5123.45"
    cut = RS.decide(dict(record, e="2026-11-12", age=10), AS_OF)  # no `yes` rule: "recent" decides
    assert cut.outcome == "no" and [DATE_POLICY.rules[i].id for i in cut.decided_by] == ["recent", "not-march"]
    assert cut.outputs == {"new": D(2500), "change": D("-2623.45"), "coupon": 5}
    with pytest.raises(FactsError, match=r"fact `d` must be a date \(YYYY-MM-DD\), got string `2026-11-31`"):
        RS.decide(dict(record, d="2026-11-31"), AS_OF)


def test_as_of_is_recorded_and_defaults_to_today_in_the_policy_timezone():
    record = {"e": "2026-11-11", "age": 400, "limit": 1}
    assert RS.uses_time and len(FIELDS) == 13 and FIELDS[11] == "as_of"
    before = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    decisions = [evaluate(RS, record, trace=t, label=lb) for t in (False, True) for lb in (None, "x")]
    decisions.append(RS.decide(record))
    after = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert all(d.as_of in (before, after) for d in decisions)
    utc = datetime.datetime.now(datetime.timezone.utc).date()
    assert today("UTC") in (utc, datetime.datetime.now(datetime.timezone.utc).date())
    for bad in ("2026-11-11", datetime.datetime(2026, 11, 11), 20261111):
        with pytest.raises(ValueError, match="as_of must be a datetime.date"):
            evaluate(RS, record, as_of=bad)
        with pytest.raises(ValueError, match="as_of must be a datetime.date"):
            RS.decide(record, bad)
    with pytest.raises(ValueError, match="needs `as_of`"):
        RS.native.rule_matches(check_facts(DATE_POLICY, record)[0])
    with pytest.raises(ValueError, match="uses time, needs its `as_of`"):
        assemble(RS.plan, {}, (False,) * len(DATE_RULES))


def test_a_policy_without_time_records_no_as_of():
    pol = policy([FactSpec("n", "integer")], [rule("big", 0, leaf("n", "gt", 5), outcome="yes")])
    rs = compile_policy(pol)
    assert not rs.uses_time
    for kwargs in ({}, {"as_of": AS_OF}, {"trace": True, "as_of": AS_OF}, {"label": "x", "as_of": AS_OF}):
        assert evaluate(rs, {"n": 6}, **kwargs).as_of is None
    with pytest.raises(ValueError, match="as_of must be a datetime.date"):
        evaluate(rs, {"n": 6}, as_of="2026-11-11")


def test_the_api_takes_as_of():
    from engine.api import CompiledPolicy

    cp = CompiledPolicy(RS)
    record = {"e": "2026-11-11", "age": 400, "limit": 5123.45}
    fast = cp.evaluate(record, as_of=AS_OF)
    assert fast.as_of == AS_OF and fast == cp.evaluate(record, as_of=AS_OF, trace=True)._replace(trace=None)
    assert fast.outputs["new"] == D("6148.14")  # never late: ×1.2, not rounded
    assert cp.evaluate(record, as_of=AS_OF, backend="native", undeclared="ignore") == fast
    assert cp.evaluate(record).as_of is not None
    with pytest.raises(ValueError, match="as_of must be a datetime.date"):
        cp.evaluate(record, as_of="2026-11-11")
    timeless = CompiledPolicy(compile_policy(policy([FactSpec("n", "integer")], [rule("r", 0, leaf("n", "gt", 5))])))
    assert timeless.evaluate({"n": 1}, as_of=AS_OF).as_of is None
    with pytest.raises(ValueError, match="as_of must be a datetime.date"):
        timeless.evaluate({"n": 1}, as_of=datetime.datetime(2026, 11, 11))


def test_csv_date_columns_pass_through_as_text(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(b"e,age,limit,d,n\n2026-11-11,400,5123.45,,\n2026-11-11,400,1,2026-13-01,2\n")
    rows = list(read_records(str(path), DATE_POLICY))
    assert cell_converter(DATE_POLICY, "d")("2026-11-11") == "2026-11-11"
    assert cell_converter(DATE_POLICY, "d")("") is None
    assert cell_converter(DATE_POLICY, "age")("400") == 400
    assert rows[0].data == {"e": "2026-11-11", "age": 400, "limit": 5123.45, "d": None, "n": None}
    assert evaluate(RS, rows[0].data, as_of=AS_OF).facts["e"] == AS_OF
    with pytest.raises(FactsError, match=r"fact `d` must be a date \(YYYY-MM-DD\), got string `2026-13-01`"):
        evaluate(RS, rows[1].data, as_of=AS_OF)


# -- the example policy (issue 13's done-when computation) ------------------------------------

def example_policy():
    from pathlib import Path

    from engine.api import load_policy

    root = Path(__file__).resolve().parent.parent
    for path in (root / "policies/cash-loan-limit.yaml", root / "tests/fixtures/v2/cash-loan-limit.yaml"):
        if path.exists():
            return load_policy(path)
    raise AssertionError("cash-loan-limit.yaml not found")


USER = {"credit_score": 720, "overdue_days": 0, "account_age_days": 400, "membership": "basic",
        "current_limit_yuan": 5123.45}


@pytest.mark.parametrize("extra, outcome, new_limit", [
    ({"last_overdue_date": "2026-08-03"}, "keep", "5123.45"),  # 100 days ago: inside the clean period
    ({"last_overdue_date": "2026-05-01"}, "raise", "6100"),  # 5,123.45 × 1.2 = 6,148.14, down to 100
    ({"last_overdue_date": "2026-05-01", "membership": "gold"}, "raise", "7600"),  # × 1.5 = 7,685.175
    ({}, "raise", "6100"),  # never overdue
    ({"last_overdue_date": "2026-05-15"}, "keep", "5123.45"),  # exactly 180 days ago: not before it
    ({"last_overdue_date": "2026-05-14"}, "raise", "6100"),
    ({"overdue_days": 5}, "cut", "2500"),  # × 0.5 = 2,561.725, down to 100
    ({"fraud_suspected": True}, "freeze", "0"),
])
def test_the_example_policy_computes_limits_to_the_cent(extra, outcome, new_limit):
    cp = example_policy()
    record = {**USER, **extra}
    decisions = [cp.evaluate(record, as_of=AS_OF, trace=t) for t in (False, True)]
    decisions.append(evaluate(cp.ruleset, record, label="user", as_of=AS_OF))
    for d in decisions:
        assert d.outcome == outcome and d.as_of == AS_OF
        assert type(d.outputs["new_limit_yuan"]) is D and str(d.outputs["new_limit_yuan"]) == new_limit
        assert d.outputs["limit_change_yuan"] == D(new_limit) - D("5123.45")
    assert decisions[0] == decisions[1]._replace(trace=None)


@settings(max_examples=200, deadline=None)
@given(score=st.integers(300, 950), overdue=st.sampled_from([0, 0, 3, 61]), age=st.integers(0, 200),
       membership=st.sampled_from(["basic", "silver", "gold"]), limit=st.sampled_from([0, 5123.45, 199999.99, 150000]),
       days_ago=st.none() | st.integers(0, 400), as_of_days=st.integers(0, 800))
def test_the_example_policy_agrees_with_the_reference(score, overdue, age, membership, limit, days_ago, as_of_days):
    cp = example_policy()
    as_of = datetime.date(2026, 1, 1) + datetime.timedelta(days=as_of_days)
    record = {"credit_score": score, "overdue_days": overdue, "account_age_days": age, "membership": membership,
              "current_limit_yuan": limit}
    if days_ago is not None:
        record["last_overdue_date"] = (as_of - datetime.timedelta(days=days_ago)).isoformat()
    facts, _ = check_facts(cp.policy, record)
    want = assemble(cp.ruleset.plan, facts, reference_matches(cp.policy, facts, as_of=as_of), as_of=as_of)
    assert cp.evaluate(record, as_of=as_of) == want
    assert cp.evaluate(record, as_of=as_of, trace=True)._replace(trace=None) == want


def test_generated_code_with_dates_and_outputs_names_only_our_own_text():
    from test_backend_native import assert_safe

    assert_safe(RS.native.source, DATE_POLICY)
    assert "_days(-180)" in RS.native.source and "_date(2026, 3, 1)" in RS.native.source
    # An offset no timedelta holds: every evaluation is beyond the calendar, a ValueError.
    far = policy([FactSpec("d", "date")], [rule("far", 0, leaf("d", "lt", RelativeDate(-1, 10 ** 12)), outcome="yes")])
    rs = compile_policy(far)
    assert_safe(rs.native.source, far)
    with pytest.raises(ValueError, match="outside the calendar"):
        rs.decide({"d": "2026-01-01"}, AS_OF)
    near_end = policy([FactSpec("d", "date")], [rule("soon", 0, leaf("d", "lt", RelativeDate(1, 5)), outcome="yes")])
    with pytest.raises(ValueError, match="5 days ahead of 9999-12-30 is outside the calendar"):
        compile_policy(near_end).decide({"d": "2026-01-01"}, datetime.date(9999, 12, 30))
