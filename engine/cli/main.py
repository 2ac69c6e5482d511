"""The `verdict` command group: where the commands are registered, and the one place where
what a command returns becomes the process's exit status.

Each command is a module of its own (`engine/cli/<command>.py`) whose click command
returns an exit code (see `common.EXIT_*` and the table in docs/cli.md). Commands never
print tracebacks for bad input: every failure is one located line. A command imports
what it needs when it runs, so `verdict validate` never loads the compiler.
"""

from __future__ import annotations

import click

from .common import EXIT_INPUT, InputError
from .compile import compile_cmd
from .diff import diff_cmd
from .eval import eval_cmd
from .explain import explain_cmd
from .schema import schema_cmd
from .test import test_cmd
from .validate import validate_cmd


class _Verdict(click.Group):
    """A click group whose subcommands return their exit code instead of exiting."""

    def invoke(self, ctx: click.Context):
        try:
            code = super().invoke(ctx)
        except InputError as exc:  # from any depth of a command: one line on stderr
            exc.show()
            code = EXIT_INPUT
        # The one exit point. click's standalone mode (the console script, CliRunner) turns
        # this into SystemExit(code); `main.main(args, standalone_mode=False)` returns it.
        ctx.exit(code)


@click.group(cls=_Verdict, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="verdict", prog_name="verdict")
def main() -> None:
    """verdict: declarative consumer-credit policies that explain every decision."""


# The commands, one line each (`verdict --help` lists them by name).
main.add_command(validate_cmd)
main.add_command(eval_cmd)
main.add_command(explain_cmd)
main.add_command(test_cmd)
main.add_command(diff_cmd)
main.add_command(schema_cmd)
main.add_command(compile_cmd)


if __name__ == "__main__":  # pragma: no cover - `python -m engine.cli.main`
    main()
