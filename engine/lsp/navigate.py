"""Hover, go to definition and find references, over the document index.

Hover on a name (declared or used) shows its declaration (a threshold's value and type, a
fact's type, range, enum, unit and description (a list's items and length), a derived
fact's expression, an outcome's labels, a reason's text, an output's type and default, a
rule's outcome) and every place it is used, by rule and line.
Positions in and out are 0-based LSP (line, UTF-16 character).
"""

from __future__ import annotations

from ..language.diagnostics import type_name
from ..language.values import literal
from .index import Index, Occurrence, Symbol


def occurrence_at(index: Index, line: int, unit: int) -> Occurrence | None:
    return index.at(line, index.lines.from_utf16(line, unit))


def _range_text(spec: dict) -> str | None:
    lo, hi = spec.get("minimum"), spec.get("maximum")
    if lo is None and hi is None:
        return None
    def end(v) -> str:
        return "" if v is None else v if isinstance(v, str) else literal(v)  # (a date fact's bound bare)
    return f"{end(lo)}..{end(hi)}"


def _flow(value) -> str:
    """A value as written in YAML's flow style, names unquoted: `{sub: [new_limit, limit]}`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return value if isinstance(value, str) and value.isidentifier() else literal(value)


def _text(value) -> str:
    """A text that may be one string or one per language."""
    if isinstance(value, dict):
        return "; ".join(f"{lang}: {text}" for lang, text in value.items())
    return str(value)


def _type_text(spec: dict) -> str:
    """A declaration's type; a list's with its items': `array of string (one of `cash`, …)`."""
    ftype = spec.get("type", "?")
    items = spec.get("items")
    if ftype != "array" or not isinstance(items, dict):
        return str(ftype)
    extra = []
    if isinstance(items.get("enum"), list):
        extra.append("one of " + ", ".join(f"`{v}`" for v in items["enum"]))
    rng = _range_text(items)
    if rng:
        extra.append(f"range {rng}")
    return f"array of {items.get('type', '?')}" + (" (" + ", ".join(extra) + ")" if extra else "")


def describe(sym: Symbol) -> list[str]:
    """The declaration of a symbol, as Markdown lines."""
    spec = sym.spec
    if sym.kind == "threshold":
        if isinstance(spec, list):
            return [f"**threshold** `{sym.name}` = `[{', '.join(literal(v) for v in spec)}]` (list)"]
        return [f"**threshold** `{sym.name}` = `{literal(spec)}` ({type_name(spec)})"]
    if not isinstance(spec, dict):
        spec = {}
    if sym.kind == "derived":
        return [f"**derived fact** `{sym.name}` = `{_flow(sym.spec)}`",
                "computed from the record's facts before any rule; missing when a fact it reads is"]
    if sym.kind == "fact":
        head = f"**fact** `{sym.name}`: {_type_text(spec)}"
        rng = _range_text(spec)
        extra = [f"range {rng}"] if rng else []
        if "min_items" in spec or "max_items" in spec:
            extra.append(f"length {spec.get('min_items', '')}..{spec.get('max_items', '')}")
        if "enum" in spec:
            extra.append("one of " + ", ".join(f"`{v}`" for v in spec["enum"]))
        if spec.get("unit"):
            extra.append(f"unit {spec['unit']}")
        if "default" in spec:
            extra.append(f"default `{literal(spec['default'])}`")
        if spec.get("required") is False:
            extra.append("optional")
        lines = [head + (" (" + ", ".join(extra) + ")" if extra else "")]
        if spec.get("description"):
            lines.append(str(spec["description"]))
        return lines
    if sym.kind == "outcome":
        head = f"**outcome** `{sym.name}`" + (" (adverse)" if spec.get("adverse") else "")
        return [head] + [_text(spec[k]) for k in ("label", "description") if spec.get(k)]
    if sym.kind == "reason":
        return [f"**reason** `{sym.name}`"] + ([_text(sym.spec)] if sym.spec else [])
    if sym.kind == "output":
        head = f"**output** `{sym.name}`: {_type_text(spec)}"
        if "default" in spec:
            # (a numeric output's string default is a name it reads; any other is a literal)
            numeric = spec.get("type") in ("integer", "number")
            extra = [f"default `{_flow(spec['default']) if numeric else literal(spec['default'])}`"]
            if spec.get("combine"):
                extra.append(f"combine {spec['combine']}")
            if isinstance(spec.get("round"), dict):
                extra.append(f"round to {_flow(spec['round'].get('to'))} {spec['round'].get('mode', 'half_even')}")
            rng = _range_text(spec)
            if rng:
                extra.append(f"range {rng}")
            head += " (" + ", ".join(extra) + ")"
        return [head] + ([str(spec["description"])] if spec.get("description") else [])
    if sym.kind == "rule":
        then = spec.get("then") if isinstance(spec.get("then"), dict) else {}
        effect = ", ".join(f"{k} `{then[k]}`" for k in ("outcome", "reason") if isinstance(then.get(k), str))
        head = f"**rule** `{sym.name}`" + (f": {effect}" if effect else "")
        return [head] + ([str(spec["description"])] if spec.get("description") else [])
    if sym.kind == "flag":
        raisers = ", ".join(f"`{o.rule}`" for o in sym.declarations if o.rule)
        return [f"**flag** `{sym.name}`" + (f", raised by {raisers}" if raisers else "")]
    return [f"**{sym.kind}** `{sym.name}`"]


def hover(index: Index, line: int, unit: int) -> dict | None:
    """LSP `Hover` (Markdown) for the name at a position, or None."""
    occ = occurrence_at(index, line, unit)
    if occ is None:
        return None
    sym = index.symbols[(occ.kind, occ.name)]
    if sym.declarations:
        parts = describe(sym)
        parts.append("declared at line " + ", ".join(str(d.span.line + 1) for d in sym.declarations))
    else:
        parts = [f"**{sym.kind}** `{sym.name}` is not declared"]
    if sym.uses:
        used = []
        for u in sym.uses:
            where = f"rule `{u.rule}`" if u.rule else "the policy"
            via = f", compared with `{u.fact}`" if u.fact else ""
            used.append(f"- line {u.span.line + 1}: {where}{via}")
        parts.append(f"used {len(sym.uses)} time{'s' if len(sym.uses) != 1 else ''}:\n" + "\n".join(used))
    else:
        parts.append("not used")
    return {"contents": {"kind": "markdown", "value": "\n\n".join(parts)},
            "range": index.lines.lsp_range(occ.span)}


def _location(index: Index, uri: str, occ: Occurrence) -> dict:
    return {"uri": uri, "range": index.lines.lsp_range(occ.span)}


def definition(index: Index, uri: str, line: int, unit: int) -> list[dict]:
    """The declaration(s) of the name at a position (a flag has one per raising rule)."""
    occ = occurrence_at(index, line, unit)
    if occ is None:
        return []
    return [_location(index, uri, d) for d in index.symbols[(occ.kind, occ.name)].declarations]


def references(index: Index, uri: str, line: int, unit: int, include_declaration: bool = True) -> list[dict]:
    """Every use of the name at a position, and its declarations when asked."""
    occ = occurrence_at(index, line, unit)
    if occ is None:
        return []
    sym = index.symbols[(occ.kind, occ.name)]
    found = (sym.declarations if include_declaration else []) + sym.uses
    return [_location(index, uri, o) for o in sorted(found, key=lambda o: o.span)]
