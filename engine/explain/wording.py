"""The wording of a decision's parts, shared by every explanation form (`render`, and the
table view `tableview`): messages filled from their templates, leaf conditions as text
(`credit_score 720 ≥ gold_credit_score (700)`) and as JSON data, and derived facts with
the values they were computed from.

Nothing is evaluated here: the results come from the Decision's trace, the values from its
facts, derived facts and outputs.
"""

from __future__ import annotations

import weakref

from ..language.conditions import leaves
from ..language.exprs import expr_text
from ..language.model import (OP_SYMBOL, PRESENCE_OP, SUBJECT_DERIVED, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT,
                              SUBJECT_RULE, Arith, Comparison, Operand, Ref, RelativeDate, Round, Rule)
from ..language.templates import pick_language, template_parts
from ..language.values import format_field, format_value
from ..runtime.decision import Decision
from ..runtime.semantics import Plan, operand_value, resolve_date


def render_template(template: str, decision: Decision) -> str:
    """Fill `{name}` and `{name:SPEC}` from the decision's facts, derived facts, outputs and
    the policy's thresholds (`values.format_field`: `{new_limit_yuan:,.2f}` is `6,100.00`)."""
    parts = template_parts(template)
    if len(parts) == 1:
        return parts[0]
    facts, outputs, thresholds = decision.facts, decision.outputs, decision.policy.thresholds
    derived = decision.derived if decision.policy.derived else {}
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        name = parts[i]  # a `templates.Field`: the name, with its `spec`
        if name in facts:
            out.append(format_field(facts[name], name.spec))
        elif name in derived:
            out.append(format_field(derived[name], name.spec))
        elif name in outputs:
            out.append(format_field(outputs[name], name.spec))
        elif name in thresholds:
            out.append(format_field(thresholds[name].value, name.spec))
        else:
            out.append("?")  # a declared but missing optional fact
        out.append(parts[i + 1])
    return "".join(out)


def rule_message(rule: Rule, decision: Decision, lang: str | None) -> str | None:
    template = pick_language(rule.then.message, lang, decision.policy)
    if template is None and rule.then.reason:
        template = pick_language(decision.policy.reasons.get(rule.then.reason), lang, decision.policy)
    return render_template(template, decision) if template else None


# -- outputs whose value is unknown --------------------------------------------------------

_PLANS: dict = {}


def _plan(policy) -> Plan:
    """The policy's `semantics.Plan` (kept while the policy lives, a few at a time)."""
    got = _PLANS.get(id(policy))
    if got is not None and got[0]() is policy:
        return got[1]
    if len(_PLANS) >= 64:
        _PLANS.clear()
    plan = Plan(policy)
    _PLANS[id(policy)] = (weakref.ref(policy), plan)
    return plan


def unknown_outputs(decision: Decision) -> dict[str, tuple[list[Rule], bool]]:
    """The outputs conditions read whose value is unknown (`semantics.Plan.output_values`:
    a rule whose match decides it is undetermined), each with those rules, and whether
    the outcome it depends on is not known. `Decision.outputs` holds such an output's
    value as if none of them applied (its default, say); explanations show it as unknown."""
    policy = decision.policy
    if not policy.outputs or not any(leaf.kind == SUBJECT_OUTPUT for r in policy.rules for leaf in r.leaves):
        return {}
    plan = _plan(policy)
    matched = decision.matched
    out = {}
    for name in plan.output_subjects:
        rules, by_outcome = plan.output_rules[name]
        open_rules = [policy.rules[i] for i in rules if matched[i] is None]
        outcome_open = by_outcome and not decision.outcome_known
        if open_rules or outcome_open:
            out[name] = (open_rules, outcome_open)
    return out


def rule_list(rules: list[Rule]) -> str:
    """Rule ids as prose: `rows first-t#2, #3, #5` for rows of one table, else
    `rules a, first-t#2` (`rule a` for one)."""
    tables = {r.table.table if r.table is not None else None for r in rules}
    if len(tables) == 1 and None not in tables and all(r.id == f"{r.table.table}#{r.table.row}" for r in rules):
        ids = [rules[0].id] + [f"#{r.table.row}" for r in rules[1:]]
        return ("rows " if len(rules) > 1 else "row ") + ", ".join(ids)
    word = "rows" if None not in tables else "rules"
    return (word if len(rules) > 1 else word[:-1]) + " " + ", ".join(r.id for r in rules)


def unknown_output_reason(name: str, decision: Decision) -> str:
    """Why output `name` is unknown: `tier is unknown: rows first-t#2, #3, #5 could not
    be decided` (or `… the outcome is not known`)."""
    rules, outcome_open = unknown_outputs(decision).get(name, ([], False))
    why = []
    if rules:
        why.append(f"{rule_list(rules)} could not be decided")
    if outcome_open:
        why.append("the outcome is not known")
    return f"{name} is unknown: " + " and ".join(why or ["it depends on rules not decided"])


