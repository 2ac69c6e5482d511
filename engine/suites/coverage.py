"""Coverage of a policy by the cases run against it, and the `--min-coverage` gate.

Per policy, over every case run against it:
- rules: a rule is covered when it matched in some case;
- conditions: each leaf condition counts twice, seen true and seen false (unknown, from a
  missing fact, counts as neither);
- boundaries: every numeric comparison `fact op t` (`eq ne gt gte lt lte`, and both ends
  of `between`) has a boundary at `t`, shared by every comparison of that fact with that
  value. Its three points are *just below* (`[t-ε, t)`), *at* (`t`) and *just above*
  (`(t, t+ε]`), where ε is 1 for integer facts (so exactly t-1, t, t+1) and 0.01 for
  number facts unless the suite sets `epsilon:`. A point is covered when some case's
  fact value lies on it *and* one of the comparisons at `t` decided its rule in that
  case (flipping that comparison would flip the rule's match). Points outside the fact's
  declared range are unreachable and not counted.
- dates: a date comparison `fact op d` has a boundary at `d` with the three days before,
  on and after it (ε is one day). A relative date (`{days_ago: clean_days}`) is one
  boundary however many evaluation dates the cases use: its days are those of the
  coverage's `as_of` (the first case's evaluation date unless given), and a case on
  another evaluation date covers the day at the same distance from its own `as_of`.
- presence tests (`missing`) count as conditions: seen true (the fact absent) and false.
- v3: a list's `length op k` has a boundary at k on the list's length (k-1, k, k+1 items),
  a derived fact's comparison one at its constant on the derived value (`Decision.derived`);
  the restated cells of a `hit: first` table row (`Comparison.via`) are not conditions of
  that row: each cell is counted once, at its own row. A table's rows are rules.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Sequence

from ..language.model import (DATE, OP_SYMBOL, PRESENCE_OP, SUBJECT_DERIVED, Comparison, FactSpec, Length, Loc,
                              Policy, RelativeDate, Rule)
from ..runtime.semantics import today
from .model import CaseResult, Run

DEFAULT_NUMBER_EPSILON = 0.01
METRICS = ("rules", "conditions", "boundaries")


@dataclass(frozen=True)
class Point:
    side: str  # below | at | above
    value: object  # the value a generated case uses; None when unreachable
    lo: object = None  # the side's interval (for below: [lo, t); above: (t, hi])
    hi: object = None

    @property
    def reachable(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Boundary:
    fact: str
    value: object
    names: tuple[str, ...]  # the thresholds naming this value (none for a literal)
    uses: tuple[tuple[int, int], ...]  # (rule index, leaf index) of each comparison at this value
    points: tuple[Point, ...]
    epsilon: object
    # A date relative to the evaluation date: `value` is its `RelativeDate`, the points are
    # the days of `as_of`, and a case on another evaluation date is moved onto them.
    relative: bool = False
    as_of: datetime.date | None = None
    # What the points are values of: "value" (the fact's), "length" (a list fact's length),
    # "derived" (a derived fact's value, read from `Decision.derived`).
    of: str = "value"

    def value_in(self, d) -> object:
        """The value a decision has on this boundary's axis (None when missing)."""
        if self.of == "derived":
            return (getattr(d, "derived", None) or {}).get(self.fact)
        v = d.facts.get(self.fact)
        if self.of == "length":
            return None if v is None else len(v)
        return v

    @property
    def label(self) -> str:
        from ..language.values import format_value

        if self.relative:
            days = self.value.days
            word = "days ago" if self.value.sign < 0 else "days ahead"
            return f"{'/'.join(self.names)} ({days} {word})" if self.names else f"{days} {word}"
        shown = format_value(self.value)
        return f"{'/'.join(self.names)} ({shown})" if self.names else shown

    def contains(self, point: Point, v, as_of: datetime.date | None = None) -> bool:
        """Whether fact value `v` of a case evaluated on `as_of` lies on `point`."""
        t = self.value
        if self.relative:
            t = self.value.on(self.as_of)
            if as_of is not None and as_of != self.as_of:
                try:
                    v = v + (self.as_of - as_of)  # the same distance from the boundary's evaluation date
                except OverflowError:
                    return False
        lo, hi = point.lo, point.hi
        if isinstance(v, Decimal):  # a derived fact's exact value: its points as the decimals they say
            t, lo, hi = (None if x is None else _dec(x) for x in (t, lo, hi))
        if point.side == "at":
            return v == t
        if point.side == "below":
            return lo <= v < t
        return t < v <= hi


