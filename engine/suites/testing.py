"""Policy test suites: load `*.test.yaml` files, run their cases, measure coverage, report.

A suite names a policy and lists cases: facts (optionally on top of named base profiles)
and the decision they must give. Loading (the one part that reads files) checks a suite
against its JSON Schema (`schemas/test.schema.json`) and against the policy it tests,
with located diagnostics; everything after that is pure: suites → results → coverage →
text, JSON, JUnit XML, GitHub annotations or Markdown. `docs/testing.md` is the user's
guide; the coverage definitions below are the reference.

Coverage, per policy, over every case run against it:
- rules: a rule is covered when it matched in some case;
- conditions: each leaf condition counts twice, seen true and seen false (unknown, from a
  missing fact, counts as neither);
- boundaries: every numeric comparison `fact op t` (`eq ne gt gte lt lte`, and both ends
  of `between`) has a boundary at `t`, shared by every comparison of that fact with that
  value. Its three points are *just below* (`[t-ε, t)`), *at* (`t`) and *just above*
  (`(t, t+ε]`), where ε is 1 for integer facts (so exactly t-1, t, t+1) and 0.01 for
  number facts unless the suite sets `epsilon:`. A point is covered when some case's
  fact value lies on it *and* one of the comparisons at `t` decided its rule in that
  case (flipping that comparison would flip the rule's match). Points outside the fact's
  declared range are unreachable and not counted.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

from ..language.diagnostics import ERROR, Diagnostic, did_you_mean, has_errors, literal, pointer_join, sorted_diagnostics
from ..language.model import OP_SYMBOL, All, Any, Comparison, Loc, Not, Policy, Rule

TEST_SCHEMA = "test.schema.json"
TEST_SUFFIXES = (".test.yaml", ".test.yml")
POLICY_SUFFIXES = (".yaml", ".yml")
FORMATS = ("text", "json", "junit", "github", "markdown")
DEFAULT_NUMBER_EPSILON = 0.01
SIDES = ("below", "at", "above")
METRICS = ("rules", "conditions", "boundaries")


# == the test-suite IR ========================================================================

@dataclass(frozen=True)
class SetExpect:
    """Expected members of a set (reason codes, flags): `exact`, or `contains`/`excludes`."""

    exact: tuple[str, ...] | None = None
    contains: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


_UNSET = object()


@dataclass(frozen=True)
class Expect:
    outcome: object = _UNSET  # an outcome id, None (no outcome) or _UNSET (not checked)
    reasons: SetExpect | None = None
    matched: tuple[str, ...] = ()
    not_matched: tuple[str, ...] = ()
    undetermined: tuple[str, ...] = ()
    flags: SetExpect | None = None
    outputs: tuple[tuple[str, object], ...] = ()

    @property
    def checks_outcome(self) -> bool:
        return self.outcome is not _UNSET


@dataclass(frozen=True)
class Case:
    name: str
    index: int
    record: dict  # the facts to evaluate: base profiles merged, then the case's own facts
    expect: Expect
    loc: Loc
    base: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Suite:
    path: str
    policy: Policy
    cases: tuple[Case, ...]
    epsilon: dict = field(default_factory=dict)  # number fact → ε for boundaries
    description: str = ""


# == loading: the file edge ===================================================================

def is_test_file(path: str | os.PathLike) -> bool:
    return str(path).endswith(TEST_SUFFIXES)


def _suite_stem(path: Path) -> str:
    name = path.name
    for suffix in TEST_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def default_policy_path(test_path: str | os.PathLike) -> str | None:
    """The policy a suite tests when it does not say: `<name>.yaml` beside `<name>.test.yaml`,
    or in the parent folder when the suite lives in a `tests/` folder. For
    `<name>.<part>.test.yaml` the longest existing `<name>[.<part>].yaml` wins."""
    p = Path(test_path)
    stem = _suite_stem(p)
    stems = [stem]
    while "." in stem:
        stem = stem.rsplit(".", 1)[0]
        stems.append(stem)
    folders = [p.parent]
    if p.parent.name == "tests":
        folders.append(p.parent.parent)
    for folder in folders:
        for s in stems:
            for suffix in POLICY_SUFFIXES:
                candidate = folder / (s + suffix)
                if candidate.is_file():
                    return os.path.normpath(str(candidate))
    return None


def discover_tests(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """(test files, problems). A folder is searched recursively for `*.test.yaml` (hidden
    folders skipped); a test file is taken as is; a policy file brings its suites (the
    sibling `<name>.test.yaml`, `<name>.*.test.yaml`, and the same in a `tests/` folder)."""
    found: list[str] = []
    seen: set[Path] = set()
    problems: list[str] = []

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(str(path))

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and is_test_file(child.name) and not any(
                        part.startswith(".") for part in child.relative_to(p).parts):
                    add(child)
        elif is_test_file(raw):
            add(p)  # a missing file is reported by the loader, located
        elif p.is_file():
            stem = p.name
            for suffix in POLICY_SUFFIXES:
                if stem.endswith(suffix):
                    stem = stem[: -len(suffix)]
                    break
            suites = []
            for folder in (p.parent, p.parent / "tests"):
                for suffix in TEST_SUFFIXES:
                    suites += sorted(folder.glob(f"{_glob_escape(stem)}{suffix}"))
                    suites += sorted(folder.glob(f"{_glob_escape(stem)}.*{suffix}"))
            if not suites:
                problems.append(f"{raw}: no test suite found (expected {stem}.test.yaml beside it)")
            for s in suites:
                add(s)
        else:
            problems.append(f"{raw}: no such file or folder")
    return found, problems


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


class PolicyCache:
    """Policies loaded once per run, by resolved path (several suites may test one)."""

    def __init__(self):
        self._by_path: dict[Path, tuple[Policy | None, list[Diagnostic]]] = {}

    def get(self, path: str) -> tuple[Policy | None, list[Diagnostic]]:
        from ..language.loader import check_policy_file

        key = Path(path).resolve()
        if key not in self._by_path:
            self._by_path[key] = check_policy_file(path)
        return self._by_path[key]


def load_suite(path: str, policies: PolicyCache | None = None) -> tuple[Suite | None, list[Diagnostic]]:
    """Read, schema-check and resolve one test file against its policy. Never raises for
    bad content: a suite with any error is returned as None with every diagnostic."""
    from ..language.loader import read_file
    from ..language.schema.validate import check_schema
    from ..language.source import load_bytes

    policies = policies or PolicyCache()
    raw, diags = read_file(path)
    if raw is None:
        return None, diags
    doc, diags = load_bytes(raw, path)
    if doc is None:
        return None, diags
    diags = check_schema(doc.data, doc.source_map, TEST_SCHEMA)
    if diags:
        return None, diags
    return _SuiteBuilder(path, doc, policies).build()


class _SuiteBuilder:
    """Resolves a schema-valid test document against its policy, collecting diagnostics."""

    def __init__(self, path: str, doc, policies: PolicyCache):
        self.path = path
        self.data = doc.data
        self.smap = doc.source_map
        self.policies = policies
        self.diags: list[Diagnostic] = []

    def report(self, code: str, message: str, pointer: str, hint: str | None = None, at_key: bool = False) -> None:
        self.diags.append(self.smap.locate(Diagnostic(code, message, ERROR, pointer=pointer, hint=hint),
                                           prefer_key=at_key))

    def loc(self, pointer: str) -> Loc:
        line, col = self.smap.position(pointer)
        return Loc(self.path, line, col, pointer)

    def build(self) -> tuple[Suite | None, list[Diagnostic]]:
        policy = self.resolve_policy()
        if policy is None:
            return None, self.diags
        self.policy = policy
        profiles = self.profiles()
        epsilon = self.epsilon()
        cases = self.cases(profiles)
        if has_errors(self.diags):
            return None, sorted_diagnostics(self.diags)
        return Suite(self.path, policy, tuple(cases), epsilon, self.data.get("description", "")), self.diags

    def resolve_policy(self) -> Policy | None:
        ref = self.data.get("policy")
        if ref is None:
            target = default_policy_path(self.path)
            if target is None:
                name = _suite_stem(Path(self.path))
                self.report("test-policy-missing", f"no policy `{name}.yaml` beside this test file", "",
                            hint="name the policy with `policy: <file>.yaml` (relative to this file)")
                return None
        else:
            target = os.path.normpath(os.path.join(os.path.dirname(self.path), ref))
            if not Path(target).is_file():
                self.report("test-policy-missing", f"policy file `{ref}` not found (looked for {target})", "/policy",
                            hint="the path is relative to the test file")
                return None
        policy, pdiags = self.policies.get(target)
        if policy is None:
            errors = [d for d in pdiags if d.severity == ERROR]
            self.report("test-policy-invalid", f"policy `{target}` is not valid ({len(errors)} error"
                        f"{'s' if len(errors) != 1 else ''})", "/policy" if ref is not None else "",
                        hint=f"run `verdict validate {target}`")
            self.diags.extend(errors)
            return None
        return policy

    # -- facts ---------------------------------------------------------------------------
    def check_fact(self, name: str, value, ptr: str) -> None:
        from ..runtime.facts import check_value

        spec = self.policy.facts.get(name)
        if spec is None:
            self.report("test-unknown-fact", f"unknown fact `{name}`", ptr, at_key=True,
                        hint=did_you_mean(name, self.policy.facts) or f"`{self.policy.id}` declares: "
                        + ", ".join(self.policy.facts))
            return
        if value is None:
            return  # removes an inherited value
        _, problem = check_value(spec, value)
        if problem:
            self.report("test-bad-fact", problem, ptr)

    def profiles(self) -> dict[str, dict]:
        out = {}
        for name, facts in self.data.get("profiles", {}).items():
            for fact, value in facts.items():
                self.check_fact(fact, value, pointer_join("/profiles", name, fact))
            out[name] = facts
        return out

    def epsilon(self) -> dict:
        out = {}
        for name, value in self.data.get("epsilon", {}).items():
            spec = self.policy.facts.get(name)
            ptr = pointer_join("/epsilon", name)
            if spec is None or spec.type != "number":
                numbers = [f for f, s in self.policy.facts.items() if s.type == "number"]
                what = "is not a declared fact" if spec is None else f"is {spec.type}, not number"
                self.report("test-bad-epsilon", f"`{name}` {what}; `epsilon` is for number facts", ptr, at_key=True,
                            hint=did_you_mean(name, numbers) or (
                                "integer facts always use 1" if spec is not None and spec.type == "integer" else None))
                continue
            out[name] = value
        return out

    # -- cases ---------------------------------------------------------------------------
    def cases(self, profiles: dict[str, dict]) -> list[Case]:
        from ..runtime.facts import check_facts

        out = []
        first: dict[str, int] = {}
        for i, raw in enumerate(self.data["cases"]):
            ptr = pointer_join("/cases", i)
            name = raw["name"]
            if name in first:
                line = self.smap.position(pointer_join("/cases", first[name], "name"))[0]
                self.report("test-duplicate-case", f"case name `{name}` is already used", pointer_join(ptr, "name"),
                            hint=f"the first `{name}` is at line {line}")
            else:
                first[name] = i
            base = raw.get("base", ())
            base = (base,) if isinstance(base, str) else tuple(base)
            record: dict = {}
            base_ok = True
            for b_i, b in enumerate(base):
                if b not in profiles:
                    base_ok = False
                    bptr = pointer_join(ptr, "base") if isinstance(raw["base"], str) else pointer_join(ptr, "base", b_i)
                    self.report("test-unknown-profile", f"no profile named `{b}`", bptr,
                                hint=did_you_mean(b, profiles) or ("declare it under `profiles:`" if not profiles
                                                                   else "profiles: " + ", ".join(profiles)))
                    continue
                record.update(profiles[b])
            facts = raw.get("facts", {})
            for fact, value in facts.items():
                self.check_fact(fact, value, pointer_join(ptr, "facts", fact))
            record.update(facts)
            record = {k: v for k, v in record.items() if v is not None}
            _, problems = check_facts(self.policy, record)
            missing = [p.fact for p in problems
                       if p.severity == ERROR and p.message.startswith("missing required fact")]
            if missing and base_ok:
                what = "fact" if len(missing) == 1 else "facts"
                self.report("test-missing-fact", f"case `{name}` lacks required {what} "
                            + ", ".join(f"`{m}`" for m in missing),
                            pointer_join(ptr, "facts") if "facts" in raw else pointer_join(ptr, "name"),
                            hint="give them in the case's `facts` or in a `base` profile", at_key=True)
            expect = self.expect(raw["expect"], pointer_join(ptr, "expect"))
            out.append(Case(name, i, record, expect, self.loc(ptr), base, raw.get("description", "")))
        return out

    def expect(self, raw: dict, ptr: str) -> Expect:
        policy = self.policy
        kw: dict = {}
        if "outcome" in raw:
            value = raw["outcome"]
            if value is not None and value not in policy.outcome_ids:
                self.report("test-unknown-outcome", f"`{value}` is not an outcome of `{policy.id}`",
                            pointer_join(ptr, "outcome"), hint=did_you_mean(value, policy.outcome_ids)
                            or "outcomes: " + ", ".join(policy.outcome_ids))
            kw["outcome"] = value
        codes = list(policy.reasons) + [r.then.reason for r in policy.rules
                                        if r.then.reason and r.then.reason not in policy.reasons]
        flags = sorted({f for r in policy.rules for f in r.then.flags})
        rule_ids = [r.id for r in policy.rules]
        for key, known, what in (("reasons", codes, "reason code"), ("flags", flags, "flag")):
            if key in raw:
                kw[key] = self.set_expect(raw[key], pointer_join(ptr, key), known, what)
        for key in ("matched", "not_matched", "undetermined"):
            if key in raw:
                for j, rid in enumerate(raw[key]):
                    if rid not in rule_ids:
                        self.report("test-unknown-rule", f"no rule `{rid}` in `{policy.id}`",
                                    pointer_join(ptr, key, j), hint=did_you_mean(rid, rule_ids))
                kw[key] = tuple(raw[key])
        seen: dict[str, str] = {}
        for key in ("matched", "not_matched", "undetermined"):
            for j, rid in enumerate(kw.get(key, ())):
                if rid in seen:
                    self.report("test-contradiction", f"rule `{rid}` is expected both `{seen[rid]}` and `{key}`",
                                pointer_join(ptr, key, j))
                seen.setdefault(rid, key)
        if "outputs" in raw:
            outs = []
            for name, value in raw["outputs"].items():
                optr = pointer_join(ptr, "outputs", name)
                spec = policy.outputs.get(name)
                if spec is None:
                    self.report("test-unknown-output", f"no output `{name}` in `{policy.id}`", optr, at_key=True,
                                hint=did_you_mean(name, policy.outputs) or (
                                    "outputs: " + ", ".join(policy.outputs) if policy.outputs else None))
                elif not _fits(spec.type, value):
                    self.report("test-bad-output", f"output `{name}` is {spec.type}, found {literal(value)}", optr)
                outs.append((name, value))
            kw["outputs"] = tuple(outs)
        return Expect(**kw)

    def set_expect(self, raw, ptr: str, known: list[str], what: str) -> SetExpect:
        def check(values: list, p: str) -> tuple[str, ...]:
            for j, v in enumerate(values):
                if v not in known:
                    self.report(f"test-unknown-{what.split()[0]}", f"`{v}` is not a {what} of `{self.policy.id}`",
                                pointer_join(p, j), hint=did_you_mean(v, known))
            return tuple(values)

        if isinstance(raw, list):
            return SetExpect(exact=check(raw, ptr))
        contains = check(raw.get("contains", []), pointer_join(ptr, "contains"))
        excludes = check(raw.get("excludes", []), pointer_join(ptr, "excludes"))
        for j, v in enumerate(excludes):
            if v in contains:
                self.report("test-contradiction", f"`{v}` is both in `contains` and in `excludes`",
                            pointer_join(ptr, "excludes", j))
        return SetExpect(contains=contains, excludes=excludes)


def _fits(ftype: str, value) -> bool:
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype == "string":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return ftype == "number" or float(value).is_integer()


def load_suites(paths: Sequence[str]) -> tuple[list[Suite], list[Diagnostic]]:
    """Every suite at `paths` (already discovered files), and every diagnostic."""
    policies = PolicyCache()
    suites, diags = [], []
    for p in paths:
        suite, ds = load_suite(p, policies)
        diags.extend(ds)
        if suite is not None:
            suites.append(suite)
    return suites, diags


# == running ==================================================================================

@dataclass(frozen=True)
class Failure:
    """One unmet expectation: a one-line `message` and `details` naming rules and conditions."""

    check: str
    expected: object
    actual: object
    message: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseResult:
    case: Case
    decision: object | None  # engine.decision.Decision; None when evaluation failed
    failures: tuple[Failure, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class SuiteResult:
    suite: Suite
    results: tuple[CaseResult, ...]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> list[CaseResult]:
        return [r for r in self.results if r.passed]


@dataclass(frozen=True)
class Run:
    suites: tuple[SuiteResult, ...]
    backend: str

    @property
    def results(self) -> list[CaseResult]:
        return [r for s in self.suites for r in s.results]

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)


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
    from ..runtime.facts import FactsError

    try:
        decision = evaluate(ruleset, case.record, trace=True, backend=backend)
    except FactsError as exc:  # loading checks facts, so this means the policy changed under us
        return CaseResult(case, None, (Failure("facts", None, None, f"facts not accepted: {exc}"),))
    except AssertionError as exc:  # the durable backend disagreeing with the native one
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
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _show(value) -> str:
    from ..explain.render import format_value

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


def _why_not(rule: Rule, decision) -> list[str]:
    conds = _conditions(rule, decision, False)
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


# == coverage =================================================================================

@dataclass(frozen=True)
class Point:
    side: str  # below | at | above
    value: object  # the value a generated case uses; None when unreachable
    lo: object = None  # the side's interval (for below: [lo, t); above: (t, hi])
    hi: object = None

    @property
    def reachable(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Boundary:
    fact: str
    value: object
    names: tuple[str, ...]  # the thresholds naming this value (none for a literal)
    uses: tuple[tuple[int, int], ...]  # (rule index, leaf index) of each comparison at this value
    points: tuple[Point, ...]
    epsilon: object

    @property
    def label(self) -> str:
        from ..explain.render import format_value

        shown = format_value(self.value)
        return f"{'/'.join(self.names)} ({shown})" if self.names else shown

    def contains(self, point: Point, v) -> bool:
        if point.side == "at":
            return v == self.value
        if point.side == "below":
            return point.lo <= v < self.value
        return self.value < v <= point.hi


def _dec(x) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def _num(d: Decimal, like_int: bool):
    return int(d) if like_int and d == d.to_integral_value() else float(d)


def boundary_points(spec, t, epsilon=None) -> tuple[tuple[Point, ...], object]:
    """The just-below, at and just-above points of threshold `t` for fact `spec`, and ε.
    Arithmetic is decimal, so 0.9 - 0.01 is 0.89 (not 0.8899999999999999)."""
    integer = spec.type == "integer"
    eps = 1 if integer else (epsilon if epsilon is not None else DEFAULT_NUMBER_EPSILON)
    lo_range = spec.minimum
    hi_range = spec.maximum
    td, ed = _dec(t), _dec(eps)
    both_int = integer or (isinstance(t, int) and isinstance(eps, int))
    # below: [t-ε, t) within the range
    blo = td - ed
    if lo_range is not None and _dec(lo_range) > blo:
        blo = _dec(lo_range)
    if integer:
        blo = blo.to_integral_value(rounding="ROUND_CEILING")
        below_ok = blo <= td - 1
    else:
        below_ok = blo < td
    if hi_range is not None and blo > _dec(hi_range):
        below_ok = False
    below = Point("below", _num(blo, both_int) if below_ok else None, _num(blo, both_int), t)
    at_ok = (lo_range is None or lo_range <= t) and (hi_range is None or t <= hi_range) and (
        not integer or float(t).is_integer())
    at = Point("at", t if at_ok else None)
    ahi = td + ed
    if hi_range is not None and _dec(hi_range) < ahi:
        ahi = _dec(hi_range)
    if integer:
        ahi = ahi.to_integral_value(rounding="ROUND_FLOOR")
        above_ok = ahi >= td + 1
    else:
        above_ok = ahi > td
    if lo_range is not None and ahi < _dec(lo_range):
        above_ok = False
    above = Point("above", _num(ahi, both_int) if above_ok else None, t, _num(ahi, both_int))
    return (below, at, above), eps


def boundaries(policy: Policy, epsilon: dict | None = None) -> list[Boundary]:
    """Every numeric threshold boundary of the policy, in order of first use."""
    epsilon = epsilon or {}
    found: dict[tuple, dict] = {}
    for rule in policy.rules:
        for leaf in rule.leaves:
            if leaf.kind != "fact" or leaf.op not in ("eq", "ne", "gt", "gte", "lt", "lte", "between"):
                continue
            spec = policy.facts[leaf.subject]
            if not spec.numeric:
                continue
            operands = leaf.operand if leaf.op == "between" else (leaf.operand,)
            for o in operands:
                if isinstance(o.value, bool) or not isinstance(o.value, (int, float)):
                    continue
                key = (leaf.subject, o.value)
                entry = found.setdefault(key, {"names": [], "uses": []})
                if o.threshold and o.threshold not in entry["names"]:
                    entry["names"].append(o.threshold)
                if (rule.index, leaf.index) not in entry["uses"]:
                    entry["uses"].append((rule.index, leaf.index))
    out = []
    for (fact, value), entry in found.items():
        points, eps = boundary_points(policy.facts[fact], value, epsilon.get(fact))
        out.append(Boundary(fact, value, tuple(entry["names"]), tuple(entry["uses"]), points, eps))
    return out


def _tree_value(cond, values, flip: int | None = None):
    """A rule's Kleene value from its leaf results, with leaf `flip` negated."""
    from ..runtime.semantics import all3, any3, not3

    if isinstance(cond, Comparison):
        v = values[cond.index]
        return (not v if v is not None else None) if cond.index == flip else v
    if isinstance(cond, All):
        return all3([_tree_value(c, values, flip) for c in cond.items])
    if isinstance(cond, Any):
        return any3([_tree_value(c, values, flip) for c in cond.items])
    if isinstance(cond, Not):
        return not3(_tree_value(cond.item, values, flip))
    raise TypeError(type(cond))


