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

The v3 constructs: list facts (`contains` an item, `contains_any`/`contains_all` of a tuple
of items, `length` compared by a `Length`), string operators (`starts_with`, `ends_with`,
`contains`: Python's `str.startswith`/`endswith`/`in`, exact and case-sensitive), the
fact-to-fact operand (`Operand.fact`: the other fact's or derived fact's value from the same
record, unknown when it is missing), derived facts (computed by `expressions`, read where
facts are: `Plan.values` merges them into the mapping conditions read) and conditions on
outputs (`output_values`: an output as the rules of earlier strata left it, unknown while
a rule that sets it is undetermined). Numbers compare exactly; where a `Decimal` (a derived
fact, a computed output) meets a `float`, the float is read as the decimal its shortest
repr says (as expressions read it), so `0.4` equals a derived `Decimal("0.4")`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from ..errors import EvaluationDateError
from ..language.conditions import fold
from ..language.tables import restated_rows, restatement
from ..language.model import (PRESENCE_OP, SUBJECT_DERIVED, Arith, Ref, Round, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT,
                              SUBJECT_RULE, Comparison, Length, Policy, RelativeDate, string_test)
from .expressions import OutputPlan, expr_reads

Tri = bool | None  # True, False, or None for unknown


def compare(op: str, value, operand) -> bool:
    """`value op operand` for a present, type-checked value. `operand` is already resolved:
    a scalar, a tuple for in/not_in/contains_any/contains_all, a (low, high) tuple for
    between, an (op, n) pair for length. `contains` is an item of a list (a tuple) or a
    substring of a string. (`missing` of a present value is false; of an absent one, see
    `eval_leaf`.)"""
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
    if op == "contains":  # an item of a list fact (a tuple), or a substring of a string
        return operand in value if value.__class__ is not str else string_test(op, value, operand)
    if op == "contains_any":
        return any(item in value for item in operand)
    if op == "contains_all":
        return all(item in value for item in operand)
    if op == "length":
        return compare(operand[0], len(value), operand[1])
    if op == "starts_with" or op == "ends_with":
        return string_test(op, value, operand)
    raise ValueError(f"unknown operator {op}")


def is_v3_leaf(leaf: Comparison) -> bool:
    """A leaf only v3 policies have: on a derived fact or an output, with a `{fact: …}`
    operand, or a list or string operator. The backends compile the others as they
    always did (so a policy without v3 constructs compiles to what it always did)."""
    if leaf.kind == SUBJECT_DERIVED or leaf.kind == SUBJECT_OUTPUT:
        return True
    if leaf.kind != "fact":
        return False
    op = leaf.op
    if op in ("contains", "contains_any", "contains_all", "length", "starts_with", "ends_with"):
        return True
    if op == "between":
        return leaf.operand[0].fact is not None or leaf.operand[1].fact is not None
    return op != PRESENCE_OP and leaf.operand.fact is not None


def _decimal(x):
    return Decimal(repr(x)) if x.__class__ is float else x


def exact(value, operand):
    """(value, operand) to compare exactly: where a `Decimal` takes part, every float is
    read as the decimal its repr says (`expressions.to_decimal`); otherwise unchanged
    (Python compares int and float exactly)."""
    parts = operand if operand.__class__ is tuple else (operand,)
    if value.__class__ is not Decimal and not any(p.__class__ is Decimal for p in parts):
        return value, operand
    return _decimal(value), (tuple(_decimal(p) for p in operand) if operand.__class__ is tuple else _decimal(operand))


def _end(operand, values: Mapping, as_of):
    """One operand's value: the other fact's (None when missing), a relative date on
    `as_of`, or the literal."""
    if operand.fact is not None:
        return values.get(operand.fact)
    value = operand.value
    return resolve_date(value, as_of) if value.__class__ is RelativeDate else value


def leaf_operand(leaf: Comparison, values: Mapping, as_of: datetime.date | None = None):
    """A leaf's operand resolved on one record (`values`: its facts and derived facts):
    as `operand_value`, a `{fact: name}` operand read from the record; None when such a
    fact is missing (the comparison is unknown)."""
    op = leaf.op
    if op == "between":
        low, high = _end(leaf.operand[0], values, as_of), _end(leaf.operand[1], values, as_of)
        return None if low is None or high is None else (low, high)
    if op == "length":
        n = _end(leaf.operand.operand, values, as_of)
        return None if n is None else (leaf.operand.op, n)
    return _end(leaf.operand, values, as_of)


def fact_operands(leaf: Comparison) -> tuple[str, ...]:
    """The facts (or derived facts) a leaf's operand reads (`{fact: name}`), in order."""
    operand = leaf.operand
    if isinstance(operand, Length):
        operand = operand.operand
    parts = operand if isinstance(operand, tuple) else (operand,)
    return tuple(p.fact for p in parts if getattr(p, "fact", None) is not None)


def operand_value(leaf: Comparison, as_of: datetime.date | None = None):
    """The resolved operand of a leaf: scalar, tuple of values, or (low, high); a date
    relative to the evaluation date is resolved on `as_of` (a ValueError without one)."""
    if leaf.op == "between":
        low, high = leaf.operand[0].value, leaf.operand[1].value
        return (resolve_date(low, as_of) if low.__class__ is RelativeDate else low,
                resolve_date(high, as_of) if high.__class__ is RelativeDate else high)
    if leaf.op == "length":
        return (leaf.operand.op, leaf.operand.operand.value)
    value = leaf.operand.value
    return resolve_date(value, as_of) if value.__class__ is RelativeDate else value


def written_operand(leaf: Comparison):
    """A leaf's operand as validated: like `operand_value`, relative dates unresolved
    (`{fact: name}` operands are None: see `leaf_operand`)."""
    if leaf.op == "between":
        return (leaf.operand[0].value, leaf.operand[1].value)
    if leaf.op == "length":
        return (leaf.operand.op, leaf.operand.operand.value)
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
    """What later strata may read about earlier rules: matches, flags, the outcome, and
    the outputs conditions read (`Plan.output_values`: name → value, None when unknown;
    None for a policy whose conditions read no output)."""

    matched: tuple[Tri, ...]
    flags: Mapping[str, Tri]
    outcome: str | None
    outcome_known: bool
    outputs: Mapping[str, object] | None = None


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
        self.has_derived = bool(policy.derived)
        # First-hit rows that restate earlier rows: rule index → (own part or None, each
        # earlier row's (index, restated cells)), so a row's cells are evaluated once per
        # record, not once per later row (`reference_matches`).
        self.restating: dict[int, tuple] = {}
        for i in (i for table in policy.tables if table.hit == "first" for i in table.rules):
            own, restated = restatement(policy.rules[i].when)
            if restated is not None:
                self.restating[i] = (own, restated_rows(restated))
        # The facts each derived fact reads, through the derived facts it reads.
        self.derived_facts: dict[str, frozenset[str]] = {}
        for name, d in policy.derived.items():
            reads: set[str] = set()
            for n in expr_reads(d.expr):
                reads |= self.derived_facts.get(n, {n})
            self.derived_facts[name] = frozenset(reads)
        # Outputs some condition reads (in declaration order), and per output the rules
        # whose match decides its value: its setters, and those of the outputs its
        # expressions read (non-outcome rules, outcome rules).
        read = {leaf.subject for r in policy.rules for leaf in r.leaves if leaf.kind == SUBJECT_OUTPUT}
        self.output_subjects: tuple[str, ...] = tuple(n for n in policy.outputs if n in read)
        self.output_rules: dict[str, tuple[tuple[int, ...], bool]] = {}
        setters: dict[str, set[int]] = {}
        for name, spec in policy.outputs.items():
            mine = {r.index for r in policy.rules for n, _ in r.then.set if n == name}
            refs = [v for r in policy.rules for n, v in r.then.set if n == name] + [spec.default]
            for ref in (x for v in refs for x in _output_refs(v)):
                mine |= setters.get(ref, set())
            setters[name] = mine
            self.output_rules[name] = (tuple(sorted(i for i in mine if not policy.rules[i].decides_outcome)),
                                       any(policy.rules[i].decides_outcome for i in mine))
        # When a decision reports an absent fact in `missing_facts`: always (None), but for
        # a fact the policy tests for presence (`missing:`), whose absence is a state the
        # rules speak of ("never overdue"): then only when a rule that reads it otherwise
        # is left undetermined (the rule indexes here), for then the data is missing.
        tested = presence_tested(policy)
        self.missing_readers: dict[str, tuple[int, ...] | None] = {
            n: (tuple(r.index for r in policy.rules if any(n in self.leaf_reads(leaf) for leaf in r.leaves))
                if n in tested else None)
            for n in policy.facts}

    def leaf_reads(self, leaf: Comparison) -> frozenset[str]:
        """The facts whose value a leaf compares (a presence test reads none): its subject,
        its `{fact: …}` operands, through derived facts to the facts they read."""
        if leaf.op == PRESENCE_OP:
            return frozenset()
        names = fact_operands(leaf) + ((leaf.subject,) if leaf.kind in ("fact", SUBJECT_DERIVED) else ())
        out: set[str] = set()
        for n in names:
            out |= self.derived_facts.get(n, {n})
        return frozenset(out)

    def values(self, facts: Mapping) -> Mapping:
        """What conditions read of a record: its normalized facts and its derived facts
        (one namespace), or the facts themselves for a policy without derived facts."""
        if not self.has_derived:
            return facts
        derived = self.computed.derive(facts)
        return {**facts, **derived} if derived else facts

    def output_values(self, values: Mapping, matched: Sequence[Tri]) -> dict[str, object]:
        """Each output a condition reads, as the rules matched so far leave it (the one
        OutputPlan, on the contributing rules), or None (unknown) while a rule whose match
        decides it is undetermined: a rule without an outcome that sets it (or an output
        it reads), or an outcome rule that does while the outcome is not known."""
        if not self.output_subjects:
            return {}
        _, decided_by, known = self.select_outcome(matched)
        contributing = [i for i in self.non_outcome_rules if matched[i] is True] + list(decided_by)
        computed = self.computed.compute(values, contributing)
        out = {}
        for name in self.output_subjects:
            rules, by_outcome = self.output_rules[name]
            unknown = (by_outcome and not known) or any(matched[i] is None for i in rules)
            out[name] = None if unknown else computed[name]
        return out

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

    def conclusions(self, matched: Sequence[Tri], values: Mapping | None = None) -> Conclusions:
        """What later strata read; the outputs conditions read only with the record's
        `values` (see `values`)."""
        outcome, _, known = self.select_outcome(matched)
        outputs = self.output_values(values, matched) if self.output_subjects and values is not None else None
        return Conclusions(tuple(matched), self.flags(matched), outcome, known, outputs)


def _output_refs(value) -> list[str]:
    """The outputs an output's value (a literal or an expression) reads."""
    cls = value.__class__
    if cls is Ref:
        return [value.name] if value.kind == "output" else []
    if cls is Round:
        return _output_refs(value.arg)
    if cls is Arith:
        return [n for a in value.args for n in _output_refs(a)]
    return []


def output_value(plan: Plan, name: str, facts: Mapping, matched: Sequence[Tri]):
    """The value a condition on output `name` reads after the rules `matched` so far (the
    rules of earlier strata; later ones False), on normalized `facts`, or None when unknown
    (see `Plan.output_values`, which gives every output conditions read at once)."""
    if name not in plan.output_subjects:
        raise KeyError(f"no condition reads output `{name}`")
    return plan.output_values(plan.values(facts), matched)[name]


def subject_value(leaf: Comparison, facts: Mapping, done: Conclusions | None, rule_index: Mapping[str, int]):
    """The value a leaf compares, or None when unknown (a missing fact or derived fact, an
    undecided rule, an output an undecided rule could change). `facts`: the record's
    values (`Plan.values`: derived facts included)."""
    if leaf.kind == "fact" or leaf.kind == SUBJECT_DERIVED:
        return facts.get(leaf.subject)
    if done is None:
        raise ValueError("a rule reads other rules' conclusions before they were evaluated")
    if leaf.kind == SUBJECT_OUTCOME:
        return done.outcome if done.outcome_known else None
    if leaf.kind == SUBJECT_FLAG:
        return done.flags.get(leaf.subject, False)
    if leaf.kind == SUBJECT_RULE:
        return done.matched[rule_index[leaf.subject]]
    if leaf.kind == SUBJECT_OUTPUT:
        if done.outputs is None:
            raise ValueError("a rule reads an output, but the conclusions carry no outputs (pass the values)")
        return done.outputs[leaf.subject]
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
    operand = leaf_operand(leaf, facts, as_of)
    if operand is None:  # a `{fact: …}` operand whose fact is missing
        return None
    if value.__class__ is Decimal or value.__class__ is float:
        value, operand = exact(value, operand)
    return compare(leaf.op, value, operand)


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
    dates on the evaluation date `as_of`. `facts`: normalized facts (the derived facts are
    computed here)."""
    plan = plan or Plan(policy)
    values = plan.values(facts)
    matched: list[Tri] = [False] * len(policy.rules)
    # Before any rule ran, the conclusions are "nothing matched": a rule that reads the
    # outcome of a policy without outcome rules sees the default.
    done: Conclusions = plan.conclusions(matched, values)
    own: dict[int, Tri] = {}  # a row's own cells (without what it restates), for later rows
    for stratum in policy.strata:
        for i in stratum:
            split = plan.restating.get(i)
            if split is None:
                own[i] = matched[i] = eval_condition(policy.rules[i].when, values, done, plan.rule_index, as_of=as_of)
                continue
            # All(own…, Not(Any(row j's cells…))): the same Kleene value, row j's cells read once
            mine, rows = split
            own[i] = True if mine is None else eval_condition(mine, values, done, plan.rule_index, as_of=as_of)
            earlier = [own[j] if j in own else eval_condition(cells, values, done, plan.rule_index, as_of=as_of)
                       for j, cells in rows]
            matched[i] = all3((own[i], not3(any3(earlier))))
        done = plan.conclusions(matched, values)
    return tuple(matched)
