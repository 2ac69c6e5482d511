"""Derived facts, output conditions and list outputs in DuckDB's SQL form: derived facts as
exact DECIMAL columns (compared with float, int and Decimal literals at their exact values,
and with facts), missing when an input is; an output read by a later stratum as the earlier
strata left it (unknown while a setter is undetermined); `combine: list` and `count`; the
refusals (`SqlLimitError`)."""

from __future__ import annotations

import random
from decimal import Decimal

import duckdb
import pytest

from engine.errors import SqlLimitError
from engine.language.model import Arith, Derived, Effect, OutputSpec, Ref, Rule
from test_v3_sql_ir import Comparison, Operand, decisions, exact_cmp, fact, list_fact, matches, policy


def _derived():
    return {
        "total": Derived("total", Arith("add", (Ref("fact", "i"), Ref("fact", "j"))), type="integer"),
        "half": Derived("half", Arith("mul", (Ref("fact", "x"), Decimal("0.5")))),
        "more": Derived("more", Arith("sub", (Ref("derived", "half"), Ref("derived", "total")))),
        "quarter": Derived("quarter", Arith("div", (Ref("fact", "x"), Decimal("4")))),
    }


def _values(rec):
    i, j, x = rec.get("i"), rec.get("j"), rec.get("x")
    out = dict(rec)
    out["total"] = None if i is None or j is None else i + j
    out["half"] = None if x is None else Decimal(repr(x)) * Decimal("0.5")
    out["more"] = None if out["half"] is None or out["total"] is None else out["half"] - out["total"]
    out["quarter"] = None if x is None else Decimal(repr(x)) / Decimal(4)
    return out


def test_derived_facts_compare_exactly():
    facts = {"i": fact("i", "integer", minimum=-10**6, maximum=10**6), "j": fact("j", "integer", minimum=0, maximum=100),
             "x": fact("x", "number", minimum=-1000, maximum=1000)}
    operands = [0.4, 0.2, 1, Decimal("0.25"), -0.5, 2.5, 10**20, 0.1 + 0.2]
    leaves = [Comparison("derived", name, op, Operand(v)) for name in ("total", "half", "more", "quarter")
              for op in ("eq", "ne", "gt", "gte", "lt", "lte") for v in operands]
    leaves += [Comparison("derived", "half", op, Operand(None, fact="i")) for op in ("lt", "eq", "gte")]
    leaves += [Comparison("fact", "j", op, Operand(None, fact="total")) for op in ("lt", "eq", "gte")]
    leaves += [Comparison("derived", "more", "between", (Operand(None, fact="j"), Operand(None, fact="half")))]
    leaves += [Comparison("derived", "total", "in", Operand((1, 2.5, 7))),
               Comparison("derived", "half", "not_in", Operand((0.5, 0.1)))]
    pol = policy(facts, leaves, derived=_derived())
    rnd = random.Random(11)
    xs = [None, 0.4, 0.8, 0.5, 0.1, 0.2, 0.30000000000000004, 1.0, -1.0, 999.999, 0.125, 5.0, 1.6]
    records = [{"i": rnd.choice([None, 0, 1, -1, 7, 10**6]), "j": rnd.choice([None, 0, 1, 3, 100]),
                "x": rnd.choice(xs)} for _ in range(400)]
    con = duckdb.connect()
    got = matches(con, pol, records)
    from test_v3_sql_ir import leaf_value

    bad = [(r.when, rec, leaf_value(r.when, _values(rec)), v) for rec, row in zip(records, got) if row is not None
           for r, v in zip(pol.rules, row) if leaf_value(r.when, _values(rec)) is not v]
    assert not bad, bad[:4]
    left = {rec["x"] for rec, row in zip(records, got) if row is None}
    assert left == {0.30000000000000004}  # 17 places: more than the decimal of a |x| <= 1000 double holds
    assert exact_cmp("eq", Decimal("0.4"), 0.4)  # the float 0.4 as its repr's decimal (semantics.exact)


def test_a_double_the_decimal_cannot_hold_is_left_to_native():
    from engine.backends.sql.decimals import NATIVE

    facts = {"x": fact("x", "number")}
    pol = policy(facts, [Comparison("derived", "half", "lt", Operand(1))],
                 derived={"half": Derived("half", Arith("mul", (Ref("fact", "x"), Decimal("0.5"))))})
    rows = decisions(duckdb.connect(), pol, [{"x": 0.1}, {"x": 0.1234567891}, {"x": 1e12}])
    assert [r["__rejected"] for r in rows] == [None, NATIVE, NATIVE]


