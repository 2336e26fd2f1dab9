"""The configuration as admins write it: strict, frozen pydantic models.

Unknown keys are errors (a typo must not silently become a default), secrets
are references (``{env: NAME}`` or ``{file: path}``), never literals, so a
community string does not end up in git.
"""

from __future__ import annotations

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
    """SNMPv3 authentication: a protocol and its passphrase."""

    #: authentication protocol (the same as the device's user has)
    protocol: AuthProtocol = AuthProtocol.sha256
    #: the authentication passphrase
    key: SecretRef


class V3Priv(Strict):
    """SNMPv3 privacy (encryption): a protocol and its passphrase."""

    #: encryption protocol (the same as the device's user has)
    protocol: PrivProtocol = PrivProtocol.aes128
    #: the privacy (encryption) passphrase
    key: SecretRef


class V3UserConfig(Strict):
    """An SNMPv3 (USM) user: no auth is noAuthNoPriv, auth alone authNoPriv, both authPriv."""

    #: user name, as configured on the device
    name: str = Field(min_length=1, max_length=32)
    #: authentication; unset: noAuthNoPriv
    auth: V3Auth | None = None
    #: encryption; needs auth (SNMPv3 has no noAuthPriv)
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

    #: SNMP version ("3" needs user, "1" and 2c need community)
    version: Annotated[SnmpVersionName | None, BeforeValidator(_version_text)] = None
    #: community for SNMP v1 and v2c
    community: SecretRef | None = None
    #: SNMPv3 user (version "3")
    user: V3UserConfig | None = None
    #: how long to wait for each response before sending the request again
    timeout: Duration | None = None
    #: how often a request that timed out is sent again
    retries: int | None = Field(default=None, ge=0, le=10)
    #: rows asked for per GETBULK request; lower it for slow links or weak agents
    max_repetitions: int | None = Field(default=None, ge=1, le=200)


class SnmpDefaults(Strict):
    """SNMP settings of every device that does not set its own."""

    #: SNMP version ("3" needs user, "1" and 2c need community)
    version: Annotated[SnmpVersionName, BeforeValidator(_version_text)] = "2c"
    #: community for SNMP v1 and v2c
    community: SecretRef | None = None
    #: SNMPv3 user (version "3")
    user: V3UserConfig | None = None
    #: UDP port of the SNMP agents (a device may set its own port)
    port: int = Field(default=161, ge=1, le=65535)
    #: how long to wait for each response before sending the request again
    timeout: Duration = 2.0
    #: how often a request that timed out is sent again
    retries: int = Field(default=1, ge=0, le=10)
    #: rows asked for per GETBULK request; lower it for slow links or weak agents
    max_repetitions: int = Field(default=25, ge=1, le=200)


class LinkKind(StrEnum):
    fiber = "fiber"
    radio = "radio"
    vsat = "vsat"
    isp = "isp"
    copper = "copper"


class KindDefaults(Strict):
    """Settings for every device whose site hangs off a link of this kind (e.g. vsat)."""

    #: poll period of these devices (instead of defaults.interval)
    interval: Duration | None = None
    #: time limit of one whole poll of these devices (instead of defaults.deadline)
    deadline: Duration | None = None
    #: SNMP settings of these devices; anything left out comes from defaults.snmp
    snmp: SnmpOverrides = SnmpOverrides()


class Defaults(Strict):
    """What every device gets unless its uplink kind or the device itself says otherwise."""

    #: how often each device is polled
    interval: Duration = 60.0
    #: a whole poll of a device (all its profiles) must end within this (at most the interval)
    deadline: Duration = 30.0
    #: SNMP settings of every device
    snmp: SnmpDefaults = SnmpDefaults()
    #: settings by the kind of the link to a site's first uplink; they win over the ones
    #: above (a device's own settings win over them);
    #: e.g. vsat: {interval: 5m, deadline: 2m, snmp: {timeout: 5s, retries: 2}}
    by_uplink_kind: dict[LinkKind, KindDefaults] = Field(default_factory=dict)
    #: at most this many rows of one SNMP table per device and poll; the rest are dropped
    #: and counted (netmon_samples_dropped_total, reason label_cap)
    max_label_values: int = Field(default=4096, ge=1)


