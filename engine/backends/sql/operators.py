"""The v3 condition operators in SQL: string tests, list tests, and one value against another.

Each function returns a boolean SQL expression that is NULL exactly where the policy
language's leaf is unknown (a missing fact, SQL NULL), and otherwise the value Python
computes (`runtime.semantics`):

- `string_test`: `str.startswith`/`str.endswith`/`in` on the whole string, exact and
  case-sensitive. Never `LIKE` (`%`, `_` and `\\` in an operand are characters, not
  patterns): the dialects' own functions (`STARTS_WITH`, `ENDS_WITH`, `CONTAINS`; `STRPOS`
  where `CONTAINS` means something else: BigQuery's `CONTAINS_SUBSTR` folds case).
- `list_test`: `item in list` (contains), `any(...)` (contains_any), `all(...)`
  (contains_all) on a LIST/ARRAY column. An item operand is compared as the scalar
  literals are (`literals.member_literals`): an operand no item of the list's type can
  equal (2.5 in a list of integers, 2^53+1 in a list of doubles) is never contained.
- `length_test`: `len(list) op n`, exactly (`literals.compare_integer`); Spark's `SIZE` of
  a NULL is -1 in legacy mode, so a missing list is NULL by a CASE of our own.
- `values_test`: one column against another (`{fact: name}`), exact across BIGINT, DOUBLE,
  DECIMAL and DATE: SQL would convert a BIGINT to DOUBLE (losing digits beyond 2^53) where
  Python compares an int with a float exactly, so an integer against a double is compared
  against the double's floor or ceiling as a BIGINT (`int_vs_double`).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from sqlglot import exp

from ...errors import BackendError, SqlLimitError
from .decimals import MAX_DIGITS, Num, decimal_type
from .decimals import constant as dec_constant
from .dialects import dtype
from .literals import _cmp, compare_integer, constant, double, member_literals

_NULL_BOOL = exp.Cast(this=exp.Null(), to=dtype("BOOLEAN"))


def _null_bool() -> exp.Expression:
    return _NULL_BOOL.copy()


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e.copy(), expression=exp.Null())


def _paren(e: exp.Expression) -> exp.Expression:
    return e if isinstance(e, (exp.Column, exp.Paren, exp.Boolean, exp.Case)) else exp.Paren(this=e)


def _any(items: list[exp.Expression]) -> exp.Expression:
    return exp.Paren(this=exp.or_(*items)) if len(items) > 1 else items[0]


def _all(items: list[exp.Expression]) -> exp.Expression:
    return exp.Paren(this=exp.and_(*items)) if len(items) > 1 else items[0]


# -- strings ------------------------------------------------------------------------------

def string_test(dialect: str, op: str, column: exp.Expression, operand: str) -> exp.Expression:
    """`column op operand` for op in starts_with, ends_with, contains (a string operand)."""
    if not isinstance(operand, str):
        raise BackendError(f"`{op}` needs a string operand, got `{operand!r}`")
    lit = exp.Literal.string(operand)
    if op == "starts_with":
        return exp.StartsWith(this=column.copy(), expression=lit)
    if op == "ends_with":
        if dialect in ("hive", "trino"):  # no ENDS_WITH there: the last characters compared
            return _ends_by_length(column, operand)
        if dialect == "postgres":  # no ENDS_WITH in any PostgreSQL; SUBSTR(x, -n) is not a tail there
            tail = exp.Anonymous(this="RIGHT", expressions=[column.copy(), exp.Literal.number(len(operand))])
            return exp.EQ(this=tail, expression=lit)
        return exp.EndsWith(this=column.copy(), expression=lit)
    if op == "contains":
        if dialect in ("duckdb", "spark", "snowflake"):
            return exp.Anonymous(this="CONTAINS", expressions=[column.copy(), lit])
        # STRPOS/INSTR count characters from 1; 0 when absent (NULL for a NULL column)
        fn = "INSTR" if dialect == "hive" else "STRPOS"
        return exp.GT(this=exp.Anonymous(this=fn, expressions=[column.copy(), lit]), expression=exp.Literal.number(0))
    raise BackendError(f"`{op}` is not a string operator")


def _ends_by_length(column: exp.Expression, operand: str) -> exp.Expression:
    n = len(operand)
    tail = exp.Anonymous(this="SUBSTR", expressions=[column.copy(), exp.Literal.number(-n)])
    long_enough = exp.GTE(this=exp.Length(this=column.copy()), expression=exp.Literal.number(n))
    return exp.and_(long_enough, exp.EQ(this=tail, expression=exp.Literal.string(operand)))


# -- lists --------------------------------------------------------------------------------

LIST_DIALECTS = ("duckdb", "spark", "postgres")  # where the SQL form's list tests are executed and checked


def list_dialect(dialect: str) -> None:
    """Refuse list facts where their SQL is not executed and checked against native."""
    if dialect not in LIST_DIALECTS:
        raise SqlLimitError(f"list facts in {dialect} SQL (the SQL form runs them in DuckDB, Spark and PostgreSQL)")


def _contains(dialect: str, column: exp.Expression, item: exp.Expression) -> exp.Expression:
    list_dialect(dialect)
    found = exp.ArrayContains(this=column.copy(), expression=item)
    if dialect == "postgres":  # `x = ANY(list)`, which sqlglot wraps in COALESCE(…, FALSE): a missing list is NULL
        return exp.Case(ifs=[exp.If(this=_is_null(column), true=exp.Null())], default=found)
    return found


def list_test(dialect: str, item_type: str, op: str, column: exp.Expression, operand) -> exp.Expression:
    """`column op operand` for op in contains (one item), contains_any, contains_all (a
    tuple of items) on a list column of `item_type` items (never NULL items: validation)."""
    items = (operand,) if op == "contains" else tuple(operand)
    members = member_literals(item_type, items)
    if op in ("contains", "contains_any"):
        if not members:  # no operand item can be equal to an item of this list
            return constant(column, False)
        return _any([_contains(dialect, column, m) for m in members])
    if op == "contains_all":
        if not items:
            return constant(column, True)
        if any(not member_literals(item_type, (v,)) for v in items):
            return constant(column, False)  # an operand item that no item equals: never all
        return _all([_contains(dialect, column, m) for m in members])
    raise BackendError(f"`{op}` is not a list operator")


def list_size(dialect: str, column: exp.Expression) -> exp.Expression:
    """The list's length as BIGINT, NULL for a missing list (whatever the dialect's SIZE says)."""
    list_dialect(dialect)
    # PostgreSQL's ARRAY_LENGTH is NULL for an empty array: CARDINALITY is 0
    length = exp.Anonymous(this="CARDINALITY", expressions=[column.copy()]) if dialect == "postgres" \
        else exp.ArraySize(this=column.copy())
    size = exp.Cast(this=length, to=dtype("BIGINT"))
    return exp.Case(ifs=[exp.If(this=_is_null(column), true=exp.Cast(this=exp.Null(), to=dtype("BIGINT")))],
                    default=size)


def length_test(dialect: str, column: exp.Expression, op: str, value) -> exp.Expression:
    """`len(column) op value` for an int (or any number) `value`, exactly."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BackendError(f"`length` needs an integer operand, got `{value!r}`")
    return compare_integer(list_size(dialect, column), op, value)


