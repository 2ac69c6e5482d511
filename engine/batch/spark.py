"""Spark: the decision query of `engine.backends.sql` run by PySpark, for populations that
outgrow one machine (`verdict eval --backend spark [--master M]`), and `decide_dataframe`
for teams already in Spark.

The policy reaches the executors as SQL text only (one query over a temporary view): there
is nothing to ship, no UDF and no Python on the executors for deciding. The driver

1. stages the inputs into the facts relation of the contract (one typed column per fact,
   `__row`, `__type_error`) with Spark SQL alone: JSON lines through `try_parse_json` (a
   VARIANT keeps each value's JSON type, so `"720"` is not `720`), CSV lines split and
   converted by the declared types, Parquet columns cast;
2. runs `decision_query(policy, dialect="spark", row=True, type_error=True)` over it;
3. collects the decision columns (Arrow) and encodes each JSON line with the very encoder
   of the native path (`engine.explain.render`), because Spark's `to_json` writes doubles
   the Java way (`1.0E7`, and on Java 17 sometimes not the shortest digits:
   `2.82879384806159008E17`), which would break byte identity;
4. hands every record Spark is not sure of back to the native path: a record the query
   rejects, and one the staging marks as suspect (malformed JSON, a BOM, a number beyond
   what SQL holds exactly, an escape that may be half a surrogate pair, a CSV line with
   quotes, ...). The raw record is read again from its file by its line and decided or
   rejected by the native code, so its decision or its message is the native one exactly.

The parts: `spark_frames` (the query over a DataFrame, `decide_dataframe`),
`spark_inputs` (staging files, the native recheck), `spark_outputs` (encoding, output
files), and this module (the session, the run over files, `run_eval`).

Staging is strict on purpose: whatever Spark would read differently from the native reader
is a suspect, never a guess, so Spark decides only what it decides exactly as native.
"""

from __future__ import annotations

import atexit
from contextlib import nullcontext
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable

from ..errors import BackendError
from .undeclared import UNDECLARED_MODES, UndeclaredKeys

__all__ = ["DEFAULT_MASTER", "INSTALL_HINT", "SparkUnavailable", "spark_session", "spark_available",
           "decide_dataframe", "stage_inputs", "run_eval", "SparkRun"]

DEFAULT_MASTER = "local[2]"
INSTALL_HINT = "pip install 'verdict-policy[spark]'"
# A number fact read from JSON as an integer beyond this may differ from native once a
# double (native keeps the exact int): such a record is decided natively.


class SparkUnavailable(BackendError):
    """PySpark or Java is missing: one line with the install hint (exit 2 in the CLI)."""


# -- the session ---------------------------------------------------------------------------

