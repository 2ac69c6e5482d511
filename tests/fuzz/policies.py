"""Policy inputs: a random policy builder and mutators of policy text and structure.

`policy_case(seed, index)` is the one entry point: a deterministic function returning
the bytes of one policy and a short label naming how they were made. A third of the
cases are built from scratch (`build_policy`; half of them with the v2 constructs of
`policies_v2`: dates, presence tests, relative dates, computed outputs), valid by
construction most of the time,
with the values that stress the backends (integers around 2^53 and 2^63, beyond int64,
-0.0, tiny and huge floats, unicode strings); these are what reaches the compiler, the
durable backend and the agreement check. The rest mutate the example policies in
`policies/` (text and bytes, or their parsed structure), to reach every diagnostic.
"""

from __future__ import annotations

import pickle
import random
import re
from functools import lru_cache

import yaml

from . import ROOT

# -- the example policies, and what can be spliced from them ------------------------------------


@lru_cache(maxsize=1)
def examples() -> tuple[tuple[str, str], ...]:
    """(name, text) of every policy in policies/ and tests/fixtures/valid, sorted by name so
    the same seed gives the same case on every machine."""
    paths = [p for p in sorted((ROOT / "policies").glob("*.yaml")) if not p.name.endswith(".test.yaml")]
    paths += sorted((ROOT / "tests" / "fixtures" / "valid").glob("*.yaml"))
    # The fuzzers work on a policy's text alone: one whose table rows live in a CSV beside it
    # (`rows: {csv: …}`) is not valid as text, so it is not an example here.
    return tuple((p.name, p.read_text("utf-8")) for p in paths if not any(p.parent.glob(p.stem + ".*.csv")))


#: Policies of language v3 the mutators and the CLI cases start from too: decision tables
#: (first, collect, priority), list facts, derived facts, fact-to-fact comparisons. Not a
#: base of record cases: the exact oracle (`exact.py`) does not evaluate those constructs.
V3_SEEDS = ("v3_runtime/every-construct.yaml", "v3_tables/subjects.yaml", "v3_surface/offers.yaml",
            "v3_space/v3.yaml", "v3_fix_surface/t1.yaml")


@lru_cache(maxsize=1)
def seeds() -> tuple[tuple[str, str], ...]:
    """(name, text) of what policy and CLI cases mutate or run: the examples, and `V3_SEEDS`."""
    v3 = tuple((name, (ROOT / "tests" / "fixtures" / name).read_text("utf-8")) for name in V3_SEEDS)
    return examples() + v3


_KEY_VALUE = re.compile(r"^(\s*(?:- )?)([^\s:#][^:#]*?):(\s+)(\S.*)$")


