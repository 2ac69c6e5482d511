"""Reading fact records: one JSON/YAML document, or many from JSONL, CSV or a JSON array,
streamed in bounded memory.

`open_records(path, policy)` opens one input and says whether it is a stream of records
(`Records.stream`: JSONL, CSV, a JSON or YAML list) or one record; iterating it yields
`Record(label, data, error)` one at a time, so a file of millions of users runs in constant
memory. Labels name the record for error messages (`users.jsonl:17`, `users.json[3]`).

A problem with one record (malformed JSON, a wrong cell, a record over the size limit) is a
`Record` with an `error`: the caller reports it, and stops or skips it. A problem with the
input as a whole (it cannot be opened or read, a document over its limit, a JSON array
whose next element cannot be found, no records at all) raises `RecordsError`, which is
not an `OSError`: it names the input, and nothing after it can be read.

The limits below are the documented ones (docs/cli.md, "Input limits"). Input is read as
bytes and decoded per line, so a byte that is not UTF-8 is located (line and column) and
only its record is lost. CSV cells are strings; they are converted by the policy's
declared fact types (`cell_converter`), because only the policy knows that `"720"` is an
integer. A date column's cells stay strings (an empty one is missing): fact validation
reads `YYYY-MM-DD` and words the error for anything else, as for JSON.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import IO, BinaryIO, Iterator, NamedTuple

from ..language import source as _source
from ..language import values as _values
from ..language.model import DATE, Policy
from ..language.values import lone_surrogate
from ..language.source import load_text
from .values import DECODER, cell_converter, json_error, not_an_object, parse_float, parse_json, too_deep, value_error

__all__ = ["MAX_RECORD_BYTES", "MAX_DOCUMENT_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "Record", "RecordsError",
           "EmptyInput", "Records", "open_records", "read_records", "cell_converter", "parse_float", "parse_json",
           "input_format_of"]

# -- the input limits ----------------------------------------------------------------------
# One record: a JSONL line, a CSV row (all its lines), one element of a JSON array, or a
# JSON document holding one record. Larger is a record error (in a JSON array, where the
# element's end cannot be found, an input error).
MAX_RECORD_BYTES = 1024 * 1024
# A YAML facts file is read whole (YAML cannot be streamed): at most this many bytes. JSONL,
# CSV and JSON arrays are streamed and have no size limit.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
# Nesting of arrays and objects inside one record: the policy loader's limit.
MAX_DEPTH = _source.MAX_DEPTH
# Digits of one integer: the policy loader's limit (Python's int/str conversion limit).
MAX_INT_DIGITS = _values.MAX_INT_DIGITS

INPUT_FORMATS = ("json", "jsonl", "csv", "yaml")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}
_CHUNK = 64 * 1024
_BOM = "\ufeff"


class Record(NamedTuple):
    label: str
    data: object = None
    error: str | None = None


class RecordsError(Exception):
    """An input that cannot be read (further): one line naming it, exit 2, even with
    `--on-error skip`. Not an OSError, so it is never confused with an output failure."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class EmptyInput(RecordsError):
    """An input without a single record (an empty file, a CSV header alone, `[]`)."""


# -- the fast decoder ----------------------------------------------------------------------
# msgspec decodes a JSONL line about 7x faster than `json` with verdict's hooks (0.5 µs
# against 3.9 µs for a record of ten facts), but it does not apply verdict's rules: it keeps
# the last of duplicate keys, decodes `12345678901234567891.0` as a rounded float where
# `parse_float` keeps the exact integer, has no nesting limit of its own, and words its
# errors differently. So a line takes the fast decoder's answer only when that answer is
# provably the standard decoder's:
# - a flat object: no array or object values (so no nesting, no duplicates inside);
# - every float below 2**53 in magnitude (there a float is integral only where the numeral
#   is that integer, so `parse_float`'s exact integers never arise);
# - integers: msgspec refuses those beyond 4,300 digits (the sign counted), Python's own
#   limit, and decodes the others exactly; where a program lowered that limit
#   (`sys.set_int_max_str_digits`), every integer beyond 64 bits takes the slow path;
# - no duplicate key: the line's `:` count is its number of keys (each member has one; a
#   `:` inside a string makes the count larger, and then, in a line without a backslash,
#   the `"` count must be two per key and per string value);
# - no lone surrogate (msgspec refuses them; checked all the same where a `\u` is).
# Any other line, and any line msgspec refuses, is decoded again by `json_record`, which
# gives the answer or the error it always gave. tests/test_fast_path.py runs the fuzz
# corpus, big integers, lone surrogates, -0.0, NaN and the rest through both paths.

