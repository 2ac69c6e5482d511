"""Fact records for a validated policy: valid ones near every rule edge, and hostile ones.

`fuzz_record(rng, policy)` returns one record (usually a dict, sometimes not) for the
policy's declared facts. About half are valid by construction (values at the thresholds
the rules compare with, ±1 or ±0.01, the declared bounds, enum values), because only a
valid record reaches the backends and the agreement check. The other half perturb one to
three facts: every JSON type at every fact, NaN, ±Infinity, -0.0, integers beyond int64
and beyond 4,300 digits, strings where numbers go, nested lists and objects, lone
surrogates, missing required facts, undeclared extra keys (non-string ones too).

Date facts get ISO days (now and then a `datetime.date`, as Parquet and the API give)
near the dates the rules compare with, relative ones resolved on the case's evaluation
date `as_of`, and, among the hostile values, days that are not: `2023-02-29`, `2026-1-5`,
integers, datetimes as text, empty strings. `as_of_for(rng)` draws a case's evaluation
date, from ordinary days and the calendar's ends (where relative dates fall off it).
"""

from __future__ import annotations

import datetime
import math
import random

from engine.language.model import Policy
from engine.runtime.semantics import operand_value

INT64 = 2**63 - 1

HOSTILE_VALUES = [None, True, False, 0, 1, -1, -0.0, 0.0, 0.5, 1e-7, 5e-324, 1e300, -1e300, math.nan, math.inf,
                  -math.inf, INT64, INT64 + 1, -INT64 - 1, -INT64 - 2, 2**53 + 1, 10**20, -(10**20), 10**400,
                  "", "700", "700.0", "abc", "gold", "true", "\ud83c", "\ud83c\udf89", "🎉", "\x00", "x" * 10000,
                  [], [700], ["gold"], {}, {"a": 1}, [[[[1]]]], {"credit_score": 700}, (1, 2), b"700"]
# Date values: valid ones at the calendar's edges and leap days, then what is not a date.
DATE_EDGES = [datetime.date(1, 1, 1), datetime.date(1, 1, 2), datetime.date(9999, 12, 31), datetime.date(9999, 12, 30),
              datetime.date(2024, 2, 29), datetime.date(1970, 1, 1), datetime.date(2000, 2, 29),
              datetime.date(2026, 11, 11), datetime.date(2026, 12, 1), datetime.date(2026, 1, 1)]
HOSTILE_DATES = ["2023-02-29", "2026-02-30", "2026-1-5", "2026-01-5", "26-01-05", "2026/01/05", "20260105", 20260105,
                 0, 739000, 2026.0, "2026-01-05T00:00:00", "2026-01-05 00:00", "2026-01-05T10:00:00Z", "",
                 " 2026-01-05", "2026-01-05 ", "+2026-01-05", "-0001-01-01", "0000-12-31", "10000-01-01",
                 "２０２６-01-05", "2026-13-01", "2026-00-10", True, None, ["2026-01-05"],
                 datetime.datetime(2026, 1, 5, 10, 0), "2024-02-29", "0001-01-01", "9999-12-31"]
# Evaluation dates: ordinary days and leap days; and the calendar's ends.
AS_OF_DAYS = [datetime.date(2026, 12, 1), datetime.date(2026, 11, 11), datetime.date(2024, 2, 29),
              datetime.date(2027, 1, 1), datetime.date(2000, 1, 1)]
AS_OF_EXTREMES = [datetime.date(1, 1, 1), datetime.date(1, 1, 2), datetime.date(9999, 12, 31),
                  datetime.date(9999, 12, 30)]


def as_of_for(rng: random.Random) -> datetime.date:
    """An evaluation date: one of the calendar's ends (15 %: relative dates and waits fall
    off the calendar), one of `AS_OF_DAYS`, or any day from 1900 to 2100."""
    r = rng.random()
    if r < 0.15:
        return rng.choice(AS_OF_EXTREMES)
    if r < 0.6:
        return rng.choice(AS_OF_DAYS)
    return datetime.date.fromordinal(rng.randint(datetime.date(1900, 1, 1).toordinal(),
                                                 datetime.date(2100, 12, 31).toordinal()))


def _day(ordinal: int):
    """The date of an ordinal, or None off the calendar."""
    return datetime.date.fromordinal(ordinal) if 1 <= ordinal <= datetime.date.max.toordinal() else None


EXTRA_KEYS = ["extra", "", " ", "credit score", "__class__", "user_id", "🎉", "\ud83c", 1, None, ("t",)]


def _edges(policy: Policy, name: str, as_of=None) -> list:
    """The values where a rule on `name` changes its answer, and the declared bounds."""
    spec = policy.facts[name]
    out: list = []
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind != "fact" or leaf.subject != name or leaf.op == "missing":
                continue
            try:
                value = operand_value(leaf, as_of)
            except ValueError:  # a relative date off the calendar on this as_of (or no as_of)
                continue
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, datetime.date):
                    out += [d for d in (_day(v.toordinal() - 1), v, _day(v.toordinal() + 1)) if d is not None]
                    continue
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


