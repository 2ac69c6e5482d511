"""The decision-table findings of `findings.Analysis` (`check_tables`): rows that overlap
under `hit: unique`, overlap and give different outputs under `hit: any` (the outputs
evaluated at the witness, with the one evaluator `runtime.expressions`), rows earlier rows
take entirely under `hit: first`, and the region of a table's own inputs no row covers.

Functions of the running `Analysis` (`a`): its space, budget, witnesses and `emit`."""

from __future__ import annotations

from decimal import DecimalException

from ..language.conditions import leaves
from ..language.diagnostics import ERROR, INFO, WARNING
from ..language.model import SUBJECT_DERIVED, Rule
from ..errors import FactsError
from ..runtime.expressions import _computed
from ..runtime.facts import normalize
from ..runtime.semantics import fact_operands
from ..space import describe_box, intersect, merge, subtract, union
from ..space.opaque import DERIVED, RELATION
from .finding import (ANALYSIS_INCOMPLETE, GAP, MAX_GAP_REGIONS, RULE_UNSATISFIABLE, TABLE_CONFLICT, TABLE_OVERLAP,
                       TABLE_ROW_UNREACHABLE, Finding)

MAX_CANDIDATES = 200  # points of an overlap tried for a witness where two rows' outputs differ
_UNSET = object()  # a row that does not set an output


def check_tables(a) -> None:
    """Per table, by its hit policy: rows that overlap (`unique`), overlap and disagree
    (`any`), rows earlier rows take entirely (`first`); and, but for `collect`, the
    region of its inputs no row covers (a `gap`)."""
    for table in a.policy.tables:
        rows = [a.policy.rules[i] for i in table.rules]
        own = [a.own(r) for r in rows]
        if table.hit in ("unique", "any"):
            overlaps(a, table, rows, own)
        elif table.hit == "first":
            unreachable(a, table, rows, own)
        if table.hit != "collect":
            table_gap(a, table, rows, own)


def overlaps(a, table, rows: list, own: list) -> None:
    b = a.budget
    for k, row in enumerate(rows):
        for j in range(k):
            if table.hit == "any" and _effect_key(rows[j]) == _effect_key(row):
                continue  # overlapping rows that set the same outputs are allowed under `any`
            both = intersect(own[j], own[k], b)
            witness = a.witness(both)
            if witness is None:
                if not a.proven_empty:  # only on opaque axes, and no fact set was found
                    a.nonempty(both, row, f"overlapping row {j + 1}")
                continue
            if table.hit == "unique":
                d = a.decide(witness)
                ok = d.matched[rows[j].index] is True and d.matched[row.index] is True
                a.emit(Finding(TABLE_OVERLAP, ERROR, f"rows {j + 1} and {k + 1} of table `{table.id}` (hit: "
                               f"unique) both apply where {describe_box(a.space, both[0])}", row.id,
                               row.loc, witness, hint="make the rows' cells disjoint, or use `hit: first`"), ok)
                break  # one finding per later row: its first overlapping earlier row
            differing = _differing(a, rows[j], row, both, witness)
            if differing is None:  # no point of the overlap shows different outputs
                a.out.append(Finding(ANALYSIS_INCOMPLETE, INFO, f"whether rows {j + 1} and {k + 1} of table "
                                     f"`{table.id}` (hit: any) set different outputs where both apply is not "
                                     "decided: their outputs are written differently but agree at every fact set "
                                     "tried", row.id, row.loc))
                continue
            a.emit(Finding(TABLE_CONFLICT, ERROR, f"rows {j + 1} and {k + 1} of table `{table.id}` (hit: any) both "
                           f"apply where {describe_box(a.space, both[0])}, and set different outputs for the witness",
                           row.id,
                           row.loc, differing, hint="make the rows agree or disjoint, or use `hit: first`"), True)
            break  # one finding per later row: its first conflicting earlier row


def _candidates(a, region: list, first: dict):
    """Fact sets of `region`: `first` (its witness), then, on a space without opaque axes,
    each box's point and the points that move one axis of it to another of its cells."""
    yield first
    if a.space.pseudo:
        return
    n = 1
    for box in region:
        for k, mask in enumerate(box):
            m = mask
            while m:
                bit = m & -m
                m ^= bit
                yield a.space.point(box[:k] + (bit,) + box[k + 1:])
                n += 1
                if n >= MAX_CANDIDATES:
                    return


def _differing(a, r1: Rule, r2: Rule, region: list, first: dict) -> dict | None:
    """A fact set of `region` where both rows apply and their outputs differ (each row's
    values evaluated there), or None when none of the points tried is one."""
    for witness in _candidates(a, region, first):
        try:
            d = a.decide(witness)
            if d.matched[r1.index] is not True or d.matched[r2.index] is not True:
                continue
            if _row_effect(a, r1, witness, d) != _row_effect(a, r2, witness, d):
                return witness
        except (FactsError, DecimalException):
            continue
    return None