def _dec(x) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def _num(d: Decimal, like_int: bool):
    return int(d) if like_int and d == d.to_integral_value() else float(d)


def _date_points(spec, t: datetime.date) -> tuple[Point, ...]:
    """The day before, of and after date `t`, each unreachable outside the fact's declared
    range (or the calendar)."""
    one = datetime.timedelta(days=1)

    def ok(d) -> bool:
        return d is not None and (spec.minimum is None or d >= spec.minimum) and (spec.maximum is None or d <= spec.maximum)

    def shift(d, n):
        try:
            return d + n * one
        except OverflowError:
            return None

    before, after = shift(t, -1), shift(t, 1)
    return (Point("below", before if ok(before) else None, before, t), Point("at", t if ok(t) else None),
            Point("above", after if ok(after) else None, t, after))


def boundary_points(spec, t, epsilon=None) -> tuple[tuple[Point, ...], object]:
    """The just-below, at and just-above points of threshold `t` for fact `spec`, and ε.
    Arithmetic is decimal, so 0.9 - 0.01 is 0.89 (not 0.8899999999999999). For a date
    fact, the day before, of and after `t` (ε is one day)."""
    if spec.type == DATE:
        return _date_points(spec, t), 1
    integer = spec.type == "integer"
    eps = 1 if integer else (epsilon if epsilon is not None else DEFAULT_NUMBER_EPSILON)
    lo_range = spec.minimum
    hi_range = spec.maximum
    td, ed = _dec(t), _dec(eps)
    both_int = integer or (isinstance(t, int) and isinstance(eps, int))
    # below: [t-ε, t) within the range
    blo = td - ed
    if lo_range is not None and _dec(lo_range) > blo:
        blo = _dec(lo_range)
    if integer:
        blo = blo.to_integral_value(rounding="ROUND_CEILING")
        below_ok = blo <= td - 1
    else:
        below_ok = blo < td
    if hi_range is not None and blo > _dec(hi_range):
        below_ok = False
    below = Point("below", _num(blo, both_int) if below_ok else None, _num(blo, both_int), t)
    at_ok = (lo_range is None or lo_range <= t) and (hi_range is None or t <= hi_range) and (
        not integer or float(t).is_integer())
    at = Point("at", t if at_ok else None)
    ahi = td + ed
    if hi_range is not None and _dec(hi_range) < ahi:
        ahi = _dec(hi_range)
    if integer:
        ahi = ahi.to_integral_value(rounding="ROUND_FLOOR")
        above_ok = ahi >= td + 1
    else:
        above_ok = ahi > td
    if lo_range is not None and ahi < _dec(lo_range):
        above_ok = False
    above = Point("above", _num(ahi, both_int) if above_ok else None, t, _num(ahi, both_int))
    return (below, at, above), eps


def _operand_key(spec, value):
    """The boundary an operand makes (None for none): a number, a date, or a relative date
    by its offset (two thresholds of one offset are one boundary)."""
    if spec.numeric:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if spec.type == DATE:
        if isinstance(value, RelativeDate):
            return ("relative", value.offset)
        return value if isinstance(value, datetime.date) else None
    return None


