"""The meaning of a policy, written once: comparisons, three-valued logic, precedence.

Every backend computes rule matches its own way (generated Python, durable-rules), but all
of them defer to this module for what a match means: how a missing fact makes a condition
unknown (Kleene logic: `None` is unknown), how the outcome is chosen by precedence, which
flags are raised, and what later strata see of earlier rules' conclusions. The
tree-walking `eval_condition` here is also the reference evaluator the tests compare
backends against.

Presence (`missing: true|false`) is never unknown: it is whether the fact is absent. Date
facts compare as `datetime.date`; an operand relative to the evaluation date
(`RelativeDate`, `{days_ago: N}`) is resolved on the call's `as_of` (`operand_value`), and
`today` gives the default evaluation date, the current day in the policy's timezone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from ..errors import EvaluationDateError
from ..language.conditions import fold
from ..language.model import (PRESENCE_OP, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE, Comparison, Policy,
                              RelativeDate)
from .expressions import OutputPlan

Tri = bool | None  # True, False, or None for unknown


def compare(op: str, value, operand) -> bool:
    """`value op operand` for a present, type-checked value. `operand` is already resolved:
    a scalar, a tuple for in/not_in, or a (low, high) tuple for between. (`missing` of a
    present value is false; of an absent one, see `eval_leaf`.)"""
    if op == "eq":
        return value == operand
    if op == "ne":
        return value != operand
    if op == "gt":
        return value > operand
    if op == "gte":
        return value >= operand
    if op == "lt":
        return value < operand
    if op == "lte":
        return value <= operand
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    if op == "between":
        return operand[0] <= value <= operand[1]
    if op == PRESENCE_OP:
        return operand is False
    raise ValueError(f"unknown operator {op}")


def operand_value(leaf: Comparison, as_of: datetime.date | None = None):
    """The resolved operand of a leaf: scalar, tuple of values, or (low, high); a date
    relative to the evaluation date is resolved on `as_of` (a ValueError without one)."""
    if leaf.op == "between":
        low, high = leaf.operand[0].value, leaf.operand[1].value
        return (resolve_date(low, as_of) if low.__class__ is RelativeDate else low,
                resolve_date(high, as_of) if high.__class__ is RelativeDate else high)
    value = leaf.operand.value
    return resolve_date(value, as_of) if value.__class__ is RelativeDate else value


def written_operand(leaf: Comparison):
    """A leaf's operand as validated: like `operand_value`, relative dates unresolved."""
    if leaf.op == "between":
        return (leaf.operand[0].value, leaf.operand[1].value)
    return leaf.operand.value


def relative_dates(policy: Policy) -> list[RelativeDate]:
    """Every relative date the policy's conditions compare with, in rule and leaf order."""
    found = []
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind == "fact" and leaf.op != PRESENCE_OP:
                value = written_operand(leaf)
                found += [v for v in (value if leaf.op == "between" else (value,)) if v.__class__ is RelativeDate]
    return found


def off_calendar(policy: Policy, as_of: datetime.date) -> RelativeDate | None:
    """A relative date of the policy that names no calendar day on `as_of` (before
    0001-01-01 or after 9999-12-31), or None: such an evaluation date decides nothing."""
    for relative in relative_dates(policy):
        try:
            relative.on(as_of)
        except OverflowError:
            return relative
    return None


def resolve_date(relative: RelativeDate, as_of: datetime.date | None) -> datetime.date:
    """The day `relative` names on the evaluation date `as_of`."""
    check_as_of(as_of, needed=True)
    try:
        return relative.on(as_of)
    except OverflowError:
        raise EvaluationDateError(f"{relative.describe()} of {as_of.isoformat()} is outside the calendar "
                         "(years 1 to 9999)") from None


def check_as_of(as_of, needed: bool = False) -> None:
    """A ValueError unless `as_of` is an evaluation date (a `datetime.date`, not a
    `datetime.datetime`), or None where none is `needed`."""
    if as_of is None:
        if needed:
            raise EvaluationDateError("a date relative to the evaluation date needs `as_of` (a datetime.date)")
        return
    if as_of.__class__ is not datetime.date:
        raise EvaluationDateError(f"as_of must be a datetime.date (a calendar day), got {type(as_of).__name__} "
                                  f"{as_of!r}")


