"""The Decision: what one evaluation concluded, as plain data.

Produced by `evaluate`, read by `explain` (text, Markdown, JSON) and by the test runner.
It holds rule indexes and values, never formatted text: rendering is the explainer's job.
"""

from __future__ import annotations

from typing import NamedTuple

from .model import Policy, Rule

Tri = bool | None


class Decision(NamedTuple):
    """Immutable. A NamedTuple rather than a dataclass because the generated fast path
    builds one per evaluation and tuple construction is the cheapest object Python has."""

    policy: Policy
    facts: dict  # the normalized facts the decision was made on (defaults applied)
    outcome: str | None
    outcome_known: bool  # False when an undecided rule (missing facts) could change it
    decided_by: tuple[int, ...]  # indexes of the outcome rules that decided it
    matched: tuple[Tri, ...]  # per rule, in rule order
    flags: tuple[str, ...]
    outputs: dict
    missing_facts: tuple[str, ...]
    trace: tuple[tuple[Tri, ...], ...] | None = None  # per rule, per leaf
    warnings: tuple[str, ...] = ()

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