# -- one value against another (`{fact: name}`) --------------------------------------------

def _flip(op: str) -> str:
    return {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}.get(op, op)


_TWO_63 = float(2**63)  # exactly representable; every BIGINT is below it, -2^63 is not staged


def int_vs_double(i: exp.Expression, op: str, d: exp.Expression) -> exp.Expression:
    """`i op d` for a BIGINT `i` and a finite DOUBLE `d`, exactly (as Python compares an int
    with a float): i > d ⟺ i > floor(d); i ≥ d ⟺ i ≥ ceil(d); i = d ⟺ d integral and i = d,
    with floor/ceil as BIGINTs when |d| < 2^63, and constants beyond."""
    below, above = exp.LT(this=d.copy(), expression=double(-_TWO_63)), exp.GTE(this=d.copy(), expression=double(_TWO_63))

    def as_int(fn: type) -> exp.Expression:
        return exp.Cast(this=fn(this=d.copy()), to=dtype("BIGINT"))

    if op in ("eq", "ne"):
        integral = exp.EQ(this=exp.Floor(this=d.copy()), expression=d.copy())
        inside = exp.and_(exp.Not(this=exp.Paren(this=below)), exp.Not(this=exp.Paren(this=above)), integral)
        equal = _cmp(op, i, as_int(exp.Floor))
        result = exp.Case(ifs=[exp.If(this=inside, true=equal)], default=exp.Boolean(this=op == "ne"))
    else:
        # beyond the BIGINT range, the integer is on one side of every such double
        small_d = exp.Boolean(this=op in ("gt", "gte"))  # d < -2^63: i > d
        big_d = exp.Boolean(this=op in ("lt", "lte"))
        fn = exp.Floor if op in ("gt", "lte") else exp.Ceil
        result = exp.Case(ifs=[exp.If(this=below, true=small_d), exp.If(this=above, true=big_d)],
                          default=_cmp(op, i, as_int(fn)))
    return exp.Case(ifs=[exp.If(this=exp.or_(_is_null(i), _is_null(d)), true=_null_bool())], default=result)


