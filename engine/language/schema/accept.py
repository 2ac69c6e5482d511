"""A fast acceptance test for the project's own JSON Schemas (`schemas/*.schema.json`).

`verdict validate` is a CI gate that runs on every push, and nearly every document it sees
is valid. Proving that with jsonschema costs more than all the rest of the start-up
(importing jsonschema and its `referencing`/`attrs` stack is ~0.1 s, and its generic
validator walks each policy in ~15 ms). This module compiles a schema once into nested
Python closures that answer one question, "is this document valid?", in well under a
millisecond, with no imports beyond the standard library.

Every check is three-valued: True (valid), False (invalid) or None (not decided here),
and None propagates through `not`, `oneOf`, `anyOf` and `allOf` by Kleene's rules, so a
cautious answer deep inside a schema can never turn into a wrong "valid" (a `not` of an
undecided check is undecided, not True). Undecided are: values that are not plain JSON
data (a `Decimal`, a `tuple`, a `dict` subclass…), NaN against a numeric limit, and
`uniqueItems` over anything but strings. The acceptor (`compile_schema`) returns True only
for True; for anything else the caller runs jsonschema (`schema_errors.check_schema`),
which stays the authority for every document not accepted here and writes the located
diagnostics. A schema using a keyword this module does not implement cannot be compiled
(`Unsupported`): its documents always go to jsonschema. Tests compare the two on the
repository's documents and on generated ones.
"""

from __future__ import annotations

import re
from typing import Callable
from urllib.parse import unquote

Tri = bool | None
Check = Callable[[object], Tri]

# Keywords that never affect validity: JSON Schema's annotations, and the editor hover and
# completion texts VS Code's YAML and JSON extensions read (the schemas carry them for
# yaml-language-server; a vocabulary jsonschema ignores must not make a schema uncompilable).
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
                          "deprecated", "readOnly", "writeOnly", "markdownDescription", "enumDescriptions",
                          "markdownEnumDescriptions", "defaultSnippets", "deprecationMessage", "errorMessage"})

# The JSON kind of a plain value, by exact class; anything else (subclasses included) is
# not JSON data this module decides about.
_KIND = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null", int: "integer",
         float: "number"}


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this module does not implement."""


def _fold(results, decisive: bool) -> Tri:
    """Kleene's and (decisive False) or or (decisive True) of three-valued results."""
    undecided = False
    for r in results:
        if r is decisive:
            return decisive
        if r is None:
            undecided = True
    return None if undecided else not decisive


def _all3(results) -> Tri:
    return _fold(results, False)


def _any3(results) -> Tri:
    return _fold(results, True)


def _type_check(name: str) -> Check:
    if name == "number":
        return lambda v: None if (k := _KIND.get(v.__class__)) is None else k in ("integer", "number")
    if name == "integer":  # JSON Schema: any number with a zero fractional part (1.0 included)
        return lambda v: (None if (k := _KIND.get(v.__class__)) is None
                          else k == "integer" or (k == "number" and v.is_integer()))
    return lambda v: None if (k := _KIND.get(v.__class__)) is None else k == name


def _applies_to(kinds: tuple[str, ...], test: Callable[[object], Tri]) -> Check:
    """A keyword that constrains values of some kinds only: others pass; non-JSON values
    are undecided."""
    def check(v) -> Tri:
        k = _KIND.get(v.__class__)
        if k is None:
            return None
        return test(v) if k in kinds else True

    return check


def _const_check(expected) -> Check:
    """JSON equality with a string or a boolean (true is not 1); other constants are left
    to jsonschema."""
    if isinstance(expected, bool):
        return lambda v: None if v.__class__ not in _KIND else v is expected
    if isinstance(expected, str):
        return lambda v: None if v.__class__ not in _KIND else (v.__class__ is str and v == expected)
    raise Unsupported("const/enum value other than a string or boolean")


# minX/maxX: the JSON kind the limit applies to, and whether it is a minimum
_SIZE_LIMITS = {"minProperties": ("object", True), "maxProperties": ("object", False), "minItems": ("array", True),
                "maxItems": ("array", False), "minLength": ("string", True), "maxLength": ("string", False)}
_NUMERIC_LIMITS = {"minimum": lambda v, n: v >= n, "maximum": lambda v, n: v <= n,
                   "exclusiveMinimum": lambda v, n: v > n, "exclusiveMaximum": lambda v, n: v < n}


def _unique_strings(v: list) -> Tri:
    if all(x.__class__ is str for x in v):
        return len(set(v)) == len(v)
    return None  # JSON equality of mixed values (1 == 1.0, true != 1) is jsonschema's job


