"""`verdict validate` in CI and pre-commit: the severity filter, --quiet, --max-warnings,
colour, and recognising the files a hook passes (docs/cli.md, "validate")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.cli.validate import TEST_SUFFIXES
from engine.explain.report import use_colour

ROOT = Path(__file__).resolve().parent.parent
WARNING_FIXTURE = "tests/fixtures/warnings/threshold-unused.yaml"  # one warning
INFO_FIXTURE = "tests/fixtures/warnings/no-default.yaml"  # one info note
ERROR_FIXTURE = "tests/fixtures/broken/unknown-fact.yaml"  # one error
ESC = "\033["


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def run(*args: object, env: dict | None = None):
    return CliRunner().invoke(main, ["validate", *map(str, args)], env=env)


# -- the severity filter and --quiet -------------------------------------------------------------

def test_severity_warning_hides_notes_in_every_format_but_counts_them() -> None:
    full = run("policies/")
    # 12 gaps where no rule decides, and 5 where no row of the Double 11 tiers table applies
    assert full.exit_code == 0 and full.stdout.count(" info gap: ") == 17
    quiet = run("--severity", "warning", "policies/")
    assert quiet.exit_code == 0
    assert quiet.stdout == "5 files checked: 0 errors, 0 warnings, 3 acknowledged (17 below --severity not shown)\n"
    assert "::notice" not in run("--severity", "warning", "--format", "github", "policies/").stdout
    sarif = json.loads(run("--severity", "warning", "--format", "sarif", "policies/").stdout)
    assert {r["level"] for r in sarif["runs"][0]["results"]} <= {"warning"}  # the acknowledged one stays
    issues = json.loads(run("--severity", "warning", "--format", "codequality", "policies/").stdout)
    assert issues == []
    doc = json.loads(run("--quiet", "--format", "json", WARNING_FIXTURE).stdout)
    assert doc["diagnostics"] == [] and doc["warnings"] == 1  # listed: what is shown; counted: everything


def test_quiet_shows_only_errors_and_the_summary() -> None:
    result = run("-q", ERROR_FIXTURE, "policies/")
    assert result.exit_code == 1
    blocks = [ln for ln in result.stdout.splitlines() if not ln.startswith(" ")]
    assert blocks == [f"{ERROR_FIXTURE}:34:12: error unknown-fact: unknown fact `credit_scor`",
                      "6 files checked: 1 error, 0 warnings, 3 acknowledged (17 below --severity not shown)"]
    warned = run("-q", WARNING_FIXTURE)
    assert warned.stdout == "1 file checked: 0 errors, 1 warning (1 below --severity not shown)\n"
    assert run("--quiet", "--severity", "info", WARNING_FIXTURE).stdout.startswith("1 file checked")


def test_hidden_findings_still_decide_the_exit_code() -> None:
    # --strict keeps its meaning: the warning becomes an error, and so is shown by --quiet.
    strict = run("--quiet", "--strict", WARNING_FIXTURE)
    assert strict.exit_code == 1 and "error threshold-unused" in strict.stdout
    assert run("--quiet", WARNING_FIXTURE).exit_code == 0
    # --max-warnings counts warnings that the display left out.
    over = run("--quiet", "--max-warnings", "0", WARNING_FIXTURE)
    assert over.exit_code == 1 and over.stdout.startswith("1 file checked: 0 errors, 1 warning")
    assert "verdict: 1 warning, more than --max-warnings 0" in over.stderr


def test_max_warnings() -> None:
    assert run("--max-warnings", "1", WARNING_FIXTURE).exit_code == 0
    assert run("--max-warnings", "0", WARNING_FIXTURE).exit_code == 1
    assert run("--max-warnings", "0", INFO_FIXTURE).exit_code == 0  # a note is not a warning
    assert run("--max-warnings", "0", "policies/").exit_code == 0  # an acknowledged warning is not counted
    assert run("--max-warnings", "-1", WARNING_FIXTURE).exit_code == 2


# -- colour --------------------------------------------------------------------------------------

class Tty:
    def isatty(self) -> bool:
        return True


def test_colour_follows_the_terminal_and_the_conventions() -> None:
    assert use_colour(Tty(), {}) is True
    assert use_colour(object(), {}) is False
    assert use_colour(Tty(), {"NO_COLOR": "1"}) is False
    assert use_colour(Tty(), {"NO_COLOR": ""}) is True  # set but empty: no effect
    assert use_colour(object(), {"FORCE_COLOR": "1"}) is True
    assert use_colour(object(), {"FORCE_COLOR": "0"}) is False
    assert use_colour(Tty(), {"NO_COLOR": "1", "FORCE_COLOR": "1"}) is False


def test_forced_colour_paints_only_the_text_format(tmp_path: Path) -> None:
    forced = run(WARNING_FIXTURE, env={"FORCE_COLOR": "1"})
    assert f"{ESC}33mwarning{ESC}0m threshold-unused:" in forced.stdout
    assert ESC not in run(WARNING_FIXTURE).stdout  # not a terminal
    assert ESC not in run(WARNING_FIXTURE, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert ESC not in run("--format", "github", WARNING_FIXTURE, env={"FORCE_COLOR": "1"}).stdout
    run("-o", tmp_path / "r.txt", WARNING_FIXTURE, env={"FORCE_COLOR": "1"})
    assert ESC not in (tmp_path / "r.txt").read_text(encoding="utf-8")  # a file is never painted


# -- files named on the command line -------------------------------------------------------------

def test_what_pre_commit_passes_is_recognised(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# hi\n", encoding="utf-8")
    result = run("policies/double11-coupon.test.yaml", workflow, readme)
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 file checked: 0 errors, 0 warnings\n"
    assert f"verdict: {workflow}: skipped, not a policy" in result.stderr
    assert f"verdict: {readme}: skipped, not a YAML file" in result.stderr
    assert "facts" not in result.output


def test_a_test_suite_is_validated_as_one(tmp_path: Path) -> None:
    shutil.copy(ROOT / "policies" / "double11-coupon.yaml", tmp_path / "d11.yaml")
    suite = tmp_path / "d11.test.yaml"
    suite.write_text("cases:\n  - name: typo\n    facts: {credit_scor: 700}\n    expect: {outcome: gold}\n",
                     encoding="utf-8")
    result = run("--format", "json", suite)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["files"] == [str(suite)]
    unknown = [d for d in doc["diagnostics"] if d["code"] == "test-unknown-fact"]
    assert [(d["file"], d["line"], d["column"], d["hint"]) for d in unknown] == \
        [(str(suite), 3, 13, "did you mean `credit_score`?")]
    assert run("-q", "policies/").stdout.startswith("5 files")  # a folder still skips its test files


def test_policies_are_recognised_by_key_or_modeline_and_odd_yaml_is_still_checked(tmp_path: Path) -> None:
    modeline = tmp_path / "modeline.yaml"  # no `policy` key: the schema reports it missing
    modeline.write_text("# yaml-language-server: $schema=../schemas/policy.schema.json\nversion: 1\n",
                        encoding="utf-8")
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text('"policy": x\n', encoding="utf-8")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    listed = tmp_path / "list.yaml"
    listed.write_text("- policy: x\n", encoding="utf-8")
    result = run("--format", "json", modeline, quoted, empty, listed)
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["files"] == sorted(map(str, [modeline, quoted, empty, listed]))
    codes = {(Path(d["file"]).name, d["code"]) for d in doc["diagnostics"]}
    assert {("modeline.yaml", "schema-missing-key"), ("empty.yaml", "empty-file"),
            ("list.yaml", "policy-not-mapping")} <= codes
    assert any(name == "quoted.yaml" for name, _ in codes)


def test_every_yaml_file_in_a_named_folder_is_validated(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("name: not a policy\n", encoding="utf-8")
    result = run(tmp_path)
    assert result.exit_code == 1 and "schema-missing-key" in result.stdout and result.stderr == ""


def test_only_skipped_files_is_a_clean_run(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    result = run(tmp_path / "x.json")
    assert result.exit_code == 0 and result.stdout == "0 files checked: 0 errors, 0 warnings\n"


def test_a_missing_file_is_still_an_input_error() -> None:
    assert run("no/such.yaml").exit_code == 2


def test_the_test_suffixes_agree_with_the_suite_loader() -> None:
    from engine.suites.load import TEST_SUFFIXES as SUITES

    assert TEST_SUFFIXES == SUITES
