"""The inputs of a batch run, and their staging into the facts relation of the decision query.

`expand(paths, input_format)` turns the command line's inputs (files, globs, folders of
Parquet) into `Input`s, each with its format (JSONL, CSV, Parquet). `stage(con, policy,
inp, ...)` makes a DuckDB table of one input in the shape of the SQL contract
(docs/batch.md): one typed column per declared fact (SQL NULL = absent), `__row` (the
record's number: its line for JSONL, its record number for CSV and Parquet), the `--id`
column, `__type_error` (NULL, or the first fact whose raw value is not what SQL can take
exactly, or `(record)` for a record that is not plain JSON; a date fact's column is a
DATE, from a `YYYY-MM-DD` text or a Parquet DATE) and `__warn` (the undeclared
keys of the record, for its warnings).

The staging is conservative: every value it cannot convert exactly as the native reader
would (a string where a number goes, `720.5` for an integer, an integer beyond 64 bits, a
CSV cell in an unusual spelling, a line that is not valid JSON, NaN, a duplicate key, a
record over a size limit) is *flagged*, never guessed. A flagged record is then read again
by the native reader and checked by the native code (`engine.batch.run`), which decides
whether it is rejected, with the native message, or decided (natively, so exactly).
"""

from __future__ import annotations

import glob
import os
from typing import NamedTuple

from ..io.records import MAX_DEPTH, MAX_RECORD_BYTES
from ..language.model import ARRAY, DATE, Policy

BATCH_FORMATS = ("jsonl", "csv", "parquet")
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
RECORD = "(record)"  # __type_error of a record the native reader must read (not one fact's value)
_GLOB = set("*?[")
# Integers an int64 holds; integral doubles exact up to 2**53; numbers messages show alike
# in both forms below 1e15 (`format_value` writes integral floats as integers there).
_EXACT = 2 ** 53
_INTEGRAL_TEXT = 10 ** 15
# Records longer than this may hold an integer over MAX_INT_DIGITS (4,300 digits), which the
# native reader refuses: the native reader looks at them (they are rare in facts).
_LONG_RECORD = 4000


class BatchError(Exception):
    """A usage or input problem of a batch run: one line, exit 2 (the command line shows
    it as its input errors)."""


