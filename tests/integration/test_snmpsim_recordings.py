"""Poll snmpsim serving the real recordings: golden output, promtool, nothing lost."""

from __future__ import annotations

import os
import re

import pytest

from collectors import REGISTRY
from collectors.snmp import builtin_profiles
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.oneshot import poll_once
from netmon.api import Sample, Snapshot
from netmon.exposition import join_families, render_samples
from netmon.tools.simulate import SnmpSim
from tests.helpers import ROOT, parse_exposition, promtool_check, raw_poll, read_snmprec

pytestmark = pytest.mark.integration
GOLDEN = ROOT / "tests/golden"
RECORDINGS = {
    "routeros": ["system", "if_mib", "mikrotik"],
    "airos_airos8": ["system", "if_mib", "airos"],
    "vrp_ce12804-withvrf": ["system", "if_mib"],
    "smartax": ["system", "huawei_olt"],
    "linux": ["system", "host_resources"],
}
VOLATILE = re.compile(
    r"^(netmon_poll_duration_seconds|netmon_last_poll_success_timestamp_seconds)(\{.*\}) .*$",
    re.MULTILINE,
)


def normalise(text: str) -> str:
    return VOLATILE.sub(r"\1\2 0", text)


async def poll_recording(snmpsim: SnmpSim, recording: str) -> tuple[Snapshot, str]:
    """One poll of a recording as its device, through snmpsim, with its profiles."""
    return await poll_once(
        "127.0.0.1",
        snmpsim.port,
        RECORDINGS[recording],
        recording,
        device=recording,
        timeout=5.0,
        registry=REGISTRY,
    )


@pytest.mark.parametrize("recording", sorted(RECORDINGS))
async def test_golden_output(snmpsim: SnmpSim, recording: str) -> None:
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
    _, text = await poll_recording(snmpsim, recording)
    profiles = [builtin_profiles()[p] for p in RECORDINGS[recording]]
    labels = (("site", "adhoc"), ("device", recording))
    result = Engine(profiles, 30.0, 4096).map(
        raw_poll(read_snmprec(recording), profiles), DeviceState(), labels
    )
    samples: list[Sample] = [s for p in result.parts for s in p.samples]
    expected = parse_exposition(join_families({}, [render_samples(samples)]))
    got = {k: v for k, v in parse_exposition(text).items() if k[0] in {n for n, _ in expected}}
    assert got == expected
    assert len(expected) >= 9  # linux.snmprec: 8 CPUs + device info
