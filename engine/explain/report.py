"""Rendering diagnostics for people and CI: text, JSON, GitHub annotations, JUnit XML, SARIF 2.1.0
(`sarif`), GitLab Code Quality (`codequality`).

Pure functions from a list of diagnostics (and the files checked) to a string; the CLI
decides where the string goes.
"""

from __future__ import annotations


from ..language.diagnostics import ERROR, INFO, WARNING, Diagnostic, sorted_diagnostics
from .ci import gh_escape, xml_attr, xml_escape

FORMATS = ("text", "json", "github", "junit", "sarif", "codequality")
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first: `--severity X` shows X and those before it
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
# ANSI colours of the severity word in the text format, on a terminal.
_COLOUR = {ERROR: "\033[1;31m", WARNING: "\033[33m", INFO: "\033[36m"}
_RESET = "\033[0m"


def use_colour(stream, environ=None) -> bool:
    """Colour for a terminal, as the conventions say: `NO_COLOR` (set, not empty) turns
    it off, `FORCE_COLOR` (set, not empty or 0) on even in a pipe (CI logs render it)."""
    import os

    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def summary_line(diags: list[Diagnostic], files: list[str], hidden: int = 0) -> str:
    # Count what is shown: the renderers print `sorted_diagnostics`, which drops duplicates.
    diags = sorted_diagnostics(diags)
    errors = sum(d.severity == ERROR for d in shown(diags))
    warnings = sum(d.severity == WARNING for d in shown(diags))
    acknowledged = len(diags) - len(shown(diags))
    n = len(files)
    line = f"{n} file{'s' if n != 1 else ''} checked: {errors} error{'s' if errors != 1 else ''}, " \
           f"{warnings} warning{'s' if warnings != 1 else ''}"
    line += f", {acknowledged} acknowledged" if acknowledged else ""
    return line + (f" ({hidden} below --severity not shown)" if hidden else "")


def shown(diags: list[Diagnostic]) -> list[Diagnostic]:
    """The findings to show and count: not those the policy acknowledges (`lint:`), which
    the JSON and SARIF reports carry, marked, and the others leave out."""
    return [d for d in diags if d.suppressed is None]


def _painted(d: Diagnostic) -> str:
    text = d.render()
    word = f" {d.severity} {d.code}:"
    return text.replace(word, f" {_COLOUR.get(d.severity, '')}{d.severity}{_RESET} {d.code}:", 1)


def render_text(diags: list[Diagnostic], files: list[str], counted: list[Diagnostic] | None = None,
                colour: bool = False) -> str:
    """One block per finding shown, then the summary of every finding `counted` (all of
    them, when a severity filter hid some)."""
    out = [_painted(d) if colour else d.render() for d in shown(sorted_diagnostics(diags))]
    out.append(_summary(diags, files, counted))
    return "\n".join(out) + "\n"


def _summary(diags: list[Diagnostic], files: list[str], counted: list[Diagnostic] | None) -> str:
    if counted is None:
        return summary_line(diags, files)
    return summary_line(counted, files, len(shown(sorted_diagnostics(counted))) - len(shown(sorted_diagnostics(diags))))


def render_json(diags: list[Diagnostic], files: list[str], counted: list[Diagnostic] | None = None,
                as_of: dict[str, str] | None = None) -> str:
    """The findings shown; the counts are of every finding `counted` (what decides the
    exit code), when a severity filter hid some. `as_of`: file → the day (ISO) a policy
    that uses time was analysed on, as `"as_of"` (absent when no policy uses time)."""
    ds = sorted_diagnostics(diags)
    every = ds if counted is None else sorted_diagnostics(counted)
    doc = {
        "files": sorted(files),
        "errors": sum(d.severity == ERROR for d in shown(every)),
        "warnings": sum(d.severity == WARNING for d in shown(every)),
        "acknowledged": len(every) - len(shown(every)),
        "diagnostics": [d.to_dict() for d in ds],
    }
    if as_of:  # findings on relative dates depend on the day: which one, per file
        doc["as_of"] = dict(sorted(as_of.items()))
    # The decision encoder: a witness of a date fact holds a `datetime.date` (ISO text).
    # Imported here: `verdict validate` loads it only for this format.
    from .render import dumps

    return dumps(doc, 2, sort_keys=True) + "\n"


