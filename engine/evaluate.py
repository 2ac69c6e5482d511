"""Evaluation: (RuleSet, facts) → Decision. Pure and deterministic.

Facts are validated against the policy's declarations first (`runtime.facts`); a backend
then computes every rule's match; the outcome, flags and outputs are assembled by
`runtime.decision.assemble`, the same way for every backend. This module picks the path
per call: the native backend's generated fast paths for ordinary records, the generic path
for everything else.

The evaluation date `as_of` (a `datetime.date`) reaches every backend: a policy that uses
time (`Policy.uses_time`) is decided on it, today in the policy's timezone when none is
given, and its Decision records it; for any other policy it is None throughout.
"""

from __future__ import annotations

from datetime import date
from typing import Mapping

from .compile import RuleSet
from .errors import BackendDisagreement
from .runtime.decision import Decision, assemble
from .runtime.facts import UNDECLARED, normalize
from .runtime.semantics import check_as_of, resolve_as_of


def decide(ruleset: RuleSet, facts: dict, *, trace: bool = True, backend: str = "native",
           warnings: tuple[str, ...] = (), as_of=None) -> Decision:
    """Evaluate already-normalized facts (see `facts.normalize`) on the evaluation date
    `as_of` (today in the policy's timezone when None and the policy uses time)."""
    as_of = resolve_as_of(ruleset.policy, as_of, ruleset.uses_time)
    native = ruleset.native
    if backend == "native":
        if trace:
            matched, leaves = native.trace(facts, as_of)
            return assemble(ruleset.plan, facts, matched, leaves, warnings, as_of)
        return assemble(ruleset.plan, facts, native.rule_matches(facts, as_of), warnings=warnings, as_of=as_of)
    # Another engine reports matches only; the leaf trace comes from the native form of the
    # same IR, and the two must agree on the matches.
    native_matched, leaves = native.trace(facts, as_of) if trace else (native.rule_matches(facts, as_of), None)
    matched = checked_matches(ruleset, backend, facts, native_matched, as_of)
    return assemble(ruleset.plan, facts, matched, leaves, warnings, as_of)


def checked_matches(ruleset: RuleSet, backend: str, facts: dict, native_matched: tuple, as_of=None) -> tuple:
    """Another backend's matches on normalized facts, which must be the native form's.
    `as_of`: the evaluation date, given (as `rule_matches(facts, as_of=…)`) only for a
    policy that uses time; the call is `rule_matches(facts)` otherwise.

    INVARIANT: every path that decides with a backend other than native comes through
    here, so a disagreement can never become an answer: it is a `BackendDisagreement`
    (an internal error, exit 3 in the CLI), naming the rules and the facts."""
    other = ruleset.backend(backend)
    matched = other.rule_matches(facts) if as_of is None else other.rule_matches(facts, as_of=as_of)
    if matched != native_matched:
        rules = ruleset.policy.rules
        differ = ", ".join(f"`{rules[i].id}` {backend} {_tri(m)}, native {_tri(n)}"
                           for i, (m, n) in enumerate(zip(matched, native_matched)) if m != n)
        raise BackendDisagreement(f"backends disagree: {differ}; facts {facts!r}")
    return matched


def _tri(v) -> str:
    return "unknown" if v is None else str(v).lower()


def slow_decide(ruleset: RuleSet, record: Mapping, *, trace: bool = False, backend: str = "native",
                label: str | None = None, undeclared: str = "warn", as_of=None) -> Decision:
    """The generic path: validate and normalize the record, match, assemble."""
    facts, warnings = normalize(ruleset.policy, record, label, undeclared)
    return decide(ruleset, facts, trace=trace, backend=backend, warnings=tuple(w.message for w in warnings),
                  as_of=as_of)


def evaluate(ruleset: RuleSet, record: Mapping, *, trace: bool = True, backend: str = "native",
             label: str | None = None, undeclared: str = "warn", as_of=None) -> Decision:
    """Validate one record of facts and decide it. Raises FactsError for bad facts.

    `as_of` (a `datetime.date`): the evaluation date of a policy that uses time (dates,
    `with_time` facts), recorded in its Decision; None means today in the policy's
    `timezone`. Ignored (None in the Decision) for other policies; a ValueError if it is
    not a date.

    On the native backend an ordinary record (every fact present and valid) is one
    generated function call (`NativeBackend.decide`, or `decide_trace` with the trace);
    everything else takes the generic path, which the tests compare both against.

    `undeclared` (`facts.UNDECLARED`): keys that name no declared fact are ignored with a
    warning in the Decision ("warn"), ignored silently ("ignore": such a record stays on
    the generated path) or refused as a FactsError ("refuse")."""
    if as_of is not None and as_of.__class__ is not date:
        check_as_of(as_of)  # raises; a None as_of each path below resolves once (today)
    if undeclared != "warn":
        return _evaluate_undeclared(ruleset, record, trace, backend, label, undeclared, as_of)
    if label is None:  # tests in the order of the common cases: this is the hot path
        if backend == "native":  # (as_of None: today, which the generated code resolves)
            if not trace:
                return ruleset.decide(record) if as_of is None else ruleset.decide(record, as_of)
            decision = ruleset.decide_trace(record) if as_of is None else ruleset.decide_trace(record, as_of)
            if decision is not None:
                return decision
        elif not trace:
            return _decide_on_other_backend(ruleset, record, backend, as_of=as_of)
    return slow_decide(ruleset, record, trace=trace, backend=backend, label=label, as_of=as_of)


def _evaluate_undeclared(ruleset: RuleSet, record: Mapping, trace: bool, backend: str, label: str | None,
                         undeclared: str, as_of=None) -> Decision:
    """`evaluate` with undeclared keys ignored silently, or refused."""
    if undeclared not in UNDECLARED:
        raise ValueError(f"undeclared must be one of {', '.join(UNDECLARED)}, got {undeclared!r}")
    if undeclared == "refuse" and isinstance(record, Mapping):
        facts = ruleset.policy.facts
        if any(k not in facts for k in record):  # every problem of the record, this one too
            normalize(ruleset.policy, record, label, "refuse")
    if label is None and not trace:
        if backend == "native":
            return ruleset.native.decide_open(record) if as_of is None else ruleset.native.decide_open(record, as_of)
        return _decide_on_other_backend(ruleset, record, backend, ruleset.native.decide_open, as_of)
    return slow_decide(ruleset, record, trace=trace, backend=backend, label=label, undeclared="ignore", as_of=as_of)


def _decide_on_other_backend(ruleset: RuleSet, record: Mapping, backend: str, decide=None, as_of=None) -> Decision:
    """Another backend, without a trace. The native fast path validates and normalizes the
    record (the checks of `facts.normalize`, generated) and yields the Decision that those
    facts and *its* matches imply; the other backend then computes the matches itself.
    A Decision is a function of facts and matches (`assemble`), and the matches must be the
    same (`checked_matches`), so the native Decision *is* the other backend's."""
    reference = (decide or ruleset.native.decide)(record, as_of)  # raises FactsError for a bad record
    checked_matches(ruleset, backend, reference.facts, reference.matched, reference.as_of)
    return reference
