"""Helpers of the SQL agreement tests: raw records staged into a typed facts table (as the
batch layer does: one typed column per fact, `__row`, `__type_error`), the decision query
run on it, and each row compared with the native decision, field by field."""

from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal

from engine.backends.sql.decimals import NATIVE
from engine.compile import compile_policy
from engine.evaluate import evaluate
from engine.explain.render import decision_dict
from engine.runtime.facts import check_facts

from factgen import AS_OF

INT_MAX = 2**63 - 1
SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN", "date": "DATE"}
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def stage_date(value):
    """A date fact's raw value as the batch layer stages it: a `datetime.date` (Parquet DATE)
    as it is, a text of exactly `YYYY-MM-DD` naming a calendar day as that day; anything
    else (a datetime, a number, `2023-02-29`, `2026-1-5`) a type error."""
    if value.__class__ is datetime.date:
        return value, False
    if value.__class__ is not str or not _ISO_DAY.fullmatch(value):
        return None, True
    try:
        return datetime.date(int(value[:4]), int(value[5:7]), int(value[8:])), False
    except ValueError:  # 2023-02-29, month 13, year 0
        return None, True


def column_type(spec) -> str:
    """The DuckDB column of a fact: a list fact is a LIST of its items' type."""
    return f"{SQL_TYPES[spec.items.type]}[]" if spec.type == "array" else SQL_TYPES[spec.type]


def stage_value(spec, value):
    """(the SQL value, whether it is a type error) for one raw value of a fact."""
    if value is None:
        return None, False
    if spec.type == "array":  # a list of staged items; any wrong item makes the list wrong
        if not isinstance(value, (list, tuple)):
            return None, True
        staged = [stage_value(spec.items, item) for item in value]
        if any(wrong or v is None for v, wrong in staged):
            return None, True
        return [v for v, _ in staged], False
    if spec.type == "boolean":
        return (value, False) if isinstance(value, bool) else (None, True)
    if spec.type == "date":
        return stage_date(value)
    if spec.type == "string":
        if not isinstance(value, str):
            return None, True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no SQL text holds it
            return None, True
        return value, False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, True
    if spec.type == "integer":
        if isinstance(value, float):
            if not value.is_integer():
                return None, True
            value = int(value)
        return (value, False) if -INT_MAX <= value <= INT_MAX else (None, True)
    if isinstance(value, int):
        try:
            as_float = float(value)
        except OverflowError:
            return None, True
        return (as_float, False) if as_float == value else (None, True)
    return value, False


def staged_rows(policy, records):
    rows = []
    for n, record in enumerate(records, 1):
        values, error = [], None
        for name, spec in policy.facts.items():
            value, wrong = stage_value(spec, record.get(name) if isinstance(record, dict) else None)
            if wrong and error is None:
                error = name
            values.append(value)
        rows.append((n, error, *values))
    return rows


def create_table(con, policy, records, table="facts"):
    cols = ", ".join(f'"{n}" {column_type(s)}' for n, s in policy.facts.items())
    con.execute(f'CREATE OR REPLACE TABLE "{table}" ("__row" BIGINT, "__type_error" VARCHAR{", " + cols if cols else ""})')
    rows = staged_rows(policy, records)
    marks = "(" + ", ".join("?" for _ in range(2 + len(policy.facts))) + ")"
    for start in range(0, len(rows), 200):  # one statement per 200 rows: executemany is slow
        chunk = rows[start:start + 200]
        con.execute(f'INSERT INTO "{table}" VALUES ' + ", ".join(marks for _ in chunk),
                    [v for row in chunk for v in row])


def beyond_sql(policy, record) -> bool:
    """Whether a valid record holds a value the staged table cannot (a documented limit)."""
    for name, spec in policy.facts.items():
        v = record.get(name)
        if spec.numeric and not isinstance(v, bool) and isinstance(v, (int, float)):
            _, wrong = stage_value(spec, v)
            if wrong and not (isinstance(v, float) and (not math.isfinite(v) or spec.type == "integer"
                                                        and not v.is_integer())):
                return True
    return False


def left_to_native(policy, record) -> bool:
    """Whether the SQL form may leave a valid record to the native code (`decimals.NATIVE`):
    only for a number fact whose double the exact decimal of a computed output or a
    formatted message may not hold (more than 6 fractional digits, or 10^9 or more); a
    record of short decimals (5123.45) is decided in SQL."""
    for name, spec in policy.facts.items():
        v = record.get(name) if isinstance(record, dict) else None
        if spec.type != "number" or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if not math.isfinite(v) or abs(v) >= 10**9 or -Decimal(repr(float(v))).as_tuple().exponent > 6:
            return True
    return False


def quotients(policy) -> set:
    """The derived facts that are a quotient by a fact (`div: [a, b]`, `b` a fact): never
    computed in SQL (Python rounds them to 28 digits)."""
    out = set()
    for name, d in getattr(policy, "derived", {}).items():
        expr = d.expr
        if getattr(expr, "op", None) == "div" and any(getattr(a, "kind", None) == "fact" for a in expr.args[1:]):
            out.add(name)
    return out


