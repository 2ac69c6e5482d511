"""What each diagnostic code means: the one table of short and full descriptions.

Every code verdict emits (loading, schema, names and types, whole-policy checks, static
analysis, test files) has a row here; the SARIF report's rules and the generated
docs/codes.md (one heading, hence one link anchor, per code) are built from it, and a test
fails on a code that is emitted but missing here.
"""

from __future__ import annotations

# code -> full description: what is wrong, then how to fix it. The short description is
# its first clause (see `short_description`).
DESCRIPTIONS: dict[str, str] = {
    'unreadable': 'The path does not exist, is a folder or cannot be read; the CLI prints one line and exits 2. Fix: fix the path or permissions.',
    'file-too-large': 'The file is larger than 1 MiB (1,048,576 bytes). Fix: split it into several policies.',
    'not-utf8': 'An invalid UTF-8 byte, located by line and column (UTF-16 is recognized). Fix: save the file as UTF-8.',
    'empty-file': 'The file is empty or only comments. Fix: write a policy: at least `policy`, `version`, `facts`, `outcomes`, `rules`.',
    'yaml-syntax': 'Not valid YAML: a bad indentation, an unclosed `{`/`[`, a `: ` inside a plain value, a tab used for indentation, a second document, a control character. Fix: fix the syntax at the position shown; the hint names the enclosing construct; quote values that contain `: `.',
    'yaml-duplicate-key': 'The same key twice in one mapping (names the first line). Fix: remove or rename one; for two conditions use `all: […]`.',
    'yaml-anchor': 'An anchor `&name`. Fix: write each value out in full.',
    'yaml-alias': 'An alias `*name`. Fix: repeat the value.',
    'yaml-merge-key': 'A merge key `<<`. Fix: write each key out in full.',
    'yaml-tag': 'A tag other than `!!str !!int !!float !!bool !!null`, or any tag on a list or mapping (`!include`, `!!timestamp`, `!!set`). Fix: remove the tag; quote the value to make it a string.',
    'yaml-bad-scalar': 'An explicit core tag on a value that does not fit it (`!!int 6_00`, `!!bool yes`). Fix: write the value in YAML 1.2 form, or drop the tag.',
    'yaml-non-finite': '`.inf`, `.nan`, or a number too large for a float (`1e400`). Fix: use a finite number.',
    'yaml-non-string-key': 'A mapping key that is a number, boolean, null or collection (`600:`, `true:`). Fix: quote the key.',
    'yaml-too-deep': 'Nesting deeper than 64 levels. Fix: flatten the conditions.',
    'yaml-number-too-long': 'An integer of more than 4,300 decimal digits (`0x…` included): Python cannot print it, and no threshold needs it. Fix: use a realistic number.',
    'yaml-lone-surrogate': 'A `\\ud800`–`\\udfff` escape without its other half; a valid pair (`\\ud83c\\udf89`, as `json.dumps` writes emoji) is joined into its character. Fix: write the character, or both halves.',
    'policy-not-mapping': 'The document is a list or a scalar, not a mapping. Fix: write `key: value` pairs at the top level.',
    'schema-unknown-key': 'A key the language does not have here (a typo: `tresholds`; an unknown operator: `less`). Fix: use the suggested key; the hint lists the allowed ones.',
    'schema-missing-key': "A required key is absent (`version`; a fact's `type`; a rule's `when`; an output's `default`). Fix: add it.",
    'schema-type': 'A value of the wrong type (a quoted number, `yes` for a boolean, an empty value, a list where a mapping is needed); for alternatives, all accepted types are named. Fix: write the expected type; remove quotes from numbers; `true`/`false` for booleans.',
    'schema-enum': 'A value outside a fixed set (a fact `type: bool`, `combine: average`, `change: up`). Fix: use one of the listed values.',
    'schema-pattern': 'A malformed id, code, tag or version (`policy: Mini Policy`, `reason: low_score`). Fix: follow the form in §4.',
    'schema-bad-name': 'A malformed name used as a key (a fact `member-ship`, a language tag `EN`). Fix: letters, digits and `_`, not starting with a digit (see §4).',
    'schema-empty': 'An empty list, mapping or string where one is required (`rules: []`, `when: {}`, `all: []`, `then: {}`, `enum: []`). Fix: fill it in or remove the key.',
    'schema-too-long': 'Too many items or characters (`between` with three values; a policy id over 100 characters). Fix: shorten it.',
    'schema-range': 'A number below a schema minimum (a negative `version`). Fix: use a value in range.',
    'schema-invalid': "Any other schema violation, in jsonschema's words (fallback; not expected with the current schema). Fix: read the message; check the value against the schema.",
    'fact-reserved-name': 'A fact is named `all`, `any`, `not`, `outcome`, `flag` or `rule`. Fix: rename the fact.',
    'fact-enum-not-string': '`enum` on a non-string fact. Fix: remove it; bound numbers with `minimum`/`maximum`.',
    'fact-enum-duplicate': 'An enum lists a value twice. Fix: remove the repeat.',
    'fact-range-not-numeric': '`minimum`/`maximum` on a string or boolean fact. Fix: remove it, or use `enum` for strings.',
    'fact-range-not-integer': 'A fractional bound on an `integer` fact. Fix: use a whole number, or make the fact `number`.',
    'fact-range-empty': '`minimum` above `maximum`. Fix: swap or fix the bounds.',
    'fact-bad-default': "The default does not fit the fact's type, enum or range (`default: no` on a boolean). Fix: fix the default (`true`/`false`).",
    'threshold-reserved-name': 'A threshold is named with a reserved word. Fix: rename it.',
    'threshold-shadows-fact': "A threshold has a fact's name. Fix: rename it, e.g. `min_<fact>`.",
    'threshold-mixed-list': 'A list threshold mixes strings, numbers, booleans. Fix: one type per list.',
    'outcome-duplicate': 'An outcome listed twice. Fix: remove one.',
    'default-unknown-outcome': '`default` is not in `outcomes`. Fix: fix the spelling or add the outcome.',
    'output-bad-default': "An output's default does not fit its type. Fix: fix the default.",
    'output-bad-combine': '`combine: min/max/sum` on a string or boolean output, `combine: list` on an output that is not an array, or `combine: count` on one that is not an integer. Fix: use `first`, or give the output the type its `combine` needs.',
    'unknown-fact': 'A condition names an undeclared fact. Fix: fix the name ("did you mean") or declare the fact.',
    'unknown-threshold': 'A string operand of a numeric fact is not a threshold; a bare `in`/`not_in` operand is not a list threshold. Fix: fix the name, declare the threshold, or write a list `[a, b]`.',
    'operator-type-mismatch': 'An order operator (`gt gte lt lte between`) on a string, boolean or the outcome; `in`/`not_in` on a boolean. Fix: use `eq`/`ne`/`in`/`not_in` for strings, `eq: true/false` for booleans.',
    'operand-type-mismatch': "An operand of the wrong type (a string for a boolean fact, `600.5` for an integer fact, a number for a string fact), or a list threshold where one value is needed. Fix: write a value of the fact's type; use `in` for lists.",
    'enum-value-unknown': 'A literal or threshold value is not in the fact\'s `enum`. Fix: fix the value ("did you mean") or extend the enum.',
    'value-out-of-range': "A literal outside the fact's declared range (the comparison can never vary). Fix: fix the value or the fact's range.",
    'threshold-out-of-range': "A threshold's value outside the range of a fact it is compared with. Fix: fix the threshold or the fact's range.",
    'between-empty': '`between` with low end above high end. Fix: swap the ends.',
    'ambiguous-operand': 'A string operand is both a threshold name and a value of the enum fact (or an outcome id) it is compared with. Fix: rename the threshold.',
    'unknown-flag': "`flag:` names a flag no rule raises. Fix: fix the name or raise it in a rule's `flags`.",
    'unknown-rule': '`rule:` names an id no rule has. Fix: fix the id.',
    'rule-duplicate-id': "Two rules share an id (the hint gives the first's line). Fix: rename one.",
    'unknown-outcome': 'A rule decides an undeclared outcome, or an `outcome` condition names one. Fix: fix the spelling or declare the outcome.',
    'unknown-reason': "A rule's `reason` is not declared in `reasons` (only when `reasons` exists). Fix: fix the code or declare it.",
    'unknown-output': '`set` names an undeclared output. Fix: declare it under `outputs:`.',
    'output-type-mismatch': '`set` gives a value of another type than the output\'s (`"50"` for an integer). Fix: write a value of the output\'s type.',
    'template-syntax': 'A lone `{` or `}`, or a placeholder that is not a bare name (`{ score }` with spaces included), in a message or a `reasons:` text. Fix: write `{{`/`}}` for literal braces; use `{name}` only.',
    'template-unknown-name': 'A placeholder that is not a declared fact, threshold or output, in a message or a `reasons:` text. Fix: fix the name ("did you mean").',
    'adverse-without-reason': 'A rule decides an adverse outcome without a `reason`. Fix: add `reason: SOME_CODE` so the user is told why.',
    'adverse-default': 'The `default` outcome is adverse, so users no rule decides would be refused with no reason. Fix: make the default non-adverse and decide the adverse outcome by rules with reason codes.',
    'dependency-cycle': 'Rules depend on each other in a cycle (through `rule:`, `flag:`, `outcome` or a condition on an output), or a rule reads the outcome (or an output a rule deciding the outcome sets) and also decides one. Fix: break the cycle; move the outcome to another rule or drop the `outcome` condition.',
    'lint-ignore-not-applicable': 'A `lint` entry that cannot apply where it is written: `ignore: [gap]` on a rule (a gap is about the policy), an unknown code, `rule:` on a policy-level code, `where:` on anything but `gap` or testing other than facts. Fix: acknowledge policy findings at the top level (§10); name a finding about a rule.',
    'output-conflict': 'Two rules that can contribute together set one output to different values. Fix: declare `combine: first|min|max|sum`, or make the values agree.',
    'threshold-unused': 'No rule or message uses the threshold. Fix: remove it or refer to it.',
    'fact-unused': 'No rule or message uses the fact. Fix: remove it or use it.',
    'message-missing-language': "A rule's message has no text in the policy's `language`. Fix: add that language, or change `language`.",
    'message-never-shown': 'A rule with a message decides no outcome and gives no reason code, so its message is never shown. Fix: add a `reason` (a notice), or remove the message.',
    'outcome-never-decided': 'No rule decides the outcome and it is not the default. Fix: add a rule, make it the default, or remove it.',
    'no-default': 'The policy has no `default` outcome. Fix: add `default: <outcome>` if undecided users should get one.',
    'date-invalid': "A date that is not a real calendar day written `YYYY-MM-DD` (`2026-02-30`, `2026-1-5`), as a date fact's `minimum`/`maximum` or as a date operand. Fix: write the year, month and day in full: `2026-01-31`.",
    'fact-with-time-not-numeric': '`change: with_time` on a fact that is not a day count (a string, boolean or date fact). Fix: use it on an `integer` or `number` fact; compare a date fact with `{days_ago: N}` instead.',
    'timezone-unknown': 'The `timezone` is not a name of the IANA time zone database (`Asia/Shangai`). Fix: use the suggested name, e.g. `Asia/Shanghai` or `UTC`.',
    'output-not-numeric': '`round`, `minimum` or `maximum` on a string or boolean output. Fix: remove it, or make the output `integer` or `number`.',
    'expr-malformed': 'An operation that is not one operator: two operators in one mapping, `to`/`mode` without `round`, `round` without `to`, or `to` not above 0. Fix: nest operations (`{min: [{mul: [a, b]}, c]}`) and write `{round: e, to: 100, mode: down}`.',
    'expr-unknown-name': 'An expression names something that is not a fact, a threshold or an output declared before the one it computes (an unknown name, a later output, the output itself). Fix: fix the name ("did you mean"), or declare the output it reads first.',
    'expr-ambiguous-name': 'An expression names something that is both an output and a fact or threshold, so which one it reads is unclear. Fix: rename the output or the fact/threshold.',
    'expr-operand-type': 'An operand of arithmetic that is not a number: a string, boolean or date fact, a string or list threshold, a string or boolean output. Fix: compute with `integer`/`number` facts, numeric thresholds and numeric outputs only.',
    'expr-div-by-zero': 'A `div` whose divisor can be 0 over the declared ranges (interval arithmetic over fact `minimum`/`maximum`, threshold values and literals; a fact without a range counts as containing 0). Fix: declare a range of the facts it reads that excludes 0 (`minimum: 1`), or divide by a non-zero constant.',
    'output-out-of-range': "A value an output takes is always outside the output's declared `minimum`/`maximum` (judged over the declared ranges of what it reads). Fix: fix the value or the bound.",
    'output-may-leave-range': "A value an output takes can be outside its declared `minimum`/`maximum` for some facts within their declared ranges (with `combine: sum`, the values of several rules together); the message gives the extreme value. Fix: bound the value (`{min: [e, bound]}`, `{max: [e, bound]}`), narrow the facts' ranges, or widen the output's bounds.",
    'output-range-empty': "An output's `minimum` is above its `maximum`. Fix: swap or fix the bounds.",
    'output-not-integral': 'A value of an `integer` output can have a fraction: a `div`, a non-integral literal or threshold, a `number` fact or output, or a `round` to a fraction. Fix: round it: `{round: e, to: 1, mode: half_even}`, or `round: {to: 1}` on the output.',
    'expr-optional-fact': "An expression reads an optional fact without a default where it may be missing: in an output's default, or in a rule whose condition can hold with the fact absent. Fix: add `fact: {missing: false}` (or any comparison on the fact) to the rule's `when`, or give the fact a `default`.",
    'template-format-type': 'A placeholder formats a value that is not a number (`{membership:,.2f}` on a string fact). Fix: drop the format: `{membership}`.',
    'policy-duplicate-id': '(from `verdict validate` over several files) two files use one `policy` id. Fix: give each policy its own id.',
    'rule-unsatisfiable': 'The rule can never match within the declared ranges.',
    'condition-always-true': "A rule's condition, or part of it, is constant over every valid fact set.",
    'condition-always-false': "A rule's condition, or part of it, is constant over every valid fact set.",
    'rule-shadowed': 'Whenever the rule matches, a rule of a higher-precedence outcome matches too: it never decides.',
    'rule-subsumed': 'Every fact set the rule matches also matches another rule of the same outcome (kept rules that set a different output value, like `increase-premium` in `credit-limit.yaml`, need `lint: {ignore: [rule-subsumed]}`).',
    'threshold-inverted': 'A rule for a better outcome demands less of a fact than a rule for a worse one.',
    'gap': 'A region of facts no outcome rule decides, described and with a witness; those users get the default.',
    'analysis-incomplete': 'The analysis stopped at its size bound; some findings may be missing.',
    'analysis-unverified': "A finding's witness did not verify, so the finding is withheld.",
    'acknowledgement-unused': 'A `lint: {acknowledge: …}` entry matches no finding (the policy changed under it).',

    'test-policy-missing': 'The policy a test file names (or the NAME.yaml beside NAME.test.yaml) does not exist. Fix: name the policy with `policy: <file>.yaml`, relative to the test file.',
    'test-policy-invalid': 'The policy a test file tests has errors, which are listed too. Fix: run `verdict validate` on the policy and fix it.',
    'test-unknown-fact': 'A test case gives a fact the policy does not declare. Fix: fix the name ("did you mean") or declare the fact.',
    'test-bad-fact': 'A test case gives a fact value the policy rejects (wrong type, outside its enum or range). Fix: write a value the fact accepts.',
    'test-bad-as-of': 'An `as_of` (of the suite or of a case) that is not a calendar day (`2026-02-30`). Fix: write a real day as `YYYY-MM-DD`.',
    'test-missing-as-of': 'A suite of a policy that uses time (a `date` fact or a `change: with_time` fact) with cases that have no evaluation date. Fix: add `as_of: YYYY-MM-DD` at the top of the suite or to each case (or run `verdict test --as-of`), so results never drift with the calendar.',
    'test-missing-fact': 'A test case lacks a fact the policy requires (no default). Fix: give the fact in the case or in its profile.',
    'test-bad-epsilon': 'An `epsilon` for a fact that is not a `number` fact. Fix: remove it; integer facts always use 1.',
    'test-duplicate-case': 'Two test cases share one name. Fix: rename one.',
    'test-unknown-profile': 'A case\'s `base` names no profile. Fix: fix the name or declare the profile under `profiles:`.',
    'test-unknown-outcome': 'A case expects an outcome the policy does not have. Fix: fix the spelling.',
    'test-unknown-rule': 'A case names a rule id the policy does not have. Fix: fix the id.',
    'test-unknown-output': 'A case expects an output the policy does not declare. Fix: fix the name.',
    'test-bad-output': 'A case expects an output value of the wrong type. Fix: write a value of the output\'s type.',
    'test-contradiction': 'A case expects one rule in two of `matched`/`not_matched`/`undetermined`, or one code both contained and excluded. Fix: keep one expectation.',
    # -- issue #15, surface (test suites) --
    'test-unknown-derived': 'A case expects a value of a derived fact the policy does not declare (`expect: {derived: …}`). Fix: name one of the policy\'s `derived:` facts (the hint suggests the nearest).',
    'test-bad-derived': 'A case expects a derived fact\'s value that is not a number (or an `integer` derived fact\'s value that is not a whole number). Fix: write a number, or `null` to expect it missing.',

    # -- the language v3 (issue 15, lang): list facts, string operators, derived facts --
    'array-shape': 'A `type: array` fact or output without `items` (what its items are), or `items`/`min_items`/`max_items` on one that is not an array. Fix: declare `items: {type: string}` (or integer, number, boolean) on the list, or remove the key.',
    'name-clash': 'A derived fact or an output has the name of a fact or a threshold, or a derived fact that of an output: they share one namespace, so a condition or an expression could not say which it means. Fix: rename one of them.',
    'operand-empty-string': 'A `starts_with`, `ends_with` or `contains` of a string with the empty text (a literal or a threshold), which every string matches. Fix: write the text to look for, or drop the condition.',
    'derived-unused': 'A derived fact that no condition, `{fact: …}` operand, expression, table input or message reads. Fix: compare it in a rule or a table, show it in a message, or remove it.',

    # -- decision tables (engine/language/tables.py, cells.py) --
    'table-cell-syntax': 'A table cell that the cell grammar cannot read (an empty cell, an unknown function such as `len(x)`, an unclosed quote, a list input compared with one value, a reason that is not a code). Fix: write `-`, a literal, `a, b`, a comparison `>= x`, an interval `[600..700)`, `not(a, b)` or a function the input takes; quote a text: `\'"a, b"\'`.',
    'table-cell-comparisons': 'A cell joins comparisons with a comma (`>= 30, < 50`): DMN and zen read that comma as OR, authors mean AND, so verdict refuses it. Fix: write the interval (`[30..50)`).',
    'table-cell-empty': 'An interval cell holds no value (`[700..600)`, `(5..5]`). Fix: write the low end first.',
    'table-duplicate-id': 'Two tables share one id (the prefix of their rows\' rule ids). Fix: rename one.',
    'table-unknown-input': 'A table input names no declared fact, derived fact or output. Fix: fix the name ("did you mean") or declare it.',
    'table-unknown-output': 'A table output column is not a declared output, `outcome`, `reason` or `message`. Fix: fix the name or declare the output under `outputs:`.',
    'table-duplicate-column': 'A table lists one output column twice. Fix: remove one.',
    'table-row-length': 'A table row has more or fewer cells than the table has columns (the id, the inputs, the outputs). Fix: one cell per column; `-` for any value, or for an output the row leaves unset.',
    'table-bad-row-id': 'An `id` cell (`id_column: true`) that is not a rule id. Fix: letters, digits, `_`, `.` and `-`, not starting with a digit.',
    'table-priority-needs-outcome': 'A `hit: priority` table without an `outcome` column: priority is the outcomes\' precedence. Fix: add an `outcome` column, or use `hit: first`.',
    'table-collect-needs-combine': 'A `hit: collect` table sets an output that declares no `combine` (sum, min, max, count, list), so several rows\' values could not become one. Fix: declare `combine:` on the output.',
    'table-collect-outcome': 'A `hit: collect` table with an `outcome` column: several rows cannot all decide the outcome. Fix: use `hit: priority`.',
    'table-csv-path': 'A table\'s `rows: {csv: …}` path is absolute or leaves the policy\'s folder (`..`). Fix: name a file in the policy\'s folder or below it, relative to the policy.',
    'table-csv-unreadable': 'A table\'s rows file is missing, unreadable, too big, resolves outside the policy\'s folder (a symlink), or the policy was given as text without its folder. Fix: put the CSV beside the policy and load the policy from its file.',
    'table-csv-syntax': 'A table\'s rows file is not valid CSV (an unclosed quoted field, a quote inside an unquoted field, text after a closing quote). Fix: quote the whole field and double the quotes inside it.',
    'table-csv-header': 'A table\'s rows file has no header row, a header that does not name the table\'s columns in order (`id` first when `id_column: true`), or no rows under it. Fix: first line `input1,input2,output1,…`, then one line per row.',

    # space (issue 15): decision tables' hit policies, proved over the fact space with a witness
    'table-overlap': 'Two rows of a `hit: unique` table both apply to some fact set (the witness); the later row is reported. Fix: make the rows\' cells disjoint, or use `hit: first`.',
    'table-conflict': 'Two rows of a `hit: any` table both apply to some fact set (the witness) and set different outputs. Fix: make the rows agree or disjoint, or use `hit: first`.',
    'table-row-unreachable': 'A row of a `hit: first` table never applies: earlier rows take every fact set its cells accept (the witness is one). Fix: move the row above them, narrow them, or remove it; a row kept on purpose is acknowledged with `lint: {acknowledge: [{code: table-row-unreachable, rule: <row id>, reason: …}]}`.',
}


