"""Stopping background tasks without trusting them to stop, and long work done in turns.

A task that swallows its cancellation (a library's ``wait_for`` on Python 3.11
does, when the cancel meets a result in the same loop turn) would make a plain
``gather`` after ``cancel`` wait forever, and a SIGTERM would never finish.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterable
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


#: seconds of work a loop turn may take in ``in_turns`` (polls and scrapes wait meanwhile)
TURN = 0.01


async def in_turns(items: Iterable[T], work: Callable[[T], R], turn: float = TURN) -> list[R]:
    """``[work(item) for item in items]``, giving the event loop a turn whenever ``turn``
    seconds of it went by: a reload's preparation of 10,000 jobs is ~0.2 s of Python."""
    out: list[R] = []
    began = time.perf_counter()
    for item in items:
        out.append(work(item))
        if time.perf_counter() - began > turn:
            await asyncio.sleep(0)
            began = time.perf_counter()
    return out


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
