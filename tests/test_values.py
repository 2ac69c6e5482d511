"""The one value formatter (engine/language/values.py): every style on every kind of value."""

from __future__ import annotations

import pytest

from engine.language.values import DIFF, TEXT, WITNESS, YAML, clip, format_value, literal, value_fits

# value, YAML (diagnostics), TEXT (explanations), WITNESS (regions), DIFF (verdict diff)
CASES = [
    (True, "true", "true", "true", "true"),
    (False, "false", "false", "false", "false"),
    (None, "null", "missing", "null", "(absent)"),
    ("gold", '"gold"', "gold", "gold", '"gold"'),
    ("50", '"50"', "50", "50", '"50"'),
    ("小明", '"小明"', "小明", "小明", '"小明"'),
    (700, "700", "700", "700", "700"),
    (700.0, "700.0", "700", "700", "700.0"),
    (0.9, "0.9", "0.9", "0.9", "0.9"),
    (1e20, "1e+20", "1e+20", "1e+20", "1e+20"),
    (-0.0, "-0.0", "0", "0", "-0.0"),
    ([1, "a", None], '[1, "a", null]', "[1, a, missing]", "[1, a, null]", '[1, "a", (absent)]'),
    (("gold", "platinum"), '["gold", "platinum"]', "[gold, platinum]", "[gold, platinum]", '["gold", "platinum"]'),
    ({"a": True}, '{"a": true}', "{a: true}", "{a: true}", '{"a": true}'),
]


@pytest.mark.parametrize("value, yaml, text, witness, diff", CASES, ids=[repr(c[0]) for c in CASES])
def test_styles(value, yaml: str, text: str, witness: str, diff: str) -> None:
    assert [format_value(value, s) for s in (YAML, TEXT, WITNESS, DIFF)] == [yaml, text, witness, diff]
    assert literal(value) == yaml


@pytest.mark.parametrize("ftype, value, fits", [
    ("integer", 700, True), ("integer", 700.0, True), ("integer", 7.5, False), ("integer", True, False),
    ("number", 0.5, True), ("number", False, False), ("boolean", False, True), ("boolean", 0, False),
    ("string", "x", True), ("string", 1, False),
])
def test_value_fits(ftype: str, value, fits: bool) -> None:
    assert value_fits(ftype, value) is fits


def test_clip() -> None:
    assert clip("x" * 40) == "x" * 40 and clip("x" * 41) == "x" * 37 + "..."
