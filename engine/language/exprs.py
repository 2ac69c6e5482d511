"""Computed outputs: reading expressions from YAML into the IR (`Ref`, `Arith`, `Round`,
`Decimal` literals), and writing them back as text.

An expression is a number, a bare name (a fact, a threshold, a derived fact, or an output
declared before the one being computed), `{add|sub|mul|div|min|max: [e, …]}` or `{round: e, to: N, mode:
M}`. `ExprReader` resolves names and types while it builds, reporting located diagnostics
through the validator's builder; the whole-expression checks that need value ranges
(division by zero, output bounds, integrality, presence of optional facts) are
`exprcheck.py`'s. A derived fact (`derived:`) is an expression of the same grammar, read by
`DerivedReader`: facts, thresholds and earlier derived facts, never outputs.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Protocol

from .diagnostics import ERROR, did_you_mean, pointer_join, type_name
from .model import ARITH_OPS, NUMERIC_TYPES, Arith, Derived, FactSpec, Loc, OutputSpec, Ref, Round, Rounding, Threshold
from .values import decimal_text, literal

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DEFAULT_ROUND_MODE = "half_even"  # as `div` rounds: no bias over many values; docs say so


class Reporter(Protocol):
    """What the reader needs of the validator's builder."""

    facts_by_name: dict[str, FactSpec]
    thresholds_by_name: dict[str, Threshold]
    derived_by_name: dict[str, Derived]  # the derived facts read so far, in declaration order
    broken_derived: set[str]  # derived facts whose expression was wrong (reported once)
    used_thresholds: set[str]
    mentioned_facts: set[str]

    def report(self, code: str, message: str, pointer: str, *, severity: str = ERROR, hint: str | None = None,
               rule: str | None = None, at_key: bool = False) -> None: ...

    def loc(self, pointer: str, at_key: bool = False) -> Loc: ...


def number(value) -> Decimal:
    """A YAML number as the decimal its text says (`repr` of a float: `1.2` is 1.2); a
    Decimal as it is."""
    if type(value) is Decimal:
        return value
    return Decimal(value) if type(value) is int else Decimal(repr(value))


def is_expr_form(raw, output_type: str) -> bool:
    """Whether a YAML `set` value or output default is an expression rather than a literal:
    an operation, or (for a numeric output) a bare name. A quoted number (`"50"`) is not a
    name: it stays a literal of the wrong type (`output-type-mismatch`)."""
    if isinstance(raw, dict):
        return True
    return output_type in NUMERIC_TYPES and isinstance(raw, str) and NAME.match(raw) is not None


def names_in(raw) -> set[str]:
    """The bare names a YAML expression mentions (facts, thresholds, outputs), unchecked."""
    if isinstance(raw, str):
        return {raw} if NAME.match(raw) else set()
    if isinstance(raw, list):
        return set().union(*(names_in(v) for v in raw))
    if isinstance(raw, dict):
        return set().union(*(names_in(v) for k, v in raw.items() if k not in ("mode", "to")))
    return set()


def rounding(raw: dict, ptr: str, b: Reporter, rule_id: str | None) -> Rounding | None:
    """`to:` and `mode:` of a `round` (an output's `round:` or a `{round: e, …}`)."""
    if "to" not in raw:
        b.report("expr-malformed", "`round` needs `to:` (the multiple to round to)", ptr, rule=rule_id,
                 hint="e.g. `{round: e, to: 100, mode: down}`")
        return None
    to = raw["to"]
    if not to > 0:
        b.report("expr-malformed", f"`to: {literal(to)}` must be above 0", pointer_join(ptr, "to"), rule=rule_id,
                 hint="round to a positive multiple such as `100`, `1` or `0.01`")
        return None
    return Rounding(number(to), raw.get("mode", DEFAULT_ROUND_MODE))


