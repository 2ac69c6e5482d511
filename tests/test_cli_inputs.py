"""The input edge: the documented limits on facts (per record, per document, nesting,
integer length) as one located line each, streaming in bounded memory (an endless input
still yields records), empty inputs, stdin formats, integral numerals agreeing across
JSON, CSV and YAML, and the wording of record errors."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.common import EXIT_INPUT, EXIT_OK
from engine.cli.main import main
from engine.io import records as R
from engine.io.policies import load_policy
from engine.io.records import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_INT_DIGITS, MAX_RECORD_BYTES, read_records

ROOT = Path(__file__).resolve().parent.parent
D11 = "policies/double11-coupon.yaml"
POLICY = load_policy(ROOT / D11)
GOLD = json.loads((ROOT / "examples" / "user-gold.json").read_text(encoding="utf-8"))
GOLD_CSV_HEADER = ",".join(GOLD)
GOLD_CSV_ROW = ",".join(("true" if v else "false") if isinstance(v, bool) else str(v) for v in GOLD.values())


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def records_of(data: bytes | str, name: str = "in.jsonl", **kw) -> list[tuple]:
    """(label, error or the record's keys) for each record, or the RecordsError's text."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        return [(r.label, r.error or sorted(r.data)) for r in
                read_records("-", POLICY, stdin=io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"),
                             input_format=R.input_format_of(name, kw.pop("input_format", None)), **kw)]
    except R.RecordsError as exc:
        return [("fatal", str(exc).replace("<stdin>", name))]


# -- limits: one located line each; a record over a limit is skippable where its end is known

DEEP = "[" * 100_000 + "]" * 100_000
LONG_CELL = "x" * 200_000  # over csv's own 131,072-character field limit
HUGE_INT = "9" * 5000
OVER = "a" * (MAX_RECORD_BYTES + 10)
LINE = json.dumps(GOLD)

LIMIT_CASES = [
    ("jsonl: deep nesting", "in.jsonl", f'{{"x": {DEEP}}}\n{LINE}\n',
     [("<stdin>:1", f"nested deeper than the limit of {MAX_DEPTH} levels"), ("<stdin>:2", sorted(GOLD))]),
    ("json: a deep document", "in.json", DEEP, [("fatal", f"in.json[0]: nested deeper than the limit of "
                                                          f"{MAX_DEPTH} levels")]),
    ("json array: a deep element, then a good one", "in.json", f'[{{"x": {"[" * 200}{"]" * 200}}}, {LINE}]',
     [("<stdin>[0]", f"nested deeper than the limit of {MAX_DEPTH} levels"), ("<stdin>[1]", sorted(GOLD))]),
    ("jsonl: a 5,000-digit integer", "in.jsonl", f'{{"credit_score": {HUGE_INT}}}\n{LINE}\n',
     [("<stdin>:1", f"invalid JSON: an integer is longer than the limit of {MAX_INT_DIGITS:,} digits"),
      ("<stdin>:2", sorted(GOLD))]),
    ("csv: a cell over 131,072 characters", "in.csv", f"membership,credit_score\n{LONG_CELL},700\ngold,700\n",
     [("<stdin>:2", ["credit_score", "membership"]), ("<stdin>:3", ["credit_score", "membership"])]),
    ("csv: a 5,000-digit integer", "in.csv", f"credit_score\n{HUGE_INT}\n700\n",
     [("<stdin>:2", f"fact `credit_score`: an integer is longer than the limit of {MAX_INT_DIGITS:,} digits"),
      ("<stdin>:3", ["credit_score"])]),
    ("csv: a row over the record limit", "in.csv", f"membership\n{OVER}\ngold\n",
     [("<stdin>:2", f"record larger than the limit of {MAX_RECORD_BYTES:,} bytes"), ("<stdin>:3", ["membership"])]),
    ("jsonl: a line over the record limit", "in.jsonl", f'{{"m": "{OVER}"}}\n{LINE}\n',
     [("<stdin>:1", f"record larger than the limit of {MAX_RECORD_BYTES:,} bytes"), ("<stdin>:2", sorted(GOLD))]),
    ("json: a document over the record limit", "in.json", f'{{\n"m": "{OVER}"}}\n',
     [("<stdin>", f"record larger than the limit of {MAX_RECORD_BYTES:,} bytes")]),
    ("yaml: a document over its limit", "in.yaml", "a: " + "b" * MAX_DOCUMENT_BYTES + "\n",
     [("fatal", f"in.yaml: larger than the limit of {MAX_DOCUMENT_BYTES:,} bytes for a YAML document "
                "(use JSONL or CSV, which are streamed)")]),
    ("jsonl: a line that is not UTF-8", "in.jsonl", b'{"membership": "\xff"}\n' + LINE.encode() + b"\n",
     [("<stdin>:1", "not UTF-8: invalid start byte at column 17"), ("<stdin>:2", sorted(GOLD))]),
    ("csv: a row that is not UTF-8", "in.csv", b"membership\n\xffgold\ngold\n",
     [("<stdin>:2", "not UTF-8: invalid start byte at column 1"), ("<stdin>:3", ["membership"])]),
    ("binary zeros", "in", b"\0" * (MAX_RECORD_BYTES + 10),
     [("fatal", "in:1: binary data (NUL bytes), not a facts file")]),
]


