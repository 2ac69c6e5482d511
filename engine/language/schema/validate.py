"""JSON Schema validation of loaded documents, with errors turned into located diagnostics.

Documents the fast acceptance test (`schema_check`) proves valid skip jsonschema (it is
imported only when a document needs it). jsonschema's raw messages ("Additional
properties are not allowed ('tresholds' was unexpected)") are written for programmers;
this module rewrites the common ones in the project's message style, points at the
offending key or value, and adds "did you mean" hints. For `oneOf`/`anyOf` failures it
descends to the most relevant branch error.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..diagnostics import ERROR, Diagnostic, did_you_mean, pointer_join, pointer_parts, type_name
from ..source import SourceMap
from ..values import clip, literal
from .accept import ANNOTATIONS, Unsupported, compile_schema

if TYPE_CHECKING:  # jsonschema is imported only when a document needs it
    from jsonschema.exceptions import ValidationError

# The schemas end patterns with `$(?!\n)`: `$` alone also matches before a final newline
# (in Python's `re`, which jsonschema uses), so `"double11-coupon\n"` passed as an id.
_PATTERN_MEANING = {
    "^[A-Za-z_][A-Za-z0-9_]*$(?!\\n)": "a name of letters, digits and underscores, not starting with a digit",
    "^[A-Za-z_][A-Za-z0-9_.-]*$(?!\\n)": "an id of letters, digits, `_`, `.` and `-`, not starting with a digit",
    "^[A-Za-z_][A-Za-z0-9_.-]*(#[1-9][0-9]*)?$(?!\\n)": "a rule id, or a table row's `table#row`",
    "^[A-Z][A-Z0-9_]*$(?!\\n)": "an upper-case code such as `OVERDUE_SEVERE`",
    "^[a-z0-9][a-z0-9_.-]*$(?!\\n)": "a lower-case id such as `double11-coupon`",
    "^[a-z]{2,3}(-[A-Za-z0-9]+)*$(?!\\n)": "a language tag such as `en` or `zh`",
    "^[0-9A-Za-z.+-]+$(?!\\n)": "a version of letters, digits and `. + -` such as `\"2.1\"`",
}


# Where the schemas come from, decided once: they are the product's own package data, not
# user input, so reading them is the one file read inside `engine.language` (every other
# read is `engine.cli`'s or `engine.io`'s). The validators need them wherever a document is
# checked (the API, the CLI, the suites): passing them in from the edge would make every
# caller load them. So every read of a schema goes through `load_schema`, and every path
# to one (what a generated test file refers to) through `schema_file`; nothing else opens
# `schemas/`.
def schema_file(name: str) -> Path | None:
    """The checkout's `schemas/<name>`, or None when verdict runs from an installed wheel."""
    # A source checkout (including an editable install run from the repo) has the folder
    # beside the package; a wheel install has it only as the `engine.schemas` package data.
    local = Path(__file__).resolve().parents[3] / "schemas" / name
    return local if local.is_file() else None


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """A JSON Schema from `schemas/`: the checkout's folder, or the installed copy."""
    local = schema_file(name)
    if local is not None:
        return json.loads(local.read_text("utf-8"))
    return json.loads(resources.files("engine.schemas").joinpath(name).read_text("utf-8"))


