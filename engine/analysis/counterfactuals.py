"""Counterfactuals: the smallest changes to a user's facts that reach a better outcome.

Exact, not a search, on the fact-space algebra (`engine.space`). Once per policy (cached
per compiled rule set), `Reach` computes, for every outcome, the region of the fact space
where evaluation *knows* that outcome (`Regions.known`: a rule of the outcome definitely
matches and every rule of a higher-precedence outcome definitely fails; for the default,
every outcome rule definitely fails). The regions are three-valued: a missing optional
fact is a cell of its own, so "unknown" is never mistaken for true or false.

Per decision, each fact gets its options (`space.nearest.Origin`): stay in its cell at no
cost, or move to the nearest value of another cell, priced by `distance` and allowed by
the fact's `change` (never for `change: none`, `increase`/`decrease` only that way; a
present fact is never made missing; a missing one may be supplied). A box is a product
of cells and the cost a sum over facts, so the cheapest point of every box, per set of
changed facts, is exact (`space.nearest_points`). Candidates are reduced to
subset-minimal sets of changed facts, ranked by (number of facts changed, distance), and
each one is verified with the real evaluator before it is returned. See
docs/explanations.md.

Time is a change of its own kind (`space.waiting`): waiting `w` days (up to the policy's
`max_wait_days`) evaluates on `as_of + w`, which moves the user's point along the date
axes compared with relative dates and the `change: with_time` axes, never the regions.
Per box that is an interval of days, so for every outcome the earliest day it is reached,
by waiting alone or with other changes, is exact. Candidates are then the pairs (changed
facts, days waited) that no pair with a subset of the facts and no more days beats,
ranked by (facts changed, days waited, distance), and verified on `as_of + w`.

List facts move item by item (`space.nearest`: adding an item, removing every occurrence
of one, adding or dropping items no policy names); a string fact moves to a string of
another cell of its string tests (a constructed witness) only where its `change` allows.
Derived facts and fact-to-fact comparisons are axes of their own that never move
(`space.opaque`): a counterfactual changes the facts they read, never the derived fact.
The exact pass above keeps them where they are; `_through_inputs` then changes one input
fact at a time — the facts a derived fact or a fact-to-fact comparison reads, as its
`change` allows — searching outward from its value (steps doubling, then bisection to
the nearest value that reaches the outcome), and keeps what evaluation verifies. Those
alternatives are verified, not proven minimal.

Pure: reads the policy IR and the decision's facts; evaluates only to verify.
"""

from __future__ import annotations

import datetime
import math
import sys
import threading
import weakref
from fractions import Fraction
from dataclasses import dataclass

from ..compile import RuleSet
from ..errors import FactsError
from ..evaluate import evaluate
from ..language.model import ARRAY, DATE, FactSpec, Policy
from ..runtime.decision import Decision
from ..space import Budget, Incomplete, Regions, Space, merge
from ..runtime.semantics import today
from ..space.nearest import NUMBER_STEP, Origin, nearest_points
from ..space.opaque import DerivedValues
from ..space.waiting import Waits, moving_axes, nearest_waits, split_facts

#: Alternatives returned per target outcome by default (when pruned).
MAX_PER_OUTCOME = 3


def better_outcomes(policy: Policy, outcome: str | None) -> list[str]:
    """Outcomes better than `outcome`, best first. Non-adverse beats adverse; among
    non-adverse outcomes, earlier in `outcomes` (higher precedence) is better, except the
    default, which is the worst non-adverse outcome wherever it is listed (it is what a
    user gets when no rule grants anything). Adverse outcomes are never targets."""
    ranked = [o.id for o in policy.outcomes if not o.adverse and o.id != policy.default]
    if policy.default is not None and not policy.outcome(policy.default).adverse:
        ranked.append(policy.default)
    if outcome is None or outcome not in ranked:
        return ranked
    return ranked[:ranked.index(outcome)]


# -- per policy ------------------------------------------------------------------------------

