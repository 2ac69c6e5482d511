"""The policy IR: typed, validated, immutable.

`validate.py` builds these from a loaded document; every later stage (compile, evaluate,
explain, analysis, testing) reads only these types, never raw YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# Condition subjects that are not facts: what other rules concluded.
SUBJECT_OUTCOME = "outcome"
SUBJECT_FLAG = "flag"
SUBJECT_RULE = "rule"
RESERVED_NAMES = frozenset({"all", "any", "not", SUBJECT_OUTCOME, SUBJECT_FLAG, SUBJECT_RULE})

# The static analysis's findings an author may acknowledge (`lint:`): about one rule (a
# rule's own `lint: {ignore: [...]}` too), or about the policy as a whole.
LINT_RULE_CODES = ("rule-unsatisfiable", "rule-shadowed", "rule-subsumed", "threshold-inverted",
                   "condition-always-true", "condition-always-false")
LINT_POLICY_CODES = ("gap",)

NUMERIC_TYPES = frozenset({"integer", "number"})
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte", "between"})
LIST_OPS = frozenset({"in", "not_in"})
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between")

# For rendering and negation; kept here so every stage agrees.
OP_SYMBOL = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
             "in": "∈", "not_in": "∉", "between": "in"}


@dataclass(frozen=True)
class Loc:
    """Where something was written: file, 1-based line and column, JSON pointer."""

    file: str
    line: int
    column: int
    pointer: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str  # integer | number | string | boolean
    description: str = ""
    unit: str = ""
    enum: tuple[str, ...] | None = None
    minimum: float | int | None = None
    maximum: float | int | None = None
    default: object = None
    has_default: bool = False
    required: bool = True
    remedy: dict[str, str] | None = None  # language tag → text
    change: str = "any"  # any | increase | decrease | none
    loc: Loc | None = None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Threshold:
    name: str
    value: object  # scalar or tuple of scalars
    loc: Loc | None = None


@dataclass(frozen=True)
class Operand:
    """A literal value, or a named threshold resolved to its value."""

    value: object
    threshold: str | None = None

    def describe(self) -> str:
        return self.threshold if self.threshold else repr(self.value)


@dataclass(frozen=True)
class Comparison:
    """A leaf condition: `subject op operand`.

    `kind` says what the subject is: "fact" (a declared fact), "outcome" (the decided
    outcome), "flag" (subject is the flag name, op is "eq", operand True) or "rule"
    (subject is a rule id, op "eq", operand True: the rule matched).
    `between` carries a tuple (low, high) of Operands in `operand`.
    """

    kind: str
    subject: str
    op: str
    operand: Union[Operand, tuple]
    index: int = 0  # position of this leaf within its rule, for traces
    loc: Loc | None = None


@dataclass(frozen=True)
class All:
    items: tuple


@dataclass(frozen=True)
class Any:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


Condition = Union[Comparison, All, Any, Not]


@dataclass(frozen=True)
class Effect:
    outcome: str | None = None
    reason: str | None = None
    message: dict[str, str] | None = None  # language tag → template
    flags: tuple[str, ...] = ()
    set: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    index: int
    when: Condition
    then: Effect
    description: str = ""
    leaves: tuple[Comparison, ...] = ()
    lint_ignore: tuple[str, ...] = ()
    loc: Loc | None = None
    lint_reason: str = ""  # why the ignored findings are intended (`lint: {reason: ...}`)

    @property
    def decides_outcome(self) -> bool:
        return self.then.outcome is not None


@dataclass(frozen=True)
class Outcome:
    id: str
    adverse: bool = False
    description: str = ""
    label: dict[str, str] | None = None


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: str
    default: object
    combine: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Acknowledgement:
    """An analysis finding the authors intend, with their reason (policy-level `lint:`):
    findings of `code` (about `rule`, when given; for `gap`, only regions inside `where`)
    are reported as acknowledged, not as findings."""

    code: str
    reason: str
    rule: str | None = None
    where: object = None  # a Condition over facts, or None
    leaves: tuple = ()  # the comparisons of `where`
    loc: Loc | None = None


@dataclass(frozen=True)
class Policy:
    id: str
    version: object
    title: str
    description: str
    language: str
    facts: dict[str, FactSpec]
    thresholds: dict[str, Threshold]
    outcomes: tuple[Outcome, ...]
    default: str | None
    outputs: dict[str, OutputSpec]
    reasons: dict[str, dict[str, str] | None]  # declared reason codes in importance order
    rules: tuple[Rule, ...]
    strata: tuple[tuple[int, ...], ...]  # rule indexes, in evaluation order
    digest: str
    path: str
    extras: dict = field(default_factory=dict)
    acknowledged: tuple[Acknowledgement, ...] = ()

    @property
    def outcome_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.outcomes)

    def outcome(self, outcome_id: str) -> Outcome:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise KeyError(outcome_id)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)
