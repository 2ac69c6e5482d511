"""Decision tables over the v3 subjects (issue 15): derived facts, list facts (`contains`,
`contains_any`, `contains_all`), string functions, `{fact: name}` operands, and a later
table reading an earlier table's output, collected into a list and a count. The fixture
`tests/fixtures/v3_tables/subjects.yaml` compiles to the exact leaves below, decides on
native and durable as its rows say, and each mistake in a cell is located at the cell."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.compile import compile_policy
from engine.evaluate import evaluate
from engine.explain.render import to_json
from engine.io.policies import check_policy_file
from engine.language.diagnostics import ERROR
from engine.language.loader import check_policy_bytes
from engine.language.model import Operand

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "v3_tables" / "subjects.yaml"
TEXT = FIXTURE.read_text("utf-8")


@pytest.fixture(scope="module")
def policy():
    policy, diags = check_policy_file(FIXTURE)
    assert policy is not None, [d.render() for d in diags]
    return policy


def test_cells_on_every_subject_compile_to_the_condition_operators(policy):
    leaves = {r.id: [(leaf.kind, leaf.subject, leaf.op, leaf.operand, leaf.via) for leaf in r.leaves]
              for r in policy.rules}
    assert leaves["status#1"] == [
        ("derived", "dti", "lt", Operand(0.4), None),
        ("fact", "tags", "contains", Operand("cash"), None),
        ("fact", "phone", "starts_with", Operand("138"), None),
        ("fact", "limit", "gte", Operand(None, fact="min_limit"), None)]
    # [0.4..0.6) and < 0.4 share no ratio: row 2 does not restate row 1
    assert leaves["status#2"] == [
        ("derived", "dti", "gte", Operand(0.4), None), ("derived", "dti", "lt", Operand(0.6), None),
        ("fact", "tags", "contains_any", Operand(("card", "bnpl")), None)]
    assert [v for *_, v in leaves["status#3"]] == [0, 0, 0, 0, 1, 1, 1]
    assert leaves["offers#1"] == [("output", "status", "eq", Operand("good"), None),
                                  ("fact", "cards", "contains_all", Operand((1, 2)), None)]
    assert leaves["offers#2"] == [("output", "status", "in", Operand(("good", "fair")), None)]
    # the table reading `status` runs in the stratum after the table that sets it
    assert policy.strata == ((0, 1, 2), (3, 4))


def interpret(f: dict) -> tuple[str, tuple, int]:
    """The two tables by hand: status (first hit), then offers (collect) on it."""
    dti = Decimal(f["monthly_debt"]) / Decimal(f["monthly_income"])
    if dti < Decimal("0.4") and "cash" in f["tags"] and f["phone"].startswith("138") and f["limit"] >= f["min_limit"]:
        status = "good"
    elif Decimal("0.4") <= dti < Decimal("0.6") and {"card", "bnpl"} & set(f["tags"]):
        status = "fair"
    else:
        status = "poor"
    offers = []
    if status == "good" and {1, 2} <= set(f["cards"]):
        offers.append("cash_plus")
    if status in ("good", "fair"):
        offers.append("card_plus")
    return status, tuple(offers), len(offers)


RECORDS = [
    dict(monthly_debt=100, monthly_income=1000, tags=["cash"], cards=[1, 2, 3], phone="13800", limit=500, min_limit=100),
    dict(monthly_debt=100, monthly_income=1000, tags=["cash"], cards=[2], phone="13800", limit=500, min_limit=100),
    dict(monthly_debt=100, monthly_income=1000, tags=["cash"], cards=[1, 2], phone="13800", limit=50, min_limit=100),
    dict(monthly_debt=450, monthly_income=1000, tags=["bnpl", "cash"], cards=[], phone="139", limit=0, min_limit=0),
    dict(monthly_debt=400, monthly_income=1000, tags=["cash"], cards=[1, 2], phone="138", limit=9, min_limit=1),
    dict(monthly_debt=600, monthly_income=1000, tags=["card"], cards=[1, 2], phone="138", limit=9, min_limit=1),
    dict(monthly_debt=0, monthly_income=1, tags=[], cards=[1, 2], phone="", limit=9, min_limit=1),
]


@pytest.mark.parametrize("record", RECORDS)
def test_both_backends_decide_as_the_rows_say(policy, record):
    rs = compile_policy(policy)
    status, offers, hits = interpret(record)
    decisions = [evaluate(rs, record, trace=True, backend=b) for b in ("native", "durable")]
    for d in decisions:
        assert d.outputs == {"status": status, "offers": offers, "hits": hits}
    assert to_json(decisions[0]) == to_json(decisions[1])


def test_a_missing_list_fact_leaves_its_rows_undetermined(policy):
    record = dict(RECORDS[0])
    del record["cards"]
    for backend in ("native", "durable"):
        d = evaluate(compile_policy(policy), record, backend=backend)
        assert d.matched == (True, False, False, None, True)
        assert d.outputs == {"status": "good", "offers": ("card_plus",), "hits": 1}


REFUSED = [
    # (replaced, by, code, message, hint); the position is the replaced cell's
    ('"contains(cash)"', '"contains(gold)"', "enum-value-unknown", "`gold` is not one of `tags`'s values (cash, card, bnpl)",
     None),
    ('"contains(cash)"', "cash", "table-cell-syntax", "cell `cash` does not test a list",
     "a list input takes `-`, `contains(x)`, `contains_any(a, b)` or `contains_all(a, b)`"),
    ('"starts_with(138)"', '"starts_with(138, 139)"', "table-cell-syntax",
     "`starts_with(…)` takes one value, cell `starts_with(138, 139)` gives 2", "write one value"),
    ('">= {fact: min_limit}"', '">= {fact: phone}"', "operand-type-mismatch",
     "`limit` cannot be compared with `phone`: `limit` is integer but `phone` is string",
     "compare facts of one type (numbers with numbers, dates with dates)"),
    ('">= {fact: min_limit}"', '"starts_with(1)"', "table-cell-syntax",
     "`starts_with(…)` is not a cell function for this input",
     'this input takes `not(…)`; quote a text that looks like a call: `"starts_with(1)"`'),
    ('">= {fact: min_limit}"', '">= {fact: nope}"', "unknown-fact", "`{fact: nope}` names no fact or derived fact",
     "declare it under `facts:` or `derived:`"),
    ('"contains_all(1, 2)"', '"contains_all(1, x)"', "unknown-threshold", "unknown threshold `x`",
     "declare it under `thresholds:`"),
    ("cash_plus", "5", "output-type-mismatch",
     "an item of output `offers` (`combine: list`: one item per rule) must be string, found integer `5`", None),
]


@pytest.mark.parametrize("old, new, code, message, hint", REFUSED, ids=[r[1] for r in REFUSED])
def test_mistakes_in_cells_on_every_subject_are_located_at_the_cell(old, new, code, message, hint):
    text = TEXT.replace(old, new, 1)
    line = next(i for i, ln in enumerate(TEXT.splitlines(), 1) if old in ln)
    column = TEXT.splitlines()[line - 1].index(old) + 1
    policy, diags = check_policy_bytes(text.encode(), "s.yaml")
    assert policy is None
    [d] = [d for d in diags if d.severity == ERROR]
    assert (d.code, d.message, d.hint, d.line, d.column) == (code, message, hint, line, column), d.render()


def test_an_unknown_input_and_a_broken_derived_input():
    policy, diags = check_policy_bytes(TEXT.replace("inputs: [dti,", "inputs: [dtii,").encode(), "s.yaml")
    [d] = [d for d in diags if d.severity == ERROR]
    assert (d.code, d.hint) == ("table-unknown-input", "did you mean `dti`?")
    # a derived fact whose expression is wrong: one error, at the expression, none at the table
    policy, diags = check_policy_bytes(TEXT.replace("monthly_debt, monthly_income]", "monthly_debt, nope]").encode(),
                                       "s.yaml")
    assert [d.code for d in diags if d.severity == ERROR] == ["expr-unknown-name"]


LIST_OUTPUT = """\
policy: lists
version: 1
facts:
  score: {type: integer, minimum: 0, maximum: 900}
