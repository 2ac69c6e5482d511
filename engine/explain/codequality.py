"""GitLab Code Quality reports (`artifacts:reports:codequality`), as GitLab documents them.

A JSON array with one issue per finding: `description`, `check_name`, `fingerprint`,
`severity` (one of info, minor, major, critical, blocker), `location.path` relative to the
repository root and `location.lines.begin`. GitLab shows them in merge requests and
compares fingerprints between the source and target branches to say what is new.
"""

from __future__ import annotations

import json

from ..language.diagnostics import ERROR, INFO, WARNING, Diagnostic, sorted_diagnostics
from .sarif import fingerprints, relative_path

SEVERITIES = ("info", "minor", "major", "critical", "blocker")
# An error makes the policy unusable, but is no security hole: major; a warning is
# probably a mistake: minor; a note is information.
_SEVERITY = {ERROR: "major", WARNING: "minor", INFO: "info"}


def render_codequality(diags: list[Diagnostic], files: list[str], root: str | None = None) -> str:
    # Acknowledged findings (`lint:`) are left out: GitLab has no way to mark them.
    ds = [d for d in sorted_diagnostics(diags) if d.suppressed is None]
    issues = []
    for d, print_ in zip(ds, fingerprints(ds, root)):
        issues.append({
            "type": "issue",
            "check_name": d.code,
            "description": d.message + (f" (hint: {d.hint})" if d.hint else ""),
            "fingerprint": print_,
            "severity": _SEVERITY.get(d.severity, "info"),
            # GitLab needs a line; a finding about the whole file points at its first.
            "location": {"path": relative_path(d.file, root) or d.file, "lines": {"begin": max(d.line, 1)}},
        })
    return json.dumps(issues, ensure_ascii=False, indent=2) + "\n"