# Where CamelCase would equal the id but for case, which SARIF consumers count as the same.
_NAMES = {"gap": "UndecidedGap", "unreadable": "UnreadableFile"}


def rule_name(code: str) -> str:
    """The rule's friendly name, as SARIF wants it (different from the id): `unknown-fact`
    becomes `UnknownFact`."""
    return _NAMES.get(code) or "".join(part[:1].upper() + part[1:] for part in code.split("-"))


def full_description(code: str) -> str:
    return DESCRIPTIONS.get(code, f"The `{code}` diagnostic.")


def short_description(code: str) -> str:
    """The first clause of the full description, as one sentence."""
    full = full_description(code)
    head = full.split(" Fix: ")[0].rstrip(".")
    for stop in ("; ", " (", ": "):
        head = head.split(stop)[0]
    return head + "."


def anchor(code: str) -> str:
    """The fragment of the code's heading in docs/codes.md (GitHub's heading slugs: the
    code itself, lower-case letters, digits and hyphens)."""
    return code


def codes_markdown() -> str:
    """docs/codes.md: one section per code, in table order; regenerated by the tests' check."""
    out = ["# Diagnostic codes", "",
           "Generated from `engine/explain/codes.py` (the SARIF report links each finding here);",
           "docs/policy-language.md §18 and docs/testing.md explain them in context.", ""]
    for code, full in DESCRIPTIONS.items():
        out += [f"## {code}", "", full, ""]
    return "\n".join(out)
