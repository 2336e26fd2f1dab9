"""Soak: one size for a long time, netmon's RSS, descriptors and tasks sampled as it goes.

Scraped like Prometheus meanwhile (every ``--scrape-every`` seconds, gzip). Every
``--sample-every`` seconds one CSV row: time, RSS, open descriptors, threads, asyncio
tasks (when netmon exports a tasks gauge, else empty), CPU, polls and skipped polls. The
summary gives RSS growth per hour, a least-squares slope over the samples after warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import time
from pathlib import Path
from typing import Any

import aiohttp

from .netmon_side import province, scrape, start_agent, start_netmon, warm_up
from .procs import Procs, cpu_seconds, open_fds, rss_bytes, threads
from .prom import value
from .run import settings, split

#: gauges of the asyncio task count netmon may export (the first one found is used)
TASK_GAUGES = ("netmon_event_loop_tasks", "netmon_asyncio_tasks", "netmon_tasks")
FIELDS = ["elapsed_s", "rss_mb", "fds", "threads", "tasks", "cpu_s", "polls", "skipped"]


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value), per hour."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return None
    return 3600 * sum((x - mx) * (y - my) for x, y in points) / var


def _tasks(body: bytes) -> float | None:
    for name in TASK_GAUGES:
        got = value(body, name)
        if got is not None:
            return got
    return None


async def soak(args: argparse.Namespace, procs: Procs, csv_path: Path) -> dict[str, Any]:
    n = args.devices[0]
    live, dead = split(n, args.dead)
    rows: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        agent = await start_agent(procs, procs.logs, live, dead, args.agent_cpu)
        prov = province(procs.logs, agent, settings(args))
        netmon = await start_netmon(procs, http, prov.config, args.netmon_cpu)
        warm = await warm_up(http, netmon, n, within=4 * args.interval + 120)
        url = netmon.base + "/metrics"
        began = time.monotonic()
        end = began + args.duration
        next_sample = began
        body = b""
        with csv_path.open("w", newline="") as out:
            writer = csv.DictWriter(out, FIELDS)
            writer.writeheader()
            while True:
                now = time.monotonic()
                body = (await scrape(http, url, gzipped=True)).body
                if now >= next_sample:
                    pid = netmon.pid
                    sample = {
                        "elapsed_s": round(now - began, 1),
                        "rss_mb": round(rss_bytes(pid) / 2**20, 2),
                        "fds": open_fds(pid),
                        "threads": threads(pid),
                        "tasks": _tasks(body),
                        "cpu_s": round(cpu_seconds(pid), 2),
                        "polls": value(body, "netmon_scheduler_lag_seconds_count"),
                        "skipped": value(body, "netmon_scheduler_skipped_polls_total"),
                    }
                    writer.writerow(sample)
                    out.flush()
                    rows.append(sample)
                    next_sample += args.sample_every
                if now >= end:
                    break
                await asyncio.sleep(max(0.0, min(now + args.scrape_every, end) - time.monotonic()))
        procs.stop_all()
    rss = [(r["elapsed_s"], r["rss_mb"]) for r in rows]
    fds = [(r["elapsed_s"], float(r["fds"])) for r in rows]
    return {
        "devices": n,
        "live": live,
        "dead": dead,
        "warmup_s": round(warm, 1),
        "duration_s": args.duration,
        "samples": len(rows),
        "rss_mb_first": rows[0]["rss_mb"] if rows else None,
        "rss_mb_last": rows[-1]["rss_mb"] if rows else None,
        "rss_growth_mb_per_h": _round(slope_per_hour(rss)),
        "fds_growth_per_h": _round(slope_per_hour(fds)),
        "fds_max": max((r["fds"] for r in rows), default=None),
        "tasks_last": rows[-1]["tasks"] if rows else None,
        "csv": str(csv_path),
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
