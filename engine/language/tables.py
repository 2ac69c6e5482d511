"""Decision tables: their rows (inline, or from a CSV file beside the policy) compiled to rules.

Each row becomes one `Rule` after the `rules:` rules (tables in order, rows in order), so
evaluation, analysis, coverage and diff see rules; `Table` records keep the table's shape.
A row's input cells are read by the cell grammar (`cells.py`) and checked through the
builder's operand machinery (`Operands.operand`), its output cells as a rule's `then` is
(`output_value` for a declared output), so a cell means what the same comparison or value
means in a rule. Under `hit: first` a row also restates the cells of every earlier row it
is not provably disjoint from, negated: the row applies only where it is known that no
earlier row does, which is exact in Kleene logic (`_when`). The CSV's bytes come
through the builder's `read` callable (read by `csvrows.py`): no file system here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterator

from .conditions import ALL, LEAF, NOT, children
from .conditions import kind as node_kind
from .conditions import leaves as walk_leaves
from .cells import ANY, CellError, cell_text, input_cell, yaml_value
from .csvrows import csv_name, path_problem, read_csv
from .diagnostics import ERROR, Diagnostic, did_you_mean, pointer_join
from .disjoint import disjoint, profile
from .model import (ARRAY, DATE, SUBJECT_DERIVED, SUBJECT_OUTPUT, All, Any, Comparison, Effect, FactSpec, Loc, Not,
                    Rule, Table, TableRow)

OUTCOME, REASON, MESSAGE = "outcome", "reason", "message"
EFFECT_COLUMNS = (OUTCOME, REASON, MESSAGE)
COLLECT_COMBINES = ("sum", "min", "max", "count", "list")
_RULE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_REASON = re.compile(r"[A-Z][A-Z0-9_]*\Z")


@dataclass
class Cell:
    value: object  # as YAML (or the CSV, its fields read as YAML scalars) wrote it
    loc: Loc
    csv: bool = False


@dataclass
class Row:
    number: int  # 1-based
    loc: Loc
    cells: list[Cell]


@dataclass
class Source:
    """One table as read: its rows, before compilation."""

    raw: dict
    ptr: str
    rows: list[Row] = field(default_factory=list)
    csv: str | None = None
    attached: bytes | None = None  # the CSV's bytes (part of the policy digest)

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def columns(self) -> list[str]:
        return (["id"] if self.raw.get("id_column") else []) + list(self.raw["inputs"]) + list(self.raw["outputs"])


# -- reading rows ----------------------------------------------------------------------------

def sources(b) -> list[Source]:
    """Every table's rows, read once per build (the builder keeps them)."""
    if getattr(b, "table_sources", None) is None:  # the builder does not know tables until asked
        b.table_sources = [_read(b, raw, pointer_join("/tables", t)) for t, raw in enumerate(b.data.get("tables", ()))]
    return b.table_sources


def _read(b, raw: dict, ptr: str) -> Source:
    src = Source(raw, ptr)
    rows = raw["rows"]
    if isinstance(rows, list):
        for r, cells in enumerate(rows):
            rptr = pointer_join(ptr, "rows", r)
            src.rows.append(Row(r + 1, b.loc(rptr), [Cell(v, b.loc(pointer_join(rptr, c)))
                                                     for c, v in enumerate(cells)]))
        return src
    src.csv = rows["csv"]
    kptr = pointer_join(ptr, "rows", "csv")
    problem = path_problem(src.csv)
    if problem:
        b.report("table-csv-path", f"rows file `{src.csv}` {problem}", kptr,
                 hint="name a file in the policy's folder or below it, relative to the policy: `tiers.csv`")
        return src
    if b.read is None:
        b.report("table-csv-unreadable", f"rows file `{src.csv}` cannot be read: the policy was given as text, "
                 "without its folder", kptr, at_key=True, hint="load the policy from its file")
        return src
    try:
        data = b.read(src.csv)
    except OSError as exc:
        b.report("table-csv-unreadable", f"rows file `{src.csv}`: {exc.strerror or exc}", kptr, at_key=True)
        return src
    src.attached = data
    read_csv(b, src, data, csv_name(b.smap.file, src.csv), lambda v, loc: Cell(v, loc, True), Row)
    return src


def _output_raw(cell: Cell):
    """An output cell's value as a rule's `set` value would be: in a CSV an expression or a
    list is its flow text (`{mul: [score, 10]}`, `[cash, card]`); a quoted `"-"` is the
    text `-`."""
    v = cell.value
    if isinstance(v, str):
        s = v.strip()
        if cell.csv and s.startswith(("{", "[")):
            ok, parsed = yaml_value(s)
            if ok and isinstance(parsed, (dict, list)):
                return parsed
        if len(s) >= 2 and s.startswith('"') and s.endswith('"'):
            ok, parsed = yaml_value(s)
            if ok and isinstance(parsed, str):
                return parsed
    return v


