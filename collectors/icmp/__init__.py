"""ICMP echo probes: a cheap heartbeat between SNMP polls, and the only check for
devices without SNMP (VSAT modems, CCTV cameras, ISP CPE)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import icmplib

from collectors.icmp.device import ICMP, IcmpConfig, IcmpParams
from netmon.api import (
    MetricMeta,
    MetricType,
    Part,
    Sample,
    Snapshot,
    TargetRef,
)

META = (
    MetricMeta(
        "netmon_probe_rtt_seconds",
        MetricType.GAUGE,
        "Average round-trip time of the last ICMP probe's answered echoes.",
    ),
    MetricMeta(
        "netmon_probe_loss_ratio",
        MetricType.GAUGE,
        "Share of the last ICMP probe's echoes that got no answer, 0..1.",
    ),
)


CAP_NET_RAW = 13  # linux/capability.h


def can_open_raw_sockets() -> bool:
    """Root, or CAP_NET_RAW in the effective set (the systemd unit's dynamic user)."""
    if os.geteuid() == 0:
        return True
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1)
    return False


def icmp_available() -> bool:
    """Whether this process can probe at all: raw sockets, or ICMP datagram sockets that
    net.ipv4.ping_group_range allows its group (Debian's default allows nobody)."""
    if can_open_raw_sockets():
        return True
    try:
        low, high = (
            int(v) for v in Path("/proc/sys/net/ipv4/ping_group_range").read_text().split()
        )
    except (OSError, ValueError):
        return False
    return low <= os.getgid() <= high


class IcmpCollector:
    """Polls with icmplib. Unprivileged ICMP sockets where the kernel allows them
    (net.ipv4.ping_group_range), raw sockets otherwise (root or CAP_NET_RAW)."""

    kind = "icmp"

    def __init__(self, privileged: bool | None = None) -> None:
        self.privileged = can_open_raw_sockets() if privileged is None else privileged

    def metadata(self) -> Sequence[MetricMeta]:
        return META

    def forget(self, target: TargetRef) -> None:
        """No per-target state."""

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        params: IcmpParams = settings
        started = time.time()
        t0 = time.monotonic()
        labels = target.labels
        try:
            host = await icmplib.async_ping(
                params.address,
                count=params.count,
                interval=params.interval,
                timeout=min(params.timeout, deadline),
                privileged=self.privileged,
            )
        except icmplib.ICMPLibError as exc:
            reason = "permission" if isinstance(exc, icmplib.SocketPermissionError) else "error"
            return Snapshot(
                target,
                started,
                time.monotonic() - t0,
                [],
                error=reason,
                error_detail=f"cannot probe: {exc}",
            )
        samples = [Sample("netmon_probe_loss_ratio", labels, round(float(host.packet_loss), 4))]
        if host.packets_received:
            samples.append(Sample("netmon_probe_rtt_seconds", labels, host.avg_rtt / 1000.0))
        # the loss stays visible while the target is down (the part is ok, the poll is not)
        parts = [Part("probe", samples)]
        duration = time.monotonic() - t0
        if not host.is_alive:
            return Snapshot(
                target,
                started,
                duration,
                parts,
                error="timeout",
                error_detail=f"no echo reply from {params.address}",
            )
        return Snapshot(target, started, duration, parts)


def factory(_options: Mapping[str, Any]) -> IcmpCollector:
    return IcmpCollector()


__all__ = ["ICMP", "IcmpCollector", "IcmpConfig", "IcmpParams", "factory"]
