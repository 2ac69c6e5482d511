"""The issue's property: a random decision table (random cells over integer, number, enum and
boolean inputs, every hit policy) decides random records, with optional facts missing, on
the native and the durable backends exactly as a direct interpretation of its rows.

The interpretation below is written from the cells' meaning (DMN's, with Kleene logic for
a missing fact: a cell on a missing fact is unknown, `-` is true), never from the IR the
validator builds: each generated cell carries its own predicate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile import compile_policy
from engine.evaluate import evaluate
from engine.explain.render import to_json
from engine.language.disjoint import disjoint, profile
from engine.language.loader import check_policy_bytes

INT_VALUES = list(range(0, 11))
INT_OPERANDS = [2, 4, 5, 6, 8]  # few operands: rows overlap often, so first-hit pruning matters
NUM_OPERANDS = [0, 0.25, 0.5, 0.75, 1]
NUM_VALUES = [0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.75, 0.9, 1]
ENUM = ["r", "g", "b"]
FACTS = {"a": "integer", "x": "number", "e": "enum", "f": "boolean"}
OUTCOMES = ["hi", "mid", "lo"]  # precedence order
DEFAULT = "none"
COLLECT_COMBINES = ["sum", "min", "max", "count"]


@dataclass(frozen=True)
class Cell:
    text: str
    holds: object  # value -> bool, for a present value

    def __call__(self, value):
        if self.text == "-":
            return True
        if value is None:
            return None  # a cell on a missing fact is unknown
        return self.holds(value)


ANY = Cell("-", lambda v: True)
_CMP = {">=": lambda v, o: v >= o, ">": lambda v, o: v > o, "<=": lambda v, o: v <= o, "<": lambda v, o: v < o,
        "!=": lambda v, o: v != o}


def _text(v) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


@st.composite
def ordered_cells(draw, operands):
    kind = draw(st.sampled_from(["any", "eq", "in", "not", "cmp", "interval", "half"]))
    if kind == "any":
        return ANY
    if kind == "eq":
        v = draw(st.sampled_from(operands))
        return Cell(_text(v), lambda x, v=v: x == v)
    if kind in ("in", "not"):
        vs = draw(st.lists(st.sampled_from(operands), min_size=1 if kind == "not" else 2, max_size=3, unique=True))
        body = ", ".join(_text(v) for v in vs)
        if kind == "in":
            return Cell(body, lambda x, vs=tuple(vs): x in vs)
        return Cell(f"not({body})", lambda x, vs=tuple(vs): x not in vs)
    if kind == "cmp":
        op, v = draw(st.sampled_from(sorted(_CMP))), draw(st.sampled_from(operands))
        return Cell(f"{op} {_text(v)}", lambda x, op=op, v=v: _CMP[op](x, v))
    if kind == "interval":
        lo, hi = sorted(draw(st.lists(st.sampled_from(operands), min_size=2, max_size=2, unique=True)))
        left, right = draw(st.sampled_from("[(")), draw(st.sampled_from("])"))
        return Cell(f"{left}{_text(lo)}..{_text(hi)}{right}",
                    lambda x, lo=lo, hi=hi, left=left, right=right:
                    (x >= lo if left == "[" else x > lo) and (x <= hi if right == "]" else x < hi))
    v = draw(st.sampled_from(operands))  # a half-open interval: one bound
    if draw(st.booleans()):
        left = draw(st.sampled_from("[("))
        return Cell(f"{left}{_text(v)}..]", lambda x, v=v, left=left: x >= v if left == "[" else x > v)
    right = draw(st.sampled_from("])"))
    return Cell(f"(..{_text(v)}{right}", lambda x, v=v, right=right: x <= v if right == "]" else x < v)


@st.composite
def enum_cells(draw):
    kind = draw(st.sampled_from(["any", "eq", "in", "not"]))
    if kind == "any":
        return ANY
    if kind == "eq":
        v = draw(st.sampled_from(ENUM))
        return Cell(v, lambda x, v=v: x == v)
    vs = draw(st.lists(st.sampled_from(ENUM), min_size=1 if kind == "not" else 2, max_size=3, unique=True))
    if kind == "in":
        return Cell(", ".join(vs), lambda x, vs=tuple(vs): x in vs)
    return Cell(f"not({', '.join(vs)})", lambda x, vs=tuple(vs): x not in vs)


BOOL_CELLS = [ANY, Cell("true", lambda x: x is True), Cell("false", lambda x: x is False),
              Cell("not(true)", lambda x: x is not True), Cell("not(false)", lambda x: x is not False)]

CELLS = {"a": ordered_cells(INT_OPERANDS), "x": ordered_cells(NUM_OPERANDS), "e": enum_cells(),
         "f": st.sampled_from(BOOL_CELLS)}


@dataclass(frozen=True)
class Row:
    cells: tuple  # of Cell, one per input
    outcome: str | None  # None: `-`
    value: int | None  # o_val, None: `-`


@dataclass(frozen=True)
class Case:
    hit: str
    inputs: tuple[str, ...]
    rows: tuple[Row, ...]
    combine: str | None
    required: frozenset  # facts that are required (the others may be missing)

    def policy_text(self) -> str:
        facts = {"a": "{type: integer, minimum: 0, maximum: 10", "x": "{type: number, minimum: 0, maximum: 1",
                 "e": "{type: string, enum: [r, g, b]", "f": "{type: boolean"}
        out = ["policy: prop", "version: 1", "facts:"]
        for name, spec in facts.items():
            out.append(f"  {name}: {spec}{'' if name in self.required else ', required: false'}}}")
        out += ["outcomes: [" + ", ".join(OUTCOMES + [DEFAULT]) + "]", f"default: {DEFAULT}", "outputs:",
                "  o_val: {type: integer, default: -1" + (f", combine: {self.combine}" if self.combine else "") + "}",
                "tables:", "  - id: t", f"    hit: {self.hit}", f"    inputs: [{', '.join(self.inputs)}]",
                f"    outputs: [{'o_val' if self.hit == 'collect' else 'outcome, o_val'}]", "    rows:"]
        for row in self.rows:
            cells = [json.dumps(c.text) for c in row.cells]
            if self.hit != "collect":
                cells.append(json.dumps(row.outcome or "-"))
            cells.append(json.dumps("-") if row.value is None else str(row.value))
            out.append("      - [" + ", ".join(cells) + "]")
        return "\n".join(out) + "\n"


@st.composite
def cases(draw, hit: str):
    inputs = tuple(draw(st.lists(st.sampled_from(sorted(FACTS)), min_size=1, max_size=4, unique=True)))
    n = draw(st.integers(1, 5))
    rows = []
    for _ in range(n):
        cells = tuple(draw(CELLS[i]) for i in inputs)
        if hit == "collect":
            outcome = None
        elif hit == "priority":
            outcome = draw(st.sampled_from(OUTCOMES))
        else:
            outcome = draw(st.sampled_from(OUTCOMES + [None]))
        rows.append(Row(cells, outcome, draw(st.one_of(st.none(), st.integers(0, 5)))))
    combine = {"collect": draw(st.sampled_from(COLLECT_COMBINES)), "priority": "max"}.get(hit)
    required = frozenset(draw(st.sets(st.sampled_from(sorted(FACTS)))))
    return Case(hit, inputs, tuple(rows), combine, required)


def records(case: Case):
    values = {"a": st.sampled_from(INT_VALUES), "x": st.sampled_from(NUM_VALUES), "e": st.sampled_from(ENUM),
              "f": st.booleans()}
    fields = {}
    for name, strategy in values.items():
        fields[name] = strategy if name in case.required else st.one_of(st.none(), strategy)
    return st.fixed_dictionaries(fields).map(lambda r: {k: v for k, v in r.items() if v is not None})


# -- the direct interpretation ------------------------------------------------------------------------

def and3(values):
    values = list(values)
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def own(case: Case, record: dict) -> list:
    return [and3(cell(record.get(name)) for name, cell in zip(case.inputs, row.cells)) for row in case.rows]


def expected_matches(case: Case, record: dict) -> list:
    """Which rows apply. `first`: the first row that matches applies, and only where every
    earlier row is known not to match (an earlier row that may match leaves it unknown);
    every other hit policy: each row that matches."""
    rows = own(case, record)
    if case.hit != "first":
        return rows
    out, taken, maybe = [], False, False
    for m in rows:
        out.append(False if taken or m is False else None if maybe or m is None else True)
        taken, maybe = taken or m is True, maybe or m is None
    return out


def expected_result(case: Case, matched: list):
    """(outcome, o_val) as DMN's hit policies define them, for records whose rows all have a
    known match; None where DMN gives no single answer (unique with overlapping rows, any
    with overlapping rows that disagree)."""
    hits = [row for row, m in zip(case.rows, matched) if m]
    if case.hit in ("first", "unique", "any"):
        if not hits:
            return DEFAULT, -1
        if case.hit == "unique" and len(hits) > 1:
            return None
        if case.hit == "any" and len({(r.outcome, r.value) for r in hits}) > 1:
            return None
        row = hits[0]
        return row.outcome or DEFAULT, -1 if row.value is None else row.value
    if case.hit == "priority":
        if not hits:
            return DEFAULT, -1
        best = min(OUTCOMES.index(r.outcome) for r in hits)
        values = [r.value for r in hits if OUTCOMES.index(r.outcome) == best and r.value is not None]
        return OUTCOMES[best], max(values) if values else -1
    values = [r.value for r in hits if r.value is not None]  # collect
    if not values:
        return DEFAULT, -1
    return DEFAULT, {"sum": sum, "min": min, "max": max, "count": len}[case.combine](values)


# -- the property -----------------------------------------------------------------------------------

def _durable_available() -> bool:
    try:
        import durable.engine  # noqa: F401
        import engine.backends.durable  # noqa: F401
    except Exception:
        return False
    return True


BACKENDS = ["native"] + (["durable"] if _durable_available() else [])


@pytest.mark.parametrize("hit", ["first", "unique", "any", "priority", "collect"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_random_table_decides_as_its_rows_say(hit, data):
    case = data.draw(cases(hit))
    policy, diags = check_policy_bytes(case.policy_text().encode(), "prop.yaml")
    assert policy is not None, case.policy_text() + "\n".join(d.render() for d in diags)
    ruleset = compile_policy(policy)
    for record in data.draw(st.lists(records(case), min_size=1, max_size=10)):
        matched = expected_matches(case, record)
        decisions = [evaluate(ruleset, record, trace=t, backend=b) for b in BACKENDS for t in (True, False)]
        for d in decisions:
            assert list(d.matched) == matched, (case.policy_text(), record, d.matched)
        if None not in matched:
            expected = expected_result(case, matched)
            if expected is not None:
                for d in decisions:
                    assert (d.outcome, d.outputs["o_val"]) == expected, (case.policy_text(), record)
                    assert d.outcome_known
        else:
            # Some row is unknown: the decision says so whenever that row could decide the outcome.
            for d in decisions:
                open_rows = [row for row, m in zip(case.rows, matched) if m is None and row.outcome]
                if case.hit == "first" and open_rows and True not in matched:
                    assert not d.outcome_known, (case.policy_text(), record)
        assert len({to_json(d, trace=False) for d in decisions}) == 1  # every path agrees byte for byte


def test_the_interpretation_is_not_the_compiled_ir():
    """The interpretation's first-hit scan, on a table whose second row is shadowed where the
    first row is unknown: a missing fact leaves the later row unknown, not applied."""
    case = Case("first", ("a", "e"), (Row((Cell(">= 5", lambda v: v >= 5), ANY), "hi", 1),
                                      Row((ANY, Cell("r", lambda v: v == "r")), "lo", 2)), None, frozenset({"e"}))
    assert expected_matches(case, {"e": "r"}) == [None, None]
    assert expected_matches(case, {"a": 3, "e": "r"}) == [False, True]
    assert expected_matches(case, {"a": 7, "e": "g"}) == [True, False]
    policy, diags = check_policy_bytes(case.policy_text().encode(), "prop.yaml")
    assert policy is not None, [d.render() for d in diags]
    rs = compile_policy(policy)
    for backend in BACKENDS:
        assert list(evaluate(rs, {"e": "r"}, backend=backend).matched) == [None, None]
        assert list(evaluate(rs, {"a": 3, "e": "r"}, backend=backend).matched) == [False, True]


# The pruning on its own: two cells on one input are claimed disjoint exactly when no value
# of the input's declared range satisfies both (numbers: on a grid finer than the operands'
# midpoints, which is where two cells of these operands can only share values).
DOMAINS = {"a": INT_VALUES, "x": [i / 8 for i in range(9)], "e": ENUM, "f": [True, False]}


@pytest.mark.parametrize("name", sorted(FACTS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_disjointness_is_proved_exactly(name, data):
    first, second = data.draw(CELLS[name]), data.draw(CELLS[name])
    case = Case("unique", (name,), (Row((first,), None, 1), Row((second,), None, 2)), None, frozenset())
    policy, diags = check_policy_bytes(case.policy_text().encode(), "prop.yaml")
    assert policy is not None, [d.render() for d in diags]
    specs = {name: policy.facts[name]}
    claimed = disjoint(profile(list(policy.rules[0].leaves), specs), profile(list(policy.rules[1].leaves), specs))
    shared = [v for v in DOMAINS[name] if first(v) and second(v)]
    assert claimed == (not shared and first.text != "-" and second.text != "-"), (first.text, second.text, shared)


# The same random table with its rows in a CSV file compiles to the same rules (locations aside).
def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _without_locs(cond):
    import dataclasses

    if hasattr(cond, "via"):
        return dataclasses.replace(cond, loc=None)
    if hasattr(cond, "items"):
        return type(cond)(tuple(_without_locs(c) for c in cond.items))
    return type(cond)(_without_locs(cond.item))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_random_table_from_a_csv_compiles_as_inline(data):
    import tempfile
    from pathlib import Path

    from engine.io.policies import check_policy_file

    case = data.draw(cases(data.draw(st.sampled_from(["first", "unique", "any", "priority", "collect"]))))
    inline = case.policy_text()
    head, _, rows = inline.partition("    rows:\n")
    header = list(case.inputs) + ([] if case.hit == "collect" else ["outcome"]) + ["o_val"]
    lines = [",".join(header)]
    for row in case.rows:
        cells = [c.text for c in row.cells] + ([] if case.hit == "collect" else [row.outcome or "-"])
        lines.append(",".join([_csv_field(c) for c in cells] + ["-" if row.value is None else str(row.value)]))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "p.yaml").write_text(head + "    rows: {csv: t.csv}\n", encoding="utf-8")
        (Path(folder) / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        from_csv, diags = check_policy_file(Path(folder) / "p.yaml")
    assert from_csv is not None, [d.render() for d in diags]
    policy, _ = check_policy_bytes(inline.encode(), "prop.yaml")
    assert [(r.id, r.then, _without_locs(r.when)) for r in from_csv.rules] == \
        [(r.id, r.then, _without_locs(r.when)) for r in policy.rules]
    assert from_csv.tables[0].cells == policy.tables[0].cells
