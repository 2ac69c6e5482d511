"""Fact validation: one user's record checked against the policy's declarations.

Runs before any backend sees the facts, so no backend ever decides on a wrong type, an
out-of-range value, NaN, an unknown enum value or a missing required fact: those are
input errors naming the fact. Undeclared extra facts are ignored, and by default reported
as warnings (`UNDECLARED` names the other treatments: ignored silently, or refused).
Missing optional facts stay absent: conditions on them are unknown, not false. A date fact
is given as an ISO `YYYY-MM-DD` string (JSON, YAML, CSV) or a `datetime.date` (Parquet,
the API) and normalized to the `datetime.date`. A list fact (`type: array`) is a list (a
JSON or YAML list, a tuple from the API), each item checked as a fact of the items' spec
would be (an error names the item by its index, counted from 0 as in a JSON pointer),
its length within `min_items`/`max_items` (the spec's bounds); it is normalized to a
tuple of normalized items in record order.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Mapping

from ..language.diagnostics import type_name
from ..language.model import ARRAY, DATE, FactSpec, Policy
from ..errors import FactsError
from ..language.values import YAML, clip, format_value, json_kind, lone_surrogate, parse_date


@dataclass(frozen=True)
class FactProblem:
    """An error (the record cannot be evaluated) or a warning about one fact of a record."""

    fact: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return self.message


def _show(value) -> str:
    # A user's value as JSON writes it (`true`, not Python's `True`); strings bare, since
    # the message quotes the value in backticks already.
    return clip(value if type(value) is str else format_value(value, YAML))


def _check_date(spec: FactSpec, value) -> tuple[object, str | None]:
    name = spec.name
    if value.__class__ is not datetime.date:  # a `datetime.datetime` is a moment, not a day
        day = parse_date(value)
        if day is None:
            kind = "datetime" if isinstance(value, datetime.datetime) else type_name(value, 'object')
            shown = value.isoformat() if isinstance(value, datetime.date) else _show(value)
            return value, f"fact `{name}` must be a date (YYYY-MM-DD), got {kind} `{shown}`"
        value = day
    if spec.minimum is not None and value < spec.minimum:
        return value, f"fact `{name}` is {value.isoformat()}, before the declared minimum {spec.minimum.isoformat()}"
    if spec.maximum is not None and value > spec.maximum:
        return value, f"fact `{name}` is {value.isoformat()}, after the declared maximum {spec.maximum.isoformat()}"
    return value, None


def check_value(spec: FactSpec, value) -> tuple[object, str | None]:
    """(normalized value, problem). Integral floats are accepted for integer facts (JSON
    writers often emit `720.0`) and ISO day strings for date facts; nothing else is coerced."""
    name = spec.name
    if spec.type == DATE:
        return _check_date(spec, value)
    if spec.type == ARRAY:
        return _check_list(spec, value)
    if spec.type == "boolean":
        if not isinstance(value, bool):
            return value, f"fact `{name}` must be a boolean (true/false), got {type_name(value, 'object')} `{_show(value)}`"
        return value, None
    if spec.type == "string":
        if not isinstance(value, str):
            return value, f"fact `{name}` must be a string, got {type_name(value, 'object')} `{_show(value)}`"
        lone = lone_surrogate(value)
        if lone:
            return value, f"fact `{name}` holds `{lone}`, half of a surrogate pair, not a character"
        if spec.enum is not None and value not in spec.enum:
            return value, f"fact `{name}` is `{_show(value)}`, not one of {', '.join(spec.enum)}"
        return value, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value, f"fact `{name}` must be {'an integer' if spec.type == 'integer' else 'a number'}, " \
                      f"got {type_name(value, 'object')} `{_show(value)}`"
    if isinstance(value, float) and not math.isfinite(value):
        return value, f"fact `{name}` is `{value}`; only finite numbers are allowed"
    if spec.type == "integer":
        if isinstance(value, float):
            if not value.is_integer():
                return value, f"fact `{name}` must be an integer, got `{value}`"
            value = int(value)
    if spec.minimum is not None and value < spec.minimum:
        return value, f"fact `{name}` is {value}, below the declared minimum {spec.minimum}"
    if spec.maximum is not None and value > spec.maximum:
        return value, f"fact `{name}` is {value}, above the declared maximum {spec.maximum}"
    return value, None


def _check_list(spec: FactSpec, value) -> tuple[object, str | None]:
    name = spec.name
    if value.__class__ is not list and value.__class__ is not tuple:
        return value, f"fact `{name}` must be a list, got {type_name(value, 'object')} `{_show(value)}`"
    items = []
    prefix = f"fact `{name}`"
    for i, item in enumerate(value, 1):  # counted from 1, as table rows and the language's messages are
        if item is None:
            return value, f"fact `{name}` item {i} is null; a list holds no missing items"
        item, problem = check_value(spec.items, item)
        if problem:
            # the item's message, located: "fact `tags` item 2 is `x`, not one of …" (the second)
            return value, f"fact `{name}` item {i}" + problem[len(prefix):] if problem.startswith(prefix) else problem
        items.append(item)
    n = len(items)
    if spec.minimum is not None and n < spec.minimum:
        return value, f"fact `{name}` has {n} item{'' if n == 1 else 's'}, fewer than the declared min_items {spec.minimum}"
    if spec.maximum is not None and n > spec.maximum:
        return value, f"fact `{name}` has {n} items, more than the declared max_items {spec.maximum}"
    return tuple(items), None


#: How keys of a record that name no declared fact are treated: "warn" (ignored, with a
#: warning per key in the Decision's `warnings`, the default), "ignore" (ignored silently)
#: or "refuse" (an error: the record is not decided).
UNDECLARED = ("warn", "ignore", "refuse")


def shown_key(name) -> str:
    """A record's key as a message shows it: a lone surrogate written as its escape."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8") if lone_surrogate(name) else str(name)


