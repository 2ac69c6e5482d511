"""Whether two table rows are provably disjoint, from their cells alone.

Under `hit: first` a row restates every earlier row it could overlap with; two rows whose
cells on some input share no value never compete, so the later one need not restate the
earlier (`tables._when`). Only a proof prunes: a cell this module cannot read exactly (a
relative date, another fact's value, a list input, a string function without an enum) is
taken to overlap, which costs restated leaves, never correctness.

The proof is by candidates: the comparisons of one subject are constant between their
operands, so one value from each piece (each operand, the points just beside it, the
midpoints between operands, the ends of the fact's declared range) decides whether some
value satisfies both rows. Integer and date inputs take integers only (days for dates).
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from fractions import Fraction

from .model import DATE, Comparison, FactSpec, Operand

_ORDER = {"gt", "gte", "lt", "lte", "between"}
_SETS = {"eq", "ne", "in", "not_in"}
_STRING_FUNCTIONS = {"starts_with", "ends_with", "contains"}
_UNREAD = object()  # an operand this module cannot compare exactly


def disjoint(a: list[Comparison], b: list[Comparison], specs: dict[str, FactSpec]) -> bool:
    """Whether no record satisfies both leaf lists (conjunctions), proved on one subject."""
    subjects = {(c.kind, c.subject) for c in a} & {(c.kind, c.subject) for c in b}
    for key in sorted(subjects):
        spec = specs.get(key[1])
        if spec is None:
            continue
        left = [c for c in a if (c.kind, c.subject) == key]
        right = [c for c in b if (c.kind, c.subject) == key]
        if _no_common_value(spec, left + right):
            return True
    return False


def _value(spec: FactSpec, v):
    """A literal as a point of the subject's axis: a Fraction, a day ordinal, a string or a
    boolean; `_UNREAD` for what is not a literal."""
    if spec.type == DATE:
        return v.toordinal() if isinstance(v, datetime.date) else _UNREAD
    if spec.type in ("integer", "number"):
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            return _UNREAD
        return Fraction(v)
    return v


def _operand(spec: FactSpec, o):
    if isinstance(o, tuple):  # between: (low, high)
        return tuple(_operand(spec, x) for x in o)
    if not isinstance(o, Operand) or o.fact is not None:
        return _UNREAD
    if isinstance(o.value, tuple):
        return tuple(_value(spec, x) for x in o.value)
    return _value(spec, o.value)


def _unread(x) -> bool:
    return x is _UNREAD or isinstance(x, tuple) and any(_unread(y) for y in x)


def _holds(op: str, operand, v) -> bool:
    if op == "eq":
        return v == operand
    if op == "ne":
        return v != operand
    if op == "in":
        return v in operand
    if op == "not_in":
        return v not in operand
    if op == "gt":
        return v > operand
    if op == "gte":
        return v >= operand
    if op == "lt":
        return v < operand
    if op == "lte":
        return v <= operand
    if op == "between":
        return operand[0] <= v <= operand[1]
    if op == "starts_with":
        return v.startswith(operand)
    if op == "ends_with":
        return v.endswith(operand)
    if op == "contains":
        return operand in v
    raise ValueError(op)


def _no_common_value(spec: FactSpec, leaves: list[Comparison]) -> bool:
    if spec.type not in ("integer", "number", DATE, "string", "boolean"):
        return False  # a list input: taken to overlap
    pairs = []
    for c in leaves:
        if c.op not in _ORDER | _SETS | _STRING_FUNCTIONS:
            return False
        o = _operand(spec, c.operand)
        if _unread(o):
            return False
        pairs.append((c.op, o))
    candidates = _candidates(spec, pairs)
    if candidates is None:
        return False
    return not any(all(_holds(op, o, v) for op, o in pairs) for v in candidates)


def _points(pairs) -> list:
    out = []
    for _, o in pairs:
        out.extend(o if isinstance(o, tuple) else (o,))
    return out


def _candidates(spec: FactSpec, pairs):
    """One value of each piece the comparisons cut the subject's values into, or None when
    the pieces are not known exactly."""
    points = _points(pairs)
    if spec.type == "boolean":
        return [True, False]
    if spec.type == "string":
        if spec.enum is not None:
            return list(spec.enum)
        if any(op in _STRING_FUNCTIONS for op, _ in pairs):
            # Without an enum a string function's values are not enumerable; only a row
            # that names its values (eq/in) can be checked against it.
            finite = [o if isinstance(o, tuple) else (o,) for op, o in pairs if op in ("eq", "in")]
            return [v for group in finite for v in group] if finite else None
        return points + ["\0" + "".join(sorted({p for p in points if isinstance(p, str)}))]  # a text no cell names
    lo, hi = (_value(spec, b) if b is not None else None for b in (spec.minimum, spec.maximum))
    ends = [p for p in points] + [b for b in (lo, hi) if b is not None and b is not _UNREAD]
    if not ends:
        return None
    ends = sorted(set(ends))
    if spec.type == "number":
        values = list(ends) + [ends[0] - 1, ends[-1] + 1] + [(x + y) / 2 for x, y in zip(ends, ends[1:])]
    else:  # integers, and dates as day ordinals
        values = {f + d for e in ends for f in (math.floor(e), math.ceil(e)) for d in (-1, 0, 1)}
    return [v for v in values if (lo is None or lo is _UNREAD or v >= lo) and (hi is None or hi is _UNREAD or v <= hi)]