def decisive(rule: Rule, leaf_values: Sequence, leaf_index: int) -> bool:
    """Whether flipping this leaf would flip the rule's match (the leaf decided the rule)."""
    if leaf_values[leaf_index] is None:
        return False
    return _tree_value(rule.when, leaf_values, leaf_index) != _tree_value(rule.when, leaf_values)


@dataclass
class RuleCov:
    rule: Rule
    matched_by: list[str] = field(default_factory=list)


@dataclass
class ConditionCov:
    rule: Rule
    leaf: Comparison
    true_by: list[str] = field(default_factory=list)
    false_by: list[str] = field(default_factory=list)


@dataclass
class PointCov:
    point: Point
    covered_by: list[str] = field(default_factory=list)
    seen_by: list[str] = field(default_factory=list)  # the value, but no comparison here decided its rule


@dataclass
class BoundaryCov:
    boundary: Boundary
    points: list[PointCov]


@dataclass
class Coverage:
    """Coverage of one policy by every case run against it."""

    policy: Policy
    cases: int
    rules: list[RuleCov]
    conditions: list[ConditionCov]
    boundaries: list[BoundaryCov]

    def counts(self) -> dict[str, tuple[int, int]]:
        """metric → (covered, total)."""
        rules = (sum(1 for r in self.rules if r.matched_by), len(self.rules))
        conds = (sum((1 if c.true_by else 0) + (1 if c.false_by else 0) for c in self.conditions),
                 2 * len(self.conditions))
        pts = [p for b in self.boundaries for p in b.points if p.point.reachable]
        bounds = (sum(1 for p in pts if p.covered_by), len(pts))
        return {"rules": rules, "conditions": conds, "boundaries": bounds}

    def percent(self) -> dict[str, float]:
        return {k: _pct(c, t) for k, (c, t) in self.counts().items()}


