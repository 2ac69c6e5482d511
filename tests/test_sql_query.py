"""The SQL form against the native form, in DuckDB: identical decisions field by field, or
identical rejections, on every example policy (hypothesis records at the thresholds'
boundaries, invalid records, the test suites' cases), on generated policies (the fuzz
builder) and on the number grid; and the per-record `SqlBackend`."""

from __future__ import annotations

import datetime
import glob
import math
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

duckdb = pytest.importorskip("duckdb")

from engine.api import load_policy_text  # noqa: E402
from engine.backends.sql import DIALECTS, SqlBackend, decision_query, render_sql  # noqa: E402
from engine.backends.sql import messages as sql_messages  # noqa: E402
from engine.backends.sql import query as sql_query  # noqa: E402
from engine.backends.sql.dialects import render  # noqa: E402
from engine.cli.main import main  # noqa: E402
from engine.compile import compile_policy, emit  # noqa: E402
from engine.errors import BackendError, BackendUnavailable, PolicyError, SqlLimitError  # noqa: E402
from engine.evaluate import checked_matches  # noqa: E402
from engine.explain import render as explain_render  # noqa: E402
from engine.io.policies import check_policy_file, load_policy, read_file  # noqa: E402
from engine.language.values import format_value  # noqa: E402
from engine.runtime.facts import normalize  # noqa: E402
from engine.runtime.semantics import reference_matches  # noqa: E402
from engine.suites import load as suites_load  # noqa: E402

from factgen import AS_OF, records  # noqa: E402
from fuzz.policies import build_policy, number_grid  # noqa: E402
from sql_agree import column_type, compare, derived_beyond, left_to_native, run_decisions  # noqa: E402
from engine.backends.sql.decimals import NATIVE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted(p for p in glob.glob(str(ROOT / "policies" / "*.yaml")) if not p.endswith(".test.yaml"))
_CACHE: dict = {}


def ruleset(path):
    if path not in _CACHE:
        _CACHE[path] = compile_policy(load_policy(path))
    return _CACHE[path]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


def assert_agree(policy, recs, con, lang=None, rs=None):
    bad = compare(policy, recs, con, lang, rs)
    assert not bad, f"{len(bad)} of {len(recs)} records disagree; first: {bad[0]}"


# -- invalid records: one fact spoiled -------------------------------------------------------

def spoiled(policy):
    """A valid record with one fact made invalid (or beyond what SQL holds)."""
    names = list(policy.facts)

    def spoil(args):
        record, pick, kind = args
        name = names[pick % len(names)]
        spec = policy.facts[name]
        record = dict(record)
        choices = {
            "integer": ["x", True, 1.5, float("nan"), 10**20, -(2**63), None],
            "number": ["x", False, float("nan"), float("inf"), -float("inf"), 2**53 + 1, None],
            "string": [1, True, "\ud83c", "not-an-enum-value", None],
            "boolean": [1, "true", 0.0, None],
            "date": ["2023-02-29", "2026-13-01", "2026-1-05", "20261111", "2026-11-11T00:00:00", " 2026-11-11",
                     "0000-01-01", "２０２６-11-11", "x", "", 20261111, 1.5, True,
                     datetime.datetime(2026, 11, 11), [2026, 11, 11], None],
            # a list fact: not a list, a wrong item, an item of the wrong type, a missing item
            "array": ["card", 1, {"a": 1}, ["not-an-item"], [1], [None], [True], None],
        }[spec.type]
        if spec.type == "date" and spec.minimum is not None:
            choices.append(spec.minimum - datetime.timedelta(days=1))
        if spec.type == "date" and spec.maximum is not None:
            choices.append(spec.maximum + datetime.timedelta(days=1))
        if spec.numeric and spec.minimum is not None:
            choices.append(spec.minimum - 1)
        if spec.numeric and spec.maximum is not None:
            choices.append(spec.maximum + 1)
        value = choices[kind % len(choices)]
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
        return record

    return st.tuples(records(policy), st.integers(0, 50), st.integers(0, 50)).map(spoil)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: Path(p).stem)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_example_policies_agree_with_native(path, data, con):
    rs = ruleset(path)
    recs = data.draw(st.lists(st.one_of(records(rs.policy), spoiled(rs.policy)), min_size=1, max_size=60))
    assert_agree(rs.policy, recs + [{}], con, rs=rs)


