"""Decision tables in explanations: a decision a table's row made is shown as the table,
the user's values over its input columns and the applied row marked, not as N rules.

Every row compiled to one `Rule` (`Rule.table`), so the decision's matches and trace
already say everything; this module only lays them out, for `render.explain_text` and
`render.explain_markdown`. Nothing is evaluated here.

Row marks: `▶` applied (it decided the outcome, or contributed its outputs), `✓` matched
but lost on outcome precedence, `·` did not match, `?` unknown (a missing fact). Under
`hit: first` a row's conditions include the earlier rows' cells restated ("and no earlier
row applies": leaves with `via` set); they are never shown as the row's conditions: the
applied row's line says "no earlier row applied" instead.

A big table (more than `BIG_TABLE` rows) shows the rows near the rows that matter (applied,
matched, unknown: `CONTEXT` either side) and one elision line per run of rows left out.
"""

from __future__ import annotations

from ..language.exprs import expr_text
from ..language.model import Policy, Rule, Table, is_expr
from ..language.templates import pick_language
from ..language.values import clip, format_value
from ..runtime.decision import Decision
from .wording import blocked_by, describe_leaf, rule_conditions, rule_message, undecided_because, unknown_outputs
from .ci import md_escape

BIG_TABLE = 12  # rows shown in full up to this many
CONTEXT = 2  # rows shown either side of a row that matters, in a big table

APPLIED, MATCHED, NO, UNKNOWN = "▶", "✓", "·", "?"
_LEGEND = {APPLIED: "applied", MATCHED: "matched, lost on precedence", NO: "did not apply",
           UNKNOWN: "unknown (missing facts)"}


def table_rules(policy: Policy, table: Table) -> list[Rule]:
    return [policy.rules[i] for i in table.rules]


def row_mark(rule: Rule, decision: Decision) -> str:
    m = decision.matched[rule.index]
    if m is None:
        return UNKNOWN
    if m is False:
        return NO
    if rule.decides_outcome and rule.index not in decision.decided_by:
        return MATCHED
    return APPLIED


def shows_id(table: Table, rules: list[Rule]) -> bool:
    """Whether the rows carry ids of their own (`id_column: true`), not `table#row`."""
    return any(r.id != f"{table.id}#{r.table.row}" for r in rules)


def relevant(policy: Policy, table: Table, decision: Decision) -> bool:
    """Whether the text form draws the table: a table that only sets outputs always; an
    outcome table when a row applied, matched or is unknown, or a row's better outcome was
    not reached (as the text form lists better outcome rules not reached)."""
    rules = table_rules(policy, table)
    if not any(r.decides_outcome for r in rules):
        return True
    if any(decision.matched[r.index] is not False for r in rules):
        return True
    return any(_better(policy, decision, r) for r in rules)


def _better(policy: Policy, decision: Decision, rule: Rule) -> bool:
    if not rule.decides_outcome:
        return False
    prec = {o.id: i for i, o in enumerate(policy.outcomes)}
    return (prec[rule.then.outcome] < prec.get(decision.outcome, len(prec))
            and not policy.outcome(rule.then.outcome).adverse)


def input_value(policy: Policy, decision: Decision, name: str) -> str:
    """The user's value of an input column: a fact, a derived fact, or an output (`?`
    while it is unknown: a row that sets it could not be decided)."""
    if name in policy.facts:
        return format_value(decision.facts.get(name))
    if name in policy.derived:
        return format_value(decision.derived.get(name))
    if name in policy.outputs:
        return "?" if name in unknown_outputs(decision) else format_value(decision.outputs.get(name))
    return "?"


def undecided_reason(view: "TableView", k: int, decision: Decision) -> str:
    """Why row k (marked `?`) could not be decided: its own cells' missing facts and
    unknown outputs, and under `hit: first` the earlier rows that may apply."""
    rule = view.rules[k]
    own = undecided_because(rule_conditions(rule, decision), decision)
    earlier = [str(r.table.row) for r in blocked_by(rule, decision)]
    if not own and not earlier:  # (a trace without the restated cells: the earlier `?` rows)
        earlier = [str(j + 1) for j in range(k) if view.marks[j] == UNKNOWN]
    parts = ([own] if own else []) + ([f"earlier row{'s' if len(earlier) != 1 else ''} {', '.join(earlier)} "
                                       "may apply"] if earlier else [])
    return "; ".join(parts)


def output_cell(rule: Rule, column: str, decision: Decision, lang: str | None) -> str:
    """A row's output cell as the author wrote it: `-` when the row does not set it."""
    then = rule.then
    if column == "outcome":
        return then.outcome or "-"
    if column == "reason":
        return then.reason or "-"
    if column == "message":
        text = pick_language(then.message, lang, decision.policy)
        return clip(text) if text else "-"
    for name, value in then.set:
        if name == column:
            return expr_text(value) if is_expr(value) else format_value(value)
    return "-"