def _pct(covered: int, total: int) -> float:
    return 100.0 if total == 0 else math.floor(1000.0 * covered / total) / 10.0


def coverage_of(policy: Policy, results: Sequence[CaseResult], epsilon: dict | None = None) -> Coverage:
    """Coverage of `policy` by these case results (see the module docstring)."""
    rules = [RuleCov(r) for r in policy.rules]
    conds = [ConditionCov(r, leaf) for r in policy.rules for leaf in r.leaves]
    cond_at = {(c.rule.index, c.leaf.index): c for c in conds}
    bcovs = [BoundaryCov(b, [PointCov(p) for p in b.points]) for b in boundaries(policy, epsilon)]
    for res in results:
        d = res.decision
        if d is None or d.trace is None:
            continue
        name = res.case.name
        for r in policy.rules:
            if d.matched[r.index] is True:
                rules[r.index].matched_by.append(name)
            for leaf in r.leaves:
                v = d.trace[r.index][leaf.index]
                c = cond_at[(r.index, leaf.index)]
                if v is True:
                    c.true_by.append(name)
                elif v is False:
                    c.false_by.append(name)
        for bc in bcovs:
            b = bc.boundary
            value = d.facts.get(b.fact)
            if value is None:
                continue
            hits = [pc for pc in bc.points if pc.point.reachable and b.contains(pc.point, value)]
            if not hits:
                continue
            decided = any(decisive(policy.rules[ri], d.trace[ri], li) for ri, li in b.uses)
            for pc in hits:
                (pc.covered_by if decided else pc.seen_by).append(name)
    return Coverage(policy, len(results), rules, conds, bcovs)