@pytest.mark.parametrize("lang", ["zh", "en-GB", "fr"])
def test_messages_per_language(lang, con):
    for path in POLICIES:
        rs = ruleset(path)
        recs = [r for r, _ in zip(_draw_many(rs.policy, 11), range(80))]
        assert_agree(rs.policy, recs, con, lang, rs)


def _draw_many(policy, seed: int, n: int = 80) -> list[dict]:
    out: list[dict] = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(records(policy))
    def collect(record):
        out.append(record)

    collect()
    return out


def test_the_test_suites_cases_agree(con):
    for path in sorted(glob.glob(str(ROOT / "policies" / "*.test.yaml"))):
        raw, _ = read_file(path)
        suite, diags = suites_load.load_suite(path, raw, check_policy_file)
        assert suite is not None, diags
        assert suite.cases
        days = {case.as_of or AS_OF for case in suite.cases}  # each case on its own evaluation date
        for day in sorted(days):
            recs = [case.record for case in suite.cases if (case.as_of or AS_OF) == day]
            bad = compare(suite.policy, recs, con, as_of=day)
            assert not bad, f"{path} on {day}: {len(bad)} of {len(recs)} cases disagree; first: {bad[0]}"


# -- generated policies ------------------------------------------------------------------------

def _generated(seeds):
    for seed in seeds:
        rng = random.Random(seed)
        text = build_policy(rng, edge=seed % 5 == 0)
        try:
            yield seed, load_policy_text(text).policy
        except PolicyError:
            continue


def test_generated_policies_agree_with_native(con):
    decided = 0
    for seed, policy in _generated(range(130)):
        try:
            recs = _draw_many(policy, seed, 20)
        except Exception:  # hypothesis cannot draw (e.g. an enum-less impossible range): not ours
            continue
        recs += [{}, {k: None for k in policy.facts}]
        try:
            bad = compare(policy, recs, con)
        except SqlLimitError as exc:
            # Only a value SQL cannot hold exactly may refuse a policy, and it must say so.
            assert "int64" in str(exc) or "double" in str(exc), exc
            continue
        assert not bad, f"seed {seed}: {bad[0]}"
        decided += 1
    assert decided >= 50  # the builder's policies mostly load; most of them compile to SQL


def test_the_number_grid_agrees(con):
    """Each edge value (int64 and double limits, 2^53±1, -0.0, 5e-324, …) and operator,
    plainly and under `not`: records at every edge value."""
    checked = 0
    for text, recs in number_grid()[::5]:
        policy = load_policy_text(text).policy
        try:
            bad = compare(policy, recs, con)
        except SqlLimitError:
            continue
        assert not bad, f"{text}\n{bad[0]}"
        checked += 1
    assert checked > 30


def test_hostile_strings_stay_literals(con):
    text = '''
policy: hostile
version: "1.0"
facts:
  name: {type: string, required: false}
  n: {type: number}
outcomes: [{id: "no", adverse: true}, "yes"]
default: "yes"
thresholds:
  quote: "it's \\"x\\"; DROP TABLE facts; --"
reasons:
  R1: {en: "It's {name} / {quote} / {n} \\\\ {{braces}}"}
rules:
  - id: r1
    when: {name: {in: ["'); DROP TABLE facts; --", "a\\"b", "it's"]}}
    then: {outcome: "no", reason: R1}
  - id: r2
    when: {name: "$$ or 1=1 $$"}
    then: {outcome: "no", reason: R1, message: "{name}{n}'"}
'''
    policy = load_policy_text(text).policy
    recs = [{"name": "'); DROP TABLE facts; --", "n": 0.1}, {"name": "a\"b", "n": 1e16},
            {"name": "$$ or 1=1 $$", "n": -0.0}, {"n": 2.5}, {"name": "it's", "n": 1e15}]
    assert_agree(policy, recs, con)
    assert con.execute('SELECT count(*) FROM "facts"').fetchone()[0] == len(recs)


