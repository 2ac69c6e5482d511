"""Computed outputs: the one evaluator of policy expressions, in exact decimal arithmetic.

An output's `default` and a rule's `set` value may be an expression (`language.model.Expr`:
a `Decimal` literal, a `Ref` to a fact, a threshold or an earlier output, an `Arith`
operation, a `Round`). Every backend's Decision gets its outputs from here: `assemble`
calls `OutputPlan.compute` with the contributing rules, and the native backend's generated
code calls the same method (one evaluator, so the backends cannot drift apart).

Arithmetic is exact: a fact's `int` is its Decimal, a `float` the decimal its shortest
repr says (`Decimal(repr(x))`: the text a JSON or CSV number had, for up to 15
significant digits), so 0.1 + 0.2 is 0.3. add, sub, mul, min and max never round: the
context traps `Inexact`, so a result that would need more than `MAX_DIGITS` significant
digits (or an exponent beyond ±`MAX_EXPONENT`) is refused as a located FactsError naming
the output, never silently rounded and never a hang on a 4,000-digit integer. div keeps
`DIV_DIGITS` (28) significant digits, ROUND_HALF_EVEN, as the language documents.

Rounding to a multiple of `to` is computed with an exact integer quotient and remainder,
so it is exact for any `to` (100, 0.01, 0.05). Results are normalized: no exponent in
the integer part (`6000`, not `6E+3`), no trailing fractional zeros (`6000.5`), no `-0`;
an integer output is an `int`.

Derived facts (`Policy.derived`) are computed here too (`OutputPlan.derive`), after the
facts are checked, in declaration order: each expression reads facts, thresholds and
earlier derived facts (`Ref` kind "derived", read from the same mapping as facts: the
names share one namespace); a derived fact is missing (absent) when a fact or derived
fact it reads is missing. A number is a normalized `Decimal`, an integer an `int`.

`combine: list` gives the tuple of the contributing rules' values in rule order (an
array output), `combine: count` how many contributing rules set the output; an array
output's value is always a tuple (a list literal is made one).
"""

from __future__ import annotations

from decimal import (ROUND_HALF_EVEN, Context, Decimal, DecimalException, DivisionByZero, Inexact, InvalidOperation,
                     Overflow, Subnormal, Underflow)
from typing import Callable, Iterable, Mapping

from ..errors import FactsError, InternalError
from ..language.model import Arith, Policy, Ref, Round, Rounding, is_expr
from ..language.values import int_from_digits
from .facts import FactProblem

# Bounds of exact arithmetic: a product of two integers of the loader's 4,300-digit limit
# still fits; anything larger is a record error, not seconds of bignum work.
MAX_DIGITS = 10_000
MAX_EXPONENT = 10_000
DIV_DIGITS = 28

_TRAPS = [InvalidOperation, DivisionByZero, Overflow, Underflow, Subnormal]
EXACT = Context(prec=MAX_DIGITS, rounding=ROUND_HALF_EVEN, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT,
                traps=_TRAPS + [Inexact])  # not `Rounded`: dropping zeros (5.0 → 5) is exact
DIVISION = Context(prec=DIV_DIGITS, rounding=ROUND_HALF_EVEN, Emax=MAX_EXPONENT, Emin=-MAX_EXPONENT, traps=_TRAPS)

ZERO = Decimal(0)
ONE = Decimal(1)
TWO = Decimal(2)
_LIMIT = 10 ** MAX_DIGITS


def to_decimal(value) -> Decimal:
    """A fact's, threshold's or output's number as the decimal it was written as: an
    `int` exactly, a `float` by its shortest repr (`5123.45`, not the binary expansion)."""
    cls = value.__class__
    if cls is Decimal:
        return value
    if cls is int:
        if not -_LIMIT < value < _LIMIT:  # before converting it: bounded work
            raise Inexact(f"an integer of more than {MAX_DIGITS} digits")
        return Decimal(value)
    if cls is float:
        return Decimal(repr(value))
    raise TypeError(f"not a number of an expression: {type(value).__name__} {value!r}")


