"""One size of the benchmark: netmon over a window, then snmp_exporter over the same
agents and the same window, each pinned alone to the measured core."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

from netmon.tools.simulate import free_tcp_port
from tests.scale_inventory import Settings, write_province

from .exporter import Scrapes, scrape_every_target, snmp_yml
from .netmon_side import Agent, Netmon, province, scrape, start_agent, start_netmon, warm_up
from .procs import Procs, cpu_seconds, rss_bytes, wait_until
from .prom import Histogram, sample_count, value
from .reload import reloads

MB = 1024 * 1024
LAG = "netmon_scheduler_lag_seconds"
LOOP = "netmon_event_loop_lag_seconds"
BUILD = "netmon_metrics_answer_build_seconds"
GC = "netmon_gc_pause_seconds"


def settings(args: argparse.Namespace) -> Settings:
    return Settings(
        interval=args.interval,
        timeout=args.timeout,
        retries=args.retries,
        kabupaten=args.kabupaten,
        max_concurrency=args.max_concurrency,
        max_repetitions=args.max_repetitions,
    )


def split(devices: int, dead_share: float) -> tuple[int, int]:
    dead = round(devices * dead_share)
    return devices - dead, dead


async def baseline_rss(procs: Procs, http: aiohttp.ClientSession, work: Path, cpu: int) -> int:
    """RSS of a netmon with no devices: what RSS per device is counted above."""
    config = write_province(work / "empty", [], [], "unused", Settings()).config
    netmon = await start_netmon(procs, http, config, cpu, name="netmon-empty")
    rss = rss_bytes(netmon.pid)
    procs.stop(netmon.process)
    return rss


class Window:
    """CPU and counters at the edges of the measured window."""

    def __init__(self, agent: Agent, pid: int) -> None:
        self.agent, self.pid = agent, pid
        self.at = time.monotonic()
        self.cpu = cpu_seconds(pid)
        self.agent_cpu = cpu_seconds(agent.pid)
        self.agent_stats = agent.stats()

    def delta(self, later: Window) -> dict[str, float]:
        seconds = later.at - self.at
        served = {k: later.agent_stats[k] - self.agent_stats.get(k, 0) for k in later.agent_stats}
        return {
            "seconds": seconds,
            "cpu": later.cpu - self.cpu,
            "agent_cpu_share": (later.agent_cpu - self.agent_cpu) / seconds,
            "agent_varbinds_per_s": served.get("varbinds", 0.0) / seconds,
            "agent_requests_per_s": served.get("requests", 0.0) / seconds,
            "agent_varbinds": served.get("varbinds", 0.0),
        }


async def measure_netmon(
    args: argparse.Namespace, procs: Procs, http: aiohttp.ClientSession, agent: Agent, n: int
) -> tuple[Netmon, dict[str, Any]]:
    work = procs.logs
    prov = province(work, agent, settings(args))
    began = time.monotonic()
    netmon = await start_netmon(procs, http, prov.config, args.netmon_cpu)
    started = time.monotonic() - began
    warm = await warm_up(http, netmon, n, within=4 * args.interval + 120)
    url = netmon.base + "/metrics"
    # the first scrape after a start has no answer to be served: it waits for the first
    # build (reported on its own, as start-up); the window times the scrapes after it
    first_ever = await scrape(http, url, gzipped=True)
    first_window = Window(agent, netmon.pid)
    first = await scrape(http, url, gzipped=True)
    timed = [first.seconds]
    end = first_window.at + args.window
    while (next_at := first_window.at + len(timed) * args.scrape_every) < end - 0.5:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        timed.append((await scrape(http, url, gzipped=True)).seconds)
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    last_window = Window(agent, netmon.pid)
    last = await scrape(http, url, gzipped=True)
    rss = rss_bytes(netmon.pid)
    plain = await scrape(http, url, gzipped=False)
    timed_reloads = {}
    if args.reloads:
        log = procs.logs / "netmon.log"
        timed_reloads = await reloads(http, netmon, prov.config, log, args.reloads)
    d = first_window.delta(last_window)
    polls = (value(last.body, f"{LAG}_count") or 0) - (value(first.body, f"{LAG}_count") or 0)
    lag = _hist(last.body, first.body, LAG)
    loop = _hist(last.body, first.body, LOOP)
    build = _hist(last.body, first.body, BUILD)
    pauses = _hist(last.body, first.body, GC)
    live_share = len(prov.live) / max(1, n)
    return netmon, {
        "startup_s": round(started, 2),
        "warmup_s": round(warm, 1),
        "window_s": round(d["seconds"], 1),
        "cpu_s": round(d["cpu"], 3),
        "cpu_share": round(d["cpu"] / d["seconds"], 3),
        "polls": polls,
        "cpu_ms_per_poll": _ms(d["cpu"], polls),
        "skipped": _delta(last.body, first.body, "netmon_scheduler_skipped_polls_total"),
        "lag_p50_s": _q(lag, 0.5),
        "lag_p99_s": _q(lag, 0.99),
        "rss_mb": round(rss / MB, 1),
        "rss_per_device_kb": round((rss - args.baseline_rss) / max(1, n) / 1024, 1),
        "scrape_gzip_s_p50": round(statistics.median(timed), 3),
        "scrape_gzip_s_max": round(max(timed), 3),
        "scrapes": len(timed),
        "scrape_plain_s": round(plain.seconds, 3),
        "scrape_first_after_start_s": round(first_ever.seconds, 3),
        "bytes_plain": len(plain.body),
        "bytes_gzip": last.wire_bytes if last.gzip else None,
        "samples": sample_count(plain.body),
        "loop_p99_s": _q(loop, 0.99),
        "loop_window_max_le_s": loop.max_bound() if loop else None,
        "loop_stalls_over_50ms": loop.above(0.05) if loop else None,
        "loop_max_since_start_s": value(last.body, "netmon_event_loop_lag_max_seconds"),
        "answer_build_p99_s": _q(build, 0.99),
        "gc_pauses_over_50ms": pauses.above(0.05) if pauses else None,
        "gc_pause_window_max_le_s": pauses.max_bound() if pauses else None,
        "gc_pauses_over_50ms_by_generation": _over_50ms_by_generation(last.body, first.body),
        "agent_cpu_share": round(d["agent_cpu_share"], 3),
        "agent_varbinds_per_s": round(d["agent_varbinds_per_s"]),
        "agent_requests_per_s": round(d["agent_requests_per_s"]),
        "varbinds_per_live_poll": round(d["agent_varbinds"] / max(1.0, polls * live_share), 1),
        **timed_reloads,
    }


async def measure_exporter(
    args: argparse.Namespace, procs: Procs, http: aiohttp.ClientSession, agent: Agent
) -> dict[str, Any]:
    work = procs.logs
    conf = work / "snmp.yml"
    conf.write_text(snmp_yml(args.exporter_walk, agent.community, args.timeout, args.retries, 25))
    port = free_tcp_port()
    cmd = [args.exporter, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"]
    process = procs.start("exporter", cmd, args.netmon_cpu)
    base = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        try:
            async with http.get(base + "/") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until("snmp_exporter listening", up, 60)
    ports = sorted(agent.live + agent.dead)
    targets = [f"127.0.0.1:{p}" for p in ports]
    warm = min(args.interval, 60.0)
    start = time.monotonic()
    until = start + warm + args.window + args.interval  # scrapes in flight end in the tail
    done = Scrapes()
    runner = asyncio.create_task(
        scrape_every_target(http, base, targets, args.interval, until, done)
    )
    await asyncio.sleep(warm)
    first = Window(agent, process.pid)
    await asyncio.sleep(args.window)
    last = Window(agent, process.pid)
    rss = rss_bytes(process.pid)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    procs.stop(process)
    inside = done.between(first.at, last.at)
    d = first.delta(last)
    ok = [s for s in inside if s[2] == 200]
    live = len(agent.live) / max(1, len(targets))
    return {
        "cpu_s": round(d["cpu"], 3),
        "scrapes": len(inside),
        "scrapes_ok": len(ok),
        "cpu_ms_per_poll": _ms(d["cpu"], len(inside)),
        "scrape_s_p50": round(statistics.median(s[1] for s in ok), 3) if ok else None,
        "rss_mb": round(rss / MB, 1),
        "agent_cpu_share": round(d["agent_cpu_share"], 3),
        "varbinds_per_live_poll": round(d["agent_varbinds"] / max(1.0, len(inside) * live), 1),
    }


async def one_size(args: argparse.Namespace, procs: Procs, n: int) -> dict[str, Any]:
    live, dead = split(n, args.dead)
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        agent = await start_agent(procs, procs.logs, live, dead, args.agent_cpu)
        result: dict[str, Any] = {"devices": n, "live": live, "dead": dead}
        netmon, result["netmon"] = await measure_netmon(args, procs, http, agent, n)
        procs.stop(netmon.process)
        if args.exporter:
            result["exporter"] = await measure_exporter(args, procs, http, agent)
            ours = result["netmon"]["cpu_ms_per_poll"]
            theirs = result["exporter"]["cpu_ms_per_poll"]
            result["ratio"] = round(theirs / ours, 2) if ours and theirs else None
        procs.stop_all()
    return result


def _hist(later: bytes, earlier: bytes, name: str, only: str = "") -> Histogram | None:
    end = Histogram.read(later, name, only)
    return None if end is None else end.minus(Histogram.read(earlier, name, only))


def _over_50ms_by_generation(later: bytes, earlier: bytes) -> dict[str, float | None]:
    """GC pauses over 50 ms in the window, per collector generation."""
    out: dict[str, float | None] = {}
    for generation in "012":
        hist = _hist(later, earlier, GC, f'generation="{generation}"')
        out[generation] = None if hist is None else hist.above(0.05)
    return out


def _q(hist: Histogram | None, q: float) -> float | None:
    got = None if hist is None else hist.quantile(q)
    return None if got is None else round(got, 4)


def _ms(cpu: float, polls: float) -> float | None:
    return round(1000 * cpu / polls, 3) if polls else None


def _delta(later: bytes, earlier: bytes, name: str) -> float | None:
    end = value(later, name)
    return None if end is None else end - (value(earlier, name) or 0.0)
