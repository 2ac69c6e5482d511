"""verdict: declarative consumer-credit policies that explain every decision.

The public API is re-exported lazily so that `verdict validate` does not pay for the
compiler and evaluator at start-up. The exceptions are those of `engine.errors`.
"""

_API = ("load_policy", "load_policy_text", "CompiledPolicy")
_ERRORS = ("VerdictError", "PolicyError", "FactsError", "BackendError", "InternalError")
__all__ = [*_API, *_ERRORS]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(name)
