"""Hypothesis strategies that generate valid fact records from a policy's declarations.

Numeric facts draw mostly from the boundary points of every threshold the policy compares
them with (t-1, t, t+1 for integers; t and t±0.01 for numbers), so rule edges are hit.
Date facts draw from the day before, of and after every date they are compared with, on
the fixed evaluation date `AS_OF` (so relative dates have boundaries too), given as ISO
text or as `datetime.date`. Optional facts are sometimes absent.
"""

from __future__ import annotations

import datetime

from hypothesis import strategies as st

from engine.language.model import DATE, Policy
from engine.runtime.semantics import operand_value

#: The evaluation date records are generated for: pass it to evaluate/reference_matches.
AS_OF = datetime.date(2026, 11, 11)
_DAY = datetime.timedelta(days=1)


def boundary_points(policy: Policy, name: str) -> list:
    spec = policy.facts[name]
    points = set()
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind != "fact" or leaf.subject != name:
                continue
            if leaf.op == "missing":
                continue
            value = operand_value(leaf, AS_OF)
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if isinstance(v, datetime.date):
                    points.update({v - _DAY, v, v + _DAY})
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue
                step = 1 if spec.type == "integer" else 0.01
                points.update({v - step, v, v + step})
    for bound in (spec.minimum, spec.maximum):
        if bound is not None:
            points.add(bound)
    if spec.type == DATE:
        return sorted(p for p in points if (spec.minimum is None or spec.minimum <= p)
                      and (spec.maximum is None or p <= spec.maximum))
    lo = spec.minimum if spec.minimum is not None else float("-inf")
    hi = spec.maximum if spec.maximum is not None else float("inf")
    out = sorted(p for p in points if lo <= p <= hi)
    if spec.type == "integer":
        out = sorted({int(p) for p in out if float(p).is_integer()})
    return out


def _literals(policy: Policy, name: str) -> list:
    """The literal operands the policy compares fact `name` with (a list's items included)."""
    out = set()
    for r in policy.rules:
        for lf in r.leaves:
            if lf.kind != "fact" or lf.subject != name or lf.op in ("missing", "length") or lf.operand is None:
                continue
            if isinstance(lf.operand, tuple) or getattr(lf.operand, "fact", None) is not None:
                continue  # between ends; another fact
            value = operand_value(lf)
            out.update(value if isinstance(value, tuple) else (value,))
    return sorted((v for v in out if v is not None and not isinstance(v, datetime.date)), key=repr)


def _list_value(policy: Policy, name: str):
    """A list fact: items from the items' enum, or the items the policy names and others;
    lengths within `min_items`/`max_items` (up to 5), duplicates possible."""
    spec = policy.facts[name]
    items = spec.items
    named = [v for v in _literals(policy, name) if not isinstance(v, bool) or items.type == "boolean"]
    if items.enum:
        item = st.sampled_from(items.enum)
    elif items.type == "string":
        item = st.sampled_from([v for v in named if isinstance(v, str)] + ["其他", "other"])
    elif items.type == "boolean":
        item = st.booleans()
    elif items.type == "integer":
        lo = int(items.minimum) if items.minimum is not None else -1000
        hi = int(items.maximum) if items.maximum is not None else 1000
        ints = [v for v in named if type(v) is int and lo <= v <= hi]
        item = st.one_of(st.sampled_from(ints), st.integers(lo, hi)) if ints else st.integers(lo, hi)
    else:
        item = st.floats(min_value=items.minimum if items.minimum is not None else -1e6,
                         max_value=items.maximum if items.maximum is not None else 1e6,
                         allow_nan=False, allow_infinity=False)
    lo = int(spec.minimum) if spec.minimum is not None else 0
    hi = min(int(spec.maximum) if spec.maximum is not None else 5, lo + 5)
    return st.lists(item, min_size=lo, max_size=hi)


def fact_value(policy: Policy, name: str):
    spec = policy.facts[name]
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "array":
        return _list_value(policy, name)
    if spec.type == "string":
        if spec.enum:
            return st.sampled_from(spec.enum)
        literals = [v for v in _literals(policy, name) if isinstance(v, str)]
        # a string operator's text also inside, before and after other text (starts_with,
        # ends_with, contains hold and fail)
        texts = literals + [f"x{v}" for v in literals] + [f"{v}x" for v in literals]
        return st.sampled_from(texts + ["其他", "other"]) if literals else st.text(max_size=8)
    points = boundary_points(policy, name)
    lo, hi = spec.minimum, spec.maximum
    if spec.type == DATE:
        free = st.dates(min_value=lo or AS_OF - 800 * _DAY, max_value=hi or AS_OF + 800 * _DAY)
        day = st.one_of(st.sampled_from(points), free) if points else free
        # as a JSON record gives it (ISO text), or as the API and Parquet do (a date)
        return st.one_of(day, day.map(datetime.date.isoformat))
    if spec.type == "integer":
        free = st.integers(min_value=int(lo) if lo is not None else -10**6,
                           max_value=int(hi) if hi is not None else 10**6)
    else:
        free = st.floats(min_value=lo if lo is not None else -1e6, max_value=hi if hi is not None else 1e6,
                         allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from(points), free) if points else free


def records(policy: Policy):
    """Valid records for `policy`; optional facts sometimes missing."""
    parts = {}
    for name, spec in policy.facts.items():
        value = fact_value(policy, name)
        if not spec.required or spec.has_default:
            value = st.one_of(st.none(), value)
        parts[name] = value
    return st.fixed_dictionaries(parts).map(lambda d: {k: v for k, v in d.items() if v is not None})


def sample_records(policy, n: int) -> list:
    """`n` records of `records(policy)`, the same every run (derandomized), as a list: for
    tests that run one batch through an engine rather than one example at a time."""
    from hypothesis import HealthCheck, given, settings

    out = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(records(policy))
    def collect(r):
        out.append(r)

    collect()
    return out
