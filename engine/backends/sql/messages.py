"""Messages in SQL: a rule's template, in the requested language, filled from the row.

The same text as `explain.render.rule_message`: the template is chosen at compile time
(`pick_language`, the explainer's fallback: the language, its base, the policy's, the
first), split by the one placeholder grammar (`language.templates.template_parts`), and
each `{name}` becomes the value's text in the TEXT style of `language.values.format_value`:

- a fact present in the row (after defaults), else an output of that name, else a
  threshold (formatted here, at compile time), else `?` (a missing optional fact);
- a derived fact: its exact DECIMAL as a computed output's (`?` when missing); a quotient
  by a fact (`derived.Ratio`) is not computed in SQL: a record whose matching rule shows
  one is decided by the native code (`decimals.NATIVE`);
- strings bare, booleans `true`/`false`, integers in decimal, dates ISO (`2026-01-31`),
  computed outputs (DECIMAL) as their normalized plain text (`decimals.plain_text`);
- with a format spec (`{x:,.2f}`, `templates.Field.spec`), integers and decimals as
  Python's `format` writes them (`decimals.formatted`); a double with one is refused;
- doubles: an integral value below 1e15 in magnitude as an integer (`700`, and `0` for
  -0.0), any other as Python's `repr` (shortest round-trip text: `0.1`, `1e+16`,
  `1000000000000000.0`). DuckDB's `CAST(x AS VARCHAR)` writes exactly `repr` (measured on
  60,000 doubles, tests/test_sql_query.py keeps checking); PostgreSQL's float8 text does
  too except for 1e15 <= |x| < 1e17: it writes [1e15, 1e16) with an exponent (integral
  values there are written here as Python does; non-integral ones, 1e15 <= |x| < 2^52, keep
  PostgreSQL's text) and every digit of an integral double below 1e17
  (`2.4025227089052392e+16`, where repr writes `2.402522708905239e+16`). Spark writes
  Java's `Double.toString` (`1.0E16`), rewritten here into repr's form (`_SPARK_REPR`): the
  same text wherever Java's digits are the shortest (always from JDK 19; JDK 17 writes a
  few values with an extra digit, `4.9E-324` for `5e-324`). The generated-only dialects
  cast with their own formatting: see docs/backends.md.

The language of a text is chosen by `language.templates.pick_language`, the function the
explainer uses.
"""

from __future__ import annotations


from sqlglot import exp

from ...errors import SqlLimitError
from ...language.model import Policy, Rule
from ...language.templates import pick_language, template_parts
from ...language.values import format_field
from .decimals import Num, formatted, integer_num, plain_text
from .dialects import dtype
from .literals import INT_MAX, INT_MIN, double


def rule_template(rule: Rule, policy: Policy, lang: str | None) -> str | None:
    """The template `rule_message` renders for this rule (None: no message)."""
    template = pick_language(rule.then.message, lang, policy)
    if template is None and rule.then.reason:
        template = pick_language(policy.reasons.get(rule.then.reason), lang, policy)
    return template or None


def _varchar(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=dtype("VARCHAR"))


def text_of(ftype: str, value: exp.Expression, dialect: str) -> exp.Expression:
    """The TEXT-style text of a typed value; NULL for NULL."""
    if ftype == "string":
        return value.copy()
    if ftype == "boolean":
        return exp.Case(ifs=[exp.If(this=value.copy(), true=exp.Literal.string("true")),
                             exp.If(this=exp.Not(this=value.copy()), true=exp.Literal.string("false"))])
    if ftype in ("integer", "date"):  # a DATE's text is ISO `YYYY-MM-DD` in every executed dialect
        return _varchar(value.copy())
    default = _varchar(value.copy())
    if dialect == "spark":
        default = _spark_repr(default)

    def below(limit: float) -> exp.Expression:
        return exp.LT(this=exp.Abs(this=value.copy()), expression=double(limit))

    def integral(then: exp.Expression) -> exp.Expression:
        # nested, not `AND`: FLOOR is only reached below the limit (Spark's FLOOR of a double
        # is a BIGINT, which overflows, an error in ANSI mode, for |x| >= 2^63)
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=value.copy(), expression=exp.Floor(this=value.copy())),
                                    true=then)], default=default.copy())

    as_int = _varchar(exp.Cast(this=value.copy(), to=dtype("BIGINT")))
    ifs = [exp.If(this=below(1e15), true=integral(as_int))]
    if dialect == "postgres":  # PostgreSQL writes 1e15 <= |x| < 1e16 with an exponent, repr does not
        ifs.append(exp.If(this=below(1e16), true=integral(
            exp.DPipe(this=as_int.copy(), expression=exp.Literal.string(".0"), safe=True))))
    return exp.Case(ifs=ifs, default=default)


