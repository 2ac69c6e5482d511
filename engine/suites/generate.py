"""Generating a starter boundary suite: one case per reachable boundary point of a policy.

A small solver finds facts that let each threshold comparison decide its rule; every
generated case expects what the policy decides today, for an author to review. Date
comparisons get the day before, of and after their date (relative dates on the suite's
`as_of`, which the suite records); a presence test (`missing`) gets a case with the fact
absent and one with it present.

v3: a list fact's `contains`/`contains_any`/`contains_all` get a case where the list holds
the items and one where it lacks them, its `length op k` the lists of k-1, k and k+1
items; a string test (`starts_with`, `ends_with`, `contains`) a string with and one
without the text (strings of the fact's cells, `space.strings`); a derived fact's
comparison the points on both sides of its constant (and at it, where reachable), found by
changing one fact it reads (bisection on that fact, the value computed by the one
evaluator and checked before the case is written). The solver's state is a box of the
fact space (one cell mask per axis), so a list's several axes are solved together.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Iterable, NamedTuple

from ..language.conditions import ALL, ANY, LEAF, NOT, children, kind, walk
from ..language.model import PRESENCE_OP, Comparison, Policy, Rule
from ..runtime.semantics import today
from ..space.opaque import DerivedValues
from .coverage import Boundary, boundaries, decisive
from .model import UNSET


class _Solver:
    """Finds fact values that give leaf conditions required truth values.

    Works on the fact-space algebra's cells (`engine.space`): each fact's domain is split
    into cells on which every leaf is constant, so a set of requirements is a mask of
    allowed cells per fact. Leaves on conclusions (outcome, flag, rule) are not solved
    for; the generated case is checked by evaluation instead.
    """

    MAX_STEPS = 20000

    def __init__(self, policy: Policy, as_of: datetime.date | None = None):
        from ..space.cells import Space
        from ..space.conditions import fact_leaf_regions
        from ..space.opaque import is_opaque
        from ..space.regions import intersect
        from ..space.budget import Budget

        self.policy = policy
        self.space = Space([policy], as_of)
        budget = Budget()

        def cut(region: list) -> list:
            return intersect(region, self.space.universe, budget) if self.space.constrained else region

        # (T, F) regions of every leaf on one fact; a leaf on a derived fact, a fact-to-fact
        # comparison or an output is not solved for (the case is checked by evaluation).
        self.regions: dict[tuple[int, int], tuple[list, list]] = {
            (r.index, leaf.index): tuple(map(cut, fact_leaf_regions(self.space, policy, leaf)))
            for r in policy.rules for leaf in r.leaves if leaf.kind == "fact" and not is_opaque(leaf)}
        self.steps = 0

    def full(self) -> tuple:
        return self.space.universe[0] if len(self.space.universe) == 1 else self.space.full_box

    def satisfy(self, rule: Rule, cond, want: bool, state: dict[str, int]):
        """Every way (lazily) to make `cond` of `rule` evaluate to `want`."""
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            return
        # Not a fold: the ways are yielded lazily (callers take the first that fits) and the
        # backtracking search must not enumerate them all, so this dispatches on the kind.
        k = kind(cond)
        if k == LEAF:
            tf = self.regions.get((rule.index, cond.index))
            if tf is None:
                yield from self._conclusion(cond, want, state)
                return
            for box in tf[0] if want else tf[1]:
                z = tuple(a & b for a, b in zip(state, box))
                if all(z):
                    yield z
            return
        if k == NOT:
            yield from self.satisfy(rule, children(cond)[0], not want, state)
            return
        every = (k == ALL) == want  # all-true, or any-false: every child
        if every:
            yield from self._chain(rule, list(children(cond)), want, state)
        else:
            for child in children(cond):
                yield from self.satisfy(rule, child, want, state)

    def _conclusion(self, leaf: Comparison, want: bool, state: dict[str, int]):
        """Ways to give a leaf on another rule's conclusion (rule, flag, outcome) a value,
        through the conditions of the rules that conclude it (strata are acyclic)."""
        from ..runtime.semantics import compare, operand_value

        policy = self.policy
        if leaf.kind == "rule":
            target = policy.rule(leaf.subject)
            yield from self.satisfy(target, target.when, want, state)
        elif leaf.kind == "flag":
            setters = [r for r in policy.rules if leaf.subject in r.then.flags]
            if want:
                for r in setters:
                    yield from self.satisfy(r, r.when, True, state)
            else:
                yield from self._rules(setters, False, state)
        elif leaf.kind == "outcome":
            ids = policy.outcome_ids
            for i, o in enumerate(ids):
                if compare(leaf.op, o, operand_value(leaf)) != want:
                    continue
                earlier = [r for r in policy.rules if r.decides_outcome and r.then.outcome in ids[:i]]
                for r in policy.rules:
                    if r.then.outcome == o:
                        for s in self.satisfy(r, r.when, True, state):
                            yield from self._rules(earlier, False, s)
                if o == policy.default:
                    yield from self._rules([r for r in policy.rules if r.decides_outcome], False, state)
        elif leaf.kind == "output":
            # Through the rules that set it: one whose value gives the leaf its truth value
            # matches, or none does and the default gives it (evaluation checks the case).
            from ..space.conditions import truth

            spec = policy.outputs[leaf.subject]
            operand = leaf.operand if not hasattr(leaf.operand, "value") else operand_value(leaf)
            setters = [(r, v) for r in policy.rules for n, v in r.then.set if n == leaf.subject]
            for r, v in setters:
                try:
                    if truth(leaf.op, v, operand) == want:
                        yield from self.satisfy(r, r.when, True, state)
                except TypeError:  # an expression's value: not known here
                    continue
            if not isinstance(spec.default, (dict,)) and truth(leaf.op, spec.default, operand) == want:
                yield from self._rules([r for r, _ in setters], False, state)
        else:
            # A derived fact or a fact-to-fact comparison: not a region of the cells; left
            # to the facts chosen for the rest, and checked by evaluation.
            yield state

    def _rules(self, rules: list[Rule], want: bool, state: dict[str, int]):
        if not rules:
            yield state
            return
        for s in self.satisfy(rules[0], rules[0].when, want, state):
            yield from self._rules(rules[1:], want, s)

    def _chain(self, rule, items, want, state):
        if not items:
            yield state
            return
        for s in self.satisfy(rule, items[0], want, state):
            yield from self._chain(rule, items[1:], want, s)

    def sensitize(self, rule: Rule, target: Comparison, state: dict[str, int], absent: str | None = None):
        """Ways to make every other part of the rule let `target` decide it. With `absent`
        (a fact the case leaves out), siblings that read only that fact are unknown and
        left alone: a presence test still decides through them (`any` of true and unknown
        is true, of false and unknown unknown); evaluation checks it."""
        path = _path_to(rule.when, target)
        goals = []
        for node, child in path:
            if kind(node) in (ALL, ANY):  # the siblings must let the way through: all true, any false
                for sib in children(node):
                    if sib is not child and not (absent is not None and _reads_only(sib, absent)):
                        goals.append((sib, kind(node) == ALL))
        yield from self._goals(rule, goals, state)

    def _goals(self, rule, goals, state):
        if not goals:
            yield state
            return
        cond, want = goals[0]
        for s in self.satisfy(rule, cond, want, state):
            yield from self._goals(rule, goals[1:], s)

    def prefer_false(self, rules: Iterable[Rule], state: dict[str, int]) -> dict[str, int]:
        """Make each rule false where the current masks allow it (greedy)."""
        for r in rules:
            self.steps = 0
            for s in self.satisfy(r, r.when, False, state):
                state = s
                break
        return state

    def values(self, state: tuple, prefer: dict | None = None) -> dict:
        """A record inside the masks, keeping `prefer`'s values where they fit."""
        prefer = prefer or {}
        out = {}
        point = self.space.point(state)
        for name in self.space.lists:  # a list: the preferred one if it lies in the box, else the box's own
            want = prefer.get(name)
            ks = [k for k, d in enumerate(self.space.dims) if d.list is not None and d.name == name]
            try:
                inside = want is not None and all(state[k] >> self.space.cell_at(k, want) & 1 for k in ks)
            except ValueError:
                inside = False
            if inside:
                out[name] = want
            elif name in point:
                out[name] = point[name]
        for k, d in enumerate(self.space.dims):
            if d.list is not None:
                continue
            mask = state[k]
            want = prefer.get(d.name)
            if d.name in prefer and want is not None:
                try:
                    if mask >> self.space.cell_at(k, want) & 1:
                        out[d.name] = want
                        continue
                except ValueError:
                    pass
            best = None
            for i, c in enumerate(d.cells):
                if not mask >> i & 1 or c.kind == "absent":
                    continue
                v = d.rep(i)
                if c.kind == "int" and isinstance(want, (int, float)) and not isinstance(want, bool):
                    v = want if c.lo is None or want >= c.lo else c.lo
                    v = int(v if c.hi is None or v <= c.hi else c.hi)
                score = abs(v - want) if isinstance(want, (int, float)) and isinstance(v, (int, float)) \
                    and not isinstance(v, bool) and not isinstance(want, bool) else 0
                if best is None or score < best[0]:
                    best = (score, v)
            if best is not None:
                out[d.name] = best[1]
        return out


