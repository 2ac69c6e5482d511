"""Cells and the fact space: each fact's declared domain cut into pieces no leaf can tell apart.

Every leaf condition compares one fact with constants, so each fact's domain splits into
finitely many *cells* (integer intervals, real points and open intervals, enum values,
booleans, every string the policies do not name, and an "absent" point for optional facts)
on which every leaf is constant. A date fact is an integer axis of day ordinals, its
relative operands resolved on the space's evaluation date `as_of` (`dates`). A `Dim` is
one fact's cells; a `Space` the product of them for one policy or a pair (for `diff`). A
*box* is a tuple of cell bit masks, one per `Dim` (see `regions`); `Space.point` picks a
witness inside one.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..language.model import DATE, PRESENCE_OP, Policy, RelativeDate
from .dates import FIRST_DAY, LAST_DAY, axis_value, evaluation_date, from_axis, is_relative, leaf_operand, resolve

#: The second axis of a date fact split by `Space(split=...)`: its relative comparisons.
RELATIVE = "relative"


@dataclass(frozen=True)
class Cell:
    """One piece of a fact's domain on which every leaf of the analysed policies is constant.

    kind: "int" [lo, hi] (None = unbounded; day ordinals for a date fact); "num" an
    interval with open/closed ends;
    "value" one string or boolean; "other" every string not named by any policy;
    "absent" the fact is missing.
    """

    kind: str
    lo: object = None
    hi: object = None
    lo_closed: bool = True
    hi_closed: bool = True
    value: object = None


def _int_rep(c: Cell) -> int:
    if c.lo is not None:
        return c.lo
    if c.hi is not None:
        return c.hi
    return 0


def _num_rep(c: Cell):
    if c.lo == c.hi:
        return c.lo
    lo, hi = c.lo, c.hi
    if lo is None and hi is None:
        return 0
    if lo is None:
        v = math.ceil(hi) - 1
        return int(v)
    if hi is None:
        return int(math.floor(lo) + 1)
    k = math.floor(lo) + 1  # the smallest integer above lo: the friendliest witness value
    if k < hi:
        return int(k)
    return (lo + hi) / 2


class Dim:
    """One fact's cells, their representative values, and bit masks over them."""

    def __init__(self, name: str, ftype: str, cells: list[Cell], other: str | None = None,
                 consts: frozenset = frozenset(), anchor: int | None = None, frame: str | None = None):
        self.name = name
        # RELATIVE on the second axis of a split date fact (`Space(split=...)`); both axes
        # of a split fact are `coupled`: one value, so no single axis may be changed alone.
        self.frame = frame
        self.coupled = False
        # Days of a date axis that are relative operands resolved on `as_of` → their text
        # (`clean_days days ago`): descriptions say them so, the same on every date.
        self.labels: dict[int, str] = {}
        # A date axis's friendliest day: the evaluation date's ordinal (witnesses are the
        # days of a cell nearest to it, not year 1).
        self.anchor = anchor
        self.consts = consts  # the constants the policies compare this fact with (for wording)
        self.type = ftype
        self.cells = cells
        self.full = (1 << len(cells)) - 1
        self.absent = next((1 << i for i, c in enumerate(cells) if c.kind == "absent"), 0)
        self.present = self.full & ~self.absent
        self._other = other

    def rep(self, i: int):
        """The representative (witness) value of cell `i`: its friendliest value (a
        `datetime.date` on a date axis); None if absent."""
        c = self.cells[i]
        if c.kind == "int" and self.anchor is not None:
            return from_axis(self.type, min(max(self.anchor, c.lo), c.hi))
        if c.kind == "int":
            return from_axis(self.type, _int_rep(c))
        if c.kind == "num":
            return _num_rep(c)
        if c.kind == "value":
            return c.value
        if c.kind == "other":
            return self._other
        return None  # absent


def _fact_constants(policies: Sequence[Policy], as_of: datetime.date, split: frozenset = frozenset(),
                    labels: dict | None = None) -> dict:
    """The constants each fact is compared with, as axis values (dates as ordinals), with
    relative dates resolved on `as_of`; those of a `split` fact's relative comparisons
    under the key (name, RELATIVE). A presence test (`missing`) compares with no value:
    the absent cell is its boundary. `labels` receives, per date fact, the day of each
    relative operand → its text (`clean_days days ago`)."""
    out: dict = {}

    def add(p: Policy, leaf) -> None:
        if leaf.kind != "fact" or leaf.op == PRESENCE_OP:
            return
        v = leaf_operand(leaf, as_of)
        ftype = p.facts[leaf.subject].type if leaf.subject in p.facts else None
        key = (leaf.subject, RELATIVE) if leaf.subject in split and is_relative(leaf) else leaf.subject
        out.setdefault(key, set()).update(axis_value(ftype, x) for x in (v if isinstance(v, tuple) else (v,)))
        if ftype == DATE and labels is not None:
            for o in (leaf.operand if leaf.op == "between" else (leaf.operand,)):
                if isinstance(o.value, RelativeDate):
                    labels.setdefault(leaf.subject, {}).setdefault(resolve(o.value, as_of).toordinal(),
                                                                  o.value.describe())

    for p in policies:
        for r in p.rules:
            for leaf in r.leaves:
                add(p, leaf)
        for ack in p.acknowledged:  # a gap acknowledged `where` ...: its bounds are cell bounds too
            for leaf in ack.leaves:
                add(p, leaf)
        for f in p.facts.values():
            if f.has_default:  # the default's cell must exist when absence reads as the default
                out.setdefault(f.name, set()).add(axis_value(f.type, f.default))
    return out


