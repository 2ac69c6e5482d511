"""Compile a validated Policy into a RuleSet: one IR, two executable forms.

The native form (generated Python) is built at once; the durable-rules form is built on
first use, since importing durable-rules costs time and is impossible on Python 3.13.
`emit` returns either form as text, for inspection (`verdict compile --emit`).

Above the backends, below `evaluate`: nothing here calls back into evaluation.
"""

from __future__ import annotations

from .backends.native import NativeBackend, generate_source
from .errors import BackendError
from .language.model import Policy
from .runtime.semantics import Plan

BACKENDS = ("native", "durable", "duckdb", "spark")
FORMS = ("python", "durable", "sql")


class RuleSet:
    """A compiled policy: the IR, its shared plan, and its backends."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.plan = Plan(policy)
        self.uses_time = self.plan.uses_time  # whether decisions take and record an `as_of`
        self.native = NativeBackend(policy, self.plan)
        # The generated fast paths, one attribute away for `evaluate` (the hot path).
        self.decide = self.native.decide
        self.decide_trace = self.native.decide_trace
        self._durable = None
        self._sql = None

    def backend(self, name: str = "native"):
        if name == "native":
            return self.native
        if name == "durable":
            if self._durable is None:
                try:
                    from .backends.durable import DurableBackend
                except ImportError as exc:  # pragma: no cover - packaging problem
                    raise BackendError(f"durable backend unavailable: {exc}") from None
                # Raises BackendUnavailable or DurableLimitError, both BackendErrors.
                self._durable = DurableBackend(self.policy, self.plan)
            return self._durable
        if name == "duckdb":  # the SQL form, one record at a time in an in-memory DuckDB
            if self._sql is None:
                try:
                    from .backends.sql import SqlBackend
                except ImportError as exc:
                    raise BackendError(f"duckdb backend unavailable: {exc} (install verdict's `sql` extra)") from None
                self._sql = SqlBackend(self.policy, self.plan)
            return self._sql
        if name == "spark":
            raise BackendError("the spark backend decides whole files (`verdict eval --backend spark FILE… -o OUT`); "
                               "it has no per-record form: use --backend duckdb for single records, explain and test")
        raise BackendError(f"unknown backend `{name}` (choose from {', '.join(BACKENDS)})")


def compile_policy(policy: Policy) -> RuleSet:
    return RuleSet(policy)


def emit(policy: Policy, form: str, *, dialect: str | None = None, table: str | None = None,
         lang: str | None = None, as_of=None) -> str:
    """An executable form of a policy as text, deterministic across processes:
    "python", the module the native backend executes; "durable", the durable-rules
    rulesets as JSON (built without durable-rules itself); "sql", the decision query in
    `dialect` (default duckdb) over `table` (default `facts`, the staged-facts shape of
    docs/backends.md), messages in `lang`, relative dates resolved on `as_of` (None: today
    in the policy's timezone) and recorded in an `as_of` column. Raises BackendError for an unknown form or
    dialect, options another form does not take, or a policy the form cannot hold
    (`DurableLimitError`, `SqlLimitError`)."""
    if form == "sql":
        from .backends.sql import render_sql

        return render_sql(policy, dialect or "duckdb", table=table or "facts", lang=lang, as_of=as_of)
    if dialect is not None or table is not None or lang is not None or as_of is not None:
        raise BackendError(f"--dialect, --table, --lang and --as-of belong to the sql form, not `{form}`")
    if form == "python":
        return generate_source(policy)
    if form == "durable":
        from .backends.durable.compiler import ruleset_json

        return ruleset_json(policy, Plan(policy))  # a DurableLimitError is a BackendError
    raise BackendError(f"unknown form `{form}` (choose from {', '.join(FORMS)})")