class Reach:
    """Per policy and evaluation date: its fact space and, per outcome, the boxes where
    evaluation knows that outcome (None for every outcome when the regions exceed the
    budget: then there are no counterfactuals, never wrong ones)."""

    def __init__(self, policy: Policy, budget: Budget | None = None, *, as_of: datetime.date | None = None):
        self.policy = policy
        self.boxes: dict[str, list | None] = {}
        self.derived = DerivedValues(policy)
        budget = budget if budget is not None else Budget()
        try:
            self.space = Space([policy], as_of, split=split_facts(policy), opaque=True)
        except Incomplete:
            self.space = Space([], as_of)
            self.as_of, self.axes = self.space.as_of, []
            self.boxes = {o: None for o in policy.outcome_ids}
            return
        self.as_of = self.space.as_of
        self.axes = moving_axes(self.space, policy)
        try:
            known = Regions(policy, self.space, budget, only_outcomes=True).known()
            for o in policy.outcome_ids:
                self.boxes[o] = merge(known.get(o, []), budget)
        except Incomplete:
            self.boxes = {o: None for o in policy.outcome_ids}

    @property
    def complete(self) -> bool:
        return all(b is not None for b in self.boxes.values())


_CACHE: "weakref.WeakKeyDictionary[RuleSet, dict]" = weakref.WeakKeyDictionary()
#: Evaluation dates whose `Reach` is kept per rule set (a batch run has one).
DATES_KEPT = 4
_LOCK = threading.Lock()


def reach(ruleset: RuleSet, as_of: datetime.date | None = None) -> Reach:
    """The `Reach` of a compiled policy on an evaluation date, computed once per rule set
    and date (the date matters only to a policy that uses time)."""
    key = as_of if ruleset.policy.uses_time else None
    with _LOCK:  # threads deciding with one rule set share its cache
        per = _CACHE.get(ruleset)
        if per is None:
            per = _CACHE[ruleset] = {}
        r = per.get(key)
        if r is None:
            while len(per) >= DATES_KEPT:
                per.pop(next(iter(per)))  # the oldest date first
            r = per[key] = Reach(ruleset.policy, as_of=key)
        return r


# -- per decision ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    fact: str
    old: object
    new: object


@dataclass(frozen=True)
class Counterfactual:
    """Changing `changes` (and nothing else) and waiting `wait_days` makes the decision
    `outcome` on `date` (None when there is no waiting); verified. A pure wait has no
    changes; `with_time` facts grow by `wait_days` and are not listed as changes."""

    outcome: str
    changes: tuple[Change, ...]  # in the policy's fact order
    distance: float
    wait_days: int = 0
    date: datetime.date | None = None

    @property
    def size(self) -> int:
        return len(self.changes)

    @property
    def facts(self) -> dict:
        return {c.fact: c.new for c in self.changes}


def distance(spec: FactSpec, old, new) -> float:
    """Normalized distance of one change: numbers by their declared range (or, without one,
    by their own magnitude), enum levels by position, anything else (and supplying a
    missing fact) 1."""
    if old is None:
        return 1.0
    if spec.type == DATE:
        # Days moved, by the declared range in days, else by a year.
        if spec.minimum is not None and spec.maximum is not None and spec.maximum > spec.minimum:
            scale = (spec.maximum - spec.minimum).days
        else:
            scale = DATE_SCALE_DAYS
        return abs((new - old).days) / scale
    if spec.numeric:
        if spec.minimum is not None and spec.maximum is not None and spec.maximum > spec.minimum:
            scale = spec.maximum - spec.minimum
        else:
            scale = max(abs(old), abs(new), 1)
        try:
            return abs(new - old) / scale
        except OverflowError:
            # An integer beyond a double's range, against an integer or a float: `new - old`
            # itself may overflow, so the exact difference and ratio, then a float (≤ 2).
            return float(abs(Fraction(new) - Fraction(old)) / Fraction(scale))
    if spec.type == ARRAY:
        # Items added or removed (as multisets), by the longest list allowed (else the longer one).
        left, moved = list(old), 0
        for x in new:
            if x in left:
                left.remove(x)
            else:
                moved += 1
        moved += len(left)
        scale = spec.maximum if spec.maximum else max(len(old), len(new), 1)
        return moved / scale
    if spec.enum and len(spec.enum) > 1 and old in spec.enum and new in spec.enum:
        return abs(spec.enum.index(new) - spec.enum.index(old)) / (len(spec.enum) - 1)
    return 1.0


#: The distance of moving a date fact without a declared range by this many days is 1.
DATE_SCALE_DAYS = 365


def _order(spec: FactSpec) -> tuple | None:
    """The order `increase`/`decrease` refer to: enum declaration order, false < true."""
    if spec.type == "boolean":
        return (False, True)
    return spec.enum


