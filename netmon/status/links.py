"""A site's uplink link seen from its near end: the parent's interface on that link.

A fibre cut takes the near end down (ifOperStatus down, a linkDown trap) and its
receive power to the floor (about -40 dBm, the module's loss-of-signal reading). A site
that goes dark while that is so is down by its link, not by a device of its own; the
state names the link (its id from the inventory's ``links:``) and the page shows the
near end's reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netmon.api import INTERFACE_OPER_UP, LINK_EVENT_UP, OPTICAL_RX_POWER
from netmon.inventory import Inventory, LinkEnd
from netmon.store import Store, TargetEntry
from netmon.tasks import Pace, Steps

#: receive power below this is no light at all: below the sensitivity of every module
#: in use (GPON class C+ is -32 dBm); modules report about -40 dBm on loss of signal
NO_LIGHT_DBM = -35.0


@dataclass(frozen=True, slots=True)
class Uplink:
    """The link to a site's primary uplink, and its end on the parent's device."""

    link: str
    kind: str
    near: LinkEnd

    @property
    def end(self) -> str:
        """The near end as the inventory writes it: ``site/device:ifname``."""
        return f"{self.near.site}/{self.near.device}:{self.near.ifname}"


@dataclass(frozen=True, slots=True)
class Reading:
    """What the near end says now; None where it says nothing."""

    oper_up: bool | None = None
    rx_power_dbm: float | None = None

    @property
    def cut(self) -> bool:
        """Oper down, or no light: the link is broken at the parent's side."""
        dark = self.rx_power_dbm is not None and self.rx_power_dbm < NO_LIGHT_DBM
        return self.oper_up is False or dark


def uplinks_steps(inventory: Inventory, pace: Pace) -> Steps[dict[str, Uplink]]:
    """site -> its link to its primary uplink, where one is declared, in steps of
    ``pace``. Depends on the inventory only: worked out once per load, with the
    topology (a reload's ahead of its swap), not per site and evaluation."""
    by_pair: dict[tuple[str, str], Uplink] = {}
    for link in inventory.links.values():
        by_pair.setdefault((link.b.site, link.a.site), Uplink(link.id, link.kind, link.a))
        by_pair.setdefault((link.a.site, link.b.site), Uplink(link.id, link.kind, link.b))
        yield from pace.give()
    out: dict[str, Uplink] = {}
    for sid, site in inventory.sites.items():
        if site.uplinks and (sid, site.uplinks[0]) in by_pair:
            out[sid] = by_pair[(sid, site.uplinks[0])]
        yield from pace.give()
    return out


@dataclass(slots=True)
class NearEnd:
    """The targets of the device at the parent's end of a site's uplink, and what they
    say of the link's interface: each read only from the kinds that declare it."""

    end: LinkEnd | None
    targets: list[TargetEntry]
    kinds: Any = None  # netmon.status.evidence.Kinds (no import cycle)

    def polled(self) -> list[TargetEntry]:
        """The targets that report the interface's status (the cause's evidence)."""
        return self._with(INTERFACE_OPER_UP)

    def _with(self, metric: str) -> list[TargetEntry]:
        if self.kinds is None:
            return []
        providers = self.kinds.providing(metric)
        return [e for e in self.targets if e.target.collector in providers]

    def _value(self, store: Store, metric: str) -> tuple[float, TargetEntry] | None:
        """The newest value of ``metric`` for the link's interface, with its target."""
        assert self.end is not None
        found = []
        for entry in self._with(metric):
            value = store.value(entry.target.key, metric, ifname=self.end.ifname)
            if value is not None:
                found.append((entry.last_started, value, entry))
        if not found:
            return None
        _at, value, entry = max(found, key=lambda f: f[0])
        return value, entry

    def reading(self, store: Store) -> Reading:
        """Oper status (by poll, or by a later linkDown event) and receive power."""
        if self.end is None:
            return Reading()
        polled = self._value(store, INTERFACE_OPER_UP)
        oper = None if polled is None else polled[0] == 1.0
        if self.trap_cut(store) is not None:
            oper = False
        rx = self._value(store, OPTICAL_RX_POWER)
        return Reading(oper, None if rx is None else rx[0])

    def trap_cut(self, store: Store) -> float | None:
        """When a linkDown event on the parent's end of the uplink arrived, if no later
        poll of the parent contradicts it; else None."""
        if self.end is None:
            return None
        event = self._value(store, LINK_EVENT_UP)
        if event is None or event[0] != 0.0:
            return None
        at = event[1].last_started
        polled = self._value(store, INTERFACE_OPER_UP)
        if polled is not None and polled[1].last_started > at and polled[0] == 1.0:
            return None  # the parent's newer poll says the interface is up again
        return at
