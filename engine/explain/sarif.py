"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

What the consumers check (`sarif-multitool validate --rule-kind "Gh;Sarif"`, GitHub's
upload): every rule has a friendly `name`, short and full descriptions, help in text and
Markdown and a `helpUri`; every result has `partialFingerprints` (so GitHub can tell two
findings on one line apart and follow a finding across commits) and a location relative
to the repository root (`uriBaseId` SRCROOT), so the report is the same whichever folder
verdict runs from and however the paths were typed.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import quote

from ..language.diagnostics import ERROR, INFO, WARNING, Diagnostic, sorted_diagnostics
from . import DISTRIBUTION, codes

TOOL_NAME = "verdict"
SRCROOT = "SRCROOT"
FINGERPRINT_KEY = "verdictFinding/v1"
_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}
# Parts of a message that change when lines above a finding move: not part of its identity.
_VOLATILE = re.compile(r"\b(line|lines|column) \d+")


def project_urls() -> dict[str, str]:
    """`[project.urls]` of the installed distribution (label -> URL), the one setting every
    URL verdict writes comes from; empty when verdict runs from a checkout never installed."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        entries = metadata(DISTRIBUTION).get_all("Project-URL") or []
    except PackageNotFoundError:  # pragma: no cover - a checkout on sys.path, not installed
        entries = []
    urls = {}
    for entry in entries:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    return urls


def docs_base() -> str | None:
    """Where docs/*.md are served: `[project.urls] Documentation`; else the docs folder of
    this checkout as a file URI (a real file, never an invented address); else None."""
    base = project_urls().get("documentation")
    if base:
        return base if base.endswith("/") else base + "/"
    local = Path(__file__).resolve().parents[2] / "docs"
    return local.as_uri() + "/" if (local / "codes.md").is_file() else None


def help_uri(code: str, base: str | None) -> str | None:
    return f"{base}codes.md#{codes.anchor(code)}" if base else None


def distribution_version() -> str:
    """The installed distribution's version (what `verdict init` pins its hooks and Action to)."""
    try:
        from importlib.metadata import version

        return version(DISTRIBUTION)
    except Exception:  # pragma: no cover - running from a checkout that was never installed
        return "0.0.0"


def relative_path(path: str, root: str | None) -> str | None:
    """`path` relative to `root` with forward slashes, or None when it lies outside root.
    Made absolute first, so `./policies/a.yaml`, `policies/a.yaml` and `/repo/policies/a.yaml`
    name one artifact."""
    if root is None:
        return path.replace("\\", "/")
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel.replace("\\", "/")


def artifact_location(path: str, root: str | None) -> dict:
    """A relative `uri` under SRCROOT (percent-encoded: a space or `#` is not valid in a
    URI), or an absolute file URI for a file outside the root."""
    rel = relative_path(path, root)
    if rel is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    location = {"uri": quote(rel, safe="/")}
    if root is not None:
        location["uriBaseId"] = SRCROOT
    return location


def fingerprint(d: Diagnostic, root: str | None) -> str:
    """A hash of what identifies a finding: its code, file (relative to the root), JSON
    pointer and message without line numbers. Not its line or column, which move when
    lines are added above it."""
    message = _VOLATILE.sub(r"\1 N", d.message)
    key = "\0".join([d.code, relative_path(d.file, root) or os.path.abspath(d.file), d.pointer, message])
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def fingerprints(ds: list[Diagnostic], root: str | None) -> list[str]:
    """The fingerprint of each finding, in order; two findings alike in every identifying
    part (the same message at the same pointer) are told apart by a counter."""
    seen: dict[str, int] = {}
    out = []
    for d in ds:
        key = fingerprint(d, root)
        n = seen[key] = seen.get(key, 0) + 1
        out.append(key if n == 1 else f"{key}:{n}")
    return out


def _rule(code: str, base: str | None) -> dict:
    full = codes.full_description(code)
    rule = {
        "id": code,
        "name": codes.rule_name(code),
        "shortDescription": {"text": codes.short_description(code)},
        "fullDescription": {"text": full},
        "help": {"text": full, "markdown": f"**{code}**: {full}"},
    }
    uri = help_uri(code, base)
    if uri:
        rule["helpUri"] = uri
    return rule


def _sentence(text: str) -> str:
    # SARIF's guidance (and the multitool's SARIF2001): a message ends with a period.
    return text if text.endswith((".", "!", "?")) else text + "."


def render_sarif(diags: list[Diagnostic], files: list[str], root: str | None = None) -> str:
    """SARIF 2.1.0, one run, one rule per diagnostic code."""
    ds = sorted_diagnostics(diags)
    rule_codes = sorted({d.code for d in ds})
    base = docs_base()
    results = []
    for d, print_ in zip(ds, fingerprints(ds, root)):
        physical: dict = {"artifactLocation": artifact_location(d.file, root)}
        if d.line:
            physical["region"] = {"startLine": d.line, "startColumn": d.column}
        location: dict = {"physicalLocation": physical}
        if d.pointer:
            location["logicalLocations"] = [{"fullyQualifiedName": d.pointer, "kind": "object"}]
        result = {
            "ruleId": d.code,
            "ruleIndex": rule_codes.index(d.code),
            "level": _LEVEL.get(d.severity, "note"),
            "message": {"text": _sentence(d.message + (f" (hint: {d.hint})" if d.hint else ""))},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT_KEY: print_},
        }
        if d.witness is not None:
            result["properties"] = {"witness": d.witness}
        if d.suppressed is not None:  # acknowledged in the policy itself (`lint:`)
            result["suppressions"] = [{"kind": "inSource", "justification": d.suppressed}]
        results.append(result)
    driver = {"name": TOOL_NAME, "version": distribution_version(), "semanticVersion": distribution_version(),
              "rules": [_rule(c, base) for c in rule_codes]}
    home = project_urls().get("homepage") or project_urls().get("repository")
    if home:
        driver["informationUri"] = home
    sarif_run: dict = {
        "tool": {"driver": driver},
        # Every file a result points at is an artifact: a policy's table rows file (CSV)
        # is not a file that was checked, but its findings are located in it.
        "artifacts": [{"location": artifact_location(f, root)}
                      for f in sorted(set(files) | {d.file for d in ds if d.file})],
        # Our columns count characters (code points); SARIF's default is UTF-16 code units,
        # which differ after any character outside the BMP (an emoji in a message).
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if root is not None:
        sarif_run["originalUriBaseIds"] = {SRCROOT: {"uri": Path(os.path.abspath(root)).as_uri().rstrip("/") + "/"}}
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [sarif_run]}
    # The decision encoder: a witness of a date fact holds a `datetime.date` (ISO text).
    from .render import dumps

    return dumps(doc, 2, sort_keys=True) + "\n"
