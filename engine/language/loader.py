"""From policy bytes to a validated Policy, and the checks that span several policies.

Pure: no file system here. Reading a path and walking folders is `engine.io.policies`,
which calls these functions with the bytes it read.
"""

from __future__ import annotations

from typing import Iterable

from .diagnostics import ERROR, Diagnostic
from .model import Policy
from .source import load_bytes
from .validate import validate
from ..errors import PolicyError

POLICY_SUFFIXES = (".yaml", ".yml")


def check_policy_bytes(raw: bytes, name: str) -> tuple[Policy | None, list[Diagnostic]]:
    """Load and validate one policy from its bytes (`name` locates the diagnostics, usually
    the path it was read from); never raises for bad content."""
    doc, diags = load_bytes(raw, name)
    if doc is None:
        return None, diags
    return validate(doc)


def require_policy(policy: Policy | None, diags: list[Diagnostic]) -> Policy:
    """The policy of a `check_policy_*` answer, or PolicyError with its errors (every
    diagnostic when, unusually, none is an error)."""
    if policy is None:
        raise PolicyError([d for d in diags if d.severity == ERROR] or diags)
    return policy


def check_policy_ids(policies: Iterable[Policy]) -> list[Diagnostic]:
    """One `policy-duplicate-id` error for each policy whose id an earlier one already
    uses (policies in the order they were read), located at its `policy:` key and naming
    the file of the first. Ids name policies in decisions, test suites and logs, so two
    files of one project must not share one."""
    first: dict[str, Policy] = {}
    out: list[Diagnostic] = []
    for policy in policies:
        if policy.id not in first:
            first[policy.id] = policy
            continue
        loc = policy.extras["id_loc"]
        out.append(Diagnostic("policy-duplicate-id", f"policy id `{policy.id}` is also used by "
                              f"{first[policy.id].path}", ERROR, loc.file, loc.line, loc.column, "/policy"))
    return out
