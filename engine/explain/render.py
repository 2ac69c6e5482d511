"""Explanations: a Decision rendered as JSON data, terminal text or Markdown.

Never evaluates anything: everything shown comes from the Decision (its matches, its
per-condition trace, its facts), the policy IR and, when the caller computed them, the
decision's counterfactuals (`engine.counterfactuals`). Messages and remedies are rendered
here from their templates, in the requested language with fallback to the policy's
language.

Values: a computed output is a `Decimal`, written in JSON as the number its plain decimal
text says (`6100`, `6148.14`, never binary-float noise); a date is a `datetime.date`,
written as its ISO text. A decision of a policy that uses time records its evaluation date
(`"as_of"`), and relative dates are shown resolved on it.
"""

from __future__ import annotations

import datetime
import weakref
from decimal import Decimal

from ..language.templates import pick_language, template_parts
from ..language.jsonout import _floatstr, _jstr, dumps  # noqa: F401 - dumps: the JSON writer, re-exported
from ..language.model import Policy, Rule
from ..language.values import INT_LIMIT, decimal_text, format_field, format_value, int_digits
from ..runtime.decision import Decision
from .tableview import TableView, md_cell, md_line, relevant, table_lines, table_markdown
# The wording of conditions, messages and derived facts, re-exported: callers read them here.
from .wording import (blocked_by, condition_dict, derived_lines, describe_leaf, fact_value,  # noqa: F401
                      leaf_actual, leaf_expected, render_template, rule_conditions, rule_message, undecided_because,
                      unknown_outputs)


def outcome_label(decision: Decision, lang: str | None) -> str:
    if decision.outcome is None:
        return "no outcome"
    label = pick_language(decision.policy.outcome(decision.outcome).label, lang, decision.policy)
    return label or decision.outcome


#: Principal reasons listed for an adverse outcome, by default.
MAX_PRINCIPAL_REASONS = 4


def principal_reason_rules(decision: Decision, limit: int | None = MAX_PRINCIPAL_REASONS) -> list[Rule]:
    """For an adverse outcome, the rules whose reasons explain it, most important first:
    by the order of the policy's `reasons:` map, then by rule order; one rule per code.
    The deciding rules' reasons; when none decided (an adverse default), the notices'."""
    if not decision.adverse:
        return []
    rules = decision.reason_rules or decision.notice_rules
    rank = {code: i for i, code in enumerate(decision.policy.reasons)}
    out: list[Rule] = []
    seen: set[str] = set()
    for r in sorted(rules, key=lambda r: (rank.get(r.then.reason, len(rank)), r.index)):
        if r.then.reason not in seen:
            seen.add(r.then.reason)
            out.append(r)
    return out if limit is None else out[:limit]


def principal_reasons(decision: Decision, lang: str | None = None,
                      limit: int | None = MAX_PRINCIPAL_REASONS) -> list[dict]:
    return [{"code": r.then.reason, "rule": r.id, "message": rule_message(r, decision, lang)}
            for r in principal_reason_rules(decision, limit)]


def remedy(policy: Policy, fact: str, lang: str | None) -> str | None:
    spec = policy.facts.get(fact)
    return pick_language(spec.remedy, lang, policy) if spec is not None else None


def counterfactual_dicts(decision: Decision, counterfactuals, lang: str | None = None) -> list[dict]:
    """The JSON form of counterfactuals (see `engine.counterfactuals.Counterfactual`)."""
    policy = decision.policy
    out = []
    for cf in counterfactuals:
        steps = []
        for ch in cf.changes:
            step = {"fact": ch.fact, "from": ch.old, "to": ch.new}
            text = remedy(policy, ch.fact, lang)
            if text:
                step["remedy"] = text
            steps.append(step)
        remedies = [s["remedy"] for s in steps if "remedy" in s]
        d = {
            "outcome": cf.outcome,
            "label": pick_language(policy.outcome(cf.outcome).label, lang, policy) or cf.outcome,
            "changes": {ch.fact: ch.new for ch in cf.changes},
            "remedy": "; ".join(remedies) if remedies else None,
            "steps": steps,
            "facts_changed": len(cf.changes),
        }
        wait = cf.wait_days
        if wait:  # reached by waiting: how long, and the day
            d["wait_days"] = wait
            d["date"] = cf.date.isoformat()
        d["distance"] = cf.distance
        d["verified"] = True
        out.append(d)
    return out


