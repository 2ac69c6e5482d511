"""Static analysis of a policy: exact findings over its declared fact space, each with a witness.

Every leaf condition compares one fact with constants, so each fact's declared domain
splits into finitely many *cells* (integer intervals, real points and open intervals,
enum values, booleans, and an "absent" point for optional facts) on which every leaf is
constant. A condition is then a *region*: a union of boxes, one set of cells per fact.
Kleene logic is kept exactly by carrying two regions per condition: where it is
definitely true (T) and definitely false (F); a missing fact lies in neither. Rules that
read other rules' conclusions (`outcome`, `flag`, `rule`) read those regions, stratum by
stratum, as evaluation does. Findings are box algebra; each existential finding carries a
witness fact set that is checked by evaluating it (the reference semantics every backend
agrees with).

Where the box count would exceed `MAX_BOXES` the analysis stops and says so
(`analysis-incomplete`) instead of guessing.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

from ..language.diagnostics import INFO, WARNING, Diagnostic, literal
from ..language.model import (
    OP_SYMBOL,
    SUBJECT_FLAG,
    SUBJECT_OUTCOME,
    SUBJECT_RULE,
    All,
    Any,
    Comparison,
    Not,
    Policy,
    Rule,
)
from ..runtime.semantics import Plan, compare, operand_value, reference_matches

MAX_BOXES = 5000  # per region; beyond this the analysis reports itself incomplete
TIME_BUDGET = 30.0  # seconds per policy (or pair, for a diff); then it reports itself incomplete
MAX_GAP_REGIONS = 6  # gap regions reported one by one; the rest are counted

# Finding codes (stable; `docs/analysis.md` describes each).
RULE_UNSATISFIABLE = "rule-unsatisfiable"
RULE_SHADOWED = "rule-shadowed"
RULE_SUBSUMED = "rule-subsumed"
GAP = "gap"
THRESHOLD_INVERTED = "threshold-inverted"
CONDITION_ALWAYS_TRUE = "condition-always-true"
CONDITION_ALWAYS_FALSE = "condition-always-false"
ANALYSIS_INCOMPLETE = "analysis-incomplete"
ANALYSIS_UNVERIFIED = "analysis-unverified"
CODES = (RULE_UNSATISFIABLE, RULE_SHADOWED, RULE_SUBSUMED, GAP, THRESHOLD_INVERTED, CONDITION_ALWAYS_TRUE,
         CONDITION_ALWAYS_FALSE, ANALYSIS_INCOMPLETE, ANALYSIS_UNVERIFIED)


class Incomplete(Exception):
    """The exact computation would exceed its bound: report, never guess."""


# -- the fact space ---------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One piece of a fact's domain on which every leaf of the analysed policies is constant.

    kind: "int" [lo, hi] (None = unbounded); "num" an interval with open/closed ends;
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
                 consts: frozenset = frozenset()):
        self.name = name
        self.consts = consts  # the constants the policies compare this fact with (for wording)
        self.type = ftype
        self.cells = cells
        self.full = (1 << len(cells)) - 1
        self.absent = next((1 << i for i, c in enumerate(cells) if c.kind == "absent"), 0)
        self.present = self.full & ~self.absent
        self._other = other

    def rep(self, i: int):
        c = self.cells[i]
        if c.kind == "int":
            return _int_rep(c)
        if c.kind == "num":
            return _num_rep(c)
        if c.kind == "value":
            return c.value
        if c.kind == "other":
            return self._other
        return None  # absent


def _fact_constants(policies: Sequence[Policy]) -> dict[str, set]:
    out: dict[str, set] = {}
    for p in policies:
        for r in p.rules:
            for leaf in r.leaves:
                if leaf.kind != "fact":
                    continue
                v = operand_value(leaf)
                vals = v if isinstance(v, tuple) else (v,)
                out.setdefault(leaf.subject, set()).update(vals)
        for f in p.facts.values():
            if f.has_default:  # the default's cell must exist when absence reads as the default
                out.setdefault(f.name, set()).add(f.default)
    return out


def _bound(values: Iterable, pick) -> object:
    vals = [v for v in values if v is not None]
    return pick(vals) if vals else None


class Space:
    """The product of the facts' cell partitions, for one policy or a pair (for `diff`)."""

    def __init__(self, policies: Sequence[Policy]):
        self.policies = tuple(policies)
        self.notes: list[str] = []  # where the space is not exact
        consts = _fact_constants(policies)
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
            lo = _bound([s.minimum for s in specs], max)
            hi = _bound([s.maximum for s in specs], min)
            cs = sorted(v for v in consts.get(name, ()) if not isinstance(v, (bool, str))) \
                if ftype in ("integer", "number") else sorted(consts.get(name, ()), key=repr)
            if ftype == "integer":
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
            self.dims.append(Dim(name, ftype, cells, other, frozenset(v for v in cs if not isinstance(v, bool))))
        self.index = {d.name: i for i, d in enumerate(self.dims)}
        self.universe: list[tuple] = [tuple(d.full for d in self.dims)]
        self.total = not any(d.absent for d in self.dims)  # no absent cells: T and F are complements

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
        d = self.dims[self.index[name]]
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


