"""Decision tables (issue 15) in the validator: the cell grammar, the rules rows compile to,
the hit policies' structural checks and row ids.

Each cell case puts one cell into a one-row table over one input of `BASE` and checks the
comparisons it compiles to (through the builder's own operand machinery), or the located
diagnostic it is refused with: code, line and column of the cell, message and hint.
"""

from __future__ import annotations

import datetime

import pytest

from engine.explain import codes
from engine.language.cells import CellError, input_cell, split_top
from engine.language.diagnostics import ERROR
from engine.language.loader import check_policy_bytes
from engine.language.model import All, Any, Comparison, Effect, Loc, Not, Operand, Table, TableRow

HEAD = """\
policy: t3
version: 1
facts:
  score: {type: integer, minimum: 300, maximum: 900}
  ratio: {type: number, minimum: 0, maximum: 1}
  tier: {type: string, enum: [basic, silver, gold]}
  city: {type: string}
  vip: {type: boolean}
  opened: {type: date}
thresholds:
  min_score: 600
  tiers: [silver, gold]
outcomes:
  - {id: decline, adverse: true}
  - approve
  - review
default: approve
outputs:
  coupon: {type: integer, default: 0}
  label: {type: string, default: none}
  total: {type: integer, default: 0, combine: sum}
reasons:
  LOW: Score too low
"""


def check(text: str, read=None):
    return check_policy_bytes(text.encode("utf-8"), "p.yaml", read)


def errors(diags):
    return [d for d in diags if d.severity == ERROR]


def one_cell(column: str, cell: str):
    """A policy whose one table has one row: `cell` on input `column`, coupon 10."""
    text = HEAD + f"""tables:
  - id: t
    hit: first
    inputs: [{column}]
    outputs: [coupon]
    rows:
      - [{cell}, 10]
"""
    return check(text), text.count("\n")  # the row is the last line


D = datetime.date
CELLS = [
    # (input, the cell as YAML, the comparisons: (op, operand value, threshold))
    ("score", '"-"', []),
    ("score", "-", []),
    ("score", "700", [("eq", 700, None)]),
    ("score", '"700"', [("eq", 700, None)]),  # a quoted number on a number input is that number
    ("score", '">= 600"', [("gte", 600, None)]),
    ("score", '"> 600"', [("gt", 600, None)]),
    ("score", '"<= 600"', [("lte", 600, None)]),
    ("score", '"< 600"', [("lt", 600, None)]),
    ("score", '"!= 600"', [("ne", 600, None)]),
    ("score", '">=600"', [("gte", 600, None)]),
    ("score", '"[600..700)"', [("gte", 600, None), ("lt", 700, None)]),
    ("score", '"(600..700]"', [("gt", 600, None), ("lte", 700, None)]),
    ("score", '"(600..700)"', [("gt", 600, None), ("lt", 700, None)]),
    ("score", '"[750..]"', [("gte", 750, None)]),
    ("score", '"(..700)"', [("lt", 700, None)]),
    ("score", '"[ 600 .. 700 ]"', [("between", (600, 700), None)]),
    ("score", '">= min_score"', [("gte", 600, "min_score")]),
    ("score", '"[min_score..800)"', [("gte", 600, "min_score"), ("lt", 800, None)]),
    ("score", '"600, 700"', [("in", (600, 700), None)]),
    ("score", '"not(600, 700)"', [("not_in", (600, 700), None)]),
    ("score", '"not(600)"', [("ne", 600, None)]),
    ("ratio", '"(0..1]"', [("gt", 0, None), ("lte", 1, None)]),
    ("ratio", "0.5", [("eq", 0.5, None)]),
    ("ratio", '"< 0.25"', [("lt", 0.25, None)]),
    ("tier", "gold", [("eq", "gold", None)]),
    ("tier", '"gold, silver"', [("in", ("gold", "silver"), None)]),
    ("tier", '"not(basic)"', [("ne", "basic", None)]),
    ("tier", '"!= basic"', [("ne", "basic", None)]),
    ("city", "Shanghai", [("eq", "Shanghai", None)]),
    ("city", '"600"', [("eq", "600", None)]),  # a string input reads bare values as text
    ("city", '"600, true"', [("in", ("600", "true"), None)]),
    ("city", """'"a, b"'""", [("eq", "a, b", None)]),
    ("city", """'"-"'""", [("eq", "-", None)]),
    ("city", """'"Acme (China)"'""", [("eq", "Acme (China)", None)]),
    ("city", """'x, "b, c"'""", [("in", ("x", "b, c"), None)]),
    ("city", '"starts_with(138)"', [("starts_with", "138", None)]),
    ("city", '"ends_with(@corp.cn)"', [("ends_with", "@corp.cn", None)]),
    ("city", '"contains(test)"', [("contains", "test", None)]),
    ("vip", "true", [("eq", True, None)]),
    ("vip", '"false"', [("eq", False, None)]),
    ("vip", '"not(true)"', [("ne", True, None)]),
    ("opened", '"[2026-01-01..2026-07-01)"', [("gte", D(2026, 1, 1), None), ("lt", D(2026, 7, 1), None)]),
    ("opened", '">= 2026-01-01"', [("gte", D(2026, 1, 1), None)]),
    ("opened", "2026-03-04", [("eq", D(2026, 3, 4), None)]),
]


