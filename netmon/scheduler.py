"""Per-device polling on an interval, with deterministic jitter and bounded concurrency.

Each device has its own task: a dead or slow device only ever waits for
itself. Start offsets come from a hash of the device id, so polls spread over
the interval and stay put across restarts (the same device is polled at the
same second of the minute, which keeps rate() windows regular). Slots
(``netmon.slots``) bound how many polls run at once, sized from what the polls take
unless the config fixes a number, live devices first; the time a poll waited for
one past its due time is the scheduler lag.

Nothing a poll raises silences its device: a fault inside a poll (a bug, or a
decoder's panic, which pyo3 raises as a BaseException) becomes that poll's
error snapshot, and a poll loop that dies anyway is restarted by its
supervisor, logged in one line and counted. A poll's result is delivered only
while its job is still the scheduled one: a poll that outlives a reload that
removed or changed it (a library swallowed the cancel) delivers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from netmon.api import Snapshot, TargetRef
from netmon.sameness import Memo, same
from netmon.slots import Slots, needed
from netmon.tasks import Pace, Steps, cancel_and_wait

log = structlog.get_logger("netmon.scheduler")

#: faults that end the process, not a poll: never turned into a poll's error
FATAL = (KeyboardInterrupt, SystemExit)


def jitter_offset(key: str, interval: float) -> float:
    """A stable offset in [0, interval) for this key."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") / 2**64) * interval


def _being_cancelled() -> bool:
    """Whether the running task was asked to stop (a CancelledError of our own)."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


def fault_reason(exc: BaseException) -> str:
    """A poll error reason for an exception that escaped a collector: a decoder's panic
    (pyo3's PanicException, a BaseException) is a decode error, anything else internal."""
    return "decode" if type(exc).__name__ == "PanicException" else "internal"


def describe_fault(exc: BaseException, frames: int = 3) -> str:
    """One line: the exception and where it was raised (a few innermost frames), never
    a traceback of thousands of lines in the JSON log."""
    message = " ".join(str(exc).split())[:200]
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
        for f in reversed(traceback.extract_tb(exc.__traceback__)[-frames:])
    )
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{text} (at {where})" if where else text


@dataclass(frozen=True, slots=True)
class Plan:
    """The jobs a reload wants, keyed, and their settings compared with the running
    jobs' (``Scheduler.plan``): key -> (the running job compared, same settings)."""

    wanted: dict[str, Job]
    verdicts: dict[str, tuple[Job, bool]]
    #: what ``sync`` then stops and starts, while the running set is still the one
    #: compared (the scheduler's ``version`` unchanged)
    version: int = -1
    changed: tuple[str, ...] = ()
    started: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    """A target polled every ``interval`` seconds.

    Its identity is its settings: ``target`` (key and collector kind), ``interval`` and
    ``settings`` (the collector's settings, the deadline). ``poll`` and ``deliver`` are
    closures a reload builds anew; they take no part in equality, so a reload that
    leaves a target's settings alone leaves its poll loop (and a poll in flight) alone.
    """

    target: TargetRef
    interval: float
    #: one poll; a fault it raises becomes the poll's error snapshot
    poll: Callable[[], Awaitable[Snapshot]] = field(compare=False)
    #: what to do with a poll's snapshot (the daemon: apply it to the store)
    deliver: Callable[[Snapshot], None] = field(compare=False)
    #: a change restarts the job
    settings: object = None

    @property
    def key(self) -> str:
        return self.target.key


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
        self.slots = Gauge(
            "netmon_scheduler_slots",
            "Polls allowed at once now: scheduler.max_concurrency, or with auto twice the"
            " slot-seconds the polls took per second lately (netmon_scheduler_busy_slots).",
            registry=registry,
        )
        self.busy = Gauge(
            "netmon_scheduler_busy_slots",
            "Sum over targets of recent poll time / interval: the slots polls keep busy on"
            " average (dead devices count their whole timeout and retries).",
            registry=registry,
        )
        self.waiting = Gauge(
            "netmon_scheduler_waiting_polls",
            "Polls due and waiting for a slot (those whose last poll failed wait behind the"
            " others, and hold at most half the slots).",
            registry=registry,
        )
        self.jobs = Gauge("netmon_scheduler_targets", "Targets scheduled.", registry=registry)
        self.crashed = Counter(
            "netmon_scheduler_crashed_polls",
            "Polls that raised instead of reporting (a netmon bug: see the log); each is "
            "that poll's error (reason internal, or decode for a decoder panic).",
            registry=registry,
        )
        self.restarts = Counter(
            "netmon_poll_loop_restarts",
            "Poll loops that died and were restarted by their supervisor (a netmon bug: "
            "see the log).",
            registry=registry,
        )


