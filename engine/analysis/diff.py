"""Semantic diff of two versions of a policy: where in the fact space the outcome changes.

Both policies are analysed over one joint fact space (`engine.space.Space` over the pair), so
every region where the old and new outcomes differ is found exactly, described compactly,
and shown with a witness that is evaluated under both versions. Changed thresholds and
rules are listed by name; over a real dataset the changes are counted as a from/to matrix,
with the total and mean change of each numeric output (the change in total credit exposure).

With dates: both versions are compared on one evaluation date, `as_of` (relative date
operands are day counts on it); the records of a dataset are decided on it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .findings import verdict_of
from ..language.conditions import fold
from ..language.model import NUMERIC_TYPES, Arith, Comparison, Length, Policy, Ref, RelativeDate, Round
from ..space import Budget, Incomplete, Regions, Space, box_size, describe_box, intersect, merge
from ..space.opaque import Search
from ..language.jsonout import dumps
from ..language.values import DIFF, format_value
from ..runtime.expressions import DIVISION, EXACT, normalized, to_decimal
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
    # Over a dataset, per numeric output of both versions (`OutputTotals.result`): records,
    # old_total, new_total, total_change, mean_change. None without one.
    outputs: dict | None = None
    as_of: object = None  # the evaluation date both versions were compared on (None: no time)

    @property
    def unchanged(self) -> bool:
        return not self.changes and self.complete


def _label(outcome) -> str:
    return NONE if outcome is None else str(outcome)


def _shape(cond):
    """A condition without source positions, for comparing two versions of a rule. A
    first-hit table row's restatement of the earlier rows (leaves with `via`) is left out:
    it is the earlier rows' cells, and a change there is that row's change, not this one's."""
    def node(name: str, parts: list):
        kept = tuple(p for p in parts if p is not None)
        return None if parts and not kept else (name, kept)  # only restated leaves: left out

    return fold(cond, _leaf_shape, lambda _, parts: node("all", parts), lambda _, parts: node("any", parts),
                lambda _, part: None if part is None else ("not", part))


def _operand_shape(o) -> object:
    # As written: a named threshold by its name (its value is compared under `thresholds`),
    # a relative date by its direction and its days' name or number.
    # Another fact (`{fact: name}`) by its name.
    if o.fact is not None:
        return ("fact", o.fact)
    v = o.value
    if isinstance(v, RelativeDate):
        return ("days", v.sign, v.threshold or v.days)
    return o.threshold or ("=", v)


def _leaf_shape(cond: Comparison) -> tuple | None:
    if cond.via is not None:
        return None
    if isinstance(cond.operand, Length):
        operand = ("length", cond.operand.op, _operand_shape(cond.operand.operand))
    elif isinstance(cond.operand, tuple):
        operand = tuple(_operand_shape(o) for o in cond.operand)
    else:
        operand = _operand_shape(cond.operand)
    return ("leaf", cond.kind, cond.subject, cond.op, operand)


def _expr_shape(e) -> object:
    """An expression without source positions (two versions of one expression differ in
    nothing else), names with their kind."""
    if isinstance(e, Ref):
        return ("ref", e.kind, e.name)
    if isinstance(e, Arith):
        return (e.op, tuple(_expr_shape(a) for a in e.args))
    if isinstance(e, Round):
        return ("round", _expr_shape(e.arg), e.rounding)
    return ("=", e)  # a literal (a Decimal in an expression, or a plain `set` value)


def _rule_shape(policy: Policy, rule) -> tuple:
    t = rule.then
    return (_shape(rule.when), t.outcome, t.reason, tuple(sorted((t.message or {}).items())), t.flags,
            tuple((name, _expr_shape(v)) for name, v in t.set))


def _thresholds_read(rule) -> set[str]:
    """The thresholds a rule reads: in its conditions (relative dates' days too) and in the
    expressions it sets."""
    names = set()
    for leaf in rule.leaves:
        if leaf.kind in ("fact", "derived", "output") and leaf.via is None:
            operand = leaf.operand.operand if isinstance(leaf.operand, Length) else leaf.operand
            for o in (operand if isinstance(operand, tuple) else (operand,)):
                names.add(o.value.threshold if isinstance(o.value, RelativeDate) else o.threshold)
    stack = [v for _, v in rule.then.set]
    while stack:
        e = stack.pop()
        if isinstance(e, Ref) and e.kind == "threshold":
            names.add(e.name)
        elif isinstance(e, Arith):
            stack.extend(e.args)
        elif isinstance(e, Round):
            stack.append(e.arg)
    names.discard(None)
    return names