# -- regions: unions of boxes -------------------------------------------------------------

_deadline = [float("inf")]  # monotonic time after which the running analysis gives up


def _check(n: int) -> None:
    if n > MAX_BOXES:
        raise Incomplete(f"a region needs more than {MAX_BOXES} boxes")
    if time.monotonic() > _deadline[0]:
        raise Incomplete(f"the time budget of {TIME_BUDGET:g} s ran out")


def _nonempty(box) -> bool:
    return all(box)


def simplify(boxes: list) -> list:
    """Drop duplicates and boxes inside another box (cheap cases only)."""
    boxes = list(dict.fromkeys(boxes))
    if len(boxes) <= 1 or len(boxes) > 400:
        return boxes
    boxes.sort(key=lambda b: -sum(bin(m).count("1") for m in b))
    out: list = []
    for b in boxes:
        if not any(all(x & ~y == 0 for x, y in zip(b, o)) for o in out):
            out.append(b)
    return out


def r_and(a: list, b: list) -> list:
    out = []
    for x in a:
        for y in b:
            z = tuple(p & q for p, q in zip(x, y))
            if all(z):
                out.append(z)
        _check(len(out))
    return simplify(out)


def r_or(*regions: list) -> list:
    out = [b for r in regions for b in r]
    _check(len(out))
    return simplify(out)


def box_minus(x: tuple, y: tuple) -> list:
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


def r_sub(a: list, b: list) -> list:
    """a minus b, as disjoint-ish boxes."""
    cur = list(a)
    for y in b:
        if not cur:
            break
        nxt = []
        for x in cur:
            nxt.extend(box_minus(x, y))
        _check(len(nxt))
        cur = nxt
    return simplify(cur)


def is_subset(a: list, b: list) -> bool:
    return not r_sub(a, b)


def merge(boxes: list) -> list:
    """Merge boxes that differ in one fact only, until none do: a compact description."""
    boxes = list(dict.fromkeys(boxes))
    changed = True
    while changed and len(boxes) > 1:
        changed = False
        n = len(boxes[0])
        for i in range(n):
            groups: dict = {}
            for b in boxes:
                key = b[:i] + b[i + 1:]
                groups[key] = groups.get(key, 0) | b[i]
            if len(groups) < len(boxes):
                changed = True
                boxes = [k[:i] + (m,) + k[i:] for k, m in groups.items()]
        boxes = simplify(boxes)
    return boxes


# -- conditions as regions ------------------------------------------------------------------

