"""Decisions of v3 policies as JSON (engine/explain/render.py): array outputs as lists and
derived facts in the trace, byte for byte the same from the line encoder and from
`decision_dict`, valid against schemas/decision.schema.json; derived facts in messages."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import engine.explain.render as explain
from engine.api import load_policy
from engine.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text("utf-8"))
OFFERS = ROOT / "tests" / "fixtures" / "v3_surface" / "offers.yaml"
RECORDS = [
    {"products": ["card", "deposit"], "monthly_debt": 1000, "monthly_income": 5000},
    {"products": ["card"], "monthly_debt": 4000, "monthly_income": 5000},
    {"monthly_debt": 10, "monthly_income": 3},
    {"products": ["deposit", "deposit"], "monthly_debt": 0},  # no income: the derived fact is missing
]


@pytest.fixture(scope="module")
def ruleset():
    return load_policy(OFFERS).ruleset


@pytest.mark.parametrize("record", RECORDS)
def test_one_line_is_the_decision_dict(ruleset, record):
    d = evaluate(ruleset, record, trace=False)
    line = explain.to_json(d, indent=None)
    assert line == explain.dumps(explain.decision_dict(d), None)
    data = json.loads(line)
    jsonschema.validate(data, SCHEMA)
    assert isinstance(data["outputs"]["offers"], list)
    assert "derived" not in data  # only with the trace


def test_array_and_count_outputs(ruleset):
    data = json.loads(explain.to_json(evaluate(ruleset, RECORDS[0], trace=False), indent=None))
    assert data["outputs"] == {"offers": ["cash_plus", "card_bonus", "bundle"], "offer_count": 3}
    data = json.loads(explain.to_json(evaluate(ruleset, RECORDS[2], trace=False), indent=None))
    assert data["outputs"] == {"offers": [], "offer_count": 0}


def test_derived_facts_follow_the_facts_in_the_trace(ruleset):
    data = json.loads(explain.to_json(evaluate(ruleset, RECORDS[0])))
    jsonschema.validate(data, SCHEMA)
    keys = list(data)
    assert keys[keys.index("facts") + 1: keys.index("facts") + 3] == ["derived", "rules"]
    assert data["derived"] == {"debt_to_income": 0.2}
    assert data["facts"]["products"] == ["card", "deposit"]
    many = next(r for r in data["rules"] if r["id"] == "many")
    assert many["conditions"] == [{"kind": "fact", "subject": "products", "op": "length", "length_op": "gte",
                                   "expected": 2, "actual": ["card", "deposit"], "result": True,
                                   "location": many["conditions"][0]["location"]}]
    low = next(r for r in data["rules"] if r["id"] == "low-debt")
    assert low["conditions"][0]["kind"] == "derived" and low["conditions"][0]["actual"] == 0.2
    # a derived fact that reads a missing fact is absent, and its condition unknown
    data = json.loads(explain.to_json(evaluate(ruleset, RECORDS[3])))
    assert data["derived"] == {}
    low = next(r for r in data["rules"] if r["id"] == "low-debt")
    assert low["matched"] is None and low["conditions"][0]["result"] is None


def test_messages_and_text_show_derived_facts(ruleset):
    d = evaluate(ruleset, RECORDS[0])
    assert explain.decision_dict(d)["messages"] == [{"rule": "low-debt", "message": "Your ratio is 0.20."}]
    text = explain.explain_text(d)
    assert "  ✓ low-debt  debt_to_income 0.2 < 0.3" in text
    assert "Outputs: offers = [cash_plus, card_bonus, bundle], offer_count = 3" in text
    assert "  debt_to_income = 0.2 = {div: [monthly_debt, monthly_income]} with monthly_debt 1000, " \
           "monthly_income 5000" in text
    missing = explain.explain_text(evaluate(ruleset, RECORDS[3]))
    assert "debt_to_income = missing = {div: [monthly_debt, monthly_income]} with monthly_debt 0, " \
           "monthly_income missing" in missing
    assert "? low-debt (ok) could not be decided: missing debt_to_income" in missing
    md = explain.explain_markdown(d)
    assert "**Derived facts**" in md and "- debt_to_income = 0.2 = " in md