def _operand_value(leaf: Comparison):
    if isinstance(leaf.operand, tuple):
        return tuple(o.value for o in leaf.operand)
    return leaf.operand.value


@pytest.mark.parametrize("column, cell, expected", CELLS, ids=[f"{c}:{cell}" for c, cell, _ in CELLS])
def test_each_cell_form_compiles_to_its_comparisons(column, cell, expected):
    (policy, diags), line = one_cell(column, cell)
    assert policy is not None, [d.render() for d in diags]
    [rule] = policy.rules
    got = [(leaf.op, _operand_value(leaf), leaf.operand.threshold if isinstance(leaf.operand, Operand) else None)
           for leaf in rule.leaves]
    assert got == expected
    for leaf in rule.leaves:
        assert (leaf.kind, leaf.subject, leaf.loc) == ("fact", column, Loc("p.yaml", line, 10, "/tables/0/rows/0/0"))
        assert leaf.via is None
    assert [leaf.index for leaf in rule.leaves] == list(range(len(expected)))
    assert rule.when == (All(()) if not expected else rule.leaves[0] if len(expected) == 1 else All(rule.leaves))


REFUSED = [
    # (input, cell, code, message, hint)
    ("score", '">= 30, < 50"', "table-cell-comparisons", "cell `>= 30, < 50` joins comparisons with a comma",
     "for both at once write the interval `[30..50)`; a comma here would mean OR in DMN and zen"),
    ("score", '"> 300, <= 500"', "table-cell-comparisons", "cell `> 300, <= 500` joins comparisons with a comma",
     "for both at once write the interval `(300..500]`; a comma here would mean OR in DMN and zen"),
    ("score", '"600, >= 700"', "table-cell-comparisons", "cell `600, >= 700` joins comparisons with a comma",
     "a comma joins values only; write one comparison, or an interval such as `[30..50)`"),
    ("score", '"len(x)"', "table-cell-syntax", "`len(…)` is not a cell function for this input",
     'this input takes `not(…)`; quote a text that looks like a call: `"len(x)"`'),
    ("city", '"startsWith(a)"', "table-cell-syntax", "`startsWith(…)` is not a cell function for this input",
     "did you mean `starts_with`?"),
    ("score", '"contains(3)"', "table-cell-syntax", "`contains(…)` is not a cell function for this input",
     'this input takes `not(…)`; quote a text that looks like a call: `"contains(3)"`'),
    ("city", '"Acme (China)"', "table-cell-syntax", "`Acme(…)` is not a cell function for this input",
     'this input takes `not(…)`, `starts_with(…)`, `ends_with(…)`, `contains(…)`; quote a text that looks like a '
     'call: `"Acme (China)"`'),
    ("city", '"contains(a, b)"', "table-cell-syntax", "`contains(…)` takes one value, cell `contains(a, b)` gives 2",
     "write `contains_any(…)` for any of several"),
    ("score", "~", "schema-type", "expected string, number, boolean, mapping or list, found an empty value", None),
    ("score", '""', "table-cell-syntax", "the cell is empty", "write `-` for any value"),
    ("score", "[1, 2]", "table-cell-syntax", "a list is not an input cell", "write the values as one text: `a, b`"),
    ("score", '"[700..600)"', "table-cell-empty", "interval `[700..600)` holds no value",
     "write the low end first: `[low..high)`"),
    ("score", '"(600..600]"', "table-cell-empty", "interval `(600..600]` holds no value",
     "write the low end first: `[low..high)`"),
    ("score", '"[700..600]"', "between-empty", "`between` low end 700 is above high end 600", None),
    ("score", '"[..]"', "table-cell-syntax", "interval `[..]` has no bound", "write `-` for any value"),
    ("score", '"[1...5]"', "table-cell-syntax", "interval `[1...5]` has three dots", "write `[low..high]`"),
    ("score", '"600,"', "table-cell-syntax", "cell `600,` has an empty value",
     "write a value between the commas, or `-` for any value"),
    ("score", '">= nope"', "unknown-threshold", "unknown threshold `nope`", "declare it under `thresholds:`"),
    ("score", '">= min_scor"', "unknown-threshold", "unknown threshold `min_scor`", "did you mean `min_score`?"),
    ("score", '"1000"', "value-out-of-range", "`1000` is outside the declared range 300..900 of `score`",
     "the comparison can never vary; fix the value or the fact's range"),
    ("score", '"< 1_000"', "unknown-threshold", "unknown threshold `1_000`", "declare it under `thresholds:`"),
    ("tier", "platinum", "enum-value-unknown", "`platinum` is not one of `tier`'s values (basic, silver, gold)", None),
    ("tier", "glod", "enum-value-unknown", "`glod` is not one of `tier`'s values (basic, silver, gold)",
     "did you mean `gold`?"),
    ("tier", '">= gold"', "operator-type-mismatch", "`gte` compares numbers but fact `tier` is string",
     "use `eq`, `ne`, `in` or `not_in`"),
    ("city", """'"a'""", "table-cell-syntax", "`\"a` in cell `\"a` is not a quoted text", 'close the quotes: `"a, b"`'),
    ("city", '"a, >"', "table-cell-comparisons", "cell `a, >` joins comparisons with a comma",
     "a comma joins values only; write one comparison, or an interval such as `[30..50)`"),
    ("vip", "yes", "operand-type-mismatch", '`"yes"` is string but `vip` is boolean',
     "write `true` or `false`; YAML 1.2 reads `yes` as a string"),
    ("vip", '"true, false"', "operator-type-mismatch", "`in` is not for boolean fact `vip`",
     "use `eq: true` or `eq: false`"),
    ("opened", '">= 2026-02-30"', "date-invalid", "a date operand must be a date (YYYY-MM-DD), found string "
     '`"2026-02-30"`', "write the year, month and day of a real calendar day: `2026-01-31`"),
    ("score", '"*x"', "table-cell-syntax", "`*x` in cell `*x` is not a value", 'quote a text: `"*x"`'),
    ("score", '"[5.."', "table-cell-syntax", "the interval in cell `[5..` never closes",
     "end it with `]` (the end included) or `)` (excluded): `[600..700)`, `[750..]`"),
    ("score", '"(600..700"', "table-cell-syntax", "the interval in cell `(600..700` never closes",
     "end it with `]` (the end included) or `)` (excluded): `[600..700)`, `[750..]`"),
    ("tier", '"not(basic, silver"', "table-cell-syntax", "cell `not(basic, silver` opens `not(` and never closes it",
     "close it: `not(basic, silver)`"),
    ("city", '"starts_with(0"', "table-cell-syntax", "cell `starts_with(0` opens `starts_with(` and never closes it",
     "close it: `starts_with(0)`"),
]