def _is_any(cell: Cell) -> bool:
    return isinstance(cell.value, str) and cell.value.strip() == ANY


def table_set_values(b) -> Iterator[tuple[str, object]]:
    """(output, value as written) for every table cell that sets a declared output: what
    decides whether an output is computed, as a rule's `set` values do."""
    for src in sources(b):
        outputs = src.raw["outputs"]
        offset = len(src.columns) - len(outputs)
        for row in src.rows:
            if len(row.cells) != len(src.columns):
                continue
            for name, cell in zip(outputs, row.cells[offset:]):
                if name not in EFFECT_COLUMNS and not _is_any(cell):
                    yield name, _output_raw(cell)


def row_ids(b) -> list[str]:
    """The rule id of every table row, tables in order: `rule:` conditions may name them."""
    out = []
    for src in sources(b):
        for row in src.rows:
            out.append(_row_id(src, row))
    return out


def _row_id(src: Source, row: Row) -> str:
    if src.raw.get("id_column") and row.cells and isinstance(row.cells[0].value, str):
        return row.cells[0].value.strip()
    return f"{src.id}#{row.number}"


def exclusive_rows(policy, r1: Rule, r2: Rule, profiles: dict | None = None) -> bool:
    """Whether two rules never both contribute: rows of one table where `first` rows
    exclude each other by compilation (overlapping `unique` rows, and `any` rows that
    overlap with different outputs, are analysis's errors, with a witness), or rules whose
    top-level conditions on one fact admit no common value (`s: 1` and `s >= 6`), proved
    by `disjoint`."""
    if (r1.table is not None and r2.table is not None and r1.table.table == r2.table.table
            and policy.table(r1.table.table).hit in ("first", "unique", "any")):
        return True
    if profiles is None:
        return disjoint(_conjuncts(policy, r1), _conjuncts(policy, r2))
    # a caller comparing many pairs keeps each rule's profile (by rule index) in `profiles`
    for r in (r1, r2):
        if r.index not in profiles:
            profiles[r.index] = _conjuncts(policy, r)
    return disjoint(profiles[r1.index], profiles[r2.index])


def _conjuncts(policy, rule: Rule) -> dict:
    """The `disjoint.profile` of a rule's top-level fact comparisons: each holds wherever
    the rule matches, so rules whose profiles are disjoint never match together."""
    when = rule.when
    items = children(when) if node_kind(when) == ALL else (when,)
    return profile([c for c in items if node_kind(c) == LEAF and c.kind == "fact"], policy.facts)


# -- compiling ---------------------------------------------------------------------------------

def report(b, cell_or_loc, code: str, message: str, *, hint: str | None = None, rule: str | None = None) -> None:
    """A diagnostic at a cell (or a row): in the policy through the builder's source map, in
    a CSV file at the cell's own line and column."""
    loc = cell_or_loc.loc if isinstance(cell_or_loc, Cell) else cell_or_loc
    if loc.file == b.smap.file and not (isinstance(cell_or_loc, Cell) and cell_or_loc.csv):
        b.report(code, message, loc.pointer, hint=hint, rule=rule)
    else:
        b.diags.append(Diagnostic(code, message, ERROR, loc.file, loc.line, loc.column, loc.pointer, hint, rule))


def _at_cell(b, cell: Cell, fn, *args):
    """`fn(*args)` (a builder check), its diagnostics moved to the cell when it is in a CSV
    file: the builder locates through the policy's source map, which knows no CSV."""
    n = len(b.diags)
    out = fn(*args)
    if cell.csv:
        b.diags[n:] = [replace(d, file=cell.loc.file, line=cell.loc.line, column=cell.loc.column,
                               pointer=cell.loc.pointer) for d in b.diags[n:]]
    return out


def input_spec(b, name: str) -> tuple[str, FactSpec] | None:
    """What a table input names, as (Comparison kind, the spec operands are checked
    against): a fact, a derived fact, or a declared output (as a condition's key would);
    None when it names none of them, and `BROKEN` for a derived fact whose expression was
    already reported (one mistake, one error)."""
    if name in b.facts_by_name:
        b.mentioned_facts.add(name)
        return "fact", b.facts_by_name[name]
    if name in b.derived_by_name:
        return SUBJECT_DERIVED, b.subject_spec(name)
    if name in b.broken_derived:
        return BROKEN
    if name in b.outputs_by_name:
        return SUBJECT_OUTPUT, b.subject_spec(name)
    return None


