"""The fast schema acceptance test (`engine.language.schema.accept`) against jsonschema, the authority.

The contract is one-sided: whatever `schema_check` accepts, jsonschema must find valid
(else an invalid policy would skip its schema errors). It is also meant to accept every
valid document (else the speed-up is lost), which is checked on every real document of the
repository and on generated mutations of the example policies.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import OrderedDict, UserString
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.language.schema.accept import Unsupported, compile_schema
from engine.language.schema.validate import acceptor, load_schema, validator
from engine.language.source import load_bytes
from test_fuzz_validate import FUZZ, VALUES, mutate

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ("policy.schema.json", "test.schema.json", "decision.schema.json")


def agree(schema: str, data: object) -> tuple[bool, bool]:
    return acceptor(schema)(data), validator(schema).is_valid(data)


def test_every_project_schema_compiles():
    for name in SCHEMAS:
        assert acceptor(name) is not None, name


def loaded(path: Path):
    doc, _ = load_bytes(path.read_bytes(), str(path))
    return None if doc is None else doc.data


def yaml_documents():
    """Every YAML document of the repository that loads (the loader fixtures do not)."""
    for path in sorted(ROOT.glob("policies/*.yaml")) + sorted(ROOT.glob("tests/fixtures/**/*.yaml")):
        schema = "test.schema.json" if path.name.endswith(".test.yaml") else "policy.schema.json"
        if loaded(path) is not None:
            yield pytest.param(path, schema, id=str(path.relative_to(ROOT)))


DOCUMENTS = list(yaml_documents())


def test_the_corpus_is_the_repository():
    assert len(DOCUMENTS) >= 60 and sum(p.values[1] == "test.schema.json" for p in DOCUMENTS) == 5


@pytest.mark.parametrize("path, schema", DOCUMENTS)
def test_agrees_on_every_document_of_the_repository(path, schema):
    accepted, valid = agree(schema, loaded(path))
    assert accepted == valid


def test_broken_fixtures_include_schema_errors_it_rejects():
    """The corpus above is not all valid: the schema-level fixtures are rejected."""
    rejected = [p.name for p in sorted(ROOT.glob("tests/fixtures/broken/*.yaml"))
                if (d := loaded(p)) is not None and not acceptor("policy.schema.json")(d)]
    assert len(rejected) >= 10, rejected


def test_agrees_on_emitted_decisions():
    from engine import load_policy

    policy = load_policy(ROOT / "policies" / "double11-coupon.yaml")
    users = [json.loads(p.read_text()) for p in sorted(ROOT.glob("examples/*.json"))]
    assert users
    for user in users:
        decision = json.loads(policy.to_json(policy.evaluate(user)))
        assert agree("decision.schema.json", decision) == (True, True)
        broken = copy.deepcopy(decision)
        broken["outcome"] = 7
        assert agree("decision.schema.json", broken) == (False, False)


POLICIES = {p.name: loaded(p) for p in sorted(ROOT.glob("policies/*.yaml")) if not p.name.endswith(".test.yaml")}
SUITES = {p.name: loaded(p) for p in sorted(ROOT.glob("policies/*.test.yaml"))}
SEEDS = [("policy.schema.json", name) for name in sorted(POLICIES)] + [("test.schema.json", name) for name in sorted(SUITES)]


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_agrees_on_mutated_policies_and_test_suites(seed, data):
    schema, name = seed
    doc = copy.deepcopy((POLICIES if schema == "policy.schema.json" else SUITES)[name])
    for _ in range(data.draw(st.integers(1, 3))):
        mutate(doc, data)
    accepted, valid = agree(schema, doc)
    assert not accepted or valid, "accepted a document jsonschema rejects"
    assert accepted == valid


@FUZZ
@given(VALUES)
def test_agrees_on_any_value(value):
    for schema in SCHEMAS:
        accepted, valid = agree(schema, value)
        assert not accepted or valid
        assert accepted == valid


# JSON Schema's own rules, on small schemas: (schema, value, valid).
SMALL = [
    ({"type": "integer"}, 3, True), ({"type": "integer"}, 3.0, True), ({"type": "integer"}, 3.5, False),
    ({"type": "integer"}, True, False), ({"type": "number"}, False, False), ({"type": "number"}, 2, True),
    ({"type": ["string", "null"]}, None, True), ({"type": ["string", "null"]}, 0, False),
    ({"type": "object"}, [], False), ({"type": "array"}, {}, False), ({"type": "boolean"}, 0, False),
    ({"minimum": 3}, "a", True), ({"minimum": 3}, 2, False), ({"exclusiveMinimum": 3}, 3, False),
    ({"maximum": 3}, 3.0, True), ({"minLength": 2}, "北京", True), ({"maxLength": 1}, "北京", False),
    ({"pattern": "^[a-z]+$"}, "abc", True), ({"pattern": "b"}, "abc", True), ({"pattern": "^b"}, "abc", False),
    ({"enum": ["a", "b"]}, "b", True), ({"enum": ["a", "b"]}, 1, False), ({"enum": [True]}, 1, False),
    ({"const": False}, 0, False), ({"const": False}, False, True),
    ({"required": ["a"]}, {"b": 1}, False), ({"required": ["a"]}, [], True),
    ({"properties": {"a": {"type": "string"}}}, {"a": 1}, False),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1, "b": 2}, False),
    ({"additionalProperties": {"type": "integer"}}, {"x": 1, "y": 2}, True),
    ({"propertyNames": {"pattern": "^[a-z]$"}}, {"ab": 1}, False),
    ({"minProperties": 1}, {}, False), ({"minItems": 2}, [1], False), ({"maxItems": 1}, [1, 2], False),
    ({"items": {"type": "string"}}, ["a", 1], False), ({"contains": {"const": "x"}}, ["a", "x"], True),
    ({"uniqueItems": True}, ["a", "a"], False), ({"uniqueItems": True}, ["a", "b"], True),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1, False),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1.5, True),
    ({"anyOf": [{"type": "integer"}, {"type": "number"}]}, 1, True), ({"not": {"type": "string"}}, "a", False),
    ({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}, [[[]]], True),
    ({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}, [[1]], False),
    (True, 1, True), (False, 1, False), ({}, {"anything": [1]}, True),
]


@pytest.mark.parametrize("schema, value, valid", SMALL)
def test_small_schemas(schema, value, valid):
    from jsonschema import Draft202012Validator

    assert Draft202012Validator(schema).is_valid(value) is valid  # the table itself is right
    assert compile_schema(schema)(value) is valid


# Undecided answers, alone or under `not`/`oneOf`/`anyOf` (where a plain False would flip
# into a wrong True): never accepted, so jsonschema decides. Some are valid, some invalid.
@pytest.mark.parametrize("schema, value", [
    ({"uniqueItems": True}, [1, 2]), ({"minimum": 1}, float("nan")),
    ({"not": {"uniqueItems": True}}, [1, 2]), ({"oneOf": [{"uniqueItems": True}, {"type": "array"}]}, [1, 2]),
    ({"not": {"minimum": 1}}, float("nan")), ({"oneOf": [{"minimum": 1}, {"type": "number"}]}, float("nan")),
    ({"not": {"type": "number"}}, Decimal(1)), ({"minimum": 0}, Decimal("-1")), ({"maximum": 0}, Fraction(1, 2)),
    ({"type": "number"}, Decimal(1)), ({"type": "array"}, (1, 2)), ({"type": "object"}, OrderedDict()),
    ({"not": {"const": "a"}}, UserString("b")), ({"anyOf": [{"not": {"type": "string"}}]}, Decimal(1)),
    ({"enum": ["a"]}, b"a"), ({"pattern": "^a"}, UserString("b")),
])
def test_undecided_answers_are_never_accepted(schema, value):
    from jsonschema import Draft202012Validator

    assert compile_schema(schema)(value) is False
    Draft202012Validator(schema).is_valid(value)  # jsonschema can decide it (no exception)


def test_ref_pointers_are_decoded_like_jsonschema():
    from jsonschema import Draft202012Validator

    schema = {"$defs": {"a~b": {"type": "string"}, "a/b": {"type": "integer"}, "a b": {"type": "boolean"}},
              "properties": {"x": {"$ref": "#/$defs/a~0b"}, "y": {"$ref": "#/$defs/a~1b"},
                             "z": {"$ref": "#/$defs/a%20b"}}}
    accepts = compile_schema(schema)
    for doc in ({"x": "s", "y": 1, "z": True}, {"x": 1}, {"y": "s"}, {"z": 1}):
        assert accepts(doc) == Draft202012Validator(schema).is_valid(doc), doc


@pytest.mark.parametrize("schema", [
    {"dependentSchemas": {"a": {}}}, {"patternProperties": {"a": {}}}, {"prefixItems": [{}]},
    {"$ref": "https://example.com/s"}, {"$ref": "#/$defs/missing"}, {"items": [{}]},
    {"properties": {"a": {"$id": "x", "type": "string"}}}, {"format": "email"}, {"contains": {}, "minContains": 2},
])
def test_unsupported_keywords_are_refused(schema):
    with pytest.raises(Unsupported):
        compile_schema(schema)


def test_a_valid_policy_never_imports_jsonschema():
    """The point of the fast path: `verdict validate` on valid policies skips jsonschema."""
    code = ("import sys\nfrom engine.cli.main import main\n"
            "try:\n    main(['validate', 'policies/'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'jsonschema' not in sys.modules, 'jsonschema was imported'\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert load_schema("policy.schema.json")["$schema"].endswith("2020-12/schema")