@pytest.mark.parametrize("column, cell, code, message, hint", REFUSED, ids=[f"{c}:{cell}" for c, cell, *_ in REFUSED])
def test_each_refused_cell_is_located_at_the_cell(column, cell, code, message, hint):
    (policy, diags), line = one_cell(column, cell)
    assert policy is None
    first = errors(diags)[0]
    assert (first.code, first.message, first.hint) == (code, message, hint), first.render()
    assert (first.file, first.line, first.column) == ("p.yaml", line, 10)
    assert first.rule == (None if code.startswith("schema") else "t#1")
    assert first.code in codes.DESCRIPTIONS


# -- the grammar on its own (list inputs need list facts; these are the grammar's answers) ---------

@pytest.mark.parametrize("cell, expected", [
    ("-", ()),
    ("contains(cash)", (("contains", "cash"),)),
    ("contains_any(cash, card)", (("contains_any", ["cash", "card"]),)),
    ("contains_all(cash)", (("contains_all", ["cash"]),)),
    ('contains("a, b")', (("contains", "a, b"),)),
])
def test_list_inputs_take_the_list_functions(cell, expected):
    assert input_cell(cell, "list", True) == expected


def test_list_items_that_are_numbers_read_as_numbers():
    assert input_cell("contains_any(1, 2.5)", "list", False) == (("contains_any", [1, 2.5]),)


@pytest.mark.parametrize("cell, message, hint", [
    ("cash", "cell `cash` does not test a list",
     "a list input takes `-`, `contains(x)`, `contains_any(a, b)` or `contains_all(a, b)`"),
    (">= 2", "cell `>= 2` does not test a list",
     "a list input takes `-`, `contains(x)`, `contains_any(a, b)` or `contains_all(a, b)`"),
    ("starts_with(a)", "`starts_with(…)` is not a cell function for this input", None),
    ("not(a)", "`not(…)` is not a cell function for this input",
     "this input takes `contains(…)`, `contains_any(…)`, `contains_all(…)`; quote a text that looks like a call: "
     '`"not(a)"`'),
    (3, "`3` compares a list input with one value", "write `contains(3)`"),
])
def test_list_inputs_refuse_scalar_cells(cell, message, hint):
    with pytest.raises(CellError) as exc:
        input_cell(cell, "list", True)
    assert (exc.value.code, exc.value.message) == ("table-cell-syntax", message)
    if hint is not None:
        assert exc.value.hint == hint


def test_fact_operands_pass_through_as_the_operand_form_of_conditions():
    # `{fact: name}` as YAML or inside the cell's text: the operand form conditions use
    assert input_cell({"fact": "limit"}, "scalar", False) == (("eq", {"fact": "limit"}),)
    assert input_cell("< {fact: limit}", "scalar", False) == (("lt", {"fact": "limit"}),)
    assert input_cell("[{fact: lo}..{fact: hi})", "scalar", False) == (("gte", {"fact": "lo"}), ("lt", {"fact": "hi"}))
    assert input_cell("{days_ago: 30}", "scalar", True) == (("eq", {"days_ago": 30}),)


