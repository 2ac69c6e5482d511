"""Whole-policy checks of computed outputs: what an expression can be, before any record.

Each value an output takes (its default, each rule's `set` value) is judged by interval
arithmetic over the declared ranges: a fact's `minimum`/`maximum` (unbounded where not
declared), a threshold's value, a literal. Bounds are rounded outwards (floor for the low
end, ceiling for the high end), so an interval always contains every value the expression
can take. From that:

- `expr-div-by-zero`: a `div` whose divisor's interval contains 0 (an unbounded range
  contains it unless bounded away from it);
- `output-out-of-range` (error: the value is always outside the output's declared
  `minimum`/`maximum`) and `output-may-leave-range` (warning: it can be, shown with the
  extreme value); a side of unknown range says nothing;
- `output-not-integral`: an `integer` output whose value may have a fraction (a `div`, a
  non-integral literal, threshold or `number` operand, a `round` to a fraction) and that
  does not round to a whole multiple itself;
- `expr-optional-fact`: an expression that reads an optional fact without a default where
  the fact may be absent: in an output's default always, in a rule's value unless the
  rule's condition can only hold with the fact present (`conditions.nnf`).

Derived facts (`derived:`) are expressions too: their divisions are checked as outputs'
are, their intervals and integrality are what an expression reading them sees, and an
output reading one that reads an optional fact is `expr-optional-fact` as for the fact.

The checks are entries of `checks.CHECKS`; each yields located diagnostics.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Context, Decimal
from typing import Iterator, NamedTuple

from . import conditions
from .diagnostics import ERROR, WARNING, Diagnostic, pointer_join, pointer_parts
from .exprs import expr_text, number
from .model import (NUMERIC_TYPES, PRESENCE_OP, Arith, Comparison, OutputSpec, Policy, Ref, Round, Rounding,
                    Rule)
from .values import decimal_text

INF = Decimal("Infinity")
_FLOOR = Context(prec=60, rounding=ROUND_FLOOR)
_CEIL = Context(prec=60, rounding=ROUND_CEILING)


class Interval(NamedTuple):
    """Every value an expression can take lies in [lo, hi]; ±Infinity where unbounded."""

    lo: Decimal
    hi: Decimal

    def contains_zero(self) -> bool:
        return self.lo <= 0 <= self.hi


UNKNOWN = Interval(-INF, INF)


def _mul(a: Decimal, b: Decimal, ctx: Context) -> Decimal:
    # A bound of 0 times an unbounded one is 0 (interval arithmetic's convention): the
    # product of 0 and any finite value the other side reaches.
    return Decimal(0) if a == 0 or b == 0 else ctx.multiply(a, b)


def _times(x: Interval, y: Interval) -> Interval:
    lows = [_mul(a, b, _FLOOR) for a in x for b in y]
    highs = [_mul(a, b, _CEIL) for a in x for b in y]
    return Interval(min(lows), max(highs))


def _reciprocal(y: Interval) -> Interval:
    """1/y for an interval without 0."""
    def inv(v: Decimal, ctx: Context) -> Decimal:
        return Decimal(0) if v.is_infinite() else ctx.divide(Decimal(1), v)
    return Interval(inv(y.hi, _FLOOR), inv(y.lo, _CEIL))


# `round`'s modes as the decimal module names them (half_up: a half away from zero).
_MODES = {"down": ROUND_DOWN, "up": ROUND_UP, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def _to_multiple(v: Decimal, to: Decimal, mode: str) -> Decimal:
    if v.is_infinite():
        return v
    ctx = Context(prec=60)
    return ctx.multiply(ctx.divide(v, to).to_integral_value(rounding=_MODES[mode]), to)


def rounded(x: Interval, r: Rounding) -> Interval:
    """Where a value of `x` rounded by `r` can be: every mode is monotonic (a larger value
    never rounds to a smaller multiple), so the ends rounded."""
    return Interval(_to_multiple(x.lo, r.to, r.mode), _to_multiple(x.hi, r.to, r.mode))


class Ranges:
    """Intervals of expressions over one policy's declared ranges (outputs in order)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.derived: dict[str, Interval] = {}
        for d in getattr(policy, "derived", {}).values():  # in order: each reads earlier ones
            self.derived[d.name] = self.of(d.expr)
        self.outputs: dict[str, Interval] = {}
        for spec in policy.outputs.values():
            self.outputs[spec.name] = self.output_range(spec)

    def of(self, e) -> Interval:
        if type(e) is Decimal:
            return Interval(e, e)
        if isinstance(e, (int, float)) and not isinstance(e, bool):  # a literal of a plain output
            d = number(e)
            return Interval(d, d)
        if isinstance(e, Ref):
            return self.ref(e)
        if isinstance(e, Arith):
            args = [self.of(a) for a in e.args]
            if e.op == "add":
                lo, hi = args[0]
                for a in args[1:]:
                    lo, hi = _FLOOR.add(lo, a.lo), _CEIL.add(hi, a.hi)
                return Interval(lo, hi)
            if e.op == "sub":
                a, b = args
                return Interval(_FLOOR.subtract(a.lo, b.hi), _CEIL.subtract(a.hi, b.lo))
            if e.op == "mul":
                out = args[0]
                for a in args[1:]:
                    out = _times(out, a)
                return out
            if e.op == "div":
                a, b = args
                return UNKNOWN if b.contains_zero() else _times(a, _reciprocal(b))
            if e.op == "min":
                return Interval(min(a.lo for a in args), min(a.hi for a in args))
            if e.op == "max":
                return Interval(max(a.lo for a in args), max(a.hi for a in args))
        if isinstance(e, Round):
            return rounded(self.of(e.arg), e.rounding)
        return UNKNOWN  # a string or boolean literal: not a number

    def ref(self, r: Ref) -> Interval:
        if r.kind == "fact":
            f = self.policy.facts[r.name]
            return Interval(-INF if f.minimum is None else number(f.minimum),
                            INF if f.maximum is None else number(f.maximum))
        if r.kind == "threshold":
            d = number(self.policy.thresholds[r.name].value)
            return Interval(d, d)
        if r.kind == "derived":
            return self.derived.get(r.name, UNKNOWN)
        return self.outputs.get(r.name, UNKNOWN)

    def value(self, spec: OutputSpec, e) -> Interval:
        """A value of output `spec` (after its own `round`)."""
        x = self.of(e)
        return rounded(x, spec.round) if spec.round else x

    def output_range(self, spec: OutputSpec) -> Interval:
        """Where the output's final value can be: its default, or what `combine` makes of
        the values of the rules that set it (a sum of several of them, for `sum`)."""
        if spec.type not in NUMERIC_TYPES:
            return UNKNOWN
        default = self.value(spec, spec.default)
        values = [self.value(spec, v) for r in self.policy.rules for n, v in r.then.set if n == spec.name]
        every = [default, *values]
        lo, hi = min(v.lo for v in every), max(v.hi for v in every)
        if spec.combine == "count" and values:  # how many rules contribute: none (the default) to all
            return Interval(min(default.lo, Decimal(1)), max(default.hi, Decimal(len(values))))
        if spec.combine == "sum" and values:  # any number of the rules may contribute
            neg, pos = Decimal(0), Decimal(0)
            for v in values:
                neg, pos = _FLOOR.add(neg, min(v.lo, Decimal(0))), _CEIL.add(pos, max(v.hi, Decimal(0)))
            lo, hi = min(lo, neg), max(hi, pos)
        return Interval(lo, hi)


