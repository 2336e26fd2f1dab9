"""Stopping background tasks without trusting them to stop.

A task that swallows its cancellation (a library's ``wait_for`` on Python 3.11
does, when the cancel meets a result in the same loop turn) would make a plain
``gather`` after ``cancel`` wait forever, and a SIGTERM would never finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog

log = structlog.get_logger("netmon.tasks")


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
