"""The meaning of a policy, written once: comparisons, three-valued logic, precedence.

Every backend computes rule matches its own way (generated Python, durable-rules), but all
of them defer to this module for what a match means: how a missing fact makes a condition
unknown (Kleene logic: `None` is unknown), how the outcome is chosen by precedence, which
flags are raised, and what later strata see of earlier rules' conclusions. The
tree-walking `eval_condition` here is also the reference evaluator the tests compare
backends against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ..language.conditions import fold
from ..language.model import SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE, Comparison, Policy

Tri = bool | None  # True, False, or None for unknown


def compare(op: str, value, operand) -> bool:
    """`value op operand` for a present, type-checked value. `operand` is already resolved:
    a scalar, a tuple for in/not_in, or a (low, high) tuple for between."""
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
    raise ValueError(f"unknown operator {op}")


def operand_value(leaf: Comparison):
    """The resolved operand of a leaf: scalar, tuple of values, or (low, high)."""
    if leaf.op == "between":
        return (leaf.operand[0].value, leaf.operand[1].value)
    return leaf.operand.value


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


def eval_leaf(leaf: Comparison, facts: Mapping, done: Conclusions | None, rule_index: Mapping[str, int]) -> Tri:
    if leaf.kind == SUBJECT_OUTCOME and done is not None and done.outcome_known and done.outcome is None:
        # No outcome at all (no rule matched and no default) is a known value: it equals
        # no outcome id, so `in` is false and `not_in` true.
        return leaf.op in ("ne", "not_in")
    value = subject_value(leaf, facts, done, rule_index)
    if value is None:
        return None
    return compare(leaf.op, value, operand_value(leaf))


def eval_condition(cond, facts: Mapping, done: Conclusions | None, rule_index: Mapping[str, int],
                   trace: list | None = None) -> Tri:
    """Reference evaluator: walks the condition tree with Kleene logic. Evaluates every
    leaf (no short-circuit) so `trace`, when given, receives every leaf's result by index."""
    def leaf(c: Comparison) -> Tri:
        result = eval_leaf(c, facts, done, rule_index)
        if trace is not None:
            trace[c.index] = result
        return result

    return kleene(cond, leaf)


def reference_matches(policy: Policy, facts: Mapping, plan: Plan | None = None) -> tuple[Tri, ...]:
    """Every rule's match, stratum by stratum, with the reference evaluator."""
    plan = plan or Plan(policy)
    matched: list[Tri] = [False] * len(policy.rules)
    # Before any rule ran, the conclusions are "nothing matched": a rule that reads the
    # outcome of a policy without outcome rules sees the default.
    done: Conclusions = plan.conclusions(matched)
    for stratum in policy.strata:
        for i in stratum:
            matched[i] = eval_condition(policy.rules[i].when, facts, done, plan.rule_index)
        done = plan.conclusions(matched)
    return tuple(matched)
