"""The oracle: run one input through the API and classify what happened.

Outcome classes (counted in the oracle's Counter, failures returned as `Finding`s):

- ok: the policy validated, compiled and decided; or the record was decided.
- error: a located error, the product's own answer to bad input: load/validation
  diagnostics (each with line and column >= 1), `PolicyError`, `FactsError`.
- refused: the durable backend declined a policy or a record that the native form accepts
  (`BackendError`, `DurableLimitError`: a documented limit). Not a failure, but counted.
- traceback: any other exception, at any stage (load, validate, analyse, report, compile,
  evaluate, render). A validated policy that fails to compile is one (issue 11 item 5:
  compiling a validated policy must never fail).
- disagreement: two answers that must be equal differ: native vs durable decisions (their
  JSON, and their matches), native fast path vs traced path, native matches vs the
  reference semantics (`semantics.reference_matches`), `load_policy_text` vs the
  validator on whether a policy is valid, and the record checks vs the generator on
  whether a record fits the declarations (a valid-by-construction record refused).
- For policies of language v2: every decision is made on the case's evaluation date
  (`as_of`), which the decision must record; native and durable must give the same JSON
  byte for byte; the reference semantics resolve relative dates on the same `as_of`;
  computed outputs must equal an independent evaluation in exact rationals (`exact.py`:
  value, type, and the shortest plain decimal as their text).
- unlocated: a diagnostic of a loaded document without a line or column.
- hang: decided by the runner (a per-input timeout in a worker process), not here.

`known_item` names the issue 11 item a finding is an instance of, when it is one of the
bugs being fixed in parallel; the CI slice and the long run report those separately.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import traceback
from collections import Counter
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction

from engine.analysis.findings import analyse as run_analysis
from engine.api import CompiledPolicy, load_policy_text
from engine.compile import BackendError, compile_policy
from engine.errors import EvaluationDateError
from engine.explain import report
from engine.language.diagnostics import ERROR
from engine.language.loader import PolicyError
from engine.language.source import load_bytes
from engine.language.validate import validate
from engine.language.values import decimal_text, int_from_digits
from engine.runtime.facts import FactsError
from engine.runtime.semantics import reference_matches

from . import exact

try:
    from engine.backends.durable import DurableLimitError
except ImportError:  # pragma: no cover - durable not importable: nothing raises it
    class DurableLimitError(Exception):
        pass

FAILURE_KINDS = ("traceback", "disagreement", "unlocated", "wrong-error", "hang")
INT64 = 2**63 - 1
NAME = "fuzz.yaml"


@dataclass
class Finding:
    """One failure: what kind, at which stage, where in engine/ it was raised, and the input."""

    kind: str
    stage: str
    signature: str  # exception type and innermost engine frame, or the comparison that failed
    detail: str
    policy: str | None = None  # the policy text (decoded with surrogateescape for bytes)
    policy_hex: str | None = None  # the exact bytes when they are not UTF-8
    record: object = None  # tagged JSON (see `to_jsonable`)
    item: str | None = None  # the issue 11 item it is an instance of, if known
    case: str | None = None  # "policy:<seed>:<index>", to regenerate it
    as_of: str | None = None  # the evaluation date the record was decided on (ISO), if one was given

    def to_dict(self) -> dict:
        return asdict(self)


# -- values that JSON cannot hold, tagged so records round-trip through files --------------------------

def to_jsonable(v):
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 14000:
        return {"$int": hex(v)}  # beyond ~4,200 digits str() refuses (and so json.dumps)
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": repr(v)}
    if isinstance(v, float) and v == 0 and math.copysign(1, v) < 0:
        return {"$float": "-0.0"}
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    if isinstance(v, datetime.datetime):  # (a date subclass: first)
        return {"$datetime": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"$date": v.isoformat()}
    if isinstance(v, Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, tuple):
        return {"$tuple": [to_jsonable(x) for x in v]}
    if isinstance(v, list):
        return [to_jsonable(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in v):
            return {k: to_jsonable(x) for k, x in v.items()}
        return {"$dict": [[to_jsonable(k), to_jsonable(x)] for k, x in v.items()]}
    return v


def from_jsonable(v):
    if isinstance(v, list):
        return [from_jsonable(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"$int"}:
            return int(v["$int"], 16)
        if set(v) == {"$float"}:
            return float(v["$float"])
        if set(v) == {"$bytes"}:
            return bytes.fromhex(v["$bytes"])
        if set(v) == {"$datetime"}:
            return datetime.datetime.fromisoformat(v["$datetime"])
        if set(v) == {"$date"}:
            return datetime.date.fromisoformat(v["$date"])
        if set(v) == {"$decimal"}:
            return Decimal(v["$decimal"])
        if set(v) == {"$tuple"}:
            return tuple(from_jsonable(x) for x in v["$tuple"])
        if set(v) == {"$dict"}:
            return {_hashable(from_jsonable(k)): from_jsonable(x) for k, x in v["$dict"]}
        return {k: from_jsonable(x) for k, x in v.items()}
    return v


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


# -- where an exception comes from ------------------------------------------------------------------------

def where(exc: BaseException) -> str:
    """`Type at engine/path.py:line in function`: the innermost frame in engine/ or in code
    engine generated (`<verdict policy …>`), which is what a fix has to touch."""
    frames = traceback.extract_tb(exc.__traceback__)
    spot = ""
    for fr in frames:
        fn = fr.filename.replace("\\", "/")
        if "/engine/" in fn:
            spot = f"engine/{fn.rsplit('/engine/', 1)[1]}:{fr.lineno} in {fr.name}"
        elif fn.startswith("<verdict"):
            # generated code: its line numbers vary with the policy, the function does not
            spot = f"<verdict generated code> in {fr.name}"
    if isinstance(exc, SyntaxError) and exc.filename and str(exc.filename).startswith("<verdict"):
        spot += f" (generated code line {exc.lineno}: {(exc.text or '').strip()[:80]!r})"
    return f"{type(exc).__name__} at {spot or 'outside engine'}"


def _exc_detail(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a message that cannot even be made is itself telling
        text = "<unprintable>"
    return f"{type(exc).__name__}: {text[:300]}"


# -- which open bug a finding is ---------------------------------------------------------------------------

def _beyond_int64(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) > INT64
    if isinstance(v, dict):
        return any(_beyond_int64(k) or _beyond_int64(x) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return any(_beyond_int64(x) for x in v)
    return False


_BIG_INT_TEXT = re.compile(r"(?<![\d.eE])-?\d{19,}(?![\d.eE])")


def _big_numeral(text: str) -> bool:
    """Whether an integer numeral is beyond int64, without int() (which refuses 4,301 digits)."""
    digits = text.lstrip("-").lstrip("0")
    return len(digits) > 19 or (len(digits) == 19 and int(digits) > INT64)


def known_item(f: Finding) -> str | None:
    """The issue 11 item (as a string) that `f` is an instance of, or None for a new bug."""
    text = f"{f.kind} {f.stage} {f.signature} {f.detail}"
    record = from_jsonable(f.record) if f.record is not None else None
    policy_big = bool(f.policy and any(_big_numeral(m) for m in _BIG_INT_TEXT.findall(f.policy)))
    if isinstance(record, dict) and "facts_hex" in record:  # a CLI case: the facts file's text
        facts = bytes.fromhex(record["facts_hex"]).decode("utf-8", "replace")
        record = [2**63 for m in _BIG_INT_TEXT.findall(facts) if _big_numeral(m)]
    if f.kind == "disagreement" and ("durable" in f.stage or f.stage.startswith("cli")) and \
            (policy_big or _beyond_int64(record)):
        return "1"  # an integer beyond int64 compiled to a constant on the durable side
    if "DurableLimitError" in text and f.stage.startswith("cli"):
        return "2"
    if "UnicodeEncodeError" in text or "surrogates not allowed" in text:
        return "3"
    if "Exceeds the limit" in text and "digits" in text:
        return "4"
    if "SyntaxError" in text and (f.stage == "compile" or "native.py:394" in text):
        return "5"  # an output no rule sets: the generated code is invalid
    # found by this harness, not in the text yet (see tests/fuzz/corpus/new-*)
    if re.search(r"(NameError|UnboundLocalError): .*'o'", text):
        return "new-outcome-condition"  # `outcome` conditions with no outcome rule: `o` unassigned
    if "DurableEngineError" in text and "Invalid argument" in text:
        return "new-durable-surrogate"  # a lone surrogate in a string fact breaks durable's JSON
    if "TypeError" in text and "normalize facts first" in text:
        return "new-float-default"  # an integer fact's float default reaches durable as a float
    if "ValueError" in text and "outside the calendar" in text:
        return "new-relative-date-off-calendar"  # corpus new-relative-date-off-calendar*
    if "needs `as_of`" in text:
        return "new-trace-json-relative-date"  # corpus new-trace-json-relative-date-missing-fact
    if "not JSON serializable" in text and "date" in text:
        return "new-sarif-date"  # corpus new-sarif-date-in-finding
    if "date value out of range" in text:
        return "new-counterfactual-wait-off-calendar"  # a wait past 9999-12-31
    if f.stage == "render" and ("OverflowError" in text or "FactsError" in text):
        return "new-counterfactual"  # counterfactuals at the edge of doubles (corpus new-counterfactual-*)
    if "RecursionError" in text or "_csv.Error" in text or "field larger than field limit" in text:
        return "7"
    if f.stage.startswith("cli-output"):
        return "6"  # after the input-side checks: a fault case can also meet an input bug
    return None


# -- decisions compared ---------------------------------------------------------------------------------

def canon(d) -> tuple:
    """What two backends must agree on: everything a decision says but its trace."""
    # outputs by type and value, not by their text: a value may be too long to print (a sum
    # of 4,300-digit literals), which the render stage reports
    outputs = tuple((k, type(v).__name__, v) for k, v in sorted(d.outputs.items()))
    return (d.outcome, d.outcome_known, tuple(d.decided_by), tuple(d.matched), tuple(d.flags), outputs,
            tuple(d.missing_facts), tuple(d.warnings))


def _text_ok(text: str) -> None:
    """Output must be writable: what `click.echo` does to stdout is encode it as UTF-8."""
    text.encode("utf-8")


class PolicyOracle:
    """Classifies policy inputs and records; accumulates counts; returns findings."""

    def __init__(self, counts: Counter | None = None, *, analyse_valid: bool = True):
        self.counts = counts if counts is not None else Counter()
        self.analyse_valid = analyse_valid

    def _finding(self, kind, stage, signature, detail, text=None, raw=None, record=None, case=None,
                 as_of=None) -> Finding:
        self.counts[kind] += 1
        f = Finding(kind, stage, signature, detail, case=case, as_of=as_of.isoformat() if as_of else None)
        if raw is not None:
            try:
                f.policy = raw.decode("utf-8")
            except UnicodeDecodeError:
                f.policy = raw.decode("utf-8", errors="replace")
                f.policy_hex = raw.hex()
        elif text is not None:
            f.policy = text
        if record is not None:
            f.record = to_jsonable(record)
        f.item = known_item(f)
        if f.item:
            self.counts[f"{kind}:item{f.item}"] += 1
        return f

    # -- policies ------------------------------------------------------------------------------

    def validate(self, raw: bytes, findings: list, case=None, *, all_formats: bool = False, analyse: bool = True):
        """Load and validate like `verdict validate` does (with the static analysis, unless
        `analyse` is false, and the report); the Policy, or None."""
        c = self.counts
        c["policies"] += 1
        try:
            doc, diags = load_bytes(raw, NAME)
        except Exception as exc:  # noqa: BLE001 - the oracle's job is to catch everything
            findings.append(self._finding("traceback", "load", where(exc), _exc_detail(exc), raw=raw, case=case))
            return None
        policy = None
        if doc is not None:
            c["loaded"] += 1
            try:
                policy, diags = validate(doc)
            except Exception as exc:  # noqa: BLE001
                findings.append(self._finding("traceback", "validate", where(exc), _exc_detail(exc), raw=raw,
                                              case=case))
                return None
            bad = [d for d in diags if not (d.line and d.column and d.line >= 1 and d.column >= 1)]
            if bad:
                findings.append(self._finding("unlocated", "validate", f"diagnostic {bad[0].code} without a location",
                                              bad[0].message[:300], raw=raw, case=case))
        if policy is None:
            c["rejected"] += 1
            if not any(d.severity == ERROR for d in diags):
                findings.append(self._finding("unlocated", "validate", "rejected without an error",
                                              "; ".join(d.code for d in diags), raw=raw, case=case))
        else:
            c["valid"] += 1
            if self.analyse_valid and analyse:
                c["analysed"] += 1
                try:
                    diags = diags + run_analysis(policy)
                except Exception as exc:  # noqa: BLE001
                    findings.append(self._finding("traceback", "analyse", where(exc), _exc_detail(exc), raw=raw,
                                                  case=case))
        try:
            _text_ok(report.render("text", diags, [NAME]))
            if all_formats:  # every report format now and then: they share the escaping
                c["reported_all_formats"] += 1
                for fmt in report.FORMATS:
                    _text_ok(report.render(fmt, diags, [NAME]))
        except Exception as exc:  # noqa: BLE001
            findings.append(self._finding("traceback", "report", where(exc), _exc_detail(exc), raw=raw, case=case))
        return policy

    def compile(self, policy, raw: bytes, findings: list, case=None, *, durable: bool = True, api_check: bool = False):
        """(CompiledPolicy or None, durable usable?) for a validated policy."""
        c = self.counts
        try:
            cp = CompiledPolicy(compile_policy(policy))
        except Exception as exc:  # noqa: BLE001 - issue 11 item 5: this must never fail
            findings.append(self._finding("traceback", "compile", where(exc), _exc_detail(exc), raw=raw, case=case))
            return None, False
        c["compiled"] += 1
        if api_check:  # the embedding API takes the same road: same verdict on the same text
            c["api_checked"] += 1
            try:
                load_policy_text(raw.decode("utf-8"), NAME)
            except PolicyError as exc:
                findings.append(self._finding("disagreement", "api-load", "load_policy_text refused a valid policy",
                                              str(exc)[:300], raw=raw, case=case))
            except UnicodeDecodeError:
                pass
            except Exception as exc:  # noqa: BLE001
                findings.append(self._finding("traceback", "api-load", where(exc), _exc_detail(exc), raw=raw,
                                              case=case))
        usable = False
        if durable:
            try:
                cp.ruleset.backend("durable")
                usable = True
                c["durable_compiled"] += 1
            except (BackendError, DurableLimitError):
                c["refused_policy"] += 1
            except Exception as exc:  # noqa: BLE001
                findings.append(self._finding("traceback", "durable-compile", where(exc), _exc_detail(exc), raw=raw,
                                              case=case))
        return cp, usable

    # -- records ---------------------------------------------------------------------------------

    def record(self, cp: CompiledPolicy, record, findings: list, *, durable: bool, render: bool = False,
               counterfactuals: bool = False, raw: bytes | None = None, case=None, valid: bool = False,
               as_of: datetime.date | None = None) -> None:
        """Decide `record` every way and compare; `valid`: it fits every declaration, so
        refusing it is a wrong answer. `as_of`: the evaluation date (a policy that uses
        time must record it; None: today, as the API does)."""
        c = self.counts
        c["records"] += 1

        def fail(kind, stage, signature, detail):
            findings.append(self._finding(kind, stage, signature, detail, raw=raw, record=record, case=case,
                                          as_of=as_of))

        def run(stage, **kw):
            """(decision, None) or (None, 'facts') or (None, 'failed')."""
            try:
                return cp.evaluate(record, as_of=as_of, **kw), None
            except FactsError:
                return None, "facts"
            except EvaluationDateError:  # an evaluation date a relative date falls off the calendar on
                return None, "refused"
            except (BackendError, DurableLimitError) as exc:
                if "disagree" in str(exc):
                    fail("disagreement", stage, "durable trace: backends disagree", _exc_detail(exc))
                    return None, "failed"
                return None, "refused"
            except Exception as exc:  # noqa: BLE001
                fail("traceback", stage, where(exc), _exc_detail(exc))
                return None, "failed"

        dn, en = run("eval-native")
        dt, et = run("eval-native-trace", trace=True)
        if en == "failed" or et == "failed":
            return
        if (dn is None) != (dt is None):
            fail("disagreement", "native-trace", "native fast and traced paths disagree on validity", f"{en} vs {et}")
            return
        if dn is None:
            c["record_errors"] += 1
            if valid and en == "facts":  # (refused: an evaluation date off the calendar, checked below)
                try:
                    cp.evaluate(record, as_of=as_of)
                except FactsError as exc:
                    if "cannot be computed exactly" not in str(exc):  # an output beyond exact bounds
                        fail("disagreement", "facts-check", "a record that fits every declaration was refused",
                             str(exc)[:300])
            if durable:  # the durable path must refuse the same record the same way
                dd, ed = run("eval-durable", backend="durable")
                if dd is not None:
                    fail("disagreement", "durable-validity", "durable decided a record native refuses", repr(canon(dd)))
            return
        c["records_decided"] += 1
        if as_of is not None:
            c["records_as_of"] += 1  # a v2 policy's record decided on the case's evaluation date
        if canon(dn) != canon(dt):
            fail("disagreement", "native-trace", "native fast and traced decisions differ",
                 f"{canon(dn)} vs {canon(dt)}")
        want_as_of = (as_of or dn.as_of) if cp.policy.uses_time else None  # None given: today, whichever
        if dn.as_of != want_as_of or (cp.policy.uses_time and dn.as_of is None):
            fail("disagreement", "as-of", "the decision does not record its evaluation date",
                 f"as_of {as_of} decision {dn.as_of} uses_time {cp.policy.uses_time}")
        if dn.outputs and any(o.computed for o in cp.policy.outputs.values()):
            self._exact(cp, dn, fail)
        try:
            ref = reference_matches(cp.policy, dn.facts, cp.ruleset.plan, as_of=dn.as_of)
            if tuple(ref) != tuple(dn.matched):
                fail("disagreement", "native-reference", "native matches differ from the reference semantics",
                     f"native {dn.matched} reference {tuple(ref)}")
        except Exception as exc:  # noqa: BLE001
            fail("traceback", "reference", where(exc), _exc_detail(exc))
        if durable:
            dd, ed = run("eval-durable", backend="durable")
            if ed == "refused":
                c["refused"] += 1
            elif ed == "facts":
                fail("disagreement", "durable-validity", "durable refused facts native accepts", "")
            elif dd is not None:
                c["records_durable"] += 1
                if as_of is not None:
                    c["records_as_of_durable"] += 1
                if canon(dd) != canon(dn):
                    fail("disagreement", "durable", "durable and native decisions differ",
                         f"durable {canon(dd)} native {canon(dn)}")
                else:
                    try:
                        same = cp.to_json(dd, indent=None) == cp.to_json(dn, indent=None)
                    except Exception as exc:  # noqa: BLE001 - a decision that cannot be written
                        fail("traceback", "render", where(exc), _exc_detail(exc))
                        same = True
                    if not same:
                        fail("disagreement", "durable-json", "durable and native decision JSON differ", "")
                if render:
                    ddt, edt = run("eval-durable-trace", backend="durable", trace=True)
                    if ddt is not None and canon(ddt) != canon(dn):
                        fail("disagreement", "durable-trace", "durable traced decision differs from native",
                             f"{canon(ddt)} vs {canon(dn)}")
        if render:
            c["rendered"] += 1
            try:
                text = cp.to_json(dt, counterfactuals=counterfactuals)
                _text_ok(text)
                json.loads(text, parse_int=int_from_digits)  # integers of any length read back
                _text_ok(cp.to_json(dn, indent=None))
                _text_ok(cp.explain(dt, counterfactuals=counterfactuals))
                _text_ok(cp.explain(dt, lang="zh", counterfactuals=False))
            except Exception as exc:  # noqa: BLE001
                fail("traceback", "render", where(exc), _exc_detail(exc))

    def _exact(self, cp: CompiledPolicy, d, fail) -> None:
        """Computed outputs against the independent evaluation in rationals (`exact.py`)."""
        c = self.counts
        want = exact.expected_outputs(cp.policy, d)
        if want is None:
            c["outputs_unsure"] += 1
            return
        c["outputs_checked"] += 1
        for name, q in want.items():
            got = d.outputs.get(name)
            kind = int if cp.policy.outputs[name].type == "integer" else Decimal
            if type(got) is not kind or Fraction(got) != q:
                fail("disagreement", "computed-output", "computed output differs from the exact value",
                     f"{name}: engine {str(got)[:200]}, exact {str(q)[:200]}")
                return
            if kind is Decimal:
                # normalized (the contract): a whole value with exponent 0 (`6000`, not `6E+3`),
                # a fraction without trailing zeros, no `-0`; and written as the shortest decimal
                sign, digits, exponent = got.as_tuple()
                whole = q.denominator == 1
                normal = exponent == 0 if whole else (exponent < 0 and digits[-1] != 0)
                if not normal or (q == 0 and sign):
                    fail("disagreement", "computed-output", "a computed output is not normalized (the shortest "
                         "decimal)", f"{name}: {got!r}")
                    return
                if len(digits) < 400 and -400 < exponent < 400 and decimal_text(got) != exact.plain(q):
                    fail("disagreement", "computed-output", "a computed output is not written as its shortest "
                         "plain decimal", f"{name}: {decimal_text(got)!r}, expected {exact.plain(q)!r}")
                    return
