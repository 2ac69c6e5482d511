"""Compact descriptions of boxes, in the policy's own numbers.

`describe_box` names only the facts a box constrains, each as the shortest text the cells
allow (`credit_score 550..599 and account_age_days < 90` for a rule `gte: 90`).
"""

from __future__ import annotations

from ..language.values import WITNESS, format_value
from .cells import Dim, Space
from .dates import from_axis


def show(v) -> str:
    """A value in a region description or a witness (`values.WITNESS`)."""
    return format_value(v, WITNESS)


_TEST_WORDS = {"starts_with": ("starts with", "does not start with"), "ends_with": ("ends with", "does not end with"),
               "contains": ("contains", "does not contain")}


def _describe_patterns(d: Dim, chosen: list) -> str | None:
    """The string tests every chosen cell agrees on (`phone starts with "999"`), when the
    chosen cells are all strings the policies do not name."""
    if not chosen or any(c.kind != "pattern" for c in chosen):
        return None
    tests = chosen[0].hi
    parts = []
    for k, (op, text) in enumerate(tests):
        vals = {c.lo[k] for c in chosen}
        if len(vals) == 1:
            parts.append(f"{_TEST_WORDS[op][0 if vals.pop() else 1]} {show(text)}")
    return f"{d.name} " + " and ".join(parts) if parts else None


def _describe_dim(d: Dim, mask: int) -> str:
    name = d.title
    if d.frame == "relation" and mask & d.present in (1, 2):  # a fact-to-fact comparison's own axis
        text = d.name if mask & d.present == 2 else f"not {d.name}"
        return text if not mask & d.absent else f"({text} or unknown)"
    if d.slot is not None:  # a list's item axis: holds the item, or not
        item = show(d.list.items[d.slot])
        return f"{d.name} holds {item}" if mask == 2 else f"{d.name} lacks {item}"
    parts = []
    if mask & d.absent:
        parts.append(f"{name} missing")
    mask &= d.present
    if not mask:
        return parts[0]
    idx = [i for i in range(len(d.cells)) if mask >> i & 1]
    kind = d.cells[idx[0]].kind
    if kind in ("int", "num"):
        runs: list[list[int]] = []
        for i in idx:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        first_present = min(i for i, c in enumerate(d.cells) if c.kind != "absent")
        last_present = max(i for i, c in enumerate(d.cells) if c.kind != "absent")
        texts = []
        for run in runs:
            a, b = d.cells[run[0]], d.cells[run[-1]]
            at_lo, at_hi = run[0] == first_present, run[-1] == last_present
            if kind == "int":
                # Day ordinals on a date axis are shown as their days, relative operands as
                # written (`clean_days days ago`).
                def at(v, d=d):
                    if d.type != "date":
                        return v
                    return d.labels.get(v) or show(from_axis(d.type, v))

                if a.lo is not None and a.lo == b.hi:
                    texts.append(f"{name} = {at(a.lo)}")
                elif at_lo and not at_hi:
                    # Say it with the policy's own number: `< 90` for `gte: 90`, `≤ 30` for `gt: 30`.
                    texts.append(f"{name} < {at(b.hi + 1)}" if b.hi + 1 in d.consts and b.hi not in d.consts
                                 else f"{name} ≤ {at(b.hi)}")
                elif at_hi and not at_lo:
                    texts.append(f"{name} ≥ {at(a.lo)}" if a.lo in d.consts or a.lo - 1 not in d.consts
                                 else f"{name} > {at(a.lo - 1)}")
                elif b.hi is None:  # an axis without an upper end (a list's other items)
                    texts.append(f"{name} ≥ {at(a.lo)}")
                else:
                    texts.append(f"{name} {show(at(a.lo))}..{show(at(b.hi))}")
            else:
                if a.lo is not None and a.lo == a.hi and run[0] == run[-1]:
                    texts.append(f"{name} = {show(a.lo)}")
                    continue
                lo = None if at_lo and a.lo is None else (a.lo, a.lo_closed)
                hi = None if at_hi and b.hi is None else (b.hi, b.hi_closed)
                if at_lo and lo is not None and lo[1]:
                    lo = None  # starts at the declared minimum: no need to say so
                if at_hi and hi is not None and hi[1]:
                    hi = None
                if lo is None and hi is not None:
                    texts.append(f"{name} {'≤' if hi[1] else '<'} {show(hi[0])}")
                elif hi is None and lo is not None:
                    texts.append(f"{name} {'≥' if lo[1] else '>'} {show(lo[0])}")
                elif lo is not None and hi is not None:
                    texts.append(f"{show(lo[0])} {'≤' if lo[1] else '<'} {name} {'≤' if hi[1] else '<'} "
                                 f"{show(hi[0])}")
                else:
                    texts.append(f"{name} any value")
        parts.append(" or ".join(texts))
    else:
        chosen = [d.cells[i] for i in idx]
        left = [c for i, c in enumerate(d.cells) if c.kind != "absent" and not mask >> i & 1]
        tested = _describe_patterns(d, chosen)
        if tested is not None:
            parts.append(tested)
            return " or ".join(parts) if len(parts) == 1 else "(" + " or ".join(parts) + ")"
        named = [show(c.value) for c in chosen if c.kind == "value"]
        if len(chosen) == 1 and chosen[0].kind == "value":
            parts.append(f"{name} = {named[0]}")
        elif any(c.kind == "other" for c in chosen) or (len(left) < len(chosen) and all(c.kind == "value"
                                                                                       for c in left)):
            parts.append(f"{name} not in [{', '.join(show(c.value) for c in left)}]" if len(left) != 1
                         else f"{name} ≠ {show(left[0].value)}")
        else:
            parts.append(f"{name} in [{', '.join(named)}]")
    return " or ".join(parts) if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def describe_box(space: Space, box: tuple) -> str:
    """`credit_score 550..599 and account_age_days < 90`; facts left free are not named."""
    parts = [_describe_dim(d, m) for d, m in zip(space.dims, box) if m != d.full]
    if len(parts) > 1:  # `and` binds tighter than `or` in no reader's mind: group each `or`
        parts = [f"({p})" if _top_level_or(p) else p for p in parts]
    return " and ".join(parts) if parts else "every user"


def _top_level_or(text: str) -> bool:
    """Whether `text` has an ` or ` outside its parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and text.startswith(" or ", i):
            return True
    return False
