"""Fact records for a validated policy: valid ones near every rule edge, and hostile ones.

`fuzz_record(rng, policy)` returns one record (usually a dict, sometimes not) for the
policy's declared facts. About half are valid by construction (values at the thresholds
the rules compare with, ±1 or ±0.01, the declared bounds, enum values), because only a
valid record reaches the backends and the agreement check. The other half perturb one to
three facts: every JSON type at every fact, NaN, ±Infinity, -0.0, integers beyond int64
and beyond 4,300 digits, strings where numbers go, nested lists and objects, lone
surrogates, missing required facts, undeclared extra keys (non-string ones too).
"""

from __future__ import annotations

import math
import random

from engine.language.model import Policy
from engine.runtime.semantics import operand_value

INT64 = 2**63 - 1

HOSTILE_VALUES = [None, True, False, 0, 1, -1, -0.0, 0.0, 0.5, 1e-7, 5e-324, 1e300, -1e300, math.nan, math.inf,
                  -math.inf, INT64, INT64 + 1, -INT64 - 1, -INT64 - 2, 2**53 + 1, 10**20, -(10**20), 10**400,
                  "", "700", "700.0", "abc", "gold", "true", "\ud83c", "\ud83c\udf89", "🎉", "\x00", "x" * 10000,
                  [], [700], ["gold"], {}, {"a": 1}, [[[[1]]]], {"credit_score": 700}, (1, 2), b"700"]
EXTRA_KEYS = ["extra", "", " ", "credit score", "__class__", "user_id", "🎉", "\ud83c", 1, None, ("t",)]


def _edges(policy: Policy, name: str) -> list:
    """The values where a rule on `name` changes its answer, and the declared bounds."""
    spec = policy.facts[name]
    out: list = []
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind != "fact" or leaf.subject != name:
                continue
            value = operand_value(leaf)
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    out.append(v)
                    continue
                if spec.type == "integer":
                    base = int(v) if not isinstance(v, float) or v.is_integer() else math.floor(v)
                    out += [base - 1, base, base + 1]
                elif isinstance(v, int) and abs(v) > 2**1000:  # beyond doubles: its integer neighbours
                    out += [v - 1, v, v + 1]
                else:
                    out += [v, v - 0.01, v + 0.01, math.nextafter(v, math.inf), math.nextafter(v, -math.inf)]
    for bound in (spec.minimum, spec.maximum):
        if bound is not None:
            out.append(bound)
    return out


def valid_value(rng: random.Random, policy: Policy, name: str):
    """A value of fact `name` that the record checks accept, near an edge when there is one."""
    spec = policy.facts[name]
    if spec.type == "boolean":
        return rng.random() < 0.5
    if spec.type == "string":
        if spec.enum:
            return rng.choice(spec.enum)
        edges = [v for v in _edges(policy, name) if isinstance(v, str)]
        return rng.choice(edges + ["other", "杭州", "", "🎉"]) if edges and rng.random() < 0.8 else \
            rng.choice(["other", "杭州", "", "🎉", "gold"])
    lo, hi = spec.minimum, spec.maximum
    edges = [v for v in _edges(policy, name) if isinstance(v, (int, float)) and not isinstance(v, bool)
              and (not isinstance(v, float) or math.isfinite(v)) and (lo is None or v >= lo) and (hi is None or v <= hi)]
    if edges and rng.random() < 0.75:
        v = rng.choice(edges)
    else:
        # a free draw within the bounds (an open side gets a span of its own); floats
        # clamped to what converts to a double
        a = lo if lo is not None else (hi - 10**6 if hi is not None and hi < -1000 else -1000)
        b = hi if hi is not None else (a + 10**6 if a > 10**6 else 10**6)
        if spec.type == "integer" or a > 10**300 or b < -10**300:
            # (a number fact whose whole range lies beyond a double's: only an integer fits it)
            v = rng.randint(math.ceil(a), math.floor(b))
        else:
            def clamp(x):
                return float(max(min(x, 10**300), -10**300))
            v = rng.uniform(clamp(a), clamp(b))
    if spec.type == "integer":
        if isinstance(v, float):
            v = int(v) if v.is_integer() else int(math.floor(v))
            if lo is not None and v < lo:
                v = int(lo)
        if rng.random() < 0.05:
            return float(v) if abs(v) < 2**53 else v  # `720.0` for an integer fact is accepted
    elif rng.random() < 0.1 and isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        v = int(v)
    return v


def fuzz_record(rng: random.Random, policy: Policy, *, with_validity: bool = False):
    """One record for `policy`: valid (about half), or hostile in one to three places.
    With `with_validity`, (record, True when it is valid by construction): such a record
    must be decided, never refused (the same draws either way)."""
    record, valid = _fuzz_record(rng, policy)
    return (record, valid) if with_validity else record


def _fuzz_record(rng: random.Random, policy: Policy):
    record: dict = {}
    for name, spec in policy.facts.items():
        if not spec.required and not spec.has_default and rng.random() < 0.25:
            continue  # optional and absent: its conditions are unknown
        if spec.has_default and rng.random() < 0.3:
            continue
        record[name] = valid_value(rng, policy, name)
    if rng.random() < 0.5:
        return record, True
    r = rng.random()
    if r < 0.03:
        return rng.choice([[record], None, "record", 7, [], list(record.items())]), False
    names = list(policy.facts)
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.6 and names:
            record[rng.choice(names)] = rng.choice(HOSTILE_VALUES)
        elif r < 0.75 and record:
            del record[rng.choice(list(record))]
        elif r < 0.9:
            record[rng.choice(EXTRA_KEYS)] = rng.choice(HOSTILE_VALUES)
        elif names:  # a valid value of another fact's type
            other = rng.choice(names)
            record[rng.choice(names)] = valid_value(rng, policy, other)
    return record, False
