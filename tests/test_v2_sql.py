"""The SQL form of the v2 constructs (presence tests, date facts, relative dates on `as_of`,
computed outputs, formatted messages): DuckDB batch decisions byte-identical to native's on
generated records at several evaluation dates (JSONL, CSV and Parquet inputs), PostgreSQL
rows equal to native's, one Spark run, the exact decimal pieces against Python's decimal,
the refusals (`SqlLimitError`), the warehouse dialects rendered, the batch diff's output
totals equal to the native path's."""

from __future__ import annotations

import datetime
import decimal
import json
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from sqlglot import exp

from engine.backends.sql import decimals as dec
from engine.backends.sql.dialects import render
from engine.backends.sql.query import decision_query
from engine.compile import compile_policy
from engine.errors import FactsError, SqlLimitError
from engine.evaluate import evaluate
from engine.explain import render as explain_render
from engine.language.loader import check_policy_bytes
from engine.language.model import Rounding
from engine.language.values import format_field

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v2_sql"
AS_OF = (datetime.date(2026, 12, 1), datetime.date(2027, 3, 1), datetime.date(2024, 2, 29))
WAREHOUSES = ("bigquery", "snowflake", "trino")


def load(name: str):
    path = FIXTURES / name
    policy, diags = check_policy_bytes(path.read_bytes(), str(path))
    assert policy is not None, [str(d) for d in diags]
    return policy


# -- native's JSON lines -------------------------------------------------------------------

def native_lines(policy, records, as_of, lang=None):
    ruleset = compile_policy(policy)
    out = []
    for r in records:
        try:
            d = evaluate(ruleset, r, trace=False, as_of=as_of, undeclared="ignore")
        except FactsError:
            continue
        out.append(explain_render.to_json(d, lang, trace=False, indent=None))
    return out


# -- generated records -----------------------------------------------------------------------

def _day(rnd, as_of, spread=500):
    return (as_of + datetime.timedelta(days=rnd.randint(-spread, spread))).isoformat()


def _money(rnd, top, places=2):
    v = round(rnd.uniform(0, top), rnd.choice([0, 1, 2, places]))
    return int(v) if rnd.random() < 0.2 else v


BAD_DATES = ["2026-02-30", "2026-1-05", "20260105", "2026-13-01", "0000-01-01", " 2026-01-05", 20260105, True, ""]


def cash_loan_records(rnd, n, as_of):
    out = []
    for _ in range(n):
        r = {"credit_score": rnd.choice([rnd.randint(300, 950), 549, 550, 679, 680]),
             "overdue_days": rnd.choice([0, 0, 0, rnd.randint(1, 90), 60, 61]),
             "account_age_days": rnd.choice([rnd.randint(0, 400), 89, 90]),
             "membership": rnd.choice(["basic", "silver", "gold"]),
             "current_limit_yuan": rnd.choice([_money(rnd, 200000), 5123.45, 100000, 0, 199999.99, 1000000])}
        k = rnd.random()
        if k < 0.3:
            pass  # never overdue
        elif k < 0.9:
            r["last_overdue_date"] = rnd.choice([_day(rnd, as_of), (as_of - datetime.timedelta(days=180)).isoformat(),
                                                 (as_of - datetime.timedelta(days=181)).isoformat()])
        else:
            r["last_overdue_date"] = rnd.choice(BAD_DATES)
        if rnd.random() < 0.3:
            r["fraud_suspected"] = rnd.random() < 0.3
        if rnd.random() < 0.05:  # more places than the decimal holds exactly: decided natively
            r["current_limit_yuan"] = rnd.choice([5123.456789012, 0.1 + 0.2, 1234.5678901234])
        if rnd.random() < 0.03:
            r[rnd.choice(["credit_score", "current_limit_yuan", "overdue_days"])] = rnd.choice([-1, 2000000, "x"])
        out.append(r)
    return out


