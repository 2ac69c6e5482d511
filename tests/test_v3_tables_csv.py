"""Decision-table rows from a CSV file beside the policy (issue 15): the same rules as
inline rows, diagnostics at the CSV's line and column, the path kept inside the policy's
folder, the CSV's bytes in the policy's digest."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.api import load_policy, load_policy_text
from engine.cli.main import main
from engine.errors import PolicyError
from engine.io.policies import check_policy_file
from engine.language.diagnostics import ERROR
from engine.language.loader import check_policy_bytes
from engine.language.model import Loc
from engine.language.csvrows import csv_records

POLICY = """\
policy: tiers
version: 1
facts:
  score: {type: integer, minimum: 300, maximum: 900}
  member: {type: string, enum: [none, silver, gold]}
  city: {type: string}
thresholds:
  prime: 750
outcomes: [approve, review]
default: review
outputs:
  coupon: {type: integer, default: 0}
  label: {type: string, default: none}
tables:
  - id: tier
    hit: first
    inputs: [score, member]
    outputs: [outcome, coupon]
    rows: {csv: tiers.csv}
"""

CSV = """\
score,member,outcome,coupon
[750..],gold,approve,100
">= prime","silver, gold",approve,50
[600..750),-,approve,20
-,-,-,0
"""

INLINE_ROWS = """    rows:
      - ["[750..]", gold, approve, 100]
      - [">= prime", "silver, gold", approve, 50]
      - ["[600..750)", "-", approve, 20]
      - ["-", "-", "-", 0]
"""


def write(folder: Path, policy: str = POLICY, csv: str | bytes = CSV, name: str = "tiers.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "p.yaml").write_text(policy, encoding="utf-8")
    if csv is not None:
        (folder / name).write_bytes(csv.encode("utf-8") if isinstance(csv, str) else csv)
    return folder / "p.yaml"


def errors(diags):
    return [d for d in diags if d.severity == ERROR]


def _shape(cond):
    """A condition with the leaves' locations dropped (inline and CSV rows differ only there)."""
    if dataclasses.is_dataclass(cond) and hasattr(cond, "loc") and hasattr(cond, "via"):
        return dataclasses.replace(cond, loc=None)
    if hasattr(cond, "items"):
        return type(cond)(tuple(_shape(c) for c in cond.items))
    return type(cond)(_shape(cond.item))


def test_csv_rows_compile_to_the_rules_inline_rows_do(tmp_path):
    policy, diags = check_policy_file(write(tmp_path))
    assert policy is not None, [d.render() for d in diags]
    inline, diags = check_policy_bytes(POLICY.replace("    rows: {csv: tiers.csv}\n", INLINE_ROWS).encode(), "q.yaml")
    assert inline is not None, [d.render() for d in diags]
    assert [(r.id, r.index, r.table, r.then) for r in policy.rules] == \
        [(r.id, r.index, r.table, r.then) for r in inline.rules]
    assert [_shape(r.when) for r in policy.rules] == [_shape(r.when) for r in inline.rules]
    [table] = policy.tables
    assert table.csv == "tiers.csv" and table.cells == inline.tables[0].cells
    name = str(tmp_path / "tiers.csv")
    # each cell where the CSV has it: line, column (the field's first character), pointer
    assert table.cell_locs[1] == (Loc(name, 3, 1, "/tables/0/rows/1/0"), Loc(name, 3, 12, "/tables/0/rows/1/1"),
                                  Loc(name, 3, 27, "/tables/0/rows/1/2"), Loc(name, 3, 35, "/tables/0/rows/1/3"))
    assert policy.rules[1].leaves[0].operand.threshold == "prime"
    assert policy.rules[0].loc == Loc(name, 2, 1, "/tables/0/rows/0")


