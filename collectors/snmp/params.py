"""What the SNMP collector needs to poll one device: built from a device's settings by
:func:`collectors.snmp.device.build` (or by `netmon poll` from its flags)."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.snmp.profile import Profile
from netmon.api import Secret


@dataclass(frozen=True, slots=True)
class V3User:
    """SNMPv3 USM user with resolved keys; keys never print (see Secret)."""

    name: str
    auth_protocol: str | None = None  # md5, sha1, sha224, sha256, sha384, sha512
    auth_key: Secret | None = None
    priv_protocol: str | None = None  # des, aes128, aes192, aes256
    priv_key: Secret | None = None


@dataclass(frozen=True, slots=True)
class SnmpParams:
    """Everything the SNMP collector needs to poll one device."""

    address: str
    port: int = 161
    version: str = "2c"  # "1" | "2c" | "3"
    community: Secret | None = None
    user: V3User | None = None
    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    profiles: tuple[str, ...] = ("system", "if_mib")
    interval: float = 60.0
    max_varbinds: int = 100_000
    max_label_values: int = 4096
    #: the SNMPv3 engine id its traps carry (lower-case hex), to map them behind NAT
    engine_id: str | None = None
    #: polled without SNMPv3 privacy on the closed intranet, by an explicit override
    insecure: bool = False
    #: the profiles themselves, as the load found them (a user's folder or built-in);
    #: empty: looked up by name among the built-in ones
    specs: tuple[Profile, ...] = ()
    #: the device names no profiles: the collector adds to ``profiles`` (the base ones)
    #: those of these whose ``detect:`` rules match it (collectors.snmp.detect); None: no
    #: detection
    detect_from: tuple[Profile, ...] | None = None
    #: the device's backhaul peers named in the inventory (the far ends of its radio
    #: links): (key, peer device id), key ``mac:<radio_mac>`` or ``ip:<address>``
    #: (collectors.snmp.peers.keys); station table rows of these give per-peer series
    peers: tuple[tuple[str, str], ...] = ()
