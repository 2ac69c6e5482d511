"""The language server's pure parts, without a client: the index of names, the
diagnostics (the same as `verdict validate`'s, at LSP ranges), hover, definition and
references, completion contexts, and code actions (applied, then validated again)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.lsp.actions import code_actions, reason_code
from engine.lsp.complete import completions, context_at
from engine.lsp.diagnostics import check_analysis, check_fast, to_lsp
from engine.lsp.index import build_index
from engine.lsp.navigate import definition, hover, references
from engine.lsp.positions import Lines, Span

ROOT = Path(__file__).resolve().parent.parent
# The Double 11 policy as it was with its tiers as rules (policies/ now has them as a table):
# completion, hover and navigation inside rule conditions, at the positions these tests name.
DOUBLE11 = ROOT / "tests" / "fixtures" / "lsp" / "double11-rules.yaml"
TABLED = ROOT / "policies" / "double11-coupon.yaml"
FIXTURES = ROOT / "tests" / "fixtures"
URI = "file:///p.yaml"


def lsp_diagnostics(text: str, path: str = "p.yaml") -> list[dict]:
    doc, policy, diags = check_fast(text, path)
    if policy is not None:
        diags = diags + check_analysis(policy)
    return to_lsp(diags, Lines(text), URI, base="https://docs.example/")


def find(text: str, snippet: str, offset: int = 0) -> tuple[int, int]:
    """The 0-based (line, character) just after the first `snippet` (plus `offset`)."""
    for n, line in enumerate(text.split("\n")):
        if snippet in line:
            return n, line.index(snippet) + len(snippet) + offset
    raise AssertionError(f"{snippet!r} not in the text")


def apply(text: str, edit: dict) -> str:
    """Apply a WorkspaceEdit's single-line edits (last first) to a text."""
    (changes,) = edit["changes"].values()
    lines = Lines(text)
    out = text
    for change in sorted(changes, key=lambda c: (c["range"]["start"]["line"], c["range"]["start"]["character"]),
                         reverse=True):
        s, e = change["range"]["start"], change["range"]["end"]
        start = lines.offset(s["line"] + 1, lines.from_utf16(s["line"], s["character"]) + 1)
        end = lines.offset(e["line"] + 1, lines.from_utf16(e["line"], e["character"]) + 1)
        out = out[:start] + change["newText"] + out[end:]
    return out


# -- diagnostics: what `verdict validate` says, where it says it ---------------------------
def test_every_diagnostic_of_validate_is_published_at_its_position():
    folders = [str(FIXTURES / name) for name in ("broken", "warnings", "valid")] + [str(ROOT / "policies")]
    result = CliRunner().invoke(main, ["validate", *folders, "--format", "json"])
    by_file: dict[str, list[dict]] = {}
    for d in json.loads(result.output)["diagnostics"]:
        if d["code"] != "policy-duplicate-id":  # across files: not one document's finding
            by_file.setdefault(d["file"], []).append(d)
    checked = 0
    for path in sorted(p for folder in folders for p in Path(folder).glob("*.yaml")
                       if not p.name.endswith(".test.yaml")):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # an editor sends text: a file that is not UTF-8 never reaches the server
        text = text.removeprefix("\ufeff")
        lines = Lines(text)
        published = lsp_diagnostics(text, str(path))
        expected = Counter((d["code"], max(d["line"], 1) - 1, d["column"] - 1 if d["line"] else 0)
                           for d in by_file.get(str(path), []))
        got = Counter()
        for item in published:
            start = item["range"]["start"]
            char = lines.from_utf16(start["line"], start["character"])
            # A quoted name's range starts inside its quotes, one after verdict's column.
            if char and lines.line(start["line"])[char - 1:char] in ("'", '"'):
                char -= 1
            got[(item["code"], start["line"], char)] += 1
        assert got == expected, path.name
        checked += len(published)
    assert checked > 80