def coverage(run: Run) -> list[Coverage]:
    """One Coverage per policy tested in the run, merging every suite that tests it."""
    groups: dict[str, tuple[Policy, list[CaseResult], dict]] = {}
    for s in run.suites:
        key = str(Path(s.suite.policy.path).resolve())
        if key not in groups:
            groups[key] = (s.suite.policy, [], {})
        groups[key][1].extend(s.results)
        groups[key][2].update(s.suite.epsilon)
    return [coverage_of(p, res, eps) for p, res, eps in groups.values()]


def parse_min_coverage(text: str) -> dict[str, float]:
    """`90` (every metric) or `rules=100,boundaries=100`; raises ValueError with a message."""
    out: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if "=" in part:
            key, _, value = part.partition("=")
            key = key.strip()
            if key not in METRICS:
                raise ValueError(f"unknown coverage metric `{key}` (choose from {', '.join(METRICS)})")
            keys = [key]
        else:
            value, keys = part, list(METRICS)
        try:
            n = float(value.strip().rstrip("%"))
        except ValueError:
            raise ValueError(f"`{part}` is not a percentage") from None
        if not 0 <= n <= 100:
            raise ValueError(f"`{part}` is not between 0 and 100")
        for k in keys:
            out[k] = n
    return out


def gate(coverages: Sequence[Coverage], minimum: dict[str, float]) -> list[str]:
    """One message per policy and metric below its minimum (each policy is gated alone)."""
    out = []
    for cov in coverages:
        pct = cov.percent()
        for metric in METRICS:
            if metric in minimum and pct[metric] < minimum[metric]:
                c, t = cov.counts()[metric]
                out.append(f"{cov.policy.id}: {metric} coverage {pct[metric]:.1f}% ({c}/{t}) is below the "
                           f"minimum {minimum[metric]:g}%")
    return out