outcomes: [ok]
default: ok
outputs:
  products: {type: array, items: {type: string, enum: [cash, card, bnpl]}, default: []}
tables:
  - id: p
    hit: first
    inputs: [score]
    outputs: [products]
    rows: ROWS
"""


def test_a_list_output_takes_a_list_cell_inline_and_in_a_csv(tmp_path):
    inline = LIST_OUTPUT.replace("ROWS", "\n      - ['>= 700', [cash, card]]\n      - ['-', [bnpl]]")
    policy, diags = check_policy_bytes(inline.encode(), "l.yaml")
    assert policy is not None, [d.render() for d in diags]
    assert [r.then.set for r in policy.rules] == [(("products", ("cash", "card")),), (("products", ("bnpl",)),)]
    (tmp_path / "l.yaml").write_text(LIST_OUTPUT.replace("ROWS", "{csv: p.csv}"), encoding="utf-8")
    (tmp_path / "p.csv").write_text('score,products\n>= 700,"[cash, card]"\n-,[bnpl]\n', encoding="utf-8")
    from_csv, diags = check_policy_file(tmp_path / "l.yaml")
    assert from_csv is not None, [d.render() for d in diags]
    assert [r.then.set for r in from_csv.rules] == [r.then.set for r in policy.rules]
    d = evaluate(compile_policy(from_csv), {"score": 720})
    assert d.outputs == {"products": ("cash", "card")}
    # an item outside the items' enum is refused at the cell
    (tmp_path / "p.csv").write_text('score,products\n>= 700,"[cash, gold]"\n', encoding="utf-8")
    _, diags = check_policy_file(tmp_path / "l.yaml")
    [err] = [d for d in diags if d.severity == ERROR]
    assert (err.file, err.line, err.column) == (str(tmp_path / "p.csv"), 2, 8), err.render()