def normalized(value: Decimal) -> Decimal:
    """The canonical form of a result: `6000` (exponent 0, not `6E+3`), `6000.5`, `0` for
    any zero (`-0`, `0.00`)."""
    if not value:
        return ZERO
    if value == value.to_integral_value(context=EXACT):  # exponent 0: `6000`, not `6E+3`
        return EXACT.quantize(value, ONE)
    return EXACT.normalize(value)  # a fraction keeps a negative exponent; its zeros go


def round_to(value: Decimal, rounding: Rounding) -> Decimal:
    """`value` rounded to a multiple of `rounding.to` in `rounding.mode`: down (toward
    zero), up (away from zero), half_up (ties away from zero), half_even (ties to an even
    multiple). Exact: an integer quotient and its remainder, no binary step."""
    step = EXACT.abs(rounding.to)  # `abs()` would round in the thread's context
    if not step:
        raise DivisionByZero("rounding to a multiple of 0")
    quotient, remainder = EXACT.divmod(value, step)  # quotient truncated toward zero
    if remainder:
        mode = rounding.mode
        if mode == "up":
            bump = True
        elif mode == "down":
            bump = False
        else:
            twice = EXACT.multiply(EXACT.abs(remainder), TWO)
            if mode == "half_up":
                bump = twice >= step
            elif mode == "half_even":
                bump = twice > step or (twice == step and EXACT.remainder(quotient, TWO) != 0)
            else:
                raise ValueError(f"unknown rounding mode {mode!r}")
        if bump:
            quotient = EXACT.add(quotient, ONE if value > 0 else -ONE)
    return EXACT.multiply(quotient, step)


def _problem(exc: DecimalException) -> str:
    """Why a value cannot be computed exactly, in a user's words."""
    # The C implementation raises the trapped signal with the conditions as its argument
    # (0/0 is InvalidOperation([DivisionUndefined])).
    conditions = exc.args[0] if exc.args and isinstance(exc.args[0], list) else [type(exc)]
    conditions = [c for c in conditions if isinstance(c, type)] + [type(exc)]
    if any(issubclass(c, ZeroDivisionError) for c in conditions):  # DivisionByZero, DivisionUndefined
        return "it divides by zero"
    if any(issubclass(c, Overflow) for c in conditions):
        return f"a value has more than {MAX_EXPONENT:,} digits before the decimal point"
    if any(issubclass(c, (Underflow, Subnormal)) for c in conditions):
        return f"a value has more than {MAX_EXPONENT:,} zeros after the decimal point"
    return f"a value needs more than {MAX_DIGITS:,} significant digits"


