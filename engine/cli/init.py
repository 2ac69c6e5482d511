"""`verdict init [DIR]`: scaffold a policy repository that works from its first commit.

It writes a starter policy and its test suite (passing, with full rule and boundary
coverage, so the CI gate it also writes is green before anyone edits), local copies of the
schemas, editor settings, pre-commit hooks and a GitHub workflow:

    policies/example.yaml            policies/example.test.yaml
    schemas/{policy,decision,test}.schema.json
    .vscode/settings.json            .pre-commit-config.yaml
    .github/workflows/verdict.yml

Everything an editor or a hook refers to resolves inside DIR: the modelines and the
`yaml.schemas` mapping point at DIR's own `schemas/` (a path into verdict's checkout, or a
URL nothing serves, is what made yaml-language-server fail on policies outside verdict's
repository). The only addresses written, the hooks' repository and the Action, come from
`[project.urls]` of the installed distribution (`explain.sarif.project_urls`, the same
setting SARIF's links come from), pinned to the running version's tag.

Existing files are never replaced without `--force`: `verdict init` refuses with one line
(exit 2) and writes nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from .common import EXIT_OK, InputError
from .schema import schema_files

POLICY_FILE = "policies/example.yaml"
SUITE_FILE = "policies/example.test.yaml"
SCHEMA_DIR = "schemas"

# The starter policy: small enough to read in a minute, but using what a real policy needs
# (facts with ranges and remedies, thresholds, an adverse outcome with reasons, messages).
# Its outcome rules cover every fact set, so validation reports no gap.
STARTER_POLICY = """\
# yaml-language-server: $schema=../schemas/policy.schema.json
# A starter policy: who is approved for a small loan. Edit it into your own; the language
# is described in verdict's docs/policy-language.md. `verdict validate policies/` checks it.
policy: example
version: 1
title: Small loan eligibility
description: Who is approved for a small loan; a starting point for your own policy.
language: en

facts:
  credit_score:
    type: integer
    minimum: 300
    maximum: 850
    change: increase
    description: Credit score of the applicant
    remedy: Repay on time to raise your credit score
  overdue_days:
    type: integer
    minimum: 0
    unit: days
    change: decrease
    description: Days the oldest unpaid bill is past due
    remedy: Repay the overdue balance

thresholds:
  min_credit_score: 600
  max_overdue_days: 30

outcomes:                 # precedence order: the first with a matching rule wins
  - {id: declined, adverse: true, label: Not approved}
  - {id: approved, label: Approved}
default: approved

reasons:                  # in order of importance
  OVERDUE: A repayment is overdue
  LOW_CREDIT_SCORE: Credit score too low

rules:
  - id: overdue
    when: {overdue_days: {gt: max_overdue_days}}
    then:
      outcome: declined
      reason: OVERDUE
      message: You are {overdue_days} days overdue; repay to restore eligibility.

  - id: low-score
    when: {credit_score: {lt: min_credit_score}}
    then:
      outcome: declined
      reason: LOW_CREDIT_SCORE
      message: Your credit score {credit_score} is below {min_credit_score}.

  - id: approve
    when:                 # two keys: both must hold
      credit_score: {gte: min_credit_score}
      overdue_days: {lte: max_overdue_days}
    then: {outcome: approved}
"""

# Its suite: every threshold just below, at and just above, each case deciding by the
# comparison at that boundary (what 100% boundary coverage asks for).
STARTER_SUITE = """\
# yaml-language-server: $schema=../schemas/test.schema.json
# The test suite of example.yaml: `verdict test policies/` runs it; `--coverage` shows which
# rules and threshold boundaries the cases exercise.
policy: example.yaml
description: Each threshold just below, at and just above, and a reason for every decline.

profiles:
  good_applicant:
    credit_score: 700
    overdue_days: 0

