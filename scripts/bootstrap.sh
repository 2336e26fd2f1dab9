#!/usr/bin/env bash
# Makes a fresh Debian machine ready for netmon: Debian packages for the real
# parts the tests and the demo start (net-snmp, Prometheus tools), then a venv
# with netmon and its dev extras. Idempotent; fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# snmpd lives in /usr/sbin, which a CI PATH may lack
command -v snmpd >/dev/null || [ -x /usr/sbin/snmpd ] || need_apt+=(snmpd)
command -v snmpbulkwalk >/dev/null || need_apt+=(snmp)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v prometheus-snmp-exporter >/dev/null || need_apt+=(prometheus-snmp-exporter)
command -v amtool >/dev/null || need_apt+=(prometheus-alertmanager)
# long-term storage for the HA/remote_write tests (tests start their own; its service stays off)
command -v victoria-metrics >/dev/null || need_apt+=(victoria-metrics)
command -v mosquitto >/dev/null || need_apt+=(mosquitto)
command -v ip >/dev/null || need_apt+=(iproute2)
# the service probe tests resolve against a real DNS server (dnsmasq lives in /usr/sbin too)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need_apt+=(dnsmasq-base)
# the status page test drives a real headless browser
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
# `netmon report` prints its PDF with chromium; the report test renders it with pdftoppm
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
# the deploy file checks: systemd-analyze verify/security on the unit, setpriv for its capabilities
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v setpriv >/dev/null || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${need_apt[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # keep apt from starting services on install: tests start their own
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
    fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

# The venv comes from the system Python on purpose: snmpsim drops to nobody
# when started as root, and a Python under root's home would be unreadable then.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.netmon-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    touch "$stamp"
fi
chmod -R a+rX .venv
