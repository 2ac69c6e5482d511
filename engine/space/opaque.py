"""Leaves that are not boxes of the facts: derived facts and fact-to-fact comparisons.

`debt_to_income < 0.4` (a derived fact, `div: [monthly_debt, monthly_income]`) or
`requested < {fact: monthly_income}` cut the fact space along curves, not cell bounds. A
space built with `opaque=True` gives each of them an axis of its own: a derived fact an
axis cut at the constants it is compared with (exact decimals, as evaluation compares
them), a fact-to-fact comparison a boolean axis — each with an absent cell when the value
can be missing. Every real fact set x is then one point φ(x) of the larger space (its
facts, and on the new axes the values evaluation computes: `derived_values`, `compare`),
and every region of a condition, restricted to those points, is exactly the fact sets
where it holds. Hence:

- a region that is empty in the larger space is empty for real fact sets: a claim that no
  user exists is proven;
- a region that is not empty may still hold no real point (the axes are not independent):
  a claim that a user exists needs a witness x found by search (`Search`), with φ(x) in the
  region; when none is found the claim is not made (`analysis-incomplete`).

Without `opaque=True` (diff, boundary suites) such a leaf makes the computation
`Incomplete`: never a region that pretends the axes are free.
"""

from __future__ import annotations

import itertools
from decimal import Decimal, DecimalException

from ..errors import FactsError, Incomplete, InternalError
from ..language.model import OP_SYMBOL, Comparison, Operand, Policy, Ref
from ..runtime.expressions import to_decimal
from ..runtime.semantics import compare
from .budget import Budget

DERIVED = "derived"
RELATION = "relation"
#: Fact sets a search for a witness may evaluate (charged to the budget as well).
MAX_SEARCH = 4000
#: Integer cells of at most this many values (plus one) are searched value by value.
SMALL_CELL = 63


def fact_operands(leaf: Comparison) -> tuple:
    ops = leaf.operand if leaf.op == "between" else (leaf.operand,)
    return tuple(o for o in ops if isinstance(o, Operand) and o.fact is not None)


def is_relation(leaf: Comparison) -> bool:
    return leaf.kind in ("fact", DERIVED) and bool(fact_operands(leaf))


def is_opaque(leaf: Comparison) -> bool:
    return leaf.kind == DERIVED or is_relation(leaf)


def relation_key(leaf: Comparison) -> str:
    """The name of a comparison's own axis: its text (`requested < monthly_income`)."""
    def text(o: Operand) -> str:
        return o.fact if o.fact is not None else o.describe()

    if leaf.op == "between":
        return f"{leaf.subject} between {text(leaf.operand[0])} and {text(leaf.operand[1])}"
    return f"{leaf.subject} {OP_SYMBOL[leaf.op]} {text(leaf.operand)}"


def refs(expr, out: list) -> list:
    """Every `Ref` of an expression."""
    if isinstance(expr, Ref):
        out.append(expr)
    for a in getattr(expr, "args", ()) or ():
        refs(a, out)
    arg = getattr(expr, "arg", None)
    if arg is not None:
        refs(arg, out)
    return out


def inputs(policy: Policy, name: str) -> list[str]:
    """The facts a derived fact (or a fact: itself) reads, transitively, in order."""
    if name in policy.facts:
        return [name]
    out: list[str] = []
    for r in refs(policy.derived[name].expr, []):
        more = inputs(policy, r.name) if r.kind in ("fact", DERIVED) else []
        out.extend(n for n in more if n not in out)
    return out


class DerivedValues:
    """A policy's derived facts at normalized facts, by the runtime's one evaluator
    (`OutputPlan.derive`); a value beyond exact arithmetic reads as missing here (such a
    fact set is no witness: evaluation would refuse it)."""

    def __init__(self, policy: Policy):
        from ..runtime.expressions import OutputPlan

        self.plan = OutputPlan(policy)

    def __call__(self, facts) -> dict:
        try:
            return self.plan.derive(facts)
        except (FactsError, InternalError, DecimalException, TypeError):
            return {}