cases:
  - name: a good applicant is approved
    base: good_applicant
    expect: {outcome: approved, matched: [approve], reasons: []}

  - name: overdue_days 29 is approved
    base: good_applicant
    facts: {overdue_days: 29}
    expect: {outcome: approved, not_matched: [overdue]}
  - name: overdue_days 30 (max_overdue_days) is still approved
    base: good_applicant
    facts: {overdue_days: 30}
    expect: {outcome: approved, not_matched: [overdue]}
  - name: overdue_days 31 is declined as overdue
    base: good_applicant
    facts: {overdue_days: 31}
    expect: {outcome: declined, matched: [overdue], reasons: [OVERDUE]}

  - name: credit_score 599 is declined as too low
    base: good_applicant
    facts: {credit_score: 599}
    expect: {outcome: declined, matched: [low-score], reasons: [LOW_CREDIT_SCORE]}
  - name: credit_score 600 (min_credit_score) is approved
    base: good_applicant
    facts: {credit_score: 600}
    expect: {outcome: approved, not_matched: [low-score]}
  - name: credit_score 601 is approved
    base: good_applicant
    facts: {credit_score: 601}
    expect: {outcome: approved, not_matched: [low-score]}

  - name: both reasons are given when both apply
    base: good_applicant
    facts: {credit_score: 550, overdue_days: 45}
    expect: {outcome: declined, matched: [overdue, low-score], reasons: [OVERDUE, LOW_CREDIT_SCORE]}
"""

# VS Code's YAML extension (yaml-language-server): which schema checks which file, for files
# without a modeline. Test suites are excluded from the policy schema, or both would apply.
VSCODE_SETTINGS = {
    "yaml.schemas": {
        f"./{SCHEMA_DIR}/policy.schema.json": ["policies/**/*.yaml", "policies/**/*.yml",
                                               "!policies/**/*.test.yaml", "!policies/**/*.test.yml"],
        f"./{SCHEMA_DIR}/test.schema.json": ["policies/**/*.test.yaml", "policies/**/*.test.yml"],
    },
}

PRE_COMMIT = """\
# pre-commit hooks: `pre-commit install` runs them before every
# commit, `pre-commit run --all-files` runs them now. verdict-validate checks the changed
# policies and test suites; verdict-test runs the suites with the coverage gate.
repos:
  - repo: {repo}
    rev: {rev}
    hooks:
      - id: verdict-validate
      - id: verdict-test
        args: [policies/, --min-coverage, "rules=100,boundaries=100"]
"""

WORKFLOW = """\
# Validate and test the policies on every push and pull request: findings annotate the pull
# request and go to code scanning (SARIF), test results to the job summary.
name: policies
on: [push, pull_request]
permissions:
  contents: read
  security-events: write   # the SARIF upload to code scanning
jobs:
  verdict:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: {action}@{rev}
        with:
          paths: policies/
          test-paths: policies/
          min-coverage: rules=100,boundaries=100
"""

_GITHUB_REPO = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?\Z")


def _home() -> tuple[str, str]:
    """verdict's repository URL and its GitHub `owner/name`, from `[project.urls]`."""
    from ..explain.sarif import project_urls

    urls = project_urls()
    url = urls.get("repository") or urls.get("source") or urls.get("homepage")
    match = _GITHUB_REPO.match(url or "")
    if match is None:
        raise InputError("cannot tell where verdict's repository is: [project.urls] of this installation "
                         "names no GitHub repository (reinstall verdict from its repository)")
    return url.rstrip("/"), f"{match.group(1)}/{match.group(2)}"


def _release_tag() -> str:
    """The tag of the running verdict's release (`v0.1.0`), which the hooks and the Action pin."""
    from ..explain.sarif import distribution_version

    return f"v{distribution_version()}"


def scaffold(root: Path) -> dict[Path, str]:
    """Every file `verdict init` writes into `root`, with its text."""
    repo, action = _home()
    rev = _release_tag()
    files = {
        root / POLICY_FILE: STARTER_POLICY,
        root / SUITE_FILE: STARTER_SUITE,
        **schema_files(root / SCHEMA_DIR),
        root / ".vscode" / "settings.json": json.dumps(VSCODE_SETTINGS, indent=2) + "\n",
        root / ".pre-commit-config.yaml": PRE_COMMIT.format(repo=repo, rev=rev),
        root / ".github" / "workflows" / "verdict.yml": WORKFLOW.format(action=action, rev=rev),
    }
    return files


@click.command("init")
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Replace files that exist already.")
def init_cmd(folder: str, force: bool) -> int:
    """Scaffold a policy repository in DIR (default: here): a starter policy and its tests,
    the schemas, editor settings, pre-commit hooks and a GitHub workflow."""
    from ..io.files import write_files

    root = Path(folder)
    files = scaffold(root)
    if not force:
        existing = [str(p) for p in files if p.exists() or p.is_symlink()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise InputError(f"{existing[0]} exists{more}; use --force to overwrite")
    write_files(files)
    click.echo(f"wrote {len(files)} files into {folder}: next, `verdict test {root / 'policies'}`", err=True)
    return EXIT_OK
