"""Hypothesis: loading and validating never raise, whatever the input.

The property (as in python-jsonschema's fuzz test): `load_text`/`load_bytes` and `validate`
return `(value or None, [Diagnostic])` for any text, any bytes, any YAML-shaped value and
any mutation of a real policy; anything else escaping is a bug. When a document loaded,
every diagnostic points into it (line and column >= 1), and every report format renders.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.explain.report as report
from engine.language.diagnostics import Diagnostic, has_errors
from engine.language.model import Policy
from engine.language.source import Document, load_bytes, load_text
from engine.language.validate import validate

ROOT = Path(__file__).resolve().parent.parent
DOUBLE11_TEXT = (ROOT / "policies" / "double11-coupon.yaml").read_text(encoding="utf-8")
DOUBLE11 = load_text(DOUBLE11_TEXT, "double11.yaml")[0].data
PATH = "fuzz.yaml"

# 200 examples a property keeps the suite fast; VERDICT_FUZZ_EXAMPLES=5000 digs deeper locally.
FUZZ = settings(max_examples=int(os.environ.get("VERDICT_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def check_loaded(doc: Document | None, diags: list[Diagnostic]) -> None:
    """The whole contract, for one input, from the loader's answer on."""
    assert isinstance(diags, list) and all(isinstance(d, Diagnostic) for d in diags)
    if doc is None:
        assert has_errors(diags), "a document that did not load must say why"
        return
    assert diags == []
    policy, diags = validate(doc)
    assert policy is None or isinstance(policy, Policy)
    assert all(isinstance(d, Diagnostic) for d in diags)
    if policy is None:
        assert has_errors(diags), "a rejected policy must carry an error"
    else:
        assert not has_errors(diags)
    for d in diags:
        assert d.line >= 1 and d.column >= 1, d
        assert d.file == PATH, d
    for fmt in report.FORMATS:
        assert report.render(fmt, diags, [PATH])


def check_text(text: str) -> None:
    check_loaded(*load_text(text, PATH))


# -- any text, any bytes ----------------------------------------------------------------------

@FUZZ
@given(st.text())
def test_any_text(text: str) -> None:
    check_text(text)


# Text drawn from YAML's punctuation reaches far more of the parser than arbitrary Unicode.
YAMLISH = st.lists(st.sampled_from(list(":-{}[],#&*!|>'\"?%@`~.\n\t  ab01") + ["true", "policy", "<<", "\r\n", "---"]),
                   max_size=60).map("".join)


@FUZZ
@given(YAMLISH)
def test_yaml_punctuation(text: str) -> None:
    check_text(text)


@FUZZ
@given(st.binary())
def test_any_bytes(raw: bytes) -> None:
    check_loaded(*load_bytes(raw, PATH))


@FUZZ
@given(st.data())
def test_edited_policy_text(data: st.DataObject) -> None:
    """Typos in a real policy: characters deleted, inserted or replaced anywhere."""
    text = DOUBLE11_TEXT
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        edit = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        char = data.draw(st.sampled_from(list(":-{}[], \t\n#&*!'\"x0") + ["\u00e9", "\x07"]))
        text = text[:i] + (char if edit != "delete" else "") + text[i + (edit != "insert"):]
    check_text(text)


# -- any YAML-shaped value ---------------------------------------------------------------------

NAMES = sorted({"policy", "version", "title", "facts", "thresholds", "outcomes", "default", "outputs", "reasons",
                "rules", "id", "when", "then", "outcome", "reason", "message", "flags", "set", "all", "any", "not",
                "flag", "rule", "type", "enum", "minimum", "maximum", "eq", "ne", "gt", "gte", "lt", "lte", "in",
                "not_in", "between", "integer", "number", "string", "boolean", "adverse", "combine", "language"}
               | set(DOUBLE11["facts"]) | set(DOUBLE11["thresholds"]) | set(DOUBLE11["reasons"])
               | {o["id"] for o in DOUBLE11["outcomes"]} | {r["id"] for r in DOUBLE11["rules"]})

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12) | st.sampled_from(NAMES))
KEYS = st.sampled_from(NAMES) | st.text(max_size=8)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=25)


def dump(value: object) -> str:
    return yaml.dump(value, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                     sort_keys=False)


@FUZZ
@given(VALUES)
def test_any_value(value: object) -> None:
    check_text(dump(value))


@FUZZ
@given(st.dictionaries(st.sampled_from(["policy", "version", "facts", "thresholds", "outcomes", "default",
                                        "outputs", "reasons", "rules"]), VALUES, min_size=3))
