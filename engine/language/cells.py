"""The cell grammar of decision tables: one cell's text → the comparisons it means.

A cell of an input column is read into a tuple of `(op, raw)` pairs (a conjunction; empty
for `-`, any value), where `op` is a condition operator and `raw` is written exactly as a
condition's operand would be (a literal, a threshold name, `{fact: name}`, a list for
`in`/`not_in`/`contains_any`/`contains_all`, a pair for `between`). The builder's own operand
machinery (`operands.Operands.operand`) then checks and resolves each pair, so a cell means
exactly what the same comparison means in a rule's `when`.

    -                       any value (no comparison)
    gold   600   true       equality (a literal, or a threshold name)
    gold, silver            one of (values only: `in`)
    >= x  > x  <= x  < x  != x
    [600..700)  (0..1]  [750..]  (..0)      intervals (`[` `]` closed, `(` `)` open)
    not(a, b)               none of (`ne` for one value, `not_in` for several)
    {fact: name}            another fact's value, as the operand form of conditions
    "a, b"  "-"             a quoted text is that text, whatever it contains
    contains(x)  contains_any(a, b)  contains_all(a, b)    list inputs
    starts_with(x)  ends_with(x)  contains(x)             string inputs

A cell that is not a string (YAML's `600`, `true`; CSV's unquoted `600`) is a literal. Inside
a string cell, a bare value is text for a string or date input, and a YAML 1.2 scalar for the
other types (`600` a number, `true` a boolean: `1_000` is not a number there either). A
comma joins values only: `>= 30, < 50` is refused, since DMN and zen read that comma as OR
while authors mean AND (a peer's own table has this bug); the hint gives the interval.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .diagnostics import did_you_mean
from .source import load_text
from .values import literal

ANY = "-"
# The comparison prefixes of a cell, longest first (`>=` before `>`).
_PREFIX = (">=", "<=", "!=", ">", "<")
_PREFIX_OP = {">=": "gte", "<=": "lte", "!=": "ne", ">": "gt", "<": "lt"}
_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\Z", re.S)
# A cell function or an interval opened and never closed: `not(a, b`, `[600..700`.
_OPENED_FUNCTION = re.compile(r"(not|contains|contains_any|contains_all|starts_with|ends_with)\s*\(", re.S)
_OPENED_INTERVAL = re.compile(r"[\[(][^\])]*\.\.", re.S)
LIST_FUNCTIONS = ("contains", "contains_any", "contains_all")
STRING_FUNCTIONS = ("starts_with", "ends_with", "contains")
# Functions whose argument is a list of values (the others take one value).
_MANY = frozenset({"contains_any", "contains_all", "not"})


class CellError(Exception):
    """A cell that does not parse: a stable code, the message and a hint."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def cell_text(value) -> str:
    """A cell as the author wrote it, for tables drawn in explanations and messages."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {cell_text(v)}" for k, v in value.items()) + "}"
    return literal(value)


def split_top(text: str) -> list[str]:
    """`text` split at the commas outside quotes and brackets (`a, "b, c", {fact: x}`)."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        elif ch == "," and depth <= 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


@lru_cache(maxsize=4096)
def yaml_value(text: str):
    """`text` read as the value of a YAML mapping key (the loader is the one place that knows
    YAML's scalars); `(ok, value)`."""
    doc, _ = load_text(f"v: {text}", "")
    if doc is None or not isinstance(doc.data, dict) or set(doc.data) != {"v"}:
        return False, None
    return True, doc.data["v"]


def value(token: str, textual: bool, cell: str):
    """One value inside a cell: a quoted text, `{fact: name}` (or another operand mapping),
    else text (`textual`: a string or date input) or a YAML scalar."""
    token = token.strip()
    if not token:
        raise CellError("table-cell-syntax", f"cell `{cell}` has an empty value",
                        "write a value between the commas, or `-` for any value")
    if token.startswith('"'):
        ok, v = yaml_value(token)
        if not ok or not isinstance(v, str):
            raise CellError("table-cell-syntax", f"`{token}` in cell `{cell}` is not a quoted text",
                            'close the quotes: `"a, b"`')
        return v
    if token.startswith("{"):
        ok, v = yaml_value(token)
        if not ok or not isinstance(v, dict):
            raise CellError("table-cell-syntax", f"`{token}` in cell `{cell}` is not a mapping",
                            "write another fact as `{fact: name}`")
        return v
    if token[0] in "[(" or token.startswith(_PREFIX):
        raise CellError("table-cell-syntax", f"`{token}` in cell `{cell}` is a comparison where a value belongs",
                        "one cell holds one comparison; quote a text that starts with it: `\"" + token + "\"`")
    if textual:
        return token
    ok, v = yaml_value(token)
    if not ok or isinstance(v, (dict, list)) or v is None:
        raise CellError("table-cell-syntax", f"`{token}` in cell `{cell}` is not a value",
                        f'quote a text: `"{token}"`')
    return v


def _interval_hint(parts: list[str]) -> str:
    """The interval a comma-joined pair of comparisons meant, as the hint to write."""
    lo = hi = None
    for p in parts:
        for prefix in _PREFIX:
            if p.startswith(prefix):
                bound = p[len(prefix):].strip()
                if prefix in (">=", ">") and lo is None:
                    lo = ("[" if prefix == ">=" else "(") + bound
                elif prefix in ("<=", "<") and hi is None:
                    hi = bound + ("]" if prefix == "<=" else ")")
                break
    if len(parts) == 2 and lo and hi:
        return f"for both at once write the interval `{lo}..{hi}`; a comma here would mean OR in DMN and zen"
    return "a comma joins values only; write one comparison, or an interval such as `[30..50)`"


