"""The SNMP polling collector: fetch with the walker, map with the engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gufo.snmp.aio import SnmpSession

from collectors.snmp.engine import DeviceState, Engine, RawPoll
from collectors.snmp.profile import Profile, builtin_profiles
from collectors.snmp.walker import PollFailed, Walker, classify, make_session
from netmon.api import MetricMeta, MetricType, Part, Sample, Snapshot, SnmpParams, TargetRef

#: errors that fail a poll even after some data arrived
FATAL = frozenset({"auth", "config", "internal"})

BASE_META = (
    MetricMeta(
        "netmon_device_up", MetricType.GAUGE, "1 when the last poll of the device got answers."
    ),
    MetricMeta(
        "netmon_device_info",
        MetricType.GAUGE,
        "Device attributes (vendor, model, firmware, sys_name); join on (site, device).",
    ),
    MetricMeta(
        "netmon_device_reboots_total",
        MetricType.COUNTER,
        "Reboots seen since netmon started (uptime went backwards, not a TimeTicks wrap).",
    ),
)


@dataclass(slots=True)
class _Device:
    params: SnmpParams
    session: SnmpSession
    engine: Engine
    state: DeviceState


class SnmpCollector:
    """Polls devices described by :class:`SnmpParams`; keeps per-device state."""

    kind = "snmp"

    def __init__(self, profiles: Mapping[str, Profile] | None = None) -> None:
        self.profiles = dict(profiles if profiles is not None else builtin_profiles())
        self._devices: dict[str, _Device] = {}

    def metadata(self) -> Sequence[MetricMeta]:
        seen: dict[str, MetricMeta] = {m.name: m for m in BASE_META}
        for profile in self.profiles.values():
            for meta in profile.metric_meta():
                seen.setdefault(meta.name, meta)
        return list(seen.values())

    def forget(self, target: TargetRef) -> None:
        self._devices.pop(target.key, None)

    def _device(self, target: TargetRef, params: SnmpParams) -> _Device:
        current = self._devices.get(target.key)
        if current is not None and current.params == params:
            return current
        profiles = [self.profiles[name] for name in params.profiles]
        state = current.state if current is not None else DeviceState()
        device = _Device(
            params=params,
            session=make_session(params),
            engine=Engine(profiles, params.interval, params.max_label_values),
            state=state,
        )
        self._devices[target.key] = device
        return device

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        """Poll once. Device faults come back in the snapshot; this does not raise for them."""
        params: SnmpParams = settings
        started = time.time()
        t0 = time.monotonic()
        base = target.labels
        try:
            device = self._device(target, params)
        except PollFailed as exc:
            return self._failed(target, started, t0, exc.reason, exc.detail)
        walker = Walker(device.session, params)
        error: tuple[str, str] | None = None
        timer = asyncio.timeout(deadline)
        try:
            async with timer:
                await walker.run(device.engine.profiles)
        except TimeoutError as exc:
            if timer.expired() and walker.answered:
                error = (
                    "deadline",
                    f"answered, but the poll exceeded its deadline of {deadline:g}s",
                )
            elif timer.expired():
                error = ("timeout", f"no answer before the poll deadline of {deadline:g}s")
            else:
                error = classify(exc)
        except PollFailed as exc:
            error = (exc.reason, exc.detail)
        except Exception as exc:
            error = classify(exc)
        raw: RawPoll = walker.raw
        if error is not None and (not walker.answered or error[0] in FATAL):
            # nothing usable arrived, or the credentials are wrong: the poll failed
            self._devices.pop(target.key, None)  # a fresh session next time
            return self._failed(target, started, t0, *error)
        if error is not None:
            # it answered, then stopped: keep what arrived, mark the rest failed
            for key, reason in list(raw.failed_tables.items()):
                if reason == "pending":
                    raw.failed_tables[key] = error[0]
        mapped = device.engine.map(raw, device.state, base)
        parts = [Part("up", [Sample("netmon_device_up", base, 1.0)]), *mapped.parts]
        snapshot = Snapshot(
            target=target,
            started=started,
            duration=time.monotonic() - t0,
            parts=parts,
            dropped=dict(mapped.dropped),
        )
        if raw.failed_tables:
            failed = ", ".join(f"{k} ({v})" for k, v in sorted(raw.failed_tables.items()))
            snapshot.error_detail = f"tables failed: {failed}"
        return snapshot

    def _failed(
        self, target: TargetRef, started: float, t0: float, reason: str, detail: str
    ) -> Snapshot:
        return Snapshot(
            target=target,
            started=started,
            duration=time.monotonic() - t0,
            parts=[Part("up", [Sample("netmon_device_up", target.labels, 0.0)])],
            error=reason,
            error_detail=detail,
        )
