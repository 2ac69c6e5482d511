"""Explanations (engine/explain/render.py): golden outputs for a user of every outcome of every
example policy in every format and language, principal reasons, message languages, and
the decision schema."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import golden

import engine.explain.render as explain
from engine.api import load_policy, load_policy_text
from engine.cli.main import main
from engine.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "explanations"
SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text("utf-8"))
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}
LANGS = ("en", "zh")
# Every golden explanation is made on one evaluation date (ignored by policies that do
# not use time), so none drifts with the calendar.
AS_OF = "2026-11-11"

# One folder per example policy: tests/golden/explanations/<policy id>/users/<name>.json.
CASES = [(policy_dir.name, user.stem)
         for policy_dir in sorted(GOLDEN.iterdir()) if policy_dir.is_dir()
         for user in sorted((policy_dir / "users").glob("*.json"))]


def policy_path(policy_id: str) -> str:
    return f"policies/{policy_id}.yaml"


def run(*args, input=None):
    r = CliRunner().invoke(main, list(args), input=input)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_every_outcome_of_every_example_policy_has_a_golden_user():
    for policy_file in sorted(p for p in (ROOT / "policies").glob("*.yaml") if not p.name.endswith(".test.yaml")):
        ruleset = load_policy(policy_file).ruleset
        users = GOLDEN / ruleset.policy.id / "users"
        reached = {evaluate(ruleset, json.loads(u.read_text("utf-8")), as_of=date.fromisoformat(AS_OF)).outcome
                   for u in users.glob("*.json")}
        assert reached >= set(ruleset.policy.outcome_ids), f"{policy_file.name}: no user for {set(ruleset.policy.outcome_ids) - reached}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("policy_id,user", CASES)
def test_golden_explanations(policy_id, user, fmt, lang, request):
    facts = GOLDEN / policy_id / "users" / f"{user}.json"
    # Run from the repository root so locations read `policies/…` whatever the cwd.
    out = run("explain", "-p", policy_path(policy_id), "--format", fmt, "--lang", lang, "--as-of", AS_OF,
              str(facts.relative_to(ROOT)))
    golden(GOLDEN / policy_id / f"{user}.{lang}.{FORMATS[fmt]}", out, request)
    if fmt == "json":
        jsonschema.validate(json.loads(out), SCHEMA)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


# -- Chinese and English everywhere -----------------------------------------------------------

DENIED = GOLDEN / "double11-coupon" / "users" / "denied-overdue.json"


@pytest.mark.parametrize("fmt", FORMATS)
def test_chinese_messages_and_remedies_in_every_format(fmt):
    out = run("explain", "-p", "policies/double11-coupon.yaml", "--format", fmt, "--lang", "zh", str(DENIED))
    assert "您的还款已逾期45天（超过30天），还清逾期欠款后可恢复资格。" in out
    assert "还清逾期欠款" in out
    if fmt == "json":
        d = json.loads(out)
        assert d["principal_reasons"][0]["message"].startswith("您的还款已逾期45天")
        assert d["counterfactuals"][0]["steps"][0]["remedy"] == "还清逾期欠款"
        assert d["counterfactuals"][0]["label"] == "白银档"
    en = run("explain", "-p", "policies/double11-coupon.yaml", "--format", fmt, "--lang", "en", str(DENIED))
    assert "Your repayment is 45 days overdue (more than 30)" in en and "Repay the overdue balance" in en


def test_language_falls_back_to_region_then_policy_language():
    policy = load_policy("policies/double11-coupon.yaml").policy
    texts = {"en": "hello", "zh": "你好"}
    assert explain.pick_language(texts, "zh-CN", policy) == "你好"
    assert explain.pick_language(texts, "fr", policy) == "hello"
    assert explain.pick_language(texts, None, policy) == "hello"
    assert explain.pick_language({"zh": "只有中文"}, "en", policy) == "只有中文"
    assert explain.pick_language(None, "en", policy) is None
    out = run("explain", "-p", "policies/double11-coupon.yaml", "--lang", "fr", str(DENIED))
    assert "Your repayment is 45 days overdue" in out and "(Repay the overdue balance)" in out


PLAIN = """
policy: plain
version: 1
language: zh
facts:
  score: {type: integer, minimum: 0, maximum: 100, remedy: 按时还款}
  days: {type: integer, minimum: 0, change: decrease, remedy: {en: Repay now, zh: 立即还款}}
  vip: {type: boolean, change: none}
outcomes: [{id: denied, adverse: true}, ok]
default: ok
rules:
  - id: late
    when: {days: {gt: 5}}
    then: {outcome: denied, reason: LATE, message: "逾期{days}天"}
  - id: low
    when: {score: {lt: 60}}
    then: {outcome: denied, reason: LOW, message: {en: "Score {score} < 60", zh: "信用分{score}低于60"}}
  - id: not-vip
    when: {vip: false}
    then: {outcome: denied, reason: NOT_VIP}