def output_values(policy: Policy) -> Iterator[tuple[OutputSpec, object, str, Rule | None]]:
    """(output, value, pointer of the value, rule or None for the default) for every value
    every output takes, in document order of outputs then rules."""
    for spec in policy.outputs.values():
        yield spec, spec.default, pointer_join("/outputs", spec.name, "default"), None
    for rule in policy.rules:
        for name, value in rule.then.set:
            yield policy.outputs[name], value, pointer_join(rule.loc.pointer, "then", "set", name), rule


def _nodes(e, pointer: str) -> Iterator[tuple[object, str]]:
    """Every node of an expression with its JSON pointer, parents first."""
    yield e, pointer
    if isinstance(e, Arith):
        for i, a in enumerate(e.args):
            yield from _nodes(a, pointer_join(pointer, e.op, i))
    elif isinstance(e, Round):
        yield from _nodes(e.arg, pointer_join(pointer, "round"))


def _diag(b, code: str, message: str, pointer: str, *, severity: str = ERROR, hint: str | None = None,
          rule: Rule | None = None, policy: Policy | None = None) -> Diagnostic:
    return locate(b, policy, Diagnostic(code, message, severity, pointer=pointer, hint=hint,
                                        rule=rule.id if rule else None), rule)


def locate(b, policy: Policy | None, diagnostic: Diagnostic, rule: Rule | None, prefer_key: bool = False) -> Diagnostic:
    """`diagnostic` (its pointer under `rule`'s `then`, or anywhere else) located: for a row of a
    decision table, at the row's cell of the output it is about (in the policy, or in the rows'
    CSV file: its line and column), with the cell's pointer; else through the policy's source map."""
    if policy is None or rule is None or rule.table is None:
        return b.smap.locate(diagnostic, prefer_key)
    head = pointer_join(rule.loc.pointer, "then")
    if diagnostic.pointer != head and not diagnostic.pointer.startswith(head + "/"):
        return b.smap.locate(diagnostic, prefer_key)
    parts = pointer_parts(diagnostic.pointer[len(head):]) if diagnostic.pointer != head else []
    column, rest = (parts[1], parts[2:]) if parts[:1] == ["set"] and len(parts) > 1 else \
        (parts[0] if parts else None, parts[1:])
    table = policy.table(rule.table.table)
    if column not in table.columns or rule.index not in table.rules or not table.cell_locs:
        loc = rule.loc  # the row itself: where it was written (its CSV line, for rows in a CSV file)
        return diagnostic.located(loc.file, loc.line, loc.column)
    cells = table.cell_locs[table.rules.index(rule.index)]
    loc = cells[len(table.inputs) + table.columns.index(column)]
    return replace(diagnostic, pointer=pointer_join(loc.pointer, *rest)).located(loc.file, loc.line, loc.column)


