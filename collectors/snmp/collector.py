"""The SNMP polling collector: fetch with the walker, map with the engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from gufo.snmp.aio import SnmpSession

from collectors.snmp.detect import IDENTITY, Detection, Identity, detect, stale
from collectors.snmp.engine import DeviceState, Engine, Mapped, RawPoll
from collectors.snmp.params import SnmpParams
from collectors.snmp.peers import unambiguous
from collectors.snmp.profile import Profile, builtin_profiles
from collectors.snmp.walker import PollFailed, Walker, classify, is_decoder_panic, make_session
from netmon.api import Labels, MetricMeta, MetricType, Part, Sample, Snapshot, TargetRef

#: a poll's fault: (reason, detail), or None
Fault = tuple[str, str] | None
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
    MetricMeta(
        "netmon_device_profiles_info",
        MetricType.GAUGE,
        "The profiles netmon detected for a device that names none (from its sysObjectID and "
        "sysDescr, at the first poll and after a reboot or firmware change), and the rules "
        "that picked them.",
    ),
    MetricMeta(
        "netmon_poll_bytes_total",
        MetricType.COUNTER,
        "Bytes of SNMP datagrams to and from the device, by direction (sent, received): IP and "
        "UDP headers included, retries and failed polls too; estimated from the PDUs.",
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
    #: HELP/TYPE of families its profiles have and the collector's metadata lacks (a
    #: user's profile from profiles_dirs), sent with each snapshot
    meta: list[MetricMeta] = field(default_factory=list)
    #: the profiles detected for a device that names none (outlives failed polls)
    detection: Detection | None = None
    #: its backhaul peers, key -> device id (collectors.snmp.peers), once per settings
    peers: Mapping[str, str] = field(default_factory=dict)


class SnmpCollector:
    """Polls devices described by :class:`SnmpParams`; keeps per-device state."""

    kind = "snmp"

    def __init__(self, profiles: Mapping[str, Profile] | None = None) -> None:
        self.profiles = dict(profiles if profiles is not None else builtin_profiles())
        self._devices: dict[str, _Device] = {}
        self._known = {m.name for m in self.metadata()}

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
        profiles = list(params.specs) or [self.profiles[name] for name in params.profiles]
        # the state outlives new settings unless the profiles (the meaning of its keys) changed
        keep = current is not None and current.params.profiles == params.profiles
        keep = keep and current is not None and current.params.specs == params.specs
        state = current.state if current is not None and keep else DeviceState()
        # a detection outlives new settings that detect among the same profiles
        detection = None
        if current is not None and keep and params.detect_from is not None:
            same = current.params.detect_from == params.detect_from
            detection = current.detection if same else None
        if detection is not None:
            profiles = list(detection.profiles)
        device = _Device(
            params=params,
            session=make_session(params),
            engine=shared_engine(profiles, params.interval, params.max_label_values),
            state=state,
            meta=self._meta(profiles),
            detection=detection,
            # device.build dropped the keys of two devices; unambiguous keeps it so for
            # params made elsewhere, where dict() would pick one of the two
            peers=unambiguous(params.peers),
        )
        self._devices[target.key] = device
        return device

    def detection(self, target: TargetRef) -> Detection | None:
        """The profiles detected for a device that names none (None: not yet, or named)."""
        device = self._devices.get(target.key)
        return device.detection if device is not None else None

    def _meta(self, profiles: list[Profile]) -> list[MetricMeta]:
        return [m for p in profiles for m in p.metric_meta() if m.name not in self._known]

    async def _detect(self, device: _Device, target: TargetRef, deadline: float) -> None:
        """Pick the profiles of a device that names none, at its first poll and again after
        a reboot or a changed sysDescr/sysObjectID: one GET of the two. A failure fails the
        poll the first time; later, the last detection stands and the next poll tries again.
        """
        params, state = device.params, device.state
        candidates = params.detect_from
        trigger = stale(device.detection, state.reboots, state.facts)
        if candidates is None or trigger is None:
            return
        walker = Walker(device.session, params)
        error = await run_walk(walker, [IDENTITY], deadline)
        raw = walker.raw
        state.bytes_sent += walker.sent
        state.bytes_received += walker.received
        if error is not None or not walker.answered:
            device.session = make_session(params)
            if device.detection is None:
                reason, detail = error or ("timeout", "no answer to sysObjectID and sysDescr")
                raise PollFailed(reason, f"profile detection: {detail}")
            return
        profiles = list(params.specs) or [self.profiles[name] for name in params.profiles]
        found = detect(Identity.of(raw.scalars), candidates, profiles, state.reboots)
        _log.info(
            "profiles detected",
            site=target.site,
            device=target.device,
            profiles=",".join(found.names),
            reason=found.reason,
            trigger=trigger,
        )
        if device.detection is None or device.detection.names != found.names:
            # the state stays: profiles that stay keep their keys' meaning, new ones start
            device.engine = shared_engine(
                list(found.profiles), params.interval, params.max_label_values
            )
            device.meta = self._meta(list(found.profiles))
        device.detection = found

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        """Poll once. Device faults come back in the snapshot; this does not raise for them."""
        params: SnmpParams = settings
        started = time.time()
        t0 = time.monotonic()
        base = target.labels
        try:
            device = self._device(target, params)
            await self._detect(device, target, deadline)
        except PollFailed as exc:
            return self._failed(target, params, started, t0, exc.reason, exc.detail)
        walker = Walker(device.session, params, cache=device.state.slow, now=t0)
        error = await run_walk(walker, device.engine.profiles, deadline)
        raw: RawPoll = walker.raw
        device.state.bytes_sent += walker.sent
        device.state.bytes_received += walker.received
        if error is not None and (not walker.answered or error[0] in FATAL):
            # nothing usable arrived, or the credentials are wrong: the poll failed. A fresh
            # session next time; the device's state (counter totals, last uptime, names)
            # stays, so a reboot while it was unreachable is counted when it answers again
            device.session = make_session(params)
            return self._failed(target, params, started, t0, *error)
        if error is not None:
            # it answered, then stopped: keep what arrived, mark the rest failed
            for key, reason in list(raw.failed_tables.items()):
                if reason == "pending":
                    raw.failed_tables[key] = error[0]
        mapped = device.engine.map(raw, device.state, base, t0, device.peers)
        for ifname in mapped.wrap_risks:
            _log.warning(
                "interface can wrap its 32-bit counters between two polls",
                site=target.site,
                device=target.device,
                ifname=ifname,
                interval=params.interval,
            )
        extra = [Part("bytes", _bytes_samples(device, base))]
        if device.detection is not None:
            extra.append(Part("detect", [_profiles_info(device.detection, base)]))
        extra.extend(_insecure(params, base))
        snapshot = answered(target, mapped, started, t0, extra, device.meta)
        if raw.failed_tables:
            failed = ", ".join(f"{k} ({v})" for k, v in sorted(raw.failed_tables.items()))
            snapshot.error_detail = f"tables failed: {failed}"
        return snapshot

    def _failed(
        self,
        target: TargetRef,
        params: SnmpParams,
        started: float,
        t0: float,
        reason: str,
        detail: str,
    ) -> Snapshot:
        up = Part("up", [Sample("netmon_device_up", target.labels, 0.0)])
        return Snapshot(
            target=target,
            started=started,
            duration=time.monotonic() - t0,
            # the override is a fact of the config: it stays visible while the device is down
            parts=[up, *_insecure(params, target.labels)],
            error=reason,
            error_detail=detail,
        )


#: engines by (profiles by identity, interval, row cap): an engine holds only plans made
#: from its profiles (the device's state is passed in), so devices with the same ones
#: share it: 10,000 village routers, one engine (31 metric plans each, otherwise)
_ENGINES: dict[tuple[tuple[int, ...], float, int], Engine] = {}
_ENGINES_MAX = 1024


def shared_engine(profiles: list[Profile], interval: float, max_rows: int) -> Engine:
    key = (tuple(map(id, profiles)), interval, max_rows)
    engine = _ENGINES.get(key)
    if engine is None:  # the engine keeps its profiles: no id is reused while cached
        if len(_ENGINES) >= _ENGINES_MAX:
            _ENGINES.clear()
        engine = _ENGINES[key] = Engine(profiles, interval, max_rows)
    return engine


def _insecure(params: SnmpParams, base: Labels) -> list[Part]:
    if not params.insecure:
        return []
    return [Part("insecure", [Sample("netmon_snmp_insecure_override", base, 1.0)])]


def _bytes_samples(device: _Device, base: Labels) -> list[Sample]:
    state = device.state
    return [
        Sample("netmon_poll_bytes_total", (*base, ("direction", "sent")), float(state.bytes_sent)),
        Sample(
            "netmon_poll_bytes_total",
            (*base, ("direction", "received")),
            float(state.bytes_received),
        ),
    ]


def _profiles_info(detection: Detection, base: Labels) -> Sample:
    labels = (*base, ("profiles", ",".join(detection.names)), ("reason", detection.reason))
    return Sample("netmon_device_profiles_info", labels, 1.0)


async def run_walk(walker: Walker, profiles: Iterable[Profile], deadline: float) -> Fault:
    """Walk within ``deadline``; the fault, classified, or None. Never raises for a device's
    fault (a cancel or an interpreter exit still propagates)."""
    timer = asyncio.timeout(deadline)
    try:
        async with timer:
            await walker.run(profiles)
    except TimeoutError as exc:
        if timer.expired() and walker.answered:
            return ("deadline", f"answered, but the poll exceeded its deadline of {deadline:g}s")
        if timer.expired():
            return ("timeout", f"no answer before the poll deadline of {deadline:g}s")
        return classify(exc)
    except PollFailed as exc:
        return (exc.reason, exc.detail)
    except Exception as exc:
        return classify(exc)
    except BaseException as exc:
        if not is_decoder_panic(exc):
            raise  # a cancel, an interpreter exit
        return ("decode", f"undecodable reply ({exc})")
    return None


def answered(
    target: TargetRef,
    mapped: Mapped,
    started: float,
    t0: float,
    extra: Sequence[Part] = (),
    meta: Sequence[MetricMeta] = (),
) -> Snapshot:
    """The snapshot of a poll the device answered: up, the sample count, what the profiles
    mapped (``extra`` after it), every drop reason from 0."""
    base = target.labels
    count = sum(len(p.samples) for p in mapped.parts)
    parts = [
        Part("up", [Sample("netmon_device_up", base, 1.0)]),
        Part("samples", [Sample("netmon_device_samples", base, float(count))]),
        *mapped.parts,
        *extra,
    ]
    dropped = dict.fromkeys(DROP_REASONS, 0)
    dropped.update(mapped.dropped)
    duration = time.monotonic() - t0
    return Snapshot(target, started, duration, parts, dropped=dropped, meta=meta)