def test_a_diagnostic_has_code_link_hint_replacement_and_an_exact_range():
    text = DOUBLE11.read_text().replace("{overdue_days: {gt: max_overdue_days}}",
                                        "{overdue_dayz: {gt: max_overdue_days}}")
    (item,) = lsp_diagnostics(text)
    line, char = find(text, "when: {overdue_dayz", -len("overdue_dayz"))
    assert item["range"] == {"start": {"line": line, "character": char},
                             "end": {"line": line, "character": char + len("overdue_dayz")}}
    assert item["code"] == "unknown-fact" and item["severity"] == 1 and item["source"] == "verdict"
    assert item["message"] == "unknown fact `overdue_dayz`\nhint: did you mean `overdue_days`?"
    assert item["codeDescription"] == {"href": "https://docs.example/codes.md#unknown-fact"}
    assert item["data"]["replacement"] == "overdue_days" and item["data"]["rule"] == "overdue-severe"


def test_analysis_findings_carry_their_witness():
    gaps = [d for d in lsp_diagnostics(DOUBLE11.read_text()) if d["code"] == "gap"]
    assert gaps and all(d["severity"] == 3 for d in gaps)
    assert all("witness" in d["data"] and "credit_score=" in d["message"] for d in gaps)


def test_a_yaml_error_is_one_diagnostic_and_columns_count_utf16():
    text = "policy: p\nversion: 1\ntitle: \U0001F389 x\nfacts: {a: [}\n"
    (item,) = lsp_diagnostics(text)
    assert item["code"] == "yaml-syntax" and item["range"]["start"]["line"] == 3
    lines = Lines("t: \U0001F389é\n")
    assert lines.to_utf16(0, 4) == 5 and lines.from_utf16(0, 5) == 4
    assert lines.lsp_range(Span(0, 3, 5)) == {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 6}}


def test_only_policies_are_checked_as_validate_recognises_them(tmp_path):
    from engine.cli.validate import _kind
    from engine.lsp.diagnostics import is_policy

    samples = {"p.yaml": DOUBLE11.read_text(), "w.yaml": "name: ci\non: [push]\njobs: {}\n",
               "m.yaml": "# yaml-language-server: $schema=../schemas/policy.schema.json\nversion: 1\n",
               "q.yaml": "'policy': x\n", "e.yaml": "# nothing yet\n", "l.yaml": "- a\n", "s.test.yaml": "policy: p.yaml\ncases: []\n"}
    for name, text in samples.items():
        (tmp_path / name).write_text(text)
        assert is_policy(text, name) == (_kind(str(tmp_path / name))[0] == "policy"), name
    assert [n for n, t in samples.items() if is_policy(t, n)] == ["p.yaml", "m.yaml", "q.yaml", "e.yaml", "l.yaml"]


# -- the index, hover, definition, references -------------------------------------------
def test_the_index_knows_declarations_and_uses_of_every_kind():
    index = build_index(DOUBLE11.read_text())
    t = index.symbols[("threshold", "max_overdue_days")]
    assert t.spec == 30 and [d.span.line for d in t.declarations] == [72]
    assert {u.rule for u in t.uses} == {"overdue-severe", "overdue-warning"}
    assert sum(1 for u in t.uses if u.fact == "overdue_days") == 2  # two comparisons, two message placeholders
    assert len(index.symbols[("fact", "credit_score")].uses) >= 6
    assert [u.rule for u in index.symbols[("flag", "high_risk")].declarations] == ["high-risk"]
    assert [u.rule for u in index.symbols[("flag", "high_risk")].uses] == ["double11-coupon"]
    assert {u.rule for u in index.symbols[("outcome", "ineligible")].uses} == {None}  # `default:`
    assert len(index.symbols[("outcome", "denied")].uses) == 4
    assert [u.rule for u in index.symbols[("reason", "NEW_USER")].uses] == ["new-user"]
    assert [u.rule for u in index.symbols[("output", "coupon_yuan")].uses] == ["double11-coupon"]
    assert index.names("rule")[0] == "account-frozen"


def test_hover_on_a_threshold_shows_its_value_and_uses():
    text = DOUBLE11.read_text()
    index = build_index(text)
    line, char = find(text, "{overdue_days: {gt: max_", 0)
    value = hover(index, line, char)["contents"]["value"]
    assert "`max_overdue_days` = `30` (integer)" in value and "declared at line 73" in value
    assert "rule `overdue-warning`, compared with `overdue_days`" in value and "used 4 times" in value


