"""The compiler: a policy's rules to durable-rules rulesets (JSON text), without durable.

Per rule, the NNF of its condition (and of its negation when it can be unknown) becomes one
or more durable rules (`Part`s), each with an action code; a stratum's durable rules are
packed into rulesets within durable's limits, checked on the network model. `build` does
all of it and is pure: the runtime (`host`) registers what it returns, and `ruleset_json`
writes it for inspection (`verdict compile --emit durable`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...language.conditions import NOT, kind, nnf
from ...language.tables import restatement
from ...language.model import (DATE, PRESENCE_OP, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT,
                               SUBJECT_RULE, Comparison, Policy, RelativeDate)
from ...runtime.semantics import Plan, fact_operands, is_v3_leaf, written_operand
from ...errors import DurableLimitError
from .limits import EXACT_INT, INT_MAX, INT_MIN, MAX_PARTS_PER_RULE
from .network import SHARED_ANCHOR, Network, private_anchor
from .normal import DURABLE_OP, NEGATE, FALSE, TRUE, chunk_items, int_compare, n_and, n_or, node_fields, node_text, split


@dataclass(eq=False)
class Part:
    """One durable rule: the NNF it matches, the code its action appends, whether it
    needs an anchor of its own."""

    expr: tuple
    code: int
    rule_id: str
    private: bool = False


class Compiler:
    """The durable rules of one policy: field names, which rules can be unknown, and the
    NNF, decomposition and packing of every rule's condition."""

    def __init__(self, policy: Policy, plan: Plan):
        self.policy = policy
        self.plan = plan
        self.fact_field = {name: f"f{k}" for k, name in enumerate(policy.facts)}
        # Two derived fields per fact, written only into the messages of rulesets that read
        # them (see `messages`): `p{k}` is whether fact k is present (true/false, always
        # written), for `missing` tests without `$nex` (never emitted: see the package
        # docstring); `t{k}`, for a date fact, is its day number minus the evaluation
        # date's, which relative operands compare with (see `compare`).
        self.presence_field = {name: f"p{k}" for k, name in enumerate(policy.facts)}
        self.offset_field = {name: f"t{k}" for k, name in enumerate(policy.facts) if policy.facts[name].type == DATE}
        self.relative_dates: set[RelativeDate] = set()  # every relative operand compiled
        flags = sorted({f for r in policy.rules for f in r.then.flags})
        self.flag_field = {f: f"g{k}" for k, f in enumerate(flags)}
        none = "-none-"
        while none in policy.outcome_ids:
            none += "-"
        self.no_outcome = none  # the outcome field's value when no outcome at all is decided
        # v3 leaves durable cannot compare exactly (list and string operators, `{fact: …}`
        # operands, derived facts, outputs): the host computes each one with the one
        # semantics and writes `q{k}` (true/false; absent when unknown) into the message.
        self.leaf_field: dict[object, str] = {}  # a leaf, or a first-hit restatement (`language.tables.restatement`)
        self.float_unsafe: dict[str, object] = {}  # number fact → an int threshold a double cannot hold
        self.next_code = 0  # what each durable rule's action appends
        self.parts_left = MAX_PARTS_PER_RULE
        self.maybe_unknown = self._maybe_unknown()

    # -- which rules can be unknown ----------------------------------------------------------
    def _maybe_unknown(self) -> tuple[bool, ...]:
        policy = self.policy
        unknown = [False] * len(policy.rules)
        for stratum in policy.strata:
            outcome_unknown = any(unknown[r.index] for r in policy.rules if r.decides_outcome)
            for i in stratum:
                for leaf in policy.rules[i].leaves:
                    if is_v3_leaf(leaf):
                        u = self._v3_unknown(leaf, unknown, outcome_unknown)
                    elif leaf.kind == "fact":
                        spec = policy.facts[leaf.subject]
                        # a presence test is never unknown: it is about the absence itself
                        u = not spec.required and not spec.has_default and leaf.op != PRESENCE_OP
                    elif leaf.kind == SUBJECT_RULE:
                        u = unknown[self.plan.rule_index[leaf.subject]]
                    elif leaf.kind == SUBJECT_FLAG:
                        u = any(unknown[j] for j in self.plan.flag_setters.get(leaf.subject, ()))
                    else:
                        u = outcome_unknown
                    if u:
                        unknown[i] = True
                        break
        return tuple(unknown)

    def _optional(self, name: str) -> bool:
        """Whether a fact, or a derived fact through the facts it reads, can be missing."""
        facts = self.policy.facts
        return any(not facts[n].required and not facts[n].has_default
                   for n in self.plan.derived_facts.get(name, {name}) if n in facts)

    def _v3_unknown(self, leaf: Comparison, unknown: list, outcome_unknown: bool) -> bool:
        if leaf.op == PRESENCE_OP:
            return False
        if fact_operands(leaf) and any(self._optional(n) for n in fact_operands(leaf)):
            return True
        if leaf.kind == SUBJECT_OUTPUT:
            rules, by_outcome = self.plan.output_rules[leaf.subject]
            return (by_outcome and outcome_unknown) or any(unknown[j] for j in rules)
        return self._optional(leaf.subject)

    # -- leaves ------------------------------------------------------------------------------
    def number_const(self, fact: str, c):
        """A threshold compared with a number fact, in the form durable compares exactly:
        integral values as int64, fractions as doubles."""
        if isinstance(c, int) or c.is_integer():
            n = int(c)
            if INT_MIN <= n <= INT_MAX:
                if abs(n) > EXACT_INT and float(n) != n:
                    self.float_unsafe.setdefault(fact, c)
                return n
            try:
                exact = float(n) == n
            except OverflowError:
                exact = False
            if abs(n) > 2**63 and exact:
                return float(n)  # beyond every int64: as a double, order with ints is kept
            raise DurableLimitError(
                f"threshold {c!r} on number fact `{fact}` is beyond durable-rules' 64-bit integers "
                f"and cannot be compared exactly")
        return c

    def compare(self, leaf: Comparison, field: str, op: str, c) -> tuple:
        if leaf.kind == "fact":
            ftype = self.policy.facts[leaf.subject].type
            if ftype == "integer":
                return int_compare(field, op, c)
            if ftype == "number":
                return ("cmp", field, DURABLE_OP[op], self.number_const(leaf.subject, c))
            if ftype == DATE:
                return self.date_compare(leaf.subject, field, op, c)
        return ("cmp", field, DURABLE_OP[op], c)

    def date_compare(self, fact: str, field: str, op: str, c) -> tuple:
        """`fact op c` for a date fact, as an exact integer comparison of day numbers.

        An absolute date compares the fact's day number (field `f{k}`). A relative date
        (`as_of ± N`) depends on the evaluation date, which changes per call while the
        rulesets are registered once per policy. durable-rules could do arithmetic on the
        right-hand side (`$add` of a message field), but its arithmetic goes through
        doubles and its field references are a join machinery we do not otherwise use; so
        instead every message also carries `t{k}` = day number of the fact minus the day
        number of `as_of` (an exact int, written per call by `messages`), and
        `d op as_of + offset` ⇔ `t{k} op offset`: the same integers moved to one side."""
        if isinstance(c, RelativeDate):
            self.relative_dates.add(c)
            return int_compare(self.offset_field[fact], op, c.offset)
        return int_compare(field, op, c.toordinal())

    def field(self, leaf: Comparison) -> str | None:
        if leaf.kind == "fact":
            return self.fact_field[leaf.subject]
        if leaf.kind == SUBJECT_RULE:
            return f"r{self.plan.rule_index[leaf.subject]}"
        if leaf.kind == SUBJECT_FLAG:
            return self.flag_field.get(leaf.subject)  # None: no rule raises it, always false
        if leaf.kind == SUBJECT_OUTCOME:
            return "o"
        raise ValueError(leaf.kind)

    def leaf(self, leaf: Comparison, positive: bool) -> tuple:
        """The literal "field exists and `leaf` (or its negation) holds"."""
        if is_v3_leaf(leaf):  # computed by the host: `q{k}` is the leaf's value, absent when unknown
            field = self.leaf_field.setdefault(leaf, f"q{len(self.leaf_field)}")
            return ("cmp", field, "$eq", positive)
        if leaf.op == PRESENCE_OP:  # `(f not in facts) == operand`, where `p{k}` is "f is present"
            absent = leaf.operand.value is positive  # `missing: true`, or `not {missing: false}`
            return ("cmp", self.presence_field[leaf.subject], "$eq", not absent)
        field = self.field(leaf)
        op = leaf.op if positive else NEGATE[leaf.op]
        if field is None:  # a flag nobody raises is a known False
            return FALSE if op == "eq" else TRUE
        value = written_operand(leaf)
        if leaf.kind in (SUBJECT_RULE, SUBJECT_FLAG):  # `eq True`; its negation is `eq False`
            return ("cmp", field, "$eq", op == "eq")
        if op == "between":
            return n_and([self.compare(leaf, field, "gte", value[0]), self.compare(leaf, field, "lte", value[1])])
        if op == "outside":
            return n_or([self.compare(leaf, field, "lt", value[0]), self.compare(leaf, field, "gt", value[1])])
        if op == "in":
            return n_or([self.compare(leaf, field, "eq", v) for v in value])
        if op == "not_in":
            return n_and([("ex", field)] + [self.compare(leaf, field, "ne", v) for v in value])
        return self.compare(leaf, field, op, value)

    def nnf(self, cond, positive: bool) -> tuple:
        """The condition (negated unless `positive`) in negation normal form
        (`conditions.nnf`), its leaves as durable literals."""
        return nnf(cond, self.leaf, n_and, n_or, positive)

    # -- rules → durable rules -----------------------------------------------------------------
    def side(self, rule_index: int, positive: bool) -> list[list[Part]]:
        """The durable rules for a rule's condition (or its negation), in disjunctive
        form: the condition holds iff, for some term, every durable rule of it fired.
        Almost always one term of one durable rule."""
        rule = self.policy.rules[rule_index]
        own, restated = restatement(rule.when) if rule.table is not None else (rule.when, None)
        expr = (TRUE if positive else FALSE) if own is None else self.nnf(own, positive)  # no cells: always holds
        if restated is not None:
            # "no earlier row may apply", computed by the host (`host._blockers`): O(rows)
            # durable rules for a first-hit table instead of O(rows²) restated cells
            field = self.leaf_field.setdefault(restated, f"q{len(self.leaf_field)}")
            literal = ("cmp", field, "$eq", positive)
            expr = n_and([expr, literal]) if positive else n_or([expr, literal])
        if expr == FALSE:
            return []
        self.parts_left = MAX_PARTS_PER_RULE
        return self.decompose(expr, False, rule.id)

    def decompose(self, expr, private: bool, rule_id: str) -> list[list[Part]]:
        net = Network()
        net.add(private_anchor(1) if private else SHARED_ANCHOR, expr)
        problem = net.problem()
        if problem is None:
            self.parts_left -= 1
            if self.parts_left < 0:
                raise DurableLimitError(f"rule `{rule_id}` is too large for durable-rules: splitting it within "
                                        f"durable's limits needs more than {MAX_PARTS_PER_RULE} durable rules")
            part = Part(expr, self.next_code, rule_id, private)
            self.next_code += 1
            return [[part]]
        kind, message = problem
        if kind in ("groups", "fields"):
            # too many `$and`/`$or` groups (error 113) or fields (error 302) for one durable
            # rule: several durable rules, AND-ed (an `all`) or OR-ed (an `any`) by their codes
            chunks = chunk_items(expr[1], kind)
            subs = [self.decompose((n_and if expr[0] == "and" else n_or)(c), private, rule_id) for c in chunks]
            if expr[0] == "or":
                return [term for sub in subs for term in sub]
            terms: list[list[Part]] = [[]]
            for sub in subs:
                terms = [t + u for t in terms for u in sub]
                if len(terms) > MAX_PARTS_PER_RULE:
                    raise DurableLimitError(f"rule `{rule_id}` is too large for durable-rules: {message}")
            return terms
        pieces = split(expr)
        if pieces is None:
            raise DurableLimitError(f"rule `{rule_id}` exceeds a durable-rules limit: {message}")
        return [term for piece in pieces for term in self.decompose(piece, True, rule_id)]

    def pack(self, parts: list[Part], stratum_no: int, stem: str) -> list[tuple[str, str, list[Part]]]:
        """Greedily pack durable rules into rulesets within durable's limits: (name, JSON
        text, parts) per ruleset, named `{stem}-s{stratum}-{k}`."""
        groups: list[list[Part]] = []
        current: list[Part] = []
        net = Network()
        private = 0
        for part in parts:
            private += part.private
            net.add(private_anchor(private) if part.private else SHARED_ANCHOR, part.expr)
            if net.problem() is not None:
                if not current:
                    raise DurableLimitError(f"rule `{part.rule_id}` exceeds a durable-rules limit: {net.problem()[1]}")
                groups.append(current)
                current, net, private = [], Network(), int(part.private)
                net.add(private_anchor(private) if part.private else SHARED_ANCHOR, part.expr)
            current.append(part)
        if current:
            groups.append(current)
        out = []
        for k, group in enumerate(groups):
            name = f"{stem}-s{stratum_no}-{k}"
            rules, private = [], 0
            for j, part in enumerate(group):
                private += part.private
                anchor = private_anchor(private) if part.private else SHARED_ANCHOR
                items = part.expr[1] if part.expr[0] == "and" else (part.expr,)
                rules.append('"p%d":{"all":[{"m":%s}]}' % (j, node_text(("and", (anchor,) + tuple(items)))))
            out.append((name, "{" + ",".join(rules) + "}", group))
        return out