class Regions:
    """T/F regions of every rule (and every condition node) of one policy, and of its outcomes."""

    def __init__(self, policy: Policy, space: Space):
        self.policy = policy
        self.space = space
        self.plan = Plan(policy)
        n = len(policy.rules)
        self.T: list = [None] * n
        self.F: list = [None] * n
        self.nodes: dict[int, list] = {}  # rule index → [(node, T, F)] in pre-order
        self._nt: dict[int, list] = {}
        self._nf: dict[int, list] = {}
        self._known: dict | None = None
        self._flags: dict[str, tuple] = {}
        for stratum in policy.strata:
            for i in stratum:
                acc: list = []
                self.T[i], self.F[i] = self._cond(policy.rules[i].when, acc)
                self.nodes[i] = acc

    # complements, computed once and only where needed
    def NT(self, i: int) -> list:
        if i not in self._nt:
            self._nt[i] = self.F[i] if self.space.total else r_sub(self.space.universe, self.T[i])
        return self._nt[i]

    def NF(self, i: int) -> list:
        if i not in self._nf:
            self._nf[i] = self.T[i] if self.space.total else r_sub(self.space.universe, self.F[i])
        return self._nf[i]

    def _box(self, name: str, mask: int) -> list:
        box = list(self.space.universe[0])
        box[self.space.index[name]] = mask
        return [tuple(box)] if mask else []

    def _leaf(self, leaf: Comparison) -> tuple[list, list]:
        if leaf.kind == "fact":
            d = self.space.dims[self.space.index[leaf.subject]]
            spec = self.policy.facts[leaf.subject]
            operand = operand_value(leaf)
            t = f = 0
            for i, c in enumerate(d.cells):
                v = d.rep(i)
                if c.kind == "absent":
                    if not spec.has_default:
                        continue  # unknown: neither true nor false
                    v = spec.default
                try:
                    ok = compare(leaf.op, v, operand)
                except TypeError:  # a value of another declaration's type (diff across a type change)
                    ok = False
                if ok:
                    t |= 1 << i
                else:
                    f |= 1 << i
            return self._box(leaf.subject, t), self._box(leaf.subject, f)
        if leaf.kind == SUBJECT_RULE:
            j = self.plan.rule_index[leaf.subject]
            return self.T[j], self.F[j]
        if leaf.kind == SUBJECT_FLAG:
            return self.flag(leaf.subject)
        if leaf.kind == SUBJECT_OUTCOME:
            known = self.known()
            operand = operand_value(leaf)
            t_parts, f_parts = [], []
            for value, region in known.items():
                ok = leaf.op in ("ne", "not_in") if value is None else compare(leaf.op, value, operand)
                (t_parts if ok else f_parts).append(region)
            return r_or(*t_parts), r_or(*f_parts)
        raise ValueError(leaf.kind)

    def _cond(self, cond, acc: list) -> tuple[list, list]:
        slot = len(acc)
        acc.append(None)
        if isinstance(cond, Comparison):
            t, f = self._leaf(cond)
        elif isinstance(cond, All):
            parts = [self._cond(c, acc) for c in cond.items]
            t = self.space.universe
            for pt, _ in parts:
                t = r_and(t, pt)
            f = r_or(*[pf for _, pf in parts])
        elif isinstance(cond, Any):
            parts = [self._cond(c, acc) for c in cond.items]
            t = r_or(*[pt for pt, _ in parts])
            f = self.space.universe
            for _, pf in parts:
                f = r_and(f, pf)
        elif isinstance(cond, Not):
            f, t = self._cond(cond.item, acc)
        else:
            raise TypeError(type(cond))
        acc[slot] = (cond, t, f)
        return t, f

    def flag(self, name: str) -> tuple[list, list]:
        if name not in self._flags:
            setters = self.plan.flag_setters.get(name, ())
            t = r_or(*[self.T[i] for i in setters])
            f = r_sub(self.space.universe, r_or(*[self.NF(i) for i in setters]))
            self._flags[name] = (t, f)
        return self._flags[name]

    def known(self) -> dict:
        """Outcome value → region where evaluation knows that outcome (None: known to be none)."""
        if self._known is None:
            out: dict = {}
            higher_nf: list = []
            for outcome, rules in self.plan.outcome_rules:
                mine = r_or(*[self.T[i] for i in rules])
                out[outcome] = r_sub(mine, higher_nf)
                higher_nf = r_or(higher_nf, *[self.NF(i) for i in rules])
            rest = r_sub(self.space.universe, higher_nf)
            key = self.policy.default
            out[key] = r_or(out.get(key, []), rest)
            self._known = out
        return self._known

    def chosen(self) -> dict:
        """Outcome value → region where evaluation reports that outcome (as `select_outcome`)."""
        out: dict = {}
        higher_t: list = []
        for outcome, rules in self.plan.outcome_rules:
            mine = r_or(*[self.T[i] for i in rules])
            out[outcome] = r_sub(mine, higher_t)
            higher_t = r_or(higher_t, mine)
        rest = r_sub(self.space.universe, higher_t)
        key = self.policy.default
        out[key] = r_or(out.get(key, []), rest)
        return out


