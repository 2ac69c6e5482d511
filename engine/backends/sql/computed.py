"""Computed outputs (`OutputSpec.computed`) in the decision query: each expression of the IR
(`model.Arith`, `Ref`, `Round`, `Decimal`) as exact DECIMAL SQL (`decimals`), rounded by the
output's `round` before `combine`, as `runtime.expressions` and `decision.assemble` do.

`Calculator` knows the decimal value of every fact an expression reads (a column of the
query: `add_computed` adds them, and each computed output's column, in declaration order),
and the final value of every output computed so far (for `Ref(kind="output")` and for
messages). The bounds it proves feed the next expression.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from sqlglot import exp

from ...errors import BackendError, SqlLimitError
from ...language.model import Arith, Policy, Ref, Round, is_expr
from . import decimals as dec
from .decimals import Num
from .dialects import col, dtype
from .literals import INT_MAX, INT_MIN, double, spec_sql_type


def _null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _or(items: list) -> exp.Expression:
    return exp.Paren(this=exp.or_(*items)) if len(items) > 1 else items[0]


def _and(items: list) -> exp.Expression:
    return exp.Paren(this=exp.and_(*items)) if len(items) > 1 else items[0]


def _case(ifs: list) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in ifs])


def _refs(e, kind: str) -> set[str]:
    if isinstance(e, Ref):
        return {e.name} if e.kind == kind else set()
    if isinstance(e, Arith):
        return set().union(*[_refs(a, kind) for a in e.args])
    if isinstance(e, Round):
        return _refs(e.arg, kind)
    return set()


def output_values(policy: Policy, name: str) -> list:
    spec = policy.outputs[name]
    return [spec.default] + [v for r in policy.rules for n, v in r.then.set if n == name]


def expression_facts(policy: Policy) -> list[str]:
    """The facts computed outputs read, in declaration order."""
    used: set[str] = set()
    for name, spec in policy.outputs.items():
        if spec.computed:
            for v in output_values(policy, name):
                used |= _refs(v, "fact")
    return [n for n in policy.facts if n in used]


def formatted_facts(policy: Policy) -> list[str]:
    """The number facts a message shows with a format (`{x:,.2f}`): `values.format_field`
    formats the decimal their repr says, which the query reads from their decimal column."""
    from ...language.templates import template_parts

    used: set[str] = set()
    texts = [t for r in policy.rules for t in (r.then.message or {}).values()]
    texts += [t for m in policy.reasons.values() for t in (m or {}).values()]
    for t in texts:
        parts = template_parts(t)
        for part in parts[1::2]:
            if part.spec and policy.facts.get(str(part)) is not None \
                    and policy.facts[str(part)].type == "number":
                used.add(str(part))
    return [n for n in policy.facts if n in used]


def _fact_range(spec) -> tuple[Fraction, Fraction, int]:
    """(lo, hi, scale) of a fact's decimal: its declared bounds, within what the SQL form
    converts exactly (integers: int64; doubles: below 10^k with 15 - k places)."""
    lo = Fraction(spec.minimum) if spec.minimum is not None else None
    hi = Fraction(spec.maximum) if spec.maximum is not None else None
    if spec.type == "integer":
        lo = Fraction(max(INT_MIN, math.ceil(lo))) if lo is not None else Fraction(INT_MIN)
        hi = Fraction(min(INT_MAX, math.floor(hi))) if hi is not None else Fraction(INT_MAX)
        return lo, hi, 0
    top = max(abs(lo) if lo is not None else Fraction(10 ** dec.NUMBER_INT_DIGITS),
              abs(hi) if hi is not None else Fraction(10 ** dec.NUMBER_INT_DIGITS))
    k = 0
    while 10 ** k <= top and k < dec.NUMBER_INT_DIGITS:
        k += 1
    scale = dec.DOUBLE_DIGITS - k
    limit = Fraction(10 ** k) - Fraction(1, 10 ** scale)
    lo = max(lo, -limit) if lo is not None else -limit
    hi = min(hi, limit) if hi is not None else limit
    return lo, hi, scale


def fact_decimal(spec, column: exp.Expression) -> tuple[exp.Expression, exp.Expression | None]:
    """(the fact's value as DECIMAL, NULL outside the proved range; the test that flags a
    record whose value the decimal does not hold exactly, None for an integer fact)."""
    lo, hi, scale = _fact_range(spec)
    if spec.type == "integer":
        t = dec.Num(column, lo, hi, 0).type()
        inside = exp.Between(this=column.copy(), low=exp.Cast(this=exp.Literal.number(str(int(lo))), to=dtype("BIGINT")),
                             high=exp.Cast(this=exp.Literal.number(str(int(hi))), to=dtype("BIGINT")))
        return exp.Case(ifs=[exp.If(this=inside, true=exp.Cast(this=column.copy(), to=t))]), None
    t = dec.Num(column, lo, hi, scale).type()
    inside = exp.Between(this=column.copy(), low=double(float(lo)), high=double(float(hi)))
    as_dec = exp.Cast(this=column.copy(), to=t)
    value = exp.Case(ifs=[exp.If(this=inside, true=as_dec)])
    # exact iff the decimal converts back to the very double (then it is repr's decimal: see
    # decimals' docstring); the bounds are doubles here, and a value between them but not
    # inside the decimal range is flagged as well
    exact = exp.and_(inside.copy(), exp.EQ(this=exp.Cast(this=as_dec.copy(), to=dtype("DOUBLE")),
                                           expression=column.copy()))
    flag = exp.and_(exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())),
                    exp.Not(this=exp.Paren(this=exp.Case(ifs=[exp.If(this=exact, true=exp.Boolean(this=True))],
                                                         default=exp.Boolean(this=False)))))
    return value, flag


class Calculator:
    """The SQL of computed outputs' expressions over the decision query's columns."""

    def __init__(self, policy: Policy, fact_sql: dict[str, exp.Expression]):
        self.policy = policy
        self.fact_sql = fact_sql  # the facts' decimal columns
        self.outputs: dict[str, Num] = {}  # final values of the outputs computed so far
        self.derived: dict[str, Num] = {}  # derived facts' values (`derived.add_derived`)

    def fact(self, name: str) -> Num:
        spec = self.policy.facts.get(name)
        if spec is None or spec.type not in ("integer", "number"):
            raise SqlLimitError(f"`{name}` is not a numeric fact")
        # An optional fact: validation lets only a rule whose condition holds with the fact
        # present read it (`expr-optional-fact`), so its NULL never reaches a contributing value.
        return self.shown_fact(name)

    def shown_fact(self, name: str) -> Num:
        """A fact's decimal (NULL when absent), for a message's format."""
        lo, hi, scale = _fact_range(self.policy.facts[name])
        return Num(self.fact_sql[name].copy(), lo, hi, scale)

    def expr(self, e) -> Num:
        if type(e) is Decimal:
            return dec.constant(e)
        if isinstance(e, Ref):
            if e.kind == "fact":
                return self.fact(e.name)
            if e.kind == "threshold":
                value = self.policy.thresholds[e.name].value
                if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
                    raise SqlLimitError(f"threshold `{e.name}` is not a number")
                return dec.constant(value)
            if e.kind == "derived":
                if e.name not in self.derived:
                    raise SqlLimitError(f"derived fact `{e.name}` is a quotient by a fact (its 28-digit "
                                        f"rounding is native's: the SQL form only compares it) or not computed yet")
                n = self.derived[e.name]
                return Num(n.sql.copy(), n.lo, n.hi, n.scale)
            if e.kind == "output":
                if e.name not in self.outputs:
                    raise SqlLimitError(f"output `{e.name}`: the SQL form reads only computed or integer "
                                        f"outputs declared before")
                n = self.outputs[e.name]
                return Num(n.sql.copy(), n.lo, n.hi, n.scale)
            raise SqlLimitError(f"a reference to a {e.kind}")
        if isinstance(e, Round):
            return dec.round_to(self.expr(e.arg), e.rounding)
        if isinstance(e, Arith):
            args = [self.expr(a) for a in e.args]
            if e.op in ("add", "sub"):
                out = args[0]
                for a in args[1:]:
                    out = dec.add(out, a, 1 if e.op == "add" else -1)
                return out
            if e.op == "mul":
                out = args[0]
                for a in args[1:]:
                    out = dec.mul(out, a)
                return out
            if e.op in ("min", "max"):
                return dec.extreme(args, e.op == "max")
            if e.op == "div":
                return dec.divide(args[0], self._constant(e.args[1]))
        raise SqlLimitError(f"the expression `{e!r}`")

    def _constant(self, e):
        """The value of a constant expression (a literal, a threshold), None otherwise."""
        if type(e) is Decimal:
            return e
        if isinstance(e, Ref) and e.kind == "threshold":
            value = self.policy.thresholds[e.name].value
            return value if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else None
        return None

    def value(self, name: str, e) -> Num:
        """One value an output takes (its default or a rule's), with the output's `round`."""
        n = self.expr(e)
        spec = self.policy.outputs[name]
        return dec.round_to(n, spec.round) if spec.round is not None else n

    def integer_output(self, name: str, column: exp.Expression) -> None:
        """A non-computed integer output (its literal values) for later expressions."""
        spec = self.policy.outputs[name]
        values = [int(v) for v in output_values(self.policy, name) if v is not None and not is_expr(v)]
        if not values or len(values) != len(output_values(self.policy, name)):
            return
        if spec.combine == "sum":
            lo = min(values[0], sum(v for v in values[1:] if v < 0))
            hi = max(values[0], sum(v for v in values[1:] if v > 0))
        else:
            lo, hi = min(values), max(values)
        self.outputs[name] = dec.integer_num(column, lo, hi)


# -- the query's layers of computed outputs -----------------------------------------------

def decimal_columns(builder, names, why: str) -> tuple[list, list]:
    """The exact DECIMAL column `__x<k>` of each numeric fact of `names` (what expressions
    and derived facts read), and the flags of records whose double the decimal cannot hold
    (those go to the native code); a fact that is not numeric is refused, saying `why`."""
    columns, flags = [], []
    for name in names:
        spec = builder.policy.facts[name]
        if spec.type not in ("integer", "number"):
            raise SqlLimitError(f"fact `{name}` is not numeric, {why}")
        value, flag = fact_decimal(spec, col(builder.fact_col[name]))
        columns.append((f"__x{builder.fact_col[name][3:]}", value))
        if flag is not None:
            flags.append(flag)
    return columns, flags


def add_computed(builder, chain, contributes):
    """Adds the computed outputs' columns (`__v<j>`, DECIMAL, or BIGINT for an integer
    output), in declaration order, each after the outputs it reads; returns the
    `__rejected` of the decision: a record whose double fact the exact decimal cannot
    hold is `NATIVE` (left to the native code). Returns (the Calculator or None, that
    `__rejected`). `builder`: the query's `QueryBuilder` (its fact columns, its layers)."""
    policy = builder.policy
    expression = expression_facts(policy)
    shown = formatted_facts(policy)
    if not any(spec.computed for spec in policy.outputs.values()) and not shown:
        return None, col("__rejected")
    done = [n for n in policy.facts if f"__x{builder.fact_col[n][3:]}" in chain.columns]  # `derived`'s
    used = [n for n in policy.facts if (n in expression or n in shown) and n not in done]
    columns, flags = decimal_columns(builder, used, "an expression cannot read it")
    if flags:
        columns.append(("__nat", exp.or_(*flags) if len(flags) > 1 else flags[0]))
    chain.add(columns)
    calc = Calculator(policy, {n: col(f"__x{builder.fact_col[n][3:]}") for n in used + done})
    calc.derived = dict(getattr(builder, "derived", {}))
    for j, (name, spec) in enumerate(policy.outputs.items()):
        if not spec.computed:
            if spec.type == "integer":
                calc.integer_output(name, col(f"__v{j}"))
            continue
        try:
            value = computed_output(calc, name, contributes, chain, j)
        except BackendError as exc:
            raise type(exc)(f"output `{name}`: {exc}") from None
        if spec.type == "integer" and (value.lo < INT_MIN or value.hi > INT_MAX):
            raise SqlLimitError(f"output `{name}` may be beyond int64, which the SQL form cannot hold")
        chain.add([(f"__v{j}", value.sql)])
        calc.outputs[name] = dec.Num(col(f"__v{j}"), value.lo, value.hi, value.scale)
    if not flags:
        return calc, col("__rejected")
    return calc, exp.Coalesce(this=col("__rejected"), expressions=[exp.Case(
        ifs=[exp.If(this=col("__nat"), true=exp.Literal.string(dec.NATIVE))],
        default=exp.Cast(this=exp.Null(), to=dtype("VARCHAR")))])


