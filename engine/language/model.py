"""The policy IR: typed, validated, immutable.

`validate.py` builds these from a loaded document; every later stage (compile, evaluate,
explain, analysis, testing) reads only these types, never raw YAML.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Union

# Condition subjects that are not facts: what other rules concluded.
SUBJECT_OUTCOME = "outcome"
SUBJECT_FLAG = "flag"
SUBJECT_RULE = "rule"
RESERVED_NAMES = frozenset({"all", "any", "not", SUBJECT_OUTCOME, SUBJECT_FLAG, SUBJECT_RULE})
# Condition subjects that are values, besides facts (`Comparison.kind`): a derived fact
# (`Policy.derived`), and a declared output as the rules of earlier strata left it (read by
# a later rule or table: a table's `inputs` may name an earlier table's output). Facts,
# derived facts and outputs share one namespace, so a condition's key names one of them.
SUBJECT_DERIVED = "derived"
SUBJECT_OUTPUT = "output"

# The static analysis's findings an author may acknowledge (`lint:`): about one rule (a
# rule's own `lint: {ignore: [...]}` too), or about the policy as a whole.
LINT_RULE_CODES = ("rule-unsatisfiable", "rule-shadowed", "rule-subsumed", "threshold-inverted",
                   "condition-always-true", "condition-always-false")
LINT_ROW_CODES = ("table-row-unreachable",)  # about one table row: acknowledged at the top level with `rule: table#n`
LINT_POLICY_CODES = ("gap",)

NUMERIC_TYPES = frozenset({"integer", "number"})
ARRAY = "array"  # a list fact or output: `FactSpec.items` / `OutputSpec.items` say its items
ITEM_TYPES = ("string", "integer", "number", "boolean")  # what a list's items may be
DATE = "date"  # a calendar day: `datetime.date` in facts, ISO `YYYY-MM-DD` in text
ORDERED_TYPES = NUMERIC_TYPES | {DATE}  # the types `gt`/`gte`/`lt`/`lte`/`between` compare
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte", "between"})
LIST_OPS = frozenset({"in", "not_in"})
# `missing: true|false`: whether the fact is absent from the record. Never unknown itself,
# so a rule on an optional fact can say what to do when it is absent.
PRESENCE_OP = "missing"
# List facts: `contains` (operand: one item), `contains_any`/`contains_all` (operand: a
# tuple of items), `length` (operand: a `Length`). String facts: `starts_with`,
# `ends_with`, `contains` (operand: a string). No regular expressions: they make exact
# analysis impossible and invite catastrophic backtracking.
LIST_FACT_OPS = frozenset({"contains", "contains_any", "contains_all", "length"})
STRING_OPS = frozenset({"starts_with", "ends_with", "contains"})


def string_test(op: str, value: str, text: str) -> bool:
    """`value op text` for a string operator: the one meaning (`semantics.compare` calls
    it; the fact space and the first-hit disjointness proof build on it)."""
    if op == "starts_with":
        return value.startswith(text)
    if op == "ends_with":
        return value.endswith(text)
    if op == "contains":
        return text in value
    raise ValueError(f"not a string operator: {op}")

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between", PRESENCE_OP,
             "contains", "contains_any", "contains_all", "length", "starts_with", "ends_with")

# For rendering and negation; kept here so every stage agrees.
OP_SYMBOL = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
             "in": "∈", "not_in": "∉", "between": "in", PRESENCE_OP: "is missing",
             "contains": "contains", "contains_any": "contains any of", "contains_all": "contains all of",
             "length": "has length", "starts_with": "starts with", "ends_with": "ends with"}

# `combine:` of an output: how the values of several contributing rules become one.
# `list` (an `array` output: the values in rule order) and `count` (an `integer` output:
# how many rules contributed) serve `collect` tables, and any rules.
COMBINES = ("first", "min", "max", "sum", "list", "count")

# A decision table's hit policy, as DMN defines them (see `Table`).
HIT_POLICIES = ("first", "unique", "any", "priority", "collect")

# `change:` of a fact: how a counterfactual may move it. `with_time` facts are day counts
# (account age) that grow by one a day: only waiting changes them.
CHANGES = ("any", "increase", "decrease", "none", "with_time")


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
    type: str  # integer | number | string | boolean | date | array
    description: str = ""
    unit: str = ""
    enum: tuple[str, ...] | None = None
    minimum: float | int | datetime.date | None = None
    maximum: float | int | datetime.date | None = None
    default: object = None
    has_default: bool = False
    required: bool = True
    remedy: dict[str, str] | None = None  # language tag → text
    change: str = "any"  # one of CHANGES
    loc: Loc | None = None
    # For `type: array`: the items' spec (type one of ITEM_TYPES, an enum, bounds; its name
    # is the fact's name). A list fact's normalized value is a tuple of normalized items;
    # `minimum`/`maximum` above then bound its length.
    items: "FactSpec | None" = None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Threshold:
    name: str
    value: object  # scalar or tuple of scalars
    loc: Loc | None = None


# The calendar's span in days (0001-01-01 to 9999-12-31): no relative date reaches further.
CALENDAR_DAYS = (datetime.date.max - datetime.date.min).days


@dataclass(frozen=True)
class RelativeDate:
    """A date relative to the evaluation date (`as_of`): `{days_ago: N}` is `as_of - N`,
    `{days_ahead: N}` is `as_of + N`. `days` is the resolved day count (an int);
    `threshold` names the threshold it came from, if any."""

    sign: int  # -1 for days_ago, +1 for days_ahead
    days: int
    threshold: str | None = None

    @property
    def offset(self) -> int:
        """Days from the evaluation date: negative in the past."""
        return self.sign * self.days

    def on(self, as_of: datetime.date) -> datetime.date:
        return as_of + datetime.timedelta(days=self.offset)

    def describe(self) -> str:
        n = self.threshold or str(self.days)
        return f"{n} days ago" if self.sign < 0 else f"{n} days ahead"


@dataclass(frozen=True)
class Operand:
    """A literal value, or a named threshold resolved to its value. For a date fact the
    value is a `datetime.date`, or a `RelativeDate` resolved on the evaluation date
    (`runtime.semantics.operand_value`). `fact` names another fact or derived fact
    (`{fact: name}`): the comparison reads that fact's value from the same record (unknown
    when it is missing), and `value` is None."""

    value: object
    threshold: str | None = None
    fact: str | None = None

    def describe(self) -> str:
        if self.fact is not None:
            return self.fact
        if isinstance(self.value, RelativeDate):
            return self.value.describe()
        return self.threshold if self.threshold else repr(self.value)


@dataclass(frozen=True)
class Length:
    """The operand of `length`: the list's length compared (`op`, one of eq ne gt gte lt
    lte) with `operand` (an integer Operand: a literal or a threshold)."""

    op: str
    operand: Operand


@dataclass(frozen=True)
class Comparison:
    """A leaf condition: `subject op operand`.

    `kind` says what the subject is: "fact" (a declared fact), "derived" (a derived fact),
    "output" (a declared output's value after the rules of earlier strata), "outcome" (the
    decided outcome), "flag" (subject is the flag name, op is "eq", operand True) or "rule"
    (subject is a rule id, op "eq", operand True: the rule matched).
    `between` carries a tuple (low, high) of Operands in `operand`; `contains_any`/`contains_all`
    an Operand whose value is a tuple of items; `length` a `Length`.
    `via`: for a table row under `hit: first`, the leaves that restate an earlier row's cells
    ("and no earlier row applies") carry that row's rule index; None for a rule's own
    conditions. Coverage, traces and explanations show each cell once, at its own row.
    """

    kind: str
    subject: str
    op: str
    operand: Union[Operand, tuple, Length]
    index: int = 0  # position of this leaf within its rule, for traces
    loc: Loc | None = None
    via: int | None = None


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


# -- expressions: computed outputs (`set`, an output's `default`) -------------------------
# A number literal inside an expression is a `Decimal` (the decimal its text says); a bare
# literal `set` value of an output that is not computed stays the plain YAML value.
ARITH_OPS = ("add", "sub", "mul", "div", "min", "max")  # sub and div take exactly two
ROUND_MODES = ("down", "up", "half_up", "half_even")


@dataclass(frozen=True)
class Ref:
    """A name read by an expression: a fact, a threshold, a derived fact, or an earlier
    output (its final value, after `combine` and `round`)."""

    kind: str  # "fact" | "threshold" | "derived" | "output"
    name: str
    loc: Loc | None = field(default=None, compare=False)  # where written: not part of the value


@dataclass(frozen=True)
class Arith:
    op: str  # one of ARITH_OPS
    args: tuple  # of Expr
    loc: Loc | None = field(default=None, compare=False)  # where written: not part of the value


@dataclass(frozen=True)
class Rounding:
    """To a multiple of `to` (`100`, `0.01`), in `mode`."""

    to: Decimal
    mode: str  # one of ROUND_MODES


@dataclass(frozen=True)
class Round:
    arg: object  # Expr
    rounding: Rounding
    loc: Loc | None = field(default=None, compare=False)  # where written: not part of the value


Expr = Union[Decimal, Ref, Arith, Round]
EXPR_NODES = (Ref, Arith, Round)


def is_expr(value) -> bool:
    """Whether a `set` value or an output default is computed (not a plain literal)."""
    return isinstance(value, EXPR_NODES) or type(value) is Decimal


@dataclass(frozen=True)
class Derived:
    """A derived fact (`derived: {debt_to_income: {div: [monthly_debt, monthly_income]}}`):
    computed from the record's facts after they are checked, by the one expression
    evaluator (`runtime.expressions`), exact decimal. `type` is "number" (a `Decimal`) or
    "integer" (an int: the expression must be integral, as for outputs). Missing (None)
    when a fact it reads is missing. `expr` reads facts, thresholds and earlier derived
    facts (`Ref` kinds fact, threshold, derived), never outputs. Conditions read it as a
    `Comparison` of kind "derived"; counterfactuals change the facts it reads, never it."""

    name: str
    expr: object  # Expr
    type: str = "number"
    description: str = ""
    loc: Loc | None = None


@dataclass(frozen=True)
class Effect:
    outcome: str | None = None
    reason: str | None = None
    message: dict[str, str] | None = None  # language tag → template
    flags: tuple[str, ...] = ()
    set: tuple[tuple[str, object], ...] = ()  # (output, literal or Expr)


@dataclass(frozen=True)
class TableRow:
    """Where a rule came from when a decision table's row compiled to it."""

    table: str  # the table's id
    row: int  # 1-based row number


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
    table: TableRow | None = None  # set for a rule a table row compiled to

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
    """A declared output. `computed` when its default or any rule's value is an
    expression, or it declares `round`: every value it takes is then a `Decimal` (an int
    for `type: integer`), and its literals are Decimals too, so `combine` never mixes
    kinds. `minimum`/`maximum` bound its values (checked by validation where the ranges
    allow)."""

    name: str
    type: str
    default: object  # literal or Expr
    combine: str | None = None
    description: str = ""
    round: Rounding | None = None
    computed: bool = False
    minimum: object = None
    maximum: object = None
    loc: Loc | None = None
    items: FactSpec | None = None  # for `type: array`: its items' spec (as for list facts)


