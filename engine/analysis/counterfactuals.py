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

Pure: reads the policy IR and the decision's facts; evaluates only to verify.
"""

from __future__ import annotations

import weakref
from fractions import Fraction
from dataclasses import dataclass

from ..compile import RuleSet
from ..errors import FactsError
from ..evaluate import evaluate
from ..language.model import FactSpec, Policy
from ..runtime.decision import Decision
from ..space import Budget, Incomplete, Regions, Space, merge
from ..space.nearest import Origin, nearest_points

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
    """Per policy: its fact space and, per outcome, the boxes where evaluation knows that
    outcome (None for every outcome when the regions exceed the budget: then there are no
    counterfactuals, never wrong ones)."""

    def __init__(self, policy: Policy, budget: Budget | None = None):
        self.policy = policy
        self.space = Space([policy])
        budget = budget if budget is not None else Budget()
        self.boxes: dict[str, list | None] = {}
        try:
            known = Regions(policy, self.space, budget, only_outcomes=True).known()
            for o in policy.outcome_ids:
                self.boxes[o] = merge(known.get(o, []), budget)
        except Incomplete:
            self.boxes = {o: None for o in policy.outcome_ids}

    @property
    def complete(self) -> bool:
        return all(b is not None for b in self.boxes.values())


_CACHE: "weakref.WeakKeyDictionary[RuleSet, Reach]" = weakref.WeakKeyDictionary()


def reach(ruleset: RuleSet) -> Reach:
    """The `Reach` of a compiled policy, computed once per rule set."""
    r = _CACHE.get(ruleset)
    if r is None:
        r = _CACHE[ruleset] = Reach(ruleset.policy)
    return r


# -- per decision ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    fact: str
    old: object
    new: object


@dataclass(frozen=True)
class Counterfactual:
    """Changing `changes` (and nothing else) makes the decision `outcome`; verified."""

    outcome: str
    changes: tuple[Change, ...]  # in the policy's fact order
    distance: float

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
    if spec.enum and len(spec.enum) > 1 and old in spec.enum and new in spec.enum:
        return abs(spec.enum.index(new) - spec.enum.index(old)) / (len(spec.enum) - 1)
    return 1.0


def _order(spec: FactSpec) -> tuple | None:
    """The order `increase`/`decrease` refer to: enum declaration order, false < true."""
    if spec.type == "boolean":
        return (False, True)
    return spec.enum


def change_cost(spec: FactSpec, old, new) -> float | None:
    """The distance of changing `old` to `new` (`old` None: supplying a missing fact), or
    None when the fact's `change` forbids it."""
    if spec.change == "none":
        return None
    if old is not None and spec.change in ("increase", "decrease"):
        if spec.numeric:
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
    """The verified counterfactuals of a decision, ranked by (facts changed, distance, outcome).

    Per better outcome: the subset-minimal sets of changed facts, each with its closest
    assignment, ranked by (facts changed, distance). With `prune` (the default), at most
    `per_outcome` (3) of them, and an alternative is dropped when an alternative shown for
    a better outcome changes a subset of its facts, each by no more (it is dominated: the
    better outcome costs no more); the best reachable outcome always keeps its own.
    `prune=False` returns every better outcome's minimal sets (unless `per_outcome` caps
    them)."""
    policy = ruleset.policy
    rank = {o: i for i, o in enumerate(better_outcomes(policy, decision.outcome))}
    if not rank:
        return []
    limit = per_outcome if per_outcome is not None else (MAX_PER_OUTCOME if prune else None)
    r = reach(ruleset)
    facts = decision.facts
    origin = Origin(r.space, facts, lambda name, old, new: change_cost(policy.facts[name], old, new))
    order = list(policy.facts)
    chosen: list[Counterfactual] = []
    shown: list[dict] = []  # per-fact distances of the alternatives of better outcomes
    for target in rank:
        boxes = r.boxes.get(target)
        if not boxes:
            continue
        found = nearest_points(boxes, origin)
        keys = sorted(found, key=lambda k: (len(k), found[k][0], sorted(k)))
        minimal = [k for k in keys if not any(o < k for o in found)]
        kept = []
        for k in minimal:
            if limit is not None and len(kept) >= limit:
                break
            dist, changes = found[k]
            steps = {n: distance(policy.facts[n], facts.get(n), v) for n, v in changes.items()}
            if prune and any(_dominates(s, steps) for s in shown):
                continue
            if verify and not _verified(ruleset, facts, changes, target):
                continue  # pragma: no cover - the analysis is exact; never show an unverified one
            changes_t = tuple(Change(n, facts.get(n), changes[n]) for n in order if n in changes)
            chosen.append(Counterfactual(target, changes_t, round(dist, 6)))
            kept.append(steps)
        shown.extend(kept)
    chosen.sort(key=lambda c: (c.size, c.distance, rank[c.outcome], [(ch.fact, repr(ch.new)) for ch in c.changes]))
    return chosen


def _dominates(better: dict, steps: dict) -> bool:
    """A better outcome reached by changing a subset of these facts, each by no more."""
    return all(n in steps and d <= steps[n] for n, d in better.items())


def _verified(ruleset: RuleSet, facts: dict, changes: dict, target: str) -> bool:
    """Whether the changed facts really reach `target`; a change to a value no record can
    hold (past the largest double, say) verifies as not reached, never as a crash."""
    try:
        d = evaluate(ruleset, {**facts, **changes}, trace=False)
    except FactsError:
        return False
    return d.outcome == target and d.outcome_known
