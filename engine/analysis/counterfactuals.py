"""Counterfactuals: the smallest changes to a user's facts that reach a better outcome.

Exact, not a search. Once per policy, every outcome's *reach condition* is put in
disjunctive normal form over the facts: a list of **boxes**, each box a conjunction of
one allowed domain per fact (an interval for numbers, a set of values for strings and
booleans). Outcome `T` is reached when some rule of `T` matches and no rule of a
higher-precedence outcome does (for the default outcome, also: when no outcome rule
matches at all), so its boxes are the products of the rules' true/false forms. `rule:`
and `flag:` conditions are inlined as the conditions of the rules they name.

Per decision, each box of each better outcome gives at most one candidate: every fact the
box constrains and the user's value violates must move to the nearest allowed value
(within the fact's declared range, type and `change` direction; never for `change: none`
or a missing fact). Boxes are products, and distance is a sum over facts, so this nearest
point is the closest point of the box. Candidates are reduced to subset-minimal sets of
changed facts, ranked by (number of facts changed, normalized distance), and each one is
verified with the real evaluator before it is returned. See docs/explanations.md.

Pure: reads the policy IR and the decision's facts; evaluates only to verify.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Iterable

from ..compile import RuleSet
from ..runtime.decision import Decision
from ..evaluate import evaluate
from ..language.model import SUBJECT_FLAG, SUBJECT_RULE, All, Any, Comparison, FactSpec, Not, Policy
from ..runtime.semantics import operand_value

#: Alternatives returned per target outcome by default.
MAX_PER_OUTCOME = 3
#: Boxes per outcome above which a policy is too large for exact counterfactuals.
MAX_BOXES = 5000
#: How far past an open bound (`gt`, `lt`, `ne`) a `number` fact is moved.
NUMBER_STEP = 0.01


class TooLarge(Exception):
    """The reach condition of an outcome has more than MAX_BOXES boxes."""


# -- domains ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """Numbers between lo and hi (None: unbounded); integer intervals are always closed."""

    lo: float | int | None
    lo_open: bool
    hi: float | int | None
    hi_open: bool
    integer: bool

    @staticmethod
    def make(lo, lo_open, hi, hi_open, integer: bool) -> "Interval | None":
        if integer:
            if lo is not None:
                lo = math.floor(lo) + 1 if lo_open else math.ceil(lo)
                lo_open = False
            if hi is not None:
                hi = math.ceil(hi) - 1 if hi_open else math.floor(hi)
                hi_open = False
        if lo is not None and hi is not None and (lo > hi or (lo == hi and (lo_open or hi_open))):
            return None
        return Interval(lo, lo_open, hi, hi_open, integer)

    def contains(self, v) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def intersect(self, other: "Interval") -> "Interval | None":
        lo, lo_open = self.lo, self.lo_open
        if other.lo is not None and (lo is None or other.lo > lo or (other.lo == lo and other.lo_open)):
            lo, lo_open = other.lo, other.lo_open
        hi, hi_open = self.hi, self.hi_open
        if other.hi is not None and (hi is None or other.hi < hi or (other.hi == hi and other.hi_open)):
            hi, hi_open = other.hi, other.hi_open
        return Interval.make(lo, lo_open, hi, hi_open, self.integer)

    def nearest(self, cur, spec: FactSpec):
        """The allowed value closest to `cur` (which is outside), honouring the direction."""
        if self.lo is not None and cur < self.lo:
            if spec.change == "decrease":
                return None
            return self.lo if not self.lo_open else self._inside(self.lo, +1)
        if self.hi is not None and cur > self.hi:
            if spec.change == "increase":
                return None
            return self.hi if not self.hi_open else self._inside(self.hi, -1)
        return None  # pragma: no cover - cur is inside

    def pick(self, spec: FactSpec):
        """A value for a missing fact: the bound of the interval, or just inside it."""
        if self.lo is not None:
            return self.lo if not self.lo_open else self._inside(self.lo, +1)
        if self.hi is not None:
            return self.hi if not self.hi_open else self._inside(self.hi, -1)
        return 0  # pragma: no cover - a box never holds an unconstrained domain

    def _inside(self, bound, sign: int):
        """A number just past an open bound: one NUMBER_STEP, else halfway, else the next float."""
        for v in (round(bound + sign * NUMBER_STEP, 12),
                  (self.lo + self.hi) / 2 if self.lo is not None and self.hi is not None else None,
                  math.nextafter(bound, sign * math.inf)):
            if v is not None and self.contains(v):
                return v
        return None  # pragma: no cover - a non-empty open interval has an inside


@dataclass(frozen=True)
class Choice:
    """Strings or booleans: `values` allowed, or (negated) every value but them."""

    values: frozenset
    negated: bool = False

    def contains(self, v) -> bool:
        return (v in self.values) != self.negated

    def intersect(self, other: "Choice") -> "Choice | None":
        if not self.negated and not other.negated:
            c = Choice(self.values & other.values)
        elif self.negated and other.negated:
            c = Choice(self.values | other.values, True)
        else:
            pos, neg = (self, other) if not self.negated else (other, self)
            c = Choice(pos.values - neg.values)
        return None if not c.negated and not c.values else c

    def pick(self, spec: FactSpec):
        """A value for a missing fact: `true` before `false`, enum values in declared order."""
        if self.negated:
            return None
        order = _order(spec)
        if order is None:
            return min(self.values) if self.values else None
        return next((v for v in sorted(order, key=lambda v: v is not True) if v in self.values), None)

    def nearest(self, cur, spec: FactSpec):
        if self.negated:
            return None  # "any string but these": nothing specific to suggest
        order = _order(spec)
        if order is None:  # free strings: no order, no direction
            return min(self.values) if spec.change == "any" and self.values else None
        i = order.index(cur) if cur in order else None
        best = None
        for v in self.values:
            j = order.index(v)
            if i is not None and ((spec.change == "increase" and j < i) or (spec.change == "decrease" and j > i)):
                continue
            key = (abs(j - i) if i is not None else 0, j)
            if best is None or key < best[0]:
                best = (key, v)
        return None if best is None else best[1]


def _order(spec: FactSpec) -> tuple | None:
    if spec.type == "boolean":
        return (False, True)
    return spec.enum


def _full(spec: FactSpec):
    """The whole declared domain of a fact."""
    if spec.numeric:
        return Interval.make(spec.minimum, False, spec.maximum, False, spec.type == "integer")
    if spec.type == "boolean":
        return Choice(frozenset({False, True}))
    if spec.enum is not None:
        return Choice(frozenset(spec.enum))
    return Choice(frozenset(), True)


def _restrict(spec: FactSpec, dom):
    """A domain cut to the declared domain of the fact (None when empty)."""
    full = _full(spec)
    return None if dom is None or full is None else full.intersect(dom)


# -- disjunctive normal form -----------------------------------------------------------------

Box = dict  # fact name → domain


def _and(a: list[Box], b: list[Box]) -> list[Box]:
    out: list[Box] = []
    for x in a:
        for y in b:
            box = dict(x)
            for name, dom in y.items():
                if name in box:
                    dom = box[name].intersect(dom)
                    if dom is None:
                        break
                box[name] = dom
            else:
                out.append(box)
                if len(out) > MAX_BOXES:
                    raise TooLarge()
    return out


def _or(a: list[Box], b: list[Box]) -> list[Box]:
    out = a + b
    if len(out) > MAX_BOXES:
        raise TooLarge()
    return out


def _leaf_domains(spec: FactSpec, op: str, operand, truth: bool) -> list:
    """The fact domains where `fact op operand` has the given truth value."""
    integer = spec.type == "integer"
    if spec.numeric:
        def iv(lo, lo_open, hi, hi_open):
            return Interval.make(lo, lo_open, hi, hi_open, integer)

        if op in ("ne", "not_in"):
            op, truth = {"ne": "eq", "not_in": "in"}[op], not truth
        if op in ("eq", "in"):
            points = sorted(set(operand if op == "in" else (operand,)))
            if truth:
                doms = [iv(p, False, p, False) for p in points]
            else:
                edges = [None] + points + [None]
                doms = [iv(edges[k], edges[k] is not None, edges[k + 1], edges[k + 1] is not None)
                        for k in range(len(edges) - 1)]
        elif op == "between":
            lo, hi = operand
            doms = [iv(lo, False, hi, False)] if truth else [iv(None, False, lo, True), iv(hi, True, None, False)]
        else:
            if not truth:
                op = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}[op]
            doms = [{"gt": iv(operand, True, None, False), "gte": iv(operand, False, None, False),
                     "lt": iv(None, False, operand, True), "lte": iv(None, False, operand, False)}[op]]
    else:
        values = frozenset(operand if op in ("in", "not_in") else (operand,))
        positive = op in ("eq", "in")
        doms = [Choice(values, negated=(positive != truth))]
    return [d for d in (_restrict(spec, d) for d in doms if d is not None) if d is not None]


class _Forms:
    """True/false forms of conditions and rules, memoized per policy."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.rule_memo: dict[tuple[int, bool], list[Box]] = {}

    def rule(self, index: int, truth: bool) -> list[Box]:
        key = (index, truth)
        if key not in self.rule_memo:
            self.rule_memo[key] = self.cond(self.policy.rules[index].when, truth)
        return self.rule_memo[key]

    def cond(self, cond, truth: bool) -> list[Box]:
        if isinstance(cond, Comparison):
            return self.leaf(cond, truth)
        if isinstance(cond, Not):
            return self.cond(cond.item, not truth)
        conj = isinstance(cond, All) == truth  # all-true and any-false are conjunctions
        out: list[Box] | None = None
        for item in cond.items:
            form = self.cond(item, truth)
            out = form if out is None else (_and(out, form) if conj else _or(out, form))
        return out or []

    def leaf(self, leaf: Comparison, truth: bool) -> list[Box]:
        policy = self.policy
        if leaf.kind == "fact":
            spec = policy.facts[leaf.subject]
            return [{leaf.subject: d} for d in _leaf_domains(spec, leaf.op, operand_value(leaf), truth)]
        # rule/flag conditions are `eq true`; read them as the conditions they stand for
        want = truth if (leaf.op == "eq") == bool(leaf.operand.value) else not truth
        if leaf.kind == SUBJECT_RULE:
            return self.rule(policy.rule(leaf.subject).index, want)
        if leaf.kind == SUBJECT_FLAG:
            setters = [r.index for r in policy.rules if leaf.subject in r.then.flags]
            out: list[Box] | None = None
            for i in setters:
                form = self.rule(i, want)
                out = form if out is None else (_or(out, form) if want else _and(out, form))
            if out is None:  # never raised: always false
                return [] if want else [{}]
            return out
        raise TooLarge()  # an outcome rule cannot read the outcome (validation forbids it)


