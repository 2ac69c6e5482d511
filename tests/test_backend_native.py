"""The native backend's generated code: hostile strings, exact literals, no dead branches,
tracebacks that show the generated source."""

from __future__ import annotations

import ast
import dataclasses
import json
import linecache
import re
import traceback
from pathlib import Path

import pytest

from engine.api import load_policy_text
from engine.backends.native import NativeBackend, generate_source, literal, source_name
from engine.compile import compile_policy
from engine.evaluate import evaluate, slow_decide
from engine.io.policies import load_policy as load_policy_file
from engine.language.source import load_text
from engine.language.validate import validate
from engine.runtime.semantics import Plan, reference_matches

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
POLICIES = [p for p in POLICIES if not p.name.endswith(".test.yaml")]

HOSTILE = [
    'a"b', "it's", "a\\b", "trailing\\", "line\nbreak", "cr\rlf", "tab\tx", "{x}", "{{y}}", "{0!r}",
    '__import__("os").system("echo pwned")', "') or __import__('os') #", '"""', "'''", "#comment",
    "\u2028line sep\u2029para sep", "\x85nel", "\x0cform feed", "\x00nul", "😀", "北京 朝阳", "",
]


def q(value) -> str:
    """A YAML flow scalar for any string (JSON is YAML), with the characters YAML reads as
    line breaks escaped (JSON leaves U+2028, U+2029 and U+0085 as they are)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def policy_of(text: str):
    doc, diags = load_text(text, "hostile.yaml")
    assert doc is not None, [d.message for d in diags]
    policy, diags = validate(doc)
    assert policy is not None, [d.message for d in diags if d.severity == "error"]
    return policy


def braceless(text: str) -> str:
    """Braces in a message are placeholders, which validation checks: keep them out."""
    return text.replace("{", "(").replace("}", ")")


def hostile_policy_text() -> str:
    """Hostile strings in every field of the language that accepts free text: enum values,
    string literals and thresholds in comparisons, string outputs (defaults and values set),
    messages, descriptions, titles."""
    enum = "[" + ", ".join(q(v) for v in HOSTILE) + "]"
    rules = []
    for k, value in enumerate(HOSTILE):
        rules.append(f"  - {{id: eq{k}, description: {q(value)}, when: {{s: {{eq: {q(value)}}}}}, "
                     f"then: {{reason: R{k}, message: {{en: {q(braceless(value) + ' {s}')}}}, "
                     f"set: {{out{k}: {q(HOSTILE[k - 1])}}}}}}}")
    return f"""
policy: hostile
version: 1
title: {q(HOSTILE[10])}
description: {q(HOSTILE[15])}
facts:
  s: {{type: string, enum: {enum}, description: {q(HOSTILE[11])}}}
  t: {{type: string, required: false}}
thresholds:
  odd: {q(HOSTILE[10])}
  odd_list: [{q(HOSTILE[11])}, {q(HOSTILE[15])}]
outcomes:
  - {{id: flagged, description: {q(HOSTILE[4])}}}
  - {{id: fine}}
