"""What one site's own targets say, before topology: the evidence for its state.

Reads the store (polls, probes, pushed telemetry: each kind's role and the evidence it
declares come from the registry), and remembers
what must outlive the data: when a device's current failure began, and the
site's last power readings (a site whose battery was draining before it went
silent is a power outage, not a link cut; its telemetry is gone by then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netmon.api import POWER_BATTERY, POWER_ON_GRID, PROBE_LOSS, Registry, Role
from netmon.inventory import Site
from netmon.status.links import NearEnd, Uplink
from netmon.store import Store, TargetEntry
from netmon.tasks import Pace, Steps, finish

#: (site -> streaming targets, site -> alive-judging targets, (site, device) -> targets)
Index = tuple[
    dict[str, dict[str, TargetEntry]],
    dict[str, dict[str, TargetEntry]],
    dict[tuple[str, str], dict[str, TargetEntry]],
]

#: a battery below this, or a site off the grid, is power evidence
LOW_BATTERY = 0.3
#: how long before a failure a power reading still counts as its cause
POWER_MEMORY = 3600.0
#: probe loss above this makes a site degraded
HIGH_LOSS = 0.2


@dataclass(frozen=True, slots=True)
class Kinds:
    """What status knows of the collector kinds: their roles and the evidence each
    provides (from the registry; status names none of them)."""

    roles: Mapping[str, Role]
    #: evidence metric name -> the kinds whose targets provide it
    provides: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, registry: Registry) -> Kinds:
        return cls(registry.roles(), registry.evidence())

    def having(self, *roles: Role) -> frozenset[str]:
        return frozenset(k for k, role in self.roles.items() if role in roles)

    def providing(self, metric: str) -> frozenset[str]:
        return self.provides.get(metric, frozenset())


@dataclass(frozen=True, slots=True)
class Own:
    """A site's own state: up, degraded, down or unknown, with a cause."""

    state: str
    cause: str = ""
    #: when the failure began (down only): ancestors need results newer than this
    since: float = 0.0
    #: the uplink link's id when the cause is link
    link: str = ""


@dataclass(slots=True)
class Power:
    on_grid: float | None = None
    battery: float | None = None
    at: float = 0.0
    #: grid power was seen at this site: being off it now is an outage, not the norm
    had_grid: bool = False


