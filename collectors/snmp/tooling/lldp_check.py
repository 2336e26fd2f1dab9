"""`netmon check --lldp`: the inventory's links against what the devices' LLDP sees.

Each link end's device that has SNMP settings is polled once with the ``system`` and
``lldp`` profiles (the same collector the daemon uses). A link is *confirmed* when an end
sees, on the link's port, the other end's device (its id or its sysName) on the other
end's port; it is a *mismatch* when an end sees someone else there; otherwise there is
*no LLDP data* (the device was not polled, did not answer, or LLDP sees nobody on that
port). Names are compared without case, sysNames also without their domain.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from collectors.snmp.params import SnmpParams
from netmon.api import Registry, TargetRef
from netmon.inventory import Inventory, Link, LinkEnd

PROFILES = ("system", "lldp")


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One row of a device's lldpRemTable, as the lldp profile labels it."""

    ifname: str
    sysname: str
    port: str
    chassis: str


@dataclass(frozen=True, slots=True)
class Seen:
    """What one poll of a device's LLDP gave; ``error`` set when it gave nothing."""

    sys_name: str = ""
    neighbours: tuple[Neighbour, ...] = ()
    error: str | None = None


class Status(StrEnum):
    CONFIRMED = "confirmed"
    MISMATCH = "mismatch"
    NO_DATA = "no LLDP data"


@dataclass(frozen=True, slots=True)
class Verdict:
    link: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{self.link}: {self.status}: {self.detail}"


def seen_from(samples: Iterable[tuple[str, Mapping[str, str]]]) -> Seen:
    """The neighbours and sysName among one poll's samples (name, labels)."""
    sys_name = ""
    neighbours: list[Neighbour] = []
    for name, labels in samples:
        if name == "netmon_device_info":
            sys_name = labels.get("sys_name", "")
        elif name == "netmon_lldp_neighbor_info":
            neighbours.append(
                Neighbour(
                    labels.get("ifname", ""),
                    labels.get("neighbor_sysname", ""),
                    labels.get("neighbor_port", ""),
                    labels.get("neighbor_chassis", ""),
                )
            )
    return Seen(sys_name, tuple(neighbours))


async def poll_lldp(
    inventory: Inventory, registry: Registry, deadline: float = 20.0
) -> dict[str, Seen]:
    """Poll LLDP once on every device that ends a link and has SNMP settings."""
    wanted = sorted({end.device for link in inventory.links.values() for end in (link.a, link.b)})
    snmp = registry.collector_factory("snmp")({})

    async def one(device_id: str) -> tuple[str, Seen]:
        device = inventory.devices[device_id]
        settings = device.settings("snmp")
        if not isinstance(settings, SnmpParams):
            return device_id, Seen(error="no SNMP settings")
        params = dataclasses.replace(
            settings, profiles=PROFILES, specs=(), detect_from=None, interval=deadline
        )
        target = TargetRef(site=device.site, device=device_id, collector="snmp")
        snapshot = await snmp.poll(target, params, deadline=deadline)
        if snapshot.error is not None:
            return device_id, Seen(error=snapshot.error)
        samples = ((s.name, dict(s.labels)) for p in snapshot.parts for s in p.samples)
        return device_id, seen_from(samples)

    return dict(await asyncio.gather(*(one(d) for d in wanted)))


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _names(device: str, seen: Seen | None) -> set[str]:
    names = {device.casefold()}
    if seen is not None and seen.sys_name:
        names |= {seen.sys_name.casefold(), seen.sys_name.split(".")[0].casefold()}
    return names


def _end_verdict(end: LinkEnd, other: LinkEnd, seen: Mapping[str, Seen]) -> tuple[Status, str]:
    here = seen.get(end.device)
    where = f"{end.site}/{end.device}:{end.ifname}"
    if here is None or here.error is not None:
        why = "not polled" if here is None else here.error
        return Status.NO_DATA, f"{where}: {why}"
    rows = [n for n in here.neighbours if _same(n.ifname, end.ifname)]
    if not rows:
        return Status.NO_DATA, f"{where}: LLDP sees no neighbour on this port"
    expected = _names(other.device, seen.get(other.device))
    for row in rows:
        name_ok = row.sysname.casefold() in expected or (
            row.sysname.split(".")[0].casefold() in expected
        )
        if name_ok and _same(row.port, other.ifname):
            return Status.CONFIRMED, f"{where} sees {row.sysname} {row.port}"
    found = ", ".join(f"{r.sysname or r.chassis} {r.port}" for r in rows)
    return (
        Status.MISMATCH,
        f"{where} sees {found}; the inventory says {other.device}:{other.ifname}",
    )


def judge(link: Link, seen: Mapping[str, Seen]) -> Verdict:
    """One link: a mismatch at either end wins, then a confirmation, else no data."""
    ends = [_end_verdict(link.a, link.b, seen), _end_verdict(link.b, link.a, seen)]
    for status in (Status.MISMATCH, Status.CONFIRMED):
        details = [d for s, d in ends if s is status]
        if details:
            return Verdict(link.id, status, "; ".join(details))
    return Verdict(link.id, Status.NO_DATA, "; ".join(d for _, d in ends))


def check_links(inventory: Inventory, seen: Mapping[str, Seen]) -> list[Verdict]:
    return [judge(link, seen) for _, link in sorted(inventory.links.items())]


async def lldp_check(
    inventory: Inventory, registry: Registry, deadline: float = 20.0
) -> list[Verdict]:
    """Poll the link ends' devices once and judge every link of the inventory."""
    return check_links(inventory, await poll_lldp(inventory, registry, deadline))
