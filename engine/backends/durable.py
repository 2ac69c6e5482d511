"""The durable backend: the policy IR compiled into durable-rules 2.0.28 rulesets.

It computes exactly `semantics.reference_matches`, through durable-rules' C Rete engine.
durable-rules is unmaintained and has sharp edges; every one we know of is neutralised
here and pinned by a test in `tests/test_backend_durable.py` (the table is in
`docs/backends.md`). In short:

Compiling (once per policy digest, process-wide):
- Every fact and every earlier conclusion becomes a field of one durable *fact* message
  with a synthetic name (`f3` fact, `r7` rule matched, `g0` flag, `o` outcome), so no
  policy text ever names a durable field. A missing fact, or an undecided conclusion, is
  an absent field.
- A rule's condition is put in negation normal form (De Morgan), whose literals are
  "the field exists and the comparison holds" (every durable operator but `$nex` is false
  on a missing field). Under Kleene logic a rule is True iff that NNF matches, and False
  iff the NNF of its negation matches; otherwise unknown. The negation is compiled only
  for rules whose leaves can be unknown. `in`/`not_in` become `$or`/`$and` of
  `$eq`/`$neq`, `between` a `$gte`/`$lte` pair. Comparisons on integer facts are
  rewritten to exact integer bounds (`x > 2.5` ⇒ `x > 2`), clamped to durable's int64.
- Each durable rule is anchored (`_n` exists, `_n` is the unique message number), has an
  action of exactly one parameter that only appends an int code, and no `pri`.
- A stratum's durable rules are packed into as many rulesets as durable's limits need,
  checked on a model of the alpha network durable will build (the DFS stack of 64, 511
  conditions under one node, 15 `$and`/`$or` per rule, 127 join nodes, 255 rules per
  node, 252 fields per message, and at most 60 rules per ruleset). A rule too big alone
  is split by distributing one `$or` into several durable rules under their own anchors
  (their matches are OR-ed, exactly like durable's own `$or` firing once per branch).
- Ruleset JSON and fact JSON are written by this module, floats without exponents
  (durable rejects `1e-07` with error 204). Rulesets are registered once per digest in
  one process-wide `Host` whose `_run` does nothing (no timer threads).

Evaluating (one user at a time, under a process-wide lock, on a single sid):
- per stratum, per ruleset: `assert_fact` (never `post`, which fires one rule only), read
  the codes the actions appended (a set: `$or` fires once per true branch), then
  `retract_fact`. `MessageNotHandledException` means nothing matched (nothing is stored).
  An exception that durable swallowed in an action (it records it in the session state)
  is detected and raised, and the session is reset.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Mapping

from ..language.model import SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE, All, Any, Comparison, Not, Policy
from ..runtime.semantics import Plan, operand_value

__all__ = ["BackendUnavailable", "DurableLimitError", "DurableEngineError", "DurableBackend"]


class BackendUnavailable(Exception):
    """durable-rules cannot be imported here (e.g. Python 3.13); use the native backend."""


class DurableLimitError(Exception):
    """The policy, or a fact value, exceeds a durable-rules limit we cannot work around."""


class DurableEngineError(RuntimeError):
    """durable-rules misbehaved at evaluation time (a swallowed action exception, an
    unexpected engine error); the result would have been wrong, so none is returned."""


# -- durable-rules 2.0.28 limits (measured; see docs/backends.md) ---------------------------
INT_MAX = 2**63 - 1            # integers are parsed with atol/atoll: they saturate beyond this
INT_MIN = -INT_MAX
EXACT_INT = 2**53              # ints beyond this are rounded when durable compares them to a double
MAX_FIELDS = 252               # fields per message besides `sid` (253 → error 302); `_n` included
MAX_STACK = 64                 # alpha DFS stack, events.c MAX_STACK_SIZE (65 pending → error 303)
STACK_CAP = 60                 # what we allow ourselves (margin)
MAX_CHILDREN = 511             # conditions under one alpha node: a 512-slot hash set (512 → hang)
CHILDREN_CAP = 500
MAX_GROUPS = 15                # `$and`/`$or` per rule: 2 of 32 expression slots each (16 → error 113)
MAX_JOINS = 127                # `$or` join nodes under one alpha node, NEXT_LIST_LENGTH 128 (→ 107)
MAX_BETAS = 255                # rules ending at one alpha node, BETA_LIST_LENGTH 256 (→ 108)
MAX_RULES_PER_RULESET = 60     # "more than 64 rules true at once → 303", with margin
MAX_PARTS_PER_RULE = 256       # how far we split one rule before giving up

SID = "0"
ID_FIELD = "_n"

# -- lazy import of durable ---------------------------------------------------------------

_RUNTIME = None  # (engine module, C module, host), created on first use
_LOCK = threading.Lock()  # one evaluation at a time: durable's C calls never release the GIL
_INIT_LOCK = threading.Lock()  # one Host per process
_COUNTER = itertools.count(1)  # unique message numbers: identical content is "already observed"
_NAMES = itertools.count(1)  # ruleset name generations (a failed compile never reuses a name)
_CACHE: dict[str, "_Compiled"] = {}  # policy digest → registered rulesets


def _runtime():
    """Import durable-rules (only when a DurableBackend is created) and create the Host."""
    global _RUNTIME
    if _RUNTIME is not None:
        return _RUNTIME
    with _INIT_LOCK:
        if _RUNTIME is None:
            _RUNTIME = _create_runtime()
    return _RUNTIME


def _create_runtime():
    try:
        import durable.engine as dengine
        import durable_rules_engine as dcore
    except Exception as exc:  # ImportError, OSError: e.g. `undefined symbol: PyEval_CallObject` on 3.13
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BackendUnavailable(
            f"the durable backend is unavailable: durable-rules 2.0.28 cannot be imported on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} ({type(exc).__name__}: {reason}); "
            f"use the native backend") from None

    class TextRuleset(dengine.Ruleset):
        """A durable `Ruleset` built from JSON text this module wrote (floats without
        exponents), whose assert_fact/retract_fact take JSON text too. Actions are passed
        separately, so no definition dict is mutated (set_rulesets deletes `run` keys)."""

        def __init__(self, name, host, text: str, actions: dict[str, Callable]):  # noqa: D107
            self._name = name
            self._host = host
            self._actions = {rule: dengine.Promise(fn) for rule, fn in actions.items()}
            self._handle = dcore.create_ruleset(name, text)
            self._definition = text

        def assert_fact(self, text):
            return self._handle_result(dcore.assert_fact(self._handle, text), text)

        def retract_fact(self, text):
            return self._handle_result(dcore.retract_fact(self._handle, text), text)

    class VerdictHost(dengine.Host):
        """The one process-wide Host: no timer threads, rulesets registered from text."""

        def _run(self):  # the stock Host starts two timer threads that never stop
            pass

        def register_text_ruleset(self, name: str, text: str, actions: dict[str, Callable]) -> None:
            if name in self._ruleset_directory:
                raise DurableEngineError(f"durable ruleset {name} is already registered")
            ruleset = TextRuleset(name, self, text, actions)
            self._ruleset_directory[name] = ruleset
            self._ruleset_list.append(ruleset)

    return dengine, dcore, VerdictHost()


# -- conditions in negation normal form -----------------------------------------------------
# ("cmp", field, op, value) | ("ex", field) | ("and", items) | ("or", items)

TRUE = ("and", ())
FALSE = ("or", ())
_DURABLE_OP = {"eq": "$eq", "ne": "$neq", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
_NEGATE = {"eq": "ne", "ne": "eq", "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt",
           "in": "not_in", "not_in": "in", "between": "outside", "outside": "between"}


def format_float(value: float) -> str:
    """A finite float as JSON durable accepts: never an exponent, always a point.
    `repr` digits round-trip exactly, and durable parses the text with `atof`."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." not in text:
        text += ".0"
    return text


