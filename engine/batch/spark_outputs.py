"""Spark, part 3 of 4 (see `engine.batch.spark`): JSON lines encoded on the driver by the
native encoder, and the output files (JSONL, CSV, Parquet) written atomically."""

from __future__ import annotations

import json

from ..language.values import decimal_text


# -- encoding ------------------------------------------------------------------------------

def _python_text_safe(x: float) -> bool:
    """The driver's side of `java_text_differs`: Spark's text of `x` is native's."""
    return 1e-3 <= abs(x) < 1e7 or (x == int(x) and abs(x) < 1e15)


class JsonlEncoder:
    """Decision columns (as the SQL form gives them, collected through Arrow) → the JSON line
    native writes: same keys, same order, the same JSON writer (`language.jsonout.dumps`)."""

    def __init__(self, policy, as_of=None):
        from ..language.jsonout import dumps

        self.encode = dumps
        self.head = {"policy": policy.id, "version": policy.version, "policy_digest": policy.digest}
        if policy.uses_time:  # the evaluation date, after the policy's fields (as native writes)
            self.head["as_of"] = as_of.isoformat()
        # computed outputs (Decimals): their normalized plain text as a JSON number, put in
        # for a marker string (U+0001 is in no string a decision the SQL form makes holds)
        self.decimals = [(n, f"\x01{k}", f'"\\u0001{k}"') for k, (n, spec) in enumerate(policy.outputs.items())
                         if spec.computed and spec.type == "number"]
        from ..backends.sql.query import number_output_kinds

        # A number output whose default and values are all ints is an int in native (JSON
        # `5`), a DOUBLE in SQL: written back as an int. A "mixed" one depends on the rules
        # that contributed: such a policy's records are all decided natively (decide_files).
        kinds = number_output_kinds(policy)
        self.int_outputs = {n for n, k in kinds.items() if k == "int"}
        # (a list output of numbers too: an item's JSON, `5` or `5.0`, is its literal's own)
        self.mixed = any(k == "mixed" for k in kinds.values()) or any(
            spec.type == "array" and spec.items.type == "number" for spec in policy.outputs.values())
        self.outputs = [(n, f"__o_{i}") for i, n in enumerate(policy.outputs)]

    def line(self, r: dict, record_id) -> str:
        # The list elements come from Arrow structs as dicts in the struct's field order,
        # which is the JSON's (code, rule, message / rule, message): used as they are.
        d = dict(self.head)
        d["outcome"] = r["outcome"]
        d["outcome_known"] = r["outcome_known"]
        d["adverse"] = adverse = r["adverse"]
        d["decided_by"] = r["decided_by"]
        d["reasons"] = r["reasons"]
        if r["messages"]:
            d["messages"] = r["messages"]
        if adverse:
            d["principal_reasons"] = r["principal_reasons"]
        d["notices"] = r["notices"]
        d["flags"] = r["flags"]
        outputs = {n: r[k] for n, k in self.outputs}
        for n in self.int_outputs:
            if outputs[n] is not None:
                outputs[n] = int(outputs[n])
        texts = []
        for n, marker, encoded in self.decimals:
            if outputs[n] is not None:
                texts.append((encoded, decimal_text(outputs[n])))
                outputs[n] = marker
        d["outputs"] = outputs
        d["missing_facts"] = r["missing_facts"]
        d["undetermined_rules"] = r["undetermined_rules"]
        # no "warnings": the only ones are undeclared keys', which the CLI reports once on
        # stderr (`--undeclared`), never per decision
        if record_id is not None:
            d = {"record_id": record_id, **d}
        line = self.encode(d)
        for encoded, text in texts:
            line = line.replace(encoded, text, 1)
        return line


# -- outputs ----------------------------------------------------------------------------------

def output_format(output: str | None, fmt: str | None) -> str:
    """The output format: `fmt`, else the suffix of `output` (.parquet, .csv), else JSON lines."""
    if fmt:
        return fmt
    if output:
        lower = output.lower()
        if lower.endswith((".parquet", ".pq")):
            return "parquet"
        if lower.endswith(".csv"):
            return "csv"
    return "jsonl"


_PARQUET_KEYS = ["policy", "version", "policy_digest", "outcome", "outcome_known", "adverse", "decided_by",
                 "reasons", "messages", "principal_reasons", "notices", "flags", "outputs", "missing_facts",
                 "undetermined_rules"]


def output_keys(dated: bool) -> list[str]:
    """The columns of a CSV or Parquet output: `as_of` after the policy's fields when the
    policy uses time (as the DuckDB runner writes them)."""
    return _PARQUET_KEYS[:3] + ["as_of"] + _PARQUET_KEYS[3:] if dated else list(_PARQUET_KEYS)


class _ParquetSink:
    """Decisions (their JSON objects, parsed back from the lines: one source of truth) as
    Parquet columns, lists and structs where JSON has arrays and objects, written in
    row groups as they come."""

    def __init__(self, path: str, id_field: str | None, dated: bool = False):
        from ..io.files import PathTarget

        self.target = PathTarget(path)
        self.keys = (["record_id"] if id_field else []) + output_keys(dated)
        self.buffer: list[dict] = []
        self.writer = None

    def add(self, line: str) -> None:
        self.buffer.append(json.loads(line))
        if len(self.buffer) >= 65536:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.buffer and self.writer is not None:
            return
        empty = ("messages", "principal_reasons")
        table = pa.table({k: [r.get(k, [] if k in empty else None) for r in self.buffer] for k in self.keys})
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.target.path, table.schema)
        else:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)
        self.buffer = []

    def close(self, ok: bool) -> None:
        try:
            if ok:
                self.flush()
            if self.writer is not None:
                self.writer.close()
            if ok:
                self.target.commit()
        finally:
            self.target.discard()


class RawNumber(float):
    """A JSON number read back with its text (`json.loads(…, parse_float=RawNumber)`), so a
    CSV cell writes a computed output's decimal as the JSON line has it, not as a double."""

    def __new__(cls, text: str):
        self = super().__new__(cls, text)
        self.text = text
        return self


def _floatstr(o) -> str:
    return o.text if o.__class__ is RawNumber else float.__repr__(o)


# the pure-Python encoder (the C one writes a float subclass as a float), compact, non-ASCII as is
_ITERENCODE = json.encoder._make_iterencode(None, None, json.encoder.py_encode_basestring, None, _floatstr,
                                            ":", ",", False, False, True)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return "".join(_ITERENCODE(value, 0))