@pytest.mark.parametrize("name, data, expected", [c[1:] for c in LIMIT_CASES], ids=[c[0] for c in LIMIT_CASES])
def test_limits_are_one_located_line(name: str, data, expected: list) -> None:
    assert records_of(data, name) == expected


def test_limits_through_the_cli_skip_and_go_on(tmp_path: Path) -> None:
    src = tmp_path / "u.csv"
    src.write_text(f"{GOLD_CSV_HEADER},note\n{GOLD_CSV_ROW},{LONG_CELL}\n{GOLD_CSV_ROW},ok\n", encoding="utf-8")
    r = run("eval", "-p", D11, "--on-error", "skip", src)
    assert r.exit_code == EXIT_OK and len(r.stdout.splitlines()) == 2 and "Traceback" not in r.output
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP, encoding="utf-8")
    r = run("eval", "-p", D11, deep)
    assert (r.exit_code, r.stderr) == (EXIT_INPUT, f"verdict: {deep}[0]: nested deeper than the limit of "
                                                   f"{MAX_DEPTH} levels\n")


@pytest.mark.parametrize("fmt", [None, "jsonl", "csv", "yaml"])
def test_dev_zero_is_refused_in_bounded_memory(fmt) -> None:
    with pytest.raises(R.RecordsError, match=r"^/dev/zero(:1)?: (binary data \(NUL bytes\), not a facts file|"
                                             r"larger than the limit)"):
        list(read_records("/dev/zero", POLICY, input_format=fmt))


class _Endless(io.RawIOBase):
    """An input that never ends: `head` once, then `unit` forever. Reading it whole would
    never return; a streaming reader yields records from it."""

    def __init__(self, head: bytes, unit: bytes):
        self._chunks = itertools.chain([head], itertools.repeat(unit * 50))
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._pending:
            self._pending = next(self._chunks)
        n = min(len(b), len(self._pending))
        b[:n], self._pending = self._pending[:n], self._pending[n:]
        return n


@pytest.mark.parametrize("fmt, head, unit", [
    ("json", b"[" + LINE.encode(), b", " + LINE.encode()),
    ("json", b"[\n  " + LINE.encode(), b",\n  " + LINE.encode()),
    (None, b"", LINE.encode() + b"\n"),  # JSON lines on stdin, told by content
    ("jsonl", b"", LINE.encode() + b"\n"),
    ("csv", GOLD_CSV_HEADER.encode() + b"\n", GOLD_CSV_ROW.encode() + b"\n"),
], ids=["json-array", "json-array-pretty", "detected-jsonl", "jsonl", "csv"])
def test_streams_are_read_incrementally(fmt, head: bytes, unit: bytes) -> None:
    stream = io.BufferedReader(_Endless(head, unit))
    with R.open_records("-", POLICY, fmt, stdin=stream) as source:
        assert source.stream
        got = list(itertools.islice(source, 20_000))
    assert len(got) == 20_000 and all(r.error is None and r.data == GOLD for r in got)


# -- empty inputs: an error naming the file, unless --allow-empty ------------------------------

EMPTY = {"empty.csv": "", "header-only.csv": GOLD_CSV_HEADER + "\n", "empty.jsonl": "",
         "blank.jsonl": "\n  \n", "empty-list.json": "[]", "empty.json": "", "empty-list.yaml": "[]\n",
         "comments.yaml": "# nothing\n"}


def _empty_commands(path: Path) -> dict[str, list]:
    return {"eval": ["eval", "-p", D11, path], "explain": ["explain", "-p", D11, path],
            "diff --facts": ["diff", "--facts", path, D11, D11]}


@pytest.mark.parametrize("command", ["eval", "explain", "diff --facts"])
@pytest.mark.parametrize("name", list(EMPTY))
def test_an_input_without_records_is_an_input_error(tmp_path: Path, name: str, command: str) -> None:
    src = tmp_path / name
    src.write_text(EMPTY[name], encoding="utf-8")
    args = _empty_commands(src)[command]
    r = run(*args)
    assert r.exit_code == EXIT_INPUT, r.output
    assert r.stderr == (f"verdict: {src}: no records (an empty file, a CSV header alone, or an empty list); "
                        "--allow-empty accepts it\n")
    r = run(*args[:1], "--allow-empty", *args[1:])
    assert r.exit_code == EXIT_OK, r.output


