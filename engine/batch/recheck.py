"""The native recheck of a batch run: records the SQL form rejected (or left to native code)
read again by the native reader and checked and decided as `verdict eval` does
(`native_check`), on the run's one evaluation date (`evaluation_date`); shared by the
DuckDB runner (`engine.batch.run`), the Spark runner and the diff.
"""

from __future__ import annotations

import datetime
import io
from typing import NamedTuple

from ..io.records import Record, Records, RecordsError, open_records
from .inputs import Input, ident


def evaluation_date(policy, as_of: datetime.date | None) -> datetime.date:
    """The run's one evaluation date: `as_of`, else today in the policy's timezone
    (the runtime's `semantics.today`), resolved once per run."""
    if as_of is not None:
        return as_of
    from ..runtime.semantics import today

    return today(policy.timezone)


def native_evaluate(ruleset, data, as_of, **kw):
    """`evaluate` on the run's evaluation date."""
    from ..evaluate import evaluate

    return evaluate(ruleset, data, as_of=as_of, **kw)


class Checked(NamedTuple):
    row: int
    label: str
    problem: str | None
    decision: object = None
    record_id: object = None
    extra: tuple = ()  # the record's undeclared keys (a record that reached the fact checks)


def native_check(ruleset, rec: Record, id_field: str | None, row: int, undeclared: str = "warn-once",
                 as_of=None) -> Checked:
    """One record as `verdict eval` checks and decides it (engine/cli/decide.py): undeclared
    keys ignored without a warning in the decision (`warn-once`, `ignore`) or refused."""
    from ..errors import FactsError

    problem, record_id, data = rec.error, None, rec.data
    if problem is None and id_field is not None:
        if data.get(id_field) is None:
            problem = f"record has no `{id_field}` (the --id field)"
        else:
            data = dict(data)
            record_id = data.pop(id_field)
            if not isinstance(record_id, (str, int, float)) or isinstance(record_id, bool):
                problem = f"`{id_field}` must be a string or a number"
    if problem is not None:
        return Checked(row, rec.label, problem)
    facts = ruleset.policy.facts
    extra = tuple(k for k in data if k not in facts)
    try:
        decision = native_evaluate(ruleset, data, as_of, trace=False, backend="native",
                                   undeclared="refuse" if undeclared == "refuse" else "ignore")
    except FactsError as exc:
        return Checked(row, rec.label, "; ".join(p.message for p in exc.problems), extra=extra)
    return Checked(row, rec.label, None, decision, record_id, extra)


def records_jsonl(policy, inp: Input, rows: list[int]) -> list[tuple[int, Record]]:
    """The wanted lines, read by the native reader at their own line numbers (every other
    line is blank to it, so its labels and its rules are the native ones)."""
    wanted = set(rows)
    buf = io.BytesIO()
    last = max(rows)
    with open(inp.path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            buf.write(raw if n in wanted else b"\n")
            if n >= last:
                break
    buf.seek(0)
    prefix = f"{inp.path}:"
    return [(int(rec.label[len(prefix):]), rec) for rec in Records(buf, inp.path, policy, "jsonl", True, False)]


def records_csv(policy, inp: Input, rows: list[int]) -> list[tuple[int, Record]]:
    wanted = set(rows)
    last = max(rows)
    out = []
    with open_records(inp.path, policy, "csv", allow_empty=True) as records:
        for n, rec in enumerate(records, 1):
            if n in wanted:
                out.append((n, rec))
            if n >= last:
                break
    return out


def records_parquet(con, inp: Input, raw: str, rows: list[int]) -> list[tuple[int, Record]]:
    # A DATE column is read as its text, which the native check parses: DuckDB would give
    # `infinity` as 9999-12-31, a day it is not.
    columns = ", ".join(f"CAST({ident(name)} AS VARCHAR) AS {ident(name)}" if typ == "DATE" else ident(name)
                        for name, typ, *_ in con.execute(f"DESCRIBE {raw}").fetchall())
    cur = con.execute(f"SELECT {columns} FROM {raw} WHERE __row IN (SELECT unnest(?::BIGINT[])) ORDER BY __row",
                      [rows])
    names = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        data = dict(zip(names, values))
        row = data.pop("__row")
        out.append((row, Record(f"{inp.path}:{row}", data)))
    return out


def native_records(policy, con, inp: Input, raw: str | None, rows: list[int]) -> list[tuple[int, Record]]:
    """Records `rows` of an input as the native reader reads them (Parquet: its rows)."""
    if inp.fmt == "jsonl":
        return records_jsonl(policy, inp, rows)
    if inp.fmt == "csv":
        return records_csv(policy, inp, rows)
    return records_parquet(con, inp, raw, rows)


def _native_file(ruleset, inp: Input, id_field, allow_empty: bool, undeclared: str,
                 as_of=None) -> tuple[list[Checked], str | None]:
    """A whole input read and decided by the native path; and the input's error, if it
    cannot be read to its end (the records before it are decided)."""
    out = []
    try:
        with open_records(inp.path, ruleset.policy, inp.fmt, allow_empty=allow_empty) as records:
            for n, rec in enumerate(records, 1):
                out.append(native_check(ruleset, rec, id_field, n, undeclared, as_of))
    except RecordsError as exc:
        return out, str(exc)
    return out, None