def shown_rows(table: Table, marks: list[str]) -> list[int | tuple[int, int]]:
    """Row positions (0-based) to draw, with `(first, last)` for a run of rows left out."""
    n = len(table.rules)
    if n <= BIG_TABLE:
        return list(range(n))
    keep: set[int] = set()
    anchors = [k for k, m in enumerate(marks) if m != NO] or [0]
    for k in anchors:
        keep.update(range(max(0, k - CONTEXT), min(n, k + CONTEXT + 1)))
    out: list = []
    k = 0
    while k < n:
        if k in keep:
            out.append(k)
            k += 1
            continue
        start = k
        while k < n and k not in keep:
            k += 1
        out.append((start, k - 1))
    return out


def elision(run: tuple[int, int]) -> str:
    first, last = run[0] + 1, run[1] + 1
    count = last - first + 1
    return f"rows {first}–{last} not shown ({count} row{'s' if count != 1 else ''}, none applied)"


class TableView:
    """One table laid out for a decision: its header, the user's row, the rows shown."""

    def __init__(self, table: Table, decision: Decision, lang: str | None):
        policy = decision.policy
        self.table = table
        self.decision = decision
        self.rules = table_rules(policy, table)
        self.marks = [row_mark(r, decision) for r in self.rules]
        self.with_id = shows_id(table, self.rules)
        self.header = ["#"] + (["id"] if self.with_id else []) + list(table.inputs)
        self.out_header = list(table.columns)
        self.values = [input_value(policy, decision, i) for i in table.inputs]
        self.rows = shown_rows(table, self.marks)
        self.lang = lang

    def row_cells(self, k: int) -> tuple[list[str], list[str]]:
        rule = self.rules[k]
        left = [str(k + 1)] + ([rule.id] if self.with_id else []) + list(self.table.cells[k])
        right = [output_cell(rule, c, self.decision, self.lang) for c in self.table.columns]
        return left, right

    def applied(self) -> list[int]:
        return [k for k, m in enumerate(self.marks) if m == APPLIED]

    def legend(self) -> str:
        used = [m for m in _LEGEND if m in {self.marks[k] for k in self.rows if isinstance(k, int)}]
        return "  ".join(f"{m} {_LEGEND[m]}" for m in used)

    def head(self) -> str:
        t = self.table
        return f"table {t.id} (hit: {t.hit})"

    def first_hit_note(self, k: int) -> str | None:
        """For `hit: first`, what row k's applying also says about the rows before it."""
        if self.table.hit != "first" or k == 0:
            return None
        return f"no earlier row applied (rows 1–{k})" if k > 1 else "no earlier row applied (row 1)"

    # -- layouts -------------------------------------------------------------------------

    def text_grid(self, indent: str = "    ") -> list[str]:
        """The table as aligned text: a header, the user's values (`user`), the rows shown
        with their marks, `│` between the input and the output columns."""
        lines: list[tuple[str, list[str], list[str]]] = [(" ", self.header, self.out_header),
                                                         (" ", ["user", *([""] if self.with_id else []), *self.values],
                                                          [""] * len(self.out_header))]
        for k in self.rows:
            if isinstance(k, int):
                left, right = self.row_cells(k)
                lines.append((self.marks[k], left, right))
            else:
                lines.append(("…", [elision(k)], []))
        widths = [max(len(cells[c]) for _, cells, _ in lines if len(cells) == len(self.header))
                  for c in range(len(self.header))]
        out_widths = [max(len(cells[c]) for _, _, cells in lines if len(cells) == len(self.out_header))
                      for c in range(len(self.out_header))]
        text = []
        for mark, left, right in lines:
            if len(left) != len(self.header):  # an elision line
                text.append(f"{indent}{mark} {left[0]}")
                continue
            row = "  ".join(cell.ljust(w) for cell, w in zip(left, widths))
            outs = "  ".join(cell.ljust(w) for cell, w in zip(right, out_widths))
            text.append(f"{indent}{mark} {row}  │ {outs}".rstrip())
        return text

    def markdown_grid(self) -> list[str]:
        """The table as a Markdown table: a mark column, the input columns, the outputs."""
        cols = ["", *self.header, *self.out_header]
        lines = ["| " + " | ".join(md_cell(c) for c in cols) + " |",
                 "|" + "|".join("---" for _ in cols) + "|"]
        user = ["", "*user*", *([""] if self.with_id else []), *self.values, *[""] * len(self.out_header)]
        lines.append("| " + " | ".join(md_cell(c) for c in user) + " |")
        for k in self.rows:
            if isinstance(k, int):
                left, right = self.row_cells(k)
                if self.with_id:
                    left[1] = f"`{left[1]}`"
                lines.append("| " + " | ".join(md_cell(c) for c in [self.marks[k], *left, *right]) + " |")
            else:
                lines.append("| … | " + " | ".join([f"*{elision(k)}*"] + [""] * (len(cols) - 2)) + " |")
        return lines


