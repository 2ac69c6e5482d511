"""`SqlBackend`: every rule's match computed by the SQL form, in an in-memory DuckDB.

The per-record backend of `verdict test/explain --backend duckdb`: `evaluate.checked_matches`
compares its matches with the native form's, as it does durable's. It runs `match_query`
(the strata of the decision query, no validation: the facts are already normalized) over
a relation of parameters (one row), or over a temporary table (`rule_matches_many`), on an
evaluation date (`as_of`, as the other backends take it: relative dates are DATE literals
in the query). The query text is rendered once per backend and evaluation date; one
connection per backend, behind a lock. Date facts are DATE parameters, list facts LIST
parameters (each item as its scalar would be).

Limits (`SqlLimitError`, a BackendError: refused, never decided wrongly): an integer fact
beyond ±(2^63-1), and an integer in a number fact that no double equals (beyond 2^53 and
not a multiple of a power of two that a double holds), cannot be staged into BIGINT and
DOUBLE columns; a number fact a derived fact reads whose double the exact decimal cannot
hold (the batch runner decides such a record natively).
"""

from __future__ import annotations

import threading

from sqlglot import exp

from ...errors import BackendUnavailable, SqlLimitError
from ...language.model import Operand, Policy, RelativeDate
from ...runtime.semantics import Plan
from .dialects import dtype, ident, render
from .literals import INT_MAX, INT_MIN, spec_sql_type
from ...runtime.semantics import check_as_of
from ...runtime.semantics import today
from .query import match_query


INSTALL_HINT = "pip install 'verdict-policy[duckdb]'"


def _duckdb():
    try:
        import duckdb
    except ImportError as exc:
        raise BackendUnavailable(f"the duckdb backend needs DuckDB, which cannot be imported here ({exc}); "
                                 f"install it with {INSTALL_HINT}") from None
    return duckdb


def sql_value(policy: Policy, name: str, value):
    """A normalized fact value as the parameter its column takes; SqlLimitError beyond it."""
    if value is None:
        return None
    spec = policy.facts[name]
    if spec.type == "array":  # a tuple of items, each as the items' column takes it
        return [_scalar(spec.items, name, v) for v in value]
    return _scalar(spec, name, value)


def _scalar(spec, name: str, value):
    if spec.type == "integer":
        if not INT_MIN <= value <= INT_MAX:
            raise SqlLimitError(f"fact `{name}` is {value}, beyond the SQL form's int64 (±(2^63-1))")
        return int(value)
    if spec.type == "number":
        if type(value) is not float:
            try:
                as_float = float(value)
            except OverflowError:
                as_float = None
            if as_float is None or as_float != value:
                raise SqlLimitError(f"fact `{name}` is {value}, an integer no double holds exactly "
                                    f"(the SQL form stores number facts as DOUBLE)")
            return as_float
    return value


class SqlBackend:
    """Rule matches by the SQL form in DuckDB (`rule_matches`, `rule_matches_many`)."""

    name = "duckdb"

    def __init__(self, policy: Policy, plan: Plan | None = None):
        duckdb = _duckdb()
        self.policy = policy
        self.plan = plan or Plan(policy)
        self._names = list(policy.facts)
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:")
        defs = ", ".join(['"__row" BIGINT'] + [f'{ident(n).sql("duckdb")} {dtype(spec_sql_type(policy.facts[n])).sql("duckdb")}'
                                                  for n in self._names])
        self._con.execute(f'CREATE TEMPORARY TABLE "facts" ({defs})')
        self._marks = ", ".join("?" for _ in range(len(self._names) + 1))
        # The query texts per evaluation date (relative dates are DATE literals in them)
        self._dated = any(isinstance(o.value, RelativeDate) for r in policy.rules for leaf in r.leaves
                          for o in (leaf.operand if isinstance(leaf.operand, tuple) else (leaf.operand,))
                          if isinstance(o, Operand))
        self._texts: dict = {}

    def _queries(self, as_of) -> tuple[str, str]:
        """(the one-row query, the temporary-table query) on `as_of`, rendered once each."""
        if self._dated:
            check_as_of(as_of)
            key = as_of if as_of is not None else today(self.policy.timezone)
        else:
            key = None
        found = self._texts.get(key)
        if found is None:
            columns = [exp.Cast(this=exp.Placeholder(), to=dtype("BIGINT")).as_(ident("__row"), quoted=True)]
            columns += [exp.Cast(this=exp.Placeholder(), to=dtype(spec_sql_type(self.policy.facts[n]))).as_(
                ident(n), quoted=True) for n in self._names]
            one = render(match_query(self.policy, source=exp.select(*columns), row=True, as_of=key), "duckdb",
                         pretty=False)
            many = render(match_query(self.policy, source="facts", row=True, as_of=key), "duckdb",
                          pretty=False) + ' ORDER BY "__row"'
            found = self._texts[key] = (one, many)
        return found

    def _params(self, row: int, facts: dict) -> list:
        return [row] + [sql_value(self.policy, n, facts.get(n)) for n in self._names]

    def rule_matches(self, facts: dict, as_of=None) -> tuple:
        """Every rule's match on the evaluation date `as_of` (None: today in the policy's
        timezone; only relative dates read it)."""
        params = self._params(1, facts)
        with self._lock:
            one, _ = self._queries(as_of)
            found = self._con.execute(one, params).fetchone()
        return self._matches(found)

    def _matches(self, found) -> tuple:
        if self.policy.derived:  # the last column: whether the exact decimals hold the record
            if found[-1]:
                raise SqlLimitError("a number fact a derived fact reads has more digits than the SQL form's "
                                    "exact decimal holds (the batch runner decides such a record natively)")
            found = found[:-1]
        return tuple(found[1:])

    def rule_matches_many(self, records: list[dict], as_of=None) -> list[tuple]:
        rows = [self._params(n, facts) for n, facts in enumerate(records, 1)]
        if not rows:
            return []
        with self._lock:
            _, many = self._queries(as_of)
            self._con.execute('DELETE FROM "facts"')
            self._con.executemany(f'INSERT INTO "facts" VALUES ({self._marks})', rows)
            found = self._con.execute(many).fetchall()
        return [self._matches(r) for r in found]
