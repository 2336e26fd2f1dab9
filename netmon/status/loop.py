"""Keeping the site states current: evaluate after poll results (batched) and at least
every status.interval, log what changed, re-render the site series, persist, and append
each outage that closed to the journal."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from netmon import logging as nlog
from netmon.api import Registry
from netmon.config import LoadedConfig
from netmon.config.contracts import Contract
from netmon.exposition import join_families, render_samples
from netmon.status import journal, persist
from netmon.status import view as status_view
from netmon.status.engine import StatusEngine, Topology
from netmon.status.evidence import Kinds
from netmon.status.silences import SilenceWatcher
from netmon.store import Store
from netmon.tasks import TURN, Pace, Steps, finish, in_steps

log = nlog.get("netmon.status")


class StatusLoop:
    def __init__(
        self,
        store: Store,
        silences: SilenceWatcher,
        poll_now: Callable[[str], bool],
        registry: Registry | None = None,
    ) -> None:
        """``registry``: the collectors, for their roles and the evidence they provide."""
        self.store = store
        self.silences = silences
        self.poll_now = poll_now
        self.kinds = Kinds.of(registry or Registry())
        self.engine: StatusEngine | None = None
        #: the site series, rendered per site (re-rendered when the site changes) and
        #: the rest (outages, links, contracts)
        self._sites: dict[str, dict[str, str]] = {}
        self._global: dict[str, str] = {}
        #: the outages need rendering again (done once per answer, not per evaluation)
        self._outages_stale = True
        #: the links and contracts, rendered at each config load (they change with it only)
        self._config: dict[str, str] = {}
        #: grows with each new render of the site series
        self.generation = 0
        self.interval = 60.0
        self.state_file: Path | None = None
        #: appends each outage to the journal as it closes
        self.journal = journal.Recorder()
        self.contracts: Mapping[str, Contract] = {}
        #: what the site series last showed that no state change announces
        self._shown: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self._changed = asyncio.Event()
        #: sites a reload left to re-render (run() does it in slices)
        self._stale: list[str] = []

    def configure(self, config: LoadedConfig, shape: Topology | None = None) -> None:
        """A config was loaded: the first builds the engine (with the states a restart
        left in the state file), the next ones give it the new inventory."""
        inv = config.inventory
        self.interval = config.main.status.interval
        self.state_file = persist.state_file(config)
        self.journal.configure(journal.journal_file(config), self.interval, self.state_file)
        self.contracts = config.contracts
        if self.engine is None:
            self.engine = StatusEngine(
                inv,
                self.store,
                hold=config.main.status.hold,
                poll_now=self.poll_now,
                restored=persist.restore(self.state_file),
                kinds=self.kinds,
            )
            self.journal.restored(self.engine, time.time())
            self._render(time.time())
        else:
            self.engine.hold = config.main.status.hold
            self.engine.set_inventory(inv, {}, shape)
            self._rerender_later(time.time())
        self._config = render_samples(status_view.config_samples(self.engine, self.contracts))

    def _rerender_later(self, now: float) -> None:
        """After a reload: removed sites' series go and new sites' come at once; the other
        sites are re-rendered by run() in slices (10,000 sites at once held the event loop
        for 0.2 s); a scrape in between has the rest rendered first (caught_up)."""
        assert self.engine is not None
        exported = self.engine.inventory.exported_sites
        self._sites = {sid: text for sid, text in self._sites.items() if sid in exported}
        self._stale = list(self._sites)
        self._render(now, [sid for sid in exported if sid not in self._sites])
        self._changed.set()  # run() wakes to judge the new inventory, then catches up

    def flush(self) -> None:
        """Render at once what a reload left to re-render (tools and tests)."""
        stale, self._stale = self._stale, []
        if stale:
            self._render(time.time(), stale)

    async def caught_up(self) -> None:
        """Render what a reload left to re-render before a scrape's answer: a step a
        turn of the loop (10,000 sites at once held it for 0.1-0.2 s), so the scrape
        waits for them and the polls do not."""
        while self._stale:
            self._catch_up()
            if self._stale:
                await asyncio.sleep(0)

    def _catch_up(self) -> None:
        """One step (tasks.TURN seconds) of what a reload left to re-render."""
        pace, stale = Pace(), self._stale

        def part() -> Iterator[str]:
            while stale:
                yield stale.pop()
                if pace.due():
                    return

        self._render(time.time(), part())

    @property
    def families(self) -> list[dict[str, str]]:
        """The site series, rendered per family, in parts (joined per answer)."""
        if self._outages_stale and self.engine is not None:
            # the sites each outage root takes down: a walk of every site's state, once
            # per answer rather than at every evaluation (one every ~20 ms while a mass
            # cut's timeouts come in: 10,000 sites walked each time held the event loop)
            self._global = render_samples(status_view.outage_samples(self.engine))
            self._outages_stale = False
        return [*self._sites.values(), self._global, self._config]

    @property
    def text(self) -> str:
        """The site series as exposition text (all of them re-rendered after a reload)."""
        self.flush()
        return join_families(status_view.META, self.families)

    def _render(self, now: float, sites: Iterable[str] | None = None) -> None:
        """Render the series of ``sites`` (None: every site) and the outages."""
        engine = self.engine
        assert engine is not None
        exported = engine.inventory.exported_sites
        if sites is None:
            self._sites = {}
            sites = exported
        for sid in sites:
            if sid in exported:
                self._sites[sid] = render_samples(status_view.site_samples(engine, sid, now))
        self._outages_stale = True
        self.generation += 1

    def notify(self) -> None:
        """A poll result arrived: judge the sites now, not at the next status tick."""
        self._changed.set()

    def evaluate(self, now: float | None = None) -> None:
        """Recompute site states; log, persist and re-render what changed."""
        finish(self._evaluate(now, None))

    def _evaluate(self, now: float | None, turn: float | None) -> Steps[None]:
        """``evaluate`` in steps of ``turn`` seconds (None: one step)."""
        assert self.engine is not None
        now = time.time() if now is None else now
        self.engine.silenced = self.silences.sites(now)
        changes = yield from self.engine.steps(now, turn)
        for site, before, after in changes:
            fields = {"site": site, "status": after.status, "was": before.status}
            if after.status in ("down", "unreachable"):
                log.warning("site status", cause=after.cause, upstream=after.upstream, **fields)
            else:
                log.info("site status", cause=after.cause or None, **fields)
        shown = status_view.time_dependent(self.engine, now)
        if changes or shown != self._shown:  # a power cut began, a silence ended, ...
            moved = {s for s, _, _ in changes}
            for was, now_shown in zip(self._shown, shown, strict=True):
                moved |= was ^ now_shown
            self._shown = shown
            self._render(now, moved)
        if changes:
            persist.save(self.state_file, self.engine)
        self.journal.observe(self.engine, changes, now)

    async def run(self, debounce: float = 0.02) -> None:
        """Evaluate after every poll result (batched over ``debounce``), and at least every
        status.interval (telemetry, traps and the clock move states too)."""
        while True:
            if self._stale:  # a step a turn, between evaluations too
                self._catch_up()
                await asyncio.sleep(0)
                if not self._changed.is_set():
                    continue
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: see Scheduler._loop
                async with asyncio.timeout(self.interval):
                    await self._changed.wait()
                await asyncio.sleep(debounce)  # a burst of polls finishing: one evaluation
            self._changed.clear()
            await in_steps(self._evaluate(None, TURN))