def value_text(value) -> str:
    """JSON text of a scalar, as durable must see it (bool before int: True is an int)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"unexpected value {value!r}")


def node_key(node) -> tuple:
    """Identity of a node as durable sees it (1 and 1.0, True and 1 are different)."""
    if node[0] == "cmp":
        return ("cmp", node[1], node[2], value_text(node[3]))
    if node[0] == "ex":
        return node
    return (node[0], tuple(node_key(c) for c in node[1]))


def _flatten(kind: str, items) -> list:
    out, seen = [], set()
    for item in items:
        for sub in (item[1] if item[0] == kind else (item,)):
            key = node_key(sub)
            if key not in seen:
                seen.add(key)
                out.append(sub)
    return out


def n_and(items) -> tuple:
    items = list(items)
    if any(i == FALSE for i in items):
        return FALSE
    flat = _flatten("and", items)
    return flat[0] if len(flat) == 1 else ("and", tuple(flat))


def n_or(items) -> tuple:
    items = list(items)
    if any(i == TRUE for i in items):
        return TRUE
    flat = _flatten("or", items)
    return flat[0] if len(flat) == 1 else ("or", tuple(flat))


def node_text(node) -> str:
    kind = node[0]
    if kind == "cmp":
        return '{"%s":{"%s":%s}}' % (node[2], node[1], value_text(node[3]))
    if kind == "ex":
        return '{"$ex":{"%s":1}}' % node[1]
    return '{"$%s":[%s]}' % (kind, ",".join(node_text(c) for c in node[1]))


def node_fields(node, out: set) -> set:
    if node[0] in ("cmp", "ex"):
        out.add(node[1])
    else:
        for c in node[1]:
            node_fields(c, out)
    return out


def count_groups(node) -> int:
    if node[0] in ("and", "or"):
        return 1 + sum(count_groups(c) for c in node[1])
    return 0


def int_compare(field: str, op: str, c) -> tuple:
    """`field op c` for an integer-valued field, as an exact int comparison (or a
    constant): durable compares ints with ints exactly, and saturates beyond int64."""
    if op in ("eq", "ne"):
        integral = isinstance(c, int) or float(c).is_integer()
        n = int(c) if integral else None
        if n is None or not INT_MIN <= n <= INT_MAX:
            return FALSE if op == "eq" else ("ex", field)
        return ("cmp", field, _DURABLE_OP[op], n)
    if isinstance(c, float):
        b = math.floor(c) if op in ("gt", "lte") else math.ceil(c)
    else:
        b = c
    if op == "gt":
        const = False if b >= INT_MAX else True if b < INT_MIN else None
    elif op == "gte":
        const = False if b > INT_MAX else True if b <= INT_MIN else None
    elif op == "lt":
        const = False if b <= INT_MIN else True if b > INT_MAX else None
    else:  # lte
        const = False if b < INT_MIN else True if b >= INT_MAX else None
    if const is None:
        return ("cmp", field, _DURABLE_OP[op], b)
    return ("ex", field) if const else FALSE


# -- a model of the alpha network durable builds (rete.c createAlpha/findAlpha) --------------

class _Alpha:
    __slots__ = ("children", "joins", "betas", "op", "field")

    def __init__(self, field: str | None = None, op: str | None = None):
        self.children: dict[tuple, _Alpha] = {}  # the hash set: deduplicated by (field, op, value)
        self.joins: list[_Alpha] = []  # `$or` join nodes (`$nex $forward`, in the next list)
        self.betas = 0
        self.field = field
        self.op = op


class _Network:
    """The alpha network of one ruleset, to check durable's structural limits before
    durable sees the ruleset (some of them hang or crash instead of failing)."""

    def __init__(self):
        self.root = _Alpha()
        self.nodes: list[_Alpha] = [self.root]
        self.rules = 0
        self.fields: set[str] = {ID_FIELD}
        self.max_groups = 0

    def _child(self, parent: _Alpha, node) -> _Alpha:
        key = node_key(node)
        child = parent.children.get(key)
        if child is None:
            child = parent.children[key] = _Alpha(node[1], node[2] if node[0] == "cmp" else "$ex")
            self.nodes.append(child)
        return child

    def _insert(self, parent: _Alpha, node) -> _Alpha:
        if node[0] in ("cmp", "ex"):
            return self._child(parent, node)
        if node[0] == "and":
            for item in node[1]:
                parent = self._insert(parent, item)
            return parent
        join = _Alpha()
        self.nodes.append(join)
        for item in node[1]:
            self._insert(parent, item).joins.append(join)
        return join

    def add(self, anchor, expr) -> None:
        items = expr[1] if expr[0] == "and" else (expr,)
        last = self._insert(self.root, ("and", (anchor,) + tuple(items)))
        last.betas += 1
        self.rules += 1
        node_fields(expr, self.fields)
        self.max_groups = max(self.max_groups, 1 + sum(count_groups(i) for i in items))

    def stack_peak(self) -> int:
        """Worst-case height of events.c handleAlpha's DFS stack: popping a node pushes
        every matching child, so peak(n) = max(m, m - 1 + max peak(child)) where m is how
        many children can match one message at once ($eq on one field: at most one)."""
        memo: dict[int, int] = {}
        todo = [(self.root, False)]
        while todo:  # iterative post-order: `not_in` chains can be thousands of nodes deep
            node, expanded = todo.pop()
            if id(node) in memo:
                continue
            below = list(node.children.values()) + node.joins
            if not expanded:
                todo.append((node, True))
                todo.extend((c, False) for c in below if id(c) not in memo)
                continue
            eq_fields = set()
            m = len(node.joins)
            for child in node.children.values():
                if child.op == "$eq":
                    eq_fields.add(child.field)
                else:
                    m += 1
            m += len(eq_fields)
            memo[id(node)] = max(m, m - 1 + max(memo[id(c)] for c in below)) if m else 0
        return memo[id(self.root)]

    def problem(self) -> tuple[str, str] | None:
        """(kind, message) of the first durable limit this network exceeds, or None."""
        if self.rules > MAX_RULES_PER_RULESET:
            return "rules", f"more than {MAX_RULES_PER_RULESET} durable rules in one ruleset"
        if len(self.fields) > MAX_FIELDS:
            return "fields", (f"it reads {len(self.fields) - 1} facts and conclusions, but a durable-rules fact "
                              f"holds at most {MAX_FIELDS} fields, one of them the backend's id field")
        if self.max_groups > MAX_GROUPS:
            return "groups", (f"{self.max_groups} nested all/any groups in one durable rule "
                              f"(durable-rules allows {MAX_GROUPS}: error 113)")
        for node in self.nodes:
            if len(node.children) > CHILDREN_CAP:
                return "children", (f"{len(node.children)} sibling conditions under one node "
                                    f"(durable-rules hangs at 512)")
            if len(node.joins) > MAX_JOINS:
                return "joins", f"{len(node.joins)} `any` branches joining at one node (at most {MAX_JOINS})"
            if node.betas > MAX_BETAS:
                return "betas", f"{node.betas} rules ending at one node (at most {MAX_BETAS})"
        peak = self.stack_peak()
        if peak > STACK_CAP:
            return "stack", (f"up to {peak} conditions true at once (durable-rules' stack holds {MAX_STACK}: "
                             f"error 303)")
        return None


SHARED_ANCHOR = ("ex", ID_FIELD)


def private_anchor(k: int) -> tuple:
    """An always-true condition of its own (`_n` is positive), so a split rule's pieces do
    not share alpha nodes (and their children) with each other."""
    return ("cmp", ID_FIELD, "$neq", -k)


@dataclass(eq=False)
class _Part:
    """One durable rule: the NNF it matches, the code its action appends, whether it
    needs an anchor of its own."""

    expr: tuple
    code: int
    rule_id: str
    private: bool = False


@dataclass
class _Ruleset:
    name: str
    fields: tuple[str, ...]  # the durable fields its rules read (besides `_n`)
    encoders: tuple  # (',"field":', kind, key, encode, fast) per field: how its message is written


@dataclass
class _Compiled:
    strata: tuple[tuple[tuple[int, ...], tuple[_Ruleset, ...]], ...]
    maybe_unknown: tuple[bool, ...]
    terms: tuple  # per rule: (terms of the condition, terms of its negation); a term is a frozenset of codes
    no_outcome: str
    hits: list
    rulesets: int
    durable_rules: int


class _Compiler:
    def __init__(self, policy: Policy, plan: Plan):
        self.policy = policy
        self.plan = plan
        self.fact_field = {name: f"f{k}" for k, name in enumerate(policy.facts)}
        flags = sorted({f for r in policy.rules for f in r.then.flags})
        self.flag_field = {f: f"g{k}" for k, f in enumerate(flags)}
        none = "-none-"
        while none in policy.outcome_ids:
            none += "-"
        self.no_outcome = none  # the outcome field's value when no outcome at all is decided
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
                    if leaf.kind == "fact":
                        spec = policy.facts[leaf.subject]
                        u = not spec.required and not spec.has_default
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
                return ("cmp", field, _DURABLE_OP[op], self.number_const(leaf.subject, c))
        return ("cmp", field, _DURABLE_OP[op], c)

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
        field = self.field(leaf)
        op = leaf.op if positive else _NEGATE[leaf.op]
        if field is None:  # a flag nobody raises is a known False
            return FALSE if op == "eq" else TRUE
        value = operand_value(leaf)
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
        if isinstance(cond, Comparison):
            return self.leaf(cond, positive)
        if isinstance(cond, All):
            return (n_and if positive else n_or)([self.nnf(c, positive) for c in cond.items])
        if isinstance(cond, Any):
            return (n_or if positive else n_and)([self.nnf(c, positive) for c in cond.items])
        if isinstance(cond, Not):
            return self.nnf(cond.item, not positive)
        raise TypeError(type(cond))

    # -- rules → durable rules -----------------------------------------------------------------
    def side(self, rule_index: int, positive: bool) -> list[list[_Part]]:
        """The durable rules for a rule's condition (or its negation), in disjunctive
        form: the condition holds iff, for some term, every durable rule of it fired.
        Almost always one term of one durable rule."""
        rule = self.policy.rules[rule_index]
        expr = self.nnf(rule.when, positive)
        if expr == FALSE:
            return []
        self.parts_left = MAX_PARTS_PER_RULE
        return self.decompose(expr, False, rule.id)

    def decompose(self, expr, private: bool, rule_id: str) -> list[list[_Part]]:
        net = _Network()
        net.add(private_anchor(1) if private else SHARED_ANCHOR, expr)
        problem = net.problem()
        if problem is None:
            self.parts_left -= 1
            if self.parts_left < 0:
                raise DurableLimitError(f"rule `{rule_id}` is too large for durable-rules: splitting it within "
                                        f"durable's limits needs more than {MAX_PARTS_PER_RULE} durable rules")
            part = _Part(expr, self.next_code, rule_id, private)
            self.next_code += 1
            return [[part]]
        kind, message = problem
        if kind in ("groups", "fields"):
            # too many `$and`/`$or` groups (error 113) or fields (error 302) for one durable
            # rule: several durable rules, AND-ed (an `all`) or OR-ed (an `any`) by their codes
            chunks = _chunks(expr[1], kind)
            subs = [self.decompose((n_and if expr[0] == "and" else n_or)(c), private, rule_id) for c in chunks]
            if expr[0] == "or":
                return [term for sub in subs for term in sub]
            terms: list[list[_Part]] = [[]]
            for sub in subs:
                terms = [t + u for t in terms for u in sub]
                if len(terms) > MAX_PARTS_PER_RULE:
                    raise DurableLimitError(f"rule `{rule_id}` is too large for durable-rules: {message}")
            return terms
        pieces = split(expr)
        if pieces is None:
            raise DurableLimitError(f"rule `{rule_id}` exceeds a durable-rules limit: {message}")
        return [term for piece in pieces for term in self.decompose(piece, True, rule_id)]

    def pack(self, parts: list[_Part], stratum_no: int, generation: int) -> list[tuple[str, str, list[_Part]]]:
        """Greedily pack durable rules into rulesets within durable's limits."""
        groups: list[list[_Part]] = []
        current: list[_Part] = []
        net = _Network()
        private = 0
        for part in parts:
            private += part.private
            net.add(private_anchor(private) if part.private else SHARED_ANCHOR, part.expr)
            if net.problem() is not None:
                if not current:
                    raise DurableLimitError(f"rule `{part.rule_id}` exceeds a durable-rules limit: {net.problem()[1]}")
                groups.append(current)
                current, net, private = [], _Network(), int(part.private)
                net.add(private_anchor(private) if part.private else SHARED_ANCHOR, part.expr)
            current.append(part)
        if current:
            groups.append(current)
        out = []
        for k, group in enumerate(groups):
            name = f"verdict-{self.policy.digest[7:19]}-{generation}-s{stratum_no}-{k}"
            rules, private = [], 0
            for j, part in enumerate(group):
                private += part.private
                anchor = private_anchor(private) if part.private else SHARED_ANCHOR
                items = part.expr[1] if part.expr[0] == "and" else (part.expr,)
                rules.append('"p%d":{"all":[{"m":%s}]}' % (j, node_text(("and", (anchor,) + tuple(items)))))
            out.append((name, "{" + ",".join(rules) + "}", group))
        return out

    # -- messages ------------------------------------------------------------------------------
    def encoders(self, fields: set[str]) -> tuple:
        """(prefix, kind, key, encode, fast) for every field a ruleset's message carries;
        `encode` and `fast` (see `fact_encoder`) for facts only: the conclusion fields are
        written by `DurableBackend._fragment`."""
        by_field = {}
        for name, field in self.fact_field.items():
            by_field[field] = ("fact", name, *self.fact_encoder(name))
        for i in range(len(self.policy.rules)):
            by_field[f"r{i}"] = ("rule", i, None, None)
        for flag, field in self.flag_field.items():
            by_field[field] = ("flag", flag, None, None)
        by_field["o"] = ("outcome", None, None, None)
        return tuple((',"%s":' % field, *by_field[field])
                     for field in sorted(fields - {ID_FIELD},
                                         key=lambda f: (f[0], int(f[1:]) if f[1:].isdigit() else 0)))

    def fact_encoder(self, name: str):
        """(encode, fast): the checking encoder of one fact, and which common case the
        generated message writer (`_writer`) may inline before calling it ("int",
        "number", "bool", or None)."""
        spec = self.policy.facts[name]
        if spec.type == "integer":
            enc, fast = (lambda v: _encode_int(name, v)), "int"
        elif spec.type == "number":
            unsafe = self.float_unsafe.get(name)
            # with an unsafe threshold every float must reach the encoder (which refuses it)
            enc, fast = (lambda v: _encode_number(name, v, unsafe)), ("number" if unsafe is None else "int")
        elif spec.type == "string":
            table = {v: json.dumps(v, ensure_ascii=False) for v in spec.enum or ()}

            def enc(v):
                text = table.get(v) if isinstance(v, str) else None
                return text if text is not None else _encode_string(name, v)

            fast = None
        else:
            enc, fast = (lambda v: _encode_bool(name, v)), "bool"
        return enc, fast


