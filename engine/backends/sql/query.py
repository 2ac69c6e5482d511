"""The decision query: a policy's IR as one SQL SELECT over the staged facts relation.

Built with sqlglot's expression tree (identifiers quoted, literals as typed literals; no
policy text is ever parsed as SQL) as a chain of nested selects, each adding columns the
next reads:

1. staging: every declared fact cast to its type with its default applied
   (`COALESCE`), and `__rejected` (`validation`); a fact's column is `__f<i>` inside the
   query, so no policy name can collide with ours;
2. per stratum (`Policy.strata`), the conclusions earlier strata drew (`__o<s>` the
   outcome, `__k<s>` whether it is known, `__g<s>_<k>` the flags; only those that the
   stratum reads) and then its rules' matches `__m_<i>`: a condition is its leaves under
   AND/OR/NOT, and SQL's three-valued logic with a missing fact as NULL is exactly the
   Kleene logic of `runtime.semantics` (a leaf on a NULL is NULL; no list ever holds a
   NULL, so `NOT IN` keeps its meaning). Numbers are compared exactly (`literals`);
3. the outcome by precedence and whether it is known (`semantics.Plan.select_outcome`
   written as CASE), the deciding rules `__d<i>`, adverse;
4. outputs with `combine` (`first` and `min`/`max` as CASE over the candidate literals in
   rule order or value order, `sum` as additions in rule order, each with the declared
   default when no rule sets it), which messages read;
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
from ...language.conditions import fold
from ...language.model import PRESENCE_OP, SUBJECT_FLAG, SUBJECT_OUTCOME, SUBJECT_RULE, Comparison, Policy
from ...language.templates import template_parts
from ...runtime import semantics
from ...runtime.semantics import Plan
from .computed import add_computed, formatted_facts, output_field
from .dialects import col, check_dialect, compact, dtype, empty_list, ident, struct, struct_type
from .literals import INT_MAX, compare_in, compare_value, literal, sql_type
from .messages import costly, message, placeholder, rule_template
from .validation import rejected

MAX_PRINCIPAL_REASONS = 4  # = explain.render.MAX_PRINCIPAL_REASONS (tested)
RESERVED = ("__row", "__type_error", "__rejected")

DECISION_COLUMNS = ("policy", "version", "policy_digest", "outcome", "outcome_known", "adverse", "decided_by",
                    "reasons", "messages", "principal_reasons", "notices", "flags", "outputs", "missing_facts",
                    "undetermined_rules")


def _true(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=exp.Paren(this=e) if not isinstance(e, exp.Column) else e, expression=exp.Boolean(this=True))


def _not(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=e if isinstance(e, (exp.Column, exp.Paren, exp.Boolean)) else exp.Paren(this=e))


def _null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _or(items: list[exp.Expression]) -> exp.Expression:
    return exp.Paren(this=exp.or_(*items)) if len(items) > 1 else items[0]


def _and(items: list[exp.Expression]) -> exp.Expression:
    return exp.Paren(this=exp.and_(*items)) if len(items) > 1 else items[0]


def _case(ifs: list[tuple[exp.Expression, exp.Expression]], default: exp.Expression | None = None) -> exp.Expression:
    if not ifs:
        return default if default is not None else exp.Null()
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in ifs], default=default)


def _bool(value: bool) -> exp.Expression:
    return exp.Boolean(this=value)


def _str(value: str | None) -> exp.Expression:
    return exp.Literal.string(value) if value is not None else exp.Cast(this=exp.Null(), to=dtype("VARCHAR"))


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



class QueryBuilder:
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
        raw = {name: exp.Cast(this=exp.Column(this=ident(name), table=ident("__src")), to=dtype(sql_type(spec.type)))
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
        cols.append(rejected(self.policy, raw, error).as_(ident("__rejected"), quoted=True))
        names.append("__rejected")
        for name, spec in self.policy.facts.items():
            value = raw[name]
            if spec.has_default and spec.default is not None:
                try:
                    default = literal(spec.type, spec.default)
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

    def _leaf(self, leaf: Comparison, stratum: int) -> exp.Expression:
        if leaf.kind == "fact":
            spec = self.policy.facts[leaf.subject]
            column = col(self.fact_col[leaf.subject])
            if leaf.op == PRESENCE_OP:  # never unknown: IS NULL is TRUE or FALSE, never NULL
                test = exp.Is(this=column, expression=exp.Null())
                return test if leaf.operand.value is True else exp.Not(this=exp.Paren(this=test))
            value = semantics.operand_value(leaf, self.as_of)
            if leaf.op in ("in", "not_in"):
                return compare_in(spec.type, column, value, leaf.op == "not_in")
            if leaf.op == "between":
                return _and([compare_value(spec.type, column, "gte", value[0]),
                             compare_value(spec.type, column, "lte", value[1])])
            return compare_value(spec.type, column, leaf.op, value)
        if leaf.kind == SUBJECT_OUTCOME:
            outcome, known = col(f"__o{stratum}"), col(f"__k{stratum}")
            value = semantics.operand_value(leaf, self.as_of)
            if leaf.op in ("in", "not_in"):
                test = compare_in("string", outcome, value, leaf.op == "not_in")
            else:
                test = compare_value("string", outcome, leaf.op, value)
            return _case([(_not(known), exp.Cast(this=exp.Null(), to=dtype("BOOLEAN"))),
                          (_null(outcome.copy()), _bool(leaf.op in ("ne", "not_in")))], test)
        if leaf.kind in (SUBJECT_FLAG, SUBJECT_RULE):
            subject = col(self._flag_col(stratum, leaf.subject)) if leaf.kind == SUBJECT_FLAG \
                else col(f"__m_{self.plan.rule_index[leaf.subject]}")
            operand = semantics.operand_value(leaf, self.as_of)
            if leaf.op not in ("eq", "ne") or not isinstance(operand, bool):
                raise BackendError(f"a `{leaf.kind}` condition with `{leaf.op}`")
            cls = exp.EQ if leaf.op == "eq" else exp.NEQ
            return exp.Paren(this=cls(this=subject, expression=_bool(operand)))
        raise BackendError(f"a condition on `{leaf.kind}`")

    def _flag_col(self, stratum: int, flag: str) -> str:
        return f"__g{stratum}_{self.flag_ids[flag]}"

    def condition(self, cond, stratum: int) -> exp.Expression:
        return fold(cond, lambda leaf: self._leaf(leaf, stratum),
                    lambda _, items: _and(items),
                    lambda _, items: _or(items),
                    lambda _, item: _not(item))

    def strata(self, chain: _Chain) -> dict[int, exp.Expression]:
        self.flag_ids = {f: k for k, f in enumerate(sorted(self.plan.flag_setters))}
        matched: dict[int, exp.Expression] = {}
        for s, stratum in enumerate(self.policy.strata):
            reads = [leaf for i in stratum for leaf in self.policy.rules[i].leaves]
            conclusions: list[tuple[str, exp.Expression]] = []
            if any(leaf.kind == SUBJECT_OUTCOME for leaf in reads):
                outcome, known = self._outcome(matched)
                conclusions += [(f"__o{s}", outcome), (f"__k{s}", known)]
            flags = sorted({leaf.subject for leaf in reads if leaf.kind == SUBJECT_FLAG})
            for f in flags:
                if f not in self.flag_ids:
                    self.flag_ids[f] = len(self.flag_ids)
                conclusions.append((self._flag_col(s, f), self._flag(f, matched)))
            if conclusions:
                chain.add(conclusions)
            chain.add([(f"__m_{i}", self.condition(self.policy.rules[i].when, s)) for i in stratum])
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
                        u = leaf.subject in nullable and leaf.op != PRESENCE_OP
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
                        cache[key] = placeholder(part, policy, facts, outputs, d, numbers, shown, stage)
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
                return message(template, policy, facts, outputs, d, numbers, shown, cache)
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
        default = literal(spec.type, spec.default)
        if not setters:
            return default
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
    validation, no decision): what `SqlBackend` runs."""
    builder = QueryBuilder(policy, dialect, as_of=as_of)
    chain = builder.staging(source, id_field=None, type_error=False, row=row)
    builder.strata(chain)
    keep = (["__row"] if row else []) + [f"__m_{r.index}" for r in policy.rules]
    return exp.select(*[col(c).as_(ident(c), quoted=True) for c in keep]).from_(
        exp.Subquery(this=chain.tree, alias=exp.TableAlias(this=ident("__matches"))))
