"""Language v2 at the surface (issue 13): `--as-of` on every command that decides or
analyses, the evaluation date in decisions and suites, exact decimals and dates in every
output format, presence tests and relative dates in explanations, wait counterfactuals,
and `verdict diff --facts` totals of numeric outputs."""

from __future__ import annotations

import dataclasses
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine.explain.render as explain
from engine.analysis.counterfactuals import Change
from engine.analysis.diff import OutputTotals, diff_policies, numeric_outputs, summary
from engine.api import load_policy
from engine.cli.common import AsOf
from engine.cli.main import main
from engine.evaluate import evaluate
from engine.language.model import FactSpec
from engine.runtime.decision import Decision

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "v2_surface"
GOLDEN = ROOT / "tests" / "golden" / "v2_surface"
D11 = "policies/double11-coupon.yaml"
GOLD = {"credit_score": 720, "overdue_days": 0, "overdue_count_12m": 0, "membership": "gold",
        "monthly_spend": 1500, "account_age_days": 400, "frozen": False, "loan_applications_30d": 1,
        "credit_utilization": 0.35}
DAY = datetime.date(2026, 11, 11)


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def timed(policy):
    """The policy with an optional date fact nothing reads: it uses time."""
    facts = {**policy.facts, "opened_on": FactSpec("opened_on", "date", required=False)}
    return dataclasses.replace(policy, facts=facts, timezone="Asia/Shanghai")


def dated(decision: Decision, policy, as_of) -> Decision:
    """`decision` of `policy` with its evaluation date (the twelfth field)."""
    return Decision((policy,) + tuple(decision)[1:11] + (as_of,))


@dataclasses.dataclass(frozen=True)
class Waiting:
    """A counterfactual as engine.analysis.counterfactuals gives one that waits."""

    outcome: str
    changes: tuple
    distance: float
    wait_days: int = 0
    date: datetime.date | None = None


# -- --as-of on the command line ------------------------------------------------------------

BAD_DAYS = ["2026-02-30", "2026-13-01", "20261111", "2026-W46-3", "today", "2026-11-11T00:00", "２０２６-11-11", ""]


@pytest.mark.parametrize("value", BAD_DAYS)
@pytest.mark.parametrize("command", [
    ["eval", "-p", D11, "examples/user-gold.json"],
    ["explain", "-p", D11, "examples/user-gold.json"],
    ["test", "policies/double11-coupon.test.yaml"],
    ["diff", D11, D11],
    ["validate", D11],
])
def test_an_as_of_that_is_not_a_day_is_one_line_and_exit_2(command, value):
    r = run(*command, "--as-of", value)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert r.stderr == f"verdict: --as-of: `{value}` is not a date (YYYY-MM-DD, a calendar day such as 2026-11-11)\n"


def test_as_of_changes_nothing_for_a_policy_without_time():
    plain = run("eval", "-p", D11, "examples/user-gold.json")
    for command in (["eval", "-p", D11, "examples/user-gold.json"], ["explain", "-p", D11, "examples/user-gold.json"]):
        assert run(*command, "--as-of", "2030-01-01").stdout == run(*command).stdout
    assert '"as_of"' not in plain.stdout
    assert run("test", "policies/double11-coupon.test.yaml", "--as-of", "2030-01-01").exit_code == 0
    assert run("diff", D11, D11, "--as-of", "2030-01-01", "--format", "json").stdout == \
        run("diff", D11, D11, "--format", "json").stdout


