"""List facts read from files: JSON and YAML lists, CSV cells holding a JSON array's text
(an empty cell is a missing fact), every item checked, errors located at the record and
naming the item; the input limits (nesting depth) still apply."""

from __future__ import annotations

import pytest

from engine.compile import compile_policy
from engine.errors import FactsError
from engine.evaluate import evaluate
from engine.io.records import read_records
from engine.language.model import FactSpec as F
from test_v3_runtime_ir import leaf, policy, rule

POLICY = policy({"id": F("id", "integer"),
                 "tags": F("tags", "array", items=F("tags", "string", enum=("cash", "card", "bnpl")), maximum=3,
                           required=False),
                 "limits": F("limits", "array", items=F("limits", "number", minimum=0), required=False)},
                [rule("cash", leaf("tags", "contains", "cash")), rule("two", leaf("limits", "length", ("gte", 2)))])
RS = compile_policy(POLICY)


def _decide(path):
    """(label, matches or the located error) per record of a file."""
    out = []
    for record in read_records(str(path), POLICY):
        if record.error:
            out.append((record.label, record.error))
            continue
        try:
            out.append((record.label, evaluate(RS, record.data, label=record.label).matched))
        except FactsError as exc:
            out.append((record.label, str(exc)))
    return out


def test_csv_cells_hold_json_arrays(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text('id,tags,limits\n'
                    '1,"[""cash"",""card""]","[1, 2.5]"\n'
                    '2,,[]\n'
                    '3,"[""loan""]",\n'
                    '4,"[""cash""",\n'
                    '5,"{""a"": 1}",\n'
                    '6,"[""cash"",""cash"",""card"",""bnpl""]",\n'
                    '7,,"[0, -1]"\n'
                    '8,,"[NaN]"\n', encoding="utf-8")
    assert _decide(path) == [
        (f"{path}:2", (True, True)),
        (f"{path}:3", (None, False)),  # an empty cell is a missing fact; `[]` an empty list
        (f"{path}:4", f"{path}:4: fact `tags` item 1 is `loan`, not one of cash, card, bnpl"),
        (f"{path}:5", 'fact `tags`: `["cash"` is not a JSON array (Expecting \',\' delimiter at column 8)'),
        (f"{path}:6", 'fact `tags`: `{"a": 1}` is not a JSON array (`["a", "b"]`)'),
        (f"{path}:7", f"{path}:7: fact `tags` has 4 items, more than the declared max_items 3"),
        (f"{path}:8", f"{path}:8: fact `limits` item 2 is -1, below the declared minimum 0"),
        (f"{path}:9", "fact `limits`: `NaN` is not a valid number"),
    ]


def test_csv_list_cells_keep_the_nesting_limit(tmp_path):
    path = tmp_path / "deep.csv"
    path.write_text("id,tags\n1," + "[" * 100 + "]" * 100 + "\n", encoding="utf-8")
    [(label, error)] = _decide(path)
    assert label == f"{path}:2" and "nested deeper than the limit of 64 levels" in error


def test_jsonl_and_yaml_lists(tmp_path):
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_text('{"id": 1, "tags": ["bnpl", "cash"], "limits": [3]}\n'
                     '{"id": 2, "tags": ["cash", 7]}\n'
                     '{"id": 3, "tags": null, "limits": [1e3, 0]}\n', encoding="utf-8")
    assert _decide(jsonl) == [
        (f"{jsonl}:1", (True, False)),
        (f"{jsonl}:2", f"{jsonl}:2: fact `tags` item 2 must be a string, got integer `7`"),
        (f"{jsonl}:3", (None, True)),
    ]
    yaml = tmp_path / "users.yaml"
    yaml.write_text("- {id: 1, tags: [card], limits: [1, 2]}\n- id: 2\n  tags: cash\n", encoding="utf-8")
    assert _decide(yaml) == [
        (f"{yaml}[0]", (False, True)),
        (f"{yaml}[1]", f"{yaml}[1]: fact `tags` must be a list, got string `cash`"),
    ]


@pytest.mark.parametrize("value", [["cash"], ("cash",)])
def test_the_api_takes_lists_and_tuples(value):
    d = evaluate(RS, {"id": 1, "tags": value})
    assert d.facts["tags"] == ("cash",) and d.matched == (True, None)