def refs(e) -> Iterator[Ref]:
    """Every name an expression reads."""
    return (node for node, _ in _nodes(e, "") if isinstance(node, Ref))


def _expressions(policy: Policy) -> Iterator[tuple[object, str, Rule | None]]:
    """(expression, pointer, rule or None) for every derived fact, then every output value."""
    for d in policy.derived.values():
        yield d.expr, pointer_join("/derived", d.name), None
    for _, value, ptr, rule in output_values(policy):
        yield value, ptr, rule


def check_division(policy: Policy, b) -> Iterator[Diagnostic]:
    ranges = Ranges(policy)
    for value, ptr, rule in _expressions(policy):
        for node, nptr in _nodes(value, ptr):
            if isinstance(node, Arith) and node.op == "div":
                d = ranges.of(node.args[1])
                if d.contains_zero():
                    shown = "can be 0" if d.lo == d.hi == 0 else f"ranges over {_range_text(d)}, which contains 0"
                    yield _diag(b, "expr-div-by-zero", f"the divisor `{expr_text(node.args[1])}` {shown}",
                                pointer_join(nptr, "div", 1), rule=rule, policy=policy,
                                hint="declare a range of the divisor's facts that excludes 0 (`minimum: 1`), "
                                     "or divide by a non-zero constant")


def _range_text(x: Interval) -> str:
    lo = "" if x.lo.is_infinite() else decimal_text(x.lo)
    hi = "" if x.hi.is_infinite() else decimal_text(x.hi)
    return f"{lo}..{hi}"


def check_output_bounds(policy: Policy, b) -> Iterator[Diagnostic]:
    ranges = Ranges(policy)
    for spec in policy.outputs.values():
        lo, hi = spec.minimum, spec.maximum
        if lo is not None and hi is not None and lo > hi:
            yield _diag(b, "output-range-empty", f"output `{spec.name}` has minimum {decimal_text(number(lo))} above "
                        f"maximum {decimal_text(number(hi))}", pointer_join("/outputs", spec.name, "minimum"))
    for spec, value, ptr, rule in output_values(policy):
        if spec.minimum is None and spec.maximum is None:
            continue
        lo = None if spec.minimum is None else number(spec.minimum)
        hi = None if spec.maximum is None else number(spec.maximum)
        if lo is not None and hi is not None and lo > hi:
            continue  # (`output-range-empty`)
        x = ranges.value(spec, value)
        what = f"`{expr_text(value)}`"
        whose = f"output `{spec.name}`" + (f" in rule `{rule.id}`" if rule else "'s default")
        if lo is not None and x.hi < lo:
            yield _diag(b, "output-out-of-range", f"{what} is always below the minimum {decimal_text(lo)} of {whose} "
                        f"(at most {decimal_text(x.hi)})", ptr, rule=rule, policy=policy,
                        hint="fix the value or the bound")
        elif hi is not None and x.lo > hi:
            yield _diag(b, "output-out-of-range", f"{what} is always above the maximum {decimal_text(hi)} of {whose} "
                        f"(at least {decimal_text(x.lo)})", ptr, rule=rule, policy=policy,
                        hint="fix the value or the bound")
        else:
            if lo is not None and not x.lo.is_infinite() and x.lo < lo:
                yield _diag(b, "output-may-leave-range", f"{what} can be as low as {decimal_text(x.lo)}, below the "
                            f"minimum {decimal_text(lo)} of {whose}", ptr, severity=WARNING, rule=rule, policy=policy,
                            hint=f"bound it: `{{max: [..., {decimal_text(lo)}]}}`")
            if hi is not None and not x.hi.is_infinite() and x.hi > hi:
                yield _diag(b, "output-may-leave-range", f"{what} can be as high as {decimal_text(x.hi)}, above the "
                            f"maximum {decimal_text(hi)} of {whose}", ptr, severity=WARNING, rule=rule, policy=policy,
                            hint=f"bound it: `{{min: [..., {decimal_text(hi)}]}}`")
    yield from _sums_beyond_bounds(policy, ranges, b)


