"""The one warning of a batch run about undeclared keys (`--undeclared warn-once`), shared by
the DuckDB runner (`engine.batch.run`) and the Spark runner (`engine.batch.spark`), worded
as the native path words it (`engine.cli.decide`): the first record that had one, every
key in the order first seen (at most ten, then how many more), and how many records had
one: `verdict: warning: users.csv:2: undeclared fact `channel` ignored (in 100,000 records)`.

A record counts when it reached the fact checks (it was decided, or rejected for its
facts); the `--id` field is never undeclared. `ignore` is silent and `refuse` makes such a
record an input error: neither uses this warning.
"""

from __future__ import annotations

from typing import Iterable

UNDECLARED_MODES = ("ignore", "warn-once", "refuse")


class UndeclaredKeys:
    """Undeclared keys seen in a run: each key with the place it was first seen (any
    tuples that sort in input order: `(input, row, position)`), how many records had one,
    and the place and label of the first of them. Records may be added in any order."""

    def __init__(self) -> None:
        self.keys: dict = {}  # key -> place first seen
        self.records = 0
        self.first: tuple | None = None  # (place, label)

    def record(self, place: tuple, label: str, keys: Iterable) -> None:
        """One record at `place` (its input and row), labelled `label`, with the
        undeclared `keys` (in the record's order; nothing when empty)."""
        keys = tuple(keys)
        if not keys:
            return
        self.many(1, place, label, {key: (*place, i) for i, key in reversed(list(enumerate(keys)))})

    def many(self, records: int, place: tuple, label: str, first_seen: dict) -> None:
        """`records` records with undeclared keys, the first of them at `place` labelled
        `label`; `first_seen`: key -> the place (a row and a position) it was first seen."""
        if not records:
            return
        self.records += records
        for key, seen in first_seen.items():
            known = self.keys.get(key)
            if known is None or seen < known:
                self.keys[key] = seen
        if self.first is None or place < self.first[0]:
            self.first = (place, label)

    def copy(self) -> "UndeclaredKeys":
        other = UndeclaredKeys()
        other.keys, other.records, other.first = dict(self.keys), self.records, self.first
        return other

    def warning(self) -> str | None:
        """The run's one warning line, or None when no record had an undeclared key."""
        if not self.records:
            return None
        ordered = [key for key, _ in sorted(self.keys.items(), key=lambda kv: kv[1])]
        return warning_line(self.first[1], ordered, self.records)


def warning_line(first: str, keys: list, records: int) -> str:
    """`verdict: warning: FIRST: undeclared fact(s) `a`, `b` ignored (in N records)`."""
    from ..runtime.facts import shown_key

    shown = ", ".join(f"`{shown_key(x)}`" for x in keys[:10])
    shown += f" and {len(keys) - 10:,} more" if len(keys) > 10 else ""
    line = f"verdict: warning: {first}: undeclared fact{'s' if len(keys) > 1 else ''} {shown} ignored"
    return line + (f" (in {records:,} records)" if records > 1 else "")
