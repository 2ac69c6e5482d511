"""A small LSP client over stdio for the tests and the benchmark: it starts
`python -m engine.cli lsp` as a subprocess and speaks JSON-RPC with Content-Length
framing, as an editor does. Every wait is bounded, and the server is always killed on
close (after a polite `shutdown`/`exit`).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20.0


class LspError(AssertionError):
    pass


class Client:
    def __init__(self, command: list[str] | None = None, cwd: Path = ROOT):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(command or [sys.executable, "-m", "engine.cli", "lsp"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.pending: dict[int, dict] = {}
        self.next_id = 0
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # -- transport -------------------------------------------------------------------
    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                header = out.readline()
                if not header:
                    self.messages.put(None)
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = out.read(length or 0)
            self.messages.put(json.loads(body))

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr += line

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _pump(self, deadline: float) -> bool:
        """Take one message off the wire (False when the deadline passed)."""
        try:
            msg = self.messages.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            return False
        if msg is None:
            raise LspError(f"the server exited: {self.stderr.decode(errors='replace')[-2000:]}")
        if "id" in msg and "method" not in msg:
            self.pending[msg["id"]] = msg
        elif "method" in msg and "id" in msg:  # a request from the server: answer it
            self.send({"id": msg["id"], "result": None})
        else:
            self.notifications.append(msg)
        return True

    # -- protocol --------------------------------------------------------------------
    def request(self, method: str, params: dict | None = None, timeout: float = TIMEOUT):
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        while rid not in self.pending:
            if not self._pump(deadline):
                raise LspError(f"no answer to {method} within {timeout}s")
        answer = self.pending.pop(rid)
        if "error" in answer:
            raise LspError(f"{method}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def wait_for(self, predicate, timeout: float = TIMEOUT, start: int = 0) -> dict:
        """The first notification from index `start` on that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            while seen < len(self.notifications):
                msg = self.notifications[seen]
                seen += 1
                if predicate(msg):
                    return msg
            if not self._pump(deadline):
                raise LspError(f"no matching notification within {timeout}s; got "
                               f"{[m.get('method') for m in self.notifications[start:]]}")

    def diagnostics(self, uri: str, version: int, timeout: float = TIMEOUT, start: int = 0,
                    where=lambda items: True) -> list[dict]:
        """The first diagnostics published for `uri` at `version` that satisfy `where`."""
        msg = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                            and m["params"]["uri"] == uri and m["params"].get("version") == version
                            and where(m["params"]["diagnostics"]), timeout, start)
        return msg["params"]["diagnostics"]

    def initialize(self) -> dict:
        result = self.request("initialize", {"processId": os.getpid(), "rootUri": ROOT.as_uri(),
                                             "capabilities": {}})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": version,
                                                              "text": text}})

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                               "contentChanges": [{"text": text}]})

    def close(self) -> int | None:
        try:
            if self.proc.poll() is None:
                self.request("shutdown", timeout=5)
                self.notify("exit", {})
                return self.proc.wait(timeout=5)
        except (LspError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
