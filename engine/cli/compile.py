"""`verdict compile POLICY --emit python|durable|sql`: print a policy's executable form.

The generated Python module the native backend runs, the durable-rules rulesets as JSON,
or the SQL decision query (`--dialect`, `--table`, `--lang`, `--as-of`: docs/backends.md,
the SQL form); all deterministic (the same policy prints the same text in every process), for
reading, diffing, debugging, and running the SQL on a warehouse. The text goes to stdout;
diagnostics of an invalid policy go to stderr, as `verdict validate` renders them.

Exit codes: 0 printed; 1 the policy is invalid; 2 unreadable file, a usage error
(`--dialect`/`--table`/`--lang` without `--emit sql`), or a form this policy cannot take
(a durable-rules limit, an SQL limit or dialect trap).
"""

from __future__ import annotations

import click

from ..explain import report
from ..io.policies import check_policy_file
from ..language.diagnostics import ERROR
from .common import AS_OF, EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, AsOf, InputError, write_output

FORMS = ("python", "durable", "sql")  # = engine.compile.FORMS (tested): importing it here would slow every start-up
DIALECTS = ("duckdb", "spark", "postgres", "hive", "bigquery", "snowflake", "trino")  # = engine.backends.sql.DIALECTS


def emit_policy(path: str, form: str, output: str | None = None, *, dialect: str | None = None,
                table: str | None = None, lang: str | None = None, as_of=None) -> int:
    """Print the form of the policy at `path`; the exit code."""
    if form != "sql" and (dialect is not None or table is not None or lang is not None or as_of is not None):
        raise click.UsageError("--dialect, --table, --lang and --as-of go with --emit sql only")
    policy, diags = check_policy_file(path)
    unreadable = [d for d in diags if d.code == "unreadable"]
    if unreadable:
        raise InputError(f"{unreadable[0].file}: {unreadable[0].message}")
    if policy is None:
        click.echo(report.render("text", diags, [path]), err=True, nl=False)
        return EXIT_FINDINGS if any(d.severity == ERROR for d in diags) else EXIT_INPUT
    from ..compile import emit
    from ..errors import BackendError

    try:
        text = (emit(policy, form, dialect=dialect, table=table, lang=lang, as_of=AsOf(as_of)(policy))
                if form == "sql" else emit(policy, form))
    except BackendError as exc:
        raise InputError(f"{path}: {exc}") from None
    write_output(text, output)
    return EXIT_OK


@click.command("compile")
@click.argument("policy_path", metavar="POLICY")
@click.option("--emit", "form", type=click.Choice(FORMS), required=True,
              help="python: the module the native backend executes; durable: the durable-rules rulesets (JSON); "
                   "sql: the decision query.")
@click.option("--dialect", type=click.Choice(DIALECTS),
              help="With --emit sql: the SQL dialect (default duckdb; duckdb, spark and postgres are executed in "
                   "the tests, the others generated).")
@click.option("--table", help="With --emit sql: the table of staged facts the query reads (default facts; "
                              "schema.table allowed).")
@click.option("--lang", help="With --emit sql: the language of messages (default: the policy's).")
@AS_OF
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write it to a file (atomically).")
def compile_cmd(policy_path: str, form: str, dialect: str | None, table: str | None, lang: str | None,
                as_of, output: str | None) -> int:
    """Print the executable form of a policy (deterministic, for reading and diffing). With
    --emit sql, a policy that uses time is compiled for one evaluation date (--as-of,
    default today in its timezone), which the query's `as_of` column records."""
    return emit_policy(policy_path, form, output, dialect=dialect, table=table, lang=lang, as_of=as_of)
