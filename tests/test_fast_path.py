"""The native batch path (issue 12): fast decoding, the line encoder and `--undeclared`
give exactly what the slow paths give.

- Decoding: every JSONL line of a table of hostile cases (big integers, lone surrogates,
  -0.0, NaN, duplicate keys, nesting, exponents, escapes), of the fuzz corpus' facts files
  and of fuzzed records goes through msgspec (`records.fast_object`) and through the
  standard decoder (`records.json_record`): the fast one answers only where its answer is
  the standard one's, type for type; a whole file reads to the same Records either way.
- Encoding: `to_json(..., indent=None)` of a decision without a trace (the line encoder) is
  byte-identical to `json` encoding `decision_dict`, on every example policy, fuzzed
  records, the corpus, every language; integers beyond 4,300 digits are written in full.
- Undeclared keys: the option's three treatments on the CLI, the API's `undeclared`, and a
  record with an extra key staying on the generated path.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import load_policy
from engine.cli.main import main
from engine.errors import FactsError
from engine.explain import render
from engine.io import records as R
from engine.language.values import int_digits, int_from_digits

ROOT = Path(__file__).resolve().parent.parent
D11 = "policies/double11-coupon.yaml"
POLICIES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "policies").glob("*.yaml") if ".test." not in p.name)
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
GOLD = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 1500, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
        "credit_utilization": 0.35}


def canon(v):
    """A value with its exact types (so 1, 1.0, True and -0.0, 0.0 differ; NaN equals NaN)."""
    if isinstance(v, dict):
        return ("dict", tuple((canon(k), canon(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list", tuple(canon(x) for x in v))
    if type(v) is float:
        return ("float", "nan" if math.isnan(v) else v.hex())
    return (type(v).__name__, v)


def slow_record(raw: bytes) -> R.Record:
    """What the standard path makes of one JSONL line (`_jsonl_line` without the file)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return R.Record("x", error="not UTF-8")
    return R.json_record("x", text)


# -- decoding -----------------------------------------------------------------------------------

BIG = "7" * 4300
HOSTILE_LINES = [
    # numbers where decoders differ
    '{"a": 9223372036854775807}', '{"a": 9223372036854775808}', '{"a": -9223372036854775809}',
    '{"a": 18446744073709551616}', '{"a": 1180591620717411303424}', '{"a": ' + BIG + "}",
    '{"a": -' + BIG + "}", '{"a": ' + BIG + "7}", '{"a": 1' + "0" * 400 + "}",
    '{"a": 12345678901234567891.0}', '{"a": 1e20}', '{"a": 1E+20}', '{"a": 1e308}', '{"a": 1.7976931348623157e308}',
    '{"a": 1e400}', '{"a": -1e400}', '{"a": 9007199254740991.0}', '{"a": 9007199254740992.0}',
    '{"a": 9007199254740993.0}', '{"a": -9007199254740993.0}', '{"a": 5e-324}', '{"a": 2.2250738585072014e-308}',
    '{"a": 0.1}', '{"a": 720.0}', '{"a": 7e2}', '{"a": -0}', '{"a": -0.0}', '{"a": -0e0}', '{"a": 0e5}',
    '{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": nan}', '{"a": 01}', '{"a": 1.}', '{"a": .5}',
    '{"a": +1}', '{"a": 0x10}', '{"a": 1_000}',
    # strings and keys
    r'{"a": "\ud83c"}', r'{"a": "\udf89"}', r'{"a": "\udf89\ud83c"}', r'{"a": "\ud83cx"}', r'{"\ud83c": 1}',
    r'{"a": "\ud83c\udf89"}', '{"a": "🎉"}', r'{"a": "\u0000"}', '{"a": "x\x7f"}', '{"a": "\x01"}',
    r'{"a": "\/"}', r'{"a": "q\"uote"}', r'{"a": "back\\slash"}', r'{"a": "\u4e2d\u6587"}', '{"a": "中文"}',
    '{"a": "12:30", "b": 1}', '{"a": "x\\":1", "b": 2}', '{"a:b": 1}', '{"": 1}', '{"a": "\u2028"}',
    # duplicate keys, at every level and in every disguise
    '{"a": 1, "a": 2}', '{"a": 1, "a": 1}', '{"a": "x", "a": 1}', '{"a": 1, "b": "t:1", "a": 2}',
    r'{"a": "\"", "a": 2}', r'{"a": 1, "\u0061": 2}', '{"a": {"b": 1, "b": 2}}', '{"a": [{"b": 1, "b": 2}]}',
    # nesting and shapes
    '{"a": [1, 2]}', '{"a": {"b": 1}}', '{"a": ' + "[" * 64 + "]" * 64 + "}", '{"a": ' + "[" * 65 + "]" * 65 + "}",
    '{"a": ' + "[" * 5000 + "]" * 5000 + "}", "[1]", '"x"', "1", "null", "{}", "[]",
    # syntax
    '{"a": 1,}', '{"a": 1} x', '{"a": 1} {"b": 2}', "{'a': 1}", '{"a": tru}', '{"a": true, "b": false, "c": null}',
    '{"a":\x0c1}', ' {"a": 1}\r', '{"a": 1}//', '{"a": "unterminated', "{", "", "   ", "\x1c",
]
HOSTILE_BYTES = [b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "\xc0\x80"}', b'\xef\xbb\xbf{"a": 1}',
                 b'{"a": 1}\x00', b'{"a": "\xe4\xb8"}']


