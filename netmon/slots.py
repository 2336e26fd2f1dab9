"""Concurrency slots for polls: sized from what the polls take, and live devices first.

How many polls must run at once follows from Little's law: a target polled every
``interval`` seconds whose polls take ``d`` seconds keeps ``d / interval`` of a slot busy
on average. A dead device takes its whole timeout and retries (2 s x 2 at 60 s: 0.067 of
a slot each), so 1,000 dead devices alone need about 67 slots, more than a fixed 64.
``needed()`` sums each target's recent poll time over its interval; the scheduler sizes
the slots to twice that (bounded by ``scheduler.max_concurrency``).

And when slots are short anyway, targets whose last poll failed (dead, or behind a cut)
wait behind live ones and hold at most half the slots: a kabupaten cut must not delay
the polls that show the rest of the province is fine.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
from collections.abc import AsyncIterator

#: the share of the slots that targets whose last poll failed may hold at most
FAILING_SHARE = 0.5
#: at least this many slots, whatever the polls take
MIN_SLOTS = 16


class Slots:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.busy = 0
        self.busy_failing = 0
        self._live: collections.deque[asyncio.Future[None]] = collections.deque()
        self._failing: collections.deque[asyncio.Future[None]] = collections.deque()

    def resize(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._hand_out()

    @property
    def failing_limit(self) -> int:
        return max(1, math.floor(self.limit * FAILING_SHARE))

    @property
    def waiting(self) -> int:
        return len(self._live) + len(self._failing)

    def _may(self, failing: bool) -> bool:
        if self.busy >= self.limit:
            return False
        return not failing or self.busy_failing < self.failing_limit

    def _hand_out(self) -> None:
        """Give free slots to waiters: live ones first, failing ones up to their share."""
        for queue, failing in ((self._live, False), (self._failing, True)):
            while queue and self._may(failing):
                waiter = queue.popleft()
                if waiter.done():  # cancelled while waiting
                    continue
                self._take(failing)
                waiter.set_result(None)

    def _take(self, failing: bool) -> None:
        self.busy += 1
        if failing:
            self.busy_failing += 1

    def _give_back(self, failing: bool) -> None:
        self.busy -= 1
        if failing:
            self.busy_failing -= 1
        self._hand_out()

    @contextlib.asynccontextmanager
    async def slot(self, failing: bool = False) -> AsyncIterator[None]:
        queue = self._failing if failing else self._live
        if not queue and self._may(failing):
            self._take(failing)
        else:
            waiter = asyncio.get_running_loop().create_future()
            queue.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._give_back(failing)  # handed a slot, then cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._give_back(failing)


def needed(busy_seconds_per_second: float) -> int:
    """Slots for polls that keep ``busy_seconds_per_second`` slot-seconds busy per
    second on average (the sum of poll time / interval): twice that, for bursts."""
    return max(MIN_SLOTS, math.ceil(2 * busy_seconds_per_second))
