"""Regions: unions of boxes, with exact intersection, union and difference.

A box is a tuple of cell bit masks, one per fact of a `Space` (`cells`); it is empty when
some mask is 0. A region is a list of non-empty boxes (possibly overlapping); `[]` is the
empty region and `space.universe` the whole space. Every operation that can grow a region
charges the `Budget` it is given, and raises `Incomplete` past it.
"""

from __future__ import annotations

from typing import Iterable

from .budget import Budget

#: Above this many boxes `simplify` keeps duplicates-free lists only (its pairwise test is quadratic).
SIMPLIFY_MAX = 400


def simplify(boxes: list, budget: Budget | None = None) -> list:
    """Drop duplicates and boxes inside another box (cheap cases only)."""
    boxes = list(dict.fromkeys(boxes))
    n = len(boxes)
    if n <= 1 or n > SIMPLIFY_MAX:
        return boxes
    if budget is not None:
        budget.spend(n * n // 2)
    boxes.sort(key=lambda b: -sum(bin(m).count("1") for m in b))
    out: list = []
    for b in boxes:
        if not any(all(x & ~y == 0 for x, y in zip(b, o)) for o in out):
            out.append(b)
    return out


#: Below this many box pairs `intersect` tests every pair; above it, it indexes `b` first.
INDEX_MIN_PAIRS = 256


def intersect(a: list, b: list, budget: Budget) -> list:
    """The region in both `a` and `b`: the non-empty pairwise intersections, in the order
    of `a`, then of `b` (one box operation charged per pair, however they are found)."""
    out = []
    meets = _meeting(b) if b and len(a) * len(b) >= INDEX_MIN_PAIRS else None
    for x in a:
        if meets is None:
            for y in b:
                z = tuple(p & q for p, q in zip(x, y))
                if all(z):
                    out.append(z)
        else:
            hits = meets(x)
            while hits:
                low = hits & -hits
                out.append(tuple(p & q for p, q in zip(x, b[low.bit_length() - 1])))
                hits ^= low
        budget.boxes(len(out))
    budget.spend(len(a) * len(b))
    return simplify(out, budget)


def _meeting(b: list):
    """`meets(x)`: the boxes of `b` that box `x` meets, as a bit set of their indexes.

    Testing every pair costs the number of facts per pair, and most pairs of a large
    intersection are disjoint. Boxes hold few distinct masks per fact, so for each fact
    the indexes of the boxes with each mask are kept as one integer; a box meets the
    boxes whose mask meets its own on every fact, the AND of one OR per fact."""
    width = len(b[0]) if b else 0
    by_mask: list[dict[int, int]] = [{} for _ in range(width)]
    for k, y in enumerate(b):
        bit = 1 << k
        for d, m in enumerate(y):
            by_mask[d][m] = by_mask[d].get(m, 0) | bit
    everyone = (1 << len(b)) - 1
    memo: list[dict[int, int]] = [{} for _ in range(width)]

    def meets(x: tuple) -> int:
        hits = everyone
        for d, m in enumerate(x):
            seen = memo[d]
            them = seen.get(m)
            if them is None:
                them = 0
                for mask, idx in by_mask[d].items():
                    if mask & m:
                        them |= idx
                seen[m] = them
            hits &= them
            if not hits:
                break
        return hits

    return meets


def union(regions: Iterable[list], budget: Budget) -> list:
    """The region in any of `regions`."""
    out = [b for r in regions for b in r]
    budget.boxes(len(out))
    return simplify(out, budget)


def box_minus(x: tuple, y: tuple) -> list:
    """Box `x` minus box `y`, as at most one disjoint box per fact."""
    inter = [p & q for p, q in zip(x, y)]
    if not all(inter):
        return [x]
    out = []
    cur = list(x)
    for i, (p, q) in enumerate(zip(x, y)):
        rest = p & ~q
        if rest:
            piece = cur.copy()
            piece[i] = rest
            out.append(tuple(piece))
        cur[i] = inter[i]
    return out


def subtract(a: list, b: list, budget: Budget) -> list:
    """`a` minus `b`, as disjoint-ish boxes."""
    cur = list(a)
    for y in b:
        if not cur:
            break
        nxt = []
        for x in cur:
            nxt.extend(box_minus(x, y))
        budget.spend(len(cur))
        budget.boxes(len(nxt))
        cur = nxt
    return simplify(cur, budget)


def is_subset(a: list, b: list, budget: Budget) -> bool:
    return not subtract(a, b, budget)


def merge(boxes: list, budget: Budget | None = None) -> list:
    """Merge boxes that differ in one fact only, until none do: a compact description of
    the same region."""
    boxes = list(dict.fromkeys(boxes))
    changed = True
    while changed and len(boxes) > 1:
        changed = False
        n = len(boxes[0])
        for i in range(n):
            if budget is not None:
                budget.spend(len(boxes))
            groups: dict = {}
            for b in boxes:
                key = b[:i] + b[i + 1:]
                groups[key] = groups.get(key, 0) | b[i]
            if len(groups) < len(boxes):
                changed = True
                boxes = [k[:i] + (m,) + k[i:] for k, m in groups.items()]
        boxes = simplify(boxes, budget)
    return boxes


def contains(region: list, cells: tuple) -> bool:
    """Whether the point whose cell of each fact is `cells` (indexes) lies in `region`."""
    return any(all(m >> c & 1 for m, c in zip(box, cells)) for box in region)


def box_size(space, box: tuple) -> int:
    """How many facts the box leaves free (for ordering: wider regions first)."""
    return sum(m == d.full for d, m in zip(space.dims, box))
