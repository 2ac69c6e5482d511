"""verdict's JSON text: `dumps`, the one JSON writer of decisions, reports and diffs.

`json`'s encoder with ensure_ascii=False, NaN and ±Infinity as JavaScript's, integers of
any size written in full, a `Decimal` (a computed output, a diff's total) as the number its
plain decimal text says (`6000.5`, never binary-float noise), and a `datetime.date` as its
ISO text. Pure: text in, text out.
"""

from __future__ import annotations

import datetime
import json
import json.encoder as _json_encoder
from decimal import Decimal
from functools import lru_cache

from .values import decimal_text, int_digits

_jstr = _json_encoder.encode_basestring  # a str as JSON with ensure_ascii=False (C-accelerated)


def dumps(data, indent: int | None = None, sort_keys: bool = False) -> str:
    """JSON text as verdict writes it: `ensure_ascii=False`, `(",", ":")` on one line and
    `(",", ": ")` with an indent, floats as Python's repr, integers of any size. Python
    refuses `str()` of an integer beyond 4,300 digits (a process-wide limit, never changed
    here): only a value that holds one takes the slower encoder, which writes it in full.
    So does a value the C encoder does not know: a `Decimal` (a computed output), written
    as the number its plain decimal text says, and a `datetime.date`, as its ISO text.
    `sort_keys` as json's (the diagnostics report sorts them)."""
    try:
        return _encoder(indent, sort_keys).encode(data)
    except ValueError as exc:
        if "Exceeds the limit" not in str(exc):
            raise
    except TypeError:  # a Decimal or a date (anything else fails again, as json would)
        pass
    return "".join(_big_iterencode(indent, sort_keys)(data, 0))


@lru_cache(maxsize=None, typed=True)
def _encoder(indent, sort_keys: bool = False) -> json.JSONEncoder:
    """One encoder per indent: `json.dumps` with options builds a new one every call."""
    return json.JSONEncoder(ensure_ascii=False, indent=indent, separators=(",", ": ") if indent else (",", ":"),
                            sort_keys=sort_keys)


class _DecimalNumber(float):
    """A Decimal on its way into JSON: `_floatstr` writes its decimal text (a float
    subclass, so json's encoder takes it as a number; its float value is never used)."""

    def __new__(cls, d: Decimal):
        self = super().__new__(cls, d)
        self.text = decimal_text(d)
        return self


def _default(o):
    """What `json` cannot encode itself: a Decimal as its number, a date as its ISO text, a
    set as a list."""
    if o.__class__ is Decimal:
        return _DecimalNumber(o)
    if isinstance(o, datetime.date):
        return o.isoformat()
    if isinstance(o, (set, frozenset)):
        return list(o)
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _floatstr(o, _repr=float.__repr__, _inf=float("inf")) -> str:
    """A float as `json.JSONEncoder` writes it (allow_nan: NaN and ±Infinity as JavaScript's)."""
    if o.__class__ is _DecimalNumber:
        return o.text
    if o != o:
        return "NaN"
    if o == _inf:
        return "Infinity"
    if o == -_inf:
        return "-Infinity"
    return _repr(o)


@lru_cache(maxsize=None, typed=True)
def _big_iterencode(indent, sort_keys: bool = False):
    """`json`'s own pure-Python encoder with `_encoder(indent)`'s options, writing integers
    through `int_digits` (every digit, past `str()`'s limit), Decimals and dates by `_default`."""
    enc = _encoder(indent, sort_keys)
    # No circular-reference markers: the encoder is kept, and a dict of markers would keep
    # the ids of a failed encoding (its TypeError) and could refuse a later value at the
    # same address. The C encoder, which runs first, checks for cycles.
    return _json_encoder._make_iterencode(
        None, _default, _jstr, None if enc.indent is None else " " * enc.indent, _floatstr, enc.key_separator,
        enc.item_separator, enc.sort_keys, enc.skipkeys, False, _intstr=int_digits)
