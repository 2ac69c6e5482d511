"""Escaping for the CI formats: XML (JUnit), GitHub workflow commands, Markdown tables.

XML output is always well-formed: what XML 1.0 cannot represent is replaced visibly.

One copy shared by every renderer of those formats: the diagnostics reports
(`explain.report`) and the test-suite reports (`suites.render`).
"""

from __future__ import annotations

import re

# Characters XML 1.0 forbids anywhere, even as character references (its `Char`
# production): most C0 controls, lone surrogates, U+FFFE and U+FFFF. One in a message
# (a control character quoted from a broken policy) would make every parser reject the
# whole report, so it is written out visibly instead: `\x01`, `\ud800`.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Own XML escaping: xml.sax.saxutils imports urllib.request, which cost `verdict validate`
# about 40 ms of start-up for a format most runs never use.
def xml_escape(text: str) -> str:
    """Text content of an XML element; characters XML cannot carry are written visibly."""
    text = _XML_FORBIDDEN.sub(_xml_visible, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(text: str) -> str:
    """A double-quoted XML attribute value; whitespace other than spaces kept as character
    references, so a parser reads back exactly `text`."""
    text = xml_escape(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;") \
        .replace("\t", "&#9;")
    return f'"{text}"'


def gh_escape(text: str, prop: bool = False) -> str:
    """Data (or, with `prop`, a property value) of a GitHub Actions workflow command: a
    newline or `%` in the data, and also `:` or `,` in a property, would end it early."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def md_escape(text: str) -> str:
    """Text in a Markdown table cell or list item, shown as written: no column break, no
    HTML tag or entity, no inline link or image (`](` is how one opens its target). A
    user's value (a free string fact) reaches explanations and reports through here: a
    renderer that passes HTML through must not run it."""
    return _MD_ACTIVE.sub(_md_quote, text)


def _md_quote(m: re.Match) -> str:
    c = m.group()
    return {"<": "&lt;", "&": "&amp;", "](": "]\\("}.get(c) or "\\" + c


# What would make a value markup or hide part of it: a backslash (an escape), a column
# break, an inline link's or image's target (`](`), what opens a tag or an autolink (`<`
# then a letter, `/`, `!`, `?`) and an entity (`&name;`, `&#60;`). `score 100 < 500` and
# `R&D` stay as written; so do backticks and asterisks, which our own texts use.
_MD_ACTIVE = re.compile(r"[\\|]|\]\(|<(?=[A-Za-z/!?])|&(?=#?\w+;)")