class ExprReader:
    """Builds the expressions of one output's values. `earlier` are the outputs declared
    before it (the only ones it may read)."""

    numeric_hint = "use an integer or number fact, threshold or output"

    def __init__(self, b: Reporter, outputs: dict[str, OutputSpec], output: str, earlier: tuple[str, ...],
                 declared: tuple[str, ...]):
        self.b, self.outputs, self.output, self.earlier, self.declared = b, outputs, output, earlier, declared

    def read(self, raw, ptr: str, rule_id: str | None):
        """The expression of `raw` (a literal number becomes a `Decimal`), or None after
        reporting why it is not one."""
        if isinstance(raw, bool):
            self.b.report("expr-operand-type", f"`{literal(raw)}` is boolean; arithmetic takes numbers", ptr,
                          rule=rule_id)
            return None
        if isinstance(raw, (int, float)):
            return number(raw)
        if isinstance(raw, str):
            return self.name(raw, ptr, rule_id)
        if isinstance(raw, dict):
            return self.operation(raw, ptr, rule_id)
        self.b.report("expr-operand-type", f"{type_name(raw)} is not an expression", ptr, rule=rule_id)
        return None

    def name(self, name: str, ptr: str, rule_id: str | None):
        b = self.b
        loc = b.loc(ptr)
        fact, threshold = b.facts_by_name.get(name), b.thresholds_by_name.get(name)
        if name in self.declared and (fact or threshold):
            other = "a fact" if fact else "a threshold"
            b.report("expr-ambiguous-name", f"`{name}` is both an output and {other}", ptr, rule=rule_id,
                     hint=f"rename the output or the {other[2:]}")
            return None
        if fact is not None:
            b.mentioned_facts.add(name)
            if fact.type not in NUMERIC_TYPES:
                b.report("expr-operand-type", f"fact `{name}` is {fact.type}; arithmetic takes numbers", ptr,
                         rule=rule_id, hint=self.numeric_hint)
                return None
            return Ref("fact", name, loc)
        if threshold is not None:
            b.used_thresholds.add(name)
            v = threshold.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                what = "a list" if isinstance(v, tuple) else f"{type_name(v)} `{literal(v)}`"
                b.report("expr-operand-type", f"threshold `{name}` is {what}; arithmetic takes numbers", ptr,
                         rule=rule_id, hint="use a numeric threshold")
                return None
            return Ref("threshold", name, loc)
        if name in b.derived_by_name:
            return Ref("derived", name, loc)
        if name in b.broken_derived:
            return None  # its own expression is wrong, and was reported
        if name in self.earlier:
            spec = self.outputs[name]
            if spec.type not in NUMERIC_TYPES:
                b.report("expr-operand-type", f"output `{name}` is {spec.type}; arithmetic takes numbers", ptr,
                         rule=rule_id)
                return None
            return Ref("output", name, loc)
        if name == self.output:
            b.report("expr-unknown-name", f"output `{name}` cannot read itself", ptr, rule=rule_id,
                     hint="an expression reads facts, thresholds and outputs declared before this one")
            return None
        if name in self.declared:
            b.report("expr-unknown-name", f"output `{name}` is declared after `{self.output}`, so `{self.output}` "
                     "cannot read it", ptr, rule=rule_id,
                     hint=f"declare `{name}` before `{self.output}` under `outputs:`")
            return None
        return self.unknown(name, ptr, rule_id)

    def unknown(self, name: str, ptr: str, rule_id: str | None):
        b = self.b
        known = list(b.facts_by_name) + list(b.thresholds_by_name) + list(b.derived_by_name) + list(self.earlier)
        # (a policy without derived facts keeps its v2 message word for word)
        what = "a fact, threshold, derived fact or earlier output" if b.derived_by_name else \
            "a fact, threshold or earlier output"
        b.report("expr-unknown-name", f"`{name}` is not {what}", ptr, rule=rule_id,
                 hint=did_you_mean(name, known) or "declare it under `facts:` or `thresholds:`")
        return None

    def operation(self, raw: dict, ptr: str, rule_id: str | None):
        b = self.b
        ops = [k for k in raw if k in ARITH_OPS or k == "round"]
        if len(ops) != 1:
            if ops:
                message = f"an operation has one operator, found {' and '.join(f'`{o}`' for o in ops)}"
            else:
                message = f"{' and '.join(f'`{k}`' for k in raw)} without `round`"
            b.report("expr-malformed", message, ptr, rule=rule_id,
                     hint="nest operations: `{min: [{mul: [a, b]}, c]}`; `to` and `mode` go with `round`")
            return None
        op = ops[0]
        optr = pointer_join(ptr, op)
        if op != "round":
            extra = [k for k in raw if k != op]
            if extra:
                b.report("expr-malformed", f"`{extra[0]}` goes with `round`, not `{op}`", pointer_join(ptr, extra[0]),
                         rule=rule_id, at_key=True, hint=f"`{{round: {{{op}: [...]}}, to: 100}}`")
                return None
            args = [self.read(a, pointer_join(optr, i), rule_id) for i, a in enumerate(raw[op])]
            if any(a is None for a in args):
                return None
            return Arith(op, tuple(args), b.loc(ptr, at_key=True))
        arg = self.read(raw["round"], optr, rule_id)
        r = rounding(raw, ptr, b, rule_id)
        if arg is None or r is None:
            return None
        return Round(arg, r, b.loc(ptr, at_key=True))