def computed_output(calc: Calculator, name: str, contributes, chain, j: int) -> Num:
    """An output's final value: its values (rounded), combined over the contributing
    rules as `decision.assemble` does, the default when none contributes."""
    spec = calc.policy.outputs[name]
    setters = [(r.index, v) for r in calc.policy.rules for n, v in r.then.set if n == name]
    default = calc.value(name, spec.default)
    if not setters:
        return default
    vals = [(contributes(i), calc.value(name, v)) for i, v in setters]
    if spec.combine == "sum":  # Python's sum: 0 + v1 + v2 … over the contributing values
        zero = dec.constant(Decimal(0))
        total = zero
        for c, v in vals:
            total = dec.add(total, dec.choose([(c, v)], zero))
        return dec.choose([(_or([c.copy() for c, _ in vals]), total)], default)
    if spec.combine in ("min", "max"):
        # the candidates as columns (NULL where the rule does not contribute), then the
        # extreme of the non-NULL ones: each column read a few times, no expression copied
        cands = [(f"__c{j}_{k}", v) for k, (_, v) in enumerate(vals)]
        typed = dec._common([v for _, v in vals])
        chain.add([(n, _case([(c, t)])) for (n, _), (c, _), t in zip(cands, vals, typed)])
        cmp = exp.GTE if spec.combine == "max" else exp.LTE
        ifs = []
        for k, (n, _) in enumerate(cands):
            conds = [exp.Not(this=_null(col(n)))] + [
                exp.Paren(this=exp.or_(_null(col(m)), cmp(this=col(n), expression=col(m))))
                for m, _ in cands[k + 1:]]
            ifs.append((_and(conds), dec.Num(col(n), vals[k][1].lo, vals[k][1].hi, vals[k][1].scale)))
        return dec.choose(ifs, default)
    return dec.choose([(c, v) for c, v in vals], default)  # first: the first contributing rule's


def output_field(policy: Policy, calc, name: str, value: exp.Expression) -> tuple[str, exp.Expression, str]:
    """An output's field of the `outputs` struct: (name, value, SQL type)."""
    spec = policy.outputs[name]
    if spec.computed and spec.type == "integer":
        return name, exp.Cast(this=value.copy(), to=dtype("BIGINT")), "BIGINT"
    if spec.computed:
        n = calc.outputs[name]
        return name, value.copy(), n.type().sql()
    return name, value.copy(), spec_sql_type(spec)
