"""The language server: the pure parts of `engine.lsp` wired to pygls, over stdio.

On open and on every change the fast diagnostics (loader, schema, names, types) are
computed on the server's loop and published at once, so an author sees a misspelt name
while typing. When the policy is valid, its analysis findings (much slower on a large
policy) are computed in one worker process, so they never compete with the loop for the
interpreter, and published again, with the fast ones, only if the document has not changed
meanwhile: a stale analysis is dropped, never shown. At most one analysis runs at a time;
while it runs, only the newest version of each document waits for the next turn.

The index of names of the last version that loaded as YAML is kept per document, so
hover, definition and completion still work while the text is half typed.
"""

from __future__ import annotations

import logging
import os
import sys
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from lsprotocol import types
from pygls.protocol import default_converter
from pygls.server import LanguageServer
from pygls.uris import to_fs_path

from ..explain.sarif import docs_base
from .actions import code_actions
from .complete import completions
from .diagnostics import analyse_text, check_fast, is_policy, to_lsp
from .index import Index, index_document
from .navigate import definition, hover, references
from .positions import Lines

NAME = "verdict"
TRIGGERS = [" ", "{", ":", "[", ",", "-"]
log = logging.getLogger(__name__)
# The pure parts speak JSON; pygls sends and receives lsprotocol objects.
CONVERTER = default_converter()


def typed(value, kind):
    """JSON from the pure parts as the lsprotocol type pygls sends (None stays None)."""
    return None if value is None else CONVERTER.structure(value, kind)


