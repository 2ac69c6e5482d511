"""Population scale: the SQL form on DuckDB and Spark, next to hand-written SQL and native.

    .venv/bin/python bench/bench_sql.py             # 10,000,000 users in Parquet; 1,000,000 for the rest
    .venv/bin/python bench/bench_sql.py --quick     # 1,000,000 and 100,000
    .venv/bin/python bench/bench_sql.py --no-spark  # skip the Spark run (no Java, no pyspark)

Users of double11-coupon are generated once by DuckDB (a fixed seed, one thread: the same
rows every run; a realistic mix like bench_eval.make_users, with ~8% of the values at a
threshold boundary) and written as Parquet, CSV and JSONL with a `user_id` column. Then, in
the same run, each path is timed as a whole process, start-up included, deciding the file
and writing its output:

- `verdict eval --backend duckdb users.parquet -o decisions.parquet --id user_id`, next to
  the same rules written by hand in DuckDB SQL (`HAND_SQL` below) writing the same columns
  (outcome, decided_by, reasons with their messages, principal reasons, notices, flags,
  outputs, ...) to Parquet with the same two threads; the target is ≥ 0.7× of hand-written;
- end to end CSV/JSONL → Parquet/JSONL with `--backend duckdb`;
- `--backend spark --master local[2]` on the Parquet file of the smaller size;
- the native path, JSONL → JSONL.

The two Parquet outputs are compared row by row in DuckDB (outcome, decided_by, reasons,
flags, outputs): 0 differences, or the bench fails. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import finish, machine_info  # noqa: E402

POLICY = ROOT / "policies" / "double11-coupon.yaml"
VERDICT = str(Path(sys.executable).with_name("verdict"))
SEED = 0.1111  # DuckDB's setseed takes a value in [-1, 1]
HAND_RATIO_MIN = 0.7

# A mix like bench_eval.make_users: ~6% overdue, a gaussian credit score, every membership,
# ~1.5% frozen; about 8% of each value replaced by a threshold boundary of the policy.
GENERATE_SQL = """
SELECT
  i AS user_id,
  CASE WHEN random() < 0.08 THEN [300, 549, 550, 551, 599, 600, 649, 650, 699, 700, 749, 750][1 + CAST(floor(random() * 12) AS BIGINT)]
       ELSE CAST(least(950, greatest(300, round(675 + 75 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))) AS BIGINT)
  END AS credit_score,
  CASE WHEN r_od < 0.06 * 0.45 THEN 1 + CAST(floor(random() * 3) AS BIGINT)
       WHEN r_od < 0.06 * 0.80 THEN 4 + CAST(floor(random() * 27) AS BIGINT)
       WHEN r_od < 0.06 THEN 31 + CAST(floor(random() * 170) AS BIGINT)
       ELSE 0 END AS overdue_days,
  CASE WHEN r_oc < 0.85 THEN 0 WHEN r_oc < 0.96 THEN 1 + CAST(floor(random() * 2) AS BIGINT)
       ELSE 3 + CAST(floor(random() * 6) AS BIGINT) END AS overdue_count_12m,
  CASE WHEN r_m < 0.45 THEN 'basic' WHEN r_m < 0.75 THEN 'silver' WHEN r_m < 0.93 THEN 'gold'
       ELSE 'platinum' END AS membership,
  CASE WHEN random() < 0.08 THEN [1999.99, 2000.0, 2000.01][1 + CAST(floor(random() * 3) AS BIGINT)]
       WHEN random() < 0.8 THEN round(exp(7.2 + 0.9 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())), 2)
       ELSE CAST(floor(random() * 8001) AS DOUBLE) END AS monthly_spend,
  CASE WHEN random() < 0.08 THEN [29, 30, 31, 89, 90, 91][1 + CAST(floor(random() * 6) AS BIGINT)]
       ELSE CAST(floor(-700 * ln(1 - random())) AS BIGINT) END AS account_age_days,
  random() < 0.015 AS frozen,
  CASE WHEN random() < 0.08 THEN [4, 5, 6][1 + CAST(floor(random() * 3) AS BIGINT)]
       ELSE least(CAST(floor(-1.3 * ln(1 - random())) AS BIGINT), 20) END AS loan_applications_30d,
  CASE WHEN random() < 0.08 THEN [0.89, 0.9, 0.91][1 + CAST(floor(random() * 3) AS BIGINT)]
       ELSE round(random() * random() * 1.3, 4) END AS credit_utilization