def shanghai_today() -> datetime.date:
    """Today where cash-loan-limit and the timed double11 variant decide."""
    return datetime.datetime.now(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date()


def test_the_evaluation_date_is_resolved_once_per_timezone():
    policy = load_policy(D11).policy
    assert AsOf(DAY)(policy) is None  # no time: no date anywhere
    shanghai = timed(policy)
    assert AsOf(DAY)(shanghai) == DAY
    dates = AsOf()
    before = shanghai_today()
    first = dates(shanghai)
    assert first in (before, shanghai_today())  # (a run may straddle midnight)
    assert dates(shanghai) is first  # once for the run, not per record


# -- decisions: as_of, Decimals, dates ------------------------------------------------------

def gold_decision(trace=True):
    return evaluate(load_policy(D11).ruleset, GOLD, trace=trace)


def test_a_decision_of_a_policy_with_time_records_its_day_in_every_format():
    base = gold_decision()
    policy = timed(base.policy)
    d = dated(base, policy, DAY)
    data = explain.decision_dict(d)
    assert list(data)[:4] == ["policy", "version", "policy_digest", "as_of"] and data["as_of"] == "2026-11-11"
    assert explain.explain_text(d).splitlines()[0] == "GOLD  double11-coupon v1  (Gold tier)  as of 2026-11-11"
    assert explain.explain_markdown(d).splitlines()[0] == "### Gold tier — `double11-coupon` v1, as of 2026-11-11"
    # A policy without time: no key, the head as it always was.
    assert "as_of" not in explain.decision_dict(base)
    assert explain.explain_text(base).splitlines()[0] == "GOLD  double11-coupon v1  (Gold tier)"


def test_the_line_encoder_writes_as_of_decimals_and_dates_as_to_json_does():
    base = gold_decision(trace=False)
    policy = timed(base.policy)
    cases = [
        dated(base, policy, DAY),
        dated(base._replace(outputs={"coupon_yuan": Decimal("6148.14")}), policy, DAY),
        dated(base._replace(outputs={"coupon_yuan": Decimal("6100")}), policy, None),
        dated(base._replace(outputs={"coupon_yuan": Decimal("-0.3")}, facts={**base.facts, "opened_on": DAY}),
              policy, DAY),
    ]
    for d in cases:
        line = explain.line_encoder(policy).encode(d, None)
        assert line == explain.dumps(explain.decision_dict(d))
        assert explain.line_encoder(policy).encode(d, "u-1") == explain.dumps({"record_id": "u-1",
                                                                               **explain.decision_dict(d)})
    assert '"as_of":"2026-11-11","outcome":"gold"' in explain.line_encoder(policy).encode(cases[0], None)
    assert '"outputs":{"coupon_yuan":6148.14}' in explain.line_encoder(policy).encode(cases[1], None)
    assert '"as_of"' not in explain.line_encoder(policy).encode(cases[2], None)  # a hand-made one without


def test_decimals_are_json_numbers_of_their_decimal_text_and_dates_iso_text():
    base = gold_decision()
    policy = timed(base.policy)
    third = Decimal(1) / Decimal(3)
    d = dated(base._replace(outputs={"coupon_yuan": third}, facts={**base.facts, "opened_on": DAY}), policy, DAY)
    pretty = explain.to_json(d)
    assert '"coupon_yuan": 0.3333333333333333333333333333' in pretty  # not the float's 0.3333333333333333
    assert '"opened_on": "2026-11-11"' in pretty
    assert json.loads(pretty, parse_float=Decimal)["outputs"]["coupon_yuan"] == third
    assert explain.dumps([Decimal("6100"), Decimal("0.1")]) == "[6100,0.1]"
    with pytest.raises(TypeError):
        explain.dumps({"x": object()})  # anything else json cannot encode still fails


# -- explanations of presence tests and relative dates --------------------------------------

def test_wait_counterfactuals_in_json_text_and_markdown():
    d = gold_decision()
    waiting = Waiting("platinum", (), 0.0, 81, datetime.date(2027, 1, 31))
    with_change = Waiting("platinum", (Change("monthly_spend", 1500, 3000),), 0.5, 1, datetime.date(2026, 11, 12))
    now = Waiting("platinum", (Change("monthly_spend", 1500, 3000),), 0.5)
    dicts = explain.counterfactual_dicts(d, [waiting, with_change, now])
    assert dicts[0]["changes"] == {} and dicts[0]["steps"] == [] and dicts[0]["facts_changed"] == 0
    assert (dicts[0]["wait_days"], dicts[0]["date"]) == (81, "2027-01-31")
    assert list(dicts[1]).index("wait_days") == list(dicts[1]).index("facts_changed") + 1
    assert "wait_days" not in dicts[2] and "date" not in dicts[2]
    assert explain.describe_counterfactual(d, waiting, None) == \
        "⇒ platinum on 2027-01-31 (in 81 days), if nothing else changes"
    assert explain.describe_counterfactual(d, with_change, None) == \
        "⇒ platinum on 2026-11-12 (in 1 day) if: monthly_spend 1500 → 3000 (Spend more with the platform each month)"
    text = explain.explain_text(d, counterfactuals=[waiting, now])
    assert "To change this: ⇒ platinum on 2027-01-31 (in 81 days), if nothing else changes\n" \
           "            or: monthly_spend 1500 → 3000 (Spend more with the platform each month) ⇒ platinum\n" in text
    md = explain.explain_markdown(d, counterfactuals=[waiting])
    assert "- ⇒ platinum on 2027-01-31 (in 81 days), if nothing else changes (Platinum tier)\n" in md
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "decision.schema.json").read_text("utf-8"))
    jsonschema.validate(json.loads(explain.to_json(d, counterfactuals=[waiting, with_change, now])), schema)
    bad = json.loads(explain.to_json(d, counterfactuals=[now]))
    bad["counterfactuals"][0].update(changes={}, steps=[], facts_changed=0)  # no change and no wait
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad["counterfactuals"][0].update(wait_days=3)  # a wait without its day
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# -- diff --facts: totals of numeric outputs -------------------------------------------------

