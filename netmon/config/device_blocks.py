"""The keys of device entries (and of ``defaults:``) that collector kinds own.

A collector kind listed as a :class:`netmon.api.DeviceKind` in the registry owns keys
of a device entry: a block of its own (``service:``) or a set of keys (SNMP's
``profiles``, ``port``, ``snmp``, ``trap_engine_id``), and may own a section of
``defaults:`` and of each ``defaults.by_uplink_kind.<kind>:`` (``snmp``). The core's
models do not know these keys: they are taken out before the rest is validated, and
each kind's part is validated with its own model at its own path, so its errors point
at file:line:col like every other.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from netmon.config.yamlmarks import MarkedDoc, PathKey

#: (site index, device index) -> key -> the value as written, for every device entry
RawBlocks = dict[tuple[int, int], dict[str, Any]]


def split(doc: MarkedDoc, block_keys: Collection[str]) -> tuple[MarkedDoc, RawBlocks]:
    """The document without the kinds' keys (``block_keys``), and those keys by device
    (an empty dict for a device entry that has none of them)."""
    keys = set(block_keys)
    data = doc.data
    sites = data.get("sites") if isinstance(data, dict) else None
    if not isinstance(sites, list):
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
            if isinstance(device, dict):
                found[(si, di)] = {k: v for k, v in device.items() if k in keys}
                device = {k: v for k, v in device.items() if k not in keys}
            new_devices.append(device)
        new_sites.append({**site, "devices": new_devices})
    stripped = MarkedDoc(doc.file, {**data, "sites": new_sites}, doc.marks, doc.key_marks)
    return stripped, found


#: the groups of ``defaults:`` whose entries may carry the kinds' sections too
LAYERED = ("by_uplink_kind", "by_network")


def split_defaults(
    doc: MarkedDoc, sections: Collection[str]
) -> tuple[MarkedDoc, dict[PathKey, Any]]:
    """netmon.yaml without the kinds' sections of ``defaults:`` and of each entry of
    ``defaults.by_uplink_kind`` and ``defaults.by_network``, and those sections by path."""
    data = doc.data
    defaults = data.get("defaults") if isinstance(data, dict) else None
    if not sections or not isinstance(defaults, dict):
        return doc, {}
    found: dict[PathKey, Any] = {}
    new_defaults = {k: v for k, v in defaults.items() if k not in sections}
    found.update({("defaults", k): v for k, v in defaults.items() if k in sections})
    for group in LAYERED:
        by_kind = defaults.get(group)
        if not isinstance(by_kind, dict):
            continue
        new_by_kind: dict[Any, Any] = {}
        for kind, entry in by_kind.items():
            if isinstance(entry, dict):
                path: PathKey = ("defaults", group, kind)
                found.update({(*path, k): v for k, v in entry.items() if k in sections})
                entry = {k: v for k, v in entry.items() if k not in sections}
            new_by_kind[kind] = entry
        new_defaults[group] = new_by_kind
    stripped = MarkedDoc(doc.file, {**data, "defaults": new_defaults}, doc.marks, doc.key_marks)
    return stripped, found


def without(doc: MarkedDoc, keys: Collection[str]) -> MarkedDoc:
    """netmon.yaml without the streaming collectors' sections (validated by their own
    models, see the loader)."""
    data = doc.data
    if not isinstance(data, dict) or not set(keys) & set(data):
        return doc
    kept = {k: v for k, v in data.items() if k not in keys}
    return MarkedDoc(doc.file, kept, doc.marks, doc.key_marks)