def _lines() -> list[bytes]:
    lines = [s.encode("utf-8", "surrogatepass") for s in HOSTILE_LINES] + HOSTILE_BYTES
    for path in sorted(CORPUS.glob("*.facts.*")):  # the corpus' facts files, line by line
        lines += path.read_bytes().splitlines()[:50]
    return lines


def _fuzzed_lines(n: int = 3000) -> list[bytes]:
    """Fuzzed records of every policy (tests/fuzz/records.py) written as JSON lines, as
    `json.dumps` writes them (escaped and not, NaN and ±Infinity included)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fuzz.records import fuzz_record

    rng = random.Random(20261201)
    out = []
    for policy_path in POLICIES:
        policy = load_policy(ROOT / policy_path).policy
        for i in range(n // len(POLICIES)):
            record = fuzz_record(rng, policy)
            try:
                text = json.dumps(record, ensure_ascii=bool(i % 2))
            except (TypeError, ValueError):  # tuples are fine; bytes, non-str keys or >4,300 digits are not JSON
                continue
            out.append(text.encode("utf-8", "surrogatepass"))
    return out


@pytest.mark.parametrize("raw", _lines() + _fuzzed_lines(), ids=lambda raw: raw[:40].decode("utf-8", "replace"))
def test_the_fast_decoder_answers_only_as_the_standard_one(raw: bytes) -> None:
    fast = R.fast_object(raw + b"\n")
    slow = slow_record(raw + b"\n")
    if fast is not None:
        assert slow.error is None, slow.error
        assert canon(fast) == canon(slow.data)


@pytest.mark.parametrize("raw", [b'{"a": 9223372036854775808}', b'{"a": -9223372036854775809}',
                                 ('{"a": ' + "7" * 2000 + "}").encode()])
def test_a_lowered_integer_limit_sends_big_integers_to_the_standard_decoder(raw: bytes) -> None:
    old = sys.get_int_max_str_digits()
    R.fast_decoder()  # loaded first
    sys.set_int_max_str_digits(1000)  # a program's own setting (the engine never changes it)
    try:
        assert R.fast_decoder() is R._fast_decode_i64
        assert R.fast_object(raw, R.fast_decoder()) is None
        assert slow_record(raw).error is not None or len(raw) < 100
    finally:
        sys.set_int_max_str_digits(old)
    assert R.fast_decoder() is R._fast_decode


def _read_all(path: Path, policy) -> list:
    with R.open_records(str(path), policy, "jsonl", allow_empty=True) as source:
        return [(r.label, canon(r.data), r.error) for r in source]


def test_a_file_reads_to_the_same_records_with_and_without_the_fast_decoder(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "mixed.jsonl"
    good = [json.dumps({"user_id": f"u{i}", **GOLD, "credit_score": 600 + i}).encode() for i in range(50)]
    lines = [x for pair in zip(good, _lines()) for x in pair]
    src.write_bytes(b"\n".join(lines) + b"\n")
    policy = load_policy(D11).policy
    fast = _read_all(src, policy)
    assert R.fast_decoder() is not None  # loaded: the patches below are what it returns
    monkeypatch.setattr(R, "_fast_decode", None)
    monkeypatch.setattr(R, "_fast_decode_i64", None)
    assert R.fast_decoder() is None
    assert _read_all(src, policy) == fast
    assert sum(1 for _, _, e in fast if e is None) >= 50


def test_an_ordinary_line_takes_the_fast_decoder() -> None:
    line = json.dumps({"user_id": "u1", **GOLD}).encode() + b"\n"
    assert R.fast_object(line) == {"user_id": "u1", **GOLD}
    assert R.fast_object(json.dumps({**GOLD, "note": "12:30 \"ok\""}).encode()) is None  # `:` and `\`: slow
    assert R.fast_object(json.dumps({**GOLD, "note": "12:30"}).encode()) is not None  # `:` only: counted quotes


# -- encoding -----------------------------------------------------------------------------------

def _reference(decision, lang, record_id) -> str:
    data = render.decision_dict(decision, lang)
    if record_id is not None:
        data = {"record_id": record_id, **data}
    return render.dumps(data, None)


def _decisions():
    sys.path.insert(0, str(ROOT / "tests"))
    from fuzz.records import fuzz_record

    rng = random.Random(7)
    for policy_path in POLICIES:
        cp = load_policy(ROOT / policy_path)
        for _ in range(1500):
            record = fuzz_record(rng, cp.policy)
            for undeclared in ("warn", "ignore"):
                try:
                    yield cp.evaluate(record, undeclared=undeclared)
                except FactsError:
                    pass


def test_the_line_encoder_writes_the_bytes_json_writes() -> None:
    n = 0
    for decision in _decisions():
        for lang in (None, "en", "zh"):
            for record_id in (None, "u1", "é\u2028\"", 7, -0.0, 10**30):
                got = render.to_json(decision, lang, indent=None, record_id=record_id)
                assert got == _reference(decision, lang, record_id)
                n += 1
    assert n > 10000


def test_the_line_encoder_on_decisions_of_hand_and_with_warnings() -> None:
    cp = load_policy(D11)
    d = cp.evaluate({**GOLD, "nickname": "x"})
    assert d.warnings and render.to_json(d, indent=None) == _reference(d, None, None)
    odd = d._replace(decided_by=list(d.decided_by), outputs={"coupon_yuan": 50.0})  # not hashable, a float
    assert render.to_json(odd, indent=None) == _reference(odd, None, None)
    nan = d._replace(outputs={"coupon_yuan": math.nan, "x": [1, {"b": None}], "y": True})
    assert render.to_json(nan, indent=None) == _reference(nan, None, None)


def test_the_cli_batch_writes_the_json_it_wrote_before(tmp_path: Path) -> None:
    """JSONL and CSV in, JSON lines out: each line is `dumps(decision_dict)` of the
    decision `evaluate` makes of the record (the id first)."""
    cp = load_policy(D11)
    rng = random.Random(3)
    users = [{"user_id": f"u{i}", **GOLD, "credit_score": rng.randint(300, 950),
              "overdue_count_12m": rng.randint(0, 5), "overdue_days": rng.choice([0, 2, 40]),
              "membership": rng.choice(["basic", "silver", "gold", "platinum"]), "frozen": rng.random() < 0.1}
             for i in range(300)]
    src = tmp_path / "u.jsonl"
    src.write_text("".join(json.dumps(u) + "\n" for u in users), encoding="utf-8")
    r = CliRunner().invoke(main, ["eval", "-p", D11, "--id", "user_id", str(src)])
    assert r.exit_code == 0, r.output
    want = "".join(_reference(cp.evaluate({k: v for k, v in u.items() if k != "user_id"}), None, u["user_id"]) + "\n"
                   for u in users)
    assert r.stdout == want
    csv = tmp_path / "u.csv"
    cols = list(users[0]) + ["extra"]
    csv.write_text(",".join(cols) + "\n" + "".join(
        ",".join(("true" if u[c] else "false") if isinstance(u.get(c), bool) else str(u.get(c, "z"))
                 for c in cols) + "\n"
        for u in users), encoding="utf-8")
    r = CliRunner().invoke(main, ["eval", "-p", D11, "--id", "user_id", str(csv)])
    assert r.exit_code == 0, r.output
    assert r.stdout == want  # the same lines, from CSV
    assert r.stderr.splitlines()[-1] == f"verdict: warning: {csv}:2: undeclared fact `extra` ignored (in 300 records)"


# -- integers beyond 4,300 digits ---------------------------------------------------------------

HUGE_POLICY = """\
policy: p
version: 1
facts:
  x: {type: integer}
