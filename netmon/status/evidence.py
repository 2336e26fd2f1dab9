"""What one site's own targets say, before topology: the evidence for its state.

Reads the store (SNMP polls, ICMP probes, MQTT telemetry), and remembers
what must outlive the data: when a device's current failure began, and the
site's last power readings (a site whose battery was draining before it went
silent is a power outage, not a link cut; its telemetry is gone by then).
"""

from __future__ import annotations

from dataclasses import dataclass

from netmon.inventory import Inventory, LinkEnd, Site
from netmon.store import Store, TargetEntry

#: a battery below this, or a site off the grid, is power evidence
LOW_BATTERY = 0.3
#: how long before a failure a power reading still counts as its cause
POWER_MEMORY = 3600.0
#: probe loss above this makes a site degraded
HIGH_LOSS = 0.2


@dataclass(frozen=True, slots=True)
class Own:
    """A site's own state: up, degraded, down or unknown, with a cause."""

    state: str
    cause: str = ""
    #: when the failure began (down only): ancestors need results newer than this
    since: float = 0.0


@dataclass(slots=True)
class Power:
    on_grid: float | None = None
    battery: float | None = None
    at: float = 0.0
    #: grid power was seen at this site: being off it now is an outage, not the norm
    had_grid: bool = False


class Evidence:
    def __init__(self) -> None:
        self.first_fail: dict[str, float] = {}  # target key -> start of its current failure
        self.power: dict[str, Power] = {}  # site -> last power readings
        #: site -> its polled MQTT sources and ICMP probes, rebuilt by observe(); own()
        #: must not scan every target for every site (O(sites x targets) per evaluation)
        self.streams: dict[str, list[TargetEntry]] = {}
        #: site -> the parent's end of its uplink link (set_inventory)
        self.uplink_ends: dict[str, LinkEnd] = {}

    def set_inventory(self, inventory: Inventory) -> None:
        self.uplink_ends = uplink_ends(inventory)

    def observe(self, store: Store, now: float) -> None:
        """Track failure starts and power readings from the store's current state."""
        self.streams = {}
        for key, entry in store.entries().items():
            if entry.state == "down":
                self.first_fail.setdefault(key, entry.last_started)
            else:
                self.first_fail.pop(key, None)
            if entry.target.collector in ("mqtt", "icmp") and entry.polls > 0:
                self.streams.setdefault(entry.target.site, []).append(entry)
            if entry.target.collector != "mqtt":
                continue
            on_grid = store.value(key, "netmon_power_on_grid")
            battery = store.value(key, "netmon_power_battery_ratio")
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
        probes = [e for e in others if e.target.collector == "icmp"]
        watched = snmp + probes
        cut_at = trap_cut(self.uplink_ends.get(site.id), store)
        if cut_at is not None and not any(
            e.state != "down" and e.last_started > cut_at for e in watched
        ):
            # a linkDown trap from the parent: down now, not at this site's next poll
            return Own("down", "link", cut_at)
        if not watched and not mqtt:
            return Own("unknown")
        down = [e for e in watched if e.state == "down"]
        telemetry_alive = any(e.state != "down" for e in mqtt)
        if watched and len(down) == len(watched) and not telemetry_alive:
            since = max(self.first_fail.get(e.target.key, e.last_started) for e in down)
            return Own("down", self._cause(site, store, since), since)
        if not watched and mqtt and not telemetry_alive:
            since = max(self.first_fail.get(e.target.key, e.last_started) for e in mqtt)
            cause = "power" if self.power_failed(site.id, since) else "unknown"
            return Own("down", cause, since)
        if down:
            return Own("degraded", "device")
        if self.low_power(site.id):
            return Own("degraded", "power")
        for entry in probes:
            loss = store.value(entry.target.key, "netmon_probe_loss_ratio")
            if loss is not None and loss > HIGH_LOSS:
                return Own("degraded", "link")
        return Own("up")

    def _cause(self, site: Site, store: Store, since: float) -> str:
        if self.power_failed(site.id, since):
            return "power"
        if link_down(self.uplink_ends.get(site.id), store):
            return "link"
        return "device"


def _keys(site: Site, collector: str) -> list[str]:
    return [f"{collector}:{site.id}/{device}" for device in site.devices]


def uplink_ends(inventory: Inventory) -> dict[str, LinkEnd]:
    """site -> the parent's end of the link to its primary uplink, where one is declared.

    Depends on the inventory only: computed once per load, not per site and evaluation.
    """
    by_pair: dict[tuple[str, str], LinkEnd] = {}
    for link in inventory.links.values():
        by_pair.setdefault((link.b.site, link.a.site), link.a)
        by_pair.setdefault((link.a.site, link.b.site), link.b)
    out: dict[str, LinkEnd] = {}
    for sid, site in inventory.sites.items():
        if site.uplinks and (sid, site.uplinks[0]) in by_pair:
            out[sid] = by_pair[(sid, site.uplinks[0])]
    return out


def link_down(end: LinkEnd | None, store: Store) -> bool:
    """The parent's end of the uplink reports oper down (by poll or by trap)."""
    if end is None:
        return False
    key = f"snmp:{end.site}/{end.device}"
    polled = store.value(key, "netmon_interface_oper_up", ifname=end.ifname)
    return polled == 0.0 or trap_cut(end, store) is not None


def trap_cut(end: LinkEnd | None, store: Store) -> float | None:
    """When a linkDown trap on the parent's end of the uplink arrived, if no later
    poll of the parent contradicts it; else None."""
    if end is None:
        return None
    trap_key = f"trap:{end.site}/{end.device}"
    if store.value(trap_key, "netmon_trap_interface_up", ifname=end.ifname) != 0.0:
        return None
    trap = store.entries()[trap_key]
    poll = store.entries().get(f"snmp:{end.site}/{end.device}")
    if poll is not None and poll.last_started > trap.last_started:
        polled = store.value(poll.target.key, "netmon_interface_oper_up", ifname=end.ifname)
        if polled == 1.0:
            return None  # the parent's newer poll says the interface is up again
    return trap.last_started
