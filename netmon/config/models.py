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
    Field,
    field_validator,
)

from netmon.schema import Delay, Duration, Id, Strict


class LinkKind(StrEnum):
    fiber = "fiber"
    radio = "radio"
    vsat = "vsat"
    isp = "isp"
    copper = "copper"


class Network(StrEnum):
    """Which network a site is on: the public internet access, or the closed intranet."""

    public = "public"
    intranet = "intranet"


class KindDefaults(Strict):
    """Settings for every device whose site hangs off a link of this kind (e.g. vsat)."""

    interval: Duration | None = None
    """poll period of these devices (instead of defaults.interval)"""
    deadline: Duration | None = None
    """time limit of one whole poll of these devices (instead of defaults.deadline)"""


class Defaults(Strict):
    """What every device gets unless its uplink kind or the device itself says otherwise."""

    interval: Duration = 60.0
    """how often each device is polled"""
    deadline: Duration = 30.0
    """a whole poll of a device (all its profiles) must end within this (at most the interval)"""
    by_uplink_kind: dict[LinkKind, KindDefaults] = Field(default_factory=dict)
    """settings by the kind of the link to a site's first uplink; they win over the ones above
    (a device's own settings win over them); e.g. vsat: {interval: 5m, deadline: 2m, snmp:
    {timeout: 5s, retries: 2}}
    """
    by_network: dict[Network, KindDefaults] = Field(default_factory=dict)
    """settings by the site's network; they win over the plain defaults, a site's uplink
    kind's win over them; e.g. intranet: {snmp: {version: "3", user: ...}}: the closed
    intranet takes SNMPv3 authPriv only"""
    max_label_values: int = Field(default=4096, ge=1)
    """at most this many rows of one table per device and poll (e.g. of an SNMP table); the rest
    are dropped and counted (netmon_samples_dropped_total, reason label_cap)
    """


class SchedulerConfig(Strict):
    """How many polls run at once."""

    max_concurrency: Annotated[int, Field(ge=1, le=10_000)] | Literal["auto"] = "auto"
    """polls running at the same time at most; the others wait their turn (those whose last
    poll failed behind the others, holding at most half). auto: twice the slots the polls
    kept busy lately (each target's poll time / interval, summed; at least 16), so dead
    devices waiting out their timeouts never starve the live ones"""


class SilencesConfig(Strict):
    """Read Alertmanager's silences: a silence of whole sites counts as maintenance."""

    alertmanager: str = Field(min_length=1)
    """Alertmanager's base URL, e.g. http://127.0.0.1:9093 (the API is under /api/v2)"""
    interval: Duration = 60.0
    """how often the silences are read"""
    timeout: Duration = 10.0
    """how long one read may take"""
    hold: Duration = 600.0
    """while Alertmanager cannot be read, the last known silences count this long"""

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

    hold: Delay = 30.0
    """a site's new state is published only after it held this long (0: at once)"""
    interval: Duration = 1.0
    """site states are recomputed at least this often (and after every poll result)"""
    state_file: str | None = None
    """file of the site states, relative to the folder of netmon.yaml; saved atomically on every
    change and restored at start (None: not kept)
    """
    silences: SilencesConfig | None = None
    """maintenance by Alertmanager silence: silences of whole sites are read from there and left
    out of the SLA like the inventory's maintenance flag (None: not read)
    """
    journal_file: str | None = None
    """the outage journal: one JSON line per outage, appended (and synced to disk) when it
    closes, kept for years for the monthly reports; relative to the folder of netmon.yaml
    (None: outages.jsonl beside state_file when that is set, else no journal). One file, never
    rotated: back it up with the state file
    """


class HttpConfig(Strict):
    """The HTTP server: the status page, /metrics, the API and /-/reload."""

    reload_enabled: bool = False
    """accept POST /-/reload (off: reload with SIGHUP, e.g. systemctl reload netmon)"""


class LogConfig(Strict):
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """the least severe messages written"""
    format: Literal["auto", "json", "console"] = "auto"
    """json (one object per line), console (for people), auto: console on a terminal"""


class ShardConfig(Strict):
    """One netmon instance's share of the province: whole kabupaten."""

    name: Id
    """the shard's name; an instance picks its shard with NETMON_SHARD or `run --shard`"""
    kabupaten: list[str] = Field(min_length=1)
    """kabupaten (as the site files name them) whose sites this shard polls and exports"""
    mqtt_topics: dict[str, list[str]] = Field(default_factory=dict)
    """MQTT: subscribe only where a named topic level takes these values, e.g. {kabupaten:
    [berau, kutai-timur]} turns desa/{kabupaten}/{site}/... into desa/berau/+/... and
    desa/kutai-timur/+/...; unset: the whole topic tree (other shards' messages are then
    dropped and counted as other_shard)
    """


class MainConfig(Strict):
    """config/netmon.yaml"""

    listen: str = "127.0.0.1:9800"
    """host:port of the HTTP server (the status page, /metrics, the API)"""
    inventory: list[str] = Field(default_factory=lambda: ["sites/*.yaml"])
    """the site files: globs relative to the folder of netmon.yaml (** matches any subfolders);
    a single glob may be written as a string
    """
    contracts: list[str] = Field(default_factory=lambda: ["contracts/*.yaml"])
    """the ISP contract files: globs relative to the folder of netmon.yaml; no match: no
    contracts (not an error). A single glob may be written as a string
    """
    defaults: Defaults = Defaults()
    scheduler: SchedulerConfig = SchedulerConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    status: StatusConfig = StatusConfig()
    shards: list[ShardConfig] = Field(default_factory=list)
    """split the province over several netmon instances (empty: one instance does all); each
    kabupaten in exactly one shard; a shard also polls its sites' ancestors (read-only: used
    for their status, never exported), see docs/operations.md
    """

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

    @field_validator("inventory", "contracts", mode="before")
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
