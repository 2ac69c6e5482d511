"""Evaluation: (RuleSet, facts) → Decision. Pure and deterministic.

Facts are validated against the policy's declarations first (`runtime.facts`); a backend
then computes every rule's match; the outcome, flags and outputs are assembled by
`runtime.decision.assemble`, the same way for every backend. This module picks the path
per call: the native backend's generated fast paths for ordinary records, the generic path
for everything else.
"""

from __future__ import annotations

from typing import Mapping

from .compile import RuleSet
from .errors import BackendDisagreement
from .runtime.decision import Decision, assemble
from .runtime.facts import UNDECLARED, normalize


def decide(ruleset: RuleSet, facts: dict, *, trace: bool = True, backend: str = "native",
           warnings: tuple[str, ...] = ()) -> Decision:
    """Evaluate already-normalized facts (see `facts.normalize`)."""
    native = ruleset.native
    if backend == "native":
        if trace:
            matched, leaves = native.trace(facts)
            return assemble(ruleset.plan, facts, matched, leaves, warnings)
        return assemble(ruleset.plan, facts, native.rule_matches(facts), warnings=warnings)
    # Another engine reports matches only; the leaf trace comes from the native form of the
    # same IR, and the two must agree on the matches.
    native_matched, leaves = native.trace(facts) if trace else (native.rule_matches(facts), None)
    matched = checked_matches(ruleset, backend, facts, native_matched)
    return assemble(ruleset.plan, facts, matched, leaves, warnings)


def checked_matches(ruleset: RuleSet, backend: str, facts: dict, native_matched: tuple) -> tuple:
    """Another backend's matches on normalized facts, which must be the native form's.

    INVARIANT: every path that decides with a backend other than native comes through
    here, so a disagreement can never become an answer: it is a `BackendDisagreement`
    (an internal error, exit 3 in the CLI), naming the rules and the facts."""
    matched = ruleset.backend(backend).rule_matches(facts)
    if matched != native_matched:
        rules = ruleset.policy.rules
        differ = ", ".join(f"`{rules[i].id}` {backend} {_tri(m)}, native {_tri(n)}"
                           for i, (m, n) in enumerate(zip(matched, native_matched)) if m != n)
        raise BackendDisagreement(f"backends disagree: {differ}; facts {facts!r}")
    return matched


def _tri(v) -> str:
    return "unknown" if v is None else str(v).lower()


def slow_decide(ruleset: RuleSet, record: Mapping, *, trace: bool = False, backend: str = "native",
                label: str | None = None, undeclared: str = "warn") -> Decision:
    """The generic path: validate and normalize the record, match, assemble."""
    facts, warnings = normalize(ruleset.policy, record, label, undeclared)
    return decide(ruleset, facts, trace=trace, backend=backend, warnings=tuple(w.message for w in warnings))


def evaluate(ruleset: RuleSet, record: Mapping, *, trace: bool = True, backend: str = "native",
             label: str | None = None, undeclared: str = "warn") -> Decision:
    """Validate one record of facts and decide it. Raises FactsError for bad facts.

    On the native backend an ordinary record (every fact present and valid) is one
    generated function call (`NativeBackend.decide`, or `decide_trace` with the trace);
    everything else takes the generic path, which the tests compare both against.

    `undeclared` (`facts.UNDECLARED`): keys that name no declared fact are ignored with a
    warning in the Decision ("warn"), ignored silently ("ignore": such a record stays on
    the generated path) or refused as a FactsError ("refuse")."""
    if undeclared != "warn":
        return _evaluate_undeclared(ruleset, record, trace, backend, label, undeclared)
    if label is None:  # tests in the order of the common cases: this is the hot path
        if backend == "native":
            if not trace:
                return ruleset.decide(record)
            decision = ruleset.decide_trace(record)
            if decision is not None:
                return decision
        elif not trace:
            return _decide_on_other_backend(ruleset, record, backend)
    return slow_decide(ruleset, record, trace=trace, backend=backend, label=label)


def _evaluate_undeclared(ruleset: RuleSet, record: Mapping, trace: bool, backend: str, label: str | None,
                         undeclared: str) -> Decision:
    """`evaluate` with undeclared keys ignored silently, or refused."""
    if undeclared not in UNDECLARED:
        raise ValueError(f"undeclared must be one of {', '.join(UNDECLARED)}, got {undeclared!r}")
    if undeclared == "refuse" and isinstance(record, Mapping):
        facts = ruleset.policy.facts
        if any(k not in facts for k in record):  # every problem of the record, this one too
            normalize(ruleset.policy, record, label, "refuse")
    if label is None and not trace:
        if backend == "native":
            return ruleset.native.decide_open(record)
        return _decide_on_other_backend(ruleset, record, backend, ruleset.native.decide_open)
    return slow_decide(ruleset, record, trace=trace, backend=backend, label=label, undeclared="ignore")


def _decide_on_other_backend(ruleset: RuleSet, record: Mapping, backend: str, decide=None) -> Decision:
    """Another backend, without a trace. The native fast path validates and normalizes the
    record (the checks of `facts.normalize`, generated) and yields the Decision that those
    facts and *its* matches imply; the other backend then computes the matches itself.
    A Decision is a function of facts and matches (`assemble`), and the matches must be the
    same (`checked_matches`), so the native Decision *is* the other backend's."""
    reference = (decide or ruleset.native.decide)(record)  # raises FactsError for a bad record
    checked_matches(ruleset, backend, reference.facts, reference.matched)
    return reference
