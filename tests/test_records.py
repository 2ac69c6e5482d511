"""Reading records: CSV cells converted by the declared fact types, blank rows, labels, and
read errors that name the input."""

from __future__ import annotations

import errno
import io

import pytest

from engine.io.policies import load_policy
from engine.io.records import RecordsError, cell_converter, read_records

POLICY = load_policy("policies/double11-coupon.yaml")
INT, NUM, BOOL, STR = "credit_score", "monthly_spend", "frozen", "membership"


@pytest.mark.parametrize("fact, cell, expected", [
    (INT, "720", 720), (INT, " 720 ", 720), (INT, "-3", -3), (INT, "", None),
    (INT, "720.0", 720), (INT, "7e2", 700), (INT, "7E2", 700), (INT, "720.5", "`720.5` is not an integer"), (INT, "  ", "`  ` is not an integer"),
    (INT, "seven", "`seven` is not an integer"),
    (NUM, "2000", 2000), (NUM, "1999.99", 1999.99), (NUM, "1e3", 1000.0), (NUM, "1E3", 1000.0),
    (NUM, " 0.5 ", 0.5), (NUM, "", None), (NUM, "abc", "`abc` is not a number"),
    (NUM, "inf", "`inf` is not a number"), (NUM, "nan", "`nan` is not a number"),
    (NUM, "1e999", "`1e999` is not a finite number"), (NUM, "-1e999", "`-1e999` is not a finite number"),
    (NUM, "nan.0", "`nan.0` is not a number"),
    (BOOL, "true", True), (BOOL, " TRUE ", True), (BOOL, "yes", True), (BOOL, "1", True),
    (BOOL, "false", False), (BOOL, "No", False), (BOOL, "0", False), (BOOL, "", None),
    (BOOL, "maybe", "`maybe` is not a boolean (true/false)"),
    (STR, "gold", "gold"), (STR, " gold ", " gold "), (STR, "", None),
    ("not_a_fact", "x", "x"), ("not_a_fact", "", None),
])
def test_cells_convert_by_declared_type(fact, cell, expected):
    convert = cell_converter(POLICY, fact)
    if isinstance(expected, str) and expected.startswith("`"):
        with pytest.raises(ValueError) as exc:
            convert(cell)
        assert str(exc.value) == f"fact `{fact}`: {expected}"
    else:
        got = convert(cell)
        assert got == expected and type(got) is type(expected)


def test_csv_rows_labels_and_blank_lines(tmp_path):
    src = tmp_path / "u.csv"
    src.write_text("\ufeffcredit_score,frozen,note\n"
                   "700,false,a\n"
                   "\n"
                   " , ,\n"
                   ",,\n"
                   "701,maybe,b\n"
                   "702,true\n"
                   '703,true,"two\nlines"\n'
                   "704,false,c\n", encoding="utf-8")
    got = [(r.label.rsplit(":", 1)[1], r.data, r.error) for r in read_records(str(src), POLICY)]
    assert got == [
        ("2", {"credit_score": 700, "frozen": False, "note": "a"}, None),
        ("6", None, "fact `frozen`: `maybe` is not a boolean (true/false)"),
        ("7", None, "expected 3 columns, found 2"),
        ("9", {"credit_score": 703, "frozen": True, "note": "two\nlines"}, None),  # the line the record ends on
        ("10", {"credit_score": 704, "frozen": False, "note": "c"}, None),
    ]


class _FailingDisk(io.RawIOBase):
    """A file whose reads fail after `good` bytes (EIO: a bad disk, a network share gone)."""

    def __init__(self, good: bytes):
        self._good = good

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self._good:
            raise OSError(errno.EIO, "Input/output error")
        n = min(len(b), len(self._good))
        b[:n], self._good = self._good[:n], self._good[n:]
        return n


@pytest.mark.parametrize("fmt, good", [
    ("jsonl", b""), ("jsonl", b'{"credit_score": 700}\n'), ("csv", b"credit_score\n700\n"), (None, b""),
    ("json", b'[{"credit_score": 700}, '),
])
def test_a_read_error_is_a_records_error_naming_the_input(fmt, good: bytes) -> None:
    """Never a bare OSError, which a caller could take for a failure of its output."""
    with pytest.raises(RecordsError, match=r"^<stdin>: cannot read: Input/output error$"):
        list(read_records("-", POLICY, stdin=io.BufferedReader(_FailingDisk(good), 8), input_format=fmt))


@pytest.mark.parametrize("path, message", [
    ("no/such.jsonl", "no/such.jsonl: cannot read: no such file"),
    ("policies", "policies: cannot read: is a directory, expected a file"),
])
def test_an_input_that_cannot_be_opened(path: str, message: str) -> None:
    with pytest.raises(RecordsError) as exc:
        list(read_records(path, POLICY))
    assert str(exc.value) == message
