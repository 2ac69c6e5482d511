"""Values with verdict's rules, shared by every input format: JSON text (no NaN or Infinity,
no duplicate keys, integral numerals beyond a float's precision kept exact, nesting and
integer length bounded) and CSV cells converted by the declared fact types, so that a
numeral means the same in JSON, CSV and YAML facts (`700.0` and `7e2` are the integer 700
for an integer fact). A list fact's CSV cell holds a JSON array's text (`["cash","card"]`),
read with the same rules and limits as a JSON record. Pure: no files here (that is
`engine.io.records`).
"""

from __future__ import annotations

import json
import re
from typing import Callable

from ..language.values import json_kind
from ..language.model import Policy
from ..language.source import MAX_DEPTH
from ..language.values import MAX_INT_DIGITS


def _reject_constant(name: str):
    raise ValueError(f"`{name}` is not a valid number")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key `{k}`")
        out[k] = v
    return out


_EXACT = 2.0 ** 53  # below this every integral float is the numeral it was read from


def parse_float(text: str):
    """A JSON (or CSV) numeral with a fraction or an exponent. Integral numerals beyond
    2**53 that a float cannot hold exactly (`12345678901234567891.0`) become the exact int,
    so an integer fact is never silently rounded; the rest are floats (inf is refused later)."""
    value = float(text)
    if value.is_integer() and not -_EXACT < value < _EXACT:
        from decimal import Decimal  # rare: only numerals this large pay for the import

        exact = Decimal(text)
        if exact != value and exact == exact.to_integral_value():
            return int(exact)  # finite here: an overflowing numeral gave inf above
    return value


DECODER = json.JSONDecoder(parse_float=parse_float, parse_constant=_reject_constant,
                            object_pairs_hook=_no_duplicates)


def parse_json(text: str):
    """One JSON value with verdict's rules (no NaN/Infinity, no duplicate keys)."""
    return DECODER.decode(text)


_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def too_deep(text: str, start: int = 0, end: int | None = None) -> bool:
    """True when arrays and objects nest deeper than MAX_DEPTH in text[start:end]. A cheap
    count first (any record deeper than the limit has that many brackets)."""
    end = len(text) if end is None else end
    if text.count("[", start, end) + text.count("{", start, end) <= MAX_DEPTH:
        return False
    depth = 0
    for m in _NESTING.finditer(text, start, end):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def value_error(exc: Exception) -> str:
    text = str(exc)
    if "Exceeds the limit" in text and "integer" in text:
        return f"an integer is longer than the limit of {MAX_INT_DIGITS:,} digits"
    return text


def not_an_object(value) -> str:
    return f"a record must be an object of fact names to values, got {json_kind(value)}"




def json_error(text: str, exc: json.JSONDecodeError) -> str:
    """Where in the line (or document) the JSON is wrong. Decoded again without the line's
    newline, so a record cut short is reported at its end ("Unterminated string starting at"
    its quote), not as a control character or at the start of a next line."""
    body = text.rstrip("\r\n")
    if body != text:
        try:
            DECODER.decode(body)
        except json.JSONDecodeError as again:
            exc = again
        except ValueError:
            pass
    multiline = "\n" in body
    if exc.pos >= len(body):
        line, col = body.count("\n") + 1, len(body) - body.rfind("\n")
        where = f"line {line} column {col}" if multiline else f"column {col}"
        return f"invalid JSON at {where}: {exc.msg} (the record ends early)"
    where = f"line {exc.lineno} column {exc.colno}" if multiline else f"column {exc.colno}"
    return f"invalid JSON at {where}: {exc.msg}"


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _show(cell: str) -> str:
    return cell if len(cell) <= 40 else cell[:37] + "..."


def _numeral(name: str, cell: str, kind: str):
    """A number cell that int() refused: a decimal or exponent numeral, parsed as JSON's
    numerals are (see `parse_float`), or ValueError naming the fact."""
    text = cell.strip()
    digits = len(text.lstrip("+-"))
    if digits > MAX_INT_DIGITS and text.lstrip("+-").isdigit():
        raise ValueError(f"fact `{name}`: an integer is longer than the limit of {MAX_INT_DIGITS:,} digits")
    if not ("." in text or "e" in text or "E" in text):
        raise ValueError(f"fact `{name}`: `{_show(cell)}` is not {kind}")
    try:
        value = parse_float(text)
    except ValueError:
        raise ValueError(f"fact `{name}`: `{_show(cell)}` is not {kind}") from None
    if value.__class__ is float and value - value != 0.0:  # inf - inf and nan - nan are nan
        raise ValueError(f"fact `{name}`: `{_show(cell)}` is not a finite number")
    return value


def cell_converter(policy: Policy, name: str) -> Callable[[str], object]:
    """How a CSV column's cells become values: by the declared type of the fact it names
    (an undeclared column stays a string). An empty cell is a missing value. Integral
    numerals (`700.0`, `7e2`) are integers for an integer fact, as in JSON. Built once per
    column: a batch converts millions of cells. Raises ValueError naming the fact."""
    spec = policy.facts.get(name)
    kind = "string" if spec is None else spec.type

    def string(cell: str):
        return cell if cell != "" else None

    def boolean(cell: str):
        if cell == "":
            return None
        value = _BOOLEANS.get(cell.strip().lower())
        if value is None:
            raise ValueError(f"fact `{name}`: `{_show(cell)}` is not a boolean (true/false)")
        return value

    def integer(cell: str):
        if cell == "":
            return None
        try:
            return int(cell)
        except ValueError:
            pass
        value = _numeral(name, cell, "an integer")
        if value.__class__ is float:
            if not value.is_integer():
                raise ValueError(f"fact `{name}`: `{_show(cell)}` is not an integer")
            value = int(value)
        return value

    def number(cell: str):
        if cell == "":
            return None
        if "." in cell or "e" in cell or "E" in cell:  # the usual float cell: no exception raised
            try:
                value = float(cell)
            except ValueError:
                raise ValueError(f"fact `{name}`: `{_show(cell)}` is not a number") from None
            if value - value != 0.0:  # inf - inf and nan - nan are nan
                raise ValueError(f"fact `{name}`: `{_show(cell)}` is not a finite number")
            if value.is_integer() and not -_EXACT < value < _EXACT:
                return parse_float(cell.strip())  # an integral numeral a float may round
            return value
        try:
            return int(cell)
        except ValueError:
            return _numeral(name, cell, "a number")

    def array(cell: str):
        # The items are checked by `runtime.facts.check_value`, as a JSON record's list is.
        if cell == "" or not cell.strip():
            return None
        if too_deep(cell):
            raise ValueError(f"fact `{name}`: the list is nested deeper than the limit of {MAX_DEPTH} levels")
        try:
            value = DECODER.decode(cell.strip())
        except json.JSONDecodeError as exc:
            raise ValueError(f"fact `{name}`: `{_show(cell)}` is not a JSON array ({exc.msg} at column "
                             f"{exc.colno})") from None
        except ValueError as exc:  # NaN, a duplicate key, an integer of too many digits
            raise ValueError(f"fact `{name}`: {value_error(exc)}") from None
        if value.__class__ is not list:
            raise ValueError(f"fact `{name}`: `{_show(cell)}` is not a JSON array (`[\"a\", \"b\"]`)")
        return value

    # A date column's text passes through (an empty cell is a missing value) for
    # `runtime.facts.check_value` to parse and report, as a JSON string is.
    return {"string": string, "boolean": boolean, "integer": integer, "number": number, "date": string,
            "array": array}[kind]