def test_output_totals_are_exact_and_the_mean_keeps_28_digits():
    assert summary(3, 100, 250) == {"records": 3, "old_total": 100, "new_total": 250, "total_change": 150,
                                    "mean_change": Decimal("50")}
    s = summary(3, Decimal("0.1"), 1)
    assert s["total_change"] == Decimal("0.9") and s["mean_change"] == Decimal("0.3")
    assert summary(0, 0, 0)["mean_change"] is None
    assert str(summary(3, 0, 1)["mean_change"]) == "0.3333333333333333333333333333"
    assert str(summary(1, Decimal("6E+3"), Decimal("6000.50"))["new_total"]) == "6000.5"
    assert str(summary(1, Decimal("6E+3"), 0)["old_total"]) == "6000"
    p = load_policy(D11).policy
    totals = OutputTotals(p, p)
    for old, new in ((0.1, 0.2), (0.2, 0.1), (1, Decimal("0.7"))):
        totals.add({"coupon_yuan": old}, {"coupon_yuan": new})
    got = totals.result()["coupon_yuan"]
    assert (got["old_total"], got["new_total"], got["total_change"]) == (Decimal("1.3"), Decimal("1"), Decimal("-0.3"))
    assert got["mean_change"] == Decimal("-0.1") and got["records"] == 3


def test_numeric_outputs_are_those_both_versions_declare_numeric():
    p = load_policy(D11).policy
    assert numeric_outputs(p, p) == ["coupon_yuan"]
    spec = p.outputs["coupon_yuan"]
    texty = dataclasses.replace(p, outputs={"coupon_yuan": dataclasses.replace(spec, type="string")})
    assert numeric_outputs(p, texty) == [] and OutputTotals(p, texty).result() is None


def test_diff_facts_totals_in_json_text_and_markdown(tmp_path, request):
    new = tmp_path / "new.yaml"
    new.write_text((ROOT / D11).read_text("utf-8").replace("coupon_yuan: 50", "coupon_yuan: 55"), "utf-8")
    args = ("diff", D11, new, "--facts", "examples/users.csv")
    doc = json.loads(run(*args, "--format", "json").stdout)
    assert doc["records"]["outputs"] == {"coupon_yuan": {
        "records": 6, "old_total": 100, "new_total": 110, "total_change": 10,
        "mean_change": 1.666666666666666666666666667}}
    assert '"mean_change": 1.666666666666666666666666667,' in run(*args, "--format", "json").stdout
    text = run(*args).stdout
    assert text.endswith("outputs (over the 6 records both versions decided):\n"
                         "  coupon_yuan: total 100 → 110 (+10), mean change +1.666666666666666666666666667\n")
    md = run(*args, "--format", "markdown").stdout
    assert md.endswith("**Outputs** (over the 6 records both versions decided)\n\n"
                       "| output | old total | new total | total change | mean change |\n"
                       "|---|---:|---:|---:|---:|\n"
                       "| `coupon_yuan` | 100 | 110 | +10 | +1.666666666666666666666666667 |\n")
    # Without --facts, no records and no totals.
    assert "outputs" not in json.loads(run("diff", D11, new, "--format", "json").stdout).get("records", {})


