"""(Helpers only: no tests here.) Hand-built IR for the v3 SQL tests (policies with list facts, string operators, `{fact: x}`
operands, derived facts, output conditions and list outputs), a Python oracle of each leaf
(the contract's meaning: `str.startswith`, `item in list`, Kleene unknowns), and DuckDB
helpers that stage typed rows and run the match query."""

from __future__ import annotations

import operator
from decimal import Decimal
from fractions import Fraction

from engine.language.model import (Comparison, Effect, FactSpec, Length, Operand, Outcome, OutputSpec, Policy,
                                   Rule)

OPS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
       "lte": operator.le}


def policy(facts: dict, leaves: list, *, derived=None, outputs=None, rules=None, strata=None) -> Policy:
    """A policy with one rule per leaf (each raising flag `f<i>`), or the given rules."""
    if rules is None:
        rules = tuple(Rule(id=f"r{i}", index=i, when=leaf, then=Effect(flags=(f"f{i}",)), leaves=(leaf,))
                      for i, leaf in enumerate(leaves))
    return Policy(id="v3", version=1, title="", description="", language="en", facts=facts, thresholds={},
                  outcomes=(Outcome("ok"), Outcome("no", adverse=True)), default="ok", outputs=outputs or {},
                  reasons={}, rules=tuple(rules), strata=strata or (tuple(range(len(rules))),), digest="d",
                  path="v3.yaml", derived=derived or {})


def fact(name, type_, **kw) -> FactSpec:
    return FactSpec(name, type_, required=kw.pop("required", False), **kw)


def list_fact(name, item_type, **kw) -> FactSpec:
    items = FactSpec(name, item_type, enum=kw.pop("enum", None), minimum=kw.pop("item_min", None),
                     maximum=kw.pop("item_max", None))
    return FactSpec(name, "array", required=kw.pop("required", False), items=items, **kw)


def exact_cmp(op, a, b) -> bool:
    """Python's comparison; a Decimal against a float: the float's repr decimal."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):  # a float as its repr's decimal (semantics.exact)
        a, b = (Decimal(repr(x)) if isinstance(x, float) else x for x in (a, b))
        return OPS[op](Fraction(a), Fraction(b))
    return OPS[op](a, b)


def leaf_value(leaf: Comparison, values: dict):
    """The leaf's value (True, False, None = unknown) for the subject values `values`."""
    v = values.get(leaf.subject)
    if v is None:
        return None
    op, o = leaf.op, leaf.operand
    if op == "length":
        n = o.operand.value
        return OPS[o.op](len(v), n)
    if op == "starts_with":
        return v.startswith(o.value)
    if op == "ends_with":
        return v.endswith(o.value)
    if op == "contains":
        return o.value in v
    if op == "contains_any":
        return any(x in v for x in o.value)
    if op == "contains_all":
        return all(x in v for x in o.value)
    if op in ("in", "not_in"):
        found = any(exact_cmp("eq", v, x) for x in o.value)
        return found if op == "in" else not found
    if op == "between":
        ends = []
        for end in o:
            ends.append(values.get(end.fact) if end.fact is not None else end.value)
        if None in ends:  # one leaf: unknown when an end's fact is missing (runtime.semantics)
            return None
        return exact_cmp("gte", v, ends[0]) and exact_cmp("lte", v, ends[1])
    other = values.get(o.fact) if o.fact is not None else o.value
    if other is None:
        return None
    return exact_cmp(op, v, other)


def kleene(cond, values: dict):
    """A condition's value under Kleene logic (None = unknown), its leaves by `leaf_value`."""
    from engine.language.model import All, Any, Not

    if isinstance(cond, Comparison):
        return leaf_value(cond, values)
    if isinstance(cond, Not):
        v = kleene(cond.item, values)
        return None if v is None else not v
    found = [kleene(c, values) for c in cond.items]
    if isinstance(cond, All):
        return False if False in found else None if None in found else True
    if isinstance(cond, Any):
        return True if True in found else None if None in found else False
    raise TypeError(cond)


def sql_param(spec, value):
    if value is None:
        return None
    if spec.type == "array":
        return list(value)
    return value


def stage(con, pol: Policy, rows: list[dict], table: str = "facts") -> None:
    from engine.backends.sql.dialects import dtype
    from engine.backends.sql.literals import spec_sql_type

    cols = ", ".join(f'"{n}" {dtype(spec_sql_type(s)).sql("duckdb")}' for n, s in pol.facts.items())
    con.execute(f'CREATE OR REPLACE TABLE "{table}" ("__row" BIGINT, "__type_error" VARCHAR, {cols})')
    marks = ", ".join("?" for _ in range(len(pol.facts) + 2))
    con.executemany(f'INSERT INTO "{table}" VALUES ({marks})',
                    [[k, None] + [sql_param(s, r.get(n)) for n, s in pol.facts.items()] for k, r in enumerate(rows)])


def matches(con, pol: Policy, rows: list[dict], dialect="duckdb") -> list[tuple]:
    from engine.backends.sql import match_query
    from engine.backends.sql.dialects import render

    stage(con, pol, rows)
    sql = render(match_query(pol, source="facts", row=True), dialect)
    found = con.execute(sql + ' ORDER BY "__row"').fetchall()
    if pol.derived:  # `__native` last: such a record's matches are the native code's (None here)
        return [None if r[-1] else r[1:-1] for r in found]
    return [r[1:] for r in found]


def decisions(con, pol: Policy, rows: list[dict]) -> list[dict]:
    from engine.backends.sql import decision_query
    from engine.backends.sql.dialects import render

    stage(con, pol, rows)
    sql = render(decision_query(pol, source="facts", type_error=True, row=True), "duckdb")
    cur = con.execute(sql + ' ORDER BY "__row"')
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


__all__ = ["Comparison", "Length", "Operand", "OutputSpec", "Rule", "Effect", "policy", "fact", "list_fact",
           "leaf_value", "matches", "decisions", "stage", "exact_cmp"]