class _Compiler:
    def __init__(self, root: dict):
        self.root = root
        self.defs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        prefix = "#/$defs/"
        if not isinstance(ref, str) or not ref.startswith(prefix) or "/" in ref[len(prefix):]:
            raise Unsupported(f"$ref {ref}")
        # a URI fragment holding a JSON pointer token: percent-decoding, then ~1 and ~0
        name = unquote(ref[len(prefix):]).replace("~1", "/").replace("~0", "~")
        defs = self.root.get("$defs", {})
        if name not in defs:
            raise Unsupported(f"$ref to a missing definition {ref}")
        if name not in self.defs:
            slot: list[Check] = []
            self.defs[name] = lambda v: slot[0](v)  # recursion: resolved once compiled
            slot.append(self.compile(defs[name]))
        return self.defs[name]

    def compile(self, schema) -> Check:
        if schema is not self.root and isinstance(schema, dict) and "$id" in schema:
            raise Unsupported("a nested $id (it would change what `#/$defs/…` refers to)")
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema of type {type(schema).__name__}")
        checks: list[Check] = []
        for key, arg in schema.items():
            if key in ANNOTATIONS or key in ("properties", "additionalProperties", "then", "else"):
                continue  # (`then` and `else` are compiled with their `if`)
            checks.append(self.keyword(key, arg, schema))
        if "properties" in schema or "additionalProperties" in schema:
            checks.append(self.object_properties(schema.get("properties", {}), schema.get("additionalProperties", True)))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        checks_t = tuple(checks)
        return lambda v: _all3(c(v) for c in checks_t)

    def object_properties(self, properties: dict, additional) -> Check:
        props = {k: self.compile(s) for k, s in properties.items()}
        other = None if additional is True else self.compile(additional)

        def test(v: dict) -> Tri:
            return _all3(c(item) for k, item in v.items() if (c := props.get(k, other)) is not None)

        return _applies_to(("object",), test)

    def keyword(self, key: str, arg, schema: dict) -> Check:  # noqa: C901 - one branch per keyword
        if key == "type":
            names = [arg] if isinstance(arg, str) else arg
            if not isinstance(names, list) or any(n not in ("object", "array", "string", "boolean", "null",
                                                            "number", "integer") for n in names):
                raise Unsupported(f"type {arg!r}")
            tests = tuple(_type_check(n) for n in names)
            return tests[0] if len(tests) == 1 else (lambda v: _any3(t(v) for t in tests))
        if key == "$ref":
            return self.ref(arg)
        if key == "enum":
            if all(isinstance(e, str) for e in arg):
                allowed = frozenset(arg)
                return lambda v: None if v.__class__ not in _KIND else (v.__class__ is str and v in allowed)
            tests = tuple(_const_check(e) for e in arg)
            return lambda v: _any3(t(v) for t in tests)
        if key == "const":
            return _const_check(arg)
        if key in _SIZE_LIMITS:
            kind, at_least = _SIZE_LIMITS[key]
            n = arg
            return _applies_to((kind,), (lambda v: len(v) >= n) if at_least else (lambda v: len(v) <= n))
        if key in _NUMERIC_LIMITS:
            if arg.__class__ not in (int, float) or arg != arg:
                raise Unsupported(f"{key} {arg!r}")
            compare, n = _NUMERIC_LIMITS[key], arg
            # NaN compares false with everything, so jsonschema lets it pass any limit: undecided here
            return _applies_to(("integer", "number"), lambda v: compare(v, n) if v == v else None)
        if key == "required":
            names = tuple(arg)
            return _applies_to(("object",), lambda v: all(n in v for n in names))
        if key == "propertyNames":
            c = self.compile(arg)
            return _applies_to(("object",), lambda v: _all3(c(k) for k in v))
        if key == "items":
            c = self.compile(arg)
            return _applies_to(("array",), lambda v: _all3(c(x) for x in v))
        if key == "contains":
            if "minContains" in schema or "maxContains" in schema:
                raise Unsupported("minContains/maxContains")
            c = self.compile(arg)
            return _applies_to(("array",), lambda v: _any3(c(x) for x in v))
        if key == "uniqueItems":
            return _applies_to(("array",), _unique_strings) if arg else (lambda v: True)
        if key == "pattern":
            search = re.compile(arg).search
            return _applies_to(("string",), lambda v: search(v) is not None)
        if key in ("oneOf", "anyOf", "allOf"):
            subs = tuple(self.compile(s) for s in arg)
            if key == "anyOf":
                return lambda v: _any3(c(v) for c in subs)
            if key == "allOf":
                return lambda v: _all3(c(v) for c in subs)

            def one_of(v) -> Tri:
                results = [c(v) for c in subs]
                return None if None in results else results.count(True) == 1

            return one_of
        if key == "if":
            # `then` applies where `if` holds, `else` where it does not; undecided stays undecided.
            cond = self.compile(arg)
            then = self.compile(schema.get("then", True))
            other = self.compile(schema.get("else", True))

            def if_then_else(v) -> Tri:
                r = cond(v)
                return None if r is None else (then(v) if r else other(v))

            return if_then_else
        if key == "not":
            c = self.compile(arg)

            def negate(v) -> Tri:
                r = c(v)
                return None if r is None else not r

            return negate
        raise Unsupported(f"keyword {key!r}")


def compile_schema(schema: dict) -> Callable[[object], bool]:
    """A predicate that is True only for documents valid under `schema` (see the module
    docstring). Raises Unsupported for a schema it cannot decide."""
    check = _Compiler(schema).compile(schema)
    return lambda document: check(document) is True