def undeclared_problem(name, undeclared: str = "warn") -> FactProblem:
    """The problem an undeclared key is, for `undeclared` "warn" or "refuse"."""
    shown = shown_key(name)
    if undeclared == "refuse":
        return FactProblem(shown, f"undeclared fact `{shown}` refused")
    return FactProblem(shown, f"undeclared fact `{shown}` ignored", "warning")


def check_facts(policy: Policy, record, undeclared: str = "warn") -> tuple[dict, list[FactProblem]]:
    """Normalize a record: (facts for evaluation, problems). Any problem of severity
    "error" means the record must not be evaluated. `undeclared`: see UNDECLARED."""
    if not isinstance(record, Mapping):
        return {}, [FactProblem(None, f"a record must be an object of fact names to values, got {json_kind(record)}")]
    out: dict = {}
    problems: list[FactProblem] = []
    for name, spec in policy.facts.items():
        value = record.get(name)
        if value is None:
            if spec.has_default:
                default = spec.default
                out[name] = tuple(default) if default.__class__ is list else default
            elif spec.required:
                problems.append(FactProblem(name, f"missing required fact `{name}`"))
            continue
        value, problem = check_value(spec, value)
        if problem:
            problems.append(FactProblem(name, problem))
        else:
            out[name] = value
    if undeclared != "ignore":
        for name in record:
            if name not in policy.facts:
                problems.append(undeclared_problem(name, undeclared))
    return out, problems


def normalize(policy: Policy, record, label: str | None = None,
              undeclared: str = "warn") -> tuple[dict, list[FactProblem]]:
    """Like `check_facts` but raises FactsError on any error; returns (facts, warnings)."""
    facts, problems = check_facts(policy, record, undeclared)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise FactsError(errors, label)
    return facts, problems


def missing_facts(policy: Policy, facts: Mapping) -> tuple[str, ...]:
    """Declared facts absent from normalized facts (optional, no default)."""
    return tuple(name for name in policy.facts if name not in facts)