def dates_records(rnd, n, as_of):
    out = []
    for _ in range(n):
        r = {"opened": rnd.choice([_day(rnd, as_of, 900), "2020-02-29", "2024-02-29", "2024-06-01", "2024-12-31",
                                   (as_of - datetime.timedelta(days=365)).isoformat(), "1999-12-31", "2031-01-01"])}
        if rnd.random() < 0.6:
            r["last_claim"] = rnd.choice([_day(rnd, as_of), (as_of - datetime.timedelta(days=365)).isoformat()])
        if rnd.random() < 0.5:
            r["renewal"] = rnd.choice([_day(rnd, as_of, 60), as_of.isoformat(),
                                       (as_of + datetime.timedelta(days=30)).isoformat()])
        if rnd.random() < 0.5:
            r["claims"] = rnd.randint(0, 5)
        if rnd.random() < 0.6:
            r["region"] = rnd.choice(["north", "south", "east"])
        if rnd.random() < 0.05:
            r[rnd.choice(["opened", "last_claim", "renewal"])] = rnd.choice(BAD_DATES)
        out.append(r)
    return out


def computed_records(rnd, n, as_of=None):
    out = []
    for _ in range(n):
        r = {"income": rnd.choice([_money(rnd, 500000), 19999.99, 20000, 83333.33, 0, 500000]),
             "debt": rnd.choice([_money(rnd, 200000), 100000, 100000.01, 0]),
             "months": rnd.choice([rnd.randint(1, 360), 119, 120]),
             "score": rnd.choice([rnd.randint(0, 1000), 699, 700])}
        if rnd.random() < 0.5:
            r["bonus"] = rnd.choice([_money(rnd, 1000), 0.125, 2.675])
        if rnd.random() < 0.5:  # an optional fact a rule reads only when present (and above 500)
            r["gift"] = rnd.choice([_money(rnd, 1000), 500, 500.01, 999.995])
        if rnd.random() < 0.05:
            r["income"] = rnd.choice([0.1 + 0.2, 12345.678901234567, 1e-7])
        out.append(r)
    return out


CASES = [("cash-loan-limit.yaml", cash_loan_records), ("dates-presence.yaml", dates_records),
         ("computed.yaml", computed_records)]


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")


def duckdb_lines(policy, path, as_of, tmp_path, fmt="jsonl"):
    from engine.batch.run import run_batch

    out = tmp_path / f"out-{as_of}.jsonl"
    code = run_batch(compile_policy(policy), [str(path)], fmt=fmt, lang=None, on_error="skip", output=str(out),
                     id_field=None, input_format=None, allow_empty=True, summary=False, as_of=as_of)
    assert code == 0
    return out.read_text(encoding="utf-8").splitlines()


# -- DuckDB: byte-identical decisions ----------------------------------------------------------

