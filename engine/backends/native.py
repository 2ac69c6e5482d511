"""The native backend: the policy IR compiled into Python source, compiled once.

One module is generated per policy (`generate_source`, also what `verdict compile --emit
python` prints), with four functions:
- `rule_matches(facts)`: every rule's match (True/False/None) on normalized facts, with
  short-circuit logic.
- `trace(facts)`: the same matches plus every leaf condition's result, each leaf
  evaluated (no short-circuit) so an explanation can show all of them.
- `decide(record)`: a raw record to its Decision in one call: generated validation guards,
  matches and the assembled Decision; anything unusual goes to the generic path `_slow`.
- `decide_trace(record)`: the same with the full trace, or None (take the generic path).
- `decide_open(record)`: like `decide`, but keys that name no declared fact are ignored
  silently (a user id, an extra column) instead of sending the record to the generic path
  for a warning each; what the CLI batch calls (`--undeclared`).

Where a condition can be unknown (an optional fact, an undecided rule) `rule_matches` and
`trace` use the Kleene helpers of `semantics`; elsewhere the code is plain `and`/`or`.
`decide` admits only records whose every fact is present and valid, so there every match
is a definite bool and no unknown is ever handled.

Every function takes the evaluation date as a second argument, `as_of` (None by
default). A policy that uses time (`Policy.uses_time`) resolves its relative date operands
once per call (`a0 = as_of + k3`, `k3 = _days(-180)`); `decide*` default `as_of` to today in the
policy's timezone and record it in the Decision, `rule_matches` and `trace` need it where
a relative date is compared. A policy that does not use time ignores it: its code is what
it was before dates existed. Presence tests (`missing`) are `is None` tests, never
unknown. Computed outputs are not generated: the code calls the one evaluator,
`expressions.OutputPlan.compute` (`_outputs`), with the contributing rules; so are derived
facts (`_derive`, once per call, into `w{j}`) and the outputs later strata read
(`semantics.Plan.output_values`, `_output_values`, at each stratum boundary, into `u{j}`).
A comparison where a Decimal (a derived fact, a computed output) meets a float reads the
float as its decimal (`_dec`), as `semantics.exact` does; Decimal literals are written
from their sign, digits and exponent (`_Dec((0, (4,), -1))`). `decide` checks a list fact
with the generic check (`_lists[k]`, `facts.check_value`: a tuple, or None, and then the
generic path reports the problem); its conditions are `in`, `frozenset.isdisjoint`/
`issubset` and `len` on the tuple.

INVARIANT: the generated source consists of our own text and nothing else: names we make
up (`v3`, `m7`, `c7_2`, `k2`, `fl_1`, `out0`, `a0`, `w0`, `u0`), the helper names the backend puts in
the namespace (`_all3`, `_slow`, …), integers we count (rule indexes, fact counts, bit
positions) or read from validated values (day offsets of relative dates; the year, month
and day of a `datetime.date`, written `_date(2026, 11, 11)`), and `literal()` of values
that passed validation, which checks their exact type (`str`, `int`, `bool`, finite
`float`, `datetime.date`) and writes them with `repr` (which escapes quotes, backslashes,
newlines, U+2028/U+2029 and every other non-printable character) or, for a date, from its
three integers. What goes through `literal()`: fact names, outcome ids, flag names, output
names, comparison operands (literals and thresholds), enum values, fact bounds, output
values and defaults of outputs that are not computed. No other policy text (policy id,
rule ids, reason codes, messages, descriptions, expressions) reaches the source. The
meaning is `semantics.reference_matches`; tests compare the two on generated facts.
"""

from __future__ import annotations

import datetime
import linecache
import re
from decimal import Decimal
from functools import partial
from itertools import compress
from typing import Callable

from ..language.model import ARRAY, Policy
from ..language.values import lone_surrogate, parse_date
from ..runtime.decision import Decision, assemble
from ..runtime.facts import check_value, normalize
from ..runtime.semantics import (Plan, all3, any3, check_as_of, not3, relative_dates, resolve_as_of, resolve_date,
                                today)
from .native_codegen import HEADER, HEADER_V3, UNKNOWN, _Gen, _Module, by_table, uses_v3
from .native_leaves import literal  # noqa: F401 - re-exported




def _beyond(relatives, as_of) -> None:
    """The EvaluationDateError of the first relative date beyond the calendar on `as_of`."""
    for rel in relatives:
        resolve_date(rel, as_of)
    raise AssertionError("no relative date overflows")  # pragma: no cover - only called on an overflow


def _list_check(spec):
    """`decide`'s check of a list fact: its normalized tuple (`facts.check_value`), or None
    for anything the generic path must report."""
    def check(value):
        value, problem = check_value(spec, value)
        return None if problem else value
    return check


def _dec(x):
    """A float as the decimal its repr says (how expressions read it), to compare exactly
    with a Decimal; anything else unchanged."""
    return Decimal(repr(x)) if x.__class__ is float else x


def _source(header: str, consts: list[str], functions: list[list[str]]) -> str:
    """The module text: the header, the constants, then the functions."""
    parts = [header.rstrip("\n")] + (["\n".join(consts)] if consts else []) + ["\n".join(fn) for fn in functions]
    return "\n\n\n".join(parts) + "\n"


