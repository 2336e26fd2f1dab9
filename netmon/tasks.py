"""Stopping background tasks without trusting them to stop, and long work done in turns.

A task that swallows its cancellation (a library's ``wait_for`` on Python 3.11
does, when the cancel meets a result in the same loop turn) would make a plain
``gather`` after ``cancel`` wait forever, and a SIGTERM would never finish.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator, Iterable
from typing import TypeVar, cast

import structlog

log = structlog.get_logger("netmon.tasks")
T = TypeVar("T")
R = TypeVar("R")


async def cancel_and_wait(tasks: Iterable[asyncio.Task[None]], within: float = 10.0) -> int:
    """Cancel ``tasks`` and wait up to ``within`` seconds for them to end.

    Returns how many were still running at the deadline; those are logged by name
    and left behind rather than blocking the shutdown.
    """
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return 0
    ended, stuck = await asyncio.wait(pending, timeout=within)
    for task in ended:  # their errors were logged where they happened; don't warn again
        if not task.cancelled():
            task.exception()
    if stuck:
        log.error(
            "tasks did not stop after a cancel",
            tasks=sorted(task.get_name() for task in stuck),
            within=within,
        )
    return len(stuck)


#: seconds of work one step of long work may take before it gives the event loop a turn.
#: A poll timer that comes due waits for every callback queued ahead of it, so what
#: matters is the sum: a reload runs its preparation, the status evaluation, the sites'
#: re-render and the renders of arriving results side by side; at 10 ms a step each, poll
#: timers at 10,000 devices were 50-70 ms late while a reload's work ran
TURN = 0.005


class Pace:
    """When a step of long work has used its ``turn`` seconds (None: never). In a
    generator of steps: ``yield from pace.give()``; elsewhere ``due()``, then
    ``restart()`` once the loop gave the work its next turn."""

    __slots__ = ("_began", "turn")

    def __init__(self, turn: float | None = TURN) -> None:
        self.turn = turn
        self._began = time.perf_counter()

    def due(self) -> bool:
        return self.turn is not None and time.perf_counter() - self._began > self.turn

    def restart(self) -> None:
        """The next step begins now (the wait for the loop's turn is not work)."""
        self._began = time.perf_counter()

    def give(self) -> Generator[None, None, None]:
        """Yield (a turn for the loop) when due; the clock restarts when resumed."""
        if self.due():
            yield
            self.restart()


#: work done in steps: a generator that yields where the event loop may have a turn, and
#: returns its result
Steps = Generator[None, None, R]


def finish(steps: Steps[R]) -> R:
    """Run ``steps`` to the end in one go (tools, tests, small inventories)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return cast(R, done.value)


async def in_steps(steps: Steps[R]) -> R:
    """Run ``steps``, giving the event loop a turn wherever they yield."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return cast(R, done.value)
        await asyncio.sleep(0)
