"""Policy values: whether a value fits a declared type, and the one way values are shown.

Every message, explanation, witness and report shows values through `format_value`, in one
of a few named styles. The styles differ where the reader differs, on purpose:

- `YAML`: as the author would write it in the policy (diagnostics, diffs): `true` not
  `True`, strings in double quotes so `"50"` is visibly not `50`, `null`, floats as written
  (`700.0` stays `700.0`: a message about a wrong type must not hide the float).
- `TEXT`: as a user reads it in an explanation: strings bare, integral floats as integers
  (`700`), an absent value as `missing`.
- `WITNESS`: like `TEXT`, but an absent value is `null` (region descriptions and witness
  fact sets, where "missing" would read as a value).
- `DIFF`: like `YAML`, but an absent value is `(absent)` (a record's value in `verdict diff`).

In every style a `Decimal` (a computed output) is its shortest plain decimal
(`decimal_text`: `6000`, `6000.5`, never an exponent or `-0`) and a `datetime.date` its
ISO form (`2026-11-11`). `format_field` renders a message placeholder with its format.
"""

from __future__ import annotations

import datetime
import json
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import NamedTuple

from .diagnostics import type_name


class Style(NamedTuple):
    """How `format_value` writes strings, absent values and integral floats."""

    quote_strings: bool
    absent: str
    integral_floats: bool  # write 700.0 as 700


YAML = Style(quote_strings=True, absent="null", integral_floats=False)
TEXT = Style(quote_strings=False, absent="missing", integral_floats=True)
WITNESS = Style(quote_strings=False, absent="null", integral_floats=True)
DIFF = Style(quote_strings=True, absent="(absent)", integral_floats=False)

# Integral floats beyond this are written in exponent form: `int(1e300)` has 301 digits.
_INTEGRAL_LIMIT = 1e15


def format_value(value: object, style: Style = TEXT) -> str:
    """`value` as text in `style` (see the module docstring)."""
    if value is None:
        return style.absent
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is str:
        return json.dumps(value, ensure_ascii=False) if style.quote_strings else value
    if type(value) is float:
        if style.integral_floats and value.is_integer() and abs(value) < _INTEGRAL_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, tuple, frozenset)):
        return "[" + ", ".join(format_value(v, style) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{format_value(k, style)}: {format_value(v, style)}" for k, v in value.items()) + "}"
    if type(value) is int:
        return int_digits(value)
    if type(value) is Decimal:
        return decimal_text(value)
    if type(value) is datetime.date:
        return value.isoformat()
    return str(value)


def decimal_text(d: Decimal) -> str:
    """A Decimal as the shortest plain decimal equal to it: no exponent, no trailing zeros,
    no `-0` (`Decimal("6E+3")` is `6000`, `Decimal("-0.50")` is `-0.5`). The text of a
    computed number output in JSON and in messages."""
    if not d.is_finite():
        raise ValueError(f"not a finite decimal: {d}")
    sign, digits, exp = d.as_tuple()
    text = "".join(map(str, digits)).lstrip("0")
    if not text:
        return "0"
    if exp < 0:  # drop trailing zeros of the fraction
        stripped = text.rstrip("0")
        cut = min(len(text) - len(stripped), -exp)
        text, exp = text[:len(text) - cut], exp + cut
    return ("-" if sign else "") + _place_point(text, exp)


def _place_point(digits: str, exp: int) -> str:
    """The plain text of the number `digits × 10**exp` (digits without sign)."""
    if exp >= 0:
        return digits + "0" * exp
    whole, frac = digits[:exp], digits[exp:]
    return (whole or "0") + "." + frac.rjust(-exp, "0")


def _as_decimal(value) -> Decimal | None:
    """A number as the decimal its text says (`repr` of a float), or None if not a number."""
    if type(value) is Decimal:
        return value if value.is_finite() else None
    if type(value) is int:
        return Decimal(value)
    if type(value) is float and value == value and value not in (float("inf"), float("-inf")):
        return Decimal(repr(value))
    return None


def format_field(value: object, spec: str) -> str:
    """One message placeholder's value with its format (`templates.FORMATS`): `,` groups
    thousands, `.Nf` gives exactly N decimals (rounded half to even, as `div` rounds),
    `,.Nf` both. Without a format, or for a value that is not a number (a missing fact),
    the TEXT style of `format_value`."""
    d = _as_decimal(value) if spec else None
    if d is None:
        return format_value(value, TEXT)
    if spec.endswith("f"):
        places = int(spec[-2])
        # A context as precise as the value: the default 28 digits would refuse (or round)
        # a long one, and a process-wide context must not decide how a message reads.
        ctx = Context(prec=max(28, d.adjusted() + places + 2))
        q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=ctx)
        sign, digits, exp = q.as_tuple()
        body = "".join(map(str, digits)).lstrip("0")
        # (an exponent of exactly -places: the zeros the format asks for are kept)
        text = _place_point(body, exp) if body else "0" + ("." + "0" * places if places else "")
        negative = bool(sign) and bool(body)  # never `-0.00`
    else:
        text = decimal_text(d)
        negative = text.startswith("-")
        text = text.lstrip("-")
    if spec.startswith(","):
        whole, dot, frac = text.partition(".")
        head = len(whole) % 3 or 3
        whole = ",".join([whole[:head]] + [whole[i:i + 3] for i in range(head, len(whole), 3)])
        text = whole + dot + frac
    return ("-" if negative else "") + text


