"""`verdict test` (engine/suites/): test-file loading, expectations, coverage, reports.

Coverage numbers are checked on small policies written here, whose coverage is worked out
by hand in each row's comment; the example policies' own suites must reach 100% rule and
boundary coverage on both backends.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from conftest import golden

from engine.cli.main import main
from engine.io.policies import check_policy_file, load_policy, read_file
from engine.language.model import Loc
from engine.suites import load
from engine.suites.coverage import (Coverage, _pct, boundaries, boundary_points, coverage, coverage_of, decisive,
                                   uncovered)
from engine.suites.generate import generate_boundary_suite
from engine.suites.model import Case, CaseResult, Expect
from engine.suites.render import case_block
from engine.suites.run import run_suites

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
GOLDEN = ROOT / "tests" / "golden" / "testing"

# Rules: accept (two leaves), vip (one), fresh (one, `days: 0` on an optional fact).
# Leaves: 4, so 8 condition sides. Boundaries: score 50 (49/50/51), ratio 0.5
# (0.49/0.5/0.51, ε 0.01), days 0 (no point below: minimum 0; 0 and 1): 8 points.
TINY = """\
policy: tiny
version: 1
facts:
  score: {type: integer, minimum: 0, maximum: 100}
  ratio: {type: number, minimum: 0, maximum: 1}
  member: {type: boolean, default: false}
  days: {type: integer, minimum: 0, required: false}
thresholds:
  pass_mark: 50
  max_ratio: 0.5
outcomes: [accept, review, reject]
default: reject
outputs:
  bonus: {type: integer, default: 0}
rules:
  - id: accept
    when:
      all:
        - score: {gte: pass_mark}
        - ratio: {lt: max_ratio}
    then: {outcome: accept, set: {bonus: 10}}
  - id: vip
    when: {member: true}
    then: {flags: [vip]}
  - id: fresh
    when: {days: 0}
    then: {outcome: review, reason: FRESH}
"""

# `any` and `not`: a leaf decides its rule only when no sibling already does.
# Boundaries: a 10 (9/10/11), b 10 (9/10/11), c 5 (4/5/6): 9 points.
EITHER = """\
policy: either
version: 1
facts:
  a: {type: integer, minimum: 0, maximum: 20}
  b: {type: integer, minimum: 0, maximum: 20}
  c: {type: integer, minimum: 0, maximum: 20}
