"""Shared helpers of the benchmark scripts: machine info and bench/RESULTS.md sections.

Each script owns one section of RESULTS.md, between `<!-- NAME:start -->` and
`<!-- NAME:end -->`, and rewrites only that section, so the scripts can run in any order.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = ("# verdict benchmark results\n\n"
          "Written by `bench/bench_eval.py`, `bench/bench_validate.py`, `bench/bench_batch.py` "
          "and `bench/bench_sql.py` (see bench/README.md); "
          "each script rewrites only its own section.\n")
ORDER = ("bench_eval", "bench_validate", "bench_batch", "bench_sql")


def machine_info() -> str:
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        nproc = str(os.cpu_count())
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f"- date: {now}\n- nproc: {nproc}{f' ({cpu})' if cpu else ''}\n"
            f"- python: {sys.version.split()[0]} ({platform.python_implementation()}, {platform.system()} "
            f"{platform.machine()})\n")


def write_section(name: str, body: str) -> Path:
    """Replace (or add) section `name` of RESULTS.md with `body`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        # Keep the sections in a fixed order whatever order the scripts run in.
        later = [n for n in ORDER[ORDER.index(name) + 1:]] if name in ORDER else []
        pos = min((text.find(f"<!-- {n}:start -->") for n in later if f"<!-- {n}:start -->" in text), default=-1)
        if pos >= 0:
            text = text[:pos] + block + "\n\n" + text[pos:]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(RESULTS)
    return RESULTS


def finish(name: str, lines: list[str], checks: list[tuple[str, str, bool]], write: bool) -> int:
    """Append the targets table, print the section, write it to RESULTS.md (unless told
    not to), and return the exit code: 1 when a target failed."""
    lines = [*lines, "", "| target | measured | result |", "|---|---:|:---:|",
             *(f"| {what} | {measured} | {'PASS' if ok else 'FAIL'} |" for what, measured, ok in checks)]
    body = "\n".join(lines) + "\n"
    print(body)
    if write:
        print(f"wrote {write_section(name, body)}", file=sys.stderr)
    return 0 if all(ok for _, _, ok in checks) else 1
