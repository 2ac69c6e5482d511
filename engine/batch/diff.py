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

import decimal
from decimal import Decimal

from ..analysis.diff import NONE, PolicyDiff
from .inputs import BatchError, InputsError, NativeOnly, expand, ident, stage

SAMPLE = 5
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


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


class Totals:
    """Per numeric output of both versions, the exact totals over the records both decided
    (`PolicyDiff.outputs`, as `engine.analysis.diff.OutputTotals` makes them natively): sums
    in SQL where the column is exact (BIGINT, DECIMAL: DuckDB sums them exactly), a DOUBLE
    output (literal values, so few distinct ones) by value and count, each value the decimal
    its repr says; the natively decided records' outputs added as they are."""

    def __init__(self, old, new):
        api = _diff_api()
        self.summary, self.exact, self.plus = api.summary, api.exact, api.plus
        self.names = api.numeric_outputs(old, new)
        self.records = 0
        self.old = {n: 0 for n in self.names}
        self.new = {n: 0 for n in self.names}

    def add(self, old_outputs: dict, new_outputs: dict) -> None:
        self.records += 1
        for n in self.names:
            self.old[n] = self.plus(self.old[n], self.exact(old_outputs[n]))
            self.new[n] = self.plus(self.new[n], self.exact(new_outputs[n]))

    def add_sql(self, con, table: str, where: str) -> None:
        self.records += con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
        types = {name: t for name, t, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
        for n in self.names:
            for side, totals in (("__a_", self.old), ("__b_", self.new)):
                c = ident(side + n)
                if types[side + n] == "DOUBLE":
                    for v, k in con.execute(f"SELECT {c}, count(*) FROM {table} WHERE {where} AND {c} IS NOT NULL "
                                            f"GROUP BY {c} ORDER BY {c}").fetchall():
                        totals[n] = self.plus(totals[n], _EXACT.multiply(Decimal(repr(float(v))), k))
                    continue
                (v,) = con.execute(f"SELECT sum({c}) FROM {table} WHERE {where}").fetchone()
                if v is not None:
                    v = int(v) if types[side + n] in ("BIGINT", "HUGEINT", "INTEGER") else Decimal(v)
                    totals[n] = self.plus(totals[n], v)

    def result(self) -> dict | None:
        if not self.names:
            return None
        return {n: self.summary(self.records, self.old[n], self.new[n]) for n in self.names}


def _diff_api():
    """`engine.analysis.diff`'s summary functions (the native path's own, so both paths
    write the same JSON); a stand-in of the same definitions while it has none."""
    from types import SimpleNamespace

    from ..analysis import diff as native

    if hasattr(native, "summary"):
        return SimpleNamespace(summary=native.summary, exact=native._exact, plus=native._plus,
                               numeric_outputs=native.numeric_outputs)
    exact_ctx = _EXACT
    mean_ctx = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, Emax=decimal.MAX_EMAX,
                               Emin=decimal.MIN_EMIN)

    def normal(d):
        if d.__class__ is int or not d.is_finite():
            return d
        if d == 0:
            return Decimal(0)
        d = d.normalize(exact_ctx)
        return d.quantize(Decimal(1), context=exact_ctx) if d.as_tuple().exponent > 0 else d

    def summary(records, old_total, new_total):
        both_int = old_total.__class__ is int and new_total.__class__ is int
        change = new_total - old_total if both_int else exact_ctx.subtract(new_total, old_total)
        mean = mean_ctx.divide(change, records) if records else None
        return {"records": records, "old_total": normal(old_total), "new_total": normal(new_total),
                "total_change": normal(change), "mean_change": None if mean is None else normal(mean)}

    def numeric(old, new):
        return [n for n, spec in new.outputs.items() if spec.type in ("integer", "number")
                and n in old.outputs and old.outputs[n].type in ("integer", "number")]

    return SimpleNamespace(summary=summary, numeric_outputs=numeric,
                           exact=lambda v: Decimal(repr(v)) if v.__class__ is float else v,
                           plus=lambda t, v: t + v if t.__class__ is int and v.__class__ is int
                           else exact_ctx.add(t, v))


def _show(value):
    if isinstance(value, str) and value.startswith('"'):  # a JSONL id, as JSON text
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