_fast_decode = _fast_decode_i64 = None  # built on first use: msgspec is imported only to read JSON lines
_MSGSPEC_LIMITED = False
_LOADED = False


def _load() -> None:
    """Import msgspec and build the two decoders: flat objects only, floats within ±2**53
    only (msgspec checks both while decoding); the second also keeps integers within 64
    bits. Without msgspec, the standard decoder alone."""
    global _fast_decode, _fast_decode_i64, _MSGSPEC_LIMITED, _LOADED
    _LOADED = True
    try:
        import msgspec
    except ImportError:  # pragma: no cover - a dependency
        return
    from typing import Annotated, Union

    real = Annotated[float, msgspec.Meta(gt=-2.0 ** 53, lt=2.0 ** 53)]
    int64 = Annotated[int, msgspec.Meta(ge=-2 ** 63, le=2 ** 63 - 1)]
    _fast_decode = msgspec.json.Decoder(dict[str, Union[str, int, real, bool, None]]).decode
    _fast_decode_i64 = msgspec.json.Decoder(dict[str, Union[str, int64, real, bool, None]]).decode
    try:  # does this msgspec refuse integers beyond 4,300 digits, as Python's own limit does?
        _fast_decode(b'{"a":1' + b"0" * MAX_INT_DIGITS + b"}")
    except Exception:  # noqa: BLE001 - refused
        _MSGSPEC_LIMITED = True


def fast_decoder():
    """The fast decoder for this process's integer limit: every integer msgspec accepts
    (at most 4,300 digits, the sign counted) is one `json` accepts, with the same value,
    unless a program lowered Python's limit (`sys.set_int_max_str_digits`) or this msgspec
    accepts more; then integers beyond 64 bits are left to the standard decoder. None
    without msgspec."""
    if not _LOADED:
        _load()
    limit = sys.get_int_max_str_digits()
    return _fast_decode if _MSGSPEC_LIMITED and (limit == 0 or limit >= MAX_INT_DIGITS) else _fast_decode_i64


def fast_object(raw: bytes, decode=None) -> dict | None:
    """A JSONL line (bytes) decoded by the fast decoder when its answer is the standard
    decoder's (see above); None when the line must take `json_record`. `decode`:
    `fast_decoder()`, asked once per input by the caller."""
    try:
        data = (decode or fast_decoder())(raw)
    except Exception:  # msgspec's DecodeError and ValidationError, RecursionError: the slow path tells
        return None
    if raw.count(b":") != len(data):
        if raw.find(b"\\") >= 0:
            return None
        strings = 0
        for v in data.values():
            if v.__class__ is str:
                strings += 1
        if raw.count(b'"') != 2 * (len(data) + strings):
            return None
    if raw.find(b"\\") >= 0 and b"\\u" in raw and lone_surrogate(data):
        return None
    return data


