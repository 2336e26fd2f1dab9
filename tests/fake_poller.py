"""A stand-in for the SNMP collector, to drive the daemon's lifecycle in-process: each
device's poll does what the test says (block, swallow a cancel, raise a panic)."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from collectors import REGISTRY
from netmon import logging as nlog
from netmon.api import MetricMeta, MetricType, Part, Registry, Sample, Snapshot, TargetRef
from netmon.daemon import Daemon

Behaviour = Callable[[TargetRef], Awaitable[None]]
UPTIME = MetricMeta("netmon_device_uptime_seconds", MetricType.GAUGE, "uptime")


async def answer(_target: TargetRef) -> None:
    return None


class FakePoller:
    """Polls nothing: runs the device's behaviour, then reports an uptime of 1 s."""

    kind = "snmp"

    def __init__(self, behaviours: dict[str, Behaviour] | None = None) -> None:
        self.behaviours = behaviours or {}
        self.started: list[str] = []  # device ids, one per poll that began
        self.returned: list[str] = []  # ... and per poll that returned a snapshot

    def metadata(self) -> Sequence[MetricMeta]:
        return [UPTIME]

    async def poll(self, target: TargetRef, _settings: Any, _deadline: float) -> Snapshot:
        started = time.time()
        self.started.append(target.device)
        await self.behaviours.get(target.device, answer)(target)
        self.returned.append(target.device)
        sample = Sample(UPTIME.name, target.labels, 1.0)
        return Snapshot(target, started, time.time() - started, [Part("system", [sample])])

    def forget(self, target: TargetRef) -> None:
        return None


class Logs(io.StringIO):
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


@contextlib.asynccontextmanager
async def running_daemon(
    config: Path, poller: FakePoller, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Daemon, Logs]]:
    """A started daemon (no HTTP) whose every polling collector is ``poller`` (a registry
    of its own; ``monkeypatch`` is no longer needed for it, kept for the callers)."""
    registry = Registry(
        polling={kind: lambda _cfg: poller for kind in REGISTRY.polling},
        streams=REGISTRY.streams,
        device_kinds=REGISTRY.device_kinds,
    )
    logs = Logs()
    nlog.configure("info", "json", logs)
    daemon = Daemon(config, registry)
    try:
        daemon.load_initial()
        await daemon.start()
        yield daemon, logs
    finally:
        await daemon.stop()
        nlog.configure("info", "json")
