"""The v3 example end to end on the command line (policies/account-loyalty.yaml: two chained
decision tables, the second's rows in a CSV beside the policy, a derived fact, a list fact
and a string operator): `verdict validate`, `eval`, `explain` in every format, `test
--coverage` on both backends, and `diff` naming table rows; goldens under
tests/golden/v3_surface/."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import golden

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "v3_surface"
SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text("utf-8"))
POLICY = "policies/account-loyalty.yaml"
USER = "examples/account-loyalty/user-gold.json"
MEMBER = json.loads((ROOT / USER).read_text("utf-8"))


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # locations read `policies/…`


def run(*args, input=None, code=0):
    r = CliRunner().invoke(main, [str(a) for a in args], input=input)
    assert r.exit_code == code, r.output
    return r.stdout


def test_validate_accepts_the_example():
    out = run("validate", POLICY)
    assert "0 errors, 0 warnings" in out


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_explain_the_example_user(fmt, ext, request):
    # no counterfactuals: over derived facts they come with the space part of issue #15
    out = run("explain", "-p", POLICY, "--format", fmt, "--no-counterfactuals", USER)
    golden(GOLDEN / f"account-loyalty-gold.{ext}", out, request)
    if fmt == "json":
        data = json.loads(out)
        jsonschema.validate(data, SCHEMA)
        keys = list(data)
        assert keys[keys.index("facts") + 1] == "derived"
        assert data["derived"] == {"debt_to_income": 0.125}
        assert data["facts"]["products"] == ["card", "deposit"]
        rows = {r["id"]: (r.get("table"), r.get("row")) for r in data["rules"]}
        assert rows["account-status#2"] == ("account-status", 2)
        assert rows["gold-tier"] == ("loyalty-tier", 2)
        assert rows["high-debt"] == (None, None)
        # a first-hit row's restated leaves are not its conditions
        gold = next(r for r in data["rules"] if r["id"] == "gold-tier")
        assert [c["subject"] for c in gold["conditions"]] == ["account_age_months", "monthly_spend", "account_status"]
        assert gold["location"].startswith("policies/account-loyalty.loyalty-tier.csv:3:")
    if fmt == "text":
        assert "table account-status (hit: first)" in out and "table loyalty-tier (hit: first)" in out
        assert "no earlier row applied (row 1)" in out
        assert "debt_to_income = 0.125 = {div: [monthly_debt, monthly_income]} with monthly_debt 1000, " \
               "monthly_income 8000" in out


def test_eval_writes_the_derived_facts_only_with_the_trace():
    plain = json.loads(run("eval", "-p", POLICY, USER))
    assert plain["outcome"] == "gold" and "derived" not in plain and "facts" not in plain
    assert plain["outputs"] == {"account_status": "good", "good_standing": True, "loyalty_discount_pct": 15,
                                "bundle_bonus_pct": 5}
    traced = json.loads(run("eval", "-p", POLICY, "--explain", "--no-counterfactuals", USER))
    assert traced["derived"] == {"debt_to_income": 0.125}
    jsonschema.validate(traced, SCHEMA)


def test_eval_a_stream_with_lists_in_csv_and_jsonl(tmp_path):
    held = {**MEMBER, "monthly_debt": 6000, "products": ["card"]}
    jsonl = tmp_path / "members.jsonl"
    jsonl.write_text("\n".join(json.dumps(m) for m in (MEMBER, held)) + "\n", "utf-8")
    lines = [json.loads(line) for line in run("eval", "-p", POLICY, jsonl).splitlines()]
    assert [d["outcome"] for d in lines] == ["gold", "hold"]
    assert [d["outputs"]["bundle_bonus_pct"] for d in lines] == [5, 0]
    assert lines[1]["reasons"][0]["message"].startswith("Your monthly repayments are 0.75 of your income")
    csv = tmp_path / "members.csv"
    head = list(MEMBER)
    rows = [",".join(head)] + [",".join('"' + json.dumps(m[k]).replace('"', '""') + '"' if isinstance(m[k], list)
                                        else str(m[k]) for k in head) for m in (MEMBER, held)]
    csv.write_text("\n".join(rows) + "\n", "utf-8")
    assert [json.loads(line) for line in run("eval", "-p", POLICY, csv).splitlines()] == lines


@pytest.mark.parametrize("backend", ["native", "durable"])
def test_the_suite_passes_with_full_coverage(backend):
    out = run("test", "policies/account-loyalty.test.yaml", "--backend", backend,
              "--min-coverage", "rules=100,boundaries=100")
    assert "passed" in out and "failed" not in out
    assert "rules         11/11   100.0%" in out


def test_a_failing_derived_expectation_is_reported(tmp_path):
    suite = (ROOT / "policies" / "account-loyalty.test.yaml").read_text("utf-8")
    suite = suite.replace("derived: {debt_to_income: 0.125}", "derived: {debt_to_income: 0.13}", 1)
    suite = suite.replace("policy: account-loyalty.yaml", f"policy: {ROOT / POLICY}", 1)
    path = tmp_path / "broken.test.yaml"
    path.write_text(suite, "utf-8")
    out = run("test", path, code=1)
    assert "derived fact debt_to_income: expected 0.13, got 0.125" in out
    assert "debt_to_income = 0.125 = {div: [monthly_debt, monthly_income]} with monthly_debt 1000, " \
           "monthly_income 8000" in out


def test_diff_names_the_rows_it_changed(tmp_path):
    # The Double 11 tiers are a table: silver members with a gold score now reach gold.
    new = tmp_path / "double11-coupon.yaml"
    text = (ROOT / "policies" / "double11-coupon.yaml").read_text("utf-8")
    new.write_text(text.replace('"gold, platinum", ', '"silver, gold, platinum", ', 1), "utf-8")
    out = run("diff", "policies/double11-coupon.yaml", new)
    assert "silver → gold: " in out and "membership = silver" in out
    assert "rules changed: gold-tier (tiers row 2)\n" in out
    md = run("diff", "--format", "markdown", "policies/double11-coupon.yaml", new)
    assert "- changed: `gold-tier` (tiers row 2)" in md


def test_a_first_hit_row_that_lost_to_an_earlier_row_says_so(tmp_path):
    path = tmp_path / "lost.test.yaml"
    path.write_text(f"""
