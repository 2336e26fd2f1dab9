"""Deterministic jitter; a slow device never delays the others."""

from __future__ import annotations

import asyncio
import contextlib
import time

from prometheus_client import CollectorRegistry

from netmon.scheduler import Job, Scheduler, SchedulerMetrics, jitter_offset
from tests.helpers import async_wait_for


def test_jitter_is_stable_and_within_the_interval() -> None:
    offsets = [jitter_offset(f"snmp:dev-{i}", 60.0) for i in range(1000)]
    assert offsets == [jitter_offset(f"snmp:dev-{i}", 60.0) for i in range(1000)]
    assert all(0 <= o < 60 for o in offsets)
    # spread: every 6-second slice of the minute gets some devices
    assert len({int(o // 6) for o in offsets}) == 10


async def test_a_hung_device_does_not_delay_the_others() -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    runs: dict[str, list[float]] = {"fast": [], "hung": []}
    release = asyncio.Event()

    async def fast() -> None:
        runs["fast"].append(time.monotonic())

    async def hung() -> None:
        runs["hung"].append(time.monotonic())
        await release.wait()

    scheduler.sync([Job("fast", 0.2, fast), Job("hung", 0.2, hung)])

    async def enough() -> bool:
        return len(runs["fast"]) >= 5

    await async_wait_for(enough, within=5, what="five polls of the fast device")
    assert len(runs["hung"]) == 1  # still stuck in its first poll, and skipped, not queued
    gaps = [b - a for a, b in zip(runs["fast"], runs["fast"][1:], strict=False)]
    assert max(gaps) < 0.5
    release.set()
    await scheduler.stop()


async def test_sync_starts_and_stops_jobs() -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))

    async def noop() -> None:
        return None

    started, stopped = scheduler.sync([Job("a", 10, noop), Job("b", 10, noop)])
    assert sorted(started) == ["a", "b"]
    assert stopped == []
    started, stopped = scheduler.sync([Job("a", 10, noop)])
    assert started == []
    assert stopped == ["b"]
    await scheduler.stop()


async def test_poll_now_runs_a_job_at_once() -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())

    scheduler.sync([Job("slow", 3600, job)])  # next regular poll: up to an hour away
    assert scheduler.poll_now("slow")
    assert not scheduler.poll_now("nope")

    async def ran() -> bool:
        return len(runs) >= 1

    await async_wait_for(ran, within=2, what="the requested poll")
    await scheduler.stop()


async def test_a_crashing_job_stays_scheduled() -> None:
    metrics = SchedulerMetrics(CollectorRegistry())
    scheduler = Scheduler(4, metrics)
    runs: list[float] = []

    async def broken() -> None:
        runs.append(time.monotonic())
        raise RuntimeError("a bug")

    scheduler.sync([Job("broken", 0.1, broken)])

    async def thrice() -> bool:
        return len(runs) >= 3

    await async_wait_for(thrice, within=3, what="three runs despite the crashes")
    assert metrics.crashed._value.get() >= 3
    await scheduler.stop()


async def stop_after_a_wake(turns: int) -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    async def polled() -> bool:
        return len(runs) >= 1

    scheduler.sync([Job("a", 3600, job)])
    assert scheduler.poll_now("a")
    await async_wait_for(polled, 5, "the first poll")
    assert scheduler.poll_now("a")
    for _ in range(turns):
        await asyncio.sleep(0)
    await asyncio.wait_for(scheduler.stop(), 5)
    assert [t for t in asyncio.all_tasks() if t.get_name() == "poll:a"] == []


async def test_stop_is_not_lost_when_a_wake_meets_it() -> None:
    """On Python 3.11, asyncio.wait_for returns its result when a cancel lands in the
    same loop turn as the awaited event: the poll loop then ran on and stop() hung
    (a CI run of the trap tests never ended). Cancel at every turn after a wake."""
    for turns in range(6):
        await stop_after_a_wake(turns)


async def test_a_job_whose_cancel_was_swallowed_stops_polling_anyway() -> None:
    """A library that eats a cancel (a poll in flight when stop() comes) must not leave
    a poll loop running: the loop ends at its next turn once it is no longer scheduled."""
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    runs: list[int] = []
    inside = asyncio.Event()
    release = asyncio.Event()

    async def stubborn() -> None:
        runs.append(1)
        inside.set()
        while not release.is_set():  # swallows cancels, as wait_for on 3.11 can
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    scheduler.sync([Job("a", 3600, stubborn)])  # after this poll, the next is an hour away
    assert scheduler.poll_now("a")
    await asyncio.wait_for(inside.wait(), 5)
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "poll:a"]
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait([task], timeout=5)  # it may end cancelled or returned: it ends
    assert task.done()
    await stopping
    assert runs == [1]