@pytest.mark.parametrize("name,gen", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("as_of", AS_OF, ids=[d.isoformat() for d in AS_OF])
def test_duckdb_jsonl_identical_to_native(tmp_path, name, gen, as_of):
    policy = load(name)
    records = gen(random.Random(f"{name}{as_of}"), 400, as_of)
    path = tmp_path / "in.jsonl"
    write_jsonl(path, records)
    want = native_lines(policy, records, as_of)
    got = duckdb_lines(policy, path, as_of, tmp_path)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == w
    if policy.uses_time:
        assert all(f'"as_of":"{as_of.isoformat()}"' in line for line in got)


def test_duckdb_csv_and_parquet_dates(tmp_path):
    """Dates staged from CSV texts and Parquet DATE columns decide as native does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    policy = load("dates-presence.yaml")
    as_of = AS_OF[0]
    records = dates_records(random.Random(7), 300, as_of)
    names = list(policy.facts)
    csv_path = tmp_path / "in.csv"
    with open(csv_path, "w", encoding="utf-8") as fh:
        fh.write(",".join(names) + "\n")
        for r in records:
            fh.write(",".join("" if r.get(n) is None else str(r[n]).lower() if isinstance(r[n], bool) else str(r[n])
                              for n in names) + "\n")
    from engine.io.records import open_records

    with open_records(str(csv_path), policy, "csv", allow_empty=True) as recs:
        native = [rec.data for rec in recs if rec.error is None]
    assert duckdb_lines(policy, csv_path, as_of, tmp_path) == native_lines(policy, native, as_of)
    # Parquet: DATE columns (the records whose dates are days or absent)
    dates = [n for n in names if policy.facts[n].type == "date"]
    good = [r for r in records if all(r.get(n) is None or _valid(r[n]) for n in dates)]
    parsed = [{n: datetime.date.fromisoformat(r[n]) if n in dates and r.get(n) is not None else r.get(n)
               for n in names} for r in good]
    table = pa.table({n: [p[n] for p in parsed] for n in names})
    pq_path = tmp_path / "in.parquet"
    pq.write_table(table, pq_path)
    assert duckdb_lines(policy, pq_path, as_of, tmp_path) == native_lines(policy, parsed, as_of)
    # and a column of texts: staged as a JSONL text is
    text_table = pa.table({n: [r.get(n) if n in dates else p[n] for r, p in zip(good, parsed)] for n in names})
    pq.write_table(text_table, pq_path)
    assert duckdb_lines(policy, pq_path, as_of, tmp_path) == native_lines(policy, parsed, as_of)


def _valid(text):
    if not isinstance(text, str) or len(text) != 10:
        return False
    try:
        return datetime.date.fromisoformat(text) is not None
    except ValueError:
        return False


def test_rejected_dates_get_native_messages(tmp_path, capsys):
    from engine.batch.run import run_batch

    policy = load("dates-presence.yaml")
    path = tmp_path / "in.jsonl"
    write_jsonl(path, [{"opened": "2026-02-30"}, {"opened": "2024-01-01", "renewal": 20260105},
                       {"opened": "2024-01-01"}])
    code = run_batch(compile_policy(policy), [str(path)], fmt="jsonl", lang=None, on_error="skip", output=None,
                     id_field=None, input_format=None, allow_empty=False, as_of=AS_OF[0])
    err = capsys.readouterr().err
    assert code == 0
    ruleset = compile_policy(policy)
    for line, rec in ((1, {"opened": "2026-02-30"}), (2, {"opened": "2024-01-01", "renewal": 20260105})):
        with pytest.raises(FactsError) as exc:
            evaluate(ruleset, rec, as_of=AS_OF[0])
        assert f"{path}:{line}: {exc.value.problems[0].message}" in err
    assert "1 decision: " in err and "2 records skipped" in err


def test_as_of_moves_relative_dates(tmp_path):
    """The same record, two evaluation dates: the clean period has passed on the second."""
    policy = load("cash-loan-limit.yaml")
    rec = {"credit_score": 700, "overdue_days": 0, "last_overdue_date": "2026-06-01", "account_age_days": 200,
           "membership": "silver", "current_limit_yuan": 5123.45}
    path = tmp_path / "in.jsonl"
    write_jsonl(path, [rec])
    early = json.loads(duckdb_lines(policy, path, datetime.date(2026, 11, 27), tmp_path)[0])
    late = json.loads(duckdb_lines(policy, path, datetime.date(2026, 11, 29), tmp_path)[0])
    assert (early["outcome"], late["outcome"]) == ("keep", "raise")
    assert late["outputs"] == {"new_limit_yuan": 6100, "limit_change_yuan": 976.55}
    sql = render(decision_query(policy, as_of=datetime.date(2026, 11, 29)), "duckdb")
    assert "CURRENT_DATE" not in sql.upper() and "'2026-06-02'" in sql


def test_example_policy_limits(tmp_path):
    """The issue's worked values: 5,123.45 x 1.2 = 6,148.14, rounded down to 6,100; gold 7,600."""
    policy = load("cash-loan-limit.yaml")
    base = {"credit_score": 700, "overdue_days": 0, "account_age_days": 200, "current_limit_yuan": 5123.45}
    path = tmp_path / "in.jsonl"
    write_jsonl(path, [{**base, "membership": "silver"}, {**base, "membership": "gold"},
                       {**base, "membership": "gold", "overdue_days": 3}])
    got = [json.loads(line) for line in duckdb_lines(policy, path, AS_OF[0], tmp_path)]
    assert [g["outputs"]["new_limit_yuan"] for g in got] == [6100, 7600, 2500]
    assert got[1]["messages"][0]["message"] == "Your credit limit is raised to ¥7,600."
    assert got[2]["reasons"][0]["message"].endswith("reduced to ¥2,500.00.")


def test_sql_backend_per_record_matches(tmp_path):
    from engine.backends.sql.backend import SqlBackend
    from engine.runtime.facts import check_facts
    from engine.runtime.semantics import reference_matches

    policy = load("dates-presence.yaml")
    backend = SqlBackend(policy)
    for as_of in AS_OF:
        records = [check_facts(policy, r)[0] for r in dates_records(random.Random(3), 80, as_of)
                   if not [p for p in check_facts(policy, r)[1] if p.severity == "error"]]
        want = [reference_matches(policy, f, as_of=as_of) for f in records]
        assert backend.rule_matches_many(records, as_of=as_of) == want
        assert backend.rule_matches(records[0], as_of=as_of) == want[0]


# -- the exact decimal pieces against Python's decimal ---------------------------------------

MODES = {"down": decimal.ROUND_DOWN, "up": decimal.ROUND_UP, "half_up": decimal.ROUND_HALF_UP,
         "half_even": decimal.ROUND_HALF_EVEN}


def test_rounding_and_formats_match_python():
    import duckdb

    rnd = random.Random(11)
    vals = []
    for _ in range(400):
        s = rnd.randint(0, 6)
        n = rnd.randint(-10 ** 9, 10 ** 9)
        if rnd.random() < 0.4:  # ties and near-ties of every rounding step
            n = n // 10 ** rnd.randint(0, 6) * 10 ** rnd.randint(0, 3) + rnd.choice([0, 5 * 10 ** max(0, s - 1)])
        vals.append(Decimal(n).scaleb(-s))
    lo, hi = min(vals), max(vals)
    scale = max(-v.as_tuple().exponent for v in vals)
    digits = len(str(int(max(abs(lo), abs(hi))))) + scale
    num = dec.Num(exp.Cast(this=exp.column("v"), to=dec.decimal_type(digits, scale)), Fraction(lo), Fraction(hi),
                  scale)
    cases = [("round", to, mode, dec.round_to(num, Rounding(Decimal(to), mode)).sql)
             for to in ("100", "1", "0.01", "0.05", "25", "0.5") for mode in MODES]
    cases += [("format", spec, None, dec.formatted(num, spec)) for spec in (",", ",.2f", ".2f", ",.0f", ".0f", ".3f", "")]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[str(v)] for v in vals])
    select = exp.select("v", *[e.as_(f"c{i}") for i, (_, _, _, e) in enumerate(cases)]).from_("t")
    for row in con.execute(render(select, "duckdb")).fetchall():
        v = Decimal(row[0])
        for (kind, arg, mode, _), got in zip(cases, row[1:]):
            if kind == "round":
                want = (v / Decimal(arg)).quantize(Decimal(1), rounding=MODES[mode]) * Decimal(arg)
                assert Decimal(got) == want, (v, arg, mode)
            else:
                assert got == format_field(v, arg), (v, arg)


