"""How a collector plugs into netmon: its settings, its targets, its part in status.

A collector kind brings its own settings model, validated with the rest of the config
(file:line:col errors), builds the settings its poll takes from a device's entry, and
is listed in one explicit :class:`Registry` (``collectors.REGISTRY``) that the CLI
hands to the daemon. The core (scheduler, store, exposition, http, daemon, status,
config loader) names no collector kind: whatever it runs, validates or reads for
status, it finds here. Collectors import these names from :mod:`netmon.api`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netmon.api import PollingCollector, Secret, StreamingCollector
    from netmon.schema import SecretRef


class Role(StrEnum):
    """What a collector kind's results say about a site (read by the status engine)."""

    #: an agent on the device answers polls (SNMP): its answers say the device is up
    AGENT = "agent"
    #: the netmon host probes the device (ICMP, service checks): an answer says it is
    #: reachable, and a lossy probe makes the site degraded
    PROBE = "probe"
    #: the device pushes readings (MQTT): it is alive while it pushes
    TELEMETRY = "telemetry"
    #: the device pushes events (traps): detail only, never proof of life
    EVENTS = "events"


#: The evidence the status engine reads, by metric name (the metric contract). Whoever
#: provides it (a collector kind, an MQTT mapping) declares it, and must export exactly
#: these names; status reads each only from targets of the kinds that declare it.
POWER_ON_GRID = "netmon_power_on_grid"
POWER_BATTERY = "netmon_power_battery_ratio"
POWER_EVIDENCE = frozenset({POWER_ON_GRID, POWER_BATTERY})
#: an interface's operational status as polled, by ``ifname`` (1 up, 0 not)
INTERFACE_OPER_UP = "netmon_interface_oper_up"
#: an interface's optical receive power, by ``ifname`` (no light: a cut)
OPTICAL_RX_POWER = "netmon_optical_rx_power_dbm"
#: an interface's last link event (linkUp 1, linkDown 0), by ``ifname``
LINK_EVENT_UP = "netmon_trap_interface_up"
#: share of a probe's attempts that got no answer, 0..1
PROBE_LOSS = "netmon_probe_loss_ratio"
EVIDENCE = frozenset(
    {*POWER_EVIDENCE, INTERFACE_OPER_UP, OPTICAL_RX_POWER, LINK_EVENT_UP, PROBE_LOSS}
)

#: a path inside a device's settings, e.g. ("checks", 2, "url")
BlockPath = tuple[str | int, ...]
#: resolves a secret reference found at a path of a device's settings
SecretResolver = Callable[["SecretRef", BlockPath], "Secret"]


class BlockError(ValueError):
    """A device's settings that validated but cannot run as written; ``path`` is inside
    the kind's keys of the device entry (the block's key first for a block kind), or
    ``()`` for the entry itself. The loader reports it at file:line:col. Never put a
    secret in ``message``."""

    def __init__(self, path: BlockPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        #: every problem found, this one first (see :meth:`many`)
        self.errors: list[tuple[BlockPath, str]] = [(path, message)]

    @classmethod
    def many(cls, errors: Sequence[tuple[BlockPath, str]]) -> BlockError:
        """One error carrying several problems (the loader reports each)."""
        exc = cls(*errors[0])
        exc.errors = list(errors)
        return exc


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of a kind's defaults (``defaults.<section>`` of netmon.yaml, or the one
    of ``defaults.by_uplink_kind.<kind>``), validated, with a resolver for its secrets."""

    value: Any
    resolve: SecretResolver


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a kind makes once per load from its top-level keys (SNMP: the profile
    catalogue from ``profiles_dirs``), handed to every ``build`` of that load."""

    value: Any = None
    #: (path in netmon.yaml, message): errors and warnings at those keys
    errors: Sequence[tuple[BlockPath, str]] = ()
    warnings: Sequence[tuple[BlockPath, str]] = ()