def json_record(label: str, text: str) -> Record:
    """One JSONL line (or a one-record document) as a Record: the object, or an error with
    the column of the JSON problem in that line."""
    if too_deep(text):
        return Record(label, error=f"nested deeper than the limit of {MAX_DEPTH} levels")
    try:
        data = DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return Record(label, error=json_error(text, exc))
    except RecursionError:  # pragma: no cover - too_deep refuses anything this deep first
        return Record(label, error=f"nested deeper than the limit of {MAX_DEPTH} levels")
    except ValueError as exc:  # a duplicate key, NaN, an integer of too many digits
        return Record(label, error=f"invalid JSON: {value_error(exc)}")
    if data.__class__ is not dict:
        return Record(label, error=not_an_object(data))
    if "\\u" in text:  # UTF-8 text holds no surrogates: only an escape can make one
        lone = lone_surrogate(data)
        if lone:
            return Record(label, error=f"`{lone}` is half of a surrogate pair, not a character")
    return Record(label, data)


# -- reading bytes -------------------------------------------------------------------------

class _Lines:
    """A binary stream read line by line, each at most MAX_RECORD_BYTES (so an endless line,
    say /dev/zero, costs bounded memory), with the number of the last line read and lines
    pushed back by the sniffing of the format."""

    def __init__(self, fb: BinaryIO, name: str):
        self.fb = fb
        self.name = name
        self.lineno = 0
        self.pushed: list[bytes] = []
        self.blank = b""  # leading blank lines the sniffing skipped (YAML counts them)

    def readline(self) -> bytes:
        """The next line (b"" at the end). An over-long line is returned cut at the limit +1
        byte, without its newline; `drain` skips the rest of it."""
        raw = self.pushed.pop() if self.pushed else self.fb.readline(MAX_RECORD_BYTES + 1)
        if raw:
            self.lineno += 1
            if self.lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:] or b"\n"
        return raw

    def push(self, raw: bytes) -> None:
        self.lineno -= 1
        self.pushed.append(raw)

    def drain(self, raw: bytes) -> None:
        """Skip the rest of an over-long line. NUL bytes mean this is not text at all
        (/dev/zero, a binary file): the input ends here."""
        while True:
            if b"\0" in raw:
                raise RecordsError(f"{self.name}:{self.lineno}", "binary data (NUL bytes), not a facts file")
            if raw.endswith(b"\n") or not raw:
                return
            raw = self.fb.readline(_CHUNK)


def _too_long(raw: bytes) -> bool:
    return len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n")


_TOO_LARGE = f"record larger than the limit of {MAX_RECORD_BYTES:,} bytes"


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8: {exc.reason} at column {exc.start + 1}"


def _read_jsonl(lines: _Lines, name: str) -> Iterator[Record]:
    """JSON lines: one object per line, blank lines ignored; a bad line is a record error."""
    while lines.pushed or lines.lineno == 0:  # the sniffed first lines, and the BOM check
        raw = lines.readline()
        if not raw:
            return
        yield from _jsonl_line(lines, name, raw)
    # The hot loop of a JSONL batch: no method call per line beyond readline and decode.
    readline, limit = lines.fb.readline, MAX_RECORD_BYTES + 1
    lineno = lines.lineno
    decode = fast_decoder()
    new = tuple.__new__  # a Record without NamedTuple's Python-level __new__
    while True:
        raw = readline(limit)
        if not raw:
            lines.lineno = lineno
            return
        lineno += 1
        if len(raw) < limit:
            if decode is not None:  # `fast_object`, inline: this runs once per line
                try:
                    data = decode(raw)
                except Exception:  # noqa: BLE001 - msgspec's errors: the standard decoder tells
                    pass
                else:
                    if raw.count(b":") != len(data) or raw.find(b"\\") >= 0:
                        data = fast_object(raw, decode)  # the rarer lines: every check
                    if data is not None:
                        yield new(Record, (f"{name}:{lineno}", data, None))
                        continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                if not line.isspace():
                    yield json_record(f"{name}:{lineno}", line)
                continue
        lines.lineno = lineno
        yield from _jsonl_line(lines, name, raw)


