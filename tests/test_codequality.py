"""GitLab Code Quality reports (`verdict validate --format codequality`).

Checked against what GitLab's documentation requires of each issue
(https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format): a JSON
array of objects with a string `description`, `check_name` and `fingerprint` (unique in
the report), a `severity` among info/minor/major/critical/blocker, and a `location` with a
`path` relative to the repository root and a `lines.begin` line number.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import invoke_in

from engine.cli.main import main
from engine.explain.codequality import SEVERITIES, render_codequality
from engine.language.diagnostics import ERROR, INFO, WARNING, Diagnostic

ROOT = Path(__file__).resolve().parent.parent


def codequality(*args: object, cwd: Path = ROOT) -> list:
    result = invoke_in(cwd, ["validate", "--format", "codequality", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def findings(*paths: str) -> list[dict]:
    result = CliRunner().invoke(main, ["validate", "--format", "json", *paths])
    return [d for d in json.loads(result.stdout)["diagnostics"] if "suppressed" not in d]


def test_every_issue_has_what_gitlab_requires(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    issues = codequality("tests/fixtures", "policies")
    expected = findings("tests/fixtures", "policies")
    assert isinstance(issues, list) and len(issues) == len(expected) > 100
    for issue, d in zip(issues, expected):
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert all(isinstance(issue[k], str) and issue[k] for k in ("description", "check_name", "fingerprint"))
        assert issue["severity"] in SEVERITIES
        assert issue["check_name"] == d["code"] and issue["description"].startswith(d["message"])
        assert issue["location"]["path"] == d["file"]  # relative to the root, as typed here
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and begin == max(d["line"], 1)
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert {i["severity"] for i in issues} == {"major", "minor", "info"}


def test_paths_and_fingerprints_do_not_depend_on_the_working_folder(tmp_path: Path) -> None:
    from_root = codequality("policies")
    assert from_root == codequality("../policies", cwd=ROOT / "docs")
    assert from_root == codequality(ROOT / "policies", "--root", ROOT, cwd=tmp_path)
    assert all(i["location"]["path"].startswith("policies/") for i in from_root)


def test_severities_and_a_whole_file_finding() -> None:
    diags = [Diagnostic("empty-file", "file is empty", ERROR, "a.yaml"),
             Diagnostic("fact-unused", "unused", WARNING, "a.yaml", 3, 1),
             Diagnostic("gap", "gap", INFO, "a.yaml", 2, 1),
             Diagnostic("rule-subsumed", "kept", WARNING, "a.yaml", 4, 1, suppressed="on purpose")]
    issues = json.loads(render_codequality(diags, ["a.yaml"]))
    assert [(i["check_name"], i["severity"], i["location"]["lines"]["begin"]) for i in issues] == [
        ("empty-file", "major", 1), ("gap", "info", 2), ("fact-unused", "minor", 3)]  # acknowledged: left out


def test_an_empty_report_is_an_empty_array(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert codequality("tests/fixtures/valid/minimal.yaml") == []
