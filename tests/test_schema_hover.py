"""Hover and completion texts of the shipped JSON Schemas, for yaml-language-server.

An editor shows a property's `markdownDescription` (or `description`) on hover and while
completing, `markdownEnumDescriptions` beside each enum value, and offers `defaultSnippets`
as completions. Every property of every schema must carry both texts, every enum must
explain each value, and the snippets for a rule, a fact and an outcome must expand into
something the schema accepts. These keywords are annotations: the fast acceptance test
must still compile each schema, and jsonschema must still agree with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.language.schema.accept import compile_schema
from engine.language.schema.validate import acceptor

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ("policy.schema.json", "test.schema.json", "decision.schema.json")
# Keys whose values are data (or texts), never subschemas.
_DATA_KEYS = {"enum", "const", "default", "examples", "required", "defaultSnippets", "enumDescriptions",
              "markdownEnumDescriptions"}


def _schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text("utf-8"))


def properties_of(node, pointer: str = ""):
    """(pointer, subschema) for everything under `properties`, `$defs`, `items` and
    `additionalProperties` that is a schema object, at any depth (inside `oneOf` too)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from properties_of(item, f"{pointer}/{i}")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _DATA_KEYS:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, dict):
                    yield f"{pointer}/{key}/{name}", sub
                yield from properties_of(sub, f"{pointer}/{key}/{name}")
        elif key in ("items", "additionalProperties"):
            if isinstance(value, dict):
                yield f"{pointer}/{key}", value
            yield from properties_of(value, f"{pointer}/{key}")
        else:
            yield from properties_of(value, f"{pointer}/{key}")


def test_the_walk_finds_what_it_must():
    """The walk itself: a nested property inside a oneOf, an item, an additionalProperties."""
    schema = {"properties": {"a": {"oneOf": [{"type": "object", "properties": {"b": {"type": "string"}}}]},
                             "c": {"type": "array", "items": {"type": "string"}}},
              "additionalProperties": {"type": "string"}, "$defs": {"d": {"enum": ["x"]}}}
    found = {p for p, _ in properties_of(schema)}
    assert found == {"/properties/a", "/properties/a/oneOf/0/properties/b", "/properties/c",
                     "/properties/c/items", "/additionalProperties", "/$defs/d"}


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_property_has_a_description_and_a_markdown_description(name):
    found = list(properties_of(_schema(name)))
    assert len(found) > 40, "the walk found too little to be walking the schema"
    missing = [p for p, sub in found
               if not (isinstance(sub.get("description"), str) and sub["description"].strip()
                       and isinstance(sub.get("markdownDescription"), str) and sub["markdownDescription"].strip())]
    assert not missing, f"{name}: properties without description and markdownDescription: {missing}"


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_enum_explains_each_value(name):
    for pointer, sub in properties_of(_schema(name)):
        if "enum" not in sub:
            continue
        for key in ("enumDescriptions", "markdownEnumDescriptions"):
            texts = sub.get(key)
            assert isinstance(texts, list) and len(texts) == len(sub["enum"]), f"{name}{pointer}: {key}"
            assert all(isinstance(t, str) and t.strip() for t in texts), f"{name}{pointer}: {key}"
        for value in sub["enum"]:  # the hover text lists each value too
            assert f"`{value}`" in sub["markdownDescription"], f"{name}{pointer}: {value}"


def test_the_operators_and_the_fact_types_read_as_the_language_reference_says():
    """Spot checks that the texts are the policy author's, not placeholders."""
    policy = _schema("policy.schema.json")
    assert "Greater than or equal" in policy["$defs"]["comparison"]["properties"]["gte"]["markdownDescription"]
    change = policy["$defs"]["fact"]["properties"]["change"]
    assert change["markdownEnumDescriptions"][change["enum"].index("none")].startswith("never changed")
    assert "precedence" in policy["properties"]["outcomes"]["markdownDescription"]


def _expand(body):
    """A snippet body as an editor inserts it with its defaults: `${1:x}` → x, a choice
    `${1|a,b|}` → a, and a `^`-prefixed string (yaml-language-server's mark for a
    non-string value) parsed as JSON."""
    if isinstance(body, dict):
        return {_expand(k): _expand(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_expand(v) for v in body]
    if not isinstance(body, str):
        return body
    raw = body.startswith("^")
    text = re.sub(r"\$\{\d+\|([^,|}]*)[^}]*\|\}", r"\1", body[1:] if raw else body)
    text = re.sub(r"\$\{\d+:([^}]*)\}", r"\1", text)
    text = re.sub(r"\$\{\d+\}", "text", text)
    return json.loads(text) if raw else text


@pytest.mark.parametrize("definition", ["rule", "fact", "outcome"])
def test_default_snippets_expand_into_valid_values(definition):
    policy = _schema("policy.schema.json")
    snippets = policy["$defs"][definition].get("defaultSnippets")
    assert snippets, f"no defaultSnippets for a {definition}"
    only = {"$defs": policy["$defs"], "$ref": f"#/$defs/{definition}"}  # the definition alone, not a whole policy
    check = Draft202012Validator(only)
    fast = compile_schema(only)
    for snippet in snippets:
        assert snippet["label"] and snippet["description"]
        value = _expand(snippet["body"])
        assert not list(check.iter_errors(value)), (snippet["label"], value)
        assert fast(value), snippet["label"]


def test_expand_reads_placeholders_as_an_editor_does():
    assert _expand({"${1:k}": ["^${2:3}", "${3|gt,lt|}", "${4}"]}) == {"k": [3, "gt", "text"]}


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_hover_keywords_do_not_stop_the_fast_acceptance(name):
    """Annotations are ignored, not `Unsupported`: the fast path still decides."""
    assert acceptor(name) is not None
    assert compile_schema({"type": "string", "markdownDescription": "x", "defaultSnippets": [],
                           "enumDescriptions": [], "markdownEnumDescriptions": []})("s")
