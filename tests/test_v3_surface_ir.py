"""Hand-built decision tables for the surface tests (tests/test_v3_surface*.py): a policy
loaded from YAML whose chosen rules are turned into the rows of a `Table`, as the table
compiler (`language/tables.py`) would leave them: `Rule.table` set, and under `hit: first`
each row's `when` extended with the earlier rows' leaves restated (`via` = their rule
index), so the IR is exactly what explanations read, without depending on the YAML form."""

from __future__ import annotations

import dataclasses

from engine.language.model import All, Any, Comparison, Not, Policy, Table, TableRow


def restated(leaf: Comparison, via: int, index: int) -> Comparison:
    return dataclasses.replace(leaf, via=via, index=index)


def as_table(policy: Policy, table_id: str, rule_ids: list[str], hit: str, inputs: tuple[str, ...],
             columns: tuple[str, ...], cells: list[tuple[str, ...]], *, id_column: bool = True) -> Policy:
    """`policy` with the rules `rule_ids` (in that order) made rows 1.. of table `table_id`.
    Without `id_column`, the rules are renamed `table#row`."""
    rules = list(policy.rules)
    indexes = [policy.rule(r).index for r in rule_ids]
    earlier: list = []
    for row, i in enumerate(indexes, 1):
        r = rules[i]
        own = r.leaves
        when, leaves = r.when, tuple(own)
        if hit == "first" and earlier:
            n = max(leaf.index for leaf in own) + 1 if own else 0
            groups = []
            for j, prev_leaves in earlier:
                copies = []
                for leaf in prev_leaves:
                    copies.append(restated(leaf, j, n))
                    n += 1
                groups.append(All(tuple(copies)))
                leaves += tuple(copies)
            own_items = r.when.items if isinstance(r.when, All) else (r.when,)
            when = All(own_items + (Not(Any(tuple(groups))),))  # flat, as the table compiler builds it
        earlier.append((i, own))
        rid = r.id if id_column else f"{table_id}#{row}"
        rules[i] = dataclasses.replace(r, id=rid, when=when, leaves=leaves, table=TableRow(table_id, row))
    table = Table(id=table_id, hit=hit, inputs=inputs, columns=columns, rules=tuple(indexes),
                  cells=tuple(cells), loc=rules[indexes[0]].loc)
    return dataclasses.replace(policy, rules=tuple(rules), tables=policy.tables + (table,))


# -- the surface tests on hand-built tables (no YAML `tables:` needed) ----------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import jsonschema  # noqa: E402
import pytest  # noqa: E402
from conftest import golden  # noqa: E402

import engine.explain.render as explain  # noqa: E402
from engine.analysis.diff import diff_policies, render_markdown, render_text  # noqa: E402
from engine.api import load_policy, load_policy_text  # noqa: E402
from engine.compile import compile_policy  # noqa: E402
from engine.evaluate import evaluate  # noqa: E402
from engine.explain.tableview import BIG_TABLE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "v3_surface"
SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text("utf-8"))
TIERS = ["platinum-tier", "gold-tier", "silver-tier", "basic-tier"]
TIER_INPUTS = ("credit_score", "membership", "overdue_days", "monthly_spend", "account_age_days")
TIER_CELLS = [(">= platinum_credit_score", "platinum", "0", "-", "-"),
              (">= gold_credit_score", "gold, platinum", "<= gold_max_overdue_days", "-", "-"),
              (">= silver_credit_score", "-", "-", ">= silver_monthly_spend", "-"),
              (">= basic_credit_score", "-", "-", "-", ">= basic_account_age_days")]
USER = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 2500, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
        "credit_utilization": 0.35}


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # locations read `policies/…`


def d11():
    return load_policy("tests/fixtures/v3_surface/double11-rules.yaml").ruleset.policy


def tiers(hit: str):
    return as_table(d11(), "tiers", TIERS, hit, TIER_INPUTS, ("outcome",), TIER_CELLS)


def decide(policy, facts):
    return evaluate(compile_policy(policy), facts)


def test_the_first_hit_restatement_is_first_hit_evaluation():
    # The helper's IR means what `hit: first` means: the gold user's silver and basic rows
    # match as rules, but not as rows of a first-hit table.
    assert [decide(tiers("priority"), USER).matched[i] for i in (4, 5, 6, 7)] == [False, True, True, True]
    assert [decide(tiers("first"), USER).matched[i] for i in (4, 5, 6, 7)] == [False, True, False, False]


