"""The SQL form executed by PostgreSQL: a throwaway server (initdb in a temporary folder,
a unix socket, stopped after), the same decision query on a smaller sample than DuckDB's,
identical decisions or rejections to the native form's; and PostgreSQL's float text."""

from __future__ import annotations

import glob
import json
import math
import random
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from sqlglot import exp

from engine.api import load_policy_text
from engine.backends.sql import decision_query
from engine.backends.sql.decimals import NATIVE
from engine.backends.sql import messages as sql_messages
from engine.backends.sql.dialects import render
from engine.compile import compile_policy
from engine.errors import PolicyError, SqlLimitError
from engine.io.policies import load_policy
from engine.language.values import format_value

import pg_server
from factgen import AS_OF, sample_records
from fuzz.policies import build_policy
from sql_agree import as_native, beyond_sql, expected, left_to_native, same, shows_quotient, staged_rows

psycopg = pytest.importorskip("psycopg")
from psycopg.types.json import set_json_loads  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted(p for p in glob.glob(str(ROOT / "policies" / "*.yaml")) if not p.endswith(".test.yaml"))
PG_TYPES = {"integer": "BIGINT", "number": "DOUBLE PRECISION", "string": "TEXT", "boolean": "BOOLEAN",
            "date": "DATE"}


def pg_type(spec) -> str:
    """A fact's column type: a list fact is an array of its items' type."""
    return PG_TYPES[spec.items.type] + "[]" if spec.type == "array" else PG_TYPES[spec.type]


@pytest.fixture(scope="module")
def pg():
    if pg_server.binaries() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin")
    with pg_server.server() as dsn, psycopg.connect(dsn, autocommit=True) as con:
        yield con



def _decide(con, policy, recs, lang=None):
    con.execute('DROP TABLE IF EXISTS "facts"')
    cols = "".join(f', "{n}" {pg_type(s)}' for n, s in policy.facts.items())
    con.execute(f'CREATE TABLE "facts" ("__row" BIGINT, "__type_error" TEXT{cols})')
    with con.cursor() as cur:
        marks = ", ".join(["%s::BIGINT", "%s::TEXT"] + [f"%s::{pg_type(s)}" for s in policy.facts.values()])
        cur.executemany(f'INSERT INTO "facts" VALUES ({marks})', staged_rows(policy, recs))
    sql = render(decision_query(policy, source="facts", dialect="postgres", lang=lang, type_error=True, row=True,
                                as_of=AS_OF), "postgres")
    cur = con.cursor()
    # JSON numbers as the exact decimals their text says: a computed output compares exactly
    # with native's Decimal; a double output is the float that text is, as json.loads makes it.
    set_json_loads(lambda text: json.loads(text, parse_float=Decimal), cur)
    cur.execute(sql + ' ORDER BY "__row"')
    names = [d.name for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    doubles = [n for n, o in policy.outputs.items() if not o.computed]
    for row in rows:
        if isinstance(row.get("outputs"), dict):
            row["outputs"] = {k: float(v) if k in doubles and isinstance(v, Decimal) else v
                              for k, v in row["outputs"].items()}
    return rows


def _agree(con, policy, recs, lang=None):
    rs = compile_policy(policy)
    rows = _decide(con, policy, recs, lang)
    assert len(rows) == len(recs)
    for rec, row in zip(recs, rows):
        kind, want = expected(policy, rs, rec, lang)
        if beyond_sql(policy, rec):  # a value SQL cannot hold: the staging refuses it (a limit)
            assert row["__rejected"] is not None, rec
        elif kind == "rejected":
            assert row["__rejected"] == want, (rec, row["__rejected"], want)
        elif row["__rejected"] == NATIVE and (left_to_native(policy, rec) or shows_quotient(policy, rs, rec)):
            continue  # a long-decimal double, or a derived quotient a message shows: decided by the native code
        else:
            got = as_native(row, policy)
            diff = {k: (want.get(k), got.get(k)) for k in set(want) | set(got) if not same(want.get(k), got.get(k))}
            assert row["__rejected"] is None and same(got, want), (rec, diff)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: Path(p).stem)
def test_postgres_decides_as_native(pg, path):
    policy = load_policy(path)
    spoiled = [{}, {k: "wrong" for k in policy.facts}, {k: float("nan") for k in policy.facts},
               {k: float("-inf") for k in policy.facts}, {k: -10**6 for k in policy.facts}]
    good = sample_records(policy, 1)[0]
    for name, spec in policy.facts.items():  # a date fact: texts that are no calendar day, other types
        if spec.type == "date":
            spoiled += [{**good, name: v} for v in ("2023-02-29", "2026-1-05", "0000-01-01", "2026-11-11T00:00:00",
                                                    20261111, True)]
    _agree(pg, policy, sample_records(policy, 50) + spoiled, lang="zh" if "double11" in path else None)


def test_postgres_on_generated_policies(pg):
    checked = 0
    for seed in range(40):
        try:
            policy = load_policy_text(build_policy(random.Random(seed))).policy
        except PolicyError:
            continue
        if any("\x00" in str(r.then.message) for r in policy.rules):
            continue  # PostgreSQL text cannot hold U+0000 (test_sql_dialects)
        try:
            recs = sample_records(policy, 12) + [{}]
        except Exception:
            continue
        try:
            _agree(pg, policy, recs)
        except SqlLimitError:
            continue
        checked += 1
    assert checked >= 15


