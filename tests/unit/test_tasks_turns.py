"""Long work done in steps, a turn of the event loop between them (netmon.tasks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from netmon.tasks import Pace, Steps, finish, in_steps


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


def doubled(items: range, seen: list[int], ticks: list[int], pace: Pace) -> Steps[list[int]]:
    out: list[int] = []
    for item in items:
        seen.append(ticks[0])
        out.append(item * 2)
        yield from pace.give()
    return out


async def test_steps_give_the_loop_turns_and_keep_the_order() -> None:
    async with ticking() as ticks:
        first = ticks[0]
        seen: list[int] = []
        out = await in_steps(doubled(range(50), seen, ticks, Pace(0.0)))  # a turn after each
    assert out == [i * 2 for i in range(50)]
    assert seen[-1] - first >= 40  # the other task ran between the items


async def test_steps_within_their_turn_hold_the_loop() -> None:
    async with ticking() as ticks:
        first = ticks[0]
        seen: list[int] = []
        out = await in_steps(doubled(range(50), seen, ticks, Pace(60.0)))
    assert out == [i * 2 for i in range(50)]
    assert set(seen) == {first}  # no turn given: all 50 in one step


def test_finish_runs_the_steps_to_their_result() -> None:
    assert finish(doubled(range(3), [], [0], Pace(0.0))) == [0, 2, 4]


def test_a_pace_is_due_after_its_turn_and_counts_afresh_from_a_restart() -> None:
    began = time.perf_counter()
    pace = Pace(0.02)
    assert not pace.due()
    deadline = began + 5.0
    while not pace.due():  # the clock, not a sleep: due once 20 ms of "work" went by
        assert time.perf_counter() < deadline, "never due"
    assert time.perf_counter() - began >= 0.02
    pace.restart()
    assert not pace.due()  # the wait for the loop's turn is not counted


def test_a_pace_without_a_turn_is_never_due() -> None:
    pace = Pace(None)
    assert not pace.due()
    assert list(pace.give()) == []