BROKEN = ("broken", None)


def _cell_kind(spec: FactSpec) -> tuple[str, bool]:
    if spec.type == ARRAY:
        return "list", spec.items is not None and spec.items.type == "string"
    if spec.type == "string":
        return "string", True
    return "scalar", spec.type == DATE


def compile_tables(b, first_index: int, rule_locs: dict[str, Loc]) -> tuple[tuple[Rule, ...], tuple[Table, ...]]:
    """Every table's rows as rules (indexes from `first_index`), and the Table records.
    `rule_locs`: the `rules:` rules' ids and where they are, for the uniqueness of row ids."""
    rules: list[Rule] = []
    tables: list[Table] = []
    seen_tables: dict[str, str] = {}
    ids = dict(rule_locs)
    for src in sources(b):
        t = _compile(b, src, first_index + len(rules), ids, seen_tables)
        if t is not None:
            table_rules, table = t
            rules.extend(table_rules)
            tables.append(table)
    return tuple(rules), tuple(tables)


def _columns(b, src: Source) -> tuple[list, list] | None:
    """The inputs' (name, kind, spec) and the output columns, checked; None after errors."""
    ok = True
    inputs = []
    known = list(b.facts_by_name) + list(b.derived_by_name) + list(b.outputs_by_name)
    for i, name in enumerate(src.raw["inputs"]):
        found = input_spec(b, name)
        if found is BROKEN:
            ok = False
        elif found is None:
            b.report("table-unknown-input", f"table input `{name}` is not a declared fact, derived fact or output",
                     pointer_join(src.ptr, "inputs", i), hint=did_you_mean(name, known))
            ok = False
        else:
            inputs.append((name, *found))
    outputs = list(src.raw["outputs"])
    for i, name in enumerate(outputs):
        optr = pointer_join(src.ptr, "outputs", i)
        if name in outputs[:i]:
            b.report("table-duplicate-column", f"output column `{name}` is listed twice", optr)
            ok = False
        elif name not in EFFECT_COLUMNS and name not in b.outputs_by_name:
            b.report("table-unknown-output", f"table output `{name}` is not a declared output, `outcome`, `reason` "
                     "or `message`", optr, hint=did_you_mean(name, list(b.outputs_by_name) + list(EFFECT_COLUMNS))
                     or "declare it under `outputs:`")
            ok = False
    hit = src.raw["hit"]
    if hit == "priority" and OUTCOME not in outputs:
        b.report("table-priority-needs-outcome", f"table `{src.id}` has `hit: priority` but no `outcome` column: "
                 "priority is the outcomes' precedence", pointer_join(src.ptr, "hit"),
                 hint="add an `outcome` column, or use `hit: first` to let row order decide")
        ok = False
    if hit == "collect":
        if OUTCOME in outputs:
            b.report("table-collect-outcome", f"table `{src.id}` has `hit: collect` and an `outcome` column: "
                     "several rows cannot all decide the outcome", pointer_join(src.ptr, "outputs",
                                                                                outputs.index(OUTCOME)),
                     hint="use `hit: priority` to pick the outcome of highest precedence")
            ok = False
        for i, name in enumerate(outputs):
            spec = b.outputs_by_name.get(name)
            if spec is not None and spec.combine not in COLLECT_COMBINES:
                b.report("table-collect-needs-combine", f"table `{src.id}` collects output `{name}`, which declares "
                         f"no way to combine several rows' values", pointer_join(src.ptr, "outputs", i),
                         hint=f"declare `combine: sum|min|max|count|list` for output `{name}`")
                ok = False
    return (inputs, outputs) if ok else None