class DerivedReader(ExprReader):
    """Builds the expression of one derived fact: it reads facts, thresholds and the derived
    facts declared before it (`b.derived_by_name` holds exactly those while it reads),
    never outputs (they are computed from conditions that may read derived facts)."""

    numeric_hint = "use an integer or number fact, threshold or earlier derived fact"

    def __init__(self, b: Reporter, derived: str, declared: tuple[str, ...], outputs: tuple[str, ...]):
        super().__init__(b, {}, derived, (), ())
        self.declared_derived, self.output_names = declared, outputs

    def name(self, name: str, ptr: str, rule_id: str | None):
        b = self.b
        if name in b.facts_by_name or name in b.thresholds_by_name or name in b.derived_by_name \
                or name in b.broken_derived:
            return super().name(name, ptr, rule_id)
        if name == self.output:
            b.report("expr-unknown-name", f"derived fact `{name}` cannot read itself", ptr,
                     hint="a derived fact reads facts, thresholds and derived facts declared before it")
        elif name in self.declared_derived:
            b.report("expr-unknown-name", f"derived fact `{name}` is declared after `{self.output}`, so "
                     f"`{self.output}` cannot read it", ptr,
                     hint=f"declare `{name}` before `{self.output}` under `derived:`")
        elif name in self.output_names:
            b.report("expr-unknown-name", f"derived fact `{self.output}` cannot read output `{name}`", ptr,
                     hint="derived facts are computed before any rule: they read facts, thresholds and earlier "
                          "derived facts; compute it as an output instead")
        else:
            known = list(b.facts_by_name) + list(b.thresholds_by_name) + list(b.derived_by_name)
            b.report("expr-unknown-name", f"`{name}` is not a fact, threshold or earlier derived fact", ptr,
                     hint=did_you_mean(name, known) or "declare it under `facts:` or `thresholds:`")
        return None


def expr_text(e) -> str:
    """An expression as the author writes it, in YAML flow style: `{mul: [current_limit_yuan,
    1.2]}`, `{round: …, to: 100, mode: down}` (messages, diffs)."""
    if type(e) is Decimal:
        return decimal_text(e)
    if isinstance(e, Ref):
        return e.name
    if isinstance(e, Arith):
        return f"{{{e.op}: [{', '.join(expr_text(a) for a in e.args)}]}}"
    if isinstance(e, Round):
        return f"{{round: {expr_text(e.arg)}, to: {decimal_text(e.rounding.to)}, mode: {e.rounding.mode}}}"
    return literal(e)
