"""Nearest points: the point of a region closest to a given fact set.

Per fact, `nearest_value` is the value of a cell closest to the fact's current value:
integers move to the cell's near end; numbers to a closed point itself, or one
`NUMBER_STEP` past the near end of an open interval (halfway when the interval is
narrower than that, the next float when narrower still); enum and boolean cells have one
value. A box is a product of cells and a cost is a sum over facts, so the cheapest point
of a box moves each fact independently, and the cheapest point of a region is the
cheapest over its boxes: `nearest_points` finds it for every set of changed facts.
What a move costs, and which moves are allowed at all, is the caller's `cost`.

A list fact has several axes (`lists`): moving one of its item axes adds the item (or
removes every occurrence of it), moving its `extra` axis adds filler items or drops items
no policy names; `Origin.put` collects the moves of one list and `Origin.finish` turns
them into the new list (items first, then the count), so the changes are per fact.
Opaque axes (derived facts, fact-to-fact comparisons) never move: they follow the facts.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Mapping

from .cells import Dim, Space
from .dates import axis_value, from_axis
from .opaque import DERIVED, RELATION
from .lists import MAX_GROWTH

#: How far past an open bound (`gt`, `lt`, `ne`) a `number` fact is moved: 0.9 → 0.89 for `< 0.9`.
NUMBER_STEP = 0.01


def _inside(lo, hi, bound, sign: int):
    """A number just past the open `bound` into (lo, hi): one NUMBER_STEP, else halfway,
    else the next float."""
    def ok(v):
        return (lo is None or v > lo) and (hi is None or v < hi)

    for candidate in _candidates(lo, hi, bound, sign):
        try:
            v = candidate()
        except OverflowError:  # an integer bound beyond a double's range
            continue
        if v is not None and ok(v):
            return v
    return None  # pragma: no cover - a non-empty open interval has an inside


def _candidates(lo, hi, bound, sign: int):
    """The values `_inside` tries, in order, each as a thunk: float arithmetic on an integer
    beyond a double's range overflows, so the integer ones (the next integer, the integer
    midpoint) follow, exact at any size (a `number` fact takes integers too)."""
    both = lo is not None and hi is not None
    yield lambda: round(bound + sign * NUMBER_STEP, 12)
    yield lambda: round((lo + hi) / 2, 12) if both else None
    yield lambda: (lo + hi) / 2 if both else None
    yield lambda: math.nextafter(bound, sign * math.inf)
    if isinstance(bound, int):
        yield lambda: bound + sign
    if both:
        yield lambda: int((Fraction(lo) + Fraction(hi)) / 2)


def nearest_value(dim: Dim, i: int, current=None):
    """The value of cell `i` closest to `current`, a value outside the cell; for a missing
    `current` (None), the cell's lowest value (or just inside its lower end). None when the
    cell has no specific value to offer: the absent cell, and "any other string". On a date
    axis, days (`datetime.date`) in and out."""
    c = dim.cells[i]
    if c.kind in ("value", "pattern"):  # a pattern cell offers its witness string
        return c.value
    if c.kind == "int" and dim.type == "date":
        # Supplying a missing day: the day of the cell nearest the evaluation date.
        if current is None:
            return dim.rep(i)
        return from_axis(dim.type, nearest_int(c, axis_value(dim.type, current)))
    if c.kind == "int":
        return nearest_int(c, current)
    if c.kind == "num":
        if c.lo is not None and c.lo == c.hi:
            return c.lo
        if current is not None and c.hi is not None and current >= c.hi:
            return _inside(c.lo, c.hi, c.hi, -1)
        if c.lo is not None:
            return _inside(c.lo, c.hi, c.lo, +1)
        return _inside(c.lo, c.hi, c.hi, -1) if c.hi is not None else 0
    return None


def nearest_int(c, current):
    """The value of integer cell `c` closest to `current` (outside it), or its lowest."""
    if current is not None and c.hi is not None and current > c.hi:
        return c.hi
    if c.lo is not None:
        return c.lo
    return c.hi if c.hi is not None else 0


class Origin:
    """A fact set as a point of a space, and what moving each fact costs.

    `cell(k)` is the cell fact k of the space is in (the absent cell for a missing fact);
    `options(k)` every cell it may move to as (cost, cell index, value), cheapest first;
    both are computed when first asked for (most boxes leave most facts free).
    `cost(name, old, new)` prices one change, None when it is not allowed; a present fact
    is never made missing (no cell offers that value)."""

    def __init__(self, space: Space, facts: Mapping, cost: Callable[[str, object, object], float | None]):
        self.space = space
        self.facts = facts
        self.cost = cost
        self.cells: list[int | None] = [None] * len(space.dims)  # filled by `cell`
        self._options: dict[int, tuple] = {}

    def cell(self, k: int) -> int:
        found = self.cells[k]
        if found is None:
            found = self.cells[k] = self.space.cell_at(k, self.facts.get(self.space.dims[k].name))
        return found

    def options(self, k: int) -> tuple:
        found = self._options.get(k)
        if found is None:
            found = self._options[k] = self._price(k)
        return found

    def put(self, changes: dict, k: int, value) -> None:
        """Record moving axis `k` to `value` in `changes` (per fact; a list's axes gathered)."""
        dim = self.space.dims[k]
        if dim.list is None:
            changes[dim.name] = value
            return
        prev = changes.get(dim.name)
        moves = dict(prev.moves) if isinstance(prev, _ListMoves) else {}
        moves[dim.slot] = value
        changes[dim.name] = _ListMoves(moves)

    def finish(self, changes: dict) -> dict:
        """The changes with every list's gathered moves made into its new list."""
        return {n: self._list(n, v.moves) if isinstance(v, _ListMoves) else v for n, v in changes.items()}

    def _list(self, name: str, moves: dict) -> tuple:
        la = self.space.lists[name]
        out = list(self.facts.get(name) or ())
        for slot, held in moves.items():
            if slot is None:
                continue
            item = la.items[slot]
            if held and not la.project(tuple(out), slot):
                out.append(item)
            elif not held:
                out = [x for x in out if not (x == item and isinstance(x, bool) == isinstance(item, bool))]
        if None in moves:
            want = moves[None]
            while la.project(tuple(out), None) > want:  # drop unnamed items (or repeats) from the end
                for i in range(len(out) - 1, -1, -1):
                    rest = out[:i] + out[i + 1:]
                    if la.project(tuple(rest), None) < la.project(tuple(out), None):
                        out = rest
                        break
                else:  # pragma: no cover - a positive count always has an item to drop
                    break
            pad = la.filler if la.filler is not None else next((x for x in out if any(
                x == m for m in la.items)), None)
            while la.project(tuple(out), None) < want and pad is not None:
                out.append(pad)
        return tuple(out)

    def _price(self, k: int) -> tuple:
        dim = self.space.dims[k]
        if dim.coupled or dim.frame in (DERIVED, RELATION):
            # One value on two axes (a split date fact), or a value computed from the
            # facts (a derived fact): not changed axis by axis.
            return ()
        current = self.facts.get(dim.name)
        out = []
        for i in range(len(dim.cells)):
            if i == self.cell(k):
                continue
            v = nearest_value(dim, i, dim.project(current) if dim.list is not None else current)
            if v is None:
                continue
            if dim.list is not None and dim.slot is None and v - (dim.project(current) or 0) > MAX_GROWTH:
                continue  # a list that long is no change a user can make (max_items 10^24, say)
            d = self.cost(dim.name, current, self._list(dim.name, {dim.slot: v}) if dim.list is not None else v)
            if d is not None:
                # Supplying a missing boolean: `true` first (verify, opt in) when both would do.
                out.append((d, (v is not True) if current is None and dim.type == "boolean" else 0, i, v))
        out.sort(key=lambda o: o[:3])
        return tuple((d, i, v) for d, _, i, v in out)


class _ListMoves:
    """The moves of one list fact's axes gathered so far (slot → value; None: `extra`)."""

    __slots__ = ("moves",)

    def __init__(self, moves: dict):
        self.moves = moves


def cheapest(origin: "Origin", memo: dict, k: int, mask: int):
    """The cheapest option of axis `k` (cost, cell, value) inside the cells of `mask`, or
    None when none is allowed; memoized in `memo` per (axis, mask)."""
    key = (k, mask)
    best = memo.get(key, False)
    if best is False:
        best = memo[key] = next((o for o in origin.options(k) if mask >> o[1] & 1), None)
    return best


def nearest_points(region: list, origin: Origin) -> dict[frozenset, tuple[float, dict]]:
    """Per set of changed facts, the cheapest point of `region` reached from `origin`:
    (cost, {fact: new value}). The empty set is absent: the origin itself is in the region."""
    dims = origin.space.dims
    names = [d.name for d in dims]
    full = [d.full for d in dims]
    cells = origin.cells
    found: dict[frozenset, tuple[float, dict]] = {}
    memo: dict[tuple[int, int], tuple | None] = {}
    for box in region:
        changes = {}
        total = 0.0
        for k, mask in enumerate(box):
            if mask == full[k]:
                continue
            c = cells[k]
            if c is None:
                c = origin.cell(k)
            if mask >> c & 1:
                continue
            best = cheapest(origin, memo, k, mask)
            if best is None:
                break
            origin.put(changes, k, best[2])
            total += best[0]
        else:
            if not changes:
                continue
            changes = origin.finish(changes)
            key = frozenset(changes)
            prev = found.get(key)
            # Ties between boxes go to the smaller values (by repr): deterministic.
            if prev is None or (total, sorted(map(repr, changes.items()))) < \
                    (prev[0], sorted(map(repr, prev[1].items()))):
                found[key] = (total, changes)
    return found