def undecided_because(conds, decision: Decision) -> str:
    """Why a rule whose own conditions include unknown ones could not be decided: the
    missing facts (`missing grade, vip`), and each unknown output with the rules it
    waits for (`tier is unknown: rows first-t#2, #3 could not be decided`)."""
    unknown = unknown_outputs(decision)
    missing = sorted({lf.subject for lf, res, _ in conds if res is None
                      and not (lf.kind == SUBJECT_OUTPUT and lf.subject in unknown)})
    outputs = list(dict.fromkeys(lf.subject for lf, res, _ in conds if res is None
                                 and lf.kind == SUBJECT_OUTPUT and lf.subject in unknown))
    parts = (["missing " + ", ".join(missing)] if missing else []) + [unknown_output_reason(n, decision)
                                                                      for n in outputs]
    return "; ".join(parts)


def blocked_by(rule: Rule, decision: Decision) -> list[Rule]:
    """For a `hit: first` row left undetermined, the earlier rows that may apply: those
    whose cells it restates (leaves with `via`) hold or are unknown, none false, in its
    trace. It applies only when it is known that none of them does."""
    if rule.table is None or decision.trace is None or decision.matched[rule.index] is not None:
        return []
    trace = decision.trace[rule.index]
    groups: dict[int, list] = {}
    for leaf in rule.leaves:
        if leaf.via is not None:
            groups.setdefault(leaf.via, []).append(trace[leaf.index])
    rules = decision.policy.rules
    return [rules[j] for j, results in groups.items() if False not in results and None in results]


def leaf_actual(leaf: Comparison, decision: Decision):
    if leaf.kind == "fact":
        return decision.facts.get(leaf.subject)
    if leaf.kind == SUBJECT_DERIVED:
        return decision.derived.get(leaf.subject)
    if leaf.kind == SUBJECT_OUTPUT:  # its final value (every rule setting it is in an earlier stratum), or unknown
        if leaf.subject in unknown_outputs(decision):
            return None
        return decision.outputs.get(leaf.subject)
    if leaf.kind == SUBJECT_OUTCOME:
        return decision.outcome
    if leaf.kind == SUBJECT_FLAG:
        return leaf.subject in decision.flags
    if leaf.kind == SUBJECT_RULE:
        return decision.matched[decision.policy.rule(leaf.subject).index]
    return None


def leaf_expected(leaf: Comparison, decision: Decision):
    """The value a leaf compares with, as evaluation resolved it (a relative date: the day
    on the decision's `as_of`; another fact's or derived fact's value; for `length`, the
    length compared with)."""
    if leaf.op == "length":
        return leaf.operand.operand.value
    if leaf.op == "between":
        return tuple(fact_value(o.fact, decision) if o.fact else v
                     for o, v in zip(leaf.operand, operand_value(leaf, decision.as_of)))
    if leaf.operand.fact is not None:
        return fact_value(leaf.operand.fact, decision)
    return operand_value(leaf, decision.as_of)


def fact_value(name: str, decision: Decision):
    """The value of a fact or derived fact an operand names (`{fact: name}`), or None."""
    if name in decision.policy.derived:
        return decision.derived.get(name)
    return decision.facts.get(name)


def condition_dict(leaf: Comparison, decision: Decision, result, negated: bool) -> dict:
    d: dict = {"kind": leaf.kind, "subject": leaf.subject, "op": leaf.op}
    if leaf.op == "length":
        d["length_op"] = leaf.operand.op
        if leaf.operand.operand.threshold:
            d["threshold"] = leaf.operand.operand.threshold
    elif leaf.op == "between":
        lo, hi = leaf.operand
        if lo.threshold or hi.threshold:
            d["threshold"] = [lo.threshold, hi.threshold]
        if lo.fact or hi.fact:
            d["fact"] = [lo.fact, hi.fact]
    elif leaf.operand.fact is not None:
        d["fact"] = leaf.operand.fact
    elif leaf.operand.threshold:
        d["threshold"] = leaf.operand.threshold
    elif isinstance(leaf.operand.value, RelativeDate) and leaf.operand.value.threshold:
        d["threshold"] = leaf.operand.value.threshold
    expected = leaf_expected(leaf, decision)
    d["expected"] = list(expected) if isinstance(expected, tuple) else expected
    actual = leaf_actual(leaf, decision)
    d["actual"] = actual
    d["result"] = result
    if negated:
        d["negated"] = True
    if leaf.loc:
        d["location"] = f"{leaf.loc.file}:{leaf.loc.line}:{leaf.loc.column}"
    return d


def _target(o: Operand, as_of, decision: Decision | None = None) -> str:
    """An operand as explanations show it: `gold_credit_score (700)`, `700`; a relative
    date with the day it is on: `180 days ago (2026-05-15)`, `clean_days (180) days ago (…)`;
    another fact with its value: `monthly_income (5000)`."""
    if o.fact is not None:
        return f"{o.fact} ({format_value(fact_value(o.fact, decision))})"
    v = o.value
    if v.__class__ is RelativeDate:
        n = f"{v.threshold} ({v.days})" if v.threshold else str(v.days)
        when = "ago" if v.sign < 0 else "ahead"
        return f"{n} days {when}" + (f" ({resolve_date(v, as_of).isoformat()})" if as_of is not None else "")
    return f"{o.threshold} ({format_value(v)})" if o.threshold else format_value(v)