# -- the per-policy analysis ------------------------------------------------------------------

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


class Analysis:
    """Per-policy: the boxes in which each outcome is reached (computed once)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        forms = _Forms(policy)
        self.boxes: dict[str, tuple[tuple[tuple[str, object], ...], ...] | None] = {}
        none_higher: list[Box] | None = [{}]  # no rule of a higher outcome matches
        for o in policy.outcomes:
            rules = [r.index for r in policy.rules if r.then.outcome == o.id]
            boxes: list[Box] | None = None
            if none_higher is not None:
                try:
                    boxes = []
                    for i in rules:
                        boxes = _or(boxes, _and(none_higher, forms.rule(i, True)))
                    if o.id == policy.default:
                        everything_false = none_higher
                        for other in policy.outcomes[policy.outcome_ids.index(o.id):]:
                            for j in (r.index for r in policy.rules if r.then.outcome == other.id):
                                everything_false = _and(everything_false, forms.rule(j, False))
                        boxes = _or(boxes, everything_false)
                except TooLarge:
                    boxes = None
                try:
                    for i in rules:
                        none_higher = _and(none_higher, forms.rule(i, False))
                except TooLarge:
                    none_higher = None
            self.boxes[o.id] = None if boxes is None else tuple(
                tuple(sorted(b.items())) for b in _dedupe(boxes))

    def exact(self, outcome: str) -> bool:
        return self.boxes.get(outcome) is not None


def _dedupe(boxes: Iterable[Box]) -> list[Box]:
    seen, out = set(), []
    for b in boxes:
        key = tuple(sorted(b.items()))
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


_CACHE: "weakref.WeakKeyDictionary[RuleSet, Analysis]" = weakref.WeakKeyDictionary()


def analysis(ruleset: RuleSet) -> Analysis:
    a = _CACHE.get(ruleset)
    if a is None:
        a = _CACHE[ruleset] = Analysis(ruleset.policy)
    return a


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
        return abs(new - old) / scale
    if spec.enum and len(spec.enum) > 1 and old in spec.enum and new in spec.enum:
        return abs(spec.enum.index(new) - spec.enum.index(old)) / (len(spec.enum) - 1)
    return 1.0


def candidates(policy: Policy, boxes, facts: dict) -> dict[frozenset, tuple[float, dict]]:
    """Per set of changed facts, the closest assignment (distance, {fact: new}) over the boxes."""
    found: dict[frozenset, tuple[float, dict]] = {}
    specs = policy.facts
    for box in boxes:
        changes = {}
        dist = 0.0
        for name, dom in box:
            cur = facts.get(name)
            if cur is not None and dom.contains(cur):
                continue
            spec = specs[name]
            if spec.change == "none":
                break
            new = dom.nearest(cur, spec) if cur is not None else dom.pick(spec)
            if new is None:
                break
            changes[name] = new
            dist += distance(spec, cur, new)
        else:
            key = frozenset(changes)
            if not key:
                continue  # already reached (an undecided decision): nothing to change
            best = found.get(key)
            if best is None or (dist, sorted(changes.items(), key=repr)) < (best[0], sorted(best[1].items(), key=repr)):
                found[key] = (dist, changes)
    return found


def counterfactuals(ruleset: RuleSet, decision: Decision, *, per_outcome: int = MAX_PER_OUTCOME,
                    prune: bool = True, verify: bool = True) -> list[Counterfactual]:
    """The verified counterfactuals of a decision, ranked by (facts changed, distance, outcome).

    Per better outcome: subset-minimal sets of changed facts, the closest assignment of
    each, at most `per_outcome` of them. With `prune`, an alternative is dropped when an
    alternative shown for a better outcome changes a subset of its facts, each by no more
    (it is dominated: the better outcome costs no more)."""
    policy = ruleset.policy
    a = analysis(ruleset)
    facts = decision.facts
    order = list(policy.facts)
    rank = {o: i for i, o in enumerate(better_outcomes(policy, decision.outcome))}
    chosen: list[Counterfactual] = []
    shown: list[dict] = []  # per-fact distances of the alternatives of better outcomes
    for target in rank:
        boxes = a.boxes.get(target)
        if not boxes:
            continue
        found = candidates(policy, boxes, facts)
        keys = sorted(found, key=lambda k: (len(k), found[k][0], sorted(k)))
        minimal = [k for k in keys if not any(o < k for o in found)]
        kept = []
        for k in minimal:
            if len(kept) >= per_outcome:
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
    d = evaluate(ruleset, {**facts, **changes}, trace=False)
    return d.outcome == target and d.outcome_known
