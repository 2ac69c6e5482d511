"""Semantic diff of two versions of a policy: where in the fact space the outcome changes.

Both policies are analysed over one joint fact space (`engine.space.Space` over the pair), so
every region where the old and new outcomes differ is found exactly, described compactly,
and shown with a witness that is evaluated under both versions. Changed thresholds and
rules are listed by name; over a real dataset the changes are counted as a from/to matrix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from .findings import verdict_of
from ..language.conditions import fold
from ..language.model import Comparison, Policy
from ..space import Budget, Incomplete, Regions, Space, box_size, describe_box, intersect, merge
from ..language.values import DIFF, format_value
from ..space.describe import show

NONE = "(none)"  # the outcome of a policy without a default when no rule decides


@dataclass
class RegionChange:
    old: str
    new: str
    region: str
    witness: dict
    verified: bool
    box: tuple = ()  # the region as a box of the joint space (`PolicyDiff.space`)


@dataclass
class PolicyDiff:
    old: Policy
    new: Policy
    changes: list[RegionChange] = field(default_factory=list)
    thresholds: list[tuple[str, object, object]] = field(default_factory=list)  # name, old, new (None: absent)
    rules_added: list[str] = field(default_factory=list)
    rules_removed: list[str] = field(default_factory=list)
    rules_changed: list[str] = field(default_factory=list)  # rewritten
    rules_affected: list[str] = field(default_factory=list)  # same text, reading a changed threshold
    other: list[str] = field(default_factory=list)  # facts, outcomes, default
    notes: list[str] = field(default_factory=list)  # where the comparison is not exact
    complete: bool = True
    matrix: dict | None = None  # (old, new) → count, over a dataset
    records: dict | None = None  # total, changed, skipped
    space: object = None  # engine.space.Space of the pair

    @property
    def unchanged(self) -> bool:
        return not self.changes and self.complete


def _label(outcome) -> str:
    return NONE if outcome is None else str(outcome)


def _shape(cond):
    """A condition without source positions, for comparing two versions of a rule."""
    return fold(cond, _leaf_shape, lambda _, parts: ("all", tuple(parts)), lambda _, parts: ("any", tuple(parts)),
                lambda _, part: ("not", part))


def _leaf_shape(cond: Comparison) -> tuple:
    # As written: a named threshold by its name (its value is compared under `thresholds`).
    operand = tuple(o.threshold or ("=", o.value) for o in cond.operand) if isinstance(cond.operand, tuple) \
        else cond.operand.threshold or ("=", cond.operand.value)
    return ("leaf", cond.kind, cond.subject, cond.op, operand)


def _rule_shape(policy: Policy, rule) -> tuple:
    t = rule.then
    return (_shape(rule.when), t.outcome, t.reason, tuple(sorted((t.message or {}).items())), t.flags, t.set)


def diff_policies(old: Policy, new: Policy, budget: Budget | None = None) -> PolicyDiff:
    """Everything that differs between two versions; the outcome regions within `budget`
    (by default a fresh `Budget()` for the pair)."""
    out = PolicyDiff(old, new)
    # -- by name: thresholds, rules, declarations
    for name in list(old.thresholds) + [n for n in new.thresholds if n not in old.thresholds]:
        a = old.thresholds[name].value if name in old.thresholds else None
        b = new.thresholds[name].value if name in new.thresholds else None
        if a != b or type(a) is not type(b):
            out.thresholds.append((name, a, b))
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    out.rules_removed = [r for r in old_rules if r not in new_rules]
    out.rules_added = [r for r in new_rules if r not in old_rules]
    out.rules_changed = [r for r in old_rules if r in new_rules
                         and _rule_shape(old, old_rules[r]) != _rule_shape(new, new_rules[r])]
    changed_thresholds = {n for n, _, _ in out.thresholds}
    out.rules_affected = [r for r in new_rules if r in old_rules and r not in out.rules_changed and any(
        leaf.kind == "fact" and any(o.threshold in changed_thresholds for o in
                                    (leaf.operand if isinstance(leaf.operand, tuple) else (leaf.operand,)))
        for leaf in new_rules[r].leaves)]
    if [r for r in old_rules if r in new_rules] != [r for r in new_rules if r in old_rules]:
        out.other.append("rule order changed")
    if old.outcome_ids != new.outcome_ids:
        out.other.append(f"outcomes: [{', '.join(old.outcome_ids)}] → [{', '.join(new.outcome_ids)}]")
    if old.default != new.default:
        out.other.append(f"default: {_label(old.default)} → {_label(new.default)}")
    for name in list(old.facts) + [n for n in new.facts if n not in old.facts]:
        a, b = old.facts.get(name), new.facts.get(name)
        if a is None:
            out.other.append(f"fact `{name}` added")
        elif b is None:
            out.other.append(f"fact `{name}` removed")
        else:
            keys = ("type", "enum", "minimum", "maximum", "default", "has_default", "required")
            changed = [k for k in keys if getattr(a, k) != getattr(b, k)]
            if changed:
                out.other.append(f"fact `{name}`: {', '.join(changed)} changed")
    # -- by meaning: the regions where the decided outcome differs
    try:
        _compare(old, new, out, budget if budget is not None else Budget())
    except Incomplete as exc:
        out.complete = False
        out.notes.append(f"the outcome comparison stopped ({exc}); the regions listed may be incomplete")
    return out


def _compare(old: Policy, new: Policy, out: PolicyDiff, budget: Budget) -> None:
    """Fill `out.changes`: every region of the joint fact space where the outcome differs."""
    space = out.space = Space([old, new])
    out.notes.extend(space.notes)
    if any(a.minimum != b.minimum or a.maximum != b.maximum or a.enum != b.enum
           for n in old.facts if n in new.facts for a, b in [(old.facts[n], new.facts[n])]):
        out.notes.append("facts whose declared range changed are compared where both versions accept them")
    before = Regions(old, space, budget).chosen()
    after = Regions(new, space, budget).chosen()
    rank_old = {o: i for i, o in enumerate(old.outcome_ids)}
    rank_new = {o: i for i, o in enumerate(new.outcome_ids)}
    pairs = []
    for a, ra in before.items():
        for b, rb in after.items():
            if a == b or not ra or not rb:
                continue
            both = intersect(ra, rb, budget)
            if both:
                pairs.append((rank_old.get(a, 99), rank_new.get(b, 99), a, b, both))
    pairs.sort(key=lambda p: (p[0], p[1]))
    for _, _, a, b, region in pairs:
        boxes = merge(region, budget)
        boxes.sort(key=lambda bx: (-box_size(space, bx), describe_box(space, bx)))
        for box in boxes:
            witness = space.point(box)
            verified = _outcome(old, witness) == a and _outcome(new, witness) == b
            out.changes.append(RegionChange(_label(a), _label(b), describe_box(space, box), witness, verified,
                                            box))


def _outcome(policy: Policy, witness: dict):
    try:
        return verdict_of(policy, witness).outcome
    except ValueError:  # FactsError: not a valid fact set for this version
        return object()


def count_records(d: PolicyDiff, records: Iterable) -> None:
    """Evaluate every record of a dataset under both versions; fill the from/to matrix.

    `records` are read already (`engine.io.records.read_records(path, d.new)`): each has
    `data` and `error` (a record that could not be parsed is counted as skipped)."""
    from ..errors import FactsError

    matrix: dict[tuple[str, str], int] = {}
    total = skipped = 0
    old_plan_policy, new_plan_policy = d.old, d.new
    for rec in records:
        total += 1
        if rec.error is not None:
            skipped += 1
            continue
        try:
            a = verdict_of(old_plan_policy, rec.data).outcome
            b = verdict_of(new_plan_policy, rec.data).outcome
        except FactsError:
            skipped += 1
            continue
        key = (_label(a), _label(b))
        matrix[key] = matrix.get(key, 0) + 1
    d.matrix = matrix
    d.records = {"total": total, "changed": sum(n for (a, b), n in matrix.items() if a != b), "skipped": skipped}


# -- rendering ---------------------------------------------------------------------------

def _val(v) -> str:
    return format_value(v, DIFF)


def _witness(w: dict) -> str:
    return ", ".join(f"{k}={show(v)}" for k, v in w.items())


def _matrix_outcomes(d: PolicyDiff) -> tuple[list[str], list[str]]:
    """The from -> to matrix's rows and columns: the same outcomes on both sides, every one
    some record has in either version, so an outcome no record reaches any more is a column
    of zeros rather than missing (a 5-by-4 matrix hid where its users went)."""
    seen = {k[0] for k in d.matrix} | {k[1] for k in d.matrix}
    order = list(d.old.outcome_ids) + [o for o in d.new.outcome_ids if o not in d.old.outcome_ids] + [NONE]
    outcomes = [o for o in order if o in seen]
    return outcomes, outcomes


def to_dict(d: PolicyDiff) -> dict:
    doc: dict = {
        "old": {"policy": d.old.id, "version": d.old.version, "file": d.old.path},
        "new": {"policy": d.new.id, "version": d.new.version, "file": d.new.path},
        "unchanged": d.unchanged,
        "complete": d.complete,
        "changes": [{"from": c.old, "to": c.new, "region": c.region, "witness": c.witness, "verified": c.verified}
                    for c in d.changes],
        "thresholds": [{"name": n, "old": a, "new": b} for n, a, b in d.thresholds],
        "rules": {"added": d.rules_added, "removed": d.rules_removed, "changed": d.rules_changed,
                  "threshold_changed": d.rules_affected},
        "other": d.other,
        "notes": d.notes,
    }
    if d.matrix is not None:
        doc["records"] = dict(d.records or {})
        doc["records"]["matrix"] = [{"from": a, "to": b, "count": n} for (a, b), n in sorted(d.matrix.items())]
    return doc


def render_json(d: PolicyDiff) -> str:
    return json.dumps(to_dict(d), ensure_ascii=False, indent=2, sort_keys=True, default=list) + "\n"


def render_text(d: PolicyDiff) -> str:
    lines = [f"{d.old.path} → {d.new.path}  ({d.old.id} v{d.old.version} → {d.new.id} v{d.new.version})"]
    if not d.changes:
        lines.append("no outcome changes" + ("" if d.complete else " found (comparison incomplete)"))
    else:
        n = len(d.changes)
        lines.append(f"{n} region{'s' if n != 1 else ''} where the outcome changes:")
        for c in d.changes:
            lines.append(f"  {c.old} → {c.new}: {c.region}")
            lines.append(f"      witness: {_witness(c.witness)}" + ("" if c.verified else "  (NOT verified)"))
    if d.thresholds:
        lines.append("thresholds:")
        lines += [f"  {n}: {_val(a)} → {_val(b)}" for n, a, b in d.thresholds]
    for word, ids in (("added", d.rules_added), ("removed", d.rules_removed), ("changed", d.rules_changed),
                      ("reading a changed threshold", d.rules_affected)):
        if ids:
            lines.append(f"rules {word}: {', '.join(ids)}")
    lines += d.other
    lines += [f"note: {n}" for n in d.notes]
    if d.matrix is not None:
        lines += _matrix_text(d)
    return "\n".join(lines) + "\n"


def _matrix_text(d: PolicyDiff) -> list[str]:
    r = d.records or {}
    lines = [f"records: {r.get('total', 0):,} read, {r.get('changed', 0):,} change outcome"
             + (f", {r['skipped']:,} skipped (not valid for both versions)" if r.get("skipped") else "")]
    rows, cols = _matrix_outcomes(d)
    if not rows:
        return lines
    width = max(len(x) for x in rows + cols + ["old \\ new"]) + 2
    lines.append("  " + "old \\ new".ljust(width) + "".join(c.rjust(width) for c in cols))
    for a in rows:
        lines.append("  " + a.ljust(width) + "".join(str(d.matrix.get((a, b), 0)).rjust(width) for b in cols))
    return lines


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(d: PolicyDiff) -> str:
    lines = [f"## Policy diff: `{d.old.id}` v{d.old.version} → v{d.new.version}", ""]
    if not d.changes:
        lines.append("No outcome changes." if d.complete else "No outcome changes found (comparison incomplete).")
    else:
        lines += ["| from | to | region | witness |", "|---|---|---|---|"]
        for c in d.changes:
            lines.append(f"| {c.old} | {c.new} | {_md(c.region)} | `{_md(_witness(c.witness))}`"
                         f"{'' if c.verified else ' (not verified)'} |")
    if d.thresholds:
        lines += ["", "**Thresholds**", ""] + [f"- `{n}`: {_val(a)} → {_val(b)}" for n, a, b in d.thresholds]
    rules = [(w, ids) for w, ids in (("added", d.rules_added), ("removed", d.rules_removed),
                                     ("changed", d.rules_changed),
                                     ("reading a changed threshold", d.rules_affected)) if ids]
    if rules:
        lines += ["", "**Rules**", ""] + [f"- {w}: {', '.join(f'`{i}`' for i in ids)}" for w, ids in rules]
    if d.other:
        lines += [""] + [f"- {o}" for o in d.other]
    if d.notes:
        lines += [""] + [f"> note: {n}" for n in d.notes]
    if d.matrix is not None:
        r = d.records or {}
        lines += ["", f"**Records**: {r.get('total', 0):,} read, {r.get('changed', 0):,} change outcome"
                  + (f", {r['skipped']:,} skipped" if r.get("skipped") else ""), ""]
        rows, cols = _matrix_outcomes(d)
        if rows:
            lines.append("| old \\ new | " + " | ".join(cols) + " |")
            lines.append("|---|" + "---:|" * len(cols))
            for a in rows:
                lines.append(f"| {a} | " + " | ".join(str(d.matrix.get((a, b), 0)) for b in cols) + " |")
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
