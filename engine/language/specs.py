"""Declarations of values: a fact's (or a list's items') type, enum and bounds, list facts
and list outputs, derived facts, and the one namespace facts, derived facts and outputs
share.

A mixin of the validator's builder (`validate._Builder`), split from it by what it reads:
the declarations under `facts:`, `derived:` and `outputs:` (not rules). A list's items are
declared as a scalar fact is (`items: {type: string, enum: [...]}`) and checked by the same
code, so a list item and a scalar fact can never disagree about what a valid value is.
"""

from __future__ import annotations

from types import SimpleNamespace

from .diagnostics import pointer_join, type_name
from .exprcheck import fraction_source
from .exprs import DerivedReader
from .model import ARRAY, DATE, ORDERED_TYPES, RESERVED_NAMES, Derived, FactSpec
from .operands import integral
from .values import literal, parse_date, value_fits


class Specs:
    """The builder's reading of declarations (see the module docstring)."""

    # -- the scalar part of a declaration: enum, minimum, maximum --------------------------
    def scalar_spec(self, name: str, spec: dict, ftype: str, ptr: str):
        """(enum, minimum, maximum) of a fact's (or items') declaration, after reporting
        what does not fit its type; an empty range is forgotten (see below)."""
        if "enum" in spec and ftype != "string":
            self.report("fact-enum-not-string", f"`enum` is only for string facts, `{name}` is {ftype}",
                        pointer_join(ptr, "enum"), at_key=True,
                        hint="declare the items' values under `items: {type: string, enum: [...]}`"
                        if ftype == ARRAY else None)
        if "enum" in spec:
            for i, v in enumerate(spec["enum"]):
                if v in spec["enum"][:i]:  # name the value and point at its second listing
                    self.report("fact-enum-duplicate", f"`{name}` lists enum value `{v}` twice",
                                pointer_join(ptr, "enum", i))
                    break
        bounds = {}
        for bound in ("minimum", "maximum"):
            bounds[bound] = spec.get(bound)
            if bound in spec and ftype == DATE:
                bounds[bound] = self.date_literal(spec[bound], pointer_join(ptr, bound), None,
                                                  f"`{bound}` of `{name}`")
            if bound in spec and ftype not in ORDERED_TYPES:
                self.report("fact-range-not-numeric", f"`{bound}` is only for numeric facts, `{name}` is {ftype}",
                            pointer_join(ptr, bound), at_key=True,
                            hint=f"bound the list's length with `{bound[:3]}_items`" if ftype == ARRAY else None)
            # (float() of a huge integer bound would overflow; only floats can be fractional)
            if bound in spec and ftype == "integer" and isinstance(spec[bound], float) \
                    and not spec[bound].is_integer():
                self.report("fact-range-not-integer", f"`{bound}` of integer fact `{name}` must be a whole number",
                            pointer_join(ptr, bound))
        lo, hi = bounds["minimum"], bounds["maximum"]
        if lo is not None and hi is not None and lo > hi:
            self.report("fact-range-empty", f"`{name}` has minimum {lo} above maximum {hi}",
                        pointer_join(ptr, "minimum"))
            # Forget the empty range: checking every threshold and literal against it
            # would repeat this one mistake as an out-of-range error at each use.
            lo = hi = None
        enum = tuple(spec["enum"]) if "enum" in spec and ftype == "string" else None
        return enum, lo, hi

    def items_spec(self, name: str, spec: dict, ftype: str, ptr: str, what: str) -> FactSpec | None:
        """The items' spec of a list fact or output (`what`: "fact" or "output"); None for
        a scalar one, or when the list declares no items (after `array-shape`)."""
        keys = ("items", "min_items", "max_items") if what == "fact" else ("items",)
        if ftype != ARRAY:
            for key in keys:
                if key in spec:
                    self.report("array-shape", f"`{key}` is only for `type: array` {what}s, `{name}` is {ftype}",
                                pointer_join(ptr, key), at_key=True, hint="remove it, or make the type `array`")
            return None
        if "items" not in spec:
            self.report("array-shape", f"list {what} `{name}` does not say what its items are", pointer_join(ptr, "type"),
                        hint="add `items: {type: string}` (or integer, number, boolean)")
            return None
        raw, iptr = spec["items"], pointer_join(ptr, "items")
        enum, lo, hi = self.scalar_spec(name, raw, raw["type"], iptr)
        return FactSpec(name=name, type=raw["type"], description=raw.get("description", ""), enum=enum,
                        minimum=lo, maximum=hi, loc=self.loc(iptr, at_key=True))

    def length_bounds(self, name: str, spec: dict, ptr: str):
        """`min_items`/`max_items` of a list fact: the bounds of its length."""
        lo, hi = spec.get("min_items"), spec.get("max_items")
        if lo is not None and hi is not None and lo > hi:
            self.report("fact-range-empty", f"`{name}` has min_items {lo} above max_items {hi}",
                        pointer_join(ptr, "min_items"))
            return None, None
        return lo, hi

    # -- values of a declaration ---------------------------------------------------------------
    def fact_default(self, ftype: str, value, items: FactSpec | None = None):
        """A fact's default as a value of its type: a date fact's ISO text as a date (left as
        written when it is not one: `value_problem` reports it); a list fact's list as a
        tuple of its items' values."""
        if ftype == DATE:
            return parse_date(value) or value
        if ftype == ARRAY and isinstance(value, list) and items is not None:
            return tuple(self.fact_default(items.type, v) for v in value)
        return integral(ftype, value)

    def value_problem(self, fs: FactSpec, value) -> str | None:
        """Why `value` is not a valid value of fact `fs` (a list fact: of its items, by
        index from 1), or None."""
        if fs.type == DATE and not value_fits(DATE, value):
            return f"must be a date (YYYY-MM-DD), found {type_name(value)} `{literal(value)}`"
        if fs.type == ARRAY:
            if not value_fits(ARRAY, value):
                return f"must be a list, found {type_name(value)} `{literal(value)}`"
            if fs.minimum is not None and len(value) < fs.minimum:
                return f"has {len(value)} items, fewer than min_items {fs.minimum}"
            if fs.maximum is not None and len(value) > fs.maximum:
                return f"has {len(value)} items, more than max_items {fs.maximum}"
            for i, item in enumerate(value, 1):
                problem = self.value_problem(fs.items, item)
                if problem:
                    return f"item {i} {problem}" if problem.startswith("must") else f"item {i}: {problem}"
            return None
        if not value_fits(fs.type, value):
            return f"must be {fs.type}, found {type_name(value)} `{literal(value)}`"
        if fs.enum is not None and value not in fs.enum:
            return f"`{value}` is not one of {', '.join(fs.enum)}"
        if fs.type in ORDERED_TYPES:
            if fs.minimum is not None and value < fs.minimum:
                return f"{value} is below the declared minimum {fs.minimum}"
            if fs.maximum is not None and value > fs.maximum:
                return f"{value} is above the declared maximum {fs.maximum}"
        return None

    def array_value(self, name: str, items: FactSpec, raw, ptr: str, rule_id: str | None, one_item: bool):
        """A list output's value as the IR holds it: a list literal as a tuple, or (`combine:
        list`, a rule's value: `one_item`) one item; (False, None) after reporting why not."""
        code = "output-type-mismatch" if rule_id is not None else "output-bad-default"
        whose = f"output `{name}`" if rule_id is not None else f"the default of output `{name}`"
        if one_item:
            problem = self.value_problem(items, raw)
            if problem:
                sep = " " if problem.startswith("must") else ": "
                self.report(code, f"an item of {whose} (`combine: list`: one item per rule){sep}{problem}", ptr,
                            rule=rule_id, hint="write one item; the output lists the items of every contributing "
                                               "rule" if isinstance(raw, list) else None)
                return False, None
            return True, integral(items.type, raw)
        if not isinstance(raw, list):
            self.report(code, f"{whose} is a list, found {type_name(raw)} `{literal(raw)}`", ptr, rule=rule_id,
                        hint=f"write a list: `[{literal(raw)}]`, or declare `combine: list` on the output so each "
                             "rule gives one item" if rule_id is not None else "write a list, e.g. `[]`")
            return False, None
        for i, item in enumerate(raw):
            problem = self.value_problem(items, item)
            if problem:
                sep = " " if problem.startswith("must") else ": "
                self.report(code, f"item {i + 1} of {whose}{sep}{problem}", pointer_join(ptr, i), rule=rule_id)
                return False, None
        return True, tuple(integral(items.type, v) for v in raw)

    # -- derived facts and the shared namespace -------------------------------------------------
    def derived(self) -> dict[str, Derived]:
        """`derived:` in declaration order; `self.derived_by_name` grows as each is read, so a
        derived fact reads only the ones before it."""
        self.derived_by_name: dict[str, Derived] = {}
        self.broken_derived: set[str] = set()  # read with an error (reported): their readers stay silent
        raw_derived = self.data.get("derived", {})
        declared, outputs = tuple(raw_derived), tuple(self.data.get("outputs", {}))
        for name, raw in raw_derived.items():
            ptr = pointer_join("/derived", name)
            clash = ("reserved" if name in RESERVED_NAMES else "a fact" if name in self.facts_by_name
                     else "a threshold" if name in self.thresholds_by_name else "an output" if name in outputs
                     else None)
            if clash is not None:
                self.report("name-clash", f"derived fact `{name}` has the same name as {clash}" if clash != "reserved"
                            else f"`{name}` is reserved and cannot name a derived fact", ptr, at_key=True,
                            hint="facts, derived facts, thresholds and outputs share one namespace: rename one")
                continue
            expr = DerivedReader(self, name, declared, outputs).read(raw, ptr, None)
            if expr is None:
                self.broken_derived.add(name)
                continue
            known = SimpleNamespace(facts=self.facts_by_name, thresholds=self.thresholds_by_name, outputs={},
                                    derived=self.derived_by_name)
            dtype = "integer" if fraction_source(known, expr) is None else "number"
            self.derived_by_name[name] = Derived(name, expr, dtype, loc=self.loc(ptr, at_key=True))
        return self.derived_by_name

    def output_clashes(self) -> None:
        """An output named like a fact: a condition's key must name one of them."""
        for name in self.data.get("outputs", {}):
            if name in self.facts_by_name:
                self.report("name-clash", f"output `{name}` has the same name as a fact",
                            pointer_join("/outputs", name), at_key=True,
                            hint="facts, derived facts and outputs share one namespace: rename one")
