"""From policy bytes to a validated Policy, and the checks that span several policies.

Pure: no file system here. Reading a path and walking folders is `engine.io.policies`,
which calls these functions with the bytes it read.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Callable, Iterable

from .diagnostics import ERROR, Diagnostic
from .model import Policy
from .source import load_bytes
from .validate import validate
from ..errors import PolicyError

# A policy's attached files (decision tables' CSV rows): the path as the policy writes it
# (relative to the policy) -> the file's bytes, or OSError saying why not.
Reader = Callable[[str], bytes]

POLICY_SUFFIXES = (".yaml", ".yml")


def check_policy_bytes(raw: bytes, name: str, read: Reader | None = None) -> tuple[Policy | None, list[Diagnostic]]:
    """Load and validate one policy from its bytes (`name` locates the diagnostics, usually
    the path it was read from); never raises for bad content. `read` gives the bytes of the
    files the policy attaches (`rows: {csv: tiers.csv}`); without it such a policy is a
    located error, and a policy without them never calls it. The digest covers the policy's
    bytes and, in order, every attached file's path and bytes."""
    doc, diags = load_bytes(raw, name)
    if doc is None:
        return None, diags
    attached: list[tuple[str, bytes]] = []

    def recording(path: str) -> bytes:
        data = read(path)
        attached.append((path, data))
        return data

    policy, diags = validate(doc, recording if read is not None else None)
    if policy is not None and attached:
        policy = replace(policy, digest=digest(doc.text, attached))
    return policy, diags


def digest(text: str, attached: list[tuple[str, bytes]] = ()) -> str:
    """The policy's digest: of its text alone (as validation computes it) when it attaches
    no file, else of its text and each attached file's path and bytes, length-prefixed so
    no two different sets of files hash alike."""
    h = hashlib.sha256(text.encode("utf-8"))
    for path, data in attached:
        p = path.encode("utf-8")
        h.update(b"\0%d:%s%d:" % (len(p), p, len(data)))
        h.update(data)
    return "sha256:" + h.hexdigest()


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