def _inline_refs(node, defs: dict, stack: tuple = ()):
    """A copy of a schema with every `$ref` to a non-recursive `$defs` entry replaced by
    the entry itself. jsonschema resolves each `$ref` through its registry at every use,
    which was most of the validation time; a recursive definition (a condition contains
    conditions) keeps its `$ref`. Validation results are identical."""
    if isinstance(node, list):
        return [_inline_refs(x, defs, stack) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and all(k == "$ref" or k in ANNOTATIONS for k in node):
        name = ref[len("#/$defs/"):]
        if name in defs and name not in stack and not _refers_to(defs[name], name, defs, ()):
            inlined = _inline_refs(defs[name], defs, stack + (name,))
            extra = {k: v for k, v in node.items() if k != "$ref"}  # e.g. a description
            return {**inlined, **extra}
    return {k: (v if k == "$defs" else _inline_refs(v, defs, stack)) for k, v in node.items()}


def _refers_to(node, target: str, defs: dict, seen: tuple) -> bool:
    """Whether `node` reaches `$ref: #/$defs/<target>` (directly or through other defs)."""
    if isinstance(node, list):
        return any(_refers_to(x, target, defs, seen) for x in node)
    if not isinstance(node, dict):
        return False
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref[len("#/$defs/"):]
        if name == target:
            return True
        if name not in seen and name in defs and _refers_to(defs[name], target, defs, seen + (name,)):
            return True
    return any(_refers_to(v, target, defs, seen) for k, v in node.items() if k != "$defs")


@lru_cache(maxsize=None)
def validator(name: str):
    """The jsonschema validator of a schema (jsonschema is imported on first use only)."""
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


@lru_cache(maxsize=None)
def acceptor(name: str):
    """The fast acceptance test of a schema (`schema_check`), or None if it cannot decide it."""
    try:
        return compile_schema(load_schema(name))
    except Unsupported:
        return None


# JSON Schema's type names, in the words of a YAML author.
_TYPE_WORDS = {"object": "mapping", "array": "list"}


def _found(value) -> str:
    """`found …` text: the type and the value for a scalar, just the kind for a collection."""
    if value is None:
        return "an empty value"
    if isinstance(value, (dict, list)):
        return "a " + type_name(value)
    return f"{type_name(value)} {_show(value)}"


def _show(value) -> str:
    if isinstance(value, (dict, list)):
        return "a " + type_name(value)
    return f"`{clip(json.dumps(value, ensure_ascii=False))}`"


def _leaf(error: ValidationError) -> ValidationError:
    """The most specific error inside a oneOf/anyOf failure."""
    from jsonschema.exceptions import best_match

    while error.context:
        # Prefer the branch whose schema "fits" the instance's type: a type error in a
        # branch means that branch was not what the author meant.
        fitting = [e for e in error.context if e.validator != "type" or len(e.relative_path) > 0]
        error = best_match(fitting or error.context)
    return error


def _pointer(error: ValidationError) -> str:
    return pointer_join("", *error.absolute_path)


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _type_names(want) -> list[str]:
    return [_TYPE_WORDS.get(w, w) for w in (want if isinstance(want, list) else [want])]


_COMPARISON_WORDS = {">=": "gte", "<=": "lte", "!=": "ne", "==": "eq", ">": "gt", "<": "lt", "=": "eq"}
_COMPARISON_TEXT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|==|>|<|=)\s*(\S.*?)\s*\Z")
_CONNECTIVES = ("all", "any", "not")


def _flow(value) -> str:
    """A value as a newcomer would type it in a flow list: plain words unquoted."""
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", value):
        return value
    return literal(value)


def _newcomer_hint(pointer: str, inst) -> str | None:
    """The shape a first-time author most likely meant, for a value of the wrong type.

    Conditions are where the habits of other languages show: a list where `all:` is meant,
    a list of values where `in:` is meant, an expression in a string."""
    parts = pointer_parts(pointer)
    if parts[:1] == ["facts"] and len(parts) == 1 and isinstance(inst, list):
        return "declare facts as a mapping from name to declaration, without `- `: `facts: {credit_score: {type: " \
               "integer}}`"
    in_condition = len(parts) >= 3 and parts[0] == "rules" and parts[2] == "when"
    if not in_condition:
        return None
    last = parts[-1]
    is_condition = last == "when" or last == "not" or (last.isdigit() and parts[-2] in ("all", "any"))
    if isinstance(inst, list):
        if is_condition:
            return "combine conditions with `all:` (every one holds) or `any:` (at least one): `when: {all: [...]}`"
        if last not in _CONNECTIVES:
            return f"to test for one of several values, write `{last}: {{in: {_flow(inst)}}}`"
    if isinstance(inst, str) and is_condition:
        m = _COMPARISON_TEXT.match(inst)
        if m:
            fact, op, value = m.groups()
            return f"a condition is a mapping, not an expression: `{{{fact}: {{{_COMPARISON_WORDS[op]}: {value}}}}}`"
        return "a condition is a mapping, not an expression: `{overdue_days: {gt: 0}}`"
    return None


