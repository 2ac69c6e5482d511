"""`verdict eval`: decide user facts (one record, or a batch streamed from JSONL/CSV) and
print each decision as JSON, JSON lines, text or Markdown."""

from __future__ import annotations

import click

from .common import eval_options, load_ruleset


@click.command("eval")
@click.argument("facts", nargs=-1)
@eval_options
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "text", "markdown"]),
              help="Output format (default: json for one record, jsonl for many).")
@click.option("--explain", "trace", is_flag=True,
              help="Add the full trace (every rule and condition) and the counterfactuals.")
@click.option("--no-counterfactuals", is_flag=True, help="With --explain: skip computing what would change it.")
def eval_cmd(facts, policy_path, backend, lang, on_error, output, id_field, fmt, trace, no_counterfactuals) -> int:
    """Evaluate user facts (JSON/YAML files, `-` for stdin, JSONL/CSV for many records)."""
    from ..io.records import is_batch
    from .decide import run_records

    paths = list(facts) or ["-"]
    batch = is_batch(paths)
    fmt = fmt or ("jsonl" if batch else "json")
    ruleset = load_ruleset(policy_path)
    return run_records(ruleset, paths, fmt, lang, trace or fmt in ("text", "markdown"), backend, on_error,
                       output, summary=batch, counterfactuals=trace and not no_counterfactuals,
                       id_field=id_field)
