"""The document index: every name a policy declares and uses, with their ranges.

Built from the loader's plain data and its `SourceMap` (pointer → position of each key
and value), not from the validated IR, so it also works on a policy that has errors: a
misspelt fact still has a use to hover on, and the rest of the file keeps its names while
the author is typing. Kinds of names:

| kind | declared at | used at |
|---|---|---|
| fact | a key under `facts:` | a key in a condition (`when`, `where`), a `{fact: name}` operand, a `{name}`, an expression |
| derived | a key under `derived:` | a key in a condition, a `{fact: name}` operand, a `{name}`, an expression |
| threshold | a key under `thresholds:` | an operand in a condition (`{days_ago: name}` too), a `{name}`, an expression |
| outcome | an `outcomes:` item (its `id`) | `then.outcome`, `default`, an `outcome:` condition |
| reason | a key under `reasons:` | `then.reason` |
| output | a key under `outputs:` | a key of `then.set`, a key in a condition, a `{name}`, a name in an expression |

An expression is a `then.set` value, an output's `default` or a derived fact (`{mul: [limit, factor]}`).
| rule | a rule's `id` | a `rule:` condition, `lint.acknowledge[].rule` |
| flag | each `then.flags` item that raises it | a `flag:` condition |
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ..language.diagnostics import pointer_join
from ..language.model import NUMERIC_TYPES, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE
from ..language.source import Document, SourceMap, load_text
from .positions import Lines, Span

KINDS = ("fact", "derived", "threshold", "outcome", "reason", "output", "rule", "flag")
# The kinds a bare name in an expression, a condition's key or a `{name}` may be, looked up
# in this order under these top-level keys.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE_KINDS = (("fact", "facts"), ("derived", "derived"), ("threshold", "thresholds"), ("output", "outputs"))
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}")  # `{name}`, `{name:,.2f}`


@dataclass(frozen=True)
class Occurrence:
    """One place a name is written: its declaration or a use (in rule `rule`, compared
    with fact `fact` for a threshold)."""

    span: Span
    kind: str
    name: str
    declaration: bool
    rule: str | None = None
    fact: str | None = None


@dataclass
class Symbol:
    """A declared or used name, with what its declaration says (`spec`: the raw data)."""

    kind: str
    name: str
    spec: object = None
    declarations: list[Occurrence] = field(default_factory=list)
    uses: list[Occurrence] = field(default_factory=list)


class Index:
    """The names of one document and where they are written."""

    def __init__(self, lines: Lines, data: dict):
        self.lines = lines
        self.data = data
        self.symbols: dict[tuple[str, str], Symbol] = {}
        self.occurrences: list[Occurrence] = []
        self.source_map: SourceMap | None = None  # where each key and value was read

    def symbol(self, kind: str, name: str) -> Symbol:
        key = (kind, name)
        if key not in self.symbols:
            self.symbols[key] = Symbol(kind, name)
        return self.symbols[key]

    def add(self, occ: Occurrence) -> None:
        sym = self.symbol(occ.kind, occ.name)
        (sym.declarations if occ.declaration else sym.uses).append(occ)
        self.occurrences.append(occ)

    def at(self, line: int, char: int) -> Occurrence | None:
        """The occurrence under a 0-based (line, character), the narrowest if several."""
        found = [o for o in self.occurrences if o.span.contains(line, char)]
        return min(found, key=lambda o: o.span.end - o.span.start) if found else None

    def names(self, kind: str) -> list[str]:
        """The declared names of a kind, in declaration order."""
        return [s.name for s in self.symbols.values() if s.kind == kind and s.declarations]

    def declared(self, kind: str, name: str) -> Symbol | None:
        sym = self.symbols.get((kind, name))
        return sym if sym is not None and sym.declarations else None


def build_index(text: str, path: str = "") -> Index | None:
    """The index of a policy's text, or None when it does not load as YAML."""
    doc, _ = load_text(text, path)
    return index_document(doc) if doc is not None else None


