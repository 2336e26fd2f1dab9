"""Per-device blocks of collector kinds that bring their own settings model.

A collector kind listed as a :class:`netmon.api.DeviceKind` in the registry is
configured by a block of its own in a device entry (``service:`` for the service
probes). The
site file's model does not know these keys: they are taken out before it is
validated, and each block is validated with its kind's model at its own path,
so its errors point at file:line:col like every other.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from netmon.config.yamlmarks import MarkedDoc

#: (site index, device index) -> block key -> the block as written
RawBlocks = dict[tuple[int, int], dict[str, Any]]


def split(doc: MarkedDoc, block_keys: Collection[str]) -> tuple[MarkedDoc, RawBlocks]:
    """The document without the registered device blocks (``block_keys``: the keys of
    the registry's device kinds), and those blocks by device."""
    keys = set(block_keys)
    data = doc.data
    sites = data.get("sites") if isinstance(data, dict) else None
    if not keys or not isinstance(sites, list):
        return doc, {}
    found: RawBlocks = {}
    new_sites: list[Any] = []
    for si, site in enumerate(sites):
        devices = site.get("devices") if isinstance(site, dict) else None
        if not isinstance(devices, list):
            new_sites.append(site)
            continue
        new_devices: list[Any] = []
        for di, device in enumerate(devices):
            if isinstance(device, dict) and keys & set(device):
                found[(si, di)] = {k: v for k, v in device.items() if k in keys}
                device = {k: v for k, v in device.items() if k not in keys}
            new_devices.append(device)
        new_sites.append({**site, "devices": new_devices})
    stripped = MarkedDoc(doc.file, {**data, "sites": new_sites}, doc.marks, doc.key_marks)
    return stripped, found