def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def spark_available() -> str | None:
    """None when a Spark session can be started here, else the one-line reason."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"--backend spark needs PySpark, which is not installed ({INSTALL_HINT})"
    if _java() is None:
        return "--backend spark needs Java 17 or later (`java` on PATH or JAVA_HOME), which was not found"
    return None


_QUIET_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def spark_session(master: str = DEFAULT_MASTER, *, app_name: str = "verdict", conf: dict | None = None):
    """A SparkSession for deciding: the active one when there is one (a notebook, a job run
    by spark-submit), else a new one on `master` (`local[2]`, `spark://host:7077`, `yarn`)
    with quiet, offline-safe settings: no UI, no progress bar, log level ERROR, UTC, a
    temporary warehouse and Derby home, and for local masters the loopback address
    (`SPARK_LOCAL_IP=127.0.0.1`, without which start-up fails where the host name does
    not resolve). `conf` adds or overrides settings. Raises SparkUnavailable (one line,
    with the install hint) when PySpark or Java is missing."""
    reason = spark_available()
    if reason:
        raise SparkUnavailable(reason)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    local = master.startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    tmp = tempfile.mkdtemp(prefix="verdict-spark-")
    atexit.register(shutil.rmtree, tmp, True)
    log4j = os.path.join(tmp, "log4j2.properties")
    with open(log4j, "w", encoding="utf-8") as fh:
        fh.write(_QUIET_LOG4J)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": os.path.join(tmp, "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={tmp}/derby -Dlog4j2.configurationFile=file:{log4j}",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Whole-stage code generation makes the decision query (hundreds of CASE branches)
        # about 9x slower: 1M rows of double11-coupon took 70 s with it, 7.8 s without
        # (docs/backends.md). A session verdict did not start keeps its own setting.
        "spark.sql.codegen.wholeStage": "false",
    }
    if local:
        settings.update({
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
        })
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: one line, not py4j's traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailable(f"Spark did not start on master {master}: {first}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark

from .spark_frames import _SPARK_TYPES, _ident, _view, decide_dataframe, java_text_differs, message_names, query_text  # noqa: F401
from .spark_inputs import (Staged, _csv_header, _Input, _native_lines, _native_outcome, _native_record,
                           stage_inputs)
from .spark_outputs import _PARQUET_KEYS, JsonlEncoder, RawNumber, output_keys, _csv_cell, _ParquetSink, _python_text_safe, output_format  # noqa: F401


# -- the run ---------------------------------------------------------------------------------

# The per-row extras of the staging (the undeclared keys, the --id value) ride through
# the decision query as its passthrough id column: no join back to the staged input.
_EXTRA = "verdict_spark_extra"


@dataclass
class SparkRun:
    """A decided run: the decisions Spark wrote (sorted by `__row`, in `folder`) and the
    native results of the records it handed back. `items()` streams, in input order,
    `(row, label, json line | None, problem | None, outcome, warnings, undeclared keys)`
    (the keys of a record that reached the fact checks, for `--undeclared warn-once`;
    `warnings`: a natively decided record's other warnings, none today); `rows` is the
    same as a list, with `counts`, `warned` and `undeclared` filled (small runs, tests)."""

    staged: object = None
    folder: str | None = None
    native: dict = field(default_factory=dict)      # row -> (label, text, problem, outcome, warnings, keys) or None
    encoder: object = None
    id_field: str | None = None
    seconds: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    warned: dict = field(default_factory=dict)
    undeclared: UndeclaredKeys = field(default_factory=UndeclaredKeys)
    _rows: list | None = None

    def files(self) -> list[str]:
        if self.folder is None:
            return []
        return sorted(os.path.join(self.folder, f) for f in os.listdir(self.folder)
                      if f.endswith(".parquet") and not f.startswith((".", "_")))

    def _part(self, path: str):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=32768):
            names = batch.schema.names
            cols = [c.to_pylist() for c in batch.columns]
            for values in zip(*cols):
                r = dict(zip(names, values))
                yield r["__row"], r

    def items(self):
        import heapq

        label = self.staged.label if self.staged is not None else None
        for row, r in heapq.merge(*(self._part(p) for p in self.files()), key=lambda pair: pair[0]):
            if row in self.native:
                done = self.native[row]
                if done is not None:
                    yield (row, *done)
                continue
            record_id = None
            if self.id_field is not None:
                record_id = int(r["__id"]) if r["__id_int"] else r["__id"]
            yield row, label(row), self.encoder.line(r, record_id), None, r["outcome"], (), r["__extra"] or ()

    @property
    def rows(self) -> list:
        if self._rows is None:
            self._rows = list(self.items())
            for row, label, text, problem, outcome, warnings, keys in self._rows:
                self.undeclared.record((row,), label, keys)
                if text is None:
                    continue
                self.counts[str(outcome)] = self.counts.get(str(outcome), 0) + 1
                for w in warnings:
                    self.warned[w] = self.warned.get(w, 0) + 1
        return self._rows

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(os.path.dirname(self.folder), ignore_errors=True)
            self.folder = None


DECISION_COLUMNS = ("outcome", "outcome_known", "adverse", "decided_by", "reasons", "messages",
                    "principal_reasons", "notices", "flags", "outputs", "missing_facts", "undetermined_rules")


def decide_files(spark, ruleset, paths, *, lang=None, id_field=None, input_format=None, allow_empty=False,
                 work_dir: str | None = None, undeclared: str = "warn-once", as_of=None) -> SparkRun:
    """Stage, decide in Spark, recheck natively what Spark was not sure of (`undeclared`:
    `--undeclared`; with "refuse" a record with an undeclared key is rechecked, and so
    refused with native's message). The decisions
    are written by the executors, sorted, as Parquet into a temporary folder under
    `work_dir` (default: the system's; on a cluster, a folder the executors can write and
    the driver read) and streamed from there by `SparkRun.items()`; `close()` removes it.
    Raises BackendError / RecordsError for an input that cannot be read."""
    import time

    import pyarrow.parquet as pq

    from ..io.records import EmptyInput

    from .recheck import evaluation_date

    policy = ruleset.policy
    as_of = evaluation_date(policy, as_of)  # one evaluation date for the whole run
    run = SparkRun(encoder=JsonlEncoder(policy, as_of), id_field=id_field)
    t0 = time.perf_counter()
    staged = stage_inputs(spark, policy, paths, input_format=input_format, id_field=id_field,
                          refuse=undeclared == "refuse")
    run.staged = staged
    for inp in staged.inputs:
        if not inp.lines and not allow_empty:
            raise EmptyInput(inp.path, "no records (an empty file, a CSV header alone, or an empty list); "
                                       "--allow-empty accepts it")
    if staged.facts is None:
        return run
    if _EXTRA in policy.facts:
        raise BackendError(f"a fact named `{_EXTRA}` is reserved by the Spark runner")
    facts = staged.facts.selectExpr(
        *[_ident(n) for n in policy.facts], "`__row`", "`__type_error`",
        f"named_struct('x', `__extra`, 'id', `__id`, 'int', `__id_int`) AS {_ident(_EXTRA)}")
    sql = query_text(policy, _view(facts), lang=lang, id_field=_EXTRA, row=True, type_error=True, as_of=as_of)
    decided = spark.sql(sql)
    # The outputs struct as one column per output: a struct whose fields Spark declares
    # non-nullable cannot be NULL (a rejected row) in Arrow's form.
    outs = [f"outputs.{_ident(n)} AS `__o_{i}`" for i, n in enumerate(policy.outputs)]
    keep = ["`__row`", "`__rejected`", *[_ident(c) for c in DECISION_COLUMNS if c != "outputs"], *outs,
            f"{_ident(_EXTRA)}.x AS `__extra`", f"{_ident(_EXTRA)}.id AS `__id`",
            f"{_ident(_EXTRA)}.int AS `__id_int`"]
    top = tempfile.mkdtemp(prefix="verdict-spark-run-", dir=work_dir)
    run.folder = os.path.join(top, "decisions")
    try:
        # Sorted within each partition only (no shuffle, no sampling job): the driver merges
        # the part files by record number.
        decided.selectExpr(*keep).sortWithinPartitions("__row").write.parquet(run.folder)
        run.seconds["spark"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        shown = message_names(policy)
        # number outputs a message shows: Spark wrote their text the Java way (java_text_differs)
        shown_outputs = [f"__o_{i}" for i, (n, spec) in enumerate(policy.outputs.items())
                         if n in shown and spec.type == "number" and n not in policy.facts and not spec.computed]
        pending: list[int] = []
        for path in run.files():
            table = pq.read_table(path, columns=["__row", "__rejected", *shown_outputs])
            rows, rejected = table.column("__row").to_pylist(), table.column("__rejected").to_pylist()
            outputs = [table.column(c).to_pylist() for c in shown_outputs]
            for k, (row, rej) in enumerate(zip(rows, rejected)):
                if rej is not None or run.encoder.mixed or any(o[k] is not None and not _python_text_safe(o[k]) for o in outputs):
                    pending.append(row)
        if pending:
            _recheck(spark, ruleset, staged, run, pending, lang, id_field, undeclared, as_of)
        run.seconds["recheck"] = time.perf_counter() - t1
    except BaseException:
        run.close()
        raise
    return run


def _recheck(spark, ruleset, staged: Staged, run: SparkRun, pending: list, lang, id_field,
             undeclared: str = "warn-once", as_of=None) -> None:
    """The records Spark rejected or was not sure of, read again from their files and
    decided (or rejected, with the native message) by the native path."""
    policy = ruleset.policy
    by_input: dict[int, list[int]] = {}
    for row in pending:
        inp, _ = staged.locate(row)
        by_input.setdefault(staged.inputs.index(inp), []).append(row)
    for i, rows in by_input.items():
        inp = staged.inputs[i]
        if inp.fmt == "parquet":
            records = _parquet_rows(spark, inp, rows)
        elif inp.whole:
            records = _whole_csv(inp, policy, rows)
        else:
            header = _csv_header(inp.path) if inp.fmt == "csv" else None
            raws = _native_lines(inp.path, {r - inp.offset for r in rows})
            records = {r: _native_record(inp, r - inp.offset, raws.get(r - inp.offset, b""), policy, header)
                       for r in rows}
        for row in rows:
            rec = records[row]
            if rec is None:  # a line native skips (blank by Python's reckoning)
                run.native[row] = None
                continue
            text, problem, decision, keys = _native_outcome(ruleset, rec, id_field, lang, undeclared, as_of)
            if problem is not None:
                run.native[row] = (rec.label, None, problem, None, (), keys)
            else:
                run.native[row] = (rec.label, text, None, decision.outcome, decision.warnings, keys)


def _whole_csv(inp: _Input, policy, rows: list[int]) -> dict:
    """A CSV input's records as the native reader reads them, by the line each ends on (its
    label); a line that ends no record (inside a quoted cell) is None: not a record."""
    from ..io.records import open_records

    by_line = {}
    with open_records(inp.path, policy, "csv", allow_empty=True) as source:
        for rec in source:
            by_line[inp.offset + int(rec.label.rsplit(":", 1)[1])] = rec
    return {r: by_line.get(r) for r in rows}


def _parquet_rows(spark, inp: _Input, rows: list[int]) -> dict:
    from ..io.records import Record

    wanted = ", ".join(str(r - inp.offset - 1) for r in rows)
    raw = spark.read.parquet(inp.path)
    # A DATE column is read as its text, which the native check parses: Python's dates end
    # at 9999-12-31 and Spark's do not (collecting year 10000 raises).
    columns = [f"CAST(`{name}` AS STRING) AS `{name}`" if typ == "date" else f"`{name}`" for name, typ in raw.dtypes]
    df = raw.selectExpr(*columns, "_metadata.row_index AS `__index`").where(f"`__index` IN ({wanted})")
    out = {}
    for rec in df.collect():
        d = rec.asDict(recursive=True)
        index = d.pop("__index")
        out[inp.offset + index + 1] = Record(f"{inp.path}:{index + 1}", d)
    return out


def run_eval(ruleset, paths, *, output: str | None = None, fmt: str | None = None, lang: str | None = None,
             on_error: str = "fail", id_field: str | None = None, input_format: str | None = None,
             allow_empty: bool = False, master: str = DEFAULT_MASTER, summary: bool = True,
             echo: Callable[[str], None] | None = None, spark=None, work_dir: str | None = None,
             undeclared: str = "warn-once", as_of=None) -> int:
    """`verdict eval --backend spark`: decide files in Spark, write the decisions (JSONL,
    Parquet or CSV, by `fmt` or the suffix of `output`; stdout for JSONL or CSV without
    `output`) atomically, report problems on stderr as native does (in input order), print
    the outcome summary and, for `undeclared` "warn-once" (`--undeclared`), the one
    warning about undeclared keys (`engine.batch.undeclared`, the DuckDB runner's); with
    "refuse" such a record is an input error, with "ignore" nothing is said. Returns the
    exit code (0, or 2 for an input problem); raises SparkUnavailable / BackendError /
    OutputError for the caller to report as one line."""
    from ..io.records import RecordsError

    say = echo or (lambda line: print(line, file=sys.stderr))
    kind = output_format(output, fmt)
    if kind not in ("jsonl", "parquet", "csv"):
        raise BackendError(f"--backend spark writes jsonl, parquet or csv, not {kind}")
    if kind == "parquet" and not output:
        raise BackendError("Parquet output needs a file (-o decisions.parquet)")
    if undeclared not in UNDECLARED_MODES:
        raise BackendError(f"--undeclared is one of {', '.join(UNDECLARED_MODES)}, not {undeclared}")
    if spark is None:
        spark = spark_session(master)
    try:
        run = decide_files(spark, ruleset, paths, lang=lang, id_field=id_field, input_format=input_format,
                           allow_empty=allow_empty, work_dir=work_dir, undeclared=undeclared, as_of=as_of)
    except RecordsError as exc:
        say(f"verdict: {exc}")
        if output:
            say(f"verdict: {output} not written")
        return 2
    try:
        return _write_run(run, kind, output, on_error, id_field, summary, say, undeclared, allow_empty)
    finally:
        run.close()


def _write_run(run: SparkRun, kind: str, output, on_error, id_field, summary, say,
               undeclared: str = "warn-once", allow_empty: bool = False) -> int:
    import csv
    import io

    from ..explain.runs import nothing_decided, repeated_warnings, summary_line
    from ..io.files import open_output

    counts: dict = {}
    warned: dict = {}
    extra = UndeclaredKeys()  # for `--undeclared warn-once`: the run's one warning
    skipped = 0
    failed = False
    dated = "as_of" in run.encoder.head  # a policy that uses time: its as_of column, after the policy's
    parquet = _ParquetSink(output, id_field, dated) if kind == "parquet" else None
    keys = (["record_id"] if id_field else []) + output_keys(dated)
    try:
        with (open_output(output) if parquet is None else nullcontext()) as sink:
            if kind == "csv":
                sink.write(",".join(keys) + "\n")
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            for row, label, text, problem, outcome, warnings, undeclared_keys in run.items():
                if undeclared_keys:
                    extra.record((row,), label, undeclared_keys)
                if problem is not None:  # problems and first warnings in input order, as native
                    say(f"verdict: {label}: {problem}")
                    if on_error == "fail":
                        failed = True
                        break
                    skipped += 1
                    continue
                for w in warnings or ():
                    if w not in warned:
                        say(f"verdict: warning: {label}: {w}")
                    warned[w] = warned.get(w, 0) + 1
                counts[str(outcome)] = counts.get(str(outcome), 0) + 1
                if kind == "jsonl":
                    sink.write(text + "\n")
                elif kind == "parquet":
                    parquet.add(text)
                else:
                    d = json.loads(text, parse_float=RawNumber)  # numbers keep their text
                    # `[]` where JSON leaves a list out, as the DuckDB runner's CSV and the Parquet sink
                    writer.writerow([_csv_cell(d.get(k, [] if k in ("messages", "principal_reasons") else None))
                                     for k in keys])
                    sink.write(buf.getvalue())
                    buf.seek(0)
                    buf.truncate()
            empty = None if failed else nothing_decided(sum(counts.values()), skipped, allow_empty)
            if empty is not None:
                say(f"verdict: {empty}")
                failed = True
            if failed and output:
                raise _Failed()
    except _Failed:
        say(f"verdict: {output} not written")
        return 2
    finally:
        if parquet is not None:
            parquet.close(ok=not failed)
    if failed:
        return 2
    if summary:
        say(summary_line(counts, skipped))
        for line in repeated_warnings(warned):
            say(line)
    line = extra.warning() if undeclared == "warn-once" else None
    if line:
        say(line)
    return 0


class _Failed(Exception):
    """`--on-error fail` with an output file: leave the file unwritten (atomic_writer)."""


