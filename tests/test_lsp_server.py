"""`verdict lsp` end to end: a real JSON-RPC client over stdio (tests/lsp_client.py)
against `python -m engine.cli lsp`, as an editor runs it. Issue 14's checks: a misspelt
fact is published at its line with the did-you-mean, fixing it clears it, hover on
`max_overdue_days` shows 30, definition jumps to its declaration, completion in a
condition lists the facts; and the analysis findings follow, never for an outdated text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lsp_client import ROOT, Client

DOUBLE11 = ROOT / "policies" / "double11-coupon.yaml"
MISSPELT = ("{overdue_days: {gt: max_overdue_days}}", "{overdue_dayz: {gt: max_overdue_days}}")


@pytest.fixture(scope="module")
def client():
    with Client() as c:
        c.initialize()
        yield c
    assert c.proc.returncode == 0, c.stderr.decode(errors="replace")
    assert b"Traceback" not in c.stderr, c.stderr.decode(errors="replace")


def line_of(text: str, snippet: str) -> tuple[int, int]:
    for n, line in enumerate(text.split("\n")):
        if snippet in line:
            return n, line.index(snippet)
    raise AssertionError(snippet)


def doc(uri: str) -> dict:
    return {"textDocument": {"uri": uri}}


def test_the_server_says_what_it_can_do():
    with Client() as other:
        caps = other.initialize()["capabilities"]
    for capability in ("hoverProvider", "definitionProvider", "referencesProvider", "completionProvider",
                       "codeActionProvider"):
        assert caps.get(capability), capability
    assert caps["textDocumentSync"]["change"] == 2  # incremental
    assert other.proc.returncode == 0


def test_a_misspelt_fact_is_published_and_fixing_it_clears_it(client):
    good = DOUBLE11.read_text()
    bad = good.replace(*MISSPELT)
    uri = DOUBLE11.as_uri()
    client.open(uri, bad, 1)
    (d,) = client.diagnostics(uri, 1)
    line, col = line_of(bad, "overdue_dayz")
    assert d["range"]["start"] == {"line": line, "character": col}
    assert d["code"] == "unknown-fact" and "did you mean `overdue_days`?" in d["message"]
    assert d["codeDescription"]["href"].endswith("codes.md#unknown-fact")

    start = len(client.notifications)
    client.change(uri, good, 2)
    fast = client.diagnostics(uri, 2, start=start)
    assert not [x for x in fast if x["severity"] == 1]
    # then the analysis, for the same version: the policy's gaps, with witnesses
    slow = client.diagnostics(uri, 2, start=start, where=lambda items: any(x["code"] == "gap" for x in items))
    assert all(x["code"] in ("gap",) for x in slow) and all("witness" in x["data"] for x in slow)

    # incremental change: break it again by replacing one name in place
    start = len(client.notifications)
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [
        {"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 12}},
         "text": "overdue_dayz"}]})
    (again,) = client.diagnostics(uri, 3, start=start)
    assert again["code"] == "unknown-fact"
    actions = client.request("textDocument/codeAction", {**doc(uri), "range": again["range"],
                                                         "context": {"diagnostics": [again]}})
    (fix,) = actions
    assert fix["edit"]["changes"][uri] == [{"range": again["range"], "newText": "overdue_days"}]
    start = len(client.notifications)
    client.notify("textDocument/didClose", doc(uri))
    closed = client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == uri, start=start)
    assert closed["params"]["diagnostics"] == []


def test_other_yaml_files_get_no_diagnostics(client):
    uri = (ROOT / ".github" / "workflows" / "ci.yml").as_uri()
    client.open(uri, "name: ci\non: [push]\njobs: {}\n", 1)
    assert client.diagnostics(uri, 1) == []
    client.notify("textDocument/didClose", doc(uri))


def test_hover_definition_references_and_completion(client):
    text = DOUBLE11.read_text()
    uri = (ROOT / "policies" / "copy-for-hover.yaml").as_uri()
    client.open(uri, text, 1)
    client.diagnostics(uri, 1)
    line, col = line_of(text, "{overdue_days: {gt: max_overdue_days}}")
    at = {"line": line, "character": col + len("{overdue_days: {gt: ") + 3}
    hover = client.request("textDocument/hover", {**doc(uri), "position": at})
    assert "`max_overdue_days` = `30`" in hover["contents"]["value"]
    (target,) = client.request("textDocument/definition", {**doc(uri), "position": at})
    decl_line, decl_col = line_of(text, "  max_overdue_days: 30")
    assert target == {"uri": uri, "range": {"start": {"line": decl_line, "character": decl_col + 2},
                                            "end": {"line": decl_line, "character": decl_col + 18}}}
    refs = client.request("textDocument/references", {**doc(uri), "position": at,
                                                      "context": {"includeDeclaration": True}})
    assert len(refs) == 5
    completion = client.request("textDocument/completion", {**doc(uri), "position": {
        "line": line, "character": col + 1}})
    labels = {item["label"] for item in completion["items"]}
    assert {"credit_score", "overdue_days", "frozen", "membership"} <= labels
    op = client.request("textDocument/completion", {**doc(uri), "position": {
        "line": line, "character": col + len("{overdue_days: {")}})
    assert {"gt", "gte", "between"} <= {item["label"] for item in op["items"]}
    client.notify("textDocument/didClose", doc(uri))


def test_an_outdated_analysis_is_never_published(client):
    text = DOUBLE11.read_text()
    uri = (ROOT / "policies" / "copy-for-typing.yaml").as_uri()
    start = len(client.notifications)
    client.open(uri, text, 1)
    for version in range(2, 7):  # typing: each change outdates the analysis before it
        client.change(uri, text + f"# {version}\n", version)
    client.diagnostics(uri, 6, start=start, where=lambda items: any(x["code"] == "gap" for x in items))
    ours = [m["params"] for m in client.notifications[start:]
            if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri]
    first_latest = next(i for i, p in enumerate(ours) if p["version"] == 6)
    assert all(p["version"] == 6 for p in ours[first_latest:])
    client.notify("textDocument/didClose", doc(uri))


def test_without_pygls_the_command_says_what_to_install():
    code = ("import sys; sys.modules['pygls'] = None; sys.modules['lsprotocol'] = None\n"
            "from engine.cli.main import main\nmain(['lsp'])")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "verdict lsp needs pygls" in p.stderr and "Traceback" not in p.stderr


def test_validate_does_not_load_the_server():
    code = ("import sys\nfrom engine.cli.main import main\n"
            "try:\n    main(['validate', 'policies/double11-coupon.yaml'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('engine.lsp', 'pygls', 'lsprotocol'))))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip().splitlines()[-1] == "[]", p.stdout + p.stderr
