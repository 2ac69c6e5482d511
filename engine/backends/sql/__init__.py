"""The SQL form of a policy: the IR compiled into one query (sqlglot's expression tree),
executed by DuckDB (embedded), Spark, PostgreSQL, and printed for warehouses.

Modules, in dependency order: `dialects` (per-dialect constructs, rendering, trap checks),
`literals` (typed literals, exact comparisons, dates), `decimals` (exact DECIMAL
arithmetic, proved to fit or refused; rounding, texts, formats), `operators` (the v3
operators: string and list tests, `length`, one value against another, derived quotients),
`validation` (`__rejected`, list items included), `messages` (templates as SQL text),
`computed` (computed outputs' expressions and layers), `derived` (derived facts' DECIMAL
columns), `leaves` (conditions, leaf by leaf; restated table rows), `query`
(`decision_query`, `match_query`, on an evaluation date), `render` (`render_sql`),
`backend` (`SqlBackend`: per-record matches in an in-memory DuckDB). docs/backends.md
describes the form, the staged-facts table, the dialects and the limits.
"""

from .dialects import DIALECTS, EXECUTED
from .query import decision_query, match_query, number_output_kinds
from .render import render_sql

__all__ = ["DIALECTS", "EXECUTED", "decision_query", "match_query", "number_output_kinds", "render_sql", "SqlBackend"]


def __getattr__(name: str):
    if name == "SqlBackend":  # imports duckdb lazily, on first use only
        from .backend import SqlBackend

        return SqlBackend
    raise AttributeError(name)
