"""Diagnostics: located findings about policies, test files and facts, and their ordering.

Every stage reports problems as `Diagnostic` values instead of raising, so a caller gets
all of them at once, sorted by location. Rendering to CI formats lives in `report.py`.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable

ERROR = "error"
WARNING = "warning"
INFO = "info"

_SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a stable code, a Cedar-style message and where it points.

    `line` and `column` are 1-based; 0 means "the file as a whole". `pointer` is the
    RFC 6901 JSON pointer of the offending node ("" for the document root).
    """

    code: str
    message: str
    severity: str = ERROR
    file: str = ""
    line: int = 0
    column: int = 0
    pointer: str = ""
    hint: str | None = None
    rule: str | None = None
    witness: dict | None = field(default=None, compare=False)
    # Other places the finding involves (the uses of a misdeclared threshold, say), as
    # (file, line, column, pointer, what is there).
    related: tuple[tuple[str, int, int, str, str], ...] = field(default=(), compare=False)
    # The authors' reason, when the policy acknowledges this finding (`lint:`): reported as
    # acknowledged (SARIF `suppressions`), and never counted towards the exit code.
    suppressed: str | None = field(default=None, compare=False)

    def located(self, file: str, line: int, column: int) -> "Diagnostic":
        return replace(self, file=file, line=line, column=column)

    @property
    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def render(self) -> str:
        """`file:line:col: severity code: message` plus indented pointer and hint lines."""
        head = f"{self.location}: {self.severity} {self.code}: {self.message}"
        lines = [head]
        if self.pointer:
            lines.append(f"    at {self.pointer}")
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        for file, line, column, _, what in self.related:
            lines.append(f"    related: {file}:{line}:{column}: {what}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.rule:
            out["rule"] = self.rule
        if self.witness is not None:
            out["witness"] = self.witness
        if self.suppressed is not None:
            out["suppressed"] = {"reason": self.suppressed}
        if self.related:
            out["related"] = [{"file": f, "line": ln, "column": c, "pointer": p, "message": m}
                              for f, ln, c, p, m in self.related]
        return out


def sort_key(d: Diagnostic) -> tuple:
    # Location first (what an author reads top to bottom), then severity, then code. The
    # remaining fields make the order total: `sorted_diagnostics` deduplicates through a
    # set, whose iteration order changes with PYTHONHASHSEED, so any tie left here would
    # make two runs print equal findings in different orders.
    return (d.file, d.line, d.column, _SEVERITY_RANK.get(d.severity, 9), d.code, d.message,
            d.pointer, d.hint or "", d.rule or "")


def sorted_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(set(diags), key=sort_key)


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == ERROR for d in diags)


def type_name(value, mapping: str = "mapping") -> str:
    """The JSON-ish kind of a value for messages (`boolean`, `integer`, `number`, `string`,
    `null`, `list`, and `mapping` — or, where the reader thinks in JSON facts
    (`mapping="object"`), "array" and "object").
    Booleans are checked first: in Python they are integers, in verdict never."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, (float, Decimal)):
        return "number"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "array" if mapping == "object" else "list"
    if isinstance(value, dict) or hasattr(value, "keys"):
        return mapping
    return type(value).__name__


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean `x`?" hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def pointer_join(pointer: str, *parts: object) -> str:
    """Append path segments to an RFC 6901 pointer, escaping `~` and `/`."""
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        pointer = f"{pointer}/{text}"
    return pointer


def pointer_parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
