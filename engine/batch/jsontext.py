"""Each decision as the JSON text the native path writes, built in SQL.

`engine.explain.render.to_json(decision, lang, trace=False, indent=None, record_id=…)`
writes compact JSON (`,` and `:` without spaces), non-ASCII characters as they are, keys in
`decision_dict`'s order, `messages` only when there are some, `principal_reasons` only for
an adverse outcome, `warnings` only when there are some, and `record_id` first. The SQL
below writes the same text from the decision query's columns:

- the policy's id, version and digest are constants: their JSON text is made here by the
  very encoder the native path uses and put in as one string literal;
- strings and lists of strings and of structs go through DuckDB's `to_json`, which writes
  what Python's encoder writes, with one difference: control characters other than
  `\\b \\t \\n \\f \\r` are escaped in upper case (`\\u000B` for Python's `\\u000b`). So the
  staging flags every record holding such a character in a string (`inputs.CONTROL`), and
  those records are decided and written by the native path (see `engine.batch.run`); a
  policy whose own texts hold one is decided natively as a whole (`policy_has_control`);
- doubles are written by DuckDB's `CAST(x AS VARCHAR)`, which is Python's `repr` (shortest
  round trip, the same exponent form) except for -0.0, handled here.
"""

from __future__ import annotations

import dataclasses
import json
import re

from ..language.model import Policy
from .inputs import ident, lit

ENCODER = json.JSONEncoder(ensure_ascii=False, indent=None, separators=(",", ":"))
_CONTROL = re.compile("[\\x00-\\x07\\x0b\\x0e-\\x1f]")


def policy_has_control(policy: Policy) -> bool:
    """Whether a text of the policy itself (a message, a reason, an id, a string output)
    holds a control character DuckDB's `to_json` escapes otherwise than Python."""
    seen: set[int] = set()

    def walk(x) -> bool:
        if isinstance(x, str):
            return bool(_CONTROL.search(x))
        if id(x) in seen or x is None or isinstance(x, (int, float)):
            return False
        seen.add(id(x))
        if isinstance(x, dict):
            return any(walk(k) or walk(v) for k, v in x.items())
        if isinstance(x, (list, tuple, set, frozenset)):
            return any(walk(v) for v in x)
        if dataclasses.is_dataclass(x):
            return any(walk(getattr(x, f.name)) for f in dataclasses.fields(x))
        return False

    return walk(policy)


def py_float(x: str) -> str:
    """A DOUBLE as Python's json writes a float."""
    return f"(CASE WHEN {x} IS NULL THEN 'null' WHEN {x} = 0 AND signbit({x}) THEN '-0.0' ELSE CAST({x} AS VARCHAR) END)"


def _str(x: str) -> str:
    return f"coalesce(CAST(to_json({x}) AS VARCHAR), 'null')"


def _bool(x: str) -> str:
    return f"(CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' ELSE 'null' END)"


def _output_value(policy: Policy, name: str, spec, x: str) -> str:
    """One output's value for the struct `to_json` writes (a double as JSON text of its own)."""
    if spec.type == "array":  # a list of strings, integers or booleans: to_json writes it as Python does
        return x
    if spec.type in ("boolean", "string", "integer"):
        return x if spec.type != "integer" else f"CAST({x} AS BIGINT)"
    # A number output holds Python ints when every value it can take is an int literal
    # (defaults and `set` values; sums, minima and maxima of ints are ints): written as such.
    # (One that mixes ints and floats is decided natively: `engine.batch.run`.)
    from ..backends.sql.query import number_output_kinds

    kind = number_output_kinds(policy).get(name)
    if kind == "int":
        return f"CAST({x} AS BIGINT)"
    if kind == "decimal":  # a marker to_json writes as `"\u0001<k>"`, replaced by the decimal's text
        return f"(chr(1) || {lit(str(list(policy.outputs).index(name)))})"
    return f"CAST({py_float(x)} AS JSON)"


# A computed output's value: its normalized plain text, written as a JSON number. (Not a
# `CAST(… AS JSON)`: DuckDB reads that number as a double, which loses digits.) The struct
# holds a marker string first; no string of a decision the SQL form writes holds U+0001
# (records with one are decided natively, `inputs.CONTROL`), so the marker is unambiguous.

def decimal_text(x: str) -> str:
    """A DECIMAL's normalized plain text: `values.decimal_text` (no trailing zeros, no point
    without digits after it; a DECIMAL has no -0 and no exponent)."""
    t = f"CAST({x} AS VARCHAR)"
    u = f"(CASE WHEN contains({t}, '.') THEN rtrim(rtrim({t}, '0'), '.') ELSE {t} END)"
    # DuckDB writes a DECIMAL(s, s) without its integer digit (`.30`, `-.30`, `.00`): put
    # the `0` back, and a zero trimmed to nothing (or to `-`) is `0`.
    return (f"(CASE WHEN {u} IN ('', '-') THEN '0' WHEN starts_with({u}, '.') THEN '0' || {u} "
            f"WHEN starts_with({u}, '-.') THEN '-0' || substr({u}, 2) ELSE {u} END)")


