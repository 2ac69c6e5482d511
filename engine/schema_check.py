"""A fast acceptance test for the project's own JSON Schemas (`schemas/*.schema.json`).

`verdict validate` is a CI gate that runs on every push, and nearly every document it sees
is valid. Proving that with jsonschema costs more than all the rest of the start-up
(importing jsonschema and its `referencing`/`attrs` stack is ~0.1 s, and its generic
validator walks each policy in ~15 ms). This module compiles a schema once into nested
Python closures that answer one question, "is this document valid?", in well under a
millisecond, with no imports beyond the standard library.

It is deliberately one-sided: `True` means valid under JSON Schema 2020-12 for the
keywords it knows; `False` means "not proven valid", and the caller then runs jsonschema
(`schema_errors.check_schema`), which stays the authority for every document not accepted
here and writes the located diagnostics. A schema using a keyword this module does not
implement cannot be compiled (`Unsupported`): its documents always go to jsonschema. Where
JSON Schema's rules are subtle (equality of non-string `enum`/`const` values, `uniqueItems`
over anything but strings), the answer is a conservative `False`. A property test checks
that it agrees with jsonschema on generated and real documents.
"""

from __future__ import annotations

import re
from typing import Callable

Check = Callable[[object], bool]

# Keywords that never affect validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
                          "deprecated", "readOnly", "writeOnly"})


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) this module does not implement."""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    # JSON Schema: an integer is any number with a zero fractional part (1.0 included)
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
}


# minX/maxX: the kind of value the limit applies to (others pass), and whether it is a minimum
_SIZE_LIMITS = {"minProperties": (dict, True), "maxProperties": (dict, False), "minItems": (list, True),
                "maxItems": (list, False), "minLength": (str, True), "maxLength": (str, False)}


def _const_check(expected) -> Check:
    """JSON equality for strings and booleans; anything else is left to jsonschema."""
    if isinstance(expected, bool):
        return lambda v: v is expected
    if isinstance(expected, str):
        return lambda v: isinstance(v, str) and v == expected
    raise Unsupported("const/enum value other than a string or boolean")


class _Compiler:
    def __init__(self, root: dict):
        self.root = root
        self.defs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if not ref.startswith("#/$defs/") or "/" in ref[len("#/$defs/"):]:
            raise Unsupported(f"$ref {ref}")
        name = ref[len("#/$defs/"):]
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
            if key in _ANNOTATIONS or key in ("properties", "additionalProperties"):
                continue
            checks.append(self.keyword(key, arg, schema))
        if "properties" in schema or "additionalProperties" in schema:
            checks.append(self.object_properties(schema.get("properties", {}), schema.get("additionalProperties", True)))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        checks_t = tuple(checks)
        return lambda v: all(c(v) for c in checks_t)

    def object_properties(self, properties: dict, additional) -> Check:
        props = {k: self.compile(s) for k, s in properties.items()}
        other = None if additional is True else self.compile(additional)

        def check(v) -> bool:
            if not isinstance(v, dict):
                return True
            for k, item in v.items():
                c = props.get(k)
                if c is None:
                    if other is not None and not other(item):
                        return False
                elif not c(item):
                    return False
            return True

        return check

    def keyword(self, key: str, arg, schema: dict) -> Check:  # noqa: C901 - one branch per keyword
        if key == "type":
            names = [arg] if isinstance(arg, str) else arg
            if not isinstance(names, list) or any(n not in _TYPES for n in names):
                raise Unsupported(f"type {arg!r}")
            tests = tuple(_TYPES[n] for n in names)
            return tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))
        if key == "$ref":
            return self.ref(arg)
        if key == "enum":
            if all(isinstance(e, str) for e in arg):
                allowed = frozenset(arg)
                return lambda v: isinstance(v, str) and v in allowed
            tests = tuple(_const_check(e) for e in arg)
            return lambda v: any(t(v) for t in tests)
        if key == "const":
            return _const_check(arg)
        if key in _SIZE_LIMITS:
            kind, at_least = _SIZE_LIMITS[key]
            n = arg
            if at_least:
                return lambda v: not isinstance(v, kind) or len(v) >= n
            return lambda v: not isinstance(v, kind) or len(v) <= n
        if key == "required":
            names = tuple(arg)
            return lambda v: not isinstance(v, dict) or all(n in v for n in names)
        if key == "propertyNames":
            c = self.compile(arg)
            return lambda v: not isinstance(v, dict) or all(c(k) for k in v)
        if key == "items":
            c = self.compile(arg)
            return lambda v: not isinstance(v, list) or all(c(x) for x in v)
        if key == "contains":
            if "minContains" in schema or "maxContains" in schema:
                raise Unsupported("minContains/maxContains")
            c = self.compile(arg)
            return lambda v: not isinstance(v, list) or any(c(x) for x in v)
        if key == "uniqueItems":
            if not arg:
                return lambda v: True
            # strings only: JSON equality of mixed values (1 == 1.0, true != 1) is jsonschema's job
            return lambda v: not isinstance(v, list) or (all(isinstance(x, str) for x in v)
                                                         and len(set(v)) == len(v))
        if key == "pattern":
            search = re.compile(arg).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if not _is_number(arg):
                raise Unsupported(f"{key} {arg!r}")
            n = arg
            test = {"minimum": lambda v: v >= n, "maximum": lambda v: v <= n,
                    "exclusiveMinimum": lambda v: v > n, "exclusiveMaximum": lambda v: v < n}[key]
            return lambda v: not _is_number(v) or test(v)
        if key in ("oneOf", "anyOf", "allOf"):
            subs = tuple(self.compile(s) for s in arg)
            if key == "anyOf":
                return lambda v: any(c(v) for c in subs)
            if key == "allOf":
                return lambda v: all(c(v) for c in subs)
            return lambda v: sum(1 for c in subs if c(v)) == 1
        if key == "not":
            c = self.compile(arg)
            return lambda v: not c(v)
        raise Unsupported(f"keyword {key!r}")


def compile_schema(schema: dict) -> Check:
    """A predicate that is True only for documents valid under `schema` (see the module
    docstring). Raises Unsupported for a schema it cannot decide."""
    return _Compiler(schema).compile(schema)
