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
import yaml.reader
from yaml.composer import Composer
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from .diagnostics import ERROR, Diagnostic, pointer_join
from .values import INT_LIMIT, MAX_INT_DIGITS, SURROGATE

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

# The YAML 1.2 core schema, used both to resolve plain scalars and to construct them.
_CORE = {
    # `\Z`, not `$`: `$` also matches before a final newline (`!!int "600\n"`).
    _BOOL: re.compile(r"^(?:true|True|TRUE|false|False|FALSE)\Z"),
    _INT: re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z"),
    _FLOAT: re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
    ),
    _NULL: re.compile(r"^(?:~|null|Null|NULL|)\Z"),
}
_KIND = {_BOOL: "a boolean", _INT: "an integer", _FLOAT: "a number", _NULL: "null"}
_EXAMPLE = {_BOOL: "`true` or `false`", _INT: "`600`, `0x1F` or `0o17`", _FLOAT: "`0.5` or `1e3`",
            _NULL: "`null` or `~`"}


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema scalars only."""


_CoreResolver.add_implicit_resolver(_BOOL, _CORE[_BOOL], list("tTfF"))
_CoreResolver.add_implicit_resolver(_INT, _CORE[_INT], list("-+0123456789"))
_CoreResolver.add_implicit_resolver(_FLOAT, _CORE[_FLOAT], list("-+0123456789."))
_CoreResolver.add_implicit_resolver(_NULL, _CORE[_NULL], ["~", "n", "N", ""])


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


class _Loader(Reader, Scanner, Parser, _Composer, _CoreResolver):
    """Composes a node tree only; `_convert` builds the values (no PyYAML constructor runs)."""

    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Composer.__init__(self)
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


def _show_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _scalar(node: ScalarNode, pointer: str):
    """A scalar under the YAML 1.2 core schema.

    PyYAML's SafeConstructor implements YAML 1.1, which disagrees with the core resolver
    above: it read `012` as octal 10 and crashed (ValueError) on `08` or `!!float 0x1`,
    and `!!bool yes` became true. Constructing here keeps resolution and construction on
    one schema, and any other explicit tag (`!!timestamp`, `!!binary`, `!include`) is
    refused instead of producing a value that is not plain data.
    """
    tag, text = node.tag, node.value
    if tag == _STR:
        return _string(text, node.start_mark, pointer)
    text = _string(text, node.start_mark, pointer)  # pairs joined, a lone one refused, before a message quotes it
    pattern = _CORE.get(tag)
    if pattern is None:
        raise _located("yaml-tag", f"tag `{_show_tag(tag)}` is not allowed in policies", node.start_mark,
                       hint="remove the tag; quote the value to make it a string", pointer=pointer)
    if not pattern.match(text):
        raise _located("yaml-bad-scalar", f"`{text}` is not {_KIND[tag]}", node.start_mark, pointer=pointer,
                       hint=f"YAML 1.2 writes {_KIND[tag]} like {_EXAMPLE[tag]}; or remove the "
                            f"`{_show_tag(tag)}` tag to make it a string")
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() == "true"
    if tag == _INT:
        digits = text.lstrip("+-")
        if len(digits) > MAX_INT_DIGITS:  # decimal text this long is refused by int() itself
            raise _too_long(text, node.start_mark, pointer)
        if text.startswith(("0o", "0x")):
            value = int(text[2:], 8 if text[1] == "o" else 16)
            if value >= INT_LIMIT:
                raise _too_long(text, node.start_mark, pointer)
            return value
        return int(text, 10)  # YAML 1.2: a leading zero is still decimal
    # `.inf`/`.nan` (which float() does not read), or a literal too large for a float (`1e400`).
    if text.lstrip("+-").lower() in (".inf", ".nan") or not math.isfinite(float(text)):
        raise _located("yaml-non-finite", f"non-finite number `{text}` is not allowed", node.start_mark,
                       pointer=pointer)
    return float(text)


def _too_long(text: str, mark, pointer: str) -> LoadError:
    return _located("yaml-number-too-long", f"integer `{text[:20]}…` is longer than {MAX_INT_DIGITS} digits",
                    mark, pointer=pointer, hint="no threshold or fact needs a number this large")


def _string(text: str, mark, pointer: str) -> str:
    """A string with its surrogate escapes resolved as JSON resolves them: a valid pair
    (`\\ud83c\\udf89`, how `json.dumps` writes an emoji) becomes the one character; a lone
    surrogate is not a character at all, and would crash every later encode to UTF-8."""
    if SURROGATE.search(text) is None:
        return text
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError as exc:
        lone = text.encode("utf-16-le", "surrogatepass")[exc.start:exc.start + 2].decode("utf-16-le", "surrogatepass")
        raise _located("yaml-lone-surrogate", f"`\\u{ord(lone):04x}` is half of a surrogate pair, not a character",
                       mark, pointer=pointer,
                       hint="write the character itself, or both halves of its pair (`\\ud83c\\udf89`)") from None


def _convert(node, pointer: str, smap: SourceMap):
    smap.values[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, ScalarNode) and node.tag not in (_MAP, _SEQ):
        # Tags on collections (`!!set`, `!!omap`, `!include`) used to be ignored silently.
        raise _located("yaml-tag", f"tag `{_show_tag(node.tag)}` is not allowed in policies", node.start_mark,
                       hint="remove the tag", pointer=pointer)
    if isinstance(node, MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            # The core resolver has no merge type, so a plain `<<` arrives as a string key;
            # catch it here (quoted "<<" stays an ordinary key). A plain scalar's style is
            # None from the pure-Python parser but "" from libyaml's.
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                    isinstance(key_node, ScalarNode) and key_node.value == "<<" and not key_node.style):
                raise _located("yaml-merge-key", "merge keys (`<<`) are not allowed in policies",
                               key_node.start_mark, pointer=pointer, hint="write each key out in full")
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                raise _located("yaml-non-string-key", f"mapping keys must be strings, found `{shown}`",
                               key_node.start_mark, hint="quote the key", pointer=pointer)
            key = _string(key_node.value, key_node.start_mark, pointer)
            child = pointer_join(pointer, key)
            if key in out:
                first = smap.keys[child]
                raise _located("yaml-duplicate-key",
                               f"duplicate key `{key}` (first defined at line {first[0]})",
                               key_node.start_mark,
                               hint="YAML keeps only the last value; remove one of them",
                               pointer=child)
            smap.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(value_node, child, smap)
        return out
    if isinstance(node, SequenceNode):
        return [_convert(item, pointer_join(pointer, i), smap) for i, item in enumerate(node.value)]
    return _scalar(node, pointer)


POLICY_HINT = "a policy needs at least `policy`, `version`, `facts`, `outcomes` and `rules`"


def load_bytes(raw: bytes, path: str, empty_hint: str = POLICY_HINT) -> tuple[Document | None, list[Diagnostic]]:
    """Decode and parse one YAML (or JSON, a YAML subset) document."""
    if len(raw) > MAX_BYTES:
        # `read_file` reads at most MAX_BYTES + 1 bytes, so len(raw) is not the file's size.
        return None, [Diagnostic("file-too-large", f"file is larger than the limit of {MAX_BYTES} bytes",
                                 ERROR, path, hint="split it into smaller policies")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw[: exc.start].count(b"\n") + 1
        # A column counts characters, not bytes: decode the valid part of the line.
        col = len(raw[start: exc.start].decode("utf-8", errors="replace")) + 1
        hint = "save the file as UTF-8"
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            hint = "the file looks like UTF-16; save it as UTF-8"
        return None, [Diagnostic("not-utf8", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}", ERROR, path, line, col,
                                 hint=hint)]
    return load_text(text.removeprefix("\ufeff"), path, empty_hint)


# PyYAML's token names, as an author would say them.
_TOKEN_WORDS = {  # quoted forms first: "<block end>" also appears unquoted
    "'<stream end>'": "the end of the file",
    "'\\x00'": "the end of the file",
    "'<block end>'": "the end of the indented block",
    "<block end>": "the end of the indented block",
    "'<block mapping start>'": "a more deeply indented mapping",
    "'<block sequence start>'": "a list",
    "'<scalar>'": "a value",
    "'?'": "a key",
    "'-'": "a list item `-`",
    "'<document start>'": "the start of a document",
}


_THING_WORDS = {
    "a block mapping": "mapping",
    "a block collection": "list",
    "a flow mapping": "`{...}` mapping",
    "a flow sequence": "`[...]` list",
    "a quoted scalar": "quoted string",
    "a block scalar": "block text",
    "an alias": "alias",
    "an anchor": "anchor",
    "a simple key": "key",
}


def _line(text: str, mark) -> str:
    return text.splitlines()[mark.line] if mark is not None and mark.line < len(text.splitlines()) else ""


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, text: str = "") -> Diagnostic:
    """A PyYAML parse error in the project's message style: lowercase, user text in
    backticks, one line, with the enclosing construct (where PyYAML names one) as the hint."""
    mark = exc.problem_mark or exc.context_mark
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    hint = None
    if "found character '\\t'" in problem:
        message, hint = "tab characters are not allowed for indentation", "indent with spaces"
    elif problem == "mapping values are not allowed here":
        message = "unexpected `:`"
        hint = "quote a value that contains `: `, or check the indentation of this line"
    elif problem.startswith("found character") and "cannot start any token" in problem:
        char = problem.split("'")[1] if problem.count("'") >= 2 else "?"
        message, hint = f"`{char}` cannot start a plain value", "quote the value"
    elif problem == "but found another document":
        message, hint = "a policy file holds one YAML document, found a second", "remove the `---` line"
    else:
        message = problem or context or "invalid YAML"
        message = message.replace("found unexpected end of stream", "unexpected end of the file")
        for token, words in _TOKEN_WORDS.items():
            message = message.replace(token, words)
        message = re.sub(r"'([^']*)'", r"`\1`", message).replace(", but got ", ", but found ")
        if context.startswith("while ") and exc.context_mark is not None and exc.context_mark is not mark:
            thing = context.split(" ", 2)[-1]
            thing = _THING_WORDS.get(thing, thing)
            hint = f"in the {thing} that starts at line {exc.context_mark.line + 1}, column " \
                   f"{exc.context_mark.column + 1}"
    # Habits that read as YAML but are not, where a newcomer needs the word for it.
    wide = [m for m in (exc.context_mark, exc.problem_mark) if "\uff1a" in _line(text, m)]
    if wide:  # point at the colon itself: the parser only notices a line later
        line = wide[0].line
        d = Diagnostic("yaml-syntax", "`：` is a full-width colon, not YAML's `:`", ERROR, "", line + 1,
                       _line(text, wide[0]).index("\uff1a") + 1,
                       hint="write the ASCII `:` followed by a space (`reason: CODE`)")
        return d
    if "found `{`" in message and context == "while parsing a flow mapping":
        hint = "quote a text with `{name}` placeholders inside `{...}`: `{en: \"Overdue {overdue_days} days\"}`"
    return _located("yaml-syntax", message, mark, hint=hint).diagnostic


_FAILED = object()

try:
    from yaml._yaml import CParser as _CParser

    class _CLoader(_Composer, _CParser, _CoreResolver):
        """libyaml's parser under our composer: the same checks, several times faster."""

        def __init__(self, stream):
            _CParser.__init__(self, stream)
            _Composer.__init__(self)
            _CoreResolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CLoader = None


