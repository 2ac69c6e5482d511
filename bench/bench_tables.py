"""Big first-hit decision tables: `verdict validate` and `verdict eval` on both backends.

    python bench/bench_tables.py                 # 60, 120 and 300 rows, 300 records
    python bench/bench_tables.py --rows 120 --records 1000

A `hit: first` table restates, in row k, the earlier rows it may overlap (docs/policy-
language.md §25): n²/2 restated cells for n rows when rows are rarely provably disjoint.
The table here is the worst case for that: two integer inputs, each row `>= A`, `<= B`
with random A and B (a fixed seed), so almost no pair of rows is disjoint on one input.
Each size is timed as whole `verdict` processes (wall clock, side by side in one run):
`validate` (the analysis included), `eval` on native and on durable; the two backends'
JSONL must be byte-identical. Writes bench/RESULTS-tables.md.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _results import machine_info  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS-tables.md"
POLICY = """policy: big-table
version: 1
facts:
  a: {type: integer, minimum: 0, maximum: 1000}
  b: {type: integer, minimum: 0, maximum: 1000}
outcomes:
  - {id: no}
  - {id: yes}
default: yes
outputs:
  o: {type: integer, default: -1}
tables:
  - id: t
    hit: first
    inputs: [a, b]
    outputs: [o]
    rows: {csv: rows.csv}
"""


def write_case(folder: Path, rows: int, records: int, seed: int) -> None:
    rnd = random.Random(seed)
    lines = ["a,b,o"] + [f">= {rnd.randrange(0, 1000)},<= {rnd.randrange(0, 1000)},{k % 25}" for k in range(rows)]
    (folder / "rows.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "policy.yaml").write_text(POLICY, encoding="utf-8")
    with (folder / "records.jsonl").open("w", encoding="utf-8") as out:
        for n in range(records):
            out.write(json.dumps({"user_id": f"u{n}", "a": rnd.randrange(0, 1001), "b": rnd.randrange(0, 1001)}) + "\n")


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "engine.cli.main", *args], cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if p.returncode not in (0, 1):  # validate exits 1 on findings (the table has unreachable rows)
        raise SystemExit(f"verdict {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[60, 120, 300])
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--no-write", action="store_true")
    opts = ap.parse_args()
    table = ["| rows | validate | eval native | eval durable | native = durable |", "|---|---|---|---|---|"]
    for rows in opts.rows:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_case(folder, rows, opts.records, opts.seed)
            v = timed(["validate", str(folder / "policy.yaml")], ROOT)
            outs = {}
            times = {}
            for backend in ("native", "durable"):
                out = folder / f"{backend}.jsonl"
                times[backend] = timed(["eval", "-p", str(folder / "policy.yaml"), "--backend", backend,
                                        str(folder / "records.jsonl"), "-o", str(out)], ROOT)
                outs[backend] = out.read_bytes()
            same = outs["native"] == outs["durable"]
            table.append(f"| {rows} | {v:.2f} s | {times['native']:.2f} s | {times['durable']:.2f} s | "
                         f"{'yes' if same else '**NO**'} |")
            print(table[-1], flush=True)
            if not same:
                print("native and durable decided differently", file=sys.stderr)
                return 1
    body = ("# Big first-hit tables\n\nWritten by `bench/bench_tables.py` (see its docstring): whole `verdict` "
            f"processes, wall clock, {opts.records} records, seed {opts.seed}.\n\n" + machine_info() + "\n"
            + "\n".join(table) + "\n")
    if not opts.no_write:
        RESULTS.write_text(body, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
