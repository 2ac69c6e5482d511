"""`verdict diff`: regions where the outcome changes, with witnesses; thresholds and rules by
name; counts over a dataset. A policy against itself changes nothing."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis.findings import verdict_of
from engine.cli.main import main
from engine.compile import compile_policy
from engine.analysis.diff import diff_policies
from engine.evaluate import evaluate
from engine.io.policies import load_policy
from engine.language.source import load_bytes
from engine.language.validate import validate

ROOT = Path(__file__).resolve().parent.parent
DOUBLE11 = ROOT / "policies" / "double11-coupon.yaml"


def raised(tmp_path: Path, old: str = "700", new: str = "720") -> Path:
    path = tmp_path / "double11-raised.yaml"
    path.write_text(DOUBLE11.read_text().replace(f"  gold_credit_score: {old}\n", f"  gold_credit_score: {new}\n"))
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_policy_against_itself_changes_nothing():
    p = load_policy(DOUBLE11)
    d = diff_policies(p, p)
    assert d.unchanged and d.complete
    assert not (d.thresholds or d.rules_added or d.rules_removed or d.rules_changed or d.rules_affected or d.other)
    result = run("diff", "--exit-code", DOUBLE11, DOUBLE11)
    assert result.exit_code == 0, result.output
    assert "no outcome changes" in result.output


def test_gold_threshold_raised_moves_700_to_719_out_of_gold(tmp_path):
    new = raised(tmp_path)
    d = diff_policies(load_policy(DOUBLE11), load_policy(new))
    assert [(c.old, c.new) for c in d.changes] == [("gold", "silver"), ("gold", "basic"), ("gold", "ineligible")]
    for c in d.changes:
        assert c.region.startswith("credit_score 700..719 and overdue_days ≤ 3 and overdue_count_12m < 3 and "
                                   "membership in [gold, platinum] and ")
        assert c.region.endswith("and frozen = false")
        assert c.verified
        assert 700 <= c.witness["credit_score"] <= 719
        ruleset_old, ruleset_new = compile_policy(load_policy(DOUBLE11)), compile_policy(load_policy(new))
        assert evaluate(ruleset_old, c.witness, trace=False).outcome == "gold"
        assert evaluate(ruleset_new, c.witness, trace=False).outcome == c.new
    assert d.thresholds == [("gold_credit_score", 700, 720)]
    assert d.rules_affected == ["gold-tier"] and d.rules_changed == []
    text = run("diff", DOUBLE11, new).output
    assert "gold → silver: credit_score 700..719 and" in text
    assert "gold_credit_score: 700 → 720" in text
    assert run("diff", "--exit-code", DOUBLE11, new).exit_code == 1


def test_json_and_markdown_formats(tmp_path):
    new = raised(tmp_path)
    doc = json.loads(run("diff", "--format", "json", DOUBLE11, new).output)
    assert doc["unchanged"] is False
    assert {(c["from"], c["to"]) for c in doc["changes"]} == {("gold", "silver"), ("gold", "basic"),
                                                              ("gold", "ineligible")}
    assert all(c["verified"] and c["witness"]["membership"] in ("gold", "platinum") for c in doc["changes"])
    assert doc["thresholds"] == [{"name": "gold_credit_score", "old": 700, "new": 720}]
    md = run("diff", "--format", "markdown", DOUBLE11, new).output
    assert "| gold | silver | credit_score 700..719 and" in md
    assert "- `gold_credit_score`: 700 → 720" in md


def test_rules_added_removed_changed_by_name(tmp_path):
    text = DOUBLE11.read_text()
    text = text.replace("  - id: new-user\n", "  - id: fresh-user\n")
    text = text.replace('">= silver_monthly_spend", "-",', '">= 2500",                "-",', 1)
    path = tmp_path / "edited.yaml"
    path.write_text(text)
    d = diff_policies(load_policy(DOUBLE11), load_policy(path))
    assert d.rules_added == ["fresh-user"] and d.rules_removed == ["new-user"]
    assert d.rules_changed == ["silver-tier"]
    assert {(c.old, c.new) for c in d.changes} == {("silver", "basic"), ("silver", "ineligible")}
    assert all("2000 ≤ monthly_spend < 2500" in c.region for c in d.changes)


def test_facts_dataset_matrix(tmp_path):
    new = raised(tmp_path)
    rng = random.Random(7)
    rows = []
    for _ in range(300):
        rows.append({"credit_score": rng.randint(680, 740), "overdue_days": rng.choice([0, 2, 5]),
                     "overdue_count_12m": 0, "membership": rng.choice(["gold", "silver"]),
                     "monthly_spend": rng.choice([0, 3000]), "account_age_days": rng.choice([10, 200]),
                     "frozen": False, "loan_applications_30d": 0, "credit_utilization": 0.1})
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    old_p, new_p = load_policy(DOUBLE11), load_policy(new)
    expected: dict = {}
    for r in rows:
        key = (verdict_of(old_p, r).outcome, verdict_of(new_p, r).outcome)
        expected[key] = expected.get(key, 0) + 1
    doc = json.loads(run("diff", "--format", "json", "--facts", jsonl, DOUBLE11, new).output)
    got = {(m["from"], m["to"]): m["count"] for m in doc["records"]["matrix"]}
    assert got == expected
    assert doc["records"]["total"] == 300
    assert doc["records"]["changed"] == sum(n for (a, b), n in expected.items() if a != b) > 0
    # CSV too, in the text format
    csv_path = tmp_path / "users.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    text = run("diff", "--facts", csv_path, DOUBLE11, new).output
    assert f"records: 300 read, {doc['records']['changed']} change outcome" in text


def test_count_records_takes_records_already_read_and_reads_no_file(tmp_path):
    from engine.analysis.diff import count_records
    from engine.io.records import Record

    new = raised(tmp_path)
    d = diff_policies(load_policy(DOUBLE11), load_policy(new))
    user = {"credit_score": 710, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
            "monthly_spend": 3000, "account_age_days": 200, "frozen": False, "loan_applications_30d": 0,
            "credit_utilization": 0.1}
    records = [Record("1", user), Record("2", {**user, "credit_score": 800}), Record("3", error="not JSON"),
               Record("4", {**user, "credit_score": "high"})]
    count_records(d, iter(records))
    assert d.records == {"total": 4, "changed": 1, "skipped": 2}
    assert d.matrix == {("gold", "silver"): 1, ("gold", "gold"): 1}  # 800 is gold for a gold member


def test_invalid_policy_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: x\n")
    result = run("diff", DOUBLE11, bad)
    assert result.exit_code == 2


# -- property: the listed regions are exactly where the outcome changes ---------------------------

FACTS = """policy: g
version: 1
facts:
  a: {type: integer, minimum: 0, maximum: 30}
  m: {type: string, enum: [x, y, z]}
  u: {type: number, minimum: 0, maximum: 1, required: false}
