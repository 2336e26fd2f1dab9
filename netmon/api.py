"""Value types and protocols shared by the core and the collectors.

Collectors import only this module from the core: the daemon never imports a
collector by name, and a collector never reaches into the store or the HTTP
layer. A poll produces a whole :class:`Snapshot`; the store swaps it in.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

# config building blocks for collectors' own config models (they import only this module)
from pydantic import SecretStr

from netmon.plausible import plausible, unit_range
from netmon.schema import Duration, MetricName, SecretError, SecretRef, Strict, read_secret
from netmon.seam import (
    EVIDENCE,
    INTERFACE_OPER_UP,
    LINK_EVENT_UP,
    OPTICAL_RX_POWER,
    POWER_BATTERY,
    POWER_EVIDENCE,
    POWER_ON_GRID,
    PROBE_LOSS,
    BlockContext,
    BlockError,
    BlockPath,
    CollectorFactory,
    DeviceKind,
    Layer,
    MetricSources,
    Prepared,
    Registry,
    Role,
    RouteSpec,
    SecretResolver,
    StreamSpec,
)
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
    "EVIDENCE",
    "INTERFACE_OPER_UP",
    "LINK_EVENT_UP",
    "OPTICAL_RX_POWER",
    "POWER_BATTERY",
    "POWER_EVIDENCE",
    "POWER_ON_GRID",
    "PROBE_LOSS",
    "BlockContext",
    "BlockError",
    "BlockPath",
    "CollectorFactory",
    "ConfigErrors",
    "DeviceKind",
    "DeviceView",
    "Directory",
    "Duration",
    "Labels",
    "Layer",
    "MarkedDoc",
    "MetricMeta",
    "MetricName",
    "MetricSources",
    "MetricType",
    "Part",
    "PollingCollector",
    "Prepared",
    "Registry",
    "Role",
    "RouteSpec",
    "Sample",
    "Secret",
    "SecretError",
    "SecretRef",
    "SecretResolver",
    "Sink",
    "Snapshot",
    "StaticDirectory",
    "StreamSpec",
    "StreamingCollector",
    "Strict",
    "TargetRef",
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


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device as streaming collectors see it: where it is, and what polls it."""

    site: str
    id: str
    address: str
    #: collector kind -> the settings its kind built for this device
    polls: Mapping[str, Any]
    #: its site's network: "public", or "intranet" (the closed intranet)
    network: str = "public"


class Directory(Protocol):
    """What streaming collectors may ask of the inventory and the scheduler."""

    def site_exists(self, site: str) -> bool: ...

    def site_elsewhere(self, site: str) -> bool:
        """A site another shard monitors: its messages are not for this instance."""
        ...

    def device_exists(self, site: str, device: str) -> bool: ...

    def devices(self) -> Iterator[DeviceView]:
        """Every device of the current config (e.g. to map traps to devices: a
        streaming collector builds its index when told ``sites_changed``)."""
        ...

    def poll_now(self, key: str) -> bool:
        """Ask for a fresh poll of a target at once (e.g. after a linkDown trap)."""
        ...

    def ifname(self, key: str, ifindex: str) -> str | None:
        """The interface name a target reported for this ifIndex (its
        ``netmon_interface_info``), if it reported one."""
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

    def devices(self) -> Iterator[DeviceView]:
        return iter(())

    def poll_now(self, key: str) -> bool:
        return False

    def ifname(self, key: str, ifindex: str) -> str | None:
        return None


class Secret(SecretStr):
    """A resolved secret: pydantic's SecretStr (its repr and str never show the value),
    with ``reveal()`` for the one place that must send it (a session, a request)."""

    def reveal(self) -> str:
        return self.get_secret_value()


# last: netmon.config's package imports this module (file:line:col errors for collectors' data)
from netmon.config.yamlmarks import ConfigErrors, MarkedDoc, load_marked  # noqa: E402