def _num(v):
    return to_decimal(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def value_of(policy: Policy, name: str, facts, derived: dict):
    return derived.get(name) if name in policy.derived else facts.get(name)


def relation_value(policy: Policy, leaf: Comparison, facts, derived: dict):
    """Evaluation's value of a fact-to-fact comparison: None when a value is missing."""
    left = value_of(policy, leaf.subject, facts, derived)

    def side(o: Operand):
        return value_of(policy, o.fact, facts, derived) if o.fact is not None else o.value

    if leaf.op == "between":
        operand = (side(leaf.operand[0]), side(leaf.operand[1]))
        vals = (left, *operand)
    else:
        operand = side(leaf.operand)
        vals = (left, operand)
    if any(v is None for v in vals):
        return None
    if any(isinstance(v, Decimal) for v in vals):  # numbers compared exactly, as decimals
        left = _num(left)
        operand = tuple(map(_num, operand)) if leaf.op == "between" else _num(operand)
    return compare(leaf.op, left, operand)


def derived_leaf_operand(leaf: Comparison):
    """A derived leaf's operand as exact decimals (a float literal is the decimal it says)."""
    if leaf.op == "between":
        return (_num(leaf.operand[0].value), _num(leaf.operand[1].value))
    v = leaf.operand.value
    return tuple(map(_num, v)) if isinstance(v, tuple) else _num(v)


def can_be_missing(policy: Policy, name: str) -> bool:
    names = inputs(policy, name)
    return any(not policy.facts[n].required and not policy.facts[n].has_default for n in names
               if n in policy.facts)


def derived_constants(policies, name: str) -> set:
    out: set = set()
    for p in policies:
        for r in p.rules:
            for leaf in r.leaves:
                if leaf.kind == DERIVED and leaf.subject == name and not is_relation(leaf):
                    v = derived_leaf_operand(leaf)
                    out.update(v if isinstance(v, tuple) else (v,))
    return out


def opaque_leaves(policies) -> list[tuple[Policy, Comparison]]:
    return [(p, leaf) for p in policies for r in p.rules for leaf in r.leaves if is_opaque(leaf)]


def refuse(leaf: Comparison) -> Incomplete:
    what = f"derived fact `{leaf.subject}`" if leaf.kind == DERIVED else f"`{relation_key(leaf)}`"
    return Incomplete(f"a condition on {what} is not a region of the declared facts")


class Search:
    """Witnesses for regions of a space with opaque axes: a real fact set x with φ(x) in
    the region, found by trying values of the facts the constrained axes read (within the
    box's own cells of those facts, every other fact at the box's point)."""

    def __init__(self, space, policy: Policy, budget: Budget):
        self.space = space
        self.policy = policy
        self.budget = budget
        self.derived = DerivedValues(policy)
        self.exhausted = False  # whether the last `find` that found nothing tried everything

    def phi(self, facts: dict) -> tuple | None:
        """The cell of every axis at the real fact set `facts` (None outside the space)."""
        values = self.space.pseudo_values(self.policy, facts, self.derived(facts))
        try:
            return tuple(self.space.cell_at(k, values.get(d.name, facts.get(d.name)) if d.frame in (DERIVED, RELATION)
                                            else facts.get(d.name)) for k, d in enumerate(self.space.dims))
        except ValueError:
            return None

    def constrained(self, box: tuple) -> list[int]:
        return [k for k, d in enumerate(self.space.dims) if d.frame in (DERIVED, RELATION) and box[k] != d.full]

    def find(self, region: list):
        """A real fact set in `region`, or None when the search finds none. `exhausted`
        then says whether the search tried every fact set of the region (every value of
        the facts the constrained axes read: small integer cells, enums, booleans): then
        None is a proof that the region holds no user."""
        from .regions import contains

        tried = 0
        self.exhausted = False
        every = True
        for box in region:
            base = self.space.point(box)
            pseudo = self.constrained(box)
            if not pseudo:
                return base
            feeding: list[int] = []
            for k in pseudo:
                d = self.space.dims[k]
                for n in self.space.pseudo_inputs.get(d.name, ()):
                    j = self.space.index.get(n)
                    if j is not None and j not in feeding:
                        feeding.append(j)
            choices = []
            for j in feeding:
                values, complete = self.space.candidates(j, box[j])
                choices.append(values)
                every = every and complete
            for combo in itertools.product(*choices):
                tried += 1
                if tried > MAX_SEARCH:
                    return None
                self.budget.spend(len(self.space.dims))
                facts = dict(base)
                for j, v in zip(feeding, combo):
                    name = self.space.dims[j].name
                    if v is None:
                        facts.pop(name, None)
                    else:
                        facts[name] = v
                cells = self.phi(facts)
                if cells is not None and contains([box], cells):
                    return facts
        self.exhausted = every
        return None


def numeric_candidates(cell, integer: bool) -> list:
    """Values to try inside a numeric cell: its ends, and points spread over it (a derived
    boundary can be anywhere inside one cell of an input fact)."""
    lo, hi = cell.lo, cell.hi
    spread = [0, 1, 2, 3, 5, 10, 20, 50, 100, 1000, 10_000, 100_000, 1_000_000]
    if not integer:
        spread = [0, 0.01, 0.1, 0.25, 0.5, *spread[1:]]
    out = []
    if lo is not None and hi is not None and lo == hi:
        return [lo]
    if lo is not None:
        out.extend(lo + s for s in spread)
    elif hi is not None:
        out.extend(hi - s for s in spread)
    else:
        out.extend([*spread, *(-s for s in spread[1:])])
    if lo is not None and hi is not None:
        out.extend([hi, (lo + hi) / 2])
    ok = []
    for v in out:
        if integer:
            v = int(v) if float(v).is_integer() else None
        if v is None or v in ok:
            continue
        if lo is not None and (v < lo or (v == lo and not cell.lo_closed)):
            continue
        if hi is not None and (v > hi or (v == hi and not cell.hi_closed)):
            continue
        ok.append(v)
    return ok

