"""What the commands share: exit codes, the input-error exception, loading the policy a
command runs, writing its output, and the options of `eval` and `explain`.

Kept free of heavy imports: every command module imports it, `verdict validate` included.
"""

from __future__ import annotations

import click

# The exit codes, documented in docs/cli.md (one table). A command returns OK, FINDINGS or
# INPUT; `main`, the one exit point, also gives INTERNAL (a bug: an unexpected exception),
# INTERRUPTED (Ctrl-C, 128 + SIGINT) and PIPE (the reader of stdout went away: 128 + SIGPIPE,
# the status a filter killed by SIGPIPE has).
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141


class InputError(click.ClickException):
    """A usage or input problem: one line on stderr, exit 2. Raised from any depth of a
    command; `main` shows it and exits with its code."""

    exit_code = EXIT_INPUT

    def show(self, file=None) -> None:
        click.echo(f"verdict: {self.format_message()}", err=True)


def load_valid_policy(path: str):
    """The validated Policy at `path`; an invalid one is an input error: its diagnostics on
    stderr, then one line saying how to see them in full."""
    from ..io.policies import load_policy
    from ..errors import PolicyError

    try:
        return load_policy(path)
    except PolicyError as exc:
        for d in exc.diagnostics:
            click.echo(d.render(), err=True)
        raise InputError(f"{path}: policy is not valid (run `verdict validate {path}`)") from None


def load_ruleset(policy_path: str):
    """Load, validate and compile a policy for evaluation; an invalid policy is an input error."""
    from ..compile import compile_policy

    return compile_policy(load_valid_policy(policy_path))


def write_output(text: str, output: str | None) -> None:
    """Write to stdout, or atomically to a file (never a half-written file). A failure is an
    `OutputError` naming the output, which `main` reports."""
    from ..io.files import open_output

    with open_output(output) as sink:
        sink.write(text)


BACKEND_CHOICES = ["native", "durable", "duckdb", "spark"]


def check_backend(backend: str, master: str | None) -> None:
    """`--master` goes with `--backend spark` only: any other combination is a usage error."""
    if master is not None and backend != "spark":
        raise click.UsageError("--master goes with --backend spark only")


# -- the evaluation date ------------------------------------------------------------------

def parse_as_of(ctx, param, value):
    """`--as-of YYYY-MM-DD` as a `datetime.date` (None when not given). Anything but exactly
    `YYYY-MM-DD` naming a calendar day (the one date parser, `values.parse_date`, which
    facts use too) is an input error: one line, exit 2 (a click usage error would print
    the whole usage block for one mistyped digit)."""
    if value is None:
        return None
    from ..language.values import parse_date

    day = parse_date(value)
    if day is None:
        raise InputError(f"--as-of: `{value}` is not a date (YYYY-MM-DD, a calendar day such as 2026-11-11)")
    return day


AS_OF = click.option("--as-of", "as_of", metavar="YYYY-MM-DD", callback=parse_as_of, expose_value=True,
                     help="The evaluation date: the day `days_ago`/`days_ahead` count from and facts that grow "
                          "with time are taken on; default: today in the policy's timezone.")


class AsOf:
    """The evaluation date of one command run: the `--as-of` given, else today in a
    policy's timezone, resolved once per timezone for the whole run (a batch that crosses
    midnight decides every record on one day). A policy that does not use time gets None:
    nothing it decides depends on the date, and its decisions record none."""

    def __init__(self, given=None):
        self.given = given
        self._today: dict[str, object] = {}

    def __call__(self, policy):
        if not policy.uses_time:
            return None
        if self.given is not None:
            from ..runtime.semantics import off_calendar

            beyond = off_calendar(policy, self.given)
            if beyond is not None:
                edge = "before 0001-01-01, the calendar's first" if beyond.offset < 0 else \
                    "after 9999-12-31, the calendar's last"
                raise InputError(f"--as-of {self.given.isoformat()}: on this day `{beyond.describe()}` "
                                 f"(policy `{policy.id}`) is {edge} day")
            return self.given
        zone = policy.timezone
        if zone not in self._today:
            from ..runtime.semantics import today  # the one "today in a timezone"

            self._today[zone] = today(zone)
        return self._today[zone]


_EVAL_OPTIONS = [
    click.option("-p", "--policy", "policy_path", required=True, help="The policy file."),
    click.option("--backend", type=click.Choice(BACKEND_CHOICES), default="native", show_default=True,
                 help="Which executable form decides (they must agree); duckdb and spark decide JSONL, CSV and "
                      "Parquet files in batch (docs/batch.md)."),
    click.option("--master", metavar="URL", help="With --backend spark: the Spark master (local[2], spark://…, yarn)."),
    click.option("--lang", help="Language of messages (e.g. en, zh); default: the policy's language."),
    click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
                 help="On a malformed record: stop with exit 2, or report it and go on."),
    click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write decisions to a file (atomically)."),
    click.option("--id", "id_field", metavar="FIELD",
                 help="A record field that is the record's id (e.g. user_id): not a fact, copied into its decision."),
    click.option("--undeclared", type=click.Choice(["warn-once", "ignore", "refuse"]), default="warn-once",
                 show_default=True,
                 help="Record keys that name no declared fact (the --id field never counts): ignore them "
                      "with one warning for the run, silently, or refuse the record."),
    click.option("--input-format", type=click.Choice(["json", "jsonl", "csv", "yaml", "parquet"]),
                 help="How to read the facts (default: by file suffix; for `-` and other names, "
                      "a JSON document, JSON lines or YAML, told by the content); parquet with "
                      "--backend duckdb or spark."),
    AS_OF,
]

ALLOW_EMPTY = click.option("--allow-empty", is_flag=True,
                           help="Accept an input without records (an empty file, a CSV header alone) and, with "
                                "--on-error skip, a run that skipped every record.")


def eval_options(fn):
    """The options `eval` and `explain` share, in the order `--help` shows them."""
    for opt in reversed([*_EVAL_OPTIONS, ALLOW_EMPTY]):
        fn = opt(fn)
    return fn
