"""Message templates: the one grammar of `{name}` and `{name:SPEC}` placeholders.

Validation reads a template with `template_names` (the placeholders it uses, or a syntax
problem); rendering splits it once with `template_parts`; `pick_language` chooses the text
of a language map (messages, labels, remedies) for every renderer, the SQL form's included.
`{{` and `}}` are literal braces. A placeholder is a bare name, optionally with one format
of a small safe set (`FORMATS`: thousands separators, fixed decimals); nothing else of
Python's format mini-language and no attribute access or indexing, so rendering can never
run code. `values.format_field` renders one placeholder's value with its format.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# The safe formats: `,` (thousands separators), `.Nf` (N fixed decimals), `,.Nf` (both).
_SPEC = r",|,?\.[0-6]f"
FORMATS = "`,` `,.Nf` `.Nf` (N from 0 to 6)"
_ANY_FIELD = re.compile(r"\{([^{}]*)\}")
_FIELD = re.compile(r"\{\{|\}\}|\{(" + _NAME + r")(?::(" + _SPEC + r"))?\}")


class Field(str):
    """A placeholder: the name it reads (the string itself, so code that treats the odd
    items of `template_parts` as names keeps working) and its format `spec` ("" when the
    placeholder has none)."""

    spec: str

    def __new__(cls, name: str, spec: str = "") -> "Field":
        field = super().__new__(cls, name)
        field.spec = spec or ""
        return field

    @property
    def name(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.spec!r})"

    def __reduce__(self):  # picklable (batch workers receive parsed templates)
        return (Field, (self.name, self.spec))


def template_names(template: str) -> tuple[list[Field], str | None]:
    """The placeholders of a message template (as `Field`s), and a syntax problem if any."""
    names: list[Field] = []
    stripped = template.replace("{{", "").replace("}}", "")
    raw = [m.group(1) for m in _ANY_FIELD.finditer(stripped)]
    for text in raw:
        name, _, spec = text.partition(":")
        names.append(Field(name, spec))  # `{ score }` is not a name: the renderer would print it as is
    rest = _ANY_FIELD.sub("", stripped)
    if "{" in rest or "}" in rest:
        return names, "unbalanced `{` or `}` (write `{{` or `}}` for a literal brace)"
    for text, n in zip(raw, names):
        if not re.fullmatch(_NAME, n):
            return names, f"`{{{text}}}` is not a plain name"
        if ":" in text and not re.fullmatch(_SPEC, n.spec):
            return names, f"`{{{text}}}` has format `{n.spec}`; the formats are {FORMATS}"
    return names, None


@lru_cache(maxsize=4096)
def template_parts(template: str) -> tuple:
    """A template as alternating literal text and placeholders: (text, Field, text, …),
    always odd-length, parsed once per distinct template (a batch renders the same few)."""
    out, text, pos = [], [], 0
    for m in _FIELD.finditer(template):
        text.append(template[pos:m.start()])
        if m.group(1) is None:  # `{{` or `}}`
            text.append(m.group(0)[0])
        else:
            out += ["".join(text), Field(m.group(1), m.group(2) or "")]
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
