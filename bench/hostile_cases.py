"""The cases of bench/hostile_rss.py, each run against one running daemon while a
thread samples its RSS; see that script for what each case does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAP_COMMUNITY = "h0stile-trap"
FLOOD_CODE = """
import socket, sys, time
port, packet = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
rate, seconds = int(sys.argv[3]), float(sys.argv[4])
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.bind(("127.0.0.1", 0))
    sent, total, start = 0, int(rate * seconds), time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            sock.sendto(packet, ("127.0.0.1", port))
            sent += 1
        time.sleep(0.0005)
    print(sent, round(time.monotonic() - start, 2))
"""


class Sampler(threading.Thread):
    """VmRSS and VmHWM of one process every ``period`` s: (monotonic time, rss, hwm) kB."""

    def __init__(self, pid: int, period: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples: list[tuple[float, int, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return  # the process is gone
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            kb = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in fields}
            if len(kb) == 2:
                self.samples.append((time.monotonic(), kb["VmRSS"], kb["VmHWM"]))
            self.stopped.wait(self.period)

    def max_mb(self, start: float, end: float) -> float:
        window = [rss for t, rss, _ in self.samples if start <= t <= end]
        return max(window, default=0) / 1024

    def hwm_mb(self) -> float:
        return self.samples[-1][2] / 1024 if self.samples else 0.0


@dataclass
class Row:
    case: str
    rss_before_mb: float = 0.0
    max_rss_mb: float = 0.0
    alive: bool = True
    scrape_ok: bool = True
    outcome: str = ""
    problem: str = ""  # an expectation other than RSS and liveness that failed
    seconds: float = 0.0


@dataclass
class Bench:
    port: int
    trap_port: int
    root: Path
    proc: subprocess.Popen[bytes]
    sampler: Sampler
    http: aiohttp.ClientSession
    rows: list[Row] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def scrape(self, limit: float = 10.0) -> tuple[str | None, float]:
        began = time.monotonic()
        try:
            async with asyncio.timeout(limit):
                async with self.http.get(self.base + "/metrics") as resp:
                    text = await resp.text()
                    return (text if resp.status == 200 else None), time.monotonic() - began
        except (TimeoutError, aiohttp.ClientError, OSError):
            return None, time.monotonic() - began

    async def counters(self) -> dict[str, float]:
        """netmon's own counters of rejections, by "name{label}"; {} if the scrape failed."""
        text, _ = await self.scrape()
        found: dict[str, float] = {}
        names = (
            "netmon_config_reloads_total",
            "netmon_traps_received_total",
            "netmon_http_connections_closed_total",
            "netmon_http_auth_failures_total",
            "netmon_http_rate_limited_total",
        )
        for line in (text or "").splitlines():
            if line.startswith(names):
                key, _, value = line.rpartition(" ")
                found[key.replace('result="', "").replace('reason="', "").replace('"', "")] = float(
                    value
                )
        return found

    async def reload(self) -> tuple[int, list[str]]:
        async with self.http.post(
            self.base + "/-/reload", timeout=aiohttp.ClientTimeout(120)
        ) as resp:
            body = await resp.json(content_type=None)
            return resp.status, [str(e) for e in body.get("errors", [])]

    async def case(self, name: str, run: Callable[[Row], Awaitable[None]]) -> Row:
        row = Row(name, self.sampler.samples[-1][1] / 1024 if self.sampler.samples else 0.0)
        before = await self.counters()
        start = time.monotonic()
        try:
            await run(row)
        except Exception as exc:
            row.problem = f"case raised {exc!r}"[:200]
        text, _ = await self.scrape()
        row.scrape_ok = text is not None
        row.alive = self.proc.poll() is None
        end = time.monotonic()
        await asyncio.sleep(0.3)  # one more sample or three of the case's tail
        row.max_rss_mb = self.sampler.max_mb(start, end + 0.3)
        row.seconds = end - start
        after = await self.counters()
        moved = {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}
        if moved:
            shown = ", ".join(f"{k} +{v:g}" for k, v in sorted(moved.items()))
            row.outcome = f"{row.outcome}; {shown}" if row.outcome else shown
        if not row.scrape_ok and not row.problem:
            row.problem = "the scrape after the case failed"
        self.rows.append(row)
        print(f"  {name}: {row.max_rss_mb:.1f} MB, {row.seconds:.1f}s, {row.outcome}", flush=True)
        return row


def short(error: str, root: Path) -> str:
    return error.replace(str(root) + "/", "")[:160]


async def config_case(
    bench: Bench, name: str, spoil: Callable[[Path], Callable[[], None]], sighup: bool = False
) -> None:
    async def run(row: Row) -> None:
        undo = spoil(bench.root)
        try:
            if sighup:
                before = await bench.counters()
                bench.proc.send_signal(signal.SIGHUP)
                key = "netmon_config_reloads_total{failure}"
                deadline = time.monotonic() + 60
                while (await bench.counters()).get(key, 0) <= before.get(key, 0):
                    if time.monotonic() > deadline or bench.proc.poll() is not None:
                        row.problem = "SIGHUP: no failed reload counted within 60 s"
                        return
                    await asyncio.sleep(0.2)
                row.outcome = "SIGHUP refused"
            else:
                status, errors = await bench.reload()
                if status != 400 or not errors:
                    row.problem = f"reload answered {status} {errors[:1]}"
                row.outcome = f"{status}, {len(errors)} error(s): " + short(
                    errors[0] if errors else "", bench.root
                )
        finally:
            undo()
        status, errors = await bench.reload()
        if status != 200:
            row.problem = f"the good config after it: {status} {errors[:1]}"

    await bench.case(f"config: {name}", run)