def _convert(error: ValidationError, smap: SourceMap) -> list[Diagnostic]:
    if error.validator in ("oneOf", "anyOf") and error.context and all(
            e.validator == "type" and not e.relative_path for e in error.context):
        # Every branch wants another type: say all the types accepted here ("expected string
        # or mapping"), not just the type of whichever branch `_leaf` would pick.
        want: list[str] = []
        for e in error.context:
            want += [w for w in _type_names(e.validator_value) if w not in want]
        ptr = _pointer(error)
        return [smap.locate(Diagnostic("schema-type", f"expected {_either(want)}, found {_found(error.instance)}",
                                       ERROR, pointer=ptr, hint=_newcomer_hint(ptr, error.instance)))]
    error = _leaf(error)
    ptr = _pointer(error)
    kind = error.validator
    inst = error.instance
    if kind == "additionalProperties" and isinstance(inst, dict):
        allowed = set(error.schema.get("properties", {}))
        out = []
        for key in inst:
            if key in allowed:
                continue
            child = pointer_join(ptr, key)
            hint = did_you_mean(key, allowed) or (
                f"allowed keys here: {', '.join(sorted(allowed))}" if allowed else None)
            out.append(smap.locate(Diagnostic("schema-unknown-key", f"unknown key `{key}`", ERROR,
                                              pointer=child, hint=hint), prefer_key=True))
        return out
    if kind == "required":
        missing = [k for k in error.validator_value if k not in inst]
        return [smap.locate(Diagnostic("schema-missing-key", f"missing required key `{k}`", ERROR, pointer=ptr))
                for k in missing]
    if kind == "propertyNames":
        meaning = _PATTERN_MEANING.get(error.schema.get("propertyNames", {}).get("pattern", ""), "a valid name")
        child = pointer_join(ptr, inst)
        return [smap.locate(Diagnostic("schema-bad-name", f"`{inst}` is not {meaning}", ERROR, pointer=child),
                            prefer_key=True)]
    if error.schema_path and "propertyNames" in error.schema_path:
        # A pattern failure reported on a key name: point at the key.
        meaning = _PATTERN_MEANING.get(error.validator_value, "a valid name") if kind == "pattern" else "a valid name"
        child = pointer_join(ptr, inst)
        return [smap.locate(Diagnostic("schema-bad-name", f"`{inst}` is not {meaning}", ERROR, pointer=child),
                            prefer_key=True)]
    if kind == "type":
        want = _either(_type_names(error.validator_value))
        # (this used to print "found list a list" for collections)
        message = f"expected {want}, found {_found(inst)}"
        hint = None
        if isinstance(inst, str) and inst.lower() in {"yes", "no", "on", "off", "y", "n"} and "boolean" in want:
            hint = "write `true` or `false`"
        elif isinstance(inst, str) and "number" in want:
            hint = "remove the quotes to write a number"
        else:
            hint = _newcomer_hint(ptr, inst)
        return [smap.locate(Diagnostic("schema-type", message, ERROR, pointer=ptr, hint=hint))]
    if kind == "enum":
        options = ", ".join(f"`{v}`" for v in error.validator_value)
        hint = did_you_mean(str(inst), [str(v) for v in error.validator_value])
        return [smap.locate(Diagnostic("schema-enum", f"{_show(inst)} is not one of {options}", ERROR,
                                       pointer=ptr, hint=hint))]
    if kind == "pattern":
        meaning = _PATTERN_MEANING.get(error.validator_value, f"matching `{error.validator_value}`")
        return [smap.locate(Diagnostic("schema-pattern", f"{_show(inst)} is not {meaning}", ERROR, pointer=ptr))]
    if kind in ("minItems", "minProperties", "minLength"):
        return [smap.locate(Diagnostic("schema-empty", "must not be empty", ERROR, pointer=ptr))]
    if kind in ("maxItems", "maxLength"):
        unit = "items" if kind == "maxItems" else "characters"
        return [smap.locate(Diagnostic("schema-too-long", f"must have at most {error.validator_value} {unit}",
                                       ERROR, pointer=ptr))]
    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        return [smap.locate(Diagnostic("schema-range", f"must be {word} {error.validator_value}, found {_show(inst)}",
                                       ERROR, pointer=ptr))]
    if kind in ("oneOf", "anyOf"):
        return [smap.locate(Diagnostic("schema-invalid", f"{_show(inst)} is not a valid value here", ERROR,
                                       pointer=ptr))]
    message = error.message
    message = message[0].lower() + message[1:] if message else "invalid value"
    return [smap.locate(Diagnostic("schema-invalid", message.rstrip("."), ERROR, pointer=ptr))]


def check_schema(data: object, smap: SourceMap, schema_name: str) -> list[Diagnostic]:
    """All schema errors of `data`, located, deduplicated. A document the fast acceptance
    test proves valid has none; any other goes through jsonschema, which decides."""
    accepts = acceptor(schema_name)
    if accepts is not None and accepts(data):
        return []
    out: list[Diagnostic] = []
    for error in validator(schema_name).iter_errors(data):
        out.extend(_convert(error, smap))
    # jsonschema yields one `required` error per missing key and `_convert` reports every
    # missing key of the object for each of them: drop the repeats (keeping first-seen order)
    # so that counts in reports are right.
    return list(dict.fromkeys(out))