FROM (SELECT i, random() AS r_od, random() AS r_oc, random() AS r_m FROM range(1, {n} + 1) t(i))
"""

# double11-coupon written by hand, as a data engineer would: the same columns as verdict's
# Parquet output (see docs/batch.md), messages in English.
HAND_SQL = """
WITH d AS (
  SELECT *,
    frozen AS r_frozen, overdue_days > 30 AS r_severe, overdue_count_12m >= 3 AS r_repeated,
    credit_score < 550 AS r_low,
    credit_score >= 750 AND membership = 'platinum' AND overdue_days = 0 AS r_platinum,
    credit_score >= 700 AND membership IN ('gold', 'platinum') AND overdue_days <= 3 AS r_gold,
    credit_score >= 650 AND monthly_spend >= 2000 AS r_silver,
    credit_score >= 600 AND account_age_days >= 90 AS r_basic,
    loan_applications_30d >= 5 OR credit_utilization > 0.9 AS high_risk,
    overdue_days BETWEEN 1 AND 30 AS r_warning, account_age_days < 30 AS r_new
  FROM read_parquet('{src}')
), o AS (
  SELECT *, r_frozen OR r_severe OR r_repeated OR r_low AS denied,
    CASE WHEN r_frozen OR r_severe OR r_repeated OR r_low THEN 'denied' WHEN r_platinum THEN 'platinum'
         WHEN r_gold THEN 'gold' WHEN r_silver THEN 'silver' WHEN r_basic THEN 'basic' ELSE 'ineligible' END AS outcome
  FROM d
), r AS (
  SELECT *, list_filter([
      CASE WHEN r_frozen THEN {{'code': 'ACCOUNT_FROZEN', 'rule': 'account-frozen', 'message': 'Your account is frozen, so it cannot join the Double 11 promotion.'}} END,
      CASE WHEN r_severe THEN {{'code': 'OVERDUE_SEVERE', 'rule': 'overdue-severe', 'message': 'Your repayment is ' || overdue_days || ' days overdue (more than 30); repay the overdue balance to restore eligibility.'}} END,
      CASE WHEN r_repeated THEN {{'code': 'REPEATED_OVERDUE', 'rule': 'repeated-overdue', 'message': 'You were overdue ' || overdue_count_12m || ' times in the last 12 months (3 or more are not allowed).'}} END,
      CASE WHEN r_low THEN {{'code': 'LOW_CREDIT_SCORE', 'rule': 'low-credit-score', 'message': 'Your credit score ' || credit_score || ' is below the minimum of 550.'}} END
    ], lambda x: x IS NOT NULL) AS deny_reasons
  FROM o
)
SELECT user_id AS record_id, 'double11-coupon' AS policy, 1 AS version, outcome, true AS outcome_known,
  denied AS adverse,
  CASE WHEN denied THEN list_transform(deny_reasons, lambda x: x.rule) WHEN outcome = 'ineligible' THEN []::VARCHAR[]
       ELSE [outcome || '-tier'] END AS decided_by,
  deny_reasons AS reasons,
  CASE WHEN denied THEN deny_reasons[1:4] ELSE [] END AS principal_reasons,
  list_filter([
    CASE WHEN r_warning THEN {{'code': 'OVERDUE_WARNING', 'rule': 'overdue-warning', 'message': 'Your repayment is ' || overdue_days || ' days overdue; repay it to keep your benefits.'}} END,
    CASE WHEN r_new THEN {{'code': 'NEW_USER', 'rule': 'new-user', 'message': 'Your account is ' || account_age_days || ' days old; some offers need an older account.'}} END
  ], lambda x: x IS NOT NULL) AS notices,
  CASE WHEN high_risk THEN ['high_risk'] ELSE [] END AS flags,
  {{'coupon_yuan': CASE WHEN outcome IN ('platinum', 'gold') AND NOT high_risk THEN 50 ELSE 0 END}} AS outputs,
  []::VARCHAR[] AS missing_facts, []::VARCHAR[] AS undetermined_rules
FROM r
"""

COMPARE_SQL = """
SELECT count(*) FROM read_parquet('{a}') a FULL JOIN read_parquet('{b}') b USING (record_id)
WHERE a.outcome IS DISTINCT FROM b.outcome OR a.decided_by IS DISTINCT FROM b.decided_by
   OR to_json(a.reasons) IS DISTINCT FROM to_json(b.reasons)
   OR to_json(a.notices) IS DISTINCT FROM to_json(b.notices)
   OR a.flags IS DISTINCT FROM b.flags
   OR to_json(a.outputs) IS DISTINCT FROM to_json(b.outputs)