def test_hover_on_facts_outcomes_reasons_outputs_and_rules():
    text = DOUBLE11.read_text()
    index = build_index(text)
    fact = hover(index, *find(text, "- credit_score: {gte: platinum", -25))["contents"]["value"]
    assert "**fact** `credit_score`: integer (range 300..950)" in fact and "Platform credit score" in fact
    outcome = hover(index, *find(text, "then: {outcome: plat"))["contents"]["value"]
    assert "**outcome** `platinum`" in outcome and "Platinum tier" in outcome
    denied = hover(index, *find(text, "- {id: den"))["contents"]["value"]
    assert "(adverse)" in denied
    reason = hover(index, *find(text, "reason: NEW_"))["contents"]["value"]
    assert "**reason** `NEW_USER`" in reason and "New account" in reason
    output = hover(index, *find(text, "{set: {coupon_"))["contents"]["value"]
    assert "**output** `coupon_yuan`: integer (default `0`)" in output
    rule = hover(index, *find(text, "- id: overdue-sev"))["contents"]["value"]
    assert "**rule** `overdue-severe`: outcome `denied`, reason `OVERDUE_SEVERE`" in rule
    assert hover(index, *find(text, "description: Platform cr")) is None


def test_hover_on_an_undeclared_name_says_so():
    text = DOUBLE11.read_text().replace("{frozen: true}", "{frozn: true}")
    index = build_index(text)
    assert "`frozn` is not declared" in hover(index, *find(text, "{froz"))["contents"]["value"]


def test_definition_and_references():
    text = DOUBLE11.read_text()
    index = build_index(text)
    at = find(text, "{overdue_days: {gt: max_", 0)
    (loc,) = definition(index, URI, *at)
    assert loc["range"]["start"] == {"line": 72, "character": 2}
    refs = references(index, URI, *at)
    assert len(refs) == 5 and refs[0]["range"]["start"]["line"] == 72
    assert len(references(index, URI, *at, include_declaration=False)) == 4
    assert definition(index, URI, 0, 0) == []


# -- completion ------------------------------------------------------------------------
CASES = [
    ("    when: {overdue_days: {gt: ", ["max_overdue_days", "gold_max_overdue_days"], ["coupon_tiers", "credit_score"]),
    ("    when: {", ["credit_score", "frozen", "all", "not", "flag", "outcome"], ["max_overdue_days"]),
    ("        - credit_score: {", ["gte", "between", "in"], ["credit_score"]),
    ("        - membership: ", ["gold", "platinum"], ["min_credit_score"]),
    ("    when: {frozen: ", ["true", "false"], ["gold"]),
    ("    then: {outcome: ", ["denied", "ineligible"], ["credit_score"]),
    ("      reason: OVERDUE_SEVERE", ["NEW_USER", "OVERDUE_SEVERE"], []),
    ("        - outcome: {in: ", ["coupon_tiers", "gold"], []),
    ("        - not: {flag: ", ["high_risk"], []),
    ("    then: {set: {", ["coupon_yuan"], []),
]


@pytest.mark.parametrize("line_text, wanted, unwanted", CASES)
def test_completion_in_conditions_and_effects(line_text, wanted, unwanted):
    text = DOUBLE11.read_text()
    index = build_index(text)
    line, char = find(text, line_text.strip(), 0)
    char = text.split("\n")[line].index(line_text.strip()) + len(line_text.strip())
    labels = [i["label"] for i in completions(text, index, line, char)]
    assert set(wanted) <= set(labels), labels
    assert not set(unwanted) & set(labels), labels


def test_completion_works_in_half_typed_block_conditions():
    good = DOUBLE11.read_text()
    index = build_index(good)  # the last version that loaded
    text = good.replace("        - overdue_days: 0\n", "        - overdue_days: 0\n        - \n", 1)
    line, char = find(text, "        - ", 0)
    line = text.split("\n").index("        - ")
    assert context_at(text, line, 10).path[-2:] == ["when", "all"]
    labels = [i["label"] for i in completions(text, index, line, 10)]
    assert "credit_score" in labels and "gte" not in labels
    text = good.replace("    then: {outcome: gold}\n", "    then:\n      outcome: \n", 1)
    line = text.split("\n").index("      outcome: ")
    assert "gold" in [i["label"] for i in completions(text, index, line, 15)]
    assert completions(text, None, line, 15) == []
    assert completions(text, index, 1, 3) == []  # `version:`: the schema's business


