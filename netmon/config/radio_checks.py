"""Checks of the devices' radio MACs (``radio_mac``) across every site file.

A device's ``radio_mac`` is how the device at the other end of its ``kind: radio`` link
finds it in its station table (netmon.config.devices.radio_peers): the same MAC on two
devices would give one station two peer ids, so it is an error. A radio link whose far
end has no ``radio_mac`` is not warned about: per-peer series are optional, and most of
a province's links (the example's 14) would warn on every check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from netmon.config.topology import Placed
from netmon.config.yamlmarks import ConfigError, PathKey, Position

#: device id -> how its station tables find a radio-link peer in their rows ("mac": by
#: the peer's radio_mac, "ip": by its address); None when not known at load time (SNMP
#: profiles left out are detected at the first poll: which station tables it will read
#: is unknown until then, so no warning can be given for it)
PeerForms = Callable[[str], frozenset[str] | None]


def _devices(placed: Mapping[str, Placed]) -> Iterable[tuple[Placed, PathKey, str, str | None]]:
    """Each device once, in load order: (its site, its path in the site, id, radio_mac).
    A repeated device id is an error of its own (the loader's), so only the first counts."""
    seen: set[str] = set()
    for here in placed.values():
        for di, dev in enumerate(here.site.devices):
            if dev.id not in seen:
                seen.add(dev.id)
                yield here, ("devices", di), dev.id, dev.radio_mac


def duplicate_macs(placed: Mapping[str, Placed]) -> list[ConfigError]:
    """Errors: a ``radio_mac`` that an earlier device has already (in any site file), at
    the later one, naming the first and where it is. MACs compare as validated (lower
    case, colons), so 68-72-51-00-34-25 repeats 68:72:51:00:34:25."""
    first: dict[str, tuple[str, Position]] = {}
    out: list[ConfigError] = []
    for here, path, device, mac in _devices(placed):
        if mac is None:
            continue
        at: PathKey = (*path, "radio_mac")
        if mac in first:
            other, where = first[mac]
            message = f"duplicate radio_mac {mac} (first on device {other!r} at {where})"
            out.append(here.error(at, message))
        else:
            first[mac] = (device, here.doc.position((*here.path, *at)))
    return out