def _bound(values: Iterable, pick) -> object:
    vals = [v for v in values if v is not None]
    return pick(vals) if vals else None


class Space:
    """The product of the facts' cell partitions, for one policy or a pair (for `diff`).

    `split` names date facts whose relative comparisons get an axis of their own, over the
    whole calendar (the declared range and the absolute comparisons stay on the first):
    waiting moves only what is seen from the evaluation date (`waiting`). The two axes
    hold one value, so a point of the space is a fact set only where they agree: a split
    space is for moving a given fact set (counterfactuals), not for witnesses."""

    def __init__(self, policies: Sequence[Policy], as_of: datetime.date | None = None,
                 split: frozenset = frozenset()):
        self.policies = tuple(policies)
        self.notes: list[str] = []  # where the space is not exact
        # The evaluation date relative operands are resolved on (default: today in the
        # first policy's timezone); every region of this space holds for that date.
        self.as_of = evaluation_date(self.policies, as_of)
        labels: dict[str, dict] = {}
        consts = _fact_constants(policies, self.as_of, split, labels)
        names: list[str] = []
        for p in policies:
            for n in p.facts:
                if n not in names:
                    names.append(n)
        self.dims: list[Dim] = []
        for name in names:
            specs = [p.facts[name] for p in policies if name in p.facts]
            types = {s.type for s in specs}
            ftype = specs[-1].type
            if len(types) > 1:
                if types == {"integer", "number"}:
                    ftype = "number"
                else:
                    self.notes.append(f"fact `{name}` changed type ({' → '.join(s.type for s in specs)}); "
                                      f"only `{ftype}` values are compared")
            # A value valid for every policy that declares the fact: intersect the ranges.
            lo = _bound([axis_value(s.type, s.minimum) for s in specs], max)
            hi = _bound([axis_value(s.type, s.maximum) for s in specs], min)
            cs = sorted(v for v in consts.get(name, ()) if isinstance(v, (int, float)) and not isinstance(v, bool)) \
                if ftype in ("integer", "number", DATE) else sorted(consts.get(name, ()), key=repr)
            if ftype == DATE:
                # Day ordinals, within the days a `datetime.date` can hold.
                lo = FIRST_DAY if lo is None or not isinstance(lo, int) else max(lo, FIRST_DAY)
                hi = LAST_DAY if hi is None or not isinstance(hi, int) else min(hi, LAST_DAY)
                cells = _int_cells(lo, hi, [c for c in cs if isinstance(c, int)])
            elif ftype == "integer":
                cells = _int_cells(lo, hi, cs)
            elif ftype == "number":
                cells = _num_cells(lo, hi, cs)
            elif ftype == "boolean":
                cells = [Cell("value", value=False), Cell("value", value=True)]
            else:
                enums = [s.enum for s in specs if s.enum is not None]
                if enums:
                    allowed = [v for v in enums[0] if all(v in e for e in enums)]
                    cells = [Cell("value", value=v) for v in allowed]
                else:
                    cells = [Cell("value", value=v) for v in cs if isinstance(v, str)] + [Cell("other")]
            other = None
            if any(c.kind == "other" for c in cells):
                other = "other"
                strs = {v for v in cs if isinstance(v, str)}
                while other in strs:
                    other += "_"
            # Absence is a point of its own when every policy accepts a record without the
            # fact, unless all of them read it as the same default (then it is that value).
            if all(not s.required or s.has_default for s in specs) and not (
                    all(s.has_default for s in specs) and len({repr(s.default) for s in specs}) == 1):
                cells.append(Cell("absent"))
            anchor = None
            if ftype == DATE:
                anchor = self.as_of.toordinal() if self.as_of is not None else None
            self.dims.append(Dim(name, ftype, cells, other, frozenset(v for v in cs if not isinstance(v, bool)),
                                 anchor))
            self.dims[-1].labels = labels.get(name, {})
            if name in split and ftype == DATE:
                rel = sorted(consts.get((name, RELATIVE), ()))
                cells = _int_cells(FIRST_DAY, LAST_DAY, rel) + [c for c in cells if c.kind == "absent"]
                self.dims.append(Dim(name, ftype, cells, None, frozenset(rel), anchor, RELATIVE))
                self.dims[-1].labels = labels.get(name, {})
                self.dims[-1].coupled = self.dims[-2].coupled = True
        self.index = {d.name: i for i, d in enumerate(self.dims) if d.frame is None}
        self.relative_index = {d.name: i for i, d in enumerate(self.dims) if d.frame == RELATIVE}
        self.universe: list[tuple] = [tuple(d.full for d in self.dims)]
        self.total = not any(d.absent for d in self.dims)  # no absent cells: T and F are complements

    def dim(self, name: str) -> Dim:
        return self.dims[self.index[name]]

    def axis(self, leaf) -> int:
        """The index of the dim a fact leaf reads (a split fact's relative axis for its
        relative comparisons)."""
        k = self.relative_index.get(leaf.subject)
        if k is not None and leaf.op != PRESENCE_OP and is_relative(leaf):
            return k
        return self.index[leaf.subject]

    def region(self, name: str, mask: int) -> list:
        """The region where fact `name` lies in the cells of `mask` (every other fact free)."""
        return self.region_at(self.index[name], mask)

    def region_at(self, k: int, mask: int) -> list:
        """The region where dim `k` lies in the cells of `mask` (every other dim free)."""
        box = list(self.universe[0])
        box[k] = mask
        return [tuple(box)] if mask else []

    # -- points ------------------------------------------------------------------------
    def point(self, box: tuple) -> dict:
        """A complete, valid fact set inside `box` (absent only where the box forces it)."""
        out = {}
        for d, mask in zip(self.dims, box):
            m = mask & d.present or mask
            i = (m & -m).bit_length() - 1
            v = d.rep(i)
            if d.cells[i].kind != "absent":
                out[d.name] = v
        return out

    def cell_of(self, name: str, value) -> int:
        """The cell index holding `value` (or absence, for None) of fact `name`."""
        return self.cell_at(self.index[name], value)

    def cell_at(self, k: int, value) -> int:
        """The cell index of dim `k` holding `value` (or absence, for None)."""
        d = self.dims[k]
        name = d.name
        if d.type == DATE:
            if not isinstance(value, datetime.date) and value is not None:
                raise ValueError(f"{value!r} is outside the analysed space of `{name}`")
            value = axis_value(DATE, value)
        for i, c in enumerate(d.cells):
            if value is None:
                if c.kind == "absent":
                    return i
                continue
            if c.kind == "absent":
                continue
            if c.kind == "value" and c.value == value and type(c.value) is type(value):
                return i
            if c.kind == "other" and isinstance(value, str) and not any(
                    x.kind == "value" and x.value == value for x in d.cells):
                return i
            if c.kind == "int" and not isinstance(value, (bool, str)) and (c.lo is None or value >= c.lo) and (
                    c.hi is None or value <= c.hi):
                return i
            if c.kind == "num" and not isinstance(value, (bool, str)):
                if c.lo is not None and (value < c.lo or (value == c.lo and not c.lo_closed)):
                    continue
                if c.hi is not None and (value > c.hi or (value == c.hi and not c.hi_closed)):
                    continue
                return i
        raise ValueError(f"{value!r} is outside the analysed space of `{name}`")


