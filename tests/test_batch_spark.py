"""Spark (`engine.batch.spark`) decides as the native path does: every example policy on
its test-suite facts, boundary values, missing optional facts and invalid records, JSON
lines byte for byte and decisions field by field, rejections with the native message;
CSV and Parquet inputs; the DataFrame API. One local[2] session for the whole file,
started here, offline (see docs/spark.md for the settings)."""

from __future__ import annotations

import glob
import io
import json
import random
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from engine.backends.sql.decimals import NATIVE
from factgen import AS_OF

from engine.batch import spark as S

REASON = S.spark_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

POLICIES = sorted(p for p in glob.glob("policies/*.yaml") if not p.endswith(".test.yaml"))
_RULESETS: dict = {}


def ruleset(path):
    from engine.compile import compile_policy
    from engine.io.policies import load_policy

    if path not in _RULESETS:
        _RULESETS[path] = compile_policy(load_policy(path))
    return _RULESETS[path]


@pytest.fixture(scope="module")
def spark():
    session = S.spark_session("local[2]", app_name="verdict-tests")
    yield session
    session.stop()


# -- the records: suites, boundaries, missing facts, invalid ones --------------------------

def suite_records(path: str) -> list[dict]:
    from engine.io.policies import check_policy_file, read_file
    from engine.suites.load import load_suites

    test = path[:-len(".yaml")] + ".test.yaml"
    suites, _ = load_suites([test], read_file, check_policy_file)
    return [dict(c.record) for s in suites for c in s.cases]


def boundary_records(policy, base: dict) -> list[dict]:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from factgen import boundary_points

    out = []
    for name, spec in policy.facts.items():
        points = boundary_points(policy, name) if spec.numeric else [
            p.isoformat() for p in boundary_points(policy, name)] if spec.type == "date" else (
            list(spec.enum) if spec.enum else [True, False] if spec.type == "boolean" else ["x", "其他"])
        for p in points:
            out.append({**base, name: p})
        if not spec.required or spec.has_default:
            out.append({k: v for k, v in base.items() if k != name})  # missing: unknown or default
    rng = random.Random(12)
    names = list(policy.facts)
    for _ in range(150):  # combinations of boundary values
        rec = dict(base)
        for name in rng.sample(names, min(4, len(names))):
            spec = policy.facts[name]
            if spec.numeric or spec.type == "date":
                pts = boundary_points(policy, name)
                if pts:
                    rec[name] = rng.choice(pts)
                    if spec.type == "date":
                        rec[name] = rec[name].isoformat()
            elif spec.enum:
                rec[name] = rng.choice(spec.enum)
            elif spec.type == "boolean":
                rec[name] = rng.random() < 0.5
        out.append(rec)
    return out


def invalid_lines(policy, base: dict) -> list[str]:
    """Raw JSON lines native rejects (or reads specially): each must come out exactly so."""
    facts = policy.facts
    ints = [n for n, s in facts.items() if s.type == "integer"]
    nums = [n for n, s in facts.items() if s.type == "number"]
    strs = [n for n, s in facts.items() if s.type == "string"]
    enums = [n for n, s in facts.items() if s.enum]
    required = [n for n, s in facts.items() if s.required and not s.has_default]
    lines = []
    dump = lambda r: json.dumps(r, ensure_ascii=False)  # noqa: E731
    for n in ints[:3]:
        lines += [dump({**base, n: "700"}), dump({**base, n: 700.5}), dump({**base, n: True}),
                  dump({**base, n: 720.0}), dump({**base, n: 10 ** 20}), dump({**base, n: [1]}),
                  json.dumps({**base, n: 1})[:-1] + f', "{n}": 2}}']  # a duplicate key
        if facts[n].minimum is not None:
            lines.append(dump({**base, n: facts[n].minimum - 1}))
        if facts[n].maximum is not None:
            lines.append(dump({**base, n: facts[n].maximum + 1}))
    for n in nums[:3]:
        lines += [dump({**base, n: "0.5"}), dump({**base, n: 1e-5}), dump({**base, n: 123456789.25}),
                  dump({**base, n: 2 ** 60}), dump({**base, n: 0.8444218515250481}),
                  json.dumps({**base, n: 1})[:-1].replace(f'"{n}": 1', f'"{n}": 1e400') + "}",
                  dump({**base, n: 7e2})]
    for n in strs[:2]:
        lines += [dump({**base, n: 5}), json.dumps({**base, n: "\ud83c"}), json.dumps({**base, n: "caf\u00e9"})]
    for n in enums[:1]:
        lines.append(dump({**base, n: "diamond"}))
    for n in required[:2]:
        lines.append(dump({k: v for k, v in base.items() if k != n}))
    lines += ['{"a": 1', "[1, 2]", "null", dump({**base, "user_id": 7}), "\u00a0",
              dump({**base, "x": "\ufffd"})]
    return lines


