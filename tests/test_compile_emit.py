"""`engine.compile.emit` and `verdict compile --emit`: the executable forms as text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.compile import compile_policy, emit
from engine.errors import BackendError
from engine.io.policies import load_policy

ROOT = Path(__file__).resolve().parent.parent
DOUBLE11 = ROOT / "policies" / "double11-coupon.yaml"
POLICIES = sorted(p for p in (ROOT / "policies").glob("*.yaml") if not p.name.endswith(".test.yaml"))


def test_the_python_form_compiles_and_is_what_the_backend_runs():
    policy = load_policy(DOUBLE11)
    src = emit(policy, "python")
    code = compile(src, "double11.py", "exec")
    assert {"rule_matches", "trace", "decide", "decide_trace"} <= set(code.co_names)
    assert src == compile_policy(policy).native.source  # one text: emitted = executed


def test_the_durable_form_is_json_with_every_rule():
    policy = load_policy(DOUBLE11)
    doc = json.loads(emit(policy, "durable"))
    assert doc["policy"] == "double11-coupon" and doc["digest"] == policy.digest
    assert list(doc["rules"]) == [r.id for r in policy.rules]
    assert [s["rules"] for s in doc["strata"]] == [[policy.rules[i].id for i in s] for s in policy.strata]
    named = {f"{rs}.{p}" for rs, rules in doc["rulesets"].items() for p in rules}
    for entry in doc["rules"].values():
        assert entry["true_when"] and all(set(term) <= named for term in entry["true_when"])


def test_the_durable_form_is_what_durable_rules_receives():
    pytest.importorskip("durable.engine")
    policy = load_policy(DOUBLE11)
    be = compile_policy(policy).backend("durable")
    from engine.backends.durable import host

    _, _, h = host._runtime()
    registered = [json.loads(h.get_ruleset(rs.name)._definition) for _, rss in be._compiled.strata for rs in rss]
    assert registered == list(json.loads(emit(policy, "durable"))["rulesets"].values())


def test_an_unknown_form_is_a_backend_error():
    with pytest.raises(BackendError, match="unknown form `cobol`"):
        emit(load_policy(DOUBLE11), "cobol")


SCRIPT = """
import sys
from pathlib import Path
from engine.compile import emit
from engine.io.policies import load_policy
for path in sys.argv[1:]:
    policy = load_policy(path)
    for form in ("python", "durable"):
        sys.stdout.write(f"@@@@ {path} {form}\\n" + emit(policy, form))
"""


def test_both_forms_are_identical_across_processes_and_need_no_durable_rules():
    outputs = []
    for seed, block in (("1", False), ("2", True)):
        # the second process cannot import durable-rules at all (as on Python 3.13)
        script = ("import sys\nsys.modules.update(dict.fromkeys(['durable', 'durable.engine', "
                  "'durable_rules_engine']))\n" if block else "") + SCRIPT
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script, *map(str, POLICIES)], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        outputs.append(out.stdout)
    assert outputs[0] == outputs[1]
    assert sum(line.startswith("@@@@ ") for line in outputs[0].splitlines()) == 2 * len(POLICIES)


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("form", ["python", "durable"])
def test_cli_prints_the_form(form):
    result = run("compile", str(DOUBLE11), "--emit", form)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == emit(load_policy(DOUBLE11), form) and result.stderr == ""


def test_cli_invalid_policy_prints_its_diagnostics_and_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: bad\nversion: 1\nfacts: {x: {type: integer}}\noutcomes: [a]\n"
                   "rules:\n  - {id: r, when: {y: {gt: 1}}, then: {outcome: a}}\n", encoding="utf-8")
    result = run("compile", str(bad), "--emit", "python")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"{bad}:6:" in result.stderr and "unknown-fact" in result.stderr
    validate = run("validate", str(bad))
    assert validate.exit_code == 1 and result.stderr == validate.stdout  # as `verdict validate` reports


def test_cli_missing_file_is_one_line_exit_2(tmp_path):
    result = run("compile", str(tmp_path / "nope.yaml"), "--emit", "durable")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("verdict: ") and "nope.yaml" in result.stderr


def test_cli_needs_a_known_form():
    assert run("compile", str(DOUBLE11), "--emit", "cobol").exit_code == 2
    assert run("compile", str(DOUBLE11)).exit_code == 2


def test_the_command_offers_exactly_the_library_forms():
    from engine.cli import compile as cli_compile
    from engine.compile import FORMS

    assert cli_compile.FORMS == FORMS  # kept apart only so that `verdict validate` starts fast


def test_compile_writes_its_form_to_a_file_with_o(tmp_path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    out = tmp_path / "d11.py"
    result = CliRunner().invoke(main, ["compile", "policies/double11-coupon.yaml", "--emit", "python", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text("utf-8") == emit(load_policy("policies/double11-coupon.yaml"), "python")
    missing = CliRunner().invoke(main, ["compile", "policies/double11-coupon.yaml", "--emit", "python",
                                        "-o", str(tmp_path / "no" / "d11.py")])
    assert missing.exit_code == 2 and "d11.py" in missing.stderr