def test_number_fact_decimal_is_repr():
    """A double's decimal column is repr's decimal exactly, or the record is flagged."""
    import duckdb

    from engine.backends.sql.computed import fact_decimal
    from engine.language.model import FactSpec

    spec = FactSpec("x", "number", minimum=0, maximum=1000000)
    value, flag = fact_decimal(spec, exp.column("x"))
    rnd = random.Random(5)
    xs = [round(rnd.uniform(0, 1e6), rnd.randint(0, 9)) for _ in range(3000)] + [0.1 + 0.2, 1e-9, 5123.45, 999999.99999999]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [[x] for x in xs])
    rows = con.execute(render(exp.select("x", value.as_("d"), flag.as_("f")).from_("t"), "duckdb")).fetchall()
    flagged = 0
    for x, d, f in rows:
        if f:
            flagged += 1
            assert len(repr(x).split(".")[-1]) > 8 or "e" in repr(x)
        else:
            assert d == Decimal(repr(x))
    assert 0 < flagged < len(xs)


@pytest.mark.parametrize("expr,why", [
    ("{div: [income, 3]}", "inverse is not a finite decimal"),
    ("{div: [income, debt]}", "not a constant"),
    ("{round: income, to: 3, mode: down}", "inverse is not a finite decimal"),
    ("{mul: [income, income, income, income]}", "digits"),
])
def test_refusals(expr, why):
    text = f"""
policy: refused
version: 1
title: t
description: d
language: en
facts:
  income: {{type: number, minimum: 0, maximum: 1000000000}}
  debt: {{type: number, minimum: 1, maximum: 10}}
outcomes: [{{id: ok}}]
default: ok
outputs:
  v:
    type: number
    default: {expr}
rules:
  - id: r
    when: {{debt: {{gt: 5}}}}
    then: {{outcome: ok}}
"""
    policy, diags = check_policy_bytes(text.encode(), "refused.yaml")
    assert policy is not None, [str(d) for d in diags]
    with pytest.raises(SqlLimitError, match=why):
        decision_query(policy)