def boundaries(policy: Policy, epsilon: dict | None = None, as_of: datetime.date | None = None) -> list[Boundary]:
    """Every numeric and date threshold boundary of the policy, in order of first use;
    relative dates are resolved on `as_of` (default: today in the policy's timezone)."""
    epsilon = epsilon or {}
    found: dict[tuple, dict] = {}
    specs: dict[tuple, FactSpec] = {}
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.via is not None:
                continue  # a restated cell: its boundary is its own row's
            of, spec, op, operands = _measured(policy, leaf)
            if spec is None or op not in ("eq", "ne", "gt", "gte", "lt", "lte", "between"):
                continue
            for o in operands:
                if o.fact is not None:
                    continue  # against another fact: no constant to put points at
                k = _operand_key(spec, o.value)
                if k is None:
                    continue
                key = (leaf.subject, k, of)
                specs[key] = spec
                entry = found.setdefault(key, {"names": [], "uses": [], "value": o.value})
                if o.threshold and o.threshold not in entry["names"]:
                    entry["names"].append(o.threshold)
                if isinstance(o.value, RelativeDate) and o.value.threshold and o.value.threshold not in entry["names"]:
                    entry["names"].append(o.value.threshold)
                if (rule.index, leaf.index) not in entry["uses"]:
                    entry["uses"].append((rule.index, leaf.index))
    out = []
    for (fact, _, of), entry in found.items():
        value = entry["value"]
        names, uses = tuple(entry["names"]), tuple(entry["uses"])
        spec = specs[(fact, _, of)]
        if isinstance(value, RelativeDate):
            as_of = as_of or today(policy.timezone)
            points, eps = boundary_points(spec, value.on(as_of))
            out.append(Boundary(fact, value, names, uses, points, eps, relative=True, as_of=as_of))
            continue
        points, eps = boundary_points(spec, value, epsilon.get(fact) if of == "value" else None)
        out.append(Boundary(fact, value, names, uses, points, eps, of=of))
    return out


def _measured(policy: Policy, leaf: Comparison) -> tuple:
    """(of, spec, op, operands) of a leaf with a numeric or date axis: a fact's value, a
    list's length (its spec: an integer from min_items to max_items) or a derived fact's
    value (a number without declared bounds); spec None for any other leaf."""
    if leaf.kind == "fact" and isinstance(leaf.operand, Length):
        f = policy.facts[leaf.subject]
        spec = FactSpec(leaf.subject, "integer", minimum=f.minimum if f.minimum is not None else 0,
                        maximum=f.maximum)
        return "length", spec, leaf.operand.op, (leaf.operand.operand,)
    if leaf.kind == SUBJECT_DERIVED and leaf.subject in policy.derived:
        spec = FactSpec(leaf.subject, policy.derived[leaf.subject].type)
    elif leaf.kind == "fact" and leaf.subject in policy.facts:
        spec = policy.facts[leaf.subject]
    else:
        return "value", None, leaf.op, ()
    return (SUBJECT_DERIVED if leaf.kind == SUBJECT_DERIVED else "value", spec, leaf.op,
            leaf.operand if leaf.op == "between" else (leaf.operand,))


def _tree_value(cond, values, flip: int | None = None):
    """A rule's Kleene value from its leaf results, with leaf `flip` negated."""
    from ..runtime.semantics import kleene

    def leaf(c: Comparison):
        v = values[c.index]
        return (not v if v is not None else None) if c.index == flip else v

    return kleene(cond, leaf)


def decisive(rule: Rule, leaf_values: Sequence, leaf_index: int) -> bool:
    """Whether flipping this leaf would flip the rule's match (the leaf decided the rule)."""
    if leaf_values[leaf_index] is None:
        return False
    return _tree_value(rule.when, leaf_values, leaf_index) != _tree_value(rule.when, leaf_values)


@dataclass
class RuleCov:
    rule: Rule
    matched_by: list[str] = field(default_factory=list)


@dataclass
class ConditionCov:
    rule: Rule
    leaf: Comparison
    true_by: list[str] = field(default_factory=list)
    false_by: list[str] = field(default_factory=list)