@dataclass
class Build:
    """What `build` compiled: per stratum its rule indexes and packed rulesets (name, JSON
    text, parts); per rule the codes that decide it (see `_Compiled.terms`); the compiler,
    whose field names and float-unsafe thresholds the message encoders need."""

    compiler: Compiler
    strata: tuple[tuple[tuple[int, ...], tuple[tuple[str, str, list[Part]], ...]], ...]
    terms: tuple


def build(policy: Policy, plan: Plan, stem: str) -> Build:
    """Compile every rule and pack every stratum (pure; nothing is registered)."""
    comp = Compiler(policy, plan)
    stratum_parts = []
    terms: list = [((), ())] * len(policy.rules)
    for stratum in policy.strata:  # every condition first: that also collects float_unsafe
        parts: list[Part] = []
        for i in stratum:
            sides = []
            for positive in (True, False) if comp.maybe_unknown[i] else (True,):
                side = comp.side(i, positive)
                sides.append(tuple(frozenset(p.code for p in term) for term in side))
                parts.extend(dict.fromkeys(p for term in side for p in term))  # parts shared by terms once
            terms[i] = (sides[0], sides[1] if len(sides) > 1 else ())
        stratum_parts.append(parts)
    strata = tuple((tuple(stratum), tuple(comp.pack(parts, s, stem)))
                   for s, (stratum, parts) in enumerate(zip(policy.strata, stratum_parts)))
    return Build(comp, strata, tuple(terms))