def test_split_top_respects_quotes_and_brackets():
    assert split_top('a, "b, c", {fact: x}, not(d, e)') == ["a", '"b, c"', "{fact: x}", "not(d, e)"]


# -- compiling a table: the exact IR -------------------------------------------------------------

ACCOUNT = HEAD.replace("""  opened: {type: date}
""", """  opened: {type: date}
  account_age_months: {type: integer, minimum: 0}
  payment_history: {type: string, enum: [excellent, good, fair, poor]}
  contract_status: {type: string, enum: [active, pending_renewal, expired]}
""").replace("  total: {type: integer, default: 0, combine: sum}\n", """  total: {type: integer, default: 0, combine: sum}
  account_status: {type: string, default: none}
  good_standing: {type: boolean, default: false}
""") + """tables:
  - id: account-status
    hit: first
    inputs: [account_age_months, payment_history, contract_status]
    outputs: [account_status, good_standing]
    rows:
      - [">= 24", excellent,             "-",                       excellent, true]
      - [">= 12", "excellent, good",     "active, pending_renewal", good,      true]
      - ["-",     "-",                   expired,                   poor,      false]
      - ["-",     "-",                   "-",                       review,    false]
"""


def _loc(row: int, col: int, c: int) -> Loc:
    line = ACCOUNT.count("\n") - 4 + row
    return Loc("p.yaml", line, col, f"/tables/0/rows/{row - 1}/{c}")


def test_first_hit_rows_restate_the_earlier_rows_they_may_overlap():
    policy, diags = check(ACCOUNT)
    assert policy is not None, [d.render() for d in diags]
    assert [r.id for r in policy.rules] == ["account-status#1", "account-status#2", "account-status#3",
                                            "account-status#4"]
    r1, r2, r3, r4 = policy.rules
    age24 = Comparison("fact", "account_age_months", "gte", Operand(24), 0, _loc(1, 10, 0))
    excellent = Comparison("fact", "payment_history", "eq", Operand("excellent"), 1, _loc(1, 19, 1))
    age12 = Comparison("fact", "account_age_months", "gte", Operand(12), 0, _loc(2, 10, 0))
    good = Comparison("fact", "payment_history", "in", Operand(("excellent", "good")), 1, _loc(2, 19, 1))
    active = Comparison("fact", "contract_status", "in", Operand(("active", "pending_renewal")), 2, _loc(2, 42, 2))
    expired = Comparison("fact", "contract_status", "eq", Operand("expired"), 0, _loc(3, 42, 2))

    def via(leaf, index, rule):
        return Comparison(leaf.kind, leaf.subject, leaf.op, leaf.operand, index, leaf.loc, via=rule)

    assert r1.when == All((age24, excellent)) and r1.leaves == (age24, excellent)
    restated = (via(age24, 3, 0), via(excellent, 4, 0))
    assert r2.when == All((age12, good, active, Not(Any((All(restated),)))))
    assert r2.leaves == (age12, good, active) + restated
    # Row 3 (contract expired) is disjoint from row 2 (active or pending): row 2 is not restated.
    restated3 = (via(age24, 1, 0), via(excellent, 2, 0))
    assert r3.when == All((expired, Not(Any((All(restated3),)))))
    # Row 4 has no cells of its own: it applies where no earlier row does.
    four = [via(age24, 0, 0), via(excellent, 1, 0), via(age12, 2, 1), via(good, 3, 1), via(active, 4, 1),
            via(expired, 5, 2)]
    assert r4.when == Not(Any((All(tuple(four[:2])), All(tuple(four[2:5])), All((four[5],)))))
    assert r4.leaves == tuple(four)
    assert [r.table for r in policy.rules] == [TableRow("account-status", n) for n in (1, 2, 3, 4)]
    assert [r.index for r in policy.rules] == [0, 1, 2, 3]
    assert r1.then == Effect(set=(("account_status", "excellent"), ("good_standing", True)))
    assert r4.then == Effect(set=(("account_status", "review"), ("good_standing", False)))
    assert r1.loc == Loc("p.yaml", _loc(1, 0, 0).line, 9, "/tables/0/rows/0")
    [table] = policy.tables
    assert table == Table(
        "account-status", "first", ("account_age_months", "payment_history", "contract_status"),
        ("account_status", "good_standing"), (0, 1, 2, 3),
        ((">= 24", "excellent", "-"), (">= 12", "excellent, good", "active, pending_renewal"), ("-", "-", "expired"),
         ("-", "-", "-")),
        tuple(tuple(_loc(r, col, c) for c, col in enumerate((10, 19, 42, 69, 80))) for r in (1, 2, 3, 4)),
        "", None, Loc("p.yaml", ACCOUNT.count("\n") - 8, 5, "/tables/0"))
    assert policy.table("account-status") is table
    assert table.rules[3 - 1] == 2  # the contract's addressing: row 3's rule index


