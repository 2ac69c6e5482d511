"""Conditions as regions: where each condition of a policy is definitely true and definitely false.

Kleene logic is kept exactly by carrying two regions per condition: where it is definitely
true (T) and definitely false (F); a point where a leaf reads a missing fact lies in
neither (unknown). `all` is the intersection of the Ts and the union of the Fs, `any` the
reverse, `not` swaps them. Rules that read other rules' conclusions (`outcome`, `flag`,
`rule`) read those regions, stratum by stratum, as evaluation does; `known` and `chosen`
are the regions of each outcome as `Plan.select_outcome` decides it.
"""

from __future__ import annotations

import datetime
import itertools

from ..errors import Incomplete
from ..language.conditions import fold, walk
from ..language.model import (PRESENCE_OP, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT, SUBJECT_RULE, Comparison,
                              FactSpec, Length, Policy, is_expr)
from ..runtime.expressions import _combine_literals
from ..runtime.semantics import Plan, compare, operand_value
from . import lists, opaque
from .budget import Budget
from .cells import Dim, Space
from .dates import leaf_operand
from .regions import intersect, subtract, union

#: Setters of an output read by a condition beyond which their 2^n combinations are not
#: enumerated (an output combined `first` needs only one region per setter).
MAX_SETTERS = 8


def truth(op: str, value, operand) -> bool:
    """`value op operand` as evaluation compares a present value (`length` by its count)."""
    if isinstance(operand, Length):
        return compare(operand.op, len(value), operand.operand.value)
    return compare(op, value, operand)


def leaf_masks(dim: Dim, spec: FactSpec, leaf: Comparison, as_of: datetime.date) -> tuple[int, int]:
    """(true, false) cell masks of a leaf on one fact, its relative dates resolved on
    `as_of`; the absent cell is in neither, unless the fact has a default (then absence
    reads as the default). A presence test is never unknown: `missing: true` is exactly
    the absent cell (empty when the fact has a default, which evaluation fills in)."""
    if leaf.op == PRESENCE_OP:
        absent = 0 if spec.has_default else dim.absent
        t = absent if leaf.operand.value else dim.full & ~absent
        return t, dim.full & ~t
    operand = leaf_operand(leaf, as_of)
    if leaf.op in ("in", "not_in"):
        # Membership in a set, not a scan of the list: once per cell, and a pilot-city list
        # of 60,000 values has 60,001 cells (a tuple made validate quadratic: 17 CPU s).
        operand = frozenset(operand)
    t = f = 0
    for i, c in enumerate(dim.cells):
        v = dim.rep(i)
        if c.kind == "absent":
            if not spec.has_default:
                continue  # unknown: neither true nor false
            v = spec.default
        try:
            ok = compare(leaf.op, v, operand)
        except TypeError:  # a value of another declaration's type (diff across a type change)
            ok = False
        if ok:
            t |= 1 << i
        else:
            f |= 1 << i
    return t, f


def fact_leaf_regions(space: Space, policy: Policy, leaf: Comparison) -> tuple[list, list]:
    """(T, F) regions of a leaf on one fact (not a fact-to-fact comparison): a box on the
    fact's axis, or on a list fact's axes a union of boxes (`lists`); not yet cut to the
    space's valid points (`Regions._leaf` does that)."""
    if leaf.subject in space.lists and leaf.op != PRESENCE_OP:
        return lists.leaf_regions(space, space.lists[leaf.subject], leaf)
    k = space.axis(leaf)
    t, f = leaf_masks(space.dims[k], policy.facts[leaf.subject], leaf, space.as_of)
    return space.region_at(k, t), space.region_at(k, f)


def _outcome_closure(policy: Policy, plan: Plan) -> set[int]:
    """The rules that decide an outcome, and every rule they read through `rule:` and
    `flag:` conditions, transitively (outcome rules never read the outcome)."""
    todo = [r.index for r in policy.rules if r.decides_outcome]
    seen: set[int] = set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        for leaf in policy.rules[i].leaves:
            if leaf.kind == SUBJECT_RULE:
                todo.append(plan.rule_index[leaf.subject])
            elif leaf.kind == SUBJECT_FLAG:
                todo.extend(plan.flag_setters.get(leaf.subject, ()))
            elif leaf.kind == SUBJECT_OUTPUT:
                todo.extend(r.index for r in policy.rules if any(n == leaf.subject for n, _ in r.then.set))
    return seen


