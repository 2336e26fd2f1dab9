"""The ICMP kind of device: its `icmp:` key in a site file and the :class:`IcmpParams`
a probe takes (:data:`ICMP`, listed in the registry)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from netmon.api import PROBE_LOSS, BlockContext, DeviceKind, Duration, Role, Strict


@dataclass(frozen=True, slots=True)
class IcmpParams:
    """An ICMP echo probe of one address: ``count`` echoes ``interval`` apart."""

    address: str
    count: int = 3
    interval: float = 0.2
    timeout: float = 1.0


class IcmpConfig(Strict):
    """ICMP echo heartbeat: count echoes, interval apart, each waiting up to timeout."""

    count: int = Field(default=3, ge=1, le=100)
    """echo requests per probe"""
    interval: Duration = 0.2
    """time between the echoes of one probe"""
    timeout: Duration = 1.0
    """how long to wait for each reply"""


class IcmpDevice(Strict):
    """The ICMP key of a device entry in a site file."""

    icmp: IcmpConfig | bool = False
    """an ICMP heartbeat between SNMP polls (true, or {count, interval, timeout})"""


def build(device: IcmpDevice, ctx: BlockContext) -> IcmpParams | None:
    """The probe's settings, or None when the device is not probed."""
    if device.icmp is False:
        return None
    settings = device.icmp if isinstance(device.icmp, IcmpConfig) else IcmpConfig()
    return IcmpParams(ctx.address, settings.count, settings.interval, settings.timeout)


#: ICMP echo probes: a device's `icmp` key
ICMP = DeviceKind(
    kind="icmp",
    model=IcmpDevice,
    build=build,
    role=Role.PROBE,
    evidence=frozenset({PROBE_LOSS}),
    hint="icmp",
)