def test_other_hit_policies_compile_rows_as_they_are():
    text = ACCOUNT.replace("hit: first", "hit: unique")
    policy, diags = check(text)
    assert policy is not None, [d.render() for d in diags]
    assert all(leaf.via is None for r in policy.rules for leaf in r.leaves)
    assert policy.rules[3].when == All(())
    assert policy.rules[2].when == policy.rules[2].leaves[0]


PRUNING = HEAD + """tables:
  - id: bands
    hit: first
    inputs: [score, tier, vip, ratio]
    outputs: [coupon]
    rows:
      - ["[300..600)", "-", "-", "-", 1]
      - ["[600..700)", "-", "-", "-", 2]
      - ["> 650", gold, "-", "-", 3]
      - ["-", "not(gold)", true, "-", 4]
      - ["-", silver, false, "< 0.5", 5]
      - ["-", "-", "-", "(0.5..1]", 6]
      - [">= 700", "-", "-", "[0..0.5]", 7]
"""


def test_disjoint_rows_are_not_restated_and_overlapping_ones_are():
    policy, diags = check(PRUNING)
    assert policy is not None, [d.render() for d in diags]
    restated = [sorted({leaf.via for leaf in r.leaves if leaf.via is not None}) for r in policy.rules]
    assert restated == [
        [],
        [],  # [600..700) and [300..600) share no score
        [1],  # > 650 overlaps [600..700) (651); [300..600) does not
        [0, 1],  # not(gold) vs gold (row 3): disjoint on tier
        [0, 1],  # silver vs gold (row 3); vip false vs true (row 4)
        [0, 1, 2, 3],  # ratio (0.5..1] vs < 0.5 (row 5): disjoint
        [2, 3, 4],  # score >= 700 vs [300..600) and [600..700); ratio [0..0.5] vs (0.5..1]
    ]


def test_integer_inputs_prune_on_integers_and_number_inputs_do_not():
    text = HEAD + """tables:
  - id: gaps
    hit: first
    inputs: [score, ratio]
    outputs: [coupon]
    rows:
      - ["> 600", "> 0.5", 1]
      - ["< 601", "< 0.6", 2]
"""
    policy, diags = check(text)
    assert policy is not None, [d.render() for d in diags]
    assert all(leaf.via is None for leaf in policy.rules[1].leaves)  # no integer is > 600 and < 601
    text = text.replace('"< 601", "< 0.6"', '"< 602", "< 0.6"')
    policy, _ = check(text)
    assert {leaf.via for leaf in policy.rules[1].leaves} == {None, 0}  # 601 and 0.55 take both


def test_declared_ranges_bound_the_disjointness_proof():
    text = HEAD + """tables:
  - id: r
    hit: first
    inputs: [score]
    outputs: [coupon]
    rows:
      - ["< 300", 1]
      - ["<= 300", 2]
"""
    policy, diags = check(text)
    # No score is below its declared minimum 300: the only value `<= 300` admits, 300, fails `< 300`.
    assert policy is not None, [d.render() for d in diags]
    assert all(leaf.via is None for leaf in policy.rules[1].leaves)


def test_outcome_reason_and_message_columns():
    text = HEAD + """tables:
  - id: gate
    hit: first
    inputs: [score]
    outputs: [outcome, reason, message, label]
    rows:
      - ["< 500", decline, LOW, "Score {score} is too low", low]
      - ["-", approve, "-", "-", '"-"']
"""
    policy, diags = check(text)
    assert policy is not None, [d.render() for d in diags]
    r1, r2 = policy.rules
    assert r1.then == Effect("decline", "LOW", {"en": "Score {score} is too low"}, (), (("label", "low"),))
    assert r2.then == Effect("approve", None, None, (), (("label", "-"),))
    assert policy.tables[0].columns == ("outcome", "reason", "message", "label")


def test_id_column_names_the_rows_and_rule_conditions_may_name_them():
    text = HEAD + """rules:
  - id: after
    when: {rule: gold-row}
    then: {set: {label: seen}}
  - id: also
    when: {rule: t2#1}
    then: {set: {total: 1}}
tables:
  - id: t1
    hit: first
    id_column: true
    inputs: [tier]
    outputs: [coupon]
    rows:
      - [gold-row, gold, 10]
      - [other, "-", 0]
  - id: t2
    hit: collect
    inputs: [vip]
    outputs: [total]
    rows:
      - [true, 5]
"""
    policy, diags = check(text)
    assert policy is not None, [d.render() for d in diags]
    assert [r.id for r in policy.rules] == ["after", "also", "gold-row", "other", "t2#1"]
    assert [r.index for r in policy.rules] == [0, 1, 2, 3, 4]
    assert policy.tables[0].rules == (2, 3) and policy.tables[1].rules == (4,)
    assert policy.tables[0].cells == (("gold",), ("-",))
    assert policy.rules[0].when.subject == "gold-row"
    # rows never read rules' conclusions in a way that puts them first: strata order rows after
    assert sorted(i for s in policy.strata for i in s) == [0, 1, 2, 3, 4]