@lru_cache(maxsize=1)
def splice_pool() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(values, keys): every `key: value` right-hand side and key of the example policies
    (and of the broken fixtures, whose values are the ones validation must refuse)."""
    values: set[str] = set()
    keys: set[str] = set()
    texts = [t for _, t in seeds()]
    texts += [p.read_text("utf-8", errors="replace") for p in sorted((ROOT / "tests" / "fixtures" / "broken").glob("*.yaml"))]
    for text in texts:
        for line in text.splitlines():
            m = _KEY_VALUE.match(line)
            if m:
                keys.add(m.group(2))
                values.add(m.group(4))
    return tuple(sorted(values)), tuple(sorted(keys))


# -- hostile values -------------------------------------------------------------------------------

INT64 = 2**63 - 1
# Integers where an engine changes representation: int32, the exact-double limit, int64,
# beyond every int64, and Python's 4,300-digit str() limit.
INTERESTING_INTS = [0, 1, -1, 2, 5, 30, 600, 700, 950, 2**31 - 1, 2**31, 2**53 - 1, 2**53, 2**53 + 1,
                    INT64 - 1, INT64, INT64 + 1, -INT64, -INT64 - 1, -INT64 - 2, 10**19, 10**20,
                    5 * 10**20, 10**30, -(10**20)]
EDGE_INTS = [2**53 - 1, 2**53, 2**53 + 1, INT64 - 1, INT64, INT64 + 1, -INT64, -INT64 - 1, -INT64 - 2, 10**19,
             10**20, -(10**20)]
INTERESTING_FLOATS = [0.0, -0.0, 0.5, 0.1, 0.9, 1.5, 2.5, 1e-7, 1e-300, 5e-324, 1e300, 1.7976931348623157e308,
                      9007199254740993.0, 9.223372036854776e18, -9.223372036854776e18, 1e20, 123456.789, -2.5]
UNICODE_STRINGS = ["杭州", "上海", "платина", "gold", "Gold", "gold ", " gold", "é", "e\u0301", "🎉", "a\u200bb",
                   "\u202eevil", "x" * 200, "", "{credit_score}", "{{x}}", "'", '"', "\\", "a: b", "- x",
                   "#", "null", "true", "yes", "NO", "1e3", "0x1F", "600", "\u2028", "\ufeff", "ǅ", "ß"]
# Text-level scalars: YAML spellings of numbers and strings that loaders disagree on.
SCALAR_SPELLINGS = ["1e400", "-1e400", ".inf", "-.inf", ".nan", "0x7FFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFFFFFF",
                    "0o777", "012", "+5", "-0", "-0.0", "1_000", "0b101", "1:30", "2024-01-01", "~", "null",
                    "yes", "no", "on", "off", "True", "FALSE", "''", '""', "'\\ud83c'", '"\\ud83c\\udf89"',
                    '"\\ud83c"', '"\\udf89\\ud83c"', '"\\U0001F389"', '"\\x00"', '"\\N"', '"\\L"', '"\\P"',
                    '"\\_"', '"\\e"', '"a\\nb"', '"\\t"', "|\n  block", ">-\n  folded", "9" * 25, "9" * 400,
                    "9" * 4300, "9" * 4301, "-" + "9" * 4301, "0x" + "F" * 3572, "1." + "0" * 5000,
                    "1e-400", "5e-324", "4.9e-324", "1.7976931348623159e308", "0.1e1", ".5", "3."]
TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!binary", "!!timestamp", "!!set", "!!omap", "!!map",
        "!!seq", "!!python/object/apply:os.system", "!!python/name:os.system", "!include", "!custom",
        "!<tag:yaml.org,2002:int>", "!<tag:yaml.org,2002:str>", "!", "!!merge", "!!value"]
UNICODE_INSERTS = ["\u00e9", "杭", "🎉", "\u200b", "\u202e", "\u2028", "\u2029", "\x85", "\ufeff", "\x00",
                   "\x07", "\x1b", "\t", "\r", "\r\n", "\ufffd", "\U0010ffff", "\ufffe", "：", "，", "\u3000"]
SURROGATE_ESCAPES = ["\\ud83c\\udf89", "\\ud83d\\ude1e", "\\ud83c", "\\udf89", "\\udf89\\ud83c", "\\ud800\\udc00",
                     "\\udbff\\udfff", "\\uD83C\\uDF89", "\\U0001F389", "\\ud83c\\u0041"]


def hostile_number(rng: random.Random):
    """A Python number a dumper writes as YAML: int, float, or a huge int."""
    r = rng.random()
    if r < 0.45:
        return rng.choice(INTERESTING_INTS)
    if r < 0.85:
        return rng.choice(INTERESTING_FLOATS)
    return rng.choice([10**rng.randint(19, 80), -(10**rng.randint(19, 80)), 2**rng.randint(60, 70)])


# -- the random policy builder ---------------------------------------------------------------------

def _dump(data) -> str:
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                     sort_keys=False, width=4096)


class _Builder:
    """A random, mostly valid policy: facts of every type, thresholds with hostile values,
    conditions nested up to four deep over facts, flags, rules and the outcome."""

    def __init__(self, rng: random.Random, edge: bool = False):
        self.rng = rng
        self.edge = edge  # integers only where int64 and doubles run out
        self.facts: dict[str, dict] = {}
        self.thresholds: dict[str, object] = {}
        self.flags: list[str] = []
        self.rule_ids: list[str] = []

    # values of one fact type (mostly within the fact's declared range)
    def value(self, spec: dict):
        rng = self.rng
        t = spec["type"]
        if t == "boolean":
            return rng.random() < 0.5
        if t == "string":
            if "enum" in spec:
                return rng.choice(spec["enum"])
            return rng.choice(UNICODE_STRINGS + ["gold", "silver", "basic"])
        if self.edge and t == "integer":
            v = rng.choice(EDGE_INTS)
        elif rng.random() < 0.7:
            v = rng.choice(INTERESTING_INTS) if t == "integer" else hostile_number(rng)
        else:
            v = rng.randint(-5, 1000) if t == "integer" else round(rng.uniform(-5, 1000), rng.randint(0, 3))
        if t == "integer" and isinstance(v, float):
            v = int(v) if v.is_integer() and abs(v) < 1e30 else rng.choice(INTERESTING_INTS)
        lo, hi = spec.get("minimum"), spec.get("maximum")
        if lo is not None and v < lo:
            v = lo
        if hi is not None and v > hi:
            v = hi
        return v

    def fact(self, i: int) -> tuple[str, dict]:
        rng = self.rng
        t = rng.choice(["integer", "integer", "number", "number", "string", "boolean"])
        spec: dict = {"type": t}
        if t in ("integer", "number") and rng.random() < 0.4:
            lo = rng.choice([0, 0, -100, 300, -INT64 - 1, 1]) if t == "integer" else rng.choice([0, 0.0, -1.5, 1e-7])
            spec["minimum"] = lo
            if rng.random() < 0.5:
                spec["maximum"] = lo + rng.choice([1, 10, 650, 2**53, 10**20])
        if t == "string" and rng.random() < 0.5:
            spec["enum"] = rng.sample(["basic", "silver", "gold", "platinum", "杭州", "上海", "🎉", "x y"],
                                      rng.randint(1, 5))
        if rng.random() < 0.2:
            spec["required"] = False
        elif rng.random() < 0.2:
            spec["default"] = self.value(spec)
        if rng.random() < 0.2:
            spec["change"] = rng.choice(["increase", "decrease", "none", "any"])
        if rng.random() < 0.2:
            spec["remedy"] = {"en": "Do better " + rng.choice(UNICODE_STRINGS), "zh": "改进"}
        name = rng.choice(["credit_score", "overdue_days", "membership", "frozen", "spend", "city", "n", "x"])
        return f"{name}_{i}", spec

    def operand(self, name: str, spec: dict, op: str):
        """A literal, or the name of a new threshold holding the value."""
        rng = self.rng
        if op in ("in", "not_in"):
            value = [self.value(spec) for _ in range(rng.choice([1, 2, 3, 5, 40]))]
            value = list(dict.fromkeys(value))
        elif op == "between":
            a, b = sorted([self.value(spec), self.value(spec)])
            value = [a, b]
        else:
            value = self.value(spec)
        if rng.random() < 0.5 and op != "between":
            tname = f"t{len(self.thresholds)}_{name.split('_')[0]}"
            self.thresholds[tname] = value
            return tname
        if op == "between" and rng.random() < 0.3:
            tname = f"t{len(self.thresholds)}_lo"
            self.thresholds[tname] = value[0]
            value = [tname, value[1]]
        return value

    def leaf(self, outcomes: list[str], may_read_outcome: bool) -> dict:
        rng = self.rng
        r = rng.random()
        if r < 0.08 and self.flags:
            return {"flag": rng.choice(self.flags)}
        if r < 0.14 and self.rule_ids:
            return {"rule": rng.choice(self.rule_ids)}
        if r < 0.2 and may_read_outcome:
            return {"outcome": rng.choice([rng.choice(outcomes), {"in": rng.sample(outcomes, min(2, len(outcomes)))},
                                           {"ne": rng.choice(outcomes)}])}
        name = rng.choice(list(self.facts))
        spec = self.facts[name]
        t = spec["type"]
        ops = {"boolean": ["eq", "ne"], "string": ["eq", "ne", "in", "not_in"]}.get(
            t, ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"])
        op = rng.choice(ops)
        operand = self.operand(name, spec, op)
        if op == "eq" and rng.random() < 0.3 and not isinstance(operand, str):
            return {name: operand}  # the shorthand
        return {name: {op: operand}}

    def condition(self, depth: int, outcomes: list[str], may_read_outcome: bool) -> dict:
        rng = self.rng
        r = rng.random()
        if depth >= 4 or r < 0.5:
            return self.leaf(outcomes, may_read_outcome)
        if r < 0.7:
            return {"all": [self.condition(depth + 1, outcomes, may_read_outcome) for _ in range(rng.randint(1, 4))]}
        if r < 0.9:
            return {"any": [self.condition(depth + 1, outcomes, may_read_outcome) for _ in range(rng.randint(1, 4))]}
        return {"not": self.condition(depth + 1, outcomes, may_read_outcome)}

    def build(self) -> dict:
        rng = self.rng
        for i in range(rng.randint(1, 7)):
            name, spec = self.fact(i)
            self.facts[name] = spec
        outcomes = [f"o{i}" for i in range(rng.randint(1, 4))]
        adverse = rng.random() < 0.5
        outputs: dict = {}
        for i in range(rng.choice([0, 0, 1, 2])):
            t = rng.choice(["integer", "number", "string", "boolean"])
            spec = {"type": t, "default": {"integer": 0, "number": 0.0, "string": "", "boolean": False}[t]}
            if t in ("integer", "number") and rng.random() < 0.7:
                spec["combine"] = rng.choice(["min", "max", "sum", "first"])
            elif rng.random() < 0.3:
                spec["combine"] = "first"
            outputs[f"out_{i}"] = spec
        reasons = [f"R{i}" for i in range(rng.randint(1, 3))]
        rules = []
        for i in range(rng.randint(1, 9)):
            rid = f"r{i}"
            then: dict = {}
            decides = rng.random() < 0.55
            if decides:
                then["outcome"] = rng.choice(outcomes)
                if adverse and then["outcome"] == outcomes[0] or rng.random() < 0.3:
                    then["reason"] = rng.choice(reasons)
            if rng.random() < 0.25:
                flag = f"flag_{rng.randint(0, 3)}"
                then["flags"] = [flag]
            if outputs and rng.random() < 0.5:
                out = rng.choice(list(outputs))
                t = outputs[out]["type"]
                then["set"] = {out: self.value({"type": t}) if t != "string" else rng.choice(UNICODE_STRINGS)}
            if not decides and rng.random() < 0.4:
                then["reason"] = rng.choice(reasons)
            if rng.random() < 0.35:
                fact = rng.choice(list(self.facts))
                then["message"] = rng.choice([f"Value {{{fact}}} seen " + rng.choice(UNICODE_STRINGS[:12]),
                                              {"en": f"{{{fact}}} is it", "zh": "值为{" + fact + "}"},
                                              "Plain 🎉 message"])
            if not then:
                then["flags"] = [f"flag_{rng.randint(0, 3)}"]
            when = self.condition(0, outcomes, not decides)
            rules.append({"id": rid, "when": when, "then": then})
            self.flags.extend(then.get("flags", []))
            self.rule_ids.append(rid)
        policy = {"policy": f"fuzz-{rng.randint(0, 999)}", "version": rng.choice([1, 2, "2.1", "1.0.0-rc1"]),
                  "title": rng.choice(["Fuzz", "模糊测试", "Double 11 🎉", "t" * 80]),
                  "facts": self.facts}
        if self.thresholds:
            policy["thresholds"] = self.thresholds
        policy["outcomes"] = ([{"id": outcomes[0], "adverse": True}] + outcomes[1:]) if adverse else outcomes
        if rng.random() < 0.8:
            policy["default"] = outcomes[-1]
        if outputs:
            policy["outputs"] = outputs
        if rng.random() < 0.7:
            policy["reasons"] = {r: {"en": f"Reason {r}", "zh": "原因"} for r in reasons}
        policy["rules"] = rules
        return policy


def build_policy(rng: random.Random, edge: bool = False, v2: bool = False) -> str:
    """A built policy's text; `v2`: with the constructs of language v2 (`policies_v2`)."""
    if v2:
        from .policies_v2 import V2Builder

        return _dump(V2Builder(rng, edge).build())
    return _dump(_Builder(rng, edge).build())