@dataclass(frozen=True)
class Table:
    """A decision table. Every row compiled to one `Rule` (`Rule.table` says which row),
    so evaluation, analysis, coverage and diff see rules; this records the table's shape
    for validation's table findings and for explanations, which draw the table.

    `columns` are the output columns: declared outputs, and `outcome`, `reason`,
    `message`. `rules[k]` is the index of the rule row k+1 compiled to. `cells[k][c]` is
    the text of row k+1's cell in input column c (`-` for any); `cell_locs` where each
    cell of the row (inputs, then output columns) was written, in the policy or in its
    rows' CSV file (`csv`: the path as written, relative to the policy)."""

    id: str
    hit: str  # one of HIT_POLICIES
    inputs: tuple[str, ...]
    columns: tuple[str, ...]
    rules: tuple[int, ...]
    cells: tuple[tuple[str, ...], ...]
    cell_locs: tuple[tuple[Loc, ...], ...] = ()
    description: str = ""
    csv: str | None = None
    loc: Loc | None = None


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
    timezone: str = "UTC"  # whose calendar day is "today" when no `as_of` is given
    max_wait_days: int = 365  # the horizon of "wait" counterfactuals
    derived: dict[str, Derived] = field(default_factory=dict)  # in declaration order
    tables: tuple[Table, ...] = ()

    @property
    def uses_time(self) -> bool:
        """Whether decisions depend on the evaluation date: a date fact or a `with_time`
        fact. Such a decision records its `as_of`."""
        return any(f.type == DATE or f.change == "with_time" for f in self.facts.values())

    @property
    def outcome_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.outcomes)

    def outcome(self, outcome_id: str) -> Outcome:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise KeyError(outcome_id)

    def table(self, table_id: str) -> Table:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)
