"""The runtime of issue #15 on hand-built IR: each new operator's meaning (unknowns
included), the fact-to-fact operand, derived facts, conditions on outputs, combine
list/count, and that the generated code and `assemble` give the same Decisions.

The backends' agreement (native == durable == reference) on generated records is in
tests/test_v3_runtime_agree.py; list facts read from files in tests/test_v3_runtime_io.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.compile import compile_policy
from engine.errors import FactsError
from engine.evaluate import evaluate
from engine.language.model import FactSpec as F
from engine.language.model import OutputSpec
from engine.runtime.decision import FIELDS, Decision
from engine.runtime.facts import normalize
from engine.runtime.semantics import Plan, compare, eval_leaf, exact, output_value, reference_matches
from test_v3_runtime_ir import All, Not, arith, leaf, policy, ref, rule

# -- compare: the meaning of each new operator, on present values ---------------------------

TAGS = ("cash", "card", "card")


@pytest.mark.parametrize("op, value, operand, expected", [
    ("contains", TAGS, "cash", True),
    ("contains", TAGS, "bnpl", False),
    ("contains", (), "cash", False),
    ("contains", (1, 2), 2, True),
    ("contains", "my test account", "test", True),
    ("contains", "my Test account", "test", False),  # case-sensitive
    ("contains", "abc", "", True),  # Python's `in`: the empty string is in every string
    ("contains_any", TAGS, ("bnpl", "card"), True),
    ("contains_any", TAGS, ("bnpl", "loan"), False),
    ("contains_any", (), ("bnpl",), False),
    ("contains_all", TAGS, ("cash", "card"), True),
    ("contains_all", TAGS, ("cash", "bnpl"), False),
    ("contains_all", (), ("cash",), False),
    ("length", TAGS, ("eq", 3), True),  # duplicates count
    ("length", TAGS, ("ne", 3), False),
    ("length", TAGS, ("gt", 2), True),
    ("length", TAGS, ("gte", 4), False),
    ("length", (), ("lt", 1), True),
    ("length", (), ("lte", 0), True),
    ("starts_with", "13812345678", "138", True),
    ("starts_with", "+8613812345678", "138", False),
    ("starts_with", "Abc", "a", False),
    ("ends_with", "li@corp.cn", "@corp.cn", True),
    ("ends_with", "li@corp.cn.evil", "@corp.cn", False),
    ("ends_with", "100%_x", "%_x", True),  # no wildcards: `%` and `_` are characters
])
def test_compare_new_operators(op, value, operand, expected):
    assert compare(op, value, operand) is expected


@pytest.mark.parametrize("value, operand, expected", [
    (Decimal("0.4"), 0.4, (Decimal("0.4"), Decimal("0.4"))),  # a float is its repr's decimal
    (0.1, Decimal("0.1"), (Decimal("0.1"), Decimal("0.1"))),
    (Decimal("2"), 2, (Decimal("2"), 2)),  # ints compare exactly with Decimals as they are
    (0.5, 1, (0.5, 1)),  # no Decimal: unchanged (Python compares int and float exactly)
    (Decimal("1"), (0.5, 2.5), (Decimal("1"), (Decimal("0.5"), Decimal("2.5")))),
])
def test_exact_reads_floats_as_decimals_only_where_a_decimal_takes_part(value, operand, expected):
    assert exact(value, operand) == expected


# -- eval_leaf: unknowns, fact operands, derived facts ------------------------------------------

FACTS = {
    "tags": F("tags", "array", items=F("tags", "string", enum=("cash", "card", "bnpl")), required=False),
    "email": F("email", "string", required=False),
    "income": F("income", "number", required=False),
    "debt": F("debt", "number", required=False),
    "limit": F("limit", "integer", required=False),
    "low": F("low", "integer", required=False),
}
P = policy(FACTS, [rule("r", leaf("email", "contains", "x"))],
           derived={"dti": (arith("div", ref("debt"), ref("income")), "number"),
                    "twice": (arith("mul", ref("limit"), 2), "integer")})
PLAN = Plan(P)


def _leaf(lf, facts):
    return eval_leaf(lf, PLAN.values(facts), None, PLAN.rule_index)


@pytest.mark.parametrize("lf, facts, expected", [
    (leaf("tags", "contains", "cash"), {}, None),  # missing list: unknown
    (leaf("tags", "contains", "cash"), {"tags": ()}, False),  # an empty list is known
    (leaf("tags", "length", ("eq", 0)), {}, None),
    (leaf("tags", "length", ("eq", 0)), {"tags": ()}, True),
    (leaf("tags", "length", ("gte", ("fact", "limit"))), {"tags": ("cash",), "limit": 1}, True),
    (leaf("tags", "length", ("gte", ("fact", "limit"))), {"tags": ("cash",)}, None),
    (leaf("email", "starts_with", "a"), {}, None),
    (leaf("email", "ends_with", "@corp.cn"), {"email": "x@corp.cn"}, True),
    # {fact: other}: unknown when either side is missing
    (leaf("debt", "lt", fact="income"), {"debt": 1.0, "income": 2.0}, True),
    (leaf("debt", "lt", fact="income"), {"debt": 1.0}, None),
    (leaf("debt", "lt", fact="income"), {"income": 2.0}, None),
    (leaf("limit", "eq", fact="income"), {"limit": 3, "income": 3.0}, True),  # int vs float: exact
    (leaf("limit", "eq", fact="income"), {"limit": 2 ** 53 + 1, "income": float(2 ** 53)}, False),
    (leaf("limit", "between", (("fact", "low"), 5000)), {"limit": 10, "low": 10}, True),
    (leaf("limit", "between", (("fact", "low"), 5000)), {"limit": 9, "low": 10}, False),
    (leaf("limit", "between", (("fact", "low"), 5000)), {"limit": 9}, None),
    (leaf("limit", "between", (0, ("fact", "twice"))), {"limit": 9, "low": 1}, True),  # twice = 18 ≥ 9
    (leaf("limit", "between", (0, ("fact", "twice"))), {"limit": -1}, False),
    # derived facts: exact decimals, unknown when an input is missing
    (leaf("dti", "lt", 0.4, kind="derived"), {"debt": 4.0, "income": 10.0}, False),  # 0.4 is not < 0.4
    (leaf("dti", "eq", 0.4, kind="derived"), {"debt": 4.0, "income": 10.0}, True),
    (leaf("dti", "eq", 0.3, kind="derived"), {"debt": 0.1, "income": 0.3333333333333333}, False),
    (leaf("dti", "lt", 0.4, kind="derived"), {"debt": 4.0}, None),
    (leaf("dti", "missing", True, kind="derived"), {"debt": 4.0}, True),
    (leaf("dti", "missing", False, kind="derived"), {"debt": 4.0}, False),
    (leaf("dti", "in", (0.5, 0.25), kind="derived"), {"debt": 1, "income": 4}, True),
    (leaf("twice", "gt", 17.5, kind="derived"), {"limit": 9}, True),
    (leaf("income", "gt", fact="dti"), {"debt": 1.0, "income": 0.5}, False),  # 0.5 > 2 false
    (leaf("debt", "eq", fact="dti"), {"debt": 0.1, "income": 1}, True),  # float 0.1 = Decimal 0.1
])
def test_eval_leaf(lf, facts, expected):
    assert _leaf(lf, facts) is expected


def test_a_restated_leaf_evaluates_like_any_leaf():
    plain = leaf("tags", "contains", "cash")
    restated = leaf("tags", "contains", "cash", via=3)
    for facts in ({}, {"tags": ()}, {"tags": ("cash",)}):
        assert _leaf(plain, facts) is _leaf(restated, facts)


# -- derived facts: values, Decision.derived ---------------------------------------------------

DERIVED_POLICY = policy(
    {"debt": F("debt", "number"), "income": F("income", "number", minimum=0.1),
     "card": F("card", "integer", required=False), "loan": F("loan", "integer")},
    [rule("low-dti", leaf("dti", "lt", 0.4, kind="derived"), outcome="approve"),
     rule("big", leaf("total", "gte", 10_000, kind="derived"), outcome="review"),
     rule("doubled", leaf("double_total", "eq", fact="loan"), set=[("note", "doubled")])],
    derived={"dti": (arith("div", ref("debt"), ref("income")), "number"),
             "total": (arith("add", ref("card"), ref("loan")), "integer"),
             "double_total": (arith("mul", ref("total", "derived"), 2), "integer"),
             "third": (arith("div", ref("income"), 3), "number")},
    outputs={"note": OutputSpec("note", "string", "")}, outcomes=("review", "approve", "decline"),
    default="decline")
DERIVED_RS = compile_policy(DERIVED_POLICY)


def test_derived_values_are_exact_and_typed():
    d = evaluate(DERIVED_RS, {"debt": 0.1, "income": 0.3, "card": 2, "loan": 3}, trace=False)
    assert d.derived == {"dti": Decimal("0.3333333333333333333333333333"), "total": 5, "double_total": 10,
                         "third": Decimal("0.1")}
    assert type(d.derived["total"]) is int and type(d.derived["dti"]) is Decimal
    assert d.facts == {"debt": 0.1, "income": 0.3, "card": 2, "loan": 3}  # the user's facts only
    assert d.matched == (True, False, False) and d.outcome == "approve"
    d = evaluate(DERIVED_RS, {"debt": 4000, "income": 10000, "card": 5000, "loan": 5000}, trace=False)
    assert d.derived == {"dti": Decimal("0.4"), "total": 10_000, "double_total": 20_000,
                         "third": Decimal("3333.333333333333333333333333")}
    assert d.matched == (False, True, False) and d.outcome == "review"


def test_a_derived_fact_with_a_missing_input_is_missing_and_its_conditions_unknown():
    for trace in (False, True):
        d = evaluate(DERIVED_RS, {"debt": 1, "income": 2, "loan": 3}, trace=trace)
        assert d.derived == {"dti": Decimal("0.5"), "third": Decimal("0.6666666666666666666666666667")}
        assert d.matched == (False, None, None)  # `total` and `double_total` are missing
        assert d.outcome == "decline" and not d.outcome_known


def test_decision_has_thirteen_fields_derived_last():
    assert FIELDS[-2:] == ("as_of", "derived") and len(FIELDS) == 13
    d = evaluate(compile_policy(policy({"x": "integer"}, [rule("r", leaf("x", "gt", 1))])), {"x": 2})
    assert d.derived == {} and isinstance(d, Decision) and d[12] is d.derived


def test_fast_path_and_generic_path_agree_on_derived_policies():
    rs = DERIVED_RS
    for record in ({"debt": 0.1, "income": 0.3, "card": 2, "loan": 3}, {"debt": 1, "income": 2, "loan": 3},
                   {"debt": 9, "income": 1.5, "card": -4, "loan": -8}):
        fast = rs.native.decide(dict(record))
        slow = rs.native.slow(dict(record))
        assert tuple(fast) == tuple(slow)
        traced = rs.native.decide_trace(dict(record))
        if traced is not None:
            assert tuple(traced) == tuple(evaluate(rs, dict(record), label="x", trace=True))


# -- conditions on outputs: values and unknowns --------------------------------------------------

OUT_POLICY = policy(
    {"age": F("age", "integer"), "spend": F("spend", "number", required=False),
     "tags": F("tags", "array", items=F("tags", "string"), required=False)},
    [rule("excellent", leaf("age", "gte", 24), set=[("status", "excellent"), ("bonus", 10)]),
     rule("spender", leaf("spend", "gte", 100), set=[("bonus", 5)]),
     rule("platinum", All((leaf("status", "eq", "excellent", kind="output"),
                           leaf("bonus", "gte", 15, kind="output"))), outcome="approve"),
     rule("basic", leaf("status", "eq", "basic", kind="output"), outcome="review"),
     rule("offer-cash", leaf("tags", "contains", "cash"), set=[("offers", "cash_plus"), ("hits", 1)]),
     rule("offer-card", leaf("tags", "contains_any", ("card", "bnpl")), set=[("offers", "card_plus"), ("hits", 1)]),
     rule("two-offers", leaf("offers", "length", ("gte", 2), kind="output"), set=[("flagged", True)]),
     rule("many", leaf("hits", "eq", 2, kind="output"), set=[("flagged", True)])],
    outputs={"status": OutputSpec("status", "string", "basic"),
             "bonus": OutputSpec("bonus", "integer", 0, combine="sum"),
             "offers": OutputSpec("offers", "array", (), combine="list", items=F("offers", "string")),
             "hits": OutputSpec("hits", "integer", 0, combine="count"),
             "flagged": OutputSpec("flagged", "boolean", False)},
    outcomes=("approve", "review", "decline"), default="decline")
OUT_RS = compile_policy(OUT_POLICY)


@pytest.mark.parametrize("record, matched, outputs", [
    ({"age": 30, "spend": 150.0, "tags": ["card", "cash"]}, (True, True, True, False, True, True, True, True),
     {"status": "excellent", "bonus": 15, "offers": ("cash_plus", "card_plus"), "hits": 2, "flagged": True}),
    ({"age": 30, "spend": 50.0, "tags": []}, (True, False, False, False, False, False, False, False),
     {"status": "excellent", "bonus": 10, "offers": (), "hits": 0, "flagged": False}),
    # spend missing: `spender` is unknown, so `bonus` is unknown to `platinum`
    ({"age": 30}, (True, None, None, False, None, None, None, None),
     {"status": "excellent", "bonus": 10, "offers": (), "hits": 0, "flagged": False}),
    ({"age": 3, "tags": ["bnpl"]}, (False, None, False, True, False, True, False, False),
     {"status": "basic", "bonus": 0, "offers": ("card_plus",), "hits": 1, "flagged": False}),
])
def test_output_subjects(record, matched, outputs):
    facts, _ = normalize(OUT_POLICY, record)
    assert reference_matches(OUT_POLICY, facts) == matched
    for trace in (False, True):
        d = evaluate(OUT_RS, dict(record), trace=trace)
        assert d.matched == matched and d.outputs == outputs
    assert OUT_RS.native.rule_matches(facts) == matched


def test_output_value_unknown_while_the_outcome_is_unknown():
    """An outcome rule sets `grade`: a rule reading it waits for the outcome, and sees
    unknown while an undecided outcome rule could still change it."""
    p = policy({"a": F("a", "integer"), "b": F("b", "integer", required=False)},
               [rule("high", leaf("b", "gt", 5), outcome="approve", set=[("grade", "A")]),
                rule("low", leaf("a", "gt", 5), outcome="review", set=[("grade", "B")]),
                rule("reads", leaf("grade", "eq", "B", kind="output"), set=[("seen", True)])],
               outputs={"grade": OutputSpec("grade", "string", "-"), "seen": OutputSpec("seen", "boolean", False)},
               outcomes=("approve", "review"), default=None)
    assert p.strata == ((0, 1), (2,))
    plan = Plan(p)
    assert plan.output_values({"a": 9}, (None, True, False)) == {"grade": None}
    assert plan.output_values({"a": 9}, (False, True, False)) == {"grade": "B"}
    assert plan.output_values({"a": 9}, (True, True, False)) == {"grade": "A"}
    assert output_value(plan, "grade", {"a": 9}, (False, False, False)) == "-"  # the default
    with pytest.raises(KeyError):
        output_value(plan, "seen", {"a": 9}, (False, False, False))  # no condition reads it
    rs = compile_policy(p)
    assert evaluate(rs, {"a": 9}).matched == (None, True, None)
    assert evaluate(rs, {"a": 9, "b": 1}).matched == (False, True, True)
    assert evaluate(rs, {"a": 9, "b": 6}, trace=False).matched == (True, True, False)


# -- combine list / count, array outputs ----------------------------------------------------------

def test_list_and_count_outputs_and_array_literals():
    p = policy({"x": F("x", "integer")},
               [rule("a", leaf("x", "gt", 0), set=[("offers", "a"), ("n", 1), ("fixed", ("p", "q"))]),
                rule("b", leaf("x", "gt", 1), set=[("offers", "b"), ("n", 1)]),
                rule("c", leaf("x", "gt", 2), outcome="review", set=[("offers", "c"), ("n", 1)]),
                rule("d", leaf("x", "gt", 3), set=[("offers", "a"), ("n", 1)])],
               outputs={"offers": OutputSpec("offers", "array", (), combine="list", items=F("offers", "string")),
                        "n": OutputSpec("n", "integer", 0, combine="count"),
                        "fixed": OutputSpec("fixed", "array", [], items=F("fixed", "string"))})
    rs = compile_policy(p)
    cases = {0: ((), 0, ()), 1: (("a",), 1, ("p", "q")), 2: (("a", "b"), 2, ("p", "q")),
             3: (("a", "b", "c"), 3, ("p", "q")), 9: (("a", "b", "c", "a"), 4, ("p", "q"))}
    for x, (offers, n, fixed) in cases.items():
        for trace in (False, True):
            d = evaluate(rs, {"x": x}, trace=trace)
            assert d.outputs == {"offers": offers, "n": n, "fixed": fixed}
            assert type(d.outputs["fixed"]) is tuple


def test_computed_list_items_are_typed_by_the_items():
    p = policy({"x": F("x", "integer")},
               [rule("a", leaf("x", "gt", 0), set=[("amounts", arith("mul", ref("x"), 2))]),
                rule("b", leaf("x", "gt", 1), set=[("amounts", arith("div", ref("x"), 4))])],
               outputs={"amounts": OutputSpec("amounts", "array", (), combine="list", computed=True,
                                              items=F("amounts", "number")),
                        "ints": OutputSpec("ints", "array", (), combine="list", computed=True,
                                           items=F("ints", "integer"))})
    d = evaluate(compile_policy(p), {"x": 2})
    assert d.outputs["amounts"] == (Decimal(4), Decimal("0.5")) and d.outputs["ints"] == ()


# -- list facts: normalization and located errors --------------------------------------------------

LIST_POLICY = policy({"tags": F("tags", "array", items=F("tags", "string", enum=("cash", "card")), maximum=3,
                                minimum=1),
                      "cards": F("cards", "array", items=F("cards", "integer", minimum=0), required=False)},
                     [rule("r", leaf("tags", "contains", "cash"))])


def test_list_facts_normalize_to_tuples():
    facts, _ = normalize(LIST_POLICY, {"tags": ["cash", "cash"], "cards": [1, 2.0]})
    assert facts == {"tags": ("cash", "cash"), "cards": (1, 2)} and type(facts["cards"][1]) is int
    d = evaluate(compile_policy(LIST_POLICY), {"tags": ("card",)})
    assert d.facts == {"tags": ("card",)} and d.matched == (False,)


@pytest.mark.parametrize("record, message", [
    ({"tags": ["cash", "loan"]}, "fact `tags` item 2 is `loan`, not one of cash, card"),
    ({"tags": ["cash"], "cards": [3, -1]}, "fact `cards` item 2 is -1, below the declared minimum 0"),
    ({"tags": ["cash"], "cards": [1.5]}, "fact `cards` item 1 must be an integer, got `1.5`"),
    ({"tags": ["cash"], "cards": [[1]]}, "fact `cards` item 1 must be an integer, got array `[1]`"),
    ({"tags": ["cash"], "cards": [None]}, "fact `cards` item 1 is null; a list holds no missing items"),
    ({"tags": "cash"}, "fact `tags` must be a list, got string `cash`"),
    ({"tags": []}, "fact `tags` has 0 items, fewer than the declared min_items 1"),
    ({"tags": ["cash"] * 4}, "fact `tags` has 4 items, more than the declared max_items 3"),
])
def test_list_fact_errors_name_the_item(record, message):
    with pytest.raises(FactsError) as exc:
        evaluate(compile_policy(LIST_POLICY), record)
    assert str(exc.value) == message


# -- generated code: the INVARIANT with hostile operands, Decimal literals ---------------------------

def test_hostile_string_operands_stay_literals():
    hostile = "'); import os; os._exit(1); ('\n\u2028\\"
    p = policy({"s": F("s", "string"), "t": F("t", "array", items=F("t", "string"))},
               [rule("a", leaf("s", "starts_with", hostile)), rule("b", leaf("s", "ends_with", hostile)),
                rule("c", leaf("t", "contains_all", (hostile, "x"))), rule("d", Not(leaf("s", "contains", hostile)))])
    rs = compile_policy(p)
    assert "import os" not in rs.native.source.replace(repr(hostile), "")
    d = evaluate(rs, {"s": hostile + hostile, "t": ["x", hostile]})
    assert d.matched == (True, True, True, False)


def test_decimal_literals_are_written_from_their_integers():
    from engine.backends.native_codegen import literal

    assert literal(Decimal("0.40")) == "_Dec((0, (4, 0,), -2))"
    assert eval(literal(Decimal("-12.5")), {"_Dec": Decimal}) == Decimal("-12.5")  # noqa: S307 - our text
    with pytest.raises(TypeError):
        literal(Decimal("NaN"))


def test_a_policy_without_v3_constructs_generates_what_it_did():
    from engine.backends.native import generate_source

    source = generate_source(policy({"x": "integer"}, [rule("r", leaf("x", "gt", 1), outcome="review")]))
    assert "_derive(" not in source and "_output_values(" not in source and "_Dec(" not in source
    assert source.count("None, {}))") == 3  # the 13th field, in decide, decide_trace, decide_open


def test_decide_checks_list_facts_itself_and_leaves_bad_ones_to_the_generic_path():
    rs = compile_policy(policy({"tags": F("tags", "array", items=F("tags", "string", enum=("cash", "card"))),
                                "n": F("n", "integer")},
                               [rule("r", leaf("tags", "contains", "cash"), set=[("seen", True)])],
                               outputs={"seen": OutputSpec("seen", "boolean", False)}))
    calls = []
    slow = rs.native._globals["_slow"]
    rs.native._globals["_slow"] = lambda r, as_of=None: calls.append(r) or slow(r, as_of)
    try:
        d = rs.decide({"tags": ["card", "cash"], "n": 1})
        assert not calls and d.facts == {"tags": ("card", "cash"), "n": 1} and d.outputs == {"seen": True}
        assert tuple(d) == tuple(rs.native.slow({"tags": ["card", "cash"], "n": 1}))
        with pytest.raises(FactsError, match=r"fact `tags` item 2 is `loan`"):
            rs.decide({"tags": ["card", "loan"], "n": 1})
        assert len(calls) == 1
    finally:
        rs.native._globals["_slow"] = slow