@lru_cache(maxsize=64)
def _zone(name: str) -> datetime.tzinfo:
    # UTC needs no time-zone database (validation accepts it where none is installed).
    return datetime.timezone.utc if name == "UTC" else ZoneInfo(name)


def today(timezone: str) -> datetime.date:
    """The current calendar day in the IANA `timezone`: the default evaluation date."""
    return datetime.datetime.now(_zone(timezone)).date()


def resolve_as_of(policy: Policy, as_of, uses_time: bool | None = None) -> datetime.date | None:
    """The evaluation date a decision records: `as_of` (checked), or today in the
    policy's timezone when it is None; None for a policy that does not use time (its
    decisions do not depend on the date). `uses_time`: `policy.uses_time`, if known."""
    check_as_of(as_of)
    if not (policy.uses_time if uses_time is None else uses_time):
        return None
    return today(policy.timezone) if as_of is None else as_of


def all3(values: Sequence[Tri]) -> Tri:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def any3(values: Sequence[Tri]) -> Tri:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def not3(value: Tri) -> Tri:
    return None if value is None else not value


def kleene(cond, leaf_value: Callable[[Comparison], Tri]) -> Tri:
    """A condition's Kleene value from its leaves' values (`leaf_value(leaf)`): every leaf
    is asked, in document order (no short-circuit)."""
    return fold(cond, leaf_value, _all_node, _any_node, _not_node)


def _all_node(_, values: list[Tri]) -> Tri:
    return all3(values)


def _any_node(_, values: list[Tri]) -> Tri:
    return any3(values)


def _not_node(_, value: Tri) -> Tri:
    return not3(value)


@dataclass(frozen=True)
class Conclusions:
    """What later strata may read about earlier rules: matches, flags, the outcome."""

    matched: tuple[Tri, ...]
    flags: Mapping[str, Tri]
    outcome: str | None
    outcome_known: bool


def presence_tested(policy: Policy) -> frozenset[str]:
    """The facts some condition of the policy tests for presence (`missing: true|false`)."""
    return frozenset(leaf.subject for r in policy.rules for leaf in r.leaves
                     if leaf.kind == "fact" and leaf.op == PRESENCE_OP)


def reported_missing(plan: "Plan", facts: Mapping, matched: Sequence[Tri]) -> tuple[str, ...]:
    """The declared facts absent from `facts` that a decision reports as missing, in
    declaration order (see `Plan.missing_readers`)."""
    return tuple(n for n, readers in plan.missing_readers.items() if n not in facts and (
        readers is None or any(matched[i] is None for i in readers)))