# -- structural mutations of a parsed policy ----------------------------------------------------------

def _paths(node, prefix=()):
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return []
    out = []
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _get(root, path):
    for k in path:
        root = root[k]
    return root


@lru_cache(maxsize=64)
def _parsed(text: str) -> bytes:
    """An example's `yaml.safe_load` tree, pickled: parsing a 20 KB example with PyYAML took
    most of a generated case's time, and unpickling gives an equal fresh tree (shared
    nodes, from aliases, stay shared), so the cases are the same as with a fresh parse."""
    return pickle.dumps(yaml.safe_load(text), protocol=pickle.HIGHEST_PROTOCOL)


@lru_cache(maxsize=64)
def _pristine_paths(text: str) -> tuple:
    """`_paths` of an example's unchanged tree (the first mutation's choices)."""
    return tuple(_paths(pickle.loads(_parsed(text))))


def mutate_structure(rng: random.Random, text: str) -> str:
    """Parse an example, change one to three nodes (a value of another type or size, a
    deleted or duplicated entry, a wrapped condition, an unused output), dump it again."""
    data = pickle.loads(_parsed(text))
    for n in range(rng.randint(1, 3)):
        paths = _pristine_paths(text) if n == 0 else _paths(data)
        path = rng.choice(paths)
        parent = _get(data, path[:-1])
        key = path[-1]
        r = rng.random()
        if r < 0.3:  # a value of another kind
            parent[key] = rng.choice([hostile_number(rng), rng.choice(UNICODE_STRINGS), None, True, [], {},
                                      [hostile_number(rng)], {"gt": hostile_number(rng)}, str(hostile_number(rng))])
        elif r < 0.45 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = hostile_number(rng)
        elif r < 0.55:  # delete
            del parent[key]
        elif r < 0.62 and isinstance(parent, list):  # duplicate an item
            parent.insert(key, parent[key])
        elif r < 0.72 and path[:1] == ("rules",) and len(path) >= 3 and path[2] == "when":  # wrap a condition
            parent[key] = rng.choice([{"not": parent[key]}, {"all": [parent[key]]}, {"any": [parent[key], parent[key]]}])
        elif r < 0.8:  # an output no rule sets (issue 11 item 5), or a set of an existing one
            outs = data.setdefault("outputs", {}) if isinstance(data, dict) else {}
            if isinstance(outs, dict):
                outs[f"bonus_{rng.randint(0, 9)}"] = {"type": rng.choice(["integer", "number"]), "default": 0,
                                                       "combine": rng.choice(["sum", "min", "max", "first"])}
        elif r < 0.9 and isinstance(data, dict) and isinstance(data.get("thresholds"), dict) and data["thresholds"]:
            name = rng.choice(list(data["thresholds"]))
            data["thresholds"][name] = rng.choice([hostile_number(rng), [hostile_number(rng), hostile_number(rng)],
                                                   str(data["thresholds"][name]), rng.choice(UNICODE_STRINGS)])
        else:  # a huge list operand (issue 11 item 10 measures 60,000; we stay below the timeout)
            parent[key] = [f"city{j}" for j in range(rng.choice([10, 500, 3000]))]
        if not paths or not isinstance(data, (dict, list)):
            break
    return _dump(data)