def _int_cells(lo, hi, consts) -> list[Cell]:
    lo = None if lo is None else int(math.ceil(lo))
    hi = None if hi is None else int(math.floor(hi))
    starts = set()
    for v in consts:
        for s in (math.floor(v) if v != math.floor(v) else int(v), int(math.floor(v)) + 1):
            starts.add(int(s))
    if lo is not None:
        starts.add(lo)
    starts = sorted(s for s in starts if (lo is None or s >= lo) and (hi is None or s <= hi))
    cells = []
    if not starts:
        return [Cell("int", lo, hi)]
    if lo is None:
        cells.append(Cell("int", None, starts[0] - 1))
    for a, b in zip(starts, starts[1:]):
        cells.append(Cell("int", a, b - 1))
    cells.append(Cell("int", starts[-1], hi))
    return cells


def _num_cells(lo, hi, consts) -> list[Cell]:
    pts = {v for v in consts if (lo is None or v >= lo) and (hi is None or v <= hi)}
    if lo is not None:
        pts.add(lo)
    if hi is not None:
        pts.add(hi)
    pts = sorted(pts)
    if not pts:
        return [Cell("num", None, None, False, False)]
    cells = []
    if lo is None:
        cells.append(Cell("num", None, pts[0], False, False))
    for i, p in enumerate(pts):
        cells.append(Cell("num", p, p, True, True))
        if i + 1 < len(pts):
            cells.append(Cell("num", p, pts[i + 1], False, False))
    if hi is None:
        cells.append(Cell("num", pts[-1], None, False, False))
    return cells