@dataclass(frozen=True, slots=True)
class RadioPeer:
    """The device at the other end of one of a device's radio links (``kind: radio``) in
    the inventory: a backhaul peer, whose readings in the device's station table may be
    series of their own (DESIGN: privacy and cardinality)."""

    device: str
    address: str
    #: its ``radio_mac`` (lower-case aa:bb:cc:dd:ee:ff), None when not given
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What a kind's ``build`` may use besides its settings."""

    #: the device's address (the default host of its checks)
    address: str
    #: the folder of netmon.yaml: relative paths in the block are relative to it
    base: Path
    #: secret references to values; a failure is reported by the loader, and with
    #: ``netmon check --no-secrets`` every secret is an empty placeholder
    resolve: SecretResolver
    #: the device's effective poll interval and deadline, seconds
    interval: float = 60.0
    deadline: float = 30.0
    #: the kind's defaults, most specific first (its uplink kind's, then the global
    #: ones); empty for a kind without a ``section``
    defaults: tuple[Layer, ...] = ()
    #: the device's site: its network (public, intranet) and uplink kind ("" if none)
    network: str = "public"
    uplink_kind: str = ""
    #: defaults.max_label_values: rows of one table per device and poll at most
    max_label_values: int = 4096
    #: the device and its site, for log lines (labels come from the store's TargetRef)
    site: str = ""
    device: str = ""
    #: what the kind's ``prepare`` made for this load (None without one)
    prepared: Any = None
    #: the devices at the other end of its radio links
    peers: tuple[RadioPeer, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceKind:
    """A polling collector configured per device.

    Two forms. With ``key``, the device entry carries a block of its own (``service:``):
    ``model`` validates the block, and a device without it is not polled by this kind.
    Without ``key``, the kind owns the keys that ``model`` declares (SNMP: ``profiles``,
    ``port``, ``snmp``, ``trap_engine_id``): ``model`` validates them on every device,
    absent ones taking their defaults, and ``build`` returns None where the kind does
    not poll the device. Either way, ``build`` returns the settings its collector's
    ``poll`` takes, or raises :class:`BlockError`. The core schedules one target of
    collector ``kind`` per device that has settings; adding a kind touches nothing there.
    """

    kind: str
    model: type[Any]
    #: (validated settings, context) -> poll settings, or None: not polled by this kind
    build: Callable[[Any, BlockContext], Any]
    #: the key of the block in a device entry; None: the kind owns ``model``'s fields
    key: str | None = None
    role: Role = Role.PROBE
    #: the key of its defaults under ``defaults:`` and ``defaults.by_uplink_kind.<k>:``
    section: str | None = None
    #: model of ``defaults.<section>`` (absent: its defaults) and of the uplink kind's
    defaults: type[Any] | None = None
    overrides: type[Any] | None = None
    #: evidence metric names (see EVIDENCE) its targets export
    evidence: frozenset[str] = frozenset()
    #: what ``/api/targets`` shows of a device's poll settings (never a secret)
    describe: Callable[[Any], Mapping[str, Any]] | None = None
    #: what a device whose settings need it must have (e.g. "profiles or icmp"), for the
    #: error of a device that nothing polls
    hint: str = ""
    #: model of its top-level keys of netmon.yaml (SNMP: ``profiles_dirs``), and what it
    #: makes of them once per load: (validated keys or None, netmon.yaml's folder) ->
    #: Prepared, whose value every build of that load gets as ``context.prepared``
    top: type[Any] | None = None
    prepare: Callable[[Any, Path], Prepared] | None = None

    @property
    def top_keys(self) -> tuple[str, ...]:
        """The top-level keys of netmon.yaml this kind owns."""
        fields = getattr(self.top, "model_fields", {})
        return tuple(info.alias or name for name, info in fields.items())

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of a device entry this kind owns."""
        if self.key is not None:
            return (self.key,)
        fields = getattr(self.model, "model_fields", {})
        return tuple(info.alias or name for name, info in fields.items())


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """How a streaming collector plugs in: its netmon.yaml section and its model."""

    section: str
    model: type[Any]
    #: (sink, directory, the daemon's prometheus CollectorRegistry) -> collector
    factory: Callable[[Any, Any, Any], StreamingCollector]
    #: the metric names a validated section will export, for telemetry collectors (the
    #: evidence check of `netmon check`); None for one that exports no readings (traps)
    provides: Callable[[Any], frozenset[str]] | None = None
    #: the ``collector`` of the targets it pushes, and what their results say
    kind: str = ""
    role: Role = Role.TELEMETRY
    #: evidence metric names (see EVIDENCE) its targets may export
    evidence: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """An HTTP GET endpoint a collector brings (SNMP: ``/snmp``, snmp_exporter's pattern).
    It sits behind the same web security as every endpoint of netmon."""

    path: str
    #: (directory of the current config, the daemon's prometheus CollectorRegistry for
    #: its counters) -> an aiohttp handler (request -> response)
    factory: Callable[[Any, Any], Callable[[Any], Any]]


CollectorFactory = Callable[[Mapping[str, Any]], "PollingCollector"]
#: (family, where it comes from) for the metric reference, e.g. (a family, "profile `x`")
MetricSources = Callable[[], Sequence[tuple[Any, str]]]


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
    #: how each polling kind is configured per device (one per polling kind)
    device_kinds: Sequence[DeviceKind] = ()
    #: polling kind -> where its families come from, for the metric reference; a kind
    #: not here is listed from its collector's metadata() as "<kind> collector"
    sources: Mapping[str, MetricSources] = field(default_factory=dict)
    #: HTTP endpoints collectors bring, each behind the web security of every endpoint
    routes: Sequence[RouteSpec] = ()

    def __post_init__(self) -> None:
        # a value: what the caller passed in and changes later does not change it
        object.__setattr__(self, "polling", MappingProxyType(dict(self.polling)))
        object.__setattr__(self, "streams", tuple(self.streams))
        object.__setattr__(self, "device_kinds", tuple(self.device_kinds))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "routes", tuple(self.routes))
        sections = [s.section for s in self.streams]
        keys = [k for spec in self.device_kinds for k in spec.keys]
        tops = [k for spec in self.device_kinds for k in spec.top_keys]
        tops += [s.section for s in self.streams]
        defaults = [s.section for s in self.device_kinds if s.section]
        kinds = [s.kind for s in self.device_kinds]
        for what, names in (
            ("stream section", sections),
            ("device block key", keys),
            ("defaults section", defaults),
            ("device kind", kinds),
            ("top-level key", tops),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                msg = f"{what} listed twice in the collectors' registry: {', '.join(twice)}"
                raise ValueError(msg)
        for spec in self.device_kinds:
            if spec.kind not in self.polling:
                name = spec.key or spec.kind
                msg = f"device block {name!r}: no polling collector of kind {spec.kind!r}"
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
        """Per-device collector kinds by each key of a device entry they own."""
        return {key: spec for spec in self.device_kinds for key in spec.keys}

    def kinds(self) -> dict[str, DeviceKind]:
        """Per-device collector kinds by their collector kind."""
        return {spec.kind: spec for spec in self.device_kinds}

    def roles(self) -> dict[str, Role]:
        """Collector kind -> its role, for every kind that makes targets. A polling kind
        without a device kind (a test's) counts as a probe."""
        out = {kind: Role.PROBE for kind in self.polling}
        out.update({spec.kind: spec.role for spec in self.device_kinds})
        out.update({spec.kind: spec.role for spec in self.streams if spec.kind})
        return out

    def evidence(self) -> dict[str, frozenset[str]]:
        """Evidence metric name -> the collector kinds whose targets provide it."""
        out: dict[str, set[str]] = {}
        declared = [(s.kind, s.evidence) for s in self.device_kinds]
        declared.extend((s.kind, s.evidence) for s in self.streams)
        for kind, names in declared:
            for name in names:
                out.setdefault(name, set()).add(kind)
        return {name: frozenset(kinds) for name, kinds in out.items()}

    def liveness_kinds(self) -> frozenset[str]:
        """Kinds whose results say whether a site is alive (all but event streams)."""
        return frozenset(k for k, role in self.roles().items() if role != Role.EVENTS)