def split(expr) -> list | None:
    """Distribute the widest `$or` of `expr` into two expressions whose disjunction is
    `expr` (NNF is monotone, so `C[a ∨ b] = C[a] ∨ C[b]`); None: nothing to split."""
    ors = []

    def walk(node):
        if node[0] == "or":
            ors.append(node)
        if node[0] in ("and", "or"):
            for c in node[1]:
                walk(c)

    walk(expr)
    if not ors:
        return None
    target = max(ors, key=lambda n: len(n[1]))
    half = len(target[1]) // 2

    def replace(node, repl):
        if node is target:
            return repl
        if node[0] == "and":
            return n_and([replace(c, repl) for c in node[1]])
        if node[0] == "or":
            return n_or([replace(c, repl) for c in node[1]])
        return node

    return [replace(expr, n_or(target[1][:half])), replace(expr, n_or(target[1][half:]))]


def _chunks(items, kind: str) -> list[list]:
    """Consecutive runs of `items` that each fit one durable rule: at most MAX_GROUPS - 2
    groups (the anchor's `$and` and the run's own), or MAX_FIELDS - 1 fields."""
    budget = MAX_GROUPS - 2 if kind == "groups" else MAX_FIELDS - 1
    chunks: list[list] = []
    current: list = []
    used: set[str] = set()
    groups = 0
    for item in items:
        if kind == "groups":
            g = count_groups(item)
            fits = groups + g <= budget
        else:
            fields = node_fields(item, set())
            fits = len(used | fields) <= budget
        if current and not fits:
            chunks.append(current)
            current, used, groups = [], set(), 0
        current.append(item)
        if kind == "groups":
            groups += count_groups(item)
        else:
            used |= node_fields(item, set())
    chunks.append(current)
    return chunks


