"""The v3 constructs through the DuckDB batch runner, byte for byte against native: a YAML
policy with list facts (strings, integers, numbers, booleans), string operators with
hostile operands, `{fact: …}` operands, derived facts, conditions on outputs, `combine:
list` and `count` outputs; generated records (boundary values, missing facts, hostile
strings, invalid items that native rejects with its message) in JSONL, CSV and Parquet;
the JSON lines of `verdict eval --backend duckdb` equal native's."""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path

import pytest

from engine.compile import compile_policy
from engine.errors import FactsError
from engine.evaluate import evaluate
from engine.explain import render as explain_render
from engine.language.loader import check_policy_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v3_sql"
AS_OF = datetime.date(2026, 12, 1)
HOSTILE = ["1%8", "1%80", "138", "'0%", "x'0%y", "_\\corp.cn", "a_\\corp.cn", "%", "_", "\\", "é", "😀", "", "00"]


def load(name: str):
    path = FIXTURES / name
    policy, diags = check_policy_bytes(path.read_bytes(), str(path))
    assert policy is not None, [str(d) for d in diags]
    return policy


def records(rnd: random.Random, n: int) -> list[dict]:
    tags = ["cash", "card", "bnpl", "a%_'\\é"]
    out = []
    for _ in range(n):
        r = {
            "product_tags": rnd.choice([None, [], ["cash"], ["cash", "card"], ["cash", "card", "a%_'\\é"],
                                        ["bnpl"] * 3, rnd.sample(tags, rnd.randint(0, 4))]),
            "linked_cards": rnd.choice([None, [], [0], [3, 0], [7]]),
            "coupons": rnd.choice([None, [10.5], [5, 10.5], [1.25, 2.5, 1000], []]),
            "flags_seen": rnd.choice([None, [], [True], [False, False]]),
            "phone": rnd.choice([None] + HOSTILE + [a + b for a in HOSTILE[:4] for b in HOSTILE[:4]]),
            "email": rnd.choice([None] + HOSTILE + ["me" + h for h in HOSTILE]),
            "home_city": rnd.choice(["shanghai", "beijing", "shenzhen"]),
            "work_city": rnd.choice([None, "shanghai", "beijing", "shenzhen"]),
            "monthly_income": rnd.choice([1, 1.5, 80.0, 81.0, 100, 5000.25, 100000]),
            "monthly_debt": rnd.choice([None, 0, 0.5, 40, 40.0, 0.6, 80.0, 81, 81.0, 99999.5, 100000]),
            "card_limit": rnd.choice([0, 1, 5000, 100000]),
            "loan_limit": rnd.choice([None, 0, 5000, 100000]),
            "min_limit": rnd.choice([0, 5000, 50000, 100000]),
        }
        if rnd.random() < 0.08:  # invalid items and lengths: native's rejections
            r[rnd.choice(["product_tags", "linked_cards", "coupons"])] = rnd.choice(
                [["crypto"], ["cash"] * 7, [-1], [1001], ["x"], [None], [[1]], "cash", [1.5]])
        out.append({k: v for k, v in r.items() if v is not None})
    return out


def native_lines(policy, recs):
    ruleset = compile_policy(policy)
    out = []
    for r in recs:
        try:
            d = evaluate(ruleset, r, trace=False, as_of=AS_OF, undeclared="ignore")
        except FactsError:
            continue
        out.append(explain_render.to_json(d, None, trace=False, indent=None))
    return out


def duckdb_lines(policy, path, tmp_path, capsys=None):
    from engine.batch.run import run_batch

    out = tmp_path / "out.jsonl"
    code = run_batch(compile_policy(policy), [str(path)], fmt="jsonl", lang=None, on_error="skip", output=str(out),
                     id_field=None, input_format=None, allow_empty=True, summary=False, as_of=AS_OF)
    assert code in (0, 2)
    return out.read_text(encoding="utf-8").splitlines()


def _write(path: Path, fmt: str, policy, recs):
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    elif fmt == "csv":
        import csv

        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            names = list(policy.facts)
            w.writerow(names)
            for r in recs:
                w.writerow(["" if r.get(n) is None else json.dumps(r[n], ensure_ascii=False)
                            if isinstance(r[n], list) else r[n] for n in names])
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}
        cols = {}
        for n, spec in policy.facts.items():
            if spec.type == "array":
                t = pa.list_(types[spec.items.type])
                vals = [[float(x) for x in r[n]] if spec.items.type == "number" and n in r else r.get(n) for r in recs]
            else:
                t = types[spec.type]
                vals = [float(r[n]) if spec.type == "number" and n in r else r.get(n) for r in recs]
            cols[n] = pa.array(vals, t)
        pq.write_table(pa.table(cols), path)


def _valid_for_parquet(policy, r) -> bool:
    """Records a typed Parquet file can hold (a list of lists or a string list is not one)."""
    py = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    for n, spec in policy.facts.items():
        v = r.get(n)
        if spec.type == "array" and v is not None:
            if not isinstance(v, list) or any(isinstance(x, bool) and spec.items.type != "boolean" or
                                              not isinstance(x, py[spec.items.type]) for x in v):
                return False
    return True


