"""The condition part of the decision query (`QueryBuilder`'s `LeafMixin`): a rule's
condition as SQL, leaf by leaf, and the small SQL helpers the query shares.

Every leaf kind of the policy language: facts (scalar and list), derived facts (exact
DECIMALs, `derived`; quotients by a fact as `derived.Ratio`), outputs as the earlier strata
left them (`_seen_output`), the outcome, flags and rules; every operator (`literals` for the
scalar comparisons, `operators` for the v3 ones: string and list operators, `length`, one
value against another). A `hit: first` table row's restatement of earlier rows
(`Comparison.via`) reads one column per restated row (`_restated`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlglot import exp

from ...errors import BackendError, SqlLimitError
from ...language.conditions import ALL, LEAF, children, fold, kind, substitute
from ...language.model import (LIST_FACT_OPS, STRING_OPS, SUBJECT_DERIVED, SUBJECT_FLAG, SUBJECT_OUTCOME,
                               SUBJECT_OUTPUT, SUBJECT_RULE, Comparison, Length, Operand, PRESENCE_OP,
                               RelativeDate)
from ...runtime import semantics
from .dialects import col, dtype
from .literals import compare_in, compare_value, constant, spec_sql_type
from .operators import decimal_vs, decimal_vs_value, length_test, list_test, ratio_vs, string_test, values_test

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



_RESTATED = "__restated"  # a marker leaf (`QueryBuilder._restated`): its subject is the group's column


def _group(node):
    """(j, leaves) when `node` restates row j's cells (every leaf of it has `via == j`;
    a single leaf or a conjunction of leaves), else None."""
    leaves = (node,) if kind(node) == LEAF else children(node) if kind(node) == ALL else ()
    if not leaves or not all(kind(c) == LEAF for c in leaves):
        return None
    vias = {c.via for c in leaves}
    if len(vias) != 1 or None in vias:
        return None
    return vias.pop(), leaves


@dataclass
class Side:
    """One side of a comparison: its type (a declared type, or "decimal" for a derived
    fact), its SQL value, the fact's or output's spec, and a derived fact's `Num`."""

    type: str
    column: exp.Expression
    spec: object = None
    num: object = None
    name: str = ""


_FLIP = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}


def _dec(value):
    """A literal as an exact decimal Num (a float as its repr's decimal: `semantics.exact`)."""
    from .decimals import constant as dec_constant

    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise BackendError(f"a number compared with `{value!r}`")
    return dec_constant(Decimal(repr(value)) if isinstance(value, float) else value)


def _resolved(operand: Operand, as_of):
    """A literal or threshold operand's value, a relative date resolved on `as_of`."""
    value = operand.value
    return semantics.resolve_date(value, as_of) if value.__class__ is RelativeDate else value



