"""`netmon check --lldp` against snmpsim serving a real LLDP recording (Huawei S5720).

The expected verdicts are read from the recording by hand (lldpRemTable of
tests/recordings/vrp_5720_excerpt.snmprec, see tests/recordings/README.md): LLDP
port 50 (lldpLocPortId XGigabitEthernet0/0/1) sees sysName CE-NG, port 10GE1/0/42;
port 52 (XGigabitEthernet0/0/4) sees CE-NG 10GE1/0/41; port 3 (GigabitEthernet0/0/3)
has no neighbour.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors import REGISTRY
from collectors.snmp.oneshot import poll_once
from netmon.tools.simulate import SnmpSim, start_snmpsim
from tests.helpers import ROOT, promtool_check

pytestmark = pytest.mark.integration
RECORDING = ROOT / "tests/recordings/vrp_5720_excerpt.snmprec"
#: this issue's recordings (Huawei VRP, LLDP, OLTs) -> the profiles they are polled with
#: for their golden file: what detection picks (tests/unit/test_detect.py), plus lldp
GOLDEN_PROFILES = {
    "vrp_5720_excerpt": ["system", "if_mib", "huawei_vrp", "lldp"],
    "zxa10": ["system", "if_mib", "zte_olt"],
    "fiberhome": ["system", "if_mib", "fiberhome_olt"],
}
VOLATILE = re.compile(
    r"^(netmon_poll_duration_seconds|netmon_last_poll_success_timestamp_seconds)(\{.*\}) .*$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def lldp_agent() -> Iterator[SnmpSim]:
    files = [ROOT / "tests/recordings" / f"{name}.snmprec" for name in GOLDEN_PROFILES]
    with start_snmpsim(files=files, quiet=True) as sim:
        yield sim


def write_config(tmp_path: Path, port: int, links: list[dict[str, str]]) -> Path:
    switch = {"id": "s5720", "address": "127.0.0.1", "port": port}
    core = {"id": "ce-ng", "address": "127.0.0.2", "profiles": [], "icmp": True}  # no SNMP
    lns = {"id": "lns", "address": "127.0.0.3", "profiles": [], "icmp": True}
    sites: list[dict[str, Any]] = [
        {"id": "pop-a", "name": "POP A", "kind": "pop", "devices": [switch]},
        {"id": "core", "name": "Core", "kind": "pop", "devices": [core, lns]},
    ]
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "a.yaml").write_text(
        yaml.safe_dump({"kabupaten": "Berau", "sites": sites, "links": links}, sort_keys=False)
    )
    main = tmp_path / "netmon.yaml"
    main.write_text("defaults: {snmp: {community: {env: T_LLDP_COMMUNITY}, timeout: 1s}}\n")
    return main


def run_check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon", "check", "--lldp", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"T_LLDP_COMMUNITY": RECORDING.stem, "PATH": "/usr/bin:/bin"},
        check=False,
    )


def lines_of(out: str) -> dict[str, str]:
    """link id -> its verdict line."""
    found = {}
    for line in out.splitlines():
        head, sep, rest = line.strip().partition(": ")
        if sep and head.startswith("l-"):
            found[head] = rest
    return found


def test_links_are_confirmed_contradicted_or_unknown(lldp_agent: SnmpSim, tmp_path: Path) -> None:
    links = [
        {"id": "l-good", "kind": "fiber", "a": "pop-a/s5720:XGigabitEthernet0/0/1",
         "b": "core/ce-ng:10GE1/0/42"},
        {"id": "l-wrong-port", "kind": "fiber", "a": "pop-a/s5720:XGigabitEthernet0/0/4",
         "b": "core/ce-ng:10GE1/0/40"},
        {"id": "l-wrong-device", "kind": "fiber", "a": "pop-a/s5720:GigabitEthernet0/0/14",
         "b": "core/ce-ng:10GE1/0/1"},
        {"id": "l-silent", "kind": "copper", "a": "pop-a/s5720:GigabitEthernet0/0/3",
         "b": "core/lns:GigabitEthernet0/0/7"},
    ]  # fmt: skip
    result = run_check(write_config(tmp_path, lldp_agent.port, links))
    verdicts = lines_of(result.stdout)
    assert verdicts["l-good"].startswith("confirmed: ")
    assert "sees CE-NG 10GE1/0/42" in verdicts["l-good"]
    assert verdicts["l-wrong-port"].startswith("mismatch: ")
    assert "sees CE-NG 10GE1/0/41" in verdicts["l-wrong-port"]
    # port 14 sees LNS-Huawei GigabitEthernet0/0/7, not ce-ng
    assert verdicts["l-wrong-device"].startswith("mismatch: ")
    assert "LNS-Huawei GigabitEthernet0/0/7" in verdicts["l-wrong-device"]
    assert verdicts["l-silent"].startswith("no LLDP data: ")
    assert "no neighbour on this port" in verdicts["l-silent"]
    assert "no SNMP settings" in verdicts["l-silent"]  # lns is probed only
    assert result.returncode == 1, result.stderr


def test_all_confirmed_exits_0(lldp_agent: SnmpSim, tmp_path: Path) -> None:
    links = [
        {"id": "l-good", "kind": "fiber", "a": "pop-a/s5720:XGigabitEthernet0/0/1",
         "b": "core/ce-ng:10GE1/0/42"},
        {"id": "l-silent", "kind": "copper", "a": "pop-a/s5720:GigabitEthernet0/0/3",
         "b": "core/lns:GigabitEthernet0/0/7"},
    ]  # fmt: skip
    result = run_check(write_config(tmp_path, lldp_agent.port, links))
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_of(result.stdout)["l-good"].startswith("confirmed: ")


def test_an_agent_that_does_not_answer_is_no_data_not_a_mismatch(tmp_path: Path) -> None:
    from netmon.tools.simulate import free_udp_port

    links = [
        {"id": "l-good", "kind": "fiber", "a": "pop-a/s5720:XGigabitEthernet0/0/1",
         "b": "core/ce-ng:10GE1/0/42"},
    ]  # fmt: skip
    result = run_check(write_config(tmp_path, free_udp_port(), links))
    assert result.returncode == 0, result.stdout + result.stderr
    verdict = lines_of(result.stdout)["l-good"]
    assert verdict.startswith("no LLDP data: ")
    assert "timeout" in verdict


@pytest.mark.parametrize("recording", sorted(GOLDEN_PROFILES))
async def test_golden_output(lldp_agent: SnmpSim, recording: str) -> None:
    """The whole exposition of each recording with its profiles, through snmpsim: golden
    file (regenerate with NETMON_UPDATE_GOLDEN=1 and review), promtool."""
    snapshot, text = await poll_once(
        "127.0.0.1",
        lldp_agent.port,
        GOLDEN_PROFILES[recording],
        recording,
        device=recording,
        timeout=5.0,
        registry=REGISTRY,
    )
    assert snapshot.ok, snapshot.error_detail
    assert not snapshot.partial, snapshot.error_detail
    got = VOLATILE.sub(r"\1\2 0", text)
    golden = ROOT / "tests/golden" / f"{recording}.prom"
    if os.environ.get("NETMON_UPDATE_GOLDEN") == "1":
        golden.write_text(got)
    assert golden.exists(), f"missing {golden}; run with NETMON_UPDATE_GOLDEN=1 and review it"
    assert got == golden.read_text()
    check = promtool_check(got)
    assert check.returncode == 0, check.stdout + check.stderr
