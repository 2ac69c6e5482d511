"""Message templates: the one grammar of `{name}` placeholders.

Validation reads a template with `template_names` (the names it uses, or a syntax problem);
rendering splits it once with `template_parts`; `pick_language` chooses the text of a
language map (messages, labels, remedies) for every renderer, the SQL form's included. `{{` and `}}` are literal braces; only bare
names are allowed (no attribute access, indexing or format specs), so rendering can never
run code.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ANY_FIELD = re.compile(r"\{([^{}]*)\}")
_FIELD = re.compile(r"\{\{|\}\}|\{(" + _NAME + r")\}")


def template_names(template: str) -> tuple[list[str], str | None]:
    """The `{name}` fields of a message template, and a syntax problem if any."""
    names: list[str] = []
    stripped = template.replace("{{", "").replace("}}", "")
    for m in _ANY_FIELD.finditer(stripped):
        names.append(m.group(1))  # `{ score }` is not a name: the renderer would print it as is
    rest = _ANY_FIELD.sub("", stripped)
    if "{" in rest or "}" in rest:
        return names, "unbalanced `{` or `}` (write `{{` or `}}` for a literal brace)"
    for n in names:
        if not re.fullmatch(_NAME, n):
            return names, f"`{{{n}}}` is not a plain name"
    return names, None


@lru_cache(maxsize=4096)
def template_parts(template: str) -> tuple:
    """A template as alternating literal text and placeholder names: (text, name, text, …),
    always odd-length, parsed once per distinct template (a batch renders the same few)."""
    out, text, pos = [], [], 0
    for m in _FIELD.finditer(template):
        text.append(template[pos:m.start()])
        if m.group(1) is None:  # `{{` or `}}`
            text.append(m.group(0)[0])
        else:
            out += ["".join(text), m.group(1)]
            text = []
        pos = m.end()
    text.append(template[pos:])
    return tuple(out + ["".join(text)])


def pick_language(texts: dict[str, str] | None, lang: str | None, policy) -> str | None:
    """The text in `lang` (or its primary subtag: `zh` for `zh-CN`), else the policy's
    language, else the first one given; None without texts."""
    if not texts:
        return None
    for tag in (lang, lang.split("-")[0] if lang else None, policy.language):
        if tag and tag in texts:
            return texts[tag]
    return next(iter(texts.values()))
