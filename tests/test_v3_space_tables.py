"""Decision-table findings (issue 15) on small tables built as the table compiler builds
them (rows → rules with `Rule.table`, `hit: first` rows restating earlier rows' cells with
`via`): each finding at its row's line, with a witness that evaluation confirms."""

from __future__ import annotations

from dataclasses import replace

from engine.analysis.findings import (GAP, RULE_UNSATISFIABLE, TABLE_CONFLICT, TABLE_OVERLAP, TABLE_ROW_UNREACHABLE,
                                      find, verdict_of)
from engine.language.conditions import leaves as walk_leaves
from engine.language.model import (All, Any, Comparison, Effect, FactSpec, Loc, Not, Operand, Outcome, Policy, Rule,
                                   Table, TableRow)

FACTS = {"score": FactSpec("score", "integer", minimum=0, maximum=1000),
         "segment": FactSpec("segment", "string", enum=("a", "b"))}


def cell(subject, op, value):
    return Comparison("fact", subject, op, Operand(value))


def table_policy(hit: str, rows: list, outputs=None) -> Policy:
    """`rows`: (cells, outcome); row r is written on line 20 + r."""
    rules = []
    for k, (cells, outcome) in enumerate(rows):
        own = [replace(c, index=i, loc=Loc("p.yaml", 21 + k, 10 + 8 * i, f"/tables/0/rows/{k}/{i}"))
               for i, c in enumerate(cells)]
        items = list(own)
        if hit == "first" and k:
            n = len(own)
            earlier = []
            for j in range(k):
                restated = []
                for c in rules[j].leaves:
                    if c.via is None:
                        restated.append(replace(c, via=j, index=n, loc=None))
                        n += 1
                earlier.append(All(tuple(restated)))
            items.append(Not(Any(tuple(earlier))))
        when = All(tuple(items))
        rules.append(Rule(f"tier#{k + 1}", k, when, Effect(outcome=outcome),
                          leaves=tuple(x for x, _ in walk_leaves(when)), loc=Loc("p.yaml", 21 + k, 7,
                                                                                f"/tables/0/rows/{k}"),
                          table=TableRow("tier", k + 1)))
    table = Table("tier", hit, ("score", "segment"), ("outcome",), tuple(range(len(rules))),
                  tuple(tuple("-" for _ in range(2)) for _ in rules), loc=Loc("p.yaml", 18, 5, "/tables/0"))
    return Policy("p", 1, "", "", "en", FACTS, {}, (Outcome("A"), Outcome("B"), Outcome("C")), "C", {}, {},
                  tuple(rules), (tuple(range(len(rules))),), "d", "p.yaml", tables=(table,))


def by_code(findings, code):
    return [f for f in findings if f.code == code]


def test_unique_rows_that_overlap_are_an_error_at_the_later_row_with_a_confirmed_witness():
    p = table_policy("unique", [([cell("score", "gte", 700)], "A"),
                                ([cell("score", "gte", 600), cell("score", "lt", 800), cell("segment", "eq", "a")],
                                 "B"),
                                ([cell("score", "lt", 600)], "C")])
    findings = find(p)
    [f] = by_code(findings, TABLE_OVERLAP)
    assert f.severity == "error" and f.loc.line == 22 and f.rule == "tier#2"
    assert "rows 1 and 2" in f.message
    v = verdict_of(p, f.witness)
    assert v.matched[0] is True and v.matched[1] is True
    # score 600..699 of segment b: no row applies
    [gap] = [g for g in by_code(findings, GAP) if "table `tier`" in g.message]
    assert gap.loc.line == 18 and "score 600..699" in gap.message and "segment = b" in gap.message
    assert not any(verdict_of(p, gap.witness).matched)


def test_any_rows_may_overlap_when_they_agree_and_not_when_they_differ():
    same = table_policy("any", [([cell("score", "gte", 700)], "A"), ([cell("score", "gte", 650)], "A"),
                                ([cell("score", "lt", 650)], "B")])
    assert not by_code(find(same), TABLE_CONFLICT)
    differ = table_policy("any", [([cell("score", "gte", 700)], "A"), ([cell("score", "gte", 650)], "B"),
                                  ([cell("score", "lt", 650)], "C")])
    [f] = by_code(find(differ), TABLE_CONFLICT)
    assert f.severity == "error" and f.loc.line == 22 and "rows 1 and 2" in f.message
    v = verdict_of(differ, f.witness)
    assert v.matched[0] is True and v.matched[1] is True and f.witness["score"] >= 700


def test_first_rows_taken_by_earlier_rows_are_unreachable_not_unsatisfiable():
    p = table_policy("first", [([cell("score", "gte", 700)], "A"),
                               ([cell("score", "gte", 750), cell("segment", "eq", "b")], "B"),
                               ([cell("score", "gt", 1000)], "B"),  # contradicts the declared range itself
                               ([cell("score", "lt", 700)], "C")])
    findings = find(p)
    [f] = by_code(findings, TABLE_ROW_UNREACHABLE)
    assert f.severity == "warning" and f.loc.line == 22 and f.rule == "tier#2"
    assert "row 1 takes every case" in f.message
    v = verdict_of(p, f.witness)
    assert v.matched[1] is not True and v.matched[0] is True
    assert f.witness["score"] >= 750 and f.witness["segment"] == "b"  # the row's own cells hold
    unsat = by_code(findings, RULE_UNSATISFIABLE)
    assert [u.rule for u in unsat] == ["tier#3"]  # its own cells are contradictory: the old finding
    # rows 1 and 4 cover every score: no table gap; no finding about the restated cells
    assert not [g for g in by_code(findings, GAP) if "table" in g.message]
    assert not [x for x in findings if x.code.startswith("condition-")]


def test_first_rows_that_are_reachable_give_no_table_finding():
    p = table_policy("first", [([cell("score", "gte", 700), cell("segment", "eq", "a")], "A"),
                               ([cell("score", "gte", 700)], "B"), ([cell("score", "lt", 700)], "C")])
    findings = find(p)
    assert not by_code(findings, TABLE_ROW_UNREACHABLE) and not by_code(findings, RULE_UNSATISFIABLE)