def write_jsonl(path: Path, records: list[dict], raw: list[str]) -> None:
    text = "\ufeff" + "\n".join([json.dumps(r, ensure_ascii=False) for r in records] + raw + ["", "  "]) + "\n"
    path.write_text(text, encoding="utf-8")


def native_run(rs, paths, **kw) -> tuple[int, str, str]:
    """`verdict eval` natively: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from engine.cli import main

    args = ["eval", "-p", rs_path(rs), *map(str, paths), "--format", "jsonl"]
    kw.setdefault("as_of", AS_OF)  # what spark_run decides on: one day, even across midnight
    for k, v in kw.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    res = CliRunner().invoke(main, args)
    return res.exit_code, res.stdout, res.stderr


def rs_path(rs) -> str:
    return next(p for p, r in _RULESETS.items() if r is rs)


def spark_run(spark, rs, paths, tmp_path: Path, **kw) -> tuple[int, str, str]:
    out = tmp_path / "spark-out.jsonl"
    err = io.StringIO()
    kw.setdefault("as_of", AS_OF)
    with redirect_stderr(err):
        code = S.run_eval(rs, [str(p) for p in paths], output=str(out), spark=spark, **kw)
    return code, out.read_text(encoding="utf-8") if out.exists() else "", err.getvalue()


# -- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", POLICIES)
def test_policy_jsonl_byte_identical(spark, path, tmp_path):
    """Suite facts, boundary values, missing facts and invalid records: the JSON lines of
    Spark are native's byte for byte, the rejected records the same with the same message."""
    rs = ruleset(path)
    records = suite_records(path)
    assert records, f"no test cases for {path}"
    base = records[0]
    records += boundary_records(rs.policy, base)
    src = tmp_path / "facts.jsonl"
    write_jsonl(src, records, invalid_lines(rs.policy, base))
    n_code, n_out, n_err = native_run(rs, [src], on_error="skip")
    s_code, s_out, s_err = spark_run(spark, rs, [src], tmp_path, on_error="skip")
    assert (s_code, n_code) == (0, 0), s_err
    assert n_out.count("\n") >= len(records)
    assert s_out == n_out
    assert s_err.splitlines() == n_err.splitlines()


def _shows_derived(policy, rule) -> bool:
    """Whether the rule's message shows a derived fact (the SQL form leaves such records to native)."""
    from engine.language.templates import template_names
    texts = (rule.then.message or {}).values()
    return any(str(f) in policy.derived for t in texts for f in template_names(t)[0])


def _valid(rs, record) -> bool:
    from engine.errors import FactsError
    from engine.evaluate import evaluate
    try:
        evaluate(rs, record, as_of=AS_OF)
    except FactsError:
        return False
    return True


