"""Long work done in turns of the event loop (netmon.tasks.in_turns)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from netmon.tasks import in_turns


@asynccontextmanager
async def ticking() -> AsyncIterator[list[int]]:
    """Another task counting its turns of the loop (the count in a one-item list)."""
    ticks = [0]

    async def ticker() -> None:
        while True:
            ticks[0] += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        yield ticks
    finally:
        running.cancel()


async def test_in_turns_gives_the_loop_turns_and_keeps_the_order() -> None:
    async with ticking() as ticks:
        first = ticks[0]
        seen: list[int] = []

        def work(item: int) -> int:
            seen.append(ticks[0])
            return item * 2

        out = await in_turns(range(50), work, turn=0.0)  # a turn after every item
    assert out == [i * 2 for i in range(50)]
    assert seen[-1] - first >= 40  # the other task ran between the items


async def test_in_turns_within_its_turn_holds_the_loop() -> None:
    async with ticking() as ticks:
        first = ticks[0]
        seen = await in_turns(range(50), lambda _: ticks[0], turn=60.0)
    assert set(seen) == {first}  # no turn given: all 50 in one step
