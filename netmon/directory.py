"""The daemon's answers to streaming collectors (netmon.api.Directory): which sites
and devices the current config has, a poll now, an interface's name."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from netmon.api import DeviceView
from netmon.inventory import Inventory
from netmon.store import Store


class InventoryDirectory:
    """A Directory over the current inventory; ``set_inventory`` on every load."""

    def __init__(self, store: Store, poll_now: Callable[[str], bool]) -> None:
        self.store = store
        self._poll_now = poll_now
        self.inventory: Inventory | None = None

    def set_inventory(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def site_exists(self, site: str) -> bool:
        return self.inventory is not None and site in self.inventory.sites

    def site_elsewhere(self, site: str) -> bool:
        return self.inventory is not None and site in self.inventory.elsewhere

    def device_exists(self, site: str, device: str) -> bool:
        if self.inventory is None:
            return False
        found = self.inventory.devices.get(device)
        return found is not None and found.site == site

    def devices(self) -> Iterator[DeviceView]:
        if self.inventory is None:
            return
        sites = self.inventory.sites
        for device in self.inventory.devices.values():
            network = sites[device.site].network if device.site in sites else "public"
            yield DeviceView(device.site, device.id, device.address, dict(device.polls), network)

    def poll_now(self, key: str) -> bool:
        return self._poll_now(key)

    def ifname(self, key: str, ifindex: str) -> str | None:
        info = self.store.sample(key, "netmon_interface_info", ifindex=ifindex)
        return None if info is None else dict(info.labels).get("ifname")
