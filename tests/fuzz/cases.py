"""Cases: one unit of fuzzing work, a pure function of (seed, index).

- policy case: a generated policy is loaded and validated, its diagnostics checked for a
  location and rendered as text (every case); the static analysis (1 in `analyse_every`
  cases) and every report format (1 in 7) as `verdict validate` does; the valid policies
  of a share of the cases (`compile_of` in `compile_every`, by index) are compiled, built
  on the durable backend, and decide `records` fuzzed records on both backends.
- record case: one fuzzed record decided on both backends by one of a fixed set of
  policies (the examples, and valid built policies), compiled once per worker process.

A case returns its findings; counts accumulate in the oracle's Counter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .oracle import PolicyOracle
from .policies import build_policy, examples, number_grid, policy_case
from .records import as_of_for, fuzz_record


@dataclass(frozen=True)
class Config:
    records: int = 10  # fuzzed records per compiled policy
    compile_every: int = 1  # compile the valid policies of `compile_of` in N cases
    compile_of: int = 1  # (index % compile_every < compile_of; 1 of 1: every valid policy)
    analyse_every: int = 1  # the static analysis of the valid policies of 1 in N cases
    durable: bool = True
    render_every: int = 4  # render (JSON, text, zh) 1 in N decided records
    counterfactuals_every: int = 16  # and with counterfactuals 1 in N of those
    api_check_every: int = 10  # also load 1 in N valid policies through load_policy_text


def run_policy_case(oracle: PolicyOracle, seed: int, index: int, cfg: Config) -> list:
    raw, _label = policy_case(seed, index)
    case = f"policy:{seed}:{index}"
    findings: list = []
    # every sample is by the case index, never by a per-worker counter: a case must not
    # depend on where a worker was recycled or which worker ran it
    policy = oracle.validate(raw, findings, case, all_formats=index % 7 == 0,
                             analyse=index % cfg.analyse_every == 0)
    if policy is None or findings:
        return findings
    if index % cfg.compile_every >= cfg.compile_of:
        return findings
    cp, durable = oracle.compile(policy, raw, findings, case, durable=cfg.durable,
                                 api_check=index % (cfg.api_check_every * cfg.compile_every) == 0)
    if cp is None:
        return findings
    decided_both = oracle.counts["records_durable"]
    rng = random.Random(f"records:{seed}:{index}")
    # one evaluation date per case, for a policy that uses time (its own stream: the records
    # of policies that do not are the same as before dates existed)
    timed = cp.policy.uses_time
    as_of = as_of_for(random.Random(f"as_of:{seed}:{index}")) if timed else None
    for k in range(cfg.records):
        render = k % cfg.render_every == 0
        record, valid = fuzz_record(rng, cp.policy, with_validity=True, as_of=as_of)
        # counterfactuals verify themselves (and, with time, search waiting): more of them
        every = cfg.counterfactuals_every // 4 if timed else cfg.counterfactuals_every
        oracle.record(cp, record, findings, durable=durable, render=render,
                      counterfactuals=render and k % max(1, every) == 0, raw=raw, case=case,
                      valid=valid, as_of=as_of)
        if len(findings) > 20:  # one broken policy need not fill the findings folder
            break
    if durable and oracle.counts["records_durable"] > decided_both:
        oracle.counts["policies_both"] += 1  # compiled, and decided records on both backends
    return findings


# The fixed policies record cases use: the examples, the first valid built policies, and
# built policies whose integers all sit where int64 and doubles run out (2^53, 2^63).
BASE_BUILT = 24
BASE_EDGE = 8
BASE_V2 = 12  # built with the v2 constructs (dates, presence, computed outputs)


def base_policy_texts() -> list[str]:
    texts = [t for _, t in examples()]
    from engine.language.source import load_text
    from engine.language.validate import validate

    i = 0
    while len(texts) < len(examples()) + BASE_BUILT + BASE_EDGE + BASE_V2:
        edge = len(examples()) + BASE_BUILT <= len(texts) < len(examples()) + BASE_BUILT + BASE_EDGE
        v2 = len(texts) >= len(examples()) + BASE_BUILT + BASE_EDGE
        text = build_policy(random.Random(f"base:{i}"), edge=edge, v2=v2)
        i += 1
        doc, _ = load_text(text, "base.yaml")
        if doc is not None and validate(doc)[0] is not None:
            texts.append(text)
    return texts


class RecordCases:
    """Per worker: the base policies, compiled on first use."""

    def __init__(self, oracle: PolicyOracle, cfg: Config):
        self.oracle = oracle
        self.cfg = cfg
        self.texts = base_policy_texts()
        self.compiled: dict[int, tuple] = {}

    def run(self, seed: int, index: int) -> list:
        rng = random.Random(f"record:{seed}:{index}")
        k = rng.randrange(len(self.texts))
        raw = self.texts[k].encode("utf-8")
        findings: list = []
        if k not in self.compiled:
            from engine.language.source import load_text
            from engine.language.validate import validate

            policy = validate(load_text(self.texts[k], "base.yaml")[0])[0]
            # a throwaway Counter: the base policies are not part of the policy volumes
            self.compiled[k] = PolicyOracle(analyse_valid=False).compile(policy, raw, findings, f"base:{k}",
                                                                         durable=self.cfg.durable)
        cp, durable = self.compiled[k]
        if cp is None:
            return findings
        render = index % (self.cfg.render_every * 4) == 0
        as_of = as_of_for(random.Random(f"as_of:record:{seed}:{index}")) if cp.policy.uses_time else None
        record, valid = fuzz_record(rng, cp.policy, with_validity=True, as_of=as_of)
        self.oracle.record(cp, record, findings, durable=durable, render=render, counterfactuals=False, raw=raw,
                           case=f"record:{seed}:{index}", valid=valid, as_of=as_of)
        return findings


def grid_case(index: int) -> tuple[str, list, object]:
    """(policy text, records, as_of) of grid case `index`: `policies.number_grid()`, then
    `policies_v2.date_grid()`."""
    numbers = number_grid()
    if index < len(numbers):
        return (*numbers[index], None)
    from .policies_v2 import date_grid

    return date_grid()[index - len(numbers)]


def grid_size() -> int:
    from .policies_v2 import date_grid

    return len(number_grid()) + len(date_grid())


def run_grid_case(oracle: PolicyOracle, index: int) -> list:
    """Case `index` of the grids (`grid_case`): one policy, its records on both backends."""
    text, records, as_of = grid_case(index)
    raw = text.encode("utf-8")
    findings: list = []
    case = f"grid:{index}"
    policy = oracle.validate(raw, findings, case)
    if policy is None:
        return findings
    cp, durable = oracle.compile(policy, raw, findings, case)
    if cp is not None:
        for record in records:
            oracle.record(cp, record, findings, durable=durable, render=False, raw=raw, case=case, valid=True,
                          as_of=as_of)
    return findings
