"""Issue 13 item 1, against a real agent: a profile from the admins' own folder polls
through the daemon and through `netmon poll --profiles-dir`, its family with its HELP;
`netmon check` says when a folder replaces a built-in profile. Expected values are read
straight from the recording snmpsim serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from netmon.tools.simulate import SnmpSim, recordings_dir
from tests.harness import start
from tests.helpers import ROOT, async_wait_for, values
from tests.unit.test_profiles_dirs import MTU

pytestmark = pytest.mark.integration


def recorded_mtus() -> dict[str, float]:
    """ifMtu per ifIndex, from routeros.snmprec itself."""
    out = {}
    for line in (recordings_dir() / "routeros.snmprec").read_text().splitlines():
        oid, kind, value = line.split("|", 2)
        if oid.startswith("1.3.6.1.2.1.2.2.1.4.") and kind == "2":
            out[oid.rsplit(".", 1)[1]] = float(value)
    return out


def write(root: Path, port: int) -> Path:
    (root / "sites").mkdir()
    (root / "mine").mkdir()
    (root / "mine" / "my_mtu.yaml").write_text(MTU)
    (root / "community").write_text("routeros\n")
    (root / "netmon.yaml").write_text(
        "profiles_dirs: [mine]\n"
        "defaults: {interval: 2s, deadline: 2s, snmp: {community: {file: community}}}\n"
    )
    (root / "sites" / "a.yaml").write_text(
        "kabupaten: Berau\nsites:\n  - id: pop-a\n    name: POP A\n    kind: pop\n"
        f"    devices:\n      - {{id: rtr-a, address: 127.0.0.1, port: {port}, "
        "profiles: [system, my_mtu]}\n"
    )
    return root / "netmon.yaml"


async def test_a_users_profile_polls_through_the_daemon(tmp_path: Path, snmpsim: SnmpSim) -> None:
    expected = recorded_mtus()
    assert len(expected) >= 3
    async with start(write(tmp_path, snmpsim.port)) as running:

        async def polled() -> bool:
            _, text = await running.get("/metrics")
            return bool(values(text, "netmon_interface_largest_frame_bytes"))

        await async_wait_for(polled, 15, "the user's family")
        _, text = await running.get("/metrics")
        got = {
            idx: values(text, "netmon_interface_largest_frame_bytes", device="rtr-a", ifindex=idx)
            for idx in expected
        }
        assert got == {idx: [mtu] for idx, mtu in expected.items()}
        assert (
            "# HELP netmon_interface_largest_frame_bytes Largest packet an interface sends" in text
        )
        assert "# TYPE netmon_interface_largest_frame_bytes gauge" in text


def test_netmon_poll_takes_a_profiles_dir(tmp_path: Path, snmpsim: SnmpSim) -> None:
    (tmp_path / "my_mtu.yaml").write_text(MTU)
    env = {**os.environ, "C": "routeros"}
    where = ("127.0.0.1", "--port", str(snmpsim.port), "--community-env", "C")
    mine = ("--profile", "my_mtu", "--profiles-dir", str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "netmon", "poll", *where, *mine],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = {
        idx: values(done.stdout, "netmon_interface_largest_frame_bytes", ifindex=idx)
        for idx in recorded_mtus()
    }
    assert got == {idx: [mtu] for idx, mtu in recorded_mtus().items()}


def test_check_says_a_folder_replaces_a_builtin_profile(tmp_path: Path, snmpsim: SnmpSim) -> None:
    config = write(tmp_path, snmpsim.port)
    (tmp_path / "mine" / "if_mib.yaml").write_text(MTU.replace("name: my_mtu", "name: if_mib"))
    done = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert "profiles_dirs.0: profile 'if_mib' of mine replaces the built-in one" in said