class InputsError(BatchError):
    """An input that cannot be used: `where: message`, exit 2."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")


class Input(NamedTuple):
    path: str
    fmt: str  # jsonl | csv | parquet


def format_of(path: str, input_format: str | None = None) -> str | None:
    if input_format is not None:
        return input_format
    lower = path.lower()
    for suffix, fmt in SUFFIXES.items():
        if lower.endswith(suffix):
            return fmt
    return None


def batchable(paths: list[str], input_format: str | None) -> bool:
    """Whether every input is one the batch runner reads: a JSONL, CSV or Parquet file (by
    suffix or `--input-format`), a glob or a folder. Anything else (stdin, a JSON or YAML
    document) is decided record by record."""
    if input_format is not None and input_format not in BATCH_FORMATS:
        return False
    for p in paths:
        if p == "-":
            return False
        if os.path.isdir(p) or (_GLOB & set(p) and not os.path.exists(p)):
            continue
        if format_of(p, input_format) is None:
            return False
    return True


def expand(paths: list[str], input_format: str | None = None) -> list[Input]:
    """The files of a run in order: each path as given; a glob's matches sorted; a folder's
    Parquet files (recursively, sorted: a partitioned data set). Raises InputsError."""
    out: list[Input] = []
    for p in paths:
        if os.path.isdir(p):
            files = sorted(f for f in glob.glob(os.path.join(glob.escape(p), "**", "*"), recursive=True)
                           if os.path.isfile(f) and format_of(f, input_format if input_format == "parquet" else None)
                           == "parquet" and not os.path.basename(f).startswith((".", "_")))
            if not files:
                raise InputsError(p, "a folder without Parquet files (*.parquet)")
            out += [Input(f, "parquet") for f in files]
            continue
        if _GLOB & set(p) and not os.path.exists(p):
            files = sorted(f for f in glob.glob(p, recursive=True) if os.path.isfile(f))
            if not files:
                raise InputsError(p, "no file matches")
        else:
            files = [p]
        for f in files:
            fmt = format_of(f, input_format)
            if fmt not in BATCH_FORMATS:
                raise InputsError(f, "not a JSONL, CSV or Parquet file (name it *.jsonl, *.csv or *.parquet, "
                                     "or give --input-format)")
            if not os.path.exists(f):
                raise InputsError(f, "cannot read: no such file")
            if not os.access(f, os.R_OK):
                raise InputsError(f, "cannot read: Permission denied")
            out.append(Input(f, fmt))
    return out


# -- SQL text helpers -----------------------------------------------------------------------

def ident(name: str) -> str:
    """A quoted SQL identifier (a fact's name is data, never SQL)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _list(names) -> str:
    return "[" + ", ".join(lit(n) for n in names) + "]"


def json_path(name: str) -> str:
    return "$." + '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- staging --------------------------------------------------------------------------------

class Staged(NamedTuple):
    table: str  # the staged facts relation (contract columns, plus __warn)
    raw: str | None  # Parquet: the raw rows by __row (what the native recheck reads)
    rows: int  # records staged
    id_kind: str | None  # how the id column is held: json | varchar | the Parquet type
    warn_const: tuple[str, ...] | None  # CSV/Parquet: the undeclared columns, the same for every record
    # (JSONL: `__warn`, the record's undeclared keys)


# Control characters DuckDB's to_json escapes otherwise than Python (see engine.batch.jsontext):
# a record holding one in a string is decided and written natively.
CONTROL = "'[\\x00-\\x07\\x0b\\x0e-\\x1f]'"


def stage(con, policy: Policy, inp: Input, index: int, id_field: str | None, control: bool = False,
          refuse: bool = False) -> Staged:
    """The staged facts relation of one input (see the module docstring). With `control`,
    every record is flagged (a policy whose texts only the native encoder writes exactly);
    with `refuse` (`--undeclared refuse`), every record with an undeclared key."""
    if inp.fmt == "jsonl":
        return _stage_jsonl(con, policy, inp, index, id_field, refuse)
    if inp.fmt == "csv":
        return _stage_csv(con, policy, inp, index, id_field, refuse)
    return _stage_parquet(con, policy, inp, index, id_field, control, refuse)


def iso_date(text: str) -> str:
    """Whether a text is a calendar day exactly as the native check takes one: `YYYY-MM-DD`,
    ten characters, a valid day of years 1 to 9999 (DuckDB reads year 0 as 1 BC). Any other
    text is flagged: the native check words its error."""
    return (f"coalesce(regexp_full_match({text}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND {text} >= '0001' "
            f"AND TRY_CAST({text} AS DATE) IS NOT NULL, false)")


def _first_error(checks: list[tuple[str, str]]) -> str:
    """__type_error: the first (in declaration order) fact whose check fails."""
    if not checks:
        return "NULL"
    return "CASE " + " ".join(f"WHEN {cond} THEN {lit(name)}" for name, cond in checks) + " ELSE NULL END"


def _stage_jsonl(con, policy: Policy, inp: Input, index: int, id_field: str | None, refuse: bool = False) -> Staged:
    table = f"__staged_{index}"
    facts = list(policy.facts.values())
    # Lines by number (blank ones too, so `__row` is the line number the native reader names).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __lines_{index} AS
        SELECT __row, CASE WHEN __row = 1 AND starts_with(line, chr(65279)) THEN substr(line, 2) ELSE line END AS line
        FROM (SELECT generate_subscripts(s, 1) AS __row, unnest(s) AS line
              FROM (SELECT string_split(content, chr(10)) AS s FROM read_text({lit(inp.path)})))
        WHERE NOT regexp_full_match(line, '[ \\t\\r\\n]*')""")
    paths = [json_path(f.name) for f in facts] + ([json_path(id_field)] if id_field is not None else [])
    # (DuckDB's AND does not short-circuit: the JSON functions run only under CASE WHEN valid.)
    plain = (f"CASE WHEN strlen(line) < {min(_LONG_RECORD, MAX_RECORD_BYTES - 2)} AND json_valid(line) THEN "
             "starts_with(ltrim(line, ' \t\r'), '{') "
             # NaN/Infinity (which yyjson reads and JSON has not), nesting (duplicate keys can
             # hide in nested objects; MAX_DEPTH), a NUL escape: the native reader decides.
             "AND NOT contains(line, 'NaN') AND NOT contains(line, 'Infinity') "
             "AND NOT (contains(line, '\\u00') AND regexp_matches(line, '\\\\u00[01][0-9a-fA-F]')) "
             f"AND strlen(line) - strlen(replace(line, '{{', '')) <= 1 "
             f"AND strlen(line) - strlen(replace(line, '[', '')) < {MAX_DEPTH} ELSE false END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __json_{index} AS
        SELECT __row, v, keys, ok AND len(keys) = len(list_distinct(keys)) AS ok FROM (
          SELECT __row, ok,
                 CASE WHEN ok THEN json_extract(line, {_list(paths)}) END AS v,
                 CASE WHEN ok THEN json_keys(line) ELSE [] END AS keys
          FROM (SELECT __row, line, ({plain}) AS ok FROM __lines_{index}))""")
    # Each value's JSON type told by its text (yyjson writes a value back canonically: a
    # string starts with `"`, a number with a digit or `-`, a double has `.`, `e` or `E`),
    # and its casts, computed once (materialized: the checks below use each several times).
    per = []
    for i in range(1, len(paths) + 1):
        x = f"CAST(v[{i}] AS VARCHAR)"
        kind = (f"CASE left({x}, 1) WHEN '\"' THEN 'VARCHAR' WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN' "
                f"WHEN 'n' THEN 'NULL' WHEN '[' THEN 'ARRAY' WHEN '{{' THEN 'OBJECT' "
                f"ELSE CASE WHEN regexp_matches({x}, '[.eE]') THEN 'DOUBLE' ELSE 'BIGINT' END END")
        per += [f"v[{i}] AS __v{i}", f"{kind} AS __t{i}", f"TRY_CAST({x} AS BIGINT) AS __i{i}",
                f"TRY_CAST({x} AS DOUBLE) AS __d{i}"]
        if i <= len(facts) and facts[i - 1].type == ARRAY:  # the items' canonical JSON texts
            per.append(f"CASE WHEN left({x}, 1) = '[' THEN list_transform(json_extract(v[{i}], '$[*]'), "
                       f"lambda e: CAST(e AS VARCHAR)) END AS __a{i}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __parsed_{index} AS SELECT __row, ok, keys, {', '.join(per)} "
                f"FROM __json_{index}")
    cols, checks = [], []
    for i, spec in enumerate(facts, 1):
        v, t, n, d = f"__v{i}", f"__t{i}", f"__i{i}", f"__d{i}"
        name = ident(spec.name)
        isint = f"({t} = 'BIGINT' AND {n} IS NOT NULL)"
        if spec.type == "integer":
            exact = f"({t} = 'DOUBLE' AND {d} = floor({d}) AND abs({d}) < {_EXACT})"
            cols.append(f"CASE WHEN {isint} THEN {n} WHEN {exact} THEN CAST({d} AS BIGINT) END AS {name}")
            bad = f"NOT ({t} = 'NULL' OR {isint} OR {exact})"
        elif spec.type == "number":
            cols.append(f"CASE WHEN {t} IN ('BIGINT', 'DOUBLE') THEN {d} END AS {name}")
            bad = (f"NOT ({t} = 'NULL' OR ({isint} AND abs({n}) < {_INTEGRAL_TEXT}) "
                   f"OR ({t} = 'DOUBLE' AND isfinite({d}) AND NOT ({d} = floor({d}) AND abs({d}) >= {_EXACT})))")
        elif spec.type == "string":
            cols.append(f"CASE WHEN {t} = 'VARCHAR' THEN json_extract_string({v}, '$') END AS {name}")
            bad = f"{t} NOT IN ('VARCHAR', 'NULL')"
        elif spec.type == ARRAY:
            value, items_ok = list_items(spec.items.type, f"__a{i}")
            ok = f"({t} = 'ARRAY' AND {items_ok})"
            cols.append(f"CASE WHEN {ok} THEN {value} END AS {name}")
            bad = f"NOT ({t} = 'NULL' OR {ok})"
        elif spec.type == DATE:
            text = f"json_extract_string({v}, '$')"
            ok = f"({t} = 'VARCHAR' AND {iso_date(text)})"
            cols.append(f"CASE WHEN {ok} THEN TRY_CAST({text} AS DATE) END AS {name}")
            bad = f"NOT ({t} = 'NULL' OR {ok})"
        else:
            cols.append(f"CASE WHEN {t} = 'BOOLEAN' THEN CAST({v} AS BOOLEAN) END AS {name}")
            bad = f"{t} NOT IN ('BOOLEAN', 'NULL')"
        # A key that is absent gives SQL NULL (json_type NULL too): missing, not an error.
        checks.append((spec.name, f"{v} IS NOT NULL AND {bad}"))
    id_col = ""
    if id_field is not None:
        i = len(facts) + 1
        v, t, n, d = f"__v{i}", f"__t{i}", f"__i{i}", f"__d{i}"
        id_col = f"{v} AS {ident(id_field)}, "
        isint = f"({t} = 'BIGINT' AND {n} IS NOT NULL)"
        id_ok = (f"({t} = 'VARCHAR' OR {isint} OR ({t} = 'DOUBLE' AND isfinite({d}) "
                 f"AND NOT ({d} = floor({d}) AND abs({d}) >= {_EXACT})))")
        checks.insert(0, (RECORD, f"NOT coalesce({id_ok}, false)"))
    known = [f.name for f in facts] + ([id_field] if id_field is not None else [])
    if refuse:
        checks.insert(0, (RECORD, f"len(list_filter(keys, lambda k: NOT list_contains({_list(known)}, k))) > 0"))
    type_error = _first_error([(RECORD, "NOT ok")] + checks)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT __row, {id_col}{', '.join(cols)}, {type_error} AS __type_error,
               list_filter(keys, lambda k: NOT list_contains({_list(known)}, k)) AS __warn
        FROM __parsed_{index}""")
    con.execute(f"DROP TABLE __lines_{index}; DROP TABLE __json_{index}; DROP TABLE __parsed_{index}")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Staged(table, None, rows, "json", None)


# CSV cells in the spellings both readers convert alike; any other non-empty cell is flagged
# and converted by the native reader (`engine.io.values.cell_converter`).
_CSV_INT = "^-?[0-9]{1,18}$"
_CSV_INT_POINT = "^-?[0-9]{1,15}\\.0*$"
_CSV_NUMBER = "^-?[0-9]{1,15}(\\.[0-9]{1,17})?$"
_CSV_BOOL = {"true": "true", "1": "true", "yes": "true", "false": "false", "0": "false", "no": "false"}


def _csv_header(path: str) -> list[str]:
    """The header as the native reader takes it (csv module, cells stripped, BOM dropped)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        row = next(csv.reader(fh), None)
    return [h.strip() for h in row] if row else []


