"""The decision query: a policy's IR as one SQL SELECT over the staged facts relation.

Built with sqlglot's expression tree (identifiers quoted, literals as typed literals; no
policy text is ever parsed as SQL) as a chain of nested selects, each adding columns the
next reads:

1. staging: every declared fact cast to its type with its default applied
   (`COALESCE`), and `__rejected` (`validation`); a fact's column is `__f<i>` inside the
   query, so no policy name can collide with ours;
2. the derived facts' exact DECIMAL columns (`derived`), then per stratum
   (`Policy.strata`), the conclusions earlier strata drew (`__o<s>` the outcome, `__k<s>`
   whether it is known, `__g<s>_<k>` the flags, `__u<s>_<j>` the outputs its conditions
   read; only those that the stratum reads), the earlier table rows its `hit: first` rows
   restate (`__w<j>_<n>`, `leaves.LeafMixin._restated`), and then its rules' matches `__m_<i>`: a condition is its leaves under
   AND/OR/NOT, and SQL's three-valued logic with a missing fact as NULL is exactly the
   Kleene logic of `runtime.semantics` (a leaf on a NULL is NULL; no list ever holds a
   NULL, so `NOT IN` keeps its meaning). Numbers are compared exactly (`literals`);
3. the outcome by precedence and whether it is known (`semantics.Plan.select_outcome`
   written as CASE), the deciding rules `__d<i>`, adverse;
4. outputs with `combine` (`first` and `min`/`max` as CASE over the candidate literals in
   rule order or value order, `sum` as additions in rule order, `list` as the contributing
   rules' items in rule order, `count` as their number, each with the declared default
   when no rule contributes), which messages read;
5. each reason rule's struct (code, rule, message), NULL where it does not apply, and the
   principal reasons' selection (ranked by the policy's `reasons:` order, one rule per
   code, at most `MAX_PRINCIPAL_REASONS`);
6. the decision columns of the contract (`decision_query`), NULL on rejected rows.

Everything mirrors `runtime.decision.assemble` and `explain.render.decision_dict`; the
agreement tests compare them field by field.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from sqlglot import exp

from ...errors import BackendError
from ...language.model import (PRESENCE_OP, SUBJECT_DERIVED, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_OUTPUT,
                               SUBJECT_RULE, Operand, Policy)
from ...language.templates import template_parts
from ...runtime import semantics
from ...runtime.semantics import Plan
from .computed import add_computed, formatted_facts, output_field
from .decimals import NATIVE
from .derived import add_derived
from .dialects import col, check_dialect, compact, dtype, empty_list, ident, struct, struct_type
from .literals import INT_MAX, literal, spec_literal, spec_sql_type
from .leaves import LeafMixin, _and, _bool, _case, _not, _null, _or, _str, _true
from .messages import costly, message, placeholder, rule_template
from .validation import rejected

MAX_PRINCIPAL_REASONS = 4  # = explain.render.MAX_PRINCIPAL_REASONS (tested)
RESERVED = ("__row", "__type_error", "__rejected")

DECISION_COLUMNS = ("policy", "version", "policy_digest", "outcome", "outcome_known", "adverse", "decided_by",
                    "reasons", "messages", "principal_reasons", "notices", "flags", "outputs", "missing_facts",
                    "undetermined_rules")


@dataclass
class _Chain:
    """Nested selects: each layer selects the kept columns of the one below plus its own."""

    tree: exp.Expression
    columns: list[str] = field(default_factory=list)
    depth: int = 0
    fence: bool = False  # PostgreSQL: `OFFSET 0` keeps each layer a layer (see `add`)

    def add(self, new: list[tuple[str, exp.Expression]]) -> None:
        if not new:
            return
        select = exp.select(*[col(c) for c in self.columns], *[e.as_(ident(n), quoted=True) for n, e in new])
        if self.fence:
            # PostgreSQL pulls simple subqueries up into the query above, pasting a column's
            # whole expression wherever it is read: a formatted decimal reads its value a few
            # hundred times, and the planner ran out of memory (killed, measured). OFFSET 0
            # is its documented fence: each layer is computed once per row.
            select = select.offset(0)
        self.depth += 1
        self.tree = select.from_(exp.Subquery(this=self.tree, alias=exp.TableAlias(this=ident(f"__l{self.depth}"))))
        self.columns += [n for n, _ in new]

    def replace(self, name: str, value: exp.Expression) -> None:
        """A layer that redefines column `name` (the others kept as they are)."""
        select = exp.select(*[col(c) for c in self.columns if c != name], value.as_(ident(name), quoted=True))
        if self.fence:
            select = select.offset(0)
        self.depth += 1
        self.tree = select.from_(exp.Subquery(this=self.tree, alias=exp.TableAlias(this=ident(f"__l{self.depth}"))))
        self.columns = [c for c in self.columns if c != name] + [name]


def _source(source) -> exp.Expression:
    if isinstance(source, exp.Expression):
        if isinstance(source, exp.Subquery):
            source = source.this
        if isinstance(source, exp.Table):
            return exp.alias_(source.copy(), ident("__src"), table=True)
        return exp.Subquery(this=source.copy(), alias=exp.TableAlias(this=ident("__src")))
    if not isinstance(source, str) or not source or any(not part for part in source.split(".")):
        raise BackendError(f"a table name must be dot-separated non-empty names, got `{source}`")
    parts = source.split(".")
    if len(parts) > 3:
        raise BackendError(f"a table name has at most three parts (catalog.schema.table), got `{source}`")
    kw = dict(zip(("table", "db", "catalog"), reversed(parts)))
    table = exp.table_(kw["table"], db=kw.get("db"), catalog=kw.get("catalog"), quoted=True)
    return table.as_(ident("__src"))



class QueryBuilder(LeafMixin):
    """One policy's decision query (or its matches-only part) for one dialect, on one
    evaluation date (`as_of`; None: today in the policy's timezone)."""

    def __init__(self, policy: Policy, dialect: str = "duckdb", lang: str | None = None,
                 as_of: datetime.date | None = None):
        self.policy = policy
        self.as_of = as_of if as_of is not None else semantics.today(policy.timezone)
        self.dialect = check_dialect(dialect)
        self.lang = lang
        self.plan = Plan(policy)
        self.fact_col = {name: f"__f{i}" for i, name in enumerate(policy.facts)}
        for name in RESERVED:
            if name in policy.facts:
                raise BackendError(f"fact `{name}` has a name the SQL form reserves for its own columns")
        if dialect == "postgres":  # PostgreSQL cuts longer names, so two facts could meet in one column
            for name in policy.facts:
                if len(name.encode("utf-8")) > 63:
                    raise BackendError(f"fact `{name}` has a name longer than PostgreSQL's 63 bytes")

    # -- 1. staging -----------------------------------------------------------------------

    def staging(self, source, *, id_field: str | None, type_error: bool, row: bool) -> _Chain:
        src = _source(source)
        raw = {name: exp.Cast(this=exp.Column(this=ident(name), table=ident("__src")), to=dtype(spec_sql_type(spec)))
               for name, spec in self.policy.facts.items()}
        cols: list[exp.Expression] = []
        names: list[str] = []
        if row:
            cols.append(exp.Column(this=ident("__row"), table=ident("__src")).as_(ident("__row"), quoted=True))
            names.append("__row")
        if id_field is not None:
            if id_field in RESERVED or id_field.startswith("__"):
                raise BackendError(f"the id column `{id_field}` has a name the SQL form reserves")
            cols.append(exp.Column(this=ident(id_field), table=ident("__src")).as_(ident(id_field), quoted=True))
            names.append(id_field)
        error = exp.Column(this=ident("__type_error"), table=ident("__src")) if type_error else None
        cols.append(rejected(self.policy, raw, error, self.dialect).as_(ident("__rejected"), quoted=True))
        names.append("__rejected")
        for name, spec in self.policy.facts.items():
            value = raw[name]
            if spec.has_default and spec.default is not None:
                try:
                    default = spec_literal(spec, spec.default)
                except BackendError as exc:
                    raise type(exc)(f"fact `{name}`, its default: {exc}") from None
                value = exp.Coalesce(this=value, expressions=[default])
            cols.append(value.as_(ident(self.fact_col[name]), quoted=True))
            names.append(self.fact_col[name])
        return _Chain(exp.select(*cols).from_(src), names, fence=self.dialect == "postgres")

    # -- 2. strata ------------------------------------------------------------------------

    def _outcome(self, matched: dict[int, exp.Expression]) -> tuple[exp.Expression, exp.Expression]:
        """(outcome, known) of `Plan.select_outcome` over the rules evaluated so far (the
        others count as not matched, as in `reference_matches`)."""
        outcome_ifs, known_ifs, unknown_before = [], [], []
        for outcome, rules in self.plan.outcome_rules:
            done = [matched[i] for i in rules if i in matched]
            if not done:
                continue
            hit = _or([_true(m.copy()) for m in done])
            outcome_ifs.append((hit, exp.Literal.string(outcome)))
            known_ifs.append((hit.copy(), _not(_or([u.copy() for u in unknown_before]))
                              if unknown_before else _bool(True)))
            unknown_before += [_null(m.copy()) for m in done]
        default = _str(self.policy.default)
        known_default = _not(_or([u.copy() for u in unknown_before])) if unknown_before else _bool(True)
        return _case(outcome_ifs, default), _case(known_ifs, known_default)

    def _flag(self, flag: str, matched: dict[int, exp.Expression]) -> exp.Expression:
        done = [matched[i].copy() for i in self.plan.flag_setters.get(flag, ()) if i in matched]
        return _or(done) if done else _bool(False)

    def _flag_col(self, stratum: int, flag: str) -> str:
        return f"__g{stratum}_{self.flag_ids[flag]}"

    def strata(self, chain: _Chain) -> dict[int, exp.Expression]:
        self.flag_ids = {f: k for k, f in enumerate(sorted(self.plan.flag_setters))}
        add_derived(self, chain)
        self._groups: dict = {}  # restated rows' columns (`_restated`)
        self.output_ids = {name: j for j, name in enumerate(self.policy.outputs)}
        matched: dict[int, exp.Expression] = {}
        for s, stratum in enumerate(self.policy.strata):
            reads = [leaf for i in stratum for leaf in self.policy.rules[i].leaves]
            conclusions: list[tuple[str, exp.Expression]] = []
            seen = [n for n in self.policy.outputs if any(
                leaf.kind == SUBJECT_OUTPUT and leaf.subject == n for leaf in reads)]
            by_outcome = any(self.policy.rules[i].decides_outcome for n in seen for i, _ in self._setters(n))
            if any(leaf.kind == SUBJECT_OUTCOME for leaf in reads) or by_outcome:
                outcome, known = self._outcome(matched)
                conclusions += [(f"__o{s}", outcome), (f"__k{s}", known)]
            flags = sorted({leaf.subject for leaf in reads if leaf.kind == SUBJECT_FLAG})
            for f in flags:
                if f not in self.flag_ids:
                    self.flag_ids[f] = len(self.flag_ids)
                conclusions.append((self._flag_col(s, f), self._flag(f, matched)))
            if conclusions:
                chain.add(conclusions)
            chain.add([(self._output_col(s, n), self._seen_output(n, s, matched)) for n in seen])
            restated, rewritten = self._restated(s, list(stratum))
            chain.add(restated)
            chain.add([(f"__m_{i}", self.condition(rewritten.get(i, self.policy.rules[i].when), s)) for i in stratum])
            for i in stratum:
                matched[i] = col(f"__m_{i}")
        return matched

    # -- what an accepted record can leave unknown ----------------------------------------

    def nullable_facts(self) -> set[str]:
        """Facts that can be NULL in a record the query accepts: a required fact without a
        default is present there (its absence rejects the record)."""
        return {n for n, s in self.policy.facts.items()
                if not (s.has_default and s.default is not None) and not (s.required and not s.has_default)}

    def maybe_unknown(self) -> set[int]:
        """Rules whose match can be unknown in an accepted record: a leaf on a nullable fact,
        or on a conclusion (rule, flag, outcome) an unknown rule can leave unknown. The
        decision query leaves out what no record can have (an `undetermined_rules` entry for
        a rule on required facts, say): the same values, less work per row."""
        nullable, plan = self.nullable_facts(), self.plan
        unknown: set[int] = set()
        for stratum in self.policy.strata:
            for i in stratum:
                for leaf in self.policy.rules[i].leaves:
                    if leaf.kind == "fact":  # a presence test is never unknown
                        others = [o.fact for o in (leaf.operand if isinstance(leaf.operand, tuple)
                                                   else (leaf.operand,)) if isinstance(o, Operand)]
                        u = leaf.op != PRESENCE_OP and (leaf.subject in nullable or any(
                            n is not None and (n in nullable or n in self.policy.derived) for n in others))
                    elif leaf.kind in (SUBJECT_DERIVED, SUBJECT_OUTPUT):  # (as if always possibly unknown)
                        u = True
                    elif leaf.kind == SUBJECT_RULE:
                        u = plan.rule_index[leaf.subject] in unknown
                    elif leaf.kind == SUBJECT_FLAG:
                        u = any(j in unknown for j in plan.flag_setters.get(leaf.subject, ()))
                    else:  # the outcome: unknown while an earlier rule is
                        u = bool(unknown)
                    if u:
                        unknown.add(i)
                        break
        return unknown

    def _per_outcome(self, build, element: exp.DataType) -> exp.Expression:
        """A list that only the deciding outcome's rules contribute to, as a CASE on the
        outcome: `build(rules of that outcome)` per outcome (None: nothing), `[]` otherwise.
        Rows of one outcome evaluate only its own rules' items."""
        ifs = []
        for outcome, rules in self.plan.outcome_rules:
            built = build(outcome, list(rules)) if rules else None
            if built is not None:
                ifs.append((exp.EQ(this=col("__o"), expression=exp.Literal.string(outcome)), built))
        return _case(ifs, empty_list(self.dialect, element))

    def _sure(self, outcome: str, rules: list[int]) -> bool:
        """Whether outcome `outcome` (decided) means its one rule matched: it is not the
        default, which no rule needs to match."""
        return len(rules) == 1 and outcome != self.policy.default

    # -- 3-6. the decision ----------------------------------------------------------------

    def _missing(self, name: str, readers: tuple[int, ...] | None) -> exp.Expression:
        """When `name` is reported in `missing_facts` (semantics.Plan.missing_readers):
        absent, and for a fact tested for presence, a rule reading it otherwise undecided."""
        absent = _null(col(self.fact_col[name]))
        if readers is None:
            return absent
        return _and([absent, _or([_null(col(f"__m_{i}")) for i in readers])])

    def decision(self, chain: _Chain, matched: dict[int, exp.Expression], *, passthrough: list[str],
                 matches: bool, null_rejected: bool = True) -> exp.Select:
        policy, plan, d = self.policy, self.plan, self.dialect
        rules = policy.rules
        outcome, known = self._outcome(matched)
        chain.add([("__o", outcome), ("__k", known)])
        adverse_ids = [o.id for o in policy.outcomes if o.adverse]
        adverse = _case([(exp.In(this=col("__o"), expressions=[exp.Literal.string(o) for o in adverse_ids]),
                          _bool(True))], _bool(False)) if adverse_ids else _bool(False)
        decides = [r.index for r in rules if r.decides_outcome]
        chain.add([("__adv", adverse)] + [(f"__d{i}", exp.and_(_true(col(f"__m_{i}")), exp.EQ(
            this=col("__o"), expression=exp.Literal.string(rules[i].then.outcome)))) for i in decides])

        def contributes(i: int) -> exp.Expression:
            return col(f"__d{i}") if rules[i].decides_outcome else _true(col(f"__m_{i}"))

        values = []
        for j, name in enumerate(policy.outputs):
            if policy.outputs[name].computed:
                continue
            try:
                values.append((f"__v{j}", self._output(name, contributes)))
            except BackendError as exc:
                raise type(exc)(f"output `{name}`: {exc}") from None
        chain.add(values)
        rejected_col = self._computed(chain, contributes)
        # A message showing a quotient by a fact (`derived.Ratio`, never computed in SQL):
        # a record where such a rule matches (its text may be shown) is decided by the native code.
        shows_ratio = [r.index for r in rules if any(
            str(p) in self.ratios for p in template_parts(rule_template(r, policy, self.lang) or "")[1::2])]
        if shows_ratio:
            rejected_col = exp.Coalesce(this=rejected_col, expressions=[exp.Case(
                ifs=[exp.If(this=_or([_true(col(f"__m_{i}")) for i in shows_ratio]),
                            true=exp.Literal.string(NATIVE))])])
        outputs = {name: col(f"__v{j}") for j, name in enumerate(policy.outputs)}
        facts = {name: col(self.fact_col[name]) for name in policy.facts}
        numbers = dict(self.calc.outputs) if self.calc is not None else {}
        shown = {n: self.calc.shown_fact(n) for n in formatted_facts(policy)} if self.calc is not None else {}

        # Formatted placeholders and decimals' texts: each computed once, in a column
        cache: dict = {}
        steps: dict[int, list] = {0: [], 1: [], 2: []}

        def stage(level: int, e: exp.Expression) -> exp.Expression:
            name = f"__y{level}_{sum(len(v) for v in steps.values())}"
            steps[level].append((name, e))
            return col(name)

        for rule in rules:
            template = rule_template(rule, policy, self.lang)
            for part in (template_parts(template)[1::2] if template else ()):
                key = (str(part), part.spec)
                if key not in cache and costly(part, policy):
                    try:
                        cache[key] = placeholder(part, policy, facts, outputs, d, numbers, shown, stage,
                                                 derived=self.derived)
                    except BackendError as exc:
                        raise type(exc)(f"rule `{rule.id}`, its message: {exc}") from None
        for level in sorted(steps):
            chain.add(steps[level])
        chain.add([(f"__t{k}", e) for k, e in enumerate(cache.values())])
        cache = {key: col(f"__t{k}") for k, key in enumerate(cache)}

        def text(rule) -> exp.Expression:
            template = rule_template(rule, policy, self.lang)
            if not template:
                return _str(None)
            try:
                return message(template, policy, facts, outputs, d, numbers, shown, cache, derived=self.derived)
            except BackendError as exc:
                raise type(exc)(f"rule `{rule.id}`, its message: {exc}") from None

        reason_fields = [("code", "VARCHAR"), ("rule", "VARCHAR"), ("message", "VARCHAR")]
        reason_type = struct_type(d, reason_fields)

        def reason(rule) -> exp.Expression:
            return struct(d, [("code", exp.Literal.string(rule.then.reason), "VARCHAR"),
                              ("rule", exp.Literal.string(rule.id), "VARCHAR"), ("message", text(rule), "VARCHAR")])

        # 5. principal reasons: candidates ranked by (code rank, rule index)
        rank = {code: k for k, code in enumerate(policy.reasons)}
        with_reason = [i for i in decides if rules[i].then.reason]
        notices = [r.index for r in rules if not r.decides_outcome and r.then.reason]
        any_reason = _or([col(f"__d{i}") for i in with_reason]) if with_reason else _bool(False)
        candidates = sorted(with_reason + notices, key=lambda i: (rank.get(rules[i].then.reason, len(rank)), i))
        cand = {}
        for i in candidates:
            c = col(f"__d{i}") if rules[i].decides_outcome else exp.and_(
                _true(col(f"__m_{i}")), _not(any_reason.copy()))
            cand[i] = exp.and_(col("__adv"), c)
        principal = []
        for pos, i in enumerate(candidates):
            earlier = [cand[k].copy() for k in candidates[:pos] if rules[k].then.reason == rules[i].then.reason]
            principal.append((f"__p{i}", exp.and_(cand[i], _not(_or(earlier))) if earlier else cand[i]))
        # Each reason rule's struct (and its message) once, NULL where the rule does not
        # apply: reasons, notices and principal reasons all read it.
        structs = [(f"__s{i}", _case([(col(f"__d{i}") if rules[i].decides_outcome else _true(col(f"__m_{i}")),
                                      reason(rules[i]))])) for i in with_reason + notices]
        chain.add(principal + structs)
        picked = []
        for pos, i in enumerate(candidates):
            before = [col(f"__p{k}") for k in candidates[:pos]]
            keep = col(f"__p{i}")
            if len(before) >= MAX_PRINCIPAL_REASONS:
                count = _count(before)
                keep = exp.and_(keep, exp.LT(this=count, expression=exp.Literal.number(MAX_PRINCIPAL_REASONS)))
            picked.append(_case([(keep, col(f"__s{i}"))]))

        varchar = dtype("VARCHAR")
        message_type = struct_type(d, [("rule", "VARCHAR"), ("message", "VARCHAR")])
        nullable, unknown = self.nullable_facts(), self.maybe_unknown()

        def decided_by(outcome, idx):
            if self._sure(outcome, idx):
                return exp.Array(expressions=[exp.Literal.string(rules[idx[0]].id)])
            return compact(d, [_case([(col(f"__d{i}"), exp.Literal.string(rules[i].id))]) for i in idx], varchar)

        def reasons(outcome, idx):
            sure = self._sure(outcome, idx)  # of the outcome's rules, not only those with a reason
            idx = [i for i in idx if rules[i].then.reason]
            if not idx:
                return None
            if sure:
                return exp.Array(expressions=[col(f"__s{idx[0]}")])
            return compact(d, [col(f"__s{i}") for i in idx], reason_type)

        def messages(outcome, idx):
            idx = [i for i in idx if rules[i].then.message and not rules[i].then.reason]
            if not idx:
                return None
            return compact(d, [_case([(col(f"__d{i}"), struct(d, [
                ("rule", exp.Literal.string(rules[i].id), "VARCHAR"), ("message", text(rules[i]), "VARCHAR")]))])
                for i in idx], message_type)

        reasons_column = self._per_outcome(reasons, reason_type)
        # When every rule of an adverse outcome has a reason code, of its own, in the
        # `reasons:` order, and at most MAX_PRINCIPAL_REASONS of them (the usual deny rules),
        # and the default is not adverse, an adverse decision's principal reasons are its
        # reasons: no notice can rank in, none is cut.
        adverse_rules = [i for i in decides if rules[i].then.outcome in adverse_ids]
        codes = [rules[i].then.reason for i in adverse_rules]
        principal_are_reasons = (
            policy.default not in adverse_ids and all(codes) and len(set(codes)) == len(codes)
            and len(codes) <= MAX_PRINCIPAL_REASONS
            and sorted(adverse_rules, key=lambda i: (rank.get(rules[i].then.reason, len(rank)), i)) == adverse_rules)
        columns: list[tuple[str, exp.Expression]] = [
            ("policy", exp.Literal.string(policy.id)),
            ("version", exp.Literal.string(policy.version) if isinstance(policy.version, str)
             else literal("integer", policy.version)),
            ("policy_digest", exp.Literal.string(policy.digest)),
            ("outcome", col("__o")),
            ("outcome_known", col("__k") if unknown else _bool(True)),
            ("adverse", col("__adv")),
            ("decided_by", self._per_outcome(decided_by, varchar)),
            ("reasons", reasons_column),
            ("messages", self._per_outcome(messages, message_type)),
            ("principal_reasons", _case([(col("__adv"), reasons_column.copy() if principal_are_reasons
                                          else compact(d, picked, reason_type))], empty_list(d, reason_type))
             if adverse_ids else empty_list(d, reason_type)),
            ("notices", compact(d, [col(f"__s{i}") for i in notices],
                                reason_type)),
            ("flags", compact(d, [_case([(_or([_true(col(f"__m_{i}")) for i in plan.flag_setters[f]]),
                                          exp.Literal.string(f))]) for f in sorted(plan.flag_setters)], varchar)),
            ("outputs", struct(d, [self._output_field(name, outputs[name]) for name in policy.outputs])
             if policy.outputs else None),
            ("missing_facts", compact(d, [_case([(self._missing(n, readers), exp.Literal.string(n))])
                                          for n, readers in plan.missing_readers.items()
                                          if n in nullable and readers != ()], varchar)),
            ("undetermined_rules", compact(d, [_case([(_null(col(f"__m_{r.index}")), exp.Literal.string(r.id))])
                                               for r in rules if r.index in unknown], varchar)),
        ]
        if matches:
            columns += [(f"__m_{r.index}", col(f"__m_{r.index}")) for r in rules]
        ok = _null(rejected_col.copy())
        out = [col(c).as_(ident(c), quoted=True) for c in passthrough] + [rejected_col.as_(ident("__rejected"),
                                                                                            quoted=True)]
        for name, e in columns:
            if e is None:  # no outputs declared: SQL has no empty struct (docs/backends.md)
                e = exp.Cast(this=exp.Null(), to=dtype("VARCHAR"))
                out.append(e.as_(ident(name), quoted=True))
                continue
            out.append((_case([(ok.copy(), e)]) if null_rejected else e).as_(ident(name), quoted=True))
        return exp.select(*out).from_(exp.Subquery(this=chain.tree, alias=exp.TableAlias(this=ident("__decision"))))

    # -- computed outputs (`computed.add_computed`) ------------------------------------------

    def _computed(self, chain: _Chain, contributes) -> exp.Expression:
        self.calc, rejected_col = add_computed(self, chain, contributes)
        return rejected_col

    def _output_field(self, name: str, value: exp.Expression) -> tuple[str, exp.Expression, str]:
        return output_field(self.policy, self.calc, name, value)

    def _output(self, name: str, contributes) -> exp.Expression:
        spec = self.policy.outputs[name]
        setters = [(r.index, v) for r in self.policy.rules for n, v in r.then.set if n == name]
        default = spec_literal(spec, spec.default)
        if not setters:
            return default
        if spec.combine == "list":  # the contributing rules' items in rule order
            item = dtype(spec_sql_type(spec.items))
            items = compact(self.dialect, [_case([(contributes(i), literal(spec.items.type, v))]) for i, v in setters],
                            item)
            return _case([(_or([contributes(i) for i, _ in setters]), items)], default)
        if spec.combine == "count":  # how many rules contributed (their values are not read)
            total = _count([contributes(i) for i, _ in setters])
            return _case([(_or([contributes(i) for i, _ in setters]), exp.Cast(this=total, to=dtype("BIGINT")))],
                         default)
        if spec.type == "array":  # a list literal per rule: the first contributing rule's
            return _case([(contributes(i), spec_literal(spec, v)) for i, v in setters], default)
        if spec.combine == "sum":
            if spec.type == "integer" and sum(abs(int(v)) for _, v in setters) > INT_MAX:
                raise BackendError("its sum could exceed int64, which the SQL form cannot hold")
            if spec.type == "number" and sum(abs(float(v)) for _, v in setters) > 1e308:
                raise BackendError("its sum could overflow a double")
            zero = literal(spec.type, 0)
            total: exp.Expression = zero.copy()
            for i, v in setters:
                total = exp.Add(this=total, expression=_case([(contributes(i), literal(spec.type, v))], zero.copy()))
            return _case([(_or([contributes(i) for i, _ in setters]), total)], default)
        if spec.combine in ("min", "max"):
            ordered = sorted(setters, key=lambda s: s[1], reverse=spec.combine == "max")
        else:
            ordered = setters
        return _case([(contributes(i), literal(spec.type, v)) for i, v in ordered], default)


def _count(flags: list[exp.Expression]) -> exp.Expression:
    total: exp.Expression = exp.Literal.number(0)
    for f in flags:
        total = exp.Add(this=total, expression=_case([(f, exp.Literal.number(1))], exp.Literal.number(0)))
    return exp.Paren(this=total)


def number_output_kinds(policy: Policy) -> dict[str, str]:
    """For each `number` output, what Python type the native decision holds, which the SQL
    `DOUBLE` cannot say: "int" when the default and every value rules set are ints (JSON
    `5`), "float" when all are floats (`5.0`), "mixed" when it depends on which rules
    contributed (a JSON writer then cannot be byte-identical from the SQL value alone)."""
    kinds = {}
    for name, spec in policy.outputs.items():
        if spec.type != "number":
            continue
        if spec.computed:  # a Decimal, written as its normalized plain text
            kinds[name] = "decimal"
            continue
        values = [spec.default] + [v for r in policy.rules for n, v in r.then.set if n == name]
        found = {"int" if type(v) is int else "float" for v in values}
        kinds[name] = found.pop() if len(found) == 1 else "mixed"
    return kinds


def decision_query(policy: Policy, *, source="facts", dialect: str = "duckdb", lang: str | None = None,
                   id_field: str | None = None, matches: bool = False, type_error: bool = False,
                   row: bool = False, null_rejected: bool = True,
                   as_of: datetime.date | None = None) -> exp.Select:
    """The decision query (columns and types in docs/backends.md and the contract), on the
    evaluation date `as_of` (None: today in the policy's timezone).

    `null_rejected=False` leaves a rejected row's decision columns undefined rather than
    NULL, for a caller that keeps only `__rejected IS NULL` rows (the batch runner): one
    CASE less per column and row."""
    builder = QueryBuilder(policy, dialect, lang, as_of)
    chain = builder.staging(source, id_field=id_field, type_error=type_error, row=row)
    matched = builder.strata(chain)
    passthrough = (["__row"] if row else []) + ([id_field] if id_field is not None else [])
    return builder.decision(chain, matched, passthrough=passthrough, matches=matches, null_rejected=null_rejected)


def match_query(policy: Policy, *, source="facts", dialect: str = "duckdb", row: bool = False,
                as_of: datetime.date | None = None) -> exp.Select:
    """Only every rule's match (`__m_<i>`, NULL = unknown) for normalized facts (no
    validation, no decision): what `SqlBackend` runs. A policy with derived facts has a
    last column `__native`: TRUE for a record whose matches only the native code computes
    exactly (`decimals.NATIVE`)."""
    builder = QueryBuilder(policy, dialect, as_of=as_of)
    chain = builder.staging(source, id_field=None, type_error=False, row=row)
    builder.strata(chain)
    keep = (["__row"] if row else []) + [f"__m_{r.index}" for r in policy.rules]
    columns = [col(c).as_(ident(c), quoted=True) for c in keep]
    if policy.derived:  # a record whose double a derived fact's exact decimal cannot hold
        columns.append(exp.EQ(this=exp.Coalesce(this=col("__rejected"), expressions=[exp.Literal.string("")]),
                              expression=exp.Literal.string(NATIVE)).as_(ident("__native"), quoted=True))
    return exp.select(*columns).from_(
        exp.Subquery(this=chain.tree, alias=exp.TableAlias(this=ident("__matches"))))
