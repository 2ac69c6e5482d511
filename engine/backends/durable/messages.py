"""The messages: how a user's facts and earlier conclusions are written as one durable fact.

Every field has a synthetic name (`f3` fact, `p3` fact 3 is present, `t3` date fact 3
minus the evaluation date in days, `q5` a condition the host computed, `r7` rule matched,
`g0` flag, `o` outcome). The fact
encoders check types (durable compares mixed types as strings) and durable's numeric
limits; `writer` generates, per ruleset, the function writing the fact fields of its
message, with the common types inlined. A date is written as its day number
(`date.toordinal()`), an int durable compares exactly (see `limits.DATE_MAX`).
"""

from __future__ import annotations

import datetime
import json
import math

from ...errors import DurableLimitError
from ...language.values import clip, int_text, lone_surrogate
from .limits import ID_FIELD, INT_MAX, INT_MIN, SID
from .normal import format_float


def encoders(comp, fields: set[str]) -> tuple:
    """(prefix, kind, key, encode, fast) for every field of `fields` (what a ruleset's
    message carries); `comp` is the policy's `compiler.Compiler`, which named the fields.
    `encode` and `fast` (see `fact_encoder`) for facts only: the conclusion fields are
    written by `host.DurableBackend._fragment`."""
    by_field = {}
    for name, field in comp.fact_field.items():
        by_field[field] = ("fact", name, *fact_encoder(comp, name))
        by_field[comp.presence_field[name]] = ("presence", name, None, None)
    for name, field in comp.offset_field.items():
        by_field[field] = ("offset", name, lambda v, name=name: _encode_date(name, v), "date")
    for leaf, field in comp.leaf_field.items():
        by_field[field] = ("leaf", leaf, None, None)
    for i in range(len(comp.policy.rules)):
        by_field[f"r{i}"] = ("rule", i, None, None)
    for flag, field in comp.flag_field.items():
        by_field[field] = ("flag", flag, None, None)
    by_field["o"] = ("outcome", None, None, None)
    return tuple((',"%s":' % field, *by_field[field])
                 for field in sorted(fields - {ID_FIELD},
                                     key=lambda f: (f[0], int(f[1:]) if f[1:].isdigit() else 0)))


def fact_encoder(comp, name: str):
    """(encode, fast): the checking encoder of one fact, and which common case the
    generated message writer (`writer`) may inline before calling it ("int",
    "number", "bool", "date", or None)."""
    spec = comp.policy.facts[name]
    if spec.type == "date":
        enc, fast = (lambda v: _encode_date(name, v)), "date"
    elif spec.type == "integer":
        enc, fast = (lambda v: _encode_int(name, v)), "int"
    elif spec.type == "number":
        unsafe = comp.float_unsafe.get(name)
        # with an unsafe threshold every float must reach the encoder (which refuses it)
        enc, fast = (lambda v: _encode_number(name, v, unsafe)), ("number" if unsafe is None else "int")
    elif spec.type == "string":
        table = {v: json.dumps(v, ensure_ascii=False) for v in spec.enum or ()}

        def enc(v):
            text = table.get(v) if isinstance(v, str) else None
            return text if text is not None else _encode_string(name, v)

        fast = None
    else:
        enc, fast = (lambda v: _encode_bool(name, v)), "bool"
    return enc, fast


# -- fact encoders: type-checked (durable compares mixed types as strings) -------------------

def _encode_int(name: str, v) -> str:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"fact `{name}` must be an integer, got {type(v).__name__} {v!r} (normalize facts first)")
    if not INT_MIN <= v <= INT_MAX:
        raise DurableLimitError(f"fact `{name}` = {clip(int_text(v))} is beyond ±(2^63-1); durable-rules would "
                                "saturate it")
    return str(v)


def _encode_number(name: str, v, unsafe) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"fact `{name}` must be a number, got {type(v).__name__} {v!r} (normalize facts first)")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"fact `{name}` is {v}; only finite numbers are allowed")
        if unsafe is not None:
            raise DurableLimitError(
                f"fact `{name}` = {v!r} would be compared with threshold {unsafe!r}, an integer durable-rules "
                f"can only compare with a fraction after rounding it to a double")
        return format_float(v)
    return _encode_int(name, v)  # ints compare exactly with every threshold form we emit


def _encode_string(name: str, v) -> str:
    if not isinstance(v, str):
        raise TypeError(f"fact `{name}` must be a string, got {type(v).__name__} {v!r} (normalize facts first)")
    if lone_surrogate(v):  # durable-rules takes UTF-8 C strings: `pyAssertFact Invalid argument`
        raise DurableLimitError(f"fact `{name}` holds half of a surrogate pair, which durable-rules cannot take")
    return json.dumps(v, ensure_ascii=False)


def _encode_date(name: str, v) -> str:
    """Reached only for a value that is not exactly a `datetime.date` (the writer inlines
    those): a `datetime.datetime` is a `date` subclass whose time of day normalization
    should have dropped, anything else is not a date at all."""
    raise TypeError(f"fact `{name}` must be a date (datetime.date), got {type(v).__name__} {v!r} "
                    "(normalize facts first)")


def _encode_bool(name: str, v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    raise TypeError(f"fact `{name}` must be a boolean, got {type(v).__name__} {v!r} (normalize facts first)")



def writer(name: str, encoders: tuple):
    """Generate the function that writes the fact fields of ruleset `name`'s message: the JSON of
    normalized facts, with the common types inlined and anything unusual handed to the
    ruleset's checking `encoders` (which raise for a value durable would mis-compare).
    `write(facts, n, asof)`: `asof` is the evaluation date's day number, read only by the
    offset fields (`t{k}`), or None when no ruleset has one."""
    env = {"INT_MIN": INT_MIN, "INT_MAX": INT_MAX, "date": datetime.date}
    lines = ["def write(facts, n, asof):", "    get = facts.get",
             '    out = \'{"sid":"%s","%s":\' + str(n)' % (SID, ID_FIELD)]
    for k, (prefix, kind, key, enc, fast) in enumerate(encoders):
        if kind == "presence":  # always written: absence is a value here
            lines.append(f"    out += {prefix + 'false'!r} if get({key!r}) is None else {prefix + 'true'!r}")
            continue
        if kind not in ("fact", "offset"):
            continue
        env[f"e{k}"] = enc
        lines += [f"    v = get({key!r})", "    if v is not None:"]
        if kind == "offset":  # exact: both day numbers are ints (see compiler.date_compare)
            value = f"str(v.toordinal() - asof) if v.__class__ is date else e{k}(v)"
        elif fast == "date":
            value = f"str(v.toordinal()) if v.__class__ is date else e{k}(v)"
        elif fast == "int":
            value = f"str(v) if v.__class__ is int and INT_MIN <= v <= INT_MAX else e{k}(v)"
        elif fast == "number":
            lines += ["        if v.__class__ is float:",
                      "            r = repr(v)",  # inf and nan contain an n; exponents an e
                      f"            r = r if 'e' not in r and 'n' not in r else e{k}(v)",
                      "        else:",
                      f"            r = str(v) if v.__class__ is int and INT_MIN <= v <= INT_MAX else e{k}(v)"]
            value = "r"
        elif fast == "bool":
            value = f"'true' if v is True else 'false' if v is False else e{k}(v)"
        else:
            value = f"e{k}(v)"
        lines.append(f"        out += {prefix!r} + ({value})")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<durable writer {name}>", "exec"), env)  # noqa: S102 - our own source
    return env["write"]