def _compose_with_libyaml(text: str):
    """The node tree parsed by libyaml, or _FAILED when libyaml is absent or the text is
    not valid YAML: the pure-Python parser then re-parses it, since its error messages and
    positions are the ones our diagnostics are written for."""
    if _CLoader is None:
        return _FAILED
    loader = _CLoader(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError:
        return _FAILED
    finally:
        loader.dispose()


def load_text(text: str, path: str, empty_hint: str = POLICY_HINT) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one document; `empty_hint` says what the file should hold (a policy by default)."""
    smap = SourceMap(path)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        return None, [Diagnostic("empty-file", "file is empty", ERROR, path, 1, 1, hint=empty_hint)]
    loader = None
    try:
        node = _compose_with_libyaml(text)
        if node is _FAILED:
            loader = _Loader(text)  # the reader rejects control characters right here
            node = loader.get_single_node()
        if node is None:
            return None, [Diagnostic("empty-file", "file is empty", ERROR, path, 1, 1)]
        data = _convert(node, "", smap)
    except LoadError as exc:
        return None, [exc.diagnostic.located(path, exc.diagnostic.line, exc.diagnostic.column)]
    except yaml.MarkedYAMLError as exc:
        d = _syntax_diagnostic(exc, text)
        return None, [d.located(path, d.line, d.column)]
    except yaml.reader.ReaderError as exc:
        # A character YAML forbids (a control character): point at it, one line, no repr dump.
        pos = exc.position
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return None, [Diagnostic("yaml-syntax", f"character U+{ord(char):04X} is not allowed in YAML", ERROR, path,
                                 line, col, hint="remove it, or write it as an escape in a double-quoted string")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic("yaml-syntax", str(exc).splitlines()[0], ERROR, path, 1, 1)]
    except RecursionError:
        return None, [Diagnostic("yaml-too-deep", "document nests too deeply", ERROR, path, 1, 1)]
    finally:
        if loader is not None:
            loader.dispose()
    return Document(path, data, smap, text), []