def change_cost(spec: FactSpec, old, new) -> float | None:
    """The distance of changing `old` to `new` (`old` None: supplying a missing fact), or
    None when the fact's `change` forbids it."""
    if spec.change in ("none", "with_time"):  # a `with_time` fact changes only by waiting
        return None
    if old is not None and spec.change in ("increase", "decrease"):
        if spec.type == ARRAY:  # a list increases by adding items, decreases by removing them
            up = len(new) > len(old)
        elif spec.numeric or spec.type == DATE:
            up = new > old
        else:
            order = _order(spec)
            if order is None:  # free strings: no order, so no direction to move in
                return None
            up = order.index(new) > order.index(old)
        if up != (spec.change == "increase"):
            return None
    return distance(spec, old, new)


def counterfactuals(ruleset: RuleSet, decision: Decision, *, per_outcome: int | None = None,
                    prune: bool = True, verify: bool = True) -> list[Counterfactual]:
    """The verified counterfactuals of a decision, ranked by (facts changed, days waited,
    distance, outcome).

    Per better outcome: the minimal (changed facts, days waited) pairs (no other pair
    changes a subset of the facts and waits no longer), each with its closest assignment
    on its earliest day, ranked by (facts changed, days waited, distance). Without time in
    the policy nothing waits, and these are the subset-minimal sets of changed facts. With
    `prune` (the default), at most `per_outcome` (3) of them, and an alternative is dropped
    when an alternative shown for a better outcome changes a subset of its facts, each by
    no more, and waits no longer (it is dominated: the better outcome costs no more); the
    best reachable outcome always keeps its own. `prune=False` returns every better
    outcome's minimal pairs (unless `per_outcome` caps them). The evaluation date is the
    decision's `as_of` (today in the policy's timezone when it has none)."""
    policy = ruleset.policy
    rank = {o: i for i, o in enumerate(better_outcomes(policy, decision.outcome))}
    if not rank:
        return []
    limit = per_outcome if per_outcome is not None else (MAX_PER_OUTCOME if prune else None)
    as_of = None
    if policy.uses_time:
        as_of = decision.as_of or today(policy.timezone)
    r = reach(ruleset, as_of)
    facts = decision.facts
    # The opaque axes' values at the user's facts: where the user already is on them.
    derived = r.derived(facts) if r.space.pseudo else {}
    placed = {**facts, **r.space.pseudo_values(policy, facts, derived)} if r.space.pseudo else facts
    origin = Origin(r.space, placed, lambda name, old, new: change_cost(policy.facts[name], old, new))
    # The horizon stops at the calendar's last day: no one waits past 9999-12-31.
    horizon = min(policy.max_wait_days, (datetime.date.max - as_of).days) if as_of is not None else 0
    waits = Waits(origin, r.axes, horizon) if policy.uses_time else None
    # The moving date axes a counterfactual may change as well as wait for.
    changeable = {k: policy.facts[r.space.dims[k].name].change for k in r.axes
                  if policy.facts[r.space.dims[k].name].type == DATE and not r.space.dims[k].coupled
                  and policy.facts[r.space.dims[k].name].change not in ("none", "with_time")}
    order = list(policy.facts)
    chosen: list[Counterfactual] = []
    shown: list[tuple[dict, int]] = []  # per-fact distances and days of the alternatives of better outcomes
    for target in rank:
        boxes = r.boxes.get(target)
        if not boxes:
            continue
        if waits is None:
            found = {k: (0, *v) for k, v in nearest_points(boxes, origin).items()}
        else:
            found = nearest_waits(boxes, waits, changeable)
        if r.space.pseudo and not policy.uses_time:
            for name, (dist, value) in _through_inputs(ruleset, r, facts, target).items():
                key = frozenset({name})
                if key not in found or found[key][1] > dist:
                    found[key] = (0, dist, {name: value})
        keys = sorted(found, key=lambda k: (len(k), found[k][0], found[k][1], sorted(k)))
        minimal = [k for k in keys if not any(o <= k and o != k and found[o][0] <= found[k][0] for o in found)]
        kept = []
        for k in minimal:
            if limit is not None and len(kept) >= limit:
                break
            wait, dist, changes = found[k]
            steps = {n: distance(policy.facts[n], facts.get(n), v) for n, v in changes.items()}
            if prune and any(_dominates(s, w, steps, wait) for s, w in shown):
                continue
            day = as_of + datetime.timedelta(days=wait) if as_of is not None else None
            if verify and not _verified(ruleset, _waited(policy, facts, changes, wait), target, day):
                continue  # pragma: no cover - the analysis is exact; never show an unverified one
            changes_t = tuple(Change(n, facts.get(n), changes[n]) for n in order if n in changes)
            chosen.append(Counterfactual(target, changes_t, round(dist, 6), wait, day if wait else None))
            kept.append((steps, wait))
        shown.extend(kept)
    chosen.sort(key=lambda c: (c.size, c.wait_days, c.distance, rank[c.outcome],
                               [(ch.fact, repr(ch.new)) for ch in c.changes]))
    return chosen


