"""Policy values as SQL literals, and exact comparisons of a typed column with them.

Python compares an int with a float exactly; SQL converts one side, and a BIGINT compared
with a DOUBLE loses digits beyond 2^53. So a comparison is rewritten at compile time into
one whose literal has the column's own type, with the same answer for every value the
column can hold (the durable compiler does the same for its int64):

- an integer fact (BIGINT, staged values in [-(2^63-1), 2^63-1]) compared with a float or an
  integer beyond int64: `x > 2.5` is `x > 2`, `x >= 2.5` is `x >= 3`, `x = 2.5` is false;
  a bound beyond the range makes the comparison constant (`x < 1e20` is true).
- a number fact (DOUBLE, finite) compared with an integer that no double equals: against
  the doubles either side of it (`x >= 2^53+1` is `x >= 2^53+2`); `x = 2^53+1` is false.
- doubles are written `CAST('<repr>' AS DOUBLE)`: every engine reads that text with a
  correctly rounded parser, while a bare `0.1` is a DECIMAL in DuckDB and Spark.

A constant comparison keeps SQL's NULL for a missing fact (`CASE WHEN x IS NULL THEN NULL
ELSE FALSE END`): under Kleene logic a missing fact makes it unknown, never false.
"""

from __future__ import annotations

import datetime
import math
from fractions import Fraction

from sqlglot import exp

from ...errors import BackendError, SqlLimitError
from .dialects import dtype

INT_MAX = 2**63 - 1
INT_MIN = -INT_MAX  # the staged range is symmetric, as durable's: -2^63 is refused at staging
MAX_DOUBLE = Fraction(1.7976931348623157e308)

SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN", "date": "DATE"}


def sql_type(ftype: str) -> str:
    return SQL_TYPES[ftype]


def spec_sql_type(spec) -> str:
    """The column type of a fact or output spec: a list (`type: array`) is a LIST/ARRAY of
    its items' type (`BIGINT[]` in DuckDB, `ARRAY<BIGINT>` in Spark: sqlglot renders it)."""
    if spec.type == "array":
        return f"ARRAY<{SQL_TYPES[spec.items.type]}>"
    return SQL_TYPES[spec.type]


def double(value: float) -> exp.Expression:
    if not math.isfinite(value):
        raise BackendError(f"a non-finite number `{value!r}` has no SQL literal")
    return exp.Cast(this=exp.Literal.string(repr(float(value))), to=dtype("DOUBLE"))


def literal(ftype: str, value) -> exp.Expression:
    """A value of a declared type (integer, number, string, boolean) as an SQL literal of
    the column type; the value must fit (integers in the staged range, numbers finite)."""
    if value is None:
        return exp.Cast(this=exp.Null(), to=dtype(sql_type(ftype)))
    if ftype == "boolean":
        return exp.Boolean(this=bool(value))
    if ftype == "string":
        return exp.Literal.string(value)
    if ftype == "date":
        return date_literal(value)
    if ftype == "integer":
        value = int(value)
        if not INT_MIN <= value <= INT_MAX:
            raise SqlLimitError(f"the integer {value} is beyond the SQL form's int64")
        return exp.Cast(this=exp.Literal.number(str(value)), to=dtype("BIGINT"))
    if isinstance(value, int):
        as_float = float(value)
        if as_float != value:
            raise SqlLimitError(f"the integer {value} has no exact double")
        value = as_float
    return double(value)


def spec_literal(spec, value) -> exp.Expression:
    """A value of a fact's or output's spec as an SQL literal: a list (a tuple or list of
    items) as an array of its items' literals, typed (an empty array has no type else)."""
    if spec.type != "array":
        return literal(spec.type, value)
    to = dtype(spec_sql_type(spec))
    if value is None:
        return exp.Cast(this=exp.Null(), to=to)
    return exp.Cast(this=exp.Array(expressions=[literal(spec.items.type, v) for v in value]), to=to)


def date_literal(value: datetime.date) -> exp.Expression:
    """A calendar day as `CAST('YYYY-MM-DD' AS DATE)`: the one spelling every dialect reads
    alike (a bare `DATE '…'` is not Spark's nor BigQuery's everywhere)."""
    if type(value) is not datetime.date:
        raise BackendError(f"a date value must be a calendar day, got `{value!r}`")
    return exp.Cast(this=exp.Literal.string(value.isoformat()), to=dtype("DATE"))


def constant(column: exp.Expression, value: bool) -> exp.Expression:
    """`value` where the column is present, NULL (unknown) where it is missing."""
    return exp.Case(ifs=[exp.If(this=exp.Is(this=column.copy(), expression=exp.Null()),
                                true=exp.Cast(this=exp.Null(), to=dtype("BOOLEAN")))],
                    default=exp.Boolean(this=value))


