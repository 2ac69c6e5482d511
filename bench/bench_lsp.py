"""Latency of `verdict lsp`: from a `didChange` to the first `publishDiagnostics` (the
loader's, the schema's and the names' diagnostics) on a generated 200-rule policy.

    .venv/bin/python bench/bench_lsp.py            # 40 changes per scenario
    .venv/bin/python bench/bench_lsp.py --quick    # 10

The server is the real one (`python -m engine.cli lsp` as a subprocess), driven over
stdio by the tests' JSON-RPC client, so the figure includes the framing, the JSON, pygls'
dispatch and the pipe, as an editor sees it. Each change sends the whole text (what most
clients send for a large edit) and alternates between a valid edit and one with a
misspelt fact, so both paths are timed. Two scenarios: *idle* waits for the analysis
findings of each version before the next change; *typing* sends the next change as soon
as the fast diagnostics arrive, so the analysis of the previous version is still running
on the worker thread (and competing for the interpreter) while the next one is checked.
The in-process cost of one check (load, schema, names, index, conversion) is given too.
Writes bench/RESULTS-lsp.md. Target: the median under 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import machine_info  # noqa: E402
from lsp_client import Client  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS-lsp.md"
TARGET_MS = 100.0
RULES = 200
FACTS = 20
THRESHOLDS = 50


def policy_text(rules: int = RULES) -> str:
    """A valid policy of `rules` rules over integer facts, in the block style authors write."""
    out = ["# yaml-language-server: $schema=../schemas/policy.schema.json", "policy: bench-lsp", "version: 1",
           "language: en", "", "facts:"]
    for f in range(FACTS):
        out += [f"  f{f}:", "    type: integer", "    minimum: 0", "    maximum: 1000",
                f"    description: Generated fact number {f}"]
    out += ["", "thresholds:"] + [f"  t{t}: {(t * 37) % 1000}" for t in range(THRESHOLDS)]
    out += ["", "outcomes:", "  - {id: denied, adverse: true}", "  - review", "  - approved", "default: approved",
            "", "reasons:"] + [f"  R{r}: Generated reason {r}" for r in range(10)]
    out += ["", "rules:"]
    for i in range(rules):
        outcome = ("denied", "review", "approved")[i % 3]
        out += [f"  - id: rule-{i}", "    when:", "      all:",
                f"        - f{i % FACTS}: {{gt: t{i % THRESHOLDS}}}",
                f"        - f{(i + 7) % FACTS}: {{lte: t{(i + 3) % THRESHOLDS}}}",
                "    then:", f"      outcome: {outcome}"]
        if outcome == "denied":
            out += [f"      reason: R{i % 10}"]
        out += [f"      message: Rule {i} decided for f{i % FACTS} = {{f{i % FACTS}}}"]
    return "\n".join(out) + "\n"


def in_process(text: str, runs: int) -> float:
    """Median ms of one fast check in-process: what the server does on each change."""
    from engine.lsp.diagnostics import check_fast, to_lsp
    from engine.lsp.index import index_document
    from engine.lsp.positions import Lines

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        doc, _, diags = check_fast(text, "bench.yaml")
        index_document(doc)
        to_lsp(diags, Lines(text), "file:///bench.yaml", base="")
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def scenario(client: Client, uri: str, good: str, changes: int, wait_analysis: bool, version: int) -> list[float]:
    bad = good.replace("        - f0: {gt: t0}", "        - f00: {gt: t0}", 1)
    assert bad != good
    times = []
    for i in range(changes):
        version += 1
        text = (good if i % 2 else bad) + f"# edit {i}\n"
        start = len(client.notifications)
        t0 = time.perf_counter()
        client.change(uri, text, version)
        items = client.diagnostics(uri, version, start=start, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        assert [x["code"] for x in items] == ([] if i % 2 else ["unknown-fact"]), items[:2]
        if wait_analysis and i % 2:
            analysed(client, uri, version, start)
    return times


def analysed(client: Client, uri: str, version: int, start: int) -> None:
    """Wait for the second publication of `version`: the one with the analysis findings."""
    first = client.wait_for(lambda m: _ours(m, uri, version), timeout=60, start=start)
    client.wait_for(lambda m: _ours(m, uri, version) and m is not first, timeout=300,
                    start=client.notifications.index(first) + 1)


def _ours(m: dict, uri: str, version: int) -> bool:
    return m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri \
        and m["params"].get("version") == version


def summary(times: list[float]) -> str:
    times = sorted(times)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    return f"median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms, max {times[-1]:.1f} ms ({len(times)} changes)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    changes = 10 if args.quick else 40
    good = policy_text()
    uri = (ROOT / "policies" / "bench-lsp.yaml").as_uri()  # never written: the client sends the text
    local = in_process(good, 10 if args.quick else 30)  # first, while nothing else runs
    with Client() as client:
        client.initialize()
        t0 = time.perf_counter()
        client.open(uri, good, 1)
        client.diagnostics(uri, 1, timeout=60)
        opened = (time.perf_counter() - t0) * 1000
        analysed(client, uri, 1, 0)
        analysis = (time.perf_counter() - t0) * 1000
        idle = scenario(client, uri, good, changes, True, 1)
        typing = scenario(client, uri, good, changes, False, 1 + changes)
    worst = max(statistics.median(idle), statistics.median(typing))
    lines = [
        "# verdict lsp: latency of the fast diagnostics",
        "",
        "Written by `bench/bench_lsp.py` (see its docstring for the method).",
        "",
        machine_info().rstrip(),
        "",
        f"Policy: {RULES} rules, {FACTS} facts, {THRESHOLDS} thresholds, {len(good.splitlines())} lines, "
        f"{len(good.encode()) // 1024} KiB; each change sends the whole text.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| didOpen → first publishDiagnostics | {opened:.1f} ms |",
        f"| didOpen → analysis findings published | {analysis:.0f} ms |",
        f"| didChange → first publishDiagnostics, idle | {summary(idle)} |",
        f"| didChange → first publishDiagnostics, typing (analysis running) | {summary(typing)} |",
        f"| one fast check in-process (load, schema, names, index, conversion) | median {local:.1f} ms |",
        "",
        f"Target: median under {TARGET_MS:.0f} ms: **{'met' if worst < TARGET_MS else 'NOT met'}** "
        f"(worst median {worst:.1f} ms).",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
