"""Positions: verdict's 1-based (line, column) in characters, LSP's 0-based UTF-16 units.

verdict counts columns in Python characters from 1; LSP counts from 0, and by default in
UTF-16 code units, so a character outside the Basic Multilingual Plane (an emoji in a
message) counts twice there. Every range the server sends is converted here, once.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

# What a name can be made of in a policy (facts, thresholds, reason codes, rule and
# outcome ids, flags): wider than any one of them, so a partly typed name is one token.
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True, order=True)
class Span:
    """A range on one line: 0-based line, 0-based character offsets [start, end)."""

    line: int
    start: int
    end: int

    def contains(self, line: int, char: int) -> bool:
        # The end is included: a cursor just after a name still points at it.
        return line == self.line and self.start <= char <= self.end


class Lines:
    """The lines of one document, for converting positions and reading tokens."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        # Where each line starts in the text: an index looks up thousands of positions.
        self.starts = list(itertools.accumulate((len(ln) + 1 for ln in self.lines[:-1]), initial=0))

    def line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""

    def to_utf16(self, line: int, char: int) -> int:
        """A 0-based character offset on `line` as a UTF-16 offset."""
        head = self.line(line)[:char]
        return char + sum(1 for c in head if ord(c) > 0xFFFF)

    def from_utf16(self, line: int, unit: int) -> int:
        """A 0-based UTF-16 offset on `line` as a character offset."""
        count = 0
        for i, c in enumerate(self.line(line)):
            if count >= unit:
                return i
            count += 2 if ord(c) > 0xFFFF else 1
        return len(self.line(line))

    def lsp_range(self, span: Span) -> dict:
        return {"start": {"line": span.line, "character": self.to_utf16(span.line, span.start)},
                "end": {"line": span.line, "character": self.to_utf16(span.line, span.end)}}

    def token(self, line1: int, col1: int, name: str | None = None) -> Span:
        """The token at verdict's 1-based (line, column): `name` when it is written there
        (quoted or not), else the run of name characters (or a quoted string) starting there,
        else the one character. Line 0 (a finding about the whole file) is the first line."""
        if line1 <= 0:
            return Span(0, 0, len(self.line(0)))
        n, c = line1 - 1, max(col1 - 1, 0)
        text = self.line(n)
        if name and text.startswith(name, c):
            return Span(n, c, c + len(name))
        if c < len(text) and text[c] in "\"'":
            if name and text.startswith(name, c + 1):
                return Span(n, c + 1, c + 1 + len(name))
            close = text.find(text[c], c + 1)
            return Span(n, c, close + 1 if close > c else len(text))
        end = c
        while end < len(text) and text[end] in NAME_CHARS:
            end += 1
        return Span(n, c, max(end, min(c + 1, len(text))))

    def word_at(self, line: int, char: int) -> tuple[str, Span]:
        """The name-character run around a 0-based (line, character)."""
        text = self.line(line)
        start = end = min(char, len(text))
        while start > 0 and text[start - 1] in NAME_CHARS:
            start -= 1
        while end < len(text) and text[end] in NAME_CHARS:
            end += 1
        return text[start:end], Span(line, start, end)

    def offset(self, line1: int, col1: int) -> int:
        """The character offset in the whole text of verdict's 1-based (line, column)."""
        return self.starts[min(max(line1 - 1, 0), len(self.starts) - 1)] + max(col1 - 1, 0)

    def position_of(self, offset: int) -> tuple[int, int]:
        """The 0-based (line, character) of a character offset in the whole text."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]