# Spark writes a double as Java's Double.toString: plain in [1e-3, 1e7), else `d.dddE<n>`
# (`1.0E16`, `1.5E-7`). Rewritten here into Python's repr: plain in [1e-4, 1e16) (`0.0001`,
# `12345678.5`, `1e+16` beyond), exponents signed with at least two digits (`1.5e-07`).
# `__s` is the Java text; the template is this module's own code, parsed once per query.
_J = "REGEXP_EXTRACT(__s, '^(-?)([0-9])[.]([0-9]+)E(-?[0-9]+)$', {})"
_SPARK_REPR = f"""
CASE WHEN NOT __s LIKE '%E%' THEN __s
WHEN CAST({_J.format(4)} AS INT) < -4 OR CAST({_J.format(4)} AS INT) >= 16 THEN
  {_J.format(1)} || {_J.format(2)}
  || CASE WHEN REGEXP_REPLACE({_J.format(3)}, '0+$', '') = '' THEN '' ELSE '.' || REGEXP_REPLACE({_J.format(3)}, '0+$', '') END
  || 'e' || CASE WHEN CAST({_J.format(4)} AS INT) < 0 THEN '-' ELSE '+' END
  || CASE WHEN ABS(CAST({_J.format(4)} AS INT)) < 10 THEN '0' ELSE '' END
  || CAST(ABS(CAST({_J.format(4)} AS INT)) AS STRING)
WHEN CAST({_J.format(4)} AS INT) < 0 THEN
  {_J.format(1)} || '0.' || REPEAT('0', -1 - CAST({_J.format(4)} AS INT))
  || {_J.format(2)} || REGEXP_REPLACE({_J.format(3)}, '0+$', '')
WHEN LENGTH({_J.format(2)} || REGEXP_REPLACE({_J.format(3)}, '0+$', '')) <= CAST({_J.format(4)} AS INT) + 1 THEN
  {_J.format(1)} || {_J.format(2)} || REGEXP_REPLACE({_J.format(3)}, '0+$', '')
  || REPEAT('0', CAST({_J.format(4)} AS INT) + 1 - LENGTH({_J.format(2)} || REGEXP_REPLACE({_J.format(3)}, '0+$', '')))
  || '.0'
ELSE {_J.format(1)} || SUBSTR({_J.format(2)} || REGEXP_REPLACE({_J.format(3)}, '0+$', ''), 1, CAST({_J.format(4)} AS INT) + 1)
  || '.' || SUBSTR({_J.format(2)} || REGEXP_REPLACE({_J.format(3)}, '0+$', ''), CAST({_J.format(4)} AS INT) + 2)
END"""


def _spark_repr(text: exp.Expression) -> exp.Expression:
    import sqlglot

    template = sqlglot.parse_one(_SPARK_REPR, read="spark")
    return template.transform(lambda node: text.copy() if isinstance(node, exp.Column) and node.name == "__s"
                              else node)


def concat(parts: list[exp.Expression]) -> exp.Expression:
    """`a || b || …` of non-NULL texts (every placeholder is COALESCEd)."""
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p, safe=True)
    return out


def _is_text(e: exp.Expression) -> bool:
    return isinstance(e, exp.Literal) and e.is_string


def _field_spec(part) -> str:
    """A placeholder's format spec (`templates.Field.spec`; "" for a plain name)."""
    return part.spec


def format_constant(value, spec: str) -> str:
    """A threshold's text with a format spec, at compile time: `values.format_field`."""
    return format_field(value, spec)


def _formatted(ftype: str, value: exp.Expression, spec: str, number: Num | None, what: str,
               stage=None) -> exp.Expression:
    """The text of a formatted placeholder: a decimal (computed output) or an integer; a
    double with a format is refused (its digits would be rounded from its binary value,
    which SQL does not see)."""
    kw = {"stage": stage} if stage is not None else {}
    if number is not None:
        return formatted(Num(value.copy(), number.lo, number.hi, number.scale), spec, **kw)
    if ftype == "integer":
        return formatted(integer_num(value.copy(), INT_MIN, INT_MAX), spec, **kw)
    raise SqlLimitError(f"the format `{{{what}:{spec}}}` of a {ftype} value")


