"""The operands of comparisons: literals, thresholds, dates and relative dates, another
fact (`{fact: name}`), a list's items and length, a string operator's text, checked against
the fact (or derived fact, output, the outcome) they are compared with.

A mixin of the validator's builder (`validate._Builder`), split from it by what it reads:
one comparison's right-hand side. Every mistake is a located diagnostic with a stable code;
a threshold of the wrong type is reported once, at its declaration (`misused`).
"""

from __future__ import annotations

import datetime

from .diagnostics import did_you_mean, pointer_join, type_name
from .exprs import NAME
from dataclasses import replace

from .model import (ARRAY, CALENDAR_DAYS, DATE, LIST_FACT_OPS, LIST_OPS, NUMERIC_TYPES, ORDER_OPS, ORDERED_TYPES,
                    PRESENCE_OP, STRING_OPS, SUBJECT_OUTCOME, FactSpec, Operand, RelativeDate)
from .source import load_text
from .values import literal, parse_date, value_fits

# Words YAML 1.1 (and so many editors and habits) read as booleans, but YAML 1.2 reads as
# strings: `frozen: yes` is the string "yes". Worth a hint wherever a boolean was expected.
_YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})


def bool_hint(value) -> str | None:
    if isinstance(value, str) and value.lower() in _YAML11_BOOLS:
        return f"write `true` or `false`; YAML 1.2 reads `{value}` as a string"
    return None


def integral(ftype: str, value):
    """An integer fact's integral float default (`default: 5.0`) as the integer it is, as a
    record's `5.0` is: every backend then sees an int (durable-rules refused the float)."""
    if ftype == "integer" and type(value) is float and value.is_integer():
        return int(value)
    return value


def is_yaml_number(text: str) -> bool:
    """Whether YAML would read `text`, unquoted, as a number."""
    doc, _ = load_text(f"v: {text}", "")  # the loader is the one place that knows YAML's numbers
    return doc is not None and type(doc.data["v"]) in (int, float)


def _order_key(value):
    """What kind of ordered value an operand is (numbers, or dates), None for a relative date:
    two ends of a `between` are compared only when they are of one kind."""
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return None


def _relative_empty(lo, hi) -> bool:
    """`between: [{days_ahead: 5}, {days_ago: 5}]`: both relative, the low end later."""
    return isinstance(lo, RelativeDate) and isinstance(hi, RelativeDate) and lo.offset > hi.offset


def _end(o: Operand):
    return o.value.describe() if isinstance(o.value, RelativeDate) else o.value


_KIND_WORD = {"fact": "fact", "derived": "derived fact", "output": "output"}
_LIST_OPS_TEXT = "`contains`, `contains_any`, `contains_all` or `length`"


def _list_hint(op: str, raw) -> str:
    """What to write instead of a scalar operator on a list."""
    if op in ("eq", "in") and not isinstance(raw, (dict, list)):
        return f"a list is tested with {_LIST_OPS_TEXT}: `{{contains: {literal(raw).strip(chr(34))}}}`"
    return f"a list is tested with {_LIST_OPS_TEXT}"


def _comparable(a: FactSpec, b: FactSpec) -> str | None:
    """Why fact `a` cannot be compared with fact `b`, or None: both numeric, both dates, or
    of one type (strings: with the same values when both declare an enum)."""
    if a.type in NUMERIC_TYPES and b.type in NUMERIC_TYPES:
        return None
    if a.type != b.type:
        return f"`{a.name}` is {a.type} but `{b.name}` is {b.type}"
    if a.type == ARRAY:
        return f"`{a.name}` and `{b.name}` are lists"
    if a.enum is not None and b.enum is not None and set(a.enum) != set(b.enum):
        return f"`{a.name}` and `{b.name}` have different values"
    return None


