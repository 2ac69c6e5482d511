"""Decision-table rows from a CSV file: the file's bytes (read by the caller) → records
with the line and column of every field, checked against the table's columns.

An RFC 4180 reader of our own, since the `csv` module does not say where a field starts;
unquoted fields are read as YAML 1.2 plain scalars (a number, a boolean, null for an empty
field, else the text), quoted fields stay text. Diagnostics name the CSV file (beside the
policy's own name) and the pointer `/tables/<t>/rows` (`/rows/<r>/<c>` for cells).
"""

from __future__ import annotations

import re

from .cells import yaml_value
from .diagnostics import ERROR, Diagnostic
from .model import Loc

_WINDOWS_ABSOLUTE = re.compile(r"[A-Za-z]:")


def path_problem(path: str) -> str | None:
    """Why a rows file path may not be read (absolute, or leaving the policy's folder), or None."""
    parts = re.split(r"[/\\]", path)
    if path.startswith(("/", "\\")) or _WINDOWS_ABSOLUTE.match(path):
        return "is an absolute path"
    if ".." in parts:
        return "leaves the policy's folder (`..`)"
    if not path.strip() or parts[-1] in ("", "."):
        return "names no file"
    return None


def csv_name(policy_file: str, path: str) -> str:
    """How diagnostics name the CSV: beside the policy's own name (`policies/tiers.csv`)."""
    folder = policy_file.replace("\\", "/").rpartition("/")[0]
    return f"{folder}/{path}" if folder else path


class _CsvError(Exception):
    def __init__(self, message: str, line: int, column: int, hint: str | None = None):
        super().__init__(message)
        self.message, self.line, self.column, self.hint = message, line, column, hint


def csv_records(text: str) -> list[list[tuple[str, bool, int, int]]]:
    """RFC 4180 records of `text`: per field (text, quoted, line, column), 1-based, columns
    in characters. Quoted fields may hold commas, doubled quotes and line breaks."""
    records, rec = [], []
    i, n, line, col = 0, len(text), 1, 1
    while True:
        fline, fcol = line, col
        if i < n and text[i] == '"':
            i, col, buf = i + 1, col + 1, []
            while True:
                if i >= n:
                    raise _CsvError("a quoted field is not closed", fline, fcol, 'end it with `"`')
                ch = text[i]
                if ch == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        buf.append('"')
                        i, col = i + 2, col + 2
                        continue
                    i, col = i + 1, col + 1
                    break
                if ch in "\r\n":
                    i += 2 if text.startswith("\r\n", i) else 1
                    line, col = line + 1, 1
                    buf.append("\n")
                    continue
                buf.append(ch)
                i, col = i + 1, col + 1
            if i < n and text[i] not in ",\r\n":
                raise _CsvError("text after a quoted field's closing quote", line, col,
                                'quote the whole field, doubling the quotes inside it: `"a ""b"""`')
            rec.append(("".join(buf), True, fline, fcol))
        else:
            j = i
            while j < n and text[j] not in ",\r\n":
                j += 1
            raw = text[i:j]
            if '"' in raw:
                raise _CsvError("a quote inside an unquoted field", fline, fcol + raw.index('"'),
                                'quote the whole field, doubling the quotes inside it: `"a ""b"""`')
            stripped = raw.lstrip()
            rec.append((stripped.rstrip(), False, fline, fcol + len(raw) - len(stripped)))
            col += j - i
            i = j
        if i >= n:
            records.append(rec)
            return records
        if text[i] == ",":
            i, col = i + 1, col + 1
            continue
        i += 2 if text.startswith("\r\n", i) else 1
        line, col = line + 1, 1
        records.append(rec)
        rec = []
        if i >= n:
            return records


def _plain(text: str):
    """An unquoted CSV field as a YAML 1.2 plain scalar: a number, a boolean, null (an empty
    field), else the text itself."""
    if not text:
        return None
    if text[0] in "-+.0123456789tTfFnN~":
        ok, v = yaml_value(text)
        if ok and (v is None or isinstance(v, (bool, int, float))):
            return v
    return text


def read_csv(b, src, data: bytes, name: str, cell, row) -> None:
    """The rows of `src` (a `tables.Source`) from the CSV's bytes, as `row(number, loc, cells)`
    of `cell(value, loc)`; located diagnostics into the builder's list."""
    rptr = f"{src.ptr}/rows"

    def fail(message: str, line: int, column: int, code: str = "table-csv-syntax", hint: str | None = None):
        b.diags.append(Diagnostic(code, message, ERROR, name, line, column, rptr, hint))

    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[start:exc.start].decode("utf-8", errors="replace")) + 1
        fail(f"invalid UTF-8 byte 0x{data[exc.start]:02x}", line, col, "not-utf8", "save the file as UTF-8")
        return
    try:
        records = [r for r in csv_records(text) if r != [("", False, r[0][2], r[0][3])]]
    except _CsvError as exc:
        fail(exc.message, exc.line, exc.column, hint=exc.hint)
        return
    if not records:
        fail("the rows file is empty: it needs a header row naming the columns, then the rows", 1, 1,
             "table-csv-header", "first line: " + ",".join(src.columns))
        return
    header, rows = records[0], records[1:]
    expected = src.columns
    for c, (text_, _, line, col) in enumerate(header):
        if c >= len(expected) or text_ != expected[c]:
            want = f"`{expected[c]}`" if c < len(expected) else "no column"
            fail(f"header column {c + 1} is `{text_}`, the table's column {c + 1} is {want}", line, col,
                 "table-csv-header", "the header names the columns in order: " + ",".join(expected))
            return
    if len(header) < len(expected):
        _, _, line, col = header[-1]
        fail(f"the header names {len(header)} columns, the table has {len(expected)}", line, col,
             "table-csv-header", "the header names the columns in order: " + ",".join(expected))
        return
    if not rows:
        fail("the rows file has a header but no rows", header[0][2], header[0][3], "table-csv-header",
             "add one line per row under the header")
        return
    for r, rec in enumerate(rows):
        cptr = f"{rptr}/{r}"
        cells = []
        for c, (text_, quoted, line, col) in enumerate(rec):
            cells.append(cell(text_ if quoted else _plain(text_), Loc(name, line, col, f"{cptr}/{c}")))
        src.rows.append(row(r + 1, Loc(name, rec[0][2], 1, cptr), cells))
