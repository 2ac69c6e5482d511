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

from ..language.model import ARRAY, DATE, PRESENCE_OP, Policy, RelativeDate
from ..language.values import WITNESS, format_value
from . import lists, strings
from . import opaque as opaque_axes
from .dates import FIRST_DAY, LAST_DAY, axis_value, evaluation_date, from_axis, is_relative, leaf_operand, resolve

#: The second axis of a date fact split by `Space(split=...)`: its relative comparisons.
RELATIVE = "relative"


@dataclass(frozen=True)
class Cell:
    """One piece of a fact's domain on which every leaf of the analysed policies is constant.

    kind: "int" [lo, hi] (None = unbounded; day ordinals for a date fact); "num" an
    interval with open/closed ends;
    "value" one string or boolean; "other" every string not named by any policy;
    "pattern" the strings not named by any policy on which the policies' string tests
    (`strings`) give the truth values `lo` (one per test of `hi`), `value` one of them;
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
        # A list fact's axes (`lists.ListAxes`): `slot` is the mentioned item's position on
        # an item axis (frame "item"), None on its `extra` axis (frame None).
        self.list: lists.ListAxes | None = None
        self.slot: int | None = None
        self.title = name  # how descriptions name the axis

    def project(self, value):
        """The value a fact's value has on this axis (a list's on one of its axes)."""
        if self.list is not None:
            return self.list.project(value, self.slot)
        return value

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
        if c.kind in ("value", "pattern"):
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
        if leaf.kind != "fact" or leaf.op == PRESENCE_OP or opaque_axes.is_relation(leaf) \
                or strings.is_string_op(p, leaf) or lists.is_list_leaf(p, leaf):
            return  # their cells are made by `strings` and `lists`; fact operands by `opaque`
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
            if f.has_default and f.type != ARRAY:  # the default's cell must exist when absence reads as the default
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
                 split: frozenset = frozenset(), opaque: bool = False):
        self.policies = tuple(policies)
        self.opaque = opaque  # axes of their own for derived facts and fact-to-fact comparisons
        self.lists: dict[str, lists.ListAxes] = {}
        self.patterns: dict[str, list] = {}  # string fact → its (op, text) tests
        self.pseudo_inputs: dict[str, list[str]] = {}  # opaque axis → the facts it reads
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
            if ftype == ARRAY:
                self._list_axes(name, specs)
                continue
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
                    named = [v for v in cs if isinstance(v, str)]
                    tests = strings.patterns(policies, name)
                    self.patterns[name] = tests
                    tail = [Cell("pattern", lo=vec, hi=tuple(tests), value=w)
                            for vec, w in strings.pattern_cells(tests, set(named))] if tests else [Cell("other")]
                    cells = [Cell("value", value=v) for v in named] + tail
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
        if opaque:
            self._opaque_axes()
        self.index = {d.name: i for i, d in enumerate(self.dims) if d.frame is None}
        self.pseudo = {d.name: i for i, d in enumerate(self.dims)
                       if d.frame in (opaque_axes.DERIVED, opaque_axes.RELATION)}
        self.relative_index = {d.name: i for i, d in enumerate(self.dims) if d.frame == RELATIVE}
        self.full_box = tuple(d.full for d in self.dims)
        # The points that are fact sets: every point but where a list's axes disagree with
        # its length bounds (`lists.valid_region`).
        self.universe: list[tuple] = [self.full_box]
        for la in self.lists.values():
            valid = lists.valid_region(self, la)
            self.universe = [tuple(p & q for p, q in zip(x, y)) for x in self.universe for y in valid]
            self.universe = [b for b in self.universe if all(b)]
        self.constrained = self.universe != [self.full_box]
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
        box = list(self.full_box)
        box[k] = mask
        return [tuple(box)] if mask else []

    # -- points ------------------------------------------------------------------------
    def point(self, box: tuple) -> dict:
        """A complete, valid fact set inside `box` (absent only where the box forces it)."""
        out = {}
        held: dict[str, list] = {}  # list fact → its item axes' values
        for d, mask in zip(self.dims, box):
            m = mask & d.present or mask
            i = (m & -m).bit_length() - 1
            if d.frame in (opaque_axes.DERIVED, opaque_axes.RELATION):
                continue  # computed from the facts, not a fact
            if d.slot is not None:
                held.setdefault(d.name, [False] * len(d.list.items))[d.slot] = d.rep(i)
            elif d.cells[i].kind != "absent":
                out[d.name] = d.rep(i)  # a list's `extra` count, until assembled below
        for name, la in self.lists.items():
            if name in out:
                out[name] = la.assemble(held.get(name, [False] * len(la.items)), out[name])
        return out

    def _list_axes(self, name: str, specs: list) -> None:
        """The axes of list fact `name` (see `lists`)."""
        spec = specs[-1]
        items = lists.mentioned_items(self.policies, name)
        lists.check_size(name, items)
        lo = max([int(s.minimum) for s in specs if s.minimum is not None] or [0])
        his = [int(s.maximum) for s in specs if s.maximum is not None]
        hi = min(his) if his else None
        la = lists.ListAxes(name, items, [], -1, lists.filler_item(spec, items), lo, hi)
        for k, item in enumerate(items):
            d = Dim(name, "boolean", [Cell("value", value=False), Cell("value", value=True)], frame="item")
            d.list, d.slot = la, k
            d.title = f"{name} holds {format_value(item, WITNESS)}"
            la.item_dims.append(len(self.dims))
            self.dims.append(d)
        consts = lists.extra_constants(len(items), lists.length_constants(self.policies, name), lo, hi)
        if all(s.has_default for s in specs) and len({repr(s.default) for s in specs}) == 1:
            consts.add(la.project(tuple(spec.default), None))
        cells = _int_cells(0, hi, consts)
        if all(not s.required or s.has_default for s in specs) and not (
                all(s.has_default for s in specs) and len({repr(s.default) for s in specs}) == 1):
            cells.append(Cell("absent"))
        d = Dim(name, "integer", cells, consts=frozenset(consts))
        d.list, d.title = la, f"number of other items in {name}"
        la.extra = len(self.dims)
        self.dims.append(d)
        self.lists[name] = la

    def _opaque_axes(self) -> None:
        """An axis per derived fact compared with constants, and per fact-to-fact comparison."""
        seen: set[str] = set()
        for p, leaf in opaque_axes.opaque_leaves(self.policies):
            if opaque_axes.is_relation(leaf):
                key = opaque_axes.relation_key(leaf)
                cells = [Cell("value", value=False), Cell("value", value=True)]
                reads = [n for name in (leaf.subject, *(o.fact for o in opaque_axes.fact_operands(leaf)))
                         for n in opaque_axes.inputs(p, name)]
                missing = any(opaque_axes.can_be_missing(p, name) for name in
                              (leaf.subject, *(o.fact for o in opaque_axes.fact_operands(leaf))))
                frame, ftype = opaque_axes.RELATION, "boolean"
            else:
                key = leaf.subject
                dtype = p.derived[key].type
                consts = sorted(opaque_axes.derived_constants(self.policies, key))
                cells = _int_cells(None, None, consts) if dtype == "integer" else _num_cells(None, None, consts)
                reads = opaque_axes.inputs(p, key)
                missing = opaque_axes.can_be_missing(p, key)
                frame, ftype = opaque_axes.DERIVED, dtype
            if key in seen:
                continue
            seen.add(key)
            if missing:
                cells.append(Cell("absent"))
            self.dims.append(Dim(key, ftype, cells, frame=frame))
            self.pseudo_inputs[key] = list(dict.fromkeys(reads))

    def pseudo_values(self, policy: Policy, facts: dict, derived: dict) -> dict:
        """The value of every opaque axis at a real fact set (`opaque`: φ)."""
        out = {}
        for leaf in (leaf for r in policy.rules for leaf in r.leaves if opaque_axes.is_opaque(leaf)):
            if opaque_axes.is_relation(leaf):
                out[opaque_axes.relation_key(leaf)] = opaque_axes.relation_value(policy, leaf, facts, derived)
            else:
                out[leaf.subject] = derived.get(leaf.subject)
        return out

    def candidates(self, k: int, mask: int) -> tuple[list, bool]:
        """Values of fact axis `k` to try inside the cells of `mask`, for a search
        (`opaque_axes.Search`), and whether they are every value those cells hold (small
        integer cells, booleans, enum values, absence)."""
        d = self.dims[k]
        out: list = []
        every = True
        for i, c in enumerate(d.cells):
            if not mask >> i & 1:
                continue
            if c.kind == "absent":
                out.append(None)
            elif c.kind == "int" and d.type != DATE and c.lo is not None and c.hi is not None \
                    and c.hi - c.lo <= opaque_axes.SMALL_CELL:
                out.extend(v for v in range(c.lo, c.hi + 1) if v not in out)
            elif c.kind in ("int", "num") and d.type != DATE:
                out.extend(v for v in opaque_axes.numeric_candidates(c, c.kind == "int") if v not in out)
                every = every and c.lo is not None and c.lo == c.hi
            else:
                out.append(d.rep(i))
                every = every and c.kind == "value"
        return out, every

    def cell_of(self, name: str, value) -> int:
        """The cell index holding `value` (or absence, for None) of fact `name`."""
        return self.cell_at(self.index[name], value)

    def cell_at(self, k: int, value) -> int:
        """The cell index of dim `k` holding `value` (or absence, for None)."""
        d = self.dims[k]
        name = d.name
        value = d.project(value)
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
            if c.kind == "pattern" and isinstance(value, str) and strings.vector(list(c.hi), value) == c.lo \
                    and not any(x.kind == "value" and x.value == value for x in d.cells):
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