def describe_leaf(leaf: Comparison, decision: Decision, result) -> str:
    """`credit_score 720 ≥ gold_credit_score (700)`, or `… is not ≥ …` when false; a
    presence test says what is: `last_overdue_date is missing` / `… is present`. The list
    and string operators read as words (`product_tags [cash, card] contains cash`, `phone
    13800001111 does not start with 139`, `linked_cards [3, 5] has length 2, not ≥ 3`)."""
    actual = leaf_actual(leaf, decision)
    if leaf.kind == SUBJECT_FLAG:
        return f"flag {leaf.subject} {'raised' if actual else 'not raised'}"
    if leaf.kind == SUBJECT_RULE:
        return f"rule {leaf.subject} {'matched' if actual else 'did not match'}"
    if leaf.op == PRESENCE_OP:
        return f"{leaf.subject} is {'missing' if leaf.subject not in decision.facts else 'present'}"
    sym = OP_SYMBOL[leaf.op]
    as_of = decision.as_of
    if leaf.op == "length":
        sym = OP_SYMBOL[leaf.operand.op]
        target = _target(leaf.operand.operand, as_of, decision)
    elif leaf.op == "between":
        target = "[" + ", ".join(_target(o, as_of, decision) for o in leaf.operand) + "]"
    else:
        target = _target(leaf.operand, as_of, decision)
    shown = format_value(actual)
    if result is None:
        absent = "unknown" if leaf.kind == SUBJECT_OUTPUT else "missing"
        if leaf.op == "length":
            return f"{leaf.subject} is {absent} (has length {sym} {target} unknown)"
        if leaf.operand.__class__ is Operand and leaf.operand.fact is not None and actual is not None:
            absent = "compared with a missing fact"  # the other side is what is missing
        return f"{leaf.subject} is {absent} ({sym} {target} unknown)"
    if leaf.op == "length":
        n = len(actual)
        return f"{leaf.subject} {shown} has length {n}{' ' if result else ', not '}{sym} {target}"
    if leaf.op in _WORDED:
        yes, no = _WORDED[leaf.op]
        return f"{leaf.subject} {shown} {yes if result else no} {target}"
    return f"{leaf.subject} {shown} {sym if result else 'is not ' + sym} {target}"


# The list and string operators, true and false, as words (`is not contains` would not read).
_WORDED = {"contains": ("contains", "does not contain"), "contains_any": ("contains one of", "contains none of"),
           "contains_all": ("contains all of", "does not contain all of"),
           "starts_with": ("starts with", "does not start with"), "ends_with": ("ends with", "does not end with")}


def rule_conditions(rule: Rule, decision: Decision) -> list[tuple[Comparison, object, bool]]:
    if decision.trace is None:
        return []
    negs = {leaf.index: negated for leaf, negated in leaves(rule.when)}
    # A first-hit table row's restatement of earlier rows (`via`) is not one of its
    # conditions: the explanation says "no earlier row applied" instead.
    return [(leaf, decision.trace[rule.index][leaf.index], negs.get(leaf.index, False)) for leaf in rule.leaves
            if leaf.via is None]


# -- derived facts ----------------------------------------------------------------------------

def derived_lines(decision: Decision) -> list[str]:
    """Each derived fact with its value, its expression and the values it read:
    `debt_to_income = 0.6 = {div: [monthly_debt, monthly_income]} with monthly_debt 3000,
    monthly_income 5000` (`missing` when a fact it reads is missing)."""
    return [derived_line(decision, name) for name in decision.policy.derived]


def derived_line(decision: Decision, name: str) -> str:
    """One derived fact as `derived_lines` shows it."""
    policy = decision.policy
    d = policy.derived[name]
    inputs = []
    for kind, ref_name in dict.fromkeys(_refs(d.expr)):
        if kind == "threshold":
            value = policy.thresholds[ref_name].value
        elif kind == "derived":
            value = decision.derived.get(ref_name)
        else:
            value = decision.facts.get(ref_name)
        inputs.append(f"{ref_name} {format_value(value)}")
    value = format_value(decision.derived.get(name))
    return f"{name} = {value} = {expr_text(d.expr)}" + (" with " + ", ".join(inputs) if inputs else "")


def _refs(e) -> list[tuple[str, str]]:
    """The names an expression reads, in the order written: (kind, name)."""
    if isinstance(e, Ref):
        return [(e.kind, e.name)]
    if isinstance(e, Arith):
        return [ref for a in e.args for ref in _refs(a)]
    if isinstance(e, Round):
        return _refs(e.arg)
    return []