def ruleset_json(policy: Policy, plan: Plan) -> str:
    """The durable form of a policy as one JSON document, deterministic across processes
    (fixed key order, names from the policy digest only): the message fields, every
    ruleset's definition exactly as durable-rules receives it, and per rule the durable
    rules (`ruleset.pN`) whose firing decides it: it matches when every durable rule of one
    `true_when` term fired, and (when it can be unknown) fails when one `false_when` term
    did."""
    built = build(policy, plan, f"verdict-{policy.digest[7:19]}")
    comp = built.compiler
    dump = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    fields = {"_n": "message number"}
    fields.update({field: f"fact {name}" for name, field in comp.fact_field.items()})
    read: set[str] = set()
    for _, packed in built.strata:
        for _, _, group in packed:
            for part in group:
                node_fields(part.expr, read)
    fields.update({field: f"fact {name} is present" for name, field in comp.presence_field.items() if field in read})
    fields.update({field: f"fact {name} minus the evaluation date, in days" for name, field in comp.offset_field.items()
                   if field in read})
    fields.update({field: f"condition `{leaf.subject} {leaf.op}` computed by the host (absent: unknown)"
                   if kind(leaf) != NOT else "no earlier row of its table may apply, computed by the host (absent: "
                   "unknown)" for leaf, field in comp.leaf_field.items()})
    fields.update({f"r{r.index}": f"rule {r.id} matched" for r in policy.rules})
    fields.update({field: f"flag {flag}" for flag, field in comp.flag_field.items()})
    fields["o"] = f"outcome (\"{comp.no_outcome}\": none)"
    where: dict[int, str] = {}
    rulesets, strata = [], []
    for stratum, packed in built.strata:
        for name, text, group in packed:
            # the text is durable's own JSON (floats without exponents): embedded verbatim
            rulesets.append(f"    {dump(name)}: {text}")
            where.update({part.code: f"{name}.p{j}" for j, part in enumerate(group)})
        strata.append("    {\"rules\": %s, \"rulesets\": %s}" % (
            dump([policy.rules[i].id for i in stratum]), dump([name for name, _, _ in packed])))
    rules = []
    for rule, (pos, neg) in zip(policy.rules, built.terms):
        entry = {"true_when": [sorted((where[c] for c in term), key=_natural) for term in pos]}
        if comp.maybe_unknown[rule.index]:
            entry["false_when"] = [sorted((where[c] for c in term), key=_natural) for term in neg]
        rules.append(f"    {dump(rule.id)}: {dump(entry)}")
    return ("{\n"
            f'  "policy": {dump(policy.id)},\n'
            f'  "digest": {dump(policy.digest)},\n'
            f'  "fields": {dump(fields)},\n'
            '  "strata": [\n' + ",\n".join(strata) + "\n  ],\n"
            '  "rulesets": {\n' + ",\n".join(rulesets) + "\n  },\n"
            '  "rules": {\n' + ",\n".join(rules) + "\n  }\n"
            "}\n")


def _natural(name: str) -> tuple:
    """`verdict-…-s0-1.p10` after `….p9`: the numbers in a durable rule's name, in order."""
    stem, _, p = name.rpartition(".p")
    return (stem, int(p))
