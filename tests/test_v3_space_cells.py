"""The fact space on v3 leaves (issue 15), against brute force:

- list facts: every leaf's (T, F) regions against direct evaluation of every list of up
  to 4 items over a small item enum (duplicates included) and the missing list, with and
  without every item mentioned, with length bounds; every point of the space is a list;
- string tests: every combination of a fact's string tests is a cell exactly when some
  string realizes it (brute force over every string of up to 7 characters of the
  patterns' alphabet and a filler), each cell's witness realizing it;
- opaque leaves (derived facts, fact-to-fact) are refused without `opaque=True`.
"""

from __future__ import annotations

import itertools

import pytest

from engine.errors import Incomplete
from engine.language.conditions import leaves as walk_leaves
from engine.language.model import (ARRAY, All, Comparison, Derived, FactSpec, Length, Loc, Operand, Outcome, Policy,
                                   Ref, Rule, Effect)
from engine.space import Budget, Regions, Space
from engine.space import strings
from engine.space.regions import contains

ENUM = ("cash", "card", "bnpl")


def policy(facts: dict, leaves: list, derived: dict | None = None) -> Policy:
    rules = tuple(Rule(f"r{i}", i, leaf, Effect(outcome="yes"), leaves=tuple(x for x, _ in walk_leaves(leaf)),
                       loc=Loc("p.yaml", 10 + i, 5, f"/rules/{i}"))
                  for i, leaf in enumerate(leaves))
    return Policy("p", 1, "", "", "en", facts, {}, (Outcome("yes"), Outcome("no")), "no", {}, {}, rules,
                  (tuple(range(len(rules))),), "d", "p.yaml", derived=derived or {})


def list_fact(name="tags", enum=ENUM, required=False, lo=None, hi=None) -> FactSpec:
    return FactSpec(name, ARRAY, required=required, minimum=lo, maximum=hi,
                    items=FactSpec(name, "string", enum=enum))


def leaf(op, operand, subject="tags", index=0) -> Comparison:
    return Comparison("fact", subject, op, operand, index)


LIST_LEAVES = [
    leaf("contains", Operand("cash")),
    leaf("contains_any", Operand(("cash", "card"))),
    leaf("contains_all", Operand(("cash", "card"))),
    *(leaf("length", Length(op, Operand(k))) for op in ("eq", "ne", "gt", "gte", "lt", "lte") for k in (0, 1, 2, 3)),
]


def direct(lf: Comparison, value):
    if value is None:
        return None
    if lf.op == "contains":
        return lf.operand.value in value
    if lf.op == "contains_any":
        return any(x in value for x in lf.operand.value)
    if lf.op == "contains_all":
        return all(x in value for x in lf.operand.value)
    k = lf.operand.operand.value
    n = len(value)
    return {"eq": n == k, "ne": n != k, "gt": n > k, "gte": n >= k, "lt": n < k, "lte": n <= k}[lf.operand.op]


def all_lists(enum, lo, hi):
    top = 4 if hi is None else hi
    for n in range((lo or 0), top + 1):
        yield from itertools.product(enum, repeat=n)


@pytest.mark.parametrize("enum,lo,hi", [(ENUM, None, None), (ENUM, 1, 3), (("cash", "card"), None, 3),
                                        (("cash", "card"), 2, None)])
def test_list_leaves_are_exact(enum, lo, hi):
    p = policy({"tags": list_fact(enum=enum, lo=lo, hi=hi)}, LIST_LEAVES)
    space = Space([p])
    reg = Regions(p, space, Budget())
    values = [None, *all_lists(enum, lo, hi)]
    for v in values:
        cells = tuple(space.cell_at(k, v) for k in range(len(space.dims)))
        assert contains(space.universe, cells), v
        for r in p.rules:
            want = direct(r.when, v)
            assert contains(reg.T[r.index], cells) == (want is True), (r.when, v)
            assert contains(reg.F[r.index], cells) == (want is False), (r.when, v)
    # every box of every region is made of lists: its point is a valid list of that region
    for r in p.rules:
        for region, want in ((reg.T[r.index], True), (reg.F[r.index], False)):
            for box in region:
                point = space.point(box)
                value = point.get("tags")
                assert value is None or (all(x in enum for x in value) and (lo or 0) <= len(value) <= (hi or 99))
                assert direct(r.when, value) is want


def test_a_list_fact_with_every_item_mentioned_and_no_room_left():
    # max 1 item, both enum values mentioned: a list holds at most one of them
    p = policy({"tags": list_fact(enum=("cash", "card"), hi=1, required=True)},
               [All((leaf("contains", Operand("cash")), leaf("contains", Operand("card"), index=1)))])
    reg = Regions(p, Space([p]), Budget())
    assert reg.T[0] == []  # proven: no list of at most one item holds both


STRING_TESTS = [("starts_with", "ab"), ("ends_with", "b"), ("contains", "ba"), ("contains", "a"),
                ("starts_with", "a")]


