"""Built policies that use the v2 language (issue 13), for `policies.build_policy(v2=True)`.

On top of what `policies._Builder` makes: `type: date` facts (with date bounds and
defaults now and then), `change: with_time` day counts, presence tests (`missing: true`
or `false`, alone or beside other operators in one mapping), date literals and date
thresholds, relative dates (`{days_ago: N}` / `{days_ahead: N}`, N a literal or an
integer threshold, huge ones included), computed outputs (every operation, `round` in
every mode to odd multiples such as 0.01, 100, 1e-30 and 1e30, an output's own `round`,
`minimum`/`maximum`, outputs reading earlier outputs, `combine` over computed values),
`timezone` (valid and invalid names), `max_wait_days`, and message placeholders with
formats (`{x:,.2f}`, and specs outside the allowed set). Mostly valid by construction, so
the policies reach the backends; the invalid ones must get located errors.
"""

from __future__ import annotations

import datetime
import random
from functools import lru_cache

from .policies import INT64, _Builder

DATES = [datetime.date(1, 1, 1), datetime.date(1, 1, 2), datetime.date(9999, 12, 31), datetime.date(9999, 12, 30),
         datetime.date(2024, 2, 29), datetime.date(1970, 1, 1), datetime.date(2026, 1, 1), datetime.date(2026, 11, 11),
         datetime.date(2026, 12, 1), datetime.date(2000, 2, 29)]
# N of a relative date: ordinary spans, the calendar's length (3,652,058 days), beyond it.
DAY_COUNTS = [0, 1, 7, 30, 90, 180, 365, 366, 3650, 3652058, 3652059, 10**6, 2**31 - 1, 2**31, INT64, 10**20]
TIMEZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT+12",
             "Asia/Kathmandu", "Europe/London"]
BAD_TIMEZONES = ["Asia/Shangai", "", "UTC+8", "utc", "Mars/Olympus", "../../etc/passwd", "Asia/Shanghai ", "🎉", 8]
WAITS = [0, 1, 30, 365, 36500]
BAD_WAITS = [-1, 36501, 10**20, "365", 1.5, None, True]
ROUND_TO = [1, 100, 0.01, 0.05, 0.5, 3, 7, 1e-30, 1e30, 1000, 0.001]
ROUND_MODES = ["down", "up", "half_up", "half_even"]
BAD_ROUNDINGS = [{"to": 0}, {"to": -100}, {"to": "100"}, {"to": None}, {"to": 1, "mode": "ceiling"},
                 {"to": 1, "mode": "HALF_UP"}, {"mode": "down"}, {"to": 1e-400}, {"to": 10**400}]
LITERALS = [0, 1, 2, -1, 3, 0.1, 0.2, 1.2, 1.5, 0.5, 5123.45, 6148.145, 2.675, 0.125, 1e-7, 100, 10**20, 2**53 + 1,
            INT64, -2.5, 1e30, 1e-30, 999999999999999.9]
FORMATS = [",", ".0f", ".2f", ",.2f", ",.0f", ".6f", ",.6f"]
BAD_FORMATS = [".2e", ">10", ",.7f", "%", ".2%", "d", "x", ".-1f", "", " ,.2f"]