def test_diff_json_is_what_json_dumps_wrote_for_documents_without_decimals():
    old, new = load_policy(D11).policy, load_policy(D11).policy
    from engine.analysis.diff import render_json, to_dict

    d = diff_policies(old, new)
    assert render_json(d) == json.dumps(to_dict(d), ensure_ascii=False, indent=2, sort_keys=True, default=list) + "\n"


# -- suites: as_of per suite and per case ----------------------------------------------------

SUITE = """\
policy: d11.yaml
{top}cases:
  - name: gold
    {case}facts: {facts}
    expect: {{outcome: gold}}
  - name: gold again
    facts: {facts}
    expect: {{outcome: gold}}
"""


def load_suite_text(tmp_path, text: str, policy, as_of=None):
    from engine.suites.load import load_suite

    (tmp_path / "d11.yaml").write_text((ROOT / D11).read_text("utf-8"), "utf-8")
    path = tmp_path / "d11.test.yaml"
    path.write_text(text, "utf-8")
    return load_suite(str(path), text.encode(), lambda _: (policy, []), as_of)


def suite_text(top="", case=""):
    return SUITE.format(top=top, case=case, facts=json.dumps(GOLD))


def test_a_suite_of_a_policy_with_time_must_fix_its_date(tmp_path):
    policy = timed(load_policy(D11).policy)
    suite, diags = load_suite_text(tmp_path, suite_text(), policy)
    assert suite is None
    assert [(d.code, d.line) for d in diags] == [("test-missing-as-of", 1)]
    assert "`double11-coupon` uses time" in diags[0].message and "every case" in diags[0].message
    assert "as_of: YYYY-MM-DD" in diags[0].hint
    # One case with a date, the other without: located at the one without.
    suite, diags = load_suite_text(tmp_path, suite_text(case="as_of: 2026-11-11\n    "), policy)
    assert [(d.code, d.line) for d in diags] == [("test-missing-as-of", 7)]
    assert "1 case (the first: `gold again`)" in diags[0].message


def test_the_case_date_wins_over_the_suite_date_which_wins_over_the_run(tmp_path):
    policy = timed(load_policy(D11).policy)
    suite, diags = load_suite_text(tmp_path, suite_text(top="as_of: 2026-11-11\n", case="as_of: '2027-01-31'\n    "),
                                   policy, as_of=datetime.date(2030, 1, 1))
    assert diags == [] and suite.as_of == DAY
    assert [c.as_of for c in suite.cases] == [datetime.date(2027, 1, 31), DAY]
    suite, diags = load_suite_text(tmp_path, suite_text(), policy, as_of=datetime.date(2030, 1, 1))
    assert diags == [] and [c.as_of for c in suite.cases] == [datetime.date(2030, 1, 1)] * 2
    # A policy without time: no date on its cases, whatever the file says.
    suite, diags = load_suite_text(tmp_path, suite_text(top="as_of: 2026-11-11\n"), load_policy(D11).policy)
    assert diags == [] and [c.as_of for c in suite.cases] == [None, None]


@pytest.mark.parametrize("top,case,line", [
    ("as_of: 2026-02-30\n", "", 2),
    ("as_of: 2026-11-11\n", "as_of: 2026-02-29\n    ", 5),
])
def test_an_as_of_that_is_no_calendar_day_is_located(tmp_path, top, case, line):
    suite, diags = load_suite_text(tmp_path, suite_text(top=top, case=case), timed(load_policy(D11).policy))
    assert suite is None and [(d.code, d.line) for d in diags] == [("test-bad-as-of", line)]
    assert "is not a calendar day" in diags[0].message


@pytest.mark.parametrize("value", ["2026-1-1", "20261111", "tomorrow", 20261111])
def test_an_as_of_not_written_yyyy_mm_dd_is_a_schema_error(tmp_path, value):
    text = suite_text(top=f"as_of: {json.dumps(value)}\n")
    suite, diags = load_suite_text(tmp_path, text, timed(load_policy(D11).policy))
    assert suite is None and diags and all(d.code.startswith("schema-") for d in diags) and diags[0].line == 2