def test_decisions_field_by_field(spark):
    """decide_dataframe over a typed DataFrame equals decision_dict field by field."""

    from engine.batch.spark_frames import spark_type
    from engine.evaluate import evaluate
    from engine.explain.render import decision_dict
    from engine.language.values import parse_date

    for path in POLICIES:
        rs = ruleset(path)
        records = suite_records(path)
        records += boundary_records(rs.policy, records[0])[:60]
        records = [r for r in records if _valid(rs, r)]  # (the boundary points know no list facts)
        policy = rs.policy
        schema = ", ".join(f"`{n}` {spark_type(s)}" for n, s in policy.facts.items())
        rows = [tuple(float(r[n]) if s.type == "number" and r.get(n) is not None
                      else parse_date(r[n]) if s.type == "date" and isinstance(r.get(n), str) else r.get(n)
                      for n, s in policy.facts.items()) + (i,) for i, r in enumerate(records, 1)]
        df = spark.createDataFrame(rows, schema + ", uid BIGINT")
        got = {r["uid"]: r.asDict(recursive=True)
               for r in S.decide_dataframe(rs, df, id_field="uid", as_of=AS_OF).collect()}
        assert len(got) == len(records)
        for i, rec in enumerate(records, 1):
            want = decision_dict(evaluate(rs, rec, as_of=AS_OF), trace=False)
            want.pop("as_of", None)  # the query's evaluation date, not a column of decide_dataframe
            row = got[i]
            if row["__rejected"] == NATIVE:  # left to native code, as documented (a derived quotient shown)
                matched = evaluate(rs, rec, as_of=AS_OF).matched
                assert any(m and _shows_derived(policy, r) for r, m in zip(policy.rules, matched))
                continue
            assert row["__rejected"] is None
            for key, value in want.items():
                if key == "outputs":
                    assert row["outputs"] == value, (path, i, key)
                else:
                    assert row[key] == value, (path, i, key, row[key], value)
            if "messages" not in want:
                assert row["messages"] == []
            if "principal_reasons" not in want:
                assert row["principal_reasons"] == []


def test_dataframe_rejects_as_native(spark):
    """A wrong type, an out-of-range value, an unknown enum value, a missing required fact,
    NaN: `__rejected` names the first fact native names, and the decision columns are NULL."""
    from engine.errors import FactsError
    from engine.evaluate import evaluate

    rs = ruleset("policies/double11-coupon.yaml")
    policy = rs.policy
    base = suite_records("policies/double11-coupon.yaml")[0]
    bad = [{**base, "credit_score": 200}, {**base, "membership": "diamond"}, {**base, "membership": None},
           {**base, "overdue_days": -1}, {**base, "monthly_spend": float("nan")},
           {**base, "overdue_days": -1, "membership": "x"}]
    good = {k: v for k, v in base.items() if k != "frozen"}  # a default applies
    names = [n for n in policy.facts if n != "account_age_days"]
    # account_age_days, an integer fact, as a DOUBLE column: 400.0 is the integer 400 (as in
    # native), 400.5 is a type error
    schema = ", ".join(f"`{n}` {S._SPARK_TYPES[policy.facts[n].type]}" for n in names) + ", account_age_days DOUBLE"
    conv = lambda n, v: float(v) if v is not None and policy.facts[n].type == "number" else v  # noqa: E731
    rows = [tuple(conv(n, r.get(n)) for n in names) + (float(r.get("account_age_days")),) for r in bad + [good]]
    rows.append(tuple(conv(n, base.get(n)) for n in names) + (400.5,))
    out = S.decide_dataframe(rs, spark.createDataFrame(rows, schema)).collect()
    assert len(out) == len(rows)
    for rec, r in zip(bad, out):
        with pytest.raises(FactsError) as info:
            evaluate(rs, rec)
        assert r["__rejected"] == info.value.problems[0].fact
        assert r["outcome"] is None and r["reasons"] is None and r["outputs"] is None
    decided = out[len(bad)].asDict(recursive=True)
    native = evaluate(rs, good)
    assert decided["__rejected"] is None and decided["outcome"] == native.outcome
    assert decided["missing_facts"] == list(native.missing_facts)
    assert out[-1]["__rejected"] == "account_age_days" and out[-1]["outcome"] is None
    with pytest.raises(FactsError):
        evaluate(rs, {**base, "account_age_days": 400.5})
    # a string column where a number is declared: every non-NULL value is a type error
    strings = spark.createDataFrame([("700",), (None,)], "credit_score STRING")
    got = [r["__rejected"] for r in S.decide_dataframe(rs, strings).collect()]
    assert got[0] == "credit_score" and got[1] == "credit_score"  # NULL: a missing required fact