def _sums_beyond_bounds(policy: Policy, ranges: Ranges, b) -> Iterator[Diagnostic]:
    """`combine: sum`: values each within the bounds can add up beyond them (said once, at
    `combine`; a value already beyond a bound was reported at the value)."""
    for spec in policy.outputs.values():
        values = [ranges.value(spec, v) for r in policy.rules for n, v in r.then.set if n == spec.name]
        if spec.combine != "sum" or len(values) < 2:
            continue
        total, ptr = ranges.outputs[spec.name], pointer_join("/outputs", spec.name, "combine")
        lo = None if spec.minimum is None else number(spec.minimum)
        hi = None if spec.maximum is None else number(spec.maximum)
        if hi is not None and not total.hi.is_infinite() and total.hi > hi >= max(v.hi for v in values):
            yield _diag(b, "output-may-leave-range", f"the values rules give output `{spec.name}` can add up to "
                        f"{decimal_text(total.hi)}, above its maximum {decimal_text(hi)}", ptr, severity=WARNING,
                        hint=f"bound the sum in a later output: `{{min: [{spec.name}, {decimal_text(hi)}]}}`")
        if lo is not None and not total.lo.is_infinite() and total.lo < lo <= min(v.lo for v in values):
            yield _diag(b, "output-may-leave-range", f"the values rules give output `{spec.name}` can add up to "
                        f"{decimal_text(total.lo)}, below its minimum {decimal_text(lo)}", ptr, severity=WARNING,
                        hint=f"bound the sum in a later output: `{{max: [{spec.name}, {decimal_text(lo)}]}}`")


def _integral(d: Decimal) -> bool:
    return d.is_finite() and d == d.to_integral_value()


def fraction_source(policy: Policy, e) -> object | None:
    """The first node that can make `e` non-integral (a `div`, a fraction literal, a
    non-integral or `number` operand, a `round` to a fraction), or None when `e` is always
    a whole number."""
    if type(e) is Decimal:
        return None if _integral(e) else e
    if isinstance(e, Ref):
        if e.kind == "fact":
            return None if policy.facts[e.name].type == "integer" else e
        if e.kind == "threshold":
            v = policy.thresholds[e.name].value
            return None if _integral(number(v)) else e
        if e.kind == "derived":
            return None if policy.derived[e.name].type == "integer" else e
        return None if policy.outputs[e.name].type == "integer" else e
    if isinstance(e, Arith):
        if e.op == "div":
            return e
        return next((s for s in (fraction_source(policy, a) for a in e.args) if s is not None), None)
    if isinstance(e, Round):
        return None if _integral(e.rounding.to) else e
    return None


def _fraction_text(policy: Policy, node) -> str:
    if isinstance(node, Arith):
        return "a `div`"
    if isinstance(node, Round):
        return f"a `round` to {decimal_text(node.rounding.to)}"
    if isinstance(node, Ref):
        if node.kind == "threshold":
            return f"threshold `{node.name}` ({decimal_text(number(policy.thresholds[node.name].value))})"
        return f"{node.kind} `{node.name}` (a number)"
    return f"`{decimal_text(node)}`"


def check_integral_outputs(policy: Policy, b) -> Iterator[Diagnostic]:
    for spec, value, ptr, rule in output_values(policy):
        if spec.type != "integer" or not spec.computed or (spec.round and _integral(spec.round.to)):
            continue
        source = fraction_source(policy, value)
        if source is not None:
            yield _diag(b, "output-not-integral", f"integer output `{spec.name}` can get a fraction here: "
                        f"`{expr_text(value)}` has {_fraction_text(policy, source)}", ptr, rule=rule, policy=policy,
                        hint="round it: `{round: ..., to: 1, mode: half_even}`, or `round: {to: 1}` on the output")