BAD_CELLS = [
    # (the CSV's second line, code, line, column, message)
    ("[750..],gold,approve,lots", "expr-unknown-name", 2, 22, "`lots` is not a fact, threshold or earlier output"),
    ("[750..],platinum,approve,1", "enum-value-unknown", 2, 9,
     "`platinum` is not one of `member`'s values (none, silver, gold)"),
    ('"  >= 30, < 50",gold,approve,1', "table-cell-comparisons", 2, 1, "cell `>= 30, < 50` joins comparisons with a comma"),
    ("[750..],gold,aprove,1", "unknown-outcome", 2, 14, "outcome `aprove` is not declared in `outcomes`"),
    (">= nope,gold,approve,1", "unknown-threshold", 2, 1, "unknown threshold `nope`"),
    (",gold,approve,1", "table-cell-syntax", 2, 1, "the cell is empty"),
    ("[750..],gold,approve", "table-row-length", 2, 1, "row 1 of table `tier` has 3 cells, the table has 4 columns"),
    ("[750..],gold,approve,1,2", "table-row-length", 2, 1, "row 1 of table `tier` has 5 cells, the table has 4 columns"),
    ('[750..],"gold,approve,1', "table-csv-syntax", 2, 9, "a quoted field is not closed"),
    ('[750..],go"ld,approve,1', "table-csv-syntax", 2, 11, "a quote inside an unquoted field"),
    ('[750..],"gold"x,approve,1', "table-csv-syntax", 2, 15, "text after a quoted field's closing quote"),
]


@pytest.mark.parametrize("line, code, at_line, column, message", BAD_CELLS, ids=[c[1] + ":" + c[0] for c in BAD_CELLS])
def test_mistakes_in_the_csv_are_located_in_the_csv(tmp_path, line, code, at_line, column, message):
    path = write(tmp_path, csv="score,member,outcome,coupon\n" + line + "\n")
    policy, diags = check_policy_file(path)
    assert policy is None
    first = errors(diags)[0]
    assert (first.code, first.file, first.line, first.column, first.message) == \
        (code, str(tmp_path / "tiers.csv"), at_line, column, message), first.render()
    assert first.pointer.startswith("/tables/0/rows")


def test_a_cell_error_points_at_its_row_and_column_pointer(tmp_path):
    path = write(tmp_path, csv=CSV.replace("[600..750),-", "[600..750),nobody"))
    _, diags = check_policy_file(path)
    [d] = errors(diags)
    assert (d.line, d.column, d.pointer, d.rule) == (4, 12, "/tables/0/rows/2/1", "tier#3")


def test_a_quoted_field_stays_text(tmp_path):
    text = POLICY.replace("inputs: [score, member]", "inputs: [city]").replace("outputs: [outcome, coupon]",
                                                                              "outputs: [label]")
    policy, diags = check_policy_file(write(tmp_path, text, 'city,label\n"true",yes\n"600","-"\n'))
    assert policy is not None, [d.render() for d in diags]
    assert [r.leaves[0].operand.value for r in policy.rules] == ["true", "600"]
    assert [r.then.set for r in policy.rules] == [(("label", "yes"),), ()]
    # unquoted, `true` is a boolean: not a city
    _, diags = check_policy_file(write(tmp_path, text, "city,label\ntrue,yes\n"))
    [d] = errors(diags)
    assert (d.code, d.line, d.column) == ("operand-type-mismatch", 2, 1)


def test_expressions_in_csv_cells_are_their_flow_text(tmp_path):
    text = POLICY.replace("outputs: [outcome, coupon]", "outputs: [coupon]")
    policy, diags = check_policy_file(write(tmp_path, text, 'score,member,coupon\n-,gold,"{mul: [score, 2]}"\n'))
    assert policy is not None, [d.render() for d in diags]
    assert policy.outputs["coupon"].computed
    [(name, expr)] = policy.rules[0].then.set
    assert name == "coupon" and type(expr).__name__ == "Arith"


