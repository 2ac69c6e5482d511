"""The test-suite IR: suites, cases and their expectations, and the results of running them.

Plain frozen values: `suites.load` builds them from test files, `suites.run` fills the
results, `suites.coverage` and `suites.render` read them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..language.model import Loc, Policy

# An expectation that is not checked (`outcome: null` checks that there is no outcome).
UNSET = object()


@dataclass(frozen=True)
class SetExpect:
    """Expected members of a set (reason codes, flags): `exact`, or `contains`/`excludes`."""

    exact: tuple[str, ...] | None = None
    contains: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    """What one case checks of its decision; every field left at its default is not checked."""

    outcome: object = UNSET  # an outcome id, None (no outcome) or UNSET (not checked)
    reasons: SetExpect | None = None
    matched: tuple[str, ...] = ()
    not_matched: tuple[str, ...] = ()
    undetermined: tuple[str, ...] = ()
    flags: SetExpect | None = None
    outputs: tuple[tuple[str, object], ...] = ()  # an array output's expected value: a tuple
    derived: tuple[tuple[str, object], ...] = ()  # derived fact → expected value (None: missing)

    @property
    def checks_outcome(self) -> bool:
        return self.outcome is not UNSET


@dataclass(frozen=True)
class Case:
    """One named case of a suite, `loc` the place of its entry in the test file."""

    name: str
    index: int
    record: dict  # the facts to evaluate: base profiles merged, then the case's own facts
    expect: Expect
    loc: Loc
    base: tuple[str, ...] = ()
    description: str = ""
    # The evaluation date of this case: its own `as_of`, else its suite's, else the one the
    # run was given (`verdict test --as-of`); None for a policy that does not use time.
    as_of: datetime.date | None = None


@dataclass(frozen=True)
class Suite:
    """One test file resolved against the policy it tests."""

    path: str
    policy: Policy
    cases: tuple[Case, ...]
    epsilon: dict = field(default_factory=dict)  # number fact → ε for boundaries
    description: str = ""
    as_of: datetime.date | None = None  # the suite's own `as_of:`, if it has one


# -- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """One unmet expectation: a one-line `message` and `details` naming rules and conditions."""

    check: str
    expected: object
    actual: object
    message: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseResult:
    """A case, the decision it got, and every expectation that decision did not meet."""

    case: Case
    decision: object | None  # engine.runtime.decision.Decision; None when evaluation failed
    failures: tuple[Failure, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class SuiteResult:
    """The results of one suite's (selected) cases, in file order."""

    suite: Suite
    results: tuple[CaseResult, ...]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> list[CaseResult]:
        return [r for r in self.results if r.passed]


@dataclass(frozen=True)
class Run:
    """The results of every suite of one `verdict test` run, on one backend."""

    suites: tuple[SuiteResult, ...]
    backend: str

    @property
    def results(self) -> list[CaseResult]:
        return [r for s in self.suites for r in s.results]

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)
