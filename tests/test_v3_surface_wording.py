"""How explanations word the v3 conditions (engine/explain/wording.py): the list and string
operators, `length`, the fact-to-fact operand, conditions on outputs, each true, false and
unknown, as text and as the JSON trace's condition data."""

from __future__ import annotations

import pytest

from engine.api import load_policy
from engine.explain.wording import condition_dict, describe_leaf
from engine.language.model import Comparison, Length, Operand
from engine.runtime.decision import Decision

FACTS = {"product_tags": ("cash", "card"), "phone": "13800001111", "email": "li@corp.cn",
         "linked_cards": (3, 5), "monthly_debt": 3000, "monthly_income": 5000}


def decision(facts=FACTS, outputs=None):
    policy = load_policy("policies/double11-coupon.yaml").ruleset.policy  # any policy: only facts are read
    return Decision((policy, dict(facts), None, True, (), (True,), (), dict(outputs or {}), (), None, (), None))


def leaf(subject, op, operand, kind="fact"):
    return Comparison(kind, subject, op, operand)


CASES = [
    (leaf("product_tags", "contains", Operand("cash")), True, "product_tags [cash, card] contains cash"),
    (leaf("product_tags", "contains", Operand("bnpl")), False, "product_tags [cash, card] does not contain bnpl"),
    (leaf("product_tags", "contains_any", Operand(("bnpl", "card"))), True,
     "product_tags [cash, card] contains one of [bnpl, card]"),
    (leaf("product_tags", "contains_any", Operand(("bnpl",))), False, "product_tags [cash, card] contains none of [bnpl]"),
    (leaf("product_tags", "contains_all", Operand(("cash", "card"))), True,
     "product_tags [cash, card] contains all of [cash, card]"),
    (leaf("product_tags", "contains_all", Operand(("cash", "bnpl"))), False,
     "product_tags [cash, card] does not contain all of [cash, bnpl]"),
    (leaf("linked_cards", "length", Length("gte", Operand(2))), True, "linked_cards [3, 5] has length 2 ≥ 2"),
    (leaf("linked_cards", "length", Length("gte", Operand(3, threshold="min_cards"))), False,
     "linked_cards [3, 5] has length 2, not ≥ min_cards (3)"),
    (leaf("phone", "starts_with", Operand("138")), True, "phone 13800001111 starts with 138"),
    (leaf("phone", "starts_with", Operand("139")), False, "phone 13800001111 does not start with 139"),
    (leaf("email", "ends_with", Operand("@corp.cn")), True, "email li@corp.cn ends with @corp.cn"),
    (leaf("email", "ends_with", Operand("@test.cn")), False, "email li@corp.cn does not end with @test.cn"),
    (leaf("email", "contains", Operand("test")), False, "email li@corp.cn does not contain test"),
    (leaf("monthly_debt", "lt", Operand(None, fact="monthly_income")), True,
     "monthly_debt 3000 < monthly_income (5000)"),
    (leaf("monthly_debt", "gte", Operand(None, fact="monthly_income")), False,
     "monthly_debt 3000 is not ≥ monthly_income (5000)"),
    (leaf("monthly_debt", "between", (Operand(1000), Operand(None, fact="monthly_income"))), True,
     "monthly_debt 3000 in [1000, monthly_income (5000)]"),
]


@pytest.mark.parametrize("cond,result,text", CASES, ids=[c[2] for c in CASES])
def test_each_operator_reads_as_words(cond, result, text):
    assert describe_leaf(cond, decision(), result) == text


def test_unknown_results_say_what_is_missing():
    d = decision({k: v for k, v in FACTS.items() if k not in ("product_tags", "monthly_income", "linked_cards")})
    assert describe_leaf(leaf("product_tags", "contains", Operand("cash")), d, None) == \
        "product_tags is missing (contains cash unknown)"
    assert describe_leaf(leaf("linked_cards", "length", Length("gte", Operand(2))), d, None) == \
        "linked_cards is missing (has length ≥ 2 unknown)"
    # the left fact is there: what is missing is the fact compared with
    assert describe_leaf(leaf("monthly_debt", "lt", Operand(None, fact="monthly_income")), d, None) == \
        "monthly_debt is compared with a missing fact (< monthly_income (missing) unknown)"


def test_conditions_on_outputs_read_the_outputs_value():
    d = decision(outputs={"account_status": "excellent"})
    cond = leaf("account_status", "eq", Operand("excellent"), kind="output")
    assert describe_leaf(cond, d, True) == "account_status excellent = excellent"
    assert describe_leaf(cond, decision(), None) == "account_status is unknown (= excellent unknown)"


def test_the_json_trace_of_the_new_operands():
    d = decision()
    got = condition_dict(leaf("linked_cards", "length", Length("gte", Operand(3, threshold="min_cards"))), d, False,
                         False)
    assert got == {"kind": "fact", "subject": "linked_cards", "op": "length", "length_op": "gte",
                   "threshold": "min_cards", "expected": 3, "actual": (3, 5), "result": False}
    got = condition_dict(leaf("monthly_debt", "lt", Operand(None, fact="monthly_income")), d, True, False)
    assert got == {"kind": "fact", "subject": "monthly_debt", "op": "lt", "fact": "monthly_income",
                   "expected": 5000, "actual": 3000, "result": True}
    got = condition_dict(leaf("monthly_debt", "between", (Operand(1000), Operand(None, fact="monthly_income"))), d,
                         True, False)
    assert got["fact"] == [None, "monthly_income"] and got["expected"] == [1000, 5000]
    got = condition_dict(leaf("product_tags", "contains_any", Operand(("bnpl", "card"))), d, True, False)
    assert got["expected"] == ["bnpl", "card"]


@pytest.mark.parametrize("text, cell", [
    ("a|b", "a\\|b"),                      # no column break
    ("line 1\nline 2", "line 1\\nline 2"),  # no row break: the break is shown
    ("x\r\ny\u2028z", "x\\r\\ny\\u2028z"),
    ("", " "),
])
def test_a_markdown_table_cell_keeps_its_row_whole(text, cell):
    from engine.explain.tableview import md_cell

    assert md_cell(text) == cell
