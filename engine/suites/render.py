"""Reports of a test run: text, JSON, JUnit XML, GitHub annotations and Markdown.

Pure functions from a `Report` (the run, its coverage and the gate) to a string; the CLI
decides where the string goes. CI-format escaping is `engine.explain.ci`'s, shared with
the diagnostics reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..explain.ci import gh_escape, md_escape, xml_attr, xml_escape
from .coverage import METRICS, Coverage, leaf_text, uncovered
from .model import CaseResult, Run


@dataclass
class Report:
    """Everything a renderer needs: the run, optional coverage, the coverage gate."""

    run: Run
    coverage: list[Coverage] | None = None
    minimum: dict[str, float] | None = None
    gate_failures: list[str] = field(default_factory=list)
    verbose: bool = False

    @property
    def ok(self) -> bool:
        return self.run.ok and not self.gate_failures


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(report: Report) -> str:
    results = report.run.results
    failed = sum(1 for r in results if not r.passed)
    parts = [f"{failed} failed"] if failed else []
    parts.append(f"{len(results) - failed} passed")
    line = ", ".join(parts) + f": {_plural(len(results), 'case')} in {_plural(len(report.run.suites), 'file')} " \
                              f"(backend {report.run.backend})"
    return ("FAILED " if not report.ok else "OK ") + line


def case_block(res: CaseResult, lang: str | None = None) -> list[str]:
    """The text of a failing case: header, each failure with its details, and the
    explanation of the actual decision."""
    from ..explain.render import explain_text

    c = res.case
    lines = [f"FAIL {c.loc.file}:{c.loc.line}  {c.name}"]
    for f in res.failures:
        lines.append(f"  {f.message}")
        lines += [f"    {d}" for d in f.details]
    if res.decision is not None:
        lines.append("  actual decision:")
        lines += ["    " + ln if ln else "" for ln in explain_text(res.decision, lang).rstrip("\n").split("\n")]
    return lines


def render_text(report: Report) -> str:
    out: list[str] = []
    for s in report.run.suites:
        for res in s.results:
            if not res.passed:
                out += case_block(res)
                out.append("")
        passed, failed = len(s.passed), len(s.failed)
        head = f"{s.suite.path}: {passed} passed" + (f", {failed} failed" if failed else "") + \
            f"  ({s.suite.policy.id} v{s.suite.policy.version})"
        out.append(head)
        if report.verbose:
            for res in s.results:
                out.append(f"  {'ok  ' if res.passed else 'FAIL'} {res.case.name}")
    if report.coverage is not None:
        out.append("")
        out += coverage_text(report.coverage)
    for g in report.gate_failures:
        out.append(f"coverage gate: {g}")
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def coverage_text(coverages: Sequence[Coverage]) -> list[str]:
    out = []
    for cov in coverages:
        p = cov.policy
        out.append(f"coverage of {p.id} v{p.version} ({p.path}), {_plural(cov.cases, 'case')}:")
        pct = cov.percent()
        for metric, (c, t) in cov.counts().items():
            out.append(f"  {metric:<11} {c:>4}/{t:<4} {pct[metric]:5.1f}%")
        missing = uncovered(cov)
        if missing:
            out.append("  not covered:")
            for loc, text in missing:
                out.append(f"    {text}" + (f"  ({loc.file}:{loc.line})" if loc else ""))
    return out


def _json_value(v):
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


def coverage_dict(cov: Coverage) -> dict:
    def where(loc):
        return f"{loc.file}:{loc.line}:{loc.column}" if loc else None

    counts = cov.counts()
    pct = cov.percent()
    return {
        "policy": cov.policy.id,
        "version": cov.policy.version,
        "file": cov.policy.path,
        "cases": cov.cases,
        "summary": {m: {"covered": c, "total": t, "percent": pct[m]} for m, (c, t) in counts.items()},
        "rules": [{"id": rc.rule.id, "location": where(rc.rule.loc), "matched": bool(rc.matched_by),
                   "matched_by": rc.matched_by[:5]} for rc in cov.rules],
        "conditions": [{"rule": cc.rule.id, "index": cc.leaf.index, "condition": leaf_text(cc.leaf),
                        "location": where(cc.leaf.loc), "seen_true": bool(cc.true_by),
                        "seen_false": bool(cc.false_by)} for cc in cov.conditions],
        "boundaries": [{
            "fact": bc.boundary.fact,
            "value": bc.boundary.value,
            "thresholds": list(bc.boundary.names),
            "epsilon": bc.boundary.epsilon,
            "rules": list(dict.fromkeys(cov.policy.rules[ri].id for ri, _ in bc.boundary.uses)),
            "points": {pc.point.side: {"value": pc.point.value, "reachable": pc.point.reachable,
                                       "covered": bool(pc.covered_by), "covered_by": pc.covered_by[:5],
                                       **({"seen_by": pc.seen_by[:5]} if pc.seen_by and not pc.covered_by else {})}
                       for pc in bc.points},
        } for bc in cov.boundaries],
    }


def render_json(report: Report) -> str:
    from ..explain.render import decision_dict, dumps

    files = []
    for s in report.run.suites:
        cases = []
        for res in s.results:
            c = res.case
            entry: dict = {"name": c.name, "line": c.loc.line, "status": "pass" if res.passed else "fail"}
            if c.as_of is not None:  # the evaluation date of a policy that uses time
                entry["as_of"] = c.as_of.isoformat()
            if not res.passed:
                entry["failures"] = [{"check": f.check, "expected": _json_value(f.expected),
                                      "actual": _json_value(f.actual), "message": f.message,
                                      "details": list(f.details)} for f in res.failures]
                entry["facts"] = dict(c.record)
                if res.decision is not None:
                    entry["decision"] = decision_dict(res.decision)
            cases.append(entry)
        files.append({"file": s.suite.path, "policy": s.suite.policy.id, "policy_file": s.suite.policy.path,
                      "version": s.suite.policy.version, "passed": len(s.passed), "failed": len(s.failed),
                      "cases": cases})
    results = report.run.results
    doc: dict = {
        "ok": report.ok,
        "backend": report.run.backend,
        "summary": {"cases": len(results), "passed": sum(r.passed for r in results),
                    "failed": sum(not r.passed for r in results), "files": len(report.run.suites)},
        "files": files,
    }
    if report.coverage is not None:
        doc["coverage"] = [coverage_dict(c) for c in report.coverage]
    if report.minimum is not None:
        doc["coverage_gate"] = {"minimum": report.minimum, "failures": report.gate_failures}
    # As decision JSON is written: computed outputs (Decimals) as numbers, dates as text.
    return dumps(doc, 2) + "\n"


def render_junit(report: Report) -> str:
    """JUnit XML valid against the Jenkins `junit-10.xsd`: one <testsuite> per test file,
    one <testcase> per case; with a coverage minimum, a `coverage` suite with one case per
    policy."""
    results = report.run.results
    failures = sum(not r.passed for r in results)
    tests = len(results)
    gate_suite: list[str] = []
    if report.minimum is not None and report.coverage is not None:
        for cov in report.coverage:
            msgs = [g for g in report.gate_failures if g.startswith(cov.policy.id + ":")]
            tests += 1
            failures += bool(msgs)
            gate_suite.append(
                f'    <testcase classname="coverage" name={xml_attr(cov.policy.id)}>' + (
                    f'<failure message={xml_attr(msgs[0])} type="coverage">'
                    f'{xml_escape(chr(10).join([cov.policy.path + ":", *msgs, *coverage_text([cov])]))}</failure>'
                    if msgs else "")
                + "</testcase>")
    name = f"verdict test ({report.run.backend})"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name={xml_attr(name)} tests="{tests}" failures="{failures}" errors="0">']
    for s in report.run.suites:
        p = s.suite.policy
        lines.append(f'  <testsuite name={xml_attr(s.suite.path)} file={xml_attr(s.suite.path)} '
                     f'tests="{len(s.results)}" failures="{len(s.failed)}" errors="0" skipped="0">')
        lines.append("    <properties>"
                     f'<property name="policy" value={xml_attr(p.id)}/>'
                     f'<property name="policy_version" value={xml_attr(str(p.version))}/>'
                     f'<property name="backend" value={xml_attr(report.run.backend)}/></properties>')
        for res in s.results:
            c = res.case
            # The Jenkins schema has no `file` or `line` on a testcase: the case's location
            # leads its failure text instead (and the suite names the file).
            head = f'    <testcase classname={xml_attr(p.id)} name={xml_attr(c.name)}'
            if res.passed:
                lines.append(head + "/>")
            else:
                message = "; ".join(f.message for f in res.failures)
                body = "\n".join(case_block(res))  # its first line: `FAIL file:line  name`
                lines.append(head + ">")
                lines.append(f'      <failure message={xml_attr(message)} type="expectation">{xml_escape(body)}'
                             f'</failure>')
                lines.append("    </testcase>")
        lines.append("  </testsuite>")
    if gate_suite:
        gate_fail = sum(1 for line in gate_suite if "<failure" in line)
        lines.append(f'  <testsuite name="coverage" tests="{len(gate_suite)}" failures="{gate_fail}" errors="0" '
                     f'skipped="0">')
        lines += gate_suite
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def render_github(report: Report) -> str:
    """GitHub Actions annotations: an error on each failing case's line, a warning on
    each uncovered rule, condition and boundary (with --coverage), then the summary."""
    out = []
    for res in report.run.results:
        if res.passed:
            continue
        c = res.case
        body = "\n".join([f.message for f in res.failures] + [d for f in res.failures for d in f.details])
        out.append(f"::error file={gh_escape(c.loc.file, True)},line={c.loc.line},col={c.loc.column},"
                   f"title={gh_escape('verdict test: ' + c.name, True)}::{gh_escape(body)}")
    if report.coverage is not None:
        for cov in report.coverage:
            for loc, text in uncovered(cov):
                where = f"file={gh_escape(loc.file, True)},line={loc.line},col={loc.column}," if loc else ""
                out.append(f"::warning {where}title={gh_escape('not covered by tests', True)}::{gh_escape(text)}")
    for g in report.gate_failures:
        out.append(f"::error title={gh_escape('coverage below minimum', True)}::{gh_escape(g)}")
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def render_markdown(report: Report) -> str:
    """A summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`."""
    results = report.run.results
    failed = [r for r in results if not r.passed]
    icon = "✅" if report.ok else "❌"
    head = f"### {icon} verdict test: {len(results) - len(failed)} passed"
    if failed:
        head += f", {len(failed)} failed"
    lines = [head + f" ({report.run.backend} backend)", ""]
    if report.coverage is not None:
        lines += ["| policy | cases | rules | conditions | boundaries |", "|---|---|---|---|---|"]
        for cov in report.coverage:
            counts, pct = cov.counts(), cov.percent()
            n_fail = sum(len(s.failed) for s in report.run.suites if s.suite.policy is cov.policy)
            cells = []
            for m in METRICS:
                c, t = counts[m]
                low = report.minimum is not None and m in report.minimum and pct[m] < report.minimum[m]
                cells.append(f"{pct[m]:.1f}% ({c}/{t})" + (" ⚠️" if low else ""))
            lines.append(f"| `{cov.policy.id}` v{cov.policy.version} | {cov.cases}"
                         + (f" ({n_fail} failed)" if n_fail else "") + " | " + " | ".join(cells) + " |")
        lines.append("")
        for cov in report.coverage:
            missing = uncovered(cov)
            if missing:
                lines.append(f"<details><summary>Not covered in <code>{cov.policy.id}</code> ({len(missing)})"
                             f"</summary>")
                lines.append("")
                for loc, text in missing:
                    lines.append(f"- {md_escape(text)}" + (f" — `{loc.file}:{loc.line}`" if loc else ""))
                lines += ["", "</details>", ""]
    for g in report.gate_failures:
        lines.append(f"- ❌ coverage gate: {md_escape(g)}")
    if report.gate_failures:
        lines.append("")
    if failed:
        lines += ["#### Failures", ""]
        for res in failed:
            c = res.case
            lines.append(f"- **{md_escape(c.name)}** (`{c.loc.file}:{c.loc.line}`)")
            for f in res.failures:
                lines.append(f"  - {md_escape(f.message)}")
                for d in f.details:
                    lines.append(f"    - {md_escape(d.strip())}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit, "github": render_github,
             "markdown": render_markdown}
FORMATS = tuple(RENDERERS)


def render(fmt: str, report: Report) -> str:
    return RENDERERS[fmt](report)
