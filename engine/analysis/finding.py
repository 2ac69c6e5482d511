"""One analysis finding (`Finding`) and the stable finding codes, shared by `findings`
(the checks over rules) and `tablefindings` (the checks over decision tables)."""

from __future__ import annotations

from dataclasses import dataclass

from ..language.diagnostics import Diagnostic
from ..space.describe import show

MAX_GAP_REGIONS = 6  # gap regions reported one by one; the rest are counted

# Finding codes (stable; `docs/analysis.md` describes each).
RULE_UNSATISFIABLE = "rule-unsatisfiable"
RULE_SHADOWED = "rule-shadowed"
RULE_SUBSUMED = "rule-subsumed"
GAP = "gap"
THRESHOLD_INVERTED = "threshold-inverted"
CONDITION_ALWAYS_TRUE = "condition-always-true"
CONDITION_ALWAYS_FALSE = "condition-always-false"
ANALYSIS_INCOMPLETE = "analysis-incomplete"
ANALYSIS_UNVERIFIED = "analysis-unverified"
ACKNOWLEDGEMENT_UNUSED = "acknowledgement-unused"
TABLE_OVERLAP = "table-overlap"
TABLE_CONFLICT = "table-conflict"
TABLE_ROW_UNREACHABLE = "table-row-unreachable"
CODES = (RULE_UNSATISFIABLE, RULE_SHADOWED, RULE_SUBSUMED, GAP, THRESHOLD_INVERTED, CONDITION_ALWAYS_TRUE,
         CONDITION_ALWAYS_FALSE, ANALYSIS_INCOMPLETE, ANALYSIS_UNVERIFIED, ACKNOWLEDGEMENT_UNUSED, TABLE_OVERLAP,
         TABLE_CONFLICT, TABLE_ROW_UNREACHABLE)



# -- findings ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    rule: str | None
    loc: object  # model.Loc
    witness: dict | None = None
    hint: str | None = None
    region: str | None = None
    suppressed: str | None = None  # the authors' reason, when they acknowledged the finding

    def to_diagnostic(self) -> Diagnostic:
        loc = self.loc
        hint = self.hint
        if self.witness is not None:
            w = ", ".join(f"{k}={show(v)}" for k, v in self.witness.items())
            hint = f"{hint}; witness: {w}" if hint else f"witness: {w}"
        return Diagnostic(self.code, self.message, self.severity, loc.file if loc else "", loc.line if loc else 0,
                          loc.column if loc else 0, loc.pointer if loc else "", hint, self.rule, self.witness,
                          suppressed=self.suppressed)