async def slow_clients(bench: Bench, count: int = 500, seconds: float = 15.0) -> None:
    async def client(deadline: float, stats: dict[str, int]) -> None:
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", bench.port)
            except OSError:
                stats["connect_failed"] += 1
                await asyncio.sleep(0.5)
                continue
            stats["connections"] += 1
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            n = 0
            try:
                while time.monotonic() < deadline:
                    try:
                        got = await asyncio.wait_for(reader.read(4096), 2.0)
                    except TimeoutError:
                        writer.write(f"X-Slow-{n}: {n}\r\n".encode())
                        n += 1
                        continue
                    stats["closed_by_server" if not got else "answered"] += 1
                    break
            except ConnectionError:
                stats["closed_by_server"] += 1
            finally:
                writer.close()

    async def run(row: Row) -> None:
        stats = dict.fromkeys(("connections", "closed_by_server", "answered", "connect_failed"), 0)
        deadline = time.monotonic() + seconds
        tasks = [asyncio.create_task(client(deadline, stats)) for _ in range(count)]
        scrapes = []
        for at in (2.0, 7.0, 12.0):
            await asyncio.sleep(max(0.0, deadline - seconds + at - time.monotonic()))
            text, took = await bench.scrape()
            scrapes.append(f"{took:.2f}s" if text is not None else "FAILED")
        await asyncio.gather(*tasks)
        if "FAILED" in scrapes:
            row.problem = "a scrape among the slow clients failed"
        row.outcome = (
            f"{stats['connections']} slow connections,"
            f" {stats['closed_by_server']} closed by netmon, {stats['answered']} answered;"
            f" scrapes at 2/7/12 s: {', '.join(scrapes)}"
        )

    await bench.case(f"{count} slow HTTP clients, {seconds:g} s", run)


async def hostile_http(bench: Bench) -> None:
    from hostile_inputs import http_requests, send_raw

    async def run(row: Row) -> None:
        requests = http_requests()
        gate = asyncio.Semaphore(8)

        async def one(data: bytes) -> str:
            async with gate:
                return await send_raw(bench.port, data)

        results = await asyncio.gather(*(one(data) for _, data in requests.values()))
        counts: dict[str, int] = {}
        for status in results:
            counts[status] = counts.get(status, 0) + 1
        bad = [
            f"{name} -> {s}" for name, s in zip(requests, results, strict=True) if s.startswith("5")
        ]
        row.outcome = f"{len(requests)} requests: " + ", ".join(
            f"{k} x{v}" for k, v in sorted(counts.items())
        )
        if bad:
            row.problem = "5xx: " + "; ".join(bad)
        by_request = {
            name: (group, s)
            for (name, (group, _)), s in zip(requests.items(), results, strict=True)
        }
        row.outcome += "\n" + json.dumps(by_request)

    await bench.case("67 hostile HTTP requests", run)


def captured_trap() -> bytes:
    """The datagram net-snmp's snmptrap sends (coldStart, v2c), caught on our socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        cmd = ["snmptrap", "-v2c", "-c", TRAP_COMMUNITY, f"127.0.0.1:{sock.getsockname()[1]}"]
        subprocess.run(
            [*cmd, "", "1.3.6.1.6.3.1.1.5.1"], check=True, timeout=10, capture_output=True
        )
        packet, _ = sock.recvfrom(65535)
    return packet


async def trap_flood(bench: Bench, rate: int = 10_000, seconds: float = 5.0) -> None:
    async def run(row: Row) -> None:
        packet = captured_trap()
        args = [str(bench.trap_port), packet.hex(), str(rate), str(seconds)]
        flood = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD_CODE, *args, stdout=asyncio.subprocess.PIPE
        )
        latencies: list[float] = []
        failed = 0
        while flood.returncode is None:
            text, took = await bench.scrape(limit=2.0)
            latencies.append(took)
            failed += text is None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flood.wait(), 0.5)
        out = (await flood.communicate())[0].decode().split()
        row.outcome = (
            f"sent {out[0]} in {out[1]} s; {len(latencies)} scrapes during it, max"
            f" {max(latencies):.2f}s, {failed} failed"
        )
        if failed:
            row.problem = f"{failed} scrapes during the flood failed"

    await bench.case(f"trap flood {rate}/s for {seconds:g} s", run)


async def scrapers(bench: Bench, count: int = 200, seconds: float = 10.0) -> None:
    async def run(row: Row) -> None:
        latencies: list[float] = []
        failures: list[str] = []
        deadline = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def scraper() -> None:
                while time.monotonic() < deadline:
                    began = time.monotonic()
                    try:
                        async with asyncio.timeout(30):
                            async with http.get(bench.base + "/metrics") as resp:
                                await resp.read()
                                if resp.status != 200:
                                    failures.append(str(resp.status))
                                    continue
                        latencies.append(time.monotonic() - began)
                    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                        failures.append(type(exc).__name__)

            await asyncio.gather(*(scraper() for _ in range(count)))
        latencies.sort()
        p50 = latencies[len(latencies) // 2] if latencies else 0.0
        row.outcome = (
            f"{len(latencies)} scrapes answered (p50 {p50:.2f}s, max"
            f" {max(latencies, default=0):.2f}s), {len(failures)} failed {sorted(set(failures))}"
        )
        if failures:
            row.problem = f"{len(failures)} scrapes failed"

    await bench.case(f"{count} concurrent scrapers, {seconds:g} s", run)