def test_empty_stdin_too() -> None:
    r = run("eval", "-p", D11, "-", input="")
    assert (r.exit_code, r.stderr) == (EXIT_INPUT, "verdict: <stdin>: no records (an empty file, a CSV header "
                                                   "alone, or an empty list); --allow-empty accepts it\n")


# -- stdin: the format told by content, or by --input-format; a stream gives JSON lines -------

def test_jsonl_on_stdin_prints_one_line_per_record() -> None:
    r = run("eval", "-p", D11, "-", input="".join(LINE + "\n" for _ in range(5)))
    assert r.exit_code == EXIT_OK, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 5 and all(json.loads(x)["outcome"] == "gold" for x in lines)
    assert "5 decisions: gold 5" in r.stderr


@pytest.mark.parametrize("fmt, text", [
    (None, json.dumps(GOLD, indent=2)),  # one pretty JSON document: one record
    (None, LINE + "\n"),
    ("json", json.dumps(GOLD)),
    ("yaml", "\n".join(f"{k}: {json.dumps(v)}" for k, v in GOLD.items())),
    (None, "\n".join(f"{k}: {json.dumps(v)}" for k, v in GOLD.items())),
])
def test_one_record_on_stdin_prints_pretty_json(fmt, text: str) -> None:
    r = run("eval", "-p", D11, *(["--input-format", fmt] if fmt else []), "-", input=text)
    assert r.exit_code == EXIT_OK, r.output
    assert r.stdout.startswith("{\n") and json.loads(r.stdout)["outcome"] == "gold" and r.stderr == ""


@pytest.mark.parametrize("fmt, text", [
    ("csv", f"{GOLD_CSV_HEADER}\n{GOLD_CSV_ROW}\n{GOLD_CSV_ROW}\n"),
    (None, json.dumps([GOLD, GOLD], indent=2)),
    ("jsonl", LINE + "\n" + LINE + "\n"),
    (None, f"- {json.dumps(GOLD)}\n- {json.dumps(GOLD)}\n"),
], ids=["csv", "json-array", "jsonl", "yaml-list"])
def test_a_stream_on_stdin_prints_json_lines(fmt, text: str) -> None:
    r = run("eval", "-p", D11, *(["--input-format", fmt] if fmt else []), "-", input=text)
    assert r.exit_code == EXIT_OK, r.output
    assert [json.loads(x)["outcome"] for x in r.stdout.splitlines()] == ["gold", "gold"]
    assert "2 decisions: gold 2" in r.stderr


def test_input_format_overrides_the_suffix(tmp_path: Path) -> None:
    src = tmp_path / "export.txt"
    src.write_text(f"{GOLD_CSV_HEADER}\n{GOLD_CSV_ROW}\n", encoding="utf-8")
    assert run("eval", "-p", D11, src).exit_code == EXIT_INPUT  # YAML by content: not a record
    r = run("eval", "-p", D11, "--input-format", "csv", src)
    assert r.exit_code == EXIT_OK and json.loads(r.stdout)["outcome"] == "gold"


def test_a_json_list_file_is_a_stream(tmp_path: Path) -> None:
    src = tmp_path / "users.json"
    src.write_text(json.dumps([GOLD, GOLD]), encoding="utf-8")
    r = run("eval", "-p", D11, src)
    assert len(r.stdout.splitlines()) == 2 and "2 decisions" in r.stderr


# -- integral numerals mean the same in every input format ------------------------------------

@pytest.mark.parametrize("numeral", ["700", "700.0", "7e2", "7E2", "7.0e2", "70000e-2"])
def test_integral_numerals_are_integers_in_every_format(tmp_path: Path, numeral: str) -> None:
    facts = {**GOLD, "credit_score": "@"}
    body = json.dumps(facts).replace('"@"', numeral)
    inputs = {"in.json": body, "in.jsonl": body + "\n",
              "in.csv": GOLD_CSV_HEADER + "\n" + GOLD_CSV_ROW.replace("720", numeral, 1) + "\n",
              "in.yaml": "\n".join(f"{k}: {numeral if k == 'credit_score' else json.dumps(v)}"
                                   for k, v in GOLD.items()) + "\n"}
    outs = set()
    for name, text in inputs.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = run("eval", "-p", D11, "--explain", "--format", "jsonl", tmp_path / name)
        assert r.exit_code == EXIT_OK, (name, r.output)
        actual = json.loads(r.stdout)["facts"]["credit_score"]
        assert actual == 700 and type(actual) is int, (name, actual)
        outs.add(r.stdout)
    assert len(outs) == 1  # byte-identical decisions, whatever the format


