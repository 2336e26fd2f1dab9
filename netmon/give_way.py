"""Work in a worker thread that gives way to the event loop.

A worker thread and the event loop share one interpreter lock and, on a busy machine,
one core: while both run, the loop runs at about half speed and its timers fall behind.
At 10,000 devices the /metrics answer's build (~1 s of CPU every scrape) made poll timers
up to 0.5 s late. So such work calls a ``GiveWay`` often: once ``slice_seconds`` of work
went by since the last time, it posts a callback to the loop and waits until that ran,
i.e. until the loop came round once. While the loop is busy, the worker then takes at
most one slice from it per turn of the loop; while it is idle, the round trip costs
~0.1 ms. The work takes longer in wall time, which is what it is for.
"""

from __future__ import annotations

import asyncio
import threading
import time


class GiveWay:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        slice_seconds: float = 0.002,
        wait_at_most: float = 1.0,
    ) -> None:
        """``wait_at_most``: a loop that does not come round in this long (stalled, or
        closing) is not waited for longer."""
        self._loop = loop
        self.slice_seconds = slice_seconds
        self.wait_at_most = wait_at_most
        self._since = time.perf_counter()
        #: round trips made, and seconds spent waiting for the loop
        self.turns = 0
        self.waited = 0.0

    def __call__(self) -> None:
        """From the worker thread: wait for a turn of the loop if a slice went by."""
        now = time.perf_counter()
        if now - self._since < self.slice_seconds:
            return
        done = threading.Event()
        try:
            self._loop.call_soon_threadsafe(done.set)
        except RuntimeError:  # the loop is closed: nothing to give way to
            return
        done.wait(self.wait_at_most)
        self._since = time.perf_counter()
        self.turns += 1
        self.waited += self._since - now


def no_pause() -> None:
    """For work done on the loop itself (small builds)."""
