"""durable-rules 2.0.28: the limits we measured and the field names we reserve. Everything
here is a constant; see docs/backends.md for each limit (the errors are in `engine.errors`)."""

from __future__ import annotations


# -- limits (measured; see docs/backends.md) ------------------------------------------------
INT_MAX = 2**63 - 1            # integers are parsed with atol/atoll: they saturate beyond this
INT_MIN = -INT_MAX
EXACT_INT = 2**53              # ints beyond this are rounded when durable compares them to a double
# Dates travel as day numbers (`date.toordinal()`: 1 for 0001-01-01 … 3,652,059 for
# 9999-12-31), and a date's distance from the evaluation date as a signed day count
# (at most DATE_MAX - DATE_MIN either way). Both are far inside int64 and below EXACT_INT,
# so durable compares them exactly whichever way it parses them: dates need no refusal.
# Only a relative operand's day count (a threshold, unbounded) can leave int64, and
# `normal.int_compare` folds a comparison with it into a constant, exactly.
DATE_MIN = 1                   # datetime.date.min.toordinal()
DATE_MAX = 3_652_059           # datetime.date.max.toordinal()
MAX_FIELDS = 252               # fields per message besides `sid` (253 → error 302); `_n` included
MAX_STACK = 64                 # alpha DFS stack, events.c MAX_STACK_SIZE (65 pending → error 303)
STACK_CAP = 60                 # what we allow ourselves (margin)
MAX_CHILDREN = 511             # conditions under one alpha node: a 512-slot hash set (512 → hang)
CHILDREN_CAP = 500
MAX_GROUPS = 15                # `$and`/`$or` per rule: 2 of 32 expression slots each (16 → error 113)
MAX_JOINS = 127                # `$or` join nodes under one alpha node, NEXT_LIST_LENGTH 128 (→ 107)
MAX_BETAS = 255                # rules ending at one alpha node, BETA_LIST_LENGTH 256 (→ 108)
MAX_RULES_PER_RULESET = 60     # "more than 64 rules true at once → 303", with margin
MAX_PARTS_PER_RULE = 256       # how far we split one rule before giving up

SID = "0"
ID_FIELD = "_n"

# durable-rules never frees a ruleset: each policy version compiled in a process keeps
# about 640 KB (measured on double11-coupon: 300 versions, 31 -> 213 MiB). A service that
# reloads policies would grow without bound, so the number of distinct policy versions one
# process compiles is limited; past it, the durable backend refuses (BackendError) and says
# to restart the process. VERDICT_DURABLE_MAX_POLICIES sets it (see docs/backends.md).
DEFAULT_MAX_POLICIES = 256