def outputs_json(policy: Policy) -> str | None:
    """The `outputs` column as the JSON text decision JSON holds (computed outputs as their
    normalized decimal text), for the CSV output; None when `to_json` writes it so already."""
    if not any(spec.computed and spec.type == "number" for spec in policy.outputs.values()):
        return None
    fields = ", ".join(f"{ident(name)} := {_output_value(policy, name, spec, f'outputs.{ident(name)}')}"
                       for name, spec in policy.outputs.items())
    return _decimals(policy, f"CAST(to_json(struct_pack({fields})) AS VARCHAR)")


def _decimals(policy: Policy, body: str) -> str:
    for k, (name, spec) in enumerate(policy.outputs.items()):
        if spec.computed and spec.type == "number":
            marker = lit('"\\u0001' + str(k) + '"')
            body = f"replace({body}, {marker}, coalesce({decimal_text('outputs.' + ident(name))}, 'null'))"
    return body


def id_json(id_field: str, kind: str | None) -> str:
    """The `record_id` value's JSON text, by how the staged id column is held."""
    c = ident(id_field)
    if kind == "json":  # JSONL: the id's JSON value (a string, an int64 or a finite double)
        return (f"(CASE json_type({c}) WHEN 'VARCHAR' THEN CAST(to_json(json_extract_string({c}, '$')) AS VARCHAR) "
                f"WHEN 'BIGINT' THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) WHEN 'UBIGINT' THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
                f"ELSE {py_float(f'CAST({c} AS DOUBLE)')} END)")
    if kind in ("varchar", "VARCHAR"):
        return _str(c)
    if kind in ("FLOAT", "DOUBLE"):
        return py_float(f"CAST({c} AS DOUBLE)")
    return f"CAST(CAST({c} AS BIGINT) AS VARCHAR)"


def decision_json(policy: Policy, *, id_field: str | None = None, id_kind: str | None = None,
                  warn: str | None = None, warn_const: tuple[str, ...] | None = None,
                  as_of=None) -> str:
    """The SQL expression of one decision's JSON line, over the decision query's columns
    (and the staged id column, and `warn`: the record's warnings, a list of text).

    One `to_json` of a struct per row: the struct of the keys this row has (`messages`,
    `principal_reasons` and `warnings` are there or not), chosen by a CASE over the up to
    eight shapes, so the keys decision_dict omits are never written."""
    fields = {"policy": policy.id, "version": policy.version, "policy_digest": policy.digest}
    if policy.uses_time:  # the evaluation date, right after the policy's fields (the contract)
        if as_of is None:
            raise ValueError("a policy that uses time needs the evaluation date")
        fields["as_of"] = as_of.isoformat()
    head = ENCODER.encode(fields)[1:-1]
    outputs = ", ".join(f"{ident(name)} := {_output_value(policy, name, spec, f'outputs.{ident(name)}')}"
                        for name, spec in policy.outputs.items())
    shapes = []
    for with_messages in (False, True):
        for adverse in (False, True):
            for warned in ((False, True) if warn is not None else (False,)):
                fields = ["outcome := outcome", "outcome_known := outcome_known", "adverse := adverse",
                          "decided_by := decided_by", "reasons := reasons"]
                if with_messages:
                    fields.append("messages := messages")
                if adverse:
                    fields.append("principal_reasons := principal_reasons")
                fields += ["notices := notices", "flags := flags",
                           f"outputs := {'struct_pack(' + outputs + ')' if outputs else 'CAST(MAP() AS MAP(VARCHAR, INTEGER))'}",
                           "missing_facts := missing_facts", "undetermined_rules := undetermined_rules"]
                if warned:
                    fields.append(f"warnings := {warn}")
                when = [f"len(messages) {'>' if with_messages else '='} 0", "adverse" if adverse else "NOT adverse"]
                if warn is not None:
                    when.append(f"len({warn}) {'>' if warned else '='} 0")
                shapes.append(f"WHEN {' AND '.join(when)} THEN CAST(to_json(struct_pack({', '.join(fields)})) AS VARCHAR)")
    body = _decimals(policy, f"(CASE {' '.join(shapes)} END)")
    tail = "'}'"
    if warn_const:
        tail = lit(',"warnings":' + ENCODER.encode([warning(k) for k in warn_const]) + "}")
    # body is `{…}`: its keys go after the constant head (and the record id), the
    # constant warnings of a CSV or Parquet input after its last key.
    rest = f"substr({body}, 2)" if not warn_const else f"left(substr({body}, 2), -1)"
    if id_field is not None:
        start = f"'{{\"record_id\":' || {id_json(id_field, id_kind)} || {lit(',' + head + ',')}"
    else:
        start = lit("{" + head + ",")
    return f"({start} || {rest}{' || ' + tail if warn_const else ''})"


def warning(key: str) -> str:
    """The warning of an undeclared key (as `engine.runtime.facts.check_facts` words it)."""
    return f"undeclared fact `{key}` ignored"
