"""The daemon's answers to streaming collectors (netmon.api.Directory): which sites
and devices the current config has, which device a trap comes from, a poll now, an
interface's name."""

from __future__ import annotations

from collections.abc import Callable

from netmon.api import TargetRef
from netmon.inventory import Inventory
from netmon.store import Store
from netmon.trap_index import TrapIndex


class InventoryDirectory:
    """A Directory over the current inventory; ``set_inventory`` on every load."""

    def __init__(self, store: Store, poll_now: Callable[[str], bool]) -> None:
        self.store = store
        self._poll_now = poll_now
        self.inventory: Inventory | None = None
        self.traps = TrapIndex()

    def set_inventory(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.traps = TrapIndex(inventory)

    def site_exists(self, site: str) -> bool:
        return self.inventory is not None and site in self.inventory.sites

    def site_elsewhere(self, site: str) -> bool:
        return self.inventory is not None and site in self.inventory.elsewhere

    def device_exists(self, site: str, device: str) -> bool:
        if self.inventory is None:
            return False
        found = self.inventory.devices.get(device)
        return found is not None and found.site == site

    def device_for(self, address: str, engine_id: str | None = None) -> TargetRef | None:
        return self.traps.device_for(address, engine_id)

    def poll_now(self, key: str) -> bool:
        return self._poll_now(key)

    def ifname(self, key: str, ifindex: str) -> str | None:
        info = self.store.sample(key, "netmon_interface_info", ifindex=ifindex)
        return None if info is None else dict(info.labels).get("ifname")