SURROGATE = re.compile("[\ud800-\udfff]")  # one half of a UTF-16 pair, never a character alone

# Python refuses to turn longer integers into text (CVE-2020-10735), so every message
# about such a value would crash; no threshold or fact needs a tenth of this.
MAX_INT_DIGITS = 4300
INT_LIMIT = 10 ** MAX_INT_DIGITS


def lone_surrogate(value) -> str | None:
    """The first lone surrogate (half of a UTF-16 pair, not a character) in a string, in
    the keys and values of a mapping or in a list, as `\\udXXX`; None when there is none.
    JSON text can carry one as an escape (`"\\ud83c"`), and every UTF-8 output would fail
    on it, so inputs that hold one are refused."""
    if type(value) is str:
        m = SURROGATE.search(value)
        return f"\\u{ord(m.group(0)):04x}" if m else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = lone_surrogate(k) or lone_surrogate(v)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for v in value:
            found = lone_surrogate(v)
            if found:
                return found
    return None


def int_digits(value: int) -> str:
    """All the decimal digits of an integer, also one beyond the 4,300 digits `str()` gives
    (Python refuses longer ones, CVE-2020-10735, and the limit is process-wide: it is never
    changed here). Below the limit this is `int.__repr__` itself; beyond it the value is cut
    by divmod with a power of ten, each part within the limit (divide and conquer, so a
    value of n digits costs O(n²) at worst, as `str()` would)."""
    if -INT_LIMIT < value < INT_LIMIT:
        return int.__repr__(value)
    if value < 0:
        return "-" + _digits(-value)
    return _digits(value)


def _digits(value: int) -> str:
    if value < INT_LIMIT:
        return int.__repr__(value)
    half = max(1, int(value.bit_length() * 0.30102999566398) // 2)  # about half of its digits
    high, low = divmod(value, _pow10(half))
    return _digits(high) + _digits(low).rjust(half, "0")


def int_from_digits(text: str) -> int:
    """The integer of a decimal numeral of any length (`int()` refuses beyond 4,300 digits,
    like `str()`): for a program reading verdict's JSON back, as `json.loads(text,
    parse_int=int_from_digits)`. The inverse of `int_digits`."""
    body = text.lstrip("+-")
    if len(body) <= MAX_INT_DIGITS:
        return int(text)
    if not body.isdigit() or not body.isascii():
        raise ValueError(f"not a decimal integer: {text[:40]!r}")
    value = _from_digits(body)
    return -value if text.startswith("-") else value


def _from_digits(body: str) -> int:
    if len(body) <= MAX_INT_DIGITS:
        return int(body)
    half = len(body) // 2
    return _from_digits(body[:-half]) * _pow10(half) + _from_digits(body[-half:])


_POW10: dict[int, int] = {}


def _pow10(k: int) -> int:
    p = _POW10.get(k)
    if p is None:
        p = 10 ** k
        if len(_POW10) < 64:
            _POW10[k] = p
    return p


def int_text(value: int) -> str:
    """An integer as text, also one too long for `str()` (Python refuses beyond 4,300
    digits): then its size instead of its digits."""
    if abs(value) < INT_LIMIT:
        return str(value)
    return f"an integer of about {int(abs(value).bit_length() * 0.30103):,} digits"


def clip(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters with `...`, for a user's value inside a message."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def literal(value: object) -> str:
    """`value` as the author would write it in YAML (the `YAML` style), for messages."""
    return format_value(value, YAML)


def json_kind(value) -> str:
    """A value's kind in JSON's words, with its article (`an array`, `a string`, `null`)."""
    kind = type_name(value, "object")
    return {"array": "an array", "object": "an object", "integer": "an integer", "null": "null"}.get(kind, f"a {kind}")


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def parse_date(value) -> datetime.date | None:
    """A date written as exactly `YYYY-MM-DD` (a valid calendar day), or a `datetime.date`
    as it is; None for anything else (`2026-02-30`, `2026-1-5`, `20260105`, a number)."""
    if type(value) is datetime.date:
        return value
    if type(value) is not str or not _ISO_DATE.match(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def value_fits(ftype: str, value) -> bool:
    """Whether `value` is a valid value of a declared type (booleans are never numbers). For
    `array` (a list fact or output) only that it is a list: its items are checked against
    the items' spec by validation and by the record reader."""
    if ftype == "array":
        return isinstance(value, (list, tuple))
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype == "string":
        return isinstance(value, str)
    if ftype == "date":
        return type(value) is datetime.date
    if isinstance(value, bool):
        return False
    if ftype == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, (int, float))
