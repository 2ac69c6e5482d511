"""List facts in the fact space: an exact model of `contains`, `contains_any`, `contains_all`
and `length`.

A list fact `tags` becomes several axes: one boolean axis per item the policies mention
(`contains: cash` → "does `tags` hold `cash`"), and one integer axis `extra`: how many
items the list holds beyond one occurrence of each mentioned item it contains (other
items, and duplicates). Every leaf on the list reads only these numbers: `contains` one
boolean axis (a box), `contains_any`/`contains_all` a union / a box of boolean axes, and
`length op k` — the length is (mentioned items held) + extra — the union, over the
assignments of the boolean axes, of the boxes whose `extra` cells make the sum compare
true. The `extra` axis carries the absent cell of an optional list (every leaf on it is
then unknown, as evaluation says).

Not every point of these axes is a list: the length bounds (`min_items`/`max_items`) tie
`extra` to the booleans, and when every allowed item is mentioned (an enum the policy
names in full) a list holding none of them has no extra items either. `valid_region`
gives exactly the points that are lists; `Space.universe` is that region, and every leaf
region is cut to it, so every region of the space holds lists only. `assemble` turns a
point back into a list: the mentioned items it holds, then `extra` filler items (an item
the policies do not mention, or else repeats of the first held item).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..errors import Incomplete
from ..language.model import ARRAY, Comparison, FactSpec, Policy

#: Mentioned items per list fact beyond which the model (2^n boxes for `length`) is refused.
MAX_ITEMS = 10
LIST_LEAF_OPS = frozenset({"contains", "contains_any", "contains_all", "length"})
#: Items a counterfactual may add to a list: a longer list is no change a user can make
#: (and building one of `max_items: 10^24` would never end).
MAX_GROWTH = 10_000


def is_list_leaf(policy: Policy, leaf: Comparison) -> bool:
    spec = policy.facts.get(leaf.subject) if leaf.kind == "fact" else None
    return spec is not None and spec.type == ARRAY and leaf.op in LIST_LEAF_OPS


def mentioned_items(policies, name: str) -> list:
    """Every item the policies name for list fact `name` (operands of its list leaves, items
    of its default), in order of first appearance."""
    out: list = []

    def add(v) -> None:
        if not any(v == x and type(v) is type(x) for x in out):
            out.append(v)

    for p in policies:
        spec = p.facts.get(name)
        if spec is None or spec.type != ARRAY:
            continue
        for r in p.rules:
            for leaf in r.leaves:
                if leaf.kind == "fact" and leaf.subject == name and leaf.op in ("contains", "contains_any",
                                                                               "contains_all"):
                    v = leaf.operand.value
                    for x in (v if isinstance(v, tuple) else (v,)):
                        add(x)
        if spec.has_default and isinstance(spec.default, (tuple, list)):
            for x in spec.default:
                add(x)
    return out


def length_constants(policies, name: str) -> set[int]:
    out: set[int] = set()
    for p in policies:
        for r in p.rules:
            for leaf in r.leaves:
                if leaf.kind == "fact" and leaf.subject == name and leaf.op == "length":
                    v = leaf.operand.operand.value
                    if isinstance(v, int) and not isinstance(v, bool):
                        out.add(v)
    return out


def filler_item(spec: FactSpec, items: list):
    """An item value allowed by the items' spec that no policy mentions, or None."""
    it = spec.items
    named = set(map(repr, items))
    if it is None:
        return None
    if it.type == "boolean":
        return next((v for v in (False, True) if repr(v) not in named), None)
    if it.type == "string":
        if it.enum is not None:
            return next((v for v in it.enum if repr(v) not in named), None)
        v = "other"
        while repr(v) in named:
            v += "_"
        return v
    lo = it.minimum if it.minimum is not None else 0
    start = int(lo) if float(lo).is_integer() else int(lo) + 1
    for v in range(start, start + len(items) + 2):
        if (it.maximum is None or v <= it.maximum) and repr(v) not in named and \
                repr(float(v)) not in named:
            return v
    if it.type == "number" and it.minimum is not None and it.maximum is not None and it.maximum > it.minimum:
        v = (it.minimum + it.maximum) / 2  # a non-integer between the bounds: never named above
        return v if repr(v) not in named else None
    return None