STRUCTURAL = [
    # (what the table says, code, message, the pointer's last parts)
    ("    hit: priority\n    inputs: [score]\n    outputs: [coupon]\n    rows:\n      - ['-', 1]\n",
     "table-priority-needs-outcome",
     "table `x` has `hit: priority` but no `outcome` column: priority is the outcomes' precedence", "/tables/0/hit"),
    ("    hit: priority\n    inputs: [score]\n    outputs: [outcome]\n    rows:\n      - ['-', approve]\n      - ['-', '-']\n",
     "table-priority-needs-outcome", "row 2 of table `x` decides no outcome, but under `hit: priority` every row "
     "does", "/tables/0/rows/1/1"),
    ("    hit: collect\n    inputs: [score]\n    outputs: [coupon]\n    rows:\n      - ['-', 1]\n",
     "table-collect-needs-combine", "table `x` collects output `coupon`, which declares no way to combine several "
     "rows' values", "/tables/0/outputs/0"),
    ("    hit: collect\n    inputs: [score]\n    outputs: [outcome, total]\n    rows:\n      - ['-', approve, 1]\n",
     "table-collect-outcome", "table `x` has `hit: collect` and an `outcome` column: several rows cannot all "
     "decide the outcome", "/tables/0/outputs/0"),
    ("    hit: first\n    inputs: [scor]\n    outputs: [coupon]\n    rows:\n      - ['-', 1]\n",
     "table-unknown-input", "table input `scor` is not a declared fact, derived fact or output", "/tables/0/inputs/0"),
    ("    hit: first\n    inputs: [score]\n    outputs: [cupon]\n    rows:\n      - ['-', 1]\n",
     "table-unknown-output", "table output `cupon` is not a declared output, `outcome`, `reason` or `message`",
     "/tables/0/outputs/0"),
    ("    hit: first\n    inputs: [score]\n    outputs: [coupon, coupon]\n    rows:\n      - ['-', 1, 2]\n",
     "table-duplicate-column", "output column `coupon` is listed twice", "/tables/0/outputs/1"),
    ("    hit: first\n    inputs: [score]\n    outputs: [coupon]\n    rows:\n      - ['-', 1, 2]\n",
     "table-row-length", "row 1 of table `x` has 3 cells, the table has 2 columns", "/tables/0/rows/0"),
    ("    hit: first\n    id_column: true\n    inputs: [score]\n    outputs: [coupon]\n    rows:\n      - [1x, '-', 1]\n",
     "table-bad-row-id", "`1x` is not a rule id", "/tables/0/rows/0/0"),
    ("    hit: first\n    inputs: [score]\n    outputs: [outcome]\n    rows:\n      - ['-', aprove]\n",
     "unknown-outcome", "outcome `aprove` is not declared in `outcomes`", "/tables/0/rows/0/1"),
    ("    hit: first\n    inputs: [score]\n    outputs: [reason]\n    rows:\n      - ['-', LOWW]\n",
     "unknown-reason", "reason code `LOWW` is not declared in `reasons`", "/tables/0/rows/0/1"),
    ("    hit: first\n    inputs: [score]\n    outputs: [reason]\n    rows:\n      - ['-', low]\n",
     "table-cell-syntax", "`low` is not a reason code", "/tables/0/rows/0/1"),
    ("    hit: first\n    inputs: [score]\n    outputs: [message]\n    rows:\n      - ['-', 'Hi {nope}']\n",
     "template-unknown-name", "message names `{nope}`, which is not a declared fact, threshold or output",
     "/tables/0/rows/0/1"),
    ("    hit: first\n    inputs: [score]\n    outputs: [label]\n    rows:\n      - ['-', 5]\n",
     "output-type-mismatch", "`5` is integer but output `label` is string", "/tables/0/rows/0/1"),
    ("    hit: first\n    inputs: [score]\n    outputs: [coupon]\n    rows:\n      - ['-', lots]\n",
     "expr-unknown-name", "`lots` is not a fact, threshold or earlier output", "/tables/0/rows/0/1"),
]


@pytest.mark.parametrize("body, code, message, pointer", STRUCTURAL, ids=[c for _, c, _, _ in STRUCTURAL])
def test_structural_checks(body, code, message, pointer):
    policy, diags = check(HEAD + "tables:\n  - id: x\n" + body)
    assert policy is None
    first = errors(diags)[0]
    assert (first.code, first.message, first.pointer) == (code, message, pointer), first.render()
    assert first.code in codes.DESCRIPTIONS


def test_hints_name_the_close_names():
    policy, diags = check(HEAD + "tables:\n  - id: x\n    hit: first\n    inputs: [scor]\n    outputs: [cupon]\n"
                          "    rows:\n      - ['-', 1]\n")
    assert [d.hint for d in errors(diags)] == ["did you mean `score`?", "did you mean `coupon`?"]


