"""The bounded CI slice of the fuzz harness (issue 11), and the replay of its corpus.

The slice: the number grid (every comparison operator against the values where int64
and doubles run out, on both backends), a fixed-seed sample of generated policies (validated, a share compiled and
decided on both backends), fuzzed records on fixed policies, and a few CLI runs, all in
recycled worker processes with per-input timeouts (`tests/fuzz/runner.py`). Its contract
is 0 tracebacks, 0 disagreements, 0 hangs. While bugs of issue 11 are being fixed, the
sample still finds some: each known bug is its own strict xfail (`test_open_bug_gone`), so
the fix of one shows up as an XPASS and the integrator removes it from OPEN_BUGS; a
failure of any other kind fails `test_no_new_failure_kinds` at once.

The corpus (`tests/fuzz/corpus/`): every input that once broke the promise, with its
expected outcome beside it (`<name>.expect.json`). An entry whose bug is still open
carries an `xfail` reason and is a strict xfail here.

Volumes are set to stay well under 60 s on two shared cores;
VERDICT_FUZZ_SLICE=4 multiplies them for a deeper local run.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from fuzz import CORPUS, cli, runner
from fuzz.cases import Config, grid_size
from fuzz.minimize import reproduce
from fuzz.oracle import FAILURE_KINDS, Finding, from_jsonable, known_item, to_jsonable
from fuzz.policies import number_grid

SEED = 20261111
SCALE = int(os.environ.get("VERDICT_FUZZ_SLICE", "1"))
POLICIES = 800 * SCALE
RECORDS = 3000 * SCALE
CLI_CASES = 8 * SCALE
TIMEOUT = 20.0
try:
    import durable.engine  # noqa: F401 - only to know whether the durable backend can run here
    DURABLE = True
except Exception:  # noqa: BLE001 - ImportError, or OSError from the C module on Python 3.13
    DURABLE = False  # per input; a policy case includes compiling it and deciding its records

# The bugs the fixed-seed sample finds today (oracle.known_item names them), each being
# fixed elsewhere. Remove an entry when its test XPASSes.
OPEN_BUGS = {
}


@pytest.fixture(scope="module")
def sample():
    """(counts, failures) of the whole slice, run once for the module."""
    cfg = Config(records=6)
    counts: Counter = Counter()
    failures: list[dict] = []
    for kind, n in (("grid", grid_size()), ("policy", POLICIES), ("record", RECORDS)):
        res = runner.run(kind, SEED, 0, n, cfg, timeout=TIMEOUT, recycle=100)
        counts.update({f"{kind}:{k}": v for k, v in res.counts.items()})
        counts.update(res.counts)
        failures += res.findings + [{"kind": "hang", "stage": kind, "signature": h[0], "item": None, "detail": h[2]}
                                    for h in res.hangs]
    res = cli.run_range(SEED, 0, CLI_CASES, timeout=TIMEOUT)
    counts.update(res.counts)
    failures += res.findings
    return counts, [f for f in failures if f["kind"] in FAILURE_KINDS or f["kind"] == "harness-error"]


def _show(failures: list[dict]) -> str:
    seen = Counter((f["kind"], f["stage"], f["signature"], f.get("item")) for f in failures)
    return "\n".join(f"{n} x {k}" for k, n in seen.most_common())


def test_the_slice_reaches_every_stage(sample) -> None:
    """A slice that silently tested nothing would pass: check it validated, compiled,
    decided on both backends, rendered, and ran the CLI."""
    counts, _ = sample
    assert counts["grid:cases"] == grid_size() > len(number_grid())
    assert counts["policy:policies"] == POLICIES
    assert counts["policy:valid"] >= POLICIES // 10
    assert counts["policy:compiled"] >= POLICIES // 25
    if DURABLE:  # where durable-rules cannot be imported (Python 3.13) every durable use is refused
        assert counts["grid:durable_compiled"] > 0
        assert counts["policy:durable_compiled"] >= POLICIES // 50
        assert counts["records_durable"] >= RECORDS // 5
    assert counts["rendered"] > 0 and counts["record_errors"] > 0
    assert counts["cli_runs"] >= CLI_CASES
    # language v2: records decided on an evaluation date (dates, with_time), on both
    # backends, and computed outputs checked against the exact evaluation
    assert counts["policy:records_as_of"] >= POLICIES // 10 and counts["record:records_as_of"] > 0
    assert counts["policy:records_as_of_durable"] > 0
    assert counts["policy:outputs_checked"] >= POLICIES // 10 and counts["record:outputs_checked"] > 0


def test_no_hangs(sample) -> None:
    _, failures = sample
    hangs = [f for f in failures if f["kind"] == "hang"]
    assert not hangs, _show(hangs)


def test_no_harness_errors(sample) -> None:
    _, failures = sample
    errors = [f for f in failures if f["kind"] == "harness-error"]
    assert not errors, _show(errors)


def test_no_new_failure_kinds(sample) -> None:
    """Every traceback, disagreement, unlocated or wrong error the slice finds is one of the
    open bugs; anything else is a new bug (the long run's findings folder has its input)."""
    _, failures = sample
    new = [f for f in failures if f["kind"] != "hang" and f.get("item") not in OPEN_BUGS]
    assert not new, _show(new)


@pytest.mark.parametrize("item", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=v))
                                  for k, v in OPEN_BUGS.items()])
