"""`verdict diff OLD NEW --facts DATA --backend duckdb [--id FIELD]`: the from → to matrix of
two policy versions over a whole dataset, computed in SQL.

Both versions' decision queries run over the data staged for each (`inputs.stage`), joined
on `__row`; a record either version rejects is read again by the native reader and counted
exactly as `engine.analysis.diff.count_records` counts it (decided by both, or skipped).
The matrix and the record counts are those of the native `diff --facts`, rendered by the
same renderers; with `--id`, up to `SAMPLE` ids of moved records per changed pair. The
per-output totals (`PolicyDiff.outputs`) are exact sums (`Totals`), by the native path's
own `summary`. Both versions are decided on one evaluation date (`as_of`).
"""

from __future__ import annotations

from decimal import Decimal

from ..analysis.diff import NONE, OutputTotals, PolicyDiff
from ..runtime.expressions import EXACT
from .inputs import BatchError, InputsError, NativeOnly, expand, ident, stage

SAMPLE = 5


def count_records_sql(d: PolicyDiff, facts_path: str, *, id_field: str | None = None,
                      allow_empty: bool = False, as_of=None) -> dict:
    """Fill `d.matrix`, `d.records` and `d.outputs` as `count_records` does, on the
    evaluation date `as_of` (None: today in the new version's timezone); returns the
    moved-id sample {(from, to): [ids…]} (also in `d.records["moved"]`)."""
    from ..compile import compile_policy
    from ..errors import FactsError
    from ..io.records import EmptyInput
    from .recheck import evaluation_date, native_evaluate, native_records
    from .run import connect, decision_sql

    as_of = evaluation_date(d.new, as_of)
    totals = Totals(d.old, d.new)
    old_rules = new_rules = None

    try:
        inputs = expand([facts_path])
    except InputsError as exc:
        raise BatchError(str(exc)) from None
    con = connect()
    matrix: dict[tuple[str, str], int] = {}
    total = skipped = 0
    sample: dict[tuple[str, str], list] = {}
    for k, inp in enumerate(inputs):
        try:
            old = stage(con, d.old, inp, 2 * k, id_field)
            new = stage(con, d.new, inp, 2 * k + 1, id_field)
        except NativeOnly as exc:
            raise BatchError(f"{inp.path}: DuckDB cannot read it as the native reader does ({exc}); "
                             "use --backend native") from None
        if new.rows == 0 and not allow_empty:
            raise BatchError(str(EmptyInput(inp.path, "no records (an empty file, a CSV header alone, or an empty "
                                                      "list); --allow-empty accepts it")))
        total += new.rows
        q_old = decision_sql(d.old, old.table, None, None, as_of)
        q_new = decision_sql(d.new, new.table, None, None, as_of)
        idc = f", s.{ident(id_field)} AS id" if id_field else ""
        outs = "".join(f", a.outputs.{ident(n)} AS {ident('__a_' + n)}, b.outputs.{ident(n)} AS {ident('__b_' + n)}"
                       for n in totals.names)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE __pairs AS
            SELECT a.__row, a.__rejected AS ra, b.__rejected AS rb,
                   coalesce(a.outcome, '{NONE}') AS oa, coalesce(b.outcome, '{NONE}') AS ob{idc}{outs}
            FROM ({q_old}) a JOIN ({q_new}) b USING (__row) JOIN {new.table} s USING (__row)""")
        totals.add_sql(con, "__pairs", "ra IS NULL AND rb IS NULL")
        for a, b, n in con.execute("SELECT oa, ob, count(*) FROM __pairs WHERE ra IS NULL AND rb IS NULL "
                                   "GROUP BY oa, ob").fetchall():
            matrix[(a, b)] = matrix.get((a, b), 0) + n
        if id_field:
            for a, b, ids in con.execute(
                    f"SELECT oa, ob, list(id ORDER BY __row)[1:{SAMPLE}] FROM __pairs WHERE ra IS NULL AND rb IS NULL "
                    "AND oa <> ob GROUP BY oa, ob ORDER BY oa, ob").fetchall():
                sample.setdefault((a, b), []).extend(_show(i) for i in ids)
        rows = [r for (r,) in con.execute("SELECT __row FROM __pairs WHERE ra IS NOT NULL OR rb IS NOT NULL "
                                          "ORDER BY __row").fetchall()]
        if rows:  # exactly as the native count: decided by both versions, or skipped
            if old_rules is None:
                old_rules, new_rules = compile_policy(d.old), compile_policy(d.new)
            for row, rec in native_records(d.new, con, inp, new.raw, rows):
                if rec.error is not None:
                    skipped += 1
                    continue
                try:
                    da = native_evaluate(old_rules, rec.data, as_of, trace=False)
                    db = native_evaluate(new_rules, rec.data, as_of, trace=False)
                except FactsError:
                    skipped += 1
                    continue
                totals.add(da.outputs, db.outputs)
                a, b = da.outcome, db.outcome
                key = (NONE if a is None else str(a), NONE if b is None else str(b))
                matrix[key] = matrix.get(key, 0) + 1
                if id_field and a != b and len(sample.get(key, [])) < SAMPLE:
                    sample.setdefault(key, []).append(_show(rec.data.get(id_field)))
    d.matrix = matrix
    d.outputs = totals.result()
    d.records = {"total": total, "changed": sum(n for (a, b), n in matrix.items() if a != b), "skipped": skipped}
    if id_field:
        d.records["moved"] = [{"from": a, "to": b, "ids": ids[:SAMPLE]} for (a, b), ids in sorted(sample.items())]
    return {k: v[:SAMPLE] for k, v in sorted(sample.items())}


class Totals(OutputTotals):
    """`engine.analysis.diff.OutputTotals` (what the native path fills, so both paths write
    the same JSON), with the sums of the records decided in SQL: summed in SQL where the
    column is exact (BIGINT, DECIMAL: DuckDB sums them exactly), a DOUBLE output (literal
    values, so few distinct ones) by value and count, each value the decimal its repr says.
    Natively decided records are `add`ed as they are."""

    def add_sql(self, con, table: str, where: str) -> None:
        (records,) = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
        types = {name: t for name, t, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
        sums = {"__a_": {}, "__b_": {}}
        for n in self.names:
            for side, out in sums.items():
                c = ident(side + n)
                total = 0
                if types[side + n] == "DOUBLE":
                    for v, k in con.execute(f"SELECT {c}, count(*) FROM {table} WHERE {where} AND {c} IS NOT NULL "
                                            f"GROUP BY {c} ORDER BY {c}").fetchall():
                        total = EXACT.add(total, EXACT.multiply(Decimal(repr(float(v))), k))
                else:
                    (v,) = con.execute(f"SELECT sum({c}) FROM {table} WHERE {where}").fetchone()
                    if v is not None:
                        total = int(v) if types[side + n] in ("BIGINT", "HUGEINT", "INTEGER") else Decimal(v)
                out[n] = total
        self.add_totals(records, sums["__a_"], sums["__b_"])


def _show(value):
    if isinstance(value, str) and value.startswith('"'):  # a JSONL id, as JSON text
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
