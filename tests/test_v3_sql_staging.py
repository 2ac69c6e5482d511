"""List facts staged for the batch runner: JSONL lists, CSV cells holding a JSON array
(empty = missing), Parquet LIST columns. A list whose items convert exactly becomes a typed
LIST column; any other value (a null item, a nested list, `3.0` for an integer, NaN, an
escaped control character, a number where a string goes) flags the record (`__type_error`)
for the native reader; items breaking the items' spec (enum, bounds) and lengths beyond
min/max_items are rejected by the query (`__rejected`), as native rejects them."""

from __future__ import annotations

import json

import duckdb
import pytest

from engine.backends.sql import decision_query
from engine.backends.sql.dialects import render
from engine.batch.inputs import Input, stage
from test_v3_sql_ir import Comparison, Operand, fact, list_fact, policy


def _policy():
    facts = {"tags": list_fact("tags", "string", enum=("cash", "card", "a%_'\\é"), maximum=3),
             "n": list_fact("n", "integer", item_min=0, minimum=1),
             "x": list_fact("x", "number", item_max=100.5),
             "b": list_fact("b", "boolean"),
             "k": fact("k", "integer")}
    return policy(facts, [Comparison("fact", "tags", "contains", Operand("cash"))])


GOOD = [
    ({"tags": ["cash", "a%_'\\é"], "n": [0, 5, 5], "x": [1.5, -0.0, 100.5, 7], "b": [True, False], "k": 1},
     (["cash", "a%_'\\é"], [0, 5, 5], [1.5, -0.0, 100.5, 7.0], [True, False])),
    ({"tags": [], "n": [9223372036854775807]}, ([], [9223372036854775807], None, None)),
    ({"k": 2}, (None, None, None, None)),  # (k: a CSV row of empty cells is no record)
]
FLAGGED = [  # (record, the fact flagged)
    {"tags": ["cash", None]}, {"tags": [["cash"]]}, {"tags": [1]}, {"tags": "cash"},
    {"n": [3.0]}, {"n": [10**19]}, {"n": [-2**63]}, {"n": ["1"]}, {"x": [True]}, {"b": [1]}, {"n": {"a": 1}},
]
REJECTED = [  # (record, the fact native names)
    ({"tags": ["cash", "crypto"]}, "tags"), ({"tags": ["cash"] * 4}, "tags"), ({"n": [-1]}, "n"),
    ({"n": []}, "n"), ({"x": [100.50001]}, "x"),
]


def _decide(con, pol, st):
    sql = render(decision_query(pol, source=st.table, type_error=True, row=True), "duckdb")
    cur = con.execute(sql + ' ORDER BY "__row"')
    return [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]


def _typed(con, st, pol):
    names = ", ".join(f'"{n}"' for n in ("tags", "n", "x", "b"))
    return con.execute(f'SELECT {names}, "__type_error" FROM {st.table} ORDER BY "__row"').fetchall()


def _csv_cell(v):
    if v is None:
        return ""
    text = json.dumps(v, ensure_ascii=False)
    return '"' + text.replace('"', '""') + '"'


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_list_facts_stage_flag_and_reject(tmp_path, fmt):
    pol = _policy()
    records = [g for g, _ in GOOD] + FLAGGED + [r for r, _ in REJECTED]
    if fmt == "parquet":  # typed LIST columns: the flagged values cannot be written as such
        records = [g for g, _ in GOOD] + [r for r, _ in REJECTED]
    path = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    elif fmt == "csv":
        cols = ["tags", "n", "x", "b", "k"]
        lines = [",".join(cols)] + [",".join(_csv_cell(r.get(c)) if c != "k" else str(r.get(c, ""))
                                             for c in cols) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"tags": pa.array([r.get("tags") for r in records], pa.list_(pa.string())),
                          "n": pa.array([r.get("n") for r in records], pa.list_(pa.int64())),
                          "x": pa.array([None if r.get("x") is None else [float(v) for v in r["x"]]
                                         for r in records], pa.list_(pa.float64())),
                          "b": pa.array([r.get("b") for r in records], pa.list_(pa.bool_())),
                          "k": pa.array([r.get("k") for r in records], pa.int64())})
        pq.write_table(table, path)
    con = duckdb.connect()
    st = stage(con, pol, Input(str(path), fmt), 0, None)
    typed = _typed(con, st, pol)
    for (_, want), got in zip(GOOD, typed):
        assert tuple(got[:4]) == want and got[4] is None
    rows = _decide(con, pol, st)
    for row in rows[:len(GOOD)]:
        assert row["__rejected"] is None
    assert rows[0]["flags"] == ["f0"] and rows[1]["flags"] == [] and rows[2]["undetermined_rules"] == ["r0"]
    rest = typed[len(GOOD):]
    if fmt != "parquet":
        flagged, rest = rest[:len(FLAGGED)], rest[len(FLAGGED):]
        for rec, got in zip(FLAGGED, flagged):
            assert got[4] in (next(iter(rec)), "(record)"), (rec, got)  # (nesting: the record)
    for (rec, name), row in zip(REJECTED, rows[len(rows) - len(REJECTED):]):
        assert row["__rejected"] == name, (rec, row["__rejected"])


def test_csv_list_cells_the_json_functions_would_misread_are_flagged(tmp_path):
    pol = policy({"t": list_fact("t", "string")}, [Comparison("fact", "t", "length", __import__(
        "engine.language.model", fromlist=["Length"]).Length("gte", Operand(1)))])
    cells = ['"[""a""]"', '"[NaN]"', '"[""\\u0001""]"', '" [""a""]"', '"[""a"""', '"[1e400]"', "cash", '"[]"', ""]
    path = tmp_path / "in.csv"
    path.write_text("t\n" + "\n".join(cells) + "\n", encoding="utf-8")
    con = duckdb.connect()
    st = stage(con, pol, Input(str(path), "csv"), 0, None)
    got = con.execute(f'SELECT "t", "__type_error" FROM {st.table} ORDER BY "__row"').fetchall()
    assert got[0] == (["a"], None)
    assert [e for _, e in got[1:7]] == ["t"] * 6
    assert got[7] == ([], None)
    assert len(got) == 8  # the empty cell alone on its line is a blank row: no record
