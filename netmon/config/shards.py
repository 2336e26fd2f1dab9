"""Sharding: several netmon instances share a province, whole kabupaten each.

An instance picks its shard by name, by index, or by a StatefulSet pod name that ends
in ``-<index>`` (``netmon-1``), from NETMON_SHARD or ``netmon run --shard``. It keeps
the sites of its kabupaten (owned, exported) and every site above them on an uplink
path (read-only: polled so that "unreachable behind a failed uplink" can be decided
here, never exported, so each site's series come from exactly one shard).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from netmon.config.models import MainConfig, ShardConfig
from netmon.config.yamlmarks import ConfigError, MarkedDoc
from netmon.inventory import Inventory


def check(main: MainConfig, doc: MarkedDoc, inventory: Inventory) -> list[ConfigError]:
    """Every kabupaten in exactly one shard (models check "at most one")."""
    if not main.shards:
        return []
    errors = []
    known = {site.kabupaten for site in inventory.sites.values()}
    covered: set[str] = set()
    for si, shard in enumerate(main.shards):
        for ki, kab in enumerate(shard.kabupaten):
            covered.add(kab)
            if kab not in known:
                path = ("shards", si, "kabupaten", ki)
                errors.append(doc.error(path, f"no site file names kabupaten {kab!r}"))
    for kab in sorted(known - covered):
        errors.append(doc.error(("shards",), f"kabupaten {kab!r} is in no shard: unmonitored"))
    return errors


def pick(shards: list[ShardConfig], wanted: str) -> ShardConfig | None:
    """By name, else by 0-based index, else by a pod name's trailing ``-<index>``."""
    for shard in shards:
        if shard.name == wanted:
            return shard
    match = re.fullmatch(r"(?:.*-)?(\d+)", wanted)
    if match is not None and int(match.group(1)) < len(shards):
        return shards[int(match.group(1))]
    return None


def unknown(shards: list[ShardConfig], wanted: str) -> str:
    """The error when ``wanted`` names no shard."""
    names = ", ".join(s.name for s in shards) or "none configured"
    return f"NETMON_SHARD={wanted!r} names no shard (shards: {names})"


def select(inventory: Inventory, shard: ShardConfig) -> Inventory:
    """This shard's part of the inventory: its own sites and, read-only, their ancestors."""
    mine = set(shard.kabupaten)
    owned = {sid for sid, site in inventory.sites.items() if site.kabupaten in mine}
    keep = set(owned)
    for sid in owned:
        keep.update(inventory.ancestors(sid))
    return dataclasses.replace(
        inventory,
        sites={sid: s for sid, s in inventory.sites.items() if sid in keep},
        devices={did: d for did, d in inventory.devices.items() if d.site in keep},
        links={
            lid: link
            for lid, link in inventory.links.items()
            if link.a.site in keep and link.b.site in keep
        },
        shard=shard.name,
        owned=frozenset(owned),
        elsewhere=frozenset(set(inventory.sites) - keep),
    )


def for_shard(sections: dict[str, Any], shard: ShardConfig) -> dict[str, Any]:
    """Streaming sections as this shard runs them. A broker keeps one session per client
    id: every shard gets its own (``-<shard>`` appended), else the shards would throw
    each other off the broker in turn; and a section that can be narrowed to the shard's
    topics (``narrow``) is, from the shard's ``mqtt_topics``."""
    out = dict(sections)
    for name, section in sections.items():
        if not hasattr(section, "model_copy"):
            continue
        update: dict[str, Any] = {}
        client_id = getattr(section, "client_id", None)
        if isinstance(client_id, str):
            update["client_id"] = f"{client_id}-{shard.name}"
        if hasattr(section, "narrow") and shard.mqtt_topics:
            update["narrow"] = shard.mqtt_topics
        out[name] = section.model_copy(update=update)
    return out
