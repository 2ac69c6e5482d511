"""F6: an output a condition reads while it is unknown is shown as unknown (`?`, JSON
`actual: null`), not as its default; rows undetermined because of it name the rows that
set it; a `hit: first` row blocked by earlier undetermined rows carries `blocked_by`; the
Markdown form keeps the "could not be decided" lines."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "v3_fix_surface"
GOLD = HERE / "golden" / "v3_fix_surface"
VERDICT = Path(sys.executable).parent / "verdict"


def _explain(fmt: str) -> str:
    out = subprocess.run([str(VERDICT), "explain", "-p", "t1.yaml", "t1r.json", "--format", fmt],
                         cwd=FIX, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    return out.stdout


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_golden(fmt, ext):
    got = _explain(fmt)
    path = GOLD / f"t1.{ext}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text()


def test_unknown_output_is_not_its_default():
    text = _explain("text")
    assert "Outputs: tier = ?," in text
    assert "missing tier" not in text
    assert "tier is unknown: rows first-t#2, #3, #5 could not be decided" in text
    md = _explain("markdown")
    assert "No row applied" not in md.split("**Table `coll`**")[0]
    assert "Row 5 could not be decided: earlier rows 2, 3 may apply" in md
    d = json.loads(_explain("json"))
    rules = {r["id"]: r for r in d["rules"]}
    assert d["outputs"]["tier"] == "none"  # Decision.outputs is unchanged
    assert rules["prio#1"]["conditions"][0]["actual"] is None
    assert rules["first-t#5"]["blocked_by"] == ["first-t#2", "first-t#3"]
    assert "blocked_by" not in rules["first-t#1"]