@pytest.mark.parametrize("name", ["cash-loan-limit.yaml", "dates-presence.yaml", "computed.yaml"])
@pytest.mark.parametrize("dialect", WAREHOUSES + ("duckdb", "spark", "postgres"))
def test_dialects_render(name, dialect):
    sql = render(decision_query(load(name), dialect=dialect, as_of=AS_OF[0]), dialect)
    assert "CURRENT_DATE" not in sql.upper()


# -- PostgreSQL --------------------------------------------------------------------------------

PG_TYPES = {"integer": "BIGINT", "number": "DOUBLE PRECISION", "string": "TEXT", "boolean": "BOOLEAN",
            "date": "DATE"}


@pytest.fixture(scope="module")
def pg():
    psycopg = pytest.importorskip("psycopg")
    import pg_server

    if pg_server.binaries() is None:
        pytest.skip("no PostgreSQL binaries")
    with pg_server.server() as dsn, psycopg.connect(dsn, autocommit=True) as con:
        yield con


@pytest.mark.parametrize("name,gen", CASES, ids=[c[0] for c in CASES])
def test_postgres_rows_equal_native(pg, name, gen):
    from engine.runtime.facts import check_facts

    policy = load(name)
    for as_of in AS_OF[:2]:
        records = []
        for r in gen(random.Random(f"pg{name}{as_of}"), 150, as_of):
            facts, problems = check_facts(policy, r)
            if not [p for p in problems if p.severity == "error"]:
                records.append(facts)
        pg.execute('DROP TABLE IF EXISTS "facts"')
        cols = "".join(f', "{n}" {PG_TYPES[s.type]}' for n, s in policy.facts.items())
        pg.execute(f'CREATE TABLE "facts" ("__row" BIGINT{cols})')
        with pg.cursor() as cur:
            marks = ", ".join(["%s"] * (1 + len(policy.facts)))
            cur.executemany(f'INSERT INTO "facts" VALUES ({marks})',
                            [(i, *[f.get(n) for n in policy.facts]) for i, f in enumerate(records)])
        query = render(decision_query(policy, dialect="postgres", row=True, as_of=as_of), "postgres")
        cur = pg.execute(f'SELECT "__row", "__rejected", "outcome", CAST("reasons" AS TEXT), '
                         f'CAST("notices" AS TEXT), CAST("messages" AS TEXT), CAST("outputs" AS TEXT), '
                         f'"missing_facts" FROM ({query}) q ORDER BY "__row"')
        ruleset = compile_policy(policy)
        for (row, rejected, outcome, reasons, notices, messages, outputs, missing), facts in zip(cur.fetchall(),
                                                                                                 records):
            want = json.loads(explain_render.to_json(evaluate(ruleset, facts, trace=False, as_of=as_of), indent=None),
                              parse_float=Decimal)
            if rejected == dec.NATIVE:  # a double the exact decimal cannot hold: native decides it
                continue
            assert rejected is None
            assert outcome == want["outcome"]
            got_reasons = [json.loads(x) for x in _pg_array(reasons)]
            assert got_reasons == want["reasons"]
            assert [json.loads(x) for x in _pg_array(notices)] == want["notices"]
            assert [json.loads(x) for x in _pg_array(messages)] == want.get("messages", [])
            got_outputs = json.loads(outputs, parse_float=Decimal) if outputs is not None else {}  # none declared
            assert {k: Decimal(str(v)) for k, v in got_outputs.items()} == \
                   {k: Decimal(str(v)) for k, v in want["outputs"].items()}
            assert list(missing) == want["missing_facts"]


def _pg_array(text: str) -> list[str]:
    """The elements of a PostgreSQL json[] written as text (`{"{...}","{...}"}`)."""
    import csv

    body = text[1:-1]
    if not body:
        return []
    return next(csv.reader([body], quotechar='"', escapechar="\\", doublequote=False))