def test_a_quotient_by_a_fact_compares_exactly_or_is_refused():
    import decimal

    from engine.backends.sql import decision_query
    from test_v3_sql_ir import leaf_value

    facts = {"a": fact("a", "number", minimum=0, maximum=1000), "b": fact("b", "integer", minimum=1, maximum=1000),
             "c": fact("c", "number", minimum=-1000, maximum=1000)}
    derived = {"r": Derived("r", Arith("div", (Ref("fact", "a"), Ref("fact", "b"))))}
    leaves = [Comparison("derived", "r", op, Operand(v)) for op in ("eq", "ne", "lt", "lte", "gt", "gte")
              for v in (0.4, 1 / 3, 0, Decimal("0.125"), 2)]
    leaves += [Comparison("derived", "r", "between", (Operand(0.1), Operand(None, fact="b"))),
               Comparison("derived", "r", "in", Operand((0.5, 0.25))),
               Comparison("fact", "b", "gt", Operand(None, fact="r"))]
    pol = policy(facts, leaves, derived=derived)
    values = [0, 0.4, 1, 2, 3, 0.125, 0.3, 250, 1000, 0.5]
    records = [{"a": a, "b": b} for a in values for b in (1, 3, 4, 8, 1000)] + [{"b": 2}]
    got = matches(duckdb.connect(), pol, records)
    ctx = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
    for rec, row in zip(records, got):
        vals = dict(rec)
        vals["r"] = None if "a" not in rec else ctx.divide(Decimal(repr(float(rec["a"]))), Decimal(rec["b"]))
        want = tuple(leaf_value(r.when, vals) for r in pol.rules)
        assert row == want, rec
    # a quotient by a double (11 places) against another double: a - c·d has 22 places, so
    # r may come within 28 digits of c: only native's rounding decides it
    fine = policy({**facts, "d": fact("d", "number", minimum=1, maximum=1000)},
                  [Comparison("derived", "q", "lt", Operand(None, fact="c"))],
                  derived={"q": Derived("q", Arith("div", (Ref("fact", "a"), Ref("fact", "d"))))})
    with pytest.raises(SqlLimitError, match="within 28 digits"):
        decision_query(fine)
    # anything but a comparison reads its rounded value: refused
    shown = OutputSpec("shown", "number", Decimal(0), computed=True)
    rule = Rule(id="r0", index=0, when=Comparison("fact", "b", "gt", Operand(1)),
                then=Effect(set=(("shown", Ref("derived", "r")),)), leaves=(Comparison("fact", "b", "gt", Operand(1)),))
    with pytest.raises(SqlLimitError, match="quotient"):
        decision_query(policy(facts, [], derived=derived, outputs={"shown": shown}, rules=[rule]))


def _setter(i, when, output, value, outcome=None):
    return Rule(id=f"r{i}", index=i, when=when, then=Effect(outcome=outcome, set=((output, value),)), leaves=(when,))


def test_outputs_read_by_later_rules_and_list_outputs():
    facts = {"a": fact("a", "integer"), "t": list_fact("t", "string")}
    outputs = {"status": OutputSpec("status", "string", "none"),
               "offers": OutputSpec("offers", "array", (), combine="list", items=list_fact("offers", "string").items),
               "hits": OutputSpec("hits", "integer", 0, combine="count"),
               "fixed": OutputSpec("fixed", "array", ("x",), items=list_fact("fixed", "string").items)}
    a_gt = Comparison("fact", "a", "gt", Operand(5))
    has = Comparison("fact", "t", "contains", Operand("cash"))
    rules = [
        _setter(0, a_gt, "status", "good"),
        _setter(1, has, "offers", "cash_plus"),
        _setter(2, Comparison("fact", "a", "gt", Operand(1)), "offers", "card"),
        _setter(3, Comparison("output", "status", "eq", Operand("good")), "hits", 1),
        _setter(4, Comparison("output", "offers", "contains", Operand("card")), "hits", 1),
        _setter(5, Comparison("output", "offers", "length", __import__("engine.language.model", fromlist=["Length"]).Length(
            "gte", Operand(2))), "fixed", ("y", "z")),
    ]
    pol = policy(facts, [], outputs=outputs, rules=rules, strata=((0, 1, 2), (3, 4, 5)))
    records = [{"a": a, "t": t} for a in (None, 0, 3, 9) for t in (None, (), ("cash",), ("card", "cash"))]
    rows = decisions(duckdb.connect(), pol, records)
    for rec, row in zip(records, rows):
        a, t = rec["a"], rec["t"]
        m0 = None if a is None else a > 5
        m1 = None if t is None else "cash" in t
        m2 = None if a is None else a > 1
        status = None if m0 is None else ("good" if m0 else "none")
        offers = None if m1 is None or m2 is None else tuple(x for x, m in (("cash_plus", m1), ("card", m2)) if m)
        m3 = None if status is None else status == "good"
        m4 = None if offers is None else "card" in offers
        m5 = None if offers is None else len(offers) >= 2
        # the decision's outputs: each from the rules that matched (True), as native assembles them
        want = {"status": "good" if m0 else "none",
                "offers": [x for x, m in (("cash_plus", m1), ("card", m2)) if m],
                "hits": sum(1 for m in (m3, m4) if m), "fixed": ["y", "z"] if m5 else ["x"]}
        assert dict(row["outputs"]) == want, (rec, row["outputs"])
        undetermined = [f"r{i}" for i, m in enumerate((m0, m1, m2, m3, m4, m5)) if m is None]
        assert row["undetermined_rules"] == undetermined, rec