def test_postgres_float_text(pg):
    """PostgreSQL's float8 text, as the messages write it: format_value's TEXT style except
    in 1e15 <= |x| < 1e17 (non-integral below 1e16, or any from 1e16), the documented
    exception: PostgreSQL writes every digit of an integral double below 1e17."""
    rng = random.Random(3)
    values = [0.0, -0.0, 0.1, 1e15, 1e15 + 1, 9999999999999998.0, 1e16, 5e-324, 1e-5, 123456.789, 2.0**53]
    while len(values) < 1500:
        v = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(v):
            values.append(v)
        values.append(rng.uniform(-1, 1) * 10 ** rng.randint(-8, 20))
    x = exp.Column(this=exp.to_identifier("x", quoted=True))
    sql = render(exp.select(sql_messages.text_of("number", x, "postgres")).from_(
        exp.Subquery(this=exp.select(exp.Cast(this=exp.Placeholder(), to=exp.DataType.build("DOUBLE")).as_(
            exp.to_identifier("x", quoted=True))), alias=exp.TableAlias(this=exp.to_identifier("t")))), "postgres")
    sql = sql.replace("?", "%s")
    wrong = []
    with pg.cursor() as cur:
        for v in values:
            got = cur.execute(sql, (v,)).fetchone()[0]
            documented = 1e15 <= abs(v) < 1e17 and not (v.is_integer() and abs(v) < 1e16)
            if got != format_value(v) and not documented:
                wrong.append((v, got, format_value(v)))
    assert not wrong, wrong[:5]


STRING_OPS_POLICY = """
policy: string-ops
version: 1
facts:
  email: {type: string}
outcomes: [corp, test, vip, other]
default: other
rules:
  - id: corp
    when: {email: {ends_with: "@corp.cn"}}
    then: {outcome: corp}
  - id: test-account
    when: {email: {contains: "%_test"}}
    then: {outcome: test}
  - id: vip
    when: {email: {starts_with: "vip."}}
    then: {outcome: vip}
"""


def test_postgres_string_operators_are_python_s(pg):
    # PostgreSQL has STARTS_WITH and STRPOS but no ENDS_WITH (the query failed there), and a
    # tail must be RIGHT(x, n): SUBSTR(x, -n) is not the last characters in PostgreSQL.
    policy = load_policy_text(STRING_OPS_POLICY).policy
    texts = ["a@corp.cn", "@corp.cn", "corp.cn", "x@corp.cnx", "vip.a@corp.cn", "vip.", "vipx", "a%_test",
             "a%xtest", "a_%test", "é@corp.cn", "", "😀@corp.cn", "@CORP.CN"]
    _agree(pg, policy, [{"email": t} for t in texts] + [{}])


LISTS = """\
policy: pg-lists
version: 1
facts:
  tags: {type: array, items: {type: string, enum: [cash, card, bnpl, loan]}, max_items: 4}
  cards: {type: array, items: {type: integer, minimum: 0, maximum: 9}, required: false}
  scores: {type: array, items: {type: number, minimum: 0}, min_items: 1, required: false}
outcomes: [{id: deny, adverse: true}, approve, review]
default: review
reasons: {LOAN: Has a loan}
rules:
  - {id: loan, when: {tags: {contains: loan}}, then: {outcome: deny, reason: LOAN}}
  - {id: any-card, when: {all: [{tags: {contains_any: [card, bnpl]}}, {cards: {length: {gte: 2}}}]},
     then: {outcome: approve}}
  - {id: both, when: {cards: {contains_all: [1, 2]}}, then: {outcome: approve}}
  - {id: empty, when: {tags: {length: {eq: 0}}}, then: {outcome: review}}
  - {id: big, when: {scores: {contains: 2.5}}, then: {outcome: approve}}
"""


def test_postgres_list_facts_decide_as_native(pg):
    """The list tests in PostgreSQL (`x = ANY(list)` with a missing list NULL, CARDINALITY,
    an item check over UNNEST) decide as native on every kind of list: empty, missing,
    duplicates, items beyond their spec, too many items."""
    policy = load_policy_text(LISTS).policy
    recs = [{"tags": []}, {"tags": ["loan"]}, {"tags": ["card"], "cards": [1, 2]}, {"tags": ["bnpl"], "cards": [3]},
            {"tags": ["card", "card"], "cards": [2, 1, 1]}, {"tags": ["cash"], "cards": []},
            {"tags": ["cash"], "scores": [2.5]}, {"tags": ["cash"], "scores": []}, {"tags": ["cash"], "cards": [10]},
            {"tags": ["other"]}, {"tags": ["cash"] * 5}, {"tags": ["cash"], "scores": [-1.0]}, {"cards": [1, 2]},
            {"tags": "cash"}, {"tags": ["cash"], "cards": [1.5]}]
    recs += sample_records(policy, 40)
    _agree(pg, policy, recs)
