"""Spark, part 1 of 4 (see `engine.batch.spark`): the SQL text of the decision query for a
DataFrame, the typing of its columns, and `decide_dataframe`, which decides a DataFrame
lazily (the decision columns); also the number-text checks the other parts share."""

from __future__ import annotations

import json
import os

from ..errors import BackendError


_EXACT = 2 ** 53
_SPARK_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "STRING", "boolean": "BOOLEAN", "date": "DATE"}


def spark_type(spec) -> str:
    """A fact's column type in Spark (a list fact: an ARRAY of its items' type)."""
    if spec.type == "array":
        return f"ARRAY<{_SPARK_TYPES[spec.items.type]}>"
    return _SPARK_TYPES[spec.type]


# ARRAY column types whose items are items of a list fact's type, exactly
_ARRAY_ITEMS = {"string": ("string",), "boolean": ("boolean",), "integer": ("bigint", "int", "smallint", "tinyint"),
                "number": ("double", "float")}


def iso_date(text: str) -> str:
    """Whether a text is a calendar day exactly as the native check takes one (`YYYY-MM-DD`,
    years 1 to 9999, a real day): `engine.batch.inputs.iso_date` in Spark SQL."""
    return (f"coalesce({text} RLIKE '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' AND {text} >= '0001' "
            f"AND try_cast({text} AS DATE) IS NOT NULL, false)")

# -- SQL text helpers (identifiers are validated fact names, literals quoted here) ----------

def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _path(name: str) -> str:
    """A VARIANT path to the top-level key `name`."""
    return _lit("$[" + json.dumps(name) + "]") if '"' not in name and "\\" not in name else _lit("$." + name)


# -- deciding a DataFrame ------------------------------------------------------------------

def _compiled(policy_or_compiled):
    """(ruleset, policy) from a Policy, a RuleSet or an api.CompiledPolicy."""
    from ..compile import RuleSet, compile_policy
    from ..language.model import Policy

    obj = getattr(policy_or_compiled, "ruleset", policy_or_compiled)
    if isinstance(obj, RuleSet):
        return obj, obj.policy
    if isinstance(obj, Policy):
        return compile_policy(obj), obj
    raise TypeError(f"expected a Policy, a RuleSet or a CompiledPolicy, got {type(policy_or_compiled).__name__}")


def _policy_of(policy_or_compiled):
    """The Policy of a Policy, a RuleSet or an api.CompiledPolicy (the SQL form needs no
    native compilation)."""
    from ..compile import RuleSet
    from ..language.model import Policy

    obj = getattr(policy_or_compiled, "ruleset", policy_or_compiled)
    if isinstance(obj, RuleSet):
        return obj.policy
    if isinstance(obj, Policy):
        return obj
    raise TypeError(f"expected a Policy, a RuleSet or a CompiledPolicy, got {type(policy_or_compiled).__name__}")


_VIEWS = iter(range(1, 1 << 62))


def _view(df) -> str:
    name = f"verdict_facts_{os.getpid()}_{next(_VIEWS)}"
    df.createOrReplaceTempView(name)
    return name


def query_text(policy, view: str, *, lang=None, id_field=None, row=False, type_error=False, as_of=None) -> str:
    """The decision query (`engine.backends.sql.decision_query`) as Spark SQL over `view`,
    on the evaluation date `as_of`."""
    from ..backends.sql import decision_query
    from ..backends.sql.dialects import render

    q = decision_query(policy, source=view, dialect="spark", lang=lang, id_field=id_field,
                       row=row, type_error=type_error, as_of=as_of)
    return render(q, "spark", pretty=False)


_INTEGRAL = ("tinyint", "smallint", "int", "bigint")
_FLOATING = ("float", "double")


def typed_column(spec, col: str, dtype: str) -> tuple[str, str | None]:
    """(the SQL value of a typed column for a fact, the condition under which its value is
    of the wrong type, or None), by native's rules: booleans are never numbers, strings
    never anything else; an integral float (or decimal) is an integer (720.0 is 720); a
    decimal becomes a double through its text (correctly rounded, as Python reads it)."""
    sql_type = spark_type(spec)
    wrong = f"{col} IS NOT NULL"
    decimal = dtype.startswith("decimal")
    if spec.type == "array":  # an ARRAY of the items' type, without NULL items
        if any(dtype == f"array<{t}>" for t in _ARRAY_ITEMS[spec.items.type]):
            bad = f"exists({col}, __i -> __i IS NULL)"
            return f"CASE WHEN NOT {bad} THEN CAST({col} AS {sql_type}) END", f"{col} IS NOT NULL AND {bad}"
        return f"CAST(NULL AS {sql_type})", wrong
    if spec.type == "boolean":
        return (col, None) if dtype == "boolean" else (f"CAST(NULL AS {sql_type})", wrong)
    if spec.type == "string":
        return (col, None) if dtype == "string" else (f"CAST(NULL AS {sql_type})", wrong)
    if spec.type == "date":  # a DATE column, or texts `YYYY-MM-DD` (any other: native's message)
        if dtype == "date":  # Spark's DATE reaches far beyond the calendar's days (+5881580-07-11)
            inside = f"{col} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31'"
            return f"CASE WHEN {inside} THEN {col} END", f"{col} IS NOT NULL AND NOT ({inside})"
        if dtype == "string":
            return f"CASE WHEN {iso_date(col)} THEN try_cast({col} AS DATE) END", f"{col} IS NOT NULL AND NOT {iso_date(col)}"
        return f"CAST(NULL AS {sql_type})", wrong
    if dtype in _INTEGRAL:
        return f"CAST({col} AS {sql_type})", None
    if spec.type == "number" and dtype in _FLOATING:
        return f"CAST({col} AS DOUBLE)", None
    if spec.type == "number" and decimal:
        return f"CAST(CAST({col} AS STRING) AS DOUBLE)", None
    if dtype in _FLOATING or decimal:  # an integer fact: only an integral value fits
        exact = f"try_cast({col} AS BIGINT)"
        ok = f"CAST({exact} AS {'DOUBLE' if not decimal else dtype}) = {col}"
        return f"CASE WHEN {ok} THEN {exact} END", f"{col} IS NOT NULL AND NOT coalesce({ok}, false)"
    return f"CAST(NULL AS {sql_type})", wrong


