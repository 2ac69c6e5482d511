"""String operators in the fact space: `starts_with`, `ends_with` and `contains` on a free string fact.

The strings the policies do not name are no longer one cell once a policy tests their
prefixes, suffixes or infixes: they split by which of those tests hold. For every
combination of the tests (each required or forbidden) this module decides exactly whether
some string realizes it, and if so gives one:

    W = P + f + I1 + f + … + In + f + S

where P is the longest required prefix, S the longest required suffix, I1…In the required
infixes, and f a character no pattern contains. Since f is in no pattern, a pattern occurs
in W only inside one piece (P, an Ij, S), and W starts (ends) with a pattern only if P (S)
does. So W realizes the combination unless a required test forces a forbidden one — the
required prefixes disagree (neither extends the other), likewise the suffixes, a forbidden
prefix is a prefix of P (suffix of S), or a forbidden infix lies inside a piece — and in
each of those cases every string with the required tests has the forbidden one too: no
string realizes it. The decision is exact; each realizable combination is one cell
(`Cell("pattern")`), its witness W (made different from every named constant).
"""

from __future__ import annotations

import itertools

from ..errors import Incomplete
from ..language.model import Comparison, Policy, STRING_OPS, string_test

#: Distinct string tests per fact beyond which the 2^n combinations are not enumerated.
MAX_PATTERNS = 10
FILLERS = "x_~#-0"


def is_string_op(policy: Policy, leaf: Comparison) -> bool:
    spec = policy.facts.get(leaf.subject) if leaf.kind == "fact" else None
    return spec is not None and spec.type == "string" and leaf.op in STRING_OPS and leaf.operand.fact is None


def patterns(policies, name: str) -> list[tuple[str, str]]:
    """The (op, text) string tests of fact `name`, in order of first appearance."""
    out: list[tuple[str, str]] = []
    for p in policies:
        for r in p.rules:
            for leaf in r.leaves:
                if leaf.subject == name and is_string_op(p, leaf):
                    key = (leaf.op, leaf.operand.value)
                    if key not in out:
                        out.append(key)
    return out


def holds(op: str, text: str, s: str) -> bool:
    """Whether `s` passes the string test `op text` (`model.string_test`, the one meaning)."""
    return string_test(op, s, text)


def _witness(req: list[tuple[str, str]], forb: list[tuple[str, str]], fill: str) -> str | None:
    pre = max((t for o, t in req if o == "starts_with"), key=len, default="")
    suf = max((t for o, t in req if o == "ends_with"), key=len, default="")
    if not all(pre.startswith(t) for o, t in req if o == "starts_with"):
        return None
    if not all(suf.endswith(t) for o, t in req if o == "ends_with"):
        return None
    infixes = [t for o, t in req if o == "contains"]
    pieces = [pre, *infixes, suf]
    for o, t in forb:
        if o == "starts_with" and pre.startswith(t):
            return None
        if o == "ends_with" and suf.endswith(t):
            return None
        if o == "contains" and any(t in piece for piece in pieces):
            return None
    return pre + fill + fill.join(infixes) + (fill if infixes else "") + suf


def pattern_cells(tests: list[tuple[str, str]], named: set[str]) -> list[tuple[tuple[bool, ...], str]]:
    """Every realizable combination of the tests by strings outside `named`, with a witness."""
    if len(tests) > MAX_PATTERNS:
        raise Incomplete(f"a string fact has {len(tests)} string tests (more than {MAX_PATTERNS} are not analysed)")
    used = "".join(t for _, t in tests)
    fill = next((c for c in FILLERS if c not in used), None)
    if fill is None:
        fill = next(chr(c) for c in range(0x2190, 0x2200) if chr(c) not in used)
    out = []
    for vec in itertools.product((False, True), repeat=len(tests)):
        req = [t for t, v in zip(tests, vec) if v]
        forb = [t for t, v in zip(tests, vec) if not v]
        w = _witness(req, forb, fill)
        if w is None:
            continue
        # Another string of the same combination when W is a named constant: more fillers
        # in the middle change no test (f is in no pattern).
        k = 1
        while w in named:
            w = _witness(req, forb, fill * (k + 1))
            k += 1
        assert tuple(holds(o, t, w) for o, t in tests) == vec  # the construction's promise
        out.append((vec, w))
    return out


def vector(tests: list[tuple[str, str]], s: str) -> tuple[bool, ...]:
    return tuple(holds(o, t, s) for o, t in tests)
