"""The SNMP polling collector: fetch with the walker, map with the engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from gufo.snmp.aio import SnmpSession

from collectors.snmp.engine import DeviceState, Engine, RawPoll
from collectors.snmp.params import SnmpParams
from collectors.snmp.profile import Profile, builtin_profiles
from collectors.snmp.walker import PollFailed, Walker, classify, is_decoder_panic, make_session
from netmon.api import MetricMeta, MetricType, Part, Sample, Snapshot, TargetRef

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
        "Reboots seen since netmon started: uptime went backwards (not a TimeTicks wrap), or "
        "is shorter than the time since the last good poll (a reboot while unreachable).",
    ),
    MetricMeta(
        "netmon_device_samples",
        MetricType.GAUGE,
        "Samples the last answered poll of the device produced (a firmware upgrade that moved "
        "a table shows as a sudden drop).",
    ),
    MetricMeta(
        "netmon_snmp_resets_total",
        MetricType.COUNTER,
        "32-bit counters whose running total restarted from the raw value, by reason: reboot, "
        "discontinuity (ifCounterDiscontinuityTime moved), cleared (went down by more than the "
        "line could carry), ambiguous (the line could carry 2^32 in the time, or its speed is "
        "unknown: the number of wraps is unknowable).",
    ),
    MetricMeta(
        "netmon_snmp_hc_fallbacks_total",
        MetricType.COUNTER,
        "64-bit (HC) counters found fake and replaced by their 32-bit twin, by reason: "
        "hc_stuck (0 while the 32-bit one moves), hc_wraps_32 (wrapped at 2^32).",
    ),
    MetricMeta(
        "netmon_snmp_insecure_override",
        MetricType.GAUGE,
        "1 for a device on the closed intranet polled with SNMP v1/v2c or v3 without privacy, "
        "allowed only by its explicit snmp.insecure_on_intranet (the rule: SNMPv3 authPriv).",
    ),
    MetricMeta(
        "netmon_interface_wrap_risk",
        MetricType.GAUGE,
        "1 for an interface read from 32-bit counters whose speed x poll interval can exceed "
        "2^32 bytes: a wrap between polls may be missed. Give the device HC counters (SNMPv2c).",
    ),
)
#: reasons every SNMP target shows from 0, so increase() works from the first drop
DROP_REASONS = ("decode", "implausible", "sentinel")


_log = structlog.get_logger("netmon.snmp")


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
        # the state outlives new settings unless the profiles (the meaning of its keys) changed
        keep = current is not None and current.params.profiles == params.profiles
        state = current.state if current is not None and keep else DeviceState()
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
        except BaseException as exc:
            if not is_decoder_panic(exc):
                raise  # a cancel, an interpreter exit
            error = ("decode", f"undecodable reply ({exc})")
        raw: RawPoll = walker.raw
        if error is not None and (not walker.answered or error[0] in FATAL):
            # nothing usable arrived, or the credentials are wrong: the poll failed. A fresh
            # session next time; the device's state (counter totals, last uptime, names)
            # stays, so a reboot while it was unreachable is counted when it answers again
            device.session = make_session(params)
            return self._failed(target, started, t0, *error)
        if error is not None:
            # it answered, then stopped: keep what arrived, mark the rest failed
            for key, reason in list(raw.failed_tables.items()):
                if reason == "pending":
                    raw.failed_tables[key] = error[0]
        mapped = device.engine.map(raw, device.state, base, t0)
        for ifname in mapped.wrap_risks:
            _log.warning(
                "interface can wrap its 32-bit counters between two polls",
                site=target.site,
                device=target.device,
                ifname=ifname,
                interval=params.interval,
            )
        count = sum(len(p.samples) for p in mapped.parts)
        parts = [
            Part("up", [Sample("netmon_device_up", base, 1.0)]),
            Part("samples", [Sample("netmon_device_samples", base, float(count))]),
            *mapped.parts,
        ]
        if params.insecure:
            parts.append(Part("insecure", [Sample("netmon_snmp_insecure_override", base, 1.0)]))
        dropped = dict.fromkeys(DROP_REASONS, 0)
        dropped.update(mapped.dropped)
        snapshot = Snapshot(
            target=target,
            started=started,
            duration=time.monotonic() - t0,
            parts=parts,
            dropped=dropped,
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
