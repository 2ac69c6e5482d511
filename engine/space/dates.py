"""Time in the fact space: the evaluation date, date operands, and date facts as day axes.

A date fact is an integer axis of epoch-day ordinals (`date.toordinal()`), so its cells
are the integer intervals of `cells`. Operands are resolved on the evaluation date
`as_of` once, when the space is built: `{days_ago: N}` is the fixed day `as_of - N`, so
every finding, region and boundary holds for that evaluation date (a condition on
relative dates only holds the same on every date, since the whole space moves with it);
absolute date literals are compared as written. `RelativeDate.on` (the IR's one
definition of a relative date) does the resolving.
"""

from __future__ import annotations

import datetime

from ..language.model import DATE, Comparison, RelativeDate
from ..runtime import semantics

#: The ordinals a `datetime.date` can hold: the bounds of every date axis.
FIRST_DAY = datetime.date.min.toordinal()
LAST_DAY = datetime.date.max.toordinal()



def evaluation_date(policies, as_of: datetime.date | None) -> datetime.date | None:
    """`as_of`, or today in the first policy's timezone when some policy depends on the
    date (None otherwise: nothing is resolved on it, and no clock or timezone is read)."""
    if as_of is not None or not any(p.uses_time for p in policies):
        return as_of
    return semantics.today(policies[0].timezone)


def resolve(value, as_of: datetime.date):
    """An operand value with relative dates resolved on `as_of` (tuples element-wise). A
    relative date beyond the calendar is its first or last day: every date compares with
    it as with the day beyond (but for that one day, and evaluation refuses such an
    operand anyway), so the analysis of such a policy still runs."""
    if isinstance(value, RelativeDate):
        try:
            return value.on(as_of)
        except OverflowError:
            return datetime.date.min if value.offset < 0 else datetime.date.max
    if isinstance(value, tuple):
        return tuple(resolve(v, as_of) for v in value)
    return value


def leaf_operand(leaf: Comparison, as_of: datetime.date):
    """The resolved operand of a leaf on `as_of`: scalar, tuple of values, or (low, high).
    (`semantics.operand_value` refuses a relative date beyond the calendar; the analysis
    clamps it instead, see `resolve`.)"""
    if leaf.op == "between":
        return (resolve(leaf.operand[0].value, as_of), resolve(leaf.operand[1].value, as_of))
    return resolve(leaf.operand.value, as_of)


def is_relative(leaf: Comparison) -> bool:
    """Whether a leaf compares with a date relative to the evaluation date."""
    operands = leaf.operand if leaf.op == "between" else (leaf.operand,)
    return any(isinstance(o.value, RelativeDate) for o in operands)


def axis_value(ftype: str, value):
    """A fact value on its axis: a date as its ordinal, anything else as it is."""
    if ftype == DATE and isinstance(value, datetime.date):
        return value.toordinal()
    return value


def from_axis(ftype: str, value):
    """The fact value at a point of its axis: an ordinal of a date axis as its date."""
    if ftype == DATE and isinstance(value, int) and not isinstance(value, bool):
        return datetime.date.fromordinal(value)
    return value
