"""The configuration as admins write it: strict, frozen pydantic models.

Unknown keys are errors (a typo must not silently become a default), secrets
are references (``{env: NAME}`` or ``{file: path}``), never literals, so a
community string does not end up in git.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from netmon.schema import Delay, Duration, Id, SecretRef, Strict


class AuthProtocol(StrEnum):
    md5 = "md5"
    sha1 = "sha1"
    sha224 = "sha224"
    sha256 = "sha256"
    sha384 = "sha384"
    sha512 = "sha512"


class PrivProtocol(StrEnum):
    des = "des"
    aes128 = "aes128"
    aes192 = "aes192"
    aes256 = "aes256"


class V3Auth(Strict):
    protocol: AuthProtocol = AuthProtocol.sha256
    key: SecretRef


class V3Priv(Strict):
    protocol: PrivProtocol = PrivProtocol.aes128
    key: SecretRef


class V3UserConfig(Strict):
    name: str = Field(min_length=1, max_length=32)
    auth: V3Auth | None = None
    priv: V3Priv | None = None

    @model_validator(mode="after")
    def _priv_needs_auth(self) -> V3UserConfig:
        if self.priv is not None and self.auth is None:
            msg = "priv needs auth (SNMPv3 has no noAuthPriv)"
            raise ValueError(msg)
        return self


SnmpVersionName = Literal["1", "2c", "3"]


def _version_text(value: Any) -> Any:
    # YAML reads `version: 3` as an int and `version: 2c` as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SnmpOverrides(Strict):
    """Per-device SNMP settings; anything left out comes from the defaults."""

    version: Annotated[SnmpVersionName | None, BeforeValidator(_version_text)] = None
    community: SecretRef | None = None
    user: V3UserConfig | None = None
    timeout: Duration | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    max_repetitions: int | None = Field(default=None, ge=1, le=200)


class SnmpDefaults(Strict):
    version: Annotated[SnmpVersionName, BeforeValidator(_version_text)] = "2c"
    community: SecretRef | None = None
    user: V3UserConfig | None = None
    port: int = Field(default=161, ge=1, le=65535)
    timeout: Duration = 2.0
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200)


class LinkKind(StrEnum):
    fiber = "fiber"
    radio = "radio"
    vsat = "vsat"
    isp = "isp"
    copper = "copper"


class KindDefaults(Strict):
    """Settings for every device whose site hangs off a link of this kind (e.g. vsat)."""

    interval: Duration | None = None
    deadline: Duration | None = None
    snmp: SnmpOverrides = SnmpOverrides()


class Defaults(Strict):
    interval: Duration = 60.0
    deadline: Duration = 30.0
    snmp: SnmpDefaults = SnmpDefaults()
    #: e.g. vsat: {interval: 5m, deadline: 2m, snmp: {timeout: 5s, retries: 2}}
    by_uplink_kind: dict[LinkKind, KindDefaults] = Field(default_factory=dict)
    max_label_values: int = Field(default=4096, ge=1)


class SchedulerConfig(Strict):
    max_concurrency: int = Field(default=64, ge=1, le=10_000)


class StatusConfig(Strict):
    """Site state: how long a new state must hold, and where it survives restarts."""

    hold: Delay = 30.0
    interval: Duration = 1.0
    #: saved atomically on every change and restored at start (None: not kept)
    state_file: str | None = None


class HttpConfig(Strict):
    reload_enabled: bool = False


class LogConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class MainConfig(Strict):
    """config/netmon.yaml"""

    listen: str = "127.0.0.1:9800"
    inventory: list[str] = Field(default_factory=lambda: ["sites/*.yaml"])
    defaults: Defaults = Defaults()
    scheduler: SchedulerConfig = SchedulerConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    status: StatusConfig = StatusConfig()
    #: streaming collectors' sections, validated by the collector's own model (see loader)
    mqtt: dict[str, Any] | None = None
    traps: dict[str, Any] | None = None

    @field_validator("inventory", mode="before")
    @classmethod
    def _one_glob(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            msg = f"listen must be host:port, got {value!r}"
            raise ValueError(msg)
        return value


class SiteKind(StrEnum):
    village_office = "village_office"
    puskesmas = "puskesmas"
    school = "school"
    public_area = "public_area"
    gov_office = "gov_office"
    pop = "pop"
    noc = "noc"
    isp = "isp"


class Network(StrEnum):
    public = "public"
    intranet = "intranet"


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Contact(Strict):
    name: str
    phone: str | None = None


class Isp(Strict):
    name: str
    circuit_id: str | None = None


class IcmpConfig(Strict):
    count: int = Field(default=3, ge=1, le=100)
    interval: Duration = 0.2
    timeout: Duration = 1.0


class DeviceConfig(Strict):
    id: Id
    address: str
    port: int | None = Field(default=None, ge=1, le=65535)
    #: SNMP profiles; [] for a device that is only probed (VSAT modem, CCTV, ISP CPE)
    profiles: list[str] = Field(default_factory=lambda: ["system", "if_mib"])
    #: an ICMP heartbeat between SNMP polls (true, or {count, interval, timeout})
    icmp: IcmpConfig | bool = False
    #: SNMPv3 engine id (hex) of its traps: maps them even behind NAT
    trap_engine_id: str | None = Field(default=None, pattern=r"^(0x)?[0-9a-fA-F]{10,64}$")
    interval: Duration | None = None
    deadline: Duration | None = None
    snmp: SnmpOverrides = SnmpOverrides()

    @model_validator(mode="after")
    def _watched(self) -> DeviceConfig:
        if not self.profiles and self.icmp is False:
            msg = "a device needs SNMP profiles or icmp (or both)"
            raise ValueError(msg)
        return self

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            msg = f"not an IP address: {value!r}"
            raise ValueError(msg) from None
        return value


class SiteConfig(Strict):
    id: Id
    name: str = Field(min_length=1)
    kind: SiteKind
    kecamatan: str | None = None
    network: Network = Network.public
    location: Location | None = None
    uplinks: list[Id] = Field(default_factory=list)
    uplink: Id | None = None
    contact: Contact | None = None
    isp: Isp | None = None
    maintenance: bool = False
    devices: list[DeviceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_uplink_form(self) -> SiteConfig:
        if self.uplink is not None and self.uplinks:
            msg = "give uplink (one parent) or uplinks (a list), not both"
            raise ValueError(msg)
        return self

    @property
    def parents(self) -> tuple[str, ...]:
        return (self.uplink,) if self.uplink else tuple(self.uplinks)


# ifnames may hold spaces and slashes: Huawei calls a port "GPON 0/1/0"
_ENDPOINT = re.compile(r"^([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*):(\S.*)$")


class LinkConfig(Strict):
    id: Id
    kind: LinkKind
    a: str
    b: str

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

    kabupaten: str = Field(min_length=1)
    timezone: Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"] = "Asia/Makassar"
    sites: list[SiteConfig] = Field(default_factory=list)
    links: list[LinkConfig] = Field(default_factory=list)