def _reads_only(cond, fact: str) -> bool:
    """Whether every leaf under `cond` compares fact `fact` (a presence test aside)."""
    found = [n for n, _, _ in walk(cond) if kind(n) == LEAF]
    return bool(found) and all(n.kind == "fact" and n.subject == fact and n.op != PRESENCE_OP for n in found)


def _path_to(cond, target) -> list | None:
    """[(ancestor, child on the way)] from the rule's root down to `target` (None if absent)."""
    for node, _, ancestors in walk(cond):
        if node is target:
            return list(zip(ancestors, ancestors[1:] + (target,)))
    return None


def _yaml_scalar(v) -> str:
    if isinstance(v, (tuple, list)):  # a list fact's value, in flow style
        return "[" + ", ".join(_yaml_scalar(x) for x in v) + "]"
    if isinstance(v, datetime.date):
        return v.isoformat()  # a YAML date, as the suites write them
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", v) and v.lower() not in ("true", "false", "null", "yes", "no",
                                                                          "on", "off", "y", "n"):
        return v
    return json.dumps(v, ensure_ascii=False)


def _flow(record: dict) -> str:
    return "{" + ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in record.items()) + "}"


class _Target(NamedTuple):
    """One generated case's aim: fact `fact` inside `region` (at `value`, or absent when
    `absent`), with one of the comparisons `uses` deciding its rule. A derived fact's
    target has `derived` set: its value is reached by changing a fact it reads."""

    fact: str
    uses: tuple
    region: list
    value: object
    absent: bool
    name: str
    derived: str | None = None
    # For a derived fact's target: the band its value must lie in, (low, low open, high,
    # high open) (`[t-ε, t)`, `[t, t]`, `(t, t+ε]`).
    band: tuple = ()


