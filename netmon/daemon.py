"""The running daemon: config, scheduler, collectors and store wired together.

Start: load_initial() reads the config and builds the in-memory state; the
caller claims the HTTP port; start() claims the trap port and only then
connects out (MQTT, SNMP polls, Alertmanager). A port that is taken stops the
start before any outside connection.

Reload (SIGHUP, POST /-/reload) validates the new config completely first; a
bad config changes nothing and every failure is one counted, logged error. A
good one is applied whole or not at all: the parts that can fail (a trap port,
a secret) are built first and undone if one fails; then the swap, in which
devices whose settings are unchanged keep their schedule, their poll in
flight and their counter state, and removed devices lose their series at once.

This module only wires: the collectors come from the registry the CLI hands over,
jobs from netmon.jobs, the streaming collectors' answers from netmon.directory,
the site states from netmon.status.loop.
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

from netmon import logging as nlog
from netmon.answer_build import Format, Sources
from netmon.api import PollingCollector, Registry, Snapshot, StreamingCollector
from netmon.config import ConfigErrors, LoadedConfig
from netmon.config.identity import ConfigIdentity
from netmon.config_process import LoadFailed, load_here, load_in_child, prepare
from netmon.daemon_metrics import DaemonMetrics
from netmon.directory import InventoryDirectory
from netmon.gc_tuning import GcTuning, collector_off, raise_gen0_threshold
from netmon.inventory import Device
from netmon.jobs import Poll, Prepared, log_change, make_job, polls_of, scheduled
from netmon.loop_lag import LoopLag
from netmon.metrics_answer import Answers
from netmon.registry_text import render_registry
from netmon.render_loop import RenderLoop
from netmon.scheduler import Job, Plan, Scheduler, SchedulerMetrics
from netmon.status import StatusEngine
from netmon.status import view as status_view
from netmon.status.loop import StatusLoop
from netmon.status.silences import SilenceWatcher
from netmon.store import Store
from netmon.streams import StartError, configure_streams, streams_follow
from netmon.tasks import Pace, Steps, cancel_and_wait, finish, in_steps

#: inventories this big reload in a child process (10,000 devices: 7-8 s in a thread
#: beside a busy event loop, 3-4 s in a child); smaller ones in a thread (1,000: 0.2 s)
CHILD_FROM = 2_000

__all__ = ["Daemon", "DaemonMetrics", "StartError"]

#: targets checked for expired parts per turn of the event loop (~4 us each)
EXPIRE_AT_ONCE = 1000

log = nlog.get("netmon.daemon")


class Daemon:
    def __init__(self, config_path: str | Path, registry: Registry) -> None:
        """``registry``: the collectors to run (``collectors.REGISTRY``, from the CLI)."""
        self.config_path = Path(config_path)
        self.registry = registry
        self.metrics = DaemonMetrics()
        self.scheduler = Scheduler(None, SchedulerMetrics(self.metrics.registry))
        self.pollers: dict[str, PollingCollector] = {
            kind: registry.collector_factory(kind)({}) for kind in registry.polling_kinds()
        }
        self.store = Store(m for p in self.pollers.values() for m in p.metadata())
        self.directory = InventoryDirectory(self.store, self.scheduler.poll_now)
        self.streams: dict[str, StreamingCollector] = {
            name: spec.factory(self.store, self.directory, self.metrics.registry)
            for name, spec in registry.sections().items()
        }
        self.silences = SilenceWatcher(self.metrics.registry)
        self.status_loop = StatusLoop(self.store, self.silences, self.scheduler.poll_now, registry)
        self.render_loop = RenderLoop(self.store)
        self.loop_lag = LoopLag(self.metrics.registry)
        self.gc = GcTuning(self.metrics.registry)
        self.store.on_applied = self.gc.delivered  # polls' and streams' results alike
        self.scheduler.on_timer_late = self.loop_lag.observe
        #: the /metrics answer, kept ready (netmon.metrics_answer)
        self.answers = Answers(
            self._generation,
            self._sources,
            on_build=self.metrics.answer_build.observe,
            before=self._before_answer,
            epoch=lambda: self._loads,
        )
        self.config: LoadedConfig | None = None
        #: config loads swapped in so far (an answer of an earlier load is never served)
        self._loads = 0
        #: which files the last load read (netmon_config_info)
        self._identity: ConfigIdentity | None = None
        #: reloads load in a child process when set (load_in_child) ...
        self._child_registry: str | None = None
        #: ... and the running inventory has this many devices
        self.child_from = CHILD_FROM
        self.ready = False
        self._reload_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        #: start() ran: loads from now on (re)schedule polls at once
        self._started = False
        #: the jobs of the config loaded before start(), which schedules them
        self._unstarted: list[Job] = []

    @property
    def status(self) -> StatusEngine | None:
        return self.status_loop.engine

    def poll_now(self, key: str) -> bool:
        """Ask for a fresh poll of a target at once."""
        return self.scheduler.poll_now(key)

    # -- config ------------------------------------------------------------------
    def _load(self) -> LoadedConfig:
        loaded = load_here(self.config_path, self.registry)
        self._identity = loaded.identity
        return loaded.config

    def load_in_child(self, registry_ref: str) -> None:
        """Reloads of a big inventory (``child_from`` devices or more) load in a child
        process from now on (netmon.config_process); ``registry_ref``
        (``module:attribute``) names this daemon's registry there. Smaller ones load in a
        thread: their load is short, and the fork server would cost ~90 MB resident."""
        self._child_registry = registry_ref
        if self._wants_child():
            prepare(registry_ref)  # now, so the first reload does not wait for its imports

    def _wants_child(self) -> bool:
        devices = 0 if self.config is None else len(self.config.inventory.devices)
        return self._child_registry is not None and devices >= self.child_from

    async def _reload_load(self) -> LoadedConfig:
        if not self._wants_child():
            return await asyncio.to_thread(self._load)
        assert self._child_registry is not None
        prepare(self._child_registry)  # a no-op when it runs
        loaded = await load_in_child(self.config_path, self._child_registry)
        self._identity = loaded.identity
        return loaded.config

    def load_initial(self) -> LoadedConfig:
        """Load at start; errors propagate (a daemon with no valid config does not start).

        Builds the in-memory state only: no port is claimed and nothing connects or
        polls before start()."""
        raise_gen0_threshold()  # a province's config is ~200k YAML nodes: 4.6 s -> 2.6 s
        # and no collection at all while it loads: each full one walked the growing heap
        # (10,000 devices: 2.5-3.0 s -> 1.8 s). A loaded config holds no cycles (tested);
        # what the parse left in cycles goes at start()'s settle, or when this returns.
        with collector_off():
            config = self._load()
            self._swap(config)
        streams_follow(self.streams, self.store)
        return config

    async def reload(self) -> tuple[bool, list[str]]:
        """Validate, then swap the whole new config or nothing. Returns (ok, error lines).

        Never raises: every failure is counted, logged and leaves the old config running.
        """
        async with self._reload_lock:
            began = time.monotonic()
            try:
                config = await self._reload_load()
            except ConfigErrors as exc:
                lines = [str(e) for e in exc.errors]
                self.metrics.reloads.labels("failure").inc()
                self.metrics.config_errors.set(sum(1 for e in exc.errors if not e.note))
                for error in exc.errors:
                    if error.note:
                        log.warning("config note", note=str(error))
                    else:
                        log.error("config error; keeping the running config", error=str(error))
                return False, lines
            except LoadFailed as exc:  # the loading child's own line
                return self._reload_failed(str(exc))
            except Exception as exc:  # a file no check foresaw: still one counted line
                return self._reload_failed(f"{self.config_path}: cannot load: {exc!r}"[:500])
            loaded_in = time.monotonic() - began
            # no collection while the new jobs and indexes are built (~100 k objects that
            # live as long as the config): passes over them held the loop 50-60 ms at
            # 10,000 devices; they go out of the collector's sight at once when swapped in
            try:
                with collector_off():
                    # the jobs built and compared with the running ones in turns of the loop
                    # (at 10,000 devices ~0.3 s of Python): the swap itself is one step
                    prepared = await in_steps(self._prepare(config, Pace()))
                    # first the parts that can fail (a streaming collector's port or secret),
                    # undone if one fails; then the in-memory swap
                    configure_streams(self.streams, config, self.config)
                    self._swap(config, loaded_in, prepared)
                    await asyncio.sleep(0)  # the streams follow the new inventory a turn later
                    streams_follow(self.streams, self.store)
                    # the new config out of the collector's sight before it runs again;
                    # the old one is freed by reference counting (a config holds no
                    # cycles; a full settle now would walk the whole heap on the loop:
                    # seconds at 10,000 devices). GcTuning.run settles later.
                    gc.freeze()
            except StartError as exc:
                return self._reload_failed(f"{self.config_path}: {exc}")
            except Exception as exc:  # a netmon bug in the swap: counted and logged all the same
                return self._reload_failed(f"{self.config_path}: cannot apply: {exc!r}"[:500])
            # polls the reload cancelled have ended (or were logged as stuck) on return
            await self.scheduler.settle()
            return True, []

    def _reload_failed(self, line: str) -> tuple[bool, list[str]]:
        self.metrics.reloads.labels("failure").inc()
        self.metrics.config_errors.set(1)
        log.error("reload failed; keeping the running config", error=line)
        return False, [line]

    def _prepare(self, config: LoadedConfig, pace: Pace) -> Steps[Prepared]:
        """A load's polls and jobs, compared with the running jobs once polling started."""
        running = self.config.inventory if self.config is not None else None
        plan = self.scheduler.plan if self._started else None
        return scheduled(config.inventory, running, self._job, plan, pace)

    def _swap(
        self, config: LoadedConfig, loaded_in: float = 0.0, prepared: Prepared | None = None
    ) -> None:
        """The in-memory part of a load: schedule, store entries, status, look-ups.
        ``loaded_in``: how long a reload took to load it (its log line says so);
        ``prepared``: its jobs, built and compared ahead (else built here)."""
        previous = self.config
        self._loads += 1
        inv = config.inventory
        if prepared is None:
            prepared = finish(self._prepare(config, Pace(None)))
        polls, plan, gone, shape = prepared
        self.config = config
        limit = config.main.scheduler.max_concurrency
        self.scheduler.set_concurrency(None if limit == "auto" else limit)
        if isinstance(plan, Plan):  # polling runs (start() was called)
            started, stopped = self.scheduler.sync(plan)
            # a job kept running keeps its store entry as it was (same target, interval)
            fresh = [(plan.wanted[key].target, plan.wanted[key].interval) for key in started]
        else:  # start() schedules them
            started, stopped = [], []
            self._unstarted = plan
            fresh = [(target, device.interval) for target, _, device in polls]
        for target in gone:
            self.store.remove(target.key)
            self.pollers[target.collector].forget(target)
        for target, interval in fresh:
            self.store.ensure(target, interval)
        # a shard polls its sites' ancestors for their status; their owners export them
        owned = inv.owned
        self.store.hide_sites(frozenset() if owned is None else frozenset(inv.sites.keys() - owned))
        self.metrics.shard.info({"shard": inv.shard or "all"})
        self.directory.set_inventory(inv)
        self.silences.configure(
            config.main.status.silences, {sid: s.kabupaten for sid, s in inv.sites.items()}
        )
        self.status_loop.configure(config, shape)
        self.metrics.reloads.labels("success").inc()
        self.metrics.config_errors.set(0)
        self.metrics.last_reload.set(time.time())
        if self._identity is not None:
            found = self._identity
            self.metrics.config_info.info({"sha256": found.sha256, "revision": found.revision})
            log.info("config loaded", sha256=found.sha256, revision=found.revision or None)
        for warning in config.warnings:
            log.warning("config warning", warning=str(warning))
        self.metrics.sites.set(len(inv.sites))
        self.metrics.devices.set(len(inv.devices))
        if previous is None:
            log.info("config loaded", sites=len(inv.sites), devices=len(inv.devices))
        else:
            log.info(
                "config reloaded",
                load_s=round(loaded_in, 3),
                sites=len(inv.sites),
                devices=len(inv.devices),
                started=len(started),
                stopped=len(stopped),
            )

    def _job(self, poll: Poll) -> Job:
        return make_job(self.pollers[poll[0].collector], poll, self._deliver)

    def _deliver(self, snapshot: Snapshot, device: Device) -> None:
        log_change(self.store.apply(snapshot, device.interval))
        self.status_loop.notify()

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Claim the ports (trap receiver), then connect and poll.

        Raises StartError (and leaves nothing running) when a port is taken: before
        any outside connection, so a second instance started by mistake never
        takes the running one's MQTT session (a fixed client id) or its polls."""
        assert self.config is not None
        configure_streams(self.streams, self.config, None)
        streams_follow(self.streams, self.store)
        self._started = True
        # the jobs load_initial built (a start after a stop builds them again)
        devices = self.config.inventory.devices.values()
        jobs = self._unstarted or [self._job(p) for d in devices for p in polls_of(d)]
        self.scheduler.sync(jobs)
        self._unstarted = []
        self.ready = True
        self.gc.install()
        self.gc.settle()
        self.silences.start()
        self._tasks = [
            asyncio.create_task(self._expire_loop()),
            asyncio.create_task(self.status_loop.run()),
            asyncio.create_task(self.render_loop.run()),
            asyncio.create_task(self.answers.run()),
            asyncio.create_task(self.loop_lag.run()),
            asyncio.create_task(self.gc.run()),
        ]

    async def _expire_loop(self) -> None:
        """Every 5 s, the retention check, EXPIRE_AT_ONCE targets a turn of the loop
        (10,000 at once held it for ~45 ms)."""
        while True:
            await asyncio.sleep(5)
            keys = list(self.store.keys())
            now = time.time()
            for at in range(0, len(keys), EXPIRE_AT_ONCE):
                self.store.expire(now, keys[at : at + EXPIRE_AT_ONCE])
                await asyncio.sleep(0)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
        await self.silences.stop()
        for stream in self.streams.values():
            await stream.stop()
        await self.scheduler.stop()
        self.answers.close()
        self.gc.uninstall()

    async def _before_answer(self) -> None:
        """Before a scrape's answer: what arrived is rendered, and the site series a
        reload left to re-render in slices are re-rendered now (a scrape never shows a
        site with the labels of the config before)."""
        await self.render_loop.flush()
        await self.status_loop.caught_up()

    def _generation(self) -> object:
        return (self.store.generation, self.status_loop.generation)

    def _sources(self) -> Sources:
        """What the next answer joins, taken on the event loop (references only)."""
        meta = {**self.store.meta, **status_view.META}
        rendered = [*self.store.exported(), *self.status_loop.families]
        return Sources(self._generation(), meta, rendered, self._loads)

    def tail(self, fmt: Format) -> bytes:
        """The daemon's own metrics, rendered per scrape (OpenMetrics: with the # EOF)."""
        return render_registry(self.metrics.registry, fmt is Format.OPENMETRICS)

    def exposition(self) -> bytes:
        return b"".join(self.exposition_parts())

    def exposition_parts(self) -> list[bytes]:
        """/metrics in the text format, in parts, built here and now (tools and tests; the
        HTTP handler serves the ready answer): the targets, the sites, the daemon's own."""
        parts = [
            self.store.render_bytes(),
            self.status_loop.text.encode(),
            self.tail(Format.TEXT),
        ]
        self.metrics.scrape_bytes.set(sum(len(p) for p in parts))
        return parts
