"""The fact-space algebra (engine/space): region operations against plain sets of points,
the budget, and nearest points against a direct minimum over every point."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.space import Budget, Incomplete, intersect, is_subset, merge, simplify, subtract, union
from engine.space.regions import box_minus, contains

WIDTHS = (3, 2, 4)  # cells per fact of a small abstract space
POINTS = list(itertools.product(*(range(w) for w in WIDTHS)))


def boxes():
    return st.tuples(*(st.integers(1, (1 << w) - 1) for w in WIDTHS))


def regions():
    return st.lists(boxes(), max_size=5)


def points(region) -> set:
    return {p for p in POINTS if contains(region, p)}


@settings(max_examples=200, deadline=None)
@given(a=regions(), b=regions())
def test_region_operations_are_exact(a, b):
    budget = Budget()
    assert points(intersect(a, b, budget)) == points(a) & points(b)
    assert points(union([a, b], budget)) == points(a) | points(b)
    assert points(subtract(a, b, budget)) == points(a) - points(b)
    assert is_subset(a, b, budget) == (points(a) <= points(b))
    assert points(merge(a + b, budget)) == points(a) | points(b)
    assert points(simplify(a + a)) == points(a)
    assert budget.steps > 0 or not (a and b)


@settings(max_examples=200, deadline=None)
@given(a=st.lists(boxes(), max_size=40), b=st.lists(boxes(), max_size=40))
def test_indexed_intersection_is_the_pairwise_one_box_for_box(a, b):
    """Large intersections index `b` by mask (`regions._meeting`): the same boxes in the
    same order, the same charge and the same refusal as testing every pair."""
    import engine.space.regions as regions

    def run(threshold: int, max_boxes: int):
        saved = regions.INDEX_MIN_PAIRS
        regions.INDEX_MIN_PAIRS = threshold
        budget = Budget(max_boxes=max_boxes)
        try:
            return intersect(a, b, budget), budget.steps
        except Incomplete as e:
            return str(e), budget.steps
        finally:
            regions.INDEX_MIN_PAIRS = saved

    for max_boxes in (5000, 7):
        assert run(0, max_boxes) == run(10 ** 9, max_boxes)


@given(x=boxes(), y=boxes())
def test_box_minus_gives_disjoint_pieces(x, y):
    pieces = box_minus(x, y)
    assert points(pieces) == points([x]) - points([y])
    for p, q in itertools.combinations(pieces, 2):
        assert not points([p]) & points([q])


def test_budget_bounds_boxes_and_steps_and_says_which():
    everything = [tuple((1 << w) - 1 for w in WIDTHS)]
    singles = [tuple(1 << (i % w) for w in WIDTHS) for i in range(4)]
    with pytest.raises(Incomplete, match="more than 3 boxes"):
        union([singles], Budget(max_boxes=3))
    with pytest.raises(Incomplete, match="budget of 2 box operations"):
        subtract(everything * 3, singles, Budget(max_steps=2))
    spent = Budget()
    subtract(everything, singles, spent)
    again = Budget()
    subtract(everything, singles, again)
    assert spent.steps == again.steps > 0  # work counted, not time
    assert "steps=" in repr(spent)
