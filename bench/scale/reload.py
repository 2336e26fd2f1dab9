"""Reload of the whole inventory, timed end to end: a site file changed (one site renamed,
so the load is a real change), SIGHUP, until netmon's log says "config reloaded" (the
line's own timestamp: polling a million-line /metrics to see it would load the daemon
being timed), and the event loop's lag while it happened (netmon_event_loop_lag_seconds
over the same span)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from .netmon_side import Netmon, scrape
from .procs import wait_until
from .prom import Histogram, value

FAILED = "netmon_config_reloads_total"
LOOP = "netmon_event_loop_lag_seconds"


def _touch(config: Path, round_: int) -> None:
    """Rename the first site of the first site file: a change the reload must apply."""
    sites = sorted((config.parent / "sites").glob("*.yaml"))
    text = sites[0].read_text()
    marker = "name: Kantor Desa "
    at = text.index(marker) + len(marker)
    end = text.index("\n", at)
    sites[0].write_text(text[:at] + f"{text[at:end].split(' r')[0]} r{round_}" + text[end:])


def _reloaded_at(log: Path, seen: int) -> tuple[float | None, int]:
    """Unix time of the first "config reloaded" line after the first ``seen`` ones."""
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        if '"config reloaded"' not in line:
            continue
        count += 1
        if count > seen:
            stamp = json.loads(line)["timestamp"].replace("Z", "+00:00")
            return datetime.fromisoformat(stamp).timestamp(), count
    return None, count


async def reloads(
    http: aiohttp.ClientSession, netmon: Netmon, config: Path, log: Path, rounds: int
) -> dict[str, Any]:
    """``rounds`` reloads, one after another: seconds each, and the loop's worst lag."""
    url = netmon.base + "/metrics"
    took: list[float] = []
    before = await scrape(http, url, gzipped=True)
    for r in range(rounds):
        _, seen = _reloaded_at(log, 1 << 30)
        _touch(config, r)
        sent = time.time()
        netmon.process.send_signal(signal.SIGHUP)
        done: list[float] = []

        async def applied(seen: int = seen, done: list[float] = done) -> bool:
            at, _ = _reloaded_at(log, seen)
            if at is not None:
                done.append(at)
            return at is not None

        await wait_until("reload logged", applied, 120, every=0.2)
        took.append(done[0] - sent)
        await asyncio.sleep(2.0)  # let the swapped-in jobs settle before the next one
    after = await scrape(http, url, gzipped=True)
    end, start = Histogram.read(after.body, LOOP), Histogram.read(before.body, LOOP)
    loop = end.minus(start) if end is not None else None
    return {
        "reload_s": [round(t, 2) for t in took],
        "reload_s_max": round(max(took), 2) if took else None,
        "reload_loop_stalls_over_50ms": loop.above(0.05) if loop else None,
        "reload_loop_window_max_le_s": loop.max_bound() if loop else None,
        "reload_failures": value(after.body, FAILED + '{result="failure"}'),
    }