#: Evaluations one input fact's search may spend per target outcome.
MAX_PROBES = 80


def _through_inputs(ruleset: RuleSet, r: Reach, facts: dict, target: str) -> dict:
    """Per numeric input fact of a derived fact or a fact-to-fact comparison (whose
    `change` allows moving it), the nearest value found that reaches `target` when only
    that fact changes: (distance, value), verified by evaluation."""
    policy = ruleset.policy
    out: dict = {}
    names = [n for ins in r.space.pseudo_inputs.values() for n in ins]
    for name in dict.fromkeys(names):
        spec = policy.facts.get(name)
        old = facts.get(name)
        if spec is None or not spec.numeric or old is None or spec.change in ("none", "with_time"):
            continue
        best = None
        for sign in (+1, -1):
            if spec.change == ("decrease" if sign > 0 else "increase"):
                continue
            v = _search(ruleset, facts, spec, old, sign, target)
            if v is not None:
                d = distance(spec, old, v)
                if best is None or d < best[0]:
                    best = (d, v)
        if best is not None:
            out[name] = best
    return out


def _search(ruleset: RuleSet, facts: dict, spec: FactSpec, old, sign: int, target: str):
    """The nearest value of `spec` from `old` in direction `sign` found to reach `target`:
    steps doubling until one reaches it (within the declared range; when none does, the
    declared bound on that side is tried too, so a far value is not left without any),
    then bisection back to the first value that does (an integer exactly, a number to
    `NUMBER_STEP`)."""
    # A number fact holding an integer beyond doubles (10^400) steps as an integer: an
    # integer plus a float step would not be a value at all.
    integer = spec.type == "integer" or (isinstance(old, int) and abs(old) > sys.float_info.max)
    unit = 1 if integer else NUMBER_STEP
    lo_ok = spec.minimum
    hi_ok = spec.maximum

    def clamp(v):
        if lo_ok is not None and v < lo_ok:
            return lo_ok
        if hi_ok is not None and v > hi_ok:
            return hi_ok
        return v

    def reaches(v) -> bool:
        return _verified(ruleset, {**facts, spec.name: v}, target, None)

    probes = 0
    # (a double far from 0 starts at its own spacing: 1e300 - 0.01 is 1e300)
    near, step = old, unit if integer else max(unit, math.ulp(float(old)))
    found = False
    while probes < MAX_PROBES // 2:
        far = clamp(old + sign * step if integer else round(old + sign * step, 10))
        if far == near:
            break  # the declared range ends here
        probes += 1
        if reaches(far):
            found = True
            break
        near, step = far, step * 2
    if not found:
        bound = lo_ok if sign < 0 else hi_ok
        if bound is None or bound == near or not reaches(bound):
            return None
        far = bound
        probes += 1
    while probes < MAX_PROBES and abs(far - near) > unit:  # near: not reached; far: reached
        mid = (near + far) // 2 if integer else round((near + far) / 2, 10)
        probes += 1
        if reaches(mid):
            far = mid
        else:
            near = mid
    return far


def _waited(policy: Policy, facts: dict, changes: dict, wait: int) -> dict:
    """The facts after `changes` and `wait` days: every present `with_time` fact grown by
    the days waited (date facts keep their days; the evaluation date moves instead)."""
    out = {**facts, **changes}
    if wait:
        for name, spec in policy.facts.items():
            if spec.change == "with_time" and out.get(name) is not None:
                out[name] = out[name] + wait
    return out


def _dominates(better: dict, better_wait: int, steps: dict, wait: int) -> bool:
    """A better outcome reached by changing a subset of these facts, each by no more,
    waiting no longer."""
    return better_wait <= wait and all(n in steps and d <= steps[n] for n, d in better.items())


def _verified(ruleset: RuleSet, facts: dict, target: str, day: datetime.date | None) -> bool:
    """Whether the changed facts really reach `target` on `day` (the evaluation date after
    waiting; None for a policy without time); a change to a value no record can hold (past
    the largest double, say) verifies as not reached, never as a crash."""
    try:
        d = evaluate(ruleset, facts, trace=False) if day is None else evaluate(ruleset, facts, trace=False, as_of=day)
    except FactsError:
        return False
    return d.outcome == target and d.outcome_known
