"""Running suites: evaluate every case with a full trace and check its expectations.

A failure says what was expected and what came, and its details say why: which rules and
which of their conditions made the decision, located in the policy file.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Iterable

from ..language.model import Loc, Rule
from .model import Case, CaseResult, Expect, Failure, Run, SetExpect, Suite, SuiteResult


def run_suites(suites: Iterable[Suite], backend: str = "native", select: str | None = None) -> Run:
    """Run every case (those whose name matches the regex `select`, when given).
    Raises engine.compile.BackendError when the backend cannot run a policy here."""
    from ..compile import compile_policy

    pattern = re.compile(select) if select else None
    compiled: dict[str, object] = {}
    out = []
    for suite in suites:
        key = suite.policy.digest + "\0" + suite.policy.path
        if key not in compiled:
            compiled[key] = compile_policy(suite.policy)
        ruleset = compiled[key]
        cases = [c for c in suite.cases if pattern is None or pattern.search(c.name)]
        out.append(SuiteResult(suite, tuple(run_case(ruleset, c, backend) for c in cases)))
    return Run(tuple(out), backend)


def run_case(ruleset, case: Case, backend: str = "native") -> CaseResult:
    """One case: evaluate its facts with a full trace and check every expectation. A
    BackendError (the backend cannot run here) propagates: it is not a test failure."""
    from ..evaluate import evaluate
    from ..errors import BackendDisagreement, FactsError

    try:
        decision = evaluate(ruleset, case.record, trace=True, backend=backend, as_of=case.as_of)
    except FactsError as exc:  # loading checks facts, so this means the policy changed under us
        return CaseResult(case, None, (Failure("facts", None, None, f"facts not accepted: {exc}"),))
    except BackendDisagreement as exc:  # the backend under test disagreeing with the native one
        return CaseResult(case, None, (Failure("backend", None, None, str(exc)),))
    return CaseResult(case, decision, tuple(check_expectations(case.expect, decision)))


def decision_reasons(decision) -> list[str]:
    """The reason codes a decision carries: its deciding rules', then its notices'."""
    out: list[str] = []
    for r in decision.reason_rules + decision.notice_rules:
        if r.then.reason not in out:
            out.append(r.then.reason)
    return out


def _same(a, b) -> bool:
    """An expected output value (from YAML) against the decided one: numbers numerically,
    a float as the decimal its text says against a computed (Decimal) output, so
    `6148.14` equals `Decimal("6148.14")` although no float is exactly that."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, tuple) or isinstance(b, tuple):  # an array output: item by item, in order
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _number(a) is not None and _number(a) == _number(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _number(v) -> Decimal | None:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        return Decimal(repr(v)) if v == v and v - v == 0.0 else None
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    return None


def _show(value) -> str:
    from ..language.values import format_value

    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return format_value(value)


def check_expectations(expect: Expect, decision) -> list[Failure]:
    """Every unmet expectation of one case, in a fixed order (the order of the schema)."""
    policy = decision.policy
    out: list[Failure] = []
    if expect.checks_outcome and expect.outcome != decision.outcome:
        out.append(Failure("outcome", expect.outcome, decision.outcome,
                           f"outcome: expected {_show(expect.outcome)}, got {_show(decision.outcome)}",
                           tuple(_outcome_details(decision, expect.outcome))))
    if expect.reasons is not None:
        actual = decision_reasons(decision)
        out += _set_failures("reasons", expect.reasons, actual, decision,
                             lambda code: [r for r in policy.rules if r.then.reason == code])
    for rid in expect.matched:
        r = policy.rule(rid)
        if decision.matched[r.index] is not True:
            state = "was undetermined" if decision.matched[r.index] is None else "did not match"
            out.append(Failure("matched", rid, decision.matched[r.index], f"rule {rid}: expected to match, {state}",
                               tuple(_why_not(r, decision))))
    for rid in expect.not_matched:
        r = policy.rule(rid)
        if decision.matched[r.index] is not False:
            state = "was undetermined" if decision.matched[r.index] is None else "matched"
            out.append(Failure("not_matched", rid, decision.matched[r.index],
                               f"rule {rid}: expected not to match, {state}", tuple(_why(r, decision))))
    for rid in expect.undetermined:
        r = policy.rule(rid)
        if decision.matched[r.index] is not None:
            state = "matched" if decision.matched[r.index] else "did not match"
            out.append(Failure("undetermined", rid, decision.matched[r.index],
                               f"rule {rid}: expected to be undetermined, {state}",
                               tuple(_why(r, decision) if decision.matched[r.index] else _why_not(r, decision))))
    if expect.flags is not None:
        out += _set_failures("flags", expect.flags, list(decision.flags), decision,
                             lambda flag: [r for r in policy.rules if flag in r.then.flags])
    for name, want in expect.outputs:
        got = decision.outputs.get(name)
        if not _same(want, got):
            setters = [r for r in policy.rules if any(n == name for n, _ in r.then.set)]
            details = []
            for r in setters:
                value = dict(r.then.set)[name]
                details += _rule_status(r, decision, f"sets {name} = {_show(value)}")
            out.append(Failure("outputs", {name: want}, {name: got},
                               f"output {name}: expected {_show(want)}, got {_show(got)}", tuple(details)))
    for name, want in expect.derived:
        got = decision.derived.get(name)
        if not (want is None and got is None) and not _same(want, got):
            from ..explain.wording import derived_line

            out.append(Failure("derived", {name: want}, {name: got},
                               f"derived fact {name}: expected {_show(want)}, got {_show(got)}",
                               (derived_line(decision, name),)))
    return out


def _set_failures(check: str, expect: SetExpect, actual: list[str], decision, rules_for) -> list[Failure]:
    singular = check[:-1]
    details: list[str] = []
    missing: list[str] = []
    extra: list[str] = []
    if expect.exact is not None:
        missing = [c for c in expect.exact if c not in actual]
        extra = [c for c in actual if c not in expect.exact]
    missing += [c for c in expect.contains if c not in actual and c not in missing]
    extra += [c for c in expect.excludes if c in actual and c not in extra]
    if not missing and not extra:
        return []
    for c in missing:
        for r in rules_for(c):
            details += _rule_status(r, decision, f"gives {singular} {c}")
    for c in extra:
        for r in rules_for(c):
            if decision.matched[r.index] is True:
                details += _why(r, decision)
    if expect.exact is not None:
        message = f"{check}: expected {_show(sorted(expect.exact))}, got {_show(sorted(actual))}"
    else:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unexpected " + ", ".join(extra))
        message = f"{check}: " + "; ".join(parts) + f" (got {_show(sorted(actual))})"
    expected = list(expect.exact) if expect.exact is not None else {
        k: list(v) for k, v in (("contains", expect.contains), ("excludes", expect.excludes)) if v}
    return [Failure(check, expected, sorted(actual), message, tuple(details))]


# -- describing why a rule did or did not match ----------------------------------------------

def _where(loc: Loc | None) -> str:
    return f"  ({loc.file}:{loc.line})" if loc else ""


def _conditions(rule: Rule, decision, want_true: bool) -> list[tuple[str, Loc | None]]:
    """(text, location) of the leaf conditions that made the rule match (want_true) or
    not: each leaf whose result, read through any `not` above it, agrees with the rule's."""
    from ..explain.render import describe_leaf, rule_conditions

    out = []
    for leaf, res, neg in rule_conditions(rule, decision):
        effective = None if res is None else (res != neg)
        if (want_true and effective is True) or (not want_true and effective is not True):
            out.append((describe_leaf(leaf, decision, res), leaf.loc))
    return out


def _why(rule: Rule, decision) -> list[str]:
    return [f"{rule.id} matched: " + "; ".join(text for text, _ in _conditions(rule, decision, True))
            + _where(rule.loc)]


def _earlier_rows(rule: Rule, decision) -> list[tuple[str, Loc | None]]:
    """For a row of a `hit: first` table, the earlier rows that applied or may apply: what
    keeps the row from matching when its own cells all hold (its restated leaves are not
    among its conditions: `rule_conditions`)."""
    if rule.table is None:
        return []
    table = decision.policy.table(rule.table.table)
    if table.hit != "first":
        return []
    out = []
    for row, i in enumerate(table.rules[:rule.table.row - 1], 1):
        m = decision.matched[i]
        if m is not False:
            other = decision.policy.rules[i]
            state = "applied" if m else "may apply (undetermined)"
            out.append((f"an earlier row of table {table.id} {state}: row {row} ({other.id})", other.loc))
    return out


def _why_not(rule: Rule, decision) -> list[str]:
    conds = _conditions(rule, decision, False) or _earlier_rows(rule, decision)
    if decision.matched[rule.index] is None:
        return [f"{rule.id} is undetermined: " + "; ".join(text for text, _ in conds)]
    if len(conds) == 1:
        return [f"{rule.id} did not match: {conds[0][0]}{_where(conds[0][1])}"]
    return [f"{rule.id} did not match:"] + [f"  {text}{_where(loc)}" for text, loc in conds]


def _rule_status(rule: Rule, decision, role: str) -> list[str]:
    """`rule (role)` and why it did not contribute."""
    m = decision.matched[rule.index]
    if m is True:
        if rule.decides_outcome and rule.index not in decision.decided_by:
            return [f"{rule.id} ({role}) matched, but outcome `{decision.outcome}` takes precedence over "
                    f"`{rule.then.outcome}`" + _where(rule.loc)]
        return _why(rule, decision)
    lines = _why_not(rule, decision)
    lines[0] = lines[0].replace(rule.id, f"{rule.id} ({role})", 1)
    return lines


def _outcome_details(decision, expected) -> list[str]:
    policy = decision.policy
    out: list[str] = []
    for r in decision.decided_by_rules:
        out.append(f"decided by {r.id}: " + "; ".join(text for text, _ in _conditions(r, decision, True))
                   + _where(r.loc))
    if not decision.decided_by:
        out.append(f"no rule decided the outcome; `{decision.outcome}` is the policy's default"
                   if decision.outcome is not None else "no rule decided the outcome and the policy has no default")
    if expected is not None:
        for r in policy.rules:
            if r.then.outcome == expected:
                out += _rule_status(r, decision, expected)
    return out
