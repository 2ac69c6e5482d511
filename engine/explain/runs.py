"""The end of a run over records, as every backend reports it on stderr: the summary line
(`1,204 decisions: approve 1,100, refuse 104; 3 records skipped`), the count of each
warning repeated across records, and the refusal of a run that read records but decided
none, each one skipped with `--on-error skip`."""

from __future__ import annotations


def summary_line(counts: dict[str, int], skipped: int) -> str:
    """Decisions by outcome, most frequent first (ties by name), then the records skipped."""
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    line = f"{total:,} decision{'s' if total != 1 else ''}: {parts or 'none'}"
    if skipped:
        line += f"; {skipped:,} record{'s' if skipped != 1 else ''} skipped"
    return line


def repeated_warnings(warned: dict[str, int]) -> list[str]:
    """A line per warning given for more than one record (each was shown once, at its first)."""
    return [f"verdict: warning: {w} (in {n:,} records)" for w, n in warned.items() if n > 1]


def nothing_decided(decided: int, skipped: int, allow_empty: bool) -> str | None:
    """The input error of a run whose every record was skipped (None when it decided one,
    skipped none, or `--allow-empty` accepts it): with `--on-error skip` a job whose input
    no longer fits the policy (a renamed column, a changed type) would otherwise succeed,
    writing no decision at all."""
    if decided or not skipped or allow_empty:
        return None
    return (f"no record decided: {'the one record read was' if skipped == 1 else f'all {skipped:,} records read were'}"
            " skipped (--allow-empty accepts a run that decides none)")
