"""How late the event loop runs what is due. Everything netmon does (reading poll
replies, MQTT, scrapes) shares this loop, so a long stall shows here before it shows as
timeouts.

Each poll's timer is a free sample (the scheduler reports how late it woke), so a busy
daemon is measured at every poll; a timer of our own every ``period`` seconds covers a
quiet one. Not more often: each wake-up of the process costs ~0.1 ms of CPU here (a 10 Hz
timer alone was 1-1.4 ms of CPU a second, a third of a poll's budget)."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Gauge, Histogram

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LoopLag:
    def __init__(self, registry: CollectorRegistry, period: float = 1.0) -> None:
        self.period = period
        self.lag = Histogram(
            "netmon_event_loop_lag_seconds",
            "How late timers ran on the event loop (each poll's, and one every"
            f" {period:g} s): a stall of the loop, while which no poll reply, MQTT message"
            " or scrape is read.",
            buckets=BUCKETS,
            registry=registry,
        )
        self.worst = Gauge(
            "netmon_event_loop_lag_max_seconds",
            "The longest event-loop lag seen since the start.",
            registry=registry,
        )
        self.tasks = Gauge(
            "netmon_event_loop_tasks",
            "asyncio tasks alive (one poll loop per target, the collectors' own, the HTTP"
            " handlers'), counted every 10 s: a number that only grows is a leak.",
            registry=registry,
        )
        self._worst = 0.0

    def observe(self, late: float) -> None:
        late = max(0.0, late)
        self.lag.observe(late)
        if late > self._worst:
            self._worst = late
            self.worst.set(late)

    async def run(self) -> None:
        ticks = 0
        while True:
            due = time.monotonic() + self.period
            await asyncio.sleep(self.period)
            self.observe(time.monotonic() - due)
            if ticks % max(1, round(10 / self.period)) == 0:
                self.tasks.set(len(asyncio.all_tasks()))
            ticks += 1
