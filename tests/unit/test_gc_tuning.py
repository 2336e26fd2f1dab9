"""The collector kept from stalling the loop (netmon.gc_tuning): what is alive is frozen
on a period, a full settle comes on its own period, and a reload may free the old config
by reference counting alone because a loaded config holds no reference cycles."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from prometheus_client import CollectorRegistry

from collectors import REGISTRY
from netmon import gc_tuning
from netmon.config import load
from netmon.gc_tuning import GcTuning
from tests.helpers import ROOT, async_wait_for


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_loaded_config_holds_no_cycles(monkeypatch: pytest.MonkeyPatch, thawed: None) -> None:
    """What Daemon.reload relies on when it drops the old config without a collection."""
    for name in ("NETMON_SNMP_COMMUNITY", "NETMON_SNMPV3_AUTH_KEY", "NETMON_SNMPV3_PRIV_KEY"):
        monkeypatch.setenv(name, "example-secret")
    monkeypatch.setenv("NETMON_MQTT_PASSWORD", "example")
    load(ROOT / "config/netmon.yaml", REGISTRY)  # caches the loader fills on first use
    gc.collect()
    gc.disable()
    try:
        config = load(ROOT / "config/netmon.yaml", REGISTRY)
        assert len(config.inventory.devices) > 10
        del config
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only a collection frees it


async def test_run_freezes_what_is_alive_and_settles_when_the_frozen_heap_grew(
    monkeypatch: pytest.MonkeyPatch, thawed: None
) -> None:
    monkeypatch.setattr(gc_tuning, "FREEZE_EVERY", 0.01)
    tuning = GcTuning(CollectorRegistry())
    runner = asyncio.create_task(tuning.run())
    try:
        node = _Node()
        alive = weakref.ref(node)
        frozen = gc.get_freeze_count()
        await async_wait_for(lambda: _true(gc.get_freeze_count() > frozen), 5, "a freeze")
        del node
        gc.collect()
        assert alive() is not None  # frozen while alive: the cycle waits for a settle
        assert not tuning.check()  # the first count is the baseline
        assert not tuning.check()  # no growth: no settle, no pause
        assert alive() is not None
        grown = [[i] for i in range(gc.get_freeze_count() // 5)]  # +20%, kept alive
        monkeypatch.setattr(gc_tuning, "CHECK_EVERY", 0.0)
        await async_wait_for(lambda: _true(alive() is None), 5, "the settle collecting it")
        assert len(grown) > 0
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def _true(value: bool) -> bool:
    return value


def test_the_scrapes_own_metrics_never_count_the_frozen_heap(
    monkeypatch: pytest.MonkeyPatch, thawed: None
) -> None:
    """CPython counts frozen objects by walking them all (26 ms for 1 M): done per scrape,
    it was most of a one-device daemon's CPU. Counted at a settle, never at a scrape."""
    from netmon.registry_text import render_registry

    real = gc.get_freeze_count
    walks: list[str] = []

    def counting() -> int:
        walks.append("walk")
        return real()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    registry = CollectorRegistry()
    tuning = GcTuning(registry)
    tuning.settle()
    assert walks == ["walk"]  # the settle counts them, once
    from prometheus_client.parser import text_string_to_metric_families

    for _ in range(3):  # three scrapes
        text = render_registry(registry, False).decode()
    assert walks == ["walk"]
    values = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert values["netmon_gc_frozen_objects"] == real()


def test_a_long_collection_is_logged_with_what_it_found_outside_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The histogram says how often the collector held the loop; the log line says which
    generation and what it freed, written later (a log call inside the collector's
    callback could land in the middle of another log call)."""
    monkeypatch.setattr(gc_tuning, "LOG_PAUSE", 0.0)
    tuning = GcTuning(CollectorRegistry())
    tuning.install()
    try:
        with structlog.testing.capture_logs() as logs:
            gc.collect(0)
            assert logs == []  # not from inside the collection
            tuning.log_long()
    finally:
        tuning.uninstall()
    found = [e for e in logs if e["event"] == "long garbage collection"]
    assert found
    assert found[0]["generation"] == "0"
    assert found[0]["seconds"] >= 0.0
    assert isinstance(found[0]["collected"], int)
    assert found[0]["thread"] == "MainThread"


def test_delivered_work_freezes_the_young_generation(thawed: None) -> None:
    """A poll frees about as many old objects as it makes: the youngest generation's count
    stays low while its list grows, so freezes follow the samples delivered."""
    tuning = GcTuning(CollectorRegistry())
    gc.freeze()
    gc.disable()  # no collection moves them on meanwhile: this is about freezes
    kept = [(str(i), float(i)) for i in range(3_000)]  # young, alive: what a poll keeps
    tuning.delivered(gc_tuning.FREEZE_SAMPLES)
    assert len(gc.get_objects(0)) >= len(kept)  # not installed (a tool, a test): no freeze
    tuning.install()
    try:
        tuning.delivered(gc_tuning.FREEZE_SAMPLES - gc_tuning.POLL_WEIGHT - 1)
        assert len(gc.get_objects(0)) >= len(kept)  # not yet: one sample short
        tuning.delivered(1)
        assert len(gc.get_objects(0)) < 100  # frozen: a pass would walk none of them
        assert gc.get_freeze_count() >= len(kept)
    finally:
        tuning.uninstall()
        gc.enable()


@pytest.mark.parametrize("broken", [False, True])
def test_the_start_up_load_runs_without_collections_and_leaves_the_collector_on(
    tmp_path: Path, broken: bool
) -> None:
    """load_initial keeps the collector off while a province loads (each full collection
    walked the growing heap); on, whatever the load's outcome."""
    from netmon.config import ConfigErrors
    from netmon.daemon import Daemon
    from tests.helpers import write_config

    config = write_config(tmp_path, 161, {"rtr-a": ("public", ["system"])})
    if broken:
        (tmp_path / "sites" / "broken.yaml").write_text("kabupaten: K\nsites: [{id: ")
    seen: list[bool] = []
    daemon = Daemon(config, REGISTRY)
    load = daemon._load

    def watched() -> Any:
        seen.append(gc.isenabled())
        return load()

    daemon._load = watched  # type: ignore[method-assign]
    assert gc.isenabled()
    if broken:
        with pytest.raises(ConfigErrors):
            daemon.load_initial()
    else:
        daemon.load_initial()
    assert seen == [False]
    assert gc.isenabled()