def test_open_bug_gone(sample, item: str) -> None:
    _, failures = sample
    found = [f for f in failures if f.get("item") == item]
    assert not found, _show(found)


@pytest.mark.xfail(bool(OPEN_BUGS), strict=True, reason="open: " + "; ".join(OPEN_BUGS.values()))
def test_zero_tracebacks_disagreements_hangs(sample) -> None:
    """The contract itself: flips to a plain test when OPEN_BUGS is empty."""
    counts, failures = sample
    assert not failures, _show(failures)
    assert all(counts[k] == 0 for k in FAILURE_KINDS)


# -- the corpus --------------------------------------------------------------------------------

ENTRIES = sorted(CORPUS.glob("*.expect.json"))


def _param(path: Path):
    spec = json.loads(path.read_text("utf-8"))
    name = path.name.removesuffix(".expect.json")
    marks = [pytest.mark.xfail(strict=True, reason=spec["xfail"])] if spec.get("xfail") else []
    return pytest.param(spec, id=name, marks=marks)


def test_every_corpus_input_has_an_expectation() -> None:
    inputs = {p.name.split(".")[0] for p in CORPUS.iterdir() if p.is_file()}
    expected = {p.name.removesuffix(".expect.json") for p in ENTRIES}
    assert inputs == expected
    assert len(ENTRIES) >= 10


def _replay_api(spec: dict) -> None:
    from engine.api import CompiledPolicy
    from engine.compile import BackendError, compile_policy
    from fuzz.oracle import DurableLimitError
    from engine.language.source import load_bytes
    from engine.language.validate import validate

    raw = (CORPUS / spec["policy"]).read_bytes()
    record = from_jsonable(spec.get("record"))
    as_of = datetime.date.fromisoformat(spec["as_of"]) if spec.get("as_of") else None
    failures = [f for f in reproduce(raw, record, as_of=as_of) if f.kind in FAILURE_KINDS]
    assert not failures, "\n".join(f"{f.kind} {f.stage} {f.signature}: {f.detail}" for f in failures)
    doc, diags = load_bytes(raw, spec["policy"])
    policy, diags = validate(doc) if doc is not None else (None, diags)
    if spec["expect"] == "invalid":
        assert policy is None
        errors = [d for d in diags if d.severity == "error"]
        assert spec["error_code"] in [d.code for d in errors], [d.code for d in errors]
        assert all(d.line >= 1 and d.column >= 1 for d in errors)
        return
    assert policy is not None, [d.render() for d in diags]
    cp = CompiledPolicy(compile_policy(policy))
    want = spec.get("decision")
    if record is None or want is None:
        return
    for backend in ("native", "durable"):
        for trace in (False, True):
            try:
                d = cp.evaluate(record, backend=backend, trace=trace, as_of=as_of)
            except (BackendError, DurableLimitError):
                assert backend == "durable"  # a documented refusal is an answer, a wrong decision is not
                continue
            got = {"outcome": d.outcome, "flags": list(d.flags), "outputs": d.outputs}
            assert {k: got[k] for k in want} == want, (backend, trace)