# -- text and byte mutations -----------------------------------------------------------------------------

def _line_edit(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    r = rng.random()
    if r < 0.25:
        del lines[i]
    elif r < 0.45:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif r < 0.6:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif r < 0.8:
        lines[i] = " " * rng.choice([1, 2, 4]) + lines[i] if rng.random() < 0.5 else lines[i][rng.choice([1, 2]):]
    else:
        return text[: rng.randrange(len(text) + 1)]  # truncated
    return "\n".join(lines)


def _splice_value(rng: random.Random, text: str, value: str | None = None) -> str:
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if _KEY_VALUE.match(line)]
    if not candidates:
        return text
    i = rng.choice(candidates)
    m = _KEY_VALUE.match(lines[i])
    values, keys = splice_pool()
    if value is None:
        value = rng.choice(values)
    if rng.random() < 0.15:  # a key from elsewhere instead
        lines[i] = f"{m.group(1)}{rng.choice(keys)}:{m.group(3)}{m.group(4)}"
    else:
        lines[i] = f"{m.group(1)}{m.group(2)}:{m.group(3)}{value}"
    return "\n".join(lines)


def _tag(rng: random.Random, text: str) -> str:
    return _splice_value(rng, text, rng.choice(TAGS) + " " + rng.choice(splice_pool()[0] + tuple(SCALAR_SPELLINGS[:30])))


