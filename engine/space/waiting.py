"""Waiting in the fact space: how a point moves as the evaluation date passes.

Waiting `w` days evaluates on `as_of + w`. In a space built on `as_of` (`dates`), that is
the same as moving the point, never the regions: a date fact compared with relative dates
moves `w` days back along its axis (its day, seen from the evaluation date, is `w` days
older), and a `change: with_time` fact moves `w` up (it grows by one a day). Absent facts
do not move, nor do date facts compared with absolute dates only.

Along that direction each cell is an interval of `w` (whole days), so the days on which a
point lies in a box are an intersection of unions of intervals, computed from the box's
cell bounds on the moving axes: `nearest_waits` gives, per set of changed facts, the
earliest day a box is reached and the cheapest changes on that day, without trying days
one by one. `Intervals` are sorted, disjoint, inclusive `(first, last)` day pairs within
`[0, horizon]`.
"""

from __future__ import annotations

import datetime
import math
from fractions import Fraction
from itertools import combinations

from ..language.model import DATE, PRESENCE_OP, Policy
from .cells import Space
from .dates import axis_value, is_relative
from .nearest import Origin, cheapest, nearest_int

BACK = "back"  # a date fact compared with relative dates: its axis position falls by w
UP = "up"  # a `with_time` fact: it grows by w


def split_facts(policy: Policy) -> frozenset:
    """The date facts a waiting space splits (`Space(split=...)`): compared with relative
    dates, and also with absolute dates or bounded by a declared range. Waiting moves what
    is seen from the evaluation date only, so those get an axis of their own."""
    relative: set[str] = set()
    absolute: set[str] = set()
    for r in policy.rules:
        for leaf in r.leaves:
            if leaf.kind != "fact" or leaf.op == PRESENCE_OP or policy.facts[leaf.subject].type != DATE:
                continue
            (relative if is_relative(leaf) else absolute).add(leaf.subject)
    bounded = {n for n, f in policy.facts.items() if f.minimum is not None or f.maximum is not None}
    return frozenset(relative & (absolute | bounded))


def moving_axes(space: Space, policy: Policy) -> dict[int, str]:
    """Dim index → BACK or UP, for every axis waiting moves: a date fact's relative axis
    (its only one when it is not split), a `with_time` fact's."""
    relative = {leaf.subject for r in policy.rules for leaf in r.leaves
                if leaf.kind == "fact" and leaf.op != PRESENCE_OP and policy.facts[leaf.subject].type == DATE
                and is_relative(leaf)}
    axes: dict[int, str] = {}
    for k, d in enumerate(space.dims):
        spec = policy.facts.get(d.name)
        if spec is None:
            continue
        if spec.type == DATE and d.name in relative and (d.frame is not None or d.name not in space.relative_index):
            axes[k] = BACK
        elif spec.change == "with_time" and spec.numeric:
            axes[k] = UP
    return axes


# -- intervals of days ------------------------------------------------------------------------

def _norm(intervals, horizon: int) -> list:
    """Sorted, merged, clipped to [0, horizon]; empty ones dropped."""
    out: list = []
    for a, b in sorted((max(a, 0), min(b, horizon)) for a, b in intervals):
        if a > b:
            continue
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def meet(xs: list, ys: list) -> list:
    """The days in both interval lists."""
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a <= b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _cell_days(cell, move: str, pos, horizon: int):
    """The days w on which a point at `pos` (moved by `move`) lies in `cell`, as one
    (first, last) pair (possibly empty: first > last)."""
    far = horizon + 1
    if cell.kind == "int":
        lo, hi = cell.lo, cell.hi
        if move == BACK:  # pos - w in [lo, hi]
            return (-far if hi is None else pos - hi, far if lo is None else pos - lo)
        return (-far if lo is None else lo - pos, far if hi is None else hi - pos)
    # A `number` with_time fact: pos + w inside an interval with open or closed ends. The
    # exact bound first, then settled on the sum evaluation computes (`pos + w` in floats).
    def above(w) -> bool:
        return pos + w >= cell.lo if cell.lo_closed else pos + w > cell.lo

    def below(w) -> bool:
        return pos + w <= cell.hi if cell.hi_closed else pos + w < cell.hi

    x = Fraction(pos)
    if cell.lo is None:
        first = -far
    else:
        gap = Fraction(cell.lo) - x
        first = max(-far, min(far, math.ceil(gap) if cell.lo_closed else math.floor(gap) + 1))
        while -far < first and above(first - 1):
            first -= 1
        while first < far and not above(first):
            first += 1
    if cell.hi is None:
        last = far
    else:
        gap = Fraction(cell.hi) - x
        last = max(-far, min(far, math.floor(gap) if cell.hi_closed else math.ceil(gap) - 1))
        while last < far and below(last + 1):
            last += 1
        while -far < last and not below(last):
            last -= 1
    return (first, last)


