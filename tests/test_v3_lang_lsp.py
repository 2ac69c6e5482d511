"""The language server on the v3 constructs: completion of the list and string operators,
`{fact: …}`, `length`'s operators, derived facts and outputs as condition subjects, names
in derived facts' expressions; the index and hover of derived facts, list facts and
`{fact: …}` operands. The policy is `test_v3_lang.BASE`."""

from __future__ import annotations

import pytest
from test_v3_lang import BASE

from engine.lsp.complete import completions
from engine.lsp.index import build_index
from engine.lsp.navigate import describe, hover


def _complete_after(snippet: str, typed: str = "", text: str = BASE) -> list[str]:
    """Completion labels with the cursor after `snippet` (on its line), `typed` typed there."""
    index = build_index(text)
    lines = text.split("\n")
    n = next(i for i, line in enumerate(lines) if snippet in line)
    col = lines[n].index(snippet) + len(snippet)
    lines[n] = lines[n][:col] + typed
    return [i["label"] for i in completions("\n".join(lines), index, n, col + len(typed))]


@pytest.mark.parametrize("snippet,typed,wanted,unwanted", [
    # condition keys: facts, derived facts, outputs
    ("    when: {product_tags: {contains: cash", "}, ", ["product_tags", "debt_to_income", "offers", "all"],
     ["max_dti"]),
    # operators by the subject's type
    ("    when: {product_tags: {", "", ["contains", "contains_any", "contains_all", "length", "missing"],
     ["eq", "gte", "starts_with", "in"]),
    ("}}, phone: {", "", ["starts_with", "ends_with", "contains", "eq", "in"], ["gte", "length", "contains_any"]),
    ("      monthly_debt: {", "", ["lt", "between", "eq"], ["contains", "starts_with", "length"]),
    ("      debt_to_income: {", "", ["gte", "between"], ["contains", "length"]),
    ("      offers: {", "", ["contains", "length"], ["eq"]),
    # operands: a list's items, thresholds by type
    ("    when: {product_tags: {contains: ", "", ["cash", "card", "bnpl"], ["max_cards", "wanted"]),
    ("      product_tags: {contains_any: ", "", ["wanted", "cash"], ["max_cards", "promo_prefix"]),
    ("phone: {starts_with: ", "", ["promo_prefix"], ["max_cards", "wanted", "cash"]),
    ("length: {", "", ["gte", "lt", "eq"], ["contains", "fact"]),
    ("length: {gte: 2, lte: ", "", ["max_cards"], ["max_dti", "promo_prefix"]),
    # the fact-to-fact operand
    ("      monthly_debt: {lt: ", "{", ["fact"], ["days_ago", "gte"]),
    ("      monthly_debt: {lt: {fact: ", "", ["monthly_income", "card_limit", "debt_to_income"],
     ["phone", "product_tags", "monthly_debt", "max_dti"]),
    ("      home_city: {eq: {fact: ", "", ["work_city", "phone"], ["monthly_income", "debt_to_income"]),
    ("total_limit: {between: [", "{", ["fact"], ["gte"]),
    ("total_limit: {between: [{fact: ", "", ["min_limit", "debt_to_income"], ["total_limit", "phone"]),
    # names in derived facts: facts, thresholds, earlier derived facts, never outputs
    ("  spare_limit: {sub: [", "", ["total_limit", "min_limit", "max_cards", "debt_to_income"],
     ["spare_limit", "n_offers", "phone"]),
    ("  total_limit: {add: [", "", ["card_limit", "debt_to_income"], ["total_limit", "spare_limit"]),
])
def test_completion_of_v3_keys_and_operators(snippet, typed, wanted, unwanted) -> None:
    labels = _complete_after(snippet, typed)
    assert set(wanted) <= set(labels), labels
    assert not set(unwanted) & set(labels), labels


def test_the_index_sees_derived_facts_fact_operands_and_output_conditions() -> None:
    index = build_index(BASE)
    lines = BASE.split("\n")

    def uses(kind, name):
        return [(o.span.line + 1, lines[o.span.line][o.span.start:o.span.end]) for o in index.symbols[(kind, name)].uses]

    assert [t for _, t in uses("derived", "total_limit")] == ["total_limit", "total_limit"]  # spare_limit, high-dti
    assert len(uses("derived", "debt_to_income")) == 2  # a condition and a `{debt_to_income:.2f}`
    assert ("fact", "monthly_income") in index.symbols and len(uses("fact", "monthly_income")) == 2
    assert [t for _, t in uses("fact", "min_limit")] == ["min_limit", "min_limit"]  # spare_limit, {fact: min_limit}
    assert [t for _, t in uses("fact", "work_city")] == ["work_city"]
    status = uses("output", "status")
    assert [t for _, t in status] == ["status", "status"]  # set by cash-offer, read by high-dti
    assert index.names("derived") == ["debt_to_income", "total_limit", "spare_limit"]


def test_hover_on_derived_facts_and_lists() -> None:
    index = build_index(BASE)
    assert describe(index.symbols[("derived", "debt_to_income")])[0] == \
        "**derived fact** `debt_to_income` = `{div: [monthly_debt, monthly_income]}`"
    assert describe(index.symbols[("fact", "product_tags")])[0] == \
        "**fact** `product_tags`: array of string (one of `cash`, `card`, `bnpl`) (length ..20)"
    assert describe(index.symbols[("fact", "linked_cards")])[0] == \
        "**fact** `linked_cards`: array of integer (range 0..) (length 0.., optional)"
    assert describe(index.symbols[("output", "offers")])[0] == \
        "**output** `offers`: array of string (default `[]`, combine list)"
    lines = BASE.split("\n")
    n = next(i for i, line in enumerate(lines) if "debt_to_income: {gte" in line)
    h = hover(index, n, lines[n].index("debt_to_income") + 2)
    assert h["contents"]["value"].startswith("**derived fact** `debt_to_income`")
    assert "used 2 times" in h["contents"]["value"]


@pytest.mark.parametrize("style", ["flow", "block"])
def test_a_fact_written_as_an_operand_is_fixed_into_a_fact_operand(style) -> None:
    from test_lsp_units import URI, apply, lsp_diagnostics

    from engine.lsp.actions import code_actions
    good = BASE if style == "flow" else BASE.replace(
        "      monthly_debt: {lt: {fact: monthly_income}}", "      monthly_debt:\n        lt: {fact: monthly_income}")
    text = good.replace("{fact: monthly_income}", "monthly_income")
    diags = lsp_diagnostics(text)
    assert [d["code"] for d in diags if d["severity"] == 1] == ["unknown-threshold"]
    (fix,) = code_actions(text, build_index(text), URI, [d for d in diags if d["severity"] == 1])
    assert fix["title"] == "Replace `monthly_income` with `{fact: monthly_income}`"
    assert apply(text, fix["edit"]) == good