def diff_policies(old: Policy, new: Policy, budget: Budget | None = None, *, as_of=None) -> PolicyDiff:
    """Everything that differs between two versions; the outcome regions within `budget`
    (by default a fresh `Budget()` for the pair), on one evaluation date `as_of` (a
    `datetime.date`; by default today in the timezone of the new version, or of the old
    one when only it uses time; None when neither does)."""
    from ..runtime.semantics import resolve_as_of

    out = PolicyDiff(old, new, as_of=resolve_as_of(new if new.uses_time else old, as_of))
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
    out.rules_affected = [r for r in new_rules if r in old_rules and r not in out.rules_changed
                          and _thresholds_read(new_rules[r]) & changed_thresholds]
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
    out.other += _derived_changes(old, new) + _table_changes(old, new)
    # -- by meaning: the regions where the decided outcome differs
    try:
        _compare(old, new, out, budget if budget is not None else Budget())
    except Incomplete as exc:
        out.complete = False
        out.notes.append(f"the outcome comparison stopped ({exc}); the regions listed may be incomplete")
    return out


def _derived_changes(old: Policy, new: Policy) -> list[str]:
    out = []
    for name in list(old.derived) + [n for n in new.derived if n not in old.derived]:
        a, b = old.derived.get(name), new.derived.get(name)
        if a is None:
            out.append(f"derived fact `{name}` added")
        elif b is None:
            out.append(f"derived fact `{name}` removed")
        elif _expr_shape(a.expr) != _expr_shape(b.expr) or a.type != b.type:
            out.append(f"derived fact `{name}` changed")
    return out


def _table_changes(old: Policy, new: Policy) -> list[str]:
    """Tables added or removed, and a table's hit policy, inputs or output columns changed
    (its rows are rules: they are listed as rules, by id)."""
    out = []
    old_t = {t.id: t for t in old.tables}
    new_t = {t.id: t for t in new.tables}
    for tid in list(old_t) + [t for t in new_t if t not in old_t]:
        a, b = old_t.get(tid), new_t.get(tid)
        if a is None:
            out.append(f"table `{tid}` added")
        elif b is None:
            out.append(f"table `{tid}` removed")
        else:
            if a.hit != b.hit:
                out.append(f"table `{tid}`: hit {a.hit} → {b.hit}")
            if a.inputs != b.inputs or a.columns != b.columns:
                out.append(f"table `{tid}`: columns changed")
    return out


def rule_name(d: PolicyDiff, rule_id: str, code=str) -> str:
    """A rule as the diff names it: its id, and for a table's row, which row of which table
    (in the new version, else the old one): `gold-tier (tiers row 2)`."""
    for policy in (d.new, d.old):
        for r in policy.rules:
            if r.id == rule_id:
                if r.table is None or r.id == f"{r.table.table}#{r.table.row}":
                    return code(rule_id)
                return f"{code(rule_id)} ({r.table.table} row {r.table.row})"
    return code(rule_id)


def _compare(old: Policy, new: Policy, out: PolicyDiff, budget: Budget) -> None:
    """Fill `out.changes`: every region of the joint fact space where the outcome differs."""
    # Derived facts and fact-to-fact comparisons get axes of their own (as in validation)
    # when both versions compute each derived fact the same way: one axis then means one
    # function of the facts. An empty region is still a proof; a non-empty one needs a
    # real fact set, found by search.
    opaque = _same_derived(old, new)
    space = out.space = Space([old, new], opaque=opaque, **_dated(out.as_of))
    out.notes.extend(space.notes)
    search = Search(space, new, budget) if space.pseudo else None
    unproven = 0
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
            if search is None:
                witness = space.point(box)
            else:
                witness = search.find([box])
                if witness is None:  # no user found there: none exists if the search tried them all
                    unproven += not search.exhausted
                    continue
            verified = _outcome(old, witness, out.as_of) == a and _outcome(new, witness, out.as_of) == b
            out.changes.append(RegionChange(_label(a), _label(b), describe_box(space, box), witness, verified,
                                            box))
    if unproven:
        out.complete = False
        out.notes.append(f"{unproven} region{'s' if unproven != 1 else ''} on derived facts or fact-to-fact "
                         "comparisons where the outcome may change had no user found by search")


