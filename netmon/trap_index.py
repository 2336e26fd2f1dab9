"""Which device a trap comes from: by the v3 engine id it carries first, by its
source address last (NAT and duplicate default addresses exist).

Built once per config load rather than a scan of every device per trap (floods).
"""

from __future__ import annotations

from netmon.api import TargetRef
from netmon.inventory import Inventory


class TrapIndex:
    def __init__(self, inventory: Inventory | None = None) -> None:
        self.by_engine: dict[str, TargetRef] = {}
        self.by_address: dict[str, TargetRef] = {}
        if inventory is None:
            return
        for device in inventory.devices.values():
            ref = TargetRef(device.site, device.id, "snmp")
            if device.trap_engine_id:
                self.by_engine.setdefault(device.trap_engine_id, ref)
            self.by_address.setdefault(device.snmp.address, ref)

    def device_for(self, address: str, engine_id: str | None = None) -> TargetRef | None:
        """The SNMP target of the device with this v3 engine id, else this address."""
        if engine_id and engine_id.lower() in self.by_engine:
            return self.by_engine[engine_id.lower()]
        return self.by_address.get(address)
