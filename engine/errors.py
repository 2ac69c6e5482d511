"""Every public exception of verdict, in one module (it imports nothing of the engine).

A caller catches `VerdictError` for anything verdict refuses, or one of its kinds:

- `PolicyError`: a policy that cannot be used (invalid, unreadable); carries every diagnostic.
- `FactsError`: a record that cannot be evaluated (a wrong type, an out-of-range value, a
  missing required fact); lists every problem. Also a `ValueError`, as it always was.
- `BackendError`: a backend that cannot run here or cannot take this policy or record:
  `BackendUnavailable` (durable-rules or duckdb cannot be imported), `DurableLimitError` (a
  durable-rules limit, such as an integer beyond int64), `SqlLimitError` (a value the SQL
  form cannot hold exactly).
- `InternalError`: verdict itself went wrong: the answer would have been wrong, so there is
  none. `BackendDisagreement`: another backend's matches differ from the native form's;
  `DurableEngineError`: durable-rules misbehaved. The CLI reports these with exit code 3.
- `Incomplete`: an exact computation over the fact space would exceed its `Budget`; the
  analyses report themselves incomplete instead of guessing.

Exceptions that never leave the module that raises them (the YAML loader's `LoadError`, the
schema compiler's `Unsupported`, the CLI's `InputError`) stay where they are used.
"""

from __future__ import annotations


class VerdictError(Exception):
    """Anything verdict refuses or cannot do; the base of every public exception."""


class PolicyError(VerdictError):
    """A policy that cannot be used; carries every diagnostic found."""

    def __init__(self, diagnostics: list):
        self.diagnostics = diagnostics
        first = diagnostics[0].render().splitlines()[0] if diagnostics else "invalid policy"
        more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
        super().__init__(first + more)


class FactsError(VerdictError, ValueError):
    """A record that cannot be evaluated; lists every problem (`FactProblem`s)."""

    def __init__(self, problems: list, record: str | None = None):
        self.problems = problems
        self.record = record
        where = f"{record}: " if record else ""
        super().__init__(where + "; ".join(p.message for p in problems))


class EvaluationDateError(VerdictError, ValueError):
    """An evaluation date (`as_of`) that cannot decide: not a `datetime.date`, missing where
    a relative date needs one, or a day on which a relative date of the policy falls off
    the calendar (before 0001-01-01 or after 9999-12-31)."""


class BackendError(VerdictError):
    """A backend that cannot run this policy or record here (not installed, over a limit)."""


class BackendUnavailable(BackendError):
    """durable-rules cannot be imported here (e.g. Python 3.13); use the native backend."""


class DurableLimitError(BackendError):
    """The policy, or a fact value, exceeds a durable-rules limit we cannot work around."""


class SqlLimitError(BackendError):
    """A policy or fact value the SQL form cannot hold exactly (an integer beyond int64, an
    integer in a number fact that no double equals): refused rather than decided wrongly."""


class InternalError(VerdictError, RuntimeError):
    """verdict went wrong; the result would have been wrong, so none is returned."""


class BackendDisagreement(InternalError):
    """Another backend's matches differ from the native form's on the same facts: one of
    them is wrong, and which one is not known, so neither answer is given."""


class DurableEngineError(InternalError):
    """durable-rules misbehaved at evaluation time (a swallowed action exception, an
    unexpected engine error)."""


class Incomplete(VerdictError):
    """The exact computation would exceed its budget: report, never guess."""