def _stage_csv(con, policy: Policy, inp: Input, index: int, id_field: str | None, refuse: bool = False) -> Staged:
    table = f"__staged_{index}"
    try:
        header = _csv_header(inp.path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _NativeOnly(str(exc)) from None
    if len(set(header)) != len(header) or not header or any(h == "" for h in header):
        raise _NativeOnly("an unusual header")
    raw_cols = {h: f"c{i}" for i, h in enumerate(header)}
    columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in raw_cols.values()) + "}"
    source = (f"read_csv({lit(inp.path)}, columns={columns}, header=true, delim=',', quote='\"', escape='\"', "
              "auto_detect=false, strict_mode=true, null_padding=false, all_varchar=true, "
              "parallel=false, encoding='utf-8')")
    # Rows: a blank line or a row of empty cells is no record (as in the native reader).
    cells = [f"coalesce({c}, '')" for c in raw_cols.values()]
    nonblank = f"NOT regexp_full_match({' || '.join(cells)}, '\\s*')"
    # An empty cell (quoted or not) is a missing value.
    cleaned = ", ".join(f"nullif({c}, '') AS {c}" for c in raw_cols.values())
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE __cells_{index} AS
            SELECT row_number() OVER () AS __row, {cleaned}
            FROM (SELECT * FROM {source} WHERE {nonblank})""")
    except Exception as exc:  # noqa: BLE001 - a CSV DuckDB reads otherwise than the csv module
        raise _NativeOnly(str(exc)) from None
    cols, checks = [], []
    for spec in policy.facts.values():
        name = ident(spec.name)
        if spec.name not in raw_cols:
            cols.append(f"NULL::{sql_type_of(spec)} AS {name}")
            continue
        c = raw_cols[spec.name]
        if spec.type == "integer":
            cols.append(f"CASE WHEN regexp_matches({c}, '{_CSV_INT}') THEN TRY_CAST({c} AS BIGINT) "
                        f"WHEN regexp_matches({c}, '{_CSV_INT_POINT}') THEN CAST(split_part({c}, '.', 1) AS BIGINT) "
                        f"END AS {name}")
            ok = f"(regexp_matches({c}, '{_CSV_INT}') AND TRY_CAST({c} AS BIGINT) IS NOT NULL) " \
                 f"OR regexp_matches({c}, '{_CSV_INT_POINT}')"
        elif spec.type == "number":
            cols.append(f"CASE WHEN regexp_matches({c}, '{_CSV_NUMBER}') THEN CAST({c} AS DOUBLE) END AS {name}")
            ok = f"regexp_matches({c}, '{_CSV_NUMBER}')"
        elif spec.type == "string":
            cols.append(f"{c} AS {name}")
            ok = f"NOT regexp_matches({c}, {CONTROL})"
        elif spec.type == DATE:
            ok = iso_date(c)
            cols.append(f"CASE WHEN {ok} THEN TRY_CAST({c} AS DATE) END AS {name}")
        elif spec.type == ARRAY:  # a JSON array text; read by the JSON functions only when it is one
            texts = (f"CASE WHEN {csv_json_array(c)} THEN list_transform(json_extract(CAST({c} AS JSON), '$[*]'), "
                     f"lambda e: CAST(e AS VARCHAR)) END")
            value, items_ok = list_items(spec.items.type, texts)
            ok = f"{csv_json_array(c)} AND {items_ok}"
            cols.append(f"CASE WHEN {ok} THEN {value} END AS {name}")
        else:
            cases = " ".join(f"WHEN {lit(k)} THEN {v}" for k, v in _CSV_BOOL.items())
            cols.append(f"CASE lower({c}) {cases} END AS {name}")
            ok = f"regexp_full_match({c}, '[A-Za-z01]+') AND lower({c}) IN ({', '.join(lit(k) for k in _CSV_BOOL)})"
        checks.append((spec.name, f"{c} IS NOT NULL AND NOT ({ok})"))
    id_col = ""
    if id_field is not None:
        if id_field not in raw_cols or id_field in policy.facts:
            raise _NativeOnly("the --id column")  # every record is an error, or an unusual id: native says
        c = raw_cols[id_field]
        id_col = f"{c} AS {ident(id_field)}, "
        checks.insert(0, (RECORD, f"{c} IS NULL OR regexp_matches({c}, {CONTROL})"))
    warn = tuple(h for h in header if h not in policy.facts and h != id_field)
    if refuse and warn:
        checks.insert(0, (RECORD, "true"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT __row, {id_col}{', '.join(cols)}, {_first_error(checks)} AS __type_error
        FROM __cells_{index}""")
    con.execute(f"DROP TABLE __cells_{index}")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Staged(table, None, rows, "varchar", warn)


