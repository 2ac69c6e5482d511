"""Spark, part 2 of 4 (see `engine.batch.spark`): files staged into the contract's facts
relation with Spark SQL alone (JSON lines, CSV, Parquet), what Spark must not decide
marked as a suspect, and the native recheck of those records from their files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

from ..errors import BackendError

from .spark_frames import (_EXACT, _ident, _lit, _path, iso_date, java_text_differs, message_names, spark_type,
                           typed_column)


# -- staging files -------------------------------------------------------------------------

@dataclass
class _Input:
    path: str
    fmt: str
    offset: int = 0     # __row of its first line, minus one
    lines: int = 0      # lines (JSONL, CSV: the header included) or rows (Parquet)
    records: int = 0    # lines that are not blank (the header excluded)
    whole: bool = False  # CSV with a quoted line break: every line rechecked, the file read natively


@dataclass
class Staged:
    """The staged facts of every input: `facts` (the contract's relation plus `__suspect`,
    `__extra` (the record's undeclared keys), `__id` and `__id_int`) and the inputs, in order, to turn a `__row` back
    into a file and a line."""

    facts: object
    inputs: list
    warnings_by_csv: dict = field(default_factory=dict)

    def locate(self, row: int) -> tuple[_Input, int]:
        for inp in self.inputs:
            if inp.offset < row <= inp.offset + inp.lines:
                return inp, row - inp.offset
        raise KeyError(row)

    def label(self, row: int) -> str:
        inp, n = self.locate(row)
        return f"{inp.path}:{n}"  # Parquet: its row, from 1 (as the DuckDB runner labels it)


_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
            ".pq": "parquet"}


def expand_inputs(paths: Iterable[str], input_format: str | None) -> list[tuple[str, str]]:
    """(path, format) per input file: globs expanded, a folder is its Parquet files (sorted)."""
    import glob

    out = []
    for p in paths:
        if p == "-":
            raise BackendError("--backend spark reads files, not standard input (`-`)")
        matches = sorted(glob.glob(p)) if any(c in p for c in "*?[") else [p]
        if not matches:
            raise BackendError(f"{p}: no file matches")
        for m in matches:
            if os.path.isdir(m):
                files = sorted(os.path.join(m, f) for f in os.listdir(m) if f.endswith((".parquet", ".pq")))
                if not files:
                    raise BackendError(f"{m}: a folder without Parquet files")
                out.extend((f, "parquet") for f in files)
                continue
            if not os.path.isfile(m):
                raise BackendError(f"{m}: cannot read: no such file")
            fmt = input_format or next((v for k, v in _FORMATS.items() if m.lower().endswith(k)), None)
            if fmt is None:
                raise BackendError(f"{m}: cannot tell its format from the name; use --input-format jsonl|csv|parquet")
            if fmt not in ("jsonl", "csv", "parquet", "json"):
                raise BackendError(f"{m}: --backend spark reads JSON lines, CSV and Parquet, not {fmt}")
            out.append((m, "jsonl" if fmt == "json" else fmt))
    return out


def _numbered_lines(spark, inp: _Input):
    """A file's lines as (`__line` 1-based, `value`): numbered in SQL from each split's
    place in the file (`_metadata.file_block_start`) and the line's place in its split."""
    df = (spark.read.option("lineSep", "\n").text(inp.path)
          .selectExpr("value", "_metadata.file_block_start AS __b", "monotonically_increasing_id() AS __m"))
    blocks = df.groupBy("__b").agg({"__m": "min", "*": "count"}).collect()
    blocks.sort(key=lambda r: r["__b"])
    rows, start = [], 0
    for b in blocks:
        rows.append((b["__b"], b["min(__m)"], start))
        start += b["count(1)"]
    inp.lines = start
    if not rows:
        return None
    base = spark.createDataFrame(rows, "__b BIGINT, __m0 BIGINT, __before BIGINT")
    return (df.join(base.hint("broadcast"), "__b")
            .selectExpr("__m - __m0 + __before + 1 AS __line", "value"))


_BLANK = r"^[\s\x{1c}-\x{1f}\x{85}\x{a0}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$"


def _suspect_text(max_bytes: int, depth: int, digits: int) -> list[str]:
    """Conditions under which a raw line is not read by Spark but handed to native."""
    return [
        f"octet_length(value) > {max_bytes}",
        "instr(value, '\\uFFFD') > 0",            # a byte that was not UTF-8 (or that character itself)
        "instr(value, '\\uFEFF') > 0",            # a byte-order mark
        f"regexp_count(value, '[\\\\[{{]') > {depth}",
        f"value RLIKE '[0-9]{{{digits},}}'",
    ]


def _stage_jsonl(spark, policy, inp: _Input, id_field: str | None, refuse: bool = False):
    from ..io.records import MAX_DEPTH, MAX_INT_DIGITS, MAX_RECORD_BYTES

    lines = _numbered_lines(spark, inp)
    if lines is None:
        return None
    lines = lines.where(f"NOT value RLIKE {_lit(_BLANK)}")
    shown = message_names(policy)
    # Three projections, so each value's type and value are computed once per row (Spark
    # does not collapse projections that would repeat expensive expressions).
    parsed = lines.selectExpr("__line", "value", "try_parse_json(value) AS __v")
    second = ["__line", "value", "__v", "schema_of_variant(__v) AS __tv"]
    for i, (name, spec) in enumerate(policy.facts.items()):
        p = _path(name)
        second.append(f"schema_of_variant(variant_get(__v, {p})) AS __t{i}")
        if spec.type == "array":
            second.append(f"try_variant_get(__v, {p}, {_lit(spark_type(spec).lower())}) AS __x{i}")
        elif spec.type == "number":
            # A decimal numeral goes through its text, which Spark parses correctly rounded as
            # Python does (a DECIMAL's own conversion may round twice beyond 15 digits).
            second.append(f"CASE WHEN startswith(schema_of_variant(variant_get(__v, {p})), 'DECIMAL') "
                          f"THEN CAST(try_variant_get(__v, {p}, 'string') AS DOUBLE) "
                          f"ELSE try_variant_get(__v, {p}, 'double') END AS __x{i}")
        else:
            second.append(f"try_variant_get(__v, {p}, {_lit(_VARIANT_TYPES[spec.type])}) AS __x{i}")
    if id_field:
        p = _path(id_field)
        second += [f"schema_of_variant(variant_get(__v, {p})) AS __tid", f"try_variant_get(__v, {p}, 'string') AS __xid"]
    typed = parsed.selectExpr(*second)

    sel = [f"__line + {inp.offset} AS `__row`"]
    suspect = _suspect_text(MAX_RECORD_BYTES, MAX_DEPTH, MAX_INT_DIGITS)
    suspect += ["__v IS NULL", "NOT startswith(__tv, 'OBJECT')",
                "value RLIKE '\\\\\\\\u[dD][89a-fA-F]'"]  # an escape that may be half a surrogate pair
    errors = []
    for i, (name, spec) in enumerate(policy.facts.items()):
        t, value, col = f"__t{i}", f"__x{i}", _ident(name)
        if spec.type == "array":
            # a list of items of exactly the items' variant type (integers as BIGINT, numbers
            # as DOUBLE or BIGINT below 2^53); any other list (an empty one, a null item, a
            # numeral Spark reads as DECIMAL): the native recheck decides
            kinds = _ARRAY_VARIANTS[spec.items.type]
            ok = f"startswith({t}, 'ARRAY')"
            typed_ok = f"{t} IN ({', '.join(_lit(k) for k in kinds)}) AND NOT exists({value}, __i -> __i IS NULL)"
            if spec.items.type == "number":
                typed_ok += f" AND NOT exists({value}, __i -> NOT abs(__i) < {float(_EXACT)!r})"
            suspect.append(f"{t} IS NOT NULL AND {ok} AND NOT coalesce({typed_ok}, false)")
        elif spec.type == "boolean":
            ok = f"{t} = 'BOOLEAN'"
        elif spec.type == "string":
            ok = f"{t} = 'STRING'"
        elif spec.type == "date":  # a text `YYYY-MM-DD`; any other value: native's message
            ok = f"({t} = 'STRING' AND {iso_date(value)})"
            value = f"try_cast({value} AS DATE)"
        elif spec.type == "integer":
            # 720 and 720.0 (a DECIMAL of scale 0 once parsed) are the integer 720, as native
            ok = f"({t} = 'BIGINT' OR {t} RLIKE '^DECIMAL\\\\([0-9]+,0\\\\)$')"
        else:
            ok = f"({t} IN ('BIGINT', 'DOUBLE') OR startswith({t}, 'DECIMAL'))"
            # integral beyond 2**53: exact in native (an int); NaN/inf: native's message
            suspect.append(f"NOT abs({value}) < {float(_EXACT)!r}")
        present = f"({t} IS NOT NULL AND {t} <> 'VOID')"
        suspect.append(f"{present} AND {ok} AND {value} IS NULL")  # beyond BIGINT, say
        if spec.type == "number" and name in shown:  # a message shows it: Java's text may differ
            suspect.append(f"{present} AND {ok} AND {java_text_differs(value)}")
        sel.append(f"CASE WHEN {present} AND {ok} THEN {value} END AS {col}")
        errors.append(f"CASE WHEN {present} AND NOT {ok} THEN {_lit(name)} END")
    declared = [n for n in policy.facts] + ([id_field] if id_field else [])
    keys = "json_object_keys(value)"
    undeclared = f"filter({keys}, k -> NOT array_contains(array({', '.join(_lit(n) for n in declared)}), k))"
    sel.append(f"CASE WHEN __v IS NULL THEN CAST(array() AS ARRAY<STRING>) ELSE {undeclared} END AS `__extra`")
    if refuse:  # `--undeclared refuse`: such a record is an input error, with native's message
        suspect.append(f"__v IS NOT NULL AND size({undeclared}) > 0")
    if id_field:
        sel.append("__xid AS `__id`")
        sel.append("__tid = 'BIGINT' AS `__id_int`")
        suspect.append("coalesce(__tid NOT IN ('BIGINT', 'STRING'), true)")  # absent, null, a float: native says
    sel.append(f"coalesce({', '.join(f'CASE WHEN {c} THEN true END' for c in suspect)}, false) AS `__suspect`")
    sel.append(f"coalesce({', '.join(errors)}) AS `__type_error`" if errors else "CAST(NULL AS STRING) AS `__type_error`")
    return typed.selectExpr(*sel)


_VARIANT_TYPES = {"integer": "bigint", "string": "string", "boolean": "boolean", "date": "string"}
_ARRAY_VARIANTS = {"string": ("ARRAY<STRING>",), "boolean": ("ARRAY<BOOLEAN>",), "integer": ("ARRAY<BIGINT>",),
                   "number": ("ARRAY<DOUBLE>", "ARRAY<BIGINT>")}


def _csv_header(path: str) -> list[str]:
    import csv

    with open(path, "rb") as fb:
        first = fb.readline()
    text = first.decode("utf-8", "replace")
    row = next(csv.reader([text]), [])
    header = [h.strip() for h in row]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return header


def _stage_csv(spark, policy, inp: _Input, id_field: str | None, staged: Staged, refuse: bool = False):
    from ..io.records import MAX_RECORD_BYTES

    header = _csv_header(inp.path)
    shown = message_names(policy)
    lines = _numbered_lines(spark, inp)
    if lines is None:
        return None
    width = len(header)
    # Lines native reads differently from a plain split (quotes, a carriage return, a
    # wrong number of cells, not UTF-8) are suspects; a blank row of empty cells is skipped.
    # A line with an odd number of quotes: a quoted cell holds a line break, so a record may
    # span lines (even lines without quotes): the native reader reads this input as a whole.
    inp.whole = lines.where("regexp_count(value, '\"') % 2 = 1").limit(1).count() > 0
    lines = lines.where("__line > 1").where(f"NOT regexp_replace(value, ',', '') RLIKE {_lit(_BLANK)}")
    sel = [f"__line + {inp.offset} AS `__row`"]
    suspect = [f"octet_length(value) > {MAX_RECORD_BYTES}", "instr(value, '\\uFFFD') > 0", "instr(value, '\"') > 0",
               "instr(value, '\\r') > 0", f"size(__c) <> {width}"] + (["true"] if inp.whole else [])
    errors = []
    index = {h: i for i, h in reversed(list(enumerate(header)))}
    for name, spec in policy.facts.items():
        col = _ident(name)
        if name not in index:
            sel.append(f"CAST(NULL AS {spark_type(spec)}) AS {col}")
            continue
        cell = f"try_element_at(__c, {index[name] + 1})"
        if spec.type == "array":  # a JSON array text (quotes, commas): the native reader reads it
            suspect.append(f"{cell} <> ''")
            sel.append(f"CAST(NULL AS {spark_type(spec)}) AS {col}")
            continue
        if spec.type == "string":
            ok, value = "true", cell
        elif spec.type == "date":
            ok, value = iso_date(cell), f"try_cast({cell} AS DATE)"
        elif spec.type == "boolean":
            low = f"lower({cell})"
            ok = f"{low} IN ('true', '1', 'yes', 'false', '0', 'no')"
            value = f"{low} IN ('true', '1', 'yes')"
        elif spec.type == "integer":
            ok, value = f"{cell} RLIKE '^[+-]?[0-9]{{1,18}}$'", f"CAST({cell} AS BIGINT)"
        else:
            # Spark parses a numeral correctly rounded, as Python's float() does; beyond 2**53
            # native keeps an integral numeral exact (an int): a suspect.
            ok = f"{cell} RLIKE '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'"
            value = f"CAST({cell} AS DOUBLE)"
            suspect.append(f"{cell} <> '' AND {ok} AND NOT abs(try_cast({cell} AS DOUBLE)) < {float(_EXACT)!r}")
            if name in shown:
                suspect.append(f"{cell} <> '' AND {ok} AND {java_text_differs(f'try_cast({cell} AS DOUBLE)')}")
        # a cell native reads differently is a suspect; a value of the wrong type a type error
        sel.append(f"CASE WHEN {cell} <> '' AND {ok} THEN {value} END AS {col}")
        errors.append(f"CASE WHEN {cell} <> '' AND NOT ({ok}) THEN {_lit(name)} END")
    sel.append(_extra_column([h for h in header if h not in policy.facts and h != id_field], refuse, suspect))
    if id_field:
        if id_field not in index:
            sel.append("CAST(NULL AS STRING) AS `__id`")
            suspect.append("true")
        else:
            cell = f"try_element_at(__c, {index[id_field] + 1})"
            sel.append(f"{cell} AS `__id`")
            sel.append("false AS `__id_int`")
            suspect.append(f"coalesce({cell} = '', true)")
    sel.append(f"coalesce({', '.join(f'CASE WHEN {c} THEN true END' for c in suspect)}, false) AS `__suspect`")
    sel.append(f"coalesce({', '.join(errors)}) AS `__type_error`" if errors else "CAST(NULL AS STRING) AS `__type_error`")
    return lines.selectExpr("*", "split(value, ',') AS __c").selectExpr(*sel)


def _extra_column(undeclared: list, refuse: bool, suspect: list) -> str:
    """`__extra` of a CSV or Parquet input: its undeclared columns, the same for every row
    (with `refuse`, every row is then a suspect: the native recheck refuses it)."""
    if refuse and undeclared:
        suspect.append("true")
    if not undeclared:
        return "CAST(array() AS ARRAY<STRING>) AS `__extra`"
    return f"array({', '.join(_lit(c) for c in undeclared)}) AS `__extra`"


def _stage_parquet(spark, policy, inp: _Input, id_field: str | None, refuse: bool = False):
    df = spark.read.parquet(inp.path)
    inp.lines = inp.records = df.count()
    if not inp.lines:
        return None
    types = dict(df.dtypes)
    # names exactly as native reads a record's keys (the recheck reads these rows as records)
    lower = {c: c for c in df.columns}
    sel = [f"_metadata.row_index + 1 + {inp.offset} AS `__row`"]
    shown = message_names(policy)
    errors, suspect = [], []
    for name, spec in policy.facts.items():
        sql_type = spark_type(spec)
        src = lower.get(name)
        if src is None:
            sel.append(f"CAST(NULL AS {sql_type}) AS {_ident(name)}")
            continue
        col, dtype = _ident(src), types[src]
        value, wrong = typed_column(spec, col, dtype)
        sel.append(f"{value} AS {_ident(name)}")
        if wrong:
            errors.append(f"CASE WHEN {wrong} THEN {_lit(name)} END")
        if spec.type == "number" and dtype == "bigint":
            suspect.append(f"abs({col}) >= {_EXACT}")
        if spec.type == "number" and name in shown and wrong is None:
            suspect.append(java_text_differs(value))
    sel.append(_extra_column([c for c in df.columns if c not in policy.facts and c != id_field], refuse, suspect))
    if id_field:
        src = lower.get(id_field)
        if src is None:
            raise BackendError(f"{inp.path}: no column `{id_field}` (the --id field)")
        sel.append(f"CAST({_ident(src)} AS STRING) AS `__id`")
        sel.append(f"{str(types[src] in ('bigint', 'int', 'smallint', 'tinyint')).lower()} AS `__id_int`")
        if types[src] not in ("bigint", "int", "smallint", "tinyint", "string"):
            suspect.append("true")
        suspect.append(f"{_ident(src)} IS NULL")
    sel.append(f"coalesce({', '.join(f'CASE WHEN {c} THEN true END' for c in suspect)}, false) AS `__suspect`"
               if suspect else "false AS `__suspect`")
    sel.append(f"coalesce({', '.join(errors)}) AS `__type_error`" if errors else "CAST(NULL AS STRING) AS `__type_error`")
    return df.selectExpr(*sel)


def stage_inputs(spark, policy, paths: Iterable[str], *, input_format: str | None = None,
                 id_field: str | None = None, refuse: bool = False) -> Staged:
    """Every input as one staged facts DataFrame (see `Staged`); with `refuse`
    (`--undeclared refuse`), a record with an undeclared key is a suspect."""
    inputs = [_Input(p, f) for p, f in expand_inputs(paths, input_format)]
    frames = []
    staged = Staged(None, inputs)
    offset = 0
    for inp in inputs:
        inp.offset = offset
        if inp.fmt == "jsonl":
            df = _stage_jsonl(spark, policy, inp, id_field, refuse)
        elif inp.fmt == "csv":
            df = _stage_csv(spark, policy, inp, id_field, staged, refuse)
        else:
            df = _stage_parquet(spark, policy, inp, id_field, refuse)
        offset += inp.lines
        if df is not None:
            if "__id" not in df.columns:
                df = df.selectExpr("*", "CAST(NULL AS STRING) AS `__id`", "false AS `__id_int`")
            frames.append(df)
    if not frames:
        staged.facts = None
        return staged
    facts = frames[0]
    for df in frames[1:]:
        facts = facts.unionByName(df)
    # A suspect's facts are not trusted: it is rejected here and decided natively.
    first = next(iter(policy.facts), "?")
    staged.facts = facts.selectExpr(
        *[c for c in facts.columns if c != "__type_error"],
        f"CASE WHEN __suspect THEN coalesce(__type_error, {_lit(first)}) ELSE __type_error END AS `__type_error`")
    return staged


# -- the native recheck ---------------------------------------------------------------------

def _native_lines(path: str, wanted: set[int]) -> dict[int, bytes]:
    """The raw bytes of the wanted lines of a file (1-based, counted as native counts them:
    by `\\n`, an over-long line cut at the record limit + 1 byte)."""
    from ..io.records import MAX_RECORD_BYTES

    out: dict[int, bytes] = {}
    last = max(wanted)
    with open(path, "rb") as fb:
        n = 0
        while n < last:
            raw = fb.readline(MAX_RECORD_BYTES + 1)
            if not raw:
                break
            n += 1
            if n in wanted:
                out[n] = raw
            while raw and not raw.endswith(b"\n") and len(raw) > MAX_RECORD_BYTES:
                raw = fb.readline(1 << 16)  # the rest of an over-long line: same line
    return out


def _native_record(inp: _Input, line: int, raw: bytes, policy, header: list | None):
    """The native reading of one raw line: a Record, or None for a line native skips."""
    from ..io.records import MAX_RECORD_BYTES, Record, json_record
    from ..io.values import cell_converter

    label = f"{inp.path}:{line}"
    if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
        return Record(label, error=f"record larger than the limit of {MAX_RECORD_BYTES:,} bytes")
    if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:] or b"\n"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Record(label, error=f"not UTF-8: {exc.reason} at column {exc.start + 1}")
    if inp.fmt == "jsonl":
        return None if text.isspace() else json_record(label, text)
    import csv

    rows = list(csv.reader([text]))
    if not rows or not "".join(rows[0]).strip():
        return None
    row = rows[0]
    if len(row) != len(header):
        return Record(label, error=f"expected {len(header)} columns, found {len(row)}")
    try:
        return Record(label, {h: cell_converter(policy, h)(c) for h, c in zip(header, row)})
    except ValueError as exc:
        return Record(label, error=str(exc))


def _native_outcome(ruleset, rec, id_field: str | None, lang, undeclared: str, as_of=None):
    """(json line or None, problem or None, decision or None, the record's undeclared keys)
    for one record, as `verdict eval` checks and decides it: the DuckDB runner's
    `engine.batch.recheck.native_check`, so both runners recheck alike."""
    from ..explain.render import to_json
    from .recheck import native_check

    c = native_check(ruleset, rec, id_field, 0, undeclared, as_of)
    if c.problem is not None:
        return None, c.problem, None, c.extra
    return to_json(c.decision, lang, trace=False, indent=None, record_id=c.record_id), None, c.decision, c.extra