def test_header_checks(tmp_path):
    cases = [
        ("score,tier,outcome,coupon\n-,-,-,0\n", 1, 7, "header column 2 is `tier`, the table's column 2 is `member`"),
        ("score,member,outcome\n-,-,-\n", 1, 14, "the header names 3 columns, the table has 4"),
        ("score,member,outcome,coupon,x\n-,-,-,0,1\n", 1, 29, "header column 5 is `x`, the table's column 5 is "
         "no column"),
        ("score,member,outcome,coupon\n", 1, 1, "the rows file has a header but no rows"),
        ("\n\n", 1, 1, "the rows file is empty: it needs a header row naming the columns, then the rows"),
    ]
    for csv, line, column, message in cases:
        _, diags = check_policy_file(write(tmp_path, csv=csv))
        [d] = errors(diags)
        assert (d.code, d.line, d.column, d.message) == ("table-csv-header", line, column, message), csv


def test_an_id_column_comes_first_in_the_header(tmp_path):
    text = POLICY.replace("    hit: first\n", "    hit: first\n    id_column: true\n")
    policy, diags = check_policy_file(write(tmp_path, text, "id,score,member,outcome,coupon\ngold,-,gold,approve,9\n"
                                                            "rest,-,-,-,0\n"))
    assert policy is not None, [d.render() for d in diags]
    assert [r.id for r in policy.rules] == ["gold", "rest"]
    assert policy.tables[0].cell_locs[0][0].column == 6  # input cells only: the id is the rule's


def test_bom_crlf_blank_lines_and_line_breaks_in_quoted_fields(tmp_path):
    csv = '\ufeffscore,member,outcome,coupon\r\n\r\n"[750..]",gold,approve,100\r\n-,"silver,\r\ngold",approve,5\r\n-,-,-,0'
    policy, diags = check_policy_file(write(tmp_path, csv=csv))
    assert policy is not None, [d.render() for d in diags]
    assert [r.loc.line for r in policy.rules] == [3, 4, 6]
    assert policy.tables[0].cells[1] == ("-", "silver,\ngold")


def test_the_record_reader_counts_characters():
    assert csv_records('a,"é,""x"""\nüü,b') == [[("a", False, 1, 1), ('é,"x"', True, 1, 3)],
                                                  [("üü", False, 2, 1), ("b", False, 2, 4)]]


def test_not_utf8_is_located_in_the_csv(tmp_path):
    _, diags = check_policy_file(write(tmp_path, csv=b"score,member,outcome,coupon\n-,\xff,-,0\n"))
    [d] = errors(diags)
    assert (d.code, d.file, d.line, d.column) == ("not-utf8", str(tmp_path / "tiers.csv"), 2, 3)


# -- the path: relative, inside the policy's folder ----------------------------------------------

def _csv_key(text: str) -> tuple[int, int]:
    line = text.splitlines().index("    rows: {csv: tiers.csv}") + 1
    return line, 12


@pytest.mark.parametrize("path, message", [
    ("../tiers.csv", "rows file `../tiers.csv` leaves the policy's folder (`..`)"),
    ("sub/../../tiers.csv", "rows file `sub/../../tiers.csv` leaves the policy's folder (`..`)"),
    ("/etc/passwd", "rows file `/etc/passwd` is an absolute path"),
    ("C:\\\\x.csv", "rows file `C:\\x.csv` is an absolute path"),
    ("sub/", "rows file `sub/` names no file"),
])
def test_paths_that_leave_the_folder_are_refused_before_reading(tmp_path, path, message):
    text = POLICY.replace("{csv: tiers.csv}", f'{{csv: "{path}"}}')
    write(tmp_path.parent, csv=CSV)  # a tiers.csv one folder up, which must not be read
    _, diags = check_policy_file(write(tmp_path / "in", text, csv=None))
    [d] = errors(diags)
    assert (d.code, d.message, d.pointer) == ("table-csv-path", message, "/tables/0/rows/csv")


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text(CSV, encoding="utf-8")
    folder = tmp_path / "in"
    path = write(folder, csv=None)
    os.symlink(outside, folder / "tiers.csv")
    _, diags = check_policy_file(path)
    [d] = errors(diags)
    assert d.code == "table-csv-unreadable" and "leaves the policy's folder" in d.message
    assert (d.file, d.line, d.column) == (str(path), *_csv_key(POLICY))


def test_a_symlink_inside_the_folder_is_read(tmp_path):
    path = write(tmp_path, csv=CSV, name="real.csv")
    os.symlink(tmp_path / "real.csv", tmp_path / "tiers.csv")
    policy, diags = check_policy_file(path)
    assert policy is not None, [d.render() for d in diags]