def placeholder(part, policy: Policy, facts: dict[str, exp.Expression], outputs: dict[str, exp.Expression],
                dialect: str, numbers: dict[str, Num] | None = None,
                shown: dict[str, Num] | None = None, stage=None,
                derived: dict[str, Num] | None = None) -> exp.Expression:
    """The text of one placeholder (`templates.Field`: a name and its format spec), never
    NULL. `numbers`: the computed outputs' decimal values (`computed.Calculator.outputs`);
    `shown`: the decimal values of the number facts shown with a format; `stage`: see
    `decimals.formatted`; `derived`: the derived facts' exact decimals (a quotient by a
    fact has none)."""
    numbers, shown, derived = numbers or {}, shown or {}, derived or {}
    name = str(part)
    spec = _field_spec(part)
    if name in policy.derived:
        if name not in derived:
            # a quotient by a fact (`derived.Ratio`): Python rounds it to 28 digits, SQL
            # does not compute it; every record whose message shows it is decided by the
            # native code (`QueryBuilder.decision` flags it `NATIVE`): this text is never shown
            return exp.Literal.string("?")
        # an exact DECIMAL (NULL when an input is missing: `?`), written as a computed
        # output's value is (`values.format_field` of its Decimal or int)
        number = derived[name]
        value = formatted(Num(number.sql.copy(), number.lo, number.hi, number.scale), spec,
                          **({"stage": stage} if stage is not None else {})) if spec else plain_text(number)
        return exp.Coalesce(this=value, expressions=[exp.Literal.string("?")])
    if any(name in specs and specs[name].type == "array" for specs in (policy.facts, policy.outputs)):
        # (a list's text: the native form's own formatting, not rebuilt here)
        raise SqlLimitError(f"a message that shows `{name}`, a list")
    if name in outputs:
        out = policy.outputs[name]
        computed = numbers.get(name) if out.computed else None
        if spec:
            fallback: exp.Expression = _formatted(out.type, outputs[name], spec, computed, name, stage)
        elif computed is not None:
            fallback = plain_text(Num(outputs[name].copy(), computed.lo, computed.hi, computed.scale))
        else:
            fallback = text_of(out.type, outputs[name], dialect)
    elif name in policy.thresholds:
        fallback = exp.Literal.string(format_constant(policy.thresholds[name].value, spec))
    else:
        fallback = exp.Literal.string("?")
    if name not in facts:
        return fallback
    ftype = policy.facts[name].type
    if spec and name in shown:
        value = _formatted(ftype, shown[name].sql, spec, shown[name], name, stage)
    elif spec:
        value = _formatted(ftype, facts[name], spec, None, name, stage)
    else:
        value = text_of(ftype, facts[name], dialect)
    return exp.Coalesce(this=value, expressions=[fallback])


def costly(part, policy: Policy) -> bool:
    """Whether a placeholder's text is a large expression (a format, a decimal's text),
    which the query computes once, in a column of its own (`message`'s `cache`)."""
    name = str(part)
    return bool(_field_spec(part)) or name in policy.derived or (
        name in policy.outputs and policy.outputs[name].computed)


def message(template: str, policy: Policy, facts: dict[str, exp.Expression],
            outputs: dict[str, exp.Expression], dialect: str,
            numbers: dict[str, Num] | None = None, shown: dict[str, Num] | None = None,
            cache: dict | None = None, derived: dict[str, Num] | None = None) -> exp.Expression:
    """The rendered template as an SQL text expression (never NULL); a placeholder in
    `cache` ((name, spec) → an expression, a column) is read from there."""
    parts = template_parts(template)
    pieces: list[exp.Expression] = []
    if parts[0]:
        pieces.append(exp.Literal.string(parts[0]))
    for i in range(1, len(parts), 2):
        key = (str(parts[i]), _field_spec(parts[i]))
        if cache is not None and key in cache:
            pieces.append(cache[key].copy())
        else:
            pieces.append(placeholder(parts[i], policy, facts, outputs, dialect, numbers, shown, derived=derived))
        if parts[i + 1]:
            pieces.append(exp.Literal.string(parts[i + 1]))
    merged: list[exp.Expression] = []
    for piece in pieces:  # adjacent literal texts (a threshold's, say) as one literal
        if merged and _is_text(piece) and _is_text(merged[-1]):
            merged[-1] = exp.Literal.string(merged[-1].this + piece.this)
        else:
            merged.append(piece)
    pieces = merged
    if not pieces:
        return exp.Literal.string("")
    if len(pieces) == 1 and not isinstance(pieces[0], exp.Literal):
        return pieces[0]
    return concat(pieces)