_OPS = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}


def _cmp(op: str, column: exp.Expression, lit: exp.Expression) -> exp.Expression:
    return _OPS[op](this=column.copy(), expression=lit)


def compare_integer(column: exp.Expression, op: str, value) -> exp.Expression:
    """`column op value` for a BIGINT column and any int or float `value`, exactly."""
    q = Fraction(value)
    floor, ceil = math.floor(q), math.ceil(q)

    def lit(n: int) -> exp.Expression:
        return literal("integer", n)

    if op in ("eq", "ne"):
        if q.denominator != 1 or not INT_MIN <= floor <= INT_MAX:
            return constant(column, op == "ne")
        return _cmp(op, column, lit(floor))
    if op == "gt":  # x > q  <=>  x > floor(q)
        return constant(column, False) if floor >= INT_MAX else constant(column, True) if floor < INT_MIN \
            else _cmp("gt", column, lit(floor))
    if op == "gte":  # x >= q  <=>  x >= ceil(q)
        return constant(column, False) if ceil > INT_MAX else constant(column, True) if ceil <= INT_MIN \
            else _cmp("gte", column, lit(ceil))
    if op == "lt":  # x < q  <=>  x < ceil(q)
        return constant(column, True) if ceil > INT_MAX else constant(column, False) if ceil <= INT_MIN \
            else _cmp("lt", column, lit(ceil))
    if op == "lte":  # x <= q  <=>  x <= floor(q)
        return constant(column, True) if floor >= INT_MAX else constant(column, False) if floor < INT_MIN \
            else _cmp("lte", column, lit(floor))
    raise ValueError(op)


def _neighbours(q: Fraction) -> tuple[float | None, float | None]:
    """The largest double <= q and the smallest double >= q (None beyond the finite ones)."""
    if q > MAX_DOUBLE:
        return 1.7976931348623157e308, None
    if q < -MAX_DOUBLE:
        return None, -1.7976931348623157e308
    f = float(q)  # correctly rounded
    if Fraction(f) == q:
        return f, f
    if Fraction(f) < q:
        return f, math.nextafter(f, math.inf)
    return math.nextafter(f, -math.inf), f


def compare_number(column: exp.Expression, op: str, value) -> exp.Expression:
    """`column op value` for a DOUBLE column (finite values) and any int or float, exactly."""
    lo, hi = _neighbours(Fraction(value))
    if lo is not None and lo == hi:
        return _cmp(op, column, double(lo))
    if op in ("eq", "ne"):
        return constant(column, op == "ne")
    if op in ("gt", "lte"):  # x > v <=> x > lo;  x <= v <=> x <= lo
        return constant(column, op == "gt") if lo is None else _cmp(op, column, double(lo))
    if op in ("gte", "lt"):  # x >= v <=> x >= hi;  x < v <=> x < hi
        return constant(column, op == "lt") if hi is None else _cmp(op, column, double(hi))
    raise ValueError(op)


def compare_value(ftype: str, column: exp.Expression, op: str, value) -> exp.Expression:
    """`column op value` (eq, ne, gt, gte, lt, lte) for a column of a declared type."""
    if ftype == "integer":
        return compare_integer(column, op, value)
    if ftype == "number":
        return compare_number(column, op, value)
    if ftype == "date":  # DATE against a DATE literal: exact in every dialect
        return _cmp(op, column, date_literal(value))
    if op not in ("eq", "ne"):
        raise BackendError(f"`{op}` on a {ftype} fact")
    return _cmp(op, column, literal(ftype, value))


def member_literals(ftype: str, values) -> list[exp.Expression]:
    """The literals of a list (`in`/`not_in`) that a column of the type can equal, without
    repeats, in order; the other members can never be equal to the column's value."""
    out: list[exp.Expression] = []
    seen: set = set()
    for v in values:
        if ftype == "integer":
            q = Fraction(v)
            if q.denominator != 1 or not INT_MIN <= q <= INT_MAX:
                continue
            key = int(q)
        elif ftype == "number":
            lo, hi = _neighbours(Fraction(v))
            if lo is None or lo != hi:
                continue
            key = lo
        else:
            key = v
        if (type(key), key) in seen:
            continue
        seen.add((type(key), key))
        out.append(literal(ftype, key))
    return out


def compare_in(ftype: str, column: exp.Expression, values, negate: bool) -> exp.Expression:
    """`column IN (…)` (or NOT IN); no member is ever NULL (`x NOT IN (a, NULL)` is NULL)."""
    members = member_literals(ftype, values)
    if not members:
        return constant(column, negate)
    test = exp.In(this=column.copy(), expressions=members)
    return exp.Not(this=exp.Paren(this=test)) if negate else test
