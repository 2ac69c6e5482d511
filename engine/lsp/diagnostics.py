"""`verdict validate`'s diagnostics for one open document, as LSP diagnostics.

Two stages, as the server publishes them: `check_fast` (the loader, the schema, names and
types: what `verdict validate` reports before analysis, milliseconds on a large policy)
and `check_analysis` (the static analysis findings with their witnesses, which can take
much longer and run off the server's loop). `to_lsp` turns either into LSP's JSON shape:
a 0-based range over the token at verdict's 1-based position, the code with a
`codeDescription.href` to its docs anchor, the hint and the witness in the message, and in
`data` what the code actions need (the did-you-mean replacement).

Not here, because they span files: `policy-duplicate-id` (two open policies with one id)
and the test suites (`*.test.yaml`).
"""

from __future__ import annotations

import json
import re

from ..explain.sarif import docs_base, help_uri
from ..io.policies import beside
from ..language.diagnostics import ERROR, INFO, WARNING, Diagnostic, sorted_diagnostics
from ..language.model import Policy
from ..language.source import Document, load_bytes
from ..language.validate import validate
from .positions import Lines, Span

SOURCE = "verdict"
# LSP's DiagnosticSeverity; an acknowledged finding (`lint:`) is only a hint.
_SEVERITY = {ERROR: 1, WARNING: 2, INFO: 3}
HINT = 4
_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
# A fact written where a threshold or value goes: the fix is the fact-to-fact operand.
_FACT_OPERAND = re.compile(r"write `(\{fact: [A-Za-z_][A-Za-z0-9_]*\})` to compare with another fact")
_NAMED = re.compile(r"`([^`]+)`")


# What `verdict validate` recognises as a policy among the files it is handed
# (engine/cli/validate.py, `_kind`; a test checks the two agree): editors start the server
# for every YAML file, and a CI workflow must not be told it lacks `facts`.
_MODELINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=\S*policy\.schema\.json", re.M)
_POLICY_KEY = re.compile(r"""^["']?policy["']?[ \t]*:""", re.M)
_TOP_LEVEL_KEY = re.compile(r"""^[^\s#\-\[{!&*|>%@`][^\n]*?:(?:[ \t]|$)""", re.M)
TEST_SUFFIXES = (".test.yaml", ".test.yml")


def is_policy(text: str, path: str) -> bool:
    """Whether an open YAML document is a policy: a top-level `policy` key or the policy
    schema's modeline, or no top-level key at all (empty, a list: its author hears what is
    wrong with it); a test suite, `*.test.yaml`, is not."""
    if path.endswith(TEST_SUFFIXES):
        return False
    return bool(_MODELINE.search(text) or _POLICY_KEY.search(text) or not _TOP_LEVEL_KEY.search(text))


def check_fast(text: str, path: str) -> tuple[Document | None, Policy | None, list[Diagnostic]]:
    """The loader's, the schema's and the builder's diagnostics, with the loaded document
    (for the index) and the policy when valid. Through the bytes, as `verdict validate`
    reads a file (`check_policy_bytes`): the same size limit and messages. The text is the
    editor's; the files it attaches (a table's CSV rows) are read beside `path` on disk,
    through the same reader `verdict validate` uses, so the editor sees the same rows."""
    doc, diags = load_bytes(text.encode("utf-8", "surrogatepass"), path)
    if doc is None:
        return None, None, diags
    policy, diags = validate(doc, beside(path))
    return doc, policy, diags


def check_analysis(policy: Policy) -> list[Diagnostic]:
    """The analysis findings of a valid policy (never raises: a failure is one finding)."""
    from ..analysis.findings import analyse  # the space algebra loads only when a policy is valid

    return analyse(policy)


def analyse_text(text: str, path: str) -> list[Diagnostic]:
    """The analysis findings of a policy's text (none when it is not valid): what the
    server's worker process runs, from the text alone, so nothing unpicklable crosses."""
    _, policy, _ = check_fast(text, path)
    return check_analysis(policy) if policy is not None else []


def replacement(d: Diagnostic) -> str | None:
    """The name a did-you-mean hint proposes, if any (or the `{fact: name}` operand a
    fact written as an operand should be)."""
    m = _DID_YOU_MEAN.search(d.hint or "") or _FACT_OPERAND.search(d.hint or "")
    return m.group(1) if m else None


def span_of(d: Diagnostic, lines: Lines) -> Span:
    """The range a diagnostic covers: the name its message is about when it is written at
    the position (`unknown fact \\`credit_scor\\``), else the token there, else the rest of
    the line (a `{` that opens the mapping a finding is about)."""
    named = _NAMED.search(d.message)
    span = lines.token(d.line, d.column, named.group(1) if named else None)
    if span.end - span.start <= 1 and d.line > 0:
        text = lines.line(span.line)
        if span.start < len(text) and text[span.start] in "{[-":
            return Span(span.line, span.start, max(len(text.rstrip()), span.start + 1))
    return span


def _witness(witness: dict) -> str:
    facts = witness.get("facts", witness) if isinstance(witness, dict) else witness
    return "witness: " + json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str)


def to_lsp(diags: list[Diagnostic], lines: Lines, uri: str, base: str | None = None) -> list[dict]:
    """LSP `Diagnostic` objects (as JSON) for the diagnostics of one document at `uri`.

    `base` is where docs/*.md are served (`docs_base()` when not given)."""
    base = docs_base() if base is None else base
    out = []
    for d in sorted_diagnostics(diags):
        message = d.message
        if d.hint:
            message += f"\nhint: {d.hint}"
        if d.witness is not None and "witness" not in (d.hint or ""):  # the analysis often says it already
            message += "\n" + _witness(d.witness)
        severity = _SEVERITY.get(d.severity, 3)
        if d.suppressed is not None:
            message += f"\nacknowledged: {d.suppressed}"
            severity = HINT
        item = {"range": lines.lsp_range(span_of(d, lines)), "severity": severity, "code": d.code,
                "source": SOURCE, "message": message}
        href = help_uri(d.code, base) if base else None
        if href:
            item["codeDescription"] = {"href": href}
        data = {"pointer": d.pointer}
        if d.rule:
            data["rule"] = d.rule
        if replacement(d):
            data["replacement"] = replacement(d)
        if d.witness is not None:
            data["witness"] = d.witness
        item["data"] = data
        related = [{"location": {"uri": uri, "range": lines.lsp_range(lines.token(line, col))}, "message": what}
                   for file, line, col, _, what in d.related if file == d.file]
        if related:
            item["relatedInformation"] = related
        out.append(item)
    return out
