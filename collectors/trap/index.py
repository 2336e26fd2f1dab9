"""Which device a trap comes from: by the SNMPv3 engine id it carries first (the
device's ``trap_engine_id``), by its source address last (NAT and duplicate default
addresses exist).

Built from the directory when the inventory changes, not a scan of every device per
trap (floods). The device's SNMP poll is the target a trap asks to poll now and names
interfaces by.
"""

from __future__ import annotations

from netmon.api import Directory, TargetRef

#: the collector whose target a trap's device is polled by
POLLED_BY = "snmp"
#: the closed intranet: a trap from its devices counts only if sent with SNMPv3 authPriv
INTRANET = "intranet"


class TrapIndex:
    def __init__(self, directory: Directory | None = None) -> None:
        self.by_engine: dict[str, TargetRef] = {}
        self.by_address: dict[str, TargetRef] = {}
        #: devices on the closed intranet: their traps count only with SNMPv3 authPriv
        self.intranet: set[TargetRef] = set()
        if directory is None:
            return
        for device in directory.devices():
            ref = TargetRef(device.site, device.id, POLLED_BY)
            if device.network == INTRANET:
                self.intranet.add(ref)
            engine_id = getattr(device.polls.get(POLLED_BY), "engine_id", None)
            if engine_id:
                self.by_engine.setdefault(engine_id, ref)
            self.by_address.setdefault(device.address, ref)

    def device_for(self, address: str, engine_id: str | None = None) -> TargetRef | None:
        """The SNMP target of the device with this v3 engine id, else this address."""
        if engine_id and engine_id.lower() in self.by_engine:
            return self.by_engine[engine_id.lower()]
        return self.by_address.get(address)
