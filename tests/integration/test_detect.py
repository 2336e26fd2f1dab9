"""Issue 13 item 3 end to end: devices that name no profiles, polled by the daemon from
snmpsim serving every recording of the suite, and `netmon poll` without --profile.

The expected profiles per recording are the unit test's table (tests/unit/test_detect.py),
written from vendor knowledge, not from the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from netmon.tools.simulate import SnmpSim, recordings_dir, start_snmpsim
from tests.harness import start
from tests.helpers import ROOT, async_wait_for, values, write_config
from tests.integration.test_cli import netmon
from tests.unit.test_detect import EXPECTED

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def every_recording() -> Iterator[SnmpSim]:
    """snmpsim with the recordings of shared/ and tests/recordings (community = name)."""
    files = [*recordings_dir().glob("*.snmprec"), *(ROOT / "tests/recordings").glob("*.snmprec")]
    assert {p.stem for p in files} == set(EXPECTED)
    with start_snmpsim(files=sorted(files), quiet=True) as sim:
        yield sim


def device_id(recording: str) -> str:
    """A valid device id from a recording's name (airos-af-ltu_1.4.0 -> airos-af-ltu-1-4-0)."""
    return re.sub(r"[^a-z0-9-]", "-", recording.lower())


def config_without_profiles(root: Path, port: int) -> Path:
    """One device per recording, none naming profiles."""
    config = write_config(root, port, {device_id(r): (r, []) for r in EXPECTED}, interval="1h")
    site_file = root / "sites" / "test.yaml"
    doc = yaml.safe_load(site_file.read_text())
    for site in doc["sites"]:
        for device in site["devices"]:
            del device["profiles"]
            device["snmp"]["timeout"] = "3s"
    site_file.write_text(yaml.safe_dump(doc))
    return config


async def test_the_daemon_detects_the_profiles_of_every_recording(
    tmp_path: Path, every_recording: SnmpSim
) -> None:
    config = config_without_profiles(tmp_path, every_recording.port)
    wanted = {device_id(r) for r in EXPECTED}
    async with start(config) as running:
        for device in wanted:  # the interval is an hour: poll each once now
            assert running.daemon.poll_now(f"snmp:site-{device}/{device}")
        await async_wait_for(lambda: running.all_polled(wanted), 60, "every device polled once")
        _, metrics = await running.get("/metrics")
        targets = await running.targets()
        logs = [json.loads(line) for line in running.logs.getvalue().splitlines()]
    for recording, profiles in EXPECTED.items():
        device = device_id(recording)
        chosen = ",".join(profiles)
        assert values(metrics, "netmon_device_profiles_info", device=device, profiles=chosen) == [
            1.0
        ], recording
        assert values(metrics, "netmon_device_info", device=device, profiles=chosen) == [1.0]
        assert targets[device]["detect"] is True
        logged = [e for e in logs if e["event"] == "profiles detected" and e["device"] == device]
        assert [(e["profiles"], e["trigger"]) for e in logged] == [(chosen, "first")]
    # what the vendor profiles read arrived: the LiteBeam's signal, the OLT's board CPUs
    assert values(metrics, "netmon_wireless_signal_dbm", device="airos-airos8") == [-70.0]
    assert len(values(metrics, "netmon_board_cpu_ratio", device="smartax")) > 1
    assert values(metrics, "netmon_host_cpu_load_ratio", device="linux")


def test_netmon_poll_without_a_profile_says_what_it_detected_and_why(
    every_recording: SnmpSim,
) -> None:
    result = netmon(
        "poll",
        "127.0.0.1",
        "--port",
        str(every_recording.port),
        "--community-env",
        "NM_COMMUNITY",
        env={"NM_COMMUNITY": "routeros"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "detected profiles: system, if_mib, host_resources, mikrotik" in lines
    assert "  the device says: sysObjectID 1.3.6.1.4.1.14988.1, sysDescr 'router'" in lines
    assert "  mikrotik: sysObjectID under 1.3.6.1.4.1.14988" in lines
    assert "  host_resources: sysObjectID under 1.3.6.1.4.1.14988.1" in lines
    chosen = "system,if_mib,host_resources,mikrotik"
    assert values(result.stdout, "netmon_device_profiles_info", profiles=chosen) == [1.0]
    # the detected profiles were polled: MIKROTIK-MIB optical DOM (-5673 x 0.001 dBm)
    assert values(result.stdout, "netmon_optical_rx_power_dbm", ifname="sfp1") == [-5.673]


def test_netmon_poll_with_a_profile_detects_nothing(every_recording: SnmpSim) -> None:
    result = netmon(
        "poll",
        "127.0.0.1",
        "--port",
        str(every_recording.port),
        "--profile",
        "if_mib",
        "--community-env",
        "NM_COMMUNITY",
        env={"NM_COMMUNITY": "routeros"},
    )
    assert result.returncode == 0, result.stderr
    assert "detected" not in result.stderr
    assert values(result.stdout, "netmon_device_profiles_info") == []
    assert values(result.stdout, "netmon_optical_rx_power_dbm", ifname="sfp1") == []