@pytest.mark.parametrize("hit", ["first", "priority"])
@pytest.mark.parametrize("fmt", ["txt", "md", "json"])
def test_a_tier_table_is_drawn_with_the_applied_row_marked(hit, fmt, request):
    d = decide(tiers(hit), USER)
    out = {"txt": explain.explain_text, "md": explain.explain_markdown, "json": explain.to_json}[fmt](d)
    golden(GOLDEN / f"tiers-{hit}.{fmt}", out, request)
    if fmt == "json":
        data = json.loads(out)
        jsonschema.validate(data, SCHEMA)
        row = next(r for r in data["rules"] if r["id"] == "silver-tier")
        assert (row["table"], row["row"]) == ("tiers", 3)
        # the restated leaves of rows 1-2 are not the silver row's conditions
        assert [c["subject"] for c in row["conditions"]] == ["credit_score", "monthly_spend"]
    if fmt == "txt":
        applied = [line for line in out.splitlines() if line.startswith("    ▶")]
        assert len(applied) == 1 and " 2 " in applied[0] and "gold-tier" in applied[0]
        assert ("no earlier row applied (row 1)" in out) == (hit == "first")
        # the rows are not listed as rules
        assert "gold-tier would match" not in out and "✓ gold-tier" not in out


def test_a_table_whose_rows_are_not_relevant_is_not_drawn():
    # A denied user whose facts reach no tier: no tier row matched and none is better than
    # denied, so the text does not draw the table (as it lists no tier rule today).
    d = decide(tiers("first"), {**USER, "credit_score": 500, "membership": "basic", "monthly_spend": 10})
    assert d.outcome == "denied"
    assert "table tiers" not in explain.explain_text(d)
    assert "**Table `tiers`**" in explain.explain_markdown(d)  # Markdown shows every rule, so every table


def test_an_ineligible_user_sees_every_row_not_reached_and_that_no_row_applied():
    d = decide(tiers("first"), {**USER, "credit_score": 580, "membership": "basic", "account_age_days": 10})
    text = explain.explain_text(d)
    assert d.outcome == "ineligible"
    assert "· row 4 basic-tier (basic) not reached: credit_score 580 is not ≥ basic_credit_score (600)" in text
    assert "no row applied: the table contributes nothing" in text
    assert "No row applied" in explain.explain_markdown(d)


COLLECT = """
policy: points
version: 1
title: Points
description: Points for what a member did.
language: en
facts:
  orders: {type: integer, minimum: 0}
  reviews: {type: integer, minimum: 0}
  referrals: {type: integer, minimum: 0}
outcomes: [{id: ok}]
default: ok
outputs:
  points: {type: integer, default: 0, combine: sum}
rules:
  - {id: buyer, when: {orders: {gte: 1}}, then: {set: {points: 10}}}
  - {id: reviewer, when: {reviews: {gte: 1}}, then: {set: {points: 5}}}
  - {id: referrer, when: {referrals: {gte: 1}}, then: {set: {points: 20}}}
"""


@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_a_collect_table_marks_every_row_that_contributes(fmt, request):
    policy = load_policy_text(COLLECT).ruleset.policy
    policy = as_table(policy, "points", ["buyer", "reviewer", "referrer"], "collect",
                      ("orders", "reviews", "referrals"), ("points",),
                      [(">= 1", "-", "-"), ("-", ">= 1", "-"), ("-", "-", ">= 1")], id_column=False)
    d = decide(policy, {"orders": 3, "reviews": 0, "referrals": 1})
    assert d.outputs == {"points": 30}
    out = explain.explain_text(d) if fmt == "txt" else explain.explain_markdown(d)
    golden(GOLDEN / f"collect.{fmt}", out, request)
    marks = [line.strip("| ").split()[0] for line in out.splitlines() if line.startswith(("    ▶", "    ·", "| ▶", "| ·"))]
    assert marks.count("▶") == 2 and marks.count("·") == 1
    assert "points#1" not in out or fmt == "txt"  # no id column: rows are numbered, not named


def big_policy(n: int) -> str:
    rules = "\n".join(f"  - {{id: band-{k}, when: {{score: {{between: [{10 * k}, {10 * k + 9}]}}}}, "
                      f"then: {{set: {{band: {k}}}}}}}" for k in range(n))
    return f"""
policy: bands
version: 1
title: Bands
description: A score's band.
language: en
facts:
  score: {{type: integer, minimum: 0, maximum: {10 * n - 1}}}
outcomes: [{{id: ok}}]
default: ok
outputs:
  band: {{type: integer, default: -1, combine: max}}
rules:
{rules}
"""