#: a target's poll time before its first poll, for sizing the slots (seconds)
FIRST_GUESS = 1.0
#: weight of the newest poll in a target's average poll time
ALPHA = 0.3


class Scheduler:
    def __init__(self, max_concurrency: int | None, metrics: SchedulerMetrics) -> None:
        """``max_concurrency``: polls at once; None sizes it from what the polls take."""
        self._fixed = max_concurrency
        self._slots = Slots(max_concurrency or needed(0.0))
        self._tasks: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        #: one more each time ``_tasks`` changes (a plan made ahead holds while equal)
        self._version = 0
        self._wake: dict[str, asyncio.Event] = {}
        #: loops cancelled by sync(), until they have ended (settle() awaits them)
        self._stopping: set[asyncio.Task[None]] = set()
        #: target key -> the fault last logged for it (one line per new fault, not per poll)
        self._faults: dict[str, str] = {}
        #: target key -> how its poll loop last died (logged once per new cause)
        self._deaths: dict[str, str] = {}
        #: target key -> its average poll time / interval; their sum, kept as they change
        self._load: dict[str, float] = {}
        self._busy = 0.0
        #: targets whose last poll failed: they wait behind the others for a slot
        self._failing: set[str] = set()
        self.metrics = metrics
        self._clock = time.monotonic
        metrics.slots.set(self._slots.limit)
        #: told how late each poll's timer fired (the event loop's lag, measured for free)
        self.on_timer_late: Callable[[float], None] | None = None

    def set_concurrency(self, max_concurrency: int | None) -> None:
        """A fixed number of polls at once, or None: sized from what the polls take."""
        self._fixed = max_concurrency
        self._resize()

    def _resize(self) -> None:
        limit = self._fixed or needed(self._busy)
        if limit != self._slots.limit:
            self._slots.resize(limit)
            self.metrics.slots.set(limit)

    def _learn(self, job: Job, seconds: float, failed: bool) -> None:
        """A poll of ``job`` took ``seconds``: its share of a slot, and whether it fails."""
        old = self._load.get(job.key, FIRST_GUESS / job.interval)
        new = old + ALPHA * (seconds / job.interval - old)
        self._load[job.key] = new
        self._busy += new - old
        self.metrics.busy.set(round(self._busy, 3))
        if failed:
            self._failing.add(job.key)
        else:
            self._failing.discard(job.key)
        self._resize()

    def _forget(self, key: str) -> None:
        self._busy -= self._load.pop(key, 0.0)
        self._failing.discard(key)

    def plan(self, jobs: Iterable[Job], pace: Pace) -> Steps[Plan]:
        """Compare ``jobs``' settings with the running jobs' ahead of ``sync``, in steps of
        ``pace`` (10,000 comparisons held the loop ~0.2 s in one step of a reload)."""
        version, running = self._version, dict(self._tasks)
        wanted: dict[str, Job] = {}
        for job in jobs:
            wanted[job.key] = job
            yield from pace.give()
        memo: Memo = {}
        verdicts: dict[str, tuple[Job, bool]] = {}
        changed: list[str] = []
        for key, (job, _) in running.items():
            if key not in wanted:  # gone
                changed.append(key)
            else:
                kept = same(wanted[key], job, memo)
                verdicts[key] = (job, kept)
                if not kept:  # its settings changed
                    changed.append(key)
            yield from pace.give()
        started: list[str] = []
        for key in wanted:
            if key not in running or not verdicts[key][1]:
                started.append(key)
            yield from pace.give()
        return Plan(wanted, verdicts, version, tuple(changed), tuple(started))

    def sync(self, jobs: Iterable[Job] | Plan) -> tuple[list[str], list[str]]:
        """Make the running set equal ``jobs`` (or a ``plan``'s); returns (started,
        stopped) keys.

        A job whose settings are unchanged keeps running. Removed and changed jobs are
        cancelled here and deliver nothing from now on; ``settle()`` waits for them. A
        plan's verdicts stand for the running jobs they were made for; a job started
        since (a loop restarted by its supervisor keeps its job) is compared here.
        """
        plan = jobs if isinstance(jobs, Plan) else Plan({job.key: job for job in jobs}, {})
        wanted = plan.wanted
        memo: Memo = {}  # the configs' shared pieces (profiles) compared once, not per job

        def kept(key: str, job: Job) -> bool:
            if key not in wanted:
                return False
            known = plan.verdicts.get(key)
            if known is not None and known[0] is job:
                return known[1]
            return same(wanted[key], job, memo)

        # the running set still the one the plan compared: its lists hold (10,000 jobs
        # compared again here: 5-10 ms of a reload's swap)
        trusted = plan.version == self._version
        if trusted:
            changed = list(plan.changed)
        else:
            changed = [key for key, (job, _) in self._tasks.items() if not kept(key, job)]
        self._version += 1
        for key in changed:
            _, task = self._tasks.pop(key)
            task.cancel()
            if not task.done():
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
            self._wake.pop(key, None)
            self._faults.pop(key, None)
            self._deaths.pop(key, None)
            self._forget(key)
        if trusted:
            started = list(plan.started)
        else:
            started = [key for key in wanted if key not in self._tasks]
        for key in started:
            self._wake[key] = asyncio.Event()
            self._load[key] = FIRST_GUESS / wanted[key].interval
            self._busy += self._load[key]
            self._start(wanted[key])
        self.metrics.jobs.set(len(self._tasks))
        self._resize()
        return started, [k for k in changed if k not in wanted]

    async def settle(self, within: float = 10.0) -> int:
        """Wait for the loops sync() cancelled to end; returns how many did not."""
        tasks, self._stopping = list(self._stopping), set()
        return await cancel_and_wait(tasks, within)

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._loop(job), name=f"poll:{job.key}")
        task.add_done_callback(self._supervise)
        self._tasks[job.key] = (job, task)
        self._version += 1

    def _supervise(self, task: asyncio.Task[None]) -> None:
        """A poll loop ended: if it died while still scheduled, start it again.

        sync() and stop() unschedule a loop before they cancel it, so a loop that
        ends cancelled while still scheduled was not stopped by us: it died too."""
        key = task.get_name().removeprefix("poll:")
        entry = self._tasks.get(key)
        if entry is None or entry[1] is not task:
            if not task.cancelled():
                task.exception()  # retrieved: never "Task exception was never retrieved"
            return  # no longer scheduled: nothing to restart
        if task.cancelled():
            exc: BaseException = asyncio.CancelledError("cancelled, not by the scheduler")
        else:
            found = task.exception()
            if found is None or isinstance(found, FATAL):
                return
            exc = found
        self.metrics.restarts.inc()
        detail = describe_fault(exc)
        if self._deaths.get(key) != detail:  # a fault that recurs is counted, logged once
            self._deaths[key] = detail
            log.error("poll loop died; restarted", target=key, error=detail)
        self._start(entry[0])

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
            if not woken and self.on_timer_late is not None:
                self.on_timer_late(self._clock() - due)
            granted = False
            self.metrics.waiting.inc()
            try:
                async with self._slots.slot(failing=job.key in self._failing):
                    granted = True
                    self.metrics.waiting.dec()
                    begun = self._clock()
                    self.metrics.lag.observe(max(0.0, begun - due))
                    self.metrics.running.inc()
                    try:
                        snapshot = await self._poll(job)
                    finally:
                        self.metrics.running.dec()
            finally:
                if not granted:  # cancelled while waiting
                    self.metrics.waiting.dec()
            if not self._owns(job.key):
                return  # removed or changed while polling: the result belongs to no one
            self._learn(job, self._clock() - begun, snapshot.error is not None)
            job.deliver(snapshot)
            # not held by this frame until the next poll: the store has what it needs
            # (as plain tuples); the snapshot's Samples would stay tracked by the GC
            del snapshot
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

    async def _poll(self, job: Job) -> Snapshot:
        """One poll; whatever escapes the collector is this poll's error, not the loop's."""
        started, begun = time.time(), self._clock()
        try:
            snapshot = await job.poll()
        except FATAL:
            raise
        except BaseException as exc:  # a decoder panic is a BaseException
            if isinstance(exc, asyncio.CancelledError) and _being_cancelled():
                raise
            # a CancelledError nobody asked for (a library's own timeout) is a fault too
            self.metrics.crashed.inc()
            reason, detail = fault_reason(exc), describe_fault(exc)
            if self._faults.get(job.key) != detail:  # once per new fault, not per poll
                self._faults[job.key] = detail
                log.error(
                    "poll raised instead of reporting; counted as its error",
                    target=job.key,
                    reason=reason,
                    error=detail,
                )
            duration = self._clock() - begun
            return Snapshot(job.target, started, duration, [], error=reason, error_detail=detail)
        self._faults.pop(job.key, None)
        return snapshot

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
        tasks.extend(self._stopping)
        self._tasks.clear()
        self._version += 1
        self._wake.clear()
        self._stopping = set()
        self.metrics.jobs.set(0)
        await cancel_and_wait(tasks)
