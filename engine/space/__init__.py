"""The fact-space algebra: cells per fact, boxes and regions, conditions as three-valued
regions, witnesses, compact descriptions, nearest points, and the work budget. List facts
(`lists`) and string tests (`strings`) are exact cells; derived facts and fact-to-fact
comparisons (`opaque`) get axes of their own, with witnesses found by search.

Static analysis, `verdict diff`, counterfactuals and boundary-case generation all work on
this one representation (docs/analysis.md, "The method").
"""

from .budget import MAX_BOXES, MAX_STEPS, Budget, Incomplete
from .cells import Cell, Dim, Space
from .conditions import Regions, leaf_masks
from .describe import describe_box
from .nearest import NUMBER_STEP, Origin, nearest_points, nearest_value
from .regions import box_minus, box_size, contains, intersect, is_subset, merge, simplify, subtract, union

__all__ = ["MAX_BOXES", "MAX_STEPS", "NUMBER_STEP", "Budget", "Cell", "Dim", "Incomplete", "Origin", "Regions",
           "Space", "box_minus", "box_size", "contains", "describe_box", "intersect", "is_subset", "leaf_masks",
           "merge", "nearest_points", "nearest_value", "simplify", "subtract", "union"]