@dataclass
class PointCov:
    point: Point
    covered_by: list[str] = field(default_factory=list)
    seen_by: list[str] = field(default_factory=list)  # the value, but no comparison here decided its rule


@dataclass
class BoundaryCov:
    boundary: Boundary
    points: list[PointCov]


@dataclass
class Coverage:
    """Coverage of one policy by every case run against it."""

    policy: Policy
    cases: int
    rules: list[RuleCov]
    conditions: list[ConditionCov]
    boundaries: list[BoundaryCov]

    def counts(self) -> dict[str, tuple[int, int]]:
        """metric → (covered, total)."""
        rules = (sum(1 for r in self.rules if r.matched_by), len(self.rules))
        conds = (sum((1 if c.true_by else 0) + (1 if c.false_by else 0) for c in self.conditions),
                 2 * len(self.conditions))
        pts = [p for b in self.boundaries for p in b.points if p.point.reachable]
        bounds = (sum(1 for p in pts if p.covered_by), len(pts))
        return {"rules": rules, "conditions": conds, "boundaries": bounds}

    def percent(self) -> dict[str, float]:
        return {k: _pct(c, t) for k, (c, t) in self.counts().items()}


def _pct(covered: int, total: int) -> float:
    return 100.0 if total == 0 else math.floor(1000.0 * covered / total) / 10.0


def _first_as_of(results: Sequence[CaseResult]) -> datetime.date | None:
    return next((d.as_of for d in (r.decision for r in results) if d.as_of is not None), None)


def coverage_of(policy: Policy, results: Sequence[CaseResult], epsilon: dict | None = None,
                as_of: datetime.date | None = None) -> Coverage:
    """Coverage of `policy` by these case results (see the module docstring). Relative
    date boundaries are shown on `as_of` (default: the first case's evaluation date)."""
    rules = [RuleCov(r) for r in policy.rules]
    # A restated cell of a `hit: first` row is the earlier row's cell: counted there only.
    conds = [ConditionCov(r, leaf) for r in policy.rules for leaf in r.leaves if leaf.via is None]
    cond_at = {(c.rule.index, c.leaf.index): c for c in conds}
    as_of = as_of or (_first_as_of(results) if policy.uses_time else None)
    bcovs = [BoundaryCov(b, [PointCov(p) for p in b.points]) for b in boundaries(policy, epsilon, as_of)]
    for res in results:
        d = res.decision
        if d is None or d.trace is None:
            continue
        name = res.case.name
        for r in policy.rules:
            if d.matched[r.index] is True:
                rules[r.index].matched_by.append(name)
            for leaf in r.leaves:
                c = cond_at.get((r.index, leaf.index))
                if c is None:
                    continue  # a restated cell
                v = d.trace[r.index][leaf.index]
                if v is True:
                    c.true_by.append(name)
                elif v is False:
                    c.false_by.append(name)
        for bc in bcovs:
            b = bc.boundary
            value = b.value_in(d)
            if value is None:
                continue
            hits = [pc for pc in bc.points if pc.point.reachable and b.contains(pc.point, value,
                                                                                  d.as_of)]
            if not hits:
                continue
            decided = any(decisive(policy.rules[ri], d.trace[ri], li) for ri, li in b.uses)
            for pc in hits:
                (pc.covered_by if decided else pc.seen_by).append(name)
    return Coverage(policy, len(results), rules, conds, bcovs)


def coverage(run: Run) -> list[Coverage]:
    """One Coverage per policy tested in the run, merging every suite that tests it.

    Suites test the same policy when they share its Policy value: loading gives every
    suite naming one file the same value (`load.PolicyCache`), so no path is looked at here."""
    groups: dict[int, tuple[Policy, list[CaseResult], dict]] = {}
    for s in run.suites:
        key = id(s.suite.policy)
        if key not in groups:
            groups[key] = (s.suite.policy, [], {})
        groups[key][1].extend(s.results)
        groups[key][2].update(s.suite.epsilon)
    return [coverage_of(p, res, eps) for p, res, eps in groups.values()]


