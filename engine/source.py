"""Safe YAML/JSON loading that remembers where every node came from.

`load_text` turns UTF-8 text into plain Python data (dict, list, str, int, float, bool,
None) and a `SourceMap` from RFC 6901 JSON pointers to 1-based (line, column). It refuses,
with located diagnostics, what a policy file must never contain: syntax errors, duplicate
keys (PyYAML would silently keep the last one), anchors and aliases, non-string keys,
non-finite numbers, excessive nesting, empty documents and oversized files.

Scalars are resolved with the YAML 1.2 core schema, not PyYAML's YAML 1.1 default, so
`no`, `on`, `2024-01-01` and `1:30` stay strings instead of becoming false, true, a date
and 90.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from .diagnostics import ERROR, Diagnostic, pointer_join

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema scalars only."""


_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class LoadError(Exception):
    """Raised inside the loader; carries a ready Diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _Composer(Composer):
    """Refuses anchors and aliases and bounds nesting while composing the node tree."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _located("yaml-alias", "aliases are not allowed in policies", event.start_mark,
                           hint="repeat the value instead of `*" + str(event.anchor) + "`")
        event = self.peek_event()
        if isinstance(event, (ScalarEvent, MappingStartEvent, SequenceStartEvent)) and event.anchor:
            raise _located("yaml-anchor", f"anchors are not allowed in policies (`&{event.anchor}`)",
                           event.start_mark, hint="write each value out in full")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise _located("yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Loader(Reader, Scanner, Parser, _Composer, SafeConstructor, _CoreResolver):
    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Composer.__init__(self)
        SafeConstructor.__init__(self)
        _CoreResolver.__init__(self)


def _located(code: str, message: str, mark, hint: str | None = None, pointer: str = "") -> LoadError:
    line = mark.line + 1 if mark is not None else 0
    col = mark.column + 1 if mark is not None else 0
    return LoadError(Diagnostic(code, message, ERROR, "", line, col, pointer, hint))


@dataclass
class SourceMap:
    """JSON pointer → (line, column) of the value, and of the key for mapping members."""

    file: str
    values: dict[str, tuple[int, int]] = field(default_factory=dict)
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)

    def position(self, pointer: str, prefer_key: bool = False) -> tuple[int, int]:
        """The position of `pointer`, or of its nearest located ancestor."""
        p = pointer
        while True:
            if prefer_key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return (1, 1)
            p = p.rsplit("/", 1)[0]

    def locate(self, diagnostic: Diagnostic, prefer_key: bool = False) -> Diagnostic:
        line, col = self.position(diagnostic.pointer, prefer_key)
        return diagnostic.located(self.file, line, col)


@dataclass
class Document:
    """A loaded file: its data, where each node came from, and the raw bytes' digest input."""

    path: str
    data: object
    source_map: SourceMap
    text: str


def _convert(node, pointer: str, smap: SourceMap, constructor: SafeConstructor):
    smap.values[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _located("yaml-merge-key", "merge keys (`<<`) are not allowed in policies",
                               key_node.start_mark, pointer=pointer)
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                raise _located("yaml-non-string-key", f"mapping keys must be strings, found `{shown}`",
                               key_node.start_mark, hint="quote the key", pointer=pointer)
            key = key_node.value
            child = pointer_join(pointer, key)
            if key in out:
                first = smap.keys[child]
                raise _located("yaml-duplicate-key",
                               f"duplicate key `{key}` (first defined at line {first[0]})",
                               key_node.start_mark,
                               hint="YAML keeps only the last value; remove one of them",
                               pointer=child)
            smap.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(value_node, child, smap, constructor)
        return out
    if isinstance(node, SequenceNode):
        return [_convert(item, pointer_join(pointer, i), smap, constructor) for i, item in enumerate(node.value)]
    try:
        value = constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _located("yaml-bad-scalar", f"cannot read value `{node.value}`: {exc.problem or exc}",
                       node.start_mark, pointer=pointer) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _located("yaml-non-finite", f"non-finite number `{node.value}` is not allowed",
                       node.start_mark, pointer=pointer)
    if not isinstance(value, (str, int, float, bool, type(None))):
        raise _located("yaml-bad-scalar", f"unsupported value `{node.value}` (tag {node.tag})",
                       node.start_mark, pointer=pointer, hint="quote it to make it a string")
    return value


def load_bytes(raw: bytes, path: str) -> tuple[Document | None, list[Diagnostic]]:
    """Decode and parse one YAML (or JSON, a YAML subset) document."""
    if len(raw) > MAX_BYTES:
        return None, [Diagnostic("file-too-large", f"file is {len(raw)} bytes; the limit is {MAX_BYTES}",
                                 ERROR, path)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Diagnostic("not-utf8", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}", ERROR, path, line, col,
                                 hint="save the file as UTF-8")]
    return load_text(text.removeprefix("\ufeff"), path)


def load_text(text: str, path: str) -> tuple[Document | None, list[Diagnostic]]:
    smap = SourceMap(path)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        return None, [Diagnostic("empty-file", "file is empty", ERROR, path, 1, 1)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Diagnostic("empty-file", "file is empty", ERROR, path, 1, 1)]
        data = _convert(node, "", smap, loader)
    except LoadError as exc:
        return None, [exc.diagnostic.located(path, exc.diagnostic.line, exc.diagnostic.column)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "invalid YAML").strip()
        if "found character '\\t'" in message:
            message = "tab characters are not allowed for indentation"
        d = _located("yaml-syntax", f"YAML syntax error: {message}", mark).diagnostic
        return None, [d.located(path, d.line, d.column)]
    except yaml.YAMLError as exc:
        return None, [Diagnostic("yaml-syntax", f"YAML syntax error: {exc}", ERROR, path, 1, 1)]
    except RecursionError:
        return None, [Diagnostic("yaml-too-deep", "document nests too deeply", ERROR, path, 1, 1)]
    finally:
        loader.dispose()
    return Document(path, data, smap, text), []
