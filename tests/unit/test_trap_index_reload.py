"""After the inventory changes, traps map to its devices: the trap index is built again
at the first trap after ``sites_changed`` (not in a reload's swap)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from netmon.api import DeviceView
from tests import snmp_ber as ber
from tests.fuzz import trap_target as tt


class Renamed(tt.Directory):
    """The one device at 127.0.0.1, under a name a reload may change; the keys asked to
    poll now, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "dev-1"
        self.asked: list[str] = []

    def device_exists(self, site: str, device: str) -> bool:
        return (site, device) == ("fuzz", self.name)

    def devices(self) -> Iterator[DeviceView]:
        polls: Mapping[str, Any] = {"snmp": None}
        return iter([DeviceView("fuzz", self.name, "127.0.0.1", polls)])

    def poll_now(self, key: str) -> bool:
        self.asked.append(key)
        return True


def link_down() -> bytes:
    binds = (
        (tt.UPTIME, ber.Var(ber.TIMETICKS, 100)),
        (tt.TRAP_OID, ber.Var(ber.OID, tt.LINK_DOWN)),
        (tt.READ[0], ber.Var(ber.INTEGER, 3)),
    )
    message = ber.Message(
        community=tt.COMMUNITY, pdu=tt.TRAP_V2, request_id=7, a=0, b=0, varbinds=binds
    )
    return ber.encode(message)


def test_a_trap_after_the_inventory_changed_maps_to_the_new_device() -> None:
    receiver = tt.Receiver()
    directory = Renamed()
    receiver.collector.directory = directory
    try:
        receiver.collector.sites_changed()
        receiver.feed([link_down()])
        directory.name = "dev-2"  # a reload renamed the device at that address
        receiver.feed([link_down()])  # no sites_changed yet: the index of the old inventory
        receiver.collector.sites_changed()
        receiver.feed([link_down()])
        assert directory.asked == ["snmp:fuzz/dev-1", "snmp:fuzz/dev-1", "snmp:fuzz/dev-2"]
        assert receiver.errors == []
    finally:
        receiver.close()