def sql_type_of(spec) -> str:
    """A fact's staged column type (a list fact: a LIST of its items' type)."""
    if spec.type == ARRAY:
        return _SQL_TYPE[spec.items.type] + "[]"
    return _SQL_TYPE[spec.type]


def csv_json_array(cell: str) -> str:
    """Whether a CSV cell is a JSON array the JSON functions read as Python's `json` does:
    `[` … `]` exactly, valid JSON, no NaN/Infinity (which yyjson reads), no escaped control
    character (`\\u0000`-`\\u001f`: DuckDB's JSON writer escapes them otherwise), and none
    raw (the CONTROL set); anything else is left to the native reader."""
    return (f"coalesce(starts_with({cell}, '[') AND ends_with({cell}, ']') AND json_valid({cell}) "
            f"AND NOT contains({cell}, 'NaN') AND NOT contains({cell}, 'Infinity') "
            f"AND NOT regexp_matches({cell}, '\\\\u00[01]') AND NOT regexp_matches({cell}, {CONTROL}), false)")


# Item texts (yyjson's canonical JSON of each item) that both readers convert alike; any
# other item (a null, a nested list, 3.0 for an integer, an integer over 18 digits, a
# double beyond 2^53 that is integral) flags the record for the native reader.
_ITEM_TEXT = {
    "string": "left(e, 1) = '\"'",
    # (int64 but -2^63, which the SQL form's symmetric range leaves out)
    "integer": "regexp_full_match(e, '-?[0-9]{1,19}') AND TRY_CAST(e AS BIGINT) > -9223372036854775808",
    "number": (f"(regexp_full_match(e, '-?[0-9]{{1,15}}') OR (regexp_matches(e, '[.eE]') "
               f"AND coalesce(isfinite(TRY_CAST(e AS DOUBLE)) AND NOT (floor(TRY_CAST(e AS DOUBLE)) = "
               f"TRY_CAST(e AS DOUBLE) AND abs(TRY_CAST(e AS DOUBLE)) >= {_EXACT}), false)))"),
    "boolean": "e IN ('true', 'false')",
}
_ITEM_VALUE = {
    "string": "json_extract_string(e, '$')",
    "integer": "TRY_CAST(e AS BIGINT)",
    "number": "CAST(e AS DOUBLE)",
    "boolean": "e = 'true'",
}