def describe_counterfactual(decision: Decision, cf, lang: str | None) -> str:
    """`overdue_days 12 → 3 (Repay the overdue balance) ⇒ gold`; by waiting,
    `⇒ raise on 2027-01-31 (in 81 days), if nothing else changes`, or with changes
    `⇒ raise on 2027-01-31 (in 81 days) if: overdue_days 12 → 0 (Repay the overdue balance)`
    (the changes are made today; the days then pass)."""
    parts = []
    for ch in cf.changes:
        text = remedy(decision.policy, ch.fact, lang)
        parts.append(f"{ch.fact} {format_value(ch.old)} → {format_value(ch.new)}" + (f" ({text})" if text else ""))
    wait = cf.wait_days
    if not wait:
        return ", ".join(parts) + f" ⇒ {cf.outcome}"
    when = f"⇒ {cf.outcome} on {cf.date.isoformat()} (in {wait} day{'s' if wait != 1 else ''})"
    return when + (" if: " + ", ".join(parts) if parts else ", if nothing else changes")


def _can_improve(decision: Decision) -> bool:
    """Whether any outcome is better than this one (see `counterfactuals.better_outcomes`)."""
    from ..analysis.counterfactuals import better_outcomes

    return bool(better_outcomes(decision.policy, decision.outcome))


# -- JSON -----------------------------------------------------------------------------------

def decision_dict(decision: Decision, lang: str | None = None, *, trace: bool | None = None,
                  counterfactuals=None) -> dict:
    """The JSON form (schemas/decision.schema.json). Keys in a fixed order: deterministic.

    `principal_reasons` is present for adverse outcomes; `counterfactuals` when the caller
    computed them (a list of `engine.counterfactuals.Counterfactual`)."""
    policy = decision.policy
    with_trace = decision.trace is not None if trace is None else trace and decision.trace is not None
    adverse = decision.adverse
    out: dict = {
        "policy": policy.id,
        "version": policy.version,
        "policy_digest": policy.digest,
    }
    if decision.as_of is not None:  # the day it was decided on (only a policy that uses time has one)
        out["as_of"] = decision.as_of.isoformat()
    out.update({
        "outcome": decision.outcome,
        "outcome_known": decision.outcome_known,
        "adverse": adverse,
        "decided_by": [policy.rules[i].id for i in decision.decided_by],
        "reasons": [{"code": r.then.reason, "rule": r.id, "message": rule_message(r, decision, lang)}
                    for r in decision.reason_rules],
    })
    # A deciding rule's message without a reason code (a welcome text, say) is shown in the
    # text form; the JSON must carry every message the text shows.
    messages = [{"rule": r.id, "message": rule_message(r, decision, lang)} for r in decision.decided_by_rules
                if r.then.message and not r.then.reason]
    if messages:
        out["messages"] = messages
    if adverse:
        out["principal_reasons"] = principal_reasons(decision, lang)
    out.update({
        "notices": [{"code": r.then.reason, "rule": r.id, "message": rule_message(r, decision, lang)}
                    for r in decision.notice_rules],
        "flags": list(decision.flags),
        "outputs": dict(decision.outputs),
        "missing_facts": list(decision.missing_facts),
        "undetermined_rules": [r.id for r in decision.undetermined],
    })
    if decision.warnings:
        out["warnings"] = list(decision.warnings)
    if with_trace:
        out["facts"] = dict(decision.facts)
        if policy.derived:  # only a policy that declares derived facts has the key
            out["derived"] = dict(decision.derived)
        out["rules"] = [_rule_dict(r, decision) for r in policy.rules]
    if counterfactuals is not None:
        out["counterfactuals"] = counterfactual_dicts(decision, counterfactuals, lang)
    return out