def _compile(b, src: Source, first: int, ids: dict[str, Loc], seen_tables: dict[str, str]):
    tid = src.id
    if tid in seen_tables:
        b.report("table-duplicate-id", f"table id `{tid}` is already used", pointer_join(src.ptr, "id"),
                 hint=f"the first `{tid}` is at line {b.smap.position(seen_tables[tid])[0]}")
    else:
        seen_tables[tid] = pointer_join(src.ptr, "id")
    columns = _columns(b, src)
    if columns is None or (src.csv is not None and src.attached is None):
        return None
    inputs, outputs = columns
    offset = 1 if src.raw.get("id_column") else 0
    width = offset + len(inputs) + len(outputs)
    rules: list[Rule] = []
    own: list[tuple[list[Comparison], dict]] = []  # per compiled row, its own leaves and their profile
    specs = {n: s for n, _, s in inputs}
    cells_text, cell_locs = [], []
    for row in src.rows:
        if len(row.cells) != width:
            report(b, row.loc, "table-row-length", f"row {row.number} of table `{tid}` has {len(row.cells)} cells, "
                   f"the table has {width} columns", hint="columns: " + ", ".join(src.columns))
            continue
        rid = _row_id(src, row)
        if offset:
            cell = row.cells[0]
            if not isinstance(cell.value, str) or not _RULE_ID.match(rid):
                report(b, cell, "table-bad-row-id", f"`{cell_text(cell.value)}` is not a rule id", rule=rid,
                       hint="a rule id is letters, digits, `_`, `.` and `-`, not starting with a digit")
        if rid in ids:
            first_loc = ids[rid]
            report(b, row.cells[0] if offset else row.loc, "rule-duplicate-id", f"rule id `{rid}` is already used",
                   rule=rid, hint=f"the first `{rid}` is at {first_loc.file}:{first_loc.line}")
        else:
            ids[rid] = row.loc
        leaves: list[Comparison] = []
        for (name, kind, spec), cell in zip(inputs, row.cells[offset:]):
            leaves.extend(_input_leaves(b, cell, name, kind, spec, rid, len(leaves)))
        effect = _effect(b, row.cells[offset + len(inputs):], outputs, rid)
        if src.raw["hit"] == "priority" and effect.outcome is None and OUTCOME in outputs:
            cell = row.cells[offset + len(inputs) + outputs.index(OUTCOME)]
            if _is_any(cell):  # (an unknown outcome is reported as such)
                report(b, cell, "table-priority-needs-outcome", f"row {row.number} of table `{tid}` decides no "
                       "outcome, but under `hit: priority` every row does", rule=rid,
                       hint="write the row's outcome; precedence picks among the rows that apply")
        index = first + len(rules)
        mine = (leaves, profile(leaves, specs) if src.raw["hit"] == "first" else {})
        when, all_leaves = _when(src.raw["hit"], mine, own, [r.index for r in rules])
        rules.append(Rule(rid, index, when, effect, "", tuple(all_leaves), (), row.loc, "", TableRow(tid, row.number)))
        own.append(mine)
        cells_text.append(tuple(cell_text(c.value) if not _is_any(c) else ANY
                                for c in row.cells[offset:offset + len(inputs)]))
        cell_locs.append(tuple(c.loc for c in row.cells[offset:]))
    table = Table(tid, src.raw["hit"], tuple(n for n, _, _ in inputs), tuple(outputs), tuple(r.index for r in rules),
                  tuple(cells_text), tuple(cell_locs), src.raw.get("description", ""), src.csv, b.loc(src.ptr))
    return rules, table


def _input_leaves(b, cell: Cell, name: str, kind: str, spec: FactSpec, rid: str, start: int) -> list[Comparison]:
    try:
        pairs = input_cell(cell.value, *_cell_kind(spec))
    except CellError as exc:
        report(b, cell, exc.code, exc.message, hint=exc.hint, rule=rid)
        return []
    out = []
    for op, raw in pairs:
        operand = _at_cell(b, cell, lambda: b.operand(spec, op, raw, cell.loc.pointer, rid, kind=kind))
        if operand is not None:
            out.append(Comparison(kind, name, op, operand, start + len(out), cell.loc))
    if len(out) == 2 and _empty_interval(out):
        report(b, cell, "table-cell-empty", f"interval `{cell_text(cell.value)}` holds no value", rule=rid,
               hint="write the low end first: `[low..high)`")
        return []
    return out


def _empty_interval(leaves: list[Comparison]) -> bool:
    """Whether a cell's two bounds (`[a..b)`: low then high) admit no value."""
    (lo_op, lo), (hi_op, hi) = ((c.op, c.operand.value) for c in leaves)
    if lo is None or hi is None or type(lo) is not type(hi) and not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
        return False
    try:
        return lo > hi or (lo == hi and (lo_op == "gt" or hi_op == "lt"))
    except TypeError:  # a relative date: resolved only on the evaluation date
        return False