def uncovered(cov: Coverage) -> list[tuple[Loc | None, str]]:
    """(location, description) of everything not covered, in policy order."""
    from ..explain.render import format_value

    out: list[tuple[Loc | None, str]] = []
    for rc in cov.rules:
        if not rc.matched_by:
            out.append((rc.rule.loc, f"rule {rc.rule.id}: never matched"))
    for cc in cov.conditions:
        missing = [w for w, by in (("true", cc.true_by), ("false", cc.false_by)) if not by]
        if missing:
            out.append((cc.leaf.loc, f"condition {_leaf_text(cc.leaf)} in {cc.rule.id}: never "
                        + " or ".join(missing)))
    for bc in cov.boundaries:
        b = bc.boundary
        for pc in bc.points:
            if pc.point.reachable and not pc.covered_by:
                where = _side_text(b, pc.point)
                extra = f" (reached by `{pc.seen_by[0]}`, but no comparison at it decided its rule there)" \
                    if pc.seen_by else ""
                leaf = cov.policy.rules[b.uses[0][0]].leaves[b.uses[0][1]]
                rules = ", ".join(dict.fromkeys(cov.policy.rules[ri].id for ri, _ in b.uses))
                out.append((leaf.loc, f"boundary {b.label} of {b.fact}: {where} ({format_value(pc.point.value)}) "
                            f"not tested [{rules}]{extra}"))
    return out


def _side_text(b: Boundary, p: Point) -> str:
    return "at" if p.side == "at" else f"just {p.side}"


def _leaf_text(leaf: Comparison) -> str:
    from ..explain.render import format_value

    if leaf.kind == "flag":
        return f"flag {leaf.subject}"
    if leaf.kind == "rule":
        return f"rule {leaf.subject} matched"
    if leaf.op == "between":
        lo, hi = leaf.operand
        target = "[" + ", ".join(o.threshold or format_value(o.value) for o in (lo, hi)) + "]"
    else:
        target = leaf.operand.threshold or format_value(leaf.operand.value)
    return f"{leaf.subject} {OP_SYMBOL[leaf.op]} {target}"


# == reports ==================================================================================

@dataclass
class Report:
    """Everything a renderer needs: the run, optional coverage, the coverage gate."""

    run: Run
    coverage: list[Coverage] | None = None
    minimum: dict[str, float] | None = None
    gate_failures: list[str] = field(default_factory=list)
    verbose: bool = False

    @property
    def ok(self) -> bool:
        return self.run.ok and not self.gate_failures


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(report: Report) -> str:
    results = report.run.results
    failed = sum(1 for r in results if not r.passed)
    parts = [f"{failed} failed"] if failed else []
    parts.append(f"{len(results) - failed} passed")
    line = ", ".join(parts) + f": {_plural(len(results), 'case')} in {_plural(len(report.run.suites), 'file')} " \
                              f"(backend {report.run.backend})"
    return ("FAILED " if not report.ok else "OK ") + line


def case_block(res: CaseResult, lang: str | None = None) -> list[str]:
    """The text of a failing case: header, each failure with its details, and the
    explanation of the actual decision."""
    from ..explain.render import explain_text

    c = res.case
    lines = [f"FAIL {c.loc.file}:{c.loc.line}  {c.name}"]
    for f in res.failures:
        lines.append(f"  {f.message}")
        lines += [f"    {d}" for d in f.details]
    if res.decision is not None:
        lines.append("  actual decision:")
        lines += ["    " + ln if ln else "" for ln in explain_text(res.decision, lang).rstrip("\n").split("\n")]
    return lines


def render_text(report: Report) -> str:
    out: list[str] = []
    for s in report.run.suites:
        for res in s.results:
            if not res.passed:
                out += case_block(res)
                out.append("")
        passed, failed = len(s.passed), len(s.failed)
        head = f"{s.suite.path}: {passed} passed" + (f", {failed} failed" if failed else "") + \
            f"  ({s.suite.policy.id} v{s.suite.policy.version})"
        out.append(head)
        if report.verbose:
            for res in s.results:
                out.append(f"  {'ok  ' if res.passed else 'FAIL'} {res.case.name}")
    if report.coverage is not None:
        out.append("")
        out += coverage_text(report.coverage)
    for g in report.gate_failures:
        out.append(f"coverage gate: {g}")
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def coverage_text(coverages: Sequence[Coverage]) -> list[str]:
    out = []
    for cov in coverages:
        p = cov.policy
        out.append(f"coverage of {p.id} v{p.version} ({p.path}), {_plural(cov.cases, 'case')}:")
        pct = cov.percent()
        for metric, (c, t) in cov.counts().items():
            out.append(f"  {metric:<11} {c:>4}/{t:<4} {pct[metric]:5.1f}%")
        missing = uncovered(cov)
        if missing:
            out.append("  not covered:")
            for loc, text in missing:
                out.append(f"    {text}" + (f"  ({loc.file}:{loc.line})" if loc else ""))
    return out


def _json_value(v):
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


