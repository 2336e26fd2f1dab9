"""Per-device polling on an interval, with deterministic jitter and bounded concurrency.

Each device has its own task: a dead or slow device only ever waits for
itself. Start offsets come from a hash of the device id, so polls spread over
the interval and stay put across restarts (the same device is polled at the
same second of the minute, which keeps rate() windows regular). A semaphore
bounds how many polls run at once; the time a poll waited for it past its due
time is the scheduler lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from netmon.tasks import cancel_and_wait

log = structlog.get_logger("netmon.scheduler")


def jitter_offset(key: str, interval: float) -> float:
    """A stable offset in [0, interval) for this key."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") / 2**64) * interval


@dataclass(frozen=True, slots=True)
class Job:
    key: str
    interval: float
    run: Callable[[], Awaitable[None]]
    #: changing this makes the scheduler restart the job (new settings)
    version: object = None


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "netmon_scheduler_lag_seconds",
            "How late polls started against their due time (waiting for a concurrency slot).",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
            registry=registry,
        )
        self.skipped = Counter(
            "netmon_scheduler_skipped_polls_total",
            "Polls skipped because the previous poll of the target was still running.",
            registry=registry,
        )
        self.running = Gauge(
            "netmon_scheduler_running_polls", "Polls running now.", registry=registry
        )
        self.jobs = Gauge("netmon_scheduler_targets", "Targets scheduled.", registry=registry)
        self.crashed = Counter(
            "netmon_scheduler_crashed_polls",
            "Polls that raised instead of reporting (a netmon bug: see the log).",
            registry=registry,
        )


class Scheduler:
    def __init__(self, max_concurrency: int, metrics: SchedulerMetrics) -> None:
        self._sem = asyncio.Semaphore(max_concurrency)
        self._tasks: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self.metrics = metrics
        self._clock = time.monotonic

    def set_concurrency(self, max_concurrency: int) -> None:
        # running polls keep their slot in the old semaphore; new ones use the new bound
        self._sem = asyncio.Semaphore(max_concurrency)

    def sync(self, jobs: list[Job]) -> tuple[list[str], list[str]]:
        """Make the running set equal ``jobs``; returns (started, stopped) keys."""
        wanted = {job.key: job for job in jobs}
        stopped = [
            key for key, (job, _) in self._tasks.items() if key not in wanted or wanted[key] != job
        ]
        for key in stopped:
            _, task = self._tasks.pop(key)
            task.cancel()
            self._wake.pop(key, None)
        started = [key for key in wanted if key not in self._tasks]
        for key in started:
            job = wanted[key]
            self._wake[key] = asyncio.Event()
            self._tasks[key] = (job, asyncio.create_task(self._loop(job), name=f"poll:{key}"))
        self.metrics.jobs.set(len(self._tasks))
        return started, [k for k in stopped if k not in wanted]

    async def _loop(self, job: Job) -> None:
        now = self._clock()
        # next due time aligned to the job's own offset within the interval
        offset = jitter_offset(job.key, job.interval)
        due = now - (now % job.interval) + offset
        if due < now:
            due += job.interval
        wake = self._wake[job.key]
        # a loop that is no longer scheduled ends even if a library swallowed its cancel
        while self._owns(job.key):
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
            # that lands in the same loop turn as a wake, and stop() then never ends
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, due - self._clock())):
                    await wake.wait()
            if not self._owns(job.key):
                return
            woken = wake.is_set()
            wake.clear()
            async with self._sem:
                self.metrics.lag.observe(max(0.0, self._clock() - due))
                self.metrics.running.inc()
                try:
                    await job.run()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug in one job must not silence its device for good
                    self.metrics.crashed.inc()
                    log.exception("poll crashed; the target stays scheduled", target=job.key)
                finally:
                    self.metrics.running.dec()
            if woken:
                # an extra poll on request: the regular rhythm goes on from now
                due = self._clock() + job.interval
                continue
            due += job.interval
            late = self._clock() - due
            if late > 0:
                missed = int(late // job.interval) + 1
                self.metrics.skipped.inc(missed)
                due += missed * job.interval

    def _owns(self, key: str) -> bool:
        """Whether the running task is still the scheduled one for ``key``."""
        entry = self._tasks.get(key)
        return entry is not None and entry[1] is asyncio.current_task()

    def poll_now(self, key: str) -> bool:
        """Poll this target as soon as a concurrency slot is free (the status engine
        asks for a parent's fresh result when a child fails). False if unknown."""
        wake = self._wake.get(key)
        if wake is None:
            return False
        wake.set()
        return True

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        self._wake.clear()
        self.metrics.jobs.set(0)
        await cancel_and_wait(tasks)
