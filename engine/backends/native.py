"""The native backend: the policy IR compiled into Python source, compiled once.

Two functions are generated per policy:
- `rule_matches(facts)`: every rule's match (True/False/None), with short-circuit logic;
  the fast path.
- `trace(facts)`: the same matches plus every leaf condition's result, each leaf
  evaluated (no short-circuit) so an explanation can show all of them.

Where a condition can be unknown (an optional fact, an undecided rule) the generated code
uses the Kleene helpers of `semantics`; elsewhere it is plain `and`/`or`.

INVARIANT: the generated source embeds only names we make up (`v3`, `m7`, `k2`) and
`repr()` of validated values; no policy text (ids, messages, descriptions) ever reaches it.
The meaning is `semantics.reference_matches`; tests compare the two on generated facts.
"""

from __future__ import annotations

from itertools import compress
from typing import Callable

from ..runtime.decision import Decision
from ..language.model import SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE, All, Any, Comparison, Not, Policy
from ..runtime.semantics import Plan, all3, any3, not3, operand_value

_PY_OP = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class _Unknown:
    """The outcome of a stratum boundary when an undecided rule could still change it."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "UNKNOWN"


UNKNOWN = _Unknown()


def _as_bool(code: str) -> str:
    """A definite (True/False) expression as a conditional: CPython specializes a comparison
    followed by a jump (int, float and str compares) but not one whose value is stored, and
    `a and b` in a condition jumps instead of keeping the operand on the stack. Same value."""
    bare = code.strip("()")
    return bare if bare.isidentifier() else f"True if {code} else False"


class _Gen:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.consts: dict[str, object] = {}
        self.fact_var = {name: f"v{i}" for i, name in enumerate(policy.facts)}
        self.rule_maybe_none: dict[int, bool] = {}
        self.flag_maybe_none: dict[str, bool] = {}
        self.outcome_maybe_unknown = False
        self.in_decide = False  # generating `decide`: the outcome chain also records `by`
        self.chain_done = False

    def const(self, value) -> str:
        name = f"k{len(self.consts)}"
        self.consts[name] = value
        return name

    def literal(self, value) -> str:
        # Only validated scalars reach here: str, bool, int, finite float.
        if isinstance(value, (bool, int, float, str)):
            return repr(value)
        raise TypeError(f"unexpected operand {value!r}")

    def number_literal(self, value) -> str:
        """A threshold of a number fact, as a float literal when that is the same number."""
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53:
            return repr(float(value))
        return self.literal(value)

    # -- leaves ------------------------------------------------------------------------
    def fact_maybe_none(self, name: str) -> bool:
        spec = self.policy.facts[name]
        return not spec.required and not spec.has_default

    def leaf(self, leaf: Comparison) -> tuple[str, bool]:
        """(expression, can be None)."""
        if leaf.kind == "fact":
            var = self.fact_var[leaf.subject]
            cmp = self.compare(var, leaf)
            if self.fact_maybe_none(leaf.subject):
                return f"(None if {var} is None else {cmp})", True
            return f"({cmp})", False
        if leaf.kind == SUBJECT_RULE:
            i = next(r.index for r in self.policy.rules if r.id == leaf.subject)
            return f"m{i}", self.rule_maybe_none[i]
        if leaf.kind == SUBJECT_FLAG:
            if leaf.subject not in self.flag_maybe_none:
                return "False", False
            return f"fl_{self.flag_index[leaf.subject]}", self.flag_maybe_none[leaf.subject]
        if leaf.kind == SUBJECT_OUTCOME:
            cmp = self.compare("o", leaf)
            if self.outcome_maybe_unknown:
                return f"(None if o is _UNKNOWN else {cmp})", True
            return f"({cmp})", False
        raise ValueError(leaf.kind)

    def compare(self, var: str, leaf: Comparison) -> str:
        value = operand_value(leaf)
        ftype = self.policy.facts[leaf.subject].type if leaf.kind == "fact" else None
        if leaf.op in ("eq", "ne") and isinstance(value, bool) and ftype == "boolean":
            # A normalized boolean fact is True or False itself: identity is exact and cheap,
            # and in `decide`, whose guards admit only bools, the value is the answer.
            if self.in_decide:
                return var if (leaf.op == "eq") == value else f"not {var}"
            return f"{var} {'is' if leaf.op == 'eq' else 'is not'} {value!r}"
        if ftype == "number" and leaf.op in _PY_OP:
            # Float thresholds for number facts (exact conversions only: int/float compares
            # are exact in Python either way), so float facts meet the float specialization.
            return f"{var} {_PY_OP[leaf.op]} {self.number_literal(value)}"
        if leaf.op in _PY_OP:
            return f"{var} {_PY_OP[leaf.op]} {self.literal(value)}"
        if leaf.op in ("in", "not_in"):
            k = self.const(frozenset(value))
            return f"{var} {'in' if leaf.op == 'in' else 'not in'} {k}"
        if leaf.op == "between":
            # Not a chained comparison: two plain ones specialize better in CPython 3.11+.
            return f"{var} >= {self.literal(value[0])} and {var} <= {self.literal(value[1])}"
        raise ValueError(leaf.op)

    # -- trees -------------------------------------------------------------------------
    def expr(self, cond, leaf_code) -> tuple[str, bool]:
        if isinstance(cond, Comparison):
            return leaf_code(cond)
        if isinstance(cond, (All, Any)):
            parts = [self.expr(c, leaf_code) for c in cond.items]
            maybe = any(m for _, m in parts)
            if maybe:
                fn = "_all3" if isinstance(cond, All) else "_any3"
                return f"{fn}(({', '.join(p for p, _ in parts)},))", True
            joiner = " and " if isinstance(cond, All) else " or "
            return "(" + joiner.join(p for p, _ in parts) + ")", False
        if isinstance(cond, Not):
            inner, maybe = self.expr(cond.item, leaf_code)
            return (f"_not3({inner})", True) if maybe else (f"(not {inner})", False)
        raise TypeError(type(cond))

    # -- stratum boundaries -------------------------------------------------------------
    def boundary(self, lines: list[str], indent: str, evaluated: set[int]) -> None:
        """Compute what later strata read: flags and the outcome."""
        policy = self.policy
        self.flag_index = {f: i for i, f in enumerate(sorted({f for r in policy.rules for f in r.then.flags}))}
        for flag, fi in self.flag_index.items():
            setters = [r.index for r in policy.rules if flag in r.then.flags and r.index in evaluated]
            if not setters:
                continue
            maybe = any(self.rule_maybe_none[i] for i in setters)
            if maybe:
                lines.append(f"{indent}fl_{fi} = _any3(({', '.join(f'm{i}' for i in setters)},))")
            else:
                lines.append(f"{indent}fl_{fi} = {' or '.join(f'm{i}' for i in setters)}")
            self.flag_maybe_none[flag] = maybe
        outcome_rules = [r for r in policy.rules if r.decides_outcome]
        if not outcome_rules or not all(r.index in evaluated for r in outcome_rules):
            return
        if any(self.rule_maybe_none[r.index] for r in outcome_rules):
            allm = ", ".join(f"m{i}" if i in evaluated else "False" for i in range(len(policy.rules)))
            lines.append(f"{indent}_sel = _plan.select_outcome(({allm},))")
            lines.append(f"{indent}o = _sel[0] if _sel[2] else _UNKNOWN")
            self.outcome_maybe_unknown = True
            return
        lines += self.outcome_chain(indent, with_by=self.in_decide)
        self.chain_done = self.in_decide

    def outcome_chain(self, ind: str, with_by: bool) -> list[str]:
        """`o` (and `by`, the deciding rule indexes) by precedence, for definite matches."""
        policy = self.policy
        lines: list[str] = []
        first = True
        for outcome in policy.outcomes:
            rules = [r.index for r in policy.rules if r.then.outcome == outcome.id]
            if not rules:
                continue
            lines.append(f"{ind}{'if' if first else 'elif'} {' or '.join(f'm{i}' for i in rules)}:")
            lines.append(f"{ind}    o = {self.literal(outcome.id)}")
            if with_by and len(rules) == 1:
                lines.append(f"{ind}    by = ({rules[0]},)")
            elif with_by and len(rules) <= 8:
                # The deciding rules by bit pattern, from a precomputed table (the matches are
                # definite bools here): cheaper than building a tuple through compress.
                table = self.const(tuple(tuple(r for b, r in enumerate(rules) if k >> b & 1)
                                         for k in range(1 << len(rules))))
                bits = " | ".join(f"m{i}" if b == 0 else f"m{i} << {b}" for b, i in enumerate(rules))
                lines.append(f"{ind}    by = {table}[{bits}]")
            elif with_by:
                lines.append(f"{ind}    by = tuple(_compress({tuple(rules)!r}, ({', '.join(f'm{i}' for i in rules)},)))")
            first = False
        default = self.literal(policy.default) if policy.default is not None else "None"
        if first:
            return lines + [f"{ind}o = {default}"] + ([f"{ind}by = ()"] if with_by else [])
        lines += [f"{ind}else:", f"{ind}    o = {default}"]
        if with_by:
            lines.append(f"{ind}    by = ()")
        return lines

    # -- functions -----------------------------------------------------------------------
    def function(self, name: str, with_trace: bool) -> list[str]:
        policy = self.policy
        self.rule_maybe_none = {}
        self.flag_maybe_none = {}
        self.outcome_maybe_unknown = False
        self.chain_done = False
        self.flag_index = {}
        lines = [f"def {name}(f):"]
        ind = "    "
        for fname, var in self.fact_var.items():
            access = f"f.get({fname!r})" if self.fact_maybe_none(fname) else f"f[{fname!r}]"
            lines.append(f"{ind}{var} = {access}")
        evaluated: set[int] = set()
        for s, stratum in enumerate(policy.strata):
            if s > 0:
                self.boundary(lines, ind, evaluated)
            for i in stratum:
                rule = policy.rules[i]
                if with_trace:
                    leaf_vars = {}
                    for leaf in rule.leaves:
                        code, maybe = self.leaf(leaf)
                        var = f"c{i}_{leaf.index}"
                        lines.append(f"{ind}{var} = {code if maybe else _as_bool(code)}")
                        leaf_vars[leaf.index] = (var, maybe)
                    code, maybe = self.expr(rule.when, lambda lf, lv=leaf_vars: lv[lf.index])
                else:
                    code, maybe = self.expr(rule.when, self.leaf)
                lines.append(f"{ind}m{i} = {code if maybe else _as_bool(code)}")
                self.rule_maybe_none[i] = maybe
                evaluated.add(i)
        matches = ", ".join(f"m{i}" for i in range(len(policy.rules)))
        if with_trace:
            traces = ", ".join("(" + "".join(f"c{r.index}_{lf.index}, " for lf in r.leaves) + ")" for r in policy.rules)
            lines.append(f"{ind}return ({matches},), ({traces},)")
        else:
            lines.append(f"{ind}return ({matches},)")
        return lines


    # -- the whole decision, fast ------------------------------------------------------------
    def guard(self, var: str, name: str, allow_none: bool = True) -> str:
        """An expression true when `var` is already a valid, normalized value of fact `name`
        (or None for an optional fact, when `allow_none`)."""
        spec = self.policy.facts[name]
        if spec.type == "boolean":
            check = f"{var} is True or {var} is False"  # cheaper than a class test
        elif spec.type == "string":
            check = f"{var}.__class__ is str"  # first: `in` a frozenset raises on unhashables
            if spec.enum is not None:
                check += f" and {var} in {self.const(frozenset(spec.enum))}"
        elif spec.type == "integer":
            check = f"{var}.__class__ is int"
            if spec.minimum is not None:
                check += f" and {var} >= {self.literal(spec.minimum)}"
            if spec.maximum is not None:
                check += f" and {var} <= {self.literal(spec.maximum)}"
        else:
            # Finite numbers only, without a float test: NaN fails every comparison, and
            # ±inf fails the declared bound or, where none is declared, the one against _inf.
            check = f"({var}.__class__ is float or {var}.__class__ is int)"
            lo, hi = spec.minimum, spec.maximum
            check += f" and {var} >= {self.number_literal(lo)}" if lo is not None else f" and {var} > -_inf"
            check += f" and {var} <= {self.number_literal(hi)}" if hi is not None else f" and {var} < _inf"
        if allow_none and self.fact_maybe_none(name):
            return f"({var} is None or ({check}))"
        return f"({check})"

    def decide_function(self, with_trace: bool = False) -> list[str]:
        """`decide(record)`: validation guards, matches and the assembled Decision in one
        function. Anything unusual (a missing or extra key, a value needing conversion or
        rejection, an undecided rule) goes to the generic path `_slow`, which is also the
        reference the tests compare this function against.

        With `with_trace`, `decide_trace(record)`: the same with the full leaf trace, which
        returns None (take the generic path) instead of calling `_slow`. It accepts only
        records whose every fact is present and not None, so all its matches are definite,
        and it keeps the generic path's facts order (the policy's)."""
        policy = self.policy
        ind = "    "
        name = "decide_trace" if with_trace else "decide"
        off = "return None" if with_trace else "return _slow(r)"
        self.in_decide = True
        body = self.function(name, with_trace=with_trace)
        self.in_decide = False
        head, rest = body[0], body[1:]
        n_facts = len(policy.facts)
        if with_trace:
            lines = [head.replace("(f):", "(r):"), f"{ind}if r.__class__ is not dict or len(r) != {n_facts}:",
                     f"{ind}    {off}", f"{ind}try:"]
        else:
            # `decide` is also `CompiledPolicy.evaluate` itself (no wrapper frame on a
            # service's hot path), so it takes that method's arguments; any other option
            # is routed by the general `evaluate`, the one place that knows the paths.
            lines = [head.replace("(f):", "(facts, *, trace=False, backend='native'):"),
                     f"{ind}r = facts",
                     f"{ind}if trace or backend != 'native':",
                     f"{ind}    return _general(r, trace=trace, backend=backend)",
                     f"{ind}if r.__class__ is not dict or len(r) != {n_facts}:",
                     f"{ind}    return _slow(r)",
                     f"{ind}try:"]
        logic = [ln for ln in rest if not ln.startswith(f"{ind}v") and not ln.startswith(f"{ind}return")]
        for fname, var in self.fact_var.items():
            lines.append(f"{ind}    {var} = r[{fname!r}]")
        lines += [f"{ind}except KeyError:", f"{ind}    {off}"]
        # An optional fact passed as an explicit null is *missing*: only the generic path
        # records it as such, so a None value always leaves the fast path.
        guards = " and ".join(self.guard(var, fname, allow_none=False) for fname, var in self.fact_var.items())
        lines.append(f"{ind}if not ({guards}):")
        lines.append(f"{ind}    {off}")
        lines += logic
        n = len(policy.rules)
        matches = "(" + ", ".join(f"m{i}" for i in range(n)) + ",)"
        maybe = [i for i in range(n) if self.rule_maybe_none.get(i)]
        if maybe:
            lines.append(f"{ind}if " + " or ".join(f"m{i} is None" for i in maybe) + ":")
            lines.append(f"{ind}    {off}" if with_trace else f"{ind}    return _assemble(dict(r), {matches})")
        if not self.chain_done:
            lines += self.outcome_chain(ind, with_by=True)
        flags = sorted({f for r in policy.rules for f in r.then.flags})
        if flags:
            conds = []
            for f in flags:
                setters = [r.index for r in policy.rules if f in r.then.flags]
                conds.append("(" + " or ".join(f"m{i}" for i in setters) + ")")
            if len(flags) == 1:
                lines.append(f"{ind}fl = {tuple(flags)!r} if {conds[0]} else ()")
            else:
                lines.append(f"{ind}fl = tuple(_compress({tuple(flags)!r}, ({', '.join(conds)},)))")
        else:
            lines.append(f"{ind}fl = ()")
        outs = []
        for name, spec in policy.outputs.items():
            contrib = []
            for r in policy.rules:
                for oname, value in r.then.set:
                    if oname == name:
                        cond = f"m{r.index}" if not r.decides_outcome else \
                            f"(m{r.index} and o == {self.literal(r.then.outcome)})"
                        contrib.append((self.literal(value), cond))
            var = f"out{len(outs)}"
            if spec.combine in ("min", "max", "sum"):
                pairs = ", ".join(f"({v}, {c})" for v, c in contrib)
                lines.append(f"{ind}_vals = [v for v, c in ({pairs},) if c]")
                lines.append(f"{ind}{var} = {spec.combine}(_vals) if _vals else {self.literal(spec.default)}")
            else:
                expr = self.literal(spec.default)
                for v, c in reversed(contrib):
                    expr = f"{v} if {c} else {expr}"
                lines.append(f"{ind}{var} = {expr}")
            outs.append(f"{name!r}: {var}")
        if with_trace:
            # The facts in the policy's order, as the generic path builds them: a copy when
            # the record already has that order (the common case, and the cheaper one).
            keys = self.const(tuple(self.fact_var))
            fmap = ", ".join(f"{fname!r}: {var}" for fname, var in self.fact_var.items())
            lines.append(f"{ind}fx = r.copy() if tuple(r) == {keys} else {{{fmap}}}")
            traces = ", ".join("(" + "".join(f"c{r.index}_{lf.index}, " for lf in r.leaves) + ")" for r in policy.rules)
            lines.append(f"{ind}return _Decision((_policy, fx, o, True, by, {matches}, fl, "
                         f"{{{', '.join(outs)}}}, (), ({traces},), ()))")
        else:
            lines.append(f"{ind}return _Decision((_policy, r.copy(), o, True, by, {matches}, fl, "
                         f"{{{', '.join(outs)}}}, (), None, ()))")
        return lines


def generate_source(policy: Policy) -> tuple[str, dict[str, object]]:
    """The Python source of `rule_matches`, `trace`, `decide` and `decide_trace` for a policy, and its constants."""
    gen = _Gen(policy)
    lines = gen.function("rule_matches", with_trace=False) + [""] + gen.function("trace", with_trace=True)
    lines += [""] + gen.decide_function() + [""] + gen.decide_function(with_trace=True)
    return "\n".join(lines) + "\n", gen.consts


class NativeBackend:
    """Generated-Python matcher for one policy."""

    name = "native"

    def __init__(self, policy: Policy, plan: Plan, slow: Callable, assemble: Callable, general: Callable):
        """`slow(record)` is the generic validate-and-decide path; `assemble(facts, matches)`
        the generic Decision builder; `general(record, trace=…, backend=…)` is `evaluate`
        with those options. The generated `decide` defers to them off the fast path."""
        self.policy = policy
        self.source, consts = generate_source(policy)
        namespace: dict[str, object] = {
            "_all3": all3, "_any3": any3, "_not3": not3, "_plan": plan, "_UNKNOWN": UNKNOWN,
            "_compress": compress, "_Decision": Decision, "_policy": policy,
            "_slow": slow, "_assemble": assemble, "_general": general, "_inf": float("inf"),
            "__builtins__": {"tuple": tuple, "dict": dict, "len": len, "min": min, "max": max, "sum": sum,
                             "int": int, "float": float, "bool": bool, "str": str, "KeyError": KeyError},
        }
        namespace.update(consts)
        exec(compile(self.source, f"<verdict policy {policy.digest[:19]}>", "exec"), namespace)  # noqa: S102
        self.rule_matches = namespace["rule_matches"]
        self.trace = namespace["trace"]
        self.decide = namespace["decide"]
        # `decide_trace(record)`: the traced Decision, or None where the generic path must
        # decide (`evaluate(trace=True)` can try it first; see bench/README.md).
        self.decide_trace = namespace["decide_trace"]