def coverage_dict(cov: Coverage) -> dict:
    def where(loc):
        return f"{loc.file}:{loc.line}:{loc.column}" if loc else None

    counts = cov.counts()
    pct = cov.percent()
    return {
        "policy": cov.policy.id,
        "version": cov.policy.version,
        "file": cov.policy.path,
        "cases": cov.cases,
        "summary": {m: {"covered": c, "total": t, "percent": pct[m]} for m, (c, t) in counts.items()},
        "rules": [{"id": rc.rule.id, "location": where(rc.rule.loc), "matched": bool(rc.matched_by),
                   "matched_by": rc.matched_by[:5]} for rc in cov.rules],
        "conditions": [{"rule": cc.rule.id, "index": cc.leaf.index, "condition": _leaf_text(cc.leaf),
                        "location": where(cc.leaf.loc), "seen_true": bool(cc.true_by),
                        "seen_false": bool(cc.false_by)} for cc in cov.conditions],
        "boundaries": [{
            "fact": bc.boundary.fact,
            "value": bc.boundary.value,
            "thresholds": list(bc.boundary.names),
            "epsilon": bc.boundary.epsilon,
            "rules": list(dict.fromkeys(cov.policy.rules[ri].id for ri, _ in bc.boundary.uses)),
            "points": {pc.point.side: {"value": pc.point.value, "reachable": pc.point.reachable,
                                       "covered": bool(pc.covered_by), "covered_by": pc.covered_by[:5],
                                       **({"seen_by": pc.seen_by[:5]} if pc.seen_by and not pc.covered_by else {})}
                       for pc in bc.points},
        } for bc in cov.boundaries],
    }


