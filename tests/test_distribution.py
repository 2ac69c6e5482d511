"""The distribution: a name of our own, read from one place, and an sdist that builds a
working wheel without shipping a test suite it could not run.

`verdict` on PyPI is an unrelated project (an installation of it would answer our
`importlib.metadata` calls with its version and URLs), so the distribution is
`verdict-policy`, while the command stays `verdict` and the package `engine`.
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.explain import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]


def test_the_distribution_name_is_ours_and_in_one_place():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["name"] == DISTRIBUTION == "verdict-policy"
    assert project["scripts"] == {"verdict": "engine.cli:main"}


def test_the_installed_metadata_is_found_under_that_name():
    meta = importlib.metadata.metadata(DISTRIBUTION)
    assert meta["Name"] == DISTRIBUTION and meta.get_all("Project-URL")
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"verdict, version {importlib.metadata.version(DISTRIBUTION)}\n"


def test_no_code_asks_the_metadata_of_another_distribution():
    """Every `metadata(…)`/`version(…)` call and `version_option(package_name=…)` in engine/
    names DISTRIBUTION, never a literal."""
    wrong = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = list(node.args) if name in ("metadata", "version", "distribution") else []
            args += [k.value for k in node.keywords if k.arg == "package_name"]
            wrong += [f"{path.relative_to(ROOT)}:{node.lineno}" for a in args if isinstance(a, ast.Constant)]
    assert not wrong, wrong


def test_no_egg_info_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert not [f for f in tracked.stdout.splitlines() if ".egg-info/" in f]


def test_the_sdist_leaves_the_tests_out_and_builds_a_wheel_with_the_schemas(tmp_path):
    pytest.importorskip("build", reason="the `build` package (pip install -e '.[test]') builds the sdist")
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "-o", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0 and "Could not find a version" in proc.stdout + proc.stderr:
        pytest.skip("the build requirements cannot be installed here: " + proc.stdout[-300:])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (sdist,) = out.glob("verdict_policy-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
        tar.extractall(tmp_path / "src", filter="data")
    assert not [n for n in names if n.startswith("tests/")], "a partial test suite shipped"
    assert {"schemas/policy.schema.json", "schemas/test.schema.json", "schemas/decision.schema.json"} <= set(names)
    (unpacked,) = (tmp_path / "src").iterdir()
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "-o", str(out), str(unpacked)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("verdict_policy-*.whl")
    with zipfile.ZipFile(wheel) as z:
        files = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in files if n.endswith(".dist-info/entry_points.txt"))
    assert {"engine/schemas/policy.schema.json", "engine/cli/init.py"} <= files
    assert "verdict = engine.cli:main" in entry_points