def _date_value(rng: random.Random, policy: Policy, name: str, as_of):
    spec = policy.facts[name]
    lo = spec.minimum.toordinal() if spec.minimum is not None else 1
    hi = spec.maximum.toordinal() if spec.maximum is not None else datetime.date.max.toordinal()
    edges = [d for d in _edges(policy, name, as_of) + DATE_EDGES + ([as_of] if as_of else [])
             if isinstance(d, datetime.date) and lo <= d.toordinal() <= hi]
    if edges and rng.random() < 0.75:
        d = rng.choice(edges)
    else:
        d = datetime.date.fromordinal(rng.randint(lo, hi))
    return d if rng.random() < 0.1 else d.isoformat()  # records give text; Parquet and the API a date


def valid_value(rng: random.Random, policy: Policy, name: str, as_of=None):
    """A value of fact `name` that the record checks accept, near an edge when there is one."""
    spec = policy.facts[name]
    if spec.type == "boolean":
        return rng.random() < 0.5
    if spec.type == "date":
        return _date_value(rng, policy, name, as_of)
    if spec.type == "array":  # a list within its length bounds, of items near what rules look for
        lo = int(spec.minimum) if spec.minimum is not None else 0
        hi = int(spec.maximum) if spec.maximum is not None else lo + 4
        edges = _edges(policy, name, as_of)  # (its length bounds among them: items only where they fit)
        return [_item_value(rng, spec.items, edges) for _ in range(rng.randint(lo, min(hi, lo + 5)))]
    if spec.type == "string":
        if spec.enum:
            return rng.choice(spec.enum)
        edges = [v for v in _edges(policy, name) if isinstance(v, str)]
        return rng.choice(edges + ["other", "杭州", "", "🎉"]) if edges and rng.random() < 0.8 else \
            rng.choice(["other", "杭州", "", "🎉", "gold"])
    lo, hi = spec.minimum, spec.maximum
    edges = [v for v in _edges(policy, name, as_of) if isinstance(v, (int, float)) and not isinstance(v, bool)
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


def _item_value(rng: random.Random, items, edges: list):
    """One item of a list fact that its `items` spec accepts: an operand a rule compares
    the list with, when one fits, else a free draw."""
    def fits(v) -> bool:
        if items.enum:
            return v in items.enum
        if items.type == "boolean":
            return isinstance(v, bool)
        if items.type == "string":
            return isinstance(v, str)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (items.type == "integer" and v != int(v)):
            return False
        if isinstance(v, float) and not math.isfinite(v):
            return False
        return (items.minimum is None or v >= items.minimum) and (items.maximum is None or v <= items.maximum)

    near = [v for v in edges if fits(v)]
    if near and rng.random() < 0.7:
        return rng.choice(near)
    if items.enum:
        return rng.choice(items.enum)
    if items.type == "boolean":
        return rng.random() < 0.5
    if items.type == "string":
        return rng.choice(["a", "杭州", "", "🎉"])
    a = items.minimum if items.minimum is not None else -1000
    b = items.maximum if items.maximum is not None else a + 10**6
    return rng.randint(math.ceil(a), math.floor(b)) if items.type == "integer" else rng.uniform(float(a), float(b))


def fuzz_record(rng: random.Random, policy: Policy, *, with_validity: bool = False, as_of=None):
    """One record for `policy`: valid (about half), or hostile in one to three places.
    With `with_validity`, (record, True when it is valid by construction): such a record
    must be decided, never refused (the same draws either way). `as_of`: the evaluation
    date the record is decided on (relative dates are resolved on it)."""
    record, valid = _fuzz_record(rng, policy, as_of)
    return (record, valid) if with_validity else record


def _fuzz_record(rng: random.Random, policy: Policy, as_of=None):
    record: dict = {}
    for name, spec in policy.facts.items():
        if not spec.required and not spec.has_default and rng.random() < 0.25:
            continue  # optional and absent: its conditions are unknown
        if spec.has_default and rng.random() < 0.3:
            continue
        record[name] = valid_value(rng, policy, name, as_of)
    if rng.random() < 0.5:
        return record, True
    r = rng.random()
    if r < 0.03:
        return rng.choice([[record], None, "record", 7, [], list(record.items())]), False
    names = list(policy.facts)
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.6 and names:
            name = rng.choice(names)
            dated = policy.facts[name].type == "date" and rng.random() < 0.6
            record[name] = rng.choice(HOSTILE_DATES if dated else HOSTILE_VALUES)
        elif r < 0.75 and record:
            del record[rng.choice(list(record))]
        elif r < 0.9:
            record[rng.choice(EXTRA_KEYS)] = rng.choice(HOSTILE_VALUES)
        elif names:  # a valid value of another fact's type
            other = rng.choice(names)
            record[rng.choice(names)] = valid_value(rng, policy, other, as_of)
    return record, False