def _texts(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    return [str(value)]


def shows_quotient(policy, ruleset, record, as_of=AS_OF) -> bool:
    """Whether a rule whose message (or reason text) shows a derived quotient by a fact
    matches on this valid record natively (docs/batch.md: such a record is `(native)`)."""
    names = quotients(policy)
    if not names:
        return False
    facts, problems = check_facts(policy, record)
    if any(p.severity == "error" for p in problems):
        return False
    decision = evaluate(ruleset, facts, trace=False, as_of=as_of)
    for rule, hit in zip(policy.rules, decision.matched):
        if hit is not True:
            continue
        texts = _texts(rule.then.message) + (_texts(policy.reasons.get(rule.then.reason)) if rule.then.reason else [])
        if any(re.search(r"(?<!\{)\{" + re.escape(n) + r"(?=[:!}])", t) for n in names for t in texts):
            return True
    return False


def derived_beyond(policy, record) -> bool:
    """Whether a number fact a derived fact reads holds a double the exact decimal may not
    (as `left_to_native`): the per-record SQL backend refuses such a record."""
    read = set()

    def walk(e):
        if getattr(e, "kind", None) == "fact":
            read.add(e.name)
        for a in getattr(e, "args", ()) or ():
            walk(a)
    for d in getattr(policy, "derived", {}).values():
        walk(d.expr)
    return left_to_native(type("P", (), {"facts": {n: s for n, s in policy.facts.items() if n in read}})(), record)


def expected(policy, ruleset, record, lang=None, as_of=AS_OF):
    """What the SQL row must say: ("rejected", fact) or ("decided", decision_dict), on the
    evaluation date `as_of`."""
    facts, problems = check_facts(policy, record)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return "rejected", errors[0].fact
    decision = evaluate(ruleset, facts, trace=False, as_of=as_of)
    return "decided", decision_dict(decision, lang, trace=False)


def as_native(row: dict, policy, as_of=AS_OF) -> dict:
    """A decided SQL row as decision_dict writes it (messages and principal_reasons omitted
    when empty / not adverse; outputs {} when none declared; the evaluation date the query
    was built for after the policy's fields when the policy uses time)."""
    out = {k: row[k] for k in ("policy", "version", "policy_digest")}
    if policy.uses_time:
        out["as_of"] = as_of.isoformat()
    out.update({k: row[k] for k in ("outcome", "outcome_known", "adverse", "decided_by", "reasons")})
    if row["messages"]:
        out["messages"] = row["messages"]
    if row["adverse"]:
        out["principal_reasons"] = row["principal_reasons"]
    out.update({k: row[k] for k in ("notices", "flags")})
    out["outputs"] = dict(row["outputs"]) if policy.outputs else {}
    out.update({k: row[k] for k in ("missing_facts", "undetermined_rules")})
    return out


def same(a, b) -> bool:
    """Equal, and floats equal as floats (an int output that SQL holds as a double); a
    computed number output (a Decimal in native's decision) a Decimal of the same value."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and math.copysign(1, a) == math.copysign(1, b) if a == 0 else a == b
    return a == b


def run_decisions(con, policy, records, lang=None, as_of=AS_OF):
    """The decision query on the evaluation date `as_of` over `records`, as dicts in record order."""
    from engine.backends.sql import decision_query
    from engine.backends.sql.dialects import render

    create_table(con, policy, records)
    sql = render(decision_query(policy, source="facts", lang=lang, type_error=True, row=True, as_of=as_of), "duckdb")
    cur = con.execute(sql + ' ORDER BY "__row"')
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def compare(policy, records, con, lang=None, ruleset=None, as_of=AS_OF):
    """Every record's SQL row against native on the evaluation date `as_of`; a list of
    (record, problem) disagreements."""
    ruleset = ruleset or compile_policy(policy)
    rows = run_decisions(con, policy, records, lang, as_of)
    bad = []
    for record, row in zip(records, rows):
        kind, want = expected(policy, ruleset, record, lang, as_of)
        if kind == "rejected":
            if beyond_sql(policy, record) and row["__rejected"] is not None:
                continue
            if row["__rejected"] != want:
                bad.append((record, f"rejected: native {want!r}, sql {row['__rejected']!r}"))
            elif any(row[c] is not None for c in ("outcome", "decided_by", "reasons", "flags")):
                bad.append((record, "rejected row with decision columns"))
        elif beyond_sql(policy, record):
            if row["__rejected"] is None:
                bad.append((record, "a value beyond SQL decided"))
        elif row["__rejected"] == NATIVE and (left_to_native(policy, record)
                                              or shows_quotient(policy, ruleset, record, as_of)):
            continue  # the batch layer decides it natively (test_batch_cli checks those bytes)
        elif row["__rejected"] is not None:
            bad.append((record, f"rejected by sql ({row['__rejected']}), native decides"))
        else:
            got = as_native(row, policy, as_of)
            if not same(got, want):
                diff = {k: (want.get(k), got.get(k)) for k in set(want) | set(got) if not same(want.get(k), got.get(k))}
                bad.append((record, f"differs: {diff}"))
    return bad
