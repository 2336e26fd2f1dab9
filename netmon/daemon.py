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
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from netmon import logging as nlog
from netmon.api import (
    PollingCollector,
    Snapshot,
    StreamingCollector,
    TargetRef,
    collector_factory,
    polling_kinds,
    streams,
)
from netmon.config import ConfigErrors, LoadedConfig, load
from netmon.daemon_metrics import DaemonMetrics
from netmon.inventory import Device
from netmon.scheduler import Job, Scheduler, SchedulerMetrics
from netmon.status import StatusEngine
from netmon.status import view as status_view
from netmon.status.silences import SilenceWatcher
from netmon.store import Change, Store
from netmon.tasks import cancel_and_wait

__all__ = ["Daemon", "DaemonMetrics", "StartError"]

log = nlog.get("netmon.daemon")


class StartError(Exception):
    """A part of the config could not be put to work (a port taken, a secret unreadable);
    its message is one line naming the part."""


class Daemon:
    def __init__(self, config_path: str | Path, profiles: Collection[str]) -> None:
        self.config_path = Path(config_path)
        self.profiles = profiles
        self.metrics = DaemonMetrics()
        self.scheduler = Scheduler(64, SchedulerMetrics(self.metrics.registry))
        self.pollers: dict[str, PollingCollector] = {
            kind: collector_factory(kind)({}) for kind in polling_kinds()
        }
        self.store = Store(m for p in self.pollers.values() for m in p.metadata())
        self.streams: dict[str, StreamingCollector] = {
            name: spec.factory(self.store, self, self.metrics.registry)
            for name, spec in streams().items()
        }
        self.config: LoadedConfig | None = None
        self.status: StatusEngine | None = None
        self._status_text = ""
        self.ready = False
        self._reload_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self.silences = SilenceWatcher(self.metrics.registry)
        #: what the site series last showed that no state change announces
        self._shown: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self._by_engine: dict[str, TargetRef] = {}
        self._by_address: dict[str, TargetRef] = {}
        #: start() ran: loads from now on (re)schedule polls at once
        self._started = False

    # -- config ------------------------------------------------------------------
    def load_initial(self) -> LoadedConfig:
        """Load at start; errors propagate (a daemon with no valid config does not start).

        Builds the in-memory state only: no port is claimed and nothing connects or
        polls before start()."""
        config = load(self.config_path, self.profiles)
        self._swap(config)
        return config

    async def reload(self) -> tuple[bool, list[str]]:
        """Validate, then swap the whole new config or nothing. Returns (ok, error lines).

        Never raises: every failure is counted, logged and leaves the old config running.
        """
        async with self._reload_lock:
            try:
                config = await asyncio.to_thread(load, self.config_path, self.profiles)
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
            except Exception as exc:  # a file no check foresaw: still one counted line
                return self._reload_failed(f"{self.config_path}: cannot load: {exc!r}"[:500])
            try:
                self._apply(config)
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

    def _apply(self, config: LoadedConfig) -> None:
        """Put a new config to work: first the parts that can fail (a streaming
        collector's port or secret), undone if one fails; then the in-memory swap."""
        self._configure_streams(config, self.config)
        self._swap(config)

    def _configure_streams(self, config: LoadedConfig, previous: LoadedConfig | None) -> None:
        """Configure every streaming collector, or none: on a failure the ones already
        switched go back to ``previous``, and StartError says what failed.

        All in one loop turn: a collector's task created here has not run (nor
        connected anywhere) when a later collector's failure cancels it again."""
        done: list[str] = []
        for name, stream in self.streams.items():
            try:
                stream.configure(config.sections.get(name), config.path.parent)
            except Exception as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                for back in done:
                    old = previous.sections.get(back) if previous is not None else None
                    base = (previous or config).path.parent
                    try:
                        self.streams[back].configure(old, base)
                    except Exception as undo:
                        log.error("cannot restore a collector", collector=back, error=repr(undo))
                raise StartError(f"{name}: {reason}") from None
            done.append(name)

    def _swap(self, config: LoadedConfig) -> None:
        """The in-memory part of a load: schedule, store entries, status, look-ups."""
        previous = self.config
        inv = config.inventory
        polls = [p for device in inv.devices.values() for p in self._polls(device)]
        jobs = [self._job(*p) for p in polls]
        self.config = config
        self.scheduler.set_concurrency(config.main.scheduler.max_concurrency)
        started, stopped = self.scheduler.sync(jobs) if self._started else ([], [])
        wanted = {target.key for target, _, _ in polls}
        if previous is not None:
            for device in previous.inventory.devices.values():
                for target, _, _ in self._polls(device):
                    if target.key not in wanted:
                        self.store.remove(target.key)
                        self.pollers[target.collector].forget(target)
        for target, _, device in polls:
            self.store.ensure(target, device.interval)
        # a shard polls its sites' ancestors for their status; their owners export them
        self.store.hide_sites(frozenset(s for s in inv.sites if not inv.exported(s)))
        self.metrics.shard.info({"shard": inv.shard or "all"})
        # trap look-ups, once per load rather than a scan of every device per trap (floods)
        self._by_engine, self._by_address = {}, {}
        for device in inv.devices.values():
            ref = TargetRef(device.site, device.id, "snmp")
            if device.trap_engine_id:
                self._by_engine.setdefault(device.trap_engine_id, ref)
            self._by_address.setdefault(device.snmp.address, ref)
        self.silences.configure(
            config.main.status.silences, {sid: s.kabupaten for sid, s in inv.sites.items()}
        )
        self._streams_follow()
        if self.status is None:
            state_file = self._state_file()
            restored = status_view.load(state_file) if state_file is not None else {}
            self.status = StatusEngine(
                inv,
                self.store,
                hold=config.main.status.hold,
                poll_now=self.scheduler.poll_now,
                restored=restored,
            )
            if restored:
                log.info("site states restored", sites=len(restored), file=str(state_file))
        else:
            self.status.hold = config.main.status.hold
            self.status.set_inventory(inv, {})
        self._status_text = status_view.render(self.status)
        self.metrics.reloads.labels("success").inc()
        self.metrics.config_errors.set(0)
        self.metrics.last_reload.set(time.time())
        for warning in config.warnings:
            log.warning("config warning", warning=str(warning))
        self.metrics.sites.set(len(inv.sites))
        self.metrics.devices.set(len(inv.devices))
        if previous is None:
            log.info("config loaded", sites=len(inv.sites), devices=len(inv.devices))
        else:
            log.info(
                "config reloaded",
                sites=len(inv.sites),
                devices=len(inv.devices),
                started=len(started),
                stopped=len(stopped),
            )

    def _streams_follow(self) -> None:
        """Streaming collectors drop what belongs to sites that are gone; their (new)
        families get HELP and TYPE."""
        for stream in self.streams.values():
            stream.sites_changed()
            self.store.add_meta(stream.metadata())

    # -- Directory, for streaming collectors -----------------------------------------
    def site_exists(self, site: str) -> bool:
        return self.config is not None and site in self.config.inventory.sites

    def site_elsewhere(self, site: str) -> bool:
        return self.config is not None and site in self.config.inventory.elsewhere

    def device_exists(self, site: str, device: str) -> bool:
        if self.config is None:
            return False
        found = self.config.inventory.devices.get(device)
        return found is not None and found.site == site

    def device_for(self, address: str, engine_id: str | None = None) -> TargetRef | None:
        if engine_id and engine_id.lower() in self._by_engine:
            return self._by_engine[engine_id.lower()]
        return self._by_address.get(address)

    def poll_now(self, key: str) -> bool:
        return self.scheduler.poll_now(key)

    def ifname(self, key: str, ifindex: str) -> str | None:
        info = self.store.sample(key, "netmon_interface_info", ifindex=ifindex)
        return None if info is None else dict(info.labels).get("ifname")

    def _polls(self, device: Device) -> list[tuple[TargetRef, Any, Device]]:
        """(target, its settings, device) for each way this device is watched."""
        out: list[tuple[TargetRef, Any, Device]] = []
        if device.polls_snmp:
            out.append((TargetRef(device.site, device.id, "snmp"), device.snmp, device))
        if device.icmp is not None:
            out.append((TargetRef(device.site, device.id, "icmp"), device.icmp, device))
        out.extend((TargetRef(device.site, device.id, k), p, device) for k, p in device.polls)
        return out

    def _job(self, target: TargetRef, settings: Any, device: Device) -> Job:
        collector = self.pollers[target.collector]

        async def poll() -> Snapshot:
            return await collector.poll(target, settings, device.deadline)

        def deliver(snapshot: Snapshot) -> None:
            self._log_change(self.store.apply(snapshot, device.interval))
            self._changed.set()  # judge the sites now, not at the next status tick

        # identity: what the closures use, nothing else (a site renamed keeps its polls)
        return Job(target, device.interval, poll, deliver, settings=(settings, device.deadline))

    @staticmethod
    def _log_change(change: Change) -> None:
        """Log once per state change, not once per failed poll (1,000 dead sites = 1,000 lines per
        minute otherwise)."""
        if change.before == change.after:
            return
        fields = {
            "site": change.target.site,
            "device": change.target.device,
            "state": change.after,
            "was": change.before,
        }
        if change.after == "down":
            log.warning("target down", reason=change.reason, detail=change.detail, **fields)
        elif change.after == "partial":
            log.warning("target partially polled", detail=change.detail, **fields)
        elif change.before != "unknown":
            log.info("target recovered", **fields)

    def _state_file(self) -> Path | None:
        assert self.config is not None
        name = self.config.main.status.state_file
        return None if name is None else self.config.path.parent / name

    def evaluate_status(self, now: float | None = None) -> None:
        """Recompute site states; log, persist and re-render what changed."""
        assert self.status is not None
        now = time.time() if now is None else now
        self.status.silenced = self.silences.sites(now)
        changes = self.status.evaluate(now)
        for site, before, after in changes:
            fields = {"site": site, "status": after.status, "was": before.status}
            if after.status in ("down", "unreachable"):
                log.warning("site status", cause=after.cause, upstream=after.upstream, **fields)
            else:
                log.info("site status", cause=after.cause or None, **fields)
        shown = status_view.time_dependent(self.status, now)
        if changes or shown != self._shown:  # a power cut began, a silence ended, ...
            self._shown = shown
            self._status_text = status_view.render(self.status, now)
        if changes:
            path = self._state_file()
            if path is not None:
                try:
                    status_view.save(path, self.status)
                except OSError as exc:
                    log.error("cannot save site states", file=str(path), error=exc.strerror)

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Claim the ports (trap receiver), then connect and poll.

        Raises StartError (and leaves nothing running) when a port is taken: before
        any outside connection, so a second instance started by mistake never
        takes the running one's MQTT session (a fixed client id) or its polls."""
        assert self.config is not None
        self._configure_streams(self.config, None)
        self._streams_follow()
        self._started = True
        self.scheduler.sync(
            self._job(*p) for d in self.config.inventory.devices.values() for p in self._polls(d)
        )
        self.ready = True
        self.silences.start()
        self._tasks = [
            asyncio.create_task(self._expire_loop()),
            asyncio.create_task(self._status_loop()),
        ]

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(5)
            self.store.expire()

    async def _status_loop(self, debounce: float = 0.02) -> None:
        """Evaluate after every poll result (batched over ``debounce``), and at least every
        status.interval (telemetry, traps and the clock move states too)."""
        while True:
            assert self.config is not None
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: see Scheduler._loop
                async with asyncio.timeout(self.config.main.status.interval):
                    await self._changed.wait()
                await asyncio.sleep(debounce)  # a burst of polls finishing: one evaluation
            self._changed.clear()
            self.evaluate_status()

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
        await self.silences.stop()
        for stream in self.streams.values():
            await stream.stop()
        await self.scheduler.stop()

    def exposition(self) -> bytes:
        body = (
            self.store.render().encode()
            + self._status_text.encode()
            + generate_latest(self.metrics.registry)
        )
        self.metrics.scrape_bytes.set(len(body))
        return body
