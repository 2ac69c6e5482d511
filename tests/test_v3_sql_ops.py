"""The v3 leaves in DuckDB's SQL form against the contract's meaning, record by record:
string operators as Python's str methods (hostile operands: `%`, `_`, backslashes, quotes,
unicode), list operators with exact item comparisons (integer items against float
operands, doubles beyond 2^53), `length`, the fact-to-fact operand across BIGINT/DOUBLE/
DATE (boundary values around 2^53 and 2^63), and unknown (NULL) for a missing side."""

from __future__ import annotations

import datetime
import itertools
import random

import duckdb
import pytest

from test_v3_sql_ir import Comparison, Length, Operand, fact, leaf_value, list_fact, matches, policy

HOSTILE = ["a", "%", "_", "\\", "'", '"', "é", "e\u0301", "😀", "A", "%_", "a%", "\\%", "''", "\t", "中"]


def _strings(rnd, n):
    out = ["", None]
    for _ in range(n):
        out.append("".join(rnd.choice(HOSTILE) for _ in range(rnd.randint(0, 5))))
    return out


def _check(pol, records):
    con = duckdb.connect()
    got = matches(con, pol, records)
    bad = []
    for rec, row in zip(records, got):
        for rule, value in zip(pol.rules, row):
            want = leaf_value(rule.when, rec)
            if want is not value:
                bad.append((rule.when.op, rule.when.operand, rec, want, value))
    assert not bad, bad[:5]
    return got


def test_string_operators_are_str_methods():
    rnd = random.Random(15)
    operands = ["%", "_", "a%", "\\", "\\%", "'", '"', "é", "😀", "%_", "e\u0301", "A", "中", "''"]
    leaves = [Comparison("fact", "s", op, Operand(p)) for op in ("starts_with", "ends_with", "contains")
              for p in operands]
    pol = policy({"s": fact("s", "string")}, leaves)
    records = [{"s": s} for s in _strings(rnd, 300)] + [{"s": p} for p in operands] + [{"s": "x" + p + "y"}
                                                                                        for p in operands]
    records += [{"s": "abc"}, {"s": "xaby"}]  # `a%` as LIKE would start "abc"; `_` would be in "xaby"
    rows = _check(pol, records)
    assert rows[0] == (False,) * len(leaves)  # "" is a value: no non-empty operand is in it
    assert rows[1] == (None,) * len(leaves)  # a missing string: unknown
    assert rows[-2][operands.index("a%")] is False and rows[-1][2 * len(operands) + operands.index("_")] is False


def test_list_operators_compare_items_exactly():
    big = 2**53
    leaves = [
        Comparison("fact", "n", "contains", Operand(3)), Comparison("fact", "n", "contains", Operand(3.0)),
        Comparison("fact", "n", "contains", Operand(2.5)), Comparison("fact", "n", "contains", Operand(2**64)),
        Comparison("fact", "n", "contains_any", Operand((2.5, 7, 8.0))),
        Comparison("fact", "n", "contains_all", Operand((3, 4))),
        Comparison("fact", "n", "contains_all", Operand((3, 4.5))),
        Comparison("fact", "x", "contains", Operand(big + 1)), Comparison("fact", "x", "contains", Operand(big)),
        Comparison("fact", "x", "contains_any", Operand((0, 0.1))),
        Comparison("fact", "t", "contains", Operand("%")), Comparison("fact", "t", "contains_any", Operand(("a_", "é"))),
        Comparison("fact", "t", "contains_all", Operand(("%", "a_"))),
        Comparison("fact", "b", "contains", Operand(True)),
    ]
    leaves += [Comparison("fact", "n", "length", Length(op, Operand(k))) for op in ("eq", "ne", "gt", "gte", "lt", "lte")
               for k in (0, 2)]
    leaves += [Comparison("fact", "t", "length", Length("gte", Operand(1)))]
    pol = policy({"n": list_fact("n", "integer"), "x": list_fact("x", "number"), "t": list_fact("t", "string"),
                  "b": list_fact("b", "boolean")}, leaves)
    rnd = random.Random(7)
    records = [{}]
    for _ in range(300):
        records.append({
            "n": tuple(rnd.choice([3, 4, 7, 8, 0, -1, 2**62]) for _ in range(rnd.randint(0, 4))) if rnd.random() < .9 else None,
            "x": tuple(rnd.choice([float(big), float(big + 2), 0.0, -0.0, 0.1, 1e308]) for _ in range(rnd.randint(0, 3)))
            if rnd.random() < .9 else None,
            "t": tuple(rnd.choice(["%", "a_", "a", "é", "e\u0301", "'"]) for _ in range(rnd.randint(0, 3))),
            "b": tuple(rnd.choice([True, False]) for _ in range(rnd.randint(0, 2))),
        })
    _check(pol, records)


def test_fact_to_fact_is_exact_across_types():
    big = 2**53
    ops = ("eq", "ne", "gt", "gte", "lt", "lte")
    leaves = [Comparison("fact", "i", op, Operand(None, fact="x")) for op in ops]
    leaves += [Comparison("fact", "x", op, Operand(None, fact="i")) for op in ops]
    leaves += [Comparison("fact", "i", op, Operand(None, fact="j")) for op in ops]
    leaves += [Comparison("fact", "d", op, Operand(None, fact="e")) for op in ops]
    leaves += [Comparison("fact", "s", op, Operand(None, fact="u")) for op in ("eq", "ne")]
    leaves += [Comparison("fact", "i", "between", (Operand(None, fact="j"), Operand(10))),
               Comparison("fact", "x", "between", (Operand(0), Operand(None, fact="i")))]
    facts = {"i": fact("i", "integer"), "j": fact("j", "integer"), "x": fact("x", "number"),
             "d": fact("d", "date"), "e": fact("e", "date"), "s": fact("s", "string"), "u": fact("u", "string")}
    pol = policy(facts, leaves)
    ints = [None, 0, 1, -1, big - 1, big, big + 1, 2**63 - 1, -(2**63 - 1), 10, 5]
    floats = [None, 0.0, -0.0, 0.5, -0.5, float(big), float(big + 2), 9.2e18, 9.3e18, -9.3e18, 1e300, 10.0, 4.999]
    days = [None, datetime.date(2024, 2, 29), datetime.date(2024, 3, 1), datetime.date(1, 1, 1)]
    texts = [None, "a", "A", "%", "a%"]
    rnd = random.Random(3)
    records = [{"i": i, "x": x} for i, x in itertools.product(ints, floats)]
    records += [{"i": rnd.choice(ints), "j": rnd.choice(ints), "x": rnd.choice(floats), "d": rnd.choice(days),
                 "e": rnd.choice(days), "s": rnd.choice(texts), "u": rnd.choice(texts)} for _ in range(300)]
    _check(pol, records)


@pytest.mark.parametrize("dialect", ["spark", "postgres", "bigquery", "trino", "snowflake", "hive"])
def test_string_operators_render_without_like(dialect):
    from engine.backends.sql import match_query
    from engine.backends.sql.dialects import render

    pol = policy({"s": fact("s", "string")}, [Comparison("fact", "s", op, Operand("a%_\\"))
                                              for op in ("starts_with", "ends_with", "contains")])
    text = render(match_query(pol, dialect=dialect), dialect)
    assert " LIKE " not in text.upper() and "CONTAINS_SUBSTR" not in text.upper()
