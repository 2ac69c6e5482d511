"""Deterministic fact records for the batch tests: per policy, boundary values of every
threshold, absent optional facts, and the awkward values (floats, big and negative numbers,
unicode) the byte-identity tests need; date facts as ISO text (as JSON and CSV give them)
around the dates they are compared with on `factgen.AS_OF` (pass `--as-of` for it); and
invalid records of every kind."""

from __future__ import annotations

import datetime
import json
import random

from factgen import AS_OF, boundary_points
from fuzz.records import valid_value

from engine.language.model import DATE, Policy


def valid_records(policy: Policy, n: int = 300, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        rec: dict = {}
        for name, spec in policy.facts.items():
            if not spec.required and rnd.random() < 0.15:
                continue
            if spec.type == "boolean":
                rec[name] = rnd.random() < 0.3
            elif spec.type == DATE:
                points = boundary_points(policy, name)
                day = (rnd.choice(points) if points and rnd.random() < 0.7
                       else AS_OF + datetime.timedelta(days=rnd.randint(-800, 800)))
                day = max(day, spec.minimum) if spec.minimum is not None else day
                day = min(day, spec.maximum) if spec.maximum is not None else day
                rec[name] = day.isoformat()
            elif spec.type == "string":
                rec[name] = rnd.choice(list(spec.enum)) if spec.enum else rnd.choice(["a", "其他", "é\u2028x", "q\"uote"])
            elif spec.type == "array":  # as the fuzzer draws them: within the length bounds, items near the rules'
                rec[name] = valid_value(rnd, policy, name, AS_OF)
            else:
                points = boundary_points(policy, name) or [0]
                lo = spec.minimum if spec.minimum is not None else -10 ** 6
                hi = spec.maximum if spec.maximum is not None else 10 ** 6
                if spec.type == "integer":
                    v = rnd.choice(points) if rnd.random() < 0.7 else rnd.randint(int(lo), int(min(hi, 10 ** 6)))
                    if rnd.random() < 0.1:
                        v = float(v)  # 720.0 for an integer fact
                else:
                    v = rnd.choice(points) if rnd.random() < 0.7 else round(rnd.uniform(lo, min(hi, 10 ** 6)), 3)
                    if rnd.random() < 0.1:
                        v = rnd.choice([1e-7 + max(lo, 0), float(max(lo, 0)), 123456.789]) if lo <= 123456.789 <= hi else v
                rec[name] = v
        out.append(rec)
    return out


def suite_records(policy_path: str, as_of: datetime.date = AS_OF) -> list[dict]:
    """The records of the cases of a policy's test suite (`<policy>.test.yaml`, if any) that
    decide on `as_of`, as JSON gives them (dates as ISO text): every rule's edges, which
    random records of a policy with many conditions rarely reach all together."""
    from pathlib import Path

    from engine.io.policies import check_policy_file, read_file
    from engine.suites import load as suites_load

    path = Path(policy_path).with_suffix(".test.yaml")
    if not path.exists():
        return []
    raw, _ = read_file(str(path))
    suite, diags = suites_load.load_suite(str(path), raw, check_policy_file)
    assert suite is not None, diags
    return [{k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in case.record.items()}
            for case in suite.cases if (case.as_of or as_of) == as_of and isinstance(case.record, dict)]


def with_ids(records: list[dict]) -> list[dict]:
    kinds = [lambda i: f"u{i}", lambda i: i, lambda i: -i * 1000003, lambda i: i + 0.5, lambda i: f"用户{i}"]
    return [{"uid": kinds[i % len(kinds)](i), **r} for i, r in enumerate(records)]


def jsonl(records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def invalid_lines(policy: Policy) -> list[str]:
    """Lines the native reader or check rejects, of every kind."""
    base = valid_records(policy, 1, seed=1)[0]
    ints = [n for n, s in policy.facts.items() if s.type == "integer"]
    nums = [n for n, s in policy.facts.items() if s.type == "number"]
    strs = [n for n, s in policy.facts.items() if s.type == "string" and s.enum]
    dates = [n for n, s in policy.facts.items() if s.type == DATE]
    required = [n for n, s in policy.facts.items() if s.required and not s.has_default]
    lines = []

    def put(**kv):
        r = dict(base)
        for k, v in kv.items():
            if v is _DROP:
                r.pop(k, None)
            else:
                r[k] = v
        return json.dumps(r, ensure_ascii=False)

    if ints:
        lines += [put(**{ints[0]: "720"}), put(**{ints[0]: 720.5}), put(**{ints[0]: True}),
                  put(**{ints[0]: 10 ** 30}), put(**{ints[0]: -10 ** 6})]
        spec = policy.facts[ints[0]]
        if spec.maximum is not None:
            lines.append(put(**{ints[0]: spec.maximum + 1}))
    if nums:
        lines += [put(**{nums[0]: "1.5"}), put(**{nums[0]: [1]}), put(**{nums[0]: 1e400})]
        lines.append(json.dumps(base)[:-1] + f', "{nums[0]}x": NaN}}')
    if strs:
        lines += [put(**{strs[0]: "nope"}), put(**{strs[0]: 7})]
        lines.append(json.dumps(base)[:-1] + ', "zz": "\\ud83c"}')
    if dates:
        d = dates[0]
        lines += [put(**{d: v}) for v in ("2023-02-29", "2026-02-30", "2026-13-01", "2026-1-05", "20261111",
                                          "2026-11-11T00:00:00", " 2026-11-11", "0000-01-01", "", "x",
                                          20261111, 2026.11, True, None, [2026, 11, 11])]
        spec = policy.facts[d]
        if spec.minimum is not None:
            lines.append(put(**{d: (spec.minimum - datetime.timedelta(days=1)).isoformat()}))
        if spec.maximum is not None:
            lines.append(put(**{d: (spec.maximum + datetime.timedelta(days=1)).isoformat()}))
    if required:
        lines.append(put(**{required[0]: _DROP}))
    lines += ["[1, 2]", "{not json", json.dumps(base)[:-1] + ', "a": 1, "a": 2}']
    return lines


_DROP = object()
