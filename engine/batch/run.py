"""`verdict eval --backend duckdb FILE… -o OUT`: a population decided by the policy's SQL form.

For each input, in order: stage it (`inputs.stage`), run the decision query
(`engine.backends.sql.decision_query`) over it in an embedded DuckDB, and recheck the rows
the query rejected with the native code: each is read again by the native reader and
checked as `verdict eval` checks it (`recheck.native_check`), so a rejected record gets
exactly the native message and exit code, and a record the staging flagged only because SQL
cannot hold a value exactly (an integer beyond 64 bits, a numeral in an unusual spelling, a
double with more places than a computed output's exact decimal holds: `decimals.NATIVE`) is
decided natively, exactly. Every record is decided on the run's one evaluation date
(`recheck.evaluation_date`). An input whose records DuckDB's reader would split otherwise
than the native one (a CSV that is not strictly regular, a file that is not UTF-8) is read
by the native reader as a whole. Then all decisions, in input order, are written by one
COPY (`outputs.copy_to`), atomically, and the summary of outcomes printed as the native
path prints it.
"""

from __future__ import annotations

import datetime
import json
import sys

import click

from ..explain.runs import nothing_decided, summary_line
from ..io.records import EmptyInput, open_records
from .inputs import BatchError, Input, InputsError, NativeOnly, expand, ident, lit, stage
from .jsontext import decision_json, policy_has_control
from .outputs import copy_to, format_of_output
from ..backends.sql.decimals import NATIVE
from .recheck import Checked, _native_file, evaluation_date, native_check, native_records
from .undeclared import UndeclaredKeys

EXIT_OK, EXIT_INPUT, EXIT_INTERNAL = 0, 2, 3
DECISION_COLUMNS = ("outcome", "outcome_known", "adverse", "decided_by", "reasons", "messages",
                    "principal_reasons", "notices", "flags", "outputs", "missing_facts", "undetermined_rules")


class Abort(Exception):
    """Stop the run with exit `code`: the problem is on stderr already."""

    def __init__(self, code: int = EXIT_INPUT):
        super().__init__(code)
        self.code = code


def decision_sql(policy, table: str, id_field: str | None, lang: str | None, as_of=None) -> str:
    """The decision query over the staged table `table`, as DuckDB SQL, on `as_of`."""
    from ..backends.sql import decision_query

    query = decision_query(policy, source=table, dialect="duckdb", lang=lang, id_field=id_field,
                           type_error=True, row=True, null_rejected=False,  # only accepted rows are read
                           as_of=as_of)
    return query.sql(dialect="duckdb")


def connect():
    import duckdb

    return duckdb.connect(":memory:", config={"preserve_insertion_order": True})


# -- the run ----------------------------------------------------------------------------

