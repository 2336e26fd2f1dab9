"""Traps under a flood: 10,000 a second from one source on loopback, at a real `netmon run`.

The flood is a trap net-snmp's snmptrap sent once, captured and replayed from its source
address by a separate process; polls of a real agent (snmpsim), scrapes and a quiet second
source must go on as if nothing happened, and the excess must be counted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from netmon.tools.simulate import SnmpSim, free_tcp_port, free_udp_port
from tests.helpers import ROOT, async_wait_for, values

pytestmark = pytest.mark.integration

COMMUNITY = "fl00d-c0mm"
INTERVAL = 1.0  # seconds between polls of every device
RATE, BURST = 50, 100  # the receiver's per-source limit, as the config below sets it
FLOOD_RATE, FLOOD_SECONDS = 10_000, 4.0
SCRAPE_DEADLINE = 1.0  # a scrape during the flood answers within this, or fails
NOISY, QUIET = "127.0.0.3", "127.0.0.2"  # the flooding device and a quiet one
COLD_START, LINK_DOWN = "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.6.3.1.1.5.3"
WLAN1 = ("1.3.6.1.2.1.2.2.1.1.1", "i", "1", "1.3.6.1.2.1.2.2.1.2.1", "s", "wlan1")


def flood(port: int, packet_hex: str, source: str, rate: int, seconds: float) -> None:
    """The flooding process: ``rate`` copies a second of one datagram from ``source`` for
    ``seconds``, paced in 0.5 ms steps; prints what it sent, and when (monotonic clock,
    which is the same for every process of the host)."""
    packet = bytes.fromhex(packet_hex)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sent, total = 0, int(rate * seconds)
        start = time.monotonic()
        while sent < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            while sent < due:
                sock.sendto(packet, ("127.0.0.1", port))
                sent += 1
            time.sleep(0.0005)  # pacing the sender, not waiting for anything
        print(json.dumps({"sent": sent, "start": start, "end": time.monotonic()}))


def snmptrap(port: int, source: str, trap: str, *binds: str) -> None:
    cmd = ["snmptrap", "-v2c", "-c", COMMUNITY, f"--clientaddr={source}"]
    cmd += [f"127.0.0.1:{port}", "", trap, *binds]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    assert done.returncode == 0, done.stderr


def captured_trap(source: str, trap: str) -> bytes:
    """The datagram snmptrap sends from ``source``, caught on a socket of our own."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        snmptrap(sock.getsockname()[1], source, trap)
        packet, (sender, _) = sock.recvfrom(65535)
    assert sender == source
    return packet


def kernel_drops(port: int) -> int:
    """Datagrams the kernel dropped for the UDP socket on 127.0.0.1:port (queue full):
    /proc/net/udp's last column. Those never reached netmon, so it cannot count them."""
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local:
            return int(fields[-1])
    raise AssertionError(f"no UDP socket on 127.0.0.1:{port}")


def run_netmon(config: Path, listen: str, log: Path) -> subprocess.Popen[bytes]:
    """`netmon run`, a process of its own; its output goes to a file (a pipe nobody reads
    could fill up and stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "netmon", "run", "-c", str(config), "--listen", listen],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def start_flood(port: int, packet: bytes) -> subprocess.Popen[str]:
    """flood() in a process of its own: it must not share the GIL with our scrapes."""
    code = (
        "from tests.integration.test_trap_flood import flood; "
        f"flood({port}, {packet.hex()!r}, {NOISY!r}, {FLOOD_RATE}, {FLOOD_SECONDS})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write(root: Path, sim_port: int, trap_port: int) -> Path:
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "snmp").write_text("routeros\n")
    (root / "trap").write_text(COMMUNITY + "\n")
    polled = {
        "id": "rtr-pop",
        "address": "127.0.0.1",
        "port": sim_port,
        "profiles": ["system", "if_mib"],
        "snmp": {"community": {"file": "snmp"}},
    }
    sites = [
        {"id": "pop", "name": "POP", "kind": "pop", "devices": [polled]},
        {
            "id": "desa",
            "name": "Kantor Desa",
            "kind": "village_office",
            "uplinks": ["pop"],
            "devices": [{"id": "rtr-desa", "address": QUIET, "profiles": [], "icmp": True}],
        },
        {
            "id": "sekolah",
            "name": "Sekolah",
            "kind": "school",
            "uplinks": ["pop"],
            "devices": [{"id": "rtr-noisy", "address": NOISY, "profiles": [], "icmp": True}],
        },
    ]
    main = {
        "defaults": {
            "interval": f"{INTERVAL}s",
            "deadline": "1s",
            "snmp": {"timeout": "500ms", "retries": 0},
        },
        "traps": {
            "listen": f"127.0.0.1:{trap_port}",
            "communities": [{"file": "trap"}],
            "rate_per_source": RATE,
            "burst": BURST,
        },
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    (root / "sites/k.yaml").write_text(yaml.safe_dump({"kabupaten": "Berau", "sites": sites}))
    return root / "netmon.yaml"


@dataclass
class Watch:
    """What the scrapes during the flood saw."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    polled: list[float] = field(default_factory=list)  # rtr-pop's last good poll, per scrape
    target_up: list[float] = field(default_factory=list)


