"""yaml-language-server, the real consumer, on a repository `verdict init` scaffolds outside
verdict's checkout.

The server (the npm package VS Code's YAML extension, Neovim's and Helix's set-ups run) is
installed from the npm registry into a cache folder (VERDICT_TEST_CACHE, default
~/.cache/verdict-test, as the SARIF multitool is) and driven over stdio by a small JSON-RPC
client: initialize, the scaffold's own `.vscode/settings.json` as configuration, then
documents. The starter policy and suite must get no diagnostic, the schema must be loaded
(a hover shows its description), and a typo must be reported, through the modeline and
through the `yaml.schemas` mapping alike. Every wait is bounded and the server process is
always killed. Skipped, with the reason, where npm or the registry is not available.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

PACKAGE = "yaml-language-server"
TIMEOUT = 30.0  # seconds for any one answer of the server


@pytest.fixture(scope="module")
def server_command() -> list[str]:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        pytest.skip(f"npm and node are needed to install {PACKAGE} from the npm registry")
    # A prefix of its own: npm prunes what a prefix's package.json does not list, so sharing
    # the multitool's would uninstall one to install the other.
    cache = Path(os.environ.get("VERDICT_TEST_CACHE", Path.home() / ".cache" / "verdict-test")) / PACKAGE
    entry = cache / "node_modules" / PACKAGE / "bin" / "yaml-language-server"
    if not entry.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(cache), PACKAGE],
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0 or not entry.is_file():
            pytest.skip(f"npm could not install {PACKAGE}: {proc.stderr[-500:]}")
    return [node, str(entry), "--stdio"]


class Client:
    """A JSON-RPC client over the server's stdio: requests wait for their answer, and
    notifications (diagnostics) are kept in order. Of the server's own requests,
    `workspace/configuration` (the server pulls its settings, whatever a
    `didChangeConfiguration` carries) is answered from `settings`, the others with null."""

    def __init__(self, command: list[str], cwd: Path):
        self.settings: dict = {}
        self.configured = threading.Event()  # the server has read `settings`
        self.proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.next_id = 0
        self.answers: dict[int, queue.Queue] = {}
        self.notes: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return  # the server ended
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            message = json.loads(stream.read(length))
            if "id" in message and "method" in message:  # a request of the server's
                result = None
                if message["method"] == "workspace/configuration":  # how the server reads settings
                    result = [self.settings.get(item.get("section")) for item in message["params"]["items"]]
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
                if message["method"] == "workspace/configuration" and self.settings:
                    self.configured.set()
            elif "id" in message:
                self.answers.setdefault(message["id"], queue.Queue()).put(message)
            else:
                self.notes.put(message)

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        ident = self.next_id
        box = self.answers.setdefault(ident, queue.Queue())
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        try:
            answer = box.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no answer to {method} within {TIMEOUT} s") from None
        assert "error" not in answer, answer
        return answer.get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self, uri: str) -> list[dict]:
        """The next diagnostics published for `uri`."""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                note = self.notes.get(timeout=left)
            except queue.Empty:
                break
            if note.get("method") == "textDocument/publishDiagnostics" and note["params"]["uri"] == uri:
                return note["params"]["diagnostics"]
        raise AssertionError(f"no diagnostics for {uri} within {TIMEOUT} s")

    def open(self, path: Path, text: str | None = None) -> list[dict]:
        uri = path.resolve().as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1,
            "text": path.read_text("utf-8") if text is None else text}})
        return self.diagnostics(uri)

    def hover(self, path: Path, line: int, character: int) -> str:
        result = self.request("textDocument/hover", {"textDocument": {"uri": path.resolve().as_uri()},
                                                     "position": {"line": line, "character": character}})
        assert result is not None, f"no hover at {path.name}:{line + 1}:{character + 1}"
        contents = result["contents"]
        return contents["value"] if isinstance(contents, dict) else json.dumps(contents)

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - ending it is all that matters now
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    """A repository outside verdict's checkout, as `verdict init` writes it."""
    root = tmp_path / "policy-repo"
    result = CliRunner().invoke(main, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def client(server_command: list[str], scaffold: Path):
    c = Client(server_command, scaffold)
    try:
        c.request("initialize", {"processId": os.getpid(), "rootUri": scaffold.as_uri(),
                                 "workspaceFolders": [{"uri": scaffold.as_uri(), "name": scaffold.name}],
                                 "capabilities": {"workspace": {"configuration": True},
                                                  "textDocument": {"hover": {"contentFormat": ["markdown"]},
                                                                   "publishDiagnostics": {}}}})
        settings = json.loads((scaffold / ".vscode" / "settings.json").read_text("utf-8"))
        # The scaffold's editor settings as VS Code gives them; the schema store is off,
        # so nothing is fetched from the network and no other schema can apply.
        c.settings = {"yaml": {"validate": True, "hover": True, "completion": True, "schemaStore": {"enable": False},
                               "schemas": settings["yaml.schemas"]}}
        c.notify("initialized", {})
        c.notify("workspace/didChangeConfiguration", {"settings": c.settings})
        # Validation does not wait for the settings: open documents only once they are read.
        assert c.configured.wait(TIMEOUT), f"the server did not read its settings within {TIMEOUT} s"
        yield c
    finally:
        c.close()
    assert c.proc.poll() is not None


def line_of(path: Path, start: str) -> int:
    return next(i for i, line in enumerate(path.read_text("utf-8").splitlines()) if line.startswith(start))


def test_the_starter_policy_and_suite_are_clean_and_the_schema_is_loaded(client: Client, scaffold: Path):
    policy = scaffold / "policies" / "example.yaml"
    suite = scaffold / "policies" / "example.test.yaml"
    assert client.open(policy) == []
    assert client.open(suite) == []
    # Hover texts come from the schema: it was loaded, from the scaffold's own copy.
    assert "policy id" in client.hover(policy, line_of(policy, "policy:"), 1)
    assert "Greater than" in client.hover(policy, line_of(policy, "    when: {overdue_days: {gt:"), 29)
    assert "profile name" in client.hover(suite, line_of(suite, "    base:"), 5)


def test_an_unknown_key_is_reported_through_the_modeline(client: Client, scaffold: Path):
    broken = scaffold / "policies" / "broken.yaml"
    text = (scaffold / "policies" / "example.yaml").read_text("utf-8").replace("thresholds:", "tresholds:")
    broken.write_text(text, "utf-8")
    found = client.open(broken)
    assert [d["range"]["start"]["line"] for d in found] == [line_of(broken, "tresholds:")], found
    assert "tresholds" in found[0]["message"]


def test_the_vscode_mapping_applies_the_schemas_without_a_modeline(client: Client, scaffold: Path):
    """No modeline: `.vscode/settings.json` alone decides, and a suite gets the test
    schema only (a policy-schema error on it would mean both applied)."""
    example = scaffold / "policies" / "example.yaml"
    plain = scaffold / "policies" / "plain.yaml"
    plain.write_text(example.read_text("utf-8").split("\n", 1)[1].replace("  - id: approve", "  - idd: approve"),
                     "utf-8")
    found = client.open(plain)
    assert found and any("idd" in d["message"] for d in found), found
    suite = scaffold / "policies" / "plain.test.yaml"
    suite.write_text((scaffold / "policies" / "example.test.yaml").read_text("utf-8").split("\n", 1)[1], "utf-8")
    assert client.open(suite) == []
    assert "profile name" in client.hover(suite, line_of(suite, "    base:"), 5)


def test_the_snippets_are_offered_where_a_rule_a_fact_and_an_outcome_go(client: Client, scaffold: Path):
    draft = scaffold / "policies" / "draft.yaml"
    text = ("# yaml-language-server: $schema=../schemas/policy.schema.json\nfacts:\n  score: \nrules:\n  - \n"
            "outcomes:\n  - \n")
    draft.write_text(text, "utf-8")
    client.open(draft)

    def labels(line: int, character: int) -> set[str]:
        result = client.request("textDocument/completion", {"textDocument": {"uri": draft.resolve().as_uri()},
                                                            "position": {"line": line, "character": character}})
        items = result["items"] if isinstance(result, dict) else result
        return {item["label"] for item in items}

    assert "rule" in labels(4, 4)
    assert {"integer fact", "string fact"} <= labels(2, 9)
    assert {"adverse outcome", "outcome"} <= labels(6, 4)