def test_expected_outputs_compare_with_computed_decimals_as_the_decimal_written():
    from engine.suites.model import Expect
    from engine.suites.run import check_expectations

    d = gold_decision()._replace(outputs={"coupon_yuan": Decimal("6148.14")})
    for want in (6148.14, Decimal("6148.140")):
        assert check_expectations(Expect(outputs=(("coupon_yuan", want),)), d) == []
    for want in (6148.15, 6148, True, "6148.14"):
        failures = check_expectations(Expect(outputs=(("coupon_yuan", want),)), d)
        assert [f.check for f in failures] == ["outputs"]
    assert check_expectations(Expect(outputs=(("coupon_yuan", 6100),)),
                              d._replace(outputs={"coupon_yuan": Decimal("6100")})) == []


def test_the_diagnostics_report_writes_a_date_witness_as_iso_text():
    from engine.explain.report import render_json
    from engine.language.diagnostics import WARNING, Diagnostic

    d = Diagnostic("gap", "no rule decides", WARNING, file="p.yaml", line=3, column=1,
                   witness={"last_overdue_date": datetime.date(2026, 5, 15), "score": 700})
    doc = json.loads(render_json([d], ["p.yaml"]))
    assert doc["diagnostics"][0]["witness"] == {"last_overdue_date": "2026-05-15", "score": 700}


# -- the example policy end to end (cash-loan-limit, on 2026-11-11) --------------------------

CASH = "tests/fixtures/v2_surface/cash-loan-limit.yaml"
REPAIR = "tests/fixtures/v2_surface/user-repair.json"  # last overdue 100 days before 2026-11-11
CLEAN = {"credit_score": 720, "overdue_days": 0, "account_age_days": 400, "membership": "basic",
         "current_limit_yuan": 5123.45}
EXT = {"text": "txt", "markdown": "md", "json": "json"}
DECISION_SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text("utf-8"))


@pytest.mark.parametrize("fmt", EXT)
def test_explain_as_of_goldens_of_the_credit_repair_user(fmt, request):
    """`verdict explain --as-of 2026-11-11` for the issue's done-when user. The
    counterfactuals are engine.analysis.counterfactuals' (the next test renders the wait)."""
    from conftest import golden
    import jsonschema

    r = run("explain", "-p", CASH, "--as-of", "2026-11-11", REPAIR, "--format", fmt, "--no-counterfactuals")
    assert r.exit_code == 0, r.output
    golden(GOLDEN / f"explain-repair.{EXT[fmt]}", r.stdout, request)
    if fmt == "json":
        jsonschema.validate(json.loads(r.stdout), DECISION_SCHEMA)


def repair_decision():
    policy = load_policy(CASH)
    return policy, policy.evaluate(json.loads((ROOT / REPAIR).read_text("utf-8")), trace=True, as_of=DAY)


def render_goldens(name: str, d, cfs, request) -> str:
    from conftest import golden
    import jsonschema

    text = explain.explain_text(d, counterfactuals=cfs)
    golden(GOLDEN / f"{name}.txt", text, request)
    golden(GOLDEN / f"{name}.md", explain.explain_markdown(d, counterfactuals=cfs), request)
    out = explain.to_json(d, counterfactuals=cfs) + "\n"
    golden(GOLDEN / f"{name}.json", out, request)
    jsonschema.validate(json.loads(out), DECISION_SCHEMA)
    return text


def test_the_credit_repair_path_rendered_in_every_format(request):
    """The raise reached by waiting alone, 81 days (on 2027-01-31), as
    engine.analysis.counterfactuals gives it for the done-when user."""
    _, d = repair_decision()
    assert d.outcome == "keep" and d.as_of == DAY
    text = render_goldens("explain-repair-wait", d, [Waiting("raise", (), 0.0, 81, datetime.date(2027, 1, 31))],
                          request)
    assert "To change this: ⇒ raise on 2027-01-31 (in 81 days), if nothing else changes\n" in text


def test_waiting_with_a_change_rendered_in_every_format(request):
    """A user 5 days overdue (a cut): repaying keeps the limit today; repaying and waiting
    until the clean period ends raises it."""
    policy, _ = repair_decision()
    d = policy.evaluate({**json.loads((ROOT / REPAIR).read_text("utf-8")), "overdue_days": 5}, trace=True, as_of=DAY)
    assert d.outcome == "cut"
    repay = (Change("overdue_days", 5, 0),)
    text = render_goldens("explain-overdue-wait", d, [Waiting("keep", repay, 0.1), Waiting(
        "raise", repay, 0.1, 81, datetime.date(2027, 1, 31))], request)
    assert "To change this: overdue_days 5 → 0 (Repay the overdue balance) ⇒ keep\n" \
           "            or: ⇒ raise on 2027-01-31 (in 81 days) if: overdue_days 5 → 0 (Repay the overdue balance)\n" \
        in text