def _same_derived(old: Policy, new: Policy) -> bool:
    """Whether every derived fact either version declares is computed alike by both."""
    return all(name in old.derived and name in new.derived and old.derived[name].type == new.derived[name].type
               and _expr_shape(old.derived[name].expr) == _expr_shape(new.derived[name].expr)
               for name in set(old.derived) | set(new.derived))


def _dated(as_of) -> dict:
    """`as_of` as a keyword for the fact space and evaluation, only when there is a date (a
    pair of versions without time is compared exactly as before)."""
    return {} if as_of is None else {"as_of": as_of}


def _outcome(policy: Policy, witness: dict, as_of=None):
    try:
        return verdict_of(policy, witness, **_dated(as_of)).outcome
    except ValueError:  # FactsError: not a valid fact set for this version
        return object()


def count_records(d: PolicyDiff, records: Iterable, *, as_of=None) -> None:
    """Evaluate every record of a dataset under both versions (on `as_of`, by default the
    date the diff was made on); fill the from/to matrix and the numeric outputs' totals.

    `records` are read already (`engine.io.records.read_records(path, d.new)`): each has
    `data` and `error` (a record that could not be parsed is counted as skipped)."""
    from ..compile import compile_policy
    from ..errors import FactsError
    from ..evaluate import evaluate

    as_of = d.as_of if as_of is None else as_of
    old_rules, new_rules = compile_policy(d.old), compile_policy(d.new)
    totals = OutputTotals(d.old, d.new)
    matrix: dict[tuple[str, str], int] = {}
    total = skipped = 0
    for rec in records:
        total += 1
        if rec.error is not None:
            skipped += 1
            continue
        try:
            a = evaluate(old_rules, rec.data, trace=False, as_of=as_of)
            b = evaluate(new_rules, rec.data, trace=False, as_of=as_of)
        except FactsError:
            skipped += 1
            continue
        key = (_label(a.outcome), _label(b.outcome))
        matrix[key] = matrix.get(key, 0) + 1
        totals.add(a.outputs, b.outputs)
    d.matrix = matrix
    d.records = {"total": total, "changed": sum(n for (a, b), n in matrix.items() if a != b), "skipped": skipped}
    d.outputs = totals.result()


# -- numeric outputs over a dataset --------------------------------------------------------

# Sums and differences are exact, with the expression evaluator's numbers
# (`runtime.expressions`: a float is the decimal its repr says, results normalized); the
# mean keeps 28 significant digits, as `div` does.
def numeric_outputs(old: Policy, new: Policy) -> list[str]:
    """The outputs both versions declare `integer` or `number`, in the new version's order."""
    return [n for n, spec in new.outputs.items()
            if spec.type in NUMERIC_TYPES and n in old.outputs and old.outputs[n].type in NUMERIC_TYPES]


def _exact(v):
    """An output value as an exact number: an int as it is (sums of ints stay ints), a
    float as the decimal its repr says, a Decimal as it is (`runtime.expressions.to_decimal`)."""
    return v if v.__class__ is int else to_decimal(v)


def _plus(total, v):
    """`total + v` of exact numbers (`_exact`): ints as ints, else a Decimal."""
    if total.__class__ is int and v.__class__ is int:
        return total + v
    return EXACT.add(total, v)


def normal(d):
    """A total or a mean as `PolicyDiff.outputs` holds it: an int as it is, a Decimal
    normalized (`6E+3` → `6000`, `12.50` → `12.5`, no `-0`)."""
    return d if d.__class__ is int else normalized(d)


