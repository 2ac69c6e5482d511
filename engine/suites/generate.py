"""Generating a starter boundary suite: one case per reachable boundary point of a policy.

A small solver finds facts that let each threshold comparison decide its rule; every
generated case expects what the policy decides today, for an author to review. Date
comparisons get the day before, of and after their date (relative dates on the suite's
`as_of`, which the suite records); a presence test (`missing`) gets a case with the fact
absent and one with it present.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Iterable, NamedTuple

from ..language.conditions import ALL, ANY, LEAF, NOT, children, kind, walk
from ..language.model import PRESENCE_OP, Comparison, Policy, Rule
from ..runtime.semantics import today
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
        from ..space.conditions import leaf_masks

        self.policy = policy
        self.space = Space([policy], as_of)
        self.masks: dict[tuple[int, int], tuple[int, int]] = {
            (r.index, leaf.index): leaf_masks(self.space.dims[self.space.index[leaf.subject]],
                                              policy.facts[leaf.subject], leaf, self.space.as_of)
            for r in policy.rules for leaf in r.leaves if leaf.kind == "fact"}
        self.steps = 0

    def full(self) -> dict[str, int]:
        return {d.name: d.full for d in self.space.dims}

    def satisfy(self, rule: Rule, cond, want: bool, state: dict[str, int]):
        """Every way (lazily) to make `cond` of `rule` evaluate to `want`."""
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            return
        # Not a fold: the ways are yielded lazily (callers take the first that fits) and the
        # backtracking search must not enumerate them all, so this dispatches on the kind.
        k = kind(cond)
        if k == LEAF:
            if cond.kind != "fact":
                yield from self._conclusion(cond, want, state)
                return
            t, f = self.masks[(rule.index, cond.index)]
            m = state[cond.subject] & (t if want else f)
            if m:
                yield {**state, cond.subject: m}
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

    def values(self, state: dict[str, int], prefer: dict | None = None) -> dict:
        """A record inside the masks, keeping `prefer`'s values where they fit."""
        prefer = prefer or {}
        out = {}
        for d in self.space.dims:
            mask = state[d.name]
            want = prefer.get(d.name)
            if d.name in prefer and want is not None:
                try:
                    if mask >> self.space.cell_of(d.name, want) & 1:
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
    """One generated case's aim: fact `fact` in the cells of `mask` (at `value`, or absent
    when `absent`), with one of the comparisons `uses` deciding its rule."""

    fact: str
    uses: tuple
    mask: int
    value: object
    absent: bool
    name: str


def _targets(policy: Policy, solver: _Solver, found: list[Boundary]) -> list[_Target]:
    """Every boundary point, then for each fact a presence test reads: absent and present."""
    from ..language.values import format_value

    out = []
    sides = {"below": "just below", "at": "at", "above": "just above"}
    for b in found:
        for p in b.points:
            if p.reachable:
                out.append(_Target(b.fact, b.uses, 1 << solver.space.cell_of(b.fact, p.value), p.value, False,
                                   f"{b.fact} {format_value(p.value)}: {sides[p.side]} {b.label}"))
    presence: dict[str, list] = {}
    for r in policy.rules:
        for leaf in r.leaves:
            if leaf.kind == "fact" and leaf.op == PRESENCE_OP:
                presence.setdefault(leaf.subject, []).append((r.index, leaf.index))
    for fact, uses in presence.items():
        d = solver.space.dim(fact)
        if d.absent and not policy.facts[fact].has_default:  # a default fills an absent fact in
            out.append(_Target(fact, tuple(uses), d.absent, None, True, f"{fact} missing: presence test"))
        out.append(_Target(fact, tuple(uses), d.present, None, False, f"{fact} present: presence test"))
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
    for t in targets:
        record, rule, note = _boundary_record(policy, solver, t, base, prec)
        decision = evaluate(ruleset, record, trace=True) if as_of is None else \
            evaluate(ruleset, record, trace=True, as_of=as_of)
        if rule is not None and not decisive(rule, decision.trace[rule.index],
                                             next(li for ri, li in t.uses if ri == rule.index)):
            note = "the comparison does not decide its rule with these facts; adjust them"
        diff = {k: v for k, v in record.items() if base.get(k, UNSET) != v}
        diff.update({k: None for k in base if k not in record})
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
    if t.absent:
        record.pop(t.fact, None)
    elif t.value is not None:
        record[t.fact] = t.value
    elif record.get(t.fact) is None:  # present: any value of the target's cells
        d = solver.space.dim(t.fact)
        i = (t.mask & -t.mask).bit_length() - 1
        record[t.fact] = d.rep(i)
    return record


def _boundary_record(policy: Policy, solver: _Solver, t: _Target, base: dict, prec: dict):
    """(record, the rule whose comparison at this target decides it, note)."""
    for ri, li in t.uses:
        rule = policy.rules[ri]
        leaf = rule.leaves[li]
        start = solver.full()
        start[t.fact] = t.mask
        solver.steps = 0
        for state in solver.sensitize(rule, leaf, start, t.fact if t.absent else None):
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