class OutputPlan:
    """Per-policy, built once: every output's values by rule, each expression compiled into
    a closure (`compile_expr`), the thresholds as Decimals."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.thresholds: dict[str, Decimal] = {}
        for name, t in policy.thresholds.items():
            if t.value.__class__ in (int, float, Decimal):
                self.thresholds[name] = to_decimal(t.value)
        # Per output, in declaration order: (rule index, value) of every rule that sets it,
        # a value of a computed output compiled.
        self.setters: tuple[tuple[str, object, tuple[tuple[int, object], ...], object], ...] = tuple(
            (name, spec,
             tuple((r.index, self.compiled(v) if spec.computed else v)
                   for r in policy.rules for n, v in r.then.set if n == name),
             # an array output's default is a list literal even where its items are computed
             self.compiled(spec.default) if spec.computed and is_expr(spec.default) else spec.default)
            for name, spec in policy.outputs.items())
        # Derived facts, in declaration order: (name, type, the names it reads, compiled).
        self.derived: tuple[tuple[str, str, tuple[str, ...], Callable], ...] = tuple(
            (d.name, d.type, tuple(dict.fromkeys(expr_reads(d.expr))), self.compiled(d.expr))
            for d in policy.derived.values())

    def derive(self, facts: Mapping) -> dict:
        """The derived facts of normalized `facts`: name → value for each one whose inputs
        are present (missing otherwise), in declaration order. Raises FactsError when a
        value is beyond exact arithmetic (or divides by zero, which validation rules out
        for declared ranges)."""
        if not self.derived:
            return {}
        values = dict(facts)
        out: dict = {}
        for name, type_, reads, fn in self.derived:
            if any(values.get(n) is None for n in reads):
                continue
            try:
                result = normalized(fn(values, {}))
            except DecimalException as exc:
                raise FactsError([FactProblem(None, f"derived fact `{name}` cannot be computed exactly: "
                                                    f"{_problem(exc)}")]) from None
            if type_ == "integer":
                if result != result.to_integral_value(context=EXACT):
                    raise InternalError(f"derived fact `{name}` of type integer computed {result}, not an integer")
                result = int_from_digits(format(result, "f"))
            values[name] = out[name] = result
        return out

    def compiled(self, expr) -> Callable[[Mapping, Mapping], Decimal]:
        return compile_expr(expr, self.thresholds)

    def value(self, expr, facts: Mapping, outputs: Mapping | None = None) -> Decimal:
        """The Decimal of one expression on normalized facts and outputs computed so far
        (for callers outside a decision; `compute` uses the compiled setters)."""
        return self.compiled(expr)(facts, outputs or {})

    def compute(self, facts: Mapping, contributing: Iterable[int]) -> dict:
        """Every output's value, in declaration order (so an expression reads the final
        values of earlier outputs): the values of the `contributing` rules (the matched
        rules without an outcome and the deciding rules), else the default; an output's
        `round` applied to each value, then `combine`. Raises FactsError when a computed
        value is beyond exact arithmetic (see the module docstring)."""
        contributing = tuple(contributing)
        outputs: dict = {}
        for name, spec, setters, default in self.setters:
            values = [v for i, v in setters if i in contributing]
            if spec.combine == "count":  # how many contributed; their values are not read
                outputs[name] = len(values) if values else _plain(default, spec, facts, outputs)
                continue
            if spec.combine == "list" and spec.computed:
                try:
                    outputs[name] = tuple(_computed(spec, [f(facts, outputs)], item=True) for f in values) \
                        if values else _plain(default, spec, facts, outputs)
                except DecimalException as exc:
                    raise FactsError([FactProblem(None, f"output `{name}` cannot be computed exactly: "
                                                        f"{_problem(exc)}")]) from None
                continue
            if not spec.computed:  # literals, exactly as before expressions existed
                outputs[name] = _combine_literals(spec, values, default)
                continue
            try:
                outputs[name] = _computed(spec, [f(facts, outputs) for f in values or (default,)])
            except DecimalException as exc:
                raise FactsError([FactProblem(None, f"output `{name}` cannot be computed exactly: "
                                                    f"{_problem(exc)}")]) from None
        return outputs


def _plain(default, spec, facts: Mapping, outputs: Mapping):
    """An output's default where `combine: count`/`list` has no contributing rule: the
    literal (a list made a tuple), or its computed value."""
    if callable(default):
        return _computed(spec, [default(facts, outputs)])
    return tuple(default) if isinstance(default, list) else default


def _computed(spec, results: list[Decimal], item: bool = False):
    """A computed output's value from its values: each rounded, combined, normalized, typed
    (`item`: one item of a `combine: list` output, typed by the items' spec)."""
    if spec.round is not None:
        results = [round_to(v, spec.round) for v in results]
    if spec.combine == "min":
        result = min(results)
    elif spec.combine == "max":
        result = max(results)
    elif spec.combine == "sum":
        result = ZERO
        for v in results:
            result = EXACT.add(result, v)
    else:  # "first", or undeclared: validation guarantees the values agree
        result = results[0]
    result = normalized(result)
    if (spec.items.type if item and spec.items is not None else spec.type) == "integer":
        if result != result.to_integral_value(context=EXACT):
            raise InternalError(f"output `{spec.name}` of type integer computed {result}, not an integer "
                                "(validation should have required `round`)")
        return int_from_digits(format(result, "f"))
    return result


_ADD, _SUB, _MUL, _DIV = EXACT.add, EXACT.subtract, EXACT.multiply, DIVISION.divide


def compile_expr(expr, thresholds: Mapping[str, Decimal]) -> Callable[[Mapping, Mapping], Decimal]:
    """An expression as a function of (normalized facts, outputs so far) to its Decimal:
    the tree is walked once here, not on every evaluation."""
    cls = expr.__class__
    if cls is Decimal:
        return lambda facts, outputs: expr
    if cls is Ref:
        name = expr.name
        if expr.kind == "threshold":
            value = thresholds[name]
            return lambda facts, outputs: value
        if expr.kind == "output":
            return lambda facts, outputs: to_decimal(outputs[name])
        if expr.kind not in ("fact", "derived"):  # a derived fact is read where facts are
            raise ValueError(f"unknown reference kind {expr.kind!r}")

        def fact(facts, outputs):
            v = facts.get(name)
            if v.__class__ is float:  # the common case first
                return Decimal(repr(v))
            if v is None:  # validation proves presence (a condition, or a default)
                raise InternalError(f"an expression reads fact `{name}`, which the record lacks")
            return to_decimal(v)
        return fact
    if cls is Round:
        arg, rounding = compile_expr(expr.arg, thresholds), expr.rounding
        return lambda facts, outputs: round_to(arg(facts, outputs), rounding)
    if cls is not Arith:
        raise TypeError(f"not an expression: {type(expr).__name__} {expr!r}")
    args = [compile_expr(a, thresholds) for a in expr.args]
    op = expr.op
    if op in ("sub", "div"):
        a, b = args
        fn = _SUB if op == "sub" else _DIV
        return lambda facts, outputs: fn(a(facts, outputs), b(facts, outputs))
    if op in ("min", "max"):
        pick = min if op == "min" else max
        return lambda facts, outputs: pick([f(facts, outputs) for f in args])
    if op not in ("add", "mul"):
        raise ValueError(f"unknown operation {op!r}")
    fn = _ADD if op == "add" else _MUL
    if len(args) == 2:
        a, b = args
        return lambda facts, outputs: fn(a(facts, outputs), b(facts, outputs))
    first, rest = args[0], args[1:]

    def fold(facts, outputs):
        result = first(facts, outputs)
        for f in rest:
            result = fn(result, f(facts, outputs))
        return result
    return fold


def expr_reads(expr) -> list[str]:
    """The facts and derived facts an expression reads (`Ref` kinds fact and derived), in
    order, with repeats."""
    cls = expr.__class__
    if cls is Ref:
        return [expr.name] if expr.kind in ("fact", "derived") else []
    if cls is Round:
        return expr_reads(expr.arg)
    if cls is Arith:
        return [n for a in expr.args for n in expr_reads(a)]
    return []


def _combine_literals(spec, values: list, default):
    """A non-computed output's value: its literal default, or its rules' literals combined
    (`list`: all of them, in rule order, as a tuple; an array literal is a tuple)."""
    if spec.combine == "list":
        return tuple(values) if values else (tuple(default) if isinstance(default, list) else default)
    if not values:
        return tuple(default) if isinstance(default, list) else default
    if spec.combine == "min":
        return min(values)
    if spec.combine == "max":
        return max(values)
    if spec.combine == "sum":
        return sum(values)
    first = values[0]  # "first", or undeclared: validation guarantees the values agree
    return tuple(first) if isinstance(first, list) else first