def test_any_policy_shaped_mapping(value: dict) -> None:
    check_text(dump(value))


# -- mutations of a real policy ----------------------------------------------------------------

def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indexes) below `node`."""
    out = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return out
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(paths(v, prefix + (k,)))
    return out


def parent_of(root: object, path: tuple) -> object:
    node = root
    for k in path[:-1]:
        node = node[k]
    return node


def mutate(policy: dict, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["delete", "replace", "rename", "duplicate-rule"]))
    if kind == "duplicate-rule" and isinstance(policy.get("rules"), list) and policy["rules"]:
        rule = copy.deepcopy(data.draw(st.sampled_from(policy["rules"])))
        if isinstance(rule, dict) and isinstance(rule.get("id"), str) and data.draw(st.booleans()):
            rule["id"] += "-copy"  # else the copy keeps its id: `rule-duplicate-id`
        policy["rules"].insert(data.draw(st.integers(0, len(policy["rules"]))), rule)
        return
    if kind == "duplicate-rule" or not paths(policy):
        return  # an earlier mutation removed what this one needs
    path = data.draw(st.sampled_from(paths(policy)))
    parent, key = parent_of(policy, path), path[-1]
    if kind == "delete":
        del parent[key]
    elif kind == "replace":
        parent[key] = data.draw(VALUES)
    elif isinstance(parent, dict):  # rename, keeping the key's place
        new = data.draw(KEYS)
        items = [(new if k == key else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)


@FUZZ
@given(st.data())
def test_mutated_double11(data: st.DataObject) -> None:
    policy = copy.deepcopy(DOUBLE11)
    for _ in range(data.draw(st.integers(1, 3))):
        mutate(policy, data)
    check_text(dump(policy))


def test_unmutated_double11_is_valid() -> None:
    """The mutation tests start from a valid policy (and its dump round-trips)."""
    policy, diags = validate(load_text(dump(DOUBLE11), PATH)[0])
    assert policy is not None, [d.render() for d in diags]


# -- the two YAML parsers ------------------------------------------------------------------------

def _convert_with(loader_class, text: str):
    """(data, values map, keys map) through one parser, or the code of the refusal."""
    from engine.language.source import LoadError, SourceMap, _convert

    loader = loader_class(text)
    smap = SourceMap(PATH)
    try:
        node = loader.get_single_node()  # the composer refuses anchors, aliases, deep nesting
        if node is None:
            return None
        data = _convert(node, "", smap)
        # An empty value (`key:` followed by nothing) has no text to point at, and the two
        # parsers place it a character or a line apart: leave those positions out.
        values = {p: v for p, v in smap.values.items() if not _empty_at(data, p)}
        return data, values, smap.keys
    except LoadError as exc:
        d = exc.diagnostic
        return d.code, d.line, d.column
    finally:
        loader.dispose()


def _empty_at(data: object, pointer: str) -> bool:
    from engine.language.diagnostics import pointer_parts

    node = data
    for part in pointer_parts(pointer):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node is None


def check_parsers_agree(text: str) -> None:
    """libyaml parses valid files fast; the pure-Python parser is the reference (and the
    one that reports syntax errors). Wherever libyaml succeeds, both must give the same
    values at the same positions, or refuse with the same diagnostic."""
    import yaml

    from engine.language.source import _CLoader, _Loader

    if _CLoader is None or not text.strip():
        return
    if re.search(r"(^|[\s\[{,])!($|[\s\]},])", text):
        return  # a bare `!` tag: libyaml makes the value a string (as YAML 1.2 says), PyYAML null
    try:
        fast = _convert_with(_CLoader, text)
        slow = _convert_with(_Loader, text)
    except yaml.YAMLError:
        # libyaml accepts a little more than PyYAML's own parser (a tab inside a plain
        # scalar, `p<TAB>olicy`); where either refuses, the text reaches the user as a
        # syntax error or, through libyaml, as ordinary data that validation then checks.
        return
    assert fast == slow


@FUZZ
@given(st.one_of(YAMLISH, VALUES.map(dump)))
def test_parsers_agree(text: str) -> None:
    check_parsers_agree(text)


@FUZZ
@given(st.data())
def test_parsers_agree_on_edited_policy(data: st.DataObject) -> None:
    text = DOUBLE11_TEXT
    i = data.draw(st.integers(0, len(text)))
    text = text[:i] + data.draw(st.sampled_from(list(":-{}[], \t\n#&*!'\"x0<") + ["<<: ", "!!int ", "&a "])) + text[i:]
    check_parsers_agree(text)