def test_row_ids_are_unique_among_all_rules():
    text = HEAD + """rules:
  - id: top
    when: {score: {gte: 800}}
    then: {set: {label: top}}
tables:
  - id: x
    hit: first
    id_column: true
    inputs: [score]
    outputs: [coupon]
    rows:
      - [top, "-", 1]
"""
    policy, diags = check(text)
    assert policy is None
    [d] = errors(diags)
    assert (d.code, d.message, d.rule, d.line, d.column) == ("rule-duplicate-id", "rule id `top` is already used", "top",
                                                             text.count("\n"), 10)
    assert d.hint == "the first `top` is at p.yaml:" + str(HEAD.count("\n") + 2)


def test_rule_ids_cannot_take_the_row_form():
    policy, diags = check(HEAD + "rules:\n  - id: x#1\n    when: {score: {gte: 800}}\n    then: {set: {label: a}}\n")
    assert [d.code for d in diags] == ["schema-pattern"]


def test_table_ids_are_unique():
    table = "  - id: x\n    hit: first\n    inputs: [score]\n    outputs: [coupon]\n    rows:\n      - ['-', 1]\n"
    policy, diags = check(HEAD + "tables:\n" + table + table.replace("['-', 1]", "['-', 2]"))
    assert policy is None
    assert [d.code for d in errors(diags)][0] == "table-duplicate-id"


def test_a_policy_needs_rules_or_tables():
    policy, diags = check(HEAD)
    assert policy is None and [d.code for d in diags] == ["schema-missing-key"]


def test_a_policy_without_tables_is_unchanged():
    text = HEAD + "rules:\n  - id: a\n    when: {score: {lt: 500}}\n    then: {outcome: decline, reason: LOW}\n"
    policy, diags = check(text)
    assert policy is not None and policy.tables == ()
    import hashlib
    assert policy.digest == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_the_documented_tier_table_decides_as_the_text_says():
    from pathlib import Path

    from engine.compile import compile_policy
    from engine.evaluate import evaluate

    doc = (Path(__file__).resolve().parent.parent / "docs" / "policy-language.md").read_text("utf-8")
    section = doc[doc.index("### 25.1 A worked example"):doc.index("### 25.2 Keys")]
    text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    policy, diags = check(text)
    assert policy is not None and not errors(diags), [d.render() for d in diags]
    rs = compile_policy(policy)
    users = [({"credit_score": 720, "membership": "gold", "monthly_spend": 2500}, "tier#2", "gold_tier", 100),
             ({"credit_score": 760, "membership": "platinum", "monthly_spend": 0}, "tier#1", "platinum_tier", 200),
             ({"credit_score": 760, "membership": "silver", "monthly_spend": 0}, "tier#5", "standard", 10)]
    for facts, row, outcome, coupon in users:
        d = evaluate(rs, facts)
        assert [policy.rules[i].id for i in d.decided_by] == [row]
        assert (d.outcome, d.outputs["coupon_yuan"]) == (outcome, coupon)
    assert "| `table-cell-comparisons` |" in doc and all(f"| `{c}` |" in doc for c in codes.DESCRIPTIONS
                                                       if c.startswith("table-"))


def test_acknowledgements_and_rule_conditions_name_rows():
    text = HEAD + """rules:
  - id: after
    when: {rule: "t#2"}
    then: {set: {label: second}}
tables:
  - id: t
    hit: first
    inputs: [score]
    outputs: [coupon]
    rows:
      - [">= 800", 1]
      - [">= 700", 2]
lint:
  acknowledge:
    - {code: rule-shadowed, rule: "t#2", reason: row 1 takes the top scores on purpose}
"""
    policy, diags = check(text)
    assert policy is not None and not errors(diags), [d.render() for d in diags]
    assert policy.acknowledged[0].rule == "t#2" and policy.rules[0].when.subject == "t#2"
    policy, diags = check(text.replace('rule: "t#2"}\n    then', 'rule: "t#3"}\n    then'))
    [d] = errors(diags)
    assert (d.code, d.hint) == ("unknown-rule", "did you mean `t#2`?")


def test_id_cells_are_unique_within_a_table_too():
    text = HEAD + """tables:
  - id: t
    hit: first
    id_column: true
    inputs: [score]
    outputs: [coupon]
    rows:
      - [top, ">= 800", 1]
      - [top, ">= 700", 2]
"""
    policy, diags = check(text)
    [d] = errors(diags)
    assert (d.code, d.line, d.column) == ("rule-duplicate-id", text.count("\n"), 10)