def _refuse_comparison_list(cell: str, parts: list[str]) -> None:
    if len(parts) > 1 and any(p.startswith(_PREFIX) for p in parts):
        raise CellError("table-cell-comparisons", f"cell `{cell}` joins comparisons with a comma",
                        _interval_hint(parts))


def _interval(text: str, textual: bool):
    """`[600..700)` → its comparisons, or None when `text` is not an interval."""
    if len(text) < 4 or text[0] not in "[(" or text[-1] not in "])" or ".." not in text:
        return None
    inner = text[1:-1]
    lo_text, _, hi_text = inner.partition("..")
    if hi_text.startswith("."):  # `[1...5]`: the dots of a number are not the separator
        raise CellError("table-cell-syntax", f"interval `{text}` has three dots", "write `[low..high]`")
    lo_text, hi_text = lo_text.strip(), hi_text.strip()
    if not lo_text and not hi_text:
        raise CellError("table-cell-syntax", f"interval `{text}` has no bound", "write `-` for any value")
    lo = value(lo_text, textual, text) if lo_text else None
    hi = value(hi_text, textual, text) if hi_text else None
    if lo_text and hi_text and text[0] == "[" and text[-1] == "]":
        return (("between", [lo, hi]),)
    out = []
    if lo_text:
        out.append(("gte" if text[0] == "[" else "gt", lo))
    if hi_text:
        out.append(("lte" if text[-1] == "]" else "lt", hi))
    return tuple(out)


def input_cell(raw, kind: str, textual: bool) -> tuple[tuple[str, object], ...]:
    """The comparisons of one input cell (empty: `-`). `kind`: "list" (a list input),
    "string" (a string input: the string functions too), or "scalar". `textual`: bare
    values are text (string and date inputs, and lists of strings)."""
    if raw is None:
        raise CellError("table-cell-syntax", "the cell is empty", "write `-` for any value")
    if isinstance(raw, list):
        raise CellError("table-cell-syntax", "a list is not an input cell",
                        "write `contains_any(a, b)` or `contains_all(a, b)`" if kind == "list"
                        else "write the values as one text: `a, b`")
    if isinstance(raw, dict):
        if kind == "list":
            raise CellError("table-cell-syntax", "a list input takes `-`, `contains(x)`, `contains_any(a, b)` or "
                            "`contains_all(a, b)`", None)
        if list(raw) != ["fact"]:  # the one mapping a cell may be: another fact as the value
            raise CellError("table-cell-syntax", f"the mapping `{cell_text(raw)}` is not a cell",
                            "write `{fact: name}` to compare with another fact, or quote a text")
        return (("eq", raw),)
    if not isinstance(raw, str):
        if kind == "list":
            raise CellError("table-cell-syntax", f"`{literal(raw)}` compares a list input with one value",
                            f"write `contains({literal(raw)})`")
        return (("eq", raw),)
    text = raw.strip()
    if text == ANY:
        return ()
    if not text:
        raise CellError("table-cell-syntax", "the cell is empty", "write `-` for any value")
    m = _FUNCTION.match(text)
    if not m and not text.startswith('"'):
        opened = _OPENED_FUNCTION.match(text)
        if opened:
            raise CellError("table-cell-syntax", f"cell `{text}` opens `{opened.group(1)}(` and never closes it",
                            f"close it: `{text})`")
        if _OPENED_INTERVAL.match(text) and text[-1] not in "])":
            raise CellError("table-cell-syntax", f"the interval in cell `{text}` never closes",
                            "end it with `]` (the end included) or `)` (excluded): `[600..700)`, `[750..]`")
    if m and not text.startswith('"'):
        return (_function(text, m.group(1), m.group(2), kind, textual),)
    if kind == "list":
        raise CellError("table-cell-syntax", f"cell `{text}` does not test a list",
                        "a list input takes `-`, `contains(x)`, `contains_any(a, b)` or `contains_all(a, b)`")
    interval = _interval(text, textual)
    if interval is not None:
        return interval
    for prefix in _PREFIX:
        if text.startswith(prefix):
            rest = text[len(prefix):].strip()
            parts = split_top(text)
            _refuse_comparison_list(text, parts)
            if len(split_top(rest)) > 1:
                raise CellError("table-cell-syntax", f"cell `{text}` compares with several values",
                                "write one value after the comparison")
            return ((_PREFIX_OP[prefix], value(rest, textual, text)),)
    parts = split_top(text)
    if len(parts) > 1:
        _refuse_comparison_list(text, parts)
        return (("in", [value(p, textual, text) for p in parts]),)
    if text.startswith(('"', "{")) or not textual:
        return (("eq", value(text, textual, text)),)
    return (("eq", text),)


def _function(text: str, name: str, args: str, kind: str, textual: bool) -> tuple[str, object]:
    allowed = LIST_FUNCTIONS if kind == "list" else ("not",) + (STRING_FUNCTIONS if kind == "string" else ())
    if name not in allowed:
        shown = ", ".join(f"`{a}(…)`" for a in allowed)
        raise CellError("table-cell-syntax", f"`{name}(…)` is not a cell function for this input",
                        did_you_mean(name, allowed) or f"this input takes {shown}; quote a text that looks like a "
                        f'call: `"{text}"`')
    parts = split_top(args)
    values = [value(p, textual, text) for p in parts]
    if name in _MANY:
        if name == "not":
            return ("ne", values[0]) if len(values) == 1 else ("not_in", values)
        return (name, values)
    if len(values) != 1:
        raise CellError("table-cell-syntax", f"`{name}(…)` takes one value, cell `{text}` gives {len(values)}",
                        "write `contains_any(…)` for any of several" if name == "contains" else
                        "write one value")
    return (name, values[0])
