"""The CLI side: `verdict validate/eval/explain` as subprocesses on files, and the output side.

`cli_case(seed, index)` describes one run (a policy file, a facts file in one of the four
input formats, possibly corrupted, the command and its options, and where the output
goes: a pipe, `-o` a file, `-o` into a missing folder, `/dev/full`, or a pipe closed
before anything is read). `run_case` runs it with a timeout and classifies it:

- ok: exit 0 or 1 (findings) with no "Traceback" anywhere.
- error: exit 2 with at least one line on stderr and no "Traceback".
- traceback: "Traceback" in stdout or stderr, or an exit code outside the documented
  table (0, 1, 2, 3, 130, 141; a process killed by SIGPIPE also counts as 141).
- disagreement: `eval` on the same files gives different stdout on the two backends (both
  exit 0), or a run reports that the backends disagree.
- unlocated: exit 2 with nothing on stderr.
- wrong-error: an output failure blamed on the input ("cannot read" for a full disk), a
  closed pipe that is not quiet, exit 0 although the output could not be written.
- hang: no exit within the timeout.

Both backends are compared on `eval` runs whose output is an ordinary pipe.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from . import ROOT
from .oracle import Finding, known_item
from .policies import policy_case, seeds
from .records import as_of_for, fuzz_record

TRACEBACK = "Traceback (most recent call last)"
DOCUMENTED = {0, 1, 2, 3, 130, 141, -13}  # -13: killed by SIGPIPE, what a shell shows as 141
OUTPUTS = ["pipe"] * 6 + ["file", "missing-dir", "dev-full", "closed-pipe"]
FAULTS = {"missing-dir", "dev-full", "closed-pipe"}
STDOUT = "<stdout>"  # how the CLI names standard output in its errors (engine/io/files.py)
NOTHING_DECIDED = "verdict: no record decided:"  # every record skipped (engine/explain/runs.py)


def _json_text(rng: random.Random, record) -> str:
    return json.dumps(record, default=str, skipkeys=True, ensure_ascii=rng.random() < 0.5)


def _facts_file(rng: random.Random, policy, fmt: str, as_of=None) -> bytes:
    """A facts file for `policy` (a validated Policy, or None) in `fmt`, sometimes corrupted."""
    records = [fuzz_record(rng, policy, as_of=as_of) for _ in range(rng.choice([1, 1, 2, 5]))] \
        if policy is not None else [{}]
    r = rng.random()
    if r < 0.06:  # nested 100,000 deep (issue 11 item 7)
        return ("[" * 100000 + "]" * 100000).encode() if fmt != "csv" else b"a\n" + b"x" * 140000 + b"\n"
    if r < 0.1:
        return b""
    if fmt == "json":
        text = _json_text(rng, records[0])
    elif fmt == "jsonl":
        text = "\n".join(_json_text(rng, x) for x in records) + "\n"
    elif fmt == "yaml":
        text = "\n".join(f"{k}: {json.dumps(v, default=str)}" for k, v in (records[0] if isinstance(records[0], dict)
                                                                          else {}).items() if isinstance(k, str)) + "\n"
    else:
        names = list(policy.facts) if policy is not None else ["x"]
        rows = [",".join(names)]
        for rec in records:
            rec = rec if isinstance(rec, dict) else {}
            rows.append(",".join("" if rec.get(n) is None else str(rec.get(n)).replace(",", " ").replace("\n", " ")
                                 for n in names))
        text = "\n".join(rows) + "\n"
    raw = text.encode("utf-8", "surrogatepass")
    r = rng.random()
    if r < 0.08:
        raw = raw[: rng.randrange(len(raw) + 1)]
    elif r < 0.12:
        raw = b"\xef\xbb\xbf" + raw
    elif r < 0.15:
        raw = raw.replace(b"0", b"\xff", 1)
    elif r < 0.18:
        raw = raw.replace(b"1", b"1" + b"7" * 5000, 1)
    return raw


def cli_case(seed: int, index: int) -> dict:
    rng = random.Random(f"cli:{seed}:{index}")
    r = rng.random()
    if r < 0.5:
        name, text = rng.choice(seeds())
        policy_raw = text.encode("utf-8")
    else:
        policy_raw, name = policy_case(seed, rng.randrange(10**9))
    from engine.language.source import load_bytes
    from engine.language.validate import validate

    doc, _ = load_bytes(policy_raw, "p.yaml")
    policy = validate(doc)[0] if doc is not None else None
    cmd = rng.choice(["validate", "eval", "eval", "eval", "explain"])
    fmt = rng.choice(["json", "json", "jsonl", "csv", "yaml"])
    args: list[str] = [cmd]
    if cmd == "validate":
        args += ["--format", rng.choice(["text", "json", "github", "junit", "sarif"]), "{policy}"]
    else:
        args += ["-p", "{policy}", "{facts}"]
        if rng.random() < 0.3:
            args += ["--on-error", "skip"]
        if cmd == "eval" and rng.random() < 0.3:
            args += ["--explain"]
        if rng.random() < 0.2:
            args += ["--format", rng.choice(["text", "markdown"] + (["jsonl", "json"] if cmd == "eval" else ["json"]))]
        if rng.random() < 0.2:
            args += ["--lang", rng.choice(["zh", "en", "xx"])]
    as_of = None
    if cmd != "validate" and policy is not None and policy.uses_time:
        # the evaluation date, from a stream of its own (the other draws stay as they were):
        # mostly a day of `records.as_of_for`, now and then one the CLI must refuse (exit 2)
        day_rng = random.Random(f"cli-as-of:{seed}:{index}")
        if day_rng.random() < 0.9:
            as_of = as_of_for(day_rng)
            args[1:1] = ["--as-of", as_of.isoformat()]
        else:
            args[1:1] = ["--as-of", day_rng.choice(["2026-02-30", "2026-1-5", "", "today", "10000-01-01",
                                                    "2026-12-01T00:00"])]
    output = rng.choice(OUTPUTS)
    backend = rng.choice(["native", "durable", "both", "both"]) if cmd != "validate" else "native"
    return {"case": f"cli:{seed}:{index}", "policy": policy_raw.decode("utf-8", "replace"),
            "policy_hex": policy_raw.hex(), "facts_format": fmt,
            "facts_hex": _facts_file(rng, policy, fmt, as_of).hex() if cmd != "validate" else "",
            "args": args, "output": output, "backend": backend, "policy_label": name}


def _command(spec: dict, folder: Path, backend: str) -> tuple[list[str], Path | None]:
    policy = folder / "policy.yaml"
    facts = folder / f"facts.{spec['facts_format']}"
    out = None
    args = [a.replace("{policy}", str(policy)).replace("{facts}", str(facts)) for a in spec["args"]]
    if spec["args"][0] != "validate":
        args += ["--backend", backend]
    if spec["output"] == "file":
        out = folder / "out.txt"
        args += ["-o", str(out)]
    elif spec["output"] == "missing-dir":
        out = folder / "missing" / "out.txt"
        args += ["-o", str(out)]
    return [sys.executable, "-m", "engine.cli", *args], out


def _communicate(p: subprocess.Popen, timeout: float):
    """`p.communicate()`, raising TimeoutExpired by the runner's hang rule: `timeout` CPU
    seconds used by the process, or 20 x `timeout` wall seconds (a starved process on a
    loaded machine is slow, not hung)."""
    from .runner import WALL_CAP_FACTOR, HangClock

    clock = HangClock(p.pid, timeout, WALL_CAP_FACTOR * timeout)
    while True:
        try:
            return p.communicate(timeout=clock.slice())
        except subprocess.TimeoutExpired:
            if clock.verdict() is not None:
                raise


def _exec(cmd: list[str], output: str, timeout: float) -> tuple[int | None, str, str]:
    env = dict(os.environ, LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1", COLUMNS="100")
    if output == "dev-full":
        with open("/dev/full", "w") as full:
            p = subprocess.Popen(cmd, stdout=full, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
            try:
                _, err = _communicate(p, timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                return None, "", ""
            return p.returncode, "", err.decode("utf-8", "replace")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT,
                         env=env)
    if output == "closed-pipe":
        p.stdout.close()  # before anything is read: the first write meets a closed pipe
        # stderr read beside the wait (a hung process would block a plain read forever)
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.append(p.stderr.read()), daemon=True)
        reader.start()
        from .runner import WALL_CAP_FACTOR, HangClock

        clock = HangClock(p.pid, timeout, WALL_CAP_FACTOR * timeout)
        while True:
            try:
                p.wait(timeout=clock.slice())
                break
            except subprocess.TimeoutExpired:
                if clock.verdict() is not None:
                    p.kill()
                    p.wait()
                    reader.join(5)
                    return None, "", ""
        reader.join(5)
        return p.returncode, "", b"".join(chunks).decode("utf-8", "replace")
    try:
        out, err = _communicate(p, timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None, "", ""
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


_FRAME = re.compile(r'File "([^"]*)", line (\d+), in (\S+)')


def _traceback_signature(text: str) -> str:
    tb = text[text.find(TRACEBACK):]
    spot = ""
    for path, line, fn in _FRAME.findall(tb):
        if "/engine/" in path:
            spot = f"engine/{path.rsplit('/engine/', 1)[1]}:{line} in {fn}"
    last = [ln for ln in tb.strip().splitlines() if ln and not ln.startswith(" ")]
    exc = last[-1].split(":")[0] if last else "?"
    return f"{exc} at {spot or 'outside engine'}"


def classify(spec: dict, rc: int | None, out: str, err: str, out_path: Path | None) -> tuple[str, str, str]:
    """(kind, signature, detail); kind "ok" or "error" when the promise held."""
    mode = spec["output"]
    if rc is None:
        return "hang", "no exit within the timeout", ""
    both = out + err
    if TRACEBACK in both:
        return "traceback", _traceback_signature(both), both[-600:]
    if rc not in DOCUMENTED:
        return "traceback", f"undocumented exit code {rc}", err[-300:]
    if "disagree" in err:
        return "disagreement", "the CLI reports that the backends disagree", err[-300:]
    if rc == 3:
        return "traceback", "internal error (exit 3)", err[-300:]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if mode == "closed-pipe":
        if (rc == 2 and lines and all(ln.startswith("verdict: ") for ln in lines) and STDOUT not in err
                and "Broken pipe" not in err):
            # The input itself is refused (a record nested too deep, say), before any output
            # met the closed pipe: a located input error is the right answer here too.
            return "error", "an input error", ""
        if err.strip() or rc not in (0, 1, 141, -13):
            return "wrong-error", f"a closed pipe is not quiet (exit {rc})", err[-300:]
        return "ok", "", ""
    if mode == "dev-full":
        if rc in (0, 1):
            return "wrong-error", f"exit {rc} although stdout could not be written", err[-300:]
        if "cannot read" in err:
            return "wrong-error", "a full output reported as a read error", err[-300:]
    if mode == "missing-dir" and rc in (0, 1):
        return "wrong-error", f"exit {rc} although the output folder is missing", err[-300:]
    if rc == 2 and not lines:
        return "unlocated", "exit 2 with nothing on stderr", ""
    return ("error" if rc == 2 else "ok"), "", ""


def _durable_refused(durable_err: str, native_err: str) -> bool:
    """Whether durable's stderr names records it refused for a durable-rules limit (lines
    native does not print)."""
    extra = [ln for ln in set(durable_err.splitlines()) - set(native_err.splitlines()) if ln.startswith("verdict: ")
             and not ln.startswith(NOTHING_DECIDED)]  # what follows when every record was refused
    return bool(extra) and all("durable-rules" in line for line in extra)


def run_case(spec: dict, timeout: float = 30.0) -> tuple[Counter, list[Finding]]:
    counts: Counter = Counter()
    findings: list[Finding] = []
    counts["cli_cases"] += 1
    with tempfile.TemporaryDirectory(prefix="verdict-fuzz-") as tmp:
        folder = Path(tmp)
        (folder / "policy.yaml").write_bytes(bytes.fromhex(spec["policy_hex"]))
        if spec["facts_hex"] or spec["args"][0] != "validate":
            (folder / f"facts.{spec['facts_format']}").write_bytes(bytes.fromhex(spec["facts_hex"]))
        backends = ["native", "durable"] if spec["backend"] == "both" else [spec["backend"]]
        outs, errs, codes = {}, {}, {}
        for backend in backends:
            cmd, out_path = _command(spec, folder, backend)
            rc, out, err = _exec(cmd, spec["output"], timeout)
            counts["cli_runs"] += 1
            kind, signature, detail = classify(spec, rc, out, err, out_path)
            if kind == "wrong-error" and spec["output"] in ("dev-full", "closed-pipe"):
                # The same command on an ordinary pipe: when it gives the same exit and the
                # same stderr and writes nothing, the output never met the fault (an invalid
                # policy's diagnostics, every record skipped), and that answer is right.
                prc, pout, perr = _exec(cmd, "pipe", timeout)
                counts["cli_runs"] += 1
                if prc == rc and not pout and perr == err:
                    counts["cli_fault_not_met"] += 1
                    kind = "error" if rc == 2 else "ok"
                elif (spec["output"] == "closed-pipe" and rc in (141, -13) and "Broken pipe" not in err
                      and STDOUT not in err and set(err.splitlines()) <= set(perr.splitlines())):
                    # Quiet about the pipe: what stderr holds, the ordinary run prints too
                    # (a skipped record's located line, say), and it ended as a filter does.
                    counts["cli_closed_pipe_with_diagnostics"] += 1
                    kind = "ok"
            counts[f"cli_{kind}"] += 1
            if kind not in ("ok", "error"):
                counts[kind] += 1
                stage = ("cli-output-" + spec["output"]) if spec["output"] in FAULTS else f"cli-{spec['args'][0]}"
                f = Finding(kind, stage, signature, detail, policy=spec["policy"], case=spec["case"])
                f.record = {"facts_format": spec["facts_format"], "facts_hex": spec["facts_hex"][:200000],
                            "args": spec["args"] + ["--backend", backend], "output": spec["output"]}
                f.item = known_item(f)
                if f.item:
                    counts[f"{kind}:item{f.item}"] += 1
                findings.append(f)
            if kind in ("ok", "error") and spec["output"] == "pipe":
                codes[backend], errs[backend] = rc, err
                if rc == 0:
                    outs[backend] = out
        if len(codes) == 2 and codes["native"] != codes["durable"] and _durable_refused(errs["durable"],
                                                                                      errs["native"]):
            # Durable refused records it cannot decide exactly and said so, where native
            # decided them: exit 2 with --on-error fail, or with skip when it refused them all.
            counts["cli_durable_refusals"] += 1
        elif len(codes) == 2 and codes["native"] != codes["durable"]:
            counts["disagreement"] += 1
            f = Finding("disagreement", "cli-eval", "native and durable exit codes differ",
                        f"native exit {codes['native']}, durable exit {codes['durable']}: "
                        f"{errs.get('durable', '')[:200]!r}", policy=spec["policy"], case=spec["case"])
            f.record = {"facts_format": spec["facts_format"], "facts_hex": spec["facts_hex"][:200000],
                        "args": spec["args"], "output": spec["output"]}
            f.item = known_item(f)
            findings.append(f)
        elif len(outs) == 2 and outs["native"] != outs["durable"] and _durable_refused(errs["durable"], errs["native"]):
            # `--on-error skip`: durable skipped records it cannot decide exactly and said so
            # (issue 11 item 2), where native decided them: a refusal, as on the API path.
            counts["cli_durable_refusals"] += 1
        elif len(outs) == 2 and outs["native"] != outs["durable"]:
            counts["disagreement"] += 1
            f = Finding("disagreement", "cli-eval", "native and durable stdout differ",
                        f"native {outs['native'][:200]!r} durable {outs['durable'][:200]!r}", policy=spec["policy"],
                        case=spec["case"])
            f.record = {"facts_format": spec["facts_format"], "facts_hex": spec["facts_hex"][:200000],
                        "args": spec["args"], "output": spec["output"]}
            f.item = known_item(f)
            findings.append(f)
    return counts, findings


def run_range(seed: int, start: int, stop: int, timeout: float = 30.0):
    """CLI cases [start, stop): each is already its own set of processes, with a timeout."""
    from .runner import Result

    res = Result()
    t0 = time.monotonic()
    for i in range(start, stop):
        counts, findings = run_case(cli_case(seed, i), timeout)
        counts["cases"] += 1
        res.counts.update(counts)
        res.findings.extend(f.to_dict() for f in findings)
    res.seconds = time.monotonic() - t0
    return res