default: fine
outputs:
  label: {{type: string, default: {q(HOSTILE[0])}}}
  note: {{type: string, default: {q(HOSTILE[13])}}}
{chr(10).join(f"  out{k}: {{type: string, default: {q(v)}}}" for k, v in enumerate(HOSTILE))}
rules:
  - {{id: by_threshold, when: {{s: {{eq: odd}}}}, then: {{outcome: flagged, set: {{note: {q(HOSTILE[12])}}}}}}}
  - {{id: by_list, when: {{s: {{in: odd_list}}}}, then: {{outcome: flagged, flags: [listed]}}}}
  - {{id: t_free, when: {{t: {{in: {json.dumps(HOSTILE[:8])}}}}}, then: {{reason: T}}}}
  - {{id: t_not, when: {{not: {{t: {{ne: {q(HOSTILE[5])}}}}}}}, then: {{reason: U}}}}
  - {{id: listed_and, when: {{all: [{{flag: listed}}, {{outcome: {{eq: flagged}}}}]}}, then: {{reason: L}}}}
{chr(10).join(rules)}
reasons:
  T: {{en: {q(HOSTILE[1])}}}
  U: {{en: {q(HOSTILE[2])}}}
  L: {{en: {q(HOSTILE[3])}}}
{chr(10).join(f"  R{k}: {{en: {q(braceless(v) or chr(34))}}}" for k, v in enumerate(HOSTILE))}
"""


ALLOWED_NAMES = re.compile(r"^(v\d+|m\d+|c\d+_\d+|k\d+|fl_\d+|out\d+|o|by|fl|fx|r|f|facts|trace|backend|_sel|_vals|v|c"
                           r"|_all3|_any3|_not3|_plan|_UNKNOWN|_policy|_Decision|_slow|_slow_open|undeclared|_route|_compress|_by_table|_inf|_whole"
                           r"|OverflowError"
                           r"|as_of|a\d+|_date|_parse_date|_today|_check_as_of|_on|_rel|_beyond|_days|_outputs"
                           r"|tuple|dict|len|min|max|sum|frozenset|int|float|str|KeyError|True|False|None)$")


def assert_safe(source: str, policy) -> None:
    """Parsed, the generated module names only what we make up or supply, calls only
    those, and its strings are exactly policy values (never code)."""
    tree = ast.parse(source)
    allowed_strings = set(policy.facts) | set(policy.outcome_ids) | set(policy.outputs) | {"native", "warn"}
    allowed_strings |= {f for r in policy.rules for f in r.then.flags}
    allowed_strings |= {v for spec in policy.facts.values() for v in spec.enum or ()}
    for rule in policy.rules:
        allowed_strings |= {v for _, v in rule.then.set if type(v) is str}
        for leaf in rule.leaves:
            operand = leaf.operand if isinstance(leaf.operand, tuple) else (leaf.operand,)
            for o in operand:
                allowed_strings |= set(o.value) if isinstance(o.value, tuple) else {o.value}
    allowed_strings |= {spec.default for spec in policy.outputs.values()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert ALLOWED_NAMES.match(node.id), node.id
        elif isinstance(node, ast.Attribute):
            assert node.attr in ("__class__", "get", "copy", "select_outcome", "isascii"), node.attr
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, (ast.Name, ast.Attribute)), ast.dump(node.func)
        elif isinstance(node, ast.Constant) and type(node.value) is str:
            assert node.value in allowed_strings, repr(node.value)
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Lambda, ast.ClassDef, ast.Global, ast.Nonlocal,
                               ast.JoinedStr, ast.Subscript)) and not isinstance(node, ast.Subscript):
            pytest.fail(f"unexpected {type(node).__name__} in generated code")
    top = [type(n).__name__ for n in tree.body]
    assert set(top) <= {"Assign", "FunctionDef"}, top
    for line in source.splitlines():  # one physical line per logical line: nothing broke out
        assert "\u2028" not in line and "\u2029" not in line and "\x85" not in line and "\x00" not in line


def test_hostile_strings_stay_data_and_decide_right():
    policy = policy_of(hostile_policy_text())
    rs = compile_policy(policy)
    assert_safe(rs.native.source, policy)
    entry = load_policy_text(hostile_policy_text()).evaluate  # the API's variant of decide
    assert entry.__code__.co_filename == source_name(policy, "entry")
    assert_safe("".join(linecache.getlines(entry.__code__.co_filename)), policy)
    records = [{"s": v} for v in HOSTILE] + [{"s": v, "t": t} for v in HOSTILE[:4] for t in HOSTILE]
    for record in records:
        want = reference_matches(policy, {k: v for k, v in record.items()})
        for trace in (False, True):
            d = evaluate(rs, record, trace=trace)
            assert d.matched == want, record
            assert d == slow_decide(rs, record, trace=trace)
        complete = {"t": HOSTILE[0], **record}  # every fact present: the generated decide itself
        assert rs.decide(complete) == slow_decide(rs, complete)
        assert rs.decide_trace(complete) == slow_decide(rs, complete, trace=True)
    d = evaluate(rs, {"s": HOSTILE[10], "t": HOSTILE[5]})
    assert d.outcome == "flagged" and d.outputs["label"] == HOSTILE[0] and d.outputs["note"] == HOSTILE[12]
    assert d.outputs["out10"] == HOSTILE[9] and d.outputs["out11"] == HOSTILE[11]  # set by eq10; out11's default
    d = evaluate(rs, {"s": HOSTILE[15]})
    assert d.outcome == "flagged" and d.flags == ("listed",) and d.matched[4] is True
    api = load_policy_text(hostile_policy_text())
    record = {"s": HOSTILE[7], "t": HOSTILE[3]}
    assert api.evaluate(record) == evaluate(api.ruleset, record, trace=False)


def test_text_that_is_not_a_value_never_reaches_the_source():
    """Policy id, rule ids, reason codes, messages, descriptions: change them all to
    hostile text (bypassing the schema that rejects most of it) and the source is the same."""
    policy = policy_of(hostile_policy_text())
    evil = "{x}{{0}}\n__import__('os')\u2028'\"\\"
    rules = tuple(dataclasses.replace(r, id=f"{evil}{r.index}", description=evil,
                                      then=dataclasses.replace(r.then, reason=r.then.reason and evil,
                                                               message={"en": evil}))
                  for r in policy.rules)
    # no rule reads another rule by id in this policy, so renaming them keeps it whole
    assert not any(leaf.kind == "rule" for r in policy.rules for leaf in r.leaves)
    changed = dataclasses.replace(policy, id=evil, title=evil, description=evil, rules=rules)
    assert generate_source(changed) == generate_source(policy)
    backend = NativeBackend(changed, Plan(changed))
    assert "\n" not in backend.filename and evil not in backend.filename
    assert backend.filename.startswith("<verdict native ") and backend.filename.endswith(">")


def test_ids_and_codes_with_hostile_text_are_rejected_with_diagnostics():
    base = hostile_policy_text()
    for old, new in (("policy: hostile", f"policy: {q(HOSTILE[10])}"),
                     ("id: by_threshold", f"id: {q(HOSTILE[11])}"),
                     ("reason: T}", f"reason: {q(HOSTILE[4])}}}"),
                     ("id: fine", f"id: {q(HOSTILE[12])}"),
                     ("  label: {type", f"  {q(HOSTILE[7])}: {{type")):
        text = base.replace(old, new, 1)
        assert text != base, old
        doc, diags = load_text(text, "hostile.yaml")
        assert doc is not None
        policy, diags = validate(doc)
        assert policy is None and any(d.severity == "error" for d in diags), old


@pytest.mark.parametrize("value", [True, False, 0, -7, 2**70, 0.5, -0.0, 1e300, "", "x'y\n"])
def test_literal_writes_exact_scalars(value):
    text = literal(value)
    assert type(ast.literal_eval(text)) is type(value) and ast.literal_eval(text) == value


class EvilStr(str):
    def __repr__(self):
        return "__import__('os').system('echo pwned')"


class EvilInt(int):
    def __repr__(self):
        return "__import__('os')"


@pytest.mark.parametrize("value", [EvilStr("a"), EvilInt(1), float("inf"), float("-inf"), float("nan"), None,
                                   (1, 2), [1], b"x"])
def test_literal_refuses_anything_but_exact_finite_scalars(value):
    with pytest.raises(TypeError):
        literal(value)


OPTIONAL = """
policy: optional
version: 1
facts:
  a: {type: integer, minimum: 0, required: false}
  b: {type: boolean, required: false}
  c: {type: string, enum: [x, y], default: x}
