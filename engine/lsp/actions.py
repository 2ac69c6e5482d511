"""Code actions: quick fixes for the diagnostics the client sends back.

- **Apply a did-you-mean**: a diagnostic whose hint proposes a name (`data.replacement`)
  and whose range covers the misspelt name its message quotes: replace it. A fact written
  as an operand (`{lt: monthly_income}`) becomes the fact operand `{fact: monthly_income}`
  the same way.
- **Add a missing `reason:`** to a rule that decides an adverse outcome without one
  (`adverse-without-reason`): one fix per declared reason code, or, when the policy
  declares none, a code made from the rule's id (`overdue-severe` → `OVERDUE_SEVERE`).
  The line goes under `outcome:` in a block mapping, or after it in a flow one.
"""

from __future__ import annotations

import re

from ..language.diagnostics import pointer_join
from .index import Index
from .positions import Lines

QUICKFIX = "quickfix"
MAX_REASON_FIXES = 8  # a long `reasons:` list would bury the menu
_NAMED = re.compile(r"`([^`]+)`")


def _text_at(lines: Lines, rng: dict) -> str:
    start, end = rng["start"], rng["end"]
    if start["line"] != end["line"]:
        return ""
    n = start["line"]
    return lines.line(n)[lines.from_utf16(n, start["character"]):lines.from_utf16(n, end["character"])]


def _edit(uri: str, rng: dict, new_text: str) -> dict:
    return {"changes": {uri: [{"range": rng, "newText": new_text}]}}


def did_you_mean(lines: Lines, uri: str, diag: dict) -> dict | None:
    data = diag.get("data") or {}
    new = data.get("replacement") if isinstance(data, dict) else None
    named = _NAMED.search(diag.get("message", ""))
    if not new or not named:
        return None
    old = _text_at(lines, diag["range"])
    if old != named.group(1) or old == new:
        return None  # the range is not the quoted name (a placeholder inside a message)
    return {"title": f"Replace `{old}` with `{new}`", "kind": QUICKFIX, "diagnostics": [diag],
            "isPreferred": True, "edit": _edit(uri, diag["range"], new)}


def reason_code(rule_id: str) -> str:
    """A reason code made from a rule id, in the form codes take (`^[A-Z][A-Z0-9_]*$`)."""
    code = re.sub(r"[^A-Z0-9]+", "_", rule_id.upper()).strip("_")
    return code if code[:1].isalpha() else "R_" + code


def _reason_insertion(index: Index, rule_at: int) -> tuple[dict, str] | None:
    """Where `reason: X` goes in rule `rule_at`'s `then`, and the text around the code
    (`{code}` marks it)."""
    smap, lines = index.source_map, index.lines
    optr = pointer_join("/rules", rule_at, "then", "outcome")
    if smap is None or optr not in smap.keys or optr not in smap.values:
        return None
    kline, kcol = smap.keys[optr]
    vline, vcol = smap.values[optr]
    outcome = index.data["rules"][rule_at]["then"]["outcome"]
    if not lines.line(kline - 1)[:kcol - 1].strip() or lines.line(kline - 1)[:kcol - 1].strip() == "-":
        # block style: a line of its own, indented as `outcome:`, after the outcome's line
        indent = " " * (kcol - 1)
        if vline < len(lines.lines):
            at = {"line": vline, "character": 0}
            return {"start": at, "end": at}, indent + "reason: {code}\n"
        end = {"line": vline - 1, "character": lines.to_utf16(vline - 1, len(lines.line(vline - 1)))}
        return {"start": end, "end": end}, "\n" + indent + "reason: {code}"
    span = lines.token(vline, vcol, name=outcome if isinstance(outcome, str) else None)
    text = lines.line(span.line)
    end = span.end + 1 if span.end < len(text) and text[span.end] in "\"'" else span.end
    at = {"line": span.line, "character": lines.to_utf16(span.line, end)}
    return {"start": at, "end": at}, ", reason: {code}"


def add_reason(index: Index | None, uri: str, diag: dict) -> list[dict]:
    data = diag.get("data") or {}
    rule_id = data.get("rule") if isinstance(data, dict) else None
    if index is None or not rule_id:
        return []
    rules = index.data.get("rules") if isinstance(index.data.get("rules"), list) else []
    at = next((i for i, r in enumerate(rules) if isinstance(r, dict) and r.get("id") == rule_id), None)
    if at is None:
        return []
    placed = _reason_insertion(index, at)
    if placed is None:
        return []
    rng, template = placed
    codes = index.names("reason")[:MAX_REASON_FIXES] or [reason_code(rule_id)]
    return [{"title": f"Add `reason: {code}` to rule `{rule_id}`", "kind": QUICKFIX, "diagnostics": [diag],
             "edit": _edit(uri, rng, template.replace("{code}", code))} for code in codes]


def code_actions(text: str, index: Index | None, uri: str, diagnostics: list[dict]) -> list[dict]:
    """LSP `CodeAction`s (as JSON) for the client's diagnostics in the requested range."""
    lines = Lines(text)
    out: list[dict] = []
    for diag in diagnostics:
        if diag.get("source") != "verdict":
            continue
        fix = did_you_mean(lines, uri, diag)
        if fix is not None:
            out.append(fix)
        if diag.get("code") == "adverse-without-reason":
            out.extend(add_reason(index, uri, diag))
    return out