class Evidence:
    def __init__(self, kinds: Kinds) -> None:
        self.kinds = kinds
        #: polled from here, agent or probe: their results say a site is alive
        self.watchers = kinds.having(Role.AGENT, Role.PROBE)
        #: pushed readings: a site is alive while they arrive
        self.telemetry = kinds.having(Role.TELEMETRY)
        #: what a child's failure may ask to poll at once (a push cannot be asked for)
        self.polled = self.watchers
        self.power_kinds = kinds.providing(POWER_ON_GRID) | kinds.providing(POWER_BATTERY)
        self.first_fail: dict[str, float] = {}  # target key -> start of its current failure
        self.power: dict[str, Power] = {}  # site -> last power readings
        #: target -> the store entry, and its version, its power readings were last read at
        self._power_read: dict[str, tuple[TargetEntry, int]] = {}
        #: site -> its polled watchers and telemetry sources that have results (by target
        #: key), kept by observe(); own() must not scan every target for every site
        self.streams: dict[str, dict[str, TargetEntry]] = {}
        #: site -> every target whose results say it is alive (by key): the results an
        #: ancestor's freshness is judged by
        self.targets: dict[str, dict[str, TargetEntry]] = {}
        #: (site, device) -> every target of the device (its uplink's near end), by key
        self.devices: dict[tuple[str, str], dict[str, TargetEntry]] = {}
        #: site -> its uplink link and the parent's end of it (the engine's topology)
        self.uplinks: dict[str, Uplink] = {}

    def observe(self, store: Store, now: float, changed: set[str] | None = None) -> set[str] | None:
        """``observe_steps`` in one step."""
        return finish(self.observe_steps(store, now, changed, Pace(None)))

    def observe_steps(
        self, store: Store, now: float, changed: set[str] | None, pace: Pace
    ) -> Steps[set[str] | None]:
        """Track failure starts and power readings from the store's current state: of the
        ``changed`` targets only (None: all). Returns the sites of the targets looked at
        (None: all of them, after a target went and the indexes were rebuilt). Looking at
        all yields when ``pace`` says (10,000 targets: ~20 ms); the indexes are
        built aside and put in place at the end, so a reader between steps sees the old."""
        entries = store.entries()
        if changed is None or any(key not in entries for key in changed):
            index: Index = ({}, {}, {})
            self.first_fail = {k: v for k, v in self.first_fail.items() if k in entries}
            self._power_read = {k: v for k, v in self._power_read.items() if k in entries}
            for key, entry in list(entries.items()):
                self._observe(store, key, entry, now, index)
                yield from pace.give()
            self.streams, self.targets, self.devices = index
            return None
        sites: set[str] = set()
        index = (self.streams, self.targets, self.devices)
        for key in changed:
            entry = entries[key]
            self._observe(store, key, entry, now, index)
            sites.add(entry.target.site)
        return sites

    def _observe(
        self, store: Store, key: str, entry: TargetEntry, now: float, index: Index
    ) -> None:
        streams, targets, devices = index
        target = entry.target
        if entry.state == "down":
            self.first_fail.setdefault(key, entry.last_started)
        else:
            self.first_fail.pop(key, None)
        devices.setdefault((target.site, target.device), {})[key] = entry
        if target.collector in self.watchers or target.collector in self.telemetry:
            targets.setdefault(target.site, {})[key] = entry
            if entry.polls > 0:
                streams.setdefault(target.site, {})[key] = entry
        if target.collector not in self.power_kinds:
            return
        if self._power_read.get(key) == (entry, entry.version):
            # nothing applied since: the same readings, not new ones (a full pass after
            # a reload read 10,000 targets' series again, ~0.1 s on the event loop, and
            # made every site's last power reading look as if taken now)
            return
        self._power_read[key] = (entry, entry.version)
        on_grid = store.value(key, POWER_ON_GRID)
        battery = store.value(key, POWER_BATTERY)
        if on_grid is not None or battery is not None:
            power = self.power.setdefault(target.site, Power())
            power.on_grid = on_grid if on_grid is not None else power.on_grid
            power.had_grid = power.had_grid or on_grid == 1.0
            power.battery = battery if battery is not None else power.battery
            # when the reading was taken, not when it was looked at: retention keeps the
            # last reading through failed polls, and it must age all the same
            power.at = max(power.at, entry.last_success)

    def near_end(self, uplink: Uplink | None) -> NearEnd:
        """The targets of the device at the parent's end of a site's uplink."""
        if uplink is None:
            return NearEnd(None, [])
        found = self.devices.get((uplink.near.site, uplink.near.device), {})
        return NearEnd(uplink.near, list(found.values()), self.kinds)

    def power_failed(self, site: str, when: float) -> bool:
        """The site was on a low battery or off the grid shortly before ``when``."""
        power = self.power.get(site)
        if power is None or when - power.at > POWER_MEMORY:
            return False
        return self.low_power(site)

    def low_power(self, site: str) -> bool:
        """A low battery, or a site that had grid power running without it: a solar-only
        village off the grid is normal, not a degradation."""
        power = self.power.get(site)
        if power is None:
            return False
        low = power.battery is not None and power.battery < LOW_BATTERY
        return low or (power.had_grid and power.on_grid == 0.0)

    def own(self, site: Site, store: Store) -> Own:
        mine = self.streams.get(site.id, {}).values()
        pushed = [e for e in mine if e.target.collector in self.telemetry]
        watched = [e for e in mine if e.target.collector in self.watchers]
        uplink = self.uplinks.get(site.id)
        near = self.near_end(uplink)
        cut_at = near.trap_cut(store)
        if (
            uplink is not None
            and cut_at is not None
            and not any(e.state != "down" and e.last_started > cut_at for e in watched)
        ):
            # a linkDown trap from the parent: down now, not at this site's next poll
            return Own("down", "link", cut_at, uplink.link)
        if not watched and not pushed:
            return Own("unknown")
        down = [e for e in watched if e.state == "down"]
        telemetry_alive = any(e.state != "down" for e in pushed)
        if watched and len(down) == len(watched) and not telemetry_alive:
            since = max(self.first_fail.get(e.target.key, e.last_started) for e in down)
            return self._down(site.id, uplink, store, since, "device")
        if not watched and pushed and not telemetry_alive:
            since = max(self.first_fail.get(e.target.key, e.last_started) for e in pushed)
            return self._down(site.id, uplink, store, since, "unknown")
        if down:
            return Own("degraded", "device")
        if self.low_power(site.id):
            return Own("degraded", "power")
        lossy = self.kinds.providing(PROBE_LOSS)
        for entry in watched:
            if entry.target.collector not in lossy:
                continue
            loss = store.value(entry.target.key, PROBE_LOSS)
            if loss is not None and loss > HIGH_LOSS:
                return Own("degraded", "link")
        return Own("up")

    def _down(
        self, sid: str, uplink: Uplink | None, store: Store, since: float, otherwise: str
    ) -> Own:
        """Why a site went dark: its battery, else its link cut at the parent's side."""
        if self.power_failed(sid, since):
            return Own("down", "power", since)
        if uplink is not None and self.near_end(uplink).reading(store).cut:
            return Own("down", "link", since, uplink.link)
        return Own("down", otherwise, since)
