"""The site files as admins write them (config/sites/*.yaml): sites, devices, links.

Strict and frozen like the rest of the configuration (netmon/config/models.py holds
netmon.yaml's models): unknown keys are errors, secrets are references.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from netmon.config.models import LinkKind, Network
from netmon.config.power_cuts import PowerCutConfig
from netmon.schema import Duration, Id, Strict


class SiteKind(StrEnum):
    village_office = "village_office"
    puskesmas = "puskesmas"
    school = "school"
    public_area = "public_area"
    gov_office = "gov_office"
    pop = "pop"
    noc = "noc"
    isp = "isp"
    #: a public CCTV point (Pemantauan Layanan Publik): cameras watched by service checks
    cctv = "cctv"


class Location(Strict):
    """Where the site is (WGS 84), for the map in alerts and the status page."""

    lat: float = Field(ge=-90, le=90)
    """latitude in decimal degrees (south is negative)"""
    lon: float = Field(ge=-180, le=180)
    """longitude in decimal degrees (east is positive)"""


class Contact(Strict):
    """The person technicians call about the site (shown in alerts)."""

    name: str
    """name and role of the contact person"""
    phone: str | None = None
    """phone number, with the country code"""


class Isp(Strict):
    """The site's provider and circuit (shown in alerts)."""

    name: str
    """the provider's name"""
    circuit_id: str | None = None
    """the provider's circuit id, to quote when reporting a fault"""


class DeviceConfig(Strict):
    """A device netmon watches. Its collector kinds' keys (SNMP's ``profiles``,
    ``icmp``, ``service``, ...) are validated by each kind's own model."""

    id: Id
    """unique across all site files; the device label of its series"""
    address: str
    """IP address (IPv4 or IPv6) it is polled at"""
    interval: Duration | None = None
    """poll period of this device (instead of its uplink kind's or defaults.interval)"""
    deadline: Duration | None = None
    """time limit of one whole poll of this device"""
    radio_mac: str | None = None
    """MAC address of its radio as the other end of a radio link lists it in its station
    (registration) table, e.g. 68:72:51:00:34:25: the device at the other end of one of its
    `kind: radio` links then exports this device's readings as series of their own
    (label peer=<this id>; the MAC is never a label). Without it, no per-peer series: other
    stations are counted and summarised (min, median), never one by one
    """

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            msg = f"not an IP address: {value!r}"
            raise ValueError(msg) from None
        return value

    @field_validator("radio_mac", mode="before")
    @classmethod
    def _mac(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads 12:34:56:00:11:22 (every group below 60) as a base-60 number
            msg = 'a MAC address read as a number: write it in quotes, "aa:bb:cc:dd:ee:ff"'
            raise ValueError(msg)
        if not isinstance(value, str):
            return value
        if not _MAC.match(value.strip()):
            msg = f"not a MAC address (aa:bb:cc:dd:ee:ff): {value!r}"
            raise ValueError(msg)
        digits = re.sub(r"[:.-]", "", value.strip().lower())
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


class SiteConfig(Strict):
    """A site: one place and its devices."""

    id: Id
    """unique across all site files; the site label of every series"""
    name: str = Field(min_length=1)
    """full name, as alerts and the status page show it"""
    kind: SiteKind
    """what the site is; isp: a provider as a pseudo-site with its own probe targets"""
    kecamatan: str | None = None
    """the district (kecamatan), shown in alerts"""
    network: Network = Network.public
    """public internet access or the closed government intranet"""
    location: Location | None = None
    uplinks: list[Id] = Field(default_factory=list)
    """sites this site's traffic goes through, primary first (none for the NOC); any working
    path keeps it reachable, on a backup path it is degraded
    """
    uplink: Id | None = None
    """a single uplink, instead of uplinks (not both)"""
    contact: Contact | None = None
    isp: Isp | None = None
    maintenance: bool = False
    """in maintenance: no site alerts, and left out of the SLA figures"""
    devices: list[DeviceConfig] = Field(default_factory=list)
    """the devices netmon polls or probes at this site"""

    @model_validator(mode="after")
    def _one_uplink_form(self) -> SiteConfig:
        if self.uplink is not None and self.uplinks:
            msg = "give uplink (one parent) or uplinks (a list), not both"
            raise ValueError(msg)
        return self

    @property
    def parents(self) -> tuple[str, ...]:
        return (self.uplink,) if self.uplink else tuple(self.uplinks)


# aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff
_MAC = re.compile(
    r"^([0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\2[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})$"
)

# ifnames may hold spaces and slashes: Huawei calls a port "GPON 0/1/0"
_ENDPOINT = re.compile(r"^([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*):(\S.*)$")


class LinkConfig(Strict):
    """A link between two devices' interfaces; the sites may be in different files."""

    id: Id
    """unique across all site files; the link label of netmon_link_info"""
    kind: LinkKind
    """the medium; a site's uplink kind is the kind of the link to its first uplink"""
    a: str
    """one end, written site/device:ifname with the interface name as the device reports it
    (spaces and slashes allowed: pop-a/olt-a:GPON 0/1/0)
    """
    b: str
    """the other end, written like a"""

    @field_validator("a", "b")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not _ENDPOINT.match(value):
            msg = f"endpoint must be site/device:ifname, got {value!r}"
            raise ValueError(msg)
        return value

    @staticmethod
    def split(endpoint: str) -> tuple[str, str, str]:
        match = _ENDPOINT.match(endpoint)
        assert match is not None  # validated above
        return match.group(1), match.group(2), match.group(3)


class SiteFile(Strict):
    """config/sites/<kabupaten>.yaml"""

    kabupaten: str = Field(min_length=1, max_length=100)
    """the kabupaten or kota, shown in alerts (the kabupaten label); spaces around it are
    dropped (the status page's filter and Grafana's variable match it exactly)
    """
    timezone: Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"] = "Asia/Makassar"
    """local time of these sites in alerts and for SLA days: Asia/Jakarta is WIB (UTC+7),
    Asia/Makassar WITA (UTC+8), Asia/Jayapura WIT (UTC+9)
    """
    sites: list[SiteConfig] = Field(default_factory=list)
    """the sites of this kabupaten or kota"""
    links: list[LinkConfig] = Field(default_factory=list)
    """links between devices; one end may be a site of another file"""
    power_cuts: list[PowerCutConfig] = Field(default_factory=list)
    """PLN's announced power cuts for these sites: left out of the SLA figures"""

    @field_validator("kabupaten", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value
