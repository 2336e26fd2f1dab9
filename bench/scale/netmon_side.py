"""netmon in a scale run: the agent and the daemon started pinned, warm-up, timed scrapes."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from netmon.tools.simulate import free_tcp_port
from tests.replay_agent import command, read_manifest
from tests.scale_inventory import Province, Settings, write_province

from .procs import Procs, wait_until

ROOT = Path(__file__).resolve().parents[2]
#: environment variable: netmon runs under bench.scale.slow_callbacks with this threshold
SLOW_CALLBACKS = "BENCH_SLOW_CALLBACKS"


@dataclass(frozen=True, slots=True)
class Scrape:
    seconds: float
    wire_bytes: int
    body: bytes
    gzip: bool


async def scrape(http: aiohttp.ClientSession, url: str, *, gzipped: bool) -> Scrape:
    """One GET of ``url``, timed from the request to the last byte (decompression, which
    Prometheus also pays, is not in the time: it is the scraper's cost)."""
    headers = {"Accept-Encoding": "gzip" if gzipped else "identity"}
    began = time.monotonic()
    async with http.get(url, headers=headers, auto_decompress=False) as resp:
        raw = await resp.read()
        resp.raise_for_status()
        encoded = resp.headers.get("Content-Encoding", "") == "gzip"
    seconds = time.monotonic() - began
    return Scrape(seconds, len(raw), gzip.decompress(raw) if encoded else raw, encoded)


@dataclass
class Agent:
    """tests/replay_agent.py serving the province's devices."""

    pid: int
    live: list[int]
    dead: list[int]
    community: str
    stats_file: Path

    def stats(self) -> dict[str, float]:
        data: dict[str, float] = json.loads(self.stats_file.read_text())
        return data


async def start_agent(
    procs: Procs, work: Path, live: int, dead: int, cpu: int | None, step: float = 1.0
) -> Agent:
    community = secrets.token_hex(8)
    manifest, stats = work / "agent.json", work / "agent-stats.json"
    manifest.unlink(missing_ok=True)
    cmd = command(community, live, dead, manifest, stats, step)
    process = procs.start("agent", cmd, cpu)

    async def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"replay agent exited {process.returncode}: see {work}/agent.log")
        return read_manifest(manifest) is not None and stats.exists()

    await wait_until("the replay agent's ports", ready, 120)
    got = read_manifest(manifest)
    assert got is not None
    return Agent(process.pid, got.live, got.dead, community, stats)


def province(work: Path, agent: Agent, settings: Settings) -> Province:
    return write_province(work / "config", agent.live, agent.dead, agent.community, settings)


@dataclass
class Netmon:
    process: subprocess.Popen[bytes]
    base: str

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self, http: aiohttp.ClientSession) -> bool:
        try:
            async with http.get(self.base + "/-/ready") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    async def targets(self, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        async with http.get(self.base + "/api/v1/targets") as resp:
            data: list[dict[str, Any]] = (await resp.json())["data"]
            return data


async def start_netmon(
    procs: Procs,
    http: aiohttp.ClientSession,
    config: Path,
    cpu: int | None,
    name: str = "netmon",
    shard: str | None = None,
) -> Netmon:
    port = free_tcp_port()
    slow = os.environ.get(SLOW_CALLBACKS)  # python -m bench.scale --slow-callbacks S
    runner = ["-m", "bench.scale.slow_callbacks", slow] if slow else ["-m", "netmon"]
    cmd = [sys.executable, *runner, "--log-format", "json", "run", "-c", str(config)]
    cmd += ["--listen", f"127.0.0.1:{port}"]
    if shard is not None:
        cmd += ["--shard", shard]
    process = procs.start(name, cmd, cpu)
    netmon = Netmon(process, f"http://127.0.0.1:{port}")

    async def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"netmon exited {process.returncode}: see {name}.log")
        return await netmon.ready(http)

    await wait_until("netmon ready", up, 300)
    if cpu is not None:
        unpin_helpers(process.pid)
    return netmon


def unpin_helpers(pid: int) -> None:
    """netmon polls on its core; its helper processes (the fork server that forks each
    reload's loading child, multiprocessing's resource tracker) may use any core, as they
    would on a production machine with a core to spare: a reload's load then does not
    take the polling core's time (docs/benchmarks.md says so beside the figures)."""
    everywhere = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.sched_setaffinity(int(child), everywhere)


async def warm_up(
    http: aiohttp.ClientSession, netmon: Netmon, devices: int, within: float
) -> float:
    """Until every target was polled twice (the second poll is the steady state: slow
    columns cached); returns the seconds it took."""
    began = time.monotonic()

    async def polled_twice() -> bool:
        got = await netmon.targets(http)
        return len(got) >= devices and all(t["polls"] >= 2 for t in got)

    await wait_until("every target polled twice", polled_twice, within, every=5.0)
    return time.monotonic() - began