def guarantees_presence(cond, fact: str) -> bool:
    """Whether `cond` can hold only with `fact` present. A comparison on a fact is unknown
    (never true, and so is its negation) when the fact is absent, so any comparison on it
    but a presence test guarantees it wherever it must hold; `missing: false` (or `not
    missing: true`) does too. An `all` guarantees it when one part does, an `any` when
    every branch does."""
    def leaf(c: Comparison, positive: bool) -> bool:
        if c.kind not in ("fact", "derived") or c.subject != fact:
            return False
        if c.op == PRESENCE_OP:
            return c.operand.value is not positive  # present: `missing: false`, or a negated `missing: true`
        return True
    return conditions.nnf(cond, leaf, any, all)


def _reads(e, pointer: str) -> Iterator[tuple[Ref, str]]:
    for node, nptr in _nodes(e, pointer):
        if isinstance(node, Ref) and node.kind in ("fact", "derived"):
            yield node, nptr


def _optional_inputs(policy: Policy, ref: Ref) -> set[str]:
    """The optional facts without default a fact or derived fact's value depends on."""
    if ref.kind == "fact":
        f = policy.facts[ref.name]
        return set() if f.required or f.has_default else {ref.name}
    return set().union(*(_optional_inputs(policy, r) for r, _ in _reads(policy.derived[ref.name].expr, "")))


def _may_be_missing(policy: Policy, ref: Ref) -> bool:
    """Whether a fact (optional, no default) or a derived fact (one that reads such a fact,
    at any depth) can be absent from a decision."""
    if ref.kind == "fact":
        f = policy.facts[ref.name]
        return not (f.required or f.has_default)
    return any(_may_be_missing(policy, r) for r, _ in _reads(policy.derived[ref.name].expr, ""))


def check_optional_facts(policy: Policy, b) -> Iterator[Diagnostic]:
    for spec, value, ptr, rule in output_values(policy):
        for ref, rptr in _reads(value, ptr):
            if not _may_be_missing(policy, ref):
                continue
            if ref.kind == "derived":
                yield from _optional_derived(policy, spec, ref, rptr, rule, b)
                continue
            if rule is None:
                yield _diag(b, "expr-optional-fact", f"the default of output `{spec.name}` reads `{ref.name}`, which "
                            "may be missing (optional, no default)", rptr,
                            hint=f"give `{ref.name}` a `default`, or compute the value in rules that test "
                                 f"`{ref.name}: {{missing: false}}`")
            elif not guarantees_presence(rule.when, ref.name) and not all(
            guarantees_presence(rule.when, f) for f in _optional_inputs(policy, ref)):
                yield _diag(b, "expr-optional-fact", f"rule `{rule.id}` reads `{ref.name}`, which may be missing "
                            "(optional, no default), and its condition does not make sure it is present", rptr,
                            rule=rule, policy=policy,
                            hint=f"add `{ref.name}: {{missing: false}}` to the rule's `when`, or give "
                                            f"`{ref.name}` a `default`")


def _optional_derived(policy: Policy, spec: OutputSpec, ref: Ref, rptr: str, rule: Rule | None,
                      b) -> Iterator[Diagnostic]:
    """An output reading a derived fact that can be missing (it reads an optional fact): in
    a rule, fine when its condition makes sure the derived fact, or every optional fact it
    reads, is present."""
    if rule is None:
        yield _diag(b, "expr-optional-fact", f"the default of output `{spec.name}` reads derived fact `{ref.name}`, "
                    "which is missing when an optional fact it reads is", rptr,
                    hint="give the optional facts it reads a `default`, or compute the value in rules that test "
                         f"`{ref.name}`")
    elif not guarantees_presence(rule.when, ref.name) and not all(
            guarantees_presence(rule.when, f) for f in _optional_inputs(policy, ref)):
        yield _diag(b, "expr-optional-fact", f"rule `{rule.id}` reads derived fact `{ref.name}`, which is missing "
                    "when an optional fact it reads is, and its condition does not make sure it is present", rptr,
                    rule=rule, policy=policy,
                    hint=f"add a condition on `{ref.name}` (or on the facts it reads) to the rule's `when`")
