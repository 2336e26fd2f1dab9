"""Poll slots: live targets first, failing ones at most half, sized by Little's law."""

from __future__ import annotations

import asyncio

import pytest

from netmon.slots import MIN_SLOTS, Slots, needed


async def _hold(
    slots: Slots, failing: bool, order: list[str], name: str, gate: asyncio.Event
) -> None:
    async with slots.slot(failing=failing):
        order.append(name)
        await gate.wait()


async def test_live_targets_go_first_and_failing_ones_hold_at_most_half() -> None:
    slots = Slots(4)
    gate = asyncio.Event()
    order: list[str] = []
    first = [asyncio.create_task(_hold(slots, False, order, f"busy{i}", gate)) for i in range(4)]
    await asyncio.sleep(0)
    assert slots.busy == 4
    # queued while full: three dead ones first, then two live ones
    queued = [asyncio.create_task(_hold(slots, True, order, f"dead{i}", gate)) for i in range(3)]
    queued += [asyncio.create_task(_hold(slots, False, order, f"live{i}", gate)) for i in range(2)]
    await asyncio.sleep(0)
    assert slots.waiting == 5
    gate.set()
    gate.clear()
    # the first four finish: the two live ones come first, then dead ones up to half (2)
    for _ in range(5):
        await asyncio.sleep(0)
    assert order[4:6] == ["live0", "live1"]
    assert order[6:] == ["dead0", "dead1"]
    assert slots.busy_failing == 2
    gate.set()
    await asyncio.gather(*first, *queued)
    assert order[-1] == "dead2"
    assert (slots.busy, slots.busy_failing, slots.waiting) == (0, 0, 0)


async def test_a_waiter_cancelled_gives_no_slot_away() -> None:
    slots = Slots(1)
    gate = asyncio.Event()
    order: list[str] = []
    holder = asyncio.create_task(_hold(slots, False, order, "a", gate))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(_hold(slots, False, order, "b", gate))
    await asyncio.sleep(0)
    waiter.cancel()
    gate.set()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert order == ["a"]
    assert slots.busy == 0


@pytest.mark.parametrize(
    ("busy", "want"),
    [
        (0.0, MIN_SLOTS),
        # 10,000 devices at 60 s, 0.3 s a poll, 10% dead at 2 s x 2 tries:
        # 9,000 x 0.3/60 + 1,000 x 4/60 = 45 + 66.7 slot-seconds a second
        (9_000 * 0.3 / 60 + 1_000 * 4 / 60, 224),
    ],
)
def test_slots_needed_are_twice_the_busy_slot_seconds(busy: float, want: int) -> None:
    assert needed(busy) == want
