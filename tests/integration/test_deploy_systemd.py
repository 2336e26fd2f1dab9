"""deploy/systemd: `systemd-analyze verify` and `security` on the unit, its hardening,
and netmon's ICMP probe under exactly the unit's capabilities (no systemd as PID 1 here:
nothing is started as a service)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_checks import (
    NETMON_BIN,
    UNIT,
    need,
    run,
)

pytestmark = pytest.mark.integration


HARDENED = """DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes
PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes
ProtectKernelLogs=yes ProtectControlGroups=yes StateDirectory=netmon
ConfigurationDirectory=netmon Restart=on-failure"""


def unit_for_test(tmp_path: Path) -> Path:
    """The unit with ExecStart*= pointed at this venv's netmon: `verify` wants the binary to
    exist, and /opt/netmon does not on a test machine. Nothing else is changed."""
    assert NETMON_BIN.exists()
    copy = tmp_path / "netmon.service"
    copy.write_text(UNIT.read_text().replace("/opt/netmon/bin/netmon", str(NETMON_BIN)))
    return copy


def unit_settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    result = run(need("systemd-analyze"), "verify", "--man=no", unit_for_test(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # warnings count too


def test_the_unit_is_hardened() -> None:
    unit = unit_settings()
    one = {k: v[-1] for k, v in unit.items()}
    expected = dict(re.findall(r"(\w+)=(\S+)", HARDENED))
    assert {k: one.get(k) for k in expected} == expected
    caps = {"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
    assert set(one["CapabilityBoundingSet"].split()) == caps
    assert set(one["AmbientCapabilities"].split()) == caps
    families = set(one["RestrictAddressFamilies"].split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}
    assert unit["SystemCallFilter"][0] == "@system-service"
    assert unit["LoadCredential"] == ["netmon:/etc/netmon/credentials"]
    assert " check -c " in unit["ExecStartPre"][0]  # the first one: it gets the credentials
    # systemd 252 gives ExecReload= no credentials in a sandbox: the check must not read them
    assert " check --no-secrets " in unit["ExecReload"][0]
    assert unit["ExecReload"][-1] == "/bin/kill -HUP $MAINPID"
    # no sd_notify watchdog in netmon; a user namespace would void the capabilities in the
    # host's network namespace; ProcSubset=pid hides /proc/stat from the process_* metrics
    assert not {"WatchdogSec", "PrivateUsers", "ProcSubset", "User"} & unit.keys()


def test_systemd_security_exposure_stays_low(tmp_path: Path) -> None:
    result = run(
        need("systemd-analyze"), "security", "--offline=yes", "--threshold=20",
        unit_for_test(tmp_path),
    )  # fmt: skip
    match = re.search(r"Overall exposure level for netmon.service: ([0-9.]+)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout
    assert result.returncode == 0, result.stdout


PROBE = """
import asyncio, json
from collectors.icmp import IcmpCollector
from collectors.icmp import IcmpParams
from netmon.api import TargetRef
snap = asyncio.run(IcmpCollector().poll(
    TargetRef("lab", "lo", "icmp"), IcmpParams("127.0.0.1", count=1, timeout=1.0), 5.0))
print(json.dumps({"ok": snap.ok, "error": snap.error}))
"""


def icmp_probe_as_nobody(*capabilities: str) -> dict[str, Any]:
    """netmon's ICMP collector as an unprivileged user holding these ambient capabilities,
    with no new privileges: the credentials the unit gives the service."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    caps = ",".join(f"+{c.removeprefix('CAP_').lower()}" for c in capabilities) or "-all"
    result = run(
        need("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
        f"--inh-caps={caps}", f"--ambient-caps={caps}", "--no-new-privs",
        sys.executable, "-c", PROBE, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_the_units_capabilities_let_netmon_probe_icmp() -> None:
    ping_groups = Path("/proc/sys/net/ipv4/ping_group_range").read_text().split()
    if int(ping_groups[0]) <= 65534 <= int(ping_groups[1]):
        pytest.skip("ping_group_range lets every user ping: the capability is not tested")
    assert icmp_probe_as_nobody() == {"ok": False, "error": "permission"}  # the control
    assert icmp_probe_as_nobody(*unit_settings()["AmbientCapabilities"][0].split()) == {
        "ok": True,
        "error": None,
    }
