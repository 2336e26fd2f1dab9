"""What one site's own targets say, before topology: the evidence for its state.

Reads the store (SNMP polls, ICMP probes, MQTT telemetry), and remembers
what must outlive the data: when a device's current failure began, and the
site's last power readings (a site whose battery was draining before it went
silent is a power outage, not a link cut; its telemetry is gone by then).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from netmon.api import POWER_BATTERY, POWER_ON_GRID
from netmon.inventory import Inventory, Site
from netmon.status.links import Uplink, reading, trap_cut, uplinks
from netmon.store import Store, TargetEntry

#: a battery below this, or a site off the grid, is power evidence
LOW_BATTERY = 0.3
#: how long before a failure a power reading still counts as its cause
POWER_MEMORY = 3600.0
#: probe loss above this makes a site degraded
HIGH_LOSS = 0.2
#: the collectors whose results say whether a site is alive (traps only add detail)
WATCHERS = frozenset({"snmp", "icmp", "mqtt"})
#: the ones netmon can ask for a result now; MQTT speaks only when it has something
POLLED = frozenset({"snmp", "icmp"})


def probe_kinds(liveness: Collection[str] = ()) -> frozenset[str]:
    """ICMP and every collector kind configured per device that declares liveness
    (``liveness``: the registry's, e.g. service probes): their results count like a
    probe's."""
    return frozenset({"icmp", *liveness})


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
    def __init__(self, liveness: Collection[str] = ()) -> None:
        #: the kinds whose results count like a probe's (see probe_kinds)
        self.probes = probe_kinds(liveness)
        #: what a child's failure may ask to poll at once
        self.polled = POLLED | self.probes
        self.first_fail: dict[str, float] = {}  # target key -> start of its current failure
        self.power: dict[str, Power] = {}  # site -> last power readings
        #: site -> its polled MQTT sources and ICMP probes, rebuilt by observe(); own()
        #: must not scan every target for every site (O(sites x targets) per evaluation)
        self.streams: dict[str, list[TargetEntry]] = {}
        #: site -> every target that watches it (SNMP, ICMP, MQTT), rebuilt by observe():
        #: the results an ancestor's freshness is judged by
        self.targets: dict[str, list[TargetEntry]] = {}
        #: site -> its uplink link and the parent's end of it (set_inventory)
        self.uplinks: dict[str, Uplink] = {}

    def set_inventory(self, inventory: Inventory) -> None:
        self.uplinks = uplinks(inventory)

    def observe(self, store: Store, now: float) -> None:
        """Track failure starts and power readings from the store's current state."""
        self.streams = {}
        self.targets = {}
        watchers, streamed = WATCHERS | self.probes, self.probes | {"mqtt"}
        for key, entry in store.entries().items():
            if entry.state == "down":
                self.first_fail.setdefault(key, entry.last_started)
            else:
                self.first_fail.pop(key, None)
            if entry.target.collector in watchers:
                self.targets.setdefault(entry.target.site, []).append(entry)
            if entry.target.collector in streamed and entry.polls > 0:
                self.streams.setdefault(entry.target.site, []).append(entry)
            if entry.target.collector != "mqtt":
                continue
            on_grid = store.value(key, POWER_ON_GRID)
            battery = store.value(key, POWER_BATTERY)
            if on_grid is not None or battery is not None:
                power = self.power.setdefault(entry.target.site, Power())
                power.on_grid = on_grid if on_grid is not None else power.on_grid
                power.had_grid = power.had_grid or on_grid == 1.0
                power.battery = battery if battery is not None else power.battery
                power.at = now

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
        entries = store.entries()
        snmp = [entries[k] for k in _keys(site, "snmp") if k in entries]
        snmp = [e for e in snmp if e.polls > 0]
        others = self.streams.get(site.id, [])
        mqtt = [e for e in others if e.target.collector == "mqtt"]
        probes = [e for e in others if e.target.collector != "mqtt"]
        watched = snmp + probes
        uplink = self.uplinks.get(site.id)
        cut_at = trap_cut(uplink.near, store) if uplink is not None else None
        if (
            uplink is not None
            and cut_at is not None
            and not any(e.state != "down" and e.last_started > cut_at for e in watched)
        ):
            # a linkDown trap from the parent: down now, not at this site's next poll
            return Own("down", "link", cut_at, uplink.link)
        if not watched and not mqtt:
            return Own("unknown")
        down = [e for e in watched if e.state == "down"]
        telemetry_alive = any(e.state != "down" for e in mqtt)
        if watched and len(down) == len(watched) and not telemetry_alive:
            since = max(self.first_fail.get(e.target.key, e.last_started) for e in down)
            return self._down(site.id, uplink, store, since, "device")
        if not watched and mqtt and not telemetry_alive:
            since = max(self.first_fail.get(e.target.key, e.last_started) for e in mqtt)
            return self._down(site.id, uplink, store, since, "unknown")
        if down:
            return Own("degraded", "device")
        if self.low_power(site.id):
            return Own("degraded", "power")
        for entry in probes:
            loss = store.value(entry.target.key, "netmon_probe_loss_ratio")
            if loss is not None and loss > HIGH_LOSS:
                return Own("degraded", "link")
        return Own("up")

    def _down(
        self, sid: str, uplink: Uplink | None, store: Store, since: float, otherwise: str
    ) -> Own:
        """Why a site went dark: its battery, else its link cut at the parent's side."""
        if self.power_failed(sid, since):
            return Own("down", "power", since)
        if uplink is not None and reading(uplink, store).cut:
            return Own("down", "link", since, uplink.link)
        return Own("down", otherwise, since)


def _keys(site: Site, collector: str) -> list[str]:
    return [f"{collector}:{site.id}/{device}" for device in site.devices]