outcomes: [denied, gold, silver, basic]
"""


def _rule(i, a, m, u, outcome):
    conds = [{"a": {"gte": a}}]
    if m:
        conds.append({"m": {"in": m}})
    if u is not None:
        conds.append({"u": {"lt": u}})
    then = {"outcome": outcome, **({"reason": "R"} if outcome == "denied" else {})}
    return {"id": f"r{i}", "when": {"all": conds}, "then": then}


rule_st = st.tuples(st.integers(0, 30), st.sampled_from([None, ["x"], ["x", "y"]]),
                    st.sampled_from([None, 0.5, 1]), st.sampled_from(["denied", "gold", "silver", "basic"]))


def _policy(rules, default):
    text = FACTS + (f"default: {default}\n" if default else "") + "rules: " + json.dumps(
        [_rule(i, *r) for i, r in enumerate(rules)]) + "\n"
    doc, _ = load_bytes(text.encode(), "g.yaml")
    policy, diags = validate(doc)
    assert policy is not None, [d.render() for d in diags]
    return policy


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_st, min_size=1, max_size=4), st.lists(rule_st, min_size=1, max_size=4),
       st.sampled_from([None, "basic"]), st.integers(0, 10**6))
def test_changes_are_exactly_where_outcomes_differ(old_rules, new_rules, default, seed):
    old, new = _policy(old_rules, default), _policy(new_rules, "basic")
    d = diff_policies(old, new)
    assert d.complete
    for c in d.changes:
        assert c.verified
        assert verdict_of(old, c.witness).outcome != verdict_of(new, c.witness).outcome
    assert diff_policies(old, old).unchanged
    rng = random.Random(seed)
    for _ in range(40):
        facts = {"a": rng.randint(0, 30), "m": rng.choice("xyz")}
        if rng.random() < 0.7:
            facts["u"] = rng.choice([0, 0.25, 0.5, 0.75, 1])
        a, b = verdict_of(old, facts).outcome, verdict_of(new, facts).outcome
        cell = tuple(1 << d.space.cell_of(dim.name, facts.get(dim.name)) for dim in d.space.dims)
        # (regions of one from → to pair may overlap: a union is described box by box)
        inside = {(c.old, c.new) for c in d.changes if all(x & m for x, m in zip(cell, c.box))}
        assert inside == ({(a or "(none)", b)} if a != b else set())


def test_the_matrix_keeps_an_outcome_no_record_reaches_any_more(tmp_path):
    """Every record that was gold moves to silver: gold must stay a column (of zeros), not
    vanish from it (the matrix was 2 rows by 1 column)."""
    from engine.analysis.diff import count_records, to_dict
    from engine.io.records import Record

    new = raised(tmp_path)
    d = diff_policies(load_policy(DOUBLE11), load_policy(new))
    user = {"credit_score": 710, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
            "monthly_spend": 3000, "account_age_days": 200, "frozen": False, "loan_applications_30d": 0,
            "credit_utilization": 0.1}
    count_records(d, iter([Record("1", user), Record("2", {**user, "membership": "silver"})]))
    assert d.matrix == {("gold", "silver"): 1, ("silver", "silver"): 1}
    text = run("diff", "--facts", _jsonl(tmp_path, [user, {**user, "membership": "silver"}]), DOUBLE11, new).output
    header = next(line for line in text.splitlines() if "old \\ new" in line)
    assert header.split()[3:] == ["gold", "silver"]  # both columns, the gold one all zeros
    assert any(line.split()[:3] == ["gold", "0", "1"] for line in text.splitlines())
    cells = {(m["from"], m["to"]) for m in to_dict(d)["records"]["matrix"]}
    assert cells == {("gold", "silver"), ("silver", "silver")}


def _jsonl(tmp_path, rows) -> Path:
    path = tmp_path / "few.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _loyalty_copy(tmp_path: Path, csv_edit=None, yaml_edit=None) -> Path:
    """policies/account-loyalty.yaml (it compares a derived fact) and its CSV rows in
    `tmp_path`, edited."""
    root = Path(__file__).resolve().parent.parent / "policies"
    text = (root / "account-loyalty.yaml").read_text("utf-8")
    rows = (root / "account-loyalty.loyalty-tier.csv").read_text("utf-8")
    (tmp_path / "account-loyalty.loyalty-tier.csv").write_text(csv_edit(rows) if csv_edit else rows, "utf-8")
    path = tmp_path / "account-loyalty.yaml"
    path.write_text(yaml_edit(text) if yaml_edit else text, "utf-8")
    return path


def test_a_policy_comparing_a_derived_fact_is_compared_exactly(tmp_path):
    root = Path(__file__).resolve().parent.parent / "policies"
    old = load_policy(root / "account-loyalty.yaml")
    new = load_policy(_loyalty_copy(tmp_path, lambda rows: rows.replace("gold-tier,>= 24,", "gold-tier,>= 20,")))
    assert any(leaf.kind == "derived" for r in old.rules for leaf in r.leaves)
    d = diff_policies(old, new)
    assert d.complete and d.changes and all(c.verified for c in d.changes), d.notes
    assert {(c.old, c.new) for c in d.changes} == {("silver", "gold")}
    assert all(20 <= c.witness["account_age_months"] <= 23 for c in d.changes)
    for c in d.changes:  # each witness is a real user both versions decide as the change says
        assert (verdict_of(old, c.witness).outcome, verdict_of(new, c.witness).outcome) == ("silver", "gold")
    assert diff_policies(old, old).unchanged


def test_a_changed_derived_fact_leaves_the_comparison_incomplete_and_says_so(tmp_path):
    root = Path(__file__).resolve().parent.parent / "policies"
    new_path = _loyalty_copy(tmp_path, yaml_edit=lambda t: t.replace("div: [monthly_debt, monthly_income]",
                                                                       "div: [monthly_debt, {add: [monthly_income, 1]}]"))
    result = CliRunner().invoke(main, ["diff", str(root / "account-loyalty.yaml"), str(new_path)])
    assert "derived fact `debt_to_income` changed" in result.output, result.output
    assert result.output.splitlines()[1].startswith("comparison incomplete: no outcome changes found, but some may")
