"""The garbage collector, kept from stalling the event loop.

CPython's collector walks every tracked object of the oldest generation at each full
collection, and starts one whenever objects that survived into it since the last one
reach a quarter of it. What netmon keeps for long (the config, the inventory, the
modules: hundreds of thousands of objects for a province) would be walked again and
again while polls churn. So after start-up (``settle``: collect, then freeze) and after
each reload (a freeze: a config holds no cycles, and a full collection there walked the
whole heap on the loop) whatever is alive is moved out of the collector's sight
(``gc.freeze``): those objects are freed by reference counting as usual; only cycles
among them wait for the next settle. The store keeps its samples as plain tuples for the
same reason (see netmon.store).

What polls keep also lives long (each device's samples, counter state, slow cache: ~120
tracked objects a device, replaced at each poll): at 10,000 devices a full collection
walked ~1 M of them, 0.25-1 s, every few seconds. So ``run()`` also freezes what is
alive every FREEZE_EVERY seconds, and ``delivered()`` after every FREEZE_SAMPLES samples
polled (the young objects bounded by work, not by time): a collection then walks only
what survived since, and what was frozen is still freed by reference counting when a
poll replaces it. What it cannot free is a cycle that was alive at a freeze and died
later; measured at 1,000 devices polled every 10 s: 6 such objects in 70 s; at 200
devices polled every 5 s, 20 of them dead: none in 60 s. A full settle collects them:
one collection of the whole heap, the one long pause left (0.2 s at 1,000 devices,
measured; ~2 s at 10,000 by that), in ``netmon_gc_pause_seconds``. So it is not done on
a clock: every CHECK_EVERY seconds the frozen objects are counted (a walk of the list,
~26 ms for 1 M), the first count after a settle is the baseline, and a settle comes only
when the count has grown by GROWTH over it (cycles piling up, or a bigger inventory).
What a quiet daemon wastes is then bounded by a tenth of what it keeps, and it pays no
pause for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram

from netmon import logging as nlog

log = nlog.get("netmon.gc")

#: a collection that held the event loop longer than this (seconds) is logged, with what
#: it found: the histogram says how often, the log line what it was (at most LONG_KEPT
#: lines per FREEZE_EVERY)
LOG_PAUSE = 0.05
LONG_KEPT = 20

#: seconds between freezes of what is alive (run())
FREEZE_EVERY = 2.0
#: ... and a freeze after this much delivered work (``delivered``: samples, and
#: POLL_WEIGHT a poll). The youngest generation's count is allocations minus frees, and a
#: poll in steady state frees about as many old objects as it makes new ones: the count
#: stays low while the list of young objects grows. At 10,000 devices it held 50-210 k
#: objects (the new samples' label and column tuples, the polls' tasks, contexts and
#: timers) when the count reached GEN0, and a generation-0 pass over them held the loop
#: 50-130 ms, every 4-10 s (bench.scale.slow_callbacks' census). A poll leaves ~2 young
#: objects a sample kept; a freeze costs nothing (two lists are joined); 10,000 samples
#: bound the young list near 25 k objects, a pass to ~15 ms.
FREEZE_SAMPLES = 10_000
POLL_WEIGHT = 50
#: seconds between counts of the frozen objects (a settle when they grew by GROWTH)
CHECK_EVERY = 6 * 3600.0
GROWTH = 1.10

#: young objects between collections of the youngest generation (CPython's default: 700);
#: a poll of a village router allocates thousands
GEN0 = 10_000


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """No collection inside (a load, a reload's new jobs: long-lived objects being built,
    whose collections walk them for nothing); the collector as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def raise_gen0_threshold() -> None:
    """Fewer collections of the youngest generation: each walks what is young, and
    loading a province's config (10,000 devices: ~200k YAML nodes) at CPython's 700
    ran one every few hundred nodes (4.6 s to load it; 2.6 s at GEN0)."""
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GEN0, gc.get_threshold()[0]), gen1, gen2)


class GcTuning:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pauses = Histogram(
            "netmon_gc_pause_seconds",
            "Garbage collections by generation: how long each held the event loop.",
            ["generation"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self._started = 0.0
        #: long collections since run() last logged them: (generation, seconds, collected,
        #: thread, young count at the start)
        self._long: list[tuple[str, float, int, str, int]] = []
        #: objects counted into the youngest generation when the collection started
        self._young = 0
        self._installed = False
        #: samples (and POLL_WEIGHT a poll) delivered since the last freeze
        self._delivered = 0
        self._checked = time.monotonic()
        #: the frozen objects counted at the first check after the last settle
        self._baseline: int | None = None
        # counted at each settle only: CPython counts them by walking the whole list
        # (26 ms for 1 M objects); counted per scrape it was most of a small daemon's CPU
        self.frozen = Gauge(
            "netmon_gc_frozen_objects",
            "Objects kept out of the garbage collector's sight after the last full settle"
            " (at start, then when they grew by a tenth, counted every 6 h; freed by"
            " reference counting as usual): growing from one settle to the next, cycles"
            " died after a freeze.",
            registry=registry,
        )

    def install(self) -> None:
        """Time every collection from now on, and raise the youngest threshold."""
        if self._installed:
            return
        self._installed = True
        raise_gen0_threshold()
        gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._installed:
            gc.callbacks.remove(self._callback)
            self._installed = False

    def delivered(self, samples: int) -> None:
        """A poll's (or a stream's) result was kept with ``samples`` samples: freeze what
        is alive once FREEZE_SAMPLES of them came in since the last freeze. Only once
        installed (a daemon started; not a tool or a test that applies results)."""
        if not self._installed:
            return
        self._delivered += samples + POLL_WEIGHT
        if self._delivered >= FREEZE_SAMPLES:
            self._delivered = 0
            gc.freeze()

    def settle(self) -> None:
        """After a start or a reload: collect what the old state left, then keep what is
        alive now out of later collections."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.frozen.set(gc.get_freeze_count())
        self._baseline = None

    def check(self) -> bool:
        """Count the frozen objects; settle when they grew by GROWTH over the baseline.
        True when it settled."""
        count = gc.get_freeze_count()
        if self._baseline is None:
            self._baseline = count
            return False
        if count > self._baseline * GROWTH:
            self.settle()
            return True
        return False

    async def run(self) -> None:
        """Freeze what is alive every FREEZE_EVERY seconds; check every CHECK_EVERY."""
        while True:
            await asyncio.sleep(FREEZE_EVERY)
            gc.freeze()
            self._delivered = 0
            self.log_long()
            if time.monotonic() - self._checked >= CHECK_EVERY:
                self._checked = time.monotonic()
                self.check()

    def log_long(self) -> None:
        """Log the collections that held the loop longer than LOG_PAUSE since the last call."""
        long, self._long = self._long, []
        for generation, seconds, collected, thread, young in long:
            log.info(
                "long garbage collection",
                generation=generation,
                seconds=seconds,
                collected=collected,
                thread=thread,
                young=young,
            )

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._young = gc.get_count()[0]
            return
        took = time.perf_counter() - self._started
        generation = str(info.get("generation", ""))
        self.pauses.labels(generation).observe(took)
        if took > LOG_PAUSE and len(self._long) < LONG_KEPT:
            # logged later by run(): a log call here could come in the middle of another
            # (a collection starts wherever objects are allocated) and wait on its lock
            where = threading.current_thread().name  # the loop's, or the answer builder's
            entry = (generation, round(took, 3), info.get("collected", 0), where, self._young)
            self._long.append(entry)
