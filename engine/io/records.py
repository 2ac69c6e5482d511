"""Reading fact records: one JSON/YAML document, or many from JSONL/CSV, streamed.

Yields `Record(label, data, error)` one at a time so a file of millions of users runs in
constant memory. Labels name the record for error messages (`users.jsonl:17`). CSV cells
are strings; they are converted by the policy's declared fact types here, because only the
policy knows that `"720"` is an integer and `"true"` a boolean.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import IO, Callable, Iterator, NamedTuple

from ..language.model import Policy
from ..language.source import load_text

BATCH_SUFFIXES = (".jsonl", ".ndjson", ".csv")


class Record(NamedTuple):
    label: str
    data: object = None
    error: str | None = None


def _reject_constant(name: str):
    raise ValueError(f"`{name}` is not a valid number")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key `{k}`")
        out[k] = v
    return out


def parse_json(text: str):
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at column {exc.colno}: {exc.msg}"
    return f"invalid JSON: {exc}"


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def cell_converter(policy: Policy, name: str) -> Callable[[str], object]:
    """How a CSV column's cells become values: by the declared type of the fact it names
    (an undeclared column stays a string). An empty cell is a missing value. Built once per
    column: a batch converts millions of cells. Raises ValueError naming the fact."""
    spec = policy.facts.get(name)
    kind = "string" if spec is None else spec.type

    def string(cell: str):
        return cell if cell != "" else None

    def boolean(cell: str):
        if cell == "":
            return None
        value = _BOOLEANS.get(cell.strip().lower())
        if value is None:
            raise ValueError(f"fact `{name}`: `{cell}` is not a boolean (true/false)")
        return value

    def integer(cell: str):
        if cell == "":
            return None
        try:
            return int(cell.strip())
        except ValueError:
            raise ValueError(f"fact `{name}`: `{cell}` is not an integer") from None

    def number(cell: str):
        if cell == "":
            return None
        text = cell.strip()
        try:
            value = float(text) if "." in text or "e" in text or "E" in text else int(text)
        except ValueError:
            raise ValueError(f"fact `{name}`: `{cell}` is not a number") from None
        if value.__class__ is float and value - value != 0.0:  # inf - inf and nan - nan are nan
            raise ValueError(f"fact `{name}`: `{cell}` is not a finite number")
        return value

    return {"string": string, "boolean": boolean, "integer": integer, "number": number}[kind]


def _read_jsonl(fh: IO[str], name: str) -> Iterator[Record]:
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        label = f"{name}:{lineno}"
        try:
            yield Record(label, parse_json(line))
        except ValueError as exc:
            yield Record(label, error=_json_error(exc))


def _read_csv(fh: IO[str], name: str, policy: Policy) -> Iterator[Record]:
    reader = csv.reader(fh)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    columns = [(h, cell_converter(policy, h)) for h in header]
    width = len(header)
    for row in reader:
        if not "".join(row).strip():
            continue  # a blank line, or a row of empty cells
        if len(row) != width:
            yield Record(f"{name}:{reader.line_num}", error=f"expected {width} columns, found {len(row)}")
            continue
        try:
            yield Record(f"{name}:{reader.line_num}", {h: convert(c) for (h, convert), c in zip(columns, row)})
        except ValueError as exc:
            yield Record(f"{name}:{reader.line_num}", error=str(exc))


def _read_document(text: str, name: str) -> Iterator[Record]:
    """One JSON or YAML document: a record, or a list of records."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = parse_json(text)
        except ValueError as exc:
            if stripped.startswith("{") and "\n{" in text.strip():
                yield from _read_jsonl(io.StringIO(text), name)  # JSONL on stdin
                return
            yield Record(name, error=_json_error(exc))
            return
    else:
        doc, diags = load_text(text, name)
        if doc is None:
            d = diags[0]
            yield Record(f"{name}:{d.line}:{d.column}" if d.line else name, error=d.message)
            return
        data = doc.data
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield Record(f"{name}[{i}]", item)
    else:
        yield Record(name, data)


def read_records(path: str, policy: Policy, stdin: IO[str] | None = None) -> Iterator[Record]:
    """Records from a path (`-` is stdin). Raises OSError when the file cannot be opened."""
    if path == "-":
        stream = stdin or sys.stdin
        yield from _read_document(stream.read(), "<stdin>")
        return
    lower = path.lower()
    with open(path, encoding="utf-8", newline="" if lower.endswith(".csv") else None) as fh:
        try:
            if lower.endswith((".jsonl", ".ndjson")):
                yield from _read_jsonl(fh, path)
            elif lower.endswith(".csv"):
                yield from _read_csv(fh, path, policy)
            else:
                yield from _read_document(fh.read(), path)
        except UnicodeDecodeError as exc:
            yield Record(path, error=f"not UTF-8: {exc.reason} at byte {exc.start}")


def is_batch(paths: list[str]) -> bool:
    return len(paths) > 1 or any(p.lower().endswith(BATCH_SUFFIXES) for p in paths)
