"""Completion: what may be written at the cursor inside conditions and rule effects.

While an author types, the text is usually not valid YAML, so where the cursor is comes
from the text itself, not from the loader: the keys of the enclosing block mappings (by
indentation, upwards from the cursor's line) and of the flow mappings open on the cursor's
line before it (`when: {overdue_days: {gt: |`). The names offered come from the index of
the last version that loaded. Offered:

- in a condition (`when:`, `where:`), at a key: the facts, derived facts and outputs,
  `all`/`any`/`not`, `flag`, `rule`, `outcome`; inside a fact's mapping: the operators its
  type takes (a list's `contains`…`length`, a string's `starts_with`…);
- at an operand: the thresholds that fit the fact (list thresholds after `in`/`not_in`,
  date thresholds for a date fact), its enum values, `true`/`false` (a boolean fact,
  `missing`), the outcome ids (for `outcome`), flags (`flag`), rule ids (`rule`); inside
  an order operator's mapping on a date fact, `days_ago`/`days_ahead`, whose values are
  the integer thresholds; inside any comparison operator's mapping, `fact` (`{lt: {fact:
  …}}`), whose value is a fact or derived fact of a comparable type; inside `length`, the
  comparison operators, whose values are the integer thresholds; a list's items' values;
- in a computed value (a key of `then.set`, an output's `default`, a derived fact): the
  numeric facts, thresholds, derived facts and earlier outputs it may read (a derived fact:
  the derived facts before it, no outputs), the operators inside a mapping (`add`, …,
  `round`, `to`, `mode`) and the rounding modes after `mode:`;
- `then.outcome` and `default`: outcome ids; `then.reason`: reason codes; a key of
  `then.set`: outputs. Everything else (the schema's own keys) is yaml-language-server's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..language.model import (ARITH_OPS, ARRAY, DATE, LIST_FACT_OPS, LIST_OPS, NUMERIC_TYPES, OPERATORS, ORDER_OPS,
                              PRESENCE_OP, ROUND_MODES, STRING_OPS, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE)
from ..language.values import parse_date
from .index import Index
from .positions import Lines

# LSP's CompletionItemKind.
FIELD, VALUE, KEYWORD, ENUM_MEMBER, CONSTANT, OPERATOR, REFERENCE, EVENT = 5, 12, 14, 20, 21, 24, 18, 23
COMBINATORS = ("all", "any", "not")
_OP_DETAIL = {"eq": "equals", "ne": "differs from", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
              "in": "one of a list", "not_in": "none of a list", "between": "within [low, high]",
              PRESENCE_OP: "absent (true) or present (false)", "contains": "holds an item (a list) or a text (a string)",
              "contains_any": "holds one of the items", "contains_all": "holds every one of the items",
              "length": "the list's length compared", "starts_with": "begins with a text",
              "ends_with": "ends with a text"}
_SCALAR_OPS = tuple(op for op in OPERATORS if op not in LIST_FACT_OPS | STRING_OPS)  # the v2 operators
_COMPARE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")  # those `{fact: name}` and `length` take
_RELATIVE = {"days_ago": "N days before the evaluation date", "days_ahead": "N days after the evaluation date"}
_EXPR_DETAIL = {"add": "sum", "sub": "difference of two", "mul": "product", "div": "quotient of two",
                "min": "smallest", "max": "largest", "round": "round to a multiple", "to": "the multiple (round)",
                "mode": "how to round (round)"}
_MODE_DETAIL = {"down": "toward zero", "up": "away from zero", "half_up": "nearest, a half away from zero",
                "half_even": "nearest, a half to even (the default)"}


@dataclass
class Context:
    """Where the cursor is: the keys from the document root to it, and whether a key or a
    value is being written there (`item`: an item of a list)."""

    path: list[str] = field(default_factory=list)
    position: str = "key"


def _content(line: str) -> tuple[int, int]:
    """The column of a line's first character (`dash`) and of its key after any `- `."""
    dash = len(line) - len(line.lstrip(" "))
    key = dash
    while line[key:key + 2] == "- " or line[key:].rstrip() == "-":
        key += 2
        while key < len(line) and line[key] == " ":
            key += 1
    return dash, key


def _key_of(line: str, start: int) -> str | None:
    """The block key a line starts with at `start` (`when:` → `when`), or None."""
    text = line[start:]
    colon = text.find(":")
    if colon <= 0 or (colon + 1 < len(text) and text[colon + 1] not in " \t#"):
        return None
    key = text[:colon].strip().strip("\"'")
    return key if key and not any(c in key for c in "{}[],#") else None


