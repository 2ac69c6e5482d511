"""The one walk over condition trees (`Comparison` leaves under `All`, `Any`, `Not`).

Every stage that needs a condition's structure (evaluation, code generation, normal forms,
analysis, regions, diffs, explanations, coverage, test generation) goes through this
module, so a new kind of node is added in one place and every stage that forgets it fails
loudly (`TypeError`): no other module tests a node's class to recurse (a test scans for
it).

- `fold`: bottom-up, every child visited (no short-circuit), children in document order;
- `walk`: top-down, every node in document order with its polarity and ancestors;
- `leaves`: every leaf with its polarity;
- `nnf`: negation normal form, the polarity pushed down to the leaves;
- `substitute`: the tree with some nodes replaced (top-down), the rest rebuilt;
- `children` and `kind`: one level, for the few walks that are none of these (a solver
  that yields alternatives lazily), which dispatch on `kind`, never on the classes.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence, TypeVar

from .model import All, Any, Comparison, Not

T = TypeVar("T")

LEAF, ALL, ANY, NOT = "leaf", "all", "any", "not"


def _foreign(cond) -> TypeError:
    return TypeError(f"not a condition node: {type(cond).__name__}")


def fold(cond, leaf: Callable[[Comparison], T], all_: Callable[[All, list[T]], T],
         any_: Callable[[Any, list[T]], T], not_: Callable[[Not, T], T]) -> T:
    """Bottom-up: each leaf becomes `leaf(c)`, each inner node its function of its node and
    its children's results (every child is visited: no short-circuit). Calls happen in
    document order, each node's after its children's."""
    if isinstance(cond, Comparison):
        return leaf(cond)
    if isinstance(cond, All):
        return all_(cond, [fold(c, leaf, all_, any_, not_) for c in cond.items])
    if isinstance(cond, Any):
        return any_(cond, [fold(c, leaf, all_, any_, not_) for c in cond.items])
    if isinstance(cond, Not):
        return not_(cond, fold(cond.item, leaf, all_, any_, not_))
    raise _foreign(cond)


def substitute(cond, replace: Callable[[object], object | None]):
    """The tree with every node for which `replace(node)` gives a replacement (not None)
    replaced by it, top-down (a replaced node's children are not visited); the other
    nodes are rebuilt around their children."""
    new = replace(cond)
    if new is not None:
        return new
    if isinstance(cond, Comparison):
        return cond
    if isinstance(cond, All):
        return All(tuple(substitute(c, replace) for c in cond.items))
    if isinstance(cond, Any):
        return Any(tuple(substitute(c, replace) for c in cond.items))
    if isinstance(cond, Not):
        return Not(substitute(cond.item, replace))
    raise _foreign(cond)


def walk(cond, negated: bool = False, ancestors: tuple = ()) -> Iterator[tuple[object, bool, tuple]]:
    """Top-down, in document order: `(node, negated, ancestors)` for every node, where
    `negated` says whether an odd number of `not`s lies above it and `ancestors` runs from
    the root down to the node's parent."""
    yield cond, negated, ancestors
    if isinstance(cond, Comparison):
        return
    inner = ancestors + (cond,)
    if isinstance(cond, (All, Any)):
        for c in cond.items:
            yield from walk(c, negated, inner)
    elif isinstance(cond, Not):
        yield from walk(cond.item, not negated, inner)
    else:
        raise _foreign(cond)


def leaves(cond) -> Iterator[tuple[Comparison, bool]]:
    """Every leaf with its polarity (`True` under an odd number of `not`s), in order."""
    for node, negated, _ in walk(cond):
        if isinstance(node, Comparison):
            yield node, negated


def nnf(cond, leaf: Callable[[Comparison, bool], T], and_: Callable[[list[T]], T],
        or_: Callable[[list[T]], T], positive: bool = True) -> T:
    """Negation normal form: each `not` flips the polarity passed down, so a leaf becomes
    `leaf(c, positive)` (False under an odd number of `not`s) and an `all`/`any` becomes
    `and_`/`or_` of its children's results, swapped where the polarity is negative (De
    Morgan). Each leaf is visited once, in document order."""
    if isinstance(cond, Comparison):
        return leaf(cond, positive)
    if isinstance(cond, (All, Any)):
        parts = [nnf(c, leaf, and_, or_, positive) for c in cond.items]
        return (and_ if isinstance(cond, All) == positive else or_)(parts)
    if isinstance(cond, Not):
        return nnf(cond.item, leaf, and_, or_, not positive)
    raise _foreign(cond)


def children(cond) -> Sequence:
    """The direct sub-conditions of a node, in order (none for a leaf)."""
    if isinstance(cond, Comparison):
        return ()
    if isinstance(cond, (All, Any)):
        return cond.items
    if isinstance(cond, Not):
        return (cond.item,)
    raise _foreign(cond)


def kind(cond) -> str:
    """`LEAF`, `ALL`, `ANY` or `NOT`: the node's kind, for a walk that dispatches one level
    at a time (with `children`) because it is not a fold (it yields alternatives lazily, or
    stops early)."""
    if isinstance(cond, Comparison):
        return LEAF
    if isinstance(cond, All):
        return ALL
    if isinstance(cond, Any):
        return ANY
    if isinstance(cond, Not):
        return NOT
    raise _foreign(cond)
