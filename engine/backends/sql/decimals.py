"""Computed outputs in SQL: exact DECIMAL arithmetic, proved to fit at compile time, or refused.

`runtime/expressions.py` computes with Python's `decimal`: add, sub, mul, min and max exact,
div to 28 significant digits (half-even), `round` to a multiple of `to` in four modes. SQL
DECIMALs hold at most 38 digits, the engines type each operation's result by their own rules
(Spark *drops scale*, so rounds, when a product's type would need more than 38 digits;
DuckDB's decimal division yields a DOUBLE), so every expression is analysed here first: each
node carries the bounds of its value and its scale (the value is a multiple of 10^-scale), from
the facts' declared ranges and the literal and threshold values. A node is built only when its
tight type DECIMAL(p, s) has p <= 38 and the engines' result type of the operation does too
(`_engine_fits`: Spark's formulas, the strictest); every node is cast to its tight type, which
changes no value. Anything else raises `SqlLimitError` (a refusal, never a wrong answer):

- an operation whose result may need more than 38 digits (or whose operands' types make an
  engine's result type exceed 38);
- `div` except by a constant whose inverse is a finite decimal (2^i·5^j·10^k: `div: [x, 4]`,
  `div: [x, 100]`) with a result of at most 28 significant digits (then exact, as Python's);
- `round` to a `to` whose inverse is not a finite decimal (`to: 3`);
- a reference to a non-computed `number` output (a double), or to a later output.

Facts become decimals as `runtime.expressions` takes them: an integer as it is, a double as
the decimal its shortest text says (`Decimal(repr(x))`). A double is cast to DECIMAL(k+S, S)
with k integer digits (its declared bound, at most 9) and S = 15 - k fractional digits: at that
scale at most one S-digit decimal rounds to the double (10^-S exceeds two units in its last
place), so the cast is repr's decimal exactly when it converts back to the same double
(`exact_check`). A record whose double is not (more digits than S, or beyond 10^k) is flagged
(`NATIVE`) and decided by the native code, exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sqlglot import exp

from ...errors import SqlLimitError
from ...language.model import Rounding
from .dialects import dtype

MAX_DIGITS = 38
DIV_DIGITS = 28  # runtime.expressions: division to 28 significant digits
NUMBER_INT_DIGITS = 9  # a double fact's decimal: below 10^9, 6 fractional digits at least
DOUBLE_DIGITS = 15
NATIVE = "(native)"  # __rejected of a record the SQL form leaves to the native code (exactness)


def _frac(value) -> Fraction:
    if isinstance(value, bool):
        raise SqlLimitError("a boolean is not a number")
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if isinstance(value, (int, Decimal, Fraction)):
        return Fraction(value)
    raise SqlLimitError(f"`{value!r}` is not a number")


def _scale_of(q: Fraction) -> int:
    """Fractional digits of a finite decimal (raises for 1/3)."""
    s, d = 0, q.denominator
    while d % 10 == 0:
        d //= 10
        s += 1
    while d % 2 == 0:
        d //= 2
        s += 1
    while d % 5 == 0:
        d //= 5
        s += 1
    if d != 1:
        raise ValueError("not a finite decimal")
    return s if (q * 10 ** s).denominator == 1 else _scale_of_slow(q)


def _scale_of_slow(q: Fraction) -> int:
    s = 0
    while (q * 10 ** s).denominator != 1:
        s += 1
    return s


def finite_decimal(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


@dataclass(frozen=True)
class Num:
    """A DECIMAL expression and what is proved of it: lo <= value <= hi, value·10^scale integral."""

    sql: exp.Expression
    lo: Fraction
    hi: Fraction
    scale: int

    @property
    def precision(self) -> int:
        top = max(abs(self.lo), abs(self.hi)) * 10 ** self.scale
        return max(len(str(math.floor(top))), self.scale, 1)

    @property
    def int_digits(self) -> int:
        return self.precision - self.scale

    def type(self) -> exp.DataType:
        return decimal_type(self.precision, self.scale)


def decimal_type(p: int, s: int) -> exp.DataType:
    return exp.DataType(this=exp.DataType.Type.DECIMAL,
                        expressions=[exp.DataTypeParam(this=exp.Literal.number(p)),
                                     exp.DataTypeParam(this=exp.Literal.number(s))])


def _tight(sql: exp.Expression, lo: Fraction, hi: Fraction, scale: int, what: str) -> Num:
    n = Num(sql, lo, hi, scale)
    if n.precision > MAX_DIGITS:
        raise SqlLimitError(f"{what} may need {n.precision} digits, more than SQL's DECIMAL(38) holds")
    return Num(exp.Cast(this=sql, to=n.type()), lo, hi, scale)


def constant(value) -> Num:
    q = _frac(value)
    s = _scale_of(q)
    text = _plain(q, s)
    n = Num(exp.Literal.string(text), q, q, s)
    if n.precision > MAX_DIGITS:
        raise SqlLimitError(f"the number {text} has more than 38 digits")
    return Num(exp.Cast(this=exp.Literal.string(text), to=n.type()), q, q, s)


def _plain(q: Fraction, s: int) -> str:
    n = q * 10 ** s
    assert n.denominator == 1
    digits = str(abs(n.numerator)).rjust(s + 1, "0")
    text = digits[:len(digits) - s] + ("." + digits[len(digits) - s:] if s else "")
    return ("-" if n < 0 else "") + text


def _engine_fits(op: str, a: Num, b: Num) -> None:
    """Spark's result type of `a op b` (DuckDB's and PostgreSQL's are never narrower than
    needed): beyond 38 digits Spark would round (`allowPrecisionLoss`)."""
    if op == "mul":
        p = a.precision + b.precision + 1
    else:
        p = max(a.scale, b.scale) + max(a.int_digits, b.int_digits) + 1
    if p > MAX_DIGITS:
        raise SqlLimitError(f"`{op}` of DECIMAL({a.precision},{a.scale}) and DECIMAL({b.precision},{b.scale}) "
                            f"has an engine type of {p} digits, more than 38 (Spark would round it)")


def add(a: Num, b: Num, sign: int = 1) -> Num:
    _engine_fits("add", a, b)
    cls = exp.Add if sign > 0 else exp.Sub
    lo = a.lo + (b.lo if sign > 0 else -b.hi)
    hi = a.hi + (b.hi if sign > 0 else -b.lo)
    return _tight(cls(this=a.sql, expression=b.sql), lo, hi, max(a.scale, b.scale), "a sum")


def mul(a: Num, b: Num) -> Num:
    ends = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    out = Num(a.sql, min(ends), max(ends), a.scale + b.scale)
    # each operand typed where it is used (a column's type is not in the text: a dialect
    # check reads the scales here, `dialects.check_decimals`)
    x, y = (n.sql if isinstance(n.sql, exp.Cast) else exp.Cast(this=n.sql, to=n.type()) for n in (a, b))
    if out.precision > 18 and a.precision <= 18 and b.precision <= 18:
        # DuckDB types the product of two DECIMALs of <= 18 digits as DECIMAL(18) at most
        # (an overflow error beyond): one operand widened to 19 digits makes it exact
        wide = Num(a.sql, a.lo, a.hi, a.scale)
        if wide.int_digits + a.scale < 19:
            x = exp.Cast(this=a.sql.copy(), to=decimal_type(19, a.scale))
        a = _Wide(a, 19)
    _engine_fits("mul", a, b)
    return _tight(exp.Mul(this=x, expression=y), out.lo, out.hi, out.scale, "a product")


@dataclass(frozen=True)
class _Wide:
    """A Num as typed with a wider precision (for the engine type checks)."""

    num: Num
    precision: int

    @property
    def scale(self) -> int:
        return self.num.scale

    @property
    def int_digits(self) -> int:
        return self.precision - self.num.scale


def _common(nums: list[Num]) -> list[exp.Expression]:
    """The values cast to one type (a CASE's branches, a comparison's sides)."""
    s = max(n.scale for n in nums)
    ints = max(n.int_digits for n in nums)
    if ints + s > MAX_DIGITS:
        raise SqlLimitError("values of different scales need more than 38 digits in one type")
    t = decimal_type(ints + s, s)
    return [exp.Cast(this=n.sql.copy(), to=t.copy()) for n in nums]


def extreme(nums: list[Num], largest: bool) -> Num:
    """min/max as nested CASE (no LEAST/GREATEST: NULL-propagating in some dialects, and
    typed differently per engine)."""
    vals = _common(nums)
    out = vals[0]
    cmp = exp.GT if largest else exp.LT
    for v in vals[1:]:
        out = exp.Case(ifs=[exp.If(this=cmp(this=v.copy(), expression=out.copy()), true=v)], default=out)
    lo = (max if largest else min)(n.lo for n in nums)
    hi = (max if largest else min)(n.hi for n in nums)
    return _tight(out, lo, hi, max(n.scale for n in nums), "a minimum or maximum")


def choose(branches: list[tuple[exp.Expression, Num]], default: Num) -> Num:
    """CASE WHEN c1 THEN v1 … ELSE default END over Nums."""
    nums = [n for _, n in branches] + [default]
    vals = _common(nums)
    sql = exp.Case(ifs=[exp.If(this=c, true=v) for (c, _), v in zip(branches, vals)], default=vals[-1])
    return _tight(sql, min(n.lo for n in nums), max(n.hi for n in nums), max(n.scale for n in nums), "a value")


def _sign_case(v: exp.Expression, pos: exp.Expression, neg: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=exp.GTE(this=v.copy(), expression=exp.Literal.number(0)), true=pos)],
                    default=neg)


def round_to(a: Num, rounding: Rounding) -> Num:
    """`a` rounded to a multiple of `to` in `mode` (down: toward zero; up: away from zero;
    half_up: nearest, ties away from zero; half_even: nearest, ties to even), exactly:
    v = a · (1/to) (a finite decimal, so a multiplication), n = the integer of `mode` next
    to v (FLOOR and CEIL of a DECIMAL are exact), the result n · to."""
    to = _frac(rounding.to)
    if to <= 0 or not finite_decimal(1 / to):
        raise SqlLimitError(f"rounding to a multiple of {rounding.to}: its inverse is not a finite decimal")
    v = mul(a, constant(1 / to))
    if v.precision > MAX_DIGITS - 3:  # FLOOR(v) + 1, 2 * FLOOR(v / 2): room for the engines' types
        raise SqlLimitError(f"rounding a value of {v.precision} digits, too close to SQL's 38")
    fl = exp.Floor(this=v.sql.copy())
    ce = exp.Ceil(this=v.sql.copy())
    mode = rounding.mode
    if mode == "down":
        n = _sign_case(v.sql, fl, ce)
    elif mode == "up":
        n = _sign_case(v.sql, ce, fl)
    elif mode in ("half_up", "half_even"):
        frac = exp.Sub(this=v.sql.copy(), expression=fl.copy())
        half = exp.Cast(this=exp.Literal.string("0.5"), to=decimal_type(1, 1))
        up1 = exp.Add(this=fl.copy(), expression=exp.Literal.number(1))
        if mode == "half_up":  # a tie goes away from zero: up for v >= 0, down (FLOOR) below
            tie = _sign_case(v.sql, up1.copy(), fl.copy())
        else:  # a tie goes to the even neighbour: FLOOR when it is even
            even = exp.EQ(this=exp.Sub(this=fl.copy(), expression=exp.Mul(
                this=exp.Literal.number(2), expression=exp.Floor(this=exp.Mul(this=fl.copy(), expression=half.copy())))),
                expression=exp.Literal.number(0))
            tie = exp.Case(ifs=[exp.If(this=even, true=fl.copy())], default=up1.copy())
        n = exp.Case(ifs=[exp.If(this=exp.GT(this=frac.copy(), expression=half.copy()), true=up1),
                          exp.If(this=exp.LT(this=frac, expression=half), true=fl)], default=tie)
    else:
        raise SqlLimitError(f"rounding mode `{mode}`")
    lo_n, hi_n = math.floor(v.lo), math.ceil(v.hi)
    n_num = _tight(n, Fraction(lo_n), Fraction(hi_n), 0, "a rounded value")
    return mul(n_num, constant(to))


def divide(a: Num, b, what: str = "a quotient") -> Num:
    """`a / b` for a constant `b` whose inverse is a finite decimal, when the exact
    quotient has at most 28 significant digits (then it is Python's 28-digit quotient)."""
    if b is None:
        raise SqlLimitError("division by a value that is not a constant (a fact or an output): "
                            "the SQL form divides only by constants")
    q = _frac(b)
    if q == 0:
        raise SqlLimitError("division by zero")
    if not finite_decimal(1 / q):
        raise SqlLimitError(f"division by {b}: its inverse is not a finite decimal, so the quotient needs "
                            f"rounding to 28 digits, which the SQL form does not do")
    out = mul(a, constant(1 / q))
    if out.precision > DIV_DIGITS:
        raise SqlLimitError(f"{what} may have {out.precision} significant digits, more than the 28 of "
                            f"the native division")
    return out


# -- the texts of a decimal ------------------------------------------------------------------

def _varchar(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=dtype("VARCHAR"))


def plain_text(n: Num) -> exp.Expression:
    """The normalized plain text of a DECIMAL (no exponent, no trailing zeros, no -0): what
    `values.decimal_text` writes. Its fixed-scale text with the trailing zeros and point cut
    (only when the scale is positive: `6100` keeps its zeros)."""
    e = n.sql.copy()
    if n.int_digits == 0:  # DECIMAL(s, s) prints `.3` in DuckDB: one integer digit gives `0.3`
        if n.scale >= 38:
            raise SqlLimitError(f"a value of {n.scale} decimal places has no text in a DECIMAL(38)")
        e = exp.Cast(this=e, to=decimal_type(n.scale + 1, n.scale))
    t = _varchar(e)
    if n.scale == 0:
        return t
    zeros = exp.Trim(this=t, expression=exp.Literal.string("0"), position="TRAILING")
    return exp.Trim(this=zeros, expression=exp.Literal.string("."), position="TRAILING")


def _commas(digits: exp.Expression, max_digits: int) -> exp.Expression:
    """Digits (no sign) with a `,` between groups of three: SUBSTR by lengths, portable."""
    length = exp.Length(this=digits.copy())
    first = exp.Add(this=exp.Mod(this=exp.Paren(this=exp.Sub(this=length.copy(), expression=exp.Literal.number(1))),
                                 expression=exp.Literal.number(3)), expression=exp.Literal.number(1))
    out: exp.Expression = exp.Substring(this=digits.copy(), start=exp.Literal.number(1), length=first.copy())
    for g in range(1, (max_digits + 2) // 3):
        start = exp.Add(this=first.copy(), expression=exp.Literal.number(3 * (g - 1) + 1))
        piece = exp.DPipe(this=exp.Literal.string(","), expression=exp.Substring(
            this=digits.copy(), start=start, length=exp.Literal.number(3)), safe=True)
        out = exp.DPipe(this=out, expression=exp.Case(
            ifs=[exp.If(this=exp.GT(this=length.copy(), expression=exp.Literal.number(3 * g)), true=piece)],
            default=exp.Literal.string("")), safe=True)
    return out


def _inline(level: int, e: exp.Expression) -> exp.Expression:
    return e


def formatted(n: Num, spec: str, stage=_inline) -> exp.Expression:
    """`values.format_field(Decimal, spec)` for spec `,` / `,.Nf` / `.Nf` (and "" =
    `plain_text`): `.Nf` rounds half-even to N places (a value rounded to zero has no `-`),
    `,` groups the integer digits; the digits are those of the absolute value.

    Each step reads the one before several times, so `stage(level, e)` may put step
    `level` (0: the rounded value, 1: its absolute text, 2: integer and fraction digits)
    into a column of a layer of its own and return that column: the query's expressions
    stay small (inline, a `,.2f` of a rounded value is some 100 KB of SQL)."""
    if not spec:
        return plain_text(n)
    comma = spec.startswith(",")
    rest = spec[1:] if comma else spec
    digits = n.int_digits
    if rest == "":
        shown = stage(0, n.sql.copy())
        body = plain_text(Num(shown, n.lo, n.hi, n.scale))
    else:
        places = int(rest[1:-1])
        r = round_to(n, Rounding(Decimal(1).scaleb(-places), "half_even"))
        digits = max(r.int_digits, 1)
        shown = stage(0, exp.Cast(this=r.sql, to=decimal_type(digits + places, places)))
        body = _varchar(shown.copy())
    absolute: exp.Expression = stage(1, exp.Case(ifs=[exp.If(
        this=exp.LT(this=shown.copy(), expression=exp.Literal.number(0)),
        true=exp.Substring(this=body.copy(), start=exp.Literal.number(2)))], default=body.copy()))
    if comma:
        point = exp.StrPosition(this=absolute.copy(), substr=exp.Literal.string("."))
        has_point = exp.GT(this=point.copy(), expression=exp.Literal.number(0))
        int_part = stage(2, exp.Case(ifs=[exp.If(this=has_point.copy(), true=exp.Substring(
            this=absolute.copy(), start=exp.Literal.number(1),
            length=exp.Sub(this=point.copy(), expression=exp.Literal.number(1))))], default=absolute.copy()))
        frac_part = stage(2, exp.Case(ifs=[exp.If(this=has_point, true=exp.Substring(
            this=absolute.copy(), start=point.copy()))], default=exp.Literal.string("")))
        absolute = exp.DPipe(this=_commas(int_part, digits), expression=frac_part, safe=True)
    # the sign of the value shown (rounded): never `-0.00`, as `values.format_field`
    sign = exp.Case(ifs=[exp.If(this=exp.LT(this=shown.copy(), expression=exp.Literal.number(0)),
                                true=exp.Literal.string("-"))], default=exp.Literal.string(""))
    return exp.DPipe(this=sign, expression=absolute, safe=True)


def integer_num(sql: exp.Expression, lo: int, hi: int) -> Num:
    """A BIGINT value as a scale-0 decimal (for arithmetic and formats)."""
    return _tight(sql, Fraction(lo), Fraction(hi), 0, "an integer")
