"""The work bound of an exact fact-space computation: a count, passed in, never a clock.

An analysis that would need too many boxes, or too many box operations, stops with
`Incomplete` and reports itself incomplete instead of guessing. The bound counts work, so
the same policy gives the same answer on any machine under any load, and a `Budget` is a
value each computation owns: two analyses in two threads never share one by accident
(there is no process-global state), and one budget shared on purpose still counts exactly.
"""

from __future__ import annotations

import threading

from ..errors import Incomplete

#: Boxes one region may hold; beyond this the computation is incomplete.
MAX_BOXES = 5000
#: Box operations (pairs intersected, boxes subtracted or compared) one computation may do.
#: About 55 times what the analysis of the 200-rule policy of bench/bench_analysis.py spends
#: (0.9 million); some 15 s of work on the machine of bench/RESULTS-analysis.md.
MAX_STEPS = 50_000_000


class Budget:
    """How much work one computation (an analysis, a diff, a policy's counterfactual
    regions) may do: at most `max_boxes` boxes per region and `max_steps` box operations
    in all. `steps` counts what was spent so far."""

    def __init__(self, max_boxes: int = MAX_BOXES, max_steps: int = MAX_STEPS):
        self.max_boxes = max_boxes
        self.max_steps = max_steps
        self.steps = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Budget(max_boxes={self.max_boxes}, max_steps={self.max_steps}, steps={self.steps})"

    def boxes(self, n: int) -> None:
        """A region of `n` boxes is about to be kept."""
        if n > self.max_boxes:
            raise Incomplete(f"a region needs more than {self.max_boxes} boxes")

    def spend(self, n: int) -> None:
        """`n` more box operations were done."""
        with self._lock:
            self.steps += n
            over = self.steps > self.max_steps
        if over:
            raise Incomplete(f"the budget of {self.max_steps:,} box operations ran out")
