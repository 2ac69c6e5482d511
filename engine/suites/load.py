"""Loading test suites: find the test files, then build suites from their bytes.

Two halves. Discovery (`discover_tests`, `default_policy_path`) works on paths: it lists
folders and asks whether a file exists, and never opens one. Building (`load_suite`,
`load_suites`) is handed what it needs by the caller: the bytes of each test file (or a
reader callable) and a callable that loads the policy at a path, so that only the CLI and
the I/O edge read files; which path that is follows discovery's rules. A suite is checked
against its JSON Schema (`schemas/test.schema.json`) and against the policy it tests, with
located diagnostics.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Sequence

from ..language.diagnostics import ERROR, Diagnostic, did_you_mean, has_errors, pointer_join, sorted_diagnostics
from ..language.loader import POLICY_SUFFIXES
from ..language.values import literal, parse_date, value_fits
from ..language.model import ARRAY, Loc, Policy
from ..runtime.semantics import off_calendar

from .model import Case, Expect, SetExpect, Suite

TEST_SCHEMA = "test.schema.json"
TEST_SUFFIXES = (".test.yaml", ".test.yml")

# What the caller hands in: `read(path)` gives a file's bytes or one located `unreadable`
# diagnostic (engine.io.policies.read_file); `check(path)` gives the validated policy
# at a path, or None and its diagnostics (engine.io.policies.check_policy_file).
Reader = Callable[[str], tuple[bytes | None, list[Diagnostic]]]
PolicyChecker = Callable[[str], tuple[Policy | None, list[Diagnostic]]]


# == discovery: paths only ====================================================================

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
    """A PolicyChecker that loads each policy once per run, by resolved path (several
    suites may test one policy, and coverage merges them by the Policy they share)."""

    def __init__(self, check: PolicyChecker):
        self._check = check
        self._by_path: dict[Path, tuple[Policy | None, list[Diagnostic]]] = {}

    def __call__(self, path: str) -> tuple[Policy | None, list[Diagnostic]]:
        key = Path(path).resolve()
        if key not in self._by_path:
            self._by_path[key] = self._check(path)
        return self._by_path[key]


# == building suites ==========================================================================

def load_suite(path: str, raw: bytes, policies: PolicyChecker, as_of=None) -> tuple[Suite | None, list[Diagnostic]]:
    """Parse, schema-check and resolve the test file `path` (its bytes `raw`) against its
    policy, loaded through `policies`. Never raises for bad content: a suite with any error
    is returned as None with every diagnostic. `as_of` (a `datetime.date`) is the
    evaluation date of the cases that give none, theirs or their suite's (`--as-of`)."""
    from ..language.schema.validate import check_schema
    from ..language.source import load_bytes

    doc, diags = load_bytes(raw, path, empty_hint="a test file needs at least `cases` (and `policy`, unless it "
                                                   "sits beside its policy as NAME.test.yaml)")
    if doc is None:
        return None, diags
    diags = check_schema(doc.data, doc.source_map, TEST_SCHEMA)
    if diags:
        return None, diags
    return _SuiteBuilder(path, doc, policies, as_of).build()