def parse_min_coverage(text: str) -> dict[str, float]:
    """`90` (every metric) or `rules=100,boundaries=100`; raises ValueError with a message."""
    out: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if "=" in part:
            key, _, value = part.partition("=")
            key = key.strip()
            if key not in METRICS:
                raise ValueError(f"unknown coverage metric `{key}` (choose from {', '.join(METRICS)})")
            keys = [key]
        else:
            value, keys = part, list(METRICS)
        try:
            n = float(value.strip().rstrip("%"))
        except ValueError:
            raise ValueError(f"`{part}` is not a percentage") from None
        if not 0 <= n <= 100:
            raise ValueError(f"`{part}` is not between 0 and 100")
        for k in keys:
            out[k] = n
    return out


def gate(coverages: Sequence[Coverage], minimum: dict[str, float]) -> list[str]:
    """One message per policy and metric below its minimum (each policy is gated alone)."""
    out = []
    for cov in coverages:
        pct = cov.percent()
        for metric in METRICS:
            if metric in minimum and pct[metric] < minimum[metric]:
                c, t = cov.counts()[metric]
                out.append(f"{cov.policy.id}: {metric} coverage {pct[metric]:.1f}% ({c}/{t}) is below the "
                           f"minimum {minimum[metric]:g}%")
    return out


def uncovered(cov: Coverage) -> list[tuple[Loc | None, str]]:
    """(location, description) of everything not covered, in policy order."""
    from ..language.values import format_value

    out: list[tuple[Loc | None, str]] = []
    for rc in cov.rules:
        if not rc.matched_by:
            out.append((rc.rule.loc, f"rule {rc.rule.id}: never matched"))
    for cc in cov.conditions:
        missing = [w for w, by in (("true", cc.true_by), ("false", cc.false_by)) if not by]
        if missing:
            out.append((cc.leaf.loc, f"condition {leaf_text(cc.leaf)} in {cc.rule.id}: never "
                        + " or ".join(missing)))
    for bc in cov.boundaries:
        b = bc.boundary
        for pc in bc.points:
            if pc.point.reachable and not pc.covered_by:
                where = _side_text(b, pc.point)
                extra = f" (reached by `{pc.seen_by[0]}`, but no comparison at it decided its rule there)" \
                    if pc.seen_by else ""
                leaf = cov.policy.rules[b.uses[0][0]].leaves[b.uses[0][1]]
                rules = ", ".join(dict.fromkeys(cov.policy.rules[ri].id for ri, _ in b.uses))
                of = f"the length of {b.fact}" if b.of == "length" else b.fact
                out.append((leaf.loc, f"boundary {b.label} of {of}: {where} ({format_value(pc.point.value)}) "
                            f"not tested [{rules}]{extra}"))
    return out


def _side_text(b: Boundary, p: Point) -> str:
    return "at" if p.side == "at" else f"just {p.side}"


def leaf_text(leaf: Comparison) -> str:
    from ..language.values import format_value

    if leaf.kind == "flag":
        return f"flag {leaf.subject}"
    if leaf.kind == "rule":
        return f"rule {leaf.subject} matched"
    if leaf.op == PRESENCE_OP:
        return f"{leaf.subject} {'is missing' if leaf.operand.value else 'is present'}"

    def text(o) -> str:
        if o.fact is not None:
            return o.fact
        return o.value.describe() if isinstance(o.value, RelativeDate) else o.threshold or format_value(o.value)

    if leaf.op == "between":
        target = "[" + ", ".join(text(o) for o in leaf.operand) + "]"
    elif isinstance(leaf.operand, Length):
        return f"{leaf.subject} has length {OP_SYMBOL[leaf.operand.op]} {text(leaf.operand.operand)}"
    else:
        target = text(leaf.operand)
    return f"{leaf.subject} {OP_SYMBOL[leaf.op]} {target}"