def _replay_cli(spec: dict, tmp_path: Path) -> None:
    shutil.copy(CORPUS / spec["policy"], tmp_path / "policy.yaml")
    facts = tmp_path / ("facts." + spec["facts"].rsplit(".", 1)[1] if spec.get("facts") else "facts.json")
    if spec.get("facts"):
        shutil.copy(CORPUS / spec["facts"], facts)
    args = [a.replace("{policy}", str(tmp_path / "policy.yaml")).replace("{facts}", str(facts)) for a in spec["args"]]
    out_path = None
    if spec["output"] == "missing-dir":
        out_path = tmp_path / "missing" / "out.txt"
        args += ["-o", str(out_path)]
    rc, out, err = cli._exec([cli.sys.executable, "-m", "engine.cli", *args], spec["output"],
                             spec.get("max_seconds", 60))  # over its time budget, an entry is a hang
    kind, signature, detail = cli.classify({"output": spec["output"]}, rc, out, err, out_path)
    assert kind in ("ok", "error"), f"{kind}: {signature}\n{detail}"
    assert rc in spec["exit"], (rc, err[-500:])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if spec.get("stderr") == "quiet":
        assert not lines, err
    elif spec.get("stderr") == "one-line":
        assert len(lines) == 1 and lines[0].startswith("verdict: "), err
    if "stdout_lines" in spec:
        assert len([ln for ln in out.splitlines() if ln.strip()]) == spec["stdout_lines"], out


@pytest.mark.parametrize("spec", [_param(p) for p in ENTRIES])
def test_corpus_entry(spec: dict, tmp_path: Path) -> None:
    if spec["surface"] == "api":
        _replay_api(spec)
    else:
        _replay_cli(spec, tmp_path)


# -- the runner itself --------------------------------------------------------------------------

def test_runner_counts_a_hang_and_goes_on_after_it(monkeypatch) -> None:
    """A case that never answers is a hang against its own index; the cases after it still
    run, in a fresh worker (the workers are forked, so they inherit this patch). A sleeping
    worker uses no CPU: it hangs by the wall-clock cap (tests/test_fuzz_runner.py has the
    CPU rule)."""
    import time

    def case(oracle, seed, index, cfg):
        oracle.counts["ran"] += 1
        if index == 3:
            time.sleep(60)
        return []

    monkeypatch.setattr(runner, "run_policy_case", case)
    res = runner.run("policy", 1, 0, 6, Config(), timeout=1.0, wall_cap=2.0, batch=2)
    assert [h[:2] for h in res.hangs] == [("policy:1:3", "wall")]
    assert res.counts["ran"] == 5 and res.counts["cases"] == 6 and res.workers == 2


def test_runner_recycles_workers(monkeypatch) -> None:
    def case(oracle, seed, index, cfg):
        oracle.counts["durable_compiled"] += 1  # as if each case built a policy on durable
        return []

    monkeypatch.setattr(runner, "run_policy_case", case)
    res = runner.run("policy", 1, 0, 10, Config(), recycle=3, batch=1)
    assert res.counts["cases"] == 10 and res.workers == 4


