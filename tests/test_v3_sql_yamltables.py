"""Decision tables from YAML through the DuckDB batch runner, byte for byte against native:
a 60-row `hit: first` table (its rows restate the earlier rows' cells: the query computes
each restated row once) over integer, enum, number, list and string inputs with missing
facts, then a `collect` table reading the first table's output into a `combine: list`
output; the JSON lines equal native's, and the run stays fast."""

from __future__ import annotations

import json
import random
import time

from engine.compile import compile_policy
from engine.language.loader import check_policy_bytes
from test_v3_sql_batch import AS_OF, duckdb_lines, native_lines, sql_decided

AGE = ["-", ">= 24", "[12..24)", "< 12", "> 60", "not(7, 8)"]
TIER = ["-", "gold", "silver, bronze", "not(gold)"]
RATIO = ["-", "< 0.5", "[0.5..1]", "> 1", "(0.1..0.3)"]
TAGS = ["-", "contains(cash)", "contains_any(cash, card)", "contains_all(card, bnpl)"]
PHONE = ["-", "starts_with(1%8)", "ends_with(_9)", "contains(%_)"]
OUTCOMES = ["decline", "review", "approve"]


def table_policy(rows: int = 60) -> str:
    rnd = random.Random(60)
    lines = []
    for k in range(rows - 1):
        outcome = rnd.choice(OUTCOMES)
        cells = [rnd.choice(AGE), rnd.choice(TIER), rnd.choice(RATIO), rnd.choice(TAGS), rnd.choice(PHONE),
                 outcome, "BAND" if outcome == "decline" else "-", f"g{k % 7}"]
        lines.append("      - [" + ", ".join(json.dumps(c) for c in cells) + "]")
    lines.append('      - ["-", "-", "-", "-", "-", "approve", "-", "none"]')
    return f"""policy: v3-sql-tables
version: 1
facts:
  age: {{type: integer, minimum: 0, maximum: 100, required: false}}
  tier: {{type: string, enum: [gold, silver, bronze], required: false}}
  ratio: {{type: number, minimum: 0, maximum: 5}}
  tags: {{type: array, items: {{type: string, enum: [cash, card, bnpl]}}, required: false}}
  phone: {{type: string, required: false}}
outcomes:
  - {{id: decline, adverse: true}}
  - review
  - approve
default: approve
reasons:
  BAND: "Declined: band {{grade}}"
outputs:
  grade: {{type: string, default: "-"}}
  notes: {{type: array, items: {{type: string}}, default: [], combine: list}}
  hits: {{type: integer, default: 0, combine: count}}
tables:
  - id: bands
    hit: first
    inputs: [age, tier, ratio, tags, phone]
    outputs: [outcome, reason, grade]
    rows:
{chr(10).join(lines)}
  - id: notes
    hit: collect
    inputs: [grade, ratio]
    outputs: [notes, hits]
    rows:
      - ["g1, g2", "-", low, 1]
      - ["-", "< 1", cheap, 1]
      - ["not(none)", "-", banded, 1]
"""


def records(rnd, n):
    out = []
    for _ in range(n):
        r = {"age": rnd.choice([None, 0, 7, 8, 11, 12, 23, 24, 60, 61, 100]),
             "tier": rnd.choice([None, "gold", "silver", "bronze"]),
             "ratio": rnd.choice([0, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.0000001, 4.5]),
             "tags": rnd.choice([None, [], ["cash"], ["card", "bnpl"], ["bnpl"], ["cash", "card", "bnpl"]]),
             "phone": rnd.choice([None, "1%8", "1%80", "108", "x_9", "9", "a%_b", "%"])}
        out.append({k: v for k, v in r.items() if v is not None})
    return out


def test_first_table_of_60_rows_identical_to_native(tmp_path):
    text = table_policy()
    path = tmp_path / "tables.yaml"
    path.write_text(text, encoding="utf-8")
    policy, diags = check_policy_bytes(text.encode(), str(path))
    assert policy is not None, [str(d) for d in diags if d.severity == "error"]
    assert len(policy.rules) == 63 and sum(1 for r in policy.rules for leaf in r.leaves if leaf.via is not None) > 300
    recs = records(random.Random(6), 600)
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    want = native_lines(policy, recs)
    t0 = time.perf_counter()
    got = duckdb_lines(policy, data, tmp_path)
    took = time.perf_counter() - t0
    assert got == want
    assert sql_decided(policy, data, "jsonl") == len(recs)
    assert len({json.loads(line)["outputs"]["grade"] for line in got}) > 5
    assert any(json.loads(line)["outputs"]["notes"] for line in got)
    assert took < 60, took  # measured: a few seconds on a busy 2-core machine
    compile_policy(policy)


def test_the_issue_tables_identical_to_native(tmp_path):
    """Issue 15's two tables (tests/fixtures/v3_tables/loyalty.yaml: account-status inline,
    loyalty-tier from CSV reading account_status, an output of the first table) decide
    the done-when population in DuckDB exactly as native writes it."""
    from pathlib import Path

    from engine.io.policies import load_policy
    from test_v3_tables_done import population

    policy = load_policy(str(Path(__file__).parent / "fixtures" / "v3_tables" / "loyalty.yaml"))
    recs = population()
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    got = duckdb_lines(policy, data, tmp_path)
    assert got == native_lines(policy, recs)
    assert sql_decided(policy, data, "jsonl") == len(recs)
    assert {json.loads(line)["outcome"] for line in got} == {"platinum", "standard"}