def decimal_vs(left: Num, op: str, right: Num) -> exp.Expression:
    """Two exact DECIMALs compared in one DECIMAL type that holds both (else refused: an
    engine would compare them as doubles)."""
    s = max(left.scale, right.scale)
    ints = max(left.int_digits, right.int_digits)
    if ints + s > MAX_DIGITS:
        raise SqlLimitError("the two values of a comparison need more than 38 digits in one DECIMAL type")
    t = decimal_type(ints + s, s)
    return _cmp(op, exp.Cast(this=left.sql.copy(), to=t.copy()), exp.Cast(this=right.sql.copy(), to=t))


def decimal_vs_value(num: Num, op: str, value) -> exp.Expression:
    """A DECIMAL (a multiple of 10^-scale within [lo, hi]) against a literal (an int or a
    Decimal at its value, a float at the decimal its repr says, as `semantics.exact` reads
    one against a Decimal, so `0.4` equals a derived 0.4): against
    the multiple of 10^-scale on the right side of it, a constant beyond the proved range."""
    if isinstance(value, bool):
        raise BackendError("a number compared with a boolean")
    # a float against a Decimal is the decimal its shortest repr says (`semantics.exact`)
    q = Fraction(Decimal(repr(value))) if isinstance(value, float) else Fraction(value)
    unit = Fraction(1, 10 ** num.scale)
    floor, ceil = math.floor(q / unit) * unit, math.ceil(q / unit) * unit
    column = num.sql

    def side(bound: Fraction, cmp_op: str) -> exp.Expression:
        if bound < num.lo or bound > num.hi:  # decide from the proved range
            true = {"gt": num.lo > bound, "gte": num.lo >= bound, "lt": num.hi < bound, "lte": num.hi <= bound}[cmp_op]
            false = {"gt": num.hi <= bound, "gte": num.hi < bound, "lt": num.lo >= bound, "lte": num.lo > bound}[cmp_op]
            if true or false:
                return constant(column, true)
        return decimal_vs(num, cmp_op, dec_constant(bound))

    if op in ("eq", "ne"):
        if floor != q or q < num.lo or q > num.hi:
            return constant(column, op == "ne")
        return decimal_vs(num, op, dec_constant(q))
    if op in ("gt", "lte"):  # x > q ⟺ x > floor;  x <= q ⟺ x <= floor
        return side(floor, op)
    if op in ("gte", "lt"):
        return side(ceil, op)
    raise BackendError(f"`{op}` on a number")


def values_test(op: str, left: tuple[str, exp.Expression], right: tuple[str, exp.Expression]) -> exp.Expression:
    """`left op right` for two columns of declared types (integer, number, date, string,
    boolean), exactly; NULL when either is NULL (SQL's own rule for `=`/`<`)."""
    (lt, lc), (rt, rc) = left, right
    if lt == "integer" and rt == "number":
        return int_vs_double(lc, op, rc)
    if lt == "number" and rt == "integer":
        return int_vs_double(rc, _flip(op), lc)
    if lt == rt or (lt in ("integer", "number") and rt in ("integer", "number")):
        if lt in ("string", "boolean") and op not in ("eq", "ne"):
            raise BackendError(f"`{op}` between {lt} facts")
        return _cmp(op, lc, rc.copy())
    raise BackendError(f"a {lt} compared with a {rt}")



# -- a derived fact that divides by a fact (`derived.Ratio`) -------------------------------

def ratio_vs(ratio, op: str, other: Num) -> exp.Expression:
    """`n / d op c` for a derived fact n/d (Python: the quotient rounded to 28 significant
    digits) and an exact decimal c (a literal, or a column), without dividing: n - c·d
    compared with 0 (the order flipped for a negative d). Exact when the rounding cannot
    reach c: rounding is monotone and c (at most 28 digits) is its own rounding, so the
    rounded quotient is on r's side of c, or equal to it only when |r - c| is within half a
    unit of the 28th digit, at most |c|·10^-27. When r ≠ c, |n - c·d| ≥ 10^-S (S: the
    finer of n's scale and c·d's), so |r - c| ≥ 10^-S / max|d|: proved larger here, or
    the comparison is refused (`SqlLimitError`)."""
    n, d = ratio.num, ratio.den
    big_d = max(abs(d.lo), abs(d.hi))
    big_c = max(abs(other.lo), abs(other.hi))
    finest = max(n.scale, other.scale + d.scale)
    if big_c and Fraction(1, 10 ** finest) / big_d <= 10 * big_c * Fraction(1, 10 ** 27):
        raise SqlLimitError("a derived quotient compared with a value it may come within 28 digits of: "
                            "only the native division rounds it exactly")
    from .decimals import add as dec_add, mul as dec_mul

    diff = dec_add(n, dec_mul(d, other), -1)
    if d.hi < 0:
        op = _flip(op)
    return decimal_vs_value(diff, op, 0)
