"""engine/batch against the native path on the values that break naive SQL: floats in
every notation, big and negative numbers, -0.0, integral floats for integer facts (720.0),
unicode and control characters, lone surrogates, NaN, duplicate keys, ids of every type;
CSV cells in unusual spellings; Parquet columns of other types; the per-record duckdb
paths (single records, explain, test) and the spark error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

duckdb = pytest.importorskip("duckdb")
ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies/double11-coupon.yaml"
LIMIT = ROOT / "policies/credit-limit.yaml"
BASE = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 1500, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
        "credit_utilization": 0.35}


def verdict(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def compare(tmp_path, policy, lines, *extra, name="u.jsonl"):
    src = tmp_path / name
    src.write_text("".join(x + "\n" for x in lines), "utf-8")
    outs = []
    for backend in ("native", "duckdb"):
        out = tmp_path / f"{backend}.jsonl"
        out.unlink(missing_ok=True)
        r = verdict("eval", "-p", policy, "--backend", backend, src, "-o", out, *extra)
        outs.append((r.exit_code, r.stderr.replace(str(out), "OUT"), out.read_bytes() if out.exists() else None))
    assert outs[0] == outs[1]
    return outs[1]


def rec(**kv):
    return json.dumps({**BASE, **kv}, ensure_ascii=False)


EDGE_VALUES = [
    rec(), rec(credit_score=720.0), rec(credit_score=7.2e2), rec(monthly_spend=1e-7), rec(monthly_spend=2000.0),
    rec(monthly_spend=123456789.125), rec(monthly_spend=1e15), rec(monthly_spend=10 ** 15), rec(monthly_spend=-0.0),
    rec(monthly_spend=9007199254740993), rec(credit_utilization=0.1 + 0.2), rec(overdue_days=12),
    rec(account_age_days=10 ** 20), rec(account_age_days=2 ** 63 - 1), rec(account_age_days=2 ** 63),
    rec(credit_utilization=1.7976931348623157e308), rec(credit_utilization=5e-324),
    '{"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold", "monthly_spend": 1E3, '
    '"account_age_days": 400, "loan_applications_30d": 1, "credit_utilization": 3.5e-1}',
]


def test_numbers_in_every_notation_decide_and_print_as_native(tmp_path):
    code, err, out = compare(tmp_path, POLICY, EDGE_VALUES, "--on-error", "skip")
    assert code == 0 and out.count(b"\n") >= len(EDGE_VALUES) - 4


def test_credit_limit_number_outputs_and_messages(tmp_path):
    from batch_records import valid_records
    from engine.io.policies import load_policy

    recs = valid_records(load_policy(str(LIMIT)), 300, seed=3)
    code, _, out = compare(tmp_path, LIMIT, [json.dumps(r) for r in recs], "--on-error", "skip")
    assert code == 0 and b'"limit_multiplier":0.8' in out


IDS = ["u1", "用户", "a\u2028b", 'q"uote\\', "tab\there", "bell\x07", "", 0, -17, 2 ** 63 - 1, 2 ** 64, 10 ** 30,
       1.5, -0.0, 1e16, 1e-7, 1e300, True, None, [1], {"a": 1}]


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_ids_of_every_type_as_native(tmp_path, on_error):
    lines = [json.dumps({"uid": i, **BASE}, ensure_ascii=False) for i in IDS]
    lines.append(json.dumps({"uid": "\udc00", **BASE}))  # a lone surrogate, escaped
    lines.append(json.dumps({**BASE}))  # no id at all
    code, err, _ = compare(tmp_path, POLICY, lines, "--id", "uid", "--on-error", on_error)
    assert code == (0 if on_error == "skip" else 2)


def test_hostile_strings_and_keys(tmp_path):
    lines = [rec(membership="gold\u0001"), rec(membership="黄金"), rec(extra="\u000b\u001f"),
             json.dumps({**BASE, "ключ": 1, "a\"b": 2}, ensure_ascii=False), json.dumps({**BASE, "x": "\ud83d\ude00"}),
             rec(extra={"nested": {"k": 1, "k": 2}}) , '{"credit_score": NaN}', '{"credit_score": Infinity}',
             '{"a": 1, "a": 2}', '  ', '\ufeff' + rec(), rec()[:-1] + ', "credit_score": 1}', "[]", "null", "7",
             json.dumps({**BASE, "deep": "[" * 70}), rec()[:-1] + ', "deep": ' + "[" * 70 + "1" + "]" * 70 + "}"]
    code, err, _ = compare(tmp_path, POLICY, lines, "--on-error", "skip")
    assert code == 0 and "skipped" in err


def test_a_bom_and_crlf_lines(tmp_path):
    src = tmp_path / "u.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + rec().encode() + b"\r\n" + rec(overdue_days=40).encode() + b"\r\n")
    outs = [verdict("eval", "-p", POLICY, "--backend", b, src).stdout for b in ("native", "duckdb")]
    assert outs[0] == outs[1] and outs[0].count("\n") == 2


def test_not_utf8_is_read_by_the_native_reader(tmp_path):
    src = tmp_path / "u.jsonl"
    src.write_bytes(rec().encode() + b"\n" + b'{"credit_score": "\xff"}\n' + rec().encode() + b"\n")
    r = [verdict("eval", "-p", POLICY, "--backend", b, src, "--on-error", "skip") for b in ("native", "duckdb")]
    assert r[0].stdout == r[1].stdout and r[0].stderr == r[1].stderr and "not UTF-8" in r[1].stderr


CSV_HEAD = "user_id,credit_score,overdue_days,overdue_count_12m,membership,monthly_spend,account_age_days,frozen," \
           "loan_applications_30d,credit_utilization"


def test_csv_cells_in_every_spelling(tmp_path):
    rows = ["u1,720,0,0,gold,1500,400,false,1,0.35", "u2,720.0,0,0,gold,1500.5,400,TRUE,1,0.35",
            "u3,7e2,0,0,gold,1e3,400,yes,1,.5", "u4, 720,0,0,gold,+1500,400,No,1,0.35",
            "u5,720,0,0,gold,1_500,400,0,1,0.35", "u6,abc,0,0,gold,1500,400,maybe,1,nan",
            "u7,,0,0,,1500,400,,1,0.35", "u8,720.5,0,0,silver,1500,400,false,1,inf",
            'u9,720,0,0,"gold",1500,400,false,1,0.35', "u10,99999999999999999999,0,0,gold,1500,400,false,1,0.35",
            ",720,0,0,gold,1500,400,false,1,0.35", "", ",,,,,,,,,", "u11,720,0,0,gold,1500,400,false,1,1e400"]
    code, err, out = compare(tmp_path, POLICY, [CSV_HEAD] + rows, "--id", "user_id", "--on-error", "skip",
                             name="u.csv")
    assert code == 0 and out.count(b"\n") >= 5
    code, err, out = compare(tmp_path, POLICY, [CSV_HEAD] + rows, "--id", "user_id", name="u.csv")
    assert code == 2


def test_a_ragged_csv_is_read_by_the_native_reader(tmp_path):
    rows = ["u1,720,0,0,gold,1500,400,false,1,0.35", "u2,720,0", '"u3\nx",720,0,0,gold,1500,400,false,1,0.35']
    code, err, _ = compare(tmp_path, POLICY, [CSV_HEAD] + rows, "--id", "user_id", "--on-error", "skip",
                           name="u.csv")
    assert code == 0 and "expected 10 columns" in err


def test_parquet_typed_columns_and_their_rejections(tmp_path):
    pq = tmp_path / "u.parquet"
    duckdb.sql(f"""COPY (SELECT * FROM (VALUES
        (1::BIGINT, 720::INTEGER, 0::BIGINT, 0::UTINYINT, 'gold', 1500.0::DOUBLE, 400::BIGINT, false, 1, 0.35::DECIMAL(5,2)),
        (2, 720, 40, 0, 'gold', 2500.5, 400, NULL, 1, 0.35),
        (3, NULL, 0, 0, 'nope', 1500, 400, false, 1, 0.35),
        (4, 720, 0, 0, 'platinum', 'NaN'::DOUBLE, 400, false, 1, 0.35),
        (5, 960, 0, 0, 'gold', 1500, 400, false, 1, 0.35)
      ) t(uid, credit_score, overdue_days, overdue_count_12m, membership, monthly_spend, account_age_days, frozen,
          loan_applications_30d, credit_utilization)) TO '{pq}'""")
    r = verdict("eval", "-p", POLICY, "--backend", "duckdb", pq, "--id", "uid", "--on-error", "skip")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["record_id"] for x in lines] == [1, 2]
    assert f"{pq}:3: missing required fact `credit_score`" in r.stderr
    assert "`monthly_spend` is `nan`" in r.stderr and "above the declared maximum 950" in r.stderr
    assert "3 records skipped" in r.stderr
    # The same records in JSONL, natively: the same decisions.
    native = verdict("eval", "-p", POLICY, "-", "--id", "uid", "--input-format", "jsonl")
    src = tmp_path / "same.jsonl"
    src.write_text(json.dumps({"uid": 1, **BASE, "monthly_spend": 1500.0}) + "\n" +
                   json.dumps({"uid": 2, **BASE, "overdue_days": 40, "monthly_spend": 2500.5}) + "\n", "utf-8")
    native = verdict("eval", "-p", POLICY, src, "--id", "uid")
    assert native.stdout == r.stdout


def test_per_record_paths_use_the_sql_form(tmp_path):
    one = verdict("eval", "-p", POLICY, "--backend", "duckdb", ROOT / "examples/user-gold.json")
    assert one.exit_code == 0 and one.stdout == verdict("eval", "-p", POLICY, ROOT / "examples/user-gold.json").stdout
    ex = verdict("explain", "-p", POLICY, "--backend", "duckdb", ROOT / "examples/user-denied.json")
    assert ex.exit_code == 0 and ex.stdout == verdict("explain", "-p", POLICY, ROOT / "examples/user-denied.json").stdout
    t = verdict("test", ROOT / "policies/double11-coupon.test.yaml", "--backend", "duckdb")
    assert t.exit_code == 0 and "passed" in t.stdout


def test_spark_without_a_runner_or_on_one_record_is_a_clear_input_error():
    r = verdict("eval", "-p", POLICY, "--backend", "spark", ROOT / "examples/user-gold.json")
    assert r.exit_code == 2 and "Traceback" not in r.output and "spark" in r.output
    r = verdict("explain", "-p", POLICY, "--master", "local[2]", ROOT / "examples/user-gold.json")
    assert r.exit_code == 2 and "--master goes with --backend spark" in r.output


def test_policies_only_the_native_encoder_writes_exactly_are_decided_natively(tmp_path):
    from batch_records import valid_records
    from engine.io.policies import load_policy

    mixed = tmp_path / "mixed.yaml"  # a number output of int and float literals: `1` or `0.8`
    mixed.write_text(LIMIT.read_text("utf-8").replace("default: 1.0", "default: 1", 1), "utf-8")
    control = tmp_path / "control.yaml"  # a message holding a control character
    control.write_text(POLICY.read_text("utf-8").replace(
        "en: Your account is frozen, so it cannot join the Double 11 promotion.",
        'en: "Your account is frozen,\\v so it cannot join the Double 11 promotion."'), "utf-8")
    for policy in (mixed, control):
        recs = valid_records(load_policy(str(policy)), 200, seed=5)
        recs += [{**r, "frozen": True} for r in recs[:5]] if policy is control else []
        code, _, out = compare(tmp_path, policy, [json.dumps(r) for r in recs], "--on-error", "skip")
        assert code == 0 and out
    assert b"frozen,\\u000b so" in out  # Python's escape, written by the native encoder