def _anchor(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.3:
        return _splice_value(rng, text, "&a " + rng.choice(splice_pool()[0]))
    if r < 0.55:
        return _splice_value(rng, _splice_value(rng, text, "&a 5"), "*a")
    if r < 0.7:
        return _splice_value(rng, text, "*undefined")
    if r < 0.85:
        return text.replace("\nrules:\n", "\nx: &x {gt: 1}\nrules:\n", 1) + "\n  - <<: *x\n"
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    return laughs + text


def _deep(rng: random.Random, text: str) -> str:
    depth = rng.choice([10, 63, 64, 65, 100, 1000, 20000])
    r = rng.random()
    if r < 0.35:
        return _splice_value(rng, text, "[" * depth + "1" + "]" * depth)
    if r < 0.55:
        return _splice_value(rng, text, "{a: " * depth + "1" + "}" * depth)
    # a deep *condition*, which the language allows: validation, compile and both backends
    # all recurse over it
    d = rng.choice([5, 20, 30, 60, 200])
    key = rng.choice(["not", "all", "any"])
    inner = "{credit_score: {gte: 600}}"
    for _ in range(d):
        inner = "{not: %s}" % inner if key == "not" else "{%s: [%s]}" % (key, inner)
    return re.sub(r"^(\s+when: ).*$", lambda m: m.group(1) + inner, text, count=1, flags=re.M)


def _huge(rng: random.Random, text: str) -> str:
    numbers = [m for m in re.finditer(r"(?<=: )-?\d+(\.\d+)?\b", text)]
    if not numbers:
        return text
    m = rng.choice(numbers)
    return text[: m.start()] + rng.choice(SCALAR_SPELLINGS + [str(hostile_number(rng))]) + text[m.end():]


def _unicode(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.5:  # an escape inside a double-quoted value (how json.dumps writes emoji)
        esc = rng.choice(SURROGATE_ESCAPES)
        return _splice_value(rng, text, rng.choice([f'"Double 11 {esc}"', f'"{esc}"', f'"Overdue {esc} {{overdue_days}}"',
                                                    f'"{esc}{esc}"', f'[gold, "{esc}"]']))
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(UNICODE_INSERTS) + text[i:]


def _byte_flip(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        r = rng.random()
        if r < 0.5:
            b[i] ^= 1 << rng.randrange(8)
        elif r < 0.7:
            b[i] = rng.choice([0x00, 0xFF, 0xC0, 0xED, 0xF4, 0x80, 0x09, 0x0D, 0x3A, 0x7B])
        elif r < 0.85:
            b[i:i] = rng.choice([b"\xef\xbb\xbf", b"\xed\xa0\xbc", b"\xf0\x9f\x8e\x89", b"\xff\xfe", b"\r"])
        else:
            del b[i]
    return bytes(b)


TEXT_MUTATORS = [("line", _line_edit), ("splice", _splice_value), ("tag", _tag), ("anchor", _anchor),
                 ("deep", _deep), ("huge", _huge), ("unicode", _unicode)]


def policy_case(seed: int, index: int) -> tuple[bytes, str]:
    """The policy bytes of case `index` of run `seed`, and how they were made."""
    rng = random.Random(f"policy:{seed}:{index}")
    r = rng.random()
    if r < 0.34:
        v2 = rng.random() < 0.5  # half of the built policies use language v2
        text = build_policy(rng, v2=v2)
        label = "built-v2" if v2 else "built"
        if rng.random() < 0.15:  # a built policy, lightly mutated: invalid near valid
            name, fn = rng.choice(TEXT_MUTATORS)
            text, label = fn(rng, text), f"built+{name}"
        return text.encode("utf-8", errors="surrogatepass"), label
    name, text = rng.choice(seeds())
    if r < 0.55:
        return mutate_structure(rng, text).encode("utf-8", errors="surrogatepass"), f"structure:{name}"
    if r < 0.62:
        return _byte_flip(rng, text.encode("utf-8")), f"bytes:{name}"
    labels = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mname, fn = rng.choice(TEXT_MUTATORS)
        text = fn(rng, text)
        labels.append(mname)
    return text.encode("utf-8", errors="surrogatepass"), f"{'+'.join(labels)}:{name}"


# -- a grid for the backends' number encodings --------------------------------------------------------

GRID_OPS = ["gt", "gte", "lt", "lte", "eq", "ne", "in", "not_in", "between"]


@lru_cache(maxsize=1)
def number_grid() -> tuple[tuple[str, list], ...]:
    """(policy text, records) pairs: for each edge value t and each operator, a policy of one
    rule comparing a fact with t (plainly, or under `not`), and records at every edge value
    and t±1. One rule per policy because a durable constant only shows when no other
    condition reads the fact (otherwise the fact's value is refused as beyond int64);
    random cases reach such a boundary rarely, the grid reaches every one every time."""
    out = []
    for kind in ("integer", "number"):
        edges = EDGE_INTS if kind == "integer" else [2.0**53, 2.0**53 + 2, 9.223372036854776e18, 1e20, -1e20,
                                                      1e-7, 5e-324, -0.0, 0.1, 1e300]
        for t in edges + [0, 700]:
            values = sorted({v for e in edges + [t] for v in ((e - 1, e, e + 1) if kind == "integer" else (e,))},
                            key=lambda v: (float(v), repr(v)))
            for op in GRID_OPS:
                for negate in (False, True):
                    operand = [t, 1] if op in ("in", "not_in") else [t, t] if op == "between" else t
                    when = {"x": {op: operand}}
                    rule = {"id": "r", "when": {"not": when} if negate else when, "then": {"flags": ["f"]}}
                    text = _dump({"policy": "grid", "version": 1, "facts": {"x": {"type": kind}},
                                  "outcomes": ["o"], "default": "o", "rules": [rule]})
                    out.append((text, [{"x": v} for v in values]))
    return tuple(out)