def _rule_dict(r: Rule, decision: Decision) -> dict:
    d: dict = {"id": r.id}
    if r.table is not None:  # a table's row: which table, which row (1-based)
        d["table"] = r.table.table
        d["row"] = r.table.row
    d.update({
        "matched": decision.matched[r.index],
        "outcome": r.then.outcome,
        "location": f"{r.loc.file}:{r.loc.line}:{r.loc.column}",
        "conditions": [condition_dict(leaf, decision, res, neg) for leaf, res, neg in rule_conditions(r, decision)],
    })
    blocked = blocked_by(r, decision)
    if blocked:  # a `hit: first` row undetermined because these earlier rows may apply (their cells are not shown)
        d["blocked_by"] = [b.id for b in blocked]
    return d


def to_json(decision: Decision, lang: str | None = None, *, trace: bool | None = None, indent: int | None = 2,
            counterfactuals=None, record_id=None) -> str:
    """The decision as JSON; `record_id` (the caller's id of the record, e.g. a user id
    column of a batch) comes first so batch output can be joined back to its input.

    One line (`indent=None`) of a decision without a trace or counterfactuals is written by
    the policy's line encoder (`line_encoder`), which gives the same bytes as encoding
    `decision_dict` without building it."""
    if indent is None and counterfactuals is None and (decision.trace is None or trace is False):
        return line_encoder(decision.policy, lang).encode(decision, record_id)
    data = decision_dict(decision, lang, trace=trace, counterfactuals=counterfactuals)
    if record_id is not None:
        data = {"record_id": record_id, **data}
    return dumps(data, indent)