_LINE_BREAKS = str.maketrans({"\r": "\\r", "\n": "\\n", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def md_cell(text: str) -> str:
    """Text in a Markdown table cell of an explanation: escaped as `ci.md_escape` escapes
    (no column break, no HTML, no link), and no row break (a line break in a user's value
    is shown as `\\n`)."""
    return md_escape(text).translate(_LINE_BREAKS) if text else " "


def md_line(text: str) -> str:
    """Text in a Markdown list item or line of an explanation: as in a cell, so a line
    break in a user's value does not end the item either."""
    return md_cell(text) if text else ""


# -- the table in the text and Markdown forms ----------------------------------------------

def table_lines(view: TableView, decision: Decision, lang: str | None) -> list[str]:
    """A table in the text form: its head, the grid, then what the marked rows mean: the
    applied rows' own conditions (and, under `hit: first`, that no earlier row applied),
    rows whose better outcome was not reached and why, rows that could not be decided."""
    policy, table = decision.policy, view.table
    where = f"{table.loc.file}:{table.loc.line}" if table.loc else ""
    lines = [f"  {view.head()}" + (f"      {where}" if where else "")]
    lines += view.text_grid()
    legend = view.legend()
    if legend:
        lines.append(f"    ({legend})")
    applied = view.applied()
    prec = {o.id: i for i, o in enumerate(policy.outcomes)}
    current = prec.get(decision.outcome, len(prec))
    shown = {k for k in view.rows if isinstance(k, int)}  # a big table's rows left out are not explained
    later: list[str] = []  # rows not applied, after the applied rows
    for k, r in enumerate(view.rules):
        mark = view.marks[k]
        name = f"row {k + 1}" + (f" {r.id}" if view.with_id else "")
        conds = rule_conditions(r, decision)
        if mark == APPLIED:
            reason = f" [{r.then.reason}]" if r.then.reason else ""
            own = "; ".join(describe_leaf(leaf, decision, res) for leaf, res, _ in conds) or "every cell is `-`"
            where = f"      {r.loc.file}:{r.loc.line}" if r.loc else ""
            lines.append(f"  {'✗' if r.decides_outcome and decision.adverse else '▶'} {name} applied{reason}: {own}{where}")
            note = view.first_hit_note(k)
            if note:
                lines.append(f"      {note}")
            msg = rule_message(r, decision, lang)
            if msg and (r.then.reason or r.then.message):
                lines.append(f"      {msg}")
        elif mark == UNKNOWN:
            later.append(f"  ? {name} could not be decided: {undecided_reason(view, k, decision)}")
        elif mark == MATCHED:
            continue  # the mark says it: matched, lost on outcome precedence
        elif (k in shown and r.decides_outcome and prec[r.then.outcome] < current
              and not policy.outcome(r.then.outcome).adverse):
            failed = [describe_leaf(leaf, decision, res) for leaf, res, neg in conds
                      if (res is False and not neg) or (res is True and neg)]
            why = "; ".join(dict.fromkeys(failed)) or "an earlier row applied"
            later.append(f"  · {name} ({r.then.outcome}) not reached: {why}")
    lines += later
    if not applied and not any(m in (MATCHED, UNKNOWN) for m in view.marks):
        lines.append("  · no row applied: the table contributes nothing")
    return lines


def table_markdown(view: TableView, decision: Decision) -> list[str]:
    """A table in Markdown: its head, the grid, the applied rows' own conditions, the rows
    that could not be decided and why."""
    table = view.table
    lines = [f"**Table `{table.id}`** (hit: {table.hit})", ""]
    lines += view.markdown_grid()
    notes = []
    for k in view.applied():
        r = view.rules[k]
        conds = "; ".join(describe_leaf(leaf, decision, res) for leaf, res, _ in rule_conditions(r, decision))
        name = f"Row {k + 1}" + (f" (`{r.id}`)" if view.with_id else "")
        note = view.first_hit_note(k)
        notes.append(f"- {name} applied: {md_line(conds) or 'every cell is `-`'}" + (f"; {md_line(note)}" if note else ""))
    for k, mark in enumerate(view.marks):
        if mark == UNKNOWN:
            r = view.rules[k]
            name = f"Row {k + 1}" + (f" (`{r.id}`)" if view.with_id else "")
            notes.append(f"- {name} could not be decided: {md_line(undecided_reason(view, k, decision))}")
    if not view.applied() and UNKNOWN not in view.marks:
        notes.append("- No row applied: the table contributes nothing.")
    legend = view.legend()
    return lines + [""] + notes + (["", f"*{legend}*"] if legend else [])