@pytest.mark.parametrize("numeral", ["700.5", "7.005e2"])
def test_a_fractional_numeral_is_refused_for_an_integer_fact_in_every_format(tmp_path: Path, numeral: str) -> None:
    for name, text in {"in.jsonl": json.dumps({**GOLD, "credit_score": "@"}).replace('"@"', numeral) + "\n",
                       "in.csv": GOLD_CSV_HEADER + "\n" + GOLD_CSV_ROW.replace("720", numeral, 1) + "\n"}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = run("eval", "-p", D11, tmp_path / name)
        assert r.exit_code == EXIT_INPUT and "credit_score" in r.stderr and "integer" in r.stderr, (name, r.stderr)


def test_an_integral_numeral_beyond_a_float_stays_exact() -> None:
    assert R.parse_json('{"n": 12345678901234567891.0}') == {"n": 12345678901234567891}
    assert R.cell_converter(POLICY, "credit_score")("12345678901234567891.0") == 12345678901234567891
    assert R.parse_json('{"n": 1e400}') == {"n": float("inf")}  # refused later as not finite
    assert R.parse_json('{"n": 0.5}') == {"n": 0.5}


# -- wording of record errors ----------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ('{"credit_score": 7', "invalid JSON at column 19: Expecting ',' delimiter (the record ends early)"),
    ('{"credit_score": "ab', "invalid JSON at column 18: Unterminated string starting at"),
    ('{"credit_score": 700,', "invalid JSON at column 22: Expecting property name enclosed in double quotes "
                              "(the record ends early)"),
    ('{"a": 1 "b": 2}', "invalid JSON at column 9: Expecting ',' delimiter"),
    ("[1,2,3]", "a record must be an object of fact names to values, got an array"),
    ('"gold"', "a record must be an object of fact names to values, got a string"),
    ("null", "a record must be an object of fact names to values, got null"),
    ('{"a": 1, "a": 2}', "invalid JSON: duplicate key `a`"),
    ('{"a": NaN}', "invalid JSON: `NaN` is not a valid number"),
])
@pytest.mark.parametrize("id_field", [None, "user_id"])
def test_jsonl_line_errors_say_where_and_what(tmp_path: Path, line: str, message: str, id_field) -> None:
    src = tmp_path / "u.jsonl"
    src.write_text(line + "\n", encoding="utf-8")
    r = run("eval", "-p", D11, *(["--id", id_field] if id_field else []), src)
    assert r.exit_code == EXIT_INPUT
    assert r.stderr.splitlines()[0] == f"verdict: {src}:1: {message}"


def test_explain_shows_the_undeclared_fact_warning_once_on_stderr(tmp_path: Path) -> None:
    src = tmp_path / "u.json"
    src.write_text(json.dumps({**GOLD, "nickname": "x"}), encoding="utf-8")
    for fmt in ("text", "markdown"):
        r = run("explain", "-p", D11, "--format", fmt, src)
        assert r.exit_code == EXIT_OK
        assert "nickname" not in r.stdout
        assert r.stderr == f"verdict: warning: {src}: undeclared fact `nickname` ignored\n"


# -- the documentation lists the limits the code enforces -----------------------------------

def test_docs_list_every_input_limit_with_its_value() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Input limits"):]
    for name in ("MAX_RECORD_BYTES", "MAX_DOCUMENT_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS"):
        value = getattr(R, name)
        row = next((ln for ln in section.splitlines() if f"`{name}`" in ln), None)
        assert row is not None, f"docs/cli.md: no row for {name}"
        assert re.search(rf"\b{value:,}\b|\b{value}\b", row), f"docs/cli.md: {name} is {value:,}: {row}"


def test_the_input_format_option_offers_what_the_readers_read() -> None:
    from engine.cli.eval import eval_cmd

    from engine.batch.inputs import BATCH_FORMATS

    option = next(p for p in eval_cmd.params if p.name == "input_format")
    # The native readers' formats, and Parquet, which the batch runner reads (docs/batch.md).
    assert tuple(option.type.choices) == R.INPUT_FORMATS + tuple(f for f in BATCH_FORMATS if f not in R.INPUT_FORMATS)


def test_a_yaml_error_after_blank_lines_is_located_on_its_line(tmp_path: Path) -> None:
    src = tmp_path / "u.yaml"
    src.write_text("\n\ncredit_score: 700\nmembership: [gold\n", encoding="utf-8")
    r = run("eval", "-p", D11, src)
    assert r.exit_code == EXIT_INPUT and r.stderr.startswith(f"verdict: {src}:5:1: ")
