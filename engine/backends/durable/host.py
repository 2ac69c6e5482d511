"""The runtime: durable-rules imported on first use, one process-wide Host, the backend.

Compiled rulesets are registered once per policy digest; evaluation is one user at a time
under a process-wide lock, on a single sid (see the package docstring).
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Mapping

from ...language.model import Policy, RelativeDate
from ...language.conditions import LEAF
from ...language.conditions import kind as node_kind
from ...language.tables import restated_rows
from ...runtime.semantics import Conclusions, Plan, any3, check_as_of, eval_condition, eval_leaf, not3, resolve_date
from .compiler import build
from ...errors import BackendError, BackendUnavailable, DurableEngineError, DurableLimitError
from ...language.values import clip, int_text
from .limits import DEFAULT_MAX_POLICIES, ID_FIELD, INT_MAX, INT_MIN, SID
from .messages import encoders, writer
from .normal import node_fields

# -- lazy import of durable ---------------------------------------------------------------

_RUNTIME = None  # (engine module, C module, host), created on first use
_LOCK = threading.Lock()  # one evaluation at a time: durable's C calls never release the GIL
_INIT_LOCK = threading.Lock()  # one Host per process
_COUNTER = itertools.count(1)  # unique message numbers: identical content is "already observed"
_NAMES = itertools.count(1)  # ruleset name generations (a failed compile never reuses a name)
_CACHE: dict[str, "_Compiled"] = {}  # policy digest → registered rulesets


def max_policies() -> int:
    """How many distinct policy versions one process may compile (`DEFAULT_MAX_POLICIES`,
    or the environment's VERDICT_DURABLE_MAX_POLICIES)."""
    raw = os.environ.get("VERDICT_DURABLE_MAX_POLICIES")
    if raw is None:
        return DEFAULT_MAX_POLICIES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise BackendError(f"VERDICT_DURABLE_MAX_POLICIES must be a whole number of at least 1, not `{raw}`")
    return value


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
        """A durable `Ruleset` built from JSON text the compiler wrote (floats without
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


@dataclass
class _Ruleset:
    """One registered ruleset and how its message is written."""

    name: str
    fields: tuple[str, ...]  # the durable fields its rules read (besides `_n`)
    encoders: tuple  # (',"field":', kind, key, encode, fast) per field: how its message is written
    leaves: tuple = ()  # (',"q{k}":', leaf, blockers): the conditions the host computes for its message


@dataclass
class _Compiled:
    """A policy's registered rulesets, per stratum, and how to read their firing."""

    strata: tuple[tuple[tuple[int, ...], tuple[_Ruleset, ...]], ...]
    maybe_unknown: tuple[bool, ...]
    terms: tuple  # per rule: (terms of the condition, terms of its negation); a term is a frozenset of codes
    no_outcome: str
    hits: list
    rulesets: int
    durable_rules: int
    # the earliest and the latest relative date operand (none, or both): the evaluation
    # date must put both inside the calendar, as the reference requires of every one
    relative_extremes: tuple[RelativeDate, ...]


def _make_action(hits: list, code: int):
    """A durable action of exactly one parameter (two would make it async and silently
    lost) that only appends an int: nothing in it can raise in practice, and if anything
    ever does, durable's swallowing is detected from the session state."""
    append = hits.append

    def action(c):
        append(code)

    return action



def _compile(policy: Policy, plan: Plan) -> _Compiled:
    """Build the policy's rulesets (`compiler.build`) and register them with the Host."""
    dengine, dcore, host = _runtime()
    built = build(policy, plan, f"verdict-{policy.digest[7:19]}-{next(_NAMES)}")
    comp = built.compiler
    hits: list[int] = []
    strata = []
    registrations = []
    total_rules = 0
    for stratum, packed in built.strata:
        rulesets = []
        for name, text, group in packed:
            fields: set[str] = set()
            for part in group:
                node_fields(part.expr, fields)
            actions = {f"p{j}": _make_action(hits, part.code) for j, part in enumerate(group)}
            registrations.append((name, text, actions))
            encs = encoders(comp, fields)
            rulesets.append(_Ruleset(name, tuple(sorted(fields)), encs,
                                     tuple((prefix, key, _blockers(key)) for prefix, kind, key, _, _ in encs
                                           if kind == "leaf")))
            total_rules += len(group)
        strata.append((stratum, tuple(rulesets)))
    for name, text, actions in registrations:  # only once everything compiled
        try:
            host.register_text_ruleset(name, text, actions)
        except dcore.error as exc:  # a limit our model missed: refuse clearly
            raise DurableLimitError(f"durable-rules refused ruleset {name} of policy `{policy.id}`: {exc}") from None
    rel = sorted(comp.relative_dates, key=lambda r: r.offset)
    return _Compiled(tuple(strata), comp.maybe_unknown, built.terms, comp.no_outcome, hits, len(registrations),
                     total_rules, (rel[0], rel[-1]) if rel else ())


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
                limit = max_policies()
                if len(_CACHE) >= limit:
                    raise BackendError(
                        f"the durable backend has compiled {len(_CACHE)} policy versions in this process, its limit: "
                        "durable-rules never frees a ruleset (about 640 KB each); restart the process, or raise "
                        "VERDICT_DURABLE_MAX_POLICIES")
                compiled = _CACHE[policy.digest] = _compile(policy, plan)
        self._compiled = compiled
        self._initial = plan.conclusions([False] * len(policy.rules))
        self._writers = {rs.name: writer(rs.name, rs.encoders) for _, rulesets in compiled.strata for rs in rulesets}
        # Memo tables (pure functions of their keys; bounded by CACHE_LIMIT).
        self._fragments: dict = {}
        self._done: dict = {}
        self._resolved: list[dict] = [{} for _ in compiled.strata]
        self._required = frozenset(n for n, f in policy.facts.items() if f.required or f.has_default)
        # The compiler folds a comparison with a constant beyond int64 into a constant
        # (`normal.int_compare`): exact for every value durable-rules can hold, and wrong for
        # one it cannot, which then never reaches a message. So every numeric fact a rule
        # reads is range-checked here, whether or not its comparisons were folded.
        self._int64_checked = tuple(sorted({leaf.subject for r in policy.rules for leaf in r.leaves
                                            if leaf.kind == "fact" and policy.facts[leaf.subject].numeric}))
        self._outcome_text = {o: json.dumps(o, ensure_ascii=False) for o in policy.outcome_ids}
        self._outcome_text[None] = json.dumps(compiled.no_outcome)
        # v3: the conditions the host computes (`q{k}`) read the record's values (derived
        # facts included) and, for outputs, what earlier strata left them.
        self._host_leaves = any(rs.leaves for _, rulesets in compiled.strata for rs in rulesets)
        self._reads_outputs = bool(plan.output_subjects)

    @property
    def rulesets(self) -> int:
        """How many durable rulesets this policy compiled into."""
        return self._compiled.rulesets

    def _message(self, rs: _Ruleset, facts: Mapping, done, n: int, asof: int | None = None) -> str:
        """The JSON text of `facts` (and of what earlier strata concluded) for `rs`; `asof`
        is the evaluation date's day number (what the offset fields `t{k}` need)."""
        return self._writers[rs.name](facts, n, asof) + self._fragment(rs, done) + "}"

    def _leaf_fragment(self, rs: _Ruleset, values: Mapping, done, as_of, rows: dict) -> str:
        """The `q{k}` fields of `rs`'s message: each condition the compiler left to the host,
        by the one semantics (`eval_leaf`), absent when unknown. A first-hit row's
        restatement (`compiler.restatement`) is "no earlier row that may take its place
        applies": each earlier row's own cells are evaluated once per record (`rows`, by
        rule index), not once per later row."""
        parts = []
        rule_index = self.plan.rule_index
        for prefix, node, blockers in rs.leaves:
            if blockers is None:
                v = eval_leaf(node, values, done, rule_index, as_of)
            else:
                seen = []
                for j, row in blockers:
                    if j is None:
                        seen.append(eval_condition(row, values, done, rule_index, as_of=as_of))
                        continue
                    if j not in rows:
                        rows[j] = eval_condition(row, values, done, rule_index, as_of=as_of)
                    seen.append(rows[j])
                v = not3(any3(seen))
            if v is not None:
                parts.append(prefix + ("true" if v else "false"))
        return "".join(parts)

    def _with_outputs(self, done, values: Mapping, matched) -> object:
        """`done` with the outputs conditions read, on this record's values."""
        return Conclusions(done.matched, done.flags, done.outcome, done.outcome_known,
                           self.plan.output_values(values, matched))

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

    def rule_matches(self, facts: Mapping, as_of: datetime.date | None = None) -> tuple[bool | None, ...]:
        """Every rule's match on normalized `facts`, relative dates resolved on `as_of`
        (needed only when a condition compares a date with one)."""
        missing = self._required.difference(facts.keys())
        if missing:
            raise ValueError(f"required fact `{sorted(missing)[0]}` is missing: normalize facts before evaluating")
        asof = None
        if self._compiled.relative_extremes:
            # the reference's errors: none without an as_of, or for an as_of that is not a
            # date, or that puts a relative operand outside the calendar (years 1 to 9999)
            for relative in self._compiled.relative_extremes:
                resolve_date(relative, as_of)
            asof = as_of.toordinal()
        elif as_of is not None:
            check_as_of(as_of)
        for name in self._int64_checked:
            v = facts.get(name)
            if v.__class__ is int and not INT_MIN <= v <= INT_MAX:
                raise DurableLimitError(f"fact `{name}` = {clip(int_text(v))} is beyond ±(2^63-1); durable-rules would "
                                        "saturate it")
        strata = self._compiled.strata
        message, run, resolve = self._message, self._run, self._resolve
        matched: list[bool | None] = [False] * len(self.policy.rules)
        done = self._initial  # what stratum 0 could read: nothing decided (outcome = default)
        values = self.plan.values(facts) if self._host_leaves else facts
        if self._reads_outputs:
            done = self._with_outputs(done, values, matched)
        last = len(strata) - 1
        rows: dict[int, object] = {}  # earlier first-hit rows' own values, for restatements
        with _LOCK:
            for s, (stratum, rulesets) in enumerate(strata):
                fired: set[int] = set()
                for rs in rulesets:
                    text = message(rs, facts, done, next(_COUNTER), asof)
                    if rs.leaves:
                        text = text[:-1] + self._leaf_fragment(rs, values, done, as_of, rows) + "}"
                    fired |= run(rs, text)
                for i, v in zip(stratum, resolve(s, frozenset(fired))):
                    matched[i] = v
                if s != last:  # the last stratum's conclusions are the assembler's job
                    done = self._conclusions(matched)
                    if self._reads_outputs:
                        done = self._with_outputs(done, values, matched)
        return tuple(matched)



def _blockers(node) -> tuple | None:
    """For a first-hit restatement, each earlier row's (rule index, restated condition)
    (`language.tables.restated_rows`); None for a plain leaf."""
    return None if node_kind(node) == LEAF else restated_rows(node)


CACHE_LIMIT = 4096  # entries per memo table; beyond it, values are computed and not kept


def _remember(cache: dict, key, value) -> None:
    if len(cache) < CACHE_LIMIT:
        cache[key] = value