# -- the batch diff: output totals -------------------------------------------------------------

def test_diff_output_totals_equal_native(tmp_path):
    from engine.analysis.diff import PolicyDiff
    from engine.batch.diff import Totals, count_records_sql

    old = load("cash-loan-limit.yaml")
    text = (FIXTURES / "cash-loan-limit.yaml").read_text(encoding="utf-8").replace("raise_factor: 1.2",
                                                                                   "raise_factor: 1.25")
    new, diags = check_policy_bytes(text.encode(), "new.yaml")
    assert new is not None
    as_of = AS_OF[0]
    records = cash_loan_records(random.Random(99), 500, as_of)
    path = tmp_path / "in.jsonl"
    write_jsonl(path, records)
    d = PolicyDiff(old, new)
    count_records_sql(d, str(path), as_of=as_of)
    totals = Totals(old, new)
    ro, rn = compile_policy(old), compile_policy(new)
    for r in records:
        try:
            a = evaluate(ro, r, trace=False, as_of=as_of)
            b = evaluate(rn, r, trace=False, as_of=as_of)
        except FactsError:
            continue
        totals.add(a.outputs, b.outputs)
    want = totals.result()
    assert d.outputs == want
    n = want["new_limit_yuan"]
    assert n["records"] == d.records["total"] - d.records["skipped"]
    assert n["total_change"] == n["new_total"] - n["old_total"] and n["total_change"] > 0


# -- Spark (slow: one run) ---------------------------------------------------------------------

def test_spark_jsonl_identical_to_native(tmp_path):
    pytest.importorskip("pyspark")
    from engine.batch.spark import run_eval, spark_available

    why = spark_available()
    if why:
        pytest.skip(why)
    policy = load("cash-loan-limit.yaml")
    as_of = AS_OF[0]
    records = cash_loan_records(random.Random(5), 300, as_of)
    path = tmp_path / "in.jsonl"
    write_jsonl(path, records)
    out = tmp_path / "out.jsonl"
    code = run_eval(compile_policy(policy), [str(path)], output=str(out), on_error="skip", master="local[2]",
                    summary=False, as_of=as_of, echo=lambda line: None)
    assert code == 0
    assert out.read_text(encoding="utf-8").splitlines() == native_lines(policy, records, as_of)


def test_warehouse_decimals():
    """BigQuery's NUMERIC rounds to 9 places: its decimals are BIGNUMERIC (the scale a
    ROUND); Snowflake rounds a product beyond max(s1, s2, 12) places: refused there only."""
    import re

    from engine.errors import BackendError

    sql = render(decision_query(load("cash-loan-limit.yaml"), dialect="bigquery", as_of=AS_OF[0]), "bigquery")
    assert "BIGNUMERIC" in sql and not re.search(r"(?<!BIG)NUMERIC", sql)
    text = (FIXTURES / "computed.yaml").read_text(encoding="utf-8").replace(
        "default: {mul: [bonus, 2]}", "default: {mul: [income, debt]}")
    policy, _ = check_policy_bytes(text.encode(), "product.yaml")
    with pytest.raises(BackendError, match="Snowflake rounds a product"):
        render(decision_query(policy, dialect="snowflake", as_of=AS_OF[0]), "snowflake")
    render(decision_query(policy, dialect="duckdb", as_of=AS_OF[0]), "duckdb")


def test_evaluate_with_the_duckdb_backend_on_as_of():
    """`evaluate(..., backend="duckdb", as_of=)`: the SQL form's matches, checked against
    native's by `evaluate.checked_matches`, on each evaluation date."""
    policy = load("cash-loan-limit.yaml")
    ruleset = compile_policy(policy)
    for as_of in AS_OF:
        for r in cash_loan_records(random.Random(f"be{as_of}"), 60, as_of):
            try:
                want = evaluate(ruleset, r, trace=False, as_of=as_of)
            except FactsError:
                continue
            got = evaluate(ruleset, r, trace=False, backend="duckdb", as_of=as_of)
            assert (got.matched, got.outcome, got.outputs) == (want.matched, want.outcome, want.outputs)
