"""`verdict eval --backend duckdb` against the native path: byte-identical JSONL on every
example policy, the same rejections, messages and exit codes, CSV and Parquet in and out,
--id, globs and folders, --allow-empty, and `diff --facts --backend duckdb`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from batch_records import invalid_lines, jsonl, suite_records, valid_records, with_ids
from factgen import AS_OF
from engine.cli.main import main
from engine.io.policies import load_policy

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted(str(p) for p in (ROOT / "policies").glob("*.yaml") if not p.name.endswith(".test.yaml"))
duckdb = pytest.importorskip("duckdb")


def verdict(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def both(policy, facts, tmp_path, *extra):
    """(native result, duckdb result, native bytes, duckdb bytes) of one eval to files, on
    the evaluation date the records were generated for (`--as-of`, as a dated policy needs)."""
    extra = ("--as-of", AS_OF.isoformat(), *extra)
    n_out, d_out = tmp_path / "n.jsonl", tmp_path / "d.jsonl"
    for f in (n_out, d_out):
        f.unlink(missing_ok=True)
    n = verdict("eval", "-p", policy, *facts, "-o", n_out, *extra)
    d = verdict("eval", "-p", policy, "--backend", "duckdb", *facts, "-o", d_out, *extra)
    return n, d, n_out.read_bytes() if n_out.exists() else None, d_out.read_bytes() if d_out.exists() else None


@pytest.mark.parametrize("policy", POLICIES)
def test_jsonl_is_byte_identical_to_native_on_every_policy(policy, tmp_path):
    pol = load_policy(policy)
    recs = with_ids(valid_records(pol, 400) + suite_records(policy))
    src = tmp_path / "u.jsonl"
    src.write_text(jsonl(recs), "utf-8")
    n, d, nb, db = both(policy, [src], tmp_path, "--id", "uid")
    assert n.exit_code == 0 and d.exit_code == 0, (n.output, d.output)
    assert nb == db
    assert n.stderr.splitlines()[-1] == d.stderr.splitlines()[-1]  # the outcome summary


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("mode", ["warn-once", "ignore", "refuse"])
def test_undeclared_keys_as_native_in_every_undeclared_mode(policy, mode, tmp_path):
    recs = [{**r, **({"extra": i} if i % 2 else {}), **({"more": "x"} if i % 3 == 1 else {})} for i, r in
            enumerate(valid_records(load_policy(policy), 50))]
    src = tmp_path / "u.jsonl"
    src.write_text(jsonl(recs), "utf-8")
    n, d, nb, db = both(policy, [src], tmp_path, "--undeclared", mode, "--on-error", "skip")
    assert (n.exit_code, d.exit_code) == (0, 0) and nb == db and b'"warnings"' not in db
    assert n.stderr == d.stderr
    assert ("undeclared facts `extra`, `more` ignored (in 33 records)" in d.stderr) == (mode == "warn-once")
    csv_src = tmp_path / "u.csv"  # a CSV column no fact declares: every record has it
    import csv as _csv

    with csv_src.open("w", encoding="utf-8", newline="") as fh:
        w = _csv.writer(fh)
        names = list(load_policy(policy).facts) + ["note"]
        w.writerow(names)
        for r in recs[:20]:
            w.writerow(["" if r.get(k) is None else str(r[k]).lower() if isinstance(r.get(k), bool) else r[k]
                        for k in names[:-1]] + ["hello"])
    # (With `refuse`, every CSV record is: a run that decides none, which --allow-empty accepts.)
    n, d, nb, db = both(policy, [csv_src], tmp_path, "--undeclared", mode, "--on-error", "skip", "--allow-empty")
    assert (n.exit_code, d.exit_code) == (0, 0) and nb == db and n.stderr == d.stderr


@pytest.mark.parametrize("mode", ["warn-once", "refuse"])
def test_an_undeclared_key_in_place_of_a_missing_fact_beside_a_bad_value(mode, tmp_path):
    """A record with as many keys as declared facts, one of them undeclared, is refused by
    native's generated code on its bad value before undeclared keys were looked for: it
    must still count in the warning, and be refused for the key too, as in SQL."""
    policy = load_policy(str(ROOT / "policies" / "double11-coupon.yaml"))
    good = valid_records(policy, 1)[0]
    swapped = {**{k: v for k, v in good.items() if k != "credit_utilization"}, "zz": 1}
    recs = [swapped, {**swapped, "credit_score": 7000}, {**good, "zz": 1}]
    src = tmp_path / "u.jsonl"
    src.write_text(jsonl(recs), "utf-8")
    n, d, nb, db = both(str(ROOT / "policies" / "double11-coupon.yaml"), [src], tmp_path,
                        "--undeclared", mode, "--on-error", "skip", "--allow-empty")  # refuse: all of them
    assert (n.exit_code, d.exit_code) == (0, 0) and nb == db
    assert n.stderr == d.stderr
    if mode == "warn-once":
        assert "(in 3 records)" in n.stderr
    else:
        assert n.stderr.count("undeclared fact `zz` refused") == 3


@pytest.mark.parametrize("policy", POLICIES)
def test_invalid_records_are_rejected_exactly_as_native(policy, tmp_path):
    pol = load_policy(policy)
    good = [json.dumps(r) for r in valid_records(pol, 5)]
    lines = [x for bad in invalid_lines(pol) for x in (good[0], bad)] + good
    src = tmp_path / "u.jsonl"
    src.write_text("\n".join(lines) + "\n\n", "utf-8")
    n, d, nb, db = both(policy, [src], tmp_path, "--on-error", "skip")
    assert (n.exit_code, d.exit_code) == (0, 0)
    assert nb == db
    assert n.stderr == d.stderr  # every rejection's located message, and the summary
    n, d, nb, db = both(policy, [src], tmp_path)
    assert (n.exit_code, d.exit_code) == (2, 2)
    assert n.stderr.replace("n.jsonl", "OUT") == d.stderr.replace("d.jsonl", "OUT") and nb is None and db is None


def test_csv_input_and_the_example_users(tmp_path):
    policy = str(ROOT / "policies/double11-coupon.yaml")
    users = ROOT / "examples/users.csv"
    n, d, nb, db = both(policy, [users], tmp_path, "--id", "user_id")
    assert (n.exit_code, d.exit_code) == (0, 0) and nb == db
    odd = tmp_path / "odd.csv"  # cells only the native reader converts: decided natively, exactly
    text = users.read_text("utf-8").splitlines()
    odd.write_text("\n".join(text[:2] + [text[2].replace(",0,", ", 0,", 1), text[3].replace(",400,", ",4e2,"),
                                         text[1].replace("720", "abc"), "", text[4]]) + "\n", "utf-8")
    n, d, nb, db = both(policy, [odd], tmp_path, "--id", "user_id", "--on-error", "skip")
    assert (n.exit_code, d.exit_code) == (0, 0) and nb == db and n.stderr == d.stderr


def test_parquet_in_and_out_csv_out_globs_and_folders(tmp_path):
    policy = str(ROOT / "policies/double11-coupon.yaml")
    pol = load_policy(policy)
    recs = with_ids(valid_records(pol, 200))
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(2):
        part = tmp_path / f"p{i}.jsonl"
        part.write_text(jsonl([r for r in recs[i::2] if isinstance(r["uid"], str)]), "utf-8")
        duckdb.sql(f"COPY (SELECT * FROM read_json('{part}', format='newline_delimited')) TO "
                   f"'{folder}/part-{i}.parquet'")
    out = tmp_path / "d.parquet"
    r = verdict("eval", "-p", policy, "--backend", "duckdb", folder, "--id", "uid", "-o", out)
    assert r.exit_code == 0, r.output
    native = verdict("eval", "-p", policy, tmp_path / "p0.jsonl", tmp_path / "p1.jsonl", "--id", "uid")
    rows = duckdb.sql(f"SELECT * FROM '{out}'").fetchall()
    cols = [c[0] for c in duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()]
    expect = [json.loads(x) for x in native.stdout.splitlines()]
    assert len(rows) == len(expect)
    for row, e in zip(rows, expect):
        got = dict(zip(cols, row))
        assert got["record_id"] == e["record_id"] and got["outcome"] == e["outcome"]
        assert got["reasons"] == e["reasons"] and got["outputs"] == e["outputs"]
        assert got["principal_reasons"] == e.get("principal_reasons", [])
    # The same through a glob, as CSV: nested fields as JSON text in their cells.
    csv_out = tmp_path / "d.csv"
    r = verdict("eval", "-p", policy, "--backend", "duckdb", f"{folder}/part-*.parquet", "--id", "uid",
                "-o", csv_out)
    assert r.exit_code == 0, r.output
    import csv

    got = list(csv.DictReader(csv_out.open(encoding="utf-8")))
    assert [json.loads(g["reasons"]) for g in got] == [e["reasons"] for e in expect]


def test_empty_inputs_follow_the_native_rule(tmp_path):
    policy = str(ROOT / "policies/double11-coupon.yaml")
    empty = tmp_path / "e.jsonl"
    empty.write_text("", "utf-8")
    n, d, _, db = both(policy, [empty], tmp_path)
    assert (n.exit_code, d.exit_code) == (2, 2) and db is None
    assert n.stderr.replace("n.jsonl", "OUT") == d.stderr.replace("d.jsonl", "OUT")
    n, d, nb, db = both(policy, [empty], tmp_path, "--allow-empty")
    assert (n.exit_code, d.exit_code) == (0, 0) and nb == db == b""


@pytest.mark.parametrize("out", ["d.jsonl", "d.csv", "d.parquet"])
def test_a_run_that_skips_every_record_fails_as_native(out, tmp_path):
    """--on-error skip over records none of which fits the policy (a renamed column, say):
    exit 2 on both paths, the same lines, no output file; --allow-empty accepts it."""
    policy = str(ROOT / "policies/double11-coupon.yaml")
    src = tmp_path / "u.jsonl"
    src.write_text('{"credit_score": "high"}\n{"score": 700}\n', "utf-8")
    n, d, nb, db = both(policy, [src], tmp_path, "--on-error", "skip")
    assert (n.exit_code, d.exit_code) == (2, 2) and nb is None and db is None
    assert n.stderr.replace("n.jsonl", "OUT") == d.stderr.replace("d.jsonl", "OUT")
    assert n.stderr.splitlines()[-2:] == [
        "verdict: no record decided: all 2 records read were skipped (--allow-empty accepts a run that decides none)",
        f"verdict: {tmp_path / 'n.jsonl'} not written"]
    target = tmp_path / out
    r = verdict("eval", "-p", policy, "--backend", "duckdb", src, "--on-error", "skip", "-o", target)
    assert r.exit_code == 2 and not target.exists() and "Traceback" not in r.output
    r = verdict("eval", "-p", policy, "--backend", "duckdb", src, "--on-error", "skip", "--allow-empty", "-o", target)
    assert r.exit_code == 0 and target.exists()
    assert "0 decisions: none; 2 records skipped" in r.stderr.splitlines()


def test_usage_errors(tmp_path):
    policy = str(ROOT / "policies/double11-coupon.yaml")
    assert verdict("eval", "-p", policy, "--master", "local[2]", ROOT / "examples/users.csv").exit_code == 2
    assert verdict("eval", "-p", policy, "--format", "parquet", ROOT / "examples/users.csv").exit_code == 2
    r = verdict("eval", "-p", policy, "--backend", "duckdb", "--format", "parquet", ROOT / "examples/users.csv")
    assert r.exit_code == 2 and "-o FILE" in r.output
    users = ROOT / "examples/users.csv"
    assert verdict("diff", policy, policy, "--facts", users, "--backend", "spark").exit_code == 2
    assert verdict("diff", policy, policy, "--backend", "duckdb").exit_code == 2  # without --facts
    assert verdict("diff", policy, policy, "--facts", users, "--id", "user_id").exit_code == 2  # --id: duckdb only
    r = verdict("eval", "-p", policy, "--backend", "duckdb", tmp_path / "nothing-*.jsonl")
    assert r.exit_code == 2 and "no file matches" in r.output and "Traceback" not in r.output


def test_a_failed_run_leaves_no_output_and_no_temporary_file(tmp_path):
    policy = str(ROOT / "policies/double11-coupon.yaml")
    src = tmp_path / "u.jsonl"
    src.write_text(jsonl(valid_records(load_policy(policy), 20)) + '{"credit_score": "x"}\n', "utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("before", "utf-8")
    r = verdict("eval", "-p", policy, "--backend", "duckdb", src, "-o", out)
    assert r.exit_code == 2 and out.read_text("utf-8") == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "u.jsonl"]


def test_diff_matrix_in_sql_equals_native(tmp_path):
    old = ROOT / "policies/double11-coupon.yaml"
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text("utf-8").replace("min_credit_score: 550", "min_credit_score: 600"), "utf-8")
    pol = load_policy(str(old))
    src = tmp_path / "u.jsonl"
    src.write_text(jsonl(with_ids(valid_records(pol, 300))) + "\n".join(invalid_lines(pol)) + "\n", "utf-8")
    for fmt in ("text", "json", "markdown"):
        n = verdict("diff", old, new, "--facts", src, "--format", fmt)
        d = verdict("diff", old, new, "--facts", src, "--format", fmt, "--backend", "duckdb")
        assert n.exit_code == d.exit_code == 0 and n.stdout == d.stdout
    d = verdict("diff", old, new, "--facts", src, "--backend", "duckdb", "--id", "uid")
    assert "moved records (sample):" in d.stdout


def test_jsonl_to_parquet_and_csv_with_and_without_undeclared_keys(tmp_path):
    policy = str(ROOT / "policies/double11-coupon.yaml")
    recs = with_ids(valid_records(load_policy(policy), 60))
    for extra in (False, True):
        src = tmp_path / "u.jsonl"
        src.write_text(jsonl([{**r, **({"x": 1} if extra and i % 2 else {})} for i, r in enumerate(recs)]), "utf-8")
        native = [json.loads(x) for x in verdict("eval", "-p", policy, src, "--id", "uid").stdout.splitlines()]
        out = tmp_path / "d.parquet"
        assert verdict("eval", "-p", policy, "--backend", "duckdb", src, "--id", "uid", "-o", out).exit_code == 0
        rows = duckdb.sql(f"SELECT record_id, outcome, notices, outputs FROM '{out}'").fetchall()
        assert [(str(r[0]), r[1], r[2], r[3]) for r in rows] == [
            (str(n["record_id"]), n["outcome"], n["notices"], n["outputs"]) for n in native]
        csv_out = tmp_path / "d.csv"
        assert verdict("eval", "-p", policy, "--backend", "duckdb", src, "--id", "uid", "--format", "csv",
                       "-o", csv_out).exit_code == 0
        import csv

        got = list(csv.DictReader(csv_out.open(encoding="utf-8")))
        assert [json.loads(g["reasons"]) for g in got] == [n["reasons"] for n in native]


def test_a_dated_policy_from_parquet_date_and_timestamp_columns(tmp_path):
    """A date fact from a Parquet DATE column decides byte for byte as its ISO text in JSONL
    natively; a TIMESTAMP column (a moment, not a day) is rejected record by record with
    native's message for a `datetime.datetime`."""
    import datetime

    from engine.runtime.facts import check_facts

    policy = str(ROOT / "policies/cash-loan-limit.yaml")
    pol = load_policy(policy)
    dates = [n for n, s in pol.facts.items() if s.type == "date"]
    assert dates
    recs = [{"uid": f"u{i}", **r} for i, r in enumerate(valid_records(pol, 150) + suite_records(policy))]
    src = tmp_path / "u.jsonl"
    src.write_text(jsonl(recs), "utf-8")
    types = {"integer": "BIGINT", "number": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN", "date": "VARCHAR"}
    columns = ", ".join([f"'uid': 'VARCHAR'"] + [f"'{n}': '{types[s.type]}'" for n, s in pol.facts.items()])
    read = f"read_json('{src}', format='newline_delimited', columns={{{columns}}})"
    for kind in ("DATE", "TIMESTAMP"):
        cast = ", ".join(f'CAST("{n}" AS DATE)::{kind} AS "{n}"' for n in dates)
        duckdb.sql(f"COPY (SELECT * REPLACE ({cast}) FROM {read}) TO '{tmp_path}/{kind}.parquet'")
    assert duckdb.sql(f"SELECT typeof(\"{dates[0]}\") FROM '{tmp_path}/DATE.parquet' LIMIT 1").fetchall() == [("DATE",)]
    n_out, d_out = tmp_path / "n.jsonl", tmp_path / "d.jsonl"
    n = verdict("eval", "-p", policy, src, "--id", "uid", "--as-of", AS_OF.isoformat(), "-o", n_out)
    d = verdict("eval", "-p", policy, "--backend", "duckdb", tmp_path / "DATE.parquet", "--id", "uid",
                "--as-of", AS_OF.isoformat(), "-o", d_out)
    assert (n.exit_code, d.exit_code) == (0, 0), (n.output, d.output)
    assert n_out.read_bytes() == d_out.read_bytes() and b'"outcome":"raise"' in d_out.read_bytes()
    d = verdict("eval", "-p", policy, "--backend", "duckdb", tmp_path / "TIMESTAMP.parquet", "--id", "uid",
                "--as-of", AS_OF.isoformat(), "--on-error", "skip", "-o", d_out)
    assert d.exit_code == 0, d.output
    want = []
    for line, r in enumerate(recs, 1):
        moment = {k: datetime.datetime.fromisoformat(v) if k in dates else v for k, v in r.items() if k != "uid"}
        errors = [p for p in check_facts(pol, moment)[1] if p.severity == "error"]
        if errors:
            want.append(f"verdict: {tmp_path / 'TIMESTAMP.parquet'}:{line}: {errors[0].message}")
    assert want and d.stderr.splitlines()[:-1] == want
