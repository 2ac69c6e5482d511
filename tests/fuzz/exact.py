"""An independent evaluation of computed outputs, in `fractions.Fraction`, for the oracle.

The engine computes outputs in `decimal` (`engine/runtime/expressions.py`); this module
does it again from the contract's rules with exact rationals, sharing no code with it:
a fact's int is itself, a float the decimal its shortest repr says; add, sub, mul, min,
max exact; div to 28 significant digits, half to even; `round` to a multiple of `to`
(down toward zero, up away from zero, half_up, half_even); an output's own `round` on
each value before `combine`; outputs in declaration order, each reading the final values
of the earlier ones; the values of the contributing rules (the matched rules that decide
no outcome and the deciding rules), else the default.

`expected_outputs(policy, decision)` returns {name: Fraction} for the computed outputs,
or None when the engine may rightly refuse (a value beyond its exact bounds) or the
inputs are outside what this check models (a missing fact).
"""

from __future__ import annotations

from fractions import Fraction

from engine.language.model import Arith, Ref, Round

DIV_DIGITS = 28
LIMIT_DIGITS = 9_900  # the engine's bound is 10,000 digits: near it, no verdict


class Unsure(Exception):
    """The expected value cannot be judged here (see the module docstring)."""


def _num(v) -> Fraction:
    if isinstance(v, bool):
        raise Unsure("a boolean")
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, float):
        return Fraction(repr(v))  # the decimal the text said: Fraction("5123.45")
    from decimal import Decimal

    if isinstance(v, Decimal):
        return Fraction(v)
    raise Unsure(f"not a number: {type(v).__name__}")


def _digits(n: int) -> int:
    """About how many decimal digits |n| has (bit_length based: cheap for huge numbers)."""
    return int(abs(n).bit_length() * 0.30103) + 1


def _check(q: Fraction) -> Fraction:
    if _digits(q.numerator) > LIMIT_DIGITS or _digits(q.denominator) > LIMIT_DIGITS:
        raise Unsure("beyond the engine's exact bounds")
    return q


def _round_half_even_int(q: Fraction) -> int:
    floor = q.numerator // q.denominator
    rest = q - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        return floor + 1
    return floor


def significant(q: Fraction, digits: int = DIV_DIGITS) -> Fraction:
    """`q` rounded to `digits` significant digits, half to even."""
    if q == 0:
        return q
    sign = -1 if q < 0 else 1
    a = abs(q)
    e = _digits(a.numerator) - _digits(a.denominator)  # 10^e is about a; fix it exactly
    while Fraction(10) ** e > a:
        e -= 1
    while Fraction(10) ** (e + 1) <= a:
        e += 1
    scale = Fraction(10) ** (digits - 1 - e)  # a * scale has `digits` digits before the point
    return sign * Fraction(_round_half_even_int(a * scale)) / scale


def round_to(q: Fraction, to: Fraction, mode: str) -> Fraction:
    step = abs(to)
    units = q / step
    n = abs(units.numerator) // units.denominator  # toward zero
    rest = abs(units) - n
    if rest:
        if mode == "up":
            n += 1
        elif mode == "half_up":
            n += rest >= Fraction(1, 2)
        elif mode == "half_even":
            n += rest > Fraction(1, 2) or (rest == Fraction(1, 2) and n % 2 == 1)
        elif mode != "down":
            raise Unsure(f"mode {mode}")
    return (n if units >= 0 else -n) * step


def evaluate(expr, facts, thresholds, outputs) -> Fraction:
    if isinstance(expr, Ref):
        if expr.kind == "fact":
            if facts.get(expr.name) is None:
                raise Unsure(f"fact {expr.name} absent")
            return _num(facts[expr.name])
        if expr.kind == "threshold":
            return _num(thresholds[expr.name].value)
        if expr.name not in outputs:
            raise Unsure(f"output {expr.name} not computed here")
        return outputs[expr.name]
    if isinstance(expr, Arith):
        args = [evaluate(a, facts, thresholds, outputs) for a in expr.args]
        if expr.op == "add":
            return _check(sum(args, Fraction(0)))
        if expr.op == "sub":
            return _check(args[0] - args[1])
        if expr.op == "mul":
            out = Fraction(1)
            for a in args:
                out = _check(out * a)
            return out
        if expr.op == "div":
            if args[1] == 0:
                raise Unsure("division by zero")
            return _check(significant(args[0] / args[1]))
        if expr.op == "min":
            return min(args)
        if expr.op == "max":
            return max(args)
        raise Unsure(expr.op)
    if isinstance(expr, Round):
        return _check(round_to(evaluate(expr.arg, facts, thresholds, outputs), _num(expr.rounding.to),
                               expr.rounding.mode))
    return _num(expr)  # a literal


def expected_outputs(policy, decision) -> dict | None:
    """{output name: Fraction} of every computed output of `decision`, or None (Unsure)."""
    contributing = set(decision.decided_by)  # rule indexes
    contributing |= {r.index for r in policy.rules if not r.decides_outcome and decision.matched[r.index] is True}
    outputs: dict = {}
    computed: set[str] = set()
    try:
        for name, spec in policy.outputs.items():
            if not spec.computed:  # a literal output (checked by the backends' agreement): as decided
                value = decision.outputs[name]
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    outputs[name] = _num(value)
                continue
            computed.add(name)
            values = [v for r in policy.rules if r.index in contributing for n, v in r.then.set if n == name]
            results = [evaluate(v, decision.facts, policy.thresholds, outputs) for v in values or [spec.default]]
            if spec.round is not None:
                results = [_check(round_to(q, _num(spec.round.to), spec.round.mode)) for q in results]
            if spec.combine == "min":
                value = min(results)
            elif spec.combine == "max":
                value = max(results)
            elif spec.combine == "sum":
                value = _check(sum(results, Fraction(0)))
            else:
                value = results[0]
            outputs[name] = value
    except Unsure:
        return None
    return {n: v for n, v in outputs.items() if n in computed}


def plain(q: Fraction) -> str:
    """The shortest plain decimal text of a finite decimal `q` (`6000`, `6000.5`, `0.3`)."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    den = q.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise Unsure("not a finite decimal")
    k = max(twos, fives)  # decimals needed
    scaled = q.numerator * 10**k // q.denominator
    whole, frac = divmod(scaled, 10**k)
    text = str(whole)
    if k and frac:
        text += "." + str(frac).rjust(k, "0").rstrip("0")
    return sign + text if q else "0"