def facts_frame(policy, df, *, id_field: str | None = None):
    """`df` as the facts relation: every declared fact a column of its SQL type (an absent
    column is NULL: the fact is missing). A value of the wrong type (see `typed_column`:
    a string in an integer fact, 720.5 in an integer fact) is NULL and marked in
    `__type_error` (the first such fact, in declaration order); `__row` and the id
    column are passed through when present."""
    cols = {c.lower(): c for c in df.columns}
    types = dict(df.dtypes)
    select, errors = [], []
    for name, spec in policy.facts.items():
        src = cols.get(name.lower())
        if src is None:
            select.append(f"CAST(NULL AS {spark_type(spec)}) AS {_ident(name)}")
            continue
        value, wrong = typed_column(spec, _ident(src), types[src])
        select.append(f"{value} AS {_ident(name)}")
        if wrong:
            errors.append(f"CASE WHEN {wrong} THEN {_lit(name)} END")
    if "__row" in cols:
        select.append(f"CAST({_ident(cols['__row'])} AS BIGINT) AS `__row`")
    if id_field is not None:
        if id_field.lower() not in cols:
            raise BackendError(f"the DataFrame has no column `{id_field}` (the id field)")
        select.append(f"{_ident(cols[id_field.lower()])} AS {_ident(id_field)}")
    if "__type_error" in cols:
        errors.insert(0, _ident(cols["__type_error"]))
    select.append(f"{'coalesce(' + ', '.join(errors) + ')' if errors else 'CAST(NULL AS STRING)'} AS `__type_error`")
    view = _view(df)
    return df.sparkSession.sql(f"SELECT {', '.join(select)} FROM {view}")


def decide_dataframe(policy_or_compiled, df, *, lang: str | None = None, id_field: str | None = None,
                     as_of=None):
    """Decide every row of a Spark DataFrame: a DataFrame with the decision columns of the
    SQL form (`__rejected`, `policy`, `version`, `policy_digest`, `outcome`,
    `outcome_known`, `adverse`, `decided_by`, `reasons`, `messages`, `principal_reasons`,
    `notices`, `flags`, `outputs`, `missing_facts`, `undetermined_rules`; the id column
    first when `id_field` is given, `__row` when `df` has one). Lazy, like any DataFrame:
    nothing runs until it is written or collected.

    Columns are matched to declared facts by name (case-insensitively); a missing column is
    a missing fact; other columns are ignored. A value that does not fit its fact's type
    (a string in an integer column) makes the row rejected: `__rejected` names the first
    fact (declaration order) that is wrong, and its decision columns are NULL; so do the
    native checks (a missing required fact, out of range, not in the enum, NaN). A policy
    that uses time decides on `as_of` (a `datetime.date`; None: today in its timezone),
    a DATE literal in the query."""
    policy = _policy_of(policy_or_compiled)
    facts = facts_frame(policy, df, id_field=id_field)
    view = _view(facts)
    sql = query_text(policy, view, lang=lang, id_field=id_field, row="__row" in facts.columns, type_error=True,
                     as_of=as_of)
    return df.sparkSession.sql(sql)


def message_names(policy) -> set[str]:
    """Every name a message template of the policy (any language) fills in."""
    from ..language.templates import template_parts

    texts = []
    for rule in policy.rules:
        texts += list((rule.then.message or {}).values())
        if rule.then.reason:
            texts += list((policy.reasons.get(rule.then.reason) or {}).values())
    return {name for t in texts for name in template_parts(t)[1::2]}


def java_text_differs(x: str) -> str:
    """SQL: true when Spark's text of the double `x` (Java's `Double.toString`) may not be
    the text native writes in a message (TEXT style: an integral value below 1e15 as an
    integer, else Python's repr). Measured equal on 80,000 doubles with 1e-3 <= |x| < 1e7
    (tests/test_batch_spark.py keeps checking); outside that range Java writes an exponent
    (`1.0E7`) where Python does not, or another one (`1.0E-5` for `1e-05`)."""
    return (f"(NOT (abs({x}) >= 0.001 AND abs({x}) < 10000000.0)"
            f" AND NOT CASE WHEN abs({x}) < 1000000000000000.0 THEN {x} = floor({x}) ELSE false END)")
