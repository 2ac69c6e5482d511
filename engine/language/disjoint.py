"""Whether two table rows are provably disjoint, from their cells alone.

Under `hit: first` a row restates every earlier row it could overlap with; two rows whose
cells on some input share no value never compete, so the later one need not restate the
earlier (`tables._when`). Only a proof prunes: a cell this module cannot read exactly (a
relative date, another fact's value, a list input, a string function on a string without
an enum) is taken to overlap, which costs restated leaves, never correctness.

Each row is read once into a `profile`: per subject, the set of values its comparisons
admit, in a form whose intersection is decided exactly and cheaply (a table of n rows asks
n²/2 questions). On an ordered input (integer, number, date) the set is an interval (the
declared range narrowed by the order comparisons), optionally a finite set of points
(`eq`/`in`), minus excluded points (`ne`/`not_in`); integers and dates (day ordinals) take
whole values only. On a finite domain (a boolean, an enum) it is the subset of the domain
the comparisons admit. On a string without an enum: points, or all texts, minus excluded
points, with the string functions kept as tests of the points.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from .model import DATE, Comparison, FactSpec, Operand, string_test

_UNREAD = object()  # an operand this module cannot compare exactly
_STRING_FUNCTIONS = ("starts_with", "ends_with", "contains")


def _string_test(op: str):
    """`value op operand` by the one meaning of the string operators (`model.string_test`)."""
    return lambda value, operand: string_test(op, value, operand)


@dataclass(frozen=True)
class _Span:
    """Values of an ordered input: `lo..hi` (None: unbounded; `*_open`: the end excluded),
    ∩ `points` (None: no such restriction), minus `out`."""

    integral: bool
    lo: object = None
    lo_open: bool = False
    hi: object = None
    hi_open: bool = False
    points: frozenset | None = None
    out: frozenset = frozenset()

    def low(self, v, open_: bool) -> "_Span":
        if self.lo is None or v > self.lo or (v == self.lo and open_):
            return replace(self, lo=v, lo_open=open_)
        return self

    def high(self, v, open_: bool) -> "_Span":
        if self.hi is None or v < self.hi or (v == self.hi and open_):
            return replace(self, hi=v, hi_open=open_)
        return self

    def only(self, values) -> "_Span":
        values = frozenset(values)
        return replace(self, points=values if self.points is None else self.points & values)

    def without(self, values) -> "_Span":
        return replace(self, out=self.out | frozenset(values))

    def meet(self, other: "_Span") -> "_Span":
        # (built directly: `dataclasses.replace` per bound was most of a big table's time)
        lo, lo_open, hi, hi_open = self.lo, self.lo_open, self.hi, self.hi_open
        if other.lo is not None and (lo is None or other.lo > lo or (other.lo == lo and other.lo_open)):
            lo, lo_open = other.lo, other.lo_open
        if other.hi is not None and (hi is None or other.hi < hi or (other.hi == hi and other.hi_open)):
            hi, hi_open = other.hi, other.hi_open
        points = other.points if self.points is None else self.points if other.points is None \
            else self.points & other.points
        return _Span(self.integral, lo, lo_open, hi, hi_open, points, self.out | other.out)

    def _inside(self, v) -> bool:
        if self.lo is not None and (v < self.lo or (v == self.lo and self.lo_open)):
            return False
        if self.hi is not None and (v > self.hi or (v == self.hi and self.hi_open)):
            return False
        return not self.integral or v == math.floor(v)

    def empty(self) -> bool:
        if self.points is not None:
            return not any(self._inside(p) and p not in self.out for p in self.points)
        if self.lo is None or self.hi is None:
            return False  # unbounded: infinitely many values, finitely many excluded
        if self.integral:
            lo = math.floor(self.lo) + 1 if self.lo_open else math.ceil(self.lo)
            hi = math.ceil(self.hi) - 1 if self.hi_open else math.floor(self.hi)
            return hi < lo or hi - lo + 1 <= sum(1 for v in self.out if lo <= v <= hi and v == math.floor(v))
        if self.lo < self.hi:
            return False
        return not (self.lo == self.hi and not self.lo_open and not self.hi_open and self.lo not in self.out)


@dataclass(frozen=True)
class _Finite:
    """Values of a boolean or enum input: the subset of its domain the cells admit."""

    values: frozenset

    def meet(self, other: "_Finite") -> "_Finite":
        return _Finite(self.values & other.values)

    def empty(self) -> bool:
        return not self.values


@dataclass(frozen=True)
class _Text:
    """Values of a string without an enum: `points` (None: every text) minus `out`, each
    passing `tests` (string functions)."""

    points: frozenset | None = None
    out: frozenset = frozenset()
    tests: tuple = ()

    def meet(self, other: "_Text") -> "_Text":
        points = other.points if self.points is None else self.points if other.points is None \
            else self.points & other.points
        return _Text(points, self.out | other.out, self.tests + other.tests)

    def empty(self) -> bool | None:
        if self.points is None:
            return None if self.tests else False  # functions over all texts: not decided here
        return not any(v not in self.out and all(f(v, o) for f, o in self.tests) for v in self.points)


def _value(spec: FactSpec, v):
    """A literal as a point of the subject's axis: a Fraction or a day ordinal; `_UNREAD`
    for what is not a literal of the axis."""
    if spec.type == DATE:
        return v.toordinal() if isinstance(v, datetime.date) else _UNREAD
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return _UNREAD
    return Fraction(v)


def _operands(o) -> tuple | None:
    """The literal values of an operand (one, a list's, a `between`'s two), or None."""
    if isinstance(o, tuple):  # between: (low, high)
        parts = [_operands(x) for x in o]
        return None if None in parts else tuple(p[0] for p in parts)
    if not isinstance(o, Operand) or o.fact is not None:
        return None
    return o.value if isinstance(o.value, tuple) else (o.value,)


def _ordered(spec: FactSpec, leaves: list[Comparison]):
    s = _Span(spec.type != "number")
    for bound, method in ((spec.minimum, "low"), (spec.maximum, "high")):
        if bound is not None and _value(spec, bound) is not _UNREAD:
            s = getattr(s, method)(_value(spec, bound), False)
    for c in leaves:
        raw = _operands(c.operand)
        if raw is None:
            return None
        vs = tuple(_value(spec, v) for v in raw)
        if _UNREAD in vs:
            return None
        if c.op in ("eq", "in"):
            s = s.only(vs)
        elif c.op in ("ne", "not_in"):
            s = s.without(vs)
        elif c.op in ("gt", "gte"):
            s = s.low(vs[0], c.op == "gt")
        elif c.op in ("lt", "lte"):
            s = s.high(vs[0], c.op == "lt")
        elif c.op == "between":
            s = s.low(vs[0], False).high(vs[1], False)
        else:
            return None
    return s


def _finite(domain, leaves: list[Comparison]):
    values = set(domain)
    for c in leaves:
        raw = _operands(c.operand)
        if raw is None or c.op not in ("eq", "ne", "in", "not_in"):
            return None
        if c.op in ("eq", "in"):
            values &= set(raw)
        else:
            values -= set(raw)
    return _Finite(frozenset(values))


def _text(leaves: list[Comparison]):
    t = _Text()
    for c in leaves:
        raw = _operands(c.operand)
        if raw is None or not all(isinstance(v, str) for v in raw):
            return None
        if c.op in ("eq", "in"):
            t = t.meet(_Text(frozenset(raw)))
        elif c.op in ("ne", "not_in"):
            t = t.meet(_Text(out=frozenset(raw)))
        elif c.op in _STRING_FUNCTIONS:
            t = t.meet(_Text(tests=((_string_test(c.op), raw[0]),)))
        else:
            return None
    return t


def profile(leaves: list[Comparison], specs: dict[str, FactSpec]) -> dict:
    """Per subject of a row's leaves, the set of values they admit (None: not read exactly)."""
    by_subject: dict[tuple[str, str], list[Comparison]] = {}
    for c in leaves:
        by_subject.setdefault((c.kind, c.subject), []).append(c)
    out = {}
    for key, group in by_subject.items():
        spec = specs.get(key[1])
        if spec is None:
            out[key] = None
        elif spec.type in ("integer", "number", DATE):
            out[key] = _ordered(spec, group)
        elif spec.type == "boolean":
            out[key] = _finite((True, False), group)
        elif spec.type == "string" and spec.enum is not None:
            out[key] = _finite(spec.enum, group)
        elif spec.type == "string":
            out[key] = _text(group)
        else:
            out[key] = None  # a list input: taken to overlap
    return out


def disjoint(a: dict, b: dict) -> bool:
    """Whether no record satisfies two rows (their profiles), proved on one subject."""
    for key, x in a.items():
        y = b.get(key)
        if x is not None and y is not None and x.meet(y).empty() is True:
            return True
    return False
