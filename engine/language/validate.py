"""Validation: a loaded document → the typed `Policy` IR, or located diagnostics.

Two layers. The JSON Schema (`schemas/policy.schema.json`) checks shape; when the shape is
wrong nothing further is checked, since every later check assumes it. Then the builder
resolves names (facts, thresholds, outcomes, outputs, rules) while building the IR (the
operands of comparisons in `operands.py`, the declarations of facts, list items, derived
facts and list outputs in `specs.py`, the expressions of computed outputs and derived
facts in `exprs.py`), and a table of small whole-policy checks runs over the IR (`checks.py`, and
`exprcheck.py` for what expressions can compute). Each check yields diagnostics with a
stable code; `docs/policy-language.md` lists them all.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import replace
from functools import lru_cache

from .checks import CHECKS, stratify
from .diagnostics import ERROR, Diagnostic, did_you_mean, has_errors, pointer_join, type_name
from .exprs import ExprReader, is_expr_form, names_in, number, rounding
from .model import (
    ARRAY,
    DATE,
    SUBJECT_DERIVED,
    SUBJECT_OUTPUT,
    LINT_POLICY_CODES,
    LINT_ROW_CODES,
    LINT_RULE_CODES,
    NUMERIC_TYPES,
    Acknowledgement,
    RESERVED_NAMES,
    SUBJECT_FLAG,
    SUBJECT_OUTCOME,
    SUBJECT_RULE,
    All,
    Any,
    Comparison,
    Effect,
    Length,
    FactSpec,
    Loc,
    Not,
    Operand,
    Outcome,
    OutputSpec,
    Policy,
    Rule,
    Threshold,
)
from .operands import Operands, bool_hint, is_yaml_number
from .specs import Specs
from .schema.validate import check_schema
from .source import Document, SourceMap
from .tables import compile_tables, row_ids, table_set_values
from .templates import template_names
from .values import clip, literal, value_fits

POLICY_SCHEMA = "policy.schema.json"


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    """The IANA zone names (the system's database, or the `tzdata` package), without the
    two that name whatever zone the machine is set to: a policy must mean the same day
    everywhere. `UTC` is accepted even where no database is installed."""
    try:
        return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules"})
    except OSError:  # an unreadable database: only UTC is known
        return frozenset()


def _text_map(value, language: str) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {language: value}
    return dict(value)


class _Builder(Specs, Operands):
    """Builds the IR from schema-valid data, collecting diagnostics on the way."""

    def __init__(self, doc: Document, read=None):
        self.doc = doc
        self.read = read  # a rows file's path (relative to the policy) -> its bytes; OSError if it cannot
        self.data: dict = doc.data  # type: ignore[assignment]
        self.smap: SourceMap = doc.source_map
        self.diags: list[Diagnostic] = []
        self.language = self.data.get("language", "en")

    # -- helpers -----------------------------------------------------------------------
    def report(self, code: str, message: str, pointer: str, *, severity: str = ERROR,
               hint: str | None = None, rule: str | None = None, at_key: bool = False) -> None:
        d = Diagnostic(code, message, severity, pointer=pointer, hint=hint, rule=rule)
        self.diags.append(self.smap.locate(d, prefer_key=at_key))

    def loc(self, pointer: str, at_key: bool = False) -> Loc:
        line, col = self.smap.position(pointer, prefer_key=at_key)
        return Loc(self.smap.file, line, col, pointer)

    # -- facts, thresholds, outcomes, outputs -----------------------------------------
    def facts(self) -> dict[str, FactSpec]:
        out = {}
        for name, spec in self.data["facts"].items():
            ptr = pointer_join("/facts", name)
            ftype = spec["type"]
            if name in RESERVED_NAMES:
                self.report("fact-reserved-name", f"`{name}` is reserved and cannot name a fact", ptr, at_key=True,
                            hint="rename the fact")
            enum, lo, hi = self.scalar_spec(name, spec, ftype, ptr)
            if spec.get("change") == "with_time" and ftype not in NUMERIC_TYPES:
                self.report("fact-with-time-not-numeric", f"`change: with_time` is for day counts (integer or number "
                            f"facts), `{name}` is {ftype}", pointer_join(ptr, "change"),
                            hint="a date fact moves with time by itself: compare it with `{days_ago: N}`"
                            if ftype == DATE else "use `any`, `increase`, `decrease` or `none`")
            items = self.items_spec(name, spec, ftype, ptr, "fact")
            if ftype == ARRAY:
                lo, hi = self.length_bounds(name, spec, ptr)
            fs = FactSpec(
                name=name, type=ftype, description=spec.get("description", ""), unit=spec.get("unit", ""),
                enum=enum, minimum=lo, maximum=hi, default=self.fact_default(ftype, spec.get("default"), items),
                has_default="default" in spec,
                required=spec.get("required", True), remedy=_text_map(spec.get("remedy"), self.language),
                change=spec.get("change", "any"), loc=self.loc(ptr, at_key=True), items=items,
            )
            if fs.has_default and (ftype != ARRAY or items is not None):
                problem = self.value_problem(fs, fs.default)
                if problem:
                    self.report("fact-bad-default", f"default of `{name}` {problem}", pointer_join(ptr, "default"),
                                hint=bool_hint(fs.default) if ftype == "boolean" else None)
            out[name] = fs
        return out

    def thresholds(self) -> dict[str, Threshold]:
        out = {}
        for name, value in self.data.get("thresholds", {}).items():
            ptr = pointer_join("/thresholds", name)
            if name in RESERVED_NAMES:
                self.report("threshold-reserved-name", f"`{name}` is reserved and cannot name a threshold", ptr,
                            at_key=True)
            if name in self.data["facts"]:
                self.report("threshold-shadows-fact", f"threshold `{name}` has the same name as a fact", ptr,
                            at_key=True, hint="rename the threshold, e.g. `min_" + name + "`")
            if isinstance(value, list):
                value = tuple(value)
                kinds = {"number" if type_name(v) in ("integer", "number") else type_name(v) for v in value}
                if len(kinds) > 1:
                    self.report("threshold-mixed-list", f"threshold `{name}` mixes {' and '.join(sorted(kinds))} "
                                "values", ptr, hint="a list threshold holds values of one type")
            out[name] = Threshold(name, value, self.loc(ptr, at_key=True))
        return out

    def outcomes(self) -> tuple[Outcome, ...]:
        out: list[Outcome] = []
        seen: set[str] = set()
        for i, item in enumerate(self.data["outcomes"]):
            ptr = pointer_join("/outcomes", i)
            if isinstance(item, str):
                o = Outcome(item)
            else:
                o = Outcome(item["id"], bool(item.get("adverse", False)), item.get("description", ""),
                            _text_map(item.get("label"), self.language))
            if o.id in seen:
                self.report("outcome-duplicate", f"outcome `{o.id}` is listed twice", ptr)
            seen.add(o.id)
            out.append(o)
        default = self.data.get("default")
        if default is not None and default not in seen:
            self.report("default-unknown-outcome", f"default outcome `{default}` is not in `outcomes`", "/default",
                        hint=did_you_mean(default, seen))
        return tuple(out)

    def outputs(self) -> dict[str, OutputSpec]:
        raw_outputs = self.data.get("outputs", {})
        self.output_order = tuple(raw_outputs)
        set_values: dict[str, list] = {}  # output -> the values rules give it, as written
        for raw_rule in self.data.get("rules", ()):
            for name, value in raw_rule["then"].get("set", {}).items():
                set_values.setdefault(name, []).append(value)
        for name, value in table_set_values(self):
            set_values.setdefault(name, []).append(value)
        out: dict[str, OutputSpec] = {}
        read_by_expressions = set()
        for oname, spec in raw_outputs.items():
            for v in [spec["default"], *set_values.get(oname, ())]:
                if is_expr_form(v, spec["type"]):
                    read_by_expressions |= names_in(v)
        for name, spec in raw_outputs.items():
            ptr = pointer_join("/outputs", name)
            otype = spec["type"]
            numeric = otype in NUMERIC_TYPES
            for key in ("round", "minimum", "maximum"):
                if key in spec and not numeric:
                    self.report("output-not-numeric", f"`{key}` is only for numeric outputs, `{name}` is {otype}",
                                pointer_join(ptr, key), at_key=True)
            # Computed when any value it takes is an expression, or it rounds: then every value
            # is a Decimal (literals too), so `combine` never mixes floats and decimals.
            # And when an expression reads it: its values then enter exact arithmetic, where a
            # binary float's drift (0.1 + 0.2) must not (money never drifts).
            computed = numeric and ("round" in spec or name in read_by_expressions or any(
                is_expr_form(v, otype) for v in [spec["default"], *set_values.get(name, ())]))
            self.computed_outputs[name] = computed
            combine = spec.get("combine")
            self.output_items[name] = items = self.items_spec(name, spec, otype, ptr, "output")
            self.output_combines[name] = combine
            ok, default = self.output_value(name, otype, spec["default"], pointer_join(ptr, "default"), None, out)
            if combine in ("min", "max", "sum") and spec["type"] not in ("integer", "number"):
                self.report("output-bad-combine", f"`combine: {combine}` needs a numeric output, `{name}` is "
                            f"{spec['type']}", pointer_join(ptr, "combine"))
            if combine == "list" and otype != ARRAY:
                self.report("output-bad-combine", f"`combine: list` collects items into a list, but `{name}` is "
                            f"{otype}", pointer_join(ptr, "combine"),
                            hint=f"declare `type: array, items: {{type: {otype}}}, default: []`")
            if combine == "count" and otype != "integer":
                self.report("output-bad-combine", f"`combine: count` counts the contributing rules: `{name}` must be "
                            f"an integer output, not {otype}", pointer_join(ptr, "combine"),
                            hint="declare `type: integer` (the rules' values are not read: write `1`)")
            rnd = None
            if "round" in spec and numeric:
                rnd = rounding(spec["round"], pointer_join(ptr, "round"), self, None)
            lo, hi = (spec.get(k) for k in ("minimum", "maximum"))
            if computed:
                lo, hi = (None if v is None else number(v) for v in (lo, hi))
            out[name] = OutputSpec(name, otype, default if ok else spec["default"], combine,
                                   spec.get("description", ""),
                                   round=rnd, computed=computed, minimum=lo if numeric else None,
                                   maximum=hi if numeric else None, loc=self.loc(ptr, at_key=True), items=items)
        return out

    def output_value(self, name: str, otype: str, raw, ptr: str, rule_id: str | None,
                     outputs: dict[str, OutputSpec]) -> tuple[bool, object]:
        """A rule's `set` value (`rule_id` given) or an output's default, as the IR holds it:
        the literal as written, or (computed output) a `Decimal` or an expression; (False,
        None) after reporting why it is neither."""
        code = "output-type-mismatch" if rule_id is not None else "output-bad-default"
        if isinstance(raw, dict) and otype not in NUMERIC_TYPES:
            self.report(code, f"an expression computes a number but output `{name}` is {otype}", ptr, rule=rule_id)
            return False, None
        if otype == ARRAY:
            items = self.output_items.get(name)
            if items is None:  # (`array-shape`: what an item is is unknown)
                return False, None
            one_item = rule_id is not None and self.output_combines.get(name) == "list"
            return self.array_value(name, items, raw, ptr, rule_id, one_item)
        if self.computed_outputs.get(name) and is_expr_form(raw, otype):
            earlier = self.output_order[:self.output_order.index(name)]
            e = ExprReader(self, outputs, name, earlier, self.output_order).read(raw, ptr, rule_id)
            return e is not None, e
        if not value_fits(otype, raw):
            if rule_id is None:
                self.report(code, f"default of output `{name}` must be {otype}, found {type_name(raw)} "
                            f"`{literal(raw)}`", ptr)
            else:
                self.report(code, f"`{literal(raw)}` is {type_name(raw)} but output `{name}` is {otype}", ptr,
                            rule=rule_id)
            return False, None
        return True, number(raw) if self.computed_outputs.get(name) else raw

    # -- conditions ------------------------------------------------------------------
    def condition(self, node, ptr: str, rule_id: str, leaves: list[Comparison]):
        items = []
        for key, value in node.items():
            kptr = pointer_join(ptr, key)
            if key in ("all", "any"):
                parts = tuple(self.condition(c, pointer_join(kptr, i), rule_id, leaves) for i, c in enumerate(value))
                items.append(All(parts) if key == "all" else Any(parts))
            elif key == "not":
                items.append(Not(self.condition(value, kptr, rule_id, leaves)))
            elif key == SUBJECT_FLAG:
                if value not in self.raised_flags:
                    self.report("unknown-flag", f"no rule raises flag `{value}`", kptr, rule=rule_id,
                                hint=did_you_mean(value, self.raised_flags))
                items.append(self.leaf(leaves, SUBJECT_FLAG, value, "eq", Operand(True), kptr))
            elif key == SUBJECT_RULE:
                if value not in self.rule_ids:
                    self.report("unknown-rule", f"no rule has id `{value}`", kptr, rule=rule_id,
                                hint=did_you_mean(value, self.rule_ids))
                items.append(self.leaf(leaves, SUBJECT_RULE, value, "eq", Operand(True), kptr))
            else:
                items.extend(self.comparisons(key, value, kptr, rule_id, leaves))
        return items[0] if len(items) == 1 else All(tuple(items))

    def leaf(self, leaves: list[Comparison], kind: str, subject: str, op: str, operand, ptr: str) -> Comparison:
        c = Comparison(kind, subject, op, operand, len(leaves), self.loc(ptr, at_key=True))
        leaves.append(c)
        return c

    def comparisons(self, name: str, value, ptr: str, rule_id: str, leaves: list[Comparison]) -> list:
        if name == SUBJECT_OUTCOME:
            spec = FactSpec(SUBJECT_OUTCOME, "string", enum=self.outcome_ids)
            kind = SUBJECT_OUTCOME
        elif name in self.facts_by_name:
            spec = self.facts_by_name[name]
            kind = "fact"
            # Mentioned counts as used even if the comparison below is rejected: otherwise
            # one bad operand also reports a misleading `fact-unused` warning.
            self.mentioned_facts.add(name)
        elif name in self.derived_by_name:
            spec, kind = self.subject_spec(name), SUBJECT_DERIVED
        elif name in self.broken_derived:
            return []  # (its expression is wrong, and was reported: one mistake, one error)
        elif name in self.outputs_by_name:
            # An output as the rules of earlier strata left it (`checks.rule_dependencies`).
            spec, kind = self.subject_spec(name), SUBJECT_OUTPUT
        else:
            self.report("unknown-fact", f"unknown fact `{name}`", ptr, rule=rule_id, at_key=True,
                        hint=did_you_mean(name, list(self.facts_by_name) + [SUBJECT_OUTCOME] + list(self.derived_by_name)
                                          + list(self.outputs_by_name)))
            return []
        ops = value.items() if isinstance(value, dict) else [("eq", value)]
        out = []
        for op, raw in ops:
            optr = pointer_join(ptr, op) if isinstance(value, dict) else ptr
            if op == "length" and spec.type == ARRAY:
                # One leaf per inner comparison: `{length: {gt: 0, lte: 5}}` is two conditions.
                for inner, n in raw.items():
                    iptr = pointer_join(optr, inner)
                    operand = self.length_operand(spec, n, iptr, rule_id)
                    if operand is not None:
                        out.append(self.leaf(leaves, kind, name, op, Length(inner, operand), iptr))
                continue
            operand = self.operand(spec, op, raw, optr, rule_id, kind=kind)
            if operand is not None:
                out.append(self.leaf(leaves, kind, name, op, operand, ptr if not isinstance(value, dict) else optr))
        return out

    def subject_spec(self, name: str) -> FactSpec:
        """What a condition on a derived fact or an output compares with, as a fact's spec:
        its type (a derived fact's inferred one), an output's bounds and items."""
        if name in self.derived_by_name:
            return FactSpec(name, self.derived_by_name[name].type)
        o = self.outputs_by_name[name]
        return FactSpec(name, o.type, minimum=o.minimum, maximum=o.maximum, items=o.items)

    def rules(self) -> tuple[Rule, ...]:
        raw_rules = self.data.get("rules", [])
        # Every id first, table rows' too: a `rule:` condition may name any of them.
        self.row_ids = row_ids(self)
        self.rule_ids = [r["id"] for r in raw_rules] + self.row_ids
        self.raised_flags = sorted({f for r in raw_rules for f in r["then"].get("flags", [])})
        first_seen: dict[str, int] = {}
        out = []
        for i, raw in enumerate(raw_rules):
            ptr = pointer_join("/rules", i)
            rid = raw["id"]
            if rid in first_seen:
                self.report("rule-duplicate-id", f"rule id `{rid}` is already used", pointer_join(ptr, "id"), rule=rid,
                            hint=f"the first `{rid}` is at line {self.smap.position(pointer_join('/rules', first_seen[rid], 'id'))[0]}")
            else:
                first_seen[rid] = i
            leaves: list[Comparison] = []
            when = self.condition(raw["when"], pointer_join(ptr, "when"), rid, leaves)
            then = self.effect(raw["then"], pointer_join(ptr, "then"), rid)
            lint = self.rule_lint(raw.get("lint", {}), pointer_join(ptr, "lint"), rid)
            out.append(Rule(rid, i, when, then, raw.get("description", ""), tuple(leaves), lint,
                            self.loc(ptr), raw.get("lint", {}).get("reason", "")))
        # Table rows follow the rules, tables in order, rows in order (`tables.py`).
        rows, self.built_tables = compile_tables(self, len(out), {
            rid: self.loc(pointer_join("/rules", i, "id")) for rid, i in first_seen.items()})
        return tuple(out) + rows

    def rule_lint(self, raw: dict, ptr: str, rule_id: str) -> tuple[str, ...]:
        """A rule's `lint: {ignore: [...]}`: only findings about a rule can be ignored on one."""
        codes = []
        for i, code in enumerate(raw.get("ignore", ())):
            if code in LINT_POLICY_CODES:
                self.report("lint-ignore-not-applicable", f"`{code}` is a finding about the policy, not about rule "
                            f"`{rule_id}`, so it cannot be ignored here", pointer_join(ptr, "ignore", i), rule=rule_id,
                            hint=f"acknowledge it at the top level: `lint: {{acknowledge: [{{code: {code}, reason: "
                                 "...}]}`")
            elif code not in LINT_RULE_CODES:
                self.report("lint-ignore-not-applicable", f"`{code}` is not a finding about a rule", pointer_join(
                    ptr, "ignore", i), rule=rule_id, hint=did_you_mean(code, LINT_RULE_CODES)
                    or f"a rule can ignore {', '.join(f'`{c}`' for c in LINT_RULE_CODES)}")
            else:
                codes.append(code)
        return tuple(codes)

    def acknowledgements(self) -> tuple[Acknowledgement, ...]:
        """The policy-level `lint: {acknowledge: [...]}`."""
        out = []
        for i, raw in enumerate(self.data.get("lint", {}).get("acknowledge", ())):
            ptr = pointer_join("/lint/acknowledge", i)
            code, rule = raw["code"], raw.get("rule")
            if rule is not None and rule not in self.rule_ids:
                self.report("unknown-rule", f"no rule has id `{rule}`", pointer_join(ptr, "rule"),
                            hint=did_you_mean(rule, self.rule_ids))
            elif rule is not None and code not in LINT_RULE_CODES + LINT_ROW_CODES:
                self.report("lint-ignore-not-applicable", f"`{code}` is a finding about the policy, not about a rule",
                            pointer_join(ptr, "rule"), hint="remove `rule:`")
            elif code in LINT_ROW_CODES and rule not in self.row_ids:
                self.report("lint-ignore-not-applicable", f"`{code}` is a finding about a row of a `hit: first` table: "
                            "name the row", pointer_join(ptr, "rule" if rule is not None else "code"),
                            hint=f"`rule: {self.row_ids[0]}`" if self.row_ids else "this policy has no table rows")
            where, leaves = None, []
            if "where" in raw:
                if code != "gap":
                    self.report("lint-ignore-not-applicable", f"`where` narrows `gap` findings only, not `{code}`",
                                pointer_join(ptr, "where"), at_key=True, hint="use `rule:` to name the rule")
                where = self.condition(raw["where"], pointer_join(ptr, "where"), None, leaves)
                for leaf in leaves:
                    if leaf.kind != "fact":
                        self.report("lint-ignore-not-applicable", "a gap region is a set of fact values: `where` "
                                    f"cannot test `{leaf.kind}`", leaf.loc.pointer, at_key=True,
                                    hint="bound the facts it is computed from" if leaf.kind == SUBJECT_DERIVED
                                    else None)
                    elif any(isinstance(o, Operand) and o.fact is not None
                             for o in (leaf.operand if isinstance(leaf.operand, tuple) else (leaf.operand,))):
                        self.report("lint-ignore-not-applicable", "a gap region is a set of fact values: `where` "
                                    "cannot compare two facts", leaf.loc.pointer, at_key=True,
                                    hint="bound each fact with values or thresholds")
            out.append(Acknowledgement(code, raw["reason"], rule, where, tuple(leaves), self.loc(ptr)))
        return tuple(out)

    def effect(self, raw: dict, ptr: str, rule_id: str) -> Effect:
        outcome = raw.get("outcome")
        if outcome is not None and outcome not in self.outcome_ids:
            self.report("unknown-outcome", f"outcome `{outcome}` is not declared in `outcomes`",
                        pointer_join(ptr, "outcome"), rule=rule_id, hint=did_you_mean(outcome, self.outcome_ids))
        reason = raw.get("reason")
        declared_reasons = self.data.get("reasons")
        if reason is not None and declared_reasons is not None and reason not in declared_reasons:
            self.report("unknown-reason", f"reason code `{reason}` is not declared in `reasons`",
                        pointer_join(ptr, "reason"), rule=rule_id, hint=did_you_mean(reason, declared_reasons))
        message = _text_map(raw.get("message"), self.language)
        if message:
            self.check_template(message, pointer_join(ptr, "message"), rule_id)
        sets = []
        for name, value in raw.get("set", {}).items():
            sptr = pointer_join(ptr, "set", name)
            spec = self.outputs_by_name.get(name)
            if spec is None:
                self.report("unknown-output", f"output `{name}` is not declared in `outputs`", sptr, rule=rule_id,
                            at_key=True, hint=did_you_mean(name, self.outputs_by_name) or "declare it under `outputs:`")
                continue
            ok, value = self.output_value(name, spec.type, value, sptr, rule_id, self.outputs_by_name)
            if ok:
                sets.append((name, value))
        return Effect(outcome, reason, message, tuple(raw.get("flags", ())), tuple(sets))

    def check_template(self, message: dict[str, str], ptr: str, rule_id: str | None, what: str = "message") -> None:
        known = set(self.facts_by_name) | set(self.thresholds_by_name) | set(self.outputs_by_name) \
            | set(self.derived_by_name) | self.broken_derived
        for lang, template in message.items():
            lptr = ptr if len(message) == 1 and not isinstance(self.at(ptr), dict) else pointer_join(ptr, lang)
            names, problem = template_names(template)
            if problem:
                self.report("template-syntax", f"{what} template: {problem}", lptr, rule=rule_id)
                continue
            for n in names:
                if n not in known:
                    self.report("template-unknown-name", f"{what} names `{{{n}}}`, which is not a declared fact, "
                                f"{'derived fact, ' if self.derived_by_name else ''}threshold or output", lptr,
                                rule=rule_id, hint=did_you_mean(n, known))
                elif n in self.thresholds_by_name:
                    self.used_thresholds.add(n)
                if n.spec and n in known:
                    kind = self.placeholder_kind(n)
                    if kind is not None:
                        self.report("template-format-type", f"{what} formats `{{{n}:{n.spec}}}` as a number, but "
                                    f"{kind}", lptr, rule=rule_id, hint=f"write `{{{n}}}` without a format")

    def placeholder_kind(self, name: str) -> str | None:
        """Why a placeholder's value is not a number (what it is), or None when it is one. The
        name is looked up as rendering does: a fact, else an output, else a threshold."""
        if name in self.facts_by_name:
            f = self.facts_by_name[name]
            return None if f.type in NUMERIC_TYPES else f"fact `{name}` is {f.type}"
        if name in self.derived_by_name or name in self.broken_derived:
            return None  # a derived fact is always a number
        if name in self.outputs_by_name:
            o = self.outputs_by_name[name]
            return None if o.type in NUMERIC_TYPES else f"output `{name}` is {o.type}"
        v = self.thresholds_by_name[name].value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return None
        return f"threshold `{name}` is {'a list' if isinstance(v, tuple) else type_name(v)}"

    def at(self, ptr: str):
        node = self.data
        for part in ptr.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def misused_thresholds(self) -> None:
        """A threshold whose value has the wrong type for the facts it is compared with: one
        error at its own line (that is the line to fix), its uses as related locations."""
        for name, uses in self.misused.items():
            t = self.thresholds_by_name[name]
            related = tuple((self.smap.file, *self.smap.position(p), p, f"{m}, in rule `{r}`") for m, p, r in uses)
            known = [i for i, d in enumerate(self.diags) if d.pointer == t.loc.pointer and d.severity == ERROR]
            if known:  # already wrong at its declaration (`threshold-mixed-list`): one error, with the uses
                self.diags[known[0]] = replace(self.diags[known[0]], related=related)
                continue
            message, _, rule_id = uses[0]
            hint = None
            if isinstance(t.value, str) and is_yaml_number(t.value):
                hint = f"drop the quotes: `{name}: {t.value}`"
            related = tuple((self.smap.file, *self.smap.position(p), p, f"used in rule `{r}`") for _, p, r in uses)
            d = Diagnostic("operand-type-mismatch", message, ERROR, pointer=t.loc.pointer, hint=hint, rule=rule_id,
                           related=related)
            self.diags.append(d.located(t.loc.file, t.loc.line, t.loc.column))

    def timezone(self) -> str:
        """The declared `timezone`, checked against the IANA database (`UTC` when none)."""
        name = self.data.get("timezone", "UTC")
        if name != "UTC" and name not in _time_zones():
            by_case = {z.lower(): z for z in _time_zones()}
            hint = (f"did you mean `{by_case[name.lower()]}`?" if name.lower() in by_case
                    else did_you_mean(name, _time_zones())) or "e.g. `Asia/Shanghai` or `UTC`"
            self.report("timezone-unknown", f"`{clip(name)}` is not an IANA time zone", "/timezone", hint=hint)
        return name

    # -- the whole policy ------------------------------------------------------------------
    def build(self) -> Policy | None:
        self.used_thresholds: set[str] = set()
        self.mentioned_facts: set[str] = set()
        self.facts_by_name = self.facts()
        self.thresholds_by_name = self.thresholds()
        outcomes = self.outcomes()
        self.outcome_ids = tuple(o.id for o in outcomes)
        self.derived_by_name = self.derived()
        self.computed_outputs: dict[str, bool] = {}
        self.output_items: dict[str, FactSpec | None] = {}
        self.output_combines: dict[str, str | None] = {}
        self.output_clashes()
        self.outputs_by_name = self.outputs()
        self.misused: dict[str, list[tuple[str, str, str]]] = {}
        rules = self.rules()
        acknowledged = self.acknowledgements()
        self.misused_thresholds()
        reasons = {code: _text_map(text, self.language) for code, text in self.data.get("reasons", {}).items()}
        for code, texts in reasons.items():
            # Reason texts are rendered like messages (when a rule has no message of its own).
            self.check_template(texts, pointer_join("/reasons", code), None, what="reason text")
        timezone = self.timezone()
        digest = "sha256:" + hashlib.sha256(self.doc.text.encode("utf-8")).hexdigest()
        policy = Policy(
            id=self.data["policy"], version=self.data["version"], title=self.data.get("title", ""),
            description=self.data.get("description", ""), language=self.language, facts=self.facts_by_name,
            thresholds=self.thresholds_by_name, outcomes=outcomes, default=self.data.get("default"),
            outputs=self.outputs_by_name, reasons=reasons, rules=rules, strata=(), digest=digest,
            path=self.smap.file, extras={"id_loc": self.loc("/policy")}, acknowledged=acknowledged,
            timezone=timezone, max_wait_days=self.data.get("max_wait_days", 365), derived=self.derived_by_name,
            tables=self.built_tables,
        )
        for check in CHECKS:
            self.diags.extend(d if d.line else self.smap.locate(d) for d in check(policy, self))
        if has_errors(self.diags):
            return None
        strata = stratify(policy)
        if isinstance(strata, Diagnostic):
            self.diags.append(strata)
            return None
        return Policy(**{**policy.__dict__, "strata": strata})


def validate(doc: Document, read=None) -> tuple[Policy | None, list[Diagnostic]]:
    """Check a loaded document; return the Policy IR (None when any error) and diagnostics.
    `read`: the policy's attached files (tables' CSV rows), path as written -> bytes."""
    if not isinstance(doc.data, dict):
        return None, [doc.source_map.locate(Diagnostic("policy-not-mapping",
                                                       "a policy must be a mapping of keys to values", ERROR))]
    diags = check_schema(doc.data, doc.source_map, POLICY_SCHEMA)
    if not diags and type(doc.data["version"]) is float:
        # JSON Schema counts 1.0 as an integer; YAML wrote a number, and `1.0` would be
        # reported as `1.0` while `2.1` is refused: a dotted version is text, quoted.
        diags = [doc.source_map.locate(Diagnostic(
            "schema-type", f"expected integer or string, found number `{literal(doc.data['version'])}`", ERROR,
            pointer="/version", hint=f"quote a dotted version: `version: \"{literal(doc.data['version'])}\"`"))]
    if diags:
        return None, diags
    builder = _Builder(doc, read)
    policy = builder.build()
    return policy, builder.diags