def test_csv_and_parquet_inputs(spark, tmp_path):
    """CSV (cells converted by the declared types, quotes and bad cells rechecked natively)
    and Parquet give native's decisions; Parquet and CSV outputs hold the same decisions."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = "policies/double11-coupon.yaml"
    rs = ruleset(path)
    records = suite_records(path)
    records += boundary_records(rs.policy, records[0])[:80]
    names = list(rs.policy.facts) + ["user_id"]
    src = tmp_path / "facts.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for i, r in enumerate(records):
            w.writerow(["" if r.get(n) is None else str(r[n]).lower() if isinstance(r.get(n), bool) else r.get(n)
                        for n in names[:-1]] + [f"u{i}"])
        w.writerow(["abc"] + [""] * (len(names) - 1))                     # not an integer
        w.writerow(["720.0", "0", "0", "gold", "1e3", "400", "yes", "0", " 0.5", "u-x"])  # native conversions
        w.writerow(["700", "0", "0", '"gold"', "10", "400", "no", "0", "0.1", "u, quoted"])
        w.writerow([""] * len(names))                                      # blank row: skipped
        fh.write("700,0\n")                                                # too few cells
    n_code, n_out, n_err = native_run(rs, [src], on_error="skip", id="user_id")
    s_code, s_out, s_err = spark_run(spark, rs, [src], tmp_path, on_error="skip", id_field="user_id")
    assert (s_code, n_code) == (0, 0), s_err
    assert s_out == n_out and n_out
    assert s_err.splitlines() == n_err.splitlines()

    # Parquet: typed columns; the decisions equal native's on the same records
    table = pa.table({n: pa.array([r.get(n) for r in records],
                                  type={"integer": pa.int64(), "number": pa.float64(), "string": pa.string(),
                                        "boolean": pa.bool_()}[s.type])
                      for n, s in rs.policy.facts.items()} | {"uid": pa.array(range(len(records)))})
    pq.write_table(table, tmp_path / "facts.parquet")
    out = tmp_path / "decisions.parquet"
    err = io.StringIO()
    with redirect_stderr(err):
        code = S.run_eval(rs, [str(tmp_path / "facts.parquet")], output=str(out), id_field="uid", spark=spark)
    assert code == 0, err.getvalue()
    from engine.evaluate import evaluate
    from engine.explain.render import decision_dict

    got = pq.read_table(out).to_pylist()
    assert len(got) == len(records)
    for i, (rec, row) in enumerate(zip(records, got)):
        want = {"record_id": i, **decision_dict(evaluate(rs, rec), trace=False)}
        for key, value in want.items():
            assert row[key] == value, (i, key)
    csv_out = tmp_path / "decisions.csv"
    with redirect_stderr(io.StringIO()):
        assert S.run_eval(rs, [str(tmp_path / "facts.parquet")], output=str(csv_out), id_field="uid",
                          spark=spark) == 0
    rows = list(csv.DictReader(open(csv_out, encoding="utf-8")))
    assert len(rows) == len(records)
    assert json.loads(rows[0]["decided_by"]) == decision_dict(evaluate(rs, records[0]))["decided_by"]


def test_on_error_fail_stops_like_native(spark, tmp_path):
    rs = ruleset("policies/double11-coupon.yaml")
    base = suite_records("policies/double11-coupon.yaml")[0]
    src = tmp_path / "facts.jsonl"
    write_jsonl(src, [base, base], ['{"credit_score": "high"}', json.dumps(base)])
    n_code, _, n_err = native_run(rs, [src], output=str(tmp_path / "n.jsonl"))
    s_code, s_out, s_err = spark_run(spark, rs, [src], tmp_path)
    assert (s_code, n_code) == (2, 2)
    assert s_out == "" and not (tmp_path / "spark-out.jsonl").exists()
    assert s_err.replace(str(tmp_path / "spark-out.jsonl"), "OUT") == n_err.replace(str(tmp_path / "n.jsonl"), "OUT")


def test_java_double_text_measured(spark):
    """The range where Spark's text of a double (a message's `{number_fact}`) is Python's
    repr: records outside it are decided natively (java_text_differs); checked here."""
    import struct

    rng = random.Random(3)
    vals = [rng.uniform(0.001, 1e7) for _ in range(3000)] + [round(rng.uniform(0.001, 1e7), 2) for _ in range(2000)]
    vals += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(2000)]
    vals = [v for v in vals if v == v and abs(v) != float("inf")]
    df = spark.createDataFrame([(i, v) for i, v in enumerate(vals)], "i BIGINT, v DOUBLE")
    rows = df.selectExpr("i", "CAST(v AS STRING) AS t", f"{S.java_text_differs('v')} AS differs").collect()
    for r in rows:
        v = vals[r["i"]]
        python = str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)
        assert r["differs"] == (not S._python_text_safe(v))
        if not r["differs"]:
            assert (str(int(v)) if v == int(v) else r["t"]) == python, v


def test_missing_inputs_are_one_line(spark, tmp_path):
    from engine.errors import BackendError

    rs = ruleset("policies/double11-coupon.yaml")
    with pytest.raises(BackendError, match="no such file"):
        S.run_eval(rs, [str(tmp_path / "none.jsonl")], spark=spark)
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    err = io.StringIO()
    with redirect_stderr(err):
        code = S.run_eval(rs, [str(tmp_path / "empty.jsonl")], spark=spark)
    assert code == 2 and "no records" in err.getvalue()


def test_cli_backend_spark(spark, tmp_path):
    """`verdict eval --backend spark --master local[2] … -o out.jsonl` writes what native
    writes (the session of this file is the active one, so the CLI reuses it)."""
    from click.testing import CliRunner

    from engine.cli import main

    path = "policies/risk-alerts.yaml"
    rs = ruleset(path)
    records = suite_records(path)
    src = tmp_path / "facts.jsonl"
    write_jsonl(src, records + [{**records[0], "uid": "u1"}], ['{"broken": '])
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(main, ["eval", "-p", path, "--backend", "spark", "--master", "local[2]", str(src),
                                    "-o", str(out), "--on-error", "skip"])
    n_code, n_out, n_err = native_run(rs, [src], on_error="skip")
    assert (res.exit_code, n_code) == (0, 0), res.stderr
    assert out.read_text(encoding="utf-8") == n_out
    assert res.stderr.splitlines() == n_err.splitlines()
    usage = CliRunner().invoke(main, ["eval", "-p", path, "--master", "local[2]", str(src)])
    assert usage.exit_code == 2 and "--master" in usage.stderr


@pytest.mark.parametrize("missing", ["java", "pyspark"])
def test_missing_spark_is_one_line(missing, tmp_path):
    """No Java on PATH, or no PySpark: one line naming what is missing (and the install
    hint for PySpark), exit 2, no traceback."""
    import os
    import subprocess
    import sys

    src = tmp_path / "facts.jsonl"
    src.write_text('{"credit_score": 700}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    code = "import sys; from engine.cli import main; sys.exit(main())"
    if missing == "java":
        env["PATH"] = os.path.dirname(sys.executable)
    else:
        code = "import sys; sys.modules['pyspark'] = None; " + code
    res = subprocess.run([sys.executable, "-c", code, "eval", "-p", "policies/double11-coupon.yaml",
                          "--backend", "spark", str(src)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert ("Java" in lines[0]) if missing == "java" else (S.INSTALL_HINT in lines[0])


MINI = Path("tests/fixtures/valid/minimal.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("variant", ["int-number-output", "mixed-number-output", "number-fact-in-message"])
def test_number_text_policies(spark, tmp_path, variant):
    """Number outputs whose native value is an int (JSON `50`, SQL DOUBLE 50.0), outputs
    whose kind depends on the rules (decided natively), and a number fact shown in a
    message at values Java writes otherwise than Python: all byte-identical to native."""
    text = MINI
    if variant != "number-fact-in-message":
        default = "0" if variant == "int-number-output" else "0.5"
        text = text.replace("coupon_yuan: {type: integer, default: 0}", f"coupon_yuan: {{type: number, default: {default}}}")
    else:
        text = (text.replace("credit_score: {type: integer, minimum: 300, maximum: 950}",
                             "credit_score: {type: number}")
                .replace("min_credit_score: 600", "min_credit_score: 600.5"))
    policy_path = tmp_path / "p.yaml"
    policy_path.write_text(text, encoding="utf-8")
    path = str(policy_path)
    rs = ruleset(path)
    scores = [700, 599, 300, 950, 650] if variant != "number-fact-in-message" else \
        [700, 599, 1e-5, 123.25, 1e20, -3e-7, 1e7, 600.25, 1e15, 2 ** 60, 0.1, 599.0]
    records = [{"credit_score": s, "membership": m} for s in scores for m in ("basic", "silver", "gold")]
    src = tmp_path / "facts.jsonl"
    write_jsonl(src, records, [])
    n_code, n_out, n_err = native_run(rs, [src], on_error="skip")
    s_code, s_out, s_err = spark_run(spark, rs, [src], tmp_path, on_error="skip")
    assert (s_code, n_code) == (0, 0), s_err
    assert s_out == n_out and n_out.count("\n") >= 10
    assert s_err.splitlines() == n_err.splitlines()


# -- --undeclared ignore|warn-once|refuse, as native (JSONL, CSV) and DuckDB (Parquet) ----------

def undeclared_inputs(tmp_path: Path):
    """A JSONL and a CSV input whose records carry keys no fact declares (in varying order,
    with values Spark reads and values it hands back to native), the `--id` field `uid`
    (never undeclared), records that are rejected for their facts or before them; and a
    Parquet file with an undeclared column."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = "policies/double11-coupon.yaml"
    rs = ruleset(path)
    policy = rs.policy
    records = suite_records(path)[:12]
    base = records[0]
    first_int = next(n for n, s in policy.facts.items() if s.type == "integer")
    rows = []
    for i, r in enumerate(records):
        extra = {}
        if i % 3 == 1:
            extra = {"zeta": i, "alpha": "x"}       # zeta before alpha: the order first seen
        elif i % 3 == 2:
            extra = {"alpha": [i], "beta": {"n": i}}
        rows.append({**r, "uid": f"u{i}", **extra})
    raw = [json.dumps({**base, "uid": "bad", "gamma": 1, first_int: "seven"}),  # undeclared + a type error
           json.dumps({**base, "gamma": 2}),                                   # no --id: rejected before
           json.dumps({**base, "uid": "nul", "delta": "\ufffd"}),               # a suspect: decided natively
           '{"uid": "broken", "epsilon": ',                                    # malformed: no keys to count
           json.dumps({**base, "uid": 7})]                                     # no undeclared key, an int id
    src = tmp_path / "u.jsonl"
    write_jsonl(src, rows, raw)
    names = list(policy.facts) + ["uid", "note"]
    csv_src = tmp_path / "u.csv"
    with open(csv_src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for i, r in enumerate(records[:6]):
            w.writerow(["" if r.get(n) is None else str(r[n]).lower() if isinstance(r.get(n), bool) else r.get(n)
                        for n in names[:-2]] + [f"c{i}", "hello"])
    kinds = {"integer": pa.int64(), "number": pa.float64(), "string": pa.string(), "boolean": pa.bool_()}
    table = pa.table({n: pa.array([r.get(n) for r in records], type=kinds[s.type]) for n, s in policy.facts.items()}
                     | {"uid": pa.array(range(len(records))), "note": pa.array(["n"] * len(records))})
    pq_src = tmp_path / "u.parquet"
    pq.write_table(table, pq_src)
    return rs, path, src, csv_src, pq_src


@pytest.mark.parametrize("mode", ["warn-once", "ignore", "refuse"])
def test_undeclared_modes_as_native(spark, tmp_path, mode):
    """`--undeclared MODE` on `--backend spark`: JSON lines byte for byte and stderr line for
    line as native (JSONL then CSV, one run: the one warning names the first record and
    every key in the order first seen, and counts the records; no `"warnings"` field),
    Parquet as the DuckDB runner (the same labels, `file:row`); `refuse` with
    `--on-error fail`: exit 2, `-o` not written, the native message."""
    from click.testing import CliRunner

    from engine.cli import main

    rs, path, src, csv_src, pq_src = undeclared_inputs(tmp_path)
    n_code, n_out, n_err = native_run(rs, [src, csv_src], on_error="skip", id="uid", undeclared=mode)
    s_code, s_out, s_err = spark_run(spark, rs, [src, csv_src], tmp_path, on_error="skip", id_field="uid",
                                     undeclared=mode)
    assert (s_code, n_code) == (0, 0), s_err
    assert s_out == n_out and '"warnings"' not in s_out
    assert s_err.splitlines() == n_err.splitlines()
    warning = [x for x in n_err.splitlines() if "undeclared fact" in x and "ignored" in x]
    if mode == "warn-once":
        assert warning == [f"verdict: warning: {src}:2: undeclared facts `zeta`, `alpha`, `beta`, `gamma`, "
                           f"`delta`, `note` ignored (in 16 records)"], n_err
    else:
        assert warning == []
    assert ("refused" in n_err) == (mode == "refuse")

    # Parquet (native does not read it): as the DuckDB runner, decisions and stderr
    # (every Parquet row has `note`: with `refuse` none is decided, which --allow-empty accepts)
    d_out = tmp_path / "d.jsonl"
    d = CliRunner().invoke(main, ["eval", "-p", path, "--backend", "duckdb", str(pq_src), "--id", "uid",
                                  "--on-error", "skip", "--undeclared", mode, "--allow-empty", "-o", str(d_out)])
    s_code, s_out, s_err = spark_run(spark, rs, [pq_src], tmp_path, on_error="skip", id_field="uid",
                                     undeclared=mode, allow_empty=True)
    assert (s_code, d.exit_code) == (0, 0), (s_err, d.stderr)
    assert s_out == d_out.read_text(encoding="utf-8")
    assert s_err.splitlines() == d.stderr.splitlines()
    if mode == "refuse":  # without it: the same refusal of the run on both
        d = CliRunner().invoke(main, ["eval", "-p", path, "--backend", "duckdb", str(pq_src), "--id", "uid",
                                      "--on-error", "skip", "--undeclared", mode, "-o", str(d_out)])
        s_code, s_out, s_err = spark_run(spark, rs, [pq_src], tmp_path, on_error="skip", id_field="uid",
                                         undeclared=mode)
        assert (s_code, d.exit_code) == (2, 2)
        assert s_err.replace("spark-out.jsonl", "OUT") == d.stderr.replace("d.jsonl", "OUT")
        assert "verdict: no record decided: all " in s_err
    if mode == "refuse":
        assert s_err.splitlines()[0] == f"verdict: {pq_src}:1: undeclared fact `note` refused"
        # --on-error fail, through the CLI (dispatch passes --undeclared): stops as native
        n_code, _, n_err = native_run(rs, [src], id="uid", undeclared=mode, output=str(tmp_path / "n.jsonl"))
        out = tmp_path / "s.jsonl"
        res = CliRunner().invoke(main, ["eval", "-p", path, "--backend", "spark", str(src), "--id", "uid",
                                        "--undeclared", mode, "-o", str(out)])
        assert (res.exit_code, n_code) == (2, 2) and not out.exists()
        assert res.stderr.replace(str(out), "OUT").splitlines() == \
            n_err.replace(str(tmp_path / "n.jsonl"), "OUT").splitlines()
        assert res.stderr.splitlines()[0] == (f"verdict: {src}:2: undeclared fact `zeta` refused; "
                                              "undeclared fact `alpha` refused")


def test_csv_quoted_line_break_as_native(spark, tmp_path):
    """A quoted CSV cell that holds a line break: the record spans lines (labelled by the
    line it ends on, as native); such an input is read by the native reader as a whole."""
    import csv

    path = "policies/double11-coupon.yaml"
    rs = ruleset(path)
    base = suite_records(path)[0]
    names = list(rs.policy.facts)
    cells = ["" if base.get(n) is None else str(base[n]).lower() if isinstance(base.get(n), bool) else base[n]
             for n in names]
    src = tmp_path / "ml.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names + ["uid"])
        w.writerows([cells + ["one\ntwo"], cells + ["plain"], cells + ['a\n\nb,"c"\nd'], ["abc"] + cells[1:] + ["x"]])
    n_code, n_out, n_err = native_run(rs, [src], on_error="skip", id="uid")
    s_code, s_out, s_err = spark_run(spark, rs, [src], tmp_path, on_error="skip", id_field="uid")
    assert (s_code, n_code) == (0, 0), s_err
    assert s_out == n_out and n_out.count("\n") == 3
    assert s_err.splitlines() == n_err.splitlines()
