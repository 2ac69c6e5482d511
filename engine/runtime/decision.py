"""The Decision: what one evaluation concluded, as plain data, and `assemble`, which builds it.

A Decision is a function of the normalized facts and every rule's match: `assemble` derives
the outcome, flags and outputs from them the same way for every backend, following
`semantics.Plan`; computed outputs come from the one expression evaluator
(`expressions.OutputPlan`). Produced by the backends (and `evaluate`), read by `explain` (text,
Markdown, JSON) and by the test runner. It holds rule indexes and values, never formatted
text: rendering is the explainer's job.
"""

from __future__ import annotations

import datetime
from operator import itemgetter

from ..language.model import Policy, Rule
from .semantics import Plan, reported_missing

try:  # the C field accessor namedtuple uses
    from _collections import _tuplegetter
except ImportError:  # pragma: no cover - other Pythons
    def _tuplegetter(index: int, doc: str):
        return property(itemgetter(index), doc=doc)

Tri = bool | None

FIELDS = ("policy", "facts", "outcome", "outcome_known", "decided_by", "matched", "flags", "outputs",
          "missing_facts", "trace", "warnings", "as_of", "derived")


class Decision(tuple):
    """Immutable: a tuple of the thirteen FIELDS, built from one, `Decision((policy, …))`.

    Not a NamedTuple: a class with a Python-level `__new__` (as every namedtuple has) makes
    each construction go through it, and the generated fast path builds one Decision per
    evaluation. Without one, `Decision(values)` is CPython's own tuple construction, ~160 ns
    cheaper, about a tenth of a whole native decision. Field access is namedtuple's.
    """

    __slots__ = ()
    _fields = FIELDS
    __match_args__ = FIELDS

    policy: Policy = _tuplegetter(0, "the policy decided on")
    facts: dict = _tuplegetter(1, "the normalized facts the decision was made on (defaults applied)")
    outcome: str | None = _tuplegetter(2, "the outcome id (None: no outcome at all)")
    outcome_known: bool = _tuplegetter(3, "False when an undecided rule (missing facts) could change it")
    decided_by: tuple = _tuplegetter(4, "indexes of the outcome rules that decided it")
    matched: tuple = _tuplegetter(5, "per rule, in rule order: True, False or None (unknown)")
    flags: tuple = _tuplegetter(6, "raised flags, sorted")
    outputs: dict = _tuplegetter(7, "output values")
    missing_facts: tuple = _tuplegetter(8, "declared facts absent from the record; one the policy tests for "
                                           "presence only when a rule reading it otherwise is undetermined")
    trace: tuple | None = _tuplegetter(9, "per rule, per leaf condition result; None without a trace")
    warnings: tuple = _tuplegetter(10, "warnings about the record (e.g. undeclared facts)")
    as_of: datetime.date | None = _tuplegetter(11, "the evaluation date (None: the policy does not use time)")
    derived: dict = _tuplegetter(12, "the derived facts' values, of those present ({} for a policy without any)")

    @classmethod
    def _make(cls, values) -> "Decision":
        values = tuple(values)
        if len(values) != len(FIELDS):
            raise TypeError(f"a Decision has {len(FIELDS)} fields, got {len(values)} values")
        return cls(values)

    def _replace(self, **changes) -> "Decision":
        unknown = [name for name in changes if name not in FIELDS]
        if unknown:
            raise ValueError(f"Got unexpected field names: {unknown!r}")
        values = list(self)
        for name, value in changes.items():
            values[FIELDS.index(name)] = value
        return Decision(values)

    def _asdict(self) -> dict:
        return dict(zip(FIELDS, self))

    def __repr__(self) -> str:
        return "Decision(" + ", ".join(f"{n}={v!r}" for n, v in zip(FIELDS, self)) + ")"

    def __reduce__(self):
        return (Decision, (tuple(self),))

    @property
    def decided_by_rules(self) -> list[Rule]:
        return [self.policy.rules[i] for i in self.decided_by]

    @property
    def reason_rules(self) -> list[Rule]:
        """Rules whose reason codes explain the outcome: the deciding rules with a reason."""
        return [self.policy.rules[i] for i in self.decided_by if self.policy.rules[i].then.reason]

    @property
    def notice_rules(self) -> list[Rule]:
        """Matched rules without an outcome that carry a reason code (notices)."""
        return [r for r in self.policy.rules
                if self.matched[r.index] is True and not r.decides_outcome and r.then.reason]

    @property
    def undetermined(self) -> list[Rule]:
        return [r for r in self.policy.rules if self.matched[r.index] is None]

    @property
    def adverse(self) -> bool:
        return self.outcome is not None and self.policy.outcome(self.outcome).adverse


def assemble(plan: Plan, facts: dict, matched: tuple, trace=None, warnings: tuple[str, ...] = (),
             as_of: datetime.date | None = None, derived: dict | None = None) -> Decision:
    """Outcome by precedence, flags, outputs, missing facts: from matches alone. `as_of`:
    the evaluation date the matches were computed on, which the Decision records when the
    policy uses time (required then; ignored, and None in the Decision, otherwise).
    `derived`: the derived facts of `facts` if the caller computed them (computed here
    otherwise, by the one evaluator); the outputs' expressions read them."""
    policy = plan.policy
    if plan.uses_time:
        if as_of is None:
            raise ValueError(f"a decision of policy `{policy.id}`, which uses time, needs its `as_of`")
    else:
        as_of = None
    outcome, decided_by, known = plan.select_outcome(matched)
    flags = tuple(sorted(f for f, setters in plan.flag_setters.items() if any(matched[i] is True for i in setters)))
    if derived is None:
        derived = plan.computed.derive(facts) if plan.has_derived else {}
    outputs = {}
    if policy.outputs:
        contributing = [i for i in plan.non_outcome_rules if matched[i] is True] + list(decided_by)
        outputs = plan.computed.compute({**facts, **derived} if derived else facts, contributing)
    missing = reported_missing(plan, facts, matched) if len(facts) != len(policy.facts) else ()
    return Decision((policy, facts, outcome, known, decided_by, matched, flags, outputs, missing, trace, warnings,
                     as_of, derived))
