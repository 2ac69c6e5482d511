"""The SQL dialects: the few constructs that differ per dialect, rendering, and trap checks.

The decision query is one sqlglot expression tree; almost all of it (CASE, AND/OR/NOT,
IN, comparisons, casts, `||`) renders correctly in every dialect. What does not is built
here, per dialect, instead of trusting sqlglot's transpilation (see
../shared/sql-spark-notes.md and docs/backends.md):

- a struct (`struct`): DuckDB/Spark/BigQuery `STRUCT(e AS k)`, Trino a `CAST(ROW(…) AS
  ROW(k type, …))`, Snowflake `OBJECT_CONSTRUCT_KEEP_NULL` (plain `OBJECT_CONSTRUCT` drops
  keys whose value is NULL), PostgreSQL `JSON_BUILD_OBJECT` (it has no named struct:
  sqlglot writes an invalid `STRUCT(…)` there; JSON, not JSONB, which reorders keys). Hive would need `NAMED_STRUCT`, but see
  below.
- a list of the non-NULL elements of a fixed list, in order (`compact`): DuckDB
  `LIST_FILTER(…, LAMBDA x : …)` (DuckDB 2.0 refuses `x -> …`), Spark and Snowflake
  `ARRAY_COMPACT`, Trino `FILTER(…, x -> …)`, PostgreSQL and BigQuery a subquery over
  `UNNEST … WITH ORDINALITY`/`WITH OFFSET` ordered by the position (an unnest without ORDER
  BY has no order). Hive has neither lambdas nor an array function that drops NULLs:
  the decision query is refused for Hive (`BackendError`), the matches-only columns are not
  (see `render_sql`).
- an empty list of a type (`empty_list`).

`render` writes a tree with `unsupported_level=RAISE`, pretty and deterministic, and then
checks the text against the traps known to parse but be wrong (`check_traps`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from ...errors import BackendError

DIALECTS = ("duckdb", "spark", "postgres", "hive", "bigquery", "snowflake", "trino")
EXECUTED = ("duckdb", "spark", "postgres")  # executed in the tests; the others are generated only

# The element variable of a lambda: no policy name starts with two underscores and a digit.
_X = "__x"


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise BackendError(f"unknown SQL dialect `{dialect}` (choose from {', '.join(DIALECTS)})")
    return dialect


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str) -> exp.Column:
    return exp.Column(this=ident(name))


@lru_cache(maxsize=None)
def _dtype(sql_type: str) -> exp.DataType:
    return exp.DataType.build(sql_type)


def dtype(sql_type: str) -> exp.DataType:
    return _dtype(sql_type).copy()


def struct(dialect: str, fields: list[tuple[str, exp.Expression, str]]) -> exp.Expression:
    """A struct of `(name, value, sql type)` fields (names are our own keys or declared
    output names, always rendered as literals or quoted identifiers)."""
    if dialect == "postgres":
        args: list = []
        for name, value, _ in fields:
            args += [exp.Literal.string(name), value]
        return exp.Anonymous(this="JSON_BUILD_OBJECT", expressions=args)
    if dialect == "snowflake":
        args = []
        for name, value, _ in fields:
            args += [exp.Literal.string(name), value]
        return exp.Anonymous(this="OBJECT_CONSTRUCT_KEEP_NULL", expressions=args)
    if dialect == "hive":
        args = []
        for name, value, _ in fields:
            args += [exp.Literal.string(name), value]
        return exp.Anonymous(this="NAMED_STRUCT", expressions=args)
    if dialect == "trino":
        row = exp.Anonymous(this="ROW", expressions=[value for _, value, _ in fields])
        return exp.Cast(this=row, to=struct_type(dialect, [(n, t) for n, _, t in fields]))
    return exp.Struct(expressions=[exp.PropertyEQ(this=ident(name), expression=value)
                                   if dialect == "duckdb" else exp.Alias(this=value, alias=ident(name))
                                   for name, value, _ in fields])


def struct_type(dialect: str, fields: list[tuple[str, str]]) -> exp.DataType:
    if dialect == "postgres":
        return dtype("JSON")
    if dialect == "snowflake":
        return dtype("OBJECT")
    kind = exp.DataType.Type.STRUCT
    return exp.DataType(this=kind, expressions=[
        exp.ColumnDef(this=ident(name), kind=dtype(t)) for name, t in fields], nested=True)


def list_type(dialect: str, element: exp.DataType) -> exp.DataType:
    if dialect == "snowflake":
        return dtype("ARRAY")
    return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[element], nested=True)


def empty_list(dialect: str, element: exp.DataType) -> exp.Expression:
    return exp.Cast(this=exp.Array(expressions=[]), to=list_type(dialect, element))


def compact(dialect: str, elements: list[exp.Expression], element: exp.DataType) -> exp.Expression:
    """The non-NULL values of `elements`, in order, as a list (`[]` when none)."""
    if not elements:
        return empty_list(dialect, element)
    array = exp.Array(expressions=elements)
    if dialect == "duckdb":
        return exp.Anonymous(this="LIST_FILTER", expressions=[array, _not_null_lambda()])
    if dialect == "trino":
        return exp.Anonymous(this="FILTER", expressions=[array, _not_null_lambda()])
    if dialect in ("spark", "snowflake"):
        return exp.Anonymous(this="ARRAY_COMPACT", expressions=[array])
    if dialect in _UNNEST:
        template = sqlglot.parse_one(_UNNEST[dialect], read=dialect)
        return template.transform(
            lambda node: array.copy() if isinstance(node, exp.Column) and node.name == "__arr" else node)
    raise BackendError(
        f"the {dialect} dialect has no way to drop the NULLs of an array without a lambda; "
        f"its decision query is not generated (the matches-only form is: see docs/backends.md)")


# A subquery over the array's elements with their positions, in order (an UNNEST without
# ORDER BY has no order); PostgreSQL's ARRAY_REMOVE(…, NULL) would need an equality on the
# element type, which JSON has not.
_UNNEST = {
    "postgres": "ARRAY(SELECT __x FROM UNNEST(__arr) WITH ORDINALITY AS __t(__x, __n) WHERE NOT __x IS NULL "
                "ORDER BY __n)",
    "bigquery": "ARRAY(SELECT __x FROM UNNEST(__arr) AS __x WITH OFFSET AS __n WHERE NOT __x IS NULL ORDER BY __n)",
}


def _not_null_lambda() -> exp.Lambda:
    x = exp.to_identifier(_X)
    return exp.Lambda(this=exp.Not(this=exp.Is(this=exp.Column(this=x.copy()), expression=exp.Null())),
                      expressions=[x])


# -- rendering --------------------------------------------------------------------------------

# Text that parses back in its dialect but is wrong there (../shared/sql-spark-notes.md).
TRAPS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgres": ((r"\bSTRUCT\s*\(", "PostgreSQL has no STRUCT"),
                 (r"\bARRAY_LENGTH\s*\(", "ARRAY_LENGTH is NULL for an empty PostgreSQL array"),
                 (r"\bARRAY_COMPACT\s*\(", "PostgreSQL has no ARRAY_COMPACT"),
                 (r"->", "PostgreSQL has no lambdas")),
    "hive": ((r"->", "Hive has no lambdas"), (r"\bFILTER\s*\(", "Hive has no FILTER"),
             (r"\bSTRUCT\s*\(", "Hive's STRUCT loses field names")),
    "snowflake": ((r"\bOBJECT_CONSTRUCT\s*\(", "Snowflake's OBJECT_CONSTRUCT drops keys whose value is NULL"),),
    "duckdb": ((r"\w\s*->", "DuckDB 2.0 refuses the `x -> e` lambda"),),
    "bigquery": ((r"->", "BigQuery has no lambdas"),),
    "spark": ((r"\bLIST_FILTER\s*\(", "Spark has no LIST_FILTER"),),
    "trino": ((r"\bSTRUCT\s*\(", "Trino has no STRUCT constructor"),),
}


def _code(text: str) -> str:
    """`text` without its string literals and quoted identifiers (a trap is code, not data)."""
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`", "''", text)


def check_traps(dialect: str, text: str) -> None:
    code = _code(text)
    for pattern, why in TRAPS.get(dialect, ()):
        if re.search(pattern, code):
            raise BackendError(f"refusing to emit {dialect} SQL that would be wrong: {why}")


def _decimal_params(node) -> tuple[int, int] | None:
    """(precision, scale) of a CAST to DECIMAL(p, s), else None."""
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DECIMAL and len(node.to.expressions) == 2:
        p, s = (int(e.this.this) for e in node.to.expressions)
        return p, s
    return None


def check_decimals(tree: exp.Expression, dialect: str) -> exp.Expression:
    """Exact decimals (`decimals`) in the generated-only dialects whose DECIMAL arithmetic
    rounds where DuckDB, Spark and PostgreSQL are exact: BigQuery's NUMERIC holds 9
    places (every product is rounded to 9), so its decimals are BIGNUMERIC (38 places, 38
    integer digits: every value the SQL form computes fits); Snowflake gives a product
    min(s1 + s2, max(s1, s2, 12)) places: such a product is refused rather than rounded."""
    if dialect == "bigquery" and any(_decimal_params(n) for n in tree.find_all(exp.Cast)):
        def big(node):
            # (sqlglot writes BIGNUMERIC without its parameters: the scale is a ROUND, exact
            # for a decimal of that scale, and a double's nearest decimal of that scale)
            ps = _decimal_params(node)
            if ps:
                cast = exp.Cast(this=node.this.copy(), to=exp.DataType(this=exp.DataType.Type.BIGDECIMAL))
                node = exp.Round(this=cast, decimals=exp.Literal.number(ps[1]))
            return node

        while any(_decimal_params(n) for n in tree.find_all(exp.Cast)):  # (transform skips what it replaced)
            tree = tree.transform(big)
        return tree
    if dialect == "snowflake":
        for node in tree.find_all(exp.Mul):
            a, b = _decimal_params(node.this), _decimal_params(node.expression)
            if a and b and a[1] + b[1] > max(a[1], b[1], 12):
                raise BackendError(f"Snowflake rounds a product of {a[1]} and {b[1]} decimal places to "
                                   f"{max(a[1], b[1], 12)}; the exact value needs {a[1] + b[1]}")
    return tree


def render(tree: exp.Expression, dialect: str, pretty: bool = True) -> str:
    """The tree as text in `dialect`; BackendError where sqlglot cannot render a construct
    or the text holds a known trap."""
    check_dialect(dialect)
    tree = check_decimals(tree, dialect)
    if dialect == "postgres" and any(lit.is_string and "\x00" in lit.this for lit in tree.find_all(exp.Literal)):
        raise BackendError("PostgreSQL text cannot hold the character U+0000, which this policy's text has")
    try:
        text = tree.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE, identify=True)
    except SqlglotError as exc:
        raise BackendError(f"cannot render the query in {dialect}: {str(exc).splitlines()[0]}") from None
    check_traps(dialect, text)
    return text