async def scrape(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + "/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


async def watch(http: aiohttp.ClientSession, base: str, until: float, seen: Watch) -> None:
    """Scrape /metrics back to back until the monotonic time ``until``."""
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            text = await asyncio.wait_for(scrape(http, base), SCRAPE_DEADLINE)
        except (TimeoutError, aiohttp.ClientError) as exc:
            seen.failures.append(f"{time.monotonic() - began:.2f}s: {exc!r}")
            continue
        seen.latencies.append(time.monotonic() - began)
        seen.polled += values(text, "netmon_last_poll_success_timestamp_seconds", device="rtr-pop")
        seen.target_up += values(text, "netmon_target_up", device="rtr-pop", collector="snmp")


def trap_counts(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for result in ("accepted", "rate_limited", "unknown_source", "bad_community", "malformed"):
        found[result] = sum(values(text, "netmon_traps_received_total", result=result))
    return found


async def test_a_trap_flood_from_one_source_starves_nothing_and_is_counted(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    trap_port, http_port = free_udp_port(), free_tcp_port()
    config = write(tmp_path, snmpsim.port, trap_port)
    base = f"http://127.0.0.1:{http_port}"
    packet = captured_trap(NOISY, COLD_START)
    daemon = run_netmon(config, f"127.0.0.1:{http_port}", tmp_path / "netmon.log")
    sender: subprocess.Popen[str] | None = None
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
    try:

        async def polled_and_listening() -> bool:
            try:
                text = await scrape(http, base)
            except (aiohttp.ClientError, AssertionError):
                return False
            up = values(text, "netmon_target_up", device="rtr-pop", collector="snmp")
            return up == [1.0] and "netmon_traps_received_total" in text

        await async_wait_for(polled_and_listening, 30, "rtr-pop polled and traps listening")
        assert trap_counts(await scrape(http, base)) == dict.fromkeys(trap_counts(""), 0.0)
        drops_before = kernel_drops(trap_port)

        cpu_before, flood_began = cpu_seconds(daemon.pid), time.monotonic()
        sender = start_flood(trap_port, packet)

        async def flood_limited() -> bool:
            return trap_counts(await scrape(http, base))["rate_limited"] > 0

        await async_wait_for(flood_limited, 10, "the flood reaching the rate limit")
        seen = Watch()
        watching = asyncio.create_task(
            watch(http, base, time.monotonic() + FLOOD_SECONDS - 1.0, seen)
        )
        # the quiet device's linkDown, in the middle of the flood
        await asyncio.to_thread(snmptrap, trap_port, QUIET, LINK_DOWN, *WLAN1)

        async def quiet_trap_applied() -> bool:
            text = await scrape(http, base)
            return values(text, "netmon_trap_interface_up", device="rtr-desa") == [0.0]

        await async_wait_for(quiet_trap_applied, FLOOD_SECONDS, "the quiet source's trap")
        assert sender.poll() is None, "the flood ended before the quiet trap was applied"
        await watching
        out, _ = await asyncio.to_thread(sender.communicate, timeout=30)
        cpu_share = (cpu_seconds(daemon.pid) - cpu_before) / (time.monotonic() - flood_began)
        report: dict[str, Any] = json.loads(out)
        sent, started = int(report["sent"]), float(report["start"])
        assert sent == FLOOD_RATE * FLOOD_SECONDS
        print(
            f"\nflood: {report['sent']} traps in {report['end'] - report['start']:.2f} s; "
            f"{len(seen.latencies)} scrapes, slowest {max(seen.latencies, default=0):.3f} s; "
            f"rtr-pop polls seen {sorted(set(seen.polled))}; netmon used {cpu_share:.0%} CPU"
        )

        # scrapes answered, each within its deadline
        assert not seen.failures, seen.failures
        assert len(seen.latencies) >= 10
        # polls went on: on schedule, and the agent answered every one
        assert seen.target_up
        assert set(seen.target_up) == {1.0}
        times = sorted(set(seen.polled))
        assert len(times) >= (FLOOD_SECONDS - 1.0) / INTERVAL - 1
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= 2 * INTERVAL, gaps

        # every flood trap that reached netmon is accepted within the limit or counted
        reached = sent - (kernel_drops(trap_port) - drops_before)
        counts: dict[str, float] = {}

        async def all_counted() -> bool:
            counts.update(trap_counts(await scrape(http, base)))
            return counts["accepted"] + counts["rate_limited"] == reached + 1  # + the quiet one

        await async_wait_for(all_counted, 10, "every trap of the flood counted")
        allowed = BURST + RATE * (time.monotonic() - started)
        flood_accepted = counts["accepted"] - 1
        print(f"reached netmon {reached}, accepted {flood_accepted}, limit {allowed:.0f}")
        assert BURST <= flood_accepted <= allowed
        assert counts["rate_limited"] >= reached - allowed
        assert reached >= 0.9 * sent, "the kernel dropped much: netmon fell behind"
        assert cpu_share < 0.5, "a refused trap should cost next to nothing"
        assert counts["malformed"] == counts["bad_community"] == counts["unknown_source"] == 0
    finally:
        await http.close()
        for process in (sender, daemon):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