def test_principal_reasons_rank_dedupe_and_limit(con):
    reasons = "".join(f"  R{i}: {{en: 'reason {i}'}}\n" for i in range(6))
    rules = "".join(f"  - {{id: r{i}, when: {{x: {{gte: {i}}}}}, then: {{outcome: deny, reason: R{(7 - i) % 6}}}}}\n"
                    for i in range(7))
    rules += "  - {id: n1, when: {x: {gte: 0}}, then: {reason: R0}}\n"
    text = (f"policy: many\nversion: 1\nfacts: {{x: {{type: integer}}}}\noutcomes: [{{id: deny, adverse: true}}, ok]\n"
            f"default: ok\nreasons:\n{reasons}rules:\n{rules}")
    policy = load_policy_text(text).policy
    recs = [{"x": v} for v in range(-1, 9)]
    assert_agree(policy, recs, con)
    rows = run_decisions(con, policy, [{"x": 8}])
    assert len(rows[0]["principal_reasons"]) == 4


# -- number text -----------------------------------------------------------------------------

def _doubles(n: int = 3000) -> list[float]:
    rng = random.Random(7)
    out = [0.0, -0.0, 0.1, 1e15, -1e15, 1e15 - 1, 999999999999999.9, 1e16, 2.0**53, 5e-324, 1e-5, 1e-4,
           1.7976931348623157e308, 123456.789, 1e22, 0.30000000000000004]
    while len(out) < n:
        v = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(v):
            out.append(v)
        out.append(rng.uniform(-1, 1) * 10 ** rng.randint(-8, 20))
        out.append(float(rng.randint(-10**16, 10**16)))
    return out


def test_number_text_is_format_value_text_style(con):
    """DuckDB's double → text, as the messages write it, is Python's format_value (TEXT)."""
    from sqlglot import exp

    values = _doubles()
    con.execute('CREATE OR REPLACE TABLE "nums" AS SELECT UNNEST(?::BIGINT[]) AS "i", UNNEST(?::DOUBLE[]) AS "x"',
                [list(range(len(values))), values])
    text = sql_messages.text_of("number", exp.Column(this=exp.to_identifier("x", quoted=True)), "duckdb")
    sql = render(exp.select(exp.column("i", quoted=True), text).from_(exp.table_("nums", quoted=True)), "duckdb")
    got = dict(con.execute(sql).fetchall())
    wrong = [(v, got[i], format_value(v)) for i, v in enumerate(values) if got[i] != format_value(v)]
    assert not wrong, wrong[:5]


# -- the per-record backend -----------------------------------------------------------------

@pytest.mark.parametrize("path", POLICIES, ids=lambda p: Path(p).stem)
def test_sql_backend_matches_are_the_reference(path):
    rs = ruleset(path)
    backend = SqlBackend(rs.policy, rs.plan)
    facts = [normalize(rs.policy, r)[0] for r in _draw_many(rs.policy, 3, 60)]
    # a number fact a derived fact reads beyond the exact decimal's digits: refused per record
    # (docs/backends.md; the batch runner decides it natively)
    beyond = [f for f in facts if derived_beyond(rs.policy, f)]
    facts = [f for f in facts if not derived_beyond(rs.policy, f)]
    for f in beyond:
        with pytest.raises(SqlLimitError, match="derived fact reads"):
            backend.rule_matches(f, as_of=AS_OF)
    # the records' evaluation date, and one a clean period (180 days) later: relative dates move
    for as_of in (AS_OF, AS_OF + datetime.timedelta(days=181)):
        many = backend.rule_matches_many(facts, as_of=as_of)
        assert len(many) == len(facts)
        for f, m in zip(facts, many):
            want = reference_matches(rs.policy, f, rs.plan, as_of=as_of)
            assert backend.rule_matches(f, as_of=as_of) == want == m
            assert checked_matches(rs, "native", f, want, as_of=as_of) == want
    assert backend.rule_matches_many([]) == []


def test_sql_backend_refuses_values_beyond_sql():
    policy = load_policy_text("policy: big\nversion: 1\nfacts: {i: {type: integer}, x: {type: number}}\n"
                              "outcomes: [o]\ndefault: o\nrules:\n  - {id: r, when: {i: {gt: 0}}, then: {flags: [f]}}\n"
                              ).policy
    backend = SqlBackend(policy)
    assert backend.rule_matches({"i": 2**63 - 1, "x": 2**60}) == (True,)  # 2^60 is a double exactly
    with pytest.raises(SqlLimitError, match="int64"):
        backend.rule_matches({"i": 2**63, "x": 1.0})
    with pytest.raises(SqlLimitError, match="no double holds exactly"):
        backend.rule_matches({"i": 1, "x": 2**53 + 1})
    with pytest.raises(SqlLimitError):
        backend.rule_matches_many([{"i": 1, "x": 1.0}, {"i": -(2**63), "x": 1.0}])


