"""Derived facts (`Policy.derived`) in the decision query: each one's exact DECIMAL column,
computed the way computed outputs are (`computed.Calculator`, `decimals`: bounds proved at
compile time, else `SqlLimitError`), in declaration order, before the first stratum reads it.

`add_derived` adds, to the query's chain:
- the decimal column of every fact a derived fact reads, and of every numeric fact compared
  with a derived fact (`{fact: name}`): `computed.fact_decimal`, so a double whose decimal
  the SQL form cannot hold exactly flags its record `NATIVE` (decided by the native code);
- `__e<k>`, derived fact k's value: NULL when a fact or derived fact it reads is NULL
  (`runtime.expressions`: a derived fact is missing when an input is), else the DECIMAL of
  its expression (an integer derived fact too: its value is integral, and comparisons read
  the exact value whatever its type);
- for a derived fact that divides by a fact (`div: [monthly_debt, monthly_income]`), whose
  value Python rounds to 28 digits: its numerator and divisor (`Ratio`), which conditions
  compare without dividing (`operators.ratio_vs`, proved exact or refused). An output or
  another derived fact may not read such a fact in SQL (refused); a message that shows it
  sends the records where its rule matches to the native code (`NATIVE`, `query.decision`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ...errors import BackendError, SqlLimitError
from ...language.model import SUBJECT_DERIVED, Arith, Operand, Policy
from .computed import Calculator, _refs, decimal_columns
from .decimals import NATIVE, Num
from .dialects import col, dtype


def _operands(leaf) -> list:
    if isinstance(leaf.operand, tuple):
        return [o for o in leaf.operand if isinstance(o, Operand)]
    return [leaf.operand] if isinstance(leaf.operand, Operand) else []


def decimal_facts(policy: Policy) -> list[str]:
    """The facts whose exact decimal the derived facts and their comparisons read."""
    used: set[str] = set()
    for d in policy.derived.values():
        used |= _refs(d.expr, "fact")
    for rule in policy.rules:
        for leaf in rule.leaves:
            others = [o.fact for o in _operands(leaf) if o.fact is not None]
            if leaf.kind == SUBJECT_DERIVED:
                used |= {n for n in others if n in policy.facts}
            elif leaf.kind == "fact" and any(n in policy.derived for n in others):
                used.add(leaf.subject)
    return [n for n in policy.facts if n in used]


def add_derived(builder, chain) -> None:
    """Sets `builder.derived` (name → Num over its column) and `builder.fact_nums` (fact →
    its decimal Num), adding their columns to `chain`; `__rejected` becomes `NATIVE` for a
    record whose double the decimal cannot hold."""
    policy = builder.policy
    builder.derived, builder.fact_nums, builder.ratios = {}, {}, {}
    if not policy.derived:
        return
    names = decimal_facts(policy)
    columns, flags = decimal_columns(builder, names, "a derived fact cannot read it exactly")
    chain.add(columns)
    if flags:
        native = exp.Case(ifs=[exp.If(this=exp.or_(*flags) if len(flags) > 1 else flags[0],
                                      true=exp.Literal.string(NATIVE))],
                          default=exp.Cast(this=exp.Null(), to=dtype("VARCHAR")))
        chain.replace("__rejected", exp.Coalesce(this=col("__rejected"), expressions=[native]))
    calc = Calculator(policy, {n: col(f"__x{builder.fact_col[n][3:]}") for n in names})
    builder.ratios = {}
    for k, (name, d) in enumerate(policy.derived.items()):
        inputs = [col(builder.fact_col[f]) for f in policy.facts if f in _refs(d.expr, "fact")]
        inputs += [calc.derived[f].sql.copy() for f in policy.derived if f in _refs(d.expr, "derived")]
        if _quotient(d.expr, calc):
            builder.ratios[name] = _ratio(calc, d.expr, inputs, chain, k, name)
            continue
        try:
            n = calc.expr(d.expr)
        except BackendError as exc:
            raise type(exc)(f"derived fact `{name}`: {exc}") from None
        value = n.sql
        if inputs:
            missing = exp.or_(*[exp.Is(this=i, expression=exp.Null()) for i in inputs])
            value = exp.Case(ifs=[exp.If(this=missing, true=exp.Cast(this=exp.Null(), to=n.type()))],
                             default=n.sql)
        chain.add([(f"__e{k}", value)])
        calc.derived[name] = Num(col(f"__e{k}"), n.lo, n.hi, n.scale)
    builder.derived = dict(calc.derived)
    builder.fact_nums = {n: calc.shown_fact(n) for n in names}


@dataclass(frozen=True)
class Ratio:
    """A derived fact `div: [n, d]` whose divisor is not a constant: Python rounds the
    quotient to 28 digits, which SQL does not, so its value is never computed; conditions
    compare it without dividing (`operators.ratio_vs`). Its numerator and divisor are
    columns (`__e<k>`, `__q<k>`: NULL when an input is missing)."""

    num: Num
    den: Num


def _quotient(e, calc) -> bool:
    """Whether `e` divides by something that is not a constant (a fact, a derived fact)."""
    return isinstance(e, Arith) and e.op == "div" and len(e.args) == 2 and calc._constant(e.args[1]) is None


def _ratio(calc, e, inputs, chain, k: int, name: str) -> Ratio:
    try:
        num, den = calc.expr(e.args[0]), calc.expr(e.args[1])
    except BackendError as exc:
        raise type(exc)(f"derived fact `{name}`: {exc}") from None
    if den.lo <= 0 <= den.hi:
        raise SqlLimitError(f"derived fact `{name}`: its divisor's proved range holds 0")
    missing = exp.or_(*[exp.Is(this=i, expression=exp.Null()) for i in inputs]) if inputs else None

    def column(n: Num) -> exp.Expression:
        if missing is None:
            return n.sql
        return exp.Case(ifs=[exp.If(this=missing.copy(), true=exp.Cast(this=exp.Null(), to=n.type()))], default=n.sql)

    chain.add([(f"__e{k}", column(num)), (f"__q{k}", column(den))])
    return Ratio(Num(col(f"__e{k}"), num.lo, num.hi, num.scale), Num(col(f"__q{k}"), den.lo, den.hi, den.scale))
