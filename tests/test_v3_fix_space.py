"""Review fixes of the table findings (issue 15, review 3: F3, F4, F5): no false
`table-conflict` where two `hit: any` rows agree at their overlap, no warning for one end
of an interval cell or a catch-all row, a table's gap over its own inputs, grouped `or`s in
region texts, and expression diagnostics of CSV rows at the CSV cell."""

from __future__ import annotations

from pathlib import Path

from engine.analysis.findings import (ANALYSIS_INCOMPLETE, CONDITION_ALWAYS_TRUE, GAP, TABLE_CONFLICT, find,
                                      verdict_of)
from engine.api import load_policy_text as _load_text
from engine.io.policies import check_policy_file
from engine.runtime.expressions import OutputPlan

def load_policy_text(text: str):
    return _load_text(text, "p.yaml").policy


HEAD = """\
policy: p
version: 1
facts:
  i: {type: integer, minimum: 0, maximum: 10}
  g: {type: string, enum: [a, b]}
outcomes:
  - {id: no}
  - {id: yes}
default: yes
outputs:
  x: {type: number, default: 0}
  y: {type: integer, default: 0}
tables:
"""

# an3.yaml's table `tb`, and an2.yaml's: rows that overlap and agree wherever both apply
AN3 = HEAD + """\
  - id: tb
    hit: any
    inputs: [i]
    outputs: [y]
    rows:
      - ["[0..5)", 0]
      - ["4", {sub: [i, 4]}]
"""
AN2 = HEAD + """\
  - id: ta
    hit: any
    inputs: [i, g]
    outputs: [x, y]
    rows:
      - [">= 5", "-", 1, {mul: [i, 2]}]
      - [">= 7", "a", 1.0, {add: [i, i]}]
      - ["[0..5)", "-", 2, 0]
      - ["4", "b", 2, {sub: [i, 4]}]
"""


def codes(policy) -> list[str]:
    return [f.code for f in find(policy)]


def test_rows_equal_at_their_whole_overlap_are_no_conflict():
    for text in (AN3, AN2):
        fs = find(load_policy_text(text))
        assert TABLE_CONFLICT not in [f.code for f in fs]
        notes = [f for f in fs if f.code == ANALYSIS_INCOMPLETE]
        assert notes and all("set different outputs" in f.message for f in notes)  # not proven either way


def _conflict(rows: str):
    policy = load_policy_text(HEAD + "  - id: tb\n    hit: any\n    inputs: [i]\n    outputs: [y]\n    rows:\n" + rows)
    fs = [f for f in find(policy) if f.code == TABLE_CONFLICT]
    return policy, fs


def _outputs_at(policy, rule_index: int, witness: dict):
    plan = OutputPlan(policy)
    from engine.runtime.facts import normalize
    facts, _ = normalize(policy, witness)
    return plan.compute(facts, [rule_index])


def test_a_conflict_carries_a_witness_where_the_outputs_differ():
    # equal at i=4 (the first point of the overlap), different at i=4 only for these rows
    policy, fs = _conflict('      - ["[0..5)", 0]\n      - ["4", {sub: [i, 3]}]\n')
    assert len(fs) == 1
    w = fs[0].witness
    d = verdict_of(policy, w)
    assert d.matched[0] is True and d.matched[1] is True
    assert _outputs_at(policy, 0, w)["y"] != _outputs_at(policy, 1, w)["y"]


def test_the_differing_witness_is_searched_beyond_the_overlaps_first_point():
    # i=0 gives 0 from both rows; any other i in [0..5) tells them apart
    policy, fs = _conflict('      - ["[0..5)", 0]\n      - ["[0..5)", {sub: [i, 0]}]\n')
    assert len(fs) == 1
    w = fs[0].witness
    assert w["i"] != 0
    assert _outputs_at(policy, 0, w)["y"] != _outputs_at(policy, 1, w)["y"]


def test_an_interval_cell_starting_at_the_minimum_is_no_warning():
    policy = load_policy_text(HEAD + """\
  - id: tb
    hit: first
    inputs: [i]
    outputs: [y]
    rows:
      - ["[0..5)", 1]
      - ["[5..10]", 2]
""")
    assert CONDITION_ALWAYS_TRUE not in codes(policy)


def test_a_whole_cell_that_always_holds_is_still_reported():
    policy = load_policy_text(HEAD + """\
  - id: tb
    hit: unique
    inputs: [i]
    outputs: [y]
    rows:
      - [">= 0", 1]
""")
    assert CONDITION_ALWAYS_TRUE in codes(policy)


def test_a_catch_all_row_under_priority_or_first_is_no_warning():
    for hit in ("priority", "first"):
        policy = load_policy_text(HEAD + f"""\
  - id: tb
    hit: {hit}
    inputs: [i]
    outputs: [outcome]
    rows:
      - [">= 5", no]
      - ["-", yes]
""")
        assert CONDITION_ALWAYS_TRUE not in codes(policy), hit