# -- code actions ----------------------------------------------------------------------
def test_applying_a_did_you_mean_fixes_the_policy():
    good = DOUBLE11.read_text()
    text = good.replace("{credit_score: {lt: min_credit_score}}", "{credit_scor: {lt: min_credit_scor}}")
    diags = lsp_diagnostics(text)
    assert {d["code"] for d in diags} == {"unknown-fact"}  # the operand waits for its fact
    (fix,) = code_actions(text, build_index(text), URI, diags)
    assert fix["title"] == "Replace `credit_scor` with `credit_score`" and fix["kind"] == "quickfix"
    text = apply(text, fix["edit"])
    diags = lsp_diagnostics(text)
    assert [d["code"] for d in diags] == ["unknown-threshold"]
    (fix,) = code_actions(text, build_index(text), URI, diags)
    assert apply(text, fix["edit"]) == good


def test_no_did_you_mean_action_when_the_range_is_not_the_name():
    text = DOUBLE11.read_text().replace("more than {max_overdue_days}", "more than {max_overdue_dayz}")
    diags = lsp_diagnostics(text)
    assert [d["code"] for d in diags] == ["template-unknown-name"]
    assert diags[0]["data"]["replacement"] == "max_overdue_days"
    assert code_actions(text, build_index(text), URI, diags) == []


@pytest.mark.parametrize("style", ["flow", "block"])
def test_adding_a_missing_reason(style):
    text = (FIXTURES / "broken" / "adverse-without-reason.yaml").read_text()
    if style == "block":
        text = text.replace("    then: {outcome: denied}\n", "    then:\n      outcome: denied\n")
    diags = [d for d in lsp_diagnostics(text) if d["code"] == "adverse-without-reason"]
    assert len(diags) == 1
    fixes = code_actions(text, build_index(text), URI, diags)
    assert [f["title"] for f in fixes] == ["Add `reason: ACCOUNT_FROZEN` to rule `account-frozen`",
                                           "Add `reason: LOW_CREDIT_SCORE` to rule `account-frozen`"]
    fixed = apply(text, fixes[0]["edit"])
    assert lsp_diagnostics(fixed) == [d for d in lsp_diagnostics(fixed) if d["severity"] > 1]
    assert build_index(fixed).data["rules"][0]["then"] == {"outcome": "denied", "reason": "ACCOUNT_FROZEN"}


def test_a_policy_without_reasons_gets_a_code_made_from_the_rule_id():
    text = (FIXTURES / "broken" / "adverse-without-reason.yaml").read_text()
    text = text.replace("reasons:\n  ACCOUNT_FROZEN: Your account is frozen\n  LOW_CREDIT_SCORE: Your credit score is "
                        "too low\n", "")
    diags = [d for d in lsp_diagnostics(text) if d["code"] == "adverse-without-reason"]
    (fix,) = code_actions(text, build_index(text), URI, diags)
    assert "reason: ACCOUNT_FROZEN" in apply(text, fix["edit"])
    assert reason_code("9-lives") == "R_9_LIVES"


def test_the_index_knows_a_tables_columns_thresholds_in_cells_and_row_ids():
    text = TABLED.read_text()
    index = build_index(text)
    uses = index.symbols[("fact", "credit_score")].uses
    assert any(text.split("\n")[o.span.line].lstrip().startswith("inputs:") for o in uses)
    (row,) = index.symbols[("rule", "gold-tier")].declarations
    assert text.split("\n")[row.span.line][row.span.start:row.span.end] == "gold-tier"
    (cell,) = index.symbols[("threshold", "gold_credit_score")].uses
    assert text.split("\n")[cell.span.line][cell.span.start:cell.span.end] == "gold_credit_score"
    assert cell.rule == "gold-tier"
    value = hover(index, cell.span.line, cell.span.start + 1)["contents"]["value"]
    assert "`gold_credit_score` = `700` (integer)" in value