def _targets(policy: Policy, solver: _Solver, found: list[Boundary]) -> list[_Target]:
    """Every boundary point, then for each fact a presence test reads: absent and present."""
    from ..language.values import format_value

    from ..language.model import Length, Operand
    from ..space.lists import leaf_regions

    out = []
    space = solver.space
    sides = {"below": "just below", "at": "at", "above": "just above"}
    for b in found:
        for p in b.points:
            if not p.reachable:
                continue
            name = f"{b.fact} {format_value(p.value)}: {sides[p.side]} {b.label}"
            if b.of == "derived":
                band = (p.lo, False, b.value, True) if p.side == "below" else (b.value, False, b.value, False) \
                    if p.side == "at" else (b.value, True, p.hi, False)
                out.append(_Target(b.fact, b.uses, [space.full_box], p.value, False, name, b.fact, band))
            elif b.of == "length":
                region = leaf_regions(space, space.lists[b.fact], Comparison(
                    "fact", b.fact, "length", Length("eq", Operand(p.value))))[0]
                out.append(_Target(b.fact, b.uses, region, None, False,
                                   f"{b.fact} of {p.value} item{'s' if p.value != 1 else ''}: {sides[p.side]} "
                                   f"length {b.label}"))
            else:
                out.append(_Target(b.fact, b.uses, space.region(b.fact, 1 << space.cell_of(b.fact, p.value)),
                                   p.value, False, name))
    # Item and string tests: a case where the test holds, and one where it does not.
    from .coverage import leaf_text
    tests: dict[tuple, list] = {}
    for r in policy.rules:
        for leaf in r.leaves:
            if leaf.via is None and (r.index, leaf.index) in solver.regions and leaf.op in (
                    "contains", "contains_any", "contains_all", "starts_with", "ends_with"):
                tests.setdefault((leaf.subject, leaf_text(leaf)), []).append((r.index, leaf.index))
    for (fact, text), uses in tests.items():
        t, f = solver.regions[uses[0]]
        for region, word in ((t, "holds"), (f, "fails")):
            if region:
                out.append(_Target(fact, tuple(uses), region, None, False, f"{text}: {word}"))
    presence: dict[str, list] = {}
    for r in policy.rules:
        for leaf in r.leaves:
            if leaf.kind == "fact" and leaf.op == PRESENCE_OP:
                presence.setdefault(leaf.subject, []).append((r.index, leaf.index))
    for fact, uses in presence.items():
        d = solver.space.dim(fact)
        if d.absent and not policy.facts[fact].has_default:  # a default fills an absent fact in
            out.append(_Target(fact, tuple(uses), solver.space.region(fact, d.absent), None, True,
                               f"{fact} missing: presence test"))
        out.append(_Target(fact, tuple(uses), solver.space.region(fact, d.present), None, False,
                           f"{fact} present: presence test"))
    return out