"""


def timed(cmd: list[str], env=None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def hand_written(src: Path, out: Path, threads: int) -> float:
    """The hand-written query in a fresh process, as verdict runs: start-up included."""
    script = (f"import duckdb; c = duckdb.connect(); c.execute('SET threads = {threads}'); "
              f"c.execute({('COPY (' + HAND_SQL.format(src=src) + f') TO {str(out)!r} (FORMAT parquet, COMPRESSION zstd)')!r})")
    return timed([sys.executable, "-c", script])


def generate(folder: Path, n: int, small: int) -> dict[str, Path]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")  # one thread: the same rows every run
    con.execute(f"SELECT setseed({SEED})")
    big = folder / f"users-{n}.parquet"
    con.execute(f"COPY ({GENERATE_SQL.format(n=n)}) TO '{big}' (FORMAT parquet)")
    files = {"parquet": big}
    for fmt, opts in (("parquet", "FORMAT parquet"), ("csv", "FORMAT csv, HEADER"), ("jsonl", "FORMAT json")):
        path = folder / f"users-{small}.{fmt}"
        con.execute(f"COPY (SELECT * FROM read_parquet('{big}') WHERE user_id <= {small} ORDER BY user_id) "
                    f"TO '{path}' ({opts})")
        files[f"small-{fmt}"] = path
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="runs of the hand-written/duckdb pair, alternated")
    ap.add_argument("--no-write", action="store_true", help="print the section, do not update RESULTS.md")
    args = ap.parse_args()
    n, small = (1_000_000, 100_000) if args.quick else (10_000_000, 1_000_000)
    threads = 2
    tmp = Path(tempfile.mkdtemp(prefix="verdict-bench-sql-"))
    try:
        t0 = time.perf_counter()
        files = generate(tmp, n, small)
        gen = time.perf_counter() - t0
        out = tmp / "out"
        out.mkdir()
        ev = [VERDICT, "eval", "-p", str(POLICY), "--id", "user_id"]
        rows: list[tuple[str, int, float]] = []

        # The pair the target is about: alternated, `--rounds` times each, medians (the
        # machines are shared; one run each once read 0.65x, the next 0.85x).
        hands, ourss = [], []
        for _ in range(args.rounds):
            hands.append(hand_written(files["parquet"], out / "hand.parquet", threads))
            ourss.append(timed([*ev, "--backend", "duckdb", str(files["parquet"]), "-o", str(out / "verdict.parquet")]))
        hand, ours = statistics.median(hands), statistics.median(ourss)
        rows.append((f"hand-written DuckDB SQL, Parquet → Parquet (median of {args.rounds})", n, hand))
        rows.append((f"`--backend duckdb`, Parquet → Parquet (median of {args.rounds})", n, ours))

        import duckdb

        differ = duckdb.connect().execute(
            COMPARE_SQL.format(a=out / "hand.parquet", b=out / "verdict.parquet")).fetchone()[0]

        for src, dst in (("csv", "parquet"), ("csv", "jsonl"), ("jsonl", "parquet"), ("jsonl", "jsonl"),
                         ("parquet", "jsonl")):
            secs = timed([*ev, "--backend", "duckdb", str(files[f"small-{src}"]), "-o", str(out / f"d-{src}.{dst}")])
            rows.append((f"`--backend duckdb`, {src.upper()} → {dst.upper()}", small, secs))
        native = timed([*ev, str(files["small-jsonl"]), "-o", str(out / "native.jsonl")])
        rows.append(("native, JSONL → JSONL", small, native))
        same_jsonl = (out / "native.jsonl").read_bytes() == (out / "d-jsonl.jsonl").read_bytes()
        spark = None
        if not args.no_spark:
            env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
            spark = timed([*ev, "--backend", "spark", "--master", f"local[{threads}]", str(files["small-parquet"]),
                           "-o", str(out / "spark.parquet")], env=env)
            rows.append((f"`--backend spark --master local[{threads}]`, Parquet → Parquet", small, spark))

        ratio = hand / ours
        lines = ["## Population scale (`bench/bench_sql.py`)", "", machine_info(),
                 f"double11-coupon (12 rules), users generated by DuckDB in {gen:.1f} s; every time is a whole "
                 f"process, start-up included, {threads} threads; `--id user_id` throughout.", "",
                 "| path | records | seconds | records/s |", "|---|---:|---:|---:|",
                 *(f"| {what} | {count:,} | {secs:.2f} | {count / secs:,.0f} |" for what, count, secs in rows), "",
                 f"`--backend duckdb` runs at **{ratio:.2f}×** the speed of the hand-written query "
                 f"(medians: hand-written {hand:.2f} s, verdict {ours:.2f} s; every ratio "
                 f"{', '.join(f'{h / o:.2f}' for h, o in zip(hands, ourss))}); native JSONL → JSONL is "
                 f"{native / rows[5][2]:.2f}× the time DuckDB's takes on the same file."]
        checks = [(f"`--backend duckdb` ≥ {HAND_RATIO_MIN}× hand-written SQL, {n:,} rows Parquet → Parquet",
                   f"{ratio:.2f}×", ratio >= HAND_RATIO_MIN),
                  ("the two Parquet outputs agree row by row (outcome, decided_by, reasons, notices, flags, outputs)",
                   f"{differ} rows differ", differ == 0),
                  ("DuckDB's JSONL is byte-identical to native's", "identical" if same_jsonl else "differs", same_jsonl)]
        return finish("bench_sql", lines, checks, not args.no_write)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