policy: {ROOT / POLICY}
cases:
  - name: a platinum member expected at gold
    facts: {json.dumps(MEMBER | {"account_age_months": 40, "payment_history": "excellent", "monthly_spend": 1500})}
    expect: {{matched: [gold-tier]}}
""", "utf-8")
    out = run("test", path, code=1)
    assert "rule gold-tier: expected to match, did not match" in out
    assert "an earlier row of table loyalty-tier applied: row 1 (platinum-tier)" in out


def test_findings_in_a_rows_file_point_at_it_in_every_format(tmp_path):
    (tmp_path / "account-loyalty.yaml").write_text((ROOT / POLICY).read_text("utf-8"), "utf-8")
    rows = (ROOT / "policies" / "account-loyalty.loyalty-tier.csv").read_text("utf-8")
    (tmp_path / "account-loyalty.loyalty-tier.csv").write_text(
        rows.replace("gold-tier,>= 24,>= 800,", 'gold-tier,>= 24,">= 30, < 50",'), "utf-8")
    policy = tmp_path / "account-loyalty.yaml"
    csv = tmp_path / "account-loyalty.loyalty-tier.csv"
    text = run("validate", policy, code=1)
    assert f"{csv}:3:" in text and "table-cell-comparisons" in text
    github = run("validate", "--format", "github", policy, code=1)
    assert f"::error file={csv},line=3," in github
    sarif = json.loads(run("validate", "--format", "sarif", "--root", tmp_path, policy, code=1))
    (found,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "table-cell-comparisons"]
    uri = found["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "account-loyalty.loyalty-tier.csv"
    assert uri in [a["location"]["uri"] for a in sarif["runs"][0]["artifacts"]]
    junit = run("validate", "--format", "junit", policy, code=1)
    # the CSV's findings are the policy's failing test cases: the policy is not "valid"
    assert junit.count("<testsuite ") == 1 and f'name="{policy}: valid"' not in junit
    assert f'name="{csv}:3:' in junit
