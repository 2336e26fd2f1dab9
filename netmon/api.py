"""Value types and protocols shared by the core and the collectors.

Collectors import only this module from the core: the daemon never imports a
collector by name, and a collector never reaches into the store or the HTTP
layer. A poll produces a whole :class:`Snapshot`; the store swaps it in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

# config building blocks for collectors' own config models (they import only this module)
from netmon.plausible import plausible, unit_range
from netmon.schema import Duration, MetricName, SecretError, SecretRef, Strict, read_secret
from netmon.tasks import cancel_and_wait

Labels = tuple[tuple[str, str], ...]

MAX_LABEL_VALUE = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_label_value(raw: str | bytes) -> str:
    """Make a network-derived string safe as a label value.

    Devices send anything: NUL padding, newlines, Latin-1. Control characters
    become one space, the value is stripped and capped at 128 characters so a
    hostile or broken agent cannot blow up series size.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = _CONTROL.sub(" ", text).strip()
    return text[:MAX_LABEL_VALUE]


class MetricType(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"


@dataclass(frozen=True, slots=True)
class MetricMeta:
    """What the exposition needs for the HELP and TYPE lines of a family."""

    name: str
    type: MetricType
    help: str


class Sample(NamedTuple):
    """One series value. A NamedTuple: a poll makes hundreds, and it is the cheapest record."""

    name: str
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class TargetRef:
    """Who a snapshot belongs to; label values come from the inventory."""

    site: str
    device: str
    collector: str

    @property
    def key(self) -> str:
        # the site is part of it: MQTT devices such as "solar" repeat across sites
        return f"{self.collector}:{self.site}/{self.device}"

    @property
    def labels(self) -> Labels:
        return (("site", self.site), ("device", self.device))


@dataclass(slots=True)
class Part:
    """One independently fetched piece of a poll (a table, the scalars).

    A part that fails is reported with ``ok=False`` and no samples; the store
    then keeps that part's last good samples for a while (bad links lose a
    table now and then; the series should not flicker).
    """

    name: str
    samples: list[Sample]
    ok: bool = True
    error: str | None = None


@dataclass(slots=True)
class Snapshot:
    """Everything one poll of one target produced."""

    target: TargetRef
    started: float
    duration: float
    parts: list[Part]
    #: None when the poll succeeded; otherwise the reason (timeout, auth, ...).
    error: str | None = None
    error_detail: str = ""
    #: reason -> count, samples dropped on purpose (sentinel, decode, label_cap)
    dropped: dict[str, int] = field(default_factory=dict)
    #: extra metadata for families the collector emits
    meta: Sequence[MetricMeta] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def partial(self) -> bool:
        return self.error is None and any(not p.ok for p in self.parts)


@runtime_checkable
class PollingCollector(Protocol):
    """A collector the scheduler calls on an interval (SNMP, ICMP).

    Streaming collectors (MQTT, traps) have a different lifecycle: they run a
    task and push snapshots; they do not implement this protocol.
    """

    kind: str

    def metadata(self) -> Sequence[MetricMeta]:
        """HELP/TYPE for every family this collector can emit."""
        ...

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        """Poll once within ``deadline`` seconds; never raise for device faults."""
        ...

    def forget(self, target: TargetRef) -> None:
        """Drop per-target state (counter totals) when a target leaves the config."""
        ...


__all__ = [
    "POWER_BATTERY",
    "POWER_EVIDENCE",
    "POWER_ON_GRID",
    "BlockContext",
    "BlockError",
    "BlockPath",
    "CollectorFactory",
    "ConfigErrors",
    "DeviceKind",
    "Directory",
    "Duration",
    "IcmpParams",
    "Labels",
    "MarkedDoc",
    "MetricMeta",
    "MetricName",
    "MetricSources",
    "MetricType",
    "Part",
    "PollingCollector",
    "Registry",
    "Sample",
    "Secret",
    "SecretError",
    "SecretRef",
    "SecretResolver",
    "Sink",
    "Snapshot",
    "SnmpParams",
    "StaticDirectory",
    "StreamSpec",
    "StreamingCollector",
    "Strict",
    "TargetRef",
    "V3User",
    "cancel_and_wait",
    "clean_label_value",
    "load_marked",
    "plausible",
    "read_secret",
    "unit_range",
]


class Sink(Protocol):
    """Where streaming collectors (MQTT, traps) publish: the daemon's store."""

    def apply(
        self,
        snapshot: Snapshot,
        interval: float,
        now: float | None = None,
        *,
        replace: bool = False,
    ) -> object:
        """Swap in a target's snapshot; ``replace`` drops the parts it does not carry."""
        ...

    def remove(self, key: str) -> None:
        """The target is gone: its series vanish now."""
        ...


class StreamingCollector(Protocol):
    """A collector that runs a task and pushes snapshots (MQTT, traps)."""

    kind: str

    def metadata(self) -> Sequence[MetricMeta]: ...

    def configure(self, section: Any | None, base: Path) -> None:
        """Start, restart (config changed) or stop (section gone); called on every load."""
        ...

    def sites_changed(self) -> None:
        """The inventory changed: drop what belongs to sites that are gone."""
        ...

    async def stop(self) -> None: ...


class Directory(Protocol):
    """What streaming collectors may ask of the inventory and the scheduler."""

    def site_exists(self, site: str) -> bool: ...

    def site_elsewhere(self, site: str) -> bool:
        """A site another shard monitors: its messages are not for this instance."""
        ...

    def device_exists(self, site: str, device: str) -> bool: ...

    def device_for(self, address: str, engine_id: str | None = None) -> TargetRef | None:
        """The SNMP target of the device with this v3 engine id, else this address."""
        ...

    def poll_now(self, key: str) -> bool:
        """Ask for a fresh poll of a target at once (e.g. after a linkDown trap)."""
        ...

    def ifname(self, key: str, ifindex: str) -> str | None:
        """The interface name an SNMP target reported for this ifIndex."""
        ...


class StaticDirectory:
    """A Directory that knows a fixed set of sites and nothing else: for tools that run
    a streaming collector outside the daemon (benchmarks, the metric reference)."""

    def __init__(self, sites: Collection[str] = ()) -> None:
        self.sites = frozenset(sites)

    def site_exists(self, site: str) -> bool:
        return site in self.sites

    def site_elsewhere(self, site: str) -> bool:
        return False

    def device_exists(self, site: str, device: str) -> bool:
        return False

    def device_for(self, address: str, engine_id: str | None = None) -> TargetRef | None:
        return None

    def poll_now(self, key: str) -> bool:
        return False

    def ifname(self, key: str, ifindex: str) -> str | None:
        return None


#: The evidence the status engine reads, by name: whoever provides it (an MQTT
#: mapping, a collector) must export exactly these metrics for the cause "power".
POWER_ON_GRID = "netmon_power_on_grid"
POWER_BATTERY = "netmon_power_battery_ratio"
POWER_EVIDENCE = frozenset({POWER_ON_GRID, POWER_BATTERY})


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """How a streaming collector plugs in: its netmon.yaml section and its model."""

    section: str
    model: type[Any]
    #: (sink, directory, the daemon's prometheus CollectorRegistry) -> collector
    factory: Callable[[Sink, Directory, Any], StreamingCollector]
    #: the metric names a validated section will export, for telemetry collectors (the
    #: evidence check of `netmon check`); None for one that exports no readings (traps)
    provides: Callable[[Any], frozenset[str]] | None = None


#: a path inside a device's block, e.g. ("checks", 2, "url")
BlockPath = tuple[str | int, ...]
#: resolves a secret reference found at a path of a device's block
SecretResolver = Callable[[SecretRef, BlockPath], "Secret"]


class BlockError(ValueError):
    """A device block that validated but cannot run as written; ``path`` is inside the
    block. The loader reports it at file:line:col. Never put a secret in ``message``."""

    def __init__(self, path: BlockPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What a kind's ``build`` may use besides its block."""

    #: the device's address (the default host of its checks)
    address: str
    #: the folder of netmon.yaml: relative paths in the block are relative to it
    base: Path
    #: secret references to values; a failure is reported by the loader, and with
    #: ``netmon check --no-secrets`` every secret is an empty placeholder
    resolve: SecretResolver


@dataclass(frozen=True, slots=True)
class DeviceKind:
    """A polling collector configured per device by a block of its own (``key:``).

    The core validates the block with ``model`` (errors at file:line:col like the
    rest), asks ``build`` for the settings the collector's ``poll`` takes, and
    schedules one target of collector ``kind`` for the device. Adding such a
    collector touches nothing in the core.
    """

    kind: str
    #: the key of the block in a device entry of a site file (e.g. ``service``)
    key: str
    model: type[Any]
    #: (validated block, context) -> the settings its collector's poll takes; raises
    #: BlockError for a block that cannot run as written
    build: Callable[[Any, BlockContext], Any]
    #: its results say whether the site is alive (status evidence), like a probe
    liveness: bool = True


CollectorFactory = Callable[[Mapping[str, Any]], PollingCollector]
#: (family, where it comes from) for the metric reference, e.g. (a family, "profile `x`")
MetricSources = Callable[[], Sequence[tuple[MetricMeta, str]]]


@dataclass(frozen=True, eq=False)
class Registry:
    """The collectors a netmon is built with: one explicit list (``collectors.REGISTRY``)
    that the CLI hands to the daemon, the config loader and the reference generators.

    Nothing registers itself by being imported, and the core never imports a collector:
    whatever it runs or validates, it finds here. A test builds its own.
    """

    #: polling collector kind -> factory (options -> collector)
    polling: Mapping[str, CollectorFactory] = field(default_factory=dict)
    #: streaming collectors, each with its section of netmon.yaml
    streams: Sequence[StreamSpec] = ()
    #: polling kinds configured per device by a block of their own (service probes)
    device_kinds: Sequence[DeviceKind] = ()
    #: polling kind -> where its families come from, for the metric reference; a kind
    #: not here is listed from its collector's metadata() as "<kind> collector"
    sources: Mapping[str, MetricSources] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a value: what the caller passed in and changes later does not change it
        object.__setattr__(self, "polling", MappingProxyType(dict(self.polling)))
        object.__setattr__(self, "streams", tuple(self.streams))
        object.__setattr__(self, "device_kinds", tuple(self.device_kinds))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        sections = [s.section for s in self.streams]
        keys = [k.key for k in self.device_kinds]
        for what, names in (("stream section", sections), ("device block key", keys)):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                msg = f"{what} listed twice in the collectors' registry: {', '.join(twice)}"
                raise ValueError(msg)
        for spec in self.device_kinds:
            if spec.kind not in self.polling:
                msg = f"device block {spec.key!r}: no polling collector of kind {spec.kind!r}"
                raise ValueError(msg)

    def polling_kinds(self) -> list[str]:
        return sorted(self.polling)

    def collector_factory(self, kind: str) -> CollectorFactory:
        try:
            return self.polling[kind]
        except KeyError:
            known = ", ".join(sorted(self.polling)) or "none"
            msg = f"no collector of kind {kind!r} is registered (known: {known})"
            raise LookupError(msg) from None

    def sections(self) -> dict[str, StreamSpec]:
        """Streaming collectors by their section of netmon.yaml."""
        return {spec.section: spec for spec in self.streams}

    def blocks(self) -> dict[str, DeviceKind]:
        """Per-device collector blocks by their key in a device entry."""
        return {spec.key: spec for spec in self.device_kinds}

    def liveness_kinds(self) -> frozenset[str]:
        """Kinds configured per device whose results say whether a site is alive."""
        return frozenset(spec.kind for spec in self.device_kinds if spec.liveness)


@dataclass(frozen=True, slots=True)
class V3User:
    """SNMPv3 USM user with resolved keys; keys never print (see Secret)."""

    name: str
    auth_protocol: str | None = None  # md5, sha1, sha224, sha256, sha384, sha512
    auth_key: Secret | None = None
    priv_protocol: str | None = None  # des, aes128, aes192, aes256
    priv_key: Secret | None = None


class Secret:
    """A resolved secret. Its repr and str never show the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class IcmpParams:
    """An ICMP echo probe of one address: ``count`` echoes ``interval`` apart."""

    address: str
    count: int = 3
    interval: float = 0.2
    timeout: float = 1.0


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


# last: netmon.config's package imports this module (file:line:col errors for collectors' data)
from netmon.config.yamlmarks import ConfigErrors, MarkedDoc, load_marked  # noqa: E402