def generate_boundary_suite(policy: Policy, policy_ref: str, schema_ref: str | None = "../schemas/test.schema.json",
                            epsilon: dict | None = None, *, as_of: datetime.date | None = None) -> str:
    """A starter test file: one case per reachable boundary point (just below, at, just
    above every numeric threshold; the day before, of and after every date), and an
    absent and a present case per fact a presence test reads, each expecting what the
    policy decides today, for an author to review against the business rules. A policy
    that uses time is generated on `as_of` (default: today in its timezone), which the
    suite records, so its expectations do not drift with the calendar."""
    from ..compile import compile_policy
    from ..evaluate import evaluate

    if policy.uses_time:
        as_of = as_of or today(policy.timezone)
    else:
        as_of = None
    found = boundaries(policy, epsilon, as_of)
    ruleset = compile_policy(policy)
    solver = _Solver(policy, as_of)
    targets = _targets(policy, solver, found)
    if not targets:
        if not policy.uses_time and not any(leaf.op == PRESENCE_OP for r in policy.rules for leaf in r.leaves):
            raise ValueError(f"`{policy.id}` compares no numeric fact with a threshold: there are no boundaries")
        raise ValueError(f"`{policy.id}` compares no numeric or date fact with a threshold and tests no "
                         "fact's presence: there are no boundaries")
    adverse = [r for r in policy.rules if r.decides_outcome and policy.outcome(r.then.outcome).adverse]
    others = [r for r in policy.rules if not r.decides_outcome]
    state = solver.prefer_false(adverse + others, solver.full())
    base = solver.values(state)
    prec = {o: i for i, o in enumerate(policy.outcome_ids)}

    lines = ([f"# yaml-language-server: $schema={schema_ref}"] if schema_ref is not None else []) + [
             f"# Boundary cases for `{policy.id}` v{policy.version}, generated by",
             "# `verdict test --generate-boundaries`: one case per threshold boundary (just below, at and",
             "# just above), each expecting the decision the policy gives TODAY. Review every expectation",
             "# against the business rules before relying on it: a wrong threshold would be enshrined here.",
             f"policy: {_yaml_scalar(policy_ref)}"]
    if as_of is not None:
        lines.append(f"as_of: {as_of.isoformat()}")
    if epsilon:
        lines.append("epsilon: " + _flow(epsilon))
    lines += ["", "profiles:", "  base:"]
    lines += [f"    {k}: {_yaml_scalar(v)}" for k, v in base.items()]
    lines += ["", "cases:"]
    names: set[str] = set()
    derived = DerivedValues(policy) if policy.derived else None
    for t in targets:
        record, rule, note = _boundary_record(policy, solver, t, base, prec)
        if t.derived is not None:
            record, note = _on_derived(policy, derived, record, t, note)
            if record is None:
                continue  # no single fact it reads reaches that point
        decision = evaluate(ruleset, record, trace=True) if as_of is None else \
            evaluate(ruleset, record, trace=True, as_of=as_of)
        if rule is not None and not decisive(rule, decision.trace[rule.index],
                                             next(li for ri, li in t.uses if ri == rule.index)):
            note = "the comparison does not decide its rule with these facts; adjust them"
        diff = {k: v for k, v in record.items() if base.get(k, UNSET) != v}
        diff.update({k: None for k in base if k not in record})
        if t.derived is None:  # the target's fact first (a derived fact is not a fact of the case)
            diff = {t.fact: record.get(t.fact), **{k: v for k, v in diff.items() if k != t.fact}}
        name = t.name
        while name in names:
            name += " (again)"
        names.add(name)
        expect = {"outcome": decision.outcome}
        if rule is not None:
            m = decision.matched[rule.index]
            if m is not None:
                expect["matched" if m else "not_matched"] = [rule.id]
        lines.append(f"  - name: {json.dumps(name, ensure_ascii=False)}")
        if note:
            lines.append(f"    # NOTE: {note}")
        lines.append("    base: base")
        lines.append(f"    facts: {_flow(diff)}")
        exp = ", ".join(f"{k}: {_yaml_scalar(v) if not isinstance(v, list) else '[' + ', '.join(v) + ']'}"
                        for k, v in expect.items())
        lines.append(f"    expect: {{{exp}}}")
    return "\n".join(lines) + "\n"