def render_json(report: Report) -> str:
    from ..explain.render import decision_dict

    files = []
    for s in report.run.suites:
        cases = []
        for res in s.results:
            c = res.case
            entry: dict = {"name": c.name, "line": c.loc.line, "status": "pass" if res.passed else "fail"}
            if not res.passed:
                entry["failures"] = [{"check": f.check, "expected": _json_value(f.expected),
                                      "actual": _json_value(f.actual), "message": f.message,
                                      "details": list(f.details)} for f in res.failures]
                entry["facts"] = dict(c.record)
                if res.decision is not None:
                    entry["decision"] = decision_dict(res.decision)
            cases.append(entry)
        files.append({"file": s.suite.path, "policy": s.suite.policy.id, "policy_file": s.suite.policy.path,
                      "version": s.suite.policy.version, "passed": len(s.passed), "failed": len(s.failed),
                      "cases": cases})
    results = report.run.results
    doc: dict = {
        "ok": report.ok,
        "backend": report.run.backend,
        "summary": {"cases": len(results), "passed": sum(r.passed for r in results),
                    "failed": sum(not r.passed for r in results), "files": len(report.run.suites)},
        "files": files,
    }
    if report.coverage is not None:
        doc["coverage"] = [coverage_dict(c) for c in report.coverage]
    if report.minimum is not None:
        doc["coverage_gate"] = {"minimum": report.minimum, "failures": report.gate_failures}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render_junit(report: Report) -> str:
    """JUnit XML: one <testsuite> per test file, one <testcase> per case; with a coverage
    minimum, a `coverage` suite with one case per policy."""
    results = report.run.results
    failures = sum(not r.passed for r in results)
    tests = len(results)
    gate_suite: list[str] = []
    if report.minimum is not None and report.coverage is not None:
        for cov in report.coverage:
            msgs = [g for g in report.gate_failures if g.startswith(cov.policy.id + ":")]
            tests += 1
            failures += bool(msgs)
            gate_suite.append(
                f'    <testcase classname="coverage" name={quoteattr(cov.policy.id)} '
                f'file={quoteattr(cov.policy.path)}>' + (
                    f'<failure message={quoteattr(msgs[0])} type="coverage">'
                    f'{escape(chr(10).join(msgs + coverage_text([cov])))}</failure>' if msgs else "")
                + "</testcase>")
    name = f"verdict test ({report.run.backend})"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name={quoteattr(name)} tests="{tests}" failures="{failures}" errors="0">']
    for s in report.run.suites:
        p = s.suite.policy
        lines.append(f'  <testsuite name={quoteattr(s.suite.path)} tests="{len(s.results)}" '
                     f'failures="{len(s.failed)}" errors="0" skipped="0">')
        lines.append("    <properties>"
                     f'<property name="policy" value={quoteattr(p.id)}/>'
                     f'<property name="policy_version" value={quoteattr(str(p.version))}/>'
                     f'<property name="backend" value={quoteattr(report.run.backend)}/></properties>')
        for res in s.results:
            c = res.case
            head = (f'    <testcase classname={quoteattr(p.id)} name={quoteattr(c.name)} '
                    f'file={quoteattr(c.loc.file)} line="{c.loc.line}"')
            if res.passed:
                lines.append(head + "/>")
            else:
                message = "; ".join(f.message for f in res.failures)
                body = "\n".join(case_block(res))
                lines.append(head + ">")
                lines.append(f'      <failure message={quoteattr(message)} type="expectation">{escape(body)}'
                             f'</failure>')
                lines.append("    </testcase>")
        lines.append("  </testsuite>")
    if gate_suite:
        gate_fail = sum(1 for line in gate_suite if "<failure" in line)
        lines.append(f'  <testsuite name="coverage" tests="{len(gate_suite)}" failures="{gate_fail}" errors="0" '
                     f'skipped="0">')
        lines += gate_suite
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def _gh(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(report: Report) -> str:
    """GitHub Actions annotations: an error on each failing case's line, a warning on
    each uncovered rule, condition and boundary (with --coverage), then the summary."""
    out = []
    for res in report.run.results:
        if res.passed:
            continue
        c = res.case
        body = "\n".join([f.message for f in res.failures] + [d for f in res.failures for d in f.details])
        out.append(f"::error file={_gh(c.loc.file, True)},line={c.loc.line},col={c.loc.column},"
                   f"title={_gh('verdict test: ' + c.name, True)}::{_gh(body)}")
    if report.coverage is not None:
        for cov in report.coverage:
            for loc, text in uncovered(cov):
                where = f"file={_gh(loc.file, True)},line={loc.line},col={loc.column}," if loc else ""
                out.append(f"::warning {where}title={_gh('not covered by tests', True)}::{_gh(text)}")
    for g in report.gate_failures:
        out.append(f"::error title={_gh('coverage below minimum', True)}::{_gh(g)}")
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def render_markdown(report: Report) -> str:
    """A summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`."""
    results = report.run.results
    failed = [r for r in results if not r.passed]
    icon = "✅" if report.ok else "❌"
    head = f"### {icon} verdict test: {len(results) - len(failed)} passed"
    if failed:
        head += f", {len(failed)} failed"
    lines = [head + f" ({report.run.backend} backend)", ""]
    if report.coverage is not None:
        lines += ["| policy | cases | rules | conditions | boundaries |", "|---|---|---|---|---|"]
        for cov in report.coverage:
            counts, pct = cov.counts(), cov.percent()
            n_fail = sum(len(s.failed) for s in report.run.suites if s.suite.policy is cov.policy)
            cells = []
            for m in METRICS:
                c, t = counts[m]
                low = report.minimum is not None and m in report.minimum and pct[m] < report.minimum[m]
                cells.append(f"{pct[m]:.1f}% ({c}/{t})" + (" ⚠️" if low else ""))
            lines.append(f"| `{cov.policy.id}` v{cov.policy.version} | {cov.cases}"
                         + (f" ({n_fail} failed)" if n_fail else "") + " | " + " | ".join(cells) + " |")
        lines.append("")
        for cov in report.coverage:
            missing = uncovered(cov)
            if missing:
                lines.append(f"<details><summary>Not covered in <code>{cov.policy.id}</code> ({len(missing)})"
                             f"</summary>")
                lines.append("")
                for loc, text in missing:
                    lines.append(f"- {_md(text)}" + (f" — `{loc.file}:{loc.line}`" if loc else ""))
                lines += ["", "</details>", ""]
    for g in report.gate_failures:
        lines.append(f"- ❌ coverage gate: {_md(g)}")
    if report.gate_failures:
        lines.append("")
    if failed:
        lines += ["#### Failures", ""]
        for res in failed:
            c = res.case
            lines.append(f"- **{_md(c.name)}** (`{c.loc.file}:{c.loc.line}`)")
            for f in res.failures:
                lines.append(f"  - {_md(f.message)}")
                for d in f.details:
                    lines.append(f"    - {_md(d.strip())}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit, "github": render_github,
             "markdown": render_markdown}


def render(fmt: str, report: Report) -> str:
    return RENDERERS[fmt](report)


# == generating boundary cases ================================================================

class _Solver:
    """Finds fact values that give leaf conditions required truth values.

    Works on the analysis cell space (`engine.analysis.Space`): each fact's domain is split
    into cells on which every leaf is constant, so a set of requirements is a mask of
    allowed cells per fact. Leaves on conclusions (outcome, flag, rule) are not solved
    for; the generated case is checked by evaluation instead.
    """

    MAX_STEPS = 20000

    def __init__(self, policy: Policy):
        from ..space import Space
        from ..runtime.semantics import compare, operand_value

        self.policy = policy
        self.space = Space([policy])
        self.masks: dict[tuple[int, int], tuple[int, int]] = {}
        for r in policy.rules:
            for leaf in r.leaves:
                if leaf.kind != "fact":
                    continue
                d = self.space.dims[self.space.index[leaf.subject]]
                spec = policy.facts[leaf.subject]
                t = f = 0
                for i, c in enumerate(d.cells):
                    v = d.rep(i)
                    if c.kind == "absent":
                        if not spec.has_default:
                            continue
                        v = spec.default
                    if compare(leaf.op, v, operand_value(leaf)):
                        t |= 1 << i
                    else:
                        f |= 1 << i
                self.masks[(r.index, leaf.index)] = (t, f)
        self.steps = 0

    def full(self) -> dict[str, int]:
        return {d.name: d.full for d in self.space.dims}

    def satisfy(self, rule: Rule, cond, want: bool, state: dict[str, int]):
        """Every way (lazily) to make `cond` of `rule` evaluate to `want`."""
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            return
        if isinstance(cond, Comparison):
            if cond.kind != "fact":
                yield from self._conclusion(cond, want, state)
                return
            t, f = self.masks[(rule.index, cond.index)]
            m = state[cond.subject] & (t if want else f)
            if m:
                yield {**state, cond.subject: m}
            return
        if isinstance(cond, Not):
            yield from self.satisfy(rule, cond.item, not want, state)
            return
        every = isinstance(cond, All) == want  # all-true, or any-false: every child
        if every:
            yield from self._chain(rule, list(cond.items), want, state)
        else:
            for child in cond.items:
                yield from self.satisfy(rule, child, want, state)

    def _conclusion(self, leaf: Comparison, want: bool, state: dict[str, int]):
        """Ways to give a leaf on another rule's conclusion (rule, flag, outcome) a value,
        through the conditions of the rules that conclude it (strata are acyclic)."""
        from ..runtime.semantics import compare, operand_value

        policy = self.policy
        if leaf.kind == "rule":
            target = policy.rule(leaf.subject)
            yield from self.satisfy(target, target.when, want, state)
        elif leaf.kind == "flag":
            setters = [r for r in policy.rules if leaf.subject in r.then.flags]
            if want:
                for r in setters:
                    yield from self.satisfy(r, r.when, True, state)
            else:
                yield from self._rules(setters, False, state)
        elif leaf.kind == "outcome":
            ids = policy.outcome_ids
            for i, o in enumerate(ids):
                if compare(leaf.op, o, operand_value(leaf)) != want:
                    continue
                earlier = [r for r in policy.rules if r.decides_outcome and r.then.outcome in ids[:i]]
                for r in policy.rules:
                    if r.then.outcome == o:
                        for s in self.satisfy(r, r.when, True, state):
                            yield from self._rules(earlier, False, s)
                if o == policy.default:
                    yield from self._rules([r for r in policy.rules if r.decides_outcome], False, state)

    def _rules(self, rules: list[Rule], want: bool, state: dict[str, int]):
        if not rules:
            yield state
            return
        for s in self.satisfy(rules[0], rules[0].when, want, state):
            yield from self._rules(rules[1:], want, s)

    def _chain(self, rule, items, want, state):
        if not items:
            yield state
            return
        for s in self.satisfy(rule, items[0], want, state):
            yield from self._chain(rule, items[1:], want, s)

    def sensitize(self, rule: Rule, target: Comparison, state: dict[str, int]):
        """Ways to make every other part of the rule let `target` decide it."""
        path = _path_to(rule.when, target)
        goals = []
        for node, child in path:
            if isinstance(node, (All, Any)):
                for sib in node.items:
                    if sib is not child:
                        goals.append((sib, isinstance(node, All)))
        yield from self._goals(rule, goals, state)

    def _goals(self, rule, goals, state):
        if not goals:
            yield state
            return
        cond, want = goals[0]
        for s in self.satisfy(rule, cond, want, state):
            yield from self._goals(rule, goals[1:], s)

    def prefer_false(self, rules: Iterable[Rule], state: dict[str, int]) -> dict[str, int]:
        """Make each rule false where the current masks allow it (greedy)."""
        for r in rules:
            self.steps = 0
            for s in self.satisfy(r, r.when, False, state):
                state = s
                break
        return state

    def values(self, state: dict[str, int], prefer: dict | None = None) -> dict:
        """A record inside the masks, keeping `prefer`'s values where they fit."""
        prefer = prefer or {}
        out = {}
        for d in self.space.dims:
            mask = state[d.name]
            want = prefer.get(d.name)
            if d.name in prefer and want is not None:
                try:
                    if mask >> self.space.cell_of(d.name, want) & 1:
                        out[d.name] = want
                        continue
                except ValueError:
                    pass
            best = None
            for i, c in enumerate(d.cells):
                if not mask >> i & 1 or c.kind == "absent":
                    continue
                v = d.rep(i)
                if c.kind == "int" and isinstance(want, (int, float)) and not isinstance(want, bool):
                    v = want if c.lo is None or want >= c.lo else c.lo
                    v = int(v if c.hi is None or v <= c.hi else c.hi)
                score = abs(v - want) if isinstance(want, (int, float)) and isinstance(v, (int, float)) \
                    and not isinstance(v, bool) and not isinstance(want, bool) else 0
                if best is None or score < best[0]:
                    best = (score, v)
            if best is not None:
                out[d.name] = best[1]
        return out


def _path_to(cond, target, trail=()):
    """[(ancestor, child on the way)] from the rule's root down to `target`."""
    if cond is target:
        return list(trail)
    if isinstance(cond, (All, Any)):
        for c in cond.items:
            found = _path_to(c, target, trail + ((cond, c),))
            if found is not None:
                return found
    elif isinstance(cond, Not):
        return _path_to(cond.item, target, trail + ((cond, cond.item),))
    return None


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", v) and v.lower() not in ("true", "false", "null", "yes", "no",
                                                                          "on", "off", "y", "n"):
        return v
    return json.dumps(v, ensure_ascii=False)