# -- fact encoders: type-checked (durable compares mixed types as strings) -------------------

def _encode_int(name: str, v) -> str:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"fact `{name}` must be an integer, got {type(v).__name__} {v!r} (normalize facts first)")
    if not INT_MIN <= v <= INT_MAX:
        raise DurableLimitError(f"fact `{name}` = {v} is beyond ±(2^63-1); durable-rules would saturate it")
    return str(v)


def _encode_number(name: str, v, unsafe) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"fact `{name}` must be a number, got {type(v).__name__} {v!r} (normalize facts first)")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"fact `{name}` is {v}; only finite numbers are allowed")
        if unsafe is not None:
            raise DurableLimitError(
                f"fact `{name}` = {v!r} would be compared with threshold {unsafe!r}, an integer durable-rules "
                f"can only compare with a fraction after rounding it to a double")
        return format_float(v)
    return _encode_int(name, v)  # ints compare exactly with every threshold form we emit


def _encode_string(name: str, v) -> str:
    if not isinstance(v, str):
        raise TypeError(f"fact `{name}` must be a string, got {type(v).__name__} {v!r} (normalize facts first)")
    return json.dumps(v, ensure_ascii=False)


def _encode_bool(name: str, v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    raise TypeError(f"fact `{name}` must be a boolean, got {type(v).__name__} {v!r} (normalize facts first)")



def _make_action(hits: list, code: int):
    """A durable action of exactly one parameter (two would make it async and silently
    lost) that only appends an int: nothing in it can raise in practice, and if anything
    ever does, durable's swallowing is detected from the session state."""
    append = hits.append

    def action(c):
        append(code)

    return action


def _compile(policy: Policy, plan: Plan) -> _Compiled:
    dengine, dcore, host = _runtime()
    comp = _Compiler(policy, plan)
    generation = next(_NAMES)
    hits: list[int] = []
    stratum_parts = []
    terms: list = [((), ())] * len(policy.rules)
    for stratum in policy.strata:  # every condition first: that also collects float_unsafe
        parts: list[_Part] = []
        for i in stratum:
            sides = []
            for positive in (True, False) if comp.maybe_unknown[i] else (True,):
                side = comp.side(i, positive)
                sides.append(tuple(frozenset(p.code for p in term) for term in side))
                parts.extend(dict.fromkeys(p for term in side for p in term))  # parts shared by terms once
            terms[i] = (sides[0], sides[1] if len(sides) > 1 else ())
        stratum_parts.append(parts)
    strata = []
    registrations = []
    total_rules = 0
    for s, (stratum, parts) in enumerate(zip(policy.strata, stratum_parts)):
        rulesets = []
        for name, text, group in comp.pack(parts, s, generation):
            fields: set[str] = set()
            for part in group:
                node_fields(part.expr, fields)
            actions = {f"p{j}": _make_action(hits, part.code) for j, part in enumerate(group)}
            registrations.append((name, text, actions))
            rulesets.append(_Ruleset(name, tuple(sorted(fields)), comp.encoders(fields)))
            total_rules += len(group)
        strata.append((tuple(stratum), tuple(rulesets)))
    for name, text, actions in registrations:  # only once everything compiled
        try:
            host.register_text_ruleset(name, text, actions)
        except dcore.error as exc:  # a limit our model missed: refuse clearly
            raise DurableLimitError(f"durable-rules refused ruleset {name} of policy `{policy.id}`: {exc}") from None
    return _Compiled(tuple(strata), comp.maybe_unknown, tuple(terms), comp.no_outcome, hits, len(registrations),
                     total_rules)


# -- the backend ---------------------------------------------------------------------------------

class DurableBackend:
    """durable-rules matcher for one policy (rulesets cached per policy digest)."""

    name = "durable"

    def __init__(self, policy: Policy, plan: Plan):
        self._dengine, self._dcore, self._host = _runtime()
        self.policy = policy
        self.plan = plan
        with _LOCK:
            compiled = _CACHE.get(policy.digest)
            if compiled is None:
                compiled = _CACHE[policy.digest] = _compile(policy, plan)
        self._compiled = compiled
        self._initial = plan.conclusions([False] * len(policy.rules))
        self._writers = {rs.name: _writer(rs) for _, rulesets in compiled.strata for rs in rulesets}
        # Memo tables (pure functions of their keys; bounded by CACHE_LIMIT).
        self._fragments: dict = {}
        self._done: dict = {}
        self._resolved: list[dict] = [{} for _ in compiled.strata]
        self._required = frozenset(n for n, f in policy.facts.items() if f.required or f.has_default)
        self._outcome_text = {o: json.dumps(o, ensure_ascii=False) for o in policy.outcome_ids}
        self._outcome_text[None] = json.dumps(compiled.no_outcome)

    @property
    def rulesets(self) -> int:
        """How many durable rulesets this policy compiled into."""
        return self._compiled.rulesets

    def _message(self, rs: _Ruleset, facts: Mapping, done, n: int) -> str:
        """The JSON text of `facts` (and of what earlier strata concluded) for `rs`."""
        return self._writers[rs.name](facts, n) + self._fragment(rs, done) + "}"

    def _fragment(self, rs: _Ruleset, done) -> str:
        """The conclusion fields (earlier rules, flags, outcome) of `rs`'s message: a pure
        function of `done`, so written once per distinct `done` and remembered."""
        key = (rs.name, None if done is None else done.matched)
        text = self._fragments.get(key)
        if text is None:
            parts = []
            for prefix, kind, k, _, _ in rs.encoders:
                if kind == "rule":
                    v = done.matched[k]
                elif kind == "flag":
                    v = done.flags.get(k, False)
                elif kind == "outcome":
                    if done.outcome_known:
                        parts.append(prefix + self._outcome_text[done.outcome])
                    continue
                else:
                    continue
                if v is not None:
                    parts.append(prefix + ("true" if v else "false"))
            text = "".join(parts)
            _remember(self._fragments, key, text)
        return text

    def _conclusions(self, matched: list) -> object:
        """`plan.conclusions`, remembered per distinct tuple of matches so far."""
        key = tuple(matched)
        done = self._done.get(key)
        if done is None:
            done = self.plan.conclusions(key)
            _remember(self._done, key, done)
        return done

    def _resolve(self, s: int, fired: frozenset) -> tuple:
        """Each rule of stratum `s` as True/False/None from the codes its durable rules
        fired (a rule matches when every code of one of its terms fired), remembered per
        distinct set of fired codes."""
        cache = self._resolved[s]
        values = cache.get(fired)
        if values is None:
            out = []
            for i in self._compiled.strata[s][0]:
                pos, neg = self._compiled.terms[i]
                yes = any(t <= fired for t in pos)
                no = any(t <= fired for t in neg)
                if yes and no:
                    raise DurableEngineError(f"rule `{self.policy.rules[i].id}` matched both ways")
                out.append(True if yes else None if self._compiled.maybe_unknown[i] and not no else False)
            values = tuple(out)
            _remember(cache, fired, values)
        return values

    def _run(self, rs: _Ruleset, text: str) -> set[int]:
        """assert_fact, collect the codes the actions appended, retract_fact."""
        host, dengine = self._host, self._dengine
        hits = self._compiled.hits
        hits.clear()
        try:
            state = host.assert_fact(rs.name, text)
        except dengine.MessageNotHandledException:
            return set()  # nothing matched; durable stored nothing
        except dengine.MessageObservedException:
            raise DurableEngineError(f"durable-rules saw message {text} twice; the unique `{ID_FIELD}` "
                                     f"field should prevent that") from None
        except Exception as exc:  # e.g. error 303; never delete_state after one: that segfaults
            raise DurableEngineError(f"durable-rules failed on ruleset {rs.name}: {exc}") from exc
        fired = set(hits)
        hits.clear()
        try:
            host.retract_fact(rs.name, text)
        except Exception as exc:
            raise DurableEngineError(f"durable-rules could not retract a fact from {rs.name}: {exc}") from exc
        if state and "exception" in state:  # an action raised and durable swallowed it
            # the session keeps the exception until it is deleted: forget it (sid recreated)
            host.delete_state(rs.name, SID)
            raise DurableEngineError(f"an action of durable ruleset {rs.name} raised, so matches were lost: "
                                     f"{str(state['exception'])[:300]}")
        return fired

    def rule_matches(self, facts: Mapping) -> tuple[bool | None, ...]:
        missing = self._required.difference(facts.keys())
        if missing:
            raise ValueError(f"required fact `{sorted(missing)[0]}` is missing: normalize facts before evaluating")
        strata = self._compiled.strata
        message, run, resolve = self._message, self._run, self._resolve
        matched: list[bool | None] = [False] * len(self.policy.rules)
        done = self._initial  # what stratum 0 could read: nothing decided (outcome = default)
        last = len(strata) - 1
        with _LOCK:
            for s, (stratum, rulesets) in enumerate(strata):
                fired: set[int] = set()
                for rs in rulesets:
                    fired |= run(rs, message(rs, facts, done, next(_COUNTER)))
                for i, v in zip(stratum, resolve(s, frozenset(fired))):
                    matched[i] = v
                if s != last:  # the last stratum's conclusions are the assembler's job
                    done = self._conclusions(matched)
        return tuple(matched)


CACHE_LIMIT = 4096  # entries per memo table; beyond it, values are computed and not kept


def _remember(cache: dict, key, value) -> None:
    if len(cache) < CACHE_LIMIT:
        cache[key] = value


def _writer(rs: _Ruleset):
    """Generate the function that writes the fact fields of `rs`'s message: the JSON of
    normalized facts, with the common types inlined and anything unusual handed to the
    ruleset's checking encoders (which raise for a value durable would mis-compare)."""
    env = {"INT_MIN": INT_MIN, "INT_MAX": INT_MAX}
    lines = ["def write(facts, n):", "    get = facts.get", '    out = \'{"sid":"%s","%s":\' + str(n)' % (SID, ID_FIELD)]
    for k, (prefix, kind, key, enc, fast) in enumerate(rs.encoders):
        if kind != "fact":
            continue
        env[f"e{k}"] = enc
        lines += [f"    v = get({key!r})", "    if v is not None:"]
        if fast == "int":
            value = f"str(v) if v.__class__ is int and INT_MIN <= v <= INT_MAX else e{k}(v)"
        elif fast == "number":
            lines += ["        if v.__class__ is float:",
                      "            r = repr(v)",  # inf and nan contain an n; exponents an e
                      f"            r = r if 'e' not in r and 'n' not in r else e{k}(v)",
                      "        else:",
                      f"            r = str(v) if v.__class__ is int and INT_MIN <= v <= INT_MAX else e{k}(v)"]
            value = "r"
        elif fast == "bool":
            value = f"'true' if v is True else 'false' if v is False else e{k}(v)"
        else:
            value = f"e{k}(v)"
        lines.append(f"        out += {prefix!r} + ({value})")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<durable writer {rs.name}>", "exec"), env)  # noqa: S102 - our own source
    return env["write"]
