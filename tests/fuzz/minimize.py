"""Shrink a failing input to the smallest one that fails the same way, for the corpus.

`reproduce(policy_bytes, record)` replays one input through the oracle (validate, compile,
decide the record on both backends, render) and returns the findings; `same_failure`
compares two findings by kind, stage and exception type (not by line numbers, which move
while the input shrinks). `minimize` deletes parsed YAML entries (dict keys, list items)
and then whole lines, then record keys, while the failure stays the same. Bounded, and run
in the process that calls it: never minimize a hang this way.
"""

from __future__ import annotations

import datetime

from collections import Counter

import yaml

from .oracle import Finding, PolicyOracle, from_jsonable

_DUMP = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def reproduce(raw: bytes, record=None, *, durable: bool = True, as_of=None) -> list[Finding]:
    oracle = PolicyOracle(Counter())
    findings: list[Finding] = []
    policy = oracle.validate(raw, findings)
    if policy is None or findings:
        return findings
    cp, usable = oracle.compile(policy, raw, findings, durable=durable, api_check=True)
    if cp is not None and record is not None:
        oracle.record(cp, record, findings, durable=usable and durable, render=True, counterfactuals=True, raw=raw,
                      as_of=as_of)
    return findings


def _key(f: Finding) -> tuple:
    return f.kind, f.stage, f.signature.split(" at ")[0]


def same_failure(target: Finding, findings: list[Finding]) -> bool:
    return any(_key(f) == _key(target) for f in findings)


def _dump(data) -> bytes:
    return yaml.dump(data, Dumper=_DUMP, allow_unicode=True, sort_keys=False, width=4096).encode("utf-8",
                                                                                                  "surrogatepass")


def _paths(node, prefix=()):
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for k, v in list(items):
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def minimize(target: Finding, raw: bytes, record=None, *, budget: int = 600, as_of=None) -> tuple[bytes, object]:
    """The smallest (policy bytes, record) found that still fails like `target`."""
    tries = 0

    def fails(candidate: bytes, rec) -> bool:
        nonlocal tries
        tries += 1
        try:
            return same_failure(target, reproduce(candidate, rec, as_of=as_of))
        except Exception:  # noqa: BLE001 - a crash of the oracle itself is not the same failure
            return False

    # 1. structurally, when the text is plain YAML: drop entries, deepest last
    try:
        data = yaml.safe_load(raw)
        structural = isinstance(data, dict) and fails(_dump(data), record)
    except Exception:  # noqa: BLE001 - not plain YAML (the failure may be in the syntax)
        structural = False
    if structural:
        raw = _dump(data)
        changed = True
        while changed and tries < budget:
            changed = False
            for path in _paths(data):
                if tries >= budget:
                    break
                parent = data
                try:
                    for k in path[:-1]:
                        parent = parent[k]
                    before = list(parent.items()) if isinstance(parent, dict) else list(parent)
                    del parent[path[-1]]
                except (KeyError, IndexError, TypeError):
                    continue
                candidate = _dump(data)
                if fails(candidate, record):
                    raw, changed = candidate, True
                    break
                if isinstance(parent, dict):  # put it back, in its place
                    parent.clear()
                    parent.update(before)
                else:
                    parent[:] = before
    # 2. by lines
    lines = raw.split(b"\n")
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and tries < budget:
        i = 0
        shrunk = False
        while i < len(lines) and tries < budget:
            candidate = lines[:i] + lines[i + chunk:]
            if candidate and fails(b"\n".join(candidate), record):
                lines, shrunk = candidate, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    raw = b"\n".join(lines)
    # 3. the record's keys
    if isinstance(record, dict):
        for k in list(record):
            if tries >= budget:
                break
            smaller = {kk: v for kk, v in record.items() if kk != k}
            if fails(raw, smaller):
                record = smaller
    return raw, record


def minimize_finding(f: Finding, *, budget: int = 600) -> tuple[bytes, object]:
    raw = bytes.fromhex(f.policy_hex) if f.policy_hex else (f.policy or "").encode("utf-8", "surrogatepass")
    record = from_jsonable(f.record) if f.record is not None else None
    as_of = datetime.date.fromisoformat(f.as_of) if f.as_of else None
    return minimize(f, raw, record, budget=budget, as_of=as_of)