class _SuiteBuilder:
    """Resolves a schema-valid test document against its policy, collecting diagnostics."""

    def __init__(self, path: str, doc, policies: PolicyChecker, as_of=None):
        self.path = path
        self.data = doc.data
        self.smap = doc.source_map
        self.policies = policies
        self.run_as_of = as_of
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
        self.suite_as_of = self.as_of(self.data, "")
        cases = self.cases(profiles)
        self.check_dated(cases)
        if has_errors(self.diags):
            return None, sorted_diagnostics(self.diags)
        return Suite(self.path, policy, tuple(cases), epsilon, self.data.get("description", ""),
                     self.suite_as_of), self.diags

    # -- the evaluation date -------------------------------------------------------------
    def as_of(self, raw: dict, ptr: str):
        """The `as_of` of the suite (ptr "") or of a case, a `datetime.date`; None if absent
        or not a calendar day (reported)."""
        text = raw.get("as_of")
        if text is None:
            return None
        day = parse_date(text)  # the schema checked its shape; this, that it is a day
        if day is None:
            self.report("test-bad-as-of", f"`as_of` `{text}` is not a calendar day", pointer_join(ptr, "as_of"),
                        hint="write a real day as YYYY-MM-DD, such as 2026-11-11")
            return None
        beyond = off_calendar(self.policy, day)
        if beyond is not None:  # no decision can be made on this day
            self.report("test-bad-as-of", f"on `as_of` {text}, `{beyond.describe()}` is outside the calendar "
                        "(0001-01-01 to 9999-12-31)", pointer_join(ptr, "as_of"),
                        hint="choose an evaluation date the policy's relative dates stay within the calendar from")
            return None
        return day

    def check_dated(self, cases: list[Case]) -> None:
        """A policy that uses time gets an evaluation date for every case: a suite decided
        on "today" would pass today and fail on another day, so one is required rather
        than taken from the clock. The run's `--as-of` counts (it fixes the date too)."""
        if not self.policy.uses_time or "as_of" in self.data or self.run_as_of is not None:
            return
        undated = [c for c in cases if "as_of" not in self.data["cases"][c.index]]
        if not undated:
            return
        what = "every case" if len(undated) == len(cases) else \
            f"{len(undated)} case{'s' if len(undated) != 1 else ''} (the first: `{undated[0].name}`)"
        self.report("test-missing-as-of", f"`{self.policy.id}` uses time (dates or facts that grow with time), "
                    f"and {what} of this suite lacks an evaluation date", "" if len(undated) == len(cases)
                    else pointer_join("/cases", undated[0].index, "name"),
                    hint="add `as_of: YYYY-MM-DD` (a fixed day) at the top of the suite or to each case, so the "
                         "results never drift with the calendar; `verdict test --as-of` gives one for a run")

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
        policy, pdiags = self.policies(target)
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
            day = self.as_of(raw, ptr) or self.suite_as_of or self.run_as_of
            out.append(Case(name, i, record, expect, self.loc(ptr), base, raw.get("description", ""),
                            day if self.policy.uses_time else None))
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
                elif spec.type == ARRAY:  # a list of items of the output's item type
                    if not isinstance(value, list):
                        self.report("test-bad-output", f"output `{name}` is a list of {spec.items.type}, "
                                    f"found {literal(value)}", optr)
                    else:
                        for j, item in enumerate(value):
                            if not value_fits(spec.items.type, item):  # the message counts from 1, the pointer from 0
                                self.report("test-bad-output", f"output `{name}` item {j + 1} must be {spec.items.type}, "
                                            f"found {literal(item)}", pointer_join(optr, j))
                        value = tuple(value)  # as decided: an array output's value is a tuple
                elif not value_fits(spec.type, value):
                    self.report("test-bad-output", f"output `{name}` is {spec.type}, found {literal(value)}", optr)
                outs.append((name, value))
            kw["outputs"] = tuple(outs)
        if "derived" in raw:
            kw["derived"] = self.expect_derived(raw["derived"], pointer_join(ptr, "derived"))
        return Expect(**kw)

    def expect_derived(self, raw: dict, ptr: str) -> tuple[tuple[str, object], ...]:
        """`derived: {debt_to_income: 0.6}`: each name a derived fact of the policy, each
        value a number (or null: expected missing)."""
        derived = self.policy.derived
        out = []
        for name, value in raw.items():
            dptr = pointer_join(ptr, name)
            if name not in derived:
                self.report("test-unknown-derived", f"no derived fact `{name}` in `{self.policy.id}`", dptr,
                            at_key=True, hint=did_you_mean(name, derived) or (
                                "derived facts: " + ", ".join(derived) if derived else
                                "the policy declares no derived facts"))
            elif value is not None and not value_fits(derived[name].type, value):
                self.report("test-bad-derived", f"derived fact `{name}` is {derived[name].type}, "
                            f"found {literal(value)}", dptr)
            out.append((name, value))
        return tuple(out)

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


def load_suites(paths: Sequence[str], read: Reader, check: PolicyChecker,
                as_of=None) -> tuple[list[Suite], list[Diagnostic]]:
    """Every suite at `paths` (already discovered files), and every diagnostic: each file
    read with `read`, each policy loaded once with `check`; `as_of` as for `load_suite`."""
    policies = PolicyCache(check)
    suites, diags = [], []
    for p in paths:
        raw, ds = read(p)
        if raw is not None:
            suite, ds = load_suite(p, raw, policies, as_of)
            if suite is not None:
                suites.append(suite)
        diags.extend(ds)
    return suites, diags
