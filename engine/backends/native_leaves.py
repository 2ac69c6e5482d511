"""How the native backend writes a policy's values and conditions as Python source.

`literal` is the one writer of policy values into source (exact types only: see its
docstring); `LeafWriter` writes one condition leaf as an expression and says whether it can
be unknown (None), for `native_codegen._Gen`, which mixes it in; `junction`, `negation` and
`as_bool` combine the written parts. Pure: IR in, text out.
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

from ..language.model import (PRESENCE_OP, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT,
                              SUBJECT_RULE, Comparison, Length, RelativeDate)
from ..runtime.semantics import is_v3_leaf, written_operand

PY_OP = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def literal(value) -> str:
    """A validated scalar as Python source. Exact types (`type(v) in …`, not `isinstance`):
    a subclass of `str` or `int` could override `__repr__` and write code, and `bool`, a
    subclass of `int`, is named for itself. `repr` of a non-finite float is no literal
    (`inf` would be read as a name); validation never lets one through."""
    if type(value) in (str, int, bool) or (type(value) is float and math.isfinite(value)):
        return repr(value)
    if type(value) is datetime.date:  # three ints we read: nothing of the policy's text
        return f"_date({int(value.year)}, {int(value.month)}, {int(value.day)})"
    if type(value) is Decimal and value.is_finite():  # ints again: sign, digits, exponent
        sign, digits, exponent = value.as_tuple()
        return f"_Dec(({int(sign)}, {tuple_display([str(int(d)) for d in digits])}, {int(exponent)}))"
    raise TypeError(f"unexpected value in generated code: {type(value).__name__} {value!r}")


def number_literal(value) -> str:
    """A threshold of a number fact, as a float literal when that is the same number, so
    float facts meet CPython's float compare specialization (int/float compares are exact
    in Python either way)."""
    if type(value) is int and abs(value) <= 2**53:
        return repr(float(value))
    return literal(value)


def tuple_display(items) -> str:
    """A tuple display of already-rendered items (a one-item tuple keeps its comma)."""
    return "(" + "".join(f"{item}, " for item in items).rstrip(" ") + ")" if items else "()"


def junction(parts: list[tuple[str, bool]], kleene: str, joiner: str) -> tuple[str, bool]:
    """An `all`/`any` of rendered parts: Python's `and`/`or` where every part is definite,
    else the Kleene helper over all of them (no short-circuit on unknown). An empty `all`
    is true and an empty `any` false (a table row whose every cell is `-` is `All(())`)."""
    if not parts:
        return ("True" if joiner == " and " else "False"), False
    if any(m for _, m in parts):
        return f"{kleene}({tuple_display([p for p, _ in parts])})", True
    return "(" + joiner.join(p for p, _ in parts) + ")", False


def negation(_, part: tuple[str, bool]) -> tuple[str, bool]:
    inner, maybe = part
    return (f"_not3({inner})", True) if maybe else (f"(not {inner})", False)


def as_bool(code: str) -> str:
    """A definite (True/False) expression as a conditional: CPython specializes a comparison
    followed by a jump (int, float and str compares) but not one whose value is stored, and
    `a and b` in a condition jumps instead of keeping the operand on the stack. Same value."""
    bare = code.strip("()")
    return bare if bare.isidentifier() else f"True if {code} else False"


class LeafWriter:
    """The leaves of `_Gen` (which sets `policy`, `module`, `definite`, the variable maps and
    `relative`): each comparison as code, and whether it can be unknown."""

    def fact_maybe_none(self, name: str) -> bool:
        spec = self.policy.facts[name]
        return not self.definite and not spec.required and not spec.has_default

    def leaf(self, leaf: Comparison) -> tuple[str, bool]:
        """(expression, can be None)."""
        if is_v3_leaf(leaf):
            return self.leaf_v3(leaf)
        if leaf.op == PRESENCE_OP:  # never unknown; always present where it cannot be None
            var = self.fact_var[leaf.subject]
            if self.fact_maybe_none(leaf.subject):
                return f"({var} is {'' if leaf.operand.value else 'not '}None)", False
            return ("False" if leaf.operand.value else "True"), False
        if leaf.kind == "fact":
            var = self.fact_var[leaf.subject]
            cmp = self.compare(var, leaf)
            if self.fact_maybe_none(leaf.subject):
                return f"(None if {var} is None else {cmp})", True
            return f"({cmp})", False
        if leaf.kind == SUBJECT_RULE:
            i = next(r.index for r in self.policy.rules if r.id == leaf.subject)
            return f"m{i}", self.rule_maybe_none[i]
        if leaf.kind == SUBJECT_FLAG:
            if leaf.subject not in self.flag_maybe_none:  # no earlier rule raises it: known False
                return "False", False
            return f"fl_{self.flag_index[leaf.subject]}", self.flag_maybe_none[leaf.subject]
        if leaf.kind == SUBJECT_OUTCOME:
            cmp = self.compare("o", leaf)
            if self.outcome_maybe_unknown:
                return f"(None if o is _UNKNOWN else {cmp})", True
            return f"({cmp})", False
        raise ValueError(leaf.kind)

    # -- v3 leaves: derived facts, outputs, `{fact: …}` operands, list and string operators --
    def var_of(self, kind: str, name: str) -> tuple[str, bool, str]:
        """(variable, can be None, value class) of a subject or a `{fact: …}` operand's fact.
        The class says how numbers compare exactly: "dec" (a Decimal), "float" (an int or a
        float), "" (anything else)."""
        policy = self.policy
        if kind == SUBJECT_OUTPUT:
            spec = policy.outputs[name]
            cls = ("dec" if spec.computed else "float") if spec.type == "number" else ""
            return self.output_var[name], not self.definite, cls
        if name in self.derived_var:
            d = policy.derived[name]
            return self.derived_var[name], not self.definite, "dec" if d.type == "number" else ""
        return self.fact_var[name], self.fact_maybe_none(name), "float" if policy.facts[name].type == "number" else ""

    def end(self, operand, cls: str) -> tuple[str, bool, str]:
        """(code, can be None, value class) of one operand compared with a value of class `cls`."""
        if operand.fact is not None:
            return self.var_of("fact", operand.fact)
        value = operand.value
        if cls == "dec" and type(value) is float:  # compared exactly: the float's decimal
            return self.module.const(literal(Decimal(repr(value)))), False, "dec"
        return self.operand(value), False, ""

    def leaf_v3(self, leaf: Comparison) -> tuple[str, bool]:
        var, maybe, cls = self.var_of(leaf.kind, leaf.subject)
        op = leaf.op
        if op == PRESENCE_OP:  # on a derived fact: whether it is absent
            if maybe:
                return f"({var} is {'' if leaf.operand.value else 'not '}None)", False
            return ("False" if leaf.operand.value else "True"), False
        nullable = [var] if maybe else []
        ends = leaf.operand if op == "between" else (leaf.operand.operand,) if op == "length" else (leaf.operand,)
        # Exact numbers: where a Decimal takes part, floats are read as their decimals.
        target = cls
        if cls == "float" and any(o.fact is not None and self.var_of("fact", o.fact)[2] == "dec" for o in ends):
            target = "dec"
        subject = f"_dec({var})" if target == "dec" and cls == "float" else var

        def side(operand) -> str:
            code, can_be_none, other = self.end(operand, target)
            if can_be_none:
                nullable.append(code)
            return f"_dec({code})" if target == "dec" and other == "float" else code

        if op in PY_OP:
            cmp = f"{subject} {PY_OP[op]} {side(leaf.operand)}"
        elif op == "between":
            low, high = side(leaf.operand[0]), side(leaf.operand[1])
            cmp = f"{subject} >= {low} and {subject} <= {high}"
        elif op in ("in", "not_in"):
            items = [Decimal(repr(v)) if cls == "dec" and type(v) is float else v for v in leaf.operand.value]
            k = self.module.const(f"frozenset({tuple_display([literal(v) for v in items])})")
            cmp = f"{var} {'in' if op == 'in' else 'not in'} {k}"
        elif op == "contains":  # an item of a tuple, or a substring of a string: `in` either way
            cmp = f"{side(leaf.operand)} in {var}"
        elif op in ("contains_any", "contains_all"):
            k = self.module.const(f"frozenset({tuple_display([literal(v) for v in leaf.operand.value])})")
            cmp = f"not {k}.isdisjoint({var})" if op == "contains_any" else f"{k}.issubset({var})"
        elif op == "length":
            inner: Length = leaf.operand
            cmp = f"len({var}) {PY_OP[inner.op]} {side(inner.operand)}"
        elif op in ("starts_with", "ends_with"):
            cmp = f"{var}.{'startswith' if op == 'starts_with' else 'endswith'}({side(leaf.operand)})"
        else:
            raise ValueError(op)
        if nullable:
            return f"(None if {' or '.join(f'{n} is None' for n in dict.fromkeys(nullable))} else {cmp})", True
        return f"({cmp})", False

    def operand(self, value) -> str:
        """One operand as code: a relative date's per-call variable, a date's module
        constant (not a `_date(...)` call per evaluation), else the literal."""
        if value.__class__ is RelativeDate:
            return self.relative[value]
        if type(value) is datetime.date:
            return self.module.const(literal(value))
        return literal(value)

    def compare(self, var: str, leaf: Comparison) -> str:
        value = written_operand(leaf)
        ftype = self.policy.facts[leaf.subject].type if leaf.kind == "fact" else None
        if leaf.op in ("eq", "ne") and type(value) is bool and ftype == "boolean":
            # A normalized boolean fact is True or False itself: identity is exact and cheap,
            # and in `decide`, whose guards admit only bools, the value is the answer.
            if self.definite:
                return var if (leaf.op == "eq") == value else f"not {var}"
            return f"{var} {'is' if leaf.op == 'eq' else 'is not'} {literal(value)}"
        if ftype == "number" and leaf.op in PY_OP:
            return f"{var} {PY_OP[leaf.op]} {number_literal(value)}"
        if leaf.op in PY_OP:
            return f"{var} {PY_OP[leaf.op]} {self.operand(value)}"
        if leaf.op in ("in", "not_in"):
            k = self.module.const(f"frozenset({tuple_display([literal(v) for v in value])})")
            return f"{var} {'in' if leaf.op == 'in' else 'not in'} {k}"
        if leaf.op == "between":
            # Not a chained comparison: two plain ones specialize better in CPython 3.11+.
            return f"{var} >= {self.operand(value[0])} and {var} <= {self.operand(value[1])}"
        raise ValueError(leaf.op)
