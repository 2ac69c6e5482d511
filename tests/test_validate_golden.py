"""Every diagnostic the loader and validator can emit, proven on a broken policy.

Each file in `tests/fixtures/broken/` is `tests/fixtures/valid/minimal.yaml` with one
mistake (its first line says which). For each, the table below names the error it must
produce and where; the whole rendered output is compared with
`tests/golden/diagnostics/<name>.txt` (`pytest --update-golden` rewrites those files).
`tests/fixtures/warnings/` does the same for findings that are not errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import golden

from engine.cli.main import main
from engine.io.policies import check_policy_file
from engine.language.source import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
BROKEN = "tests/fixtures/broken"
WARNINGS = "tests/fixtures/warnings"
VALID = "tests/fixtures/valid/minimal.yaml"
GOLDEN = ROOT / "tests" / "golden" / "diagnostics"

# (fixture, code of the first error, its line, its column)
BROKEN_CASES = [
    # -- loading: bytes, YAML syntax and the YAML features policies refuse --
    ("not-utf8", "not-utf8", 4, 11),
    ("empty-file", "empty-file", 1, 1),
    ("template-unknown-name-in-reason", "template-unknown-name", 26, 21),
    ("template-spaces", "template-syntax", 38, 16),
    ("adverse-default", "adverse-default", 19, 10),
    ("yaml-syntax-unclosed-flow", "yaml-syntax", 8, 13),
    ("yaml-syntax-tab-indent", "yaml-syntax", 9, 1),
    ("yaml-syntax-bad-indent", "yaml-syntax", 42, 6),
    ("yaml-syntax-colon-in-value", "yaml-syntax", 38, 20),
    ("yaml-syntax-two-documents", "yaml-syntax", 51, 1),
    ("yaml-control-character", "yaml-syntax", 41, 26),
    ("yaml-duplicate-key-threshold", "yaml-duplicate-key", 14, 3),
    ("yaml-anchor", "yaml-anchor", 7, 17),
    ("yaml-alias", "yaml-alias", 19, 10),
    ("yaml-merge-key", "yaml-merge-key", 10, 3),
    ("yaml-non-string-key", "yaml-non-string-key", 13, 3),
    ("yaml-non-finite", "yaml-non-finite", 12, 21),
    ("yaml-bad-scalar", "yaml-bad-scalar", 12, 21),
    ("yaml-tag-timestamp", "yaml-tag", 12, 21),
    ("yaml-tag-include", "yaml-tag", 21, 10),
    ("yaml-too-deep", "yaml-too-deep", 30, 372),
    ("yaml-number-too-long", "yaml-number-too-long", 12, 21),
    ("yaml-number-too-long-hex", "yaml-number-too-long", 12, 21),
    ("yaml-lone-surrogate", "yaml-lone-surrogate", 3, 8),
    ("policy-not-mapping", "policy-not-mapping", 2, 1),
    # -- the JSON Schema: shape --
    ("schema-unknown-key-typo", "schema-unknown-key", 11, 1),
    ("schema-unknown-key-operator", "schema-unknown-key", 34, 27),
    ("schema-missing-key", "schema-missing-key", 2, 1),
    ("schema-type-yes", "schema-type", 16, 27),
    ("schema-type-quoted-number", "schema-type", 7, 42),
    ("schema-enum", "schema-enum", 9, 18),
    ("schema-bad-name", "schema-bad-name", 8, 3),
    ("schema-pattern", "schema-pattern", 2, 9),
    ("schema-pattern-trailing-newline", "schema-pattern", 2, 9),
    ("schema-type-float-version", "schema-type", 3, 10),
    ("schema-empty", "schema-empty", 30, 11),
    ("schema-too-long", "schema-too-long", 34, 36),
    ("schema-range", "schema-range", 3, 10),
    # -- declarations: facts, thresholds, outcomes, outputs --
    ("fact-bad-default", "fact-bad-default", 9, 36),
    ("fact-range-empty", "fact-range-empty", 7, 42),
    ("fact-range-not-numeric", "fact-range-not-numeric", 8, 59),
    ("fact-range-not-integer", "fact-range-not-integer", 7, 42),
    ("fact-enum-not-string", "fact-enum-not-string", 7, 61),
    ("fact-enum-duplicate", "fact-enum-duplicate", 8, 58),
    ("fact-reserved-name", "fact-reserved-name", 10, 3),
    ("threshold-reserved-name", "threshold-reserved-name", 13, 3),
    ("threshold-shadows-fact", "threshold-shadows-fact", 13, 3),
    ("threshold-mixed-list", "threshold-mixed-list", 13, 17),
    ("outcome-duplicate", "outcome-duplicate", 18, 5),
    ("default-unknown-outcome", "default-unknown-outcome", 19, 10),
    ("output-bad-default", "output-bad-default", 22, 41),
    ("output-bad-combine", "output-bad-combine", 23, 46),
    # -- conditions --
    ("unknown-fact", "unknown-fact", 34, 12),
    ("unknown-threshold", "unknown-threshold", 34, 31),
    ("unknown-threshold-list", "unknown-threshold", 41, 29),
    ("operator-type-mismatch-gt-string", "operator-type-mismatch", 41, 43),
    ("operator-type-mismatch-in-boolean", "operator-type-mismatch", 30, 21),
    ("operand-type-mismatch", "operand-type-mismatch", 30, 20),
    ("operand-type-mismatch-literal", "operand-type-mismatch", 41, 47),
    ("operand-type-mismatch-list-threshold", "operand-type-mismatch", 34, 31),
    ("threshold-type-mismatch-quoted", "operand-type-mismatch", 12, 3),
    ("enum-value-unknown", "enum-value-unknown", 41, 47),
    ("threshold-out-of-range", "threshold-out-of-range", 34, 31),
    ("value-out-of-range", "value-out-of-range", 34, 31),
    ("between-empty", "between-empty", 34, 36),
    ("ambiguous-operand", "ambiguous-operand", 42, 31),
    ("unknown-outcome-condition", "unknown-outcome", 49, 28),
    ("unknown-flag", "unknown-flag", 49, 46),
    ("unknown-rule", "unknown-rule", 49, 46),
    # -- rules and what they conclude --
    ("rule-duplicate-id", "rule-duplicate-id", 33, 9),
    ("unknown-outcome", "unknown-outcome", 31, 21),
    ("unknown-reason", "unknown-reason", 31, 37),
    ("adverse-without-reason", "adverse-without-reason", 31, 11),
    ("template-unknown-name", "template-unknown-name", 38, 16),
    ("template-syntax", "template-syntax", 38, 16),
    ("unknown-output", "unknown-output", 50, 18),
    ("output-type-mismatch", "output-type-mismatch", 50, 31),
    ("output-conflict", "output-conflict", 54, 18),
    ("dependency-cycle-flags", "dependency-cycle", 45, 12),
    ("dependency-cycle-rules", "dependency-cycle", 49, 40),
    ("dependency-cycle-outcome", "dependency-cycle", 49, 19),
    ("lint-ignore-not-applicable", "lint-ignore-not-applicable", 35, 21),
]

# One mistake, one error: a list threshold mixing types is reported at its declaration,
# and the rules comparing a fact with it are that error's related locations.
ERROR_COUNT: dict[str, int] = {}

# (fixture, code, severity, line, column): valid policies with one finding that is not an error
WARNING_CASES = [
    ("threshold-unused", "threshold-unused", "warning", 13, 3),
    ("fact-unused", "fact-unused", "warning", 10, 3),
    ("outcome-never-decided", "outcome-never-decided", "warning", 18, 5),
    ("message-missing-language", "message-missing-language", "warning", 38, 7),
    ("message-never-shown", "message-never-shown", "warning", 52, 7),
    ("no-default", "no-default", "info", 15, 1),
]

# Codes that are proven elsewhere, or cannot be reached through a file
OTHER_CODES = {
    "file-too-large": "test_file_too_large below",
    "unreadable": "tests/test_cli_validate.py",
    "policy-duplicate-id": "tests/test_cli_validate.py",
    "schema-invalid": "fallback for schema keywords the policy schema does not use",
    # the language v2 checks (issue 13): a table of one-mistake policies with golden messages
    **{code: "tests/test_v2_lang.py" for code in (
        "date-invalid", "fact-with-time-not-numeric", "timezone-unknown", "output-not-numeric",
        "expr-malformed", "expr-unknown-name", "expr-ambiguous-name", "expr-operand-type", "expr-div-by-zero",
        "output-out-of-range", "output-may-leave-range", "output-range-empty", "output-not-integral",
        "expr-optional-fact", "template-format-type")},
    # the language v3 checks (issue 15): list facts, string operators, derived facts
    **{code: "tests/test_v3_lang.py" for code in ("array-shape", "name-clash", "operand-empty-string",
                                                                   "derived-unused")},
    # decision tables (issue 15)
    **{code: "tests/test_v3_tables.py" for code in (
        "table-cell-syntax", "table-cell-comparisons", "table-cell-empty", "table-duplicate-id",
        "table-unknown-input", "table-unknown-output", "table-duplicate-column", "table-row-length",
        "table-bad-row-id", "table-priority-needs-outcome", "table-collect-needs-combine", "table-collect-outcome",
        "table-csv-path", "table-csv-unreadable", "table-csv-syntax", "table-csv-header")},
}


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative paths in, relative paths out: golden files do not depend on the checkout.
    monkeypatch.chdir(ROOT)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def diagnostics(path: str, *options: str) -> list[dict]:
    result = run("validate", "--format", "json", *options, path)
    return json.loads(result.stdout)["diagnostics"]


@pytest.mark.parametrize("name,code,line,column", BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES])
def test_broken_policy(name: str, code: str, line: int, column: int, request: pytest.FixtureRequest) -> None:
    path = f"{BROKEN}/{name}.yaml"
    result = run("validate", path)
    assert result.exit_code == 1, result.output
    assert result.stderr == ""
    errors = [d for d in diagnostics(path) if d["severity"] == "error"]
    assert errors, result.output
    first = errors[0]
    assert (first["code"], first["line"], first["column"]) == (code, line, column), result.output
    assert len(errors) == ERROR_COUNT.get(name, 1), result.output
    golden(GOLDEN / f"{name}.txt", result.stdout, request)


@pytest.mark.parametrize("name,code,severity,line,column", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_questionable_policy(name: str, code: str, severity: str, line: int, column: int,
                             request: pytest.FixtureRequest) -> None:
    path = f"{WARNINGS}/{name}.yaml"
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    # The validator's findings exactly (the CLI adds static analysis, which the golden file shows).
    policy, found = check_policy_file(path)
    assert policy is not None
    assert [(d.code, d.severity, d.line, d.column) for d in found] == [(code, severity, line, column)]
    golden(GOLDEN / f"{name}.txt", result.stdout, request)
    # --strict makes a warning fail the run; an info note never does.
    strict = run("validate", "--strict", path)
    assert strict.exit_code == (1 if severity == "warning" else 0), strict.output


def test_base_policy_is_clean() -> None:
    """The fixtures' common ancestor has no finding, so each fixture shows only its mistake."""
    policy, found = check_policy_file(VALID)
    assert policy is not None and found == []
    result = run("validate", "--strict", VALID)
    assert result.exit_code == 0, result.output