outcomes: [yes, no]
default: no
rules:
  - id: either
    when:
      any:
        - a: {gte: 10}
        - b: {gte: 10}
    then: {outcome: yes}
  - id: small-c
    when: {not: {c: {gt: 5}}}
    then: {flags: [small]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_suite(path: Path):
    """One suite loaded as the CLI loads it: its bytes, and the loader's policy checker."""
    return load.load_suite(str(path), path.read_bytes(), check_policy_file)


def load_suites(paths: list[str]):
    return load.load_suites(paths, read_file, check_policy_file)


def coverage_for(tmp_path: Path, policy_text: str, cases: list[dict], epsilon: dict | None = None,
                 name: str = "p") -> Coverage:
    """Coverage of `cases` (facts only) on a policy; each case expects only what it decides."""
    policy_path = write(tmp_path, f"{name}.yaml", policy_text)
    policy = load_policy(policy_path)
    from engine.compile import compile_policy
    from engine.evaluate import evaluate

    ruleset = compile_policy(policy)
    results = []
    for i, facts in enumerate(cases):
        decision = evaluate(ruleset, facts, trace=True)
        case = Case(f"case {i}", i, facts, Expect(outcome=decision.outcome),
                            Loc("t.test.yaml", i + 1, 1, ""))
        results.append(CaseResult(case, decision, ()))
    return coverage_of(policy, results, epsilon)


# == coverage known by hand ===================================================================

BASE = {"score": 0, "ratio": 1.0}

COVERAGE_ROWS = [
    # note, policy, cases, epsilon, (rules, conditions, boundaries) as (covered, total)
    ("no case", TINY, [], None, ((0, 3), (0, 8), (0, 8))),
    # score F, ratio F, member F (default), days unknown: 3 sides; no value on a point.
    ("nothing matches, days missing", TINY, [dict(BASE)], None, ((0, 3), (3, 8), (0, 8))),
    # accept matches; score T, ratio T, member F; score = 50 with both leaves true, so the
    # score leaf decides accept: the `at` point of score 50.
    ("at the pass mark", TINY, [{"score": 50, "ratio": 0.2}], None, ((1, 3), (3, 8), (1, 8))),
    # score 49 is on the point below 50, but ratio 0.6 fails accept anyway: flipping the
    # score leaf changes nothing, so the point is reached but not covered.
    ("on a point but not deciding", TINY, [{"score": 49, "ratio": 0.6}], None, ((0, 3), (3, 8), (0, 8))),
    # days 1: `days = 0` false and alone in its rule, so deciding: the point above 0.
    ("one value, one boundary", TINY, [{**BASE, "days": 1}], None, ((0, 3), (4, 8), (1, 8))),
    # Every point, both sides of every leaf, every rule.
    ("full", TINY, [
        {"score": 49, "ratio": 0.2},                 # score below (ratio true: score decides)
        {"score": 50, "ratio": 0.2},                 # score at
        {"score": 51, "ratio": 0.2, "member": True},  # score above; vip
        {"score": 60, "ratio": 0.49},                # ratio below
        {"score": 60, "ratio": 0.5},                 # ratio at (score true: ratio decides)
        {"score": 60, "ratio": 0.51, "days": 0},     # ratio above; days at; fresh
        {**BASE, "days": 1},                         # days above
    ], None, ((3, 3), (8, 8), (8, 8))),
    # 0.45 is not within 0.01 of 0.5, but is within an epsilon of 0.1.
    ("default epsilon", TINY, [{"score": 60, "ratio": 0.45}], None, ((1, 3), (3, 8), (0, 8))),
    ("suite epsilon", TINY, [{"score": 60, "ratio": 0.45}], {"ratio": 0.1}, ((1, 3), (3, 8), (1, 8))),
    # a=10, b=10: either leaf alone keeps `any` true, so neither decides: no point covered.
    # c=5: `not (c > 5)`, c > 5 false and alone: decides small-c, the `at` point of c 5.
    ("any: no leaf decides", EITHER, [{"a": 10, "b": 10, "c": 5}], None, ((2, 2), (3, 6), (1, 9))),
    # a=10, b=0: a decides (a at 10); b=0 is on no point. c=6: above 5, decides.
    ("any: one leaf decides", EITHER, [{"a": 10, "b": 0, "c": 6}], None, ((1, 2), (3, 6), (2, 9))),
    # a=9, b=9: both false, each decides (flipping one makes `any` true): a below, b below.
    ("any: both false decide", EITHER, [{"a": 9, "b": 9, "c": 4}], None, ((1, 2), (3, 6), (3, 9))),
]


@pytest.mark.parametrize("note,policy,cases,epsilon,want", COVERAGE_ROWS, ids=[r[0] for r in COVERAGE_ROWS])
def test_coverage_counts(tmp_path, note, policy, cases, epsilon, want):
    cov = coverage_for(tmp_path, policy, cases, epsilon)
    counts = cov.counts()
    assert (counts["rules"], counts["conditions"], counts["boundaries"]) == want


def test_uncovered_lists_each_gap_with_its_location(tmp_path):
    cov = coverage_for(tmp_path, TINY, [{"score": 49, "ratio": 0.6}])
    texts = [text for _, text in uncovered(cov)]
    assert "rule accept: never matched" in texts
    assert "condition member = true in vip: never true" in texts
    assert "condition days = 0 in fresh: never true or false" in texts
    below = next(t for t in texts if t.startswith("boundary pass_mark (50) of score: just below (49)"))
    assert "reached by `case 0`, but no comparison at it decided its rule there" in below
    # days 0 has no point below (minimum 0): only `at` and `above` are listed.
    assert not any("of days: just below" in t for t in texts)
    locs = {text: loc for loc, text in uncovered(cov)}
    assert locs["rule accept: never matched"].line == 16  # `- id: accept`


def test_percentages_round_down_and_empty_totals_are_full(tmp_path):
    cov = coverage_for(tmp_path, TINY, [{"score": 50, "ratio": 0.2}])
    assert cov.percent() == {"rules": 33.3, "conditions": 37.5, "boundaries": 12.5}
    assert _pct(2, 3) == 66.6
    assert _pct(0, 0) == 100.0


BOUNDARY_POINT_ROWS = [
    # note, type, minimum, maximum, t, epsilon, (below, at, above)
    ("integer", "integer", 0, 100, 50, None, (49, 50, 51)),
    ("integer at its minimum", "integer", 0, None, 0, None, (None, 0, 1)),
    ("integer at its maximum", "integer", 0, 10, 10, None, (9, 10, None)),
    ("number, decimal arithmetic", "number", 0, None, 0.9, None, (0.89, 0.9, 0.91)),
    ("number, suite epsilon", "number", 0, None, 2000, 1, (1999, 2000, 2001)),
    ("number near its minimum", "number", 0, None, 0.005, None, (0, 0.005, 0.015)),
    ("number at its minimum", "number", 0, None, 0, None, (None, 0, 0.01)),
]


@pytest.mark.parametrize("note,ftype,lo,hi,t,eps,want", BOUNDARY_POINT_ROWS, ids=[r[0] for r in BOUNDARY_POINT_ROWS])
def test_boundary_points(note, ftype, lo, hi, t, eps, want):
    from engine.language.model import FactSpec

    points, _ = boundary_points(FactSpec("x", ftype, minimum=lo, maximum=hi), t, eps)
    assert tuple(p.value for p in points) == want


def test_boundaries_are_shared_by_comparisons_of_one_fact_with_one_value():
    policy = load_policy(POLICIES / "double11-coupon.yaml")
    found = {(b.fact, b.value): b for b in boundaries(policy)}
    # overdue-severe (> max_overdue_days) and the top of overdue-warning's `between`
    b = found[("overdue_days", 30)]
    assert b.names == ("max_overdue_days",)
    assert [policy.rules[ri].id for ri, _ in b.uses] == ["overdue-severe", "overdue-warning"]
    # literal operands count too: `overdue_days: 0` (platinum) and `between: [1, …]`
    assert ("overdue_days", 0) in found and ("overdue_days", 1) in found
    # strings, booleans and outcome comparisons have no boundary
    assert not any(f in ("membership", "frozen") for f, _ in found)


def test_decisive_reads_the_rule_tree():
    from engine.language.model import All, Any, Comparison, Not, Operand, Rule

    def leaf(i):
        return Comparison("fact", f"f{i}", "eq", Operand(1), i)

    rule = Rule("r", 0, All((leaf(0), Any((leaf(1), Not(leaf(2)))))), None, leaves=(leaf(0), leaf(1), leaf(2)))
    # f0 true, f1 false, f2 false (so `not f2` true): the rule is true.
    assert decisive(rule, (True, False, False), 0)  # flipping f0 fails the `all`
    assert not decisive(rule, (True, False, False), 1)  # `not f2` keeps the `any` true
    assert decisive(rule, (True, False, False), 2)  # now the `any` has nothing left
    assert not decisive(rule, (None, False, False), 0)  # an unknown leaf decides nothing


# == loading test files =======================================================================

LOAD_ROWS = [
    # note, suite text (cases use profile `ok` unless they say), code, line
    ("typo in a case key", """\
        cases:
          - name: a
            base: ok
            expects: {outcome: accept}
        """, "schema-unknown-key", 4),
    ("no cases", """\
        profiles: {}
        """, "schema-missing-key", 1),
    ("expect is empty", """\
        cases:
          - {name: a, base: ok, expect: {}}
        """, "schema-empty", 2),
    ("unknown fact", """\
        cases:
          - {name: a, base: ok, facts: {scroe: 3}, expect: {outcome: accept}}
        """, "test-unknown-fact", 2),
    ("fact out of range", """\
        cases:
          - name: a
            base: ok
            facts: {score: 101}
            expect: {outcome: accept}
        """, "test-bad-fact", 4),
    ("fact of the wrong type in a profile", """\
        profiles:
          bad: {member: "yes"}
        cases:
          - {name: a, base: [ok, bad], expect: {outcome: accept}}
        """, "test-bad-fact", 2),
    ("required fact missing", """\
        cases:
          - name: a
            facts: {score: 3}
            expect: {outcome: accept}
        """, "test-missing-fact", 3),
    ("unknown profile", """\
        cases:
          - {name: a, base: okk, expect: {outcome: accept}}
        """, "test-unknown-profile", 2),
    ("duplicate case name", """\
        cases:
          - {name: a, base: ok, expect: {outcome: accept}}
          - {name: a, base: ok, expect: {outcome: reject}}
        """, "test-duplicate-case", 3),
    ("unknown outcome", """\
        cases:
          - {name: a, base: ok, expect: {outcome: accepted}}
        """, "test-unknown-outcome", 2),
    ("unknown rule", """\
        cases:
          - {name: a, base: ok, expect: {matched: [acept]}}
        """, "test-unknown-rule", 2),
    ("unknown reason", """\
        cases:
          - {name: a, base: ok, expect: {reasons: {contains: [FRESHH]}}}
        """, "test-unknown-reason", 2),
    ("unknown flag", """\
        cases:
          - {name: a, base: ok, expect: {flags: [vipp]}}
        """, "test-unknown-flag", 2),
    ("unknown output", """\
        cases:
          - {name: a, base: ok, expect: {outputs: {bonsu: 1}}}
        """, "test-unknown-output", 2),
    ("output of the wrong type", """\
        cases:
          - {name: a, base: ok, expect: {outputs: {bonus: true}}}
        """, "test-bad-output", 2),
    ("matched and not matched", """\
        cases:
          - {name: a, base: ok, expect: {matched: [vip], not_matched: [vip]}}
        """, "test-contradiction", 2),
    ("epsilon for an integer fact", """\
        epsilon: {score: 1}
        cases:
          - {name: a, base: ok, expect: {outcome: accept}}
        """, "test-bad-epsilon", 1),
    ("policy not found", """\
        policy: nowhere.yaml
        cases:
          - {name: a, base: ok, expect: {outcome: accept}}
        """, "test-policy-missing", 1),
    ("yaml syntax", """\
        cases:
          - name: a
           expect: {outcome: accept}
        """, "yaml-syntax", 3),
]


@pytest.mark.parametrize("note,text,code,line", LOAD_ROWS, ids=[r[0] for r in LOAD_ROWS])
def test_invalid_test_files_are_located(tmp_path, note, text, code, line):
    write(tmp_path, "tiny.yaml", TINY)
    body = textwrap.dedent(text)
    if "profiles:" not in body and "ok" in body:
        body = "profiles:\n  ok: {score: 50, ratio: 0.2}\n" + body
        line += 2
    elif "profiles:\n  bad" in body:
        body = body.replace("profiles:\n", "profiles:\n  ok: {score: 50, ratio: 0.2}\n")
        line += 1
    path = write(tmp_path, "tiny.test.yaml", body)
    suite, diags = load_suite(path)
    assert suite is None
    hits = [d for d in diags if d.code == code]
    assert hits, [d.render() for d in diags]
    assert hits[0].line == line, hits[0].render()
    assert hits[0].file == str(path)


def test_did_you_mean_hints(tmp_path):
    write(tmp_path, "tiny.yaml", TINY)
    path = write(tmp_path, "tiny.test.yaml", """\
        profiles: {ok: {score: 50, ratio: 0.2}}
        cases:
          - {name: a, base: ok, facts: {scroe: 3}, expect: {outcome: acept, matched: [acept]}}
        """)
    _, diags = load_suite(path)
    hints = {d.code: d.hint for d in diags}
    assert hints["test-unknown-fact"] == "did you mean `score`?"
    assert hints["test-unknown-outcome"] == "did you mean `accept`?"
    assert hints["test-unknown-rule"] == "did you mean `accept`?"


def test_an_invalid_policy_is_reported_with_its_own_diagnostics(tmp_path):
    write(tmp_path, "tiny.yaml", TINY.replace("pass_mark}", "pass_marc}"))
    path = write(tmp_path, "tiny.test.yaml", "cases:\n  - {name: a, facts: {score: 1, ratio: 0}, "
                                              "expect: {outcome: accept}}\n")
    _, diags = load_suite(path)
    codes = [d.code for d in diags]
    assert "test-policy-invalid" in codes and "unknown-threshold" in codes


def test_profiles_merge_in_order_and_null_removes_a_fact(tmp_path):
    write(tmp_path, "tiny.yaml", TINY)
    path = write(tmp_path, "tiny.test.yaml", """\
        profiles:
          one: {score: 50, ratio: 0.2, days: 3}
          two: {score: 70}
        cases:
          - {name: a, base: [one, two], facts: {days: null, member: true}, expect: {outcome: accept}}
        """)
    suite, diags = load_suite(path)
    assert suite is not None, diags
    assert suite.cases[0].record == {"score": 70, "ratio": 0.2, "member": True}


def test_default_policy_beside_or_above_a_tests_folder(tmp_path):
    write(tmp_path, "tiny.yaml", TINY)
    assert load.default_policy_path(tmp_path / "tiny.test.yaml") == str(tmp_path / "tiny.yaml")
    assert load.default_policy_path(tmp_path / "tests" / "tiny.test.yaml") == str(tmp_path / "tiny.yaml")
    assert load.default_policy_path(tmp_path / "tiny.edges.test.yaml") == str(tmp_path / "tiny.yaml")
    assert load.default_policy_path(tmp_path / "other.test.yaml") is None


def test_discovery(tmp_path):
    write(tmp_path, "a/tiny.yaml", TINY)
    write(tmp_path, "a/tiny.test.yaml", "cases: []\n")
    write(tmp_path, "a/tests/tiny.edges.test.yaml", "cases: []\n")
    write(tmp_path, "a/.hidden/x.test.yaml", "cases: []\n")
    write(tmp_path, "b/lonely.yaml", TINY)
    found, problems = load.discover_tests([str(tmp_path / "a")])
    assert [Path(f).relative_to(tmp_path).as_posix() for f in found] == ["a/tests/tiny.edges.test.yaml",
                                                                        "a/tiny.test.yaml"]
    found, problems = load.discover_tests([str(tmp_path / "a" / "tiny.yaml")])
    assert len(found) == 2 and not problems
    found, problems = load.discover_tests([str(tmp_path / "b" / "lonely.yaml"), str(tmp_path / "nope")])
    assert found == [] and len(problems) == 2


def test_loading_goes_through_what_the_caller_hands_in(tmp_path):
    """The suite loader opens no file: a test file's bytes come from `read`, each policy from
    `check`, once however many suites name it; and coverage merges the suites sharing it."""
    write(tmp_path, "tiny.yaml", TINY)
    first = write(tmp_path, "tiny.test.yaml", "on disk, but never read: [")
    second = write(tmp_path, "tests/tiny.more.test.yaml", "never read either: [")
    texts = {str(first): "cases:\n  - {name: a, facts: {score: 50, ratio: 0.2}, expect: {outcome: accept}}\n",
             str(second): "policy: ../tiny.yaml\n"
                          "cases:\n  - {name: b, facts: {score: 49, ratio: 0.2}, expect: {outcome: reject}}\n"}
    checked = []

    def check(path):
        checked.append(path)
        return check_policy_file(path)

    suites, diags = load.load_suites([str(first), str(second)], lambda p: (texts[p].encode(), []), check)
    assert not diags and [s.cases[0].name for s in suites] == ["a", "b"]
    assert checked == [str(tmp_path / "tiny.yaml")] and suites[0].policy is suites[1].policy
    (cov,) = coverage(run_suites(suites))
    assert cov.cases == 2


def test_an_unreadable_test_file_gets_the_readers_diagnostic():
    from engine.language.diagnostics import ERROR, Diagnostic

    def no_policy(path):
        raise AssertionError(f"no policy is needed, {path} was asked for")

    gone = Diagnostic("unreadable", "no such file", ERROR, "gone.test.yaml")
    assert load.load_suites(["gone.test.yaml"], lambda p: (None, [gone]), no_policy) == ([], [gone])


def test_suites_read_no_file_and_explain_never_imports_suites():
    """Only the CLI and the I/O edge read files; explain is below suites, never above."""
    readers = {"open", "read_text", "read_bytes", "read_file", "check_policy_file", "load_policy", "load_schema"}
    for path in sorted((ROOT / "engine" / "suites").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not {a.name for a in node.names} & readers, f"{path.name}:{node.lineno}"
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                assert name not in readers, f"{path.name}:{node.lineno} calls {name}"
    for path in sorted((ROOT / "engine" / "explain").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any("suites" in m for m in modules), f"{path.name}:{node.lineno}"


def test_validate_does_not_import_the_suites():
    # `verdict validate` start-up matters: the test machinery stays out of it.
    code = ("import sys\nfrom engine.cli.main import main\ntry:\n    main(['validate', 'policies/'])\n"
            "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.startswith('engine.suites')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    *report, imported = proc.stdout.splitlines()
    assert "files checked" in report[-1] and imported == "[]", proc.stdout + proc.stderr


# == expectations =============================================================================

EXPECT_ROWS = [
    # note, facts, expect (YAML flow), failure messages (empty: passes)
    ("outcome passes", {"score": 50, "ratio": 0.2}, "{outcome: accept}", []),
    ("outcome fails", {"score": 50, "ratio": 0.2}, "{outcome: reject}", ["outcome: expected reject, got accept"]),
    ("reasons exact, none expected", {**BASE, "days": 0}, "{reasons: []}", ["reasons: expected [], got [FRESH]"]),
    ("reasons exact passes", {**BASE, "days": 0}, "{reasons: [FRESH]}", []),
    ("reasons contains", {**BASE, "days": 1}, "{reasons: {contains: [FRESH]}}",
     ["reasons: missing FRESH (got [])"]),
    ("reasons excludes", {**BASE, "days": 0}, "{reasons: {excludes: [FRESH]}}",
     ["reasons: unexpected FRESH (got [FRESH])"]),
    ("matched", {"score": 49, "ratio": 0.2}, "{matched: [accept]}", ["rule accept: expected to match, did not match"]),
    ("not matched", {"score": 50, "ratio": 0.2}, "{not_matched: [accept]}",
     ["rule accept: expected not to match, matched"]),
    ("not matched is not undetermined", dict(BASE), "{not_matched: [fresh]}",
     ["rule fresh: expected not to match, was undetermined"]),
    ("undetermined passes", dict(BASE), "{undetermined: [fresh]}", []),
    ("undetermined fails", {**BASE, "days": 1}, "{undetermined: [fresh]}",
     ["rule fresh: expected to be undetermined, did not match"]),
    ("flags exact", {**BASE, "member": True}, "{flags: []}", ["flags: expected [], got [vip]"]),
    ("flags contains passes", {**BASE, "member": True}, "{flags: {contains: [vip]}}", []),
    ("outputs", dict(BASE), "{outputs: {bonus: 10}}", ["output bonus: expected 10, got 0"]),
    ("outputs compare numbers numerically", {"score": 50, "ratio": 0.2}, "{outputs: {bonus: 10.0}}", []),
    ("every failure is reported", {"score": 50, "ratio": 0.2}, "{outcome: reject, flags: [vip], matched: [fresh]}",
     ["outcome: expected reject, got accept", "rule fresh: expected to match, was undetermined",
      "flags: expected [vip], got []"]),
]


@pytest.mark.parametrize("note,facts,expect,messages", EXPECT_ROWS, ids=[r[0] for r in EXPECT_ROWS])
def test_expectations(tmp_path, note, facts, expect, messages):
    write(tmp_path, "tiny.yaml", TINY)
    path = write(tmp_path, "tiny.test.yaml", f"cases:\n  - name: c\n    facts: {json.dumps(facts)}\n"
                                              f"    expect: {expect}\n")
    suites, diags = load_suites([str(path)])
    assert suites, [d.render() for d in diags]
    (result,) = run_suites(suites).results
    assert [f.message for f in result.failures] == messages


def test_failure_details_name_rules_and_conditions(tmp_path):
    write(tmp_path, "tiny.yaml", TINY)
    path = write(tmp_path, "tiny.test.yaml", "cases:\n  - {name: c, facts: {score: 49, ratio: 0.2}, "
                                              "expect: {outcome: accept}}\n")
    suites, _ = load_suites([str(path)])
    (result,) = run_suites(suites).results
    (failure,) = result.failures
    assert failure.details == (
        "no rule decided the outcome; `reject` is the policy's default",
        f"accept (accept) did not match: score 49 is not ≥ pass_mark (50)  ({tmp_path / 'tiny.yaml'}:19)",
    )


# == the example policies =====================================================================

def example_policies() -> list[Path]:
    return sorted(p for p in POLICIES.glob("*.yaml") if not load.is_test_file(p))


@pytest.mark.parametrize("backend", ["native", "durable"])
@pytest.mark.parametrize("policy_path", example_policies(), ids=lambda p: p.stem)
def test_every_example_policy_has_a_passing_suite_with_full_coverage(policy_path, backend):
    if backend == "durable":
        pytest.importorskip("durable")
    files, problems = load.discover_tests([str(policy_path)])
    assert files and not problems, f"{policy_path.name} has no test suite: {problems}"
    suites, diags = load_suites(files)
    assert not [d for d in diags if d.severity == "error"], [d.render() for d in diags]
    run = run_suites(suites, backend)
    failed = [r for r in run.results if not r.passed]
    assert not failed, "\n".join(line for r in failed for line in case_block(r))
    (cov,) = coverage(run)
    counts = cov.counts()
    assert counts["rules"][0] == counts["rules"][1], uncovered(cov)
    assert counts["boundaries"][0] == counts["boundaries"][1], uncovered(cov)


# == the 700 → 701 mutation ===================================================================

@pytest.fixture
def mutated(tmp_path, monkeypatch):
    """A copy of double11-coupon with gold_credit_score 700 → 701, and its suite; cwd there."""
    shutil.copy(POLICIES / "double11-coupon.test.yaml", tmp_path)
    text = (POLICIES / "double11-coupon.yaml").read_text("utf-8")
    assert "gold_credit_score: 700\n" in text
    (tmp_path / "double11-coupon.yaml").write_text(text.replace("gold_credit_score: 700\n",
                                                                "gold_credit_score: 701\n"), "utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args: str):
    return CliRunner().invoke(main, ["test", *args])


def test_a_moved_threshold_fails_naming_case_outcomes_rule_and_condition(mutated):
    result = run_cli("double11-coupon.test.yaml")
    assert result.exit_code == 1, result.output
    out = result.output
    block = out.split("\n\n")[0]
    line = next(i for i, ln in enumerate((mutated / "double11-coupon.test.yaml").read_text("utf-8").splitlines(), 1)
                if "name: gold member at exactly 700 is gold" in ln)
    assert block.startswith(f"FAIL double11-coupon.test.yaml:{line}  gold member at exactly 700 is gold\n")
    assert "  outcome: expected gold, got basic\n" in block
    assert "    decided by basic-tier: " in block
    assert "    gold-tier (gold) did not match: credit_score 700 is not ≥ gold_credit_score (701)" \
           "  (double11-coupon.yaml:194)\n" in block
    assert "  actual decision:\n    BASIC  double11-coupon v1" in block
    assert out.rstrip().endswith("FAILED 1 failed, 53 passed: 54 cases in 1 file (backend native)")


def test_golden_failing_run(mutated, request):
    for fmt, suffix in (("text", "txt"), ("markdown", "md")):
        result = run_cli("--format", fmt, "--coverage", "double11-coupon.test.yaml")
        assert result.exit_code == 1
        golden(GOLDEN / f"double11-mutated.{suffix}", result.output, request)


# == report formats ===========================================================================

def test_junit_parses_with_a_standard_parser(mutated):
    junitparser = pytest.importorskip("junitparser")
    result = run_cli("--format", "junit", "--min-coverage", "rules=100", "double11-coupon.test.yaml")
    assert result.exit_code == 1
    xml = junitparser.JUnitXml.fromstring(result.output.encode("utf-8"))  # lxml refuses a str with a declaration
    suites = list(xml)
    assert [s.name for s in suites] == ["double11-coupon.test.yaml", "coverage"]
    cases = list(suites[0])
    assert len(cases) == 54 and suites[0].tests == 54 and suites[0].failures == 1
    failed = [c for c in cases if not c.is_passed]
    assert [c.name for c in failed] == ["gold member at exactly 700 is gold"]
    (failure,) = failed[0].result
    assert failure.message.startswith("outcome: expected gold, got basic")
    assert "credit_score 700 is not ≥ gold_credit_score (701)" in failure.text
    assert failed[0].classname == "double11-coupon"
    assert all(c.is_passed for c in suites[1])  # rules stay at 100%


HOSTILE_NAMES = ['says "hi"', "it's <b> & co", "colon: comma, 100%"]


def test_reports_keep_hostile_case_names_intact(tmp_path, monkeypatch):
    write(tmp_path, "tiny.yaml", TINY)
    write(tmp_path, "tiny.test.yaml", "cases:\n" + "".join(
        f"  - name: {json.dumps(name)}\n    facts: {{score: 50, ratio: 0.2}}\n    expect: {{outcome: {want}}}\n"
        for name, want in zip(HOSTILE_NAMES, ["accept", "reject", "reject"])))
    monkeypatch.chdir(tmp_path)
    junit = ElementTree.fromstring(run_cli("--format", "junit", "tiny.test.yaml").output)
    assert [c.get("name") for c in junit.iter("testcase")] == HOSTILE_NAMES
    assert [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None] == HOSTILE_NAMES[1:]
    github = run_cli("--format", "github", "tiny.test.yaml").output.splitlines()
    titles = [re.match(r"::error file=tiny\.test\.yaml,line=\d+,col=\d+,title=(.*?)::", ln).group(1)
              for ln in github if ln.startswith("::error")]
    assert titles == ["verdict test%3A it's <b> & co", "verdict test%3A colon%3A comma%2C 100%25"]
    markdown = run_cli("--format", "markdown", "tiny.test.yaml").output
    assert "- **it's &lt;b> & co** (`tiny.test.yaml:" in markdown


def test_json_report(mutated):
    result = run_cli("--format", "json", "--coverage", "double11-coupon.test.yaml")
    doc = json.loads(result.output)
    assert doc["ok"] is False and doc["summary"] == {"cases": 54, "passed": 53, "failed": 1, "files": 1}
    (case,) = [c for c in doc["files"][0]["cases"] if c["status"] == "fail"]
    assert case["failures"][0] == {
        "check": "outcome", "expected": "gold", "actual": "basic",
        "message": "outcome: expected gold, got basic", "details": case["failures"][0]["details"]}
    assert case["decision"]["outcome"] == "basic" and case["facts"]["credit_score"] == 700
    summary = doc["coverage"][0]["summary"]
    assert summary["rules"] == {"covered": 12, "total": 12, "percent": 100.0}


def test_github_annotations(mutated):
    result = run_cli("--format", "github", "--coverage", "double11-coupon.test.yaml")
    lines = result.output.splitlines()
    errors = [ln for ln in lines if ln.startswith("::error ")]
    assert len(errors) == 1
    assert re.match(r"::error file=double11-coupon\.test\.yaml,line=\d+,col=\d+,title=verdict test%3A gold member "
                    r"at exactly 700 is gold::outcome: expected gold, got basic%0A", errors[0])
    # the moved threshold leaves its new just-above point (702) untested
    assert any(ln.startswith("::warning file=double11-coupon.yaml,line=194,") for ln in lines)


def test_markdown_summary_file(mutated):
    result = run_cli("--markdown-summary", "summary.md", "--coverage", "double11-coupon.test.yaml")
    assert result.exit_code == 1
    md = (mutated / "summary.md").read_text("utf-8")
    assert md.startswith("### ❌ verdict test: 53 passed, 1 failed (native backend)\n")
    assert "| `double11-coupon` v1 | 54 (1 failed) | 100.0% (12/12) |" in md


# == the command line =========================================================================

def test_cli_passes_on_the_example_suites():
    result = run_cli(str(POLICIES / "double11-coupon.test.yaml"), "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert "OK 54 passed" in result.output


@pytest.mark.parametrize("args,code,message", [
    (["--min-coverage", "lots"], 2, "--min-coverage: `lots` is not a percentage"),
    (["--min-coverage", "branches=90"], 2, "unknown coverage metric `branches`"),
    (["-k", "("], 2, "--run: invalid regular expression"),
    (["-k", "no case has this name"], 2, "--run: no case name matches"),
    (["nowhere/"], 2, "nowhere/: no such file or folder"),
])
def test_cli_usage_errors(args, code, message):
    result = run_cli(*args, str(POLICIES / "double11-coupon.test.yaml"))
    assert result.exit_code == code
    assert message in result.output


def test_cli_invalid_test_file_exits_2_with_located_findings(tmp_path, monkeypatch):
    write(tmp_path, "tiny.yaml", TINY)
    write(tmp_path, "tiny.test.yaml", "cases:\n  - {name: a, facts: {score: 1, ratio: 0}, expect: {outcome: yes}}\n")
    monkeypatch.chdir(tmp_path)
    result = run_cli()
    assert result.exit_code == 2
    assert "tiny.test.yaml:2:62: error test-unknown-outcome: `yes` is not an outcome of `tiny`" in result.output


def test_cli_no_test_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli()
    assert result.exit_code == 2 and "no test files" in result.output


def test_cli_min_coverage_gate(tmp_path, monkeypatch):
    write(tmp_path, "tiny.yaml", TINY)
    write(tmp_path, "tiny.test.yaml", "cases:\n  - {name: a, facts: {score: 50, ratio: 0.2}, "
                                      "expect: {outcome: accept}}\n")
    monkeypatch.chdir(tmp_path)
    assert run_cli().exit_code == 0
    gated = run_cli("--min-coverage", "30")
    assert gated.exit_code == 1
    assert "coverage gate: tiny: boundaries coverage 12.5% (1/8) is below the minimum 30%" in gated.output
    assert run_cli("--min-coverage", "rules=30").exit_code == 0


def test_cli_select_and_verbose():
    result = run_cli("-v", "-k", "^gold member", str(POLICIES / "double11-coupon.test.yaml"))
    assert result.exit_code == 0
    listed = [ln for ln in result.output.splitlines() if ln.startswith("  ok   ")]
    assert listed and all(ln.startswith("  ok   gold member") for ln in listed)


def test_cli_durable_backend():
    pytest.importorskip("durable")
    result = run_cli("--backend", "durable", "--coverage", str(POLICIES / "double11-coupon.test.yaml"))
    assert result.exit_code == 0, result.output
    assert "(backend durable)" in result.output


def test_schema_command_prints_the_test_schema():
    result = CliRunner().invoke(main, ["schema", "test"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "verdict policy test suite"


def test_validate_skips_test_files():
    result = CliRunner().invoke(main, ["validate", str(POLICIES)])
    assert ".test.yaml" not in result.output


# == generating boundary cases ================================================================

def test_generated_suite_covers_every_boundary_of_a_small_policy(tmp_path, monkeypatch):
    write(tmp_path, "tiny.yaml", TINY)
    monkeypatch.chdir(tmp_path)
    result = run_cli("--generate-boundaries", "tiny.yaml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "tiny.test.yaml").read_text("utf-8")
    # No schemas/ above tmp_path: no modeline, rather than a path into verdict's checkout.
    assert text.startswith("# Boundary cases for `tiny`") and "yaml-language-server" not in text
    assert text.count("\n  - name: ") == 8  # the 8 reachable points
    assert "NOTE" not in text
    assert '- name: "score 49: just below pass_mark (50)"' in text
    run = run_cli("--min-coverage", "boundaries=100", "tiny.test.yaml")
    assert run.exit_code == 0, run.output
    again = run_cli("--generate-boundaries", "tiny.yaml")
    assert again.exit_code == 2 and "use --force" in again.output
    assert run_cli("--generate-boundaries", "tiny.yaml", "--force").exit_code == 0


@pytest.mark.parametrize("policy_path", example_policies(), ids=lambda p: p.stem)
def test_generated_suites_of_the_example_policies_pass(tmp_path, policy_path):
    shutil.copy(policy_path, tmp_path)
    for rows in policy_path.parent.glob(policy_path.stem + ".*.csv"):  # a table's rows beside it
        shutil.copy(rows, tmp_path)
    policy = load_policy(tmp_path / policy_path.name)
    text = generate_boundary_suite(policy, policy_path.name)
    suite_path = write(tmp_path, "generated.test.yaml", text)
    suites, diags = load_suites([str(suite_path)])
    assert suites, [d.render() for d in diags]
    run = run_suites(suites)
    assert run.ok, [f.message for r in run.results for f in r.failures]
    (cov,) = coverage(run)
    covered, total = cov.counts()["boundaries"]
    notes = text.count("# NOTE")
    assert total - covered <= notes, uncovered(cov)