def test_computed_limits_and_formatted_messages_to_the_cent():
    """5,123.45 × 1.2 = 6,148.14 → 6,100 (down to 100 yuan); × 0.5 = 2,561.725 → 2,500."""
    policy = load_policy(CASH)
    raised = policy.evaluate(CLEAN, as_of=DAY)
    line = explain.to_json(raised, indent=None)
    assert '"as_of":"2026-11-11","outcome":"raise"' in line
    assert '"outputs":{"new_limit_yuan":6100,"limit_change_yuan":976.55}' in line
    assert "Your credit limit is raised to ¥6,100." in line
    cut = policy.evaluate({**CLEAN, "overdue_days": 5}, as_of=DAY, trace=True)
    assert cut.outputs == {"new_limit_yuan": Decimal("2500"), "limit_change_yuan": Decimal("-2623.45")}
    text = explain.explain_text(cut, lang="zh")
    assert "您的还款已逾期5天，额度下调至2,500.00元。" in text
    assert "Outputs: new_limit_yuan = 2500, limit_change_yuan = -2623.45" in text
    for d in (raised, cut):  # the line encoder and the dict agree, with a record id too
        assert explain.to_json(d, indent=None, trace=False, record_id=7) == \
            explain.dumps({"record_id": 7, **explain.decision_dict(d, trace=False)})


def test_presence_tests_and_relative_dates_in_the_trace():
    _, d = repair_decision()
    rule = d.policy.rule("clean-period")
    shown = [explain.describe_leaf(leaf, d, res) for leaf, res, _ in explain.rule_conditions(rule, d)]
    assert shown == ["last_overdue_date is present",
                     "last_overdue_date 2026-08-03 ≥ clean_days (180) days ago (2026-05-15)"]
    conds = {c["op"]: c for c in explain.decision_dict(d)["rules"][rule.index]["conditions"]}
    assert conds["missing"]["expected"] is False and conds["missing"]["actual"] == datetime.date(2026, 8, 3)
    assert conds["gte"]["expected"] == datetime.date(2026, 5, 15) and conds["gte"]["threshold"] == "clean_days"
    never = load_policy(CASH).evaluate(CLEAN, as_of=DAY, trace=True)
    std = never.policy.rule("raise-standard")
    assert "last_overdue_date is missing" in [explain.describe_leaf(lf, never, r)
                                               for lf, r, _ in explain.rule_conditions(std, never)]