def _generate(policy: Policy) -> tuple[_Module, str]:
    module = _Module()
    functions = [_Gen(policy, module, definite=False).function("rule_matches", with_trace=False),
                 _Gen(policy, module, definite=False).function("trace", with_trace=True),
                 _Gen(policy, module, definite=True).decide_function(),
                 _Gen(policy, module, definite=True).decide_function(with_trace=True),
                 _Gen(policy, module, definite=True).decide_function(open_keys=True)]
    return module, _source(HEADER + (HEADER_V3 if uses_v3(policy) else ""), module.lines(), functions)


def generate_source(policy: Policy) -> str:
    """The Python source of `rule_matches`, `trace`, `decide`, `decide_trace` and
    `decide_open` for a policy: deterministic (the same policy gives the same text in every process)."""
    return _generate(policy)[1]


def source_name(policy: Policy, part: str = "") -> str:
    """The file name the generated code is compiled under (and registered in `linecache`
    with, so tracebacks through it show its lines): the policy and its digest."""
    ident = re.sub(r"[^A-Za-z0-9_.-]", "_", policy.id)[:100]
    return f"<verdict native {ident}@{policy.digest[:19]}{' ' + part if part else ''}>"


def _exec(source: str, filename: str, namespace: dict) -> dict:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own source (see INVARIANT)
    return namespace


_BUILTINS = {"tuple": tuple, "dict": dict, "len": len, "min": min, "max": max, "sum": sum, "frozenset": frozenset,
             "int": int, "float": float, "str": str, "KeyError": KeyError, "OverflowError": OverflowError}


class NativeBackend:
    """Generated-Python matcher and decider for one policy; needs nothing above the runtime."""

    name = "native"

    def __init__(self, policy: Policy, plan: Plan):
        self.policy = policy
        self.plan = plan
        self._module, self.source = _generate(policy)
        self.filename = source_name(policy)
        self._globals = _exec(self.source, self.filename, {
            "_all3": all3, "_any3": any3, "_not3": not3, "_plan": plan, "_UNKNOWN": UNKNOWN,
            "_compress": compress, "_by_table": by_table, "_Decision": Decision, "_policy": policy, "_slow": self.slow,
            "_slow_open": self.slow_open,
            "_inf": float("inf"), "_whole": lambda s: lone_surrogate(s) is None,
            "_date": datetime.date, "_parse_date": parse_date, "_today": partial(today, policy.timezone),
            "_check_as_of": check_as_of, "_on": resolve_date, "_beyond": _beyond, "_days": datetime.timedelta, "_rel": tuple(dict.fromkeys(relative_dates(policy))),
            "_outputs": plan.computed.compute, "_derive": plan.computed.derive,
            "_output_values": plan.output_values, "_Dec": Decimal, "_dec": _dec,
            "_lists": tuple(_list_check(f) for f in policy.facts.values() if f.type == ARRAY),
            "__builtins__": _BUILTINS})
        self.rule_matches: Callable = self._globals["rule_matches"]
        self.trace: Callable = self._globals["trace"]
        self.decide: Callable = self._globals["decide"]
        # `decide_trace(record)`: the traced Decision, or None where the generic path must
        # decide (`evaluate(trace=True)` tries it first).
        self.decide_trace: Callable = self._globals["decide_trace"]
        # `decide_open(record)`: `decide` with undeclared keys ignored, silently.
        self.decide_open: Callable = self._globals["decide_open"]

    def slow(self, record, as_of=None, label: str | None = None) -> Decision:
        """The generic path without a trace: validate and normalize the record (raises
        FactsError), match with `rule_matches`, assemble. `as_of` as `decide` takes it."""
        as_of = resolve_as_of(self.policy, as_of, self.plan.uses_time)
        facts, warnings = normalize(self.policy, record, label)
        return assemble(self.plan, facts, self.rule_matches(facts, as_of), warnings=tuple(w.message for w in warnings),
                        as_of=as_of)

    def slow_open(self, record, as_of=None, label: str | None = None) -> Decision:
        """The generic path of `decide_open`: undeclared keys ignored without a warning."""
        as_of = resolve_as_of(self.policy, as_of, self.plan.uses_time)
        facts, warnings = normalize(self.policy, record, label, "ignore")
        return assemble(self.plan, facts, self.rule_matches(facts, as_of), warnings=tuple(w.message for w in warnings),
                        as_of=as_of)

    def entry(self, route: Callable) -> Callable:
        """`decide` with the signature `(facts, *, trace=False, backend='native',
        undeclared='warn', as_of=None)`: other options go to `route(facts, trace=…, backend=…,
        undeclared=…, as_of=…)`, the defaults (and any `as_of`, for a policy that uses
        time) take `decide`'s own
        path in the same frame. Compiled on demand, for the one caller that needs it
        (`CompiledPolicy`, which wires the router from above), in a copy of the module's
        namespace: it reuses the module's constants."""
        known = len(self._module.consts)
        function = _Gen(self.policy, self._module, definite=True).decide_function(routed=True)
        consts = self._module.lines()[known:]  # none in practice: the same as `decide`'s
        header = "# `decide` with CompiledPolicy.evaluate's signature, in the namespace of the policy's module\n"
        namespace = dict(self._globals, _route=route)
        return _exec(_source(header, consts, [function]), source_name(self.policy, "entry"), namespace)["decide"]