def test_file_too_large(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * (MAX_BYTES // 10 + 1))
    result = run("validate", "--format", "json", str(big))
    assert result.exit_code == 1, result.output
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["code"], d["line"], d["column"]) == ("file-too-large", 0, 0)
    assert str(MAX_BYTES) in d["message"]


def test_every_fixture_has_a_row_and_every_golden_file_a_fixture() -> None:
    broken = {p.stem for p in (ROOT / BROKEN).glob("*.yaml")}
    warnings = {p.stem for p in (ROOT / WARNINGS).glob("*.yaml")}
    assert broken == {c[0] for c in BROKEN_CASES}
    assert warnings == {c[0] for c in WARNING_CASES}
    assert len(broken) >= 35
    assert {p.stem for p in GOLDEN.glob("*.txt")} == broken | warnings


_CODE_LITERAL = re.compile(r'(?:Diagnostic|_located|report|_rule_diag)\(\s*(?:[a-z_.]+,\s*[a-z_.]+,\s*)?"([a-z0-9-]+)"')


_CODE_CHOICE = re.compile(r'\bcode = "([a-z0-9-]+)" if .* else "([a-z0-9-]+)"')


def _emitted_codes() -> set[str]:
    """Every diagnostic code written as a literal in the loading and validation modules."""
    codes: set[str] = set()
    for module in sorted([*(ROOT / "engine" / "language").rglob("*.py"), *(ROOT / "engine" / "cli").rglob("*.py")]):
        text = module.read_text("utf-8")
        codes |= set(_CODE_LITERAL.findall(text))
        codes |= {c for pair in _CODE_CHOICE.findall(text) for c in pair}
    return codes


def test_every_code_is_covered() -> None:
    emitted = _emitted_codes()
    assert {"yaml-syntax", "unknown-fact", "dependency-cycle", "threshold-unused"} <= emitted  # the scan works
    covered = {c[1] for c in BROKEN_CASES} | {c[1] for c in WARNING_CASES} | set(OTHER_CODES)
    assert emitted - covered == set(), "add a fixture (or an OTHER_CODES entry) for these codes"


_ACRONYM = re.compile(r"^[A-Z0-9.]+\b")


@pytest.mark.parametrize("folder", [BROKEN, WARNINGS])
def test_messages_follow_the_style_guide(folder: str) -> None:
    """Cedar style: lowercase (an acronym may lead), no final period, one line."""
    result = run("validate", "--format", "json", folder)
    for d in json.loads(result.stdout)["diagnostics"]:
        for text in filter(None, (d["message"], d.get("hint"))):
            where = f"{d['file']}: {d['code']}: {text!r}"
            assert "\n" not in text, where
            assert not text.endswith("."), where
            assert not text[0].isupper() or _ACRONYM.match(text), where
        assert d["line"] >= 1 and d["column"] >= 1, d