class Run:
    def __init__(self, ruleset, *, lang, id_field, on_error, fmt, undeclared="warn-once", as_of=None):
        self.undeclared = undeclared
        self.as_of = evaluation_date(ruleset.policy, as_of)  # one evaluation date for the whole run
        self.extra = UndeclaredKeys()  # the natively checked records' undeclared keys
        self.ruleset = ruleset
        self.policy = ruleset.policy
        self.lang = lang
        self.id_field = id_field
        self.on_error = on_error
        self.fmt = fmt
        self.con = connect()
        self.parts: list[str] = []  # per input: a SELECT of (__src, __row, j or typed columns)
        self.skipped = 0
        self.stop: tuple[int, int] | None = None  # (input, row) of the record that failed the run
        self.fallback: list[tuple] = []  # (src, row, json, outcome, warnings)
        self.warn_first: dict[str, tuple] = {}  # warning -> (key, label) of its first natively decided record
        self.warn_count: dict[str, int] = {}
        self.id_kinds: set[str] = set()
        # Decided natively as a whole: a policy whose own texts hold a control character, or
        # with a number output whose JSON (`5` or `5.0`) depends on which rules set it.
        from ..backends.sql.query import number_output_kinds

        # (And a list output of numbers: an item's JSON, `5` or `5.0`, is the literal's own.)
        self.native_only = (policy_has_control(self.policy) or "mixed" in number_output_kinds(self.policy).values()
                            or any(s.type == "array" and s.items.type == "number" for s in self.policy.outputs.values()))
        self.messages: list[tuple[tuple, str]] = []

    # One input: staged, decided, rejections rechecked. Returns False when the run stops.
    def add(self, k: int, inp: Input, allow_empty: bool) -> bool:
        con, policy = self.con, self.policy
        try:
            if self.native_only and inp.fmt != "parquet":
                raise NativeOnly("the policy's texts hold control characters")
            st = stage(con, policy, inp, k, self.id_field, control=self.native_only,
                       refuse=self.undeclared == "refuse")
        except NativeOnly:
            return self._add_native(k, *_native_file(self.ruleset, inp, self.id_field, allow_empty, self.undeclared,
                                                     self.as_of))
        except InputsError:
            raise
        except Exception as exc:  # noqa: BLE001 - DuckDB cannot read it as we need: the native reader can
            if (inp.fmt == "parquet" or not _is_duckdb_error(exc) or type(exc).__name__ == "InterruptException"
                    or "interrupted" in str(exc).lower()):
                raise
            return self._add_native(k, *_native_file(self.ruleset, inp, self.id_field, allow_empty, self.undeclared,
                                                     self.as_of))
        if st.rows == 0 and not allow_empty:
            empty = EmptyInput(inp.path, "no records (an empty file, a CSV header alone, or an empty list); "
                                         "--allow-empty accepts it")
            self.say((k, 0, 0), f"verdict: {empty}")
            self.stop = (k, 0)
            raise Abort()
        sql = decision_sql(policy, st.table, self.id_field, self.lang, self.as_of)
        warn = None  # undeclared keys: one warning for the run (as native), none in the decisions
        # A view, not a table: each later query (the rejected rows, the outcome counts, the
        # output) computes only the columns it reads, and the decision columns are computed
        # once, straight into the output (materializing them cost as much as the query).
        con.execute(f"CREATE OR REPLACE TEMP VIEW __dec_{k} AS SELECT q.* FROM ({sql}) q")
        # The outputs are written in scan order (DuckDB keeps insertion order): sort only when
        # the query did not keep it.
        unordered = con.execute(f"SELECT count(*) FROM (SELECT __row, lag(__row) OVER () AS p FROM __dec_{k}) "
                                "WHERE p > __row").fetchone()[0]
        if unordered:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __decs_{k} AS SELECT * FROM __dec_{k} ORDER BY __row")
            con.execute(f"DROP VIEW __dec_{k}")
            con.execute(f"ALTER TABLE __decs_{k} RENAME TO __dec_{k}")
        # Two filtered scans rather than a join of the two views (each side a few rows).
        typed = dict(con.execute(f"SELECT __row, __type_error FROM {st.table} "
                                 "WHERE __type_error IS NOT NULL").fetchall())
        # The few columns every later step reads (rejections, outcome counts), computed once.
        # (Parquet output: the outcome counts are read back from the file written, one
        # dictionary-encoded column, rather than computed a second time here.)
        outcome = "" if self.fmt == "parquet" else ", outcome"
        con.execute(f"CREATE OR REPLACE TEMP TABLE __slim_{k} AS SELECT __row, __rejected{outcome} FROM __dec_{k}")
        rejected = [(row, why, typed.get(row)) for row, why in con.execute(
            f"SELECT __row, __rejected FROM __slim_{k} WHERE __rejected IS NOT NULL ORDER BY __row").fetchall()]
        self.kind = st.id_kind
        if self.id_field is not None:
            self._id_kinds(k, st.id_kind)
        stop_row = None
        if rejected:
            rows = [r for r, _, _ in rejected]
            checked = [native_check(self.ruleset, rec, self.id_field, row, self.undeclared, self.as_of)
                       for row, rec in native_records(policy, con, inp, st.raw, rows)]
            by_row = {c.row: c for c in checked}
            for row, why, type_error in rejected:
                c = by_row.get(row)
                if c is None:  # a line the native reader does not count as a record (blank to it)
                    self.fallback.append((k, row, None, None, None))
                    continue
                self._extra(k, c)
                if c.problem is not None:
                    self.say((k, row, 0), f"verdict: {c.label}: {c.problem}")
                    if self.on_error == "fail":
                        stop_row = row
                        break
                    self.skipped += 1
                    self.fallback.append((k, row, None, None, None))
                    continue
                if type_error is None and why != NATIVE:  # the SQL form rejects what native decides: a bug
                    self.say((k, row, 0), f"verdict: {c.label}: internal error: backends disagree: the SQL form "
                                          f"rejects the record (fact `{why}`), the native form decides it")
                    self._part(k, st, warn, row)
                    self.stop = (k, row)
                    raise Abort(EXIT_INTERNAL)
                self._native_decision(k, c)
        self._part(k, st, warn, stop_row, rejected=bool(rejected))
        if stop_row is not None:
            self.stop = (k, stop_row)
            return False
        return True

    def _id_kinds(self, k: int, kind: str | None) -> None:
        if kind == "json":
            for (t,) in self.con.execute(f"SELECT DISTINCT json_type({ident(self.id_field)}) FROM __dec_{k} "
                                         "WHERE __rejected IS NULL").fetchall():
                self.id_kinds.add({"VARCHAR": "VARCHAR", "BIGINT": "BIGINT", "UBIGINT": "BIGINT"}.get(t, "DOUBLE"))
        elif kind == "varchar":
            self.id_kinds.add("VARCHAR")
        else:
            self.id_kinds.add(kind)

    def _extra(self, k: int, c: Checked) -> None:
        """Remember a natively checked record's undeclared keys (for the run's one warning)."""
        self.extra.record((k, c.row), c.label, c.extra)

    def _native_decision(self, k: int, c: Checked) -> None:
        from ..explain.render import to_json

        d = c.decision
        text = to_json(d, self.lang, trace=False, indent=None, record_id=c.record_id)
        self.fallback.append((k, c.row, text, d.outcome, list(d.warnings)))
        for i, w in enumerate(d.warnings):
            self.warn_first.setdefault(w, ((k, c.row, i), c.label))
            self.warn_count[w] = self.warn_count.get(w, 0) + 1

    def _add_native(self, k: int, checked: list[Checked], error: str | None = None) -> bool:
        for c in checked:
            self._extra(k, c)
            if c.problem is not None:
                self.say((k, c.row, 0), f"verdict: {c.label}: {c.problem}")
                if self.on_error == "fail":
                    self.stop = (k, c.row)
                    return False
                self.skipped += 1
                continue
            self._native_decision(k, c)
        if error is not None:  # the input cannot be read to its end: the run stops, even with skip
            self.say((k, 10 ** 15, 0), f"verdict: {error}")
            self.stop = (k, 10 ** 15)
            raise Abort()
        return True

    def say(self, key: tuple, line: str) -> None:
        """A line for stderr, printed in record order with the warnings (`flush`)."""
        self.messages.append((key, line))

    def flush(self, inputs: list[Input]) -> None:
        """Print the problems in the order the native path prints them (by record)."""
        for _, line in sorted(self.messages, key=lambda kl: kl[0]):
            click.echo(line, err=True)
        self.messages = []

    def _part(self, k: int, st, warn: str | None, stop_row: int | None, rejected: bool = True) -> None:
        """The decided rows of input k (before `stop_row`), for the output. Without rejected
        records no filter at all: `WHERE __rejected IS NULL` over the decision view cost 65%
        more than the query itself (measured: 2 M rows to Parquet, 1.76 s against 1.08 s)."""
        cond = ("__rejected IS NULL" if rejected else "true") + (f" AND __row < {stop_row}"
                                                                  if stop_row is not None else "")
        self.parts.append((k, st, warn, cond))

    # -- output ----------------------------------------------------------------------------
    def _fallback_table(self) -> None:
        self.con.execute("CREATE OR REPLACE TEMP TABLE __fb (__src BIGINT, __row BIGINT, j VARCHAR, "
                         "outcome VARCHAR, warnings VARCHAR[])")
        rows = [r for r in self.fallback if r[2] is not None]
        if rows:
            self.con.executemany("INSERT INTO __fb VALUES (?, ?, ?, ?, ?)", rows)

    def _stopped(self, k: int, row: int) -> str:
        if self.stop is None:
            return "true"
        sk, sr = self.stop
        return f"({k} < {sk} OR ({k} = {sk} AND {row} < {sr}))" if isinstance(row, str) else "true"

    def select_jsonl(self) -> str:
        selects = []
        for k, st, warn, cond in self.parts:
            line = decision_json(self.policy, id_field=self.id_field, id_kind=st.id_kind, as_of=self.as_of)
            selects.append(f"SELECT {k} AS __src, __row, {line} AS j FROM __dec_{k} WHERE {cond}")
        if self._ordered():  # one input, all decided in SQL: its table is in __row order already
            return f"SELECT j FROM ({selects[0]})"
        selects.append(f"SELECT __src, __row, j FROM __fb WHERE {self._stopped_sql()}")
        return "SELECT j FROM (" + " UNION ALL ".join(selects) + ") ORDER BY __src, __row"

    def _ordered(self) -> bool:
        return len(self.parts) == 1 and not any(r[2] is not None for r in self.fallback)

    def _stopped_sql(self) -> str:
        if self.stop is None:
            return "true"
        sk, sr = self.stop
        return f"(__src < {sk} OR (__src = {sk} AND __row < {sr}))"

    def _id_type(self) -> str:
        kinds = self.id_kinds or {"VARCHAR"}
        if kinds <= {"BIGINT", "TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"}:
            return "BIGINT"
        if kinds <= {"BIGINT", "DOUBLE", "FLOAT", "TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT",
                     "UINTEGER", "UBIGINT", "HUGEINT"}:
            return "DOUBLE"
        return "VARCHAR"

    def select_columns(self, flat: bool) -> str:
        """The decisions as columns (Parquet), or with nested values as JSON text (CSV)."""
        id_type = self._id_type()
        selects = []
        col_types = None
        for k, st, warn, cond in self.parts:
            cols = []
            if self.id_field is not None:
                c = ident(self.id_field)
                if st.id_kind == "json":
                    v = (f"CASE WHEN json_type({c}) = 'VARCHAR' THEN json_extract_string({c}, '$') "
                         f"ELSE CAST({c} AS VARCHAR) END" if id_type == "VARCHAR" else f"CAST({c} AS {id_type})")
                else:
                    v = f"CAST({c} AS {id_type})"
                cols.append(f"{v} AS record_id")
            policy = self.policy
            cols += [f"{lit(policy.id)} AS policy", f"{_version_sql(policy.version)} AS version",
                     f"{lit(policy.digest)} AS policy_digest"]
            if policy.uses_time:  # the evaluation date, after the policy's fields as in JSON
                cols.append(f"CAST({lit(self.as_of.isoformat())} AS DATE) AS as_of")
            cols += [ident(c) for c in DECISION_COLUMNS]
            selects.append(f"SELECT {k} AS __src, __row, {', '.join(cols)} FROM __dec_{k} WHERE {cond}")
        if selects and col_types is None:
            desc = self.con.execute(f"DESCRIBE {selects[0]}").fetchall()
            col_types = [(n, t) for n, t, *_ in desc if n not in ("__src", "__row")]
        fb = [r for r in self.fallback if r[2] is not None]
        if fb and col_types is not None:
            struct = "{" + ", ".join(f"{json.dumps(n)}: {json.dumps(t)}" for n, t in col_types) + "}"
            fields = ", ".join(f"d.{ident(n)} AS {ident(n)}" for n, _ in col_types)
            selects.append(f"SELECT __src, __row, {fields} FROM (SELECT __src, __row, "
                           f"from_json(j, {lit(struct)}) AS d FROM __fb WHERE {self._stopped_sql()})")
        elif fb:  # every record was decided natively: the columns come from their JSON
            names = (["record_id"] if self.id_field else []) + ["policy", "version", "policy_digest",
                                                                *(["as_of"] if self.policy.uses_time else []),
                                                                *DECISION_COLUMNS]
            fields = ", ".join(f"json_extract(j, {lit('$.' + n)}) AS {ident(n)}" for n in names)
            selects.append(f"SELECT __src, __row, {fields} FROM __fb WHERE {self._stopped_sql()}")
        if not selects:
            return "SELECT NULL AS outcome WHERE false"
        body = " UNION ALL BY NAME ".join(selects)
        order = "" if self._ordered() else " ORDER BY __src, __row"
        if not flat or col_types is None:
            return f"SELECT * EXCLUDE (__src, __row) FROM ({body}){order}"
        nested = {n for n, t in col_types if t.endswith("[]") or t.startswith("STRUCT")}
        from .jsontext import outputs_json

        decimal_outputs = outputs_json(self.policy)  # computed outputs: their decimal text, as in JSON

        def flat_cell(n: str) -> str:
            if n == "outputs" and decimal_outputs is not None:
                return f"{decimal_outputs} AS {ident(n)}"
            return f"CAST(to_json({ident(n)}) AS VARCHAR) AS {ident(n)}" if n in nested else ident(n)

        outs = ", ".join(flat_cell(n) for n, _ in col_types)
        return f"SELECT {outs} FROM ({body}){order}"

    def decided(self) -> int:
        """How many records the run decided (in SQL or natively), before any stop."""
        n = sum(self.con.execute(f"SELECT count(*) FROM __slim_{k} WHERE {cond}").fetchone()[0]
                for k, st, warn, cond in self.parts)
        return n + sum(1 for _ in self._fallback_decided())

    def _fallback_decided(self):
        """The outcomes of the records decided natively, before any stop."""
        return (outcome for k, row, j, outcome, _ in self.fallback
                if j is not None and (self.stop is None or (k, row) < self.stop))

    def counts(self, output: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        if self.fmt == "parquet" and output is not None:  # what was written, natively decided rows too
            for outcome, n in self.con.execute("SELECT outcome, count(*) FROM read_parquet(?) GROUP BY outcome",
                                               [output]).fetchall():
                counts[str(outcome)] = n
            return counts
        for k, st, warn, cond in self.parts:
            for outcome, n in self.con.execute(f"SELECT outcome, count(*) FROM __slim_{k} WHERE {cond} "
                                               "GROUP BY outcome").fetchall():
                key = str(outcome)
                counts[key] = counts.get(key, 0) + n
        for outcome in self._fallback_decided():
            counts[str(outcome)] = counts.get(str(outcome), 0) + 1
        return counts

    def undeclared_warning(self, inputs: list[Input]) -> str | None:
        """The run's one warning about undeclared keys (`--undeclared warn-once`), worded as
        the native path words it: the first record with one, every key in the order first
        seen, and how many records had one."""
        seen = self.extra.copy()
        for k, st, warn, cond in self.parts:
            con = self.con
            if st.warn_const:
                n, row = con.execute(f"SELECT count(*), min(__row) FROM __dec_{k} WHERE {cond}").fetchone()
                if n:
                    seen.many(n, (k, row), _label(self.policy, inputs[k], row),
                              {key: (k, row, i) for i, key in reversed(list(enumerate(st.warn_const)))})
            elif st.warn_const is None:
                rows = (f"SELECT s.__row, s.__warn FROM {st.table} s JOIN __dec_{k} USING (__row) "
                        f"WHERE {cond} AND len(s.__warn) > 0")
                n, row = con.execute(f"SELECT count(*), min(__row) FROM ({rows})").fetchone()
                if n:
                    first_seen = {}
                    for key, r, pos in con.execute(
                            f"SELECT w, min(__row), min(pos) FROM (SELECT __row, unnest(__warn) AS w, "
                            f"generate_subscripts(__warn, 1) - 1 AS pos FROM ({rows})) GROUP BY w").fetchall():
                        first_seen[key] = (k, r, pos)
                    seen.many(n, (k, row), f"{inputs[k].path}:{row}", first_seen)
        return seen.warning()


def _warning_texts(keys) -> list[str]:
    from .jsontext import warning

    return [warning(k) for k in keys]


def _label(policy, inp: Input, row: int) -> str:
    """The native label of record `row` of an input (CSV: the line its record ends on)."""
    if inp.fmt == "csv":
        with open_records(inp.path, policy, "csv", allow_empty=True) as records:
            for n, rec in enumerate(records, 1):
                if n == row:
                    return rec.label
    return f"{inp.path}:{row}"


def _version_sql(version) -> str:
    if isinstance(version, bool) or not isinstance(version, (int, float)):
        return lit(str(version))
    return repr(version) if isinstance(version, float) else str(version)


def _is_duckdb_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("_duckdb") or type(exc).__module__.startswith("duckdb")


def run_batch(ruleset, paths: list[str], *, fmt: str | None, lang: str | None, on_error: str, output: str | None,
              id_field: str | None, input_format: str | None, allow_empty: bool, summary: bool = True,
              undeclared: str = "warn-once", as_of: datetime.date | None = None) -> int:
    """Decide every record of every input with the SQL form; see the module docstring.
    Returns the exit code; a failure to write raises OutputError (the `main` group reports it).
    Ctrl-C while DuckDB runs is KeyboardInterrupt, as anywhere (exit 130, `-o` left as it was)."""
    import duckdb

    try:
        return _run_batch(ruleset, paths, fmt=fmt, lang=lang, on_error=on_error, output=output, id_field=id_field,
                          input_format=input_format, allow_empty=allow_empty, summary=summary,
                          undeclared=undeclared, as_of=as_of)
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except RuntimeError as exc:  # DuckDB's Python client reports SIGINT during a query so
        if "interrupted" in str(exc).lower():
            raise KeyboardInterrupt from None
        raise


def _run_batch(ruleset, paths: list[str], *, fmt: str | None, lang: str | None, on_error: str, output: str | None,
               id_field: str | None, input_format: str | None, allow_empty: bool, summary: bool,
               undeclared: str, as_of: datetime.date | None = None) -> int:

    fmt = fmt or format_of_output(output) or "jsonl"
    if fmt == "parquet" and output is None:
        raise BatchError("--format parquet writes a file: give -o FILE")
    try:
        inputs = expand(paths, input_format)
    except InputsError as exc:
        click.echo(f"verdict: {exc}", err=True)
        if output:
            click.echo(f"verdict: {output} not written", err=True)
        return EXIT_INPUT
    tty = summary and sys.stderr.isatty()
    run = Run(ruleset, lang=lang, id_field=id_field, on_error=on_error, fmt=fmt, undeclared=undeclared, as_of=as_of)
    code = EXIT_OK
    try:
        for k, inp in enumerate(inputs):
            if tty:
                click.echo(f"\rdeciding {inp.path} ({k + 1}/{len(inputs)})…" + " " * 10, err=True, nl=False)
            if not run.add(k, inp, allow_empty):
                code = EXIT_INPUT
                break
        if tty:
            click.echo("\r" + " " * 60 + "\r", err=True, nl=False)
            tty = False
        run._fallback_table()
        run.flush(inputs)
        empty = nothing_decided(run.decided(), run.skipped, allow_empty) if code == EXIT_OK and run.skipped else None
        if empty is not None:
            click.echo(f"verdict: {empty}", err=True)
            code = EXIT_INPUT
        elif code == EXIT_OK or output is None:  # on a failure only stdout gets the decisions before it
            _write(run, fmt, output)
    except Abort as abort:
        code = abort.code
        run._fallback_table()
        run.flush(inputs)
        if output is None:  # as the native path streams them: the decisions before the failure
            _write(run, fmt, output)
    finally:
        if tty:
            click.echo("\r" + " " * 60 + "\r", err=True, nl=False)
    if code != EXIT_OK:
        if output:
            click.echo(f"verdict: {output} not written", err=True)
        return code
    if summary:
        click.echo(summary_line(run.counts(output), run.skipped), err=True)
    if undeclared == "warn-once":
        line = run.undeclared_warning(inputs)
        if line:
            click.echo(line, err=True)
    return EXIT_OK


def _write(run: Run, fmt: str, output: str | None) -> None:
    if fmt == "jsonl":
        select = run.select_jsonl()
    else:
        select = run.select_columns(flat=fmt == "csv")
    if output is not None:
        copy_to(run.con, select, output, fmt)
        return
    from ..io.files import stdout_sink

    sink = stdout_sink()
    if fmt == "csv":  # CSV on stdout: DuckDB writes it into a buffer first
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/out.csv"
            copy_to(run.con, select, path, fmt)
            with open(path, encoding="utf-8") as fh:
                while chunk := fh.read(1 << 20):
                    sink.write(chunk)
        return
    cur = run.con.execute(select)
    while batch := cur.fetchmany(10000):
        sink.write("".join(j + "\n" for (j,) in batch))