# -- describing regions ------------------------------------------------------------------------

def _fmt(v) -> str:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return literal(v).strip('"') if isinstance(v, str) else literal(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


def _describe_dim(d: Dim, mask: int) -> str:
    name = d.name
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
                if a.lo is not None and a.lo == b.hi:
                    texts.append(f"{name} = {a.lo}")
                elif at_lo and not at_hi:
                    # Say it with the policy's own number: `< 90` for `gte: 90`, `≤ 30` for `gt: 30`.
                    texts.append(f"{name} < {b.hi + 1}" if b.hi + 1 in d.consts and b.hi not in d.consts
                                 else f"{name} ≤ {b.hi}")
                elif at_hi and not at_lo:
                    texts.append(f"{name} ≥ {a.lo}" if a.lo in d.consts or a.lo - 1 not in d.consts
                                 else f"{name} > {a.lo - 1}")
                else:
                    texts.append(f"{name} {_fmt(a.lo)}..{_fmt(b.hi)}")
            else:
                if a.lo is not None and a.lo == a.hi and run[0] == run[-1]:
                    texts.append(f"{name} = {_fmt(a.lo)}")
                    continue
                lo = None if at_lo and a.lo is None else (a.lo, a.lo_closed)
                hi = None if at_hi and b.hi is None else (b.hi, b.hi_closed)
                if at_lo and lo is not None and lo[1]:
                    lo = None  # starts at the declared minimum: no need to say so
                if at_hi and hi is not None and hi[1]:
                    hi = None
                if lo is None and hi is not None:
                    texts.append(f"{name} {'≤' if hi[1] else '<'} {_fmt(hi[0])}")
                elif hi is None and lo is not None:
                    texts.append(f"{name} {'≥' if lo[1] else '>'} {_fmt(lo[0])}")
                elif lo is not None and hi is not None:
                    texts.append(f"{_fmt(lo[0])} {'≤' if lo[1] else '<'} {name} {'≤' if hi[1] else '<'} "
                                 f"{_fmt(hi[0])}")
                else:
                    texts.append(f"{name} any value")
        parts.append(" or ".join(texts))
    else:
        chosen = [d.cells[i] for i in idx]
        left = [c for i, c in enumerate(d.cells) if c.kind != "absent" and not mask >> i & 1]
        named = [_fmt(c.value) for c in chosen if c.kind == "value"]
        if len(chosen) == 1 and chosen[0].kind == "value":
            parts.append(f"{name} = {named[0]}")
        elif any(c.kind == "other" for c in chosen) or (len(left) < len(chosen) and all(c.kind == "value"
                                                                                       for c in left)):
            parts.append(f"{name} not in [{', '.join(_fmt(c.value) for c in left)}]" if len(left) != 1
                         else f"{name} ≠ {_fmt(left[0].value)}")
        else:
            parts.append(f"{name} in [{', '.join(named)}]")
    return " or ".join(parts) if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def describe_box(space: Space, box: tuple) -> str:
    """`credit_score 550..599 and account_age_days < 90`; facts left free are not named."""
    parts = [_describe_dim(d, m) for d, m in zip(space.dims, box) if m != d.full]
    return " and ".join(parts) if parts else "every user"


def box_size(space: Space, box: tuple) -> int:
    """How many facts the box leaves free (for ordering: wider regions first)."""
    return sum(m == d.full for d, m in zip(space.dims, box))


# -- findings ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    rule: str | None
    loc: object  # model.Loc
    witness: dict | None = None
    hint: str | None = None
    region: str | None = None

    def to_diagnostic(self) -> Diagnostic:
        loc = self.loc
        hint = self.hint
        if self.witness is not None:
            w = ", ".join(f"{k}={_fmt(v)}" for k, v in self.witness.items())
            hint = f"{hint}; witness: {w}" if hint else f"witness: {w}"
        return Diagnostic(self.code, self.message, self.severity, loc.file if loc else "", loc.line if loc else 0,
                          loc.column if loc else 0, loc.pointer if loc else "", hint, self.rule, self.witness)


def _operand_text(o) -> str:
    if o.threshold:
        return o.threshold
    if isinstance(o.value, tuple):
        return "[" + ", ".join(_fmt(v) for v in o.value) + "]"
    return _fmt(o.value)


def _leaf_text(leaf: Comparison) -> str:
    if leaf.kind == SUBJECT_FLAG:
        return f"flag {leaf.subject}"
    if leaf.kind == SUBJECT_RULE:
        return f"rule {leaf.subject}"
    if leaf.op == "between":
        lo, hi = leaf.operand
        return f"{leaf.subject} between {_operand_text(lo)} and {_operand_text(hi)}"
    return f"{leaf.subject} {OP_SYMBOL[leaf.op]} {_operand_text(leaf.operand)}"


def _node_text(node) -> str:
    if isinstance(node, Comparison):
        return _leaf_text(node)
    if isinstance(node, Not):
        return f"not ({_node_text(node.item)})"
    word = "all" if isinstance(node, All) else "any"
    return f"{word} of [{'; '.join(_node_text(c) for c in node.items)}]"


def _first_leaf(node) -> Comparison | None:
    if isinstance(node, Comparison):
        return node
    if isinstance(node, Not):
        return _first_leaf(node.item)
    for c in node.items:
        leaf = _first_leaf(c)
        if leaf is not None:
            return leaf
    return None


def _conjuncts(cond) -> list:
    if isinstance(cond, All):
        return [x for c in cond.items for x in _conjuncts(c)]
    return [cond]


def _bounds(leaf: Comparison) -> tuple:
    """(lower, upper) bounds a top-level numeric leaf puts on its fact; each (value, strict) or None."""
    v = operand_value(leaf)
    if leaf.op == "gte":
        return (v, False), None
    if leaf.op == "gt":
        return (v, True), None
    if leaf.op == "lte":
        return None, (v, False)
    if leaf.op == "lt":
        return None, (v, True)
    if leaf.op == "eq":
        return (v, False), (v, False)
    if leaf.op == "between":
        return (v[0], False), (v[1], False)
    return None, None


class Analysis:
    """The exact analysis of one policy; `findings()` runs each check in turn."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.plan = Plan(policy)
        self.space = Space([policy])
        self.regions = Regions(policy, self.space)
        self.precedence = {o.id: i for i, o in enumerate(policy.outcomes)}
        self.out: list[Finding] = []
        self.unsat: set[int] = set()
        self.shadowed: set[int] = set()
        self._chosen: dict | None = None

    # -- verification: every witness is evaluated, and must show what the finding says
    def decide(self, witness: dict) -> "Verdict":
        return verdict_of(self.policy, witness, self.plan)

    def emit(self, finding: Finding, verified: bool = True) -> None:
        rule = self.policy.rule(finding.rule) if finding.rule else None
        if rule is not None and finding.code in rule.lint_ignore:
            return
        if not verified:
            finding = Finding(ANALYSIS_UNVERIFIED, INFO, f"the witness for `{finding.code}` did not verify; "
                              "the finding is withheld", finding.rule, finding.loc, finding.witness)
        self.out.append(finding)

    def run(self) -> list[Finding]:
        checks = (self.check_constant_conditions, self.check_shadowed, self.check_subsumed, self.check_inverted,
                  self.check_gaps)
        for check in checks:
            try:
                check()
            except Incomplete as exc:
                self.out.append(Finding(ANALYSIS_INCOMPLETE, INFO, f"analysis stopped in `{check.__name__[6:]}`: "
                                        f"{exc}; its findings may be missing", None,
                                        self.policy.extras.get("id_loc")))
        return self.out

    def check_constant_conditions(self) -> None:
        for rule in self.policy.rules:
            nodes = self.regions.nodes[rule.index]
            skip_under: list = []
            for k, (node, t, f) in enumerate(nodes):
                if k == 0:
                    if not t:
                        self.unsat.add(rule.index)
                        leaf = next((n for n, nt, _ in nodes[1:] if not nt and isinstance(n, Comparison)), None)
                        why = f": `{_node_text(leaf)}` never holds" if leaf else ""
                        self.emit(Finding(RULE_UNSATISFIABLE, WARNING,
                                          f"rule `{rule.id}` can never match within the declared ranges{why}",
                                          rule.id, rule.loc, hint="fix the conflicting conditions or remove the rule"))
                        break
                    if not f:
                        self.emit(Finding(CONDITION_ALWAYS_TRUE, WARNING, f"the condition of rule `{rule.id}` "
                                          "holds for every valid fact set", rule.id, rule.loc,
                                          hint="check the threshold against the fact's declared range"))
                        break
                    continue
                if any(_inside(node, s) for s in skip_under):
                    continue
                if not t or not f:
                    skip_under.append(node)
                    leaf = _first_leaf(node)
                    loc = leaf.loc if leaf is not None and leaf.loc else rule.loc
                    word = "false" if not t else "true"
                    self.emit(Finding(CONDITION_ALWAYS_FALSE if not t else CONDITION_ALWAYS_TRUE, WARNING,
                                      f"condition `{_node_text(node)}` of rule `{rule.id}` is always {word} "
                                      "within the declared ranges", rule.id, loc,
                                      hint="check the threshold against the fact's declared range"))

    def check_shadowed(self) -> None:
        reg = self.regions
        for rule in self.policy.rules:
            if not rule.decides_outcome or rule.index in self.unsat:
                continue
            p = self.precedence[rule.then.outcome]
            higher = [r for r in self.policy.rules if r.decides_outcome and self.precedence[r.then.outcome] < p]
            t = reg.T[rule.index]
            if r_sub(t, r_or(*[reg.T[h.index] for h in higher])):
                continue
            self.shadowed.add(rule.index)
            # Name the rule that covers it alone, if one does; else every higher rule it meets.
            by = [h.id for h in higher if is_subset(t, reg.T[h.index])] or \
                [h.id for h in higher if r_and(t, reg.T[h.index])]
            witness = self.space.point(t[0])
            d = self.decide(witness)
            ok = d.matched[rule.index] is True and d.outcome != rule.then.outcome and \
                self.precedence.get(d.outcome, 99) < p
            names = ", ".join(f"`{b}`" for b in by[:3]) + (f" and {len(by) - 3} more" if len(by) > 3 else "")
            self.emit(Finding(RULE_SHADOWED, WARNING,
                              f"rule `{rule.id}` can never decide the outcome: whenever it matches, {names} "
                              f"with a higher-precedence outcome matches too", rule.id, rule.loc, witness,
                              hint="narrow the higher rule or remove this one"), ok)

    def check_subsumed(self) -> None:
        reg = self.regions
        rules = [r for r in self.policy.rules if r.decides_outcome and r.index not in self.unsat
                 and r.index not in self.shadowed]
        for r in rules:
            for s in rules:
                if s is r or s.then.outcome != r.then.outcome:
                    continue
                if not is_subset(reg.T[r.index], reg.T[s.index]):
                    continue
                if is_subset(reg.T[s.index], reg.T[r.index]) and s.index > r.index:
                    continue  # equal regions: report the later rule only
                witness = self.space.point(reg.T[r.index][0])
                d = self.decide(witness)
                ok = d.matched[r.index] is True and d.matched[s.index] is True
                self.emit(Finding(RULE_SUBSUMED, WARNING,
                                  f"rule `{r.id}` is subsumed by `{s.id}`: every fact set it matches also matches "
                                  f"`{s.id}`, with the same outcome `{r.then.outcome}`", r.id, r.loc, witness,
                                  hint=f"remove `{r.id}`, or silence with `lint: {{ignore: [{RULE_SUBSUMED}]}}` if "
                                  "it is kept for its reason code"), ok)
                break

    def check_inverted(self) -> None:
        """Tier thresholds against the evident intent: outcomes are listed best first, so a
        better (earlier, non-adverse) outcome should not be reachable with less of a fact than
        every rule of a worse outcome demands (a lower minimum, or a higher maximum).

        Compared per outcome, on its *entry* threshold: the least demanding bound among its
        rules, and only for facts every rule of both outcomes bounds."""
        adverse = {o.id for o in self.policy.outcomes if o.adverse}
        # A rule that never matches or never decides has moot thresholds: its own finding says more.
        by_outcome: dict[str, list[Rule]] = {}
        for r in self.policy.rules:
            if r.decides_outcome and r.then.outcome not in adverse and r.index not in self.unsat \
                    and r.index not in self.shadowed:
                by_outcome.setdefault(r.then.outcome, []).append(r)
        bounds: dict[int, dict[str, tuple]] = {}
        for rules in by_outcome.values():
            for r in rules:
                per: dict[str, tuple] = {}
                for c in _conjuncts(r.when):
                    if isinstance(c, Comparison) and c.kind == "fact" and self.policy.facts[c.subject].numeric:
                        lo, hi = _bounds(c)
                        if lo is None and hi is None:
                            continue
                        prev = per.get(c.subject)
                        if prev is not None:  # two bounds on one fact: the tighter one of each side
                            lo = max(x for x in (lo, prev[0]) if x) if lo or prev[0] else None
                            hi = min((x for x in (hi, prev[1]) if x), key=lambda b: (b[0], not b[1])) \
                                if hi or prev[1] else None
                            c = prev[2]
                        per[c.subject] = (lo, hi, c)
                bounds[r.index] = per

        def entry(outcome: str, fact: str, side: int):
            """The least demanding bound on `fact` among the outcome's rules, or None if some
            rule leaves that side of the fact free."""
            found = []
            for r in by_outcome[outcome]:
                b = bounds[r.index].get(fact)
                if b is None or b[side] is None:
                    return None
                found.append(b[side])
            if side == 0:
                return min(found)  # (value, strict): a lower minimum demands less
            return max(found, key=lambda b: (b[0], not b[1]))  # a higher maximum demands less

        order = [o for o in self.policy.outcome_ids if o in by_outcome]
        facts = sorted({f for per in bounds.values() for f in per})
        for i, better in enumerate(order):
            for worse in order[i + 1:]:
                for fact in facts:
                    for side, which in ((0, "minimum"), (1, "maximum")):
                        b, w = entry(better, fact, side), entry(worse, fact, side)
                        if b is None or w is None:
                            continue
                        if (side == 0 and not b < w) or (side == 1 and not (b[0], not b[1]) > (w[0], not w[1])):
                            continue
                        self._inverted(better, worse, fact, which, w, by_outcome, bounds)

    def _inverted(self, better: str, worse: str, fact: str, which: str, bound: tuple, by_outcome, bounds) -> None:
        """Report one inversion, with a witness: a fact set a rule of the better outcome
        accepts, outside the bound every rule of the worse outcome demands."""
        reg = self.regions
        value, strict = bound
        d = self.space.dims[self.space.index[fact]]
        mask = 0
        for i, c in enumerate(d.cells):
            if c.kind == "absent":
                continue
            v = d.rep(i)
            inside = (v > value if strict else v >= value) if which == "minimum" else \
                (v < value if strict else v <= value)
            if not inside:
                mask |= 1 << i
        # Where the better outcome is what evaluation actually decides (not overruled by a deny).
        if self._chosen is None:
            self._chosen = reg.chosen()
        outside = r_and(reg._box(fact, mask), self._chosen[better])
        for rule in by_outcome[better]:
            region = r_and(reg.T[rule.index], outside)
            if not region:
                continue
            witness = self.space.point(region[0])
            dec = self.decide(witness)
            ok = dec.matched[rule.index] is True and dec.outcome == better
            op = ("≥" if not strict else ">") if which == "minimum" else ("≤" if not strict else "<")
            leaf = bounds[rule.index][fact][2]
            self.emit(Finding(THRESHOLD_INVERTED, WARNING,
                              f"rule `{rule.id}` gives the better outcome `{better}` to users whose `{fact}` misses "
                              f"the {op} {_fmt(value)} every rule for the worse outcome `{worse}` demands",
                              rule.id, leaf.loc or rule.loc, witness,
                              hint="check the order of the tier thresholds"), ok)
            return

    def check_gaps(self) -> None:
        reg = self.regions
        outcome_rules = [r.index for r in self.policy.rules if r.decides_outcome]
        gap = r_sub(self.space.universe, r_or(*[reg.T[i] for i in outcome_rules]))
        if not gap:
            return
        boxes = merge(gap)
        boxes.sort(key=lambda b: (-box_size(self.space, b), describe_box(self.space, b)))
        default = self.policy.default
        loc = self.policy.extras.get("id_loc")
        for box in boxes[:MAX_GAP_REGIONS]:
            witness = self.space.point(box)
            d = self.decide(witness)
            ok = not d.decided_by and d.outcome == default
            text = describe_box(self.space, box)
            if default is not None:
                msg = f"no rule decides where {text}; these users get the default `{default}`"
                sev = INFO
            else:
                msg = f"no rule decides where {text}, and there is no default outcome"
                sev = WARNING
            f = Finding(GAP, sev, msg, None, loc, witness, region=text)
            self.emit(f, ok)
        if len(boxes) > MAX_GAP_REGIONS:
            rest = len(boxes) - MAX_GAP_REGIONS
            self.out.append(Finding(GAP, INFO, f"no rule decides in {rest} more region{'s' if rest != 1 else ''}, "
                                    "not listed", None, loc))


class Verdict(NamedTuple):
    outcome: str | None
    decided_by: tuple
    matched: tuple


def verdict_of(policy: Policy, record: dict, plan: Plan | None = None) -> Verdict:
    """Evaluate a witness with the reference semantics (`semantics.reference_matches`, the
    meaning every backend must agree with), after the same fact validation as `evaluate`:
    a witness that is not a valid fact set raises `FactsError`."""
    from ..runtime.facts import normalize

    plan = plan or Plan(policy)
    facts, _ = normalize(policy, record)
    matched = reference_matches(policy, facts, plan)
    outcome, decided_by, _ = plan.select_outcome(matched)
    return Verdict(outcome, decided_by, matched)


def _inside(node, ancestor) -> bool:
    if node is ancestor:
        return True
    if isinstance(ancestor, Comparison):
        return False
    if isinstance(ancestor, Not):
        return _inside(node, ancestor.item)
    return any(_inside(node, c) for c in ancestor.items)


def analyse(policy: Policy) -> list[Diagnostic]:
    """Every analysis finding of a valid policy, as diagnostics (warnings and information).

    For `verdict validate`: a failure of the analysis itself must not hide the validator's
    own findings, so it becomes one located note (the tests call `find`, which raises)."""
    try:
        return [f.to_diagnostic() for f in find(policy)]
    except RecursionError:
        f = Finding(ANALYSIS_INCOMPLETE, INFO, "analysis skipped: conditions nest too deeply", None,
                    policy.extras.get("id_loc"))
    except Exception as exc:  # noqa: BLE001 - reported, never swallowed
        f = Finding(ANALYSIS_INCOMPLETE, INFO, f"analysis failed: {type(exc).__name__}: {exc}", None,
                    policy.extras.get("id_loc"), hint="please report this as a bug in verdict")
    return [f.to_diagnostic()]


@contextmanager
def budget(seconds: float | None = None):
    """Bound the time of the analysis run inside the block (nested blocks keep the outer bound)."""
    outer = _deadline[0]
    _deadline[0] = min(outer, time.monotonic() + (TIME_BUDGET if seconds is None else seconds))
    try:
        yield
    finally:
        _deadline[0] = outer


def find(policy: Policy) -> list[Finding]:
    """Every analysis finding of a valid policy."""
    with budget():
        try:
            analysis = Analysis(policy)
        except Incomplete as exc:
            return [Finding(ANALYSIS_INCOMPLETE, INFO, f"analysis skipped: {exc}", None,
                            policy.extras.get("id_loc"))]
        return analysis.run()
