"""The `verdict` command group: where the commands are registered, and the one place where
what a command returns, or how it fails, becomes the process's exit status.

Each command is a module of its own (`engine/cli/<command>.py`) whose click command
returns an exit code (see `common.EXIT_*` and the table in docs/cli.md). Commands never
print tracebacks for bad input: every failure is one located line. Here, at the one exit
point, so that no command has to think of it:

- an `InputError` from any depth: its line, exit 2;
- an `OutputError` (an output that cannot be written: a missing folder, a full disk):
  one line naming the output, exit 2; a closed pipe (`verdict eval … | head -1`): nothing
  on stderr, exit 141, as a filter killed by SIGPIPE;
- Ctrl-C: `verdict: interrupted`, exit 130 (an output file is left as it was);
- anything else is a bug: one line `verdict: internal error: …`, exit 3, never a
  traceback (`VERDICT_DEBUG=1` re-raises it, for us).

A command imports what it needs when it runs, so `verdict validate` never loads the compiler.
"""

from __future__ import annotations

import os
import sys

import click

from ..explain import DISTRIBUTION
from .common import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_PIPE, InputError
from .compile import compile_cmd
from .diff import diff_cmd
from .eval import eval_cmd
from .explain import explain_cmd
from .init import init_cmd
from .lsp import lsp_cmd
from .schema import schema_cmd
from .test import test_cmd
from .validate import validate_cmd

DEBUG_ENV = "VERDICT_DEBUG"
# click's own ways of ending a command (usage errors, --help, Abort): click handles them.
_CLICK_EXITS = (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort)


def _quiet_streams(*streams) -> None:
    """Point the given standard streams at /dev/null, so the interpreter's own flush at exit
    cannot fail again (and print "Exception ignored …") on a closed pipe or a full disk."""
    for stream in streams:
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            continue  # not a real file (click's test runner): nothing will flush it at exit
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except OSError:
            pass


def _say(line: str) -> None:
    """One line on stderr, if stderr can still take it."""
    try:
        click.echo(line, err=True)
    except OSError:
        _quiet_streams(sys.stderr)


class _Verdict(click.Group):
    """A click group whose subcommands return their exit code instead of exiting."""

    def invoke(self, ctx: click.Context):
        from ..errors import BackendError, SqlLimitError
        from ..io.files import OutputClosed, OutputError, flush_stdout

        try:
            code = super().invoke(ctx)
            flush_stdout()  # a full disk or a closed pipe, found now rather than at exit
        except InputError as exc:  # from any depth of a command: one line on stderr
            exc.show()
            code = EXIT_INPUT
        except _CLICK_EXITS:
            raise
        except OutputClosed:
            _quiet_streams(sys.stdout, sys.stderr)
            code = EXIT_PIPE
        except OutputError as exc:
            if exc.target == "<stdout>":
                _quiet_streams(sys.stdout)
            _say(f"verdict: {exc}")
            code = EXIT_INPUT
        except KeyboardInterrupt:
            _say("verdict: interrupted")
            code = EXIT_INTERRUPTED
        except BackendError as exc:  # a backend that cannot take this policy or record (a documented limit)
            hint = " (--backend native decides it)" if isinstance(exc, SqlLimitError) else ""
            _say(f"verdict: {' '.join(str(exc).split())}{hint}")
            code = EXIT_INPUT
        except BrokenPipeError:  # stderr's reader went away (`verdict … 2>&1 | head -1`)
            _quiet_streams(sys.stdout, sys.stderr)
            code = EXIT_PIPE
        except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug
            if os.environ.get(DEBUG_ENV):
                raise
            text = " ".join(str(exc).split()) or "(no message)"
            _say(f"verdict: internal error: {type(exc).__name__}: {text} (please report this)")
            code = EXIT_INTERNAL
        # The one exit point. click's standalone mode (the console script, CliRunner) turns
        # this into SystemExit(code); `main.main(args, standalone_mode=False)` returns it.
        ctx.exit(code)


@click.group(cls=_Verdict, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION, prog_name="verdict")
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
main.add_command(init_cmd)
main.add_command(lsp_cmd)


if __name__ == "__main__":  # pragma: no cover - `python -m engine.cli.main`
    main()
