"""Coverage and boundary suites on v3 constructs (issue 15): a `hit: first` table's
restated cells are not counted (each cell once, at its own row), rows are rules, and a
list's `length` has boundaries on the length."""

from __future__ import annotations

from engine.compile import compile_policy
from engine.evaluate import evaluate
from engine.language.model import ARRAY, Comparison, FactSpec, Length, Operand
from engine.suites.coverage import boundaries, coverage_of, uncovered
from engine.suites.model import Case, CaseResult, Expect

from test_v3_space_tables import cell, table_policy


def _results(policy, records):
    ruleset = compile_policy(policy)
    return [CaseResult(Case(f"c{i}", i, rec, Expect(), None), evaluate(ruleset, rec, trace=True), ())
            for i, rec in enumerate(records)]


def test_restated_cells_are_not_conditions_of_the_later_row():
    p = table_policy("first", [([cell("score", "gte", 700)], "A"),
                               ([cell("score", "gte", 500), cell("segment", "eq", "b")], "B"),
                               ([cell("score", "lt", 500)], "C")])
    assert any(leaf.via is not None for r in p.rules for leaf in r.leaves)  # the table restates cells
    cov = coverage_of(p, _results(p, [{"score": 800, "segment": "a"}, {"score": 600, "segment": "b"},
                                      {"score": 100, "segment": "a"}, {"score": 600, "segment": "a"}]))
    own = [(c.rule.id, c.leaf.index) for c in cov.conditions]
    assert own == [("tier#1", 0), ("tier#2", 0), ("tier#2", 1), ("tier#3", 0)]
    assert all(c.leaf.via is None for c in cov.conditions)
    assert cov.counts()["rules"] == (3, 3)  # every row applied in some case: rows are rules
    # 4 own cells, each seen true and false; the 4 restated copies (1 in row 2, 3 in row 3) are not counted
    assert cov.counts()["conditions"] == (8, 8)
    assert sum(1 for r in p.rules for leaf in r.leaves if leaf.via is not None) == 4
    # boundaries: one per own cell's constant; the restated `score ≥ 700` is the row 1 cell's boundary
    bs = boundaries(p)
    assert sorted(b.value for b in bs) == [500, 700]
    assert [b.uses for b in bs if b.value == 700] == [((0, 0),)]


def test_list_length_boundaries_are_on_the_length():
    from engine.language.conditions import leaves
    from engine.language.model import All, Effect, Loc, Outcome, Policy, Rule

    tags = FactSpec("tags", ARRAY, maximum=5, items=FactSpec("tags", "string", enum=("a", "b", "c")))
    when = Comparison("fact", "tags", "length", Length("gte", Operand(2)), 0, Loc("p.yaml", 9, 5, "/rules/0"))
    rule = Rule("two", 0, when, Effect(outcome="yes"), leaves=(when,), loc=Loc("p.yaml", 8, 3, "/rules/0"))
    p = Policy("p", 1, "", "", "en", {"tags": tags}, {}, (Outcome("yes"), Outcome("no")), "no", {}, {}, (rule,),
               ((0,),), "d", "p.yaml")
    [b] = boundaries(p)
    assert (b.of, b.value, [pt.value for pt in b.points]) == ("length", 2, [1, 2, 3])
    # a decision's value on it is the list's length
    class D:
        facts = {"tags": ("a", "a", "c")}
    assert b.value_in(D) == 3