def _block_path(lines: list[str], row: int, threshold: int) -> list[str]:
    """The keys of the block mappings enclosing a line, outermost first."""
    path: list[str] = []
    for r in range(row - 1, -1, -1):
        line = lines[r]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        dash, key_col = _content(line)
        if key_col < threshold:
            key = _key_of(line, key_col)
            if key is not None:
                path.append(key)
            threshold = dash if key is None or dash < key_col else key_col
            if threshold == 0:
                break
        elif dash < threshold:
            threshold = dash  # the `- ` of the list item the cursor is in
    return path[::-1]


def _flow(text: str) -> Context:
    """The keys opened on one line's text before the cursor, and the position there."""
    frames: list[list] = [["map", None]]  # [kind, key being written]
    word, quote, i = "", None, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            word += c
        elif c in "\"'" and not word.strip():
            quote, word = c, ""
        elif c == ":" and (i + 1 == len(text) or text[i + 1] in " \t{[") and word.strip():
            if frames[-1][0] == "seq":  # `[a: 1]`, a one-key mapping in a list
                frames.append(["pair", None])
            frames[-1][1] = word.strip().strip("\"'")
            word = ""
        elif c in "{[":
            frames.append(["map" if c == "{" else "seq", None])
            word = ""
        elif c in "}]":
            if c == "]" and frames[-1][0] == "pair":
                frames.pop()
            if len(frames) > 1:
                frames.pop()
            word = ""
        elif c == ",":
            if frames[-1][0] == "pair":
                frames.pop()
            elif frames[-1][0] == "map":
                frames[-1][1] = None
            word = ""
        elif c == "#" and (not word or word.endswith(" ")):
            break
        else:
            word += c
        i += 1
    path = [f[1] for f in frames if f[1] is not None]
    top = frames[-1]
    position = "item" if top[0] == "seq" else ("value" if top[1] is not None else "key")
    return Context(path, position)


def context_at(text: str, line: int, char: int) -> Context:
    """The completion context at a 0-based (line, character offset)."""
    lines = text.split("\n")
    current = lines[line][:char] if line < len(lines) else ""
    dash, key_col = _content(current)
    if not current.strip():  # a blank line: the cursor's column says where it belongs
        dash = key_col = len(current)
    inner = _flow(current[key_col:])
    outer = _block_path(lines, line, dash)
    if key_col > dash and not inner.path and inner.position == "key":
        # `- |` in a block list: a new item, whose keys are those of a condition, say.
        return Context(outer, "key")
    return Context(outer + inner.path, inner.position)


def _item(label: str, kind: int, detail: str = "", doc: str = "") -> dict:
    out = {"label": label, "kind": kind}
    if detail:
        out["detail"] = detail
    if doc:
        out["documentation"] = doc
    return out


def _thresholds(index: Index, fact_spec, op: str | None) -> list[dict]:
    """The thresholds that can be compared with a fact by `op`."""
    ftype = fact_spec.get("type") if isinstance(fact_spec, dict) else None
    out = []
    for name in index.names("threshold"):
        value = index.symbols[("threshold", name)].spec
        if op in LIST_OPS:
            fits = isinstance(value, list)
        elif isinstance(value, list):
            fits = False
        elif ftype == DATE:
            fits = parse_date(value) is not None  # a date threshold: `"2026-01-01"`
        elif ftype in ("integer", "number") or op in ORDER_OPS:
            fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif ftype == "boolean":
            fits = isinstance(value, bool)
        elif ftype == "string":
            fits = isinstance(value, str)
        else:
            fits = True
        if fits:
            shown = f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)
            out.append(_item(name, CONSTANT, f"threshold = {shown}"))
    return out


def _facts(index: Index) -> list[dict]:
    """The subjects a condition may name: facts, derived facts and outputs."""
    out = []
    for name in index.names("fact"):
        spec = index.symbols[("fact", name)].spec
        spec = spec if isinstance(spec, dict) else {}
        out.append(_item(name, FIELD, f"fact: {spec.get('type', '?')}", str(spec.get("description", ""))))
    out += [_item(n, FIELD, "derived fact") for n in index.names("derived")]
    for name in index.names("output"):
        spec = index.symbols[("output", name)].spec
        out.append(_item(name, FIELD, f"output: {spec.get('type', '?') if isinstance(spec, dict) else '?'}"))
    return out


def _subject_spec(index: Index, subject: str) -> dict | None:
    """What a condition's key names, as a fact's declaration (a derived fact: a number)."""
    for kind in ("fact", "output"):
        sym = index.declared(kind, subject)
        if sym is not None:
            return sym.spec if isinstance(sym.spec, dict) else {}
    if index.declared("derived", subject) is not None:
        return {"type": "number"}
    return None