class Waits:
    """The days on which a fact set (`origin`) lies in each cell mask of the moving axes,
    memoized per (axis, mask)."""

    def __init__(self, origin: Origin, axes: dict[int, str], horizon: int):
        self.origin = origin
        self.axes = axes
        self.horizon = horizon
        self.every = [(0, horizon)]
        self.pos: dict[int, object] = {}
        for k in axes:
            d = origin.space.dims[k]
            v = origin.facts.get(d.name)
            self.pos[k] = v.toordinal() if isinstance(v, datetime.date) else v
        self._memo: dict[tuple[int, int], list] = {}
        # A `with_time` fact must stay within its declared range however a box reads it:
        # the days every fact set of the space allows.
        self.valid = self.every
        for k, move in axes.items():
            if move == UP:
                self.valid = meet(self.valid, self.days(k, origin.space.dims[k].full))

    def days(self, k: int, mask: int) -> list:
        """The days w in [0, horizon] on which axis k's point lies in `mask`, unchanged."""
        key = (k, mask)
        found = self._memo.get(key)
        if found is None:
            d = self.origin.space.dims[k]
            pos = self.pos[k]
            if pos is None:  # absent: it does not move, so in the mask on every day or none
                found = self.every if mask & d.absent else []
            else:
                found = _norm([_cell_days(c, self.axes[k], pos, self.horizon)
                               for i, c in enumerate(d.cells) if mask >> i & 1 and c.kind != "absent"],
                              self.horizon)
            self._memo[key] = found
        return found

    def change_days(self, k: int, mask: int, direction: str) -> list:
        """The days on which a date fact of axis k can be changed into `mask` in its allowed
        `direction`: the new day d' lies in the mask seen from as_of + w, so the mask's
        cells move w days forward."""
        d = self.origin.space.dims[k]
        pos = self.pos[k]
        cells = [c for i, c in enumerate(d.cells) if mask >> i & 1 and c.kind == "int"]
        if not cells:
            return []
        if pos is None or direction == "any":
            return self.every
        if direction == "increase":  # some v + w > pos
            top = max((c.hi for c in cells), key=lambda h: math.inf if h is None else h)
            return self.every if top is None else _norm([(pos - top + 1, self.horizon)], self.horizon)
        bottom = min((c.lo for c in cells), key=lambda lo: -math.inf if lo is None else lo)
        return self.every if bottom is None else _norm([(0, pos - bottom - 1)], self.horizon)

    def changed_date(self, k: int, mask: int, w: int):
        """The cheapest new day of date axis k inside `mask` as seen from as_of + w:
        (cost, date), or None when no allowed change lands there."""
        o = self.origin
        d = o.space.dims[k]
        current = o.facts.get(d.name)
        pos = self.pos[k]
        best = None
        for i, c in enumerate(d.cells):
            if not mask >> i & 1 or c.kind != "int":
                continue
            # From the day seen on as_of + w; a missing day is supplied nearest that date.
            v = (axis_value(DATE, d.rep(i)) if pos is None else nearest_int(c, pos - w)) + w
            if pos is not None and v == pos:
                continue  # that is the unchanged fact
            try:
                new = datetime.date.fromordinal(v)
            except (ValueError, OverflowError):
                continue
            cost = o.cost(d.name, current, new)
            if cost is not None and (best is None or (cost, v) < (best[0], best[1].toordinal())):
                best = (cost, new)
        return best


def nearest_waits(region: list, waits: Waits, changeable: dict[int, str]) -> dict[frozenset, tuple]:
    """Per set of changed facts, the earliest day `w` on which a point of `region` is
    reached and the cheapest changes that day: (w, cost, {fact: new value}). `changeable`
    maps the moving date axes a counterfactual may also change to their `change`
    direction. The empty set is present only for w > 0 (a pure wait)."""
    origin = waits.origin
    dims = origin.space.dims
    names = [d.name for d in dims]
    full = [d.full for d in dims]
    found: dict[frozenset, tuple] = {}
    memo: dict[tuple[int, int], tuple | None] = {}
    for box in region:
        changes: dict = {}
        total = 0.0
        days = waits.valid
        movers = []  # constrained moving date axes a counterfactual may change too
        for k, mask in enumerate(box):
            if mask == full[k]:
                continue
            if k in waits.axes:
                if k in changeable:
                    movers.append(k)
                    continue
                days = meet(days, waits.days(k, mask))
                if not days:
                    break
                continue
            c = origin.cell(k)
            if mask >> c & 1:
                continue
            best = cheapest(origin, memo, k, mask)
            if best is None:
                break
            origin.put(changes, k, best[2])
            total += best[0]
        else:
            if not days:
                continue
            # Each changeable moving axis is either left to time or changed too.
            for n in range(len(movers) + 1):
                for moved in combinations(movers, n):
                    _try(found, box, waits, days, movers, moved, changeable, changes, total, names)
    return found


def _try(found, box, waits, days, movers, moved, changeable, changes, total, names) -> None:
    """One way through `box`: the axes of `moved` changed as well as waited for, the other
    `movers` left to time. Kept in `found` when it is the earliest, then the cheapest, way
    for its set of changed facts."""
    for k in movers:
        days = meet(days, waits.change_days(k, box[k], changeable[k]) if k in moved else waits.days(k, box[k]))
        if not days:
            return
    w = days[0][0]
    changes = dict(changes)
    for k in moved:
        best = waits.changed_date(k, box[k], w)
        if best is None:
            return
        changes[names[k]] = best[1]
        total += best[0]
    if not changes and w == 0:
        return  # the fact set itself, today
    changes = waits.origin.finish(changes)
    key = frozenset(changes)
    prev = found.get(key)
    # Earliest day first, then the cheapest; ties go to the smaller values (by repr).
    mine = (w, total, sorted(map(repr, changes.items())))
    if prev is None or mine < (prev[0], prev[1], sorted(map(repr, prev[2].items()))):
        found[key] = (w, total, changes)