def list_items(item_type: str, texts: str) -> tuple[str, str]:
    """(the typed list, whether every item converts exactly) from a list of item texts."""
    value = f"list_transform({texts}, lambda e: {_ITEM_VALUE[item_type]})"
    ok = f"coalesce(len(list_filter({texts}, lambda e: NOT coalesce({_ITEM_TEXT[item_type]}, false))) = 0, false)"
    return value, ok


def _parquet_lists(item_type: str) -> set[str]:
    """The Parquet LIST column types whose items stage exactly as items of `item_type`."""
    inner = {"string": {"VARCHAR"}, "integer": _INTS, "number": _FLOATS, "boolean": {"BOOLEAN"}}[item_type]
    return {t + "[]" for t in inner}


_SQL_TYPE = {"integer": "BIGINT", "number": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN", DATE: "DATE"}
_INTS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_BIG_INTS = {"UBIGINT", "HUGEINT", "UHUGEINT"}
_FLOATS = {"FLOAT", "DOUBLE"}


def _stage_parquet(con, policy: Policy, inp: Input, index: int, id_field: str | None, control: bool,
                   refuse: bool = False) -> Staged:
    table, raw = f"__staged_{index}", f"__raw_{index}"
    src = f"read_parquet({lit(inp.path)}, file_row_number=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    except Exception as exc:  # noqa: BLE001 - not Parquet, or damaged
        raise InputsError(inp.path, f"cannot read as Parquet: {_first_line(exc)}") from None
    types = {name: typ for name, typ, *_ in described if name != "file_row_number"}
    # The raw rows: what a record of this file is (DECIMAL read as DOUBLE), by __row.
    select = ", ".join(f"CAST({ident(n)} AS DOUBLE) AS {ident(n)}" if t.startswith("DECIMAL") else ident(n)
                       for n, t in types.items())
    con.execute(f"CREATE OR REPLACE TEMP VIEW {raw} AS SELECT file_row_number + 1 AS __row"
                f"{', ' if select else ''}{select} FROM {src}")
    cols, checks = [], []
    for spec in policy.facts.values():
        name = ident(spec.name)
        typ = types.get(spec.name)
        if typ is None:
            cols.append(f"NULL::{sql_type_of(spec)} AS {name}")
            continue
        typ = "DOUBLE" if typ.startswith("DECIMAL") else typ
        c = ident(spec.name)
        if spec.type == "integer" and typ in _INTS:
            expr, ok = f"CAST({c} AS BIGINT)", "true"
        elif spec.type == "integer" and typ in _BIG_INTS:
            expr = f"TRY_CAST({c} AS BIGINT)"
            ok = f"{expr} IS NOT NULL"
        elif spec.type == "integer" and typ in _FLOATS:
            d = f"CAST({c} AS DOUBLE)"
            ok = f"isfinite({d}) AND {d} = floor({d}) AND abs({d}) < {_EXACT}"
            expr = f"CASE WHEN {ok} THEN CAST({d} AS BIGINT) END"
        elif spec.type == "number" and (typ in _INTS or typ in _BIG_INTS):
            ok = f"abs(CAST({c} AS DOUBLE)) < {_INTEGRAL_TEXT}"
            expr = f"CASE WHEN {ok} THEN CAST({c} AS DOUBLE) END"
        elif spec.type == "number" and typ in _FLOATS:
            d = f"CAST({c} AS DOUBLE)"
            ok = f"isfinite({d})"
            expr = f"CASE WHEN {ok} THEN {d} END"
        elif spec.type == "string" and typ == "VARCHAR":
            expr, ok = c, f"NOT regexp_matches({c}, {CONTROL})"
        elif spec.type == "boolean" and typ == "BOOLEAN":
            expr, ok = c, "true"
        elif spec.type == DATE and typ == "DATE":
            # A DATE column may hold days no calendar day of ours is (year 10000, BC, infinity)
            ok = f"(isfinite({c}) AND {c} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31')"
            expr = f"CASE WHEN {ok} THEN {c} END"
        elif spec.type == ARRAY and typ in _parquet_lists(spec.items.type):
            # a LIST column of the items' type: no NULL item, and each item as its scalar is
            no_null = f"len(list_filter({c}, lambda e: e IS NULL)) = 0"
            extra = {"string": f" AND len(list_filter({c}, lambda e: regexp_matches(e, {CONTROL}))) = 0",
                     "number": f" AND len(list_filter({c}, lambda e: NOT isfinite(CAST(e AS DOUBLE)))) = 0"}
            ok = f"({no_null}{extra.get(spec.items.type, '')})"
            expr = f"CASE WHEN {ok} THEN CAST({c} AS {sql_type_of(spec)}) END"
        elif spec.type == DATE and typ == "VARCHAR":
            ok = iso_date(c)
            expr = f"CASE WHEN {ok} THEN TRY_CAST({c} AS DATE) END"
        else:  # a column of another type: every value in it is the native check's to judge
            expr, ok = f"NULL::{sql_type_of(spec)}", "false"
        cols.append(f"{expr} AS {name}")
        checks.append((spec.name, f"{c} IS NOT NULL AND NOT ({ok})"))
    id_col, id_kind = "", None
    if id_field is not None:
        typ = types.get(id_field)
        if typ is None or id_field in policy.facts:
            raise _NativeOnly("the --id column")
        c = ident(id_field)
        typ = "DOUBLE" if typ.startswith("DECIMAL") else typ
        if typ == "VARCHAR":
            ok = f"{c} IS NOT NULL AND NOT regexp_matches({c}, {CONTROL})"
        elif typ in _INTS:
            ok = f"{c} IS NOT NULL"
        elif typ in _BIG_INTS:
            ok = f"TRY_CAST({c} AS BIGINT) IS NOT NULL"
        elif typ in _FLOATS:
            d = f"CAST({c} AS DOUBLE)"
            ok = f"isfinite({d})"
        else:
            ok = "false"
        id_col, id_kind = f"{c} AS {ident(id_field)}, ", typ
        checks.insert(0, (RECORD, f"NOT coalesce({ok}, false)"))
    warn = tuple(n for n in types if n not in policy.facts and n != id_field)
    if control or (refuse and warn):
        checks.insert(0, (RECORD, "true"))
    # A view: Parquet is typed and columnar already, so the casts are recomputed where read
    # (cheaper than a copy of every column); the row count comes from the file's metadata.
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {table} AS
        SELECT __row, {id_col}{', '.join(cols)}, {_first_error(checks)} AS __type_error FROM {raw}""")
    rows = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    return Staged(table, raw, rows, id_kind, warn)


class _NativeOnly(Exception):
    """This input is read by the native reader as a whole (a CSV that DuckDB's reader would
    split otherwise than Python's csv module, an unusual header): the run stays exact."""


NativeOnly = _NativeOnly


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
