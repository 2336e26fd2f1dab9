"""Poll snmpsim serving the real recordings: golden output, promtool, nothing lost."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors import REGISTRY
from collectors.snmp import builtin_profiles
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.oneshot import poll_once
from collectors.snmp.params import SnmpParams
from collectors.snmp.plan import Value
from netmon.api import Sample, Secret, Snapshot, TargetRef
from netmon.exposition import join_families, render_samples
from netmon.tools.simulate import SnmpSim, start_snmpsim
from tests.helpers import ROOT, parse_exposition, promtool_check, raw_poll, read_snmprec
from tests.snmprec_reader import Recording

pytestmark = pytest.mark.integration
GOLDEN = ROOT / "tests/golden"
RECORDINGS = {
    "routeros": ["system", "if_mib", "mikrotik"],
    "airos_airos8": ["system", "if_mib", "airos"],
    "vrp_ce12804-withvrf": ["system", "if_mib"],
    "smartax": ["system", "huawei_olt"],
    "linux": ["system", "host_resources"],
}
#: tests/recordings (README there: source, commit, licence), served by their own snmpsim;
#: the profiles are what detection picks for each (tests/unit/test_detect.py)
LOCAL = ROOT / "tests/recordings"
LOCAL_RECORDINGS = {
    "arista_eos_excerpt": ["system", "if_mib", "entity_sensor"],
    "ios_2960x_excerpt": ["system", "if_mib", "cisco"],
    "jetstream_excerpt": ["system", "if_mib", "tplink"],
    "airos5_nanostation_m5_excerpt": ["system", "if_mib", "airos"],
    "dlink_des3200_ddm_excerpt": ["system", "if_mib", "dlink"],
    # Ubiquiti airFiber 5XHD on LTU firmware: UBNT-AFLTU-MIB, and Net-SNMP's host tables
    "airos-af-ltu": ["system", "if_mib", "host_resources", "ltu", "ucd_snmp"],
    "airos-af-ltu_1.4.0": ["system", "if_mib", "host_resources", "ltu", "ucd_snmp"],
    # RouterOS 7.24 on a CCR2004: health in mtxrGaugeTable, a copper SFP+ module
    "routeros_ccr2004-7.24": ["system", "if_mib", "host_resources", "mikrotik"],
    # an ABB PowerScale UPS card: Net-SNMP on Linux, RFC 1628 UPS-MIB
    "abbups_abbups": ["system", "if_mib", "host_resources", "ucd_snmp", "ups_mib"],
}
PROFILES = RECORDINGS | LOCAL_RECORDINGS
VOLATILE = re.compile(
    r"^(netmon_poll_duration_seconds|netmon_last_poll_success_timestamp_seconds)(\{.*\}) .*$",
    re.MULTILINE,
)


def normalise(text: str) -> str:
    return VOLATILE.sub(r"\1\2 0", text)


@pytest.fixture(scope="module")
def local_snmpsim() -> Iterator[SnmpSim]:
    with start_snmpsim(files=[LOCAL / f"{n}.snmprec" for n in LOCAL_RECORDINGS], quiet=True) as sim:
        yield sim


async def poll_recording(snmpsim: SnmpSim, recording: str) -> tuple[Snapshot, str]:
    """One poll of a recording as its device, through snmpsim, with its profiles."""
    return await poll_once(
        "127.0.0.1",
        snmpsim.port,
        PROFILES[recording],
        recording,
        device=recording,
        timeout=5.0,
        registry=REGISTRY,
    )


@pytest.mark.parametrize("recording", sorted(RECORDINGS))
async def test_golden_output(snmpsim: SnmpSim, recording: str) -> None:
    await check_golden(snmpsim, recording)


@pytest.mark.parametrize("recording", sorted(LOCAL_RECORDINGS))
async def test_golden_output_of_local_recordings(local_snmpsim: SnmpSim, recording: str) -> None:
    await check_golden(local_snmpsim, recording)


async def check_golden(snmpsim: SnmpSim, recording: str) -> None:
    """The whole exposition equals tests/golden/<recording>.prom and passes promtool."""
    snapshot, text = await poll_recording(snmpsim, recording)
    assert snapshot.ok, snapshot.error_detail
    assert not snapshot.partial, snapshot.error_detail
    got = normalise(text)
    golden = GOLDEN / f"{recording}.prom"
    if os.environ.get("NETMON_UPDATE_GOLDEN") == "1":
        golden.write_text(got)
    assert golden.exists(), f"missing {golden}; run with NETMON_UPDATE_GOLDEN=1 and review it"
    assert got == golden.read_text()
    check = promtool_check(got)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("recording", sorted(RECORDINGS))
async def test_network_poll_equals_mapping_of_the_file(snmpsim: SnmpSim, recording: str) -> None:
    """Everything in the recording that the profiles want arrives through SNMP."""
    await check_poll_equals_mapping(snmpsim, recording, least=9)  # linux: 8 CPUs + info


@pytest.mark.parametrize("recording", sorted(LOCAL_RECORDINGS))
async def test_network_poll_equals_mapping_of_local_recordings(
    local_snmpsim: SnmpSim, recording: str
) -> None:
    await check_poll_equals_mapping(local_snmpsim, recording, least=3)  # jetstream: CPU, info


async def check_poll_equals_mapping(snmpsim: SnmpSim, recording: str, least: int) -> None:
    _, text = await poll_recording(snmpsim, recording)
    profiles = [builtin_profiles()[p] for p in PROFILES[recording]]
    labels = (("site", "adhoc"), ("device", recording))
    local = LOCAL / f"{recording}.snmprec"
    wire: dict[str, Value] = (
        dict(Recording.read(local).wire()) if local.exists() else read_snmprec(recording)
    )
    result = Engine(profiles, 30.0, 4096).map(raw_poll(wire, profiles), DeviceState(), labels)
    samples: list[Sample] = [s for p in result.parts for s in p.samples]
    expected = parse_exposition(join_families({}, [render_samples(samples)]))
    got = {k: v for k, v in parse_exposition(text).items() if k[0] in {n for n, _ in expected}}
    assert got == expected
    assert len(expected) >= least


@pytest.mark.parametrize("recording", ["ios_2960x_excerpt", "arista_eos_excerpt"])
async def test_dom_port_names_hold_on_later_polls(local_snmpsim: SnmpSim, recording: str) -> None:
    """Later polls read the entity names and alias mappings from the slow-column cache:
    every optical series keeps its port name (Gi1/0/52, not ifindex-10152)."""
    snmp = REGISTRY.collector_factory("snmp")({})
    params = SnmpParams(
        address="127.0.0.1",
        port=local_snmpsim.port,
        community=Secret(recording),
        profiles=tuple(PROFILES[recording]),
        interval=30.0,
        timeout=5.0,
    )
    target = TargetRef(site="s", device=recording, collector="snmp")
    seen = []
    for _ in range(3):
        snapshot = await snmp.poll(target, params, deadline=30.0)
        assert snapshot.ok, snapshot.error_detail
        samples = [s for p in snapshot.parts for s in p.samples if "_optical_" in s.name]
        seen.append(sorted((s.name, dict(s.labels)["ifname"], s.value) for s in samples))
    assert seen[0] == seen[1] == seen[2]
    assert len(seen[0]) >= 10
    assert not [n for _, n, _ in seen[0] if n.startswith("ifindex-")]


#: DDM-MGMT-MIB: swDdmPowerInfoTable rx (6) and tx (5) power, as text, and swDdmPowerUnit.0
DDM, POWER_UNIT = "1.3.6.1.4.1.171.12.72.2.1.1.1", "1.3.6.1.4.1.171.12.72.1.3.0"


@pytest.mark.parametrize(
    ("unit", "tx", "rx"), [(1, "0.0583", "0.0932"), (2, "-12.3807", "-10.2826")]
)
async def test_dlink_power_unit_through_snmpsim(
    tmp_path: Path, unit: int, tx: str, rx: str
) -> None:
    """The real DES-3200-18 excerpt with port 1 holding a module (Observium's readings of one
    module in mW, then in dBm), swDdmPowerUnit mw(1) or dbm(2), polled through snmpsim:
    dBm either way (mW -> 10 log10)."""
    lines = (LOCAL / "dlink_des3200_ddm_excerpt.snmprec").read_text().splitlines()
    module = {f"{DDM}.5.1": tx, f"{DDM}.6.1": rx, f"{DDM}.3.1": "3.2477", f"{DDM}.4.1": "31.584"}
    out = [
        f"{o}|4|{module[o]}" if (o := line.split("|", 1)[0]) in module else line for line in lines
    ]
    out.append(f"{POWER_UNIT}|2|{unit}")
    out.sort(key=lambda line: tuple(int(a) for a in line.split("|", 1)[0].split(".")))
    path = tmp_path / "dlink_unit.snmprec"
    path.write_text("\n".join(out) + "\n")
    with start_snmpsim(files=[path], quiet=True) as sim:
        _, text = await poll_once(
            "127.0.0.1",
            sim.port,
            ["system", "if_mib", "dlink"],
            "dlink_unit",
            device="dlink_unit",
            timeout=5.0,
            registry=REGISTRY,
        )
    got = {k[0]: v for k, v in parse_exposition(text).items() if k[0].endswith("_power_dbm")}

    def dbm(reading: str) -> float:
        return float(reading) if unit == 2 else 10 * math.log10(float(reading))

    assert got == pytest.approx(
        {"netmon_optical_tx_power_dbm": dbm(tx), "netmon_optical_rx_power_dbm": dbm(rx)}
    )
