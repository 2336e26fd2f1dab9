"""Per-peer series of station tables, for the backhaul peers the inventory names only.

DESIGN (privacy and cardinality): no per-client series on public access points (phone
MACs are personal data): clients as counts and signal min/median; per-peer series only
for backhaul peers named in the inventory. A table with ``peers:`` says how a row names
its station (the MAC in its index, or an address column). A row whose station is one of
the device's radio-link peers (the far ends of its ``kind: radio`` links, by their
``radio_mac`` or address: :func:`keys`) gives the table's ``per_peer`` metrics, labelled
``peer=<device id>``; any other row gives none. The MAC never becomes a label.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from collectors.snmp.plan import MetricPlan, Value
from collectors.snmp.profile import PEER_LABEL, IndexPart, PeerMatch
from collectors.snmp.rowstate import RowValues
from netmon.api import Labels, Sample

_HEX12 = re.compile(r"[0-9a-f]{12}")
_GROUPS = re.compile(r"[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){5}")


def _octets(text: str, count: int) -> bytes | None:
    """An index part of ``count`` decimal arcs (a MAC's 6, an IPv4 address's 4) as bytes."""
    arcs = text.split(".")
    if len(arcs) != count or not all(a.isdigit() and int(a) < 256 for a in arcs):
        return None
    return bytes(int(a) for a in arcs)


def _text(value: Value) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii").strip()
        except UnicodeDecodeError:
            return None
    return value.strip() if isinstance(value, str) else None


def mac_key(value: Value) -> str | None:
    """``mac:aa:bb:cc:dd:ee:ff`` of a MacAddress (6 bytes), an index part (6 arcs) or a MAC
    written as text (colons, dashes, dots or none); None for anything else."""
    if isinstance(value, bytes) and len(value) == 6:
        return "mac:" + value.hex(":")
    text = _text(value)
    if text is None:
        return None
    raw = _octets(text, 6)
    if raw is not None:
        return "mac:" + raw.hex(":")
    text = text.lower()
    if _GROUPS.fullmatch(text):  # 0:27:10:32:ed:60 (leading zeros left out)
        return "mac:" + ":".join(g.zfill(2) for g in re.split("[:-]", text))
    digits = text.replace(".", "")
    if _HEX12.fullmatch(digits):
        return "mac:" + ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None


def ip_key(value: Value) -> str | None:
    """``ip:<address>`` of an IpAddress, an index part (4 or 16 arcs) or an address as
    text; None for anything else."""
    if isinstance(value, bytes) and len(value) in (4, 16):
        return f"ip:{ipaddress.ip_address(value)}"
    text = _text(value)
    if text is None:
        return None
    raw = _octets(text, 16)
    try:
        return f"ip:{ipaddress.ip_address(raw if raw is not None else text)}"
    except ValueError:
        return None


def keys(device: str, address: str, mac: str | None) -> list[tuple[str, str]]:
    """The keys one inventory peer is found by: its radio MAC, if given, and its address."""
    found = [mac_key(mac) if mac else None, ip_key(address)]
    return [(key, device) for key in found if key is not None]


def unambiguous(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Key -> device id, without the keys of two different devices: two peers behind one
    address (NAT, a shared management address) give one ``ip:`` key, and a row found by it
    could be either, so it is found by neither (a MAC key is unique: the inventory allows
    one radio_mac per device)."""
    out: dict[str, str] = {}
    clashes: set[str] = set()
    for key, device in pairs:
        if out.setdefault(key, device) != device:
            clashes.add(key)
    return {key: device for key, device in out.items() if key not in clashes}


def _part(index: str, lengths: list[int | None], wanted: int) -> str:
    """Part number ``wanted`` of an instance index (the rows here were split once already)."""
    arcs = index.split(".")
    pos = 0
    for number, length in enumerate(lengths):
        end = len(arcs) if length is None else pos + length
        if number == wanted:
            return ".".join(arcs[pos:end])
        pos = end
    return ""


class PeerRule:
    """A table's ``peers:`` and its ``per_peer`` metrics, compiled."""

    __slots__ = ("column", "key_of", "lengths", "part", "plans")

    def __init__(self, spec: PeerMatch, index: list[IndexPart], plans: list[MetricPlan]) -> None:
        self.column = spec.column()
        names = [p.name for p in index]
        self.part = names.index(spec.match[7:]) if spec.match.startswith("@index.") else None
        self.lengths = [p.length for p in index]
        self.key_of = mac_key if spec.as_ == "mac" else ip_key
        self.plans = plans

    def key(self, row: Mapping[str, Value], index: str) -> str | None:
        """The row's station as a key of :func:`keys`."""
        if self.column is not None:
            value = row.get(self.column)
        else:
            value = index if self.part is None else _part(index, self.lengths, self.part)
        return None if value is None else self.key_of(value)

    def labels(
        self, peers: Mapping[str, str], rowstate: RowValues, labels: Labels
    ) -> Labels | None:
        """The loaded row's labels (``labels``, without ``peer``) with ``peer=<device id>``;
        None when its station is not a peer of the device."""
        key = self.key(rowstate.row, rowstate.index)
        peer = peers.get(key) if key is not None else None
        return None if peer is None else (*labels, (PEER_LABEL, peer))

    def samples(
        self, labels: Labels, rowstate: RowValues, dropped: Counter[str], seen: set[Labels]
    ) -> list[Sample]:
        """The loaded row's per-peer samples (``labels``: :meth:`labels`); none when they
        were given already (``seen``: a peer matched on two rows by its address gives one
        series)."""
        if labels in seen:
            return []
        seen.add(labels)
        out: list[Sample] = []
        for plan in self.plans:
            if plan.where and not plan.accepts(rowstate.row):
                continue
            value = rowstate.value(plan, dropped)
            if value is not None:
                out.append(Sample(plan.name, labels + plan.fixed, value))
        return out
