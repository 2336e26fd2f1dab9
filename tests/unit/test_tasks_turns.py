"""Long work done in turns of the event loop (netmon.tasks.in_turns)."""

from __future__ import annotations

import asyncio

from netmon.tasks import in_turns


async def test_in_turns_gives_the_loop_turns_and_keeps_the_order() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    first = ticks
    seen: list[int] = []

    def work(item: int) -> int:
        seen.append(ticks)
        return item * 2

    try:
        out = await in_turns(range(50), work, turn=0.0)  # a turn after every item
    finally:
        running.cancel()
    assert out == [i * 2 for i in range(50)]
    assert seen[-1] - first >= 40  # the other task ran between the items


async def test_in_turns_within_its_turn_holds_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    first = ticks
    try:
        seen = await in_turns(range(50), lambda _: ticks, turn=60.0)
    finally:
        running.cancel()
    assert set(seen) == {first}  # no turn given: all 50 in one step