def test_the_schema_snippets_of_a_table_are_valid_tables():
    import json
    import re
    from pathlib import Path

    from jsonschema import Draft202012Validator

    from engine.language.schema.accept import compile_schema

    def expand(body):  # as an editor inserts a snippet with its defaults
        if isinstance(body, dict):
            return {expand(k): expand(v) for k, v in body.items()}
        if isinstance(body, list):
            return [expand(v) for v in body]
        text = re.sub(r"\$\{\d+\|([^,|}]*)[^}]*\|\}", r"\1", body)
        return re.sub(r"\$\{\d+:([^}]*)\}", r"\1", text)

    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "policy.schema.json").read_text("utf-8"))
    only = {"$defs": schema["$defs"], "$ref": "#/$defs/table"}
    snippets = schema["$defs"]["table"]["defaultSnippets"]
    assert len(snippets) == 2
    for snippet in snippets:
        value = expand(snippet["body"])
        assert not list(Draft202012Validator(only).iter_errors(value)) and compile_schema(only)(value), value
    table = expand(snippets[0]["body"])  # on a policy that has its names, it validates
    text = HEAD.replace("  score: {type", "  credit_score: {type: integer}\n  score: {type") + "tables:\n  - " + \
        json.dumps(table) + "\n"
    policy, diags = check(text)
    assert policy is not None, [d.render() for d in diags]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = ["-", ">=", ">", "<=", "<", "!=", "[", "]", "(", ")", "..", ",", " ", '"', "not", "contains", "starts_with",
           "600", "0.5", "min_score", "gold", "true", "{fact: score}", "{", "}", "2026-01-01", "é", "\\", "#", ":"]


@settings(max_examples=300, deadline=None)
@given(column=st.sampled_from(["score", "ratio", "tier", "city", "vip", "opened"]),
       cell=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6).map("".join))
def test_any_cell_text_compiles_or_is_refused_at_the_cell(column, cell):
    import json

    (policy, diags), line = one_cell(column, json.dumps(cell))
    if policy is None:
        for d in errors(diags):
            # at the cell; or a threshold of the wrong type, at its declaration with the cell as related
            assert (d.line, d.column) == (line, 10) or [r[1:3] for r in d.related] == [(line, 10)], d.render()
            assert d.code in codes.DESCRIPTIONS


def test_an_unreachable_row_kept_on_purpose_is_acknowledged_by_its_row_id():
    from engine.analysis.findings import analyse

    table = HEAD + """tables:
  - id: t
    hit: first
    inputs: [score]
    outputs: [coupon]
    rows:
      - [">= 700", 1]
      - [">= 800", 2]
"""
    policy, diags = check(table)
    [found] = [d for d in analyse(policy) if d.code == "table-row-unreachable"]
    assert (found.line, found.suppressed) == (table.count("\n"), None)
    acked = table + """lint:
  acknowledge:
    - {code: table-row-unreachable, rule: "t#2", reason: kept for the January campaign}
"""
    policy, diags = check(acked)
    assert policy is not None and not errors(diags), [d.render() for d in diags]
    [found] = [d for d in analyse(policy) if d.code == "table-row-unreachable"]
    assert found.suppressed == "kept for the January campaign"
    assert not [d for d in analyse(policy) if d.code == "acknowledgement-unused"]
    # a row finding names its row; a rule's own `lint: {ignore: …}` cannot name a row's finding
    policy, diags = check(acked.replace(', rule: "t#2"', ""))
    [d] = errors(diags)
    assert (d.code, d.pointer, d.hint) == ("lint-ignore-not-applicable", "/lint/acknowledge/0/code", "`rule: t#1`")
    policy, diags = check(HEAD + """rules:
  - id: r
    when: {score: {gte: 700}}
    then: {set: {coupon: 1}}
    lint: {ignore: [table-row-unreachable]}
""")
    [d] = errors(diags)
    assert d.code == "lint-ignore-not-applicable"


@pytest.mark.parametrize("when, cell, conflict", [
    ("{score: 400}", ">= 800", False),                        # one score cannot be both
    ("{score: {lt: 600}}", "[600..700)", False),
    ("{all: [{score: {lt: 600}}, {vip: true}]}", ">= 650", False),  # a top-level conjunct decides
    ("{tier: basic}", "-", False),                             # a conjunct of the row: see below
    ("{score: {gte: 750}}", ">= 800", True),                   # both hold at 800
    ("{any: [{score: 400}, {vip: true}]}", ">= 800", True),    # an `any` proves nothing
    ("{not: {score: {lt: 800}}}", ">= 800", True),
])
def test_output_conflict_only_between_rules_that_can_match_together(when, cell, conflict):
    text = HEAD + f"""rules:
  - id: r
    when: {when}
    then: {{set: {{coupon: 5}}}}
tables:
  - id: t
    hit: first
    inputs: [score, tier]
    outputs: [coupon]
    rows:
      - ["{cell}", "{'silver, gold' if cell == '-' else '-'}", 10]
"""
    policy, diags = check(text)
    found = [d for d in errors(diags) if d.code == "output-conflict"]
    assert bool(found) == conflict, [d.render() for d in diags]
    assert not [d for d in errors(diags) if d.code != "output-conflict"], [d.render() for d in diags]
