"""The v3 constructs in Spark SQL, bounded (one local[2] session, a few hundred rows):
string operators, list operators and `length` on ARRAY columns, the fact-to-fact operand
and derived facts decided by `decide_dataframe` as the contract says (each rule raises a
flag: the flags are the leaves' values); JSON lines with list facts staged as typed ARRAY
columns or left to the native recheck (`__suspect`)."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from engine.batch import spark as S
from engine.language.model import Arith, Derived, Length, Ref
from test_v3_sql_ir import Comparison, Operand, fact, leaf_value, list_fact, policy

REASON = S.spark_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture(scope="module")
def spark():
    session = S.spark_session("local[2]", app_name="verdict-v3-tests")
    yield session
    session.stop()


def _policy():
    facts = {"s": fact("s", "string"), "t": list_fact("t", "string"), "n": list_fact("n", "integer"),
             "i": fact("i", "integer", minimum=-10**6, maximum=10**6), "x": fact("x", "number", minimum=-100,
                                                                              maximum=100)}
    leaves = [Comparison("fact", "s", op, Operand(p)) for op in ("starts_with", "ends_with", "contains")
              for p in ("%", "_", "a\\", "'", "é")]
    leaves += [Comparison("fact", "t", "contains", Operand("a_")), Comparison("fact", "n", "contains", Operand(2.5)),
               Comparison("fact", "n", "contains_any", Operand((3, 4.0))),
               Comparison("fact", "n", "contains_all", Operand((3, 4))),
               Comparison("fact", "n", "length", Length("gte", Operand(2)))]
    leaves += [Comparison("fact", "i", op, Operand(None, fact="x")) for op in ("lt", "eq", "gte")]
    leaves += [Comparison("derived", "half", op, Operand(v)) for op in ("lt", "eq") for v in (0.4, Decimal("0.25"))]
    derived = {"half": Derived("half", Arith("mul", (Ref("fact", "x"), Decimal("0.5"))))}
    return policy(facts, leaves, derived=derived)


def _records():
    rnd = random.Random(5)
    chars = ["a", "%", "_", "\\", "'", "é", "b"]
    out = []
    for _ in range(200):
        out.append({"s": rnd.choice([None, "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 4)))]),
                    "t": rnd.choice([None, (), ("a_",), ("ab", "a%")]),
                    "n": rnd.choice([None, (), (3,), (3, 4), (4, 4, 7)]),
                    "i": rnd.choice([None, 0, 1, 50, -3]),
                    "x": rnd.choice([None, 0.5, 0.8, 1.0, 50.0, -3.0, 0.25])})
    return out


def test_decide_dataframe_v3_leaves(spark):
    from pyspark.sql.types import ArrayType, DoubleType, LongType, StringType, StructField, StructType

    pol = _policy()
    records = _records()
    schema = StructType([StructField("__row", LongType()), StructField("s", StringType()),
                         StructField("t", ArrayType(StringType())), StructField("n", ArrayType(LongType())),
                         StructField("i", LongType()), StructField("x", DoubleType())])
    rows = [(k, r["s"], list(r["t"]) if r["t"] is not None else None, list(r["n"]) if r["n"] is not None else None,
             r["i"], r["x"]) for k, r in enumerate(records)]
    df = spark.createDataFrame(rows, schema)
    got = {r["__row"]: r for r in S.decide_dataframe(pol, df).collect()}
    for k, rec in enumerate(records):
        row = got[k]
        assert row["__rejected"] is None
        values = dict(rec)
        values["half"] = None if rec["x"] is None else Decimal(repr(rec["x"])) * Decimal("0.5")
        want_flags = sorted(f"f{i}" for i, r in enumerate(pol.rules) if leaf_value(r.when, values) is True)
        want_unknown = [f"r{i}" for i, r in enumerate(pol.rules) if leaf_value(r.when, values) is None]
        assert sorted(row["flags"]) == want_flags, rec
        assert list(row["undetermined_rules"]) == want_unknown, rec


def test_jsonl_list_facts_stage_typed_or_suspect(spark, tmp_path):
    from engine.batch.spark_inputs import stage_inputs

    pol = policy({"t": list_fact("t", "string"), "n": list_fact("n", "integer"), "x": list_fact("x", "number")},
                 [Comparison("fact", "t", "contains", Operand("a"))])
    lines = [{"t": ["a", "b"], "n": [1, 2]}, {"t": "a"}, {"t": ["a", None]}, {"n": [1.5]}, {"x": [1.5]},
             {"x": [1e-05, 2]}, {"t": []}, {}, {"x": [1e300]}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    staged = stage_inputs(spark, pol, [str(path)])
    rows = sorted(staged.facts.collect(), key=lambda r: r["__row"])
    assert (rows[0]["t"], rows[0]["n"], rows[0]["__suspect"], rows[0]["__type_error"]) == (["a", "b"], [1, 2], False,
                                                                                           None)
    assert rows[1]["__type_error"] == "t"  # a string where a list goes: native's message
    assert [r["__suspect"] for r in rows[2:5]] == [True, True, True]  # a null item; 1.5 for an integer; a DECIMAL
    assert rows[5]["x"] == [1e-05, 2.0] and not rows[5]["__suspect"]
    assert rows[7]["t"] is None and not rows[7]["__suspect"] and rows[7]["__type_error"] is None
    assert rows[8]["__suspect"]  # beyond 2^53, as a scalar number fact: native keeps an integral one exact


def test_spark_batch_jsonl_identical_to_native(spark, tmp_path):
    """Every supported v3 construct (tests/fixtures/v3_sql/constructs.yaml) through the Spark
    runner: its JSON lines equal native's byte for byte."""
    from engine.compile import compile_policy
    from test_v3_sql_batch import AS_OF, load, native_lines, records

    policy = load("constructs.yaml")
    recs = records(random.Random("spark"), 250)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = S.run_eval(compile_policy(policy), [str(path)], output=str(out), on_error="skip", master="local[2]",
                      summary=False, as_of=AS_OF, echo=lambda line: None)
    assert code in (0, 2)
    got = out.read_text(encoding="utf-8").splitlines()
    assert got == native_lines(policy, recs)


def test_spark_first_table_of_60_rows_identical_to_native(spark, tmp_path):
    """The 60-row `hit: first` table (tests/test_v3_sql_yamltables.py) in Spark: each
    restated row computed once there too; JSON lines byte-identical to native's."""
    import time

    from engine.compile import compile_policy
    from engine.language.loader import check_policy_bytes
    from test_v3_sql_batch import AS_OF, native_lines
    from test_v3_sql_yamltables import records as table_records, table_policy

    text = table_policy()
    policy, _ = check_policy_bytes(text.encode(), str(tmp_path / "tables.yaml"))
    recs = table_records(random.Random(61), 300)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    t0 = time.perf_counter()
    code = S.run_eval(compile_policy(policy), [str(path)], output=str(out), on_error="skip", master="local[2]",
                      summary=False, as_of=AS_OF, echo=lambda line: None)
    took = time.perf_counter() - t0
    assert code == 0
    assert out.read_text(encoding="utf-8").splitlines() == native_lines(policy, recs)
    assert took < 120, took