class V2Builder(_Builder):
    """`_Builder` with the v2 constructs (see the module docstring)."""

    def fact(self, i: int) -> tuple[str, dict]:
        rng = self.rng
        r = rng.random()
        if r < 0.3:  # a date
            spec: dict = {"type": "date"}
            if rng.random() < 0.3:
                lo = rng.choice(DATES)
                spec["minimum"] = datetime.date.fromordinal(lo.toordinal())
                if rng.random() < 0.5:
                    spec["maximum"] = datetime.date.fromordinal(max(lo, rng.choice(DATES)).toordinal())
            if rng.random() < 0.35:
                spec["required"] = False
            elif rng.random() < 0.2:
                spec["default"] = self.value(spec)
            if rng.random() < 0.3:
                spec["change"] = rng.choice(["none", "any", "increase", "decrease"])
            return f"day_{i}", spec
        if r < 0.45:  # a day count that grows with time
            spec = {"type": rng.choice(["integer", "integer", "number"]), "change": "with_time"}
            if rng.random() < 0.6:
                spec["minimum"] = 0
            if rng.random() < 0.15:
                spec["required"] = False
            return f"age_days_{i}", spec
        name, spec = super().fact(i)
        if rng.random() < 0.2:
            spec["required"] = False  # more optional facts: presence tests matter on them
            spec.pop("default", None)
        return name, spec

    def value(self, spec: dict):
        if spec["type"] != "date":
            return super().value(spec)
        rng = self.rng
        d = rng.choice(DATES) if rng.random() < 0.6 else datetime.date.fromordinal(rng.randint(
            datetime.date(1900, 1, 1).toordinal(), datetime.date(2100, 1, 1).toordinal()))
        lo, hi = spec.get("minimum"), spec.get("maximum")
        if lo is not None and d < lo:
            d = lo
        if hi is not None and d > hi:
            d = hi
        # a fresh object each time: the dumper would write a date object met twice as an
        # anchor and an alias, which policies refuse
        return datetime.date.fromordinal(d.toordinal())

    def days(self):
        """N of a relative date: a literal, or the name of a new integer threshold."""
        rng = self.rng
        n = rng.choice(DAY_COUNTS) if rng.random() < 0.5 else rng.randint(0, 400)
        if rng.random() < 0.4:
            tname = f"t{len(self.thresholds)}_days"
            self.thresholds[tname] = n
            return tname
        return n

    def date_operand(self, name: str, spec: dict, op: str):
        rng = self.rng
        if op in ("in", "not_in"):  # absolute dates only
            return list(dict.fromkeys(self.value(spec) for _ in range(rng.choice([1, 2, 3]))))

        def one():
            # a relative date goes with gt, gte, lt, lte, between (with eq/ne it is refused)
            if rng.random() < (0.55 if op not in ("eq", "ne") else 0.05):
                return {rng.choice(["days_ago", "days_ago", "days_ahead"]): self.days()}
            d = self.value(spec)
            if rng.random() < 0.3:
                tname = f"t{len(self.thresholds)}_date"
                self.thresholds[tname] = d
                return tname
            return d if rng.random() < 0.5 else d.isoformat()

        if op == "between":
            return [one(), one()]
        return one()

    def leaf(self, outcomes: list[str], may_read_outcome: bool) -> dict:
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            return super().leaf(outcomes, may_read_outcome)
        name = rng.choice(list(self.facts))
        spec = self.facts[name]
        test: dict = {}
        if r < 0.7 or spec["type"] != "date":  # a presence test, alone or with another operator
            present = rng.random() < 0.5
            test["missing"] = not present
            if present and rng.random() < 0.5:  # `{missing: false, gte: 90}`: two leaves, AND
                if spec["type"] == "date":
                    op = rng.choice(["gt", "gte", "lt", "lte"])
                    test[op] = self.date_operand(name, spec, op)
                else:
                    op = rng.choice({"boolean": ["eq", "ne"], "string": ["eq", "ne", "in", "not_in"]}.get(
                        spec["type"], ["gt", "gte", "lt", "lte", "eq", "between"]))
                    test[op] = self.operand(name, spec, op)
            return {name: test}
        op = rng.choice(["eq", "ne", "gt", "gte", "lt", "lte", "lt", "gte", "between", "in", "not_in"])
        test[op] = self.date_operand(name, spec, op)
        if rng.random() < 0.2 and op not in ("in", "not_in"):
            test["missing"] = False
        return {name: test}

    # -- computed outputs --------------------------------------------------------------------

    def numeric_names(self, guarded: set[str], outputs: list[str]) -> list[str]:
        """Names an expression may read: numeric facts that always have a value (or are
        made present by the rule's condition), numeric thresholds, earlier outputs."""
        names = [n for n, s in self.facts.items() if s["type"] in ("integer", "number")
                 and (s.get("required", True) or "default" in s or n in guarded)]
        names += [n for n, v in self.thresholds.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and n not in self.facts]
        return names + outputs

    def expr(self, depth: int, names: list[str], integer: bool = False):
        """An expression over `names`; `integer`: its literals are whole (an integer
        output's literals must be), the output's `round` makes the rest whole."""
        rng = self.rng
        r = rng.random()
        if depth >= 3 or r < 0.35:
            if names and rng.random() < 0.65:
                return rng.choice(names)
            lit = rng.choice(LITERALS)
            return int(lit) if integer and abs(lit) < 1e20 else 7 if integer and isinstance(lit, float) else lit
        if r < 0.75:
            op = rng.choice(["add", "mul", "min", "max", "sub", "div"])
            if op == "div":  # a divisor that is never 0: a nonzero literal, now and then a name
                divisor = rng.choice([2, 3, 7, 0.5, 1e-30, 1e30, 100]) if rng.random() < 0.85 else \
                    self.expr(depth + 1, names)
                return {"div": [self.expr(depth + 1, names, integer), divisor]}
            n = 2 if op == "sub" else rng.randint(2, 3)
            return {op: [self.expr(depth + 1, names, integer) for _ in range(n)]}
        node: dict = {"round": self.expr(depth + 1, names, integer), "to": rng.choice(ROUND_TO)}
        if rng.random() < 0.8:
            node["mode"] = rng.choice(ROUND_MODES)
        if rng.random() < 0.03:  # a rounding the validator must refuse, with a location
            del node["to"]
            node.pop("mode", None)
            node.update(rng.choice(BAD_ROUNDINGS))
        return node

    def computed_outputs(self, policy: dict) -> None:
        rng = self.rng
        outputs = policy.setdefault("outputs", {})
        earlier: list[str] = [n for n, s in outputs.items() if s["type"] in ("integer", "number")]
        made: list[str] = []
        for i in range(rng.randint(1, 3)):
            name = f"calc_{i}"
            t = rng.choice(["number", "number", "integer"])
            spec: dict = {"type": t, "default": self.expr(0, self.numeric_names(set(), earlier + made), t == "integer")}
            if t == "integer" or rng.random() < 0.3:
                spec["round"] = {"to": 1 if t == "integer" else rng.choice(ROUND_TO)}
                if rng.random() < 0.8:
                    spec["round"]["mode"] = rng.choice(ROUND_MODES)
            if rng.random() < 0.6:
                spec["combine"] = rng.choice(["min", "max", "sum", "first"])
            if rng.random() < 0.12:  # often refused (always out of range) or warned about
                spec["minimum"] = rng.choice([0, -100, 0.5, -(10**30)])
            if rng.random() < 0.12:
                spec["maximum"] = rng.choice([100, 10**6, 1e30])
            outputs[name] = spec
            readable = earlier + made
            for rule in policy["rules"]:
                if rng.random() >= 0.4:
                    continue
                guarded: set[str] = set()
                optional = [n for n, s in self.facts.items() if s["type"] in ("integer", "number")
                            and not s.get("required", True) and "default" not in s]
                if optional and rng.random() < 0.5:  # made present by the condition, then read
                    f = rng.choice(optional)
                    rule["when"] = {"all": [rule["when"], {f: {"missing": False}}]}
                    guarded.add(f)
                rule["then"].setdefault("set", {})[name] = self.expr(0, self.numeric_names(guarded, readable),
                                                                     t == "integer")
                if "combine" not in spec and rng.random() < 0.9:  # else often `output-conflict`
                    spec["combine"] = rng.choice(["min", "max", "sum", "first"])
            made.append(name)

    def messages(self, policy: dict) -> None:
        """Placeholders with number formats (and, rarely, formats that are refused)."""
        rng = self.rng
        numeric = [n for n, s in self.facts.items() if s["type"] in ("integer", "number")]
        numeric += [n for n, s in policy.get("outputs", {}).items() if s["type"] in ("integer", "number")]
        numeric += [n for n, v in self.thresholds.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        others = [n for n, s in self.facts.items() if s["type"] in ("date", "string", "boolean")]
        for rule in policy["rules"]:
            if rng.random() >= 0.3 or not (numeric or others):
                continue
            parts = []
            for _ in range(rng.randint(1, 3)):
                if numeric and rng.random() < 0.7:
                    spec = rng.choice(FORMATS) if rng.random() < 0.97 else rng.choice(BAD_FORMATS)
                    parts.append(f"{{{rng.choice(numeric)}:{spec}}}")
                elif others:
                    name = rng.choice(others)
                    parts.append(f"{{{name}}}" if rng.random() < 0.95 else f"{{{name}:,.2f}}")
            text = "Value " + " and ".join(parts) + " ¥"
            rule["then"]["message"] = text if rng.random() < 0.5 else {"en": text, "zh": "值 " + "".join(parts)}

    def build(self) -> dict:
        rng = self.rng
        policy = super().build()
        if rng.random() < 0.7:
            self.computed_outputs(policy)
        self.messages(policy)
        if self.thresholds:
            policy["thresholds"] = self.thresholds  # relative dates and expressions may have added some
        extra: dict = {}
        if rng.random() < 0.5:
            extra["timezone"] = rng.choice(TIMEZONES) if rng.random() < 0.9 else rng.choice(BAD_TIMEZONES)
        if rng.random() < 0.4:
            extra["max_wait_days"] = rng.choice(WAITS) if rng.random() < 0.9 else rng.choice(BAD_WAITS)
        if extra:  # top-level keys go before `facts`, as a policy writes them
            head = {k: policy[k] for k in ("policy", "version", "title")}
            policy = {**head, **extra, **{k: v for k, v in policy.items() if k not in head}}
        return policy


def build_v2_policy(rng: random.Random) -> dict:
    return V2Builder(rng).build()


# -- a grid for the backends' date encodings ---------------------------------------------------

GRID_DATES = [datetime.date(1, 1, 1), datetime.date(1, 1, 2), datetime.date(1970, 1, 1), datetime.date(2024, 2, 29),
              datetime.date(9999, 12, 30), datetime.date(9999, 12, 31)]
GRID_RELATIVE = [{"days_ago": 0}, {"days_ago": 1}, {"days_ahead": 1}, {"days_ago": 3652058}]
GRID_AS_OF = [datetime.date(2026, 12, 1), datetime.date(1, 1, 1), datetime.date(9999, 12, 31)]


@lru_cache(maxsize=1)
def date_grid() -> tuple[tuple[str, list, datetime.date], ...]:
    """(policy text, records, as_of) triples: for each date edge (the calendar's ends, a leap
    day, the epoch) and each relative date on each of three evaluation dates, each operator
    (plainly, and under `not`), one rule comparing a date fact with it; records at every
    edge and the day on each side (what a backend's day-number encoding could get wrong)."""
    from .policies import GRID_OPS, _dump

    def days_around(days):
        out = set()
        for d in days:
            for k in (-1, 0, 1):
                o = d.toordinal() + k
                if 1 <= o <= datetime.date.max.toordinal():
                    out.add(datetime.date.fromordinal(o))
        return sorted(out)

    out = []
    cases = [(d, GRID_AS_OF[0]) for d in GRID_DATES] + [(r, a) for r in GRID_RELATIVE for a in GRID_AS_OF]
    for operand, as_of in cases:
        relative = isinstance(operand, dict)
        records = [{"d": x.isoformat()} for x in days_around(GRID_DATES + [as_of])]
        for op in GRID_OPS:
            if relative and op in ("in", "not_in", "eq", "ne"):
                continue  # relative dates go with gt, gte, lt, lte and between only
            value = operand.isoformat() if not relative else operand
            arg = [value, "2026-01-01"] if op in ("in", "not_in") else \
                [value, dict(value) if relative else value] if op == "between" else value  # no alias
            for negate in (False, True):
                when = {"d": {op: arg}}
                rule = {"id": "r", "when": {"not": when} if negate else when, "then": {"flags": ["f"]}}
                text = _dump({"policy": "date-grid", "version": 1, "facts": {"d": {"type": "date"}},
                              "outcomes": ["o"], "default": "o", "rules": [rule]})
                out.append((text, records, as_of))
    return tuple(out)