outcomes: [high, low]
default: low
rules:
  - {id: r1, when: {any: [{a: {gt: 5}}, {b: true}]}, then: {outcome: high, flags: [f]}}
  - {id: r2, when: {all: [{not: {flag: f}}, {c: x}]}, then: {reason: X}}
  - {id: r3, when: {outcome: {eq: high}}, then: {reason: Y}}
"""


def functions(source: str) -> dict[str, str]:
    tree = ast.parse(source)
    return {n.name: ast.get_source_segment(source, n) for n in tree.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("path", POLICIES + ["optional"], ids=lambda p: getattr(p, "name", p))
def test_decide_has_no_unknown_handling(path):
    """`decide` admits only records with every fact present and valid: its matches are
    bools, so nothing three-valued is generated for it (it would be dead code)."""
    policy = policy_of(OPTIONAL) if path == "optional" else load_policy_file(path)
    source = functions(generate_source(policy))
    for name in ("decide", "decide_trace"):
        # `as_of is None` defaults the evaluation date (a policy that uses time), not a fact
        body = source[name].replace("if as_of is None:", "")
        assert not re.search(r"_all3|_any3|_not3|_UNKNOWN|_plan|is None", body), (name, source[name])
    if path == "optional":
        assert "_any3" in source["rule_matches"] and "is None" in source["trace"]


def test_optional_policy_fast_and_generic_paths_agree():
    policy = policy_of(OPTIONAL)
    rs = compile_policy(policy)
    for a in (None, 0, 6):
        for b in (None, True, False):
            for c in (None, "x", "y"):
                record = {k: v for k, v in {"a": a, "b": b, "c": c}.items() if v is not None}
                for trace in (False, True):
                    assert evaluate(rs, record, trace=trace) == slow_decide(rs, record, trace=trace), record
                full = {"a": a if a is not None else 1, "b": bool(b), "c": c or "y"}
                assert rs.decide(full) == slow_decide(rs, full)


def test_a_traceback_through_generated_code_shows_its_source():
    policy = load_policy_file(ROOT / "policies" / "double11-coupon.yaml")
    rs = compile_policy(policy)
    with pytest.raises(KeyError) as err:
        rs.native.rule_matches({})  # normalized facts expected: a missing one fails inside
    text = "".join(traceback.format_exception(err.value))
    name = source_name(policy)
    assert name == f"<verdict native double11-coupon@{policy.digest[:19]}>"
    assert f'File "{name}", line ' in text and "in rule_matches" in text
    assert "v0 = f['credit_score']" in text  # the line itself, from linecache
