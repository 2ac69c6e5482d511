"""`verdict init` and `verdict schema --write`: the scaffold of a policy repository.

The scaffold must work as written: its policy validates, its suite passes with full rule
and boundary coverage on both backends, every modeline and editor mapping resolves inside
the scaffold, the hooks and the Action it names are this project's, and no file carries a
URL that does not come from `[project.urls]`. Existing files are never replaced without
`--force`, and a failed write leaves nothing behind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from engine.cli.main import main
from engine.explain.sarif import distribution_version, project_urls
from engine.io import files as io_files
from engine.io.files import OutputError, write_files

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"policies/example.yaml", "policies/example.test.yaml", "schemas/policy.schema.json",
            "schemas/decision.schema.json", "schemas/test.schema.json", ".vscode/settings.json",
            ".pre-commit-config.yaml", ".github/workflows/verdict.yml"}
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)
URL = re.compile(r"https?://[^\s\"'`)>]+")
# The JSON Schema dialect a schema declares (`$schema`) is an identifier every schema must
# carry, and json-schema.org serves it; every other address must be the project's own.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def scaffold(tmp_path):
    target = tmp_path / "policy-repo"
    result = run("init", target)
    assert result.exit_code == 0, result.output
    return target


def written(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_writes_the_scaffold_and_says_so(scaffold):
    assert written(scaffold) == EXPECTED
    result = run("init", scaffold / "again")
    assert result.stderr.startswith(f"wrote {len(EXPECTED)} files into ") and result.stdout == ""


def test_init_defaults_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("init").exit_code == 0
    assert written(tmp_path) == EXPECTED


def test_the_scaffold_validates_clean(scaffold):
    result = run("validate", "--strict", scaffold / "policies")
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
    assert "info" not in result.output  # no gap, no missing default: a clean start


@pytest.mark.parametrize("backend", ["native", "durable"])
def test_the_scaffold_suite_passes_with_full_coverage(scaffold, backend):
    result = run("test", scaffold / "policies", "--backend", backend, "--min-coverage", "rules=100,boundaries=100")
    assert result.exit_code == 0, result.output
    assert "8 passed" in result.output and "boundaries     6/6    100.0%" in result.output


def test_the_suite_fails_when_a_threshold_moves(scaffold):
    """The suite pins the boundaries: moving one threshold makes a case fail."""
    policy = scaffold / "policies" / "example.yaml"
    policy.write_text(policy.read_text("utf-8").replace("max_overdue_days: 30", "max_overdue_days: 31"), "utf-8")
    assert run("test", scaffold / "policies").exit_code == 1


def test_every_modeline_resolves_to_its_schema_inside_the_scaffold(scaffold):
    seen = {}
    for name in ("policies/example.yaml", "policies/example.test.yaml"):
        path = scaffold / name
        (ref,) = MODELINE.findall(path.read_text("utf-8"))
        target = (path.parent / ref).resolve()
        assert target.is_relative_to(scaffold.resolve()) and target.is_file(), (name, ref)
        seen[name] = target.name
    assert seen == {"policies/example.yaml": "policy.schema.json", "policies/example.test.yaml": "test.schema.json"}


def test_the_schema_copies_are_the_shipped_schemas(scaffold):
    for name in ("policy", "decision", "test"):
        copy = (scaffold / "schemas" / f"{name}.schema.json").read_text("utf-8")
        assert copy == run("schema", name).stdout
        assert json.loads(copy)["title"].startswith("verdict")


def test_the_vscode_mapping_resolves_and_keeps_suites_apart(scaffold):
    mapping = json.loads((scaffold / ".vscode" / "settings.json").read_text("utf-8"))["yaml.schemas"]
    for schema in mapping:
        assert (scaffold / schema).resolve().is_file(), schema
    policy_globs = mapping["./schemas/policy.schema.json"]
    suite_globs = mapping["./schemas/test.schema.json"]
    assert "!policies/**/*.test.yaml" in policy_globs and "policies/**/*.test.yaml" in suite_globs


def test_the_hooks_and_the_action_are_this_projects(scaffold):
    urls = project_urls()
    home = urls["homepage"]
    config = yaml.safe_load((scaffold / ".pre-commit-config.yaml").read_text("utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == home and repo["rev"] == f"v{distribution_version()}"
    ours = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert {hook["id"] for hook in repo["hooks"]} == ours
    workflow = yaml.safe_load((scaffold / ".github" / "workflows" / "verdict.yml").read_text("utf-8"))
    steps = workflow["jobs"]["verdict"]["steps"]
    action = next(s["uses"] for s in steps if not s["uses"].startswith("actions/"))
    assert action == home.removeprefix("https://github.com/") + f"@v{distribution_version()}"
    assert (ROOT / "action.yml").is_file()
    inputs = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))["inputs"]
    assert set(next(s for s in steps if s["uses"] == action)["with"]) <= set(inputs)


def test_no_url_that_does_not_come_from_the_project_urls(scaffold):
    allowed = tuple(project_urls().values())
    assert allowed, "the installed distribution has no [project.urls]"
    for name in EXPECTED:
        for url in URL.findall((scaffold / name).read_text("utf-8")):
            assert url == DIALECT or url.startswith(allowed), (name, url)


def test_init_refuses_to_overwrite_without_force(scaffold):
    policy = scaffold / "policies" / "example.yaml"
    policy.write_text("# my own policy\n", "utf-8")
    result = run("init", scaffold)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "exists" in result.stderr and "--force" in result.stderr
    assert policy.read_text("utf-8") == "# my own policy\n"
    forced = run("init", scaffold, "--force")
    assert forced.exit_code == 0 and policy.read_text("utf-8").startswith("# yaml-language-server:")


def test_one_existing_file_stops_the_whole_scaffold(tmp_path):
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text("{}\n", "utf-8")
    result = run("init", tmp_path)
    assert result.exit_code == 2 and result.stderr == \
        f"verdict: {tmp_path / '.vscode' / 'settings.json'} exists; use --force to overwrite\n"
    assert written(tmp_path) == {".vscode/settings.json"}


def test_init_without_a_repository_url_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.explain.sarif.project_urls", lambda: {})
    result = run("init", tmp_path / "x")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "[project.urls]" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_failed_write_leaves_no_half_scaffold(tmp_path, monkeypatch):
    real = io_files.atomic_write_text
    calls = []

    def third_fails(path, text):
        calls.append(path)
        if len(calls) == 3:
            raise OutputError(str(path), "No space left on device")
        real(path, text)

    monkeypatch.setattr(io_files, "atomic_write_text", third_fails)
    (tmp_path / "kept.txt").write_text("mine\n", "utf-8")
    result = run("init", tmp_path)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert written(tmp_path) == {"kept.txt"} and sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_write_files_keeps_folders_that_existed(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    monkeypatch.setattr(io_files, "atomic_write_text", lambda path, text: (_ for _ in ()).throw(
        OutputError(str(path), "refused")))
    with pytest.raises(OutputError):
        write_files({tmp_path / "a" / "b" / "c.txt": "x"})
    assert (tmp_path / "a").is_dir() and not (tmp_path / "a" / "b").exists()


def test_schema_write_writes_the_three_schemas(tmp_path):
    target = tmp_path / "out" / "schemas"
    result = run("schema", "--write", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert sorted(p.name for p in target.iterdir()) == ["decision.schema.json", "policy.schema.json",
                                                        "test.schema.json"]
    for name in ("policy", "decision", "test"):
        assert (target / f"{name}.schema.json").read_text("utf-8") == run("schema", name).stdout


def test_schema_write_one_schema_and_refresh_an_old_copy(tmp_path):
    (tmp_path / "test.schema.json").write_text("{}", "utf-8")
    assert run("schema", "test", "--write", tmp_path).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["test.schema.json"]
    assert (tmp_path / "test.schema.json").read_text("utf-8") == run("schema", "test").stdout


def test_schema_write_into_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "f").write_text("", "utf-8")
    assert run("schema", "--write", tmp_path / "f").exit_code == 2


def test_no_schema_names_an_address_nothing_serves():
    """The schemas once carried `$id: https://verdict.dev/…`; they are written into user
    repositories now, so only the dialect's address may appear."""
    for name in ("policy", "decision", "test"):
        text = run("schema", name).stdout
        assert URL.findall(text) == [DIALECT], name
