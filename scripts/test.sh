#!/usr/bin/env bash
# Install verdict with its test tools into .venv and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# Cache engine's bytecode now, as a wheel install does: with PYTHONDONTWRITEBYTECODE set
# (it is on CI machines here) an editable install would recompile it at every start.
.venv/bin/python -m compileall -q engine
export PATH="$PWD/.venv/bin:$PATH"
# The product's own gates on its own policies, as a user's CI would run them.
verdict validate policies/
verdict test policies/ --min-coverage rules=100,boundaries=100
verdict test policies/ --backend durable --min-coverage rules=100,boundaries=100
# The SQL form's PostgreSQL tests start a throwaway server from Debian's package (initdb,
# pg_ctl); install it when this machine has none, or say that those tests will be skipped.
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  { apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 &&
    apt-get install -y -q postgresql >/dev/null 2>&1; }; } ||
    echo "note: PostgreSQL could not be installed: its tests will be skipped" >&2
fi
# The SARIF test installs @microsoft/sarif-multitool from npm when npm is here; say so when not.
command -v npm >/dev/null || echo "note: npm not found: the SARIF multitool test will be skipped" >&2
# Both ways of starting pytest must collect the suite (plain `pytest` once failed to).
.venv/bin/pytest --collect-only -q -p no:cacheprovider >/dev/null
exec .venv/bin/python -m pytest "$@"
