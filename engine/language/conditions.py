"""The one walk over condition trees (`Comparison` leaves under `All`, `Any`, `Not`).

Every stage that needs a condition's structure (validation, evaluation, code generation,
analysis, explanations, coverage) goes through `fold` or `walk` here, so a new kind of node
is added in one place and every stage that forgets it fails loudly (`TypeError`).
"""

from __future__ import annotations

from typing import Callable, Iterator, TypeVar

from .model import All, Any, Comparison, Not

T = TypeVar("T")


def fold(cond, leaf: Callable[[Comparison], T], all_: Callable[[All, list[T]], T],
         any_: Callable[[Any, list[T]], T], not_: Callable[[Not, T], T]) -> T:
    """Bottom-up: each leaf becomes `leaf(c)`, each inner node its function of its node and
    its children's results (every child is visited: no short-circuit)."""
    if isinstance(cond, Comparison):
        return leaf(cond)
    if isinstance(cond, All):
        return all_(cond, [fold(c, leaf, all_, any_, not_) for c in cond.items])
    if isinstance(cond, Any):
        return any_(cond, [fold(c, leaf, all_, any_, not_) for c in cond.items])
    if isinstance(cond, Not):
        return not_(cond, fold(cond.item, leaf, all_, any_, not_))
    raise TypeError(f"not a condition node: {type(cond).__name__}")


def walk(cond, negated: bool = False, ancestors: tuple = ()) -> Iterator[tuple[object, bool, tuple]]:
    """Top-down, in document order: `(node, negated, ancestors)` for every node, where
    `negated` says whether an odd number of `not`s lies above it."""
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
        raise TypeError(f"not a condition node: {type(cond).__name__}")


def leaves(cond) -> Iterator[tuple[Comparison, bool]]:
    """Every leaf with its polarity (`True` under an odd number of `not`s), in order."""
    for node, negated, _ in walk(cond):
        if isinstance(node, Comparison):
            yield node, negated


def children(cond) -> tuple:
    """The direct sub-conditions of a node (none for a leaf)."""
    if isinstance(cond, Comparison):
        return ()
    if isinstance(cond, (All, Any)):
        return cond.items
    if isinstance(cond, Not):
        return (cond.item,)
    raise TypeError(f"not a condition node: {type(cond).__name__}")
