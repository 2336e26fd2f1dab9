#!/usr/bin/env bash
# The whole test suite: lint, types, unit and integration tests (real snmpd,
# snmpsim, promtool). This is the command README and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
echo "== ruff" && ruff check . && ruff format --check .
echo "== mypy --strict" && mypy
echo "== pytest"
set +e
pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest ran no test: that is a failure here" >&2
    exit 1
fi
exit "$rc"