def _operators(index: Index, subject: str) -> list[dict]:
    """The operators a subject's type takes (all of them when its type is unknown)."""
    spec = _subject_spec(index, subject) if subject != SUBJECT_OUTCOME else {"type": "string"}
    ftype = spec.get("type") if spec else None
    if ftype == ARRAY:
        ops = [op for op in OPERATORS if op in LIST_FACT_OPS or op == PRESENCE_OP]
    elif ftype == "string" and subject != SUBJECT_OUTCOME:
        ops = [op for op in OPERATORS if op not in ORDER_OPS and op not in LIST_FACT_OPS - STRING_OPS]
    elif ftype is not None:
        ops = list(_SCALAR_OPS)
    else:
        ops = list(OPERATORS)
    return [_item(op, OPERATOR, _OP_DETAIL.get(op, "")) for op in ops]


def _comparable_facts(index: Index, subject: str) -> list[dict]:
    """`{fact: …}`: the facts and derived facts a subject can be compared with."""
    spec = _subject_spec(index, subject) or {}
    ftype = spec.get("type")
    out = []
    for name in index.names("fact"):
        other = index.symbols[("fact", name)].spec
        otype = other.get("type") if isinstance(other, dict) else None
        if name != subject and otype != ARRAY and (
                ftype is None or otype == ftype or {ftype, otype} <= NUMERIC_TYPES):
            out.append(_item(name, FIELD, f"fact: {otype}"))
    if ftype is None or ftype in NUMERIC_TYPES:
        out += [_item(n, FIELD, "derived fact") for n in index.names("derived") if n != subject]
    return out


def _operand(index: Index, subject: str, op: str | None) -> list[dict]:
    if subject == SUBJECT_FLAG:
        return [_item(n, EVENT, "flag") for n in index.names("flag")]
    if subject == SUBJECT_RULE:
        return [_item(n, REFERENCE, "rule") for n in index.names("rule")]
    if subject == SUBJECT_OUTCOME:
        items = [_item(n, ENUM_MEMBER, "outcome") for n in index.names("outcome")]
        return items + (_thresholds(index, {"type": "string"}, op) if op else [])
    spec = _subject_spec(index, subject)
    if spec is None:
        return []
    if op == PRESENCE_OP:
        return [_item("true", VALUE, "the fact is absent"), _item("false", VALUE, "the fact is present")]
    if spec.get("type") == ARRAY:  # a list: its items' values and thresholds
        items_spec = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        list_op = "in" if op in ("contains_any", "contains_all") else None
        return ([_item(str(v), ENUM_MEMBER, f"item of {subject}") for v in items_spec.get("enum", ())]
                + _thresholds(index, items_spec, list_op))
    if op in STRING_OPS:  # a text: string thresholds
        return _thresholds(index, {"type": "string"}, None)
    items = [_item(str(v), ENUM_MEMBER, f"value of {subject}") for v in spec.get("enum", ())]
    if spec.get("type") == "boolean" and op not in LIST_OPS:
        items += [_item("true", VALUE), _item("false", VALUE)]
    return items + _thresholds(index, spec, op)


def _in_condition(index: Index, cond: list[str], position: str) -> list[dict]:
    """Completions inside a condition, `cond` being the keys below `when:`/`where:`."""
    tail = [k for k in cond if k not in COMBINATORS]
    last = cond[-1] if cond else None
    if position == "key" and not tail:
        return (_facts(index) + [_item(k, KEYWORD, "combinator") for k in COMBINATORS]
                + [_item(k, KEYWORD, "condition") for k in (SUBJECT_FLAG, SUBJECT_RULE, SUBJECT_OUTCOME)])
    if position == "item" and last in ("all", "any") and not tail:
        return _facts(index)
    if position == "key" and len(tail) == 1 and tail[0] not in (SUBJECT_FLAG, SUBJECT_RULE):
        return _operators(index, tail[0])
    relative = _relative_date(index, tail, position)
    if relative is not None:
        return relative
    inner = _inner(index, tail, position)
    if inner is not None:
        return inner
    if position in ("value", "item") and tail and last not in COMBINATORS:
        subject = tail[0]
        op = tail[1] if len(tail) > 1 and tail[1] in OPERATORS else None
        if len(tail) > 2 or (len(tail) == 2 and op is None):
            return []
        return _operand(index, subject, op)
    return []


def _inner(index: Index, tail: list[str], position: str) -> list[dict] | None:
    """Inside an operator's mapping: `{lt: {fact: …}}` and `{length: {gte: …}}`."""
    if len(tail) < 2 or tail[0] == SUBJECT_OUTCOME:
        return None
    op = tail[1]
    if op == "length":
        if position == "key" and len(tail) == 2:
            return [_item(k, OPERATOR, _OP_DETAIL[k]) for k in _COMPARE_OPS]
        if position == "value" and len(tail) == 3 and tail[2] in _COMPARE_OPS:
            return [_item(n, CONSTANT, f"threshold = {v}") for n in index.names("threshold")
                    if type(v := index.symbols[("threshold", n)].spec) is int and v >= 0]
        return []
    if op in _COMPARE_OPS or op == "between":
        if position == "key" and len(tail) == 2:
            return [_item("fact", KEYWORD, "another fact, read from the same record")]
        if position == "value" and tail[-1] == "fact" and len(tail) == 3:
            return _comparable_facts(index, tail[0])
    return None


