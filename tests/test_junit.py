"""JUnit XML from `verdict validate` and `verdict test`, checked by real consumers: the
Jenkins xUnit plugin's `junit-10.xsd` through lxml, and lxml and ElementTree parsing
messages full of characters XML 1.0 cannot carry.

The schema is not copied into this repository: it is taken at test time from a registry
package that ships it, pytest's source distribution on PyPI
(`testing/example_scripts/junit-10.xsd`, the Jenkins schema pytest's own JUnit tests use),
downloaded with `pip download` into a cache folder (VERDICT_TEST_CACHE, default
~/.cache/verdict-test). Without the network those tests skip, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import invoke_in
from lxml import etree

from engine.explain import report
from engine.language.diagnostics import ERROR, WARNING, Diagnostic

ROOT = Path(__file__).resolve().parent.parent
TINY = """\
policy: tiny
version: 1
facts:
  score: {type: integer, minimum: 0, maximum: 100}
outcomes: [accept, reject]
default: reject
rules:
  - id: high
    when: {score: {gte: 50}}
    then: {outcome: accept}
  - id: low
    when: {score: {lt: 5}}
    then: {flags: [low]}
"""
PYTEST_SDIST = "pytest==8.3.4"  # any sdist of pytest 6 to 8 ships the schema; pinned so the cache is exact
# Every character class XML 1.0 forbids, and some it allows but that break naive escaping.
HOSTILE = "bell\x07 nul\x00 esc\x1b[31m vt\x0b ff\x0c lone\ud800 nonchar\ufffe\uffff tab\t nl\n cr\r <&>\"'"


@pytest.fixture(scope="module")
def jenkins_schema() -> etree.XMLSchema:
    cache = Path(os.environ.get("VERDICT_TEST_CACHE", Path.home() / ".cache" / "verdict-test"))
    xsd = cache / "junit-10.xsd"
    if not xsd.is_file():
        download = cache / "pytest-sdist"
        download.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                               ":all:", PYTEST_SDIST, "-d", str(download)],
                              capture_output=True, text=True, timeout=300, check=False)
        sdists = sorted(download.glob("pytest-*.tar.gz"))
        if proc.returncode != 0 or not sdists:
            pytest.skip(f"could not download the {PYTEST_SDIST} sdist that ships junit-10.xsd: {proc.stderr[-300:]}")
        with tarfile.open(sdists[-1]) as tar:
            [member] = [m for m in tar.getmembers() if m.name.endswith("testing/example_scripts/junit-10.xsd")]
            with tar.extractfile(member) as src, open(xsd, "wb") as dst:
                shutil.copyfileobj(src, dst)
    doc = etree.parse(str(xsd))
    assert doc.getroot().tag == "{http://www.w3.org/2001/XMLSchema}schema"
    return etree.XMLSchema(doc)


def assert_valid(schema: etree.XMLSchema, xml: str) -> etree._Element:
    root = etree.fromstring(xml.encode("utf-8"))
    assert schema.validate(root), "\n".join(str(e) for e in schema.error_log)
    return root


def invoke(*args: object, cwd: Path = ROOT):
    return invoke_in(cwd, args)


def test_the_schema_is_the_jenkins_one_and_rejects_what_it_should(jenkins_schema: etree.XMLSchema) -> None:
    # What verdict wrote before: `file` and `line` on a testcase.
    bad = '<testsuites><testsuite name="s" tests="1" failures="0" errors="0">' \
          '<testcase name="c" file="a.yaml" line="3"/></testsuite></testsuites>'
    assert not jenkins_schema.validate(etree.fromstring(bad))
    assert "attribute 'file': The attribute 'file' is not allowed" in str(jenkins_schema.error_log)


@pytest.mark.parametrize("paths", [["tests/fixtures", "policies"], ["policies"]], ids=["fixtures", "clean"])
def test_validate_junit_is_valid_against_the_jenkins_schema(jenkins_schema: etree.XMLSchema,
                                                           paths: list[str]) -> None:
    result = invoke("validate", "--format", "junit", *paths)
    root = assert_valid(jenkins_schema, result.stdout)
    if paths == ["policies"]:  # a clean run: one passed test per file, not "0 tests"
        assert (root.get("tests"), root.get("failures")) == (str(len(root.findall("testsuite"))), "0")
        assert int(root.get("tests")) >= 3


def test_test_junit_is_valid_against_the_jenkins_schema(jenkins_schema: etree.XMLSchema, tmp_path: Path) -> None:
    passing = invoke("test", "--format", "junit", "--min-coverage", "rules=100", "policies/")
    assert passing.exit_code == 0, passing.output
    assert_valid(jenkins_schema, passing.stdout)
    # A failing case and a failing coverage gate, both with their location in the text.
    (tmp_path / "d11.yaml").write_text(TINY, encoding="utf-8")
    (tmp_path / "d11.test.yaml").write_text(
        "cases:\n  - name: \"wrong \\x01 on purpose\"\n    facts: {score: 10}\n"
        "    expect: {outcome: accept}\n", encoding="utf-8")
    failing = invoke("test", "--format", "junit", "--min-coverage", "rules=100", "d11.test.yaml", cwd=tmp_path)
    assert failing.exit_code == 1, failing.output
    root = assert_valid(jenkins_schema, failing.stdout)
    [case] = [c for c in root.iter("testcase") if c.get("classname") != "coverage"]
    assert case.get("name") == "wrong \\x01 on purpose"  # the control character, written visibly
    assert case.find("failure").text.startswith("FAIL d11.test.yaml:2  ")
    [gate] = [c for c in root.iter("testcase") if c.get("classname") == "coverage"]
    assert gate.find("failure").text.startswith("d11.yaml:")


def test_hostile_messages_keep_the_report_well_formed(jenkins_schema: etree.XMLSchema) -> None:
    diags = [Diagnostic("yaml-syntax", HOSTILE, ERROR, f"p{HOSTILE[:6]}.yaml", 3, 4, hint=HOSTILE),
             Diagnostic("fact-unused", HOSTILE, WARNING, "q.yaml", 1, 1)]
    xml = report.render_junit(diags, [d.file for d in diags])
    xml.encode("utf-8")  # no lone surrogate left to fail the encoding
    root = assert_valid(jenkins_schema, xml)
    ElementTree.fromstring(xml.encode("utf-8"))  # the standard library's parser too
    failure = next(root.iter("failure"))
    assert "bell\\x07 nul\\x00 esc\\x1b[31m" in failure.get("message")
    assert "lone\\ud800 nonchar\\ufffe\\uffff tab\t nl\n cr\r <&>\"'" in failure.get("message")
    assert "esc\\x1b[31m" in root.find("testsuite/system-out").text or \
        "esc\\x1b[31m" in root.findall("testsuite/system-out")[0].text


def test_the_escapers_replace_exactly_what_xml_forbids() -> None:
    from engine.explain.ci import xml_attr, xml_escape

    allowed = "\t\n\r \ud7ff\ue000\ufffd\U0001f389 ≤ 中"
    assert xml_escape(allowed) == allowed
    for ch in [*map(chr, range(0x20)), "\ud800", "\udfff", "\ufffe", "\uffff"]:
        if ch in "\t\n\r":
            continue
        out = xml_escape(ch)
        assert out.startswith("\\") and ch not in out
        ElementTree.fromstring(f"<e a={xml_attr(ch)}>{out}</e>".encode("utf-8"))