class LeafMixin:
    """The leaves and conditions of `query.QueryBuilder` (its policy, plan, dialect,
    evaluation date, fact columns, derived facts and output columns)."""

    def _leaf(self, leaf: Comparison, stratum: int) -> exp.Expression:
        if leaf.kind == "fact" and leaf.op == PRESENCE_OP:  # never unknown: IS NULL is TRUE or FALSE
            test = exp.Is(this=col(self.fact_col[leaf.subject]), expression=exp.Null())
            return test if leaf.operand.value is True else exp.Not(this=exp.Paren(this=test))
        if leaf.kind in ("fact", SUBJECT_DERIVED, SUBJECT_OUTPUT):
            return self._value_leaf(leaf, self._side(leaf.kind, leaf.subject, stratum))
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

    def _side(self, kind: str, name: str, stratum: int) -> Side:
        """A comparison's value side: a fact's column, a derived fact's DECIMAL, or an
        output's value as the earlier strata left it (`outputs_seen`)."""
        if kind == "fact":
            spec = self.policy.facts[name]
            return Side(spec.type, col(self.fact_col[name]), spec, name=name)
        if kind == SUBJECT_DERIVED:
            if name in self.ratios:
                return Side("ratio", self.ratios[name].num.sql.copy(), None, self.ratios[name], name)
            return Side("decimal", self.derived[name].sql.copy(), None, self.derived[name], name)
        spec = self.policy.outputs[name]
        if spec.computed:
            raise SqlLimitError(f"a condition on the computed output `{name}`")
        return Side(spec.type, col(self._output_col(stratum, name)), spec, name=name)

    def _operand_side(self, operand: Operand, stratum: int) -> Side:
        kind = SUBJECT_DERIVED if operand.fact in self.policy.derived else "fact"
        return self._side(kind, operand.fact, stratum)

    def _value_leaf(self, leaf: Comparison, side: Side) -> exp.Expression:
        """A leaf on a value (fact, derived fact, output): every operator of the language."""
        op, d = leaf.op, self.dialect
        if op == "length":
            length: Length = leaf.operand
            return length_test(d, side.column, length.op, _resolved(length.operand, self.as_of))
        if op in LIST_FACT_OPS and side.type == "array":
            return list_test(d, side.spec.items.type, op, side.column, _resolved(leaf.operand, self.as_of))
        if op in STRING_OPS:
            return string_test(d, op, side.column, _resolved(leaf.operand, self.as_of))
        if op in ("in", "not_in"):
            value = _resolved(leaf.operand, self.as_of)
            if side.type == "ratio":
                tests = [ratio_vs(side.num, "eq", _dec(v)) for v in value]
                test = _or(tests) if tests else constant(side.column, False)
                return _not(test) if op == "not_in" else test
            if side.type == "decimal":
                tests = [decimal_vs_value(side.num, "eq", v) for v in value]
                test = _or(tests) if tests else constant(side.column, False)
                return _not(test) if op == "not_in" else test
            return compare_in(side.type, side.column, value, op == "not_in")
        if op == "between":
            low, high = leaf.operand
            test = _and([self._compare(side, "gte", low), self._compare(side, "lte", high)])
            # One leaf (`semantics.leaf_operand`): unknown when an end's fact is missing,
            # even where the other end's test alone is FALSE (Kleene AND would say FALSE).
            missing = [_null(self._operand_side(end, self._stratum).column)
                       for end in (low, high) if end.fact is not None]
            if not missing:
                return test
            return _case([(_or(missing), exp.Cast(this=exp.Null(), to=dtype("BOOLEAN")))], test)
        return self._compare(side, op, leaf.operand)

    def _compare(self, side: Side, op: str, operand: Operand) -> exp.Expression:
        if operand.fact is not None:
            other = self._operand_side(operand, self._stratum)
            if side.type == "ratio" and other.type == "ratio":
                raise SqlLimitError("two derived quotients compared with each other")
            if side.type == "ratio":
                return ratio_vs(side.num, op, self._num(other))
            if other.type == "ratio":
                return ratio_vs(other.num, _FLIP.get(op, op), self._num(side))
            if side.type == "decimal" or other.type == "decimal":
                return decimal_vs(self._num(side), op, self._num(other))
            return values_test(op, (side.type, side.column), (other.type, other.column))
        value = _resolved(operand, self.as_of)
        if side.type == "ratio":
            return ratio_vs(side.num, op, _dec(value))
        if side.type == "decimal":
            return decimal_vs_value(side.num, op, value)
        return compare_value(side.type, side.column, op, value)

    def _num(self, side: Side):
        """A side as an exact DECIMAL (a derived fact's; a numeric fact's decimal column)."""
        if side.num is not None:
            return side.num
        name = side.name
        if name not in self.fact_nums:
            raise SqlLimitError("a derived fact compared with a value that has no exact decimal here")
        return self.fact_nums[name]

    def condition(self, cond, stratum: int) -> exp.Expression:
        self._stratum = stratum

        def leaf(c: Comparison) -> exp.Expression:
            if c.kind == _RESTATED:  # an earlier row's cells, computed once in its column
                return col(c.subject)
            return self._leaf(c, stratum)

        # (`All(())`, a table row whose every cell is `-`, holds; `Any(())` does not)
        return fold(cond, leaf,
                    lambda _, items: _and(items) if items else _bool(True),
                    lambda _, items: _or(items) if items else _bool(False),
                    lambda _, item: _not(item))

    def _restated(self, stratum: int, rules: list[int]) -> tuple[list[tuple[str, exp.Expression]], dict]:
        """A `hit: first` table row restates the cells of each earlier row that may overlap
        it (`Comparison.via`): row k of n holds up to k-1 such groups, n²/2 in all. Each
        distinct group (the same row's cells) becomes one column, `__w<j>_<n>`, which every
        later row reads: the query grows by a column reference per restated row, not by its
        cells (60 rows: ~40× smaller, planned and run in a fraction of the time). Returns
        (the columns, rule index → its condition with each group replaced by a marker)."""
        columns: list[tuple[str, exp.Expression]] = []
        names = self._groups  # across strata: a group computed for an earlier stratum is kept
        rewritten = {}
        for i in rules:
            when = self.policy.rules[i].when
            if not any(leaf.via is not None for leaf in self.policy.rules[i].leaves):
                continue

            def swap(node):
                group = _group(node)
                if group is not None:
                    key = (group[0], tuple((c.kind, c.subject, c.op, repr(c.operand)) for c in group[1]))
                    if key not in names:
                        names[key] = f"__w{group[0]}_{len(names)}"
                        columns.append((names[key], self.condition(node, stratum)))
                    return Comparison(_RESTATED, names[key], "eq", Operand(True))
                return None  # not a restated group: kept, its children looked at

            rewritten[i] = substitute(when, swap)
        return columns, rewritten

    # -- outputs read by conditions (`Comparison.kind == "output"`) -------------------------

    def _output_col(self, stratum: int, name: str) -> str:
        return f"__u{stratum}_{self.output_ids[name]}"

    def _setters(self, name: str) -> list[tuple[int, object]]:
        return [(r.index, v) for r in self.policy.rules for n, v in r.then.set if n == name]

    def _seen_output(self, name: str, stratum: int, matched: dict[int, exp.Expression]) -> exp.Expression:
        """Output `name` as a rule of stratum `stratum` reads it: every rule that sets it is
        in an earlier stratum (`Policy.strata`), so this is its final value, computed as the
        decision computes it; NULL (unknown) when a rule that sets it is undetermined, or an
        outcome rule sets it and the outcome is not known (`runtime.semantics.output_value`)."""
        rules = self.policy.rules
        setters = self._setters(name)
        if any(i not in matched for i, _ in setters):
            raise BackendError(f"output `{name}` is read before every rule that sets it")
        outcome, known = col(f"__o{stratum}"), col(f"__k{stratum}")

        def contributes(i: int) -> exp.Expression:
            if rules[i].decides_outcome:
                return exp.and_(_true(col(f"__m_{i}")),
                                exp.EQ(this=outcome.copy(), expression=exp.Literal.string(rules[i].then.outcome)))
            return _true(col(f"__m_{i}"))

        try:
            value = self._output(name, contributes)
        except BackendError as exc:
            raise type(exc)(f"output `{name}`: {exc}") from None
        unknown = [_null(col(f"__m_{i}")) for i, _ in setters if not rules[i].decides_outcome]
        if any(rules[i].decides_outcome for i, _ in setters):
            unknown.append(_not(known.copy()))
        if not unknown:
            return value
        return exp.Case(ifs=[exp.If(this=_or(unknown), true=exp.Cast(
            this=exp.Null(), to=dtype(spec_sql_type(self.policy.outputs[name]))))], default=value)

