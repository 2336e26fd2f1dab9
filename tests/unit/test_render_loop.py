"""Targets are rendered when their snapshots arrive, streams at most once a min_gap,
big ones in a worker thread; the event loop is never held for long."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import pytest

from netmon import render_loop
from netmon.api import Part, Sample, Snapshot, TargetRef
from netmon.exposition import join_families, render_samples
from netmon.render_loop import RenderLoop
from netmon.store import Store
from tests.helpers import async_wait_for, values

TARGET = TargetRef(site="s", device="d", collector="mqtt")


def shown(store: Store) -> str:
    """What /metrics shows now: the targets as last rendered, nothing rendered here."""
    return join_families(store.meta, store.exported())


def _snapshot(value: float, rows: int = 1) -> Snapshot:
    samples = [Sample("netmon_x", (("device", "d"), ("row", str(i))), value) for i in range(rows)]
    return Snapshot(TARGET, time.time(), 0.0, [Part("p", samples)])


async def test_a_stream_is_rendered_at_once_then_at_most_once_a_min_gap() -> None:
    store = Store()
    loop = RenderLoop(store, min_gap=0.5)
    renders: list[float] = []
    real = store.render_target

    def counting(key: str, now: float) -> None:
        renders.append(now)
        real(key, now)

    store.render_target = counting  # type: ignore[method-assign]

    def rendered(times: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(renders) == times

        return check

    task = asyncio.create_task(loop.run())
    try:
        store.apply(_snapshot(1.0), 60)
        await async_wait_for(rendered(1), 2, "the first message rendered")
        for value in range(2, 50):  # a burst of messages within the gap
            store.apply(_snapshot(float(value)), 60)
            await asyncio.sleep(0)
        assert len(renders) == 1
        assert values(shown(store), "netmon_x") == [1.0]
        await async_wait_for(rendered(2), 2, "the last one rendered after the gap")
        assert renders[1] - renders[0] >= 0.5
        assert values(shown(store), "netmon_x") == [49.0]
    finally:
        task.cancel()


async def test_a_big_target_is_rendered_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store()
    loop = RenderLoop(store)
    threads: list[str] = []

    def recording(samples: list[Sample], dropped: object = None) -> dict[str, str]:
        threads.append(threading.current_thread().name)
        return render_samples(samples)

    monkeypatch.setattr(render_loop, "render_samples", recording)
    store.apply(_snapshot(5.0, rows=render_loop.BIG + 1), 60)
    await loop.flush()
    assert threads
    assert threads[0] != threading.main_thread().name
    text = shown(store)
    assert len(values(text, "netmon_x")) == render_loop.BIG + 1