def test_eval_as_of_is_recorded_and_a_batch_shares_one_day(tmp_path):
    users = tmp_path / "u.jsonl"
    users.write_text("".join(json.dumps({**CLEAN, "last_overdue_date": day}) + "\n"
                             for day in ("2026-05-14", "2026-05-15", "2027-01-30")), "utf-8")
    r = run("eval", "-p", CASH, "--as-of", "2026-11-11", users)
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["as_of"] for x in lines] == ["2026-11-11"] * 3
    assert [x["outcome"] for x in lines] == ["raise", "keep", "keep"]  # clean before 2026-05-15 only
    later = [json.loads(x) for x in run("eval", "-p", CASH, "--as-of", "2027-07-30", users).stdout.splitlines()]
    assert [x["outcome"] for x in later] == ["raise", "raise", "raise"]
    today = [json.loads(x)["as_of"] for x in run("eval", "-p", CASH, users).stdout.splitlines()]
    assert len(set(today)) == 1 and today[0] == datetime.datetime.now(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_the_example_suite_runs_on_its_as_of_and_a_case_date_wins(tmp_path):
    # The shared suite of the example policy (without its `undetermined: []`, which the test
    # schema refuses: a check of no rule), kept under another suffix so that the repository's
    # count of test documents (tests/test_schema_check.py) stays the integrator's.
    (tmp_path / "cash-loan-limit.yaml").write_text((ROOT / CASH).read_text("utf-8"), "utf-8")
    suite = tmp_path / "example.test.yaml"
    suite.write_text((FIXTURES / "cash-loan-limit.suite").read_text("utf-8"), "utf-8")
    r = run("test", suite)
    assert r.exit_code == 0 and "16 passed" in r.stdout, r.output
    case = ("  - name: {name}\n{as_of}    facts: {facts}\n    expect: {{outcome: {outcome}}}\n")
    facts = json.dumps({**CLEAN, "last_overdue_date": "2026-08-03"})
    body = "".join(case.format(name=f"on {d or 'the suite day'}", as_of=f"    as_of: {d}\n" if d else "",
                               facts=facts, outcome=o)
                   for d, o in ((None, "keep"), ("2027-01-30", "keep"), ("2027-01-31", "raise")))
    dated_suite = tmp_path / "cash-loan-limit.test.yaml"
    dated_suite.write_text("as_of: 2026-11-11\ncases:\n" + body, "utf-8")
    r = run("test", dated_suite, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [c.get("as_of") for c in doc["files"][0]["cases"]] == ["2026-11-11", "2027-01-30", "2027-01-31"]
    # Without the suite's date: an invalid test file, unless the run gives one.
    dated_suite.write_text("cases:\n" + body, "utf-8")
    r = run("test", dated_suite)
    assert r.exit_code == 2 and "test-missing-as-of" in r.stderr and "1 case (the first: `on the suite day`)" \
        in r.stderr
    assert run("test", dated_suite, "--as-of", "2026-11-11").exit_code == 0
    assert run("test", dated_suite, "--as-of", "2027-02-01").exit_code == 1  # the first case raises then


def test_diff_totals_of_computed_limits_are_exact(tmp_path):
    """A raise factor of 1.3 instead of 1.2, over four users: the totals of the computed
    limits, exact to the cent, and the mean change to 28 digits."""
    from engine.analysis.diff import PolicyDiff, count_records, render_markdown, render_text
    from engine.io.records import read_records

    old = load_policy(CASH).policy
    new_path = tmp_path / "cash-1.3.yaml"
    new_path.write_text((ROOT / CASH).read_text("utf-8").replace("raise_factor: 1.2", "raise_factor: 1.3"), "utf-8")
    new = load_policy(new_path).policy
    users = tmp_path / "u.jsonl"
    rows = [CLEAN, {**CLEAN, "current_limit_yuan": 10000}, {**CLEAN, "overdue_days": 5},
            {**CLEAN, "last_overdue_date": "2026-08-03"}, {**CLEAN, "credit_score": "x"}]
    users.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    d = PolicyDiff(old, new, as_of=DAY)
    count_records(d, read_records(str(users), new))
    # old: 6100 + 12000 + 2500 + 5123.45; new: 6600 (6660.485 down) + 13000 + 2500 + 5123.45
    assert d.records == {"total": 5, "changed": 0, "skipped": 1}
    assert d.outputs["new_limit_yuan"] == {
        "records": 4, "old_total": Decimal("25723.45"), "new_total": Decimal("27223.45"),
        "total_change": Decimal("1500"), "mean_change": Decimal("375")}
    change = d.outputs["limit_change_yuan"]
    assert (change["old_total"], change["new_total"]) == (Decimal("976.55") + 2000 - Decimal("2623.45"),
                                                          Decimal("1476.55") + 3000 - Decimal("2623.45"))
    assert "  new_limit_yuan: total 25723.45 → 27223.45 (+1500), mean change +375" in render_text(d)
    assert "| `limit_change_yuan` | 353.1 | 1853.1 | +1500 | +375 |" in render_markdown(d)
    doc = json.loads(__import__("engine.analysis.diff", fromlist=["render_json"]).render_json(d))
    assert doc["as_of"] == "2026-11-11"
    assert doc["records"]["outputs"]["new_limit_yuan"]["old_total"] == 25723.45


# -- the date reaches analysis: validate, diff, generated suites -----------------------------

def test_validate_gives_the_analysis_its_date_and_none_to_a_policy_without_time(monkeypatch):
    import engine.analysis.findings as findings

    seen = []
    monkeypatch.setattr(findings, "analyse", lambda policy, **kw: seen.append((policy.id, kw)) or [])
    assert run("validate", CASH, D11, "--as-of", "2026-11-11").exit_code == 0
    assert seen == [("cash-loan-limit", {"as_of": DAY}), ("double11-coupon", {"as_of": None})]
    seen.clear()
    before = shanghai_today()
    assert run("validate", CASH).exit_code == 0
    assert seen in ([("cash-loan-limit", {"as_of": day})] for day in (before, shanghai_today()))


def test_diff_compares_and_counts_both_versions_on_one_day(tmp_path, monkeypatch):
    import engine.analysis.diff as policy_diff

    days = []
    monkeypatch.setattr(policy_diff, "_compare", lambda old, new, out, budget: days.append(out.as_of))
    new = tmp_path / "new.yaml"
    new.write_text((ROOT / CASH).read_text("utf-8").replace("clean_days: 180", "clean_days: 90"), "utf-8")
    users = tmp_path / "u.jsonl"
    users.write_text(json.dumps({**CLEAN, "last_overdue_date": "2026-08-03"}) + "\n", "utf-8")
    doc = json.loads(run("diff", CASH, new, "--facts", users, "--as-of", "2026-11-11", "--format", "json").stdout)
    assert days == [DAY] and doc["as_of"] == "2026-11-11"
    # 100 days after the last overdue repayment: kept under 180 clean days, raised under 90.
    assert doc["records"]["matrix"] == [{"from": "keep", "to": "raise", "count": 1}]
    assert doc["records"]["outputs"]["new_limit_yuan"]["total_change"] == 976.55  # 6100 - 5123.45, exactly
    assert "as of 2026-11-11" in run("diff", CASH, new, "--as-of", "2026-11-11").stdout.splitlines()[0]


def test_a_generated_suite_of_a_policy_with_time_is_made_on_the_runs_day(tmp_path, monkeypatch):
    import engine.suites.generate as generate

    seen = []
    monkeypatch.setattr(generate, "generate_boundary_suite",
                        lambda policy, ref, schema_ref, **kw: seen.append((policy.id, kw)) or "cases: []\n")
    for policy in (CASH, D11):
        assert run("test", "--generate-boundaries", policy, "-o", "-", "--as-of", "2026-11-11").exit_code == 0
    assert seen == [("cash-loan-limit", {"as_of": DAY}), ("double11-coupon", {"as_of": None})]


def test_diff_names_rules_reading_a_changed_threshold_in_relative_dates_and_expressions(tmp_path, monkeypatch):
    import engine.analysis.diff as policy_diff

    monkeypatch.setattr(policy_diff, "_compare", lambda old, new, out, budget: None)  # the fact space's part
    text = (ROOT / CASH).read_text("utf-8")
    old = load_policy(CASH).policy

    def diff_of(changed: str):
        path = tmp_path / "new.yaml"
        path.write_text(changed, "utf-8")
        return diff_policies(old, load_policy(path).policy, as_of=DAY)

    d = diff_of(text.replace("clean_days: 180", "clean_days: 90"))
    assert d.thresholds == [("clean_days", 180, 90)] and d.rules_changed == []
    assert d.rules_affected == ["raise-standard", "clean-period"]
    d = diff_of(text.replace("raise_factor: 1.2", "raise_factor: 1.3"))
    assert d.rules_changed == [] and d.rules_affected == ["raise-standard"]
    # Moved down by a comment line: every location differs, nothing else.
    d = diff_of(text.replace("rules:\n", "rules:\n  # moved\n"))
    assert (d.rules_changed, d.rules_affected, d.thresholds) == ([], [], [])
    d = diff_of(text.replace("{mul: [current_limit_yuan, raise_factor]}", "{mul: [raise_factor, current_limit_yuan]}"))
    assert d.rules_changed == ["raise-standard"]


def test_totals_added_at_once_equal_totals_added_record_by_record():
    p = load_policy(D11).policy
    values = [(50, 55), (0, 0.1), (Decimal("12.5"), 7)]
    one, many = OutputTotals(p, p), OutputTotals(p, p)
    for a, b in values:
        one.add({"coupon_yuan": a}, {"coupon_yuan": b})
    many.add_totals(2, {"coupon_yuan": 50}, {"coupon_yuan": Decimal("55.1")})
    many.add_totals(1, {"coupon_yuan": Decimal("12.5")}, {"coupon_yuan": 7})
    assert one.result() == many.result()
    assert one.result()["coupon_yuan"]["new_total"] == Decimal("62.1")