def test_a_missing_csv_is_a_located_error_at_the_csv_key(tmp_path):
    path = write(tmp_path, csv=None)
    _, diags = check_policy_file(path)
    [d] = errors(diags)
    assert (d.code, d.message, d.file, d.line, d.column) == (
        "table-csv-unreadable", "rows file `tiers.csv`: no such file", str(path), *_csv_key(POLICY))
    (tmp_path / "tiers.csv").mkdir()
    _, diags = check_policy_file(path)
    assert errors(diags)[0].message == "rows file `tiers.csv`: is a directory, expected a file"


def test_policies_given_as_text_cannot_read_rows_files():
    with pytest.raises(PolicyError) as exc:
        load_policy_text(POLICY, "p.yaml")
    [d] = exc.value.diagnostics
    assert d.code == "table-csv-unreadable" and "given as text" in d.message


# -- the digest ------------------------------------------------------------------------------------

def test_the_csv_is_part_of_the_digest(tmp_path):
    path = write(tmp_path)
    first = load_policy(path).digest
    assert first == load_policy(path).digest
    (tmp_path / "tiers.csv").write_text(CSV.replace("100", "101"), encoding="utf-8")
    second = load_policy(path).digest
    assert second != first
    # the policy's own bytes still count, and alone they are not the digest
    assert second != "sha256:" + hashlib.sha256(POLICY.encode()).hexdigest()
    (tmp_path / "tiers.csv").write_text(CSV, encoding="utf-8")
    assert load_policy(path).digest == first


def test_verdict_validate_reports_in_the_csv(tmp_path):
    path = write(tmp_path, csv=CSV.replace("approve,20", "aprove,20"))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'tiers.csv'}:4:" in result.output and "unknown-outcome" in result.output
    path = write(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output


def test_a_csv_in_a_subfolder_is_named_beside_the_policy(tmp_path):
    text = POLICY.replace("{csv: tiers.csv}", "{csv: rows/tiers.csv}")
    write(tmp_path, text, csv=None)
    (tmp_path / "rows").mkdir()
    (tmp_path / "rows" / "tiers.csv").write_text(CSV.replace("approve,20", "aprove,20"), encoding="utf-8")
    _, diags = check_policy_file(tmp_path / "p.yaml")
    [d] = errors(diags)
    assert (d.file, d.line, d.code) == (str(tmp_path / "rows" / "tiers.csv"), 4, "unknown-outcome")
    (tmp_path / "rows" / "tiers.csv").write_text(CSV, encoding="utf-8")
    policy, diags = check_policy_file(tmp_path / "p.yaml")
    assert policy is not None and policy.tables[0].csv == "rows/tiers.csv"


def test_a_rows_file_over_the_size_limit_is_refused(tmp_path):
    from engine.language.source import MAX_BYTES

    path = write(tmp_path, csv="score,member,outcome,coupon\n" + "-,-,-,0\n" * (MAX_BYTES // 8 + 1))
    _, diags = check_policy_file(path)
    [d] = errors(diags)
    assert d.code == "table-csv-unreadable" and f"larger than the limit of {MAX_BYTES} bytes" in d.message


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FIELD = st.one_of(st.sampled_from(["-", ">= prime", "[600..700)", '"gold, silver"', "approve", "7", "", '"', '""',
                                    "not(gold)", ">= 30, < 50", "{fact: score}", "{", "[", "(..", "\u0000", "\ufeff",
                                    "é", "\r", "\n"]), st.text(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(_FIELD, min_size=1, max_size=5).map(",".join), max_size=4))
def test_any_rows_file_gives_located_diagnostics_never_a_traceback(tmp_path, lines):
    path = write(tmp_path, csv="score,member,outcome,coupon\n" + "\n".join(lines))
    policy, diags = check_policy_file(path)
    assert policy is not None or errors(diags)
    for d in diags:
        assert d.line >= 1 and d.column >= 1 and d.file, d.render()
