"""The pre-commit hooks (.pre-commit-hooks.yaml) and the GitHub Action (action.yml).

The hooks run through the real `pre-commit try-repo` (pre-commit is a test dependency) on
a scratch git repository: it installs verdict from this checkout into its own
environment, as a user's pre-commit does. The Action's shell steps run here as a runner
would run them (inputs substituted, GITHUB_OUTPUT collected); its `uses:` steps
(setup-python, the SARIF upload) are GitHub's, so the test checks what they are given.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "fixtures" / "broken" / "unknown-fact.yaml"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def scratch_repo(tmp_path: Path, extra: dict[str, Path | str] | None = None) -> Path:
    """A git repository with one policy and its suite (clean, 100% covered), plus `extra`."""
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    for name in ("double11-coupon.yaml", "double11-coupon.test.yaml"):
        shutil.copy(ROOT / "policies" / name, repo / "policies" / name)
    workflow = repo / ".github" / "workflows" / "ci.yml"  # a YAML file that is not a policy
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: ci\non: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n", encoding="utf-8")
    for name, content in (extra or {}).items():
        target = repo / name
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_text(content, encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "policies")
    return repo


# -- pre-commit ----------------------------------------------------------------------------------

def test_the_hooks_manifest() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"verdict-validate", "verdict-test"}
    assert hooks["verdict-validate"]["entry"] == "verdict validate"
    assert hooks["verdict-test"]["entry"] == "verdict test" and hooks["verdict-test"]["pass_filenames"] is False
    assert all(h["language"] == "python" for h in hooks.values())


@pytest.fixture(scope="module")
def pre_commit(tmp_path_factory: pytest.TempPathFactory):
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    if not (ROOT / ".git").exists():
        pytest.skip("`pre-commit try-repo` needs verdict's checkout to be a git repository")
    home = tmp_path_factory.mktemp("pre-commit-home")

    def run(repo: Path) -> subprocess.CompletedProcess:
        # try-repo takes this checkout as it is, uncommitted changes included.
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--all-files",
                               "--color", "never"], cwd=repo, capture_output=True, text=True, timeout=600,
                              env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home)}, check=False)
    return run


def test_pre_commit_passes_a_clean_repository(pre_commit, tmp_path: Path) -> None:
    proc = pre_commit(scratch_repo(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^verdict validate\.+Passed$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^verdict test\.+Passed$", proc.stdout, re.M), proc.stdout


def test_pre_commit_fails_a_broken_policy_naming_the_file(pre_commit, tmp_path: Path) -> None:
    proc = pre_commit(scratch_repo(tmp_path, {"policies/broken.yaml": BROKEN}))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^verdict validate\.+Failed$", proc.stdout, re.M), proc.stdout
    assert "policies/broken.yaml:34:12: error unknown-fact: unknown fact `credit_scor`" in proc.stdout
    assert "ci.yml: skipped, not a policy" in proc.stdout  # the workflow is not mistaken for one
    assert "missing required key" not in proc.stdout


# -- the GitHub Action ---------------------------------------------------------------------------

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Runner:
    """Runs the Action's shell steps the way the Actions runner does, for the expressions
    action.yml uses: `inputs.*`, `github.action_path`, `steps.ID.outputs.*`."""

    def __init__(self, inputs: dict[str, str], workspace: Path, tmp: Path):
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | inputs
        self.workspace, self.tmp = workspace, tmp
        self.outputs: dict[str, dict[str, str]] = {}
        self.uses: list[tuple[str, dict]] = []
        self.log = ""

    def value(self, expr: str) -> str:
        if expr == "github.action_path":
            return str(ROOT)
        if expr.startswith("inputs."):
            return self.inputs[expr[len("inputs."):]]
        step, name = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr).groups()
        return self.outputs.get(step, {}).get(name, "")

    def expand(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        expr = _EXPR.sub(lambda m: m.group(1), text)
        expr = re.sub(r"\b(inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+)", lambda m: repr(self.value(m.group(1))),
                      expr)
        return bool(eval(expr.replace("&&", " and ").replace("||", " or "), {}))  # only action.yml's own text

    def run(self) -> int:
        for step in ACTION["runs"]["steps"]:
            if "if" in step and not self.condition(step["if"]):
                continue
            if "uses" in step:
                self.uses.append((step["uses"], {k: self.expand(str(v)) for k, v in step.get("with", {}).items()}))
                continue
            if "pip install" in step["run"]:
                continue  # verdict is installed in this environment already (the command is checked below)
            output = self.tmp / f"output-{len(self.outputs)}"
            output.write_text("")
            env = {**os.environ, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(self.tmp),
                   "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
            env |= {k: self.expand(str(v)) for k, v in step.get("env", {}).items()}
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                  cwd=self.workspace, env=env, capture_output=True, text=True, check=False)
            self.log += proc.stdout + proc.stderr
            pairs = [ln.split("=", 1) for ln in output.read_text().splitlines() if "=" in ln]
            self.outputs[step.get("id", f"step{len(self.outputs)}")] = dict(pairs)
            if proc.returncode != 0:
                return proc.returncode
        return 0


def test_the_action_installs_verdict_from_its_own_checkout() -> None:
    steps = ACTION["runs"]["steps"]
    assert ACTION["runs"]["using"] == "composite"
    [install] = [s for s in steps if "pip install" in s.get("run", "")]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}" and '"$ACTION_PATH"' in install["run"]
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)


def test_the_action_passes_clean_policies_and_uploads_their_sarif(tmp_path: Path) -> None:
    repo = scratch_repo(tmp_path)
    runner = Runner({"min-coverage": "rules=100,boundaries=100"}, repo, tmp_path)
    assert runner.run() == 0, runner.log
    assert "::notice" not in runner.log  # the default severity, warning, leaves the gap notes out
    [(upload, given)] = [u for u in runner.uses if "upload-sarif" in u[0]]
    sarif = json.loads(Path(given["sarif_file"]).read_text(encoding="utf-8"))
    assert sarif["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.as_uri() + "/"
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").strip()  # the test summary for the job page


def test_the_action_annotates_and_fails_a_broken_policy(tmp_path: Path) -> None:
    repo = scratch_repo(tmp_path, {"policies/broken.yaml": BROKEN})
    runner = Runner({"test-paths": ""}, repo, tmp_path)
    assert runner.run() == 1, runner.log
    assert "::error file=policies/broken.yaml,line=34,col=12,title=unknown-fact::unknown fact" in runner.log
    [(_, given)] = [u for u in runner.uses if "upload-sarif" in u[0]]  # uploaded before the job fails
    results = json.loads(Path(given["sarif_file"]).read_text(encoding="utf-8"))["runs"][0]["results"]
    assert any(r["ruleId"] == "unknown-fact" for r in results)
