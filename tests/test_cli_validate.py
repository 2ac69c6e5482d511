"""`verdict validate` and `verdict schema` through click's CliRunner: exit codes, discovery,
--strict, atomic -o, and input errors as one line on stderr."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "fixtures" / "valid" / "minimal.yaml"
BROKEN = ROOT / "tests" / "fixtures" / "broken"
WARNINGS = ROOT / "tests" / "fixtures" / "warnings"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def checked_files(result) -> list[str]:
    return json.loads(result.stdout)["files"]


def errors(result) -> list[dict]:
    return [d for d in json.loads(result.stdout)["diagnostics"] if d["severity"] == "error"]


def test_repository_policies_are_valid(in_repo: None) -> None:
    result = run("validate", "policies/")
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["validate", "no/such/policy.yaml"], "verdict: no/such/policy.yaml: no such file"),
    (["validate", "policies/", "missing.yaml"], "verdict: missing.yaml: no such file"),
], ids=["missing-file", "missing-among-valid"])
def test_missing_file_is_an_input_error(in_repo: None, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"  # one line, no traceback
    assert result.stdout == ""


def test_folder_without_policies_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a policy")
    result = run("validate", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("verdict: no policy files found")
    assert "Traceback" not in result.output


def test_folder_is_walked_recursively(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    shutil.copy(MINIMAL, tmp_path / "top.yaml")
    (tmp_path / "a" / "second.yml").write_text(MINIMAL.read_text().replace("policy: mini", "policy: mini-2"))
    shutil.copy(BROKEN / "unknown-fact.yaml", deep / "broken.yaml")
    # skipped: hidden folders, test suites, other suffixes
    (tmp_path / ".git").mkdir()
    shutil.copy(MINIMAL, tmp_path / ".git" / "hidden.yaml")
    shutil.copy(MINIMAL, tmp_path / "top.test.yaml")
    (tmp_path / "readme.md").write_text("# policies")

    result = run("validate", "--format", "json", tmp_path)
    assert result.exit_code == 1, result.output
    assert checked_files(result) == sorted(str(p) for p in (tmp_path / "top.yaml", tmp_path / "a" / "second.yml",
                                                           deep / "broken.yaml"))
    [d] = errors(result)
    assert (d["code"], d["file"]) == ("unknown-fact", str(deep / "broken.yaml"))


def test_a_file_named_twice_is_checked_once(in_repo: None) -> None:
    result = run("validate", "--format", "json", "policies/", "policies/double11-coupon.yaml")
    assert result.exit_code == 0, result.output
    assert checked_files(result).count("policies/double11-coupon.yaml") == 1


def test_two_files_with_one_policy_id(tmp_path: Path) -> None:
    shutil.copy(MINIMAL, tmp_path / "a.yaml")
    shutil.copy(MINIMAL, tmp_path / "b.yaml")
    result = run("validate", "--format", "json", tmp_path)
    assert result.exit_code == 1
    [d] = errors(result)
    assert d["code"] == "policy-duplicate-id" and d["file"] == str(tmp_path / "b.yaml")
    assert (d["line"], d["column"], d["pointer"]) == (2, 9, "/policy")
    assert str(tmp_path / "a.yaml") in d["message"]


def test_strict_turns_warnings_into_errors(in_repo: None) -> None:
    path = "tests/fixtures/warnings/threshold-unused.yaml"
    lenient = run("validate", path)
    assert lenient.exit_code == 0, lenient.output
    assert "warning threshold-unused" in lenient.stdout
    strict = run("validate", "--strict", path)
    assert strict.exit_code == 1
    assert "error threshold-unused" in strict.stdout
    assert strict.stdout.endswith("1 file checked: 1 error, 0 warnings\n")


def test_strict_leaves_info_notes_alone(in_repo: None) -> None:
    result = run("validate", "--strict", "tests/fixtures/warnings/no-default.yaml")
    assert result.exit_code == 0, result.output
    assert "info no-default" in result.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit", "sarif", "codequality"])
def test_output_file_gets_exactly_what_stdout_would(in_repo: None, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    target.write_text("an older, longer report that must be replaced whole\n" * 50)
    shown = run("validate", "--format", fmt, "tests/fixtures/broken/unknown-fact.yaml")
    written = run("validate", "--format", fmt, "-o", target, "tests/fixtures/broken/unknown-fact.yaml")
    assert written.exit_code == shown.exit_code == 1
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == shown.stdout
    assert os.listdir(tmp_path) == [target.name]  # no temporary file left beside it


def test_output_file_is_untouched_when_the_write_fails(in_repo: None, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.txt"
    target.write_text("previous report\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("engine.io.files.os.replace", fail)
    result = run("validate", "-o", target, "policies/")
    assert result.exit_code == 2
    assert result.stderr == f"verdict: cannot write {target}: No space left on device\n"
    assert target.read_text() == "previous report\n"
    assert os.listdir(tmp_path) == ["report.txt"]


def test_output_into_a_missing_folder_is_an_input_error(in_repo: None, tmp_path: Path) -> None:
    result = run("validate", "-o", tmp_path / "nowhere" / "report.txt", "policies/")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"verdict: cannot write {tmp_path / 'nowhere' / 'report.txt'}: ")
    assert result.stderr.count("\n") == 1


def test_schema_prints_the_policy_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "verdict policy"


def test_schema_that_is_not_shipped_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> dict:
        raise FileNotFoundError(name)

    monkeypatch.setattr("engine.language.schema.validate.load_schema", missing)
    result = run("schema", "test")
    assert result.exit_code == 2
    assert result.stderr == "verdict: no `test` schema in this version of verdict\n"
