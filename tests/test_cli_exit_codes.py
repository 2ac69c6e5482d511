"""The exit-code plumbing of the command line: every command's success, findings and
input-error paths, table-driven through click's CliRunner, and the structure behind it
(commands return their code; `main` is the one exit point; `validate` starts cheap)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.common import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK
from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "engine" / "cli"
D11 = "policies/double11-coupon.yaml"
LIMIT = "policies/credit-limit.yaml"
MINIMAL = ROOT / "tests" / "fixtures" / "valid" / "minimal.yaml"
GOLD = "examples/user-gold.json"

# A suite for tests/fixtures/valid/minimal.yaml with one right and one wrong expectation.
FAILING_SUITE = """\
policy: mini.yaml
cases:
  - {name: frozen is denied, facts: {credit_score: 700, membership: gold, frozen: true}, expect: {outcome: denied}}
  - {name: gold is ineligible (wrong), facts: {credit_score: 700, membership: gold}, expect: {outcome: ineligible}}
"""
PASSING_PARTIAL_SUITE = FAILING_SUITE.splitlines(keepends=True)[:3]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository as the current folder, plus a scratch folder with a duplicate-id pair,
    a failing suite, a passing one of low coverage and a broken record file."""
    monkeypatch.chdir(ROOT)
    shutil.copy(MINIMAL, tmp_path / "mini.yaml")
    dup = tmp_path / "dup"
    dup.mkdir()
    shutil.copy(MINIMAL, dup / "a.yaml")
    shutil.copy(MINIMAL, dup / "b.yaml")
    (tmp_path / "mini.test.yaml").write_text(FAILING_SUITE, encoding="utf-8")
    (tmp_path / "mini.partial.test.yaml").write_text("".join(PASSING_PARTIAL_SUITE), encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text('{"credit_score": "high"}\n', encoding="utf-8")
    gold = json.dumps(json.loads((ROOT / GOLD).read_text(encoding="utf-8")))
    (tmp_path / "mixed.jsonl").write_text('{"credit_score": "high"}\n' + gold + "\n", encoding="utf-8")
    (tmp_path / "header.csv").write_text("credit_score,membership\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    return tmp_path


# (note, arguments with {tmp} for the scratch folder, exit code). Each command has its
# success row, its findings row where it has findings, and its input-error rows.
CASES = [
    ("validate: clean policies", ["validate", "policies/"], EXIT_OK),
    ("validate: a finding", ["validate", "tests/fixtures/broken/unknown-fact.yaml"], EXIT_FINDINGS),
    ("validate: two files, one policy id", ["validate", "{tmp}/dup"], EXIT_FINDINGS),
    ("validate: --strict makes a warning fail",
     ["validate", "--strict", "tests/fixtures/warnings/threshold-unused.yaml"], EXIT_FINDINGS),
    ("validate: a missing file", ["validate", "no/such.yaml"], EXIT_INPUT),
    ("validate: a folder without policies", ["validate", "{tmp}/empty"], EXIT_INPUT),
    ("validate: output into a missing folder", ["validate", "-o", "{tmp}/no/report.txt", "policies/"], EXIT_INPUT),
    ("validate: no path (usage)", ["validate"], EXIT_INPUT),
    ("eval: one record", ["eval", "-p", D11, GOLD], EXIT_OK),
    ("eval: a batch", ["eval", "-p", D11, "examples/users.csv"], EXIT_OK),
    ("eval: a malformed record", ["eval", "-p", D11, "{tmp}/bad.jsonl"], EXIT_INPUT),
    ("eval: a malformed record, skipped", ["eval", "-p", D11, "--on-error", "skip", "{tmp}/mixed.jsonl"], EXIT_OK),
    ("eval: every record skipped", ["eval", "-p", D11, "--on-error", "skip", "{tmp}/bad.jsonl"], EXIT_INPUT),
    ("eval: every record skipped, --allow-empty",
     ["eval", "-p", D11, "--on-error", "skip", "--allow-empty", "{tmp}/bad.jsonl"], EXIT_OK),
    ("eval: missing facts file", ["eval", "-p", D11, "{tmp}/none.json"], EXIT_INPUT),
    ("eval: missing policy", ["eval", "-p", "{tmp}/none.yaml", GOLD], EXIT_INPUT),
    ("eval: invalid policy", ["eval", "-p", "tests/fixtures/broken/unknown-fact.yaml", GOLD], EXIT_INPUT),
    ("eval: output into a missing folder", ["eval", "-p", D11, "-o", "{tmp}/no/out.json", GOLD], EXIT_INPUT),
    ("eval: a CSV header alone", ["eval", "-p", D11, "{tmp}/header.csv"], EXIT_INPUT),
    ("eval: a CSV header alone, allowed", ["eval", "-p", D11, "--allow-empty", "{tmp}/header.csv"], EXIT_OK),
    ("explain: a CSV header alone", ["explain", "-p", D11, "{tmp}/header.csv"], EXIT_INPUT),
    ("diff: a CSV header alone as --facts", ["diff", "--facts", "{tmp}/header.csv", D11, D11], EXIT_INPUT),
    ("explain: one record", ["explain", "-p", D11, "examples/user-denied.json"], EXIT_OK),
    ("explain: facts the policy rejects", ["explain", "-p", LIMIT, GOLD], EXIT_INPUT),
    ("explain: invalid policy", ["explain", "-p", "tests/fixtures/broken/unknown-fact.yaml", GOLD], EXIT_INPUT),
    ("test: passing suites", ["test", "policies/"], EXIT_OK),
    ("test: a failing case", ["test", "{tmp}/mini.test.yaml"], EXIT_FINDINGS),
    ("test: a passing partial suite", ["test", "{tmp}/mini.partial.test.yaml"], EXIT_OK),
    ("test: coverage below the minimum", ["test", "{tmp}/mini.partial.test.yaml", "--min-coverage", "rules=100"],
     EXIT_FINDINGS),
    ("test: no suites found", ["test", "{tmp}/empty"], EXIT_INPUT),
    ("test: a missing path", ["test", "{tmp}/none"], EXIT_INPUT),
    ("test: a bad --run pattern", ["test", "policies/", "-k", "["], EXIT_INPUT),
    ("test: a bad --min-coverage", ["test", "policies/", "--min-coverage", "bogus=1"], EXIT_INPUT),
    ("test: --generate-boundaries to stdout", ["test", "--generate-boundaries", D11, "-o", "-"], EXIT_OK),
    ("test: --generate-boundaries over a file", ["test", "--generate-boundaries", D11], EXIT_INPUT),
    ("diff: no change", ["diff", "--exit-code", D11, D11], EXIT_OK),
    ("diff: a change, without --exit-code", ["diff", D11, LIMIT], EXIT_OK),
    ("diff: a change, with --exit-code", ["diff", "--exit-code", D11, LIMIT], EXIT_FINDINGS),
    ("diff: invalid policy", ["diff", "tests/fixtures/broken/unknown-fact.yaml", D11], EXIT_INPUT),
    ("diff: missing --facts file", ["diff", "--facts", "{tmp}/none.csv", D11, D11], EXIT_INPUT),
    ("schema: the policy schema", ["schema"], EXIT_OK),
    ("schema: an unknown schema (usage)", ["schema", "nope"], EXIT_INPUT),
    ("compile: the python form", ["compile", D11, "--emit", "python"], EXIT_OK),
    ("compile: the durable form", ["compile", D11, "--emit", "durable"], EXIT_OK),
    ("compile: an invalid policy", ["compile", "tests/fixtures/broken/unknown-fact.yaml", "--emit", "python"],
     EXIT_FINDINGS),
    ("compile: a missing file", ["compile", "{tmp}/none.yaml", "--emit", "python"], EXIT_INPUT),
    ("compile: an unknown form (usage)", ["compile", D11, "--emit", "cobol"], EXIT_INPUT),
    ("init: a new repository", ["init", "{tmp}/repo"], EXIT_OK),
    ("init: over existing files", ["init", "{tmp}/repo", "--force"], EXIT_OK),
    ("init: DIR is a file (usage)", ["init", "{tmp}/mini.yaml"], EXIT_INPUT),
    ("schema: --write into a folder", ["schema", "--write", "{tmp}/schemas"], EXIT_OK),
    ("lsp: a session that ends at once (no client input)", ["lsp"], EXIT_OK),
    ("lsp: an unknown option (usage)", ["lsp", "--tcp"], EXIT_INPUT),
    ("verdict --version", ["--version"], EXIT_OK),
    ("verdict: an unknown command (usage)", ["nope"], EXIT_INPUT),
]


@pytest.mark.parametrize("args,code", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exit_code(work: Path, args: list[str], code: int) -> None:
    result = CliRunner().invoke(main, [a.format(tmp=work) for a in args])
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if code == EXIT_INPUT:
        assert "Traceback" not in result.output


def test_every_command_has_a_success_and_an_input_error_row() -> None:
    by_command: dict[str, set[int]] = {}
    for _, args, code in CASES:
        by_command.setdefault(args[0], set()).add(code)
    for name in main.commands:
        assert {EXIT_OK, EXIT_INPUT} <= by_command.get(name, set()), name


def test_output_into_a_missing_folder_is_one_line(work: Path) -> None:
    target = work / "no" / "out.json"
    result = CliRunner().invoke(main, ["eval", "-p", D11, "-o", str(target), GOLD])
    assert result.stderr == f"verdict: cannot write {target}: No such file or directory\n"
    assert result.stdout == ""


@pytest.mark.parametrize("args,code", [
    (["validate", "policies/"], EXIT_OK),
    (["validate", "tests/fixtures/broken/unknown-fact.yaml"], EXIT_FINDINGS),
    (["validate", "no/such.yaml"], EXIT_INPUT),
    (["diff", "--facts", "none.csv", D11, D11], EXIT_INPUT),
], ids=["ok", "findings", "unreadable", "input-error"])
def test_main_returns_the_code_outside_standalone_mode(args: list[str], code: int,
                                                       monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A library caller gets the code back instead of a SystemExit, input errors included."""
    monkeypatch.chdir(ROOT)
    assert main.main(args, standalone_mode=False) == code


def test_command_functions_return_their_code(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from engine.cli.validate import validate_cmd

    monkeypatch.chdir(ROOT)
    assert validate_cmd.callback(("policies/",), "json", False, None) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["errors"] == 0


def test_only_main_exits() -> None:
    """No command module calls sys.exit / ctx.exit / click's exit: they return."""
    for path in sorted(CLI.glob("*.py")):
        if path.name == "main.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in ("exit", "_exit", "quit"):
                pytest.fail(f"{path.name}:{node.lineno}: uses `{name}`; return an exit code instead")


def test_validate_does_not_load_the_compiler_evaluator_or_suites() -> None:
    code = ("import sys\nfrom engine.cli.main import main\n"
            "assert main.main(['validate', 'policies/'], standalone_mode=False) == 0\n"
            "heavy = ('engine.compile', 'engine.evaluate', 'engine.backends', 'engine.suites', "
            "'engine.analysis.counterfactuals', 'engine.analysis.diff', 'engine.explain.render')\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(heavy))\n"
            "assert not loaded, loaded\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_python_dash_m_runs_the_cli() -> None:
    p = subprocess.run([sys.executable, "-m", "engine.cli", "validate", "no/such.yaml"], cwd=ROOT,
                       capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (EXIT_INPUT, "verdict: no/such.yaml: no such file\n")


def test_docs_have_one_exit_code_table_matching_the_constants() -> None:
    """docs/cli.md has one table of exit codes, and it lists exactly the EXIT_* constants."""
    import re

    from engine.cli import common

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert doc.count("| code | meaning |") == 1
    section = doc[doc.index("## Exit codes"):]
    section = section[:section.index("\n## ", 3)]
    documented = [int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)]
    defined = sorted(v for k, v in vars(common).items() if k.startswith("EXIT_"))
    assert documented == defined == [0, 1, 2, 3, 130, 141]
