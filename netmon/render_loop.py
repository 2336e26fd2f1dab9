"""Targets rendered when their snapshots arrive, never inside a scrape.

A poll's snapshot is rendered to exposition text right after it is applied (a village
router: ~0.2 ms); a target that streams (MQTT) at most once a ``min_gap`` second, so many
messages a second still cost one render. Work is done in slices of ``slice_seconds``
with a yield between them, and a target too big to render in one slice (an OLT with
thousands of ONUs) is rendered in a worker thread, so no render stalls the event loop
(polls would be read late and time out).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from netmon.exposition import render_samples
from netmon.store import Store
from netmon.tasks import TURN

#: a target with more samples than this is rendered in a worker thread (~1 us a sample)
BIG = 20_000


class RenderLoop:
    def __init__(
        self,
        store: Store,
        min_gap: float = 1.0,
        slice_seconds: float = TURN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.min_gap = min_gap
        self.slice_seconds = slice_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        store.on_dirty = self._wake.set

    async def run(self) -> None:
        while True:
            self._wake.clear()
            due, wait = self.store.pending(self._clock(), self.min_gap)
            if due:
                await self.render(due)
                continue
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def flush(self) -> None:
        """Render everything pending, the gap not waited out (a scrape: what arrived
        before it is in it). The loop keeps up in between, so this is at most the streams'
        messages of the last second, not what changed since the last scrape."""
        due, _ = self.store.pending(self._clock(), 0.0)
        if due:
            await self.render(due)

    async def render(self, keys: list[str]) -> None:
        started = time.monotonic()
        for key in keys:
            if self.store.size(key) > BIG:
                await self._in_thread(key)
            else:
                self.store.render_target(key, self._clock())
            if time.monotonic() - started > self.slice_seconds:
                await asyncio.sleep(0)  # let polls and scrapes in
                started = time.monotonic()

    async def _in_thread(self, key: str) -> None:
        entry = self.store.entries().get(key)
        if entry is None:
            return
        version = entry.version
        samples = self.store.prepare(entry, self._clock())
        dropped: Counter[str] = Counter()
        rendered = await asyncio.to_thread(render_samples, samples, dropped)
        entry.dropped.update(dropped)
        self.store.finish(entry, version, rendered)