def test_string_test_combinations_are_decided_exactly():
    cells = strings.pattern_cells(STRING_TESTS, {"ab"})
    claimed = {vec: w for vec, w in cells}
    for vec, w in cells:
        assert strings.vector(STRING_TESTS, w) == vec and w != "ab"
    seen = set()
    for n in range(8):
        for chars in itertools.product("ab~", repeat=n):
            s = "".join(chars)
            if s != "ab":
                seen.add(strings.vector(STRING_TESTS, s))
    assert set(claimed) == seen


def test_string_facts_split_by_their_tests_and_cells_agree_with_evaluation():
    spec = FactSpec("code", "string")
    leaves = [leaf(op, Operand(t), "code", 0) for op, t in STRING_TESTS] + [leaf("eq", Operand("ab"), "code")]
    p = policy({"code": spec}, leaves)
    space = Space([p])
    d = space.dim("code")
    assert len(d.cells) == len(strings.pattern_cells(STRING_TESTS, {"ab"})) + 1
    for s in ("ab", "abba", "b", "xyz", "aab", "ba"):
        i = space.cell_of("code", s)
        assert strings.vector(STRING_TESTS, d.rep(i)) == strings.vector(STRING_TESTS, s)


def test_opaque_leaves_need_an_opaque_space():
    facts = {"debt": FactSpec("debt", "integer", minimum=0), "income": FactSpec("income", "integer", minimum=1)}
    derived = {"dti": Derived("dti", _div("debt", "income"))}
    p = policy(facts, [Comparison("derived", "dti", "lt", Operand(0.4)),
                       leaf("lt", Operand(None, fact="income"), "debt")], derived)
    with pytest.raises(Incomplete, match="derived fact `dti`"):
        Regions(p, Space([p]), Budget())
    space = Space([p], opaque=True)
    reg = Regions(p, space, Budget())
    assert reg.T[0] and reg.F[0] and reg.T[1] and reg.F[1]
    assert set(space.pseudo) == {"dti", "debt < income"}


def _div(a, b):
    from engine.language.model import Arith
    return Arith("div", (Ref("fact", a), Ref("fact", b)))


def test_string_leaf_regions_agree_with_evaluation():
    from engine.analysis.findings import verdict_of

    spec = FactSpec("code", "string", required=False)
    leaves = [leaf(op, Operand(t), "code", 0) for op, t in STRING_TESTS] + [leaf("eq", Operand("ab"), "code")]
    p = policy({"code": spec}, leaves)
    space = Space([p])
    reg = Regions(p, space, Budget())
    for n in range(6):
        for chars in itertools.product("ab~", repeat=n):
            s = "".join(chars)
            cells = (space.cell_of("code", s),)
            v = verdict_of(p, {"code": s})
            for r in p.rules:
                assert contains(reg.T[r.index], cells) == (v.matched[r.index] is True), (r.when, s)
                assert contains(reg.F[r.index], cells) == (v.matched[r.index] is False), (r.when, s)
    v = verdict_of(p, {})  # missing: every test unknown
    assert all(m is None for m in v.matched)
    assert all(not contains(reg.T[r.index], (space.cell_of("code", None),)) for r in p.rules)


OUTPUTS_POLICY = """
policy: outs
version: 1
title: outputs read by later rules
facts:
  score: {type: integer, minimum: 0, maximum: 100}
  vip: {type: boolean, required: false}
outputs:
  tier: {type: string, default: none, combine: first}
  hits: {type: integer, default: 0, combine: count}
outcomes:
  - {id: yes}
  - {id: no}
default: no
rules:
  - id: gold
    when: {score: {gte: 50}}
    then: {set: {tier: gold, hits: 1}}
  - id: platinum
    when: {any: [{score: {gte: 80}}, {vip: true}]}
    then: {set: {tier: platinum, hits: 1}}
  - id: reads-tier
    when: {tier: gold}
    then: {outcome: yes}
  - id: reads-hits
    when: {hits: {gte: 2}}
    then: {outcome: yes}
  - id: reads-none
    when: {tier: {in: [none, platinum]}}
    then: {outcome: yes}
"""


def test_output_subject_regions_agree_with_evaluation():
    from engine.analysis.findings import verdict_of
    from engine.api import load_policy_text

    p = load_policy_text(OUTPUTS_POLICY, "outs.yaml").policy
    space = Space([p])
    reg = Regions(p, space, Budget())
    for score in range(0, 101):
        for vip in (None, False, True):
            record = {"score": score} if vip is None else {"score": score, "vip": vip}
            v = verdict_of(p, record)
            cells = (space.cell_of("score", score), space.cell_of("vip", vip))
            for r in p.rules[2:]:
                assert contains(reg.T[r.index], cells) == (v.matched[r.index] is True), (r.id, record)
                assert contains(reg.F[r.index], cells) == (v.matched[r.index] is False), (r.id, record)
