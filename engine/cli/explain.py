"""`verdict explain`: the human explanation of a decision: every rule and condition, actual
against threshold, the principal reasons and what would change the outcome."""

from __future__ import annotations

import click

from .common import AsOf, check_backend, eval_options, load_ruleset


@click.command("explain")
@click.argument("facts", nargs=-1)
@eval_options
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--no-counterfactuals", is_flag=True, help="Skip computing what would change the outcome.")
def explain_cmd(facts, policy_path, backend, master, lang, on_error, output, id_field, undeclared, input_format,
                as_of, allow_empty, fmt, no_counterfactuals) -> int:
    """Explain the decision for user facts: each rule, each condition, actual vs threshold,
    the principal reasons and what would change the outcome."""
    from .decide import run_records

    check_backend(backend, master)
    if input_format == "parquet":
        raise click.UsageError("--input-format parquet is for batch runs (`verdict eval --backend duckdb`)")
    paths = list(facts) or ["-"]
    ruleset = load_ruleset(policy_path)
    return run_records(ruleset, paths, fmt, lang, True, backend, on_error, output, summary=False,
                       counterfactuals=not no_counterfactuals, id_field=id_field, input_format=input_format,
                       allow_empty=allow_empty, undeclared=undeclared, master=master, as_of=AsOf(as_of)(ruleset.policy))
