"""Issue 14, access switches: D-Link/TP-Link/Cisco profiles, the vendor map, `verified:`.

Expected values are read from the recording with tests/snmprec_reader.py and the MIB's
definition applied here: D-Link AGENT-GENERAL-MIB agentCPUutilizationIn5sec is a percent
(0..100), so the exported ratio is value / 100. Vendors come from IANA's enterprise
numbers (171 D-Link, 11863 TP-Link, 9 Cisco, 30065 Arista), not from the profiles.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.snmp.detect import Identity, candidates, choose
from collectors.snmp.profile import builtin_profiles
from tests.helpers import ROOT, promtool_check
from tests.snmprec_reader import Recording

DLINK = ROOT / "tests/recordings/dlink_des.snmprec"
GOLDEN = ROOT / "tests/golden/dlink_des.prom"
CPU_5SEC = "1.3.6.1.4.1.171.12.1.1.6.1.0"
SWITCHES = ("dlink", "tplink", "cisco")


def exposition(recording: Path, *profiles: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "netmon",
            "profile",
            "test",
            *profiles,
            "--recording",
            str(recording),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def normalise(text: str) -> str:
    """Wall-clock lines (poll time and duration) differ per run."""
    keep = ("netmon_last_poll_success_timestamp_seconds", "netmon_poll_duration_seconds")
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(keep))


def test_dlink_cpu_is_the_recorded_percent_as_a_ratio() -> None:
    rec = Recording.read(DLINK)
    want = int(rec[CPU_5SEC].text) / 100  # percent in the MIB
    text = exposition(DLINK, "system", "dlink")
    (line,) = [x for x in text.splitlines() if x.startswith("netmon_device_cpu_ratio{")]
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(want)
    assert 'vendor="D-Link"' in text  # not "enterprise-171"
    assert promtool_check(text).returncode == 0


def test_dlink_golden_exposition() -> None:
    got = normalise(exposition(DLINK, "system", "dlink"))
    assert GOLDEN.exists(), f"missing {GOLDEN}"
    assert got == GOLDEN.read_text()


@pytest.mark.parametrize(
    ("sys_object_id", "vendor"),
    [
        ("1.3.6.1.4.1.171.10.113.1.2", "D-Link"),
        ("1.3.6.1.4.1.11863.1.1", "TP-Link"),
        ("1.3.6.1.4.1.9.1.359", "Cisco"),
        ("1.3.6.1.4.1.30065.1.3011.7050.1958.128", "Arista"),
        ("1.3.6.1.4.1.4881.1.1.10.1.1", "Ruijie"),
        ("1.3.6.1.4.1.3902.1015", "ZTE"),
        ("1.3.6.1.4.1.5875.800.1", "FiberHome"),
    ],
)
def test_the_system_vendor_map_names_the_provinces_vendors(sys_object_id: str, vendor: str) -> None:
    enterprise = builtin_profiles()["system"].device_info["vendor"].enterprise
    assert enterprise is not None
    assert enterprise[int(sys_object_id.split(".")[6])] == vendor


@pytest.mark.parametrize(
    ("sys_object_id", "profile"),
    [
        ("1.3.6.1.4.1.171.10.113.1.2", "dlink"),  # dlink_des recording
        ("1.3.6.1.4.1.11863.1.1", "tplink"),  # librenms tplink.snmprec's only line
        ("1.3.6.1.4.1.9.1.359", "cisco"),  # librenms ios.snmprec: a Catalyst 2950
    ],
)
def test_switches_are_detected_by_enterprise(sys_object_id: str, profile: str) -> None:
    builtin = builtin_profiles()
    chosen, _ = choose(Identity(sys_object_id, ""), candidates(builtin.values()), [])
    assert [p.name for p in chosen] == [profile]


def test_profiles_without_a_real_recording_say_so() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netmon", "profiles"], capture_output=True, text=True, cwd=ROOT
    )
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "not verified on a device" not in lines["tplink"]  # jetstream_excerpt (CPU)
    assert "not verified on a device" not in lines["cisco"]  # ios_2960x_excerpt
    assert "not verified on a device" not in lines["dlink"]
    # values checked against real recordings in tests/unit/test_recording_values*.py
    for name in ("system", "if_mib", "mikrotik", "huawei_olt"):
        assert "not verified on a device" not in lines[name], name
    assert "not verified on a device" in lines["apc"]  # no public APC recording found
    assert re.search(r"dlink_des\.snmprec", " ".join(builtin_profiles()["dlink"].verified))