outcomes: [a, b]
default: b
outputs:
  points: {type: integer, default: 0, combine: sum}
rules:
  - id: r
    when: {x: {gte: 5}}
    then: {outcome: a, set: {points: 1}, message: "x is {x}"}
"""


@pytest.mark.parametrize("value", [10**4300, -(10**4300) - 1, 3**30000, 10**4299],
                         ids=["1e4300", "-1e4300-1", "3^30000", "1e4299"])
def test_integers_of_any_size_are_written_in_full(value: int) -> None:
    from engine import load_policy_text

    cp = load_policy_text(HUGE_POLICY)
    digits = int_digits(value)
    for trace in (False, True):
        d = cp.evaluate({"x": value}, trace=trace)
        for indent in (None, 2):
            text = render.to_json(d, indent=indent)
            back = json.loads(text, parse_int=int_from_digits)
            if value >= 5:
                assert back["messages"][0]["message"] == f"x is {digits}"
            if trace:
                assert back["facts"] == {"x": value}
                assert back["rules"][0]["conditions"][0]["actual"] == value
        assert digits in cp.explain(d, counterfactuals=False) or value < 5
    assert int_from_digits(digits) == value and int_digits(value) == digits


def test_the_one_value_formatter_writes_every_digit() -> None:
    from engine.language.values import format_value

    sys.set_int_max_str_digits(sys.get_int_max_str_digits())  # unchanged: the limit stays where it is
    for value in (0, -1, 10**4300 - 1, 10**4300, -(7**9000)):
        assert int_from_digits(format_value(value)) == value
        assert format_value(value) == int_digits(value)


# -- undeclared keys ----------------------------------------------------------------------------

def test_the_api_keeps_its_warnings_and_offers_ignore_and_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    cp = load_policy(D11)
    record = {"user_id": "u1", **GOLD}
    warned = cp.evaluate(record)
    assert warned.warnings == ("undeclared fact `user_id` ignored",)
    assert '"warnings":["undeclared fact `user_id` ignored"]' in cp.to_json(warned, indent=None)
    quiet = cp.evaluate(record, undeclared="ignore")
    assert quiet == warned._replace(warnings=())
    assert "warnings" not in cp.to_json(quiet)
    with pytest.raises(FactsError, match="undeclared fact `user_id` refused"):
        cp.evaluate(record, undeclared="refuse")
    with pytest.raises(FactsError) as exc:  # every problem of the record, not only that one
        cp.evaluate({**record, "credit_score": "x"}, undeclared="refuse")
    assert len(exc.value.problems) == 2
    assert cp.evaluate(GOLD, undeclared="refuse") == cp.evaluate(GOLD)
    with pytest.raises(ValueError, match="undeclared must be one of"):
        cp.evaluate(record, undeclared="sometimes")
    for options in ({"trace": True}, {"backend": "durable"}):
        if options.get("backend") == "durable":
            pytest.importorskip("durable")
        assert cp.evaluate(record, undeclared="ignore", **options) == cp.evaluate(record, **options)._replace(
            warnings=())


def test_a_record_with_an_extra_key_stays_on_the_generated_path(monkeypatch: pytest.MonkeyPatch) -> None:
    cp = load_policy(D11)
    native = cp.ruleset.native

    def no_slow(*a, **k):
        raise AssertionError("took the generic path")

    monkeypatch.setattr(native, "slow", no_slow)
    monkeypatch.setattr(native, "slow_open", no_slow)
    native._globals.update(_slow=no_slow, _slow_open=no_slow)
    d = native.decide_open({"user_id": "u1", **GOLD, "extra": [1]})
    assert d.outcome == "gold" and list(d.facts) == list(cp.policy.facts) and d.warnings == ()
    assert native.decide_open(dict(GOLD)).facts == GOLD


def _cli(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_undeclared_warn_once_is_one_line_for_the_batch(tmp_path: Path) -> None:
    src = tmp_path / "u.jsonl"
    src.write_text("".join(json.dumps({"user_id": f"u{i}", **GOLD, **({"a": 1} if i % 2 else {"b": 2})}) + "\n"
                           for i in range(4)), encoding="utf-8")
    r = _cli("eval", "-p", D11, "--id", "user_id", str(src))
    assert r.exit_code == 0, r.output
    warnings = [ln for ln in r.stderr.splitlines() if "warning" in ln]
    assert warnings == [f"verdict: warning: {src}:1: undeclared facts `b`, `a` ignored (in 4 records)"]
    assert all("warnings" not in json.loads(x) for x in r.stdout.splitlines())
    r = _cli("eval", "-p", D11, "--undeclared", "ignore", str(src))
    assert r.exit_code == 0 and "warning" not in r.stderr and "undeclared" not in r.stderr
    r = _cli("eval", "-p", D11, "--id", "user_id", "--undeclared", "refuse", str(src))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == f"verdict: {src}:1: undeclared fact `b` refused"
    r = _cli("eval", "-p", D11, "--id", "user_id", "--undeclared", "refuse", "--on-error", "skip", "--allow-empty",
             str(src))
    assert r.exit_code == 0 and r.stdout == "" and "4 records skipped" in r.stderr
    r = _cli("eval", "-p", D11, "--id", "user_id", "--undeclared", "refuse", "--on-error", "skip", str(src))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == ("verdict: no record decided: all 4 records read were skipped "
                                         "(--allow-empty accepts a run that decides none)")


def test_the_id_field_never_counts_as_undeclared(tmp_path: Path) -> None:
    src = tmp_path / "u.jsonl"
    src.write_text(json.dumps({"user_id": "u1", **GOLD}) + "\n" + json.dumps({**GOLD, "user_id": 7}) + "\n",
                   encoding="utf-8")
    for mode in ("warn-once", "ignore", "refuse"):
        r = _cli("eval", "-p", D11, "--id", "user_id", "--undeclared", mode, str(src))
        assert r.exit_code == 0, r.output
        assert "undeclared" not in r.stderr
        assert [json.loads(x)["record_id"] for x in r.stdout.splitlines()] == ["u1", 7]


def test_a_missing_fact_and_an_extra_key_in_a_record_of_the_declared_size(tmp_path: Path) -> None:
    """Same number of keys as declared facts, one of them undeclared: the generic path,
    and the extra key is reported (or refused) all the same."""
    policy = tmp_path / "p.yaml"
    optional = HUGE_POLICY.replace("x: {type: integer}", "x: {type: integer}\n  y: {type: integer, required: false}")
    policy.write_text(optional, encoding="utf-8")
    src = tmp_path / "u.json"
    src.write_text(json.dumps({"x": 7, "nickname": "x"}), encoding="utf-8")
    r = _cli("eval", "-p", str(policy), str(src))
    assert r.exit_code == 0, r.output
    assert r.stderr == f"verdict: warning: {src}: undeclared fact `nickname` ignored\n"
    out = json.loads(r.stdout)
    assert "warnings" not in out and out["missing_facts"] == ["y"]
    r = _cli("eval", "-p", str(policy), "--undeclared", "refuse", str(src))
    assert r.exit_code == 2 and "undeclared fact `nickname` refused" in r.stderr
    r = _cli("explain", "-p", str(policy), "--undeclared", "ignore", str(src))
    assert r.exit_code == 0 and r.stderr == ""


def test_the_option_is_documented() -> None:
    cli = (ROOT / "docs" / "cli.md").read_text("utf-8")
    api = (ROOT / "docs" / "api.md").read_text("utf-8")
    assert "--undeclared ignore|warn-once|refuse" in cli and "msgspec" in cli
    assert "`undeclared=`" in api and "`\"ignore\"`" in api and "`\"refuse\"`" in api
