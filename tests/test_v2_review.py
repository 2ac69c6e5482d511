"""Regression tests of the v2 review's findings: each a behaviour a user meets, on the CLI,
with its exit code and its one line, and the backends agreeing where they must."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

DATED = """\
policy: p1
version: 1
facts:
  d: {type: date, required: false}
  s: {type: integer}
thresholds: {k: 3}
outcomes: [{id: no, adverse: true}, ok]
default: ok
reasons: {R: recent, N: never}
rules:
  - id: recent
    when: {d: {missing: false, gte: {days_ago: k}}}
    then: {outcome: no, reason: R}
  - id: old
    when: {d: {lt: "2026-01-01"}}
    then: {outcome: no, reason: R}
  - id: never
    when: {d: {missing: true}}
    then: {reason: N}
  - id: yesterday
    when: {d: {eq: {days_ago: 1}}}
    then: {reason: N}
"""

SUMS = """\
policy: sums
version: 1
facts:
  n: {type: integer}
outcomes: [ok]
default: ok
outputs:
  s: {type: number, default: 0, combine: sum}
  o: {type: number, default: {mul: [s, 10]}}
rules:
  - id: a
    when: {n: {gt: 1}}
    then: {set: {s: 0.1}}
  - id: b
    when: {n: {gt: 2}}
    then: {set: {s: 0.2}}
"""


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_an_as_of_a_relative_date_falls_off_the_calendar_on_is_one_line_exit_2(tmp_path):
    policy = write(tmp_path, "p1.yaml", DATED)
    facts = write(tmp_path, "r.json", '{"s": 1, "d": "0001-01-01"}')
    r = run("eval", "-p", policy, "--as-of", "0001-01-02", facts)
    assert r.exit_code == 2
    assert r.stderr.strip() == ("verdict: --as-of 0001-01-02: on this day `k days ago` (policy `p1`) is before "
                                "0001-01-01, the calendar's first day")
    assert run("eval", "-p", policy, "--as-of", "0001-01-05", facts).exit_code == 0


def test_a_suites_as_of_off_the_calendar_is_located(tmp_path):
    write(tmp_path, "p1.yaml", DATED)
    suite = write(tmp_path, "p1.test.yaml", "policy: p1.yaml\nas_of: 0001-01-02\ncases:\n"
                  "  - name: x\n    facts: {s: 1}\n    expect: {outcome: ok}\n")
    r = run("test", suite)
    assert r.exit_code == 2
    assert "p1.test.yaml:2:8: error test-bad-as-of: on `as_of` 0001-01-02, `k days ago` is outside the calendar" \
        in r.stdout + r.stderr


def test_a_relative_date_beyond_the_calendar_span_is_refused_at_validation(tmp_path):
    policy = write(tmp_path, "big.yaml", DATED.replace("thresholds: {k: 3}", "thresholds: {k: 99999999999}"))
    r = run("validate", policy)
    assert r.exit_code == 1
    assert "error operand-type-mismatch: threshold `k` (99999999999) days is more than the calendar spans" in r.stdout


@pytest.mark.parametrize("day, outcome, notices", [("2026-11-10", "no", ["yesterday"]), ("2026-11-01", "ok", []),
                                                   ("2025-12-31", "no", [])])
@pytest.mark.parametrize("backend", ["native", "durable", "duckdb"])
def test_relative_dates_with_eq_and_presence_tests_on_every_backend(tmp_path, backend, day, outcome, notices):
    policy = write(tmp_path, "p1.yaml", DATED)
    facts = write(tmp_path, "r.json", json.dumps({"s": 1, "d": day}))
    d = json.loads(run("eval", "-p", policy, "--as-of", "2026-11-11", "--backend", backend, facts).stdout)
    assert d["outcome"] == outcome and [n["rule"] for n in d["notices"]] == notices


PRESENCE_ONLY = DATED.split("  - id: old")[0] + """\
  - id: never
    when: {d: {missing: true}}
    then: {reason: N}
"""


@pytest.mark.parametrize("backend", ["native", "duckdb"])
def test_missing_facts_names_a_presence_tested_fact_only_where_a_rule_is_left_undetermined(tmp_path, backend):
    facts = write(tmp_path, "r.jsonl", '{"s": 1}\n')
    policy = write(tmp_path, "p1.yaml", DATED)
    d = json.loads(run("eval", "-p", policy, "--as-of", "2026-11-11", "--backend", backend, facts).stdout)
    assert d["undetermined_rules"] == ["old", "yesterday"] and d["missing_facts"] == ["d"]
    policy = write(tmp_path, "p2.yaml", PRESENCE_ONLY)
    d = json.loads(run("eval", "-p", policy, "--as-of", "2026-11-11", "--backend", backend, facts).stdout)
    assert d["undetermined_rules"] == [] and d["missing_facts"] == []  # absent is a state the rules speak of


def test_an_output_an_expression_reads_sums_exactly_and_duckdb_writes_the_same_bytes(tmp_path):
    policy = write(tmp_path, "sums.yaml", SUMS)
    facts = write(tmp_path, "n.jsonl", '{"n": 5}\n{"n": 2}\n{"n": 1}\n')
    native = run("eval", "-p", policy, facts)
    duck = run("eval", "-p", policy, "--backend", "duckdb", facts)
    assert native.exit_code == duck.exit_code == 0
    assert [json.loads(line)["outputs"] for line in native.stdout.splitlines()] == [
        {"s": 0.3, "o": 3}, {"s": 0.1, "o": 1}, {"s": 0, "o": 0}]
    assert '"s":0.3,' in native.stdout  # not 0.30000000000000004, not .3
    assert duck.stdout == native.stdout


def test_a_computed_output_the_sql_form_refuses_is_one_line_exit_2(tmp_path):
    policy = write(tmp_path, "div.yaml", "policy: div\nversion: 1\nfacts:\n  x: {type: number}\noutcomes: [ok]\n"
                   "default: ok\noutputs:\n  dv: {type: number, default: {div: [x, 3]}}\nrules:\n"
                   "  - id: r\n    when: {x: {gt: 0}}\n    then: {outcome: ok}\n")
    facts = write(tmp_path, "x.jsonl", '{"x": 1}\n')
    r = run("eval", "-p", policy, "--backend", "duckdb", facts)
    assert r.exit_code == 2
    [line] = r.stderr.splitlines()
    assert line.startswith("verdict: output `dv`: division by 3") and line.endswith("(--backend native decides it)")
    assert json.loads(run("eval", "-p", policy, facts).stdout)["outputs"] == {"dv": 0.3333333333333333333333333333}


def test_parquet_dates_outside_the_calendar_are_refused_as_native_refuses_text(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    policy = write(tmp_path, "p1.yaml", DATED)
    src = tmp_path / "d.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES (1, DATE '10000-01-01'), (2, 'infinity'::DATE), (3, DATE '2026-11-10')) "
        f"t(s, d)) TO '{src}' (FORMAT parquet)")
    r = run("eval", "-p", policy, "--as-of", "2026-11-11", "--backend", "duckdb", "--on-error", "skip", src)
    assert r.exit_code == 0
    assert len(r.stdout.splitlines()) == 1  # only the real day is decided
    assert "fact `d` must be a date (YYYY-MM-DD), got string `10000-01-01`" in r.stderr
    assert "fact `d` must be a date (YYYY-MM-DD), got string `infinity`" in r.stderr
