"""How late the event loop runs what is due: a timer every ``period`` seconds notes how
long after its due time it ran. Everything netmon does (reading poll replies, MQTT,
scrapes) shares this loop, so a long stall shows here before it shows as timeouts."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Gauge, Histogram

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LoopLag:
    def __init__(self, registry: CollectorRegistry, period: float = 0.1) -> None:
        self.period = period
        self.lag = Histogram(
            "netmon_event_loop_lag_seconds",
            f"How late a timer due every {period:g} s ran on the event loop (a stall of the"
            " loop: while it lasts no poll reply, MQTT message or scrape is read).",
            buckets=BUCKETS,
            registry=registry,
        )
        self.worst = Gauge(
            "netmon_event_loop_lag_max_seconds",
            "The longest event-loop lag seen since the start.",
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
        while True:
            due = time.monotonic() + self.period
            await asyncio.sleep(self.period)
            self.observe(time.monotonic() - due)