def _effect(b, cells: list[Cell], outputs: list[str], rid: str) -> Effect:
    outcome = reason = message = None
    sets = []
    for name, cell in zip(outputs, cells):
        if _is_any(cell):
            continue
        raw = _output_raw(cell)
        if name == OUTCOME:
            if raw not in b.outcome_ids:
                report(b, cell, "unknown-outcome", f"outcome `{cell_text(raw)}` is not declared in `outcomes`",
                       rule=rid, hint=did_you_mean(str(raw), b.outcome_ids))
            else:
                outcome = raw
        elif name == REASON:
            declared = b.data.get("reasons")
            if not isinstance(raw, str) or not _REASON.match(raw):
                report(b, cell, "table-cell-syntax", f"`{cell_text(raw)}` is not a reason code", rule=rid,
                       hint="a reason code is upper-case letters, digits and `_`: `LOW_SCORE`")
            elif declared is not None and raw not in declared:
                report(b, cell, "unknown-reason", f"reason code `{raw}` is not declared in `reasons`", rule=rid,
                       hint=did_you_mean(raw, declared))
            else:
                reason = raw
        elif name == MESSAGE:
            if isinstance(raw, str) and raw:
                message = {b.language: raw}
            elif isinstance(raw, dict) and raw and all(isinstance(v, str) for v in raw.values()):
                message = dict(raw)
            else:
                report(b, cell, "table-cell-syntax", f"`{cell_text(raw)}` is not a message text", rule=rid,
                       hint="write the message as text, in the policy's language")
                continue
            _at_cell(b, cell, b.check_template, message, cell.loc.pointer if not cell.csv else
                     cell.loc.pointer.rsplit("/rows/", 1)[0] + "/rows", rid)
        else:
            spec = b.outputs_by_name[name]
            ok, value = _at_cell(b, cell, b.output_value, name, spec.type, raw, cell.loc.pointer, rid,
                                 b.outputs_by_name)
            if ok:
                sets.append((name, value))
    return Effect(outcome, reason, message, (), tuple(sets))


# -- hit: first ---------------------------------------------------------------------------------

def _when(hit: str, mine: tuple[list[Comparison], dict], earlier: list[tuple[list[Comparison], dict]],
          earlier_index: list[int]) -> tuple[object, list[Comparison]]:
    """A row's condition, and all its leaves (its own, then the restated ones). `mine` and
    each of `earlier`: a row's own leaves and their profile (`disjoint.profile`)."""
    leaves, values = mine
    items: list = list(leaves)
    all_leaves = list(leaves)
    if hit == "first":
        blockers = []
        for j, (other, other_values) in enumerate(earlier):
            if disjoint(other_values, values):
                continue  # no value satisfies both rows: row j never takes this row's place
            restated = []
            for leaf in other:
                restated.append(replace(leaf, index=len(all_leaves), via=earlier_index[j]))
                all_leaves.append(restated[-1])
            blockers.append(All(tuple(restated)))
        if blockers:
            items.append(Not(Any(tuple(blockers))))
    when = items[0] if len(items) == 1 else All(tuple(items))
    return when, all_leaves


# -- reading a first-hit row's condition back ---------------------------------------------------

def first_hit_rows(policy) -> dict[int, tuple[tuple, tuple]]:
    """The rows of `hit: first` tables, by rule index: (its own leaves, [(the earlier row's
    rule index, or None for a row without cells; the `All` restating it)]), read off the
    `when` that `_when` built: `All(own…, Not(Any(All(restated_j)…)))`, restated leaves
    carrying `via = j`. Every backend that evaluates a restated row once per record, not
    once per later row, reads the structure here."""
    rows = {}
    for table in policy.tables:
        if table.hit != "first":
            continue
        for i in table.rules:
            rule = policy.rules[i]
            own = tuple(leaf for leaf in rule.leaves if leaf.via is None)
            restated = restatement(rule.when)[1]
            rows[i] = (own, restated_rows(restated) if restated is not None else ())
    return rows


def restatement(when) -> tuple[object | None, object | None]:
    """A first-hit row's condition split: (its own part, or None when it has no cells; the
    `Not(Any(...))` restating the earlier rows), or (when, None) when it restates none."""
    def restating(node) -> bool:
        return node_kind(node) == NOT and all(leaf.via is not None for leaf in _leaves(node))

    if restating(when):
        return None, when
    items = children(when) if node_kind(when) == ALL else ()
    if items and restating(items[-1]):
        own = items[:-1]
        return (own[0] if len(own) == 1 else All(tuple(own))), items[-1]
    return when, None


def restated_rows(node) -> tuple[tuple[int | None, All], ...]:
    """Each earlier row a restatement names: (its rule index, None for a row without
    cells; the `All` of its cells, restated)."""
    out = []
    for group in children(children(node)[0]):
        if node_kind(group) != ALL:
            raise TypeError(f"a first-hit row restates an earlier row as an `All`, got {group!r}")
        first = next(iter(_leaves(group)), None)
        out.append((first.via if first is not None else None, group))
    return tuple(out)


def _leaves(node) -> list[Comparison]:
    return [leaf for leaf, _ in walk_leaves(node)]