def _jsonl_line(lines: _Lines, name: str, raw: bytes) -> Iterator[Record]:
    """One JSONL line the slow way: over-long (reported, then skipped), not UTF-8, blank, or a
    record."""
    label = f"{name}:{lines.lineno}"
    if _too_long(raw):
        if b"\0" in raw:
            raise RecordsError(label, "binary data (NUL bytes), not a facts file")
        yield Record(label, error=_TOO_LARGE)
        lines.drain(raw)  # only when the caller skips it and reads on
        return
    line, bad = _decode(raw)
    if line is None:
        yield Record(label, error=bad)
    elif not line.isspace():
        yield json_record(label, line)


def _read_json_array(lines: _Lines, name: str) -> Iterator[Record]:
    """A top-level JSON array of records, decoded one element at a time (raw_decode over a
    buffer refilled in chunks), each element at most MAX_RECORD_BYTES: memory stays bounded
    whatever the file's size. The first pushed-back line starts with the `[`."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        buf = decoder.decode(lines.readline()).lstrip()
    except UnicodeDecodeError as exc:
        raise RecordsError(name, f"not UTF-8: {exc.reason}") from None
    pos, eof = 1, False
    raw_decode = DECODER.raw_decode

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        chunk = lines.fb.read(_CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise RecordsError(name, f"not UTF-8: {exc.reason}") from None
        eof = not chunk
        buf, pos = buf[pos:] + text, 0
        return bool(chunk) or bool(text)

    def skip_ws() -> str:
        nonlocal pos
        while True:
            n = len(buf)
            while pos < n and buf[pos] in " \t\r\n":
                pos += 1
            if pos < n:
                return buf[pos]
            if not more():
                return ""

    index = 0
    if skip_ws() == "]":
        return
    while True:
        where = f"{name}[{index}]"
        if not skip_ws():
            raise RecordsError(where, "invalid JSON: the array is not closed (`]`)")
        while True:
            try:
                value, end = raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                maybe_cut = exc.pos >= len(buf) - 8 or exc.msg.startswith("Unterminated")
                if maybe_cut and len(buf) - pos <= MAX_RECORD_BYTES and more():
                    continue
                if len(buf) - pos > MAX_RECORD_BYTES:
                    raise RecordsError(where, _TOO_LARGE) from None
                raise RecordsError(where, f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise RecordsError(where, f"nested deeper than the limit of {MAX_DEPTH} levels") from None
            except ValueError as exc:
                raise RecordsError(where, f"invalid JSON: {value_error(exc)}") from None
            if end == len(buf) and more():  # a number may go on in the next chunk
                continue
            break
        if end - pos > MAX_RECORD_BYTES:
            yield Record(where, error=_TOO_LARGE)
        elif too_deep(buf, pos, end):
            yield Record(where, error=f"nested deeper than the limit of {MAX_DEPTH} levels")
        elif value.__class__ is not dict:
            yield Record(where, error=not_an_object(value))
        else:
            yield Record(where, value)
        pos = end
        c = skip_ws()
        if c == "]":
            pos += 1
            if skip_ws():
                raise RecordsError(name, "invalid JSON: extra data after the array")
            return
        if c != ",":
            raise RecordsError(where, "invalid JSON: expected `,` or `]` after this element"
                               if c else "invalid JSON: the array is not closed (`]`)")
        pos += 1
        index += 1


# -- CSV -----------------------------------------------------------------------------------

def _read_csv(lines: _Lines, name: str, policy: Policy) -> Iterator[Record]:
    """CSV rows as records, the header naming the facts. Each row (every line of it) is at
    most MAX_RECORD_BYTES; a row csv cannot parse is a record error, and reading goes on."""
    # csv's own cell limit (131,072) would raise mid-file; a cell may be as large as its row.
    # (A process-wide setting: only ever raised here, never lowered.)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))
    used = [0]  # bytes of the row being read, across its lines
    state: dict = {}

    def source(first: bytes) -> Iterator[str]:
        # The hot loop of a CSV batch: csv pulls each line through here.
        readline, limit = lines.fb.readline, MAX_RECORD_BYTES + 1
        raw = first
        while raw:
            used[0] += len(raw)
            if used[0] > MAX_RECORD_BYTES:
                state["long"] = raw
                raise _RowTooLarge()
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                state["bad"] = _decode(raw)[1]
                raise _RowTooLarge() from None
            yield line
            raw = readline(limit)

    header = None
    convert_row = None
    width = 0
    new = tuple.__new__  # a Record without NamedTuple's Python-level __new__
    base = 0  # lines read by the readers before this one (one starts anew after a bad row)
    reader = csv.reader(source(lines.readline()))  # line 1 through `readline`: the BOM
    while True:
        used[0] = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except (_RowTooLarge, csv.Error) as exc:
            base += reader.line_num + (1 if state else 0)  # the line that raised was not counted
            label = f"{name}:{base}"
            long, bad = state.pop("long", None), state.pop("bad", None)
            if long is not None and b"\0" in long:
                raise RecordsError(label, "binary data (NUL bytes), not a facts file") from None
            message = _TOO_LARGE if long is not None else bad if bad is not None else f"invalid CSV: {exc}"
            if header is None:
                raise RecordsError(label, f"the header: {message}") from None
            yield Record(label, error=message)
            if long is not None and _too_long(long):
                lines.lineno = base
                lines.drain(long)  # the rest of that line; a quoted field across lines may still misalign
            reader = csv.reader(source(lines.fb.readline(MAX_RECORD_BYTES + 1)))  # the old one is finished
            continue
        if header is None:
            header = [h.strip() for h in row]
            if header and header[0].startswith(_BOM):
                header[0] = header[0][1:]
            convert_row = row_converter(policy, header)
            width = len(header)
            continue
        if not "".join(row).strip(_BLANK):
            # A blank line, or a row of empty cells. Blank means ASCII whitespace only (the
            # DuckDB staging's `\s`): a no-break space or U+2028 is a value, not a blank line.
            continue
        label = f"{name}:{base + reader.line_num}"  # the line the record ends on
        if len(row) != width:
            yield Record(label, error=f"expected {width} columns, found {len(row)}")
            continue
        try:
            data = convert_row(row)
        except ValueError as exc:
            yield Record(label, error=str(exc))
        else:
            yield new(Record, (label, data, None))


_BLANK = " \t\n\f\r"  # what RE2's `\s` matches, in the batch staging's blank-row test


def row_converter(policy: Policy, header: list[str]):
    """A CSV row (a list of `len(header)` cells) to its record: each cell converted by its
    column's `cell_converter`, in column order (the first bad cell raises its ValueError),
    a repeated column name keeping its last cell, as `{h: convert(c) for …}` would. The
    hot loop of a CSV batch, so generated once per header: the common cells (an integer
    `int()` reads, `true`/`false`, a string) are converted inline, anything else by the
    converter itself. The source holds only names we make up; the column names and
    converters are in its namespace, by index."""
    namespace: dict = {"__builtins__": {"int": int, "ValueError": ValueError}}
    lines = ["def convert_row(row):", f"    ({''.join(f'c{i}, ' for i in range(len(header)))}) = row"]
    for i, h in enumerate(header):
        namespace[f"h{i}"] = h
        namespace[f"f{i}"] = convert = cell_converter(policy, h)
        spec = policy.facts.get(h)
        kind = "string" if spec is None else spec.type
        if kind == "string" or kind == DATE:
            lines.append(f"    c{i} = c{i} or None")
        elif kind == "integer":
            lines += ["    try:", f"        c{i} = int(c{i})", "    except ValueError:", f"        c{i} = f{i}(c{i})"]
        elif kind == "boolean":
            lines.append(f"    c{i} = True if c{i} == 'true' else False if c{i} == 'false' else f{i}(c{i})")
        else:
            lines.append(f"    c{i} = f{i}(c{i})")
        assert convert is not None
    lines.append("    return {" + ", ".join(f"h{i}: c{i}" for i in range(len(header))) + "}")
    exec(compile("\n".join(lines) + "\n", "<verdict csv row>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["convert_row"]


class _RowTooLarge(Exception):
    """Raised inside the CSV line source: the row went over the limit, or a line is not UTF-8."""


# -- documents -----------------------------------------------------------------------------

def _read_yaml(lines: _Lines, name: str) -> tuple[bool, list[Record]]:
    """A YAML (or JSON) document read whole, at most MAX_DOCUMENT_BYTES: (is it a list,
    its records). The blank lines the sniffing skipped are put back, so lines are right."""
    head = lines.blank + b"".join(reversed(lines.pushed))
    lines.pushed.clear()
    raw = head + lines.fb.read(MAX_DOCUMENT_BYTES + 1 - len(head))
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise RecordsError(name, f"larger than the limit of {MAX_DOCUMENT_BYTES:,} bytes for a YAML document "
                                 "(use JSONL or CSV, which are streamed)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RecordsError(f"{name}:{line}", f"not UTF-8: {exc.reason}") from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        return False, []
    doc, diags = load_text(text, name)
    if doc is None:
        d = diags[0]
        return False, [Record(f"{name}:{d.line}:{d.column}" if d.line else name, error=d.message)]
    data = doc.data
    if not isinstance(data, list):
        return False, [Record(name, data) if isinstance(data, dict) else Record(name, error=not_an_object(data))]
    return True, [Record(f"{name}[{i}]", item) if isinstance(item, dict)
                  else Record(f"{name}[{i}]", error=not_an_object(item)) for i, item in enumerate(data)]


def _read_json_document(lines: _Lines, name: str) -> Iterator[Record]:
    """A JSON document starting with `{`: one record (pretty-printed or not), read whole up
    to MAX_RECORD_BYTES, or JSONL when its first line is a whole object (stdin, `.json`)."""
    first = lines.readline()
    if not _too_long(first):
        text, _ = _decode(first)
        if text is not None and not too_deep(text):
            try:
                DECODER.decode(text)
            except (ValueError, RecursionError):
                pass
            else:
                lines.push(first)
                yield from _read_jsonl(lines, name)
                return
    raw = first + lines.fb.read(MAX_RECORD_BYTES + 1 - len(first))
    if len(raw) > MAX_RECORD_BYTES:
        yield Record(name, error=_TOO_LARGE)
        return
    text, bad = _decode(raw)
    yield Record(name, error=bad) if text is None else json_record(name, text)


def _sniff(lines: _Lines) -> bytes:
    """Skip leading blank lines; the first other line is pushed back and its first
    non-space byte returned (b"" for an input of blank space only)."""
    while True:
        raw = lines.readline()
        if not raw:
            return b""
        stripped = raw.lstrip()
        if stripped:
            if b"\0" in raw:
                raise RecordsError(f"{lines.name}:{lines.lineno}", "binary data (NUL bytes), not a facts file")
            lines.push(raw)
            return stripped[:1]
        lines.blank += raw
        if len(lines.blank) > MAX_RECORD_BYTES:
            raise RecordsError(lines.name, "nothing but blank lines")


class Records:
    """One opened input: `stream` (a stream of records, or one record) and its records.

    The format is the one asked for, else told by the suffix, else (stdin, `.json`, other
    names) by the first character: `[` a JSON array, `{` a JSON document or JSONL, anything
    else YAML. Opening reads as far as needed to know `stream`: the first two records of a
    `{` input (one object, or JSONL), the whole of a YAML document."""

    def __init__(self, fb: BinaryIO, name: str, policy: Policy, input_format: str | None,
                 allow_empty: bool, owned: bool):
        self.name = name
        self._fb = fb
        self._owned = owned
        self._allow_empty = allow_empty
        lines = _Lines(fb, name)
        if input_format == "jsonl":
            self.stream, self._records = True, _read_jsonl(lines, name)
            return
        if input_format == "csv":
            self.stream, self._records = True, _read_csv(lines, name, policy)
            return
        first = _sniff(lines)
        if not first:  # an empty file, or blank space only
            self.stream, self._records = False, iter(())
        elif input_format == "yaml" or (input_format is None and first not in (b"[", b"{")):
            self.stream, records = _read_yaml(lines, name)  # a YAML document is read whole anyway
            self._records = iter(records)
        elif first == b"[":
            self.stream, self._records = True, _read_json_array(lines, name)
        elif first == b"{":
            it = _read_json_document(lines, name)
            head = [r for r in (next(it, None), next(it, None)) if r is not None]
            self.stream = len(head) > 1
            if len(head) == 1:  # one record: a document, named as a whole (not by its line)
                head[0] = head[0]._replace(label=name)
            self._records = _chain(head, it)
        else:
            raise RecordsError(f"{name}:{lines.lineno + 1}", "not JSON: a JSON document starts with `{` or `[`")

    def __iter__(self) -> Iterator[Record]:
        records = self._records
        try:
            first = next(records, None)
            if first is not None:
                yield first
                yield from records  # delegated: no Python frame of this generator per record
        except OSError as exc:  # reading, not writing: outputs raise OutputError
            raise RecordsError(self.name, f"cannot read: {exc.strerror or exc}") from None
        if first is None and not self._allow_empty:
            raise EmptyInput(self.name, "no records (an empty file, a CSV header alone, or an empty list); "
                                        "--allow-empty accepts it")

    def close(self) -> None:
        if self._owned:
            self._fb.close()

    def __enter__(self) -> "Records":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def _binary(stream: IO) -> BinaryIO:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        return buffer
    if isinstance(stream, io.TextIOBase):  # a text stream of a library caller (StringIO)
        return io.BytesIO(stream.read().encode("utf-8"))
    return stream  # type: ignore[return-value]


def input_format_of(path: str, input_format: str | None = None) -> str | None:
    """The format an input is read as: the one asked for, else the file's suffix; None
    (detect: a JSON document, JSONL or YAML) for stdin and other names."""
    if input_format is not None:
        return input_format
    lower = path.lower()
    for suffix, fmt in _SUFFIX_FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    return None


def open_records(path: str, policy: Policy, input_format: str | None = None, *, allow_empty: bool = False,
                 stdin: IO | None = None) -> Records:
    """Open one input (`-` is stdin) for reading records. Raises RecordsError when it cannot
    be opened or its first bytes say it cannot be read (use as a context manager)."""
    fmt = input_format_of(path, input_format)
    if path == "-":
        fb, name, owned = _binary(stdin or sys.stdin), "<stdin>", False
    else:
        try:
            fb, name, owned = open(path, "rb"), path, True
        except FileNotFoundError:
            raise RecordsError(path, "cannot read: no such file") from None
        except IsADirectoryError:
            raise RecordsError(path, "cannot read: is a directory, expected a file") from None
        except OSError as exc:
            raise RecordsError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        return Records(fb, name, policy, fmt, allow_empty, owned)
    except OSError as exc:  # while reading its first lines
        if owned:
            fb.close()
        raise RecordsError(name, f"cannot read: {exc.strerror or exc}") from None
    except BaseException:
        if owned:
            fb.close()
        raise


def read_records(path: str, policy: Policy, stdin: IO | None = None, *, input_format: str | None = None,
                 allow_empty: bool = False) -> Iterator[Record]:
    """Records from a path (`-` is stdin), or RecordsError (see `open_records`)."""
    with open_records(path, policy, input_format, allow_empty=allow_empty, stdin=stdin) as records:
        yield from records