def _place(record: dict, t: _Target, solver: _Solver) -> dict:
    """The record with the target's fact set as the target says."""
    if t.derived is not None:
        return record  # reached through a fact it reads (`_on_derived`)
    if t.absent:
        record.pop(t.fact, None)
    elif t.value is not None:
        record[t.fact] = t.value
    elif record.get(t.fact) is None:
        # present: a value of the target's region (the solver's record already lies in it
        # when the fact is there: its state was cut to the region)
        point = solver.space.point(t.region[0])
        if t.fact in point:
            record[t.fact] = point[t.fact]
    return record


def _on_derived(policy: Policy, derived, record: dict, t: _Target, note):
    """The record with one fact the derived fact reads changed so that the derived fact
    lies in the target's band: bisection on that fact, between its value and a far value
    across the band (its declared bound, else ten times out), for the first value that
    enters the band from the record's side; each value computed by the one evaluator.
    None when no single input fact reaches the band (it may fall between two values)."""
    from ..runtime.expressions import to_decimal
    from ..space.opaque import inputs

    low, low_open, high, high_open = (to_decimal(x) if i in (0, 2) else x for i, x in enumerate(t.band))

    def value(rec):
        v = derived(rec).get(t.derived)
        return None if v is None else to_decimal(v)

    def under(v) -> bool:  # below the band
        return v < low or (low_open and v == low)

    def over(v) -> bool:  # above the band
        return v > high or (high_open and v == high)

    def inside(v) -> bool:
        return v is not None and not under(v) and not over(v)

    if inside(value(record)):
        return record, note
    names = [n for n in inputs(policy, t.derived) if policy.facts[n].numeric]
    # The record as it is, then with the other inputs at a few magnitudes: a narrow band
    # (0.39 ≤ debt / income < 0.4) needs room (an income of 1 leaves no debt inside it).
    contexts = [record] + [{**record, **{n: _clamp(policy.facts[n], m) for n in names}} for m in (100, 1000, 10_000)]
    for base in contexts:
        found = _bisect_into(policy, base, names, value, under, over, inside)
        if found is not None:
            return found, note
    return None, note


def _clamp(spec, v):
    if spec.minimum is not None and v < spec.minimum:
        v = spec.minimum
    if spec.maximum is not None and v > spec.maximum:
        v = spec.maximum
    return v


def _bisect_into(policy: Policy, record: dict, names: list, value, under, over, inside) -> dict | None:
    """`record` with one of `names` changed so that `value(record)` is inside the band."""
    now = value(record)
    if now is None:
        return None
    if inside(now):
        return record
    entered = (lambda v: v is not None and not under(v)) if under(now) else (lambda v: v is not None and not over(v))
    for name in names:
        spec = policy.facts[name]
        start = record.get(name)
        if start is None:
            continue
        for far in (spec.maximum, spec.minimum, start * 10 + 10, start * 10 - 10, -(abs(start) * 10 + 10)):
            if far is None or (spec.minimum is not None and far < spec.minimum) or \
                    (spec.maximum is not None and far > spec.maximum):
                continue
            if not entered(value({**record, name: far})):
                continue
            lo, hi = start, far  # lo: not entered yet; hi: entered (inside or past the band)
            for _ in range(80):
                mid = (lo + hi) // 2 if spec.type == "integer" else round((lo + hi) / 2, 6)
                if mid in (lo, hi):
                    break
                if entered(value({**record, name: mid})):
                    hi = mid
                else:
                    lo = mid
            rec = {**record, name: hi}
            if inside(value(rec)):
                return rec
    return None


def _boundary_record(policy: Policy, solver: _Solver, t: _Target, base: dict, prec: dict):
    """(record, the rule whose comparison at this target decides it, note)."""
    for ri, li in t.uses:
        rule = policy.rules[ri]
        leaf = rule.leaves[li]
        solver.steps = 0
        starts = [z for z in (tuple(a & b for a, b in zip(solver.full(), box)) for box in t.region) if all(z)]
        for state in (s for start in starts for s in solver.sensitize(rule, leaf, start,
                                                                      t.fact if t.absent else None)):
            # Let the rule's effect show: rules of outcomes that take precedence over its
            # own, and other rules of the same outcome, are made false where possible.
            if rule.decides_outcome:
                mine = prec[rule.then.outcome]
                rivals = [r for r in policy.rules if r.decides_outcome and r is not rule
                          and prec[r.then.outcome] <= mine]
                state = solver.prefer_false(rivals, state)
            record = solver.values(state, base)
            return _place(record, t, solver), rule, None
    return _place(dict(base), t, solver), None, "no comparison at this boundary could be made to decide its rule"
