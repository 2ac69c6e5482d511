"""The double11-coupon business rules written by hand, straight from the issue text.

Used as an independent oracle: the policy YAML and this function were written separately,
so agreement on every boundary combination means the policy says what the business said.
"""


def double11(u: dict) -> dict:
    deny = []
    if u["frozen"]:
        deny.append("ACCOUNT_FROZEN")
    if u["overdue_days"] > 30:
        deny.append("OVERDUE_SEVERE")
    if u["overdue_count_12m"] >= 3:
        deny.append("REPEATED_OVERDUE")
    if u["credit_score"] < 550:
        deny.append("LOW_CREDIT_SCORE")
    cs, m, od = u["credit_score"], u["membership"], u["overdue_days"]
    if deny:
        outcome = "denied"
    elif cs >= 750 and m == "platinum" and od == 0:
        outcome = "platinum"
    elif cs >= 700 and m in ("gold", "platinum") and od <= 3:
        outcome = "gold"
    elif cs >= 650 and u["monthly_spend"] >= 2000:
        outcome = "silver"
    elif cs >= 600 and u["account_age_days"] >= 90:
        outcome = "basic"
    else:
        outcome = "ineligible"
    high_risk = u["loan_applications_30d"] >= 5 or u["credit_utilization"] > 0.9
    notices = []
    if 1 <= od <= 30:
        notices.append("OVERDUE_WARNING")
    if u["account_age_days"] < 30:
        notices.append("NEW_USER")
    return {
        "outcome": outcome,
        "reasons": deny,
        "notices": notices,
        "flags": ["high_risk"] if high_risk else [],
        "coupon_yuan": 50 if outcome in ("platinum", "gold") and not high_risk else 0,
    }


# Boundary values of every threshold (below / at / above) plus the declared extremes.
BOUNDARIES = {
    "credit_score": [300, 549, 550, 551, 599, 600, 601, 649, 650, 651, 699, 700, 701, 749, 750, 751, 950],
    "overdue_days": [0, 1, 2, 3, 4, 29, 30, 31],
    "overdue_count_12m": [0, 2, 3, 4],
    "membership": ["basic", "silver", "gold", "platinum"],
    "monthly_spend": [0, 1999.99, 2000, 2000.01],
    "account_age_days": [0, 29, 30, 31, 89, 90, 91],
    "frozen": [False, True],
    "loan_applications_30d": [0, 4, 5, 6],
    "credit_utilization": [0.0, 0.89, 0.9, 0.9000001, 1.2],
}
