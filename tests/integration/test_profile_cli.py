"""`netmon profile test|check|new` run as a user runs them: the real command, a subprocess.

Expected values come straight from the recording files (tests/snmprec_reader.py) and
expected positions from the crafted YAML text, never from the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from netmon.tools.simulate import recordings_dir
from tests.helpers import ROOT, promtool_check, values
from tests.snmprec_reader import Recording
from tests.unit.test_profile_tooling import (
    HC_IN,
    IN_32,
    PROFILES,
    SYS_NAME,
    ifname,
    routeros_as_walk,
    where,
)

pytestmark = pytest.mark.integration


def netmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        cwd=ROOT,
        check=False,
    )


RECORDINGS = sorted(p.stem for p in recordings_dir().glob("*.snmprec"))


@pytest.mark.parametrize("name", RECORDINGS)
def test_profile_test_prints_what_the_recording_yields(name: str) -> None:
    path = recordings_dir() / f"{name}.snmprec"
    rec = Recording.read(path)
    run = netmon("profile", "test", *PROFILES[name], "--recording", str(path))
    assert run.returncode == 0, run.stderr
    sys_name = rec[SYS_NAME].text if SYS_NAME in rec else ""
    assert values(run.stdout, "netmon_device_info", device=name, sys_name=sys_name) == [1.0]
    hc, low = rec.numbers(HC_IN), rec.numbers(IN_32)
    for index, raw in list((hc or low).items())[:5]:
        got = values(run.stdout, "netmon_interface_receive_bytes_total", ifname=ifname(rec, index))
        assert got == [float(raw) if hc else 0.0], index
    assert "dropped samples by reason: decode 0, implausible 0, sentinel" in run.stderr
    check = promtool_check(run.stdout)
    assert check.returncode == 0, check.stdout + check.stderr


def test_profile_test_refuses_an_unknown_profile() -> None:
    path = recordings_dir() / "linux.snmprec"
    run = netmon("profile", "test", "system", "no_such", "--recording", str(path))
    assert run.returncode == 2
    assert "unknown profile 'no_such'" in run.stderr
    assert run.stdout == ""


def test_profile_check_is_clean_on_the_builtin_profiles() -> None:
    run = netmon("profile", "check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == ""


def test_profile_check_fails_with_file_line_col_on_broken_profiles(tmp_path: Path) -> None:
    bad = (
        "name: bad\n"
        "description: broken on purpose\n"
        "tables:\n"
        "  - name: t\n"
        "    walk: [1.3.6.1.4.1.99.1]\n"
        "    columns: {a: {oid: 1.3.6.1.4.1.99.1.1}}\n"
        "    metrics:\n"
        "      - {name: netmon_board_temp_celsius, help: Board temperature., value: a}\n"
        "      - {name: netmon_board_temp_celsius, help: Board temperature., value: a}\n"
        "      - {name: netmon_wireless_ccq_ratio, help: My own CCQ., value: a}\n"
    )
    (tmp_path / "bad.yaml").write_text(bad)
    (tmp_path / "typo.yaml").write_text("name: typo\ndescription: x\nscalar: {}\n")
    run = netmon("profile", "check", str(tmp_path))
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    d = str(tmp_path)
    first = where(bad, "netmon_board_temp_celsius", f"{d}/bad.yaml")
    airos = (ROOT / "collectors/snmp/profiles/airos.yaml").read_text()
    ccq = where(airos, "netmon_wireless_ccq_ratio", "collectors/snmp/profiles/airos.yaml")
    # the second definition: line 9, after "      - {name: " (15 characters)
    assert lines == [
        f"{d}/bad.yaml:9:16: duplicate-metric: netmon_board_temp_celsius is already defined "
        f"at {first} with the same labels: two series would share one label set",
        f"{where(bad, 'My own CCQ.', d + '/bad.yaml')}: help-mismatch: HELP of "
        "netmon_wireless_ccq_ratio differs from "
        f"the one at {ccq} ('Client connection quality "
        "(CCQ) of the radio, 0..1 (percent in the MIB).'); one metric has one HELP",
        f"{d}/typo.yaml:3:9: schema: scalar: Extra inputs are not permitted",
    ]


def test_profile_new_from_a_walk_yields_the_if_mib_series(tmp_path: Path) -> None:
    walk = tmp_path / "rb952.walk"
    routeros_as_walk(walk)
    out = tmp_path / "profiles" / "rb952.yaml"
    out.parent.mkdir()
    run = netmon("profile", "new", "--walk", str(walk), "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "found: IF-MIB ifTable/ifXTable" in run.stderr
    assert "not found: UPS-MIB upsBattery" in run.stderr
    assert netmon("profile", "check", str(out.parent)).returncode == 0
    test = netmon("profile", "test", "system", str(out), "--recording", str(walk))
    assert test.returncode == 0, test.stderr
    rec = Recording.read(recordings_dir() / "routeros.snmprec")
    for index, raw in rec.numbers(HC_IN).items():
        got = values(test.stdout, "netmon_interface_receive_bytes_total", ifname=ifname(rec, index))
        assert got == [float(raw)], index