def _is_date_fact(index: Index, name: str) -> bool:
    sym = index.declared("fact", name)
    return sym is not None and isinstance(sym.spec, dict) and sym.spec.get("type") == DATE


def _relative_date(index: Index, tail: list[str], position: str) -> list[dict] | None:
    """Inside `{gte: {days_ago: …}}` of a date fact: the keys, then integer thresholds."""
    if len(tail) < 2 or tail[1] not in ORDER_OPS or not _is_date_fact(index, tail[0]):
        return None
    if position == "key" and len(tail) == 2:
        return [_item(k, KEYWORD, d) for k, d in _RELATIVE.items()] + [
            _item("fact", KEYWORD, "another fact, read from the same record")]
    if position == "value" and len(tail) == 3 and tail[2] in _RELATIVE:
        return [_item(n, CONSTANT, f"threshold = {v}") for n in index.names("threshold")
                if type(v := index.symbols[("threshold", n)].spec) is int and v >= 0]
    return None


def _numeric(spec) -> bool:
    return isinstance(spec, dict) and spec.get("type") in NUMERIC_TYPES


def _in_expression(index: Index, output: str, path: list[str], position: str, derived: bool = False) -> list[dict]:
    """Completions in a computed value of `output` (of derived fact `output` when
    `derived`), `path` being the keys below it."""
    sym = index.declared("derived" if derived else "output", output)
    if sym is None or not (derived or _numeric(sym.spec)):
        return []  # a string or boolean output takes literals only
    if position == "key":
        return [_item(k, OPERATOR, d) for k, d in _EXPR_DETAIL.items()]
    if path[-1:] == ["mode"]:
        return [_item(m, ENUM_MEMBER, _MODE_DETAIL[m]) for m in ROUND_MODES]
    if path and path[-1] not in (*ARITH_OPS, "round"):
        return []  # `to:` takes a number
    outputs = [] if derived else index.names("output")
    earlier = outputs[:outputs.index(output)] if output in outputs else []
    items = [_item(n, FIELD, f"fact: {index.symbols[('fact', n)].spec['type']}") for n in index.names("fact")
             if _numeric(index.symbols[("fact", n)].spec)]
    items += [_item(n, CONSTANT, f"threshold = {v}") for n in index.names("threshold")
              if isinstance(v := index.symbols[("threshold", n)].spec, (int, float)) and not isinstance(v, bool)]
    names = index.names("derived")
    readable = names[:names.index(output)] if derived and output in names else [] if derived else names
    items += [_item(n, FIELD, "derived fact") for n in readable]
    return items + [_item(n, FIELD, "output") for n in earlier if _numeric(index.symbols[("output", n)].spec)]


def completions(text: str, index: Index | None, line: int, unit: int) -> list[dict]:
    """LSP `CompletionItem`s (as JSON) at a 0-based (line, UTF-16 character)."""
    if index is None:
        return []
    ctx = context_at(text, line, Lines(text).from_utf16(line, unit))
    path, position = ctx.path, ctx.position
    for marker in ("when", "where"):
        if marker in path:
            at = len(path) - 1 - path[::-1].index(marker)
            return _in_condition(index, path[at + 1:], position)
    if position in ("value", "item") and (path[-2:] == ["then", "outcome"] or path == ["default"]):
        return [_item(n, ENUM_MEMBER, "outcome") for n in index.names("outcome")]
    if position == "value" and path[-2:] == ["then", "reason"]:
        return [_item(n, CONSTANT, "reason", _text(index.symbols[("reason", n)].spec))
                for n in index.names("reason")]
    if position == "key" and path[-2:] == ["then", "set"]:
        return [_item(n, FIELD, "output") for n in index.names("output")]
    if "set" in path and path.index("set") >= 1 and path[path.index("set") - 1] == "then" \
            and len(path) > path.index("set") + 1:
        at = path.index("set") + 1
        return _in_expression(index, path[at], path[at + 1:], position)
    if len(path) >= 3 and path[0] == "outputs" and path[2] == "default":
        return _in_expression(index, path[1], path[3:], position)
    if len(path) >= 2 and path[0] == "derived":
        return _in_expression(index, path[1], path[2:], position, derived=True)
    if position in ("value", "item") and path[-2:] == ["then", "flags"]:
        return [_item(n, EVENT, "flag") for n in index.names("flag")]
    return []


def _text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)
