"""`render_sql`: the decision query as text for one dialect, as `verdict compile --emit sql` prints it.

Pretty, deterministic (the same policy prints byte-identical text in every process: the
tree is built in declaration and rule order, never from a set or a dict of unknown order),
rendered with `unsupported_level=RAISE` and checked against the dialect's known traps
(`dialects.check_traps`): a construct that would be wrong is a BackendError, never SQL.
"""

from __future__ import annotations

from sqlglot import exp

from ...language.model import Policy
from .dialects import ident, render
from .literals import date_literal
from ...runtime.semantics import today
from .query import decision_query


def render_sql(policy: Policy, dialect: str, *, table: str = "facts", lang: str | None = None,
               as_of=None) -> str:
    """The decision query over `table` (the staged-facts shape: docs/backends.md) in `dialect`,
    on the evaluation date `as_of` (None: today in the policy's timezone): relative dates
    are DATE literals in the text, so a printed query decides as of the day it was printed
    for, and a policy that uses time gets an `as_of` column holding that day, so every
    decision the query makes records it (as native's decisions do)."""
    if policy.uses_time and as_of is None:
        as_of = today(policy.timezone)
    tree = decision_query(policy, source=table, dialect=dialect, lang=lang, as_of=as_of)
    if policy.uses_time:
        tree = tree.select(exp.alias_(date_literal(as_of), ident("as_of")), append=True)
    return render(tree, dialect) + "\n"