class SchedulerConfig(Strict):
    """How many polls run at once."""

    #: polls running at the same time at most; the others wait their turn
    max_concurrency: int = Field(default=64, ge=1, le=10_000)


class SilencesConfig(Strict):
    """Read Alertmanager's silences: a silence of whole sites counts as maintenance."""

    #: Alertmanager's base URL, e.g. http://127.0.0.1:9093 (the API is under /api/v2)
    alertmanager: str = Field(min_length=1)
    #: how often the silences are read
    interval: Duration = 60.0
    #: how long one read may take
    timeout: Duration = 10.0
    #: while Alertmanager cannot be read, the last known silences count this long
    hold: Duration = 600.0

    @field_validator("alertmanager")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s@]+(/\S*)?$", value):
            msg = (
                "not an http(s) URL without user or password (netmon reads silences "
                "without credentials; a password in a URL would reach the logs)"
            )
            raise ValueError(msg)
        return value.rstrip("/")


class StatusConfig(Strict):
    """Site state: how long a new state must hold, and where it survives restarts."""

    #: a site's new state is published only after it held this long (0: at once)
    hold: Delay = 30.0
    #: site states are recomputed at least this often (and after every poll result)
    interval: Duration = 1.0
    #: file of the site states, relative to the folder of netmon.yaml;
    #: saved atomically on every change and restored at start (None: not kept)
    state_file: str | None = None
    #: maintenance by Alertmanager silence: silences of whole sites are read from there
    #: and left out of the SLA like the inventory's maintenance flag (None: not read)
    silences: SilencesConfig | None = None


class HttpConfig(Strict):
    """The HTTP server: the status page, /metrics, the API and /-/reload."""

    #: accept POST /-/reload (off: reload with SIGHUP, e.g. systemctl reload netmon)
    reload_enabled: bool = False


class LogConfig(Strict):
    """Logging."""

    #: the least severe messages written
    level: Literal["debug", "info", "warning", "error"] = "info"
    #: json (one object per line), console (for people), auto: console on a terminal
    format: Literal["auto", "json", "console"] = "auto"


class ShardConfig(Strict):
    """One netmon instance's share of the province: whole kabupaten."""

    #: the shard's name; an instance picks its shard with NETMON_SHARD or `run --shard`
    name: Id
    #: kabupaten (as the site files name them) whose sites this shard polls and exports
    kabupaten: list[str] = Field(min_length=1)
    #: MQTT: subscribe only where a named topic level takes these values, e.g.
    #: {kabupaten: [berau, kutai-timur]} turns desa/{kabupaten}/{site}/... into
    #: desa/berau/+/... and desa/kutai-timur/+/...; unset: the whole topic tree
    #: (other shards' messages are then dropped and counted as other_shard)
    mqtt_topics: dict[str, list[str]] = Field(default_factory=dict)


class MainConfig(Strict):
    """config/netmon.yaml"""

    #: host:port of the HTTP server (the status page, /metrics, the API)
    listen: str = "127.0.0.1:9800"
    #: the site files: globs relative to the folder of netmon.yaml (** matches any
    #: subfolders); a single glob may be written as a string
    inventory: list[str] = Field(default_factory=lambda: ["sites/*.yaml"])
    defaults: Defaults = Defaults()
    scheduler: SchedulerConfig = SchedulerConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    status: StatusConfig = StatusConfig()
    #: split the province over several netmon instances (empty: one instance does all);
    #: each kabupaten in exactly one shard; a shard also polls its sites' ancestors
    #: (read-only: used for their status, never exported), see docs/operations.md
    shards: list[ShardConfig] = Field(default_factory=list)
    #: streaming collectors' sections, validated by the collector's own model (see loader)
    mqtt: dict[str, Any] | None = None
    traps: dict[str, Any] | None = None

    @field_validator("shards")
    @classmethod
    def _shards_disjoint(cls, value: list[ShardConfig]) -> list[ShardConfig]:
        names: set[str] = set()
        owner: dict[str, str] = {}
        for shard in value:
            if shard.name in names:
                msg = f"duplicate shard name {shard.name!r}"
                raise ValueError(msg)
            names.add(shard.name)
            for kab in shard.kabupaten:
                if kab in owner:
                    msg = f"kabupaten {kab!r} is in shards {owner[kab]!r} and {shard.name!r}"
                    raise ValueError(msg)
                owner[kab] = shard.name
        return value

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