@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_a_big_table_shows_the_applied_row_with_a_few_around_it(fmt, request):
    n = 30
    policy = load_policy_text(big_policy(n)).ruleset.policy
    policy = as_table(policy, "bands", [f"band-{k}" for k in range(n)], "unique", ("score",), ("band",),
                      [(f"[{10 * k}..{10 * k + 9}]",) for k in range(n)], id_column=False)
    d = decide(policy, {"score": 147})  # row 15
    out = explain.explain_text(d) if fmt == "txt" else explain.explain_markdown(d)
    golden(GOLDEN / f"big-table.{fmt}", out, request)
    assert n > BIG_TABLE
    assert "rows 1–12 not shown (12 rows, none applied)" in out
    assert "rows 18–30 not shown (13 rows, none applied)" in out
    for row in range(13, 18):
        assert f"[{10 * (row - 1)}..{10 * (row - 1) + 9}]" in out
    assert "[110..119]" not in out and "[180..189]" not in out


def test_a_small_table_shows_every_row():
    n = BIG_TABLE
    policy = load_policy_text(big_policy(n)).ruleset.policy
    policy = as_table(policy, "bands", [f"band-{k}" for k in range(n)], "unique", ("score",), ("band",),
                      [(f"[{10 * k}..{10 * k + 9}]",) for k in range(n)], id_column=False)
    out = explain.explain_text(decide(policy, {"score": 5}))
    assert "not shown" not in out and all(f"[{10 * k}..{10 * k + 9}]" in out for k in range(n))


def test_existing_policies_render_as_before():
    # No table: the same bytes as before the table view existed (goldens prove it for the
    # examples; here, the Markdown rules table of a policy without tables is still there).
    out = explain.explain_markdown(decide(d11(), USER))
    assert "| rule | matched | conditions |" in out and "Table" not in out


def test_diff_names_rows_by_id_with_their_table():
    old, new = tiers("priority"), tiers("first")
    text = render_text(diff_policies(old, new))
    assert "table `tiers`: hit priority → first" in text
    assert "rules changed" not in text  # the rows' own cells did not change
    import dataclasses
    rules = list(new.rules)
    gold = rules[5]
    rules[5] = dataclasses.replace(gold, then=dataclasses.replace(gold.then, outcome="silver"))
    changed = dataclasses.replace(new, rules=tuple(rules))
    d = diff_policies(new, changed)
    assert "rules changed: gold-tier (tiers row 2)" in render_text(d)
    assert "- changed: `gold-tier` (tiers row 2)" in render_markdown(d)


def test_an_undecided_row_is_marked_and_names_the_missing_fact():
    policy = load_policy_text(COLLECT.replace("reviews: {type: integer, minimum: 0}",
                                              "reviews: {type: integer, minimum: 0, required: false}")).ruleset.policy
    policy = as_table(policy, "points", ["buyer", "reviewer", "referrer"], "collect",
                      ("orders", "reviews", "referrals"), ("points",),
                      [(">= 1", "-", "-"), ("-", ">= 1", "-"), ("-", "-", ">= 1")], id_column=False)
    d = decide(policy, {"orders": 0, "referrals": 0})
    text = explain.explain_text(d)
    assert "    ? 2     -       >= 1     -          │ 5" in text
    assert "      user  0       missing  0          │" in text
    assert "  ? row 2 could not be decided: missing reviews" in text
    assert "? unknown (missing facts)" in text
    assert "| ? | 2 | - | >= 1 | - | 5 |" in explain.explain_markdown(d)


def test_a_first_hit_row_undecided_because_of_an_earlier_row_says_which():
    policy = load_policy_text(COLLECT.replace("reviews: {type: integer, minimum: 0}",
                                              "reviews: {type: integer, minimum: 0, required: false}")
                              .replace("combine: sum", "combine: max")).ruleset.policy
    policy = as_table(policy, "points", ["reviewer", "buyer", "referrer"], "first",
                      ("orders", "reviews", "referrals"), ("points",),
                      [("-", ">= 1", "-"), (">= 1", "-", "-"), ("-", "-", ">= 1")], id_column=False)
    d = decide(policy, {"orders": 2, "referrals": 0})
    assert [d.matched[r.index] for r in policy.rules] == [None, None, False]
    text = explain.explain_text(d)
    assert "  ? row 1 could not be decided: missing reviews" in text
    assert "  ? row 2 could not be decided: earlier row 1 may apply" in text