class Regions:
    """T/F regions of every rule (and every condition node) of one policy, and of its outcomes.

    Every region operation charges `budget` (a fresh default `Budget` when none is given)
    and raises `Incomplete` past it. With `only_outcomes`, just the rules that decide an
    outcome and those they read are computed (the others' T and F stay None): enough for
    `known` and `chosen`, and all that counterfactuals need."""

    def __init__(self, policy: Policy, space: Space, budget: Budget | None = None, only_outcomes: bool = False):
        self.policy = policy
        self.space = space
        self.budget = budget if budget is not None else Budget()
        self.plan = Plan(policy)
        n = len(policy.rules)
        self.T: list = [None] * n
        self.F: list = [None] * n
        self.nodes: dict[int, list] = {}  # rule index → [(node, T, F)] in pre-order
        self._nt: dict[int, list] = {}
        self._nf: dict[int, list] = {}
        self._known: dict | None = None
        self._flags: dict[str, tuple] = {}
        self._fact_leaves: dict[tuple, tuple[list, list]] = {}  # see `_leaf`
        wanted = _outcome_closure(policy, self.plan) if only_outcomes else None
        for stratum in policy.strata:
            for i in stratum:
                if wanted is not None and i not in wanted:
                    continue
                acc: list = []
                self.T[i], self.F[i] = self._cond(policy.rules[i].when, acc)
                self.nodes[i] = acc

    # complements, computed once and only where needed
    def NT(self, i: int) -> list:
        """Where rule `i` is not definitely true (false or unknown)."""
        if i not in self._nt:
            self._nt[i] = self.F[i] if self.space.total else subtract(self.space.universe, self.T[i], self.budget)
        return self._nt[i]

    def NF(self, i: int) -> list:
        """Where rule `i` is not definitely false (true or unknown)."""
        if i not in self._nf:
            self._nf[i] = self.T[i] if self.space.total else subtract(self.space.universe, self.F[i], self.budget)
        return self._nf[i]

    def _leaf(self, leaf: Comparison) -> tuple[list, list]:
        # A fact leaf's regions depend on what it compares only: a first-hit table row
        # restates earlier rows' cells (n²/2 copies for n rows), each computed once.
        key = (leaf.subject, leaf.op, leaf.operand) if leaf.kind == "fact" else None
        if key is not None:
            try:
                hit = self._fact_leaves.get(key)
            except TypeError:  # an operand that is not hashable: computed each time
                key = hit = None
            if hit is not None:
                return hit
        t, f = self._leaf_regions(leaf)
        if self.space.constrained:  # only the points that are fact sets (a list's bounds)
            t = intersect(t, self.space.universe, self.budget)
            f = intersect(f, self.space.universe, self.budget)
        if key is not None:
            self._fact_leaves[key] = (t, f)
        return t, f

    def _leaf_regions(self, leaf: Comparison) -> tuple[list, list]:
        if opaque.is_opaque(leaf):
            return self._opaque(leaf)
        if leaf.kind == SUBJECT_OUTPUT:
            return self._output(leaf)
        if leaf.kind == "fact":
            return fact_leaf_regions(self.space, self.policy, leaf)
        if leaf.kind == SUBJECT_RULE:
            j = self.plan.rule_index[leaf.subject]
            return self.T[j], self.F[j]
        if leaf.kind == SUBJECT_FLAG:
            return self.flag(leaf.subject)
        if leaf.kind == SUBJECT_OUTCOME:
            known = self.known()
            operand = operand_value(leaf)
            t_parts, f_parts = [], []
            for value, region in known.items():
                ok = leaf.op in ("ne", "not_in") if value is None else compare(leaf.op, value, operand)
                (t_parts if ok else f_parts).append(region)
            return union(t_parts, self.budget), union(f_parts, self.budget)
        raise ValueError(leaf.kind)

    def _opaque(self, leaf: Comparison) -> tuple[list, list]:
        """A derived fact or fact-to-fact comparison on its own axis (`opaque`), or Incomplete."""
        key = opaque.relation_key(leaf) if opaque.is_relation(leaf) else leaf.subject
        k = self.space.pseudo.get(key)
        if k is None:
            raise opaque.refuse(leaf)
        d = self.space.dims[k]
        if opaque.is_relation(leaf):
            return self.space.region_at(k, 2), self.space.region_at(k, 1)
        operand = opaque.derived_leaf_operand(leaf)
        t = f = 0
        for i, c in enumerate(d.cells):
            if c.kind == "absent":
                continue
            if compare(leaf.op, d.rep(i), operand):
                t |= 1 << i
            else:
                f |= 1 << i
        return self.space.region_at(k, t), self.space.region_at(k, f)

    def _output(self, leaf: Comparison) -> tuple[list, list]:
        """An output's value substituted: the regions of its setters' matches (earlier
        strata), each combination of them giving one value. Exact when every setter is a
        rule without an outcome setting a literal; else Incomplete."""
        name = leaf.subject
        spec = self.policy.outputs[name]
        setters = [(r.index, v) for r in self.policy.rules for n, v in r.then.set if n == name]
        if spec.computed or any(self.policy.rules[i].decides_outcome or is_expr(v) for i, v in setters):
            raise Incomplete(f"a condition on output `{name}` reads a value an outcome or an expression decides")
        if any(self.T[i] is None for i, _ in setters):
            raise Incomplete(f"a condition on output `{name}` is read before its setters' regions")
        operand = leaf.operand if isinstance(leaf.operand, Length) else operand_value(leaf)
        b = self.budget
        t_parts, f_parts = [], []
        first = spec.combine in (None, "first")
        if first and len(setters) > MAX_SETTERS:
            # The first setter that matches decides, once every setter is known.
            known = self.space.universe
            for i, _ in setters:
                known = intersect(known, union([self.T[i], self.F[i]], b), b)
            before = self.space.universe
            for i, v in setters:
                (t_parts if truth(leaf.op, v, operand) else f_parts).append(intersect(before, self.T[i], b))
                before = intersect(before, self.F[i], b)
            (t_parts if truth(leaf.op, spec.default, operand) else f_parts).append(before)
            return (intersect(union(t_parts, b), known, b), intersect(union(f_parts, b), known, b))
        if len(setters) > MAX_SETTERS:
            raise Incomplete(f"output `{name}` has more than {MAX_SETTERS} setters to combine")
        for matched in itertools.product((True, False), repeat=len(setters)):
            region = self.space.universe
            for (i, _), m in zip(setters, matched):
                region = intersect(region, self.T[i] if m else self.F[i], b)
                if not region:
                    break
            if not region:
                continue
            values = [v for (_, v), m in zip(setters, matched) if m]
            # As `OutputPlan.compute` combines literals (`count`: how many contributed).
            value = (len(values) if values else spec.default) if spec.combine == "count" else \
                _combine_literals(spec, values, spec.default)
            (t_parts if truth(leaf.op, value, operand) else f_parts).append(region)
        return union(t_parts, b), union(f_parts, b)

    def _cond(self, cond, acc: list) -> tuple[list, list]:
        """(T, F) of a condition; `acc` receives `(node, T, F)` for every node, in pre-order."""
        b = self.budget
        done: dict[int, tuple[list, list]] = {}  # id(node) → (T, F); nodes live in `cond`

        def keep(node, tf: tuple[list, list]) -> tuple[list, list]:
            done[id(node)] = tf
            return tf

        def all_(node, parts: list) -> tuple[list, list]:
            t = self.space.universe
            for pt, _ in parts:
                t = intersect(t, pt, b)
            f = union([pf for _, pf in parts], b)
            return keep(node, (t, f))

        def any_(node, parts: list) -> tuple[list, list]:
            t = union([pt for pt, _ in parts], b)
            f = self.space.universe
            for _, pf in parts:
                f = intersect(f, pf, b)
            return keep(node, (t, f))

        t, f = fold(cond, lambda c: keep(c, self._leaf(c)), all_, any_, lambda node, tf: keep(node, (tf[1], tf[0])))
        acc.extend((node, *done[id(node)]) for node, _, _ in walk(cond))
        return t, f

    def condition(self, cond) -> tuple[list, list]:
        """(T, F) regions of a condition that is not a rule's (an acknowledgement's `where`)."""
        return self._cond(cond, [])

    def flag(self, name: str) -> tuple[list, list]:
        """(T, F) of a flag: raised where some setter is true, not where every setter is false."""
        if name not in self._flags:
            setters = self.plan.flag_setters.get(name, ())
            t = union([self.T[i] for i in setters], self.budget)
            f = subtract(self.space.universe, union([self.NF(i) for i in setters], self.budget), self.budget)
            self._flags[name] = (t, f)
        return self._flags[name]

    def known(self) -> dict:
        """Outcome value → region where evaluation knows that outcome (None: known to be none)."""
        if self._known is None:
            b = self.budget
            out: dict = {}
            higher_nf: list = []
            for outcome, rules in self.plan.outcome_rules:
                mine = union([self.T[i] for i in rules], b)
                out[outcome] = subtract(mine, higher_nf, b)
                higher_nf = union([higher_nf, *[self.NF(i) for i in rules]], b)
            rest = subtract(self.space.universe, higher_nf, b)
            key = self.policy.default
            out[key] = union([out.get(key, []), rest], b)
            self._known = out
        return self._known

    def chosen(self) -> dict:
        """Outcome value → region where evaluation reports that outcome (as `select_outcome`)."""
        b = self.budget
        out: dict = {}
        higher_t: list = []
        for outcome, rules in self.plan.outcome_rules:
            mine = union([self.T[i] for i in rules], b)
            out[outcome] = subtract(mine, higher_t, b)
            higher_t = union([higher_t, mine], b)
        rest = subtract(self.space.universe, higher_t, b)
        key = self.policy.default
        out[key] = union([out.get(key, []), rest], b)
        return out