def test_sql_backend_without_duckdb_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'verdict-policy\[duckdb\]'"):
        SqlBackend(ruleset(POLICIES[0]).policy)


def test_mirrors_of_the_explainer_stay_equal():
    assert sql_query.MAX_PRINCIPAL_REASONS == explain_render.MAX_PRINCIPAL_REASONS
    # One choice of language for both, not a copy that could drift.
    assert sql_messages.pick_language is explain_render.pick_language


# -- the printed form ------------------------------------------------------------------------

def test_render_is_deterministic_across_processes():
    # a policy with a list fact is refused on BigQuery (docs/backends.md): the refusal's
    # text is part of the output, so it must be deterministic too
    # (on one evaluation date: a dated policy's query holds it, and two processes could
    # otherwise straddle midnight)
    script = ("import datetime, sys\nfrom engine.io.policies import load_policy\nfrom engine.compile import emit\n"
              "from engine.errors import SqlLimitError\n"
              "for p in sys.argv[1:]:\n"
              "    pol = load_policy(p)\n"
              "    lists = any(s.type == 'array' for s in pol.facts.values())\n"
              "    for d in ('duckdb','postgres','bigquery'):\n"
              "        try:\n"
              "            sys.stdout.write(emit(pol, 'sql', dialect=d, as_of=datetime.date(2026, 11, 11)))\n"
              "            assert not (lists and d == 'bigquery'), (p, d)\n"
              "        except SqlLimitError as e:\n"
              "            assert lists and d == 'bigquery' and 'list facts' in str(e), (p, d, e)\n"
              "            sys.stdout.write(str(e))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, *POLICIES], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={"PYTHONHASHSEED": seed, "PATH": ""}) for seed in ("1", "2")]
    outs = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1] and len(outs[0]) > 10000


