"""A site's uplink link seen from its near end: the parent's interface on that link.

A fibre cut takes the near end down (ifOperStatus down, a linkDown trap) and its
receive power to the floor (about -40 dBm, the module's loss-of-signal reading). A site
that goes dark while that is so is down by its link, not by a device of its own; the
state names the link (its id from the inventory's ``links:``) and the page shows the
near end's reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from netmon.inventory import Inventory, LinkEnd
from netmon.store import Store

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
    def key(self) -> str:
        """The store key of the near end's device."""
        return f"snmp:{self.near.site}/{self.near.device}"

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


def uplinks(inventory: Inventory) -> dict[str, Uplink]:
    """site -> its link to its primary uplink, where one is declared.

    Depends on the inventory only: computed once per load, not per site and evaluation.
    """
    by_pair: dict[tuple[str, str], Uplink] = {}
    for link in inventory.links.values():
        by_pair.setdefault((link.b.site, link.a.site), Uplink(link.id, link.kind, link.a))
        by_pair.setdefault((link.a.site, link.b.site), Uplink(link.id, link.kind, link.b))
    out: dict[str, Uplink] = {}
    for sid, site in inventory.sites.items():
        if site.uplinks and (sid, site.uplinks[0]) in by_pair:
            out[sid] = by_pair[(sid, site.uplinks[0])]
    return out


def reading(uplink: Uplink | None, store: Store) -> Reading:
    """The near end's oper status (by poll, or by a later linkDown trap) and rx power."""
    if uplink is None:
        return Reading()
    ifname = uplink.near.ifname
    polled = store.value(uplink.key, "netmon_interface_oper_up", ifname=ifname)
    oper = None if polled is None else polled == 1.0
    if trap_cut(uplink.near, store) is not None:
        oper = False
    rx = store.value(uplink.key, "netmon_optical_rx_power_dbm", ifname=ifname)
    return Reading(oper, rx)


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