class PolicyServer(LanguageServer):
    """pygls' server with the state of the open policies."""

    def __init__(self) -> None:
        super().__init__(NAME, _version(), text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.indexes: dict[str, Index] = {}
        self.current: dict[str, int | None] = {}
        self.waiting: dict[str, tuple] = {}  # uri -> the newest version waiting for analysis
        self.running = False
        self.analysis: ProcessPoolExecutor | None = None  # started on the first valid policy
        self.docs = docs_base()

    def publish(self, uri: str, items: list[dict], version: int | None) -> None:
        params = {"uri": uri, "diagnostics": items, **({"version": version} if version is not None else {})}
        self.lsp.notify(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, typed(params, types.PublishDiagnosticsParams))

    def refresh(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        text, version = document.source, document.version
        self.current[uri] = version
        path = to_fs_path(uri) or uri
        if not is_policy(text, path):  # another YAML file (a workflow, a test suite): not ours
            self.indexes.pop(uri, None)
            self.waiting.pop(uri, None)
            self.publish(uri, [], version)
            return
        lines = Lines(text)
        doc, policy, diags = check_fast(text, path)
        if doc is not None:
            index = index_document(doc)
            if index is not None:
                self.indexes[uri] = index
        self.publish(uri, to_lsp(diags, lines, uri, self.docs), version)
        if policy is not None:
            self.waiting[uri] = (version, text, path, diags, lines)
        else:
            self.waiting.pop(uri, None)
        self._next_analysis()

    def _next_analysis(self) -> None:
        """Start the analysis of a waiting document, if none is running."""
        while not self.running and self.waiting:
            uri = next(iter(self.waiting))
            version, text, path, fast, lines = self.waiting.pop(uri)
            if self.current.get(uri) != version:
                continue
            if self.analysis is None:
                # spawn, not fork: the server has threads (pygls' reader) a fork would copy mid-flight
                self.analysis = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_quiet_worker)
            self.running = True
            future = self.analysis.submit(analyse_text, text, path)
            future.add_done_callback(lambda f, args=(uri, version, fast, lines): self._deliver(f, args))

    def _deliver(self, future, args: tuple) -> None:
        """Hand a finished analysis to the server's loop (from the pool's thread)."""
        try:
            self.loop.call_soon_threadsafe(self._analysed, future, *args)
        except RuntimeError:  # the loop is closed: the session ended while it ran
            pass

    def _analysed(self, future, uri: str, version, fast, lines: Lines) -> None:
        self.running = False
        try:
            found = future.result()
        except Exception:  # noqa: BLE001 - a crashed worker must not stop the server: the fast ones stay
            log.exception("analysis failed for %s", uri)
            self.analysis = None  # a broken pool refuses work; the next analysis starts a new one
            found = None
        if found is not None and self.current.get(uri) == version:
            self.publish(uri, to_lsp(fast + found, lines, uri, self.docs), version)
        self._next_analysis()


def _quiet_worker() -> None:
    """The worker inherits the protocol's stdout: anything it printed would corrupt the
    stream, so its descriptor 1 goes to stderr. It also yields the processor to the server
    (the fast diagnostics of the next keystroke matter more than an outdated analysis)."""
    os.dup2(2, 1)
    if hasattr(os, "nice"):
        os.nice(10)


def _version() -> str:
    from ..explain.sarif import distribution_version  # the one reader of the distribution's metadata

    return distribution_version()


class _Unclosed:
    """A binary stream whose `close` only flushes (what pygls' transport needs of it)."""

    def __init__(self, stream):
        self._stream = stream
        self.closed = False

    def readline(self) -> bytes:
        return self._stream.readline()

    def read(self, n: int = -1) -> bytes:
        return self._stream.read(n)

    def write(self, data: bytes) -> int:
        return self._stream.write(data)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.closed = True
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass  # the client went away: nothing left to flush to


def make_server() -> PolicyServer:
    server = PolicyServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PolicyServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PolicyServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PolicyServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.current.pop(uri, None)
        ls.indexes.pop(uri, None)
        ls.waiting.pop(uri, None)
        ls.publish(uri, [], None)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: PolicyServer, params: types.HoverParams):
        index = ls.indexes.get(params.text_document.uri)
        return typed(hover(index, params.position.line, params.position.character), types.Hover) if index else None

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: PolicyServer, params: types.DefinitionParams):
        uri = params.text_document.uri
        index = ls.indexes.get(uri)
        found = definition(index, uri, params.position.line, params.position.character) if index else []
        return typed(found, list[types.Location])

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: PolicyServer, params: types.ReferenceParams):
        uri = params.text_document.uri
        index = ls.indexes.get(uri)
        if index is None:
            return []
        return typed(references(index, uri, params.position.line, params.position.character,
                                params.context.include_declaration), list[types.Location])

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=TRIGGERS))
    def on_completion(ls: PolicyServer, params: types.CompletionParams):
        uri = params.text_document.uri
        index = ls.indexes.get(uri)
        text = ls.workspace.get_text_document(uri).source
        items = completions(text, index, params.position.line, params.position.character)
        return typed({"isIncomplete": False, "items": items}, types.CompletionList)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def on_code_action(ls: PolicyServer, params: types.CodeActionParams):
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        diags = [CONVERTER.unstructure(d) for d in params.context.diagnostics]
        return typed(code_actions(text, ls.indexes.get(uri), uri, diags), list[types.CodeAction])

    return server


def serve() -> None:
    """Serve one client over stdin/stdout until it exits. Anything else printed to stdout
    would corrupt the protocol stream, so `sys.stdout` points at stderr meanwhile."""
    # pygls closes its transport when the session ends; the command's own streams must stay
    # open for the CLI's final flush, so it gets them through a wrapper that does not close.
    transport_in, transport_out = _Unclosed(sys.stdin.buffer), _Unclosed(sys.stdout.buffer)
    saved, sys.stdout = sys.stdout, sys.stderr
    server = make_server()
    try:
        server.start_io(transport_in, transport_out)
    finally:
        sys.stdout = saved
        _stop_analysis(server)


def _stop_analysis(server) -> None:
    """Stop the analysis worker before the interpreter exits. `shutdown(wait=False)` left
    the pool's manager thread running, whose exit hook then wrote to a pipe already
    closed: `Exception ignored … OSError: [Errno 9] Bad file descriptor`, a traceback on
    stderr at the end of a session (seen in CI). The worker is terminated first (an
    analysis still running is of no use now), so waiting for the manager is immediate."""
    pool, server.analysis = server.analysis, None
    if pool is None:
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
