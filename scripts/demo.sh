#!/usr/bin/env bash
# Install verdict into .venv, validate the example policies, then evaluate and explain
# example users against the Double 11 coupon policy, and one against the cash-loan limit
# policy on a fixed evaluation date (its raise is reached by waiting 81 days), and a member
# against the account-loyalty policy (two chained decision tables, a derived fact, a list fact).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
# Cache engine's bytecode now, as a wheel install does: with PYTHONDONTWRITEBYTECODE set
# (it is on CI machines here) an editable install would recompile it at every start.
.venv/bin/python -m compileall -q engine
export PATH="$PWD/.venv/bin:$PATH"
set -x
verdict validate policies/
verdict eval -p policies/double11-coupon.yaml examples/user-gold.json
verdict explain -p policies/double11-coupon.yaml examples/user-denied.json
verdict explain -p policies/double11-coupon.yaml --lang zh examples/user-gold.json
verdict eval -p policies/double11-coupon.yaml --id user_id examples/users.csv
verdict explain -p policies/cash-loan-limit.yaml --as-of 2026-11-11 examples/cash-loan-limit/user-clean-period.json
verdict explain -p policies/account-loyalty.yaml examples/account-loyalty/user-gold.json
