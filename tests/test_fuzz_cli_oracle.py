"""The CLI fuzzer's judgement of two answers that are right (found by the recorded run of
issue 11, cases cli:11:23 and cli:11:94): durable skipping, with `--on-error skip`, a
record it cannot decide exactly and saying so, where native decides it; and a closed pipe
whose stderr holds only a skipped record's located line, which the same command prints on
an ordinary pipe too. Replayed end to end on the engine."""

from __future__ import annotations

import json

from fuzz.cli import _durable_refused, run_case

POLICY = """\
policy: p
version: 1
facts:
  s: {type: number, required: false}
  n: {type: integer, minimum: 0, maximum: 10}
outcomes: [a, b]
default: b
rules:
  - {id: r, when: {any: [{s: {in: [-9.223372036854776e+18, 0.5]}}, {n: 3}]}, then: {outcome: a}}
"""


def spec(facts: str, args: list[str], output: str, backend: str = "both") -> dict:
    return {"policy_hex": POLICY.encode().hex(), "policy": POLICY, "facts_hex": facts.encode().hex(),
            "facts_format": "jsonl", "args": args, "output": output, "backend": backend, "case": "test"}


def test_durable_refusing_a_record_it_says_it_cannot_decide_is_not_a_disagreement():
    counts, findings = run_case(spec('{"n": 3}\n', ["eval", "-p", "{policy}", "{facts}", "--on-error", "skip"], "pipe"))
    assert not findings and counts["cli_durable_refusals"] == 1, (counts, findings)


def test_durable_refused_needs_a_durable_rules_line_of_its_own():
    limit = "verdict: f.jsonl:1: threshold 9.2e18 on number fact `s` is beyond durable-rules' 64-bit integers"
    assert _durable_refused(limit + "\n", "")
    assert not _durable_refused(limit + "\n", limit + "\n")  # native says the same: not durable's
    assert not _durable_refused("verdict: f.jsonl:1: missing required fact `n`\n", "")
    assert not _durable_refused("", "")


def test_a_closed_pipe_with_a_skipped_records_line_is_quiet_about_the_pipe():
    records = "".join(json.dumps({"n": k % 11}) + "\n" for k in range(3000)) + '{"s": 1}\n'
    counts, findings = run_case(spec(records, ["eval", "-p", "{policy}", "{facts}", "--on-error", "skip",
                                               "--explain"], "closed-pipe", "native"))
    assert not findings, [(f.kind, f.signature, f.detail) for f in findings]