def test_a_tables_gap_is_described_over_its_own_inputs():
    policy = load_policy_text(HEAD + """\
  - id: tg
    hit: first
    inputs: [g]
    outputs: [x]
    rows:
      - [a, 1]
  - id: ti
    hit: first
    inputs: [i]
    outputs: [y]
    rows:
      - ["[0..3)", 1]
      - ["[3..7)", 2]
""")
    gaps = [f for f in find(policy) if f.code == GAP and "table `tg`" in f.message]
    assert [f.region for f in gaps] == ["g = b"]  # not split by `i`, which only `ti` reads
    w = gaps[0].witness
    d = verdict_of(policy, w)
    assert d.matched[policy.tables[0].rules[0]] is not True


def test_an_or_among_ands_is_parenthesized():
    from engine.space.describe import _top_level_or
    assert _top_level_or("i < 3 or i > 5")
    assert not _top_level_or("(i < 3 or i > 5)")
    fs = find(load_policy_text("""\
policy: p
version: 1
facts:
  i: {type: integer, minimum: 0, maximum: 10}
  f: {type: number, minimum: 0, maximum: 10}
outcomes:
  - {id: no}
  - {id: yes}
default: yes
outputs:
  of: {type: integer, default: 0}
tables:
  - id: tf
    hit: first
    inputs: [i, f]
    outputs: [of]
    rows:
      - [">= {fact: f}", "-", 1]
      - ["-", "< {fact: i}", 2]
      - ["[3..5]", "(2..4)", 3]
"""))
    texts = [f.message.split(" where ", 1)[1] for f in fs if " where " in f.message]
    texts = [t for t in texts if " or " in t.split(" is not decided")[0]]
    assert texts and all("(i < 3 or i > 5)" in t or "(f ≤ 2 or f ≥ 4)" in t for t in texts), texts


def test_expression_errors_of_csv_rows_point_at_the_csv_cell(tmp_path: Path):
    (tmp_path / "p.yaml").write_text("""\
policy: bad
version: 1
facts:
  s: {type: integer, minimum: 0}
  g: {type: string, enum: [a, b]}
outcomes:
  - {id: no}
  - {id: yes}
default: yes
outputs:
  o: {type: integer, default: 0}
tables:
  - id: t
    hit: first
    inputs: [s, g]
    outputs: [o]
    rows: {csv: rows.csv}
""")
    (tmp_path / "rows.csv").write_text('s,g,o\n">= 1",a,1\n">= 5",a,2\n-,b,"{div: [s, 0]}"\n')
    _, diags = check_policy_file(tmp_path / "p.yaml")
    got = {d.code: (Path(d.file).name, d.line, d.column, d.pointer) for d in diags
           if d.code in ("expr-div-by-zero", "output-not-integral")}
    assert got == {"expr-div-by-zero": ("rows.csv", 4, 5, "/tables/0/rows/2/2/div/1"),
                   "output-not-integral": ("rows.csv", 4, 5, "/tables/0/rows/2/2")}


def test_expression_errors_of_yaml_rows_point_at_the_cell(tmp_path: Path):
    text = HEAD + """\
  - id: t
    hit: first
    inputs: [i]
    outputs: [y]
    rows:
      - ["-", {div: [i, 0]}]
"""
    (tmp_path / "p.yaml").write_text(text)
    _, diags = check_policy_file(tmp_path / "p.yaml")
    d = next(d for d in diags if d.code == "expr-div-by-zero")
    line = text.splitlines().index('      - ["-", {div: [i, 0]}]') + 1
    assert (d.line, d.column) == (line, 15) and d.pointer == "/tables/0/rows/0/1/div/1"


def test_a_tables_gap_is_not_split_by_a_list_fact_another_table_reads():
    policy = load_policy_text("""\
policy: p
version: 1
facts:
  s: {type: string}
  t: {type: array, items: {type: string, enum: [x, y, z]}, max_items: 2}
outcomes:
  - {id: no}
  - {id: yes}
default: yes
outputs:
  os: {type: integer, default: 0}
  ol: {type: integer, default: 0}
tables:
  - id: ts
    hit: first
    inputs: [s]
    outputs: [os]
    rows:
      - ["starts_with(ab)", 1]
  - id: tl
    hit: first
    inputs: [t]
    outputs: [ol]
    rows:
      - ["contains(x)", 1]
""")
    gaps = [f for f in find(policy) if f.code == GAP and "table `ts`" in f.message]
    assert [f.region for f in gaps] == ["s does not start with ab"], [f.message for f in gaps]
    d = verdict_of(policy, gaps[0].witness)
    assert d.matched[policy.tables[0].rules[0]] is not True