@dataclass
class ListAxes:
    """The axes of one list fact in a `Space`: `item[k]` the boolean axis of mentioned item
    `items[k]` (cells: False, True), `extra` the count axis (carrying the absent cell)."""

    name: str
    items: list
    item_dims: list[int]
    extra: int
    filler: object
    min_items: int
    max_items: int | None

    def project(self, value, k: int | None):
        """The value a list (a tuple, or None when missing) has on axis `k` (None: extra)."""
        if value is None:  # a missing list: absent on `extra`, holding nothing on item axes
            return None if k is None else False
        if k is None:
            held = sum(1 for x in self.items if _holds(value, x))
            return len(value) - held
        return _holds(value, self.items[k])

    def assemble(self, held: list[bool], extra: int) -> tuple:
        out = [x for x, h in zip(self.items, held) if h]
        pad = self.filler if self.filler is not None else (out[0] if out else None)
        return tuple(out) + (pad,) * extra if extra else tuple(out)


def _holds(value: tuple, item) -> bool:
    """Whether the list holds the item, as evaluation's `in` says (True is not 1 here)."""
    return any(v == item and isinstance(v, bool) == isinstance(item, bool) for v in value)


def extra_constants(n: int, lengths: set[int], min_items: int, max_items: int | None) -> set[int]:
    """The `extra` values at which some leaf or bound changes: k - s for every length
    constant k (and the bounds) and every count s of held mentioned items."""
    out: set[int] = set()
    for k in list(lengths) + [min_items] + ([max_items] if max_items is not None else []):
        for s in range(n + 1):
            if k - s >= 0:
                out.add(k - s)
    return out


def _extra_mask(space, la: ListAxes, pred) -> int:
    """The cells of the extra axis (present ones) whose values all satisfy `pred` (cells are
    cut at every value where a leaf changes, so a cell's low end speaks for it)."""
    d = space.dims[la.extra]
    mask = 0
    for i, c in enumerate(d.cells):
        if c.kind != "absent" and pred(c.lo):
            mask |= 1 << i
    return mask


def valid_region(space, la: ListAxes) -> list:
    """The points of this list's axes that are lists (every other axis free)."""
    full = list(space.full_box)
    d = space.dims[la.extra]
    out = []
    n = len(la.items)
    for held in itertools.product((False, True), repeat=n):
        s = sum(held)
        lo = max(0, la.min_items - s)
        if s == 0 and la.filler is None:
            hi = 0 if lo == 0 else -1  # nothing to fill with
        else:
            hi = None if la.max_items is None else la.max_items - s
        mask = _extra_mask(space, la, lambda e: e >= lo and (hi is None or e <= hi))
        if not mask:
            continue
        box = list(full)
        for k, h in zip(la.item_dims, held):
            box[k] = 2 if h else 1  # cell 0 is False, cell 1 True
        box[la.extra] = mask
        out.append(tuple(box))
    if d.absent:  # a missing list: every boolean axis false (one point, not 2^n)
        box = list(full)
        for k in la.item_dims:
            box[k] = 1
        box[la.extra] = d.absent
        out.append(tuple(box))
    return out


def leaf_regions(space, la: ListAxes, leaf: Comparison) -> tuple[list, list]:
    """(T, F) regions of a list leaf (before they are cut to the valid lists)."""
    full = space.full_box
    present = space.dims[la.extra].present
    pos = {repr(x): k for x, k in zip(la.items, la.item_dims)}

    def box(axes: dict) -> tuple:
        b = list(full)
        b[la.extra] = present
        for k, m in axes.items():
            b[k] = m
        return tuple(b)

    def on(item, held: bool) -> tuple:
        return box({pos[repr(item)]: 2 if held else 1})

    if leaf.op == "length":
        op, k = leaf.operand.op, leaf.operand.operand.value
        from ..runtime.semantics import compare

        t, f = [], []
        n = len(la.items)
        for held in itertools.product((False, True), repeat=n):
            s = sum(held)
            tm = _extra_mask(space, la, lambda e: compare(op, s + e, k))
            fm = present & ~tm
            axes = {d: 2 if h else 1 for d, h in zip(la.item_dims, held)}
            if tm:
                t.append(box({**axes, la.extra: tm}))
            if fm:
                f.append(box({**axes, la.extra: fm}))
        return t, f
    v = leaf.operand.value
    items = v if isinstance(v, tuple) else (v,)
    if leaf.op == "contains":
        return [on(items[0], True)], [on(items[0], False)]
    if leaf.op == "contains_any":
        return [on(x, True) for x in items], [box({pos[repr(x)]: 1 for x in items})]
    if leaf.op == "contains_all":
        return [box({pos[repr(x)]: 2 for x in items})], [on(x, False) for x in items]
    raise ValueError(leaf.op)


def check_size(name: str, items: list) -> None:
    if len(items) > MAX_ITEMS:
        raise Incomplete(f"list fact `{name}` names {len(items)} items (more than {MAX_ITEMS} are not analysed)")