"""


def test_plain_string_messages_and_remedies_and_rule_order_without_reasons_map():
    ruleset = load_policy_text(PLAIN).ruleset
    d = evaluate(ruleset, {"score": 50, "days": 9, "vip": True})
    # No `reasons:` map: principal reasons follow rule order; strings are the policy's language.
    assert explain.principal_reasons(d, "en") == [
        {"code": "LATE", "rule": "late", "message": "逾期9天"},
        {"code": "LOW", "rule": "low", "message": "Score 50 < 60"},
    ]
    from engine.analysis.counterfactuals import counterfactuals

    cfs = counterfactuals(ruleset, d)
    text = explain.explain_text(d, "en", cfs)
    assert "To change this: score 50 → 60 (按时还款), days 9 → 5 (Repay now) ⇒ ok" in text
    d2 = evaluate(ruleset, {"score": 50, "days": 9, "vip": False})
    assert counterfactuals(ruleset, d2) == []  # vip cannot change


RANKED = """
policy: ranked
version: 1
language: en
facts:
  a: {type: integer, minimum: 0, maximum: 10}
outcomes: [{id: denied, adverse: true}, ok]
default: ok
reasons: {R1: one, R2: two, R3: three, R4: four, R5: five}
rules:
  - {id: r5, when: {a: {gte: 1}}, then: {outcome: denied, reason: R5}}
  - {id: r3, when: {a: {gte: 1}}, then: {outcome: denied, reason: R3}}
  - {id: r1, when: {a: {gte: 1}}, then: {outcome: denied, reason: R1, message: "a is {a}"}}
  - {id: r4, when: {a: {gte: 1}}, then: {outcome: denied, reason: R4}}
  - {id: r2, when: {a: {gte: 1}}, then: {outcome: denied, reason: R2}}
  - {id: r1-again, when: {a: {gte: 2}}, then: {outcome: denied, reason: R1}}
"""


def test_principal_reasons_follow_the_reasons_map_at_most_four_one_per_code():
    ruleset = load_policy_text(RANKED).ruleset
    d = evaluate(ruleset, {"a": 3})
    got = explain.principal_reasons(d)
    assert [r["code"] for r in got] == ["R1", "R2", "R3", "R4"]
    assert got[0] == {"code": "R1", "rule": "r1", "message": "a is 3"}
    assert [r["code"] for r in explain.principal_reasons(d, limit=None)] == ["R1", "R2", "R3", "R4", "R5"]
    data = explain.decision_dict(d)
    assert [r["code"] for r in data["principal_reasons"]] == ["R1", "R2", "R3", "R4"]
    jsonschema.validate(data, SCHEMA)
    text = explain.explain_text(d)
    assert "Principal reasons:\n  1. [R1] a is 3\n  2. [R2] two\n  3. [R3] three\n  4. [R4] four\n" in text
    assert "principal_reasons" not in explain.decision_dict(evaluate(ruleset, {"a": 0}))


def test_many_reasons_in_importance_order_for_the_example_policy():
    facts = GOLDEN / "double11-coupon" / "users" / "denied-many-reasons.json"
    d = json.loads(run("explain", "-p", "policies/double11-coupon.yaml", "--format", "json", str(facts)))
    assert [r["code"] for r in d["principal_reasons"]] == [
        "ACCOUNT_FROZEN", "OVERDUE_SEVERE", "REPEATED_OVERDUE", "LOW_CREDIT_SCORE"]


def test_counterfactuals_in_json_match_design_form():
    d = json.loads(run("explain", "-p", "policies/double11-coupon.yaml", "--format", "json", str(DENIED)))
    first = d["counterfactuals"][0]
    assert first["outcome"] == "silver" and first["changes"] == {"overdue_days": 30}
    assert first["remedy"] == "Repay the overdue balance" and first["verified"] is True
    assert first["steps"] == [{"fact": "overdue_days", "from": 45, "to": 30, "remedy": "Repay the overdue balance"}]
    jsonschema.validate(d, SCHEMA)


# -- message templates: the parsed-once renderer against a direct regex substitution -------------

def _reference_render(template: str, decision) -> str:
    import re

    def sub(m):
        if m.group(1) is None:
            return m.group(0)[0]
        name = m.group(1)
        for source in (decision.facts, decision.outputs):
            if name in source:
                return explain.format_value(source[name])
        if name in decision.policy.thresholds:
            return explain.format_value(decision.policy.thresholds[name].value)
        return "?"

    return re.sub(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, template)


_DECISION = None


def _a_decision():
    global _DECISION
    if _DECISION is None:
        p = load_policy("policies/double11-coupon.yaml")
        _DECISION = p.evaluate({"credit_score": 720, "overdue_days": 12, "overdue_count_12m": 0,
                                "membership": "gold", "monthly_spend": 2500.5, "account_age_days": 20,
                                "frozen": False, "loan_applications_30d": 1, "credit_utilization": 0.3})
    return _DECISION


@pytest.mark.parametrize("template, expected", [
    ("plain", "plain"), ("", ""), ("{credit_score}", "720"), ("a {{b}} {overdue_days} c", "a {b} 12 c"),
    ("{{credit_score}}", "{credit_score}"), ("{{{credit_score}}}", "{720}"), ("}}{{", "}{"),
    ("{max_overdue_days}/{coupon_yuan}/{nope}", "30/0/?"), ("{ credit_score}", "{ credit_score}"),
    ("{monthly_spend}{monthly_spend}", "2500.52500.5"), ("{1x}", "{1x}"),
])
def test_message_templates(template, expected):
    assert explain.render_template(template, _a_decision()) == expected


def test_message_templates_agree_with_a_regex_substitution():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(["{", "}", "{{", "}}", "a", " ", "_", "1", "credit_score", "coupon_yuan",
                              "max_overdue_days", "nope", "{credit_score}", "北京"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(pieces, max_size=12).map("".join))
    def check(template):
        assert explain.render_template(template, _a_decision()) == _reference_render(template, _a_decision())

    check()