def _row_effect(a, row: Rule, witness: dict, d) -> tuple:
    """What `row` decides at `witness` (`d` its verdict): its outcome, reason, message and
    the value of each output, a computed one evaluated on the witness's facts and the
    outputs of the other contributing rules."""
    plan = a.plan.computed
    facts, _ = normalize(a.policy, witness)
    values = a.plan.values(facts)
    contributing = [i for i, m in enumerate(d.matched) if m is True and
                    (not a.policy.rules[i].decides_outcome or i in d.decided_by)]
    outputs = plan.compute(values, contributing)
    sets = dict(row.then.set)
    out = []
    for name, spec in a.policy.outputs.items():
        if name not in sets:
            out.append(_UNSET)
        elif spec.computed:
            out.append(_computed(spec, [plan.value(sets[name], values, outputs)], item=spec.combine == "list"))
        else:
            v = sets[name]
            out.append(tuple(v) if isinstance(v, list) else v)
    e = row.then
    return (e.outcome, e.reason, e.message, tuple(out))


def unreachable(a, table, rows: list, own: list) -> None:
    b = a.budget
    for k, row in enumerate(rows):
        if k == 0 or not own[k]:
            continue  # a row whose own cells never hold keeps its rule-unsatisfiable
        if a.nonempty(a.regions.T[row.index], row, "applying"):
            continue
        takers = [j for j in range(k) if intersect(own[j], own[k], b)]
        witness = a.witness(own[k])
        if witness is None:
            if a.proven_empty:  # its own cells never hold: not the earlier rows' doing
                a.emit(Finding(RULE_UNSATISFIABLE, WARNING, f"rule `{row.id}` can never match within the "
                                  "declared ranges", row.id, row.loc,
                                  hint="fix the conflicting conditions or remove the rule"))
            else:
                a.nonempty(own[k], row, "its own cells")
            continue
        d = a.decide(witness)
        by = [j for j in takers if d.matched[rows[j].index] is True]
        ok = d.matched[row.index] is not True and bool(by)
        names = ", ".join(str(j + 1) for j in takers[:5]) + (f" and {len(takers) - 5} more" if len(takers) > 5
                                                             else "")
        leaf = next((x for x, _ in leaves(row.when) if x.via is None and x.loc), None)
        a.emit(Finding(TABLE_ROW_UNREACHABLE, WARNING,
                          f"row {k + 1} of table `{table.id}` (hit: first) never applies: "
                          f"{'row' if len(takers) == 1 else 'rows'} {names} "
                          f"{'takes' if len(takers) == 1 else 'take'} every case it covers", row.id,
                          row.loc or (leaf.loc if leaf else None), witness,
                          hint="move the row above them, narrow them, or remove it"), ok)


def table_gap(a, table, rows: list, own: list) -> None:
    """The region of the table's own inputs no row covers (`_projected`)."""
    b = a.budget
    uncovered = subtract(a.space.universe, union(own, b), b)
    if not uncovered:
        return
    boxes = _projected(a, rows, own, uncovered)
    loc = table.loc or a.policy.extras.get("id_loc")
    for box, text, witness, d in a.gap_boxes(boxes, loc):
        ok = not any(d.matched[r.index] is True for r in rows)
        a.emit(Finding(GAP, INFO, f"no row of table `{table.id}` applies where {text}", None, loc, witness,
                       region=text), ok, [box])
    if len(boxes) > MAX_GAP_REGIONS:
        rest = len(boxes) - MAX_GAP_REGIONS
        a.emit(Finding(GAP, INFO, f"no row of table `{table.id}` applies in {'up to ' if a.space.pseudo else ''}"
                       f"{rest} more region{'s' if rest != 1 else ''}, not listed", None, loc), True,
               boxes[MAX_GAP_REGIONS:])


def _projected(a, rows: list, own: list, uncovered: list) -> list:
    """`uncovered` described over the facts the table's rows read: each box widened to
    every value of the other facts' axes (the rows' regions do not depend on them, so the
    widened box is still uncovered wherever it holds users). Rows that read outputs or
    rules depend on other rules' facts: then the region stays as it is."""
    names: set[str] = set()
    for row in rows:
        for leaf, _ in leaves(row.when):
            if leaf.via is not None:
                continue
            if leaf.kind not in ("fact", SUBJECT_DERIVED):
                return merge(uncovered, a.budget)
            for n in (leaf.subject,) + fact_operands(leaf):
                names.add(n)
                names |= a.plan.derived_facts.get(n, set())
    full = a.space.full_box
    keep = {i for i, d in enumerate(a.space.dims)
            if d.name in names or (d.frame in (DERIVED, RELATION)
                                   and any(box[i] != full[i] for region in own for box in region))}
    widened = {tuple(m if i in keep else full[i] for i, m in enumerate(box)) for box in uncovered}
    return merge(list(widened), a.budget)


def _effect_key(rule: Rule) -> tuple:
    e = rule.then
    return (e.outcome, e.reason, e.message, tuple(sorted(e.set, key=lambda kv: kv[0])))


