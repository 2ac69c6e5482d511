"""The durable backend: the policy IR compiled into durable-rules 2.0.28 rulesets.

It computes exactly `semantics.reference_matches`, through durable-rules' C Rete engine.
durable-rules is unmaintained and has sharp edges; every one we know of is neutralised
here and pinned by a test in `tests/test_backend_durable.py` (the table is in
`docs/backends.md`). In short:

Compiling (once per policy digest, process-wide):
- Every fact and every earlier conclusion becomes a field of one durable *fact* message
  with a synthetic name (`f3` fact, `r7` rule matched, `g0` flag, `o` outcome), so no
  policy text ever names a durable field. A missing fact, or an undecided conclusion, is
  an absent field. A `missing` test reads `p3` (fact 3 is present: true/false, always
  written). A date is its day number (`date.toordinal()`); a relative date operand
  (`{days_ago: N}`) is compared with `t3`, the fact's day number minus the evaluation
  date's, written per call, so one compiled ruleset serves every `as_of`.
- The conditions durable-rules cannot decide exactly are written by the host instead, one
  field per leaf: `q{k}` is the leaf's value (true/false; absent when unknown) computed by
  the one semantics (`semantics.eval_leaf`) on the record's values and what earlier strata
  concluded, and the rule compares it with `$eq`. These are the v3 leaves
  (`semantics.is_v3_leaf`): list operators (durable has no length, and its `$iany`/`$iall`
  are false on an empty list), string operators (durable's only string matching is its
  own regular-expression dialect, which we refuse), `{fact: …}` operands (a join in
  durable), derived facts (Decimals: durable compares doubles) and outputs (known only
  after the earlier strata ran, and tuples for list outputs). Every other leaf is compiled
  as before, so a policy without v3 constructs compiles to the same rulesets.
- A rule's condition is put in negation normal form (De Morgan), whose literals are
  "the field exists and the comparison holds" (every durable operator but `$nex` is false
  on a missing field). Under Kleene logic a rule is True iff that NNF matches, and False
  iff the NNF of its negation matches; otherwise unknown. The negation is compiled only
  for rules whose leaves can be unknown. `in`/`not_in` become `$or`/`$and` of
  `$eq`/`$neq`, `between` a `$gte`/`$lte` pair. Comparisons on integer facts are
  rewritten to exact integer bounds (`x > 2.5` ⇒ `x > 2`), clamped to durable's int64.
- Each durable rule is anchored (`_n` exists, `_n` is the unique message number), has an
  action of exactly one parameter that only appends an int code, and no `pri`.
- A stratum's durable rules are packed into as many rulesets as durable's limits need,
  checked on a model of the alpha network durable will build (the DFS stack of 64, 511
  conditions under one node, 15 `$and`/`$or` per rule, 127 join nodes, 255 rules per
  node, 252 fields per message, and at most 60 rules per ruleset). A rule too big alone
  is split by distributing one `$or` into several durable rules under their own anchors
  (their matches are OR-ed, exactly like durable's own `$or` firing once per branch).
- Ruleset JSON and fact JSON are written by this package, floats without exponents
  (durable rejects `1e-07` with error 204). Rulesets are registered once per digest in
  one process-wide `Host` whose `_run` does nothing (no timer threads).

Evaluating (one user at a time, under a process-wide lock, on a single sid):
- the derived facts once (`Plan.values`), and before each stratum the outputs its
  conditions read (`Plan.output_values`), for the `q{k}` fields;
- per stratum, per ruleset: `assert_fact` (never `post`, which fires one rule only), read
  the codes the actions appended (a set: `$or` fires once per true branch), then
  `retract_fact`. `MessageNotHandledException` means nothing matched (nothing is stored).
  An exception that durable swallowed in an action (it records it in the session state)
  is detected and raised, and the session is reset.

The modules, in dependency order: `limits` (measured limits, reserved names, errors),
`normal` (conditions in negation normal form, as durable JSON), `network` (the model of
durable's alpha network), `compiler` (rules to packed rulesets, pure; also the JSON of
`verdict compile --emit durable`), `messages` (fact encoders, message writers), `host`
(durable-rules itself, the Host, `DurableBackend`).
"""

from .host import DurableBackend

__all__ = ["DurableBackend"]
