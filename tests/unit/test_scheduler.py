"""Deterministic jitter; a slow device never delays the others; nothing a poll raises
silences its device; a job is its settings."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from netmon.api import Snapshot, TargetRef
from netmon.scheduler import Job, Scheduler, SchedulerMetrics, jitter_offset
from netmon.tasks import Pace, finish, in_steps
from tests.helpers import async_wait_for


def job(
    key: str,
    interval: float,
    run: Callable[[], Awaitable[None]],
    delivered: list[Snapshot] | None = None,
    settings: object = None,
) -> Job:
    """A job whose poll runs ``run`` and reports success; deliveries go to ``delivered``."""
    target = TargetRef("site", key, "snmp")

    async def poll() -> Snapshot:
        started = time.time()
        await run()
        return Snapshot(target, started, time.time() - started, [])

    sink = delivered if delivered is not None else []
    return Job(target, interval, poll, sink.append, settings=settings)


class PanicException(BaseException):  # pyo3 names it so; the scheduler reads the name
    """What pyo3 raises for a Rust panic (gufo-snmp's decoder on garbage): a BaseException,
    so ``except Exception`` does not catch it."""


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

    scheduler.sync([job("fast", 0.2, fast), job("hung", 0.2, hung)])

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

    started, stopped = scheduler.sync([job("a", 10, noop), job("b", 10, noop)])
    assert sorted(started) == ["snmp:site/a", "snmp:site/b"]
    assert stopped == []
    started, stopped = scheduler.sync([job("a", 10, noop)])
    assert started == []
    assert stopped == ["snmp:site/b"]
    await scheduler.stop()


async def test_poll_now_runs_a_job_at_once() -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    runs: list[float] = []

    async def run() -> None:
        runs.append(time.monotonic())

    scheduler.sync([job("slow", 3600, run)])  # next regular poll: up to an hour away
    assert scheduler.poll_now("snmp:site/slow")
    assert not scheduler.poll_now("nope")

    async def ran() -> bool:
        return len(runs) >= 1

    await async_wait_for(ran, within=2, what="the requested poll")
    await scheduler.stop()


async def test_a_poll_that_raises_is_that_polls_error_and_the_target_stays_scheduled() -> None:
    metrics = SchedulerMetrics(CollectorRegistry())
    scheduler = Scheduler(4, metrics)
    delivered: list[Snapshot] = []

    async def broken() -> None:
        raise RuntimeError("a bug")

    with capture_logs() as logs:
        scheduler.sync([job("broken", 0.05, broken, delivered)])

        async def thrice() -> bool:
            return len(delivered) >= 3

        await async_wait_for(thrice, within=3, what="three polls despite the crashes")
        await scheduler.stop()
    assert {(s.target.device, s.error) for s in delivered} == {("broken", "internal")}
    assert "RuntimeError: a bug" in delivered[0].error_detail
    assert metrics.crashed._value.get() == len(delivered)
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1  # the same fault again is counted, not logged again
    assert errors[0]["reason"] == "internal"


async def test_a_decoder_panic_is_a_decode_error_not_the_end_of_the_poll_loop() -> None:
    """Item 7: pyo3's PanicException is a BaseException; it passed every `except
    Exception` and the poll loop died silently, the device unpolled for good."""
    metrics = SchedulerMetrics(CollectorRegistry())
    scheduler = Scheduler(4, metrics)
    delivered: list[Snapshot] = []
    calls: list[int] = []

    async def panics_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise PanicException("called `Option::unwrap()` on a `None` value")

    scheduler.sync([job("radio", 0.05, panics_once, delivered)])

    async def recovered() -> bool:
        return len(delivered) >= 2

    await async_wait_for(recovered, within=3, what="a poll after the panic")
    await scheduler.stop()
    assert delivered[0].error == "decode"
    assert "PanicException" in delivered[0].error_detail
    assert delivered[1].error is None
    assert metrics.crashed._value.get() == 1
    assert metrics.restarts._value.get() == 0  # the loop itself never died


async def test_a_cancelled_error_nobody_asked_for_is_a_poll_fault_too() -> None:
    """A library's own timeout can raise CancelledError without any cancel of the poll
    loop; it ended the loop as if stopped, and nothing restarted it."""
    metrics = SchedulerMetrics(CollectorRegistry())
    scheduler = Scheduler(4, metrics)
    delivered: list[Snapshot] = []

    async def spurious() -> None:
        if not delivered:
            raise asyncio.CancelledError

    scheduler.sync([job("rtr", 0.05, spurious, delivered)])

    async def twice() -> bool:
        return len(delivered) >= 2

    await async_wait_for(twice, within=3, what="a poll after the stray cancel")
    await scheduler.stop()
    assert [s.error for s in delivered[:2]] == ["internal", None]
    assert "CancelledError" in delivered[0].error_detail


async def test_a_poll_loop_that_dies_is_restarted_logged_in_one_line_and_counted() -> None:
    metrics = SchedulerMetrics(CollectorRegistry())
    scheduler = Scheduler(4, metrics)
    delivered: list[Snapshot] = []

    def deliver(snapshot: Snapshot) -> None:
        delivered.append(snapshot)
        if len(delivered) == 1:  # a fault outside the poll: it kills the loop
            raise PanicException("the store broke")

    async def ok() -> None:
        return None

    target = TargetRef("site", "rtr", "snmp")
    plain = job("rtr", 0.05, ok)
    with capture_logs() as logs:
        scheduler.sync([Job(target, 0.05, plain.poll, deliver)])

        async def again() -> bool:
            return len(delivered) >= 3

        await async_wait_for(again, within=3, what="polls after the loop died")
        await scheduler.stop()
    assert metrics.restarts._value.get() == 1
    died = [e for e in logs if e["event"] == "poll loop died; restarted"]
    assert len(died) == 1
    assert died[0]["target"] == "snmp:site/rtr"
    assert "PanicException: the store broke" in died[0]["error"]
    assert "\n" not in died[0]["error"]  # one line, not a traceback


async def test_a_reload_with_the_same_settings_leaves_a_poll_in_flight_alone() -> None:
    """Item 8: Job equality included the `run` closure, so every reload cancelled every
    poll in flight. A job is its settings; new closures change nothing."""
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    inside, release = asyncio.Event(), asyncio.Event()
    cancelled: list[int] = []
    delivered: list[Snapshot] = []

    async def slow() -> None:
        inside.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.append(1)
            raise

    settings = ("10.0.0.1", "public", 30.0)
    scheduler.sync([job("rtr", 3600, slow, delivered, settings)])
    assert scheduler.poll_now("snmp:site/rtr")
    await asyncio.wait_for(inside.wait(), 5)
    started, stopped = scheduler.sync([job("rtr", 3600, slow, delivered, settings)])
    assert (started, stopped) == ([], [])
    release.set()

    async def done() -> bool:
        return len(delivered) == 1

    await async_wait_for(done, within=5, what="the poll's result")
    assert cancelled == []
    # a change of settings does restart it
    started, _ = scheduler.sync([job("rtr", 3600, slow, delivered, ("10.0.0.2", "public", 30.0))])
    assert started == ["snmp:site/rtr"]
    await scheduler.stop()


async def test_a_removed_poll_that_swallows_its_cancel_delivers_nothing() -> None:
    """Item 8: a poll that eats its cancel and returns later must not bring a removed
    target back (a zombie in the store); sync's settle() waits for it to end."""
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    inside, release = asyncio.Event(), asyncio.Event()
    delivered: list[Snapshot] = []
    swallowed: list[int] = []

    async def stubborn() -> None:
        inside.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:  # as wait_for on 3.11 can
                swallowed.append(1)

    scheduler.sync([job("gone", 3600, stubborn, delivered)])
    assert scheduler.poll_now("snmp:site/gone")
    await asyncio.wait_for(inside.wait(), 5)
    _, stopped = scheduler.sync([])
    assert stopped == ["snmp:site/gone"]
    settling = asyncio.create_task(scheduler.settle(within=5))

    async def cancel_seen() -> bool:
        return bool(swallowed)

    await async_wait_for(cancel_seen, within=5, what="the cancel reaching the poll")
    release.set()
    assert await settling == 0  # it ended, and settle() saw it end
    assert delivered == []
    await scheduler.stop()


async def stop_after_a_wake(turns: int) -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
    runs: list[int] = []

    async def run() -> None:
        runs.append(1)

    async def polled() -> bool:
        return len(runs) >= 1

    scheduler.sync([job("a", 3600, run)])
    assert scheduler.poll_now("snmp:site/a")
    await async_wait_for(polled, 5, "the first poll")
    assert scheduler.poll_now("snmp:site/a")
    for _ in range(turns):
        await asyncio.sleep(0)
    await asyncio.wait_for(scheduler.stop(), 5)
    assert [t for t in asyncio.all_tasks() if t.get_name() == "poll:snmp:site/a"] == []


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

    scheduler.sync([job("a", 3600, stubborn)])  # after this poll, the next is an hour away
    assert scheduler.poll_now("snmp:site/a")
    await asyncio.wait_for(inside.wait(), 5)
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "poll:snmp:site/a"]
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait([task], timeout=5)  # it may end cancelled or returned: it ends
    assert task.done()
    await stopping
    assert runs == [1]


async def test_a_plan_made_ahead_decides_the_sync_as_comparing_there_would() -> None:
    """A reload compares its jobs with the running ones ahead (in turns of the loop); the
    sync then keeps, restarts, starts and stops exactly what a sync of the jobs would."""
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))

    async def noop() -> None:
        return None

    scheduler.sync([job("same", 3600, noop, None, "s1"), job("gone", 3600, noop, None, "g")])
    before = scheduler._tasks["snmp:site/same"][1]
    wanted = [job("same", 3600, noop, None, "s1"), job("new", 3600, noop, None, "n")]
    plan = await in_steps(scheduler.plan(wanted, Pace(0.0)))  # a turn after each
    assert {k: v[1] for k, v in plan.verdicts.items()} == {"snmp:site/same": True}
    started, stopped = scheduler.sync(plan)
    assert (started, stopped) == (["snmp:site/new"], ["snmp:site/gone"])
    assert scheduler._tasks["snmp:site/same"][1] is before  # its loop kept
    await scheduler.stop()


async def test_a_plans_verdict_on_a_job_replaced_since_is_not_trusted() -> None:
    scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))

    async def noop() -> None:
        return None

    scheduler.sync([job("rtr", 3600, noop, None, "old")])
    plan = finish(scheduler.plan([job("rtr", 3600, noop, None, "new")], Pace(None)))
    assert plan.verdicts["snmp:site/rtr"][1] is False  # against the job running then
    scheduler.sync([job("rtr", 3600, noop, None, "new")])  # replaced meanwhile
    running = scheduler._tasks["snmp:site/rtr"][1]
    started, stopped = scheduler.sync(plan)
    assert (started, stopped) == ([], [])  # compared again: the same settings now
    assert scheduler._tasks["snmp:site/rtr"][1] is running
    await scheduler.stop()


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["s1", "s2"]), max_size=8),
    st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["s1", "s2"]), max_size=8),
)
def test_a_sync_by_a_plan_does_what_a_sync_comparing_there_does(
    running: dict[str, str], wanted: dict[str, str]
) -> None:
    """The plan's own lists of what to stop and start (used while nothing changed since it
    was made) against a sync that compares there, on a twin scheduler."""

    async def noop() -> None:
        return None

    async def outcome(ahead: bool) -> tuple[list[str], list[str], set[str]]:
        scheduler = Scheduler(4, SchedulerMetrics(CollectorRegistry()))
        scheduler.sync([job(k, 3600, noop, None, v) for k, v in running.items()])
        before = {k: task for k, (_, task) in scheduler._tasks.items()}
        jobs = [job(k, 3600, noop, None, v) for k, v in wanted.items()]
        started, stopped = scheduler.sync(
            finish(scheduler.plan(jobs, Pace(None))) if ahead else jobs
        )
        kept = {k for k, (_, task) in scheduler._tasks.items() if before.get(k) is task}
        assert set(scheduler._tasks) == {f"snmp:site/{k}" for k in wanted}
        await scheduler.stop()
        return started, stopped, kept

    async def both() -> None:
        assert await outcome(True) == await outcome(False)

    asyncio.run(both())
