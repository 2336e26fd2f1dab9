#!/usr/bin/env bash
# The main job: a simulated province monitored end to end (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
exec .venv/bin/netmon demo "$@"
