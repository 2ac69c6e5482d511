"""Fact validation in SQL: the `__rejected` column, as `runtime.facts.check_facts` decides.

A record gets no decision when a declared fact is missing though required (and has no
default), lies below its minimum or above its maximum, is not one of its enum values, or
is NaN or ±Infinity (a date fact: a DATE column, bounded by dates); or when the staging layer found a raw value of the wrong type (its
`__type_error` column names that fact). `__rejected` is the first such fact in declaration
order (the fact whose problem native reports first), NULL for a valid record. Bounds are
compared exactly (`literals.compare_value`), so `minimum: 0.5` on an integer fact refuses
0 and accepts 1, as Python does.
"""

from __future__ import annotations

from sqlglot import exp

from ...language.model import DATE, Policy
from .dialects import dtype
from .literals import compare_value, member_literals


def non_finite(column: exp.Expression) -> exp.Expression:
    """True for NaN and ±Infinity (every executed engine holds NaN equal to itself, unlike
    IEEE; `x - x <> 0` would miss NaN there), FALSE for a finite double, NULL for NULL."""
    specials = [exp.Cast(this=exp.Literal.string(s), to=dtype("DOUBLE")) for s in ("NaN", "Infinity", "-Infinity")]
    return exp.In(this=column.copy(), expressions=specials)


_ITEM = "__i"  # the lambda's variable over a list's items (no policy name starts with `__`)


def _item_problem(dialect: str, items, column: exp.Expression) -> exp.Expression | None:
    """TRUE when some item of the list breaks the items' spec (bounds, enum, NaN): the
    items' tests under a lambda (`LIST_FILTER` in DuckDB, `FILTER` in Spark)."""
    x = exp.to_identifier(_ITEM)
    tests = _value_tests(items, exp.Column(this=x.copy()))
    if not tests:
        return None
    from .operators import list_dialect

    list_dialect(dialect)
    body = exp.or_(*[exp.Is(this=exp.Paren(this=t), expression=exp.Boolean(this=True)) for t in tests])
    if dialect == "postgres":  # no lambdas: a subquery over the items
        items_of = exp.Unnest(expressions=[column.copy()],
                              alias=exp.TableAlias(this=exp.to_identifier("__items"), columns=[x.copy()]))
        return exp.Exists(this=exp.select("1").from_(items_of).where(body))
    fn = "LIST_FILTER" if dialect == "duckdb" else "FILTER"
    kept = exp.Anonymous(this=fn, expressions=[column.copy(), exp.Lambda(this=body, expressions=[x])])
    return exp.GT(this=exp.ArraySize(this=kept), expression=exp.Literal.number(0))


def fact_problem(policy: Policy, name: str, column: exp.Expression, type_error: exp.Expression | None,
                 dialect: str = "duckdb"):
    """A boolean that is TRUE when the fact's raw value must be refused (never NULL)."""
    spec = policy.facts[name]
    tests: list[exp.Expression] = []
    if type_error is not None:
        tests.append(exp.EQ(this=type_error.copy(), expression=exp.Literal.string(name)))
    if spec.required and not spec.has_default:
        tests.append(exp.Is(this=column.copy(), expression=exp.Null()))
    if spec.type == "array":  # the length's bounds, then each item as a scalar of the items' spec
        from .operators import list_size

        size = list_size(dialect, column)
        if spec.minimum is not None:
            tests.append(compare_value("integer", size, "lt", spec.minimum))
        if spec.maximum is not None:
            tests.append(compare_value("integer", size.copy(), "gt", spec.maximum))
        items = _item_problem(dialect, spec.items, column)
        if items is not None:
            tests.append(items)
    else:
        tests += _value_tests(spec, column)
    if not tests:
        return None
    # Each test is NULL for a missing value: IS TRUE makes the whole non-NULL. A NaN is
    # refused by its own test before the bounds (which NaN would compare oddly with).
    return exp.or_(*[exp.Is(this=exp.Paren(this=t), expression=exp.Boolean(this=True)) for t in tests])


def _value_tests(spec, column: exp.Expression) -> list[exp.Expression]:
    """The tests of a scalar value against its spec: NaN, bounds, enum."""
    tests: list[exp.Expression] = []
    if spec.type == "number":
        tests.append(non_finite(column))
    if spec.numeric or spec.type == DATE:  # a date fact's bounds are dates
        if spec.minimum is not None:
            tests.append(compare_value(spec.type, column, "lt", spec.minimum))
        if spec.maximum is not None:
            tests.append(compare_value(spec.type, column, "gt", spec.maximum))
    if spec.type == "string" and spec.enum is not None:
        members = member_literals("string", spec.enum)
        tests.append(exp.Not(this=exp.Paren(this=exp.In(this=column.copy(), expressions=members))))
    return tests


def rejected(policy: Policy, columns: dict[str, exp.Expression], type_error: exp.Expression | None,
             dialect: str = "duckdb") -> exp.Expression:
    """The `__rejected` value: the first refused fact's name, else the staging layer's
    `__type_error` (a problem outside the declared facts), else NULL."""
    ifs = []
    for name in policy.facts:
        problem = fact_problem(policy, name, columns[name], type_error, dialect)
        if problem is not None:
            ifs.append(exp.If(this=problem, true=exp.Literal.string(name)))
    default = type_error.copy() if type_error is not None else exp.Cast(this=exp.Null(), to=dtype("VARCHAR"))
    if not ifs:
        return default
    return exp.Case(ifs=ifs, default=default)