class Operands:
    """The builder's reading of comparison operands (see the module docstring)."""

    def date_literal(self, raw, ptr: str, rule_id: str | None, what: str):
        """A date written `YYYY-MM-DD`, or None after a located `date-invalid`."""
        d = parse_date(raw)
        if d is None:
            self.report("date-invalid", f"{what} must be a date (YYYY-MM-DD), found {type_name(raw)} "
                        f"`{literal(raw)}`", ptr, rule=rule_id,
                        hint="write the year, month and day of a real calendar day: `2026-01-31`")
        return d

    def operand(self, spec: FactSpec, op: str, raw, ptr: str, rule_id: str, kind: str = "fact"):
        """The operand of `op` compared with `spec` (a fact's, or as `validate.subject_spec`
        gives it for a derived fact or an output: `kind` says which, for messages)."""
        subject = "the outcome" if spec.name == SUBJECT_OUTCOME else f"{_KIND_WORD.get(kind, 'fact')} `{spec.name}`"
        if op == PRESENCE_OP:
            if spec.name == SUBJECT_OUTCOME:
                self.report("operator-type-mismatch", "`missing` tests a fact; the outcome is never missing", ptr,
                            rule=rule_id, at_key=True, hint="test a fact, or compare the outcome with `eq`")
                return None
            if kind == "output":
                self.report("operator-type-mismatch", f"`missing` tests a fact; output `{spec.name}` always has a "
                            "value (its default when no rule sets it)", ptr, rule=rule_id, at_key=True,
                            hint="compare it with its default instead")
                return None
            if kind == "derived":
                self.report("operator-type-mismatch", f"`missing` tests a fact; derived fact `{spec.name}` is missing "
                            "exactly when an optional fact it reads is", ptr, rule=rule_id, at_key=True,
                            hint="test the optional facts it reads with `missing`")
                return None
            return Operand(raw)
        if spec.type == ARRAY:
            return self.list_fact_operand(spec, op, raw, ptr, rule_id)
        if op in LIST_FACT_OPS - STRING_OPS:
            self.report("operator-type-mismatch", f"`{op}` tests a list but {subject} is {spec.type}", ptr,
                        rule=rule_id, at_key=True, hint="use `eq`, `ne`, `in` or `not_in`" if spec.type == "string"
                        else "use `eq`, `ne`, `in`, `not_in` or an order operator")
            return None
        if op in STRING_OPS:
            return self.string_operand(spec, op, raw, ptr, rule_id)
        if op in ORDER_OPS and spec.type not in ORDERED_TYPES:
            self.report("operator-type-mismatch", f"`{op}` compares numbers but {subject} is {spec.type}", ptr,
                        rule=rule_id, at_key=True,
                        hint="use `eq`, `ne`, `in` or `not_in`" if spec.type == "string" else "use `eq` or `ne`")
            return None
        if op in LIST_OPS and spec.type == "boolean":
            self.report("operator-type-mismatch", f"`{op}` is not for boolean {subject}", ptr, rule=rule_id,
                        at_key=True, hint="use `eq: true` or `eq: false`")
            return None
        if op == "between":
            lo = self.scalar_operand(spec, raw[0], pointer_join(ptr, 0), rule_id)
            hi = self.scalar_operand(spec, raw[1], pointer_join(ptr, 1), rule_id)
            if lo is None or hi is None:
                return None
            if _order_key(lo.value) is not None and _order_key(lo.value) == _order_key(hi.value) \
                    and lo.value > hi.value or _relative_empty(lo.value, hi.value):
                self.report("between-empty", f"`between` low end {_end(lo)} is above high end {_end(hi)}", ptr,
                            rule=rule_id)
                return None
            return (lo, hi)
        if op in LIST_OPS:
            return self.values_operand(spec, raw, ptr, rule_id)
        return self.scalar_operand(spec, raw, ptr, rule_id)

    def values_operand(self, spec: FactSpec, raw, ptr: str, rule_id: str) -> Operand | None:
        """A list of values (`in`, `not_in`; a list's `contains_any`, `contains_all`): a list
        of literals and scalar thresholds, or a list threshold's name."""
        if isinstance(raw, str):
            t = self.thresholds_by_name.get(raw)
            if t is not None:
                self.used_thresholds.add(raw)  # mentioned, even if misused (see mentioned_facts)
            if t is None or not isinstance(t.value, tuple):
                self.report("unknown-threshold", f"`{raw}` is not a list threshold", ptr, rule=rule_id,
                            hint=did_you_mean(raw, [n for n, t in self.thresholds_by_name.items()
                                                    if isinstance(t.value, tuple)]) or "write a list: `[a, b]`")
                return None
            values = tuple(self.as_date(spec, v) for v in t.value)
            for v in values:
                if not self.check_value(spec, v, ptr, rule_id, via=raw):
                    return None
            return Operand(values, raw)
        values = []
        for i, item in enumerate(raw):
            o = self.scalar_operand(spec, item, pointer_join(ptr, i), rule_id)
            if o is None:
                return None
            values.append(o.value)
        return Operand(tuple(values))

    def list_fact_operand(self, spec: FactSpec, op: str, raw, ptr: str, rule_id: str) -> Operand | None:
        """An operand of a list (fact or output): its items are checked as values of the
        items' spec (enum, type, range); scalar operators are refused."""
        if op not in LIST_FACT_OPS:
            self.report("operator-type-mismatch", f"`{op}` compares one value but `{spec.name}` is a list", ptr,
                        rule=rule_id, at_key=True, hint=_list_hint(op, raw))
            return None
        if spec.items is None:  # (`array-shape`: what an item is, is unknown)
            return None
        items = replace(spec.items, name=spec.name)
        if op == "contains":
            return self.scalar_operand(items, raw, ptr, rule_id)
        return self.values_operand(items, raw, ptr, rule_id)  # contains_any, contains_all

    def length_operand(self, spec: FactSpec, raw, ptr: str, rule_id: str) -> Operand | None:
        """One inner operand of `length`: a whole number ≥ 0 or an integer threshold, within
        the list's `min_items`/`max_items` (else the comparison could never vary)."""
        threshold = None
        if isinstance(raw, str):
            t = self.thresholds_by_name.get(raw)
            if t is None:
                self.report("unknown-threshold", f"unknown threshold `{raw}`", ptr, rule=rule_id,
                            hint=did_you_mean(raw, self.thresholds_by_name) or "declare it under `thresholds:`")
                return None
            self.used_thresholds.add(raw)
            threshold, raw = raw, integral("integer", t.value)
        if type(raw) is not int or raw < 0:
            what = f"threshold `{threshold}` ({literal(raw)})" if threshold else f"`{literal(raw)}`"
            self.report("operand-type-mismatch", f"{what} is not a length: the length of `{spec.name}` is a whole "
                        "number ≥ 0", ptr, rule=rule_id)
            return None
        lo, hi = 0 if spec.minimum is None else spec.minimum, spec.maximum
        if raw < lo or (hi is not None and raw > hi):
            what = f"threshold `{threshold}` ({raw})" if threshold else f"`{raw}`"
            self.report("threshold-out-of-range" if threshold else "value-out-of-range",
                        f"{what} is outside the lengths {lo}..{'' if hi is None else hi} `{spec.name}` can have",
                        ptr, rule=rule_id, hint="the comparison can never vary; fix the value or the list's "
                                                "`min_items`/`max_items`")
            return None
        return Operand(raw, threshold)

    def string_operand(self, spec: FactSpec, op: str, raw, ptr: str, rule_id: str) -> Operand | None:
        """The text of `starts_with`, `ends_with`, `contains` on a string: a literal or a
        string threshold, not empty. Any text may follow an enum fact's values: the enum
        does not restrict it (analysis says when no value, or every value, matches)."""
        if spec.type != "string" or spec.name == SUBJECT_OUTCOME:
            subject = "the outcome" if spec.name == SUBJECT_OUTCOME else f"`{spec.name}`"
            self.report("operator-type-mismatch", f"`{op}` tests text but {subject} is "
                        f"{'an outcome id' if spec.name == SUBJECT_OUTCOME else spec.type}", ptr, rule=rule_id,
                        at_key=True, hint="compare the outcome with `eq` or `in`" if spec.name == SUBJECT_OUTCOME
                        else "the string operators are for string facts")
            return None
        o = self.scalar_operand(replace(spec, enum=None), raw, ptr, rule_id)
        if o is not None and o.value == "":
            what = f"threshold `{o.threshold}`" if o.threshold else "the text"
            self.report("operand-empty-string", f"`{op}` needs a non-empty text; {what} is empty", ptr, rule=rule_id,
                        hint="every string starts with, ends with and contains the empty text: drop the condition, "
                             "or test `{missing: false}`")
            return None
        return o

    def fact_operand(self, spec: FactSpec, other: str, ptr: str, rule_id: str) -> Operand | None:
        """`{fact: name}`: another fact (or derived fact) of a compatible type, read from the
        same record."""
        if spec.name == SUBJECT_OUTCOME:
            self.report("operand-type-mismatch", "the outcome is compared with outcome ids, not with a fact", ptr,
                        rule=rule_id, hint="compare the outcome with `eq: <outcome>`")
            return None
        if other in self.facts_by_name:
            self.mentioned_facts.add(other)
            ospec = self.facts_by_name[other]
        elif other in self.derived_by_name:
            ospec = FactSpec(other, self.derived_by_name[other].type)
        else:
            self.report("unknown-fact", f"`{{fact: {other}}}` names no fact or derived fact", pointer_join(ptr, "fact"),
                        rule=rule_id, hint=did_you_mean(other, list(self.facts_by_name) + list(self.derived_by_name))
                        or "declare it under `facts:` or `derived:`")
            return None
        problem = _comparable(spec, ospec)
        if problem:
            self.report("operand-type-mismatch", f"`{spec.name}` cannot be compared with `{other}`: {problem}",
                        pointer_join(ptr, "fact"), rule=rule_id,
                        hint="compare facts of one type (numbers with numbers, dates with dates)")
            return None
        return Operand(None, fact=other)

    def as_date(self, spec: FactSpec, value):
        """A threshold's ISO date text as a date where a date fact reads it (left as it is
        when it is not a date: `check_value` reports the misuse)."""
        return (parse_date(value) or value) if spec.type == DATE and isinstance(value, str) else value

    def relative_date(self, spec: FactSpec, raw: dict, ptr: str, rule_id: str) -> Operand | None:
        """`{days_ago: N}` / `{days_ahead: N}`, N a whole number ≥ 0 or an integer threshold."""
        subject = "the outcome" if spec.name == SUBJECT_OUTCOME else f"`{spec.name}`"
        if spec.type != DATE:
            self.report("operand-type-mismatch", f"`{{{next(iter(raw))}: …}}` is a relative date but {subject} is "
                        f"{spec.type}", ptr, rule=rule_id, hint="compare a date fact with a relative date")
            return None
        if len(raw) != 1:
            self.report("operand-type-mismatch", "a relative date is `{days_ago: N}` or `{days_ahead: N}`, not both",
                        ptr, rule=rule_id, hint="write one of them")
            return None
        [(key, n)] = raw.items()
        kptr = pointer_join(ptr, key)
        threshold = None
        if isinstance(n, str):
            t = self.thresholds_by_name.get(n)
            if t is None:
                self.report("unknown-threshold", f"unknown threshold `{n}`", kptr, rule=rule_id,
                            hint=did_you_mean(n, self.thresholds_by_name) or "declare it under `thresholds:`")
                return None
            self.used_thresholds.add(n)
            threshold, n = n, integral("integer", t.value)
            if type(n) is not int or n < 0:
                self.report("operand-type-mismatch", f"threshold `{threshold}` ({literal(t.value)}) is not a whole "
                            f"number of days ≥ 0, as `{key}` needs", kptr, rule=rule_id)
                return None
        if n > CALENDAR_DAYS:  # no evaluation date could resolve it
            what = f"threshold `{threshold}` ({literal(n)})" if threshold else f"`{literal(n)}`"
            self.report("operand-type-mismatch", f"{what} days is more than the calendar spans "
                        f"({CALENDAR_DAYS:,} days, 0001-01-01 to 9999-12-31)", kptr, rule=rule_id,
                        hint="a relative date is a number of days within the calendar")
            return None
        return Operand(RelativeDate(-1 if key == "days_ago" else 1, n, threshold))

    def scalar_operand(self, spec: FactSpec, raw, ptr: str, rule_id: str) -> Operand | None:
        if isinstance(raw, dict) and "fact" in raw:
            if len(raw) != 1:
                self.report("operand-type-mismatch", "`{fact: name}` names one fact and nothing else", ptr,
                            rule=rule_id, hint="write `{fact: name}` alone")
                return None
            return self.fact_operand(spec, raw["fact"], ptr, rule_id)
        if isinstance(raw, dict):
            return self.relative_date(spec, raw, ptr, rule_id)
        if isinstance(raw, str) and raw in self.thresholds_by_name:
            t = self.thresholds_by_name[raw]
            self.used_thresholds.add(raw)  # mentioned, even if misused (see mentioned_facts)
            if spec.enum is not None and raw in spec.enum:
                self.report("ambiguous-operand", f"`{raw}` is both a threshold and a value of `{spec.name}`", ptr,
                            rule=rule_id, hint="rename the threshold")
                return None
            if isinstance(t.value, tuple):
                self.report("operand-type-mismatch", f"threshold `{raw}` is a list; `{spec.name}` needs one value",
                            ptr, rule=rule_id, hint="use `in` for a list")
                return None
            value = self.as_date(spec, t.value)
            if not self.check_value(spec, value, ptr, rule_id, via=raw):
                return None
            return Operand(value, raw)
        if isinstance(raw, str) and spec.type == "boolean":
            # `frozen: yes` is a YAML 1.1 habit (1.2 reads `yes` as a string), far likelier
            # than a misspelt threshold: say it is the wrong type, not an unknown threshold.
            self.report("operand-type-mismatch", f"`{literal(raw)}` is string but `{spec.name}` is boolean", ptr,
                        rule=rule_id, hint=bool_hint(raw) or did_you_mean(raw, self.thresholds_by_name)
                        or "write `true` or `false`")
            return None
        if isinstance(raw, str) and spec.type == DATE and (raw[:1].isdigit() or not NAME.match(raw)):
            d = self.date_literal(raw, ptr, rule_id, "a date operand")
            if d is None or not self.check_value(spec, d, ptr, rule_id):
                return None
            return Operand(d)
        if isinstance(raw, str) and spec.type != "string":
            if raw in self.facts_by_name or raw in self.derived_by_name:
                # "did you mean `max_overdue_days`?" would send the author the wrong way.
                kind = "a fact" if raw in self.facts_by_name else "a derived fact"
                self.report("unknown-threshold", f"`{raw}` is {kind}, not a threshold or a value", ptr, rule=rule_id,
                            hint=f"write `{{fact: {raw}}}` to compare with another fact")
                return None
            self.report("unknown-threshold", f"unknown threshold `{raw}`", ptr, rule=rule_id,
                        hint=did_you_mean(raw, self.thresholds_by_name) or "declare it under `thresholds:`")
            return None
        if not self.check_value(spec, raw, ptr, rule_id):
            return None
        return Operand(raw)

    def check_value(self, spec: FactSpec, value, ptr: str, rule_id: str, via: str | None = None) -> bool:
        # Written as the author would write it (`true`, `"50"`), never as a Python repr.
        what = f"threshold `{via}` ({literal(value)})" if via else f"`{literal(value)}`"
        subject = "the outcome" if spec.name == SUBJECT_OUTCOME else f"`{spec.name}`"
        if via:
            self.used_thresholds.add(via)
        if not value_fits(spec.type, value):
            if via:  # reported once, at the threshold's declaration (`misused_thresholds`)
                self.misused.setdefault(via, []).append((f"{what} is {type_name(value)} but {subject} is "
                                                         f"{spec.type}", ptr, rule_id))
            else:
                self.report("operand-type-mismatch", f"{what} is {type_name(value)} but {subject} is {spec.type}",
                            ptr, rule=rule_id)
            return False
        if spec.enum is not None and value not in spec.enum:
            # The value is a string here; show it bare, as it appears in the enum list.
            what = f"threshold `{via}` (`{value}`)" if via else f"`{value}`"
            if spec.name == SUBJECT_OUTCOME:
                self.report("unknown-outcome", f"{what} is not a declared outcome ({', '.join(spec.enum)})", ptr,
                            rule=rule_id, hint=did_you_mean(str(value), spec.enum))
            else:
                self.report("enum-value-unknown", f"{what} is not one of {subject}'s values ({', '.join(spec.enum)})",
                            ptr, rule=rule_id, hint=did_you_mean(str(value), spec.enum))
            return False
        if spec.type in ORDERED_TYPES:
            lo, hi = spec.minimum, spec.maximum
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                rng = f"{'' if lo is None else lo}..{'' if hi is None else hi}"
                code = "threshold-out-of-range" if via else "value-out-of-range"
                self.report(code, f"{what} is outside the declared range {rng} of `{spec.name}`", ptr, rule=rule_id,
                            hint="the comparison can never vary; fix the value or the fact's range")
                return False
        return True

    # -- rules -----------------------------------------------------------------------
