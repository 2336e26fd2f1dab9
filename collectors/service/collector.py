"""The service collector: runs a device's checks concurrently within the poll deadline
and turns their outcomes into one snapshot."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from collectors.service.params import (
    DnsProbe,
    HttpProbe,
    Probe,
    RtspProbe,
    ServiceParams,
    TcpProbe,
    ThroughputProbe,
    TlsProbe,
)
from collectors.service.probes.dns import resolve
from collectors.service.probes.http import http
from collectors.service.probes.outcome import REASONS, Outcome, failed
from collectors.service.probes.rtsp import options
from collectors.service.probes.sockets import tcp, tls
from collectors.service.probes.throughput import fetch
from collectors.service.schedule import Run, Schedule
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
        "netmon_service_up",
        MetricType.GAUGE,
        "1 when the service check passed at its last poll, 0 when it failed; probed from "
        "the netmon host.",
    ),
    MetricMeta(
        "netmon_service_duration_seconds",
        MetricType.GAUGE,
        "Time the service check took at its last poll, until it passed or failed.",
    ),
    MetricMeta(
        "netmon_service_failures_total",
        MetricType.COUNTER,
        "Failed service checks since netmon started, by reason: refused, timeout, tls, dns, "
        "status, mismatch, error.",
    ),
    MetricMeta(
        "netmon_tls_certificate_expiry_timestamp_seconds",
        MetricType.GAUGE,
        "Not-after of the certificate a tls check saw, as Unix time; also when its "
        "verification failed (expired, untrusted).",
    ),
    MetricMeta(
        "netmon_service_throughput_bytes_per_second",
        MetricType.GAUGE,
        "Delivered throughput of the last run of a throughput check: body bytes over the "
        "time from the response's headers to the last byte counted (x 8 for bit/s); absent "
        "after a failed run.",
    ),
    MetricMeta(
        "netmon_service_throughput_received_bytes",
        MetricType.GAUGE,
        "Body bytes the last run of a throughput check counted (at most its max_bytes).",
    ),
    MetricMeta(
        "netmon_service_throughput_timestamp_seconds",
        MetricType.GAUGE,
        "When the last successful run of a throughput check ended, as Unix time.",
    ),
)
#: the longest error detail a snapshot carries
MAX_DETAIL = 1024

Runner = Callable[[Any], Awaitable[Outcome]]
RUNNERS: dict[type[Probe], Runner] = {
    TcpProbe: tcp,
    HttpProbe: http,
    TlsProbe: tls,
    DnsProbe: resolve,
    RtspProbe: options,
    ThroughputProbe: fetch,
}


class ServiceCollector:
    """Polls devices described by :class:`ServiceParams`; keeps failure counts per target
    and when each throughput check ran last (:class:`Schedule`)."""

    kind = "service"

    def __init__(self) -> None:
        self._failures: dict[str, Counter[tuple[str, str]]] = {}
        self._schedule = Schedule()

    def metadata(self) -> Sequence[MetricMeta]:
        return META

    def forget(self, target: TargetRef) -> None:
        self._failures.pop(target.key, None)
        self._schedule.forget(target.key)

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        """Run every check at once (a throughput check only when it is due), each within
        min(its timeout, ``deadline``). Device faults come back in the snapshot; this does
        not raise for them. Whether the device is up comes from the checks that are not
        throughput checks: those measure, and run only once per ``every``."""
        params: ServiceParams = settings
        started = time.time()
        t0 = time.monotonic()
        key = target.key
        due = [
            c
            for c in params.checks
            if not isinstance(c, ThroughputProbe) or self._schedule.due(key, c, started)
        ]
        ran_now = await run_checks(due, deadline)
        results = {c.name: r for c, r in zip(due, ran_now, strict=True)}
        failures = self._failures.setdefault(key, Counter())
        names = {c.name for c in params.checks}
        for stale in [k for k in failures if k[0] not in names]:
            del failures[stale]  # a check renamed or removed
        self._schedule.keep(key, names)
        parts: list[Part] = []
        problems: list[tuple[str, Outcome]] = []
        live_up = False
        for check in params.checks:
            labels = (*target.labels, ("check", check.name), ("kind", check.kind))
            ran = results.get(check.name)
            if ran is not None and ran[0].reason is not None:
                failures[(check.name, ran[0].reason)] += 1
            counters = [
                Sample(
                    "netmon_service_failures_total",
                    (*labels, ("reason", reason)),
                    float(failures[(check.name, reason)]),
                )
                for reason in REASONS
            ]
            if isinstance(check, ThroughputProbe):
                if ran is not None:
                    self._schedule.ran(key, check.name, Run(*ran, time.time()))
                last = self._schedule.last(key, check.name)
                parts.append(_throughput(target, check, last, counters))
                if last is not None and last.outcome.reason is not None:
                    problems.append((check.name, last.outcome))
                continue
            assert ran is not None  # every other check runs at every poll
            outcome, took = ran
            live_up = live_up or outcome.up
            if outcome.reason is not None:
                problems.append((check.name, outcome))
            samples = [
                Sample("netmon_service_up", labels, 1.0 if outcome.up else 0.0),
                Sample("netmon_service_duration_seconds", labels, round(took, 6)),
                *counters,
            ]
            parts.append(Part(f"check:{check.name}", samples))
            if isinstance(check, TlsProbe):
                parts.append(_certificate(target, check, outcome))
        # whether the device answers is netmon_target_up{collector="service"}: the SNMP
        # collector owns netmon_device_up, and one device may have both
        detail = _scrub("; ".join(f"{n} ({o.reason}: {o.detail})" for n, o in problems), params)
        snapshot = Snapshot(target, started, time.monotonic() - t0, parts)
        if not live_up:
            live = {c.name for c in params.checks if not isinstance(c, ThroughputProbe)}
            snapshot.error = next(o.reason for n, o in problems if n in live)
            snapshot.error_detail = f"every check failed: {detail}"[:MAX_DETAIL]
        elif problems:
            snapshot.error_detail = f"checks failed: {detail}"[:MAX_DETAIL]
        return snapshot


async def run_checks(checks: Sequence[Probe], deadline: float) -> list[tuple[Outcome, float]]:
    """(outcome, seconds taken) of each check, in order; all of them by ``deadline``."""
    tasks = [asyncio.create_task(_timed(c, min(c.timeout, deadline))) for c in checks]
    try:
        done, _ = await asyncio.wait(tasks, timeout=deadline)
    finally:
        late = [t for t in tasks if not t.done()]
        for task in late:
            task.cancel()
        if late:  # a probe ignoring its cancel must not hold the poll for long
            await asyncio.wait(late, timeout=1.0)
    return [
        t.result() if t in done else (failed("timeout", "poll deadline reached"), deadline)
        for t in tasks
    ]


async def _timed(check: Probe, limit: float) -> tuple[Outcome, float]:
    t0 = time.monotonic()
    if isinstance(check, ThroughputProbe):  # it ends itself, with what it measured, by then
        check = replace(check, timeout=limit)
    try:
        async with asyncio.timeout(limit):
            outcome = await RUNNERS[type(check)](check)
    except TimeoutError:
        outcome = failed("timeout", f"no answer within {limit:g}s")
    except Exception as exc:  # a probe's bug must not fail the device's other checks
        outcome = failed("error", f"probe failed: {type(exc).__name__}")
    return outcome, time.monotonic() - t0


def _throughput(
    target: TargetRef, check: ThroughputProbe, last: Run | None, counters: list[Sample]
) -> Part:
    """A throughput check's series: its last run's result until the next run (none before
    the first), the delivered rate and bytes only after a successful one."""
    samples = list(counters)
    if last is not None:
        labels = (*target.labels, ("check", check.name), ("kind", check.kind))
        samples += [
            Sample("netmon_service_up", labels, 1.0 if last.outcome.up else 0.0),
            Sample("netmon_service_duration_seconds", labels, round(last.took, 6)),
        ]
        rate = last.outcome.bytes_per_second
        if rate is not None:
            plain = (*target.labels, ("check", check.name))
            received = float(last.outcome.received)
            samples += [
                Sample("netmon_service_throughput_bytes_per_second", plain, round(rate, 1)),
                Sample("netmon_service_throughput_received_bytes", plain, received),
                Sample("netmon_service_throughput_timestamp_seconds", plain, round(last.ended, 3)),
            ]
    return Part(f"check:{check.name}", samples)


def _certificate(target: TargetRef, check: TlsProbe, outcome: Outcome) -> Part:
    """Its own part: a poll that sees no certificate keeps the last date for a while (the
    store's retention), so a short outage does not make the expiry series flicker."""
    name = f"cert:{check.name}"
    if outcome.not_after is None:
        return Part(name, [], ok=False, error=outcome.reason)
    labels = (*target.labels, ("check", check.name))
    return Part(
        name,
        [Sample("netmon_tls_certificate_expiry_timestamp_seconds", labels, outcome.not_after)],
    )


def _scrub(text: str, params: ServiceParams) -> str:
    """Defence in depth: no detail is built from a secret, and none may leave with one."""
    for secret in sorted(params.secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