def test_the_printed_query_runs_on_a_table_of_the_documented_shape(tmp_path, con):
    policy = ruleset(POLICIES[0]).policy
    result = CliRunner().invoke(main, ["compile", POLICIES[0], "--emit", "sql", "--table", "staging.users",
                                       "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.stdout == emit(policy, "sql", table="staging.users", as_of=AS_OF)
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")  # the documented shape: a list fact is a LIST column
    con.execute("CREATE OR REPLACE TABLE staging.users (" + ", ".join(
        f'"{n}" {column_type(s)}' for n, s in policy.facts.items()) + ")")
    con.execute("INSERT INTO staging.users DEFAULT VALUES")
    cur = con.execute(result.stdout)
    names = [d[0] for d in cur.description]
    assert names == ["__rejected", *sql_query.DECISION_COLUMNS, *(["as_of"] if policy.uses_time else [])]
    row = cur.fetchall()[0]
    assert row[0] is not None  # every fact missing: a required one is named
    if policy.uses_time:  # the evaluation date it was printed for, in every row
        assert row[-1] == AS_OF


def test_cli_usage_errors_and_refusals():
    run = CliRunner().invoke
    assert run(main, ["compile", POLICIES[0], "--emit", "python", "--dialect", "spark"]).exit_code == 2
    assert run(main, ["compile", POLICIES[0], "--emit", "durable", "--table", "t"]).exit_code == 2
    assert run(main, ["compile", POLICIES[0], "--emit", "sql", "--dialect", "oracle"]).exit_code == 2
    bad = run(main, ["compile", POLICIES[0], "--emit", "sql", "--table", "a..b"])
    assert bad.exit_code == 2 and "table name" in bad.stderr and "Traceback" not in bad.output
    hive = run(main, ["compile", POLICIES[0], "--emit", "sql", "--dialect", "hive"])
    assert hive.exit_code == 2 and "hive" in hive.stderr and hive.stdout == ""
    zh = run(main, ["compile", POLICIES[1], "--emit", "sql", "--lang", "zh", "--as-of", AS_OF.isoformat()])
    assert zh.exit_code == 0 and zh.stdout == render_sql(ruleset(POLICIES[1]).policy, "duckdb", lang="zh", as_of=AS_OF)
    with pytest.raises(BackendError, match="belong to the sql form"):
        emit(ruleset(POLICIES[0]).policy, "python", dialect="spark")
    assert set(DIALECTS) >= {"duckdb", "spark", "postgres", "hive", "bigquery", "snowflake", "trino"}


def test_a_fact_named_like_our_columns_is_refused():
    policy = load_policy_text("policy: p\nversion: 1\nfacts: {__rejected: {type: integer}}\noutcomes: [o]\n"
                              "default: o\nrules:\n  - {id: r, when: {__rejected: 1}, then: {flags: [f]}}\n").policy
    with pytest.raises(BackendError, match="reserves"):
        decision_query(policy)


def test_passthrough_columns_and_matches(con):
    """`__row`, the id column, the contract's column order, and `__m_<i>` = native matches;
    the source may be a table expression or a select."""
    from sqlglot import exp

    rs = ruleset(str(ROOT / "policies" / "credit-limit.yaml"))  # (was POLICIES[1] before account-loyalty sorted first)
    policy = rs.policy
    recs = _draw_many(policy, 5, 30)
    from sql_agree import create_table

    create_table(con, policy, recs)
    con.execute('CREATE OR REPLACE TABLE "ids" AS SELECT *, \'u\' || "__row" AS "uid" FROM "facts"')
    for source in ("ids", exp.table_("ids", quoted=True), exp.select("*").from_(exp.table_("ids", quoted=True))):
        tree = decision_query(policy, source=source, id_field="uid", matches=True, type_error=True, row=True)
        cur = con.execute(render(tree, "duckdb") + ' ORDER BY "__row"')
        names = [d[0] for d in cur.description]
        assert names == ["__row", "uid", "__rejected", *sql_query.DECISION_COLUMNS,
                         *[f"__m_{i}" for i in range(len(policy.rules))]]
        for n, (record, row) in enumerate(zip(recs, cur.fetchall()), 1):
            facts = normalize(policy, record)[0]
            assert row[:2] == (n, f"u{n}")
            if row[2] == NATIVE:  # left to the native code (a double the exact decimal may not hold)
                assert left_to_native(policy, record), record
                continue
            assert row[len(names) - len(policy.rules):] == reference_matches(policy, facts, rs.plan), (row[2], record)


def test_evaluate_through_the_sql_backend_gives_the_native_decision(monkeypatch):
    """As `RuleSet.backend("duckdb")` will hand it to `evaluate` (checked_matches): the
    same decisions, traced or not, on every example policy."""
    from engine.evaluate import evaluate

    for path in POLICIES:
        rs = compile_policy(load_policy(path))
        backend = SqlBackend(rs.policy, rs.plan)
        native_backend = rs.backend
        monkeypatch.setattr(rs, "backend", lambda name="native": backend if name == "duckdb" else native_backend(name))
        for record in _draw_many(rs.policy, 9, 25):
            if derived_beyond(rs.policy, record):  # refused per record (docs/backends.md)
                with pytest.raises(SqlLimitError, match="derived fact reads"):
                    evaluate(rs, record, backend="duckdb", as_of=AS_OF)
                continue
            for trace in (False, True):
                assert (evaluate(rs, record, trace=trace, backend="duckdb", as_of=AS_OF)
                        == evaluate(rs, record, trace=trace, as_of=AS_OF))


def test_number_output_kinds_say_what_native_holds():
    from engine.backends.sql import number_output_kinds

    policy = load_policy_text("policy: k\nversion: 1\nfacts: {x: {type: integer}}\noutcomes: [o]\ndefault: o\n"
                              "outputs:\n  a: {type: number, default: 0, combine: sum}\n"
                              "  b: {type: number, default: 0.0}\n  c: {type: number, default: 0, combine: max}\n"
                              "  d: {type: integer, default: 0}\n"
                              "rules:\n  - {id: r, when: {x: 1}, then: {set: {a: 5, b: 1.5, c: 2.5}}}\n").policy
    assert number_output_kinds(policy) == {"a": "int", "b": "float", "c": "mixed"}
