"""Conditions in negation normal form, as durable-rules sees them.

A node is ("cmp", field, op, value) | ("ex", field) | ("and", items) | ("or", items), with
durable's own operator names (`$eq`, `$gte`, …). This module builds them (flattening and
deduplicating as durable would), writes them as durable JSON (floats without exponents),
rewrites comparisons on integer facts exactly, and splits an expression too big for one
durable rule. Pure functions, no durable-rules import.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

from .limits import INT_MAX, INT_MIN, MAX_FIELDS, MAX_GROUPS


TRUE = ("and", ())
FALSE = ("or", ())
DURABLE_OP = {"eq": "$eq", "ne": "$neq", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
NEGATE = {"eq": "ne", "ne": "eq", "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt",
           "in": "not_in", "not_in": "in", "between": "outside", "outside": "between"}


def format_float(value: float) -> str:
    """A finite float as JSON durable accepts: never an exponent, always a point.
    `repr` digits round-trip exactly, and durable parses the text with `atof`."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." not in text:
        text += ".0"
    return text


def value_text(value) -> str:
    """JSON text of a scalar, as durable must see it (bool before int: True is an int)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"unexpected value {value!r}")


def node_key(node) -> tuple:
    """Identity of a node as durable sees it (1 and 1.0, True and 1 are different)."""
    if node[0] == "cmp":
        return ("cmp", node[1], node[2], value_text(node[3]))
    if node[0] == "ex":
        return node
    return (node[0], tuple(node_key(c) for c in node[1]))


def _flatten(kind: str, items) -> list:
    out, seen = [], set()
    for item in items:
        for sub in (item[1] if item[0] == kind else (item,)):
            key = node_key(sub)
            if key not in seen:
                seen.add(key)
                out.append(sub)
    return out


def n_and(items) -> tuple:
    items = list(items)
    if any(i == FALSE for i in items):
        return FALSE
    flat = _flatten("and", items)
    return flat[0] if len(flat) == 1 else ("and", tuple(flat))


def n_or(items) -> tuple:
    items = list(items)
    if any(i == TRUE for i in items):
        return TRUE
    flat = _flatten("or", items)
    return flat[0] if len(flat) == 1 else ("or", tuple(flat))


def node_text(node) -> str:
    kind = node[0]
    if kind == "cmp":
        return '{"%s":{"%s":%s}}' % (node[2], node[1], value_text(node[3]))
    if kind == "ex":
        return '{"$ex":{"%s":1}}' % node[1]
    return '{"$%s":[%s]}' % (kind, ",".join(node_text(c) for c in node[1]))


def node_fields(node, out: set) -> set:
    if node[0] in ("cmp", "ex"):
        out.add(node[1])
    else:
        for c in node[1]:
            node_fields(c, out)
    return out


def count_groups(node) -> int:
    if node[0] in ("and", "or"):
        return 1 + sum(count_groups(c) for c in node[1])
    return 0


def int_compare(field: str, op: str, c) -> tuple:
    """`field op c` for an integer-valued field, as an exact int comparison (or a
    constant): durable compares ints with ints exactly, and saturates beyond int64."""
    if op in ("eq", "ne"):
        integral = isinstance(c, int) or float(c).is_integer()
        n = int(c) if integral else None
        if n is None or not INT_MIN <= n <= INT_MAX:
            return FALSE if op == "eq" else ("ex", field)
        return ("cmp", field, DURABLE_OP[op], n)
    if isinstance(c, float):
        b = math.floor(c) if op in ("gt", "lte") else math.ceil(c)
    else:
        b = c
    if op == "gt":
        const = False if b >= INT_MAX else True if b < INT_MIN else None
    elif op == "gte":
        const = False if b > INT_MAX else True if b <= INT_MIN else None
    elif op == "lt":
        const = False if b <= INT_MIN else True if b > INT_MAX else None
    else:  # lte
        const = False if b < INT_MIN else True if b >= INT_MAX else None
    if const is None:
        return ("cmp", field, DURABLE_OP[op], b)
    return ("ex", field) if const else FALSE



def split(expr) -> list | None:
    """Distribute the widest `$or` of `expr` into two expressions whose disjunction is
    `expr` (NNF is monotone, so `C[a ∨ b] = C[a] ∨ C[b]`); None: nothing to split."""
    ors = []

    def walk(node):
        if node[0] == "or":
            ors.append(node)
        if node[0] in ("and", "or"):
            for c in node[1]:
                walk(c)

    walk(expr)
    if not ors:
        return None
    target = max(ors, key=lambda n: len(n[1]))
    half = len(target[1]) // 2

    def replace(node, repl):
        if node is target:
            return repl
        if node[0] == "and":
            return n_and([replace(c, repl) for c in node[1]])
        if node[0] == "or":
            return n_or([replace(c, repl) for c in node[1]])
        return node

    return [replace(expr, n_or(target[1][:half])), replace(expr, n_or(target[1][half:]))]


def chunk_items(items, kind: str) -> list[list]:
    """Consecutive runs of `items` that each fit one durable rule: at most MAX_GROUPS - 2
    groups (the anchor's `$and` and the run's own), or MAX_FIELDS - 1 fields."""
    budget = MAX_GROUPS - 2 if kind == "groups" else MAX_FIELDS - 1
    chunks: list[list] = []
    current: list = []
    used: set[str] = set()
    groups = 0
    for item in items:
        if kind == "groups":
            g = count_groups(item)
            fits = groups + g <= budget
        else:
            fields = node_fields(item, set())
            fits = len(used | fields) <= budget
        if current and not fits:
            chunks.append(current)
            current, used, groups = [], set(), 0
        current.append(item)
        if kind == "groups":
            groups += count_groups(item)
        else:
            used |= node_fields(item, set())
    chunks.append(current)
    return chunks