def index_document(doc: Document) -> Index | None:
    if not isinstance(doc.data, dict):
        return None
    return _Indexer(doc).run()


class _Indexer:
    def __init__(self, doc: Document):
        self.data: dict = doc.data  # type: ignore[assignment]
        self.smap = doc.source_map
        self.lines = Lines(doc.text)
        self.index = Index(self.lines, self.data)
        self.index.source_map = doc.source_map
        # Every located position, sorted: a text value ends before the next one starts.
        self.starts = sorted({self.lines.offset(*p) for p in (*self.smap.values.values(), *self.smap.keys.values())})

    def _mapping(self, key: str) -> dict:
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}

    def span(self, pointer: str, name: str, at_key: bool) -> Span | None:
        pos = (self.smap.keys if at_key else self.smap.values).get(pointer)
        return self.lines.token(*pos, name=name) if pos else None

    def put(self, kind: str, name, pointer: str, *, at_key: bool = False, declaration: bool = False,
            rule: str | None = None, fact: str | None = None) -> None:
        if not isinstance(name, str):
            return
        span = self.span(pointer, name, at_key)
        if span is not None:
            self.index.add(Occurrence(span, kind, name, declaration, rule, fact))

    # -- declarations ----------------------------------------------------------------
    def declarations(self) -> None:
        for kind, key in (("fact", "facts"), ("derived", "derived"), ("threshold", "thresholds"),
                          ("reason", "reasons"), ("output", "outputs")):
            for name, spec in self._mapping(key).items():
                self.index.symbol(kind, name).spec = spec
                self.put(kind, name, pointer_join("/" + key, name), at_key=True, declaration=True)
        outcomes = self.data.get("outcomes")
        for i, item in enumerate(outcomes if isinstance(outcomes, list) else ()):
            ptr = pointer_join("/outcomes", i)
            oid = item.get("id") if isinstance(item, dict) else item
            if isinstance(oid, str):
                self.index.symbol("outcome", oid).spec = item
                self.put("outcome", oid, pointer_join(ptr, "id") if isinstance(item, dict) else ptr, declaration=True)
        for i, rule in enumerate(self.rules()):
            rid = rule.get("id")
            if isinstance(rid, str):
                self.index.symbol("rule", rid).spec = rule
                self.put("rule", rid, pointer_join("/rules", i, "id"), declaration=True)
            then = rule.get("then")
            flags = then.get("flags") if isinstance(then, dict) else None
            for j, flag in enumerate(flags if isinstance(flags, list) else ()):
                self.put("flag", flag, pointer_join("/rules", i, "then", "flags", j), declaration=True,
                         rule=rid if isinstance(rid, str) else None)

    def rules(self) -> list[dict]:
        rules = self.data.get("rules")
        return [r if isinstance(r, dict) else {} for r in rules] if isinstance(rules, list) else []

    # -- uses ------------------------------------------------------------------------
    def uses(self) -> None:
        self.put("outcome", self.data.get("default"), "/default")
        for name, raw in self._mapping("derived").items():
            self.expression(raw, pointer_join("/derived", name), None)
        for name, spec in self._mapping("outputs").items():
            if isinstance(spec, dict) and "default" in spec and self.numeric_output(name):
                self.expression(spec["default"], pointer_join("/outputs", name, "default"), None)
        for i, rule in enumerate(self.rules()):
            rid = rule.get("id") if isinstance(rule.get("id"), str) else None
            ptr = pointer_join("/rules", i)
            self.condition(rule.get("when"), pointer_join(ptr, "when"), rid)
            then = rule.get("then")
            if not isinstance(then, dict):
                continue
            tptr = pointer_join(ptr, "then")
            self.put("outcome", then.get("outcome"), pointer_join(tptr, "outcome"), rule=rid)
            self.put("reason", then.get("reason"), pointer_join(tptr, "reason"), rule=rid)
            sets = then.get("set")
            for name in sets if isinstance(sets, dict) else ():
                self.put("output", name, pointer_join(tptr, "set", name), at_key=True, rule=rid)
                if self.numeric_output(name):  # (a string output's values are literals)
                    self.expression(sets[name], pointer_join(tptr, "set", name), rid)
            self.texts(then.get("message"), pointer_join(tptr, "message"), rid)
        self.tables()
        for code, texts in self._mapping("reasons").items():
            self.texts(texts, pointer_join("/reasons", code), None)
        lint = self._mapping("lint")
        acks = lint.get("acknowledge")
        for i, ack in enumerate(acks if isinstance(acks, list) else ()):
            if isinstance(ack, dict):
                aptr = pointer_join("/lint/acknowledge", i)
                self.put("rule", ack.get("rule"), pointer_join(aptr, "rule"))
                self.condition(ack.get("where"), pointer_join(aptr, "where"), None)

    def tables(self) -> None:
        """A decision table's columns name facts, derived facts and outputs (its `inputs`, its
        `outputs`), its inline rows' cells thresholds (`>= gold_credit_score`) and, in the
        `outcome`/`reason` columns, outcomes and reason codes; an `id` cell declares a rule."""
        tables = self.data.get("tables")
        for t, table in enumerate(tables if isinstance(tables, list) else ()):
            if not isinstance(table, dict):
                continue
            tptr = pointer_join("/tables", t)
            inputs = table.get("inputs") if isinstance(table.get("inputs"), list) else []
            outputs = table.get("outputs") if isinstance(table.get("outputs"), list) else []
            for k, name in enumerate(inputs):
                kind = next((k2 for k2, top in _VALUE_KINDS if k2 != "threshold" and name in self._mapping(top)), "fact")
                self.put(kind, name, pointer_join(tptr, "inputs", k))
            for k, name in enumerate(outputs):
                if name not in ("outcome", "reason", "message"):
                    self.put("output", name, pointer_join(tptr, "outputs", k))
            rows = table.get("rows")
            ids = table.get("id_column") is True
            thresholds = self._mapping("thresholds")
            for r, row in enumerate(rows if isinstance(rows, list) else ()):
                if not isinstance(row, list):
                    continue
                rptr = pointer_join(tptr, "rows", r)
                rid = row[0] if ids and row and isinstance(row[0], str) else None
                if rid is not None:
                    self.index.symbol("rule", rid).spec = {"id": rid, "table": table.get("id")}
                    self.put("rule", rid, pointer_join(rptr, 0), declaration=True)
                cells = row[1:] if ids else row
                first = 1 if ids else 0
                for c, cell in enumerate(cells):
                    cptr = pointer_join(rptr, c + first)
                    column = c - len(inputs)
                    if column >= 0 and column < len(outputs) and outputs[column] in ("outcome", "reason"):
                        self.put(outputs[column], cell, cptr, rule=rid)
                    elif isinstance(cell, str):
                        for name in _NAME.findall(cell):
                            if name in thresholds:
                                self._put_in(cell, name, cptr, rid)

    def _put_in(self, cell: str, name: str, pointer: str, rule: str | None) -> None:
        """A name inside a cell's text: found on the cell's own line, from where it starts."""
        pos = self.smap.values.get(pointer)
        if pos is None:
            return
        n, c = pos[0] - 1, max(pos[1] - 1, 0)
        found = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])").search(self.lines.line(n), c)
        if found:
            self.index.add(Occurrence(Span(n, found.start(), found.end()), "threshold", name, False, rule))

    def condition(self, node, ptr: str, rule: str | None) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            kptr = pointer_join(ptr, key)
            if key in ("all", "any"):
                for i, item in enumerate(value if isinstance(value, list) else ()):
                    self.condition(item, pointer_join(kptr, i), rule)
            elif key == "not":
                self.condition(value, kptr, rule)
            elif key == SUBJECT_FLAG:
                self.put("flag", value, kptr, rule=rule)
            elif key == SUBJECT_RULE:
                self.put("rule", value, kptr, rule=rule)
            else:
                if key != SUBJECT_OUTCOME:
                    # a fact, a derived fact or an output; an undeclared name is a (misspelt) fact
                    kind = next((k for k, top in _VALUE_KINDS if k != "threshold" and key in self._mapping(top)),
                                "fact")
                    self.put(kind, key, kptr, at_key=True, rule=rule)
                if isinstance(value, dict):
                    for op, raw in value.items():
                        self.operand(raw, pointer_join(kptr, op), rule, key)
                else:
                    self.operand(value, kptr, rule, key)

    def numeric_output(self, name: str) -> bool:
        spec = self._mapping("outputs").get(name)
        return isinstance(spec, dict) and spec.get("type") in NUMERIC_TYPES

    def expression(self, raw, ptr: str, rule: str | None) -> None:
        """The names an expression reads."""
        if isinstance(raw, dict):
            for op, arg in raw.items():
                if isinstance(arg, list):
                    for i, item in enumerate(arg):
                        self.expression(item, pointer_join(ptr, op, i), rule)
                elif op == "round":
                    self.expression(arg, pointer_join(ptr, op), rule)
        elif isinstance(raw, str):
            kind = next((k for k, key in _VALUE_KINDS if raw in self._mapping(key)), None)
            if kind is not None:
                self.put(kind, raw, ptr, rule=rule)

    def operand(self, raw, ptr: str, rule: str | None, subject: str) -> None:
        if isinstance(raw, dict) and isinstance(raw.get("fact"), str):  # `{fact: monthly_income}`
            name = raw["fact"]
            self.put("derived" if name in self._mapping("derived") else "fact", name, pointer_join(ptr, "fact"),
                     rule=rule)
        elif isinstance(raw, dict):  # a relative date `{days_ago: clean_days}`, `length`'s operators
            for key, n in raw.items():
                self.operand(n, pointer_join(ptr, key), rule, subject)
        elif isinstance(raw, list):
            for i, item in enumerate(raw):
                self.operand(item, pointer_join(ptr, i), rule, subject)
        elif isinstance(raw, str):
            # A string operand is a threshold when one has that name (as the validator reads
            # it); otherwise, compared with the outcome, an outcome id; else a plain value.
            if raw in self._mapping("thresholds"):
                self.put("threshold", raw, ptr, rule=rule, fact=None if subject == SUBJECT_OUTCOME else subject)
            elif subject == SUBJECT_OUTCOME:
                self.put("outcome", raw, ptr, rule=rule)

    def texts(self, value, ptr: str, rule: str | None) -> None:
        """The `{name}` placeholders of a message or reason text (one or per language)."""
        if isinstance(value, dict):
            for lang, text in value.items():
                self.texts(text, pointer_join(ptr, lang), rule)
            return
        pos = self.smap.values.get(ptr)
        if not isinstance(value, str) or pos is None:
            return
        start = self.lines.offset(*pos)
        # The text runs to the next located node: placeholders are searched only there.
        i = bisect.bisect_right(self.starts, start)
        end = self.starts[i] if i < len(self.starts) else len(self.lines.text)
        for m in _PLACEHOLDER.finditer(self.lines.text, start, end):
            name = m.group(1)
            kind = next((k for k, key in _VALUE_KINDS if name is not None and name in self._mapping(key)), None)
            if kind is None:
                continue
            line, char = self.lines.position_of(m.start(1))
            self.index.add(Occurrence(Span(line, char, char + len(name)), kind, name, False, rule))

    def run(self) -> Index:
        self.declarations()
        self.uses()
        self.index.occurrences.sort(key=lambda o: o.span)
        return self.index
