"""Every evaluation path agrees on every example policy: the generated fast path, the
generic path, the traced path, the reference tree-walker and (when installed) durable-rules."""

from __future__ import annotations

import glob

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile import compile_policy
from engine.evaluate import evaluate, slow_decide
from engine.explain.render import to_json
from engine.io.policies import load_policy
from engine.runtime.semantics import reference_matches

from factgen import AS_OF, records

POLICIES = sorted(p for p in glob.glob("policies/*.yaml") if not p.endswith(".test.yaml"))
_CACHE: dict = {}


def ruleset(path):
    if path not in _CACHE:
        _CACHE[path] = compile_policy(load_policy(path))
    return _CACHE[path]


def _durable_available() -> bool:
    try:
        import durable.engine  # noqa: F401
        import engine.backends.durable  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.parametrize("path", POLICIES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_paths_agree(path, data):
    rs = ruleset(path)
    record = data.draw(records(rs.policy))
    fast = evaluate(rs, record, trace=False, as_of=AS_OF)
    assert fast == slow_decide(rs, record, as_of=AS_OF)
    traced = evaluate(rs, record, trace=True, as_of=AS_OF)
    assert traced == slow_decide(rs, record, trace=True, as_of=AS_OF)  # generated decide_trace vs generic
    assert traced.matched == fast.matched == reference_matches(rs.policy, traced.facts, as_of=AS_OF)
    assert to_json(traced, trace=False) == to_json(fast)


@pytest.mark.skipif(not _durable_available(), reason="durable-rules backend not importable here")
@pytest.mark.parametrize("path", POLICIES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_durable_agrees_with_native(path, data):
    rs = ruleset(path)
    record = data.draw(records(rs.policy))
    native = evaluate(rs, record, trace=True, as_of=AS_OF)
    durable = evaluate(rs, record, trace=True, backend="durable", as_of=AS_OF)
    assert to_json(native) == to_json(durable)
    # The no-trace durable path (validated by the generated guards) gives the same decision.
    assert evaluate(rs, record, trace=False, backend="durable", as_of=AS_OF) == \
        slow_decide(rs, record, backend="durable", as_of=AS_OF)
