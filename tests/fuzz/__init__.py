"""The fuzz harness that keeps verdict's reliability promise fixed (issue 11).

The promise: for every input, one located line and a documented exit code, or the right
answer; never a traceback, never two backends silently disagreeing, never a hang.

- `policies`: policy text generators and mutators (a random policy builder that reaches
  the compiler and both backends, byte flips, line edits, spliced YAML values from the
  example policies, tags, anchors, deep nesting, huge numbers, unicode and surrogate
  escapes, and structural edits of the parsed examples).
- `policies_v2`: built policies with the language v2 constructs (dates, presence tests,
  relative dates, computed outputs, timezone, message formats) and the date grid.
- `records`: fact records (every type at every fact, missing and extra keys, non-finite
  numbers, -0.0, integers beyond int64, strings where numbers go, nested values, valid
  and invalid dates) and the evaluation date of a case (`as_of_for`).
- `oracle`: runs one input through the API (or the CLI) and classifies what happened.
- `exact`: computed outputs evaluated again in `fractions.Fraction`, for the oracle.
- `runner`: worker processes with per-input hang limits (CPU seconds, and a wall-clock cap
  for a blocked worker), recycled after N policies (durable rules never frees a ruleset),
  used by the CI slice and by `scripts/fuzz.py`.
- `corpus`: inputs that once broke the promise, each with its expected outcome, replayed
  by `tests/test_fuzz_slice.py`.

Every case is a pure function of (seed, index): any input the long run reports can be
regenerated exactly, in another process or on another day.

The modules use relative imports so that the package works both as `fuzz` (pytest puts
`tests/` on the path) and as `tests.fuzz` (the long-run script puts the project root).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
