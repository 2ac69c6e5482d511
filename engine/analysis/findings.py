"""Static analysis of a policy: exact findings over its declared fact space, each with a witness.

The fact space, its regions and the three-valued regions of conditions are
`engine.space`; the findings here are box algebra over them. Each existential finding
carries a witness fact set that is checked by evaluating it (the reference semantics every
backend agrees with).

Where the work would exceed its `Budget` (boxes per region, box operations per policy) the
analysis stops and says so (`analysis-incomplete`) instead of guessing.

Dates: the analysis holds for one evaluation date `as_of` (default: today in the policy's
timezone). Relative dates (`{days_ago: N}`) are resolved on it, so a finding about
conditions on relative dates only holds on every evaluation date; absolute dates are
compared as written. Witnesses are checked on that same date.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import NamedTuple

from ..language.conditions import fold, leaves, walk
from ..language.diagnostics import ERROR, INFO, WARNING, Diagnostic
from ..language.model import (
    OP_SYMBOL,
    PRESENCE_OP,
    Length,
    SUBJECT_FLAG,
    SUBJECT_RULE,
    Comparison,
    Policy,
    RelativeDate,
    Rule,
)
from ..runtime.semantics import Plan, operand_value, reference_matches
from ..space import Budget, Incomplete, Regions, Space, box_size, describe_box, intersect, is_subset, merge, \
    subtract, union
from ..space.describe import show
from ..space.opaque import Search, is_relation
from .finding import (ACKNOWLEDGEMENT_UNUSED, ANALYSIS_INCOMPLETE, ANALYSIS_UNVERIFIED,  # noqa: F401 - re-exported
                      CODES, CONDITION_ALWAYS_FALSE, CONDITION_ALWAYS_TRUE, GAP, MAX_GAP_REGIONS, RULE_SHADOWED,
                      RULE_SUBSUMED, RULE_UNSATISFIABLE, TABLE_CONFLICT, TABLE_OVERLAP, TABLE_ROW_UNREACHABLE,
                      THRESHOLD_INVERTED, Finding)
from .tablefindings import check_tables


def _operand_text(o) -> str:
    if isinstance(o, Length):
        return f"{OP_SYMBOL[o.op]} {_operand_text(o.operand)}"
    if o.fact is not None:
        return o.fact
    if isinstance(o.value, RelativeDate):
        return o.value.describe()
    if o.threshold:
        return o.threshold
    if isinstance(o.value, tuple):
        return "[" + ", ".join(show(v) for v in o.value) + "]"
    return show(o.value)


def _leaf_text(leaf: Comparison) -> str:
    if leaf.kind == SUBJECT_FLAG:
        return f"flag {leaf.subject}"
    if leaf.kind == SUBJECT_RULE:
        return f"rule {leaf.subject}"
    if leaf.op == PRESENCE_OP:
        return f"{leaf.subject} {'is missing' if leaf.operand.value else 'is present'}"
    if leaf.op == "between":
        lo, hi = leaf.operand
        return f"{leaf.subject} between {_operand_text(lo)} and {_operand_text(hi)}"
    return f"{leaf.subject} {OP_SYMBOL[leaf.op]} {_operand_text(leaf.operand)}"


def _node_text(node) -> str:
    return fold(node, _leaf_text, lambda _, parts: f"all of [{'; '.join(parts)}]",
                lambda _, parts: f"any of [{'; '.join(parts)}]", lambda _, part: f"not ({part})")


def _first_leaf(node) -> Comparison | None:
    return next((leaf for leaf, _ in leaves(node)), None)


def _conjuncts(cond) -> list:
    """The top-level conjuncts: `all`s nested directly in `all`s are flattened."""
    return fold(cond, lambda c: [c], lambda _, parts: [x for p in parts for x in p], lambda n, _: [n],
                lambda n, _: [n])


def _bounds(leaf: Comparison) -> tuple:
    """(lower, upper) bounds a top-level numeric leaf puts on its fact; each (value, strict) or None."""
    v = operand_value(leaf)
    if leaf.op == "gte":
        return (v, False), None
    if leaf.op == "gt":
        return (v, True), None
    if leaf.op == "lte":
        return None, (v, False)
    if leaf.op == "lt":
        return None, (v, True)
    if leaf.op == "eq":
        return (v, False), (v, False)
    if leaf.op == "between":
        return (v[0], False), (v[1], False)
    return None, None


class Analysis:
    """The exact analysis of one policy within `budget`; `run()` runs each check in turn."""

    def __init__(self, policy: Policy, budget: Budget | None = None, *, as_of: datetime.date | None = None):
        self.policy = policy
        self.plan = Plan(policy)
        self.budget = budget if budget is not None else Budget()
        # Derived facts and fact-to-fact comparisons get axes of their own (`space.opaque`):
        # an empty region is then a proof, a non-empty one needs a witness found by search.
        self.space = Space([policy], as_of, opaque=True)
        self.as_of = self.space.as_of
        self.regions = Regions(policy, self.space, self.budget)
        self.search = Search(self.space, policy, self.budget)
        self.undecided: set[int] = set()  # rules an existence question was left open for
        self.proven_empty = False  # set by `witness`: its region holds no user (searched exhaustively)
        self.precedence = {o.id: i for i, o in enumerate(policy.outcomes)}
        self.out: list[Finding] = []
        self.unsat: set[int] = set()
        self.shadowed: set[int] = set()
        self._chosen: dict | None = None
        self.used_acknowledgements: set[int] = set()

    # -- witnesses: a point of a box, or (on opaque axes) a fact set found by search
    def witness(self, region: list) -> dict | None:
        """A valid fact set inside `region` (None for an empty one, and for one whose only
        points lie on opaque axes no fact set was found for; `proven_empty` then says
        whether the search tried every fact set there)."""
        self.proven_empty = not region
        if not region:
            return None
        if not self.space.pseudo:
            return self.space.point(region[0])
        found = self.search.find(region)
        self.proven_empty = found is None and self.search.exhausted
        return found

    def nonempty(self, region: list, rule: Rule, what: str) -> bool:
        """Whether some fact set lies in `region`; when only a search could say and it
        found none, the question stays open: an `analysis-incomplete` note for `rule`, and
        True (so no finding that claims emptiness is made)."""
        if not region:
            return False
        if rule.index in self.undecided:
            return True  # already open for this rule: no second search
        if self.witness(region) is None:
            if self.proven_empty:  # every fact set of the region was tried: none is a user
                return False
            if rule.index not in self.undecided:
                self.undecided.add(rule.index)
                what = what() if callable(what) else what
                self.out.append(Finding(ANALYSIS_INCOMPLETE, INFO, f"whether {what} of rule `{rule.id}` holds for "
                                        "some user is not decided: its conditions on derived facts or fact-to-fact "
                                        "comparisons are not regions of the facts, and no witness was found",
                                        rule.id, rule.loc))
            return True
        return True

    # -- verification: every witness is evaluated, and must show what the finding says
    def decide(self, witness: dict) -> "Verdict":
        return verdict_of(self.policy, witness, self.plan, as_of=self.as_of)

    def emit(self, finding: Finding, verified: bool = True, boxes: list | None = None) -> None:
        """Record a finding: withheld when its witness does not verify; marked acknowledged
        (with the authors' reason) when the policy acknowledges it; `boxes` is a gap's region."""
        if not verified:
            finding = Finding(ANALYSIS_UNVERIFIED, INFO, f"the witness for `{finding.code}` did not verify; "
                              "the finding is withheld", finding.rule, finding.loc, finding.witness)
        else:
            reason = self.acknowledgement(finding, boxes)
            if reason is not None:
                finding = replace(finding, suppressed=reason)
        self.out.append(finding)

    def acknowledgement(self, finding: Finding, boxes: list | None) -> str | None:
        """The reason the policy gives for `finding`, if it acknowledges it."""
        rule = self.policy.rule(finding.rule) if finding.rule else None
        if rule is not None and finding.code in rule.lint_ignore:
            return rule.lint_reason or f"ignored on rule `{rule.id}`"
        for i, ack in enumerate(self.policy.acknowledged):
            if ack.code != finding.code or (ack.rule is not None and ack.rule != finding.rule):
                continue
            if ack.where is not None:
                if boxes is None or not is_subset(boxes, self.regions.condition(ack.where)[0], self.budget):
                    continue
            self.used_acknowledgements.add(i)
            return ack.reason
        return None

    def check_acknowledgements(self) -> None:
        """An acknowledgement that matches no finding is stale (the policy changed under it)."""
        for i, ack in enumerate(self.policy.acknowledged):
            if i not in self.used_acknowledgements:
                where = f" (about rule `{ack.rule}`)" if ack.rule else " inside its `where`" if ack.where else ""
                self.out.append(Finding(ACKNOWLEDGEMENT_UNUSED, WARNING, f"no `{ack.code}` finding{where} is left to "
                                        "acknowledge", ack.rule, ack.loc, hint="remove the acknowledgement"))

    def run(self) -> list[Finding]:
        checks = (self.check_constant_conditions, self.check_shadowed, self.check_subsumed, self.check_inverted,
                  self.check_gaps, self.check_tables)
        complete = True
        for check in checks:
            try:
                check()
            except Incomplete as exc:
                complete = False
                self.out.append(Finding(ANALYSIS_INCOMPLETE, INFO, f"analysis stopped in `{check.__name__[6:]}`: "
                                        f"{exc}; its findings may be missing", None,
                                        self.policy.extras.get("id_loc")))
        if complete:  # an incomplete analysis may have missed the finding an acknowledgement is for
            self.check_acknowledgements()
        return self.out

    def check_constant_conditions(self) -> None:
        for rule in self.policy.rules:
            nodes = self.regions.nodes[rule.index]
            skip_under: list = []
            for k, (node, t, f) in enumerate(nodes):
                if k == 0:
                    if not t and _first_row(self.policy, rule) and self.own(rule):
                        self.unsat.add(rule.index)  # dead only because of earlier rows: `check_tables` says so
                        break
                    if not self.nonempty(t, rule, "the condition"):
                        self.unsat.add(rule.index)
                        leaf = next((n for n, nt, _ in nodes[1:] if not nt and isinstance(n, Comparison)), None)
                        why = f": `{_node_text(leaf)}` never holds" if leaf else ""
                        self.emit(Finding(RULE_UNSATISFIABLE, WARNING,
                                          f"rule `{rule.id}` can never match within the declared ranges{why}",
                                          rule.id, rule.loc, hint="fix the conflicting conditions or remove the rule"))
                        break
                    if not self.nonempty(f, rule, "the negation of the condition"):
                        if _catch_all(self.policy, rule):
                            break  # an all-`-` last row under `hit: first`/`priority`: the table's own default
                        self.emit(Finding(CONDITION_ALWAYS_TRUE, WARNING, f"the condition of rule `{rule.id}` "
                                          "holds for every valid fact set", rule.id, rule.loc,
                                          hint="check the threshold against the fact's declared range"))
                        break
                    continue
                if any(_inside(node, s) for s in skip_under):
                    continue
                if any(leaf.via is not None for leaf, _ in leaves(node)):
                    skip_under.append(node)  # an earlier row's cells, restated: found at that row
                    continue
                if not self.nonempty(t, rule, lambda: f"`{_node_text(node)}`") or \
                        not self.nonempty(f, rule, lambda: f"the negation of `{_node_text(node)}`"):
                    skip_under.append(node)
                    if t and self._half_of_cell(rule, node, nodes):
                        continue  # one end of an interval cell the declared range makes redundant
                    leaf = _first_leaf(node)
                    loc = leaf.loc if leaf is not None and leaf.loc else rule.loc
                    word = "false" if not t else "true"
                    self.emit(Finding(CONDITION_ALWAYS_FALSE if not t else CONDITION_ALWAYS_TRUE, WARNING,
                                      f"condition `{_node_text(node)}` of rule `{rule.id}` is always {word} "
                                      "within the declared ranges", rule.id, loc,
                                      hint="check the threshold against the fact's declared range"))

    def _half_of_cell(self, rule: Rule, node, nodes: list) -> bool:
        """Whether `node` (always true) is one leaf of a table cell whose other leaves are
        not: the cell as a whole (`[0..5)` on a fact with `minimum: 0`) is what was written."""
        if rule.table is None or not isinstance(node, Comparison) or node.loc is None:
            return False
        where = (node.loc.file, node.loc.line, node.loc.column)
        return any(n is not node and isinstance(n, Comparison) and n.via is None and n.loc is not None
                   and (n.loc.file, n.loc.line, n.loc.column) == where and f for n, _, f in nodes)

    def check_shadowed(self) -> None:
        reg = self.regions
        for rule in self.policy.rules:
            if not rule.decides_outcome or rule.index in self.unsat or rule.index in self.undecided:
                continue
            p = self.precedence[rule.then.outcome]
            higher = [r for r in self.policy.rules if r.decides_outcome and self.precedence[r.then.outcome] < p]
            t = reg.T[rule.index]
            b = self.budget
            if self.nonempty(subtract(t, union([reg.T[h.index] for h in higher], b), b), rule,
                             "deciding the outcome"):
                continue
            self.shadowed.add(rule.index)
            # Name the rule that covers it alone, if one does; else every higher rule it meets.
            by = [h.id for h in higher if is_subset(t, reg.T[h.index], b)] or \
                [h.id for h in higher if intersect(t, reg.T[h.index], b)]
            witness = self.witness(t)
            d = self.decide(witness) if witness is not None else None
            ok = d is not None and d.matched[rule.index] is True and d.outcome != rule.then.outcome and \
                self.precedence.get(d.outcome, 99) < p
            names = ", ".join(f"`{b}`" for b in by[:3]) + (f" and {len(by) - 3} more" if len(by) > 3 else "")
            self.emit(Finding(RULE_SHADOWED, WARNING,
                              f"rule `{rule.id}` can never decide the outcome: whenever it matches, {names} "
                              f"with a higher-precedence outcome matches too", rule.id, rule.loc, witness,
                              hint="narrow the higher rule or remove this one"), ok)

    def check_subsumed(self) -> None:
        reg = self.regions
        # A rule whose matching no search could show (`undecided`) has no witness to give.
        rules = [r for r in self.policy.rules if r.decides_outcome and r.index not in self.unsat
                 and r.index not in self.shadowed and r.index not in self.undecided]
        for r in rules:
            for s in rules:
                if s is r or s.then.outcome != r.then.outcome:
                    continue
                if self.nonempty(subtract(reg.T[r.index], reg.T[s.index], self.budget), r,
                                 f"matching without `{s.id}`"):
                    continue
                if is_subset(reg.T[s.index], reg.T[r.index], self.budget) and s.index > r.index:
                    continue  # equal regions: report the later rule only
                witness = self.witness(reg.T[r.index])
                d = self.decide(witness) if witness is not None else None
                ok = d is not None and d.matched[r.index] is True and d.matched[s.index] is True
                self.emit(Finding(RULE_SUBSUMED, WARNING,
                                  f"rule `{r.id}` is subsumed by `{s.id}`: every fact set it matches also matches "
                                  f"`{s.id}`, with the same outcome `{r.then.outcome}`", r.id, r.loc, witness,
                                  hint=f"remove `{r.id}`, or silence with `lint: {{ignore: [{RULE_SUBSUMED}]}}` if "
                                  "it is kept for its reason code"), ok)
                break

    def check_inverted(self) -> None:
        """Tier thresholds against the evident intent: outcomes are listed best first, so a
        better (earlier, non-adverse) outcome should not be reachable with less of a fact than
        every rule of a worse outcome demands (a lower minimum, or a higher maximum).

        Compared per outcome, on its *entry* threshold: the least demanding bound among its
        rules, and only for facts every rule of both outcomes bounds."""
        adverse = {o.id for o in self.policy.outcomes if o.adverse}
        # A rule that never matches or never decides has moot thresholds: its own finding says more.
        by_outcome: dict[str, list[Rule]] = {}
        for r in self.policy.rules:
            if r.decides_outcome and r.then.outcome not in adverse and r.index not in self.unsat \
                    and r.index not in self.shadowed:
                by_outcome.setdefault(r.then.outcome, []).append(r)
        bounds: dict[int, dict[str, tuple]] = {}
        for rules in by_outcome.values():
            for r in rules:
                per: dict[str, tuple] = {}
                for c in _conjuncts(r.when):
                    if isinstance(c, Comparison) and c.kind == "fact" and self.policy.facts[c.subject].numeric \
                            and not is_relation(c):  # a bound by another fact is no tier threshold
                        lo, hi = _bounds(c)
                        if lo is None and hi is None:
                            continue
                        prev = per.get(c.subject)
                        if prev is not None:  # two bounds on one fact: the tighter one of each side
                            lo = max(x for x in (lo, prev[0]) if x) if lo or prev[0] else None
                            hi = min((x for x in (hi, prev[1]) if x), key=lambda b: (b[0], not b[1])) \
                                if hi or prev[1] else None
                            c = prev[2]
                        per[c.subject] = (lo, hi, c)
                bounds[r.index] = per

        def entry(outcome: str, fact: str, side: int):
            """The least demanding bound on `fact` among the outcome's rules, or None if some
            rule leaves that side of the fact free."""
            found = []
            for r in by_outcome[outcome]:
                b = bounds[r.index].get(fact)
                if b is None or b[side] is None:
                    return None
                found.append(b[side])
            if side == 0:
                return min(found)  # (value, strict): a lower minimum demands less
            return max(found, key=lambda b: (b[0], not b[1]))  # a higher maximum demands less

        order = [o for o in self.policy.outcome_ids if o in by_outcome]
        facts = sorted({f for per in bounds.values() for f in per})
        for i, better in enumerate(order):
            for worse in order[i + 1:]:
                for fact in facts:
                    for side, which in ((0, "minimum"), (1, "maximum")):
                        b, w = entry(better, fact, side), entry(worse, fact, side)
                        if b is None or w is None:
                            continue
                        if (side == 0 and not b < w) or (side == 1 and not (b[0], not b[1]) > (w[0], not w[1])):
                            continue
                        self._inverted(better, worse, fact, which, w, by_outcome, bounds)

    def _inverted(self, better: str, worse: str, fact: str, which: str, bound: tuple, by_outcome, bounds) -> None:
        """Report one inversion, with a witness: a fact set a rule of the better outcome
        accepts, outside the bound every rule of the worse outcome demands."""
        reg = self.regions
        value, strict = bound
        d = self.space.dims[self.space.index[fact]]
        mask = 0
        for i, c in enumerate(d.cells):
            if c.kind == "absent":
                continue
            v = d.rep(i)
            inside = (v > value if strict else v >= value) if which == "minimum" else \
                (v < value if strict else v <= value)
            if not inside:
                mask |= 1 << i
        # Where the better outcome is what evaluation actually decides (not overruled by a deny).
        if self._chosen is None:
            self._chosen = reg.chosen()
        outside = intersect(self.space.region(fact, mask), self._chosen[better], self.budget)
        for rule in by_outcome[better]:
            region = intersect(reg.T[rule.index], outside, self.budget)
            if not region:
                continue
            witness = self.witness(region)
            dec = self.decide(witness) if witness is not None else None
            ok = dec is not None and dec.matched[rule.index] is True and dec.outcome == better
            op = ("≥" if not strict else ">") if which == "minimum" else ("≤" if not strict else "<")
            leaf = bounds[rule.index][fact][2]
            self.emit(Finding(THRESHOLD_INVERTED, WARNING,
                              f"rule `{rule.id}` gives the better outcome `{better}` to users whose `{fact}` misses "
                              f"the {op} {show(value)} every rule for the worse outcome `{worse}` demands",
                              rule.id, leaf.loc or rule.loc, witness,
                              hint="check the order of the tier thresholds"), ok)
            return

    def check_gaps(self) -> None:
        reg = self.regions
        outcome_rules = [r.index for r in self.policy.rules if r.decides_outcome]
        b = self.budget
        gap = subtract(self.space.universe, union([reg.T[i] for i in outcome_rules], b), b)
        if not gap:
            return
        boxes = merge(gap, b)
        default = self.policy.default
        loc = self.policy.extras.get("id_loc")
        for box, text, witness, d in self.gap_boxes(boxes, loc):
            ok = not d.decided_by and d.outcome == default
            if default is not None:
                msg = f"no rule decides where {text}; these users get the default `{default}`"
                sev = INFO
            else:
                msg = f"no rule decides where {text}, and there is no default outcome"
                sev = WARNING
            f = Finding(GAP, sev, msg, None, loc, witness, region=text)
            self.emit(f, ok, [box])
        if len(boxes) > MAX_GAP_REGIONS:
            rest = len(boxes) - MAX_GAP_REGIONS
            self.emit(Finding(GAP, INFO, f"no rule decides in {'up to ' if self.space.pseudo else ''}{rest} more "
                              f"region{'s' if rest != 1 else ''}, "
                              "not listed", None, loc), True, boxes[MAX_GAP_REGIONS:])


    def gap_boxes(self, boxes: list, loc):
        """The gap boxes to list (`boxes` sorted in place, largest first; at most
        `MAX_GAP_REGIONS`), each as (box, its description, a witness, the witness's
        decision); a box with no user found in it is reported open (`_open_region`) or,
        proven empty, skipped. The caller reports `boxes[MAX_GAP_REGIONS:]` as one finding."""
        boxes.sort(key=lambda x: (-box_size(self.space, x), describe_box(self.space, x)))
        for box in boxes[:MAX_GAP_REGIONS]:
            witness = self.witness(intersect([box], self.space.universe, self.budget))
            text = describe_box(self.space, box)
            if witness is None:
                if not self.proven_empty:
                    self._open_region(text, loc)
                continue
            yield box, text, witness, self.decide(witness)

    def _open_region(self, text: str, loc) -> None:
        """A gap region only opaque axes make non-empty, with no user found in it: not a
        finding, and not a proof there is none."""
        self.out.append(Finding(ANALYSIS_INCOMPLETE, INFO, f"whether some user lies where {text} is not decided: "
                                "conditions on derived facts or fact-to-fact comparisons are not regions of the "
                                "facts, and no witness was found", None, loc))

    # -- decision tables ---------------------------------------------------------------------
    def own(self, rule: Rule) -> list:
        """Where a row's own cells hold: its top-level conjuncts but the restated cells of
        earlier rows (`Comparison.via`, under `hit: first`)."""
        tf = {id(n): t for n, t, _ in self.regions.nodes[rule.index]}
        region = self.space.universe
        for c in _conjuncts(rule.when):
            if not any(leaf.via is not None for leaf, _ in leaves(c)):
                region = intersect(region, tf[id(c)], self.budget)
        return region

    def check_tables(self) -> None:
        """The decision-table findings (`tablefindings`)."""
        check_tables(self)


def _catch_all(policy: Policy, rule: Rule) -> bool:
    """Whether the rule is a row of a `hit: first`/`priority` table with no cell but `-`."""
    return rule.table is not None and policy.table(rule.table.table).hit in ("first", "priority") and \
        not any(leaf.via is None for leaf, _ in leaves(rule.when))


def _first_row(policy: Policy, rule: Rule) -> bool:
    """Whether the rule is a row of a `hit: first` table."""
    return rule.table is not None and policy.table(rule.table.table).hit == "first"


class Verdict(NamedTuple):
    outcome: str | None
    decided_by: tuple
    matched: tuple


def verdict_of(policy: Policy, record: dict, plan: Plan | None = None, *,
               as_of: datetime.date | None = None) -> Verdict:
    """Evaluate a witness with the reference semantics (`semantics.reference_matches`, the
    meaning every backend must agree with), after the same fact validation as `evaluate`:
    a witness that is not a valid fact set raises `FactsError`."""
    from ..runtime.facts import normalize

    plan = plan or Plan(policy)
    facts, _ = normalize(policy, record)
    matched = reference_matches(policy, facts, plan, as_of=as_of) if policy.uses_time else \
        reference_matches(policy, facts, plan)
    outcome, decided_by, _ = plan.select_outcome(matched)
    return Verdict(outcome, decided_by, matched)


def _inside(node, ancestor) -> bool:
    """Whether `node` is `ancestor` or lies under it (by identity)."""
    return any(n is node for n, _, _ in walk(ancestor))


def analyse(policy: Policy, budget: Budget | None = None, *, as_of: datetime.date | None = None) -> list[Diagnostic]:
    """Every analysis finding of a valid policy, as diagnostics (warnings and information).

    For `verdict validate`: a failure of the analysis itself must not hide the validator's
    own findings, so it becomes one located note (the tests call `find`, which raises)."""
    try:
        return [f.to_diagnostic() for f in find(policy, budget, as_of=as_of)]
    except RecursionError:
        f = Finding(ANALYSIS_INCOMPLETE, INFO, "analysis skipped: conditions nest too deeply", None,
                    policy.extras.get("id_loc"))
    except Exception as exc:  # noqa: BLE001 - reported, never swallowed
        f = Finding(ANALYSIS_INCOMPLETE, INFO, f"analysis failed: {type(exc).__name__}: {exc}", None,
                    policy.extras.get("id_loc"), hint="please report this as a bug in verdict")
    return [f.to_diagnostic()]


def find(policy: Policy, budget: Budget | None = None, *, as_of: datetime.date | None = None) -> list[Finding]:
    """Every analysis finding of a valid policy, within `budget` (by default a fresh
    `Budget()`: 5,000 boxes per region, 50 million box operations for the policy)."""
    try:
        analysis = Analysis(policy, budget, as_of=as_of)
    except Incomplete as exc:
        return [Finding(ANALYSIS_INCOMPLETE, INFO, f"analysis skipped: {exc}", None, policy.extras.get("id_loc"))]
    return analysis.run()