def json_value(v) -> str:
    """One value as `to_json` writes it on one line (what `json.JSONEncoder` writes)."""
    c = v.__class__
    if c is str:
        return _jstr(v)
    if c is int:
        return int.__repr__(v) if -INT_LIMIT < v < INT_LIMIT else int_digits(v)
    if c is float:
        return float.__repr__(v) if v - v == 0.0 else _floatstr(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if c is Decimal:
        return decimal_text(v)
    if c is datetime.date:
        return _jstr(v.isoformat())
    return dumps(v)


# -- the line encoder: one JSON line per decision, without building its dict ----------------
#
# `decision_dict` builds a dict (and lists and dicts in it) per decision, which costs more
# than deciding. Everything in the line but the rendered messages, the outputs and the
# warnings is a function of the policy, the language and six fields of the decision: the
# outcome, whether it is known, the deciding rules, the matches, the flags and the missing
# facts. Those six are the key of a "shape": the line's text with a slot where a message
# template has placeholders (rendered per decision by `rule_message`, as `decision_dict`
# does). The tests compare the bytes with `dumps(decision_dict(...))` on every example
# policy, generated records and the fuzz corpus.

_SHAPES_MAX = 4096  # shapes kept per policy and language; beyond, built per decision


_MISSING = object()
_TEXT_LIMIT = 1e15  # format_value(TEXT) writes integral floats below this as integers


def text_value(v) -> str:
    """`format_value(v)` (the TEXT style), with the common cases first."""
    c = v.__class__
    if c is int:
        return int.__repr__(v) if -INT_LIMIT < v < INT_LIMIT else int_digits(v)
    if c is str:
        return v
    if c is float and v - v == 0.0:
        return int.__repr__(int(v)) if v.is_integer() and -_TEXT_LIMIT < v < _TEXT_LIMIT else float.__repr__(v)
    return format_value(v)


class _Template:
    """A message template with placeholders, filled as `render_template` fills it: a fact
    of the decision, else an output, else a threshold (a constant), else `?`; a field with
    a format through `values.format_field`."""

    __slots__ = ("first", "pairs")

    def __init__(self, parts: list, policy: Policy):
        self.first = parts[0]
        thresholds = policy.thresholds
        self.pairs = tuple((parts[i], parts[i].spec,
                            format_field(thresholds[parts[i]].value, parts[i].spec) if parts[i] in thresholds else "?",
                            parts[i + 1]) for i in range(1, len(parts), 2))

    def json(self, facts, outputs, derived=None) -> str:
        out = [self.first]
        for name, spec, constant, after in self.pairs:
            v = facts.get(name, _MISSING)
            if v is _MISSING and derived:  # a policy's derived facts (`render_template`'s order)
                v = derived.get(name, _MISSING)
            if v is _MISSING:
                v = outputs.get(name, _MISSING)
            out.append(constant if v is _MISSING else format_field(v, spec) if spec else text_value(v))
            out.append(after)
        return _jstr("".join(out))


class _Shape:
    """The text of a line up to the outputs (`front`: a str, or a list of strs and the
    `_Template`s at `slots`) and after them (`tail`)."""

    __slots__ = ("front", "slots", "tail")

    def __init__(self, front: list, tail: str):
        merged: list = []
        for part in front:  # adjacent constants joined: one str between two templates
            if part.__class__ is str and merged and merged[-1].__class__ is str:
                merged[-1] += part
            else:
                merged.append(part)
        self.slots = tuple(i for i, part in enumerate(merged) if part.__class__ is not str)
        self.front = "".join(merged) if not self.slots else merged
        self.tail = tail


class _LineEncoder:
    """`to_json(decision, lang, indent=None, record_id=…)` of decisions without a trace or
    counterfactuals, for one policy and language."""

    def __init__(self, policy: Policy, lang: str | None):
        self.policy = policy
        self.lang = lang
        self.head = (f'"policy":{json_value(policy.id)},"version":{json_value(policy.version)},'
                     f'"policy_digest":{json_value(policy.digest)},')
        self.shapes: dict = {}
        self.keys: dict = {}  # output name → `"name":`
        self.messages: dict = {}  # rule index → JSON text of a constant message, or its template
        self.encode = self._encoder()

    def message(self, rule: Rule):
        """The message of `rule` in a shape: its JSON text when it is the same for every
        decision, else the rule (a slot, rendered per decision)."""
        got = self.messages.get(rule.index)
        if got is None:
            policy, lang = self.policy, self.lang
            template = pick_language(rule.then.message, lang, policy)
            if template is None and rule.then.reason:
                template = pick_language(policy.reasons.get(rule.then.reason), lang, policy)
            if not template:
                got = "null"
            elif len(template_parts(template)) == 1:
                got = json_value(template_parts(template)[0])
            else:
                got = _Template(template_parts(template), policy)
            self.messages[rule.index] = got
        return got

    def shape(self, decision: Decision) -> _Shape:
        """The shape of a decision: `decision_dict`'s keys and values, in its order, as text."""
        policy = decision.policy
        rules = policy.rules
        front: list = []
        add = front.append

        def coded(rs: list) -> None:
            add("[")
            for n, r in enumerate(rs):
                add(("," if n else "") + f'{{"code":{json_value(r.then.reason)},"rule":{json_value(r.id)},"message":')
                add(self.message(r))
                add("}")
            add("]")

        if not self.policy.uses_time:  # else `encode` writes the head and the decision's as_of
            add(self.head)
        add(f'"outcome":{json_value(decision.outcome)},"outcome_known":{json_value(decision.outcome_known)},'
            f'"adverse":{json_value(decision.adverse)},'
            f'"decided_by":[{",".join(json_value(rules[i].id) for i in decision.decided_by)}],"reasons":')
        coded(decision.reason_rules)
        messages = [r for r in decision.decided_by_rules if r.then.message and not r.then.reason]
        if messages:
            add(',"messages":[')
            for n, r in enumerate(messages):
                add(("," if n else "") + f'{{"rule":{json_value(r.id)},"message":')
                add(self.message(r))
                add("}")
            add("]")
        if decision.adverse:
            add(',"principal_reasons":')
            coded(principal_reason_rules(decision))
        add(',"notices":')
        coded(decision.notice_rules)
        add(f',"flags":[{",".join(json_value(f) for f in decision.flags)}],"outputs":{{')
        tail = (f'}},"missing_facts":[{",".join(json_value(f) for f in decision.missing_facts)}],'
                f'"undetermined_rules":[{",".join(json_value(r.id) for r in decision.undetermined)}]')
        return _Shape(front, tail)

    def __call__(self, d: Decision, record_id=None, end: str = "") -> str:
        """The line of `d` (without a newline: `end` is appended)."""
        return self.encode(d, record_id, end)

    def _encoder(self):
        """`__call__`'s body as a closure over what it reads (no attribute lookups per
        decision: this runs once per record of a batch)."""
        shapes, keys, build = self.shapes, self.keys, self.shape
        get, irepr, jstr, join, limit = shapes.get, int.__repr__, _jstr, "".join, INT_LIMIT
        head, dated = self.head, self.policy.uses_time
        derived = bool(self.policy.derived)  # then a decision's derived facts fill templates too

        def encode(d: Decision, record_id=None, end: str = "") -> str:
            key = (d[2], d[3], d[4], d[5], d[6], d[8])  # outcome, known, decided_by, matched, flags, missing
            try:
                shape = get(key)
            except TypeError:  # a field that is not hashable (a Decision built by hand with a list)
                shape = key = None
            if shape is None:
                shape = build(d)
                if key is not None and len(shapes) < _SHAPES_MAX:
                    shapes[key] = shape
            front = shape.front
            if shape.slots:
                front = front[:]
                facts, outputs = d[1], d[7]
                done: dict = {}  # a reason's message is in `reasons` and in `principal_reasons`
                for i in shape.slots:
                    template = front[i]
                    text = done.get(template)
                    if text is None:
                        text = done[template] = template.json(facts, outputs, derived and d[12])
                    front[i] = text
                front = join(front)
            if dated:  # the head, then the day decided on (one per decision, though a batch shares it)
                day = d[11]  # as_of
                front = head + ("" if day is None else '"as_of":"' + day.isoformat() + '",') + front
            o = d[7]
            if len(o) == 1:  # the common case, without a list
                for k, v in o.items():
                    prefix = keys.get(k)
                    if prefix is None:
                        prefix = keys[k] = json_value(k) + ":"
                    outputs = prefix + (irepr(v) if v.__class__ is int and -limit < v < limit else json_value(v))
            else:
                parts = []
                for k, v in o.items():
                    prefix = keys.get(k)
                    if prefix is None:
                        prefix = keys[k] = json_value(k) + ":"
                    parts.append(prefix + (irepr(v) if v.__class__ is int and -limit < v < limit else json_value(v)))
                outputs = ",".join(parts)
            warnings = d[10]
            if warnings:
                end = ',"warnings":[' + ",".join(json_value(w) for w in warnings) + "]}" + end
            else:
                end = "}" + end
            if record_id is None:
                return join(("{", front, outputs, shape.tail, end))
            return join(('{"record_id":', jstr(record_id) if record_id.__class__ is str else json_value(record_id),
                         ",", front, outputs, shape.tail, end))

        return encode


_LINE_ENCODERS: dict = {}


def line_encoder(policy: Policy, lang: str | None = None) -> _LineEncoder:
    """The line encoder of a policy and language, kept while the policy lives (a few at a
    time: a service that loads many policy versions does not keep them all). Call it, or
    its `encode` (the same function, one call less), with (decision, record_id, end)."""
    key = (id(policy), lang)
    got = _LINE_ENCODERS.get(key)
    if got is not None and got[0]() is policy:
        return got[1]
    if len(_LINE_ENCODERS) >= 64:
        _LINE_ENCODERS.clear()
    enc = _LineEncoder(policy, lang)
    _LINE_ENCODERS[key] = (weakref.ref(policy), enc)
    return enc


# -- text -----------------------------------------------------------------------------------

def _rule_line(rule: Rule, decision: Decision, mark: str, lang: str | None, prefix: str = "") -> list[str]:
    conds = rule_conditions(rule, decision)
    reason = f" [{rule.then.reason}]" if rule.then.reason else ""
    shown = [describe_leaf(leaf, decision, res) for leaf, res, _ in conds]
    where = f"{rule.loc.file}:{rule.loc.line}"
    head = f"  {mark} {prefix}{rule.id}{reason}  " + "; ".join(shown)
    lines = [f"{head}      {where}"]
    msg = rule_message(rule, decision, lang)
    if msg and (rule.then.reason or rule.then.message):
        lines.append(f"      {msg}")
    return lines


def explain_text(decision: Decision, lang: str | None = None, counterfactuals=None) -> str:
    """The human view of one decision (DESIGN §3 text form). With `counterfactuals`
    (computed by the caller), the principal reasons are followed by `To change this:`."""
    policy = decision.policy
    label = outcome_label(decision, lang)
    outcome = (decision.outcome or "none").upper()
    head = f"{outcome}  {policy.id} v{policy.version}"
    if label.upper() != outcome:
        head += f"  ({label})"
    if decision.as_of is not None:
        head += f"  as of {decision.as_of.isoformat()}"
    lines = [head]
    if not decision.outcome_known:
        lines.append("  ? the outcome is provisional: rules that could change it depend on missing facts")
    deciding = set(decision.decided_by)
    for r in decision.decided_by_rules:
        if r.table is None:  # a table's row is shown in its table, below
            lines += _rule_line(r, decision, "✗" if decision.adverse else "✓", lang)
    for table in policy.tables:
        if relevant(policy, table, decision):
            lines += table_lines(TableView(table, decision, lang), decision, lang)
    if not decision.decided_by and decision.outcome is not None:
        lines.append(f"  · no rule decided the outcome; `{decision.outcome}` is the policy's default")
    # Outcome rules that matched but lost on precedence, and better outcomes not reached.
    prec = {o.id: i for i, o in enumerate(policy.outcomes)}
    current = prec.get(decision.outcome, len(prec))
    for r in policy.rules:
        if not r.decides_outcome or r.index in deciding or r.table is not None:
            continue
        m = decision.matched[r.index]
        if m is True:
            lines += [f"  · {r.id} would match ({r.then.outcome}): " + "; ".join(
                describe_leaf(leaf, decision, res) for leaf, res, _ in rule_conditions(r, decision))]
        elif m is None:
            lines.append(f"  ? {r.id} ({r.then.outcome}) could not be decided: "
                         + undecided_because(rule_conditions(r, decision), decision))
        elif prec[r.then.outcome] < current and not policy.outcome(r.then.outcome).adverse:
            failed = [describe_leaf(leaf, decision, res) for leaf, res, neg in rule_conditions(r, decision)
                      if (res is False and not neg) or (res is True and neg)]
            # A fact or flag tested in several branches is shown once.
            lines.append(f"  · {r.id} ({r.then.outcome}) not reached: " + "; ".join(dict.fromkeys(failed)))
    principal = principal_reason_rules(decision)
    if principal:
        lines.append("Principal reasons:")
        for n, r in enumerate(principal, 1):
            lines.append(f"  {n}. [{r.then.reason}] {rule_message(r, decision, lang) or ''}".rstrip())
    if counterfactuals is not None:
        lines += _change_lines(decision, counterfactuals, lang)
    notices = decision.notice_rules
    if notices:
        lines.append("Notices:")
        for r in notices:
            lines.append(f"  ! {r.id} [{r.then.reason}]  {rule_message(r, decision, lang) or ''}".rstrip())
    if decision.flags:
        lines.append("Flags: " + ", ".join(decision.flags))
    if decision.outputs:
        lines.append("Outputs: " + ", ".join(f"{k} = {_output_text(k, v, decision)}" for k, v in decision.outputs.items()))
    if policy.derived:
        lines.append("Derived facts:")
        lines += [f"  {line}" for line in derived_lines(decision)]
    if decision.missing_facts:
        lines.append("Missing facts: " + ", ".join(decision.missing_facts))
    for w in decision.warnings:
        lines.append(f"Warning: {w}")
    return "\n".join(lines) + "\n"


def _output_text(name: str, value, decision: Decision) -> str:
    """An output's value in the Outputs line: `?` for one a condition reads while it is
    unknown (a rule that sets it could not be decided; `Decision.outputs` holds its value
    as if that rule did not apply)."""
    return "?" if name in unknown_outputs(decision) else format_value(value)


def _change_lines(decision: Decision, counterfactuals, lang: str | None) -> list[str]:
    head = "To change this: "
    if counterfactuals:
        return [(head if n == 0 else "or: ".rjust(len(head))) + describe_counterfactual(decision, cf, lang)
                for n, cf in enumerate(counterfactuals)]
    if _can_improve(decision):
        return [head + "no better outcome is reachable by changes the policy allows"]
    return []


def explain_markdown(decision: Decision, lang: str | None = None, counterfactuals=None) -> str:
    policy = decision.policy
    as_of = decision.as_of
    lines = [f"### {md_line(outcome_label(decision, lang))} — `{policy.id}` v{policy.version}"
             + (f", as of {as_of.isoformat()}" if as_of is not None else ""), ""]
    principal = principal_reason_rules(decision)
    if decision.reason_rules and not principal:
        lines.append("**Reasons**")
        lines.append("")
        for r in decision.reason_rules:
            lines.append(f"- `{r.then.reason}` ({r.id}): {md_line(rule_message(r, decision, lang) or '')}".rstrip())
        lines.append("")
    if principal:
        lines += ["**Principal reasons**", ""]
        for n, r in enumerate(principal, 1):
            lines.append(f"{n}. `{r.then.reason}`: {md_line(rule_message(r, decision, lang) or '')}".rstrip())
        lines.append("")
    if counterfactuals is not None and (counterfactuals or _can_improve(decision)):
        lines += ["**To change this**", ""]
        for cf in counterfactuals:
            label = pick_language(policy.outcome(cf.outcome).label, lang, policy) or cf.outcome
            lines.append(f"- {md_line(describe_counterfactual(decision, cf, lang))}"
                         + (f" ({md_line(label)})" if label != cf.outcome else ""))
        if not counterfactuals:
            lines.append("- no better outcome is reachable by changes the policy allows")
        lines.append("")
    plain = [r for r in policy.rules if r.table is None]  # a table's rows are shown in its table
    if plain or not policy.tables:
        lines += ["| rule | matched | conditions |", "|---|---|---|"]
    for r in plain:
        m = decision.matched[r.index]
        mark = {True: "✓", False: "✗", None: "?"}[m]
        conds = "; ".join(describe_leaf(leaf, decision, res) for leaf, res, _ in rule_conditions(r, decision))
        lines.append(f"| `{r.id}` | {mark} | {md_cell(conds)} |")
    for n, table in enumerate(policy.tables):
        if plain or n:
            lines.append("")
        lines += table_markdown(TableView(table, decision, lang), decision)
    if decision.notice_rules:
        lines += ["", "**Notices**", ""]
        for r in decision.notice_rules:
            lines.append(f"- `{r.then.reason}`: {md_line(rule_message(r, decision, lang) or '')}".rstrip())
    if decision.flags or decision.outputs:
        lines.append("")
    if decision.flags:
        lines.append("Flags: " + ", ".join(f"`{f}`" for f in decision.flags))
    if decision.outputs:
        lines.append("Outputs: " + ", ".join(f"`{k}` = {md_line(_output_text(k, v, decision))}"
                                             for k, v in decision.outputs.items()))
    if policy.derived:
        lines += ["", "**Derived facts**", ""]
        lines += [f"- {md_line(line)}" for line in derived_lines(decision)]
    return "\n".join(lines) + "\n"
