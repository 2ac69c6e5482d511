"""Hand-built v3 IR for the runtime's tests (tests/test_v3_runtime*.py; this module holds no tests): policies with list
facts, string operators, `{fact: …}` operands, derived facts, conditions on outputs and
list/count outputs, built without the YAML loader (the lang helper's branch builds them
from YAML)."""

from __future__ import annotations

import dataclasses
import hashlib
from decimal import Decimal

from engine.language.conditions import fold
from engine.language.model import (All, Any, Arith, Comparison, Derived, Effect, FactSpec, Length, Not, Operand,
                                   Outcome, OutputSpec, Policy, Ref, Rule)


def leaf(subject, op, value=None, *, kind="fact", fact=None, via=None):
    """A Comparison; `value` a literal, a tuple (in/not_in/contains_*), or for between a pair
    whose items are literals or `("fact", name)`; `fact`: a `{fact: name}` operand."""
    if op == "between":
        ends = tuple(Operand(None, fact=v[1]) if isinstance(v, tuple) else Operand(v) for v in value)
        return Comparison(kind, subject, op, ends, via=via)
    if op == "length":
        inner_op, n = value
        operand = Operand(None, fact=n[1]) if isinstance(n, tuple) else Operand(n)
        return Comparison(kind, subject, op, Length(inner_op, operand), via=via)
    return Comparison(kind, subject, op, Operand(None, fact=fact) if fact else Operand(value), via=via)


def _numbered(cond):
    """The condition with its leaves numbered in document order, and the leaves."""
    found = []

    def number(c):
        c = dataclasses.replace(c, index=len(found))
        found.append(c)
        return c

    tree = fold(cond, number, lambda n, items: All(tuple(items)), lambda n, items: Any(tuple(items)),
                lambda n, item: Not(item))
    return tree, tuple(found)


def rule(rid, when, outcome=None, set=(), flags=(), reason=None):
    return (rid, when, Effect(outcome=outcome, reason=reason, flags=tuple(flags), set=tuple(set)))


def _strata(rules, outputs) -> tuple:
    setters = {}
    for r in rules:
        for n, _ in r.then.set:
            setters.setdefault(n, set()).add(r.index)
    outcome_rules = {r.index for r in rules if r.decides_outcome}
    by_id = {r.id: r.index for r in rules}
    deps = {}
    for r in rules:
        d = set()
        for lf in r.leaves:
            if lf.kind == "output":
                d |= setters.get(lf.subject, set())
                if setters.get(lf.subject, set()) & outcome_rules:
                    d |= outcome_rules
            elif lf.kind == "outcome":
                d |= outcome_rules
            elif lf.kind == "rule":
                d.add(by_id[lf.subject])
        deps[r.index] = d
    level = {}

    def lv(i, seen=()):
        if i not in level:
            assert i not in seen, "cycle"
            level[i] = max((lv(j, seen + (i,)) + 1 for j in deps[i]), default=0)
        return level[i]

    for r in rules:
        lv(r.index)
    out = {}
    for i, k in level.items():
        out.setdefault(k, []).append(i)
    return tuple(tuple(sorted(out[k])) for k in sorted(out))


def policy(facts: dict, rules: list, *, outputs: dict | None = None, derived: dict | None = None,
           outcomes=("approve", "review", "decline"), default="approve", thresholds=None, pid="v3-runtime"):
    """A Policy from `facts` (name → FactSpec or a type), rules (`rule(...)`), outputs
    (name → OutputSpec), derived (name → (expr, type))."""
    facts = {n: (s if isinstance(s, FactSpec) else FactSpec(n, s)) for n, s in facts.items()}
    built = []
    for i, (rid, when, then) in enumerate(rules):
        tree, leaves = _numbered(when)
        built.append(Rule(rid, i, tree, then, leaves=leaves))
    derived = {n: Derived(n, e, t) for n, (e, t) in (derived or {}).items()}
    outputs = outputs or {}
    key = repr((pid, facts, built, outputs, derived, thresholds)).encode()
    return Policy(id=pid, version=1, title="", description="", language="en", facts=facts,
                  thresholds=thresholds or {}, outcomes=tuple(Outcome(o) for o in outcomes), default=default,
                  outputs=outputs, reasons={}, rules=tuple(built), strata=_strata(built, outputs),
                  digest="sha256:" + hashlib.sha256(key).hexdigest(), path="<ir>", derived=derived)


def ref(name, kind="fact"):
    return Ref(kind, name)


def arith(op, *args):
    return Arith(op, tuple(Decimal(a) if isinstance(a, (int, str)) else a for a in args))


__all__ = ["leaf", "rule", "policy", "ref", "arith", "All", "Any", "Not", "FactSpec", "OutputSpec", "Decimal"]
