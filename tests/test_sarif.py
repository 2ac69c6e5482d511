"""SARIF as GitHub code scanning and the SARIF multitool want it (engine/explain/sarif.py).

The real consumer runs when npm is on the machine: `@microsoft/sarif-multitool` is
installed from the npm registry into a cache folder (VERDICT_TEST_CACHE, default
~/.cache/verdict-test) and `validate --rule-kind "Gh;Sarif"` must find nothing. The
properties it and GitHub rely on are also checked in pure Python below; the official
schema check is in tests/test_report_formats.py.
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
from conftest import invoke_in

from engine.analysis.findings import CODES as ANALYSIS_CODES
from engine.cli.validate import find_root
from engine.explain import codes, sarif
from engine.language.diagnostics import INFO, Diagnostic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_validate_golden import _emitted_codes  # noqa: E402  the scan of codes written in the engine

ROOT = Path(__file__).resolve().parent.parent
SUITE_CODES = set(re.findall(r'self\.report\("(test-[a-z-]+)"', (ROOT / "engine/suites/load.py").read_text("utf-8")))


def sarif_of(*args: object, cwd: Path = ROOT) -> dict:
    # On one day: the reports a test compares hold witnesses of relative dates.
    result = invoke_in(cwd, ["validate", "--as-of", "2026-11-11", "--format", "sarif", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def the_run(doc: dict) -> dict:
    [run] = doc["runs"]
    return run


@pytest.fixture(scope="module")
def fixtures_sarif() -> dict:
    return sarif_of("tests/fixtures", "policies")


# -- the descriptions table ---------------------------------------------------------------------

def test_every_emitted_code_has_descriptions() -> None:
    emitted = _emitted_codes() | set(ANALYSIS_CODES) | SUITE_CODES
    assert {"yaml-syntax", "gap", "test-unknown-fact"} <= emitted  # the scans work
    assert emitted - set(codes.DESCRIPTIONS) == set()
    for code, full in codes.DESCRIPTIONS.items():
        short = codes.short_description(code)
        assert short.endswith(".") and full.startswith(short[:-1]), code
        assert codes.rule_name(code).lower() != code.lower() and "-" not in codes.rule_name(code), code


def test_the_codes_page_is_generated_from_the_table() -> None:
    page = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert page == codes.codes_markdown(), "regenerate docs/codes.md from engine.explain.codes.codes_markdown()"
    headings = re.findall(r"^## (.+)$", page, re.M)
    assert headings == list(codes.DESCRIPTIONS)  # one anchor (GitHub's slug of the heading) per code


# -- rules ---------------------------------------------------------------------------------------

def test_rules_have_what_code_scanning_shows(fixtures_sarif: dict) -> None:
    driver = the_run(fixtures_sarif)["tool"]["driver"]
    docs = sarif.project_urls()["documentation"]
    assert driver["informationUri"] == sarif.project_urls()["homepage"]
    assert len(driver["rules"]) > 40
    for rule in driver["rules"]:
        code = rule["id"]
        assert rule["name"] == codes.rule_name(code) != code
        assert rule["shortDescription"]["text"] == codes.short_description(code)
        assert rule["fullDescription"]["text"] == codes.DESCRIPTIONS[code]
        assert rule["help"]["text"] and code in rule["help"]["markdown"]
        assert rule["helpUri"] == f"{docs.rstrip('/')}/codes.md#{code}"


def test_urls_come_from_project_urls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "project_urls", lambda: {"documentation": "https://docs.example/x"})
    assert sarif.docs_base() == "https://docs.example/x/"
    doc = json.loads(sarif.render_sarif([Diagnostic("gap", "g", INFO, "a.yaml", 1, 1)], ["a.yaml"]))
    driver = the_run(doc)["tool"]["driver"]
    assert driver["rules"][0]["helpUri"] == "https://docs.example/x/codes.md#gap"
    assert "informationUri" not in driver  # no homepage configured: none invented
    # Not installed: the docs of this checkout, a file that exists, or no link at all.
    monkeypatch.setattr(sarif, "project_urls", lambda: {})
    base = sarif.docs_base()
    assert base == (ROOT / "docs").as_uri() + "/"
    assert (ROOT / "docs" / "codes.md").is_file()


# -- results: fingerprints -----------------------------------------------------------------------

def test_fingerprints_are_distinct_for_distinct_findings(fixtures_sarif: dict) -> None:
    results = the_run(fixtures_sarif)["results"]
    prints = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results]
    assert len(prints) == len(set(prints)) == len(results) > 100
    gaps = [r for r in results if r["ruleId"] == "gap"
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policies/double11-coupon.yaml"]
    # the policy's gaps share its line, the tier table's gaps the table's: few lines, one rule
    assert len(gaps) > 2 and len({json.dumps(g["locations"]) for g in gaps}) == 2
    assert len({g["partialFingerprints"][sarif.FINGERPRINT_KEY] for g in gaps}) == len(gaps)


def test_fingerprints_are_stable_across_runs_folders_and_spellings(tmp_path: Path) -> None:
    def prints(doc: dict) -> list[str]:
        return [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in the_run(doc)["results"]]

    first = prints(sarif_of("policies"))
    assert first == prints(sarif_of("policies"))
    assert first == prints(sarif_of(ROOT / "policies", "--root", ROOT, cwd=tmp_path))
    assert first == prints(sarif_of("./policies/", cwd=ROOT))
    assert first == prints(sarif_of("../policies", cwd=ROOT / "docs"))


def test_a_moved_finding_keeps_its_fingerprint() -> None:
    a = Diagnostic("yaml-duplicate-key", "duplicate key `x` (first at line 3)", file="p.yaml", line=9, column=1)
    b = Diagnostic("yaml-duplicate-key", "duplicate key `x` (first at line 5)", file="p.yaml", line=11, column=1)
    assert sarif.fingerprint(a, None) == sarif.fingerprint(b, None)
    assert sarif.fingerprint(a, None) != sarif.fingerprint(Diagnostic("yaml-duplicate-key", "duplicate key `y`",
                                                                      file="p.yaml", line=9), None)


def test_identical_findings_still_get_distinct_fingerprints() -> None:
    same = [Diagnostic("gap", "g", INFO, "a.yaml", 1, 1, hint=h) for h in ("x", "y")]
    results = the_run(json.loads(sarif.render_sarif(same, ["a.yaml"])))["results"]
    assert len({r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results}) == 2


# -- results: locations --------------------------------------------------------------------------

def uris(doc: dict) -> list[str]:
    run = the_run(doc)
    return [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]] \
        + [a["location"]["uri"] for a in run["artifacts"]]


def test_locations_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    from_root = sarif_of("policies")
    run = the_run(from_root)
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": ROOT.as_uri() + "/"}}
    assert all(u.startswith("policies/") for u in uris(from_root))
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert all(loc["uriBaseId"] == "SRCROOT" for loc in locations)
    # The same report from a subfolder (root found upwards) and from outside (--root).
    assert sarif_of("../policies", cwd=ROOT / "docs") == from_root
    assert sarif_of(ROOT / "policies", "--root", ROOT, cwd=tmp_path) == from_root
    assert sarif_of("./policies/credit-limit.yaml", cwd=ROOT)["runs"][0]["artifacts"] == \
        [{"location": {"uri": "policies/credit-limit.yaml", "uriBaseId": "SRCROOT"}}]


def test_the_root_is_found_from_git_and_a_file_outside_it_is_absolute(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    (repo / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    assert find_root(str(repo / "a" / "b")) == str(repo)
    lone = tmp_path / "lone"
    lone.mkdir()
    assert find_root(str(lone)) in (str(lone), str(ROOT))  # tmp may itself sit in a repository
    outside = sarif.artifact_location(str(tmp_path / "x y.yaml"), str(repo))
    assert outside == {"uri": (tmp_path / "x y.yaml").as_uri()}


def test_acknowledged_findings_keep_their_suppressions(fixtures_sarif: dict) -> None:
    acknowledged = [r for r in the_run(fixtures_sarif)["results"] if "suppressions" in r]
    assert acknowledged
    assert all(s["kind"] == "inSource" and s["justification"] for r in acknowledged for s in r["suppressions"])


# -- the real consumer ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def multitool() -> str:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        pytest.skip("npm and node are needed to install @microsoft/sarif-multitool from the npm registry")
    cache = Path(os.environ.get("VERDICT_TEST_CACHE", Path.home() / ".cache" / "verdict-test"))
    if not (cache / "node_modules" / "@microsoft" / "sarif-multitool").is_dir():
        proc = subprocess.run([npm, "install", "--no-save", "--prefix", str(cache), "@microsoft/sarif-multitool"],
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            pytest.skip(f"npm could not install @microsoft/sarif-multitool: {proc.stderr[-500:]}")
    # Its bin.js runs the binary through a shell, where the `;` of "Gh;Sarif" ends the
    # command: run the platform binary that the package's index.js names, directly.
    binary = subprocess.run([node, "-p", "require('@microsoft/sarif-multitool')"], cwd=cache / "node_modules",
                            capture_output=True, text=True, check=True).stdout.strip()
    os.chmod(binary, os.stat(binary).st_mode | 0o100)  # npm may not have run its postinstall chmod
    return binary


@pytest.mark.parametrize("paths", [["tests/fixtures", "policies"], [str(ROOT / "policies")], ["outside"]],
                         ids=["fixtures", "absolute-paths", "outside-the-root"])
def test_the_sarif_multitool_with_the_github_rules_finds_nothing(multitool: str, paths: list[str],
                                                                tmp_path: Path) -> None:
    if paths == ["outside"]:  # an absolute file URI, with characters that need encoding
        paths = [str(tmp_path / "a b#c.yaml"), "policies"]
        shutil.copy(ROOT / "tests/fixtures/broken/unknown-fact.yaml", paths[0])
    report, log = tmp_path / "verdict.sarif", tmp_path / "log.sarif"
    report.write_text(json.dumps(sarif_of(*paths)), encoding="utf-8")
    proc = subprocess.run([multitool, "validate", "--rule-kind", "Gh;Sarif", str(report), "--output", str(log)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and log.is_file(), proc.stdout + proc.stderr
    findings = [(r["ruleId"], r["message"].get("arguments")) for run in json.loads(log.read_text())["runs"]
                for r in run.get("results", [])]
    assert findings == [], proc.stdout