# -- the oracle itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("output, rc, err, kind", [
    ("pipe", 0, "", "ok"),
    ("pipe", 1, "p.yaml:3:1: error …\n", "ok"),
    ("pipe", 2, "verdict: p.yaml: policy is not valid\n", "error"),
    ("pipe", 2, "", "unlocated"),
    ("pipe", 2, "Traceback (most recent call last):\n  File \"/x/engine/cli/common.py\", line 50, in w\nOSError: x\n",
     "traceback"),
    ("pipe", 3, "verdict: internal error\n", "traceback"),
    ("pipe", 2, "verdict: backends disagree on u1\n", "disagreement"),
    ("pipe", 4, "", "traceback"),
    ("pipe", None, "", "hang"),
    ("closed-pipe", -13, "", "ok"),
    ("closed-pipe", 141, "", "ok"),
    ("closed-pipe", 2, "verdict: users.csv: cannot read: Broken pipe\n", "wrong-error"),
    ("closed-pipe", 2, "verdict: cannot write <stdout>: Broken pipe\n", "wrong-error"),
    ("closed-pipe", 2, "verdict: facts.json[0]: nested deeper than the limit of 64 levels\n", "error"),
    ("dev-full", 2, "verdict: users.csv: cannot read: No space left on device\n", "wrong-error"),
    ("dev-full", 0, "", "wrong-error"),
    ("dev-full", 2, "verdict: cannot write <stdout>: No space left on device\n", "error"),
    ("missing-dir", 0, "", "wrong-error"),
])
def test_cli_classification(output: str, rc, err: str, kind: str) -> None:
    assert cli.classify({"output": output}, rc, "", err, None)[0] == kind


def test_cli_traceback_signature_names_the_engine_frame() -> None:
    err = ('Traceback (most recent call last):\n  File "/w/engine/cli/main.py", line 28, in invoke\n'
           '  File "/w/engine/cli/common.py", line 50, in write_output\nOSError: [Errno 28] No space left on device\n')
    assert cli.classify({"output": "pipe"}, 1, "", err, None)[1] == "OSError at engine/cli/common.py:50 in write_output"


def test_records_round_trip_through_tagged_json() -> None:
    import math

    record = {"a": math.nan, "b": -math.inf, "c": -0.0, "d": b"\x00", "e": (1, [2]), 1: "non-string key",
              "f": "\ud83c", "g": 10**30, "$x": 1, "h": -(10**4400)}
    back = from_jsonable(json.loads(json.dumps(to_jsonable(record))))
    assert math.isnan(back["a"]) and back["b"] == -math.inf and math.copysign(1, back["c"]) == -1
    assert {k: v for k, v in back.items() if k not in ("a",)} == {k: v for k, v in record.items() if k != "a"}


@pytest.mark.parametrize("finding, item", [
    ({"kind": "disagreement", "stage": "durable", "signature": "", "detail": "", "record": {"x": 2**63}}, "1"),
    ({"kind": "disagreement", "stage": "durable", "signature": "", "detail": "", "record": {"x": 2**62}}, None),
    ({"kind": "disagreement", "stage": "cli-eval", "signature": "", "detail": "",
      "record": {"facts_hex": ("{\"x\": " + "7" * 5000 + "}").encode().hex()}}, "1"),
    ({"kind": "traceback", "stage": "compile", "signature": "SyntaxError at engine/backends/native.py:394",
      "detail": ""}, "5"),
    ({"kind": "traceback", "stage": "eval-native", "signature": "NameError at <verdict generated code> in decide",
      "detail": "NameError: name 'o' is not defined"}, "new-outcome-condition"),
    ({"kind": "traceback", "stage": "eval-native", "signature": "KeyError at engine/evaluate.py:1", "detail": ""},
     None),
])
def test_known_items(finding: dict, item) -> None:
    f = Finding(**{**finding, "record": to_jsonable(finding.get("record"))})
    assert known_item(f) == item


def test_runner_counts_a_dead_worker_and_goes_on(monkeypatch) -> None:
    """A worker killed inside a case (as by a segfault in durable-rules' C code) is a
    traceback finding against that case; the rest run in a fresh worker."""
    import signal

    def case(oracle, seed, index, cfg):
        if index == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return []

    monkeypatch.setattr(runner, "run_policy_case", case)
    res = runner.run("policy", 1, 0, 5, Config(), timeout=10.0, batch=5)
    assert [(f["kind"], f["case"]) for f in res.findings] == [("traceback", "policy:1:2")]
    assert "exited with -9" in res.findings[0]["signature"] and res.counts["cases"] == 5 and res.workers == 2