def render_github(diags: list[Diagnostic], files: list[str], counted: list[Diagnostic] | None = None) -> str:
    """GitHub Actions workflow commands: one `::error file=…,line=…,col=…::` per finding."""
    level = {ERROR: "error", WARNING: "warning", INFO: "notice"}
    out = []
    for d in shown(sorted_diagnostics(diags)):
        props = [f"file={gh_escape(d.file, True)}"]
        if d.line:
            props += [f"line={d.line}", f"col={d.column}"]
        props.append(f"title={gh_escape(d.code, True)}")
        msg = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(f"::{level.get(d.severity, 'notice')} {','.join(props)}::{gh_escape(msg)}")
    out.append(_summary(diags, files, counted))
    return "\n".join(out) + "\n"


def render_junit(diags: list[Diagnostic], files: list[str], suite: str = "verdict validate",
                 owners: dict[str, str] | None = None) -> str:
    """JUnit XML as the Jenkins `junit-10.xsd` has it: one <testsuite> per file checked; in
    it one failing <testcase> per error, or, for a file without errors, one passing
    <testcase> (a clean run is N passed tests, not 0). The location is in the text
    (`file:line:col: code: message`): the schema allows no `file` or `line` on a testcase.
    Warnings and notes, which fail nothing, are the suite's <system-out>. `owners` maps a
    file that is part of a checked policy (a table's rows CSV) to that policy: its findings
    are the policy's test cases (located in the CSV), so the policy never reads "valid"."""
    owners = owners or {}
    by_file: dict[str, list[Diagnostic]] = {f: [] for f in files}
    for d in shown(sorted_diagnostics(diags)):
        by_file.setdefault(owners.get(d.file, d.file), []).append(d)
    suites, total, failed = [], 0, 0
    for f in sorted(by_file):
        errors = [d for d in by_file[f] if d.severity == ERROR]
        others = [d for d in by_file[f] if d.severity != ERROR]
        cases = []
        for d in errors:
            where = f"{d.location}: {d.code}"
            cases.append(f'    <testcase classname={xml_attr(f)} name={xml_attr(where)}>'
                         f'<failure message={xml_attr(f"{where}: {d.message}")} type={xml_attr(d.code)}>'
                         f'{xml_escape(d.render())}</failure></testcase>')
        if not errors:
            cases.append(f'    <testcase classname={xml_attr(f)} name={xml_attr(f"{f}: valid")}/>')
        total += len(cases)
        failed += len(errors)
        suites.append(f'  <testsuite name={xml_attr(f)} file={xml_attr(f)} tests="{len(cases)}" '
                      f'failures="{len(errors)}" errors="0" skipped="0">')
        suites += cases
        if others:
            suites.append(f"    <system-out>{xml_escape(chr(10).join(d.render() for d in others))}</system-out>")
        suites.append("  </testsuite>")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name={xml_attr(suite)} tests="{total}" failures="{failed}" errors="0">',
             *suites, "</testsuites>"]
    return "\n".join(lines) + "\n"


RENDERERS = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "junit": render_junit,
}


def render(fmt: str, diags: list[Diagnostic], files: list[str], root: str | None = None, least: str = INFO,
           colour: bool = False, owners: dict[str, str] | None = None, as_of: dict[str, str] | None = None) -> str:
    """The report in `fmt`; `root` (the repository root) makes the SARIF and Code Quality
    locations relative to it. Findings less severe than `least` are left out of every
    format; the text and GitHub summaries still count them (they decide the exit code).
    `as_of` (file → ISO day of a policy that uses time) is recorded in the JSON report."""
    visible = [d for d in diags if _RANK.get(d.severity, len(SEVERITIES)) <= _RANK[least]]
    # Imported here: they need hashlib and urllib, which cost every other run start-up time.
    if fmt == "sarif":
        from .sarif import render_sarif

        return render_sarif(visible, files, root)
    if fmt == "codequality":
        from .codequality import render_codequality

        return render_codequality(visible, files, root)
    if fmt == "text":
        return render_text(visible, files, diags, colour)
    if fmt == "github":
        return render_github(visible, files, diags)
    if fmt == "json":
        return render_json(visible, files, diags, as_of)
    if fmt == "junit":
        return render_junit(visible, files, owners=owners)
    return RENDERERS[fmt](visible, files)