def _flow(record: dict) -> str:
    return "{" + ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in record.items()) + "}"


def generate_boundary_suite(policy: Policy, policy_ref: str, schema_ref: str = "../schemas/test.schema.json",
                            epsilon: dict | None = None) -> str:
    """A starter test file: one case per reachable boundary point (just below, at, just
    above every numeric threshold), each expecting what the policy decides today, for an
    author to review against the business rules."""
    from ..compile import compile_policy
    from ..evaluate import evaluate
    from ..explain.render import format_value

    found = boundaries(policy, epsilon)
    if not any(p.reachable for b in found for p in b.points):
        raise ValueError(f"`{policy.id}` compares no numeric fact with a threshold: there are no boundaries")
    ruleset = compile_policy(policy)
    solver = _Solver(policy)
    adverse = [r for r in policy.rules if r.decides_outcome and policy.outcome(r.then.outcome).adverse]
    others = [r for r in policy.rules if not r.decides_outcome]
    state = solver.prefer_false(adverse + others, solver.full())
    base = solver.values(state)
    prec = {o: i for i, o in enumerate(policy.outcome_ids)}

    lines = [f"# yaml-language-server: $schema={schema_ref}",
             f"# Boundary cases for `{policy.id}` v{policy.version}, generated by",
             "# `verdict test --generate-boundaries`: one case per threshold boundary (just below, at and",
             "# just above), each expecting the decision the policy gives TODAY. Review every expectation",
             "# against the business rules before relying on it: a wrong threshold would be enshrined here.",
             f"policy: {_yaml_scalar(policy_ref)}"]
    if epsilon:
        lines.append("epsilon: " + _flow(epsilon))
    lines += ["", "profiles:", "  base:"]
    lines += [f"    {k}: {_yaml_scalar(v)}" for k, v in base.items()]
    lines += ["", "cases:"]
    names: set[str] = set()
    for b in found:
        for p in b.points:
            if not p.reachable:
                continue
            record, rule, note = _boundary_record(policy, solver, b, p, base, prec)
            decision = evaluate(ruleset, record, trace=True)
            if rule is not None and not decisive(rule, decision.trace[rule.index],
                                                 next(li for ri, li in b.uses if ri == rule.index)):
                note = "the comparison does not decide its rule with these facts; adjust them"
            diff = {k: v for k, v in record.items() if base.get(k, _UNSET) != v}
            diff.update({k: None for k in base if k not in record})
            diff = {b.fact: record[b.fact], **{k: v for k, v in diff.items() if k != b.fact}}
            side = {"below": "just below", "at": "at", "above": "just above"}[p.side]
            name = f"{b.fact} {format_value(p.value)}: {side} {b.label}"
            while name in names:
                name += " (again)"
            names.add(name)
            expect = {"outcome": decision.outcome}
            if rule is not None:
                m = decision.matched[rule.index]
                if m is not None:
                    expect["matched" if m else "not_matched"] = [rule.id]
            lines.append(f"  - name: {json.dumps(name, ensure_ascii=False)}")
            if note:
                lines.append(f"    # NOTE: {note}")
            lines.append("    base: base")
            lines.append(f"    facts: {_flow(diff)}")
            exp = ", ".join(f"{k}: {_yaml_scalar(v) if not isinstance(v, list) else '[' + ', '.join(v) + ']'}"
                            for k, v in expect.items())
            lines.append(f"    expect: {{{exp}}}")
    return "\n".join(lines) + "\n"


def _boundary_record(policy: Policy, solver: _Solver, b: Boundary, p: Point, base: dict, prec: dict):
    """(record, the rule whose comparison at this boundary decides it, note)."""
    for ri, li in b.uses:
        rule = policy.rules[ri]
        leaf = rule.leaves[li]
        start = solver.full()
        start[b.fact] = 1 << solver.space.cell_of(b.fact, p.value)
        solver.steps = 0
        for state in solver.sensitize(rule, leaf, start):
            # Let the rule's effect show: rules of outcomes that take precedence over its
            # own, and other rules of the same outcome, are made false where possible.
            if rule.decides_outcome:
                mine = prec[rule.then.outcome]
                rivals = [r for r in policy.rules if r.decides_outcome and r is not rule
                          and prec[r.then.outcome] <= mine]
                state = solver.prefer_false(rivals, state)
            record = solver.values(state, base)
            record[b.fact] = p.value
            return record, rule, None
    record = dict(base)
    record[b.fact] = p.value
    return record, None, "no comparison at this boundary could be made to decide its rule"
