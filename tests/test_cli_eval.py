"""`verdict eval` / `verdict explain` through click's CliRunner: formats, batches, errors."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from engine.cli.main import main

POLICY = "policies/double11-coupon.yaml"
GOLD = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 1500, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
        "credit_utilization": 0.35}


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_eval_one_json_file():
    r = run("eval", "-p", POLICY, "examples/user-gold.json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["outcome"] == "gold" and d["decided_by"] == ["gold-tier"] and d["outputs"] == {"coupon_yuan": 50}


def test_eval_stdin_is_byte_identical_across_runs_and_backends():
    outs = set()
    for backend in ("native", "durable"):
        if backend == "durable":
            pytest.importorskip("durable")
        for _ in range(2):
            r = run("eval", "-p", POLICY, "--explain", "--backend", backend, "-", input=json.dumps(GOLD))
            assert r.exit_code == 0, r.output
            outs.add(r.stdout)
    assert len(outs) == 1


def test_eval_csv_batch_streams_jsonl_with_summary(tmp_path):
    r = run("eval", "-p", POLICY, "examples/users.csv")
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert [json.loads(x)["outcome"] for x in lines] == ["gold", "denied", "platinum", "silver", "ineligible", "denied"]
    assert "6 decisions: denied 2" in r.stderr


def test_bad_record_fails_with_line_and_field_and_writes_nothing(tmp_path):
    src = tmp_path / "users.jsonl"
    bad = {**GOLD, "credit_score": "high"}
    src.write_text("\n".join(json.dumps(x) for x in (GOLD, bad, GOLD)) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = run("eval", "-p", POLICY, str(src), "-o", str(out))
    assert r.exit_code == 2
    assert f"{src}:2: fact `credit_score` must be an integer" in r.stderr
    assert "Traceback" not in r.output
    assert not out.exists() and os.listdir(tmp_path) == ["users.jsonl"]


def test_on_error_skip_reports_and_continues(tmp_path):
    src = tmp_path / "users.jsonl"
    src.write_text(json.dumps(GOLD) + "\n{not json\n" + json.dumps({**GOLD, "membership": "vip"}) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = run("eval", "-p", POLICY, str(src), "--on-error", "skip", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert f"{src}:2: invalid JSON" in r.stderr
    assert f"{src}:3: fact `membership` is `vip`, not one of" in r.stderr
    assert "2 records skipped" in r.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["eval", "-p", "nope.yaml", "examples/user-gold.json"], "no such file"),
    (["eval", "-p", POLICY, "missing.json"], "missing.json: cannot read"),
    (["eval", "-p", "tests/test_smoke.py", "examples/user-gold.json"], "policy is not valid"),
], ids=["missing-policy", "missing-facts", "invalid-policy"])
def test_input_errors_exit_2_without_traceback(args, message):
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_explain_denied_user_shows_threshold_actual_and_line():
    r = run("explain", "-p", POLICY, "examples/user-denied.json")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("DENIED  double11-coupon v1")
    assert "✗ overdue-severe [OVERDUE_SEVERE]  overdue_days 45 > max_overdue_days (30)" in r.stdout
    assert "policies/double11-coupon.yaml:" in r.stdout


def test_explain_granted_user_in_chinese():
    r = run("explain", "-p", POLICY, "--lang", "zh", "examples/user-gold.json")
    assert r.exit_code == 0, r.output
    assert "黄金档" in r.stdout
    assert "▶ row 2 gold-tier applied: credit_score 720 ≥ gold_credit_score (700)" in r.stdout


def test_yaml_facts_and_list_of_records(tmp_path):
    f = tmp_path / "users.yaml"
    f.write_text("- " + json.dumps(GOLD) + "\n- " + json.dumps({**GOLD, "frozen": True}) + "\n", encoding="utf-8")
    r = run("eval", "-p", POLICY, str(f), "--format", "jsonl")
    assert r.exit_code == 0, r.output
    assert [json.loads(x)["outcome"] for x in r.stdout.splitlines()] == ["gold", "denied"]


def test_id_field_is_copied_not_treated_as_a_fact():
    r = run("eval", "-p", POLICY, "examples/users.csv", "--id", "user_id")
    assert r.exit_code == 0, r.output
    ids = [json.loads(x)["record_id"] for x in r.stdout.splitlines()]
    assert ids == ["u001", "u002", "u003", "u004", "u005", "u006"]
    assert "undeclared" not in r.stderr


def test_repeated_warning_is_shown_once_and_counted():
    """`--undeclared warn-once` (the default): one line for the batch, after the summary,
    naming the key, where it was first seen and in how many records; not in the JSON."""
    r = run("eval", "-p", POLICY, "examples/users.csv")
    assert r.exit_code == 0
    assert r.stderr.count("undeclared fact `user_id` ignored") == 1
    assert r.stderr.splitlines()[-1] == ("verdict: warning: examples/users.csv:2: undeclared fact `user_id` "
                                         "ignored (in 6 records)")
    assert all("warnings" not in json.loads(x) for x in r.stdout.splitlines())


def test_missing_id_field_is_a_located_record_error(tmp_path):
    src = tmp_path / "u.jsonl"
    src.write_text(json.dumps(GOLD) + "\n", encoding="utf-8")
    r = run("eval", "-p", POLICY, str(src), "--id", "user_id")
    assert r.exit_code == 2
    assert f"{src}:1: record has no `user_id`" in r.stderr


def test_python_api_matches_the_cli():
    from engine import FactsError, PolicyError, load_policy, load_policy_text

    p = load_policy(POLICY)
    d = p.evaluate(GOLD)
    assert d.outcome == "gold" and d.outputs == {"coupon_yuan": 50}
    cli = run("eval", "-p", POLICY, "-", input=json.dumps(GOLD))
    assert p.to_json(d) + "\n" == cli.stdout
    silver = {**GOLD, "overdue_days": 12, "monthly_spend": 3000}
    text = p.explain(silver)
    assert "overdue_days 12 → 3" in text and "⇒ gold" in text
    assert run("explain", "-p", POLICY, "-", input=json.dumps(silver)).stdout == text
    with pytest.raises(FactsError):
        p.evaluate({**GOLD, "membership": "vip"})
    with pytest.raises(PolicyError) as exc:
        load_policy_text("policy: x\nversion: 1\n", "inline.yaml")
    assert exc.value.diagnostics[0].code == "schema-missing-key"


@pytest.mark.parametrize("record", [
    GOLD,  # ordinary: the generated fast path
    {**GOLD, "credit_score": 720.0},  # integral float: normalized on the generic path
    {k: v for k, v in GOLD.items() if k != "user_id"} | {"extra": 1},  # undeclared fact: a warning
    dict(reversed(list(GOLD.items()))),  # another key order
])
@pytest.mark.parametrize("options", [{}, {"trace": True}, {"backend": "durable"}, {"trace": True, "backend": "durable"}])
def test_the_api_evaluate_is_the_general_evaluate(record, options):
    """`CompiledPolicy.evaluate` is the generated function on each instance; it must give
    exactly what the documented method (engine.evaluate with the same options) gives."""
    from engine import load_policy
    from engine.api import CompiledPolicy
    from engine.evaluate import evaluate

    p = load_policy(POLICY)
    assert p.evaluate.__code__.co_filename.startswith("<verdict native ")  # generated code, not a wrapper
    got = p.evaluate(record, **options)
    assert got == evaluate(p.ruleset, record, trace=options.get("trace", False),
                           backend=options.get("backend", "native"))
    assert got == CompiledPolicy.evaluate(p, record, **options)
    assert (got.trace is not None) == bool(options.get("trace"))


def test_the_api_evaluate_rejects_like_the_method():
    from engine import FactsError, load_policy
    from engine.errors import BackendError

    p = load_policy(POLICY)
    for bad in ({**GOLD, "credit_score": 7000}, {**GOLD, "frozen": "no"}, "not a mapping"):
        with pytest.raises(FactsError):
            p.evaluate(bad)
    with pytest.raises(BackendError):
        p.evaluate(GOLD, backend="nope")
    with pytest.raises(TypeError):
        p.evaluate(GOLD, False)  # the options are keyword-only, as documented


def test_the_api_evaluate_keeps_the_method_signature_and_overrides():
    from engine import load_policy
    from engine.api import CompiledPolicy

    p = load_policy(POLICY)
    assert p.evaluate(facts=GOLD) == p.evaluate(GOLD)  # the documented parameter name
    assert p.evaluate.__doc__ == CompiledPolicy.evaluate.__doc__

    class Logged(CompiledPolicy):
        calls = 0

        def evaluate(self, facts, **options):
            Logged.calls += 1
            return super().evaluate(facts, **options)

    logged = Logged(p.ruleset)
    assert logged.evaluate(GOLD) == p.evaluate(GOLD) and Logged.calls == 1  # a subclass's method runs


def test_a_traced_irregular_record_takes_the_generic_path_once(monkeypatch):
    from engine import load_policy

    p = load_policy(POLICY)
    calls = []
    original = p.ruleset.native.decide_trace

    def counting(r):
        calls.append(r)
        return original(r)

    # both routes to the traced fast path: the generated code's and evaluate's
    monkeypatch.setitem(p.ruleset.decide.__globals__, "decide_trace", counting)
    monkeypatch.setattr(p.ruleset, "decide_trace", counting)
    d = p.evaluate({**GOLD, "credit_score": 720.0}, trace=True)  # needs normalizing: the generic path
    assert d.trace is not None and d.facts["credit_score"] == 720 and type(d.facts["credit_score"]) is int
    assert len(calls) == 1
    calls.clear()
    assert p.evaluate(GOLD, trace=True).trace is not None and len(calls) == 1
