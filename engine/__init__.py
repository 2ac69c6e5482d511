"""verdict: declarative consumer-credit policies that explain every decision.

The public API is re-exported lazily so that `verdict validate` does not pay for the
compiler and evaluator at start-up.
"""

__all__ = ["load_policy", "load_policy_text", "CompiledPolicy", "PolicyError", "FactsError"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
