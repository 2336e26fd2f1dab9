"""The validated, frozen inventory: sites, devices, links, and the uplink graph.

Built only by :func:`netmon.config.load`; everything downstream (scheduler,
status, exposition) reads it and never the raw YAML. Label values for series
come from here, not from the network.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # an annotation only: netmon.api loads netmon.config on its last line,
    # which imports this module back (importing it first would then fail)
    from netmon.api import Labels


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    site: str
    #: where it is reached (IPv4 or IPv6): the default host of every kind's polls
    address: str
    interval: float
    deadline: float
    #: (collector kind, poll settings): one target of that kind each, built by the
    #: registry's device kinds (netmon.api.DeviceKind: SNMP, ICMP, service probes)
    polls: tuple[tuple[str, Any], ...] = ()

    def settings(self, kind: str) -> Any | None:
        """The poll settings of one collector kind, None if that kind does not poll it."""
        return next((settings for k, settings in self.polls if k == kind), None)

    @property
    def labels(self) -> Labels:
        return (("site", self.site), ("device", self.id))


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    kind: str
    kabupaten: str
    kecamatan: str
    network: str
    timezone: str
    lat: float | None
    lon: float | None
    uplinks: tuple[str, ...]
    uplink_kind: str
    maintenance: bool
    contact_name: str
    contact_phone: str
    isp_name: str
    isp_circuit: str
    devices: tuple[str, ...]
    source: str  # the file it came from, for messages
    #: declared power cuts covering the site: (start, end) Unix seconds, end exclusive
    power_cuts: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class LinkEnd:
    site: str
    device: str
    ifname: str


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    kind: str
    a: LinkEnd
    b: LinkEnd


@dataclass(frozen=True, slots=True)
class Inventory:
    sites: Mapping[str, Site]
    devices: Mapping[str, Device]
    links: Mapping[str, Link]
    files: tuple[str, ...] = field(default=())
    #: the shard this instance runs ("" when it monitors the whole province)
    shard: str = ""
    #: sites this instance exports; None: all. Others in ``sites`` are ancestors of owned
    #: sites, polled read-only for their status
    owned: frozenset[str] | None = None
    #: sites of other shards: known to exist, not monitored here
    elsewhere: frozenset[str] = frozenset()

    def exported(self, site: str) -> bool:
        return self.owned is None or site in self.owned

    @property
    def exported_sites(self) -> Mapping[str, Site]:
        if self.owned is None:
            return self.sites
        return {sid: site for sid, site in self.sites.items() if sid in self.owned}

    def devices_of(self, site: str) -> Iterator[Device]:
        for device_id in self.sites[site].devices:
            yield self.devices[device_id]

    def ancestors(self, site: str) -> list[str]:
        """Every site above this one on any uplink path (the graph is acyclic)."""
        seen: list[str] = []
        stack = list(self.sites[site].uplinks)
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.append(parent)
                stack.extend(self.sites[parent].uplinks)
        return seen

    def summary(self) -> dict[str, tuple[int, int]]:
        """kabupaten -> (sites, devices), for `netmon check`."""
        out: dict[str, tuple[int, int]] = {}
        for site in self.sites.values():
            sites, devices = out.get(site.kabupaten, (0, 0))
            out[site.kabupaten] = (sites + 1, devices + len(site.devices))
        return dict(sorted(out.items()))