class OutputTotals:
    """The totals of the numeric outputs of both versions over the records both decided:
    `add` each record's two `Decision.outputs` (or `add_totals` for sums over many), then
    `result()`. The SQL path (`engine.batch.diff`) gives its sums and its natively
    decided records to the same code, so both paths write the same JSON."""

    def __init__(self, old: Policy, new: Policy):
        self.names = numeric_outputs(old, new)
        self.records = 0
        self.old = {n: 0 for n in self.names}
        self.new = {n: 0 for n in self.names}

    def add(self, old_outputs: dict, new_outputs: dict) -> None:
        """One record both versions decided: its two `Decision.outputs`."""
        self.add_totals(1, old_outputs, new_outputs)

    def add_totals(self, records: int, old_sums: dict, new_sums: dict) -> None:
        """`records` records at once, with each output's sum over them in both versions
        (ints, floats as the decimal their repr says, Decimals: e.g. sums a query made)."""
        self.records += records
        for n in self.names:
            self.old[n] = _plus(self.old[n], _exact(old_sums[n]))
            self.new[n] = _plus(self.new[n], _exact(new_sums[n]))

    def result(self) -> dict | None:
        """{name: summary(...)} per numeric output of both versions; None without one."""
        if not self.names:
            return None
        return {n: summary(self.records, self.old[n], self.new[n]) for n in self.names}


def summary(records: int, old_total, new_total) -> dict:
    """One output's entry of `PolicyDiff.outputs`: the totals over `records` records, their
    difference and the mean change per record (28 significant digits; None without records)."""
    if old_total.__class__ is int and new_total.__class__ is int:
        change = new_total - old_total
    else:
        change = EXACT.subtract(_exact(new_total), _exact(old_total))
    mean = DIVISION.divide(to_decimal(change), records) if records else None
    return {"records": records, "old_total": normal(old_total), "new_total": normal(new_total),
            "total_change": normal(change), "mean_change": None if mean is None else normal(mean)}


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
    if d.as_of is not None:
        doc["as_of"] = d.as_of.isoformat()
    if d.matrix is not None:
        doc["records"] = dict(d.records or {})
        doc["records"]["matrix"] = [{"from": a, "to": b, "count": n} for (a, b), n in sorted(d.matrix.items())]
        if d.outputs is not None:
            doc["records"]["outputs"] = {name: dict(entry) for name, entry in d.outputs.items()}
    return doc


def render_json(d: PolicyDiff) -> str:
    return dumps(to_dict(d), 2, sort_keys=True) + "\n"


def _num(v) -> str:
    """A total or a change in the text and Markdown forms (as computed outputs are shown)."""
    return format_value(v)


def _signed(v) -> str:
    return ("+" if v > 0 else "") + _num(v)


def _output_rows(d: PolicyDiff) -> list[tuple[str, str, str, str, str]]:
    return [(name, _num(e["old_total"]), _num(e["new_total"]), _signed(e["total_change"]),
             "–" if e["mean_change"] is None else _signed(e["mean_change"])) for name, e in (d.outputs or {}).items()]


def _outputs_head(d: PolicyDiff) -> str:
    n = next(iter(d.outputs.values()))["records"] if d.outputs else 0
    return f"over the {n:,} record{'s' if n != 1 else ''} both versions decided"


def render_text(d: PolicyDiff) -> str:
    lines = [f"{d.old.path} → {d.new.path}  ({d.old.id} v{d.old.version} → {d.new.id} v{d.new.version})"
             + (f"  as of {d.as_of.isoformat()}" if d.as_of is not None else "")]
    if not d.changes:
        lines.append("no outcome changes" if d.complete else
                     "comparison incomplete: no outcome changes found, but some may exist (see the notes)")
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
            lines.append(f"rules {word}: {', '.join(rule_name(d, i) for i in ids)}")
    lines += d.other
    lines += [f"note: {n}" for n in d.notes]
    if d.matrix is not None:
        lines += _matrix_text(d)
    if d.outputs:
        lines.append(f"outputs ({_outputs_head(d)}):")
        for name, old, new, change, mean in _output_rows(d):
            lines.append(f"  {name}: total {old} → {new} ({change}), mean change {mean}")
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
    lines = [f"## Policy diff: `{d.old.id}` v{d.old.version} → v{d.new.version}"
             + (f" (as of {d.as_of.isoformat()})" if d.as_of is not None else ""), ""]
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
        lines += ["", "**Rules**", ""] + [f"- {w}: {', '.join(rule_name(d, i, lambda x: f'`{x}`') for i in ids)}"
                                          for w, ids in rules]
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
    if d.outputs:
        lines += ["", f"**Outputs** ({_outputs_head(d)})", "",
                  "| output | old total | new total | total change | mean change |", "|---|---:|---:|---:|---:|"]
        lines += [f"| `{name}` | {old} | {new} | {change} | {mean} |"
                  for name, old, new, change, mean in _output_rows(d)]
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
