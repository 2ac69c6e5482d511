"""`verdict diff`: where the outcome changes between two versions of a policy (regions,
witnesses, moved thresholds), optionally counted over a dataset of records."""

from __future__ import annotations

import click

from .common import ALLOW_EMPTY, EXIT_FINDINGS, EXIT_OK, InputError, load_valid_policy, write_output


@click.command("diff")
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="Output format.")
@click.option("--facts", "facts_path", help="Also count, over a dataset (JSONL or CSV), records whose outcome changes.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when some outcome changes (like `git diff --exit-code`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the diff to a file (atomically).")
@ALLOW_EMPTY
def diff_cmd(old_path, new_path, fmt, facts_path, exit_code, output, allow_empty) -> int:
    """Where the outcome changes between two versions of a policy: regions, witnesses, thresholds."""
    from ..analysis import diff as policy_diff
    from ..io.records import EmptyInput, RecordsError

    old, new = load_valid_policy(old_path), load_valid_policy(new_path)
    result = policy_diff.diff_policies(old, new)
    if facts_path is not None:
        try:
            policy_diff.count_records(result, facts_path)
        except EmptyInput:
            if not allow_empty:
                raise InputError(f"{facts_path}: no records (an empty file, a CSV header alone, or an empty "
                                 "list); --allow-empty accepts it") from None
            # The empty input ends the reading after its (zero) records: what counting
            # them would have recorded.
            result.matrix, result.records = {}, {"total": 0, "changed": 0, "skipped": 0}
        except RecordsError as exc:
            raise InputError(str(exc)) from None
    write_output(policy_diff.RENDERERS[fmt](result), output)
    return EXIT_FINDINGS if exit_code and not result.unchanged else EXIT_OK
