"""Whole-policy checks over the IR, a table of small checks, and the rule strata.

`validate` builds the IR, then runs every check in `CHECKS` over it: each check is a
generator of diagnostics with a stable code, small and testable on its own. `stratify`
orders the rules by what they read of each other, or reports the dependency cycle.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol

from . import exprcheck
from .diagnostics import ERROR, INFO, WARNING, Diagnostic, pointer_join
from .exprs import expr_text
from .model import (ARRAY, RESERVED_NAMES, SUBJECT_DERIVED, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT, SUBJECT_RULE,
                    Comparison, Operand, Policy, Rule, is_expr)
from .source import SourceMap
from .tables import exclusive_rows
from .templates import template_names
from .values import literal


class Built(Protocol):
    """What the checks read of the builder besides the IR: where nodes are, and the names
    the builder saw used."""

    smap: SourceMap
    used_thresholds: set[str]
    mentioned_facts: set[str]


def _rule_diag(policy: Policy, rule: Rule, code: str, message: str, *, severity=ERROR, pointer=None, hint=None):
    loc = rule.loc
    return Diagnostic(code, message, severity, loc.file, loc.line, loc.column, pointer or loc.pointer, hint, rule.id)


def check_adverse_reasons(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    """Every path to an adverse outcome must carry a specific reason code."""
    adverse = {o.id for o in policy.outcomes if o.adverse}
    for rule in policy.rules:
        if rule.then.outcome in adverse and not rule.then.reason:
            yield exprcheck.locate(b, policy, Diagnostic(
                "adverse-without-reason", f"rule `{rule.id}` decides adverse outcome `{rule.then.outcome}` without a "
                "reason code", ERROR, pointer=pointer_join(rule.loc.pointer, "then"), rule=rule.id,
                hint="add `reason: SOME_CODE` so the user is told why"), rule)


def check_adverse_default(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    """An adverse default would reach users with no reason at all."""
    if policy.default is not None and policy.default in policy.outcome_ids and policy.outcome(policy.default).adverse:
        yield b.smap.locate(Diagnostic(
            "adverse-default", f"default outcome `{policy.default}` is adverse: users no rule decides would get it "
            "without a reason", ERROR, pointer="/default",
            hint="make the default a non-adverse outcome, and decide the adverse one by rules with reason codes"))


def check_unused_thresholds(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    for name, t in policy.thresholds.items():
        if name not in b.used_thresholds and name not in RESERVED_NAMES:  # a reserved name is already an error
            yield Diagnostic("threshold-unused", f"threshold `{name}` is never used", WARNING, t.loc.file, t.loc.line,
                             t.loc.column, t.loc.pointer, "remove it or refer to it from a rule")


def check_unused_facts(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    used = {leaf.subject for r in policy.rules for leaf in r.leaves if leaf.kind == "fact"} | b.mentioned_facts
    used |= RESERVED_NAMES  # a fact with a reserved name is already an error; "unused" would repeat it
    for r in policy.rules:
        for template in (r.then.message or {}).values():
            used.update(template_names(template)[0])
    for name, f in policy.facts.items():
        if name not in used:
            yield Diagnostic("fact-unused", f"fact `{name}` is declared but no rule or message uses it", WARNING,
                             f.loc.file, f.loc.line, f.loc.column, f.loc.pointer)


def check_unused_derived(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    """A derived fact that no condition, `{fact: …}` operand, expression or text reads."""
    if not policy.derived:
        return
    used = set()
    for r in policy.rules:
        for leaf in r.leaves:
            if leaf.kind == SUBJECT_DERIVED:
                used.add(leaf.subject)
            operands = leaf.operand if isinstance(leaf.operand, tuple) else (leaf.operand,)
            used |= {o.fact for o in operands if isinstance(o, Operand) and o.fact is not None}
        for template in (r.then.message or {}).values():
            used.update(template_names(template)[0])
    for texts in policy.reasons.values():
        for template in (texts or {}).values():
            used.update(template_names(template)[0])
    values = [d.expr for d in policy.derived.values()] + [v for _, v, _, _ in exprcheck.output_values(policy)]
    used |= {ref.name for v in values for ref in exprcheck.refs(v) if ref.kind == "derived"}
    for name, d in policy.derived.items():
        if name not in used:
            yield Diagnostic("derived-unused", f"derived fact `{name}` is declared but nothing reads it", WARNING,
                             d.loc.file, d.loc.line, d.loc.column, d.loc.pointer,
                             "compare it in a rule or a table, show it in a message, or remove it")


def _outcome_outputs(policy: Policy) -> set[str]:
    """The outputs some outcome rule sets: their value is known only once the outcome is."""
    return {name for r in policy.rules if r.decides_outcome for name, _ in r.then.set}


def check_outcome_dependency(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    """A rule that reads the decided outcome cannot decide it (that would be circular); nor
    can one that reads an output an outcome rule sets (that output waits for the outcome)."""
    outcome_outputs = _outcome_outputs(policy)
    for rule in policy.rules:
        if not rule.decides_outcome:
            continue
        for leaf in rule.leaves:
            if leaf.kind == SUBJECT_OUTCOME:
                yield Diagnostic("dependency-cycle", f"rule `{rule.id}` reads the outcome and also decides it",
                                 ERROR, leaf.loc.file, leaf.loc.line, leaf.loc.column, leaf.loc.pointer,
                                 "move the outcome to another rule, or drop the `outcome` condition", rule.id)
                break
            if leaf.kind == SUBJECT_OUTPUT and leaf.subject in outcome_outputs:
                yield Diagnostic("dependency-cycle", f"rule `{rule.id}` reads output `{leaf.subject}`, which a rule "
                                 "deciding the outcome sets, and also decides the outcome", ERROR, leaf.loc.file,
                                 leaf.loc.line, leaf.loc.column, leaf.loc.pointer,
                                 f"set `{leaf.subject}` in rules that decide no outcome, or move this rule's outcome "
                                 "to another rule", rule.id)
                break


def check_output_conflicts(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    """Two rules that can both contribute different values to one output need `combine`."""
    setters: dict[str, list[tuple[Rule, object]]] = {}
    for rule in policy.rules:
        for name, value in rule.then.set:
            setters.setdefault(name, []).append((rule, value))
    profiles: dict = {}  # each rule's top-level comparisons, for `exclusive_rows`
    for name, items in setters.items():
        spec = policy.outputs[name]
        if spec.combine is not None:
            continue
        for i, (r1, v1) in enumerate(items):
            for r2, v2 in items[i + 1:]:
                if exclusive_rows(policy, r1, r2, profiles):
                    continue
                both = (r1.then.outcome is None or r2.then.outcome is None or r1.then.outcome == r2.then.outcome)
                # (as written: two equal expressions differ in their locations)
                t1, t2 = _value_text(v1), _value_text(v2)
                if both and t1 != t2:
                    yield exprcheck.locate(b, policy, Diagnostic(
                        "output-conflict", f"rules `{r1.id}` and `{r2.id}` can both set output `{name}` "
                        f"(to {t1} and {t2})", ERROR, pointer=pointer_join(r2.loc.pointer, "then", "set", name),
                        rule=r2.id, hint=f"declare `combine: first` for output `{name}`, or `combine: list` with one "
                        "item per rule" if spec.type == ARRAY else f"declare `combine: first|min|max|sum` for output "
                        f"`{name}`"), r2, prefer_key=True)


def _value_text(value) -> str:
    return expr_text(value) if is_expr(value) else literal(value)


def check_message_languages(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    for rule in policy.rules:
        if rule.then.message and policy.language not in rule.then.message:
            yield exprcheck.locate(b, policy, Diagnostic(
                "message-missing-language", f"message of rule `{rule.id}` has no `{policy.language}` text "
                "(the policy's language)", WARNING, pointer=pointer_join(rule.loc.pointer, "then", "message"),
                rule=rule.id), rule, prefer_key=True)


def check_unshown_messages(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    """A message is shown for a rule that decides the outcome or that gives a notice (a
    reason code without an outcome); on a rule with neither it is never shown anywhere."""
    for rule in policy.rules:
        if rule.then.message and not rule.then.outcome and not rule.then.reason:
            yield exprcheck.locate(b, policy, Diagnostic(
                "message-never-shown", f"the message of rule `{rule.id}` is never shown: the rule decides no "
                "outcome and gives no reason code", WARNING, pointer=pointer_join(rule.loc.pointer, "then", "message"),
                rule=rule.id, hint="add `reason: SOME_CODE` to show it as a notice, or remove the message"),
                rule, prefer_key=True)


def check_unreached_outcomes(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    if policy.default is not None and policy.default not in policy.outcome_ids:
        return  # the default is misspelt (`default-unknown-outcome`): which outcome it meant is unknown
    decided = {r.then.outcome for r in policy.rules} | {policy.default}
    for i, o in enumerate(policy.outcomes):
        if o.id not in decided:
            yield b.smap.locate(Diagnostic("outcome-never-decided", f"no rule decides outcome `{o.id}` and it is not "
                                           "the default", WARNING, pointer=pointer_join("/outcomes", i)))


def check_no_default(policy: Policy, b: Built) -> Iterator[Diagnostic]:
    if policy.default is None:
        yield b.smap.locate(Diagnostic("no-default", "policy has no `default` outcome, so a user no rule decides "
                                       "gets none",
                                       INFO, pointer="/outcomes", hint="add `default: <outcome>`"), prefer_key=True)


CHECKS: tuple[Callable[[Policy, Built], Iterator[Diagnostic]], ...] = (
    check_adverse_reasons,
    check_adverse_default,
    check_unused_thresholds,
    check_unused_facts,
    check_unused_derived,
    check_outcome_dependency,
    check_output_conflicts,
    check_message_languages,
    check_unshown_messages,
    check_unreached_outcomes,
    check_no_default,
    exprcheck.check_division,
    exprcheck.check_output_bounds,
    exprcheck.check_integral_outputs,
    exprcheck.check_optional_facts,
)


def rule_dependencies(policy: Policy) -> dict[int, set[int]]:
    """Rule index → indexes of the rules whose conclusions it reads."""
    by_id = {r.id: r.index for r in policy.rules}
    flag_setters: dict[str, set[int]] = {}
    outcome_rules = {r.index for r in policy.rules if r.decides_outcome}
    output_setters: dict[str, set[int]] = {}
    for r in policy.rules:
        for f in r.then.flags:
            flag_setters.setdefault(f, set()).add(r.index)
        for name, _ in r.then.set:
            output_setters.setdefault(name, set()).add(r.index)
    outcome_outputs = _outcome_outputs(policy)
    deps: dict[int, set[int]] = {}
    for r in policy.rules:
        d: set[int] = set()
        for leaf in r.leaves:
            if leaf.kind == SUBJECT_RULE:
                d.add(by_id[leaf.subject])
            elif leaf.kind == SUBJECT_FLAG:
                d |= flag_setters.get(leaf.subject, set())
            elif leaf.kind == SUBJECT_OUTCOME:
                d |= outcome_rules
            elif leaf.kind == SUBJECT_OUTPUT:
                # The output's final value: every rule that sets it, and (when an outcome
                # rule sets it) the outcome, which decides which outcome rules contribute.
                d |= output_setters.get(leaf.subject, set())
                if leaf.subject in outcome_outputs:
                    d |= outcome_rules
        deps[r.index] = d
    return deps


def _dependency_leaf(policy: Policy, rule: Rule, target: Rule) -> Comparison | None:
    """The condition of `rule` through which it depends on `target` (for locating a cycle)."""
    outcome_outputs = _outcome_outputs(policy)
    for leaf in rule.leaves:
        if (leaf.kind == SUBJECT_RULE and leaf.subject == target.id
                or leaf.kind == SUBJECT_FLAG and leaf.subject in target.then.flags
                or leaf.kind == SUBJECT_OUTCOME and target.decides_outcome
                or leaf.kind == SUBJECT_OUTPUT and (leaf.subject in dict(target.then.set)
                                                    or leaf.subject in outcome_outputs and target.decides_outcome)):
            return leaf
    return None


def stratify(policy: Policy) -> tuple[tuple[int, ...], ...] | Diagnostic:
    """Group rules into evaluation strata (each depends only on earlier ones), or a cycle."""
    deps = rule_dependencies(policy)
    level: dict[int, int] = {}
    for root in range(len(policy.rules)):
        if root in level:
            continue
        # Iterative depth-first search: a recursive one overflowed the stack (RecursionError)
        # on a long chain of rules that each read the previous one.
        path, on_path, pending = [root], {root}, [iter(sorted(deps[root]))]
        while path:
            for d in pending[-1]:
                if d in level:
                    continue
                if d in on_path:
                    return _cycle_diagnostic(policy, path[path.index(d):] + [d])
                path.append(d)
                on_path.add(d)
                pending.append(iter(sorted(deps[d])))
                break
            else:
                node = path.pop()
                on_path.discard(node)
                pending.pop()
                level[node] = max((level[d] + 1 for d in deps[node]), default=0)
    strata: dict[int, list[int]] = {}
    for i, lv in level.items():
        strata.setdefault(lv, []).append(i)
    return tuple(tuple(sorted(strata[k])) for k in sorted(strata))


def _cycle_diagnostic(policy: Policy, cycle: list[int]) -> Diagnostic:
    """`cycle` is [a, b, ..., a] where each rule depends on the next. Point at the condition
    of `a` that makes it depend on `b`: that is the line to change."""
    rule, target = policy.rules[cycle[0]], policy.rules[cycle[1]]
    if len(cycle) == 2:
        message = f"rule `{rule.id}` depends on itself"
    else:
        message = f"rules depend on each other in a cycle: {' → '.join(policy.rules[j].id for j in cycle)}"
    hint = "break the cycle: a rule cannot depend, through flags or rules, on itself"
    if any(leaf.kind == SUBJECT_OUTPUT for j in cycle for leaf in policy.rules[j].leaves):
        hint = "break the cycle: a rule cannot depend, through flags, rules or outputs, on itself"
    leaf = _dependency_leaf(policy, rule, target)
    if leaf is None or leaf.loc is None:
        return _rule_diag(policy, rule, "dependency-cycle", message, hint=hint)
    loc = leaf.loc
    return Diagnostic("dependency-cycle", message, ERROR, loc.file, loc.line, loc.column, loc.pointer, hint, rule.id)