def sql_decided(policy, path, fmt) -> int:
    """How many records of the input the SQL form itself decides (no flag, no rejection)."""
    from engine.batch.inputs import Input, stage
    from engine.batch.run import connect, decision_sql

    con = connect()
    st = stage(con, policy, Input(str(path), fmt), 0, None)
    sql = decision_sql(policy, st.table, None, None, AS_OF)
    return con.execute(f'SELECT count(*) FROM ({sql}) WHERE "__rejected" IS NULL').fetchone()[0]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_duckdb_decisions_identical_to_native(tmp_path, fmt):
    policy = load("constructs.yaml")
    recs = records(random.Random(f"v3{fmt}"), 500)
    if fmt == "parquet":
        recs = [r for r in recs if _valid_for_parquet(policy, r)]
    if fmt == "csv":  # a CSV cell is text: a string fact's "" is a missing fact there
        recs = [{k: v for k, v in r.items() if v != ""} for r in recs]
    path = tmp_path / f"in.{fmt}"
    _write(path, fmt, policy, recs)
    if fmt == "parquet":  # a Parquet row is a record of its columns' Python values (as the recheck reads it)
        import duckdb

        cur = duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')")
        names = [d[0] for d in cur.description]
        want = native_lines(policy, [dict(zip(names, row)) for row in cur.fetchall()])
    elif fmt == "csv":
        from engine.io.records import open_records

        with open_records(str(path), policy, "csv") as rs:
            want = []
            ruleset = compile_policy(policy)
            for rec in rs:
                if rec.error is not None:
                    continue
                try:
                    d = evaluate(ruleset, rec.data, trace=False, as_of=AS_OF, undeclared="ignore")
                except FactsError:
                    continue
                want.append(explain_render.to_json(d, None, trace=False, indent=None))
    else:
        want = native_lines(policy, recs)
    got = duckdb_lines(policy, path, tmp_path)
    assert len(got) == len(want) and len(want) > 300
    assert sql_decided(policy, path, fmt) > 0.8 * len(want)  # not a native recheck of everything
    for g, w in zip(got, want):
        assert g == w
    outcomes = {json.loads(line)["outcome"] for line in got}
    offers = {o for line in got for o in json.loads(line)["outputs"]["offers"]}
    assert outcomes == {"decline", "review", "approve"}
    assert {"cash_plus", "card_plus", "bundle", "coupon", "low_dti"} <= offers


def test_sql_backend_per_record_matches_reference():
    """`--backend duckdb` per record (SqlBackend): list facts as LIST parameters, every rule's
    match equal to the reference evaluator's."""
    from engine.backends.sql.backend import SqlBackend
    from engine.runtime.facts import check_facts
    from engine.runtime.semantics import reference_matches

    policy = load("constructs.yaml")
    backend = SqlBackend(policy)
    facts = [check_facts(policy, r)[0] for r in records(random.Random(9), 200)
             if not [p for p in check_facts(policy, r)[1] if p.severity == "error"]]
    want = [reference_matches(policy, f, as_of=AS_OF) for f in facts]
    assert backend.rule_matches_many(facts, as_of=AS_OF) == want
    assert backend.rule_matches(facts[0], as_of=AS_OF) == want[0]


ITEM_TEXTS = {  # JSON texts of items, each spelled as a JSON writer may spell it
    "product_tags": ['"cash"', '"card"', '"bnpl"', '"a%_\'\\\\\\u00e9"', '"a%_\'\\\\é"', '"\\u0063ash"'],
    "linked_cards": ['0', '1', '7', '9223372036854775807', '1.0', '0.0', '3e0'],
    "coupons": ['1', '1.0', '-0', '-0.0', '1e2', '10.5', '10.50', '1.05e1', '5', '5.0', '1000', '0.1', '1e-7',
                '123.456789012345'],
    "flags_seen": ['true', 'false'],
}
WRONG_TEXTS = ['null', '[]', '{}', '"\\ud83d\\ude00"', '"😀"', '-9223372036854775808', '1e400', '1000.0000001', '"x"',
               'true', '1']


def test_hostile_json_items_identical_to_native(tmp_path):
    """List items in every JSON spelling (escapes, `10.50`, `1e2`, `-0.0`, `3e0` for an
    integer, surrogate pairs, nulls, nesting, out of range): the JSON lines and the
    rejections are native's."""
    import io

    from engine.io.records import Records

    rnd = random.Random(21)
    lines = []
    for _ in range(400):
        parts = ['"home_city": "shanghai"', '"monthly_income": 100', '"card_limit": 5', '"min_limit": 0']
        for fact, texts in ITEM_TEXTS.items():
            if rnd.random() < 0.6:
                items = ", ".join(rnd.choice(texts) if rnd.random() < 0.95 else rnd.choice(WRONG_TEXTS)
                                  for _ in range(rnd.randint(0, 3)))
                parts.append(f'"{fact}": [{items}]' if rnd.random() < 0.95 else f'"{fact}": {rnd.choice(WRONG_TEXTS)}')
        if rnd.random() < 0.5:
            parts.append('"phone": ' + rnd.choice(['"1%8x"', '"\\u0031%8"', '"1%8\\u0000"', '"x\'0%"', '"1%8"']))
        rnd.shuffle(parts)
        lines.append("{" + ", ".join(parts) + "}")
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = load("constructs.yaml")
    recs = [r.data for r in Records(io.BytesIO(path.read_bytes()), str(path), policy, "jsonl", True, False)
            if r.error is None]
    want = native_lines(policy, recs)
    got = duckdb_lines(policy, path, tmp_path)
    assert got == want and len(want) > 250
    assert sql_decided(policy, path, "jsonl") > 150
