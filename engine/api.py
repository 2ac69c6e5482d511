"""The Python API a service embeds: load a policy once, evaluate many records.

    from engine import load_policy
    policy = load_policy("policies/double11-coupon.yaml")
    decision = policy.evaluate({"credit_score": 720, ...})
    decision.outcome, policy.to_json(decision), policy.explain(decision, lang="zh")

Thread-safe for the native backend (compiled code has no shared mutable state). The
durable backend is single-threaded by nature (see docs/backends.md).
"""

from __future__ import annotations

import datetime
import os
from functools import partial
from typing import Mapping

from .explain import render as _explain
from .compile import RuleSet, compile_policy
from .runtime.decision import Decision
from .evaluate import evaluate as _evaluate
from .io.policies import load_policy as _load_policy
from .errors import PolicyError
from .language.model import Policy
from .language.source import load_text
from .language.validate import validate


class CompiledPolicy:
    """A validated, compiled policy ready to evaluate facts."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        # The hot path of a service, and the one place this is done: an instance's
        # `evaluate` *is* generated code, the native `decide` compiled with this method's
        # signature, which handles the defaults itself and routes any other option to the
        # general `evaluate`, wired here from above (the backend imports nothing upward).
        # Same results, one Python frame less per call (bench/RESULTS.md, row (b)). Not
        # when a subclass overrides `evaluate` (say, to log): its method must run.
        if type(self).evaluate is CompiledPolicy.evaluate:
            fast = ruleset.native.entry(partial(_evaluate, ruleset))
            fast.__doc__ = CompiledPolicy.evaluate.__doc__
            self.evaluate = fast

    @property
    def policy(self) -> Policy:
        return self.ruleset.policy

    @property
    def id(self) -> str:
        return self.policy.id

    @property
    def version(self):
        return self.policy.version

    @property
    def digest(self) -> str:
        return self.policy.digest

    def evaluate(self, facts: Mapping, *, trace: bool = False, backend: str = "native",
                 undeclared: str = "warn", as_of: datetime.date | None = None) -> Decision:
        """Decide one record. Raises FactsError (naming the fact) for invalid facts.

        `as_of`: the evaluation date of a policy that reads dates or `with_time` facts
        (relative dates such as `{days_ago: 180}` count from it); None means today in the
        policy's `timezone`. The Decision records it (`decision.as_of`), so the decision can
        be reproduced; for a policy that does not use time it is None. A ValueError if it
        is not a `datetime.date`.

        `trace=True` records every condition's result for explanations; without it the
        native backend takes its fast path. Keys that name no declared fact (a user id)
        are ignored: `undeclared="warn"` (the default) lists them in the Decision's
        `warnings` (and its JSON's); "ignore" says nothing, and such a record stays on the
        fast path; "refuse" makes them a FactsError. (An instance's `evaluate` is the
        generated function that behaves exactly like this method; see __init__.)"""
        return _evaluate(self.ruleset, facts, trace=trace, backend=backend, undeclared=undeclared, as_of=as_of)

    def analyse(self) -> list:
        """The static-analysis findings of the policy, as `verdict validate` reports them:
        a list of `Diagnostic` (warnings and information, each with its witness fact set
        where one exists; see docs/analysis.md)."""
        from .analysis.findings import analyse

        return analyse(self.policy)

    def counterfactuals(self, decision: Decision, prune: bool = True) -> list:
        """What would change the outcome: minimal verified fact changes per better outcome
        (see docs/explanations.md). `prune=False` returns every better outcome's minimal
        change sets, dominated ones included."""
        from .analysis.counterfactuals import counterfactuals

        return counterfactuals(self.ruleset, decision, prune=prune)

    def to_dict(self, decision: Decision, lang: str | None = None, *, counterfactuals: bool = False) -> dict:
        cfs = self.counterfactuals(decision) if counterfactuals else None
        return _explain.decision_dict(decision, lang, counterfactuals=cfs)

    def to_json(self, decision: Decision, lang: str | None = None, indent: int | None = 2, *,
                counterfactuals: bool = False) -> str:
        cfs = self.counterfactuals(decision) if counterfactuals else None
        return _explain.to_json(decision, lang, indent=indent, counterfactuals=cfs)

    def explain(self, facts_or_decision, lang: str | None = None, *, counterfactuals: bool = True,
                as_of: datetime.date | None = None) -> str:
        """The text explanation (as `verdict explain` prints it); given facts, or a decision
        made without a trace, it evaluates them with a full trace first (a decision on its
        own `as_of`; facts on `as_of`, see `evaluate`)."""
        decision = facts_or_decision
        if not isinstance(decision, Decision) or decision.trace is None:
            if isinstance(decision, Decision):
                record, as_of = decision.facts, decision.as_of
            else:
                record = decision
            decision = self.evaluate(record, trace=True, as_of=as_of)
        cfs = self.counterfactuals(decision) if counterfactuals else None
        return _explain.explain_text(decision, lang, cfs)


def load_policy(path: str | os.PathLike) -> CompiledPolicy:
    """Load, validate and compile a policy file. Raises PolicyError with every diagnostic."""
    return CompiledPolicy(compile_policy(_load_policy(path)))


def load_policy_text(text: str, name: str = "<policy>") -> CompiledPolicy:
    """Like `load_policy`, from YAML text (e.g. a policy stored in a database)."""
    doc, diags = load_text(text, name)
    if doc is None:
        raise PolicyError(diags)
    policy, diags = validate(doc)
    if policy is None:
        raise PolicyError([d for d in diags if d.severity == "error"] or diags)
    return CompiledPolicy(compile_policy(policy))