class Plan:
    """Per-policy indexes that every backend and the assembler share (built once)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.rule_index = {r.id: r.index for r in policy.rules}
        self.precedence = {o.id: i for i, o in enumerate(policy.outcomes)}
        # Outcome rules grouped by outcome, in precedence order.
        self.outcome_rules: tuple[tuple[str, tuple[int, ...]], ...] = tuple(
            (o.id, tuple(r.index for r in policy.rules if r.then.outcome == o.id)) for o in policy.outcomes)
        self.flag_setters: dict[str, tuple[int, ...]] = {}
        for r in policy.rules:
            for f in r.then.flags:
                self.flag_setters.setdefault(f, ())
                self.flag_setters[f] += (r.index,)
        self.non_outcome_rules = tuple(r.index for r in policy.rules if not r.decides_outcome)
        self.uses_time = policy.uses_time  # a property that walks the facts: once here
        self.computed = OutputPlan(policy)  # the outputs' values by rule, for `assemble`
        # When a decision reports an absent fact in `missing_facts`: always (None), but for
        # a fact the policy tests for presence (`missing:`), whose absence is a state the
        # rules speak of ("never overdue"): then only when a rule that reads it otherwise
        # is left undetermined (the rule indexes here), for then the data is missing.
        tested = presence_tested(policy)
        self.missing_readers: dict[str, tuple[int, ...] | None] = {
            n: (tuple(r.index for r in policy.rules if any(
                leaf.kind == "fact" and leaf.subject == n and leaf.op != PRESENCE_OP for leaf in r.leaves))
                if n in tested else None)
            for n in policy.facts}

    def select_outcome(self, matched: Sequence[Tri]) -> tuple[str | None, tuple[int, ...], bool]:
        """(outcome, deciding rule indexes, known). Precedence: the first outcome with a
        definitely matched rule wins; it is *known* unless an undecided rule of a higher
        precedence could still take over (an undecided rule of the same outcome cannot
        change the outcome, only the list of deciding rules)."""
        unknown_before = False
        for outcome, rules in self.outcome_rules:
            hits = tuple(i for i in rules if matched[i] is True)
            if hits:
                return outcome, hits, not unknown_before
            if any(matched[i] is None for i in rules):
                unknown_before = True
        return self.policy.default, (), not unknown_before

    def flags(self, matched: Sequence[Tri]) -> dict[str, Tri]:
        return {f: any3([matched[i] for i in setters]) for f, setters in self.flag_setters.items()}

    def conclusions(self, matched: Sequence[Tri]) -> Conclusions:
        outcome, _, known = self.select_outcome(matched)
        return Conclusions(tuple(matched), self.flags(matched), outcome, known)


def subject_value(leaf: Comparison, facts: Mapping, done: Conclusions | None, rule_index: Mapping[str, int]):
    """The value a leaf compares, or None when unknown (a missing fact, an undecided rule)."""
    if leaf.kind == "fact":
        return facts.get(leaf.subject)
    if done is None:
        raise ValueError("a rule reads other rules' conclusions before they were evaluated")
    if leaf.kind == SUBJECT_OUTCOME:
        return done.outcome if done.outcome_known else None
    if leaf.kind == SUBJECT_FLAG:
        return done.flags.get(leaf.subject, False)
    if leaf.kind == SUBJECT_RULE:
        return done.matched[rule_index[leaf.subject]]
    raise ValueError(leaf.kind)


def eval_leaf(leaf: Comparison, facts: Mapping, done: Conclusions | None, rule_index: Mapping[str, int],
              as_of: datetime.date | None = None) -> Tri:
    if leaf.op == PRESENCE_OP:  # never unknown: whether the fact is absent
        return (facts.get(leaf.subject) is None) == leaf.operand.value
    if leaf.kind == SUBJECT_OUTCOME and done is not None and done.outcome_known and done.outcome is None:
        # No outcome at all (no rule matched and no default) is a known value: it equals
        # no outcome id, so `in` is false and `not_in` true.
        return leaf.op in ("ne", "not_in")
    value = subject_value(leaf, facts, done, rule_index)
    if value is None:
        return None
    return compare(leaf.op, value, operand_value(leaf, as_of))


def eval_condition(cond, facts: Mapping, done: Conclusions | None, rule_index: Mapping[str, int],
                   trace: list | None = None, as_of: datetime.date | None = None) -> Tri:
    """Reference evaluator: walks the condition tree with Kleene logic. Evaluates every
    leaf (no short-circuit) so `trace`, when given, receives every leaf's result by index."""
    def leaf(c: Comparison) -> Tri:
        result = eval_leaf(c, facts, done, rule_index, as_of)
        if trace is not None:
            trace[c.index] = result
        return result

    return kleene(cond, leaf)


def reference_matches(policy: Policy, facts: Mapping, plan: Plan | None = None,
                      as_of: datetime.date | None = None) -> tuple[Tri, ...]:
    """Every rule's match, stratum by stratum, with the reference evaluator; relative
    dates on the evaluation date `as_of`."""
    plan = plan or Plan(policy)
    matched: list[Tri] = [False] * len(policy.rules)
    # Before any rule ran, the conclusions are "nothing matched": a rule that reads the
    # outcome of a policy without outcome rules sees the default.
    done: Conclusions = plan.conclusions(matched)
    for stratum in policy.strata:
        for i in stratum:
            matched[i] = eval_condition(policy.rules[i].when, facts, done, plan.rule_index, as_of=as_of)
        done = plan.conclusions(matched)
    return tuple(matched)
