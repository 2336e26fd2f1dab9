#!/usr/bin/env bash
# netmon in ../shared/tools/perf-snmp.sh: CPU per 1,000-varbind poll of the whole daemon
# against snmp_exporter and a bare gufo-snmp walk, same agent, same run (issue 16).
#
#   sudo bash bench/perf/run.sh                 # one scrape per poll, as snmp_exporter pays
#   NETMON_SCRAPE_EVERY=0 sudo bash bench/perf/run.sh   # polling alone
#   PROFILE=1 ...                               # also py-spy stacks of netmon (folded:
#                                                 bench/results/perf-netmon.folded; CPU then includes py-spy)
# Writes a netmon config that polls the harness's agent (169.254.77.2, a network
# namespace the harness makes) every second with max-repetitions 50 and the if_mib
# profile (ifTable + ifXTable, as snmp_exporter's if_mib module walks), then runs the
# harness with NETMON_CMD set. Other knobs of the harness pass through (N, ROUNDS, ...).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
PORT=${PORT:-9431}
CONF=$(mktemp -d /tmp/netmon-perf.XXXXXX)
trap 'rm -rf "$CONF"' EXIT
mkdir -p "$CONF/sites"
cat >"$CONF/netmon.yaml" <<YAML
listen: 127.0.0.1:$PORT
defaults:
  interval: 1s
  deadline: 1s
  snmp: {timeout: 500ms, retries: 1, max_repetitions: 50}
YAML
cat >"$CONF/sites/perf.yaml" <<YAML
kabupaten: Kabupaten Uji
sites:
  - id: perf-agent
    name: perf agent
    kind: village_office
    devices:
      - id: agent
        address: 169.254.77.2
        profiles: [if_mib]
        snmp: {community: {env: NETMON_PERF_COMMUNITY}}
YAML
PY=$REPO/.venv/bin/python
CMD="$PY -m netmon.cli run --config $CONF/netmon.yaml"
if [ "${PROFILE:-0}" = 1 ]; then
  mkdir -p "$REPO/bench/results"
  CMD="$REPO/.venv/bin/py-spy record --rate 250 --nonblocking --format raw -o $REPO/bench/results/perf-netmon.folded -- $CMD"
fi
export NETMON_CMD="cd $REPO && NETMON_PERF_COMMUNITY=public $CMD"
export NETMON_METRICS_URL="http://127.0.0.1:$PORT/metrics"
export NETMON_POLLS_QUERY=netmon_scheduler_lag_seconds_count
export NETMON_SCRAPE_EVERY=${NETMON_SCRAPE_EVERY:-1}
exec bash "$SHARED/tools/perf-snmp.sh"
