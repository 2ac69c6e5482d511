"""A user's value in a Markdown explanation is shown as written and never becomes markup.

A free string fact reaches the principal reasons' messages, the counterfactuals, the
rules' conditions and a decision table's cells. Rendered by a CommonMark renderer that
passes raw HTML through (markdown-it-py's `commonmark` preset, with GFM tables, as many
wikis and dashboards do), the explanation holds no tag, link or image the policy did not
write, and its text shows the value character for character (but for emphasis and code spans:
`*`, `_` and backticks are Markdown's own, which the explanation's texts use too).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from engine.analysis.counterfactuals import counterfactuals
from engine.api import load_policy_text
from engine.evaluate import evaluate
from engine.explain.ci import md_escape
from engine.explain.render import explain_markdown

POLICY = """\
policy: html
version: 1
facts:
  name: {type: string}
  score: {type: integer, minimum: 0, maximum: 1000}
outcomes: [{id: refuse, adverse: true}, accept]
default: accept
outputs:
  tier: {type: string, default: none}
reasons:
  LOW: "Score {score} too low for {name}"
rules:
  - id: low
    when: {score: {lt: 500}, name: {ne: vip}}
    then: {outcome: refuse, reason: LOW}
tables:
  - id: tiers
    hit: first
    inputs: [name, score]
    outputs: [tier]
    rows:
      - ["starts_with(a)", ">= 600", top]
      - ["-", "-", base]
"""
RULESET = load_policy_text(POLICY).ruleset
RENDER = MarkdownIt("commonmark").enable("table")
# What explain_markdown writes itself: headings, emphasis, code, lists, tables.
OWN_TAGS = {"h3", "p", "strong", "em", "code", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"}

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "</td></tr></table><b>x",
    "<http://evil.example>",
    "[click](javascript:alert(1))",
    "![pixel](http://evil.example/p.png)",
    "&lt;b&gt; &#60;i&#62; &amp;",
    "a | b || c",
    "line\nbreak\r\n- item",
    "<!-- comment -->",
    "<?php ?>",
    "R&D < 5 > 3",
]


def html_of(name: str) -> str:
    d = evaluate(RULESET, {"name": name, "score": 100})
    return RENDER.render(explain_markdown(d, counterfactuals=counterfactuals(RULESET, d)))


def text_of(html: str) -> str:
    """The rendered text, tags removed and entities decoded."""
    import html as h

    return h.unescape(re.sub(r"<[^>]+>", "", html))


def check(name: str) -> None:
    html = html_of(name)
    tags = re.findall(r"<[^>]*>", html)
    assert all(re.fullmatch(r"</?([a-z0-9]+)>", t) and t.strip("</>") in OWN_TAGS for t in tags), (name, html)
    shown = text_of(html)
    # Each line of the value is shown as written (a line break itself is shown as `\n`).
    for part in re.split(r"\r\n|\r|\n", name):
        assert part.strip() in shown, (part, shown)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_value_is_shown_as_written(name: str) -> None:
    check(name)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&;#/!?|[]()\\ab1 \n:=\"'")), max_size=30))
def test_any_value_of_markup_characters_is_shown_as_written(name: str) -> None:
    check(name)


def test_escaping_keeps_ordinary_text_as_it_is() -> None:
    assert md_escape("score 100 < 500; R&D > 3") == "score 100 < 500; R&D > 3"
    assert md_escape("a|b <details> [x](y) &amp;") == "a\\|b &lt;details> [x]\\(y) &amp;amp;"
