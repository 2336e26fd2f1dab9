"""The service collector: runs a device's checks concurrently within the poll deadline
and turns their outcomes into one snapshot."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from collectors.service.params import (
    DnsProbe,
    HttpProbe,
    Probe,
    RtspProbe,
    ServiceParams,
    TcpProbe,
    TlsProbe,
)
from collectors.service.probes.dns import resolve
from collectors.service.probes.http import http
from collectors.service.probes.outcome import REASONS, Outcome, failed
from collectors.service.probes.rtsp import options
from collectors.service.probes.sockets import tcp, tls
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
}


class ServiceCollector:
    """Polls devices described by :class:`ServiceParams`; keeps failure counts per target."""

    kind = "service"

    def __init__(self) -> None:
        self._failures: dict[str, Counter[tuple[str, str]]] = {}

    def metadata(self) -> Sequence[MetricMeta]:
        return META

    def forget(self, target: TargetRef) -> None:
        self._failures.pop(target.key, None)

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        """Run every check at once, each within min(its timeout, ``deadline``). Device
        faults come back in the snapshot; this does not raise for them."""
        params: ServiceParams = settings
        started = time.time()
        t0 = time.monotonic()
        results = await run_checks(params.checks, deadline)
        failures = self._failures.setdefault(target.key, Counter())
        names = {c.name for c in params.checks}
        for key in [k for k in failures if k[0] not in names]:
            del failures[key]  # a check renamed or removed
        parts: list[Part] = []
        problems: list[tuple[str, Outcome]] = []
        for check, (outcome, took) in zip(params.checks, results, strict=True):
            labels = (*target.labels, ("check", check.name), ("kind", check.kind))
            if outcome.reason is not None:
                failures[(check.name, outcome.reason)] += 1
                problems.append((check.name, outcome))
            samples = [
                Sample("netmon_service_up", labels, 1.0 if outcome.up else 0.0),
                Sample("netmon_service_duration_seconds", labels, round(took, 6)),
            ]
            samples += [
                Sample(
                    "netmon_service_failures_total",
                    (*labels, ("reason", reason)),
                    float(failures[(check.name, reason)]),
                )
                for reason in REASONS
            ]
            parts.append(Part(f"check:{check.name}", samples))
            if isinstance(check, TlsProbe):
                parts.append(_certificate(target, check, outcome))
        # whether the device answers is netmon_target_up{collector="service"}: the SNMP
        # collector owns netmon_device_up, and one device may have both
        any_up = len(problems) < len(params.checks)
        detail = _scrub("; ".join(f"{n} ({o.reason}: {o.detail})" for n, o in problems), params)
        snapshot = Snapshot(target, started, time.monotonic() - t0, parts)
        if not any_up:
            snapshot.error = problems[0][1].reason
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
    try:
        async with asyncio.timeout(limit):
            outcome = await RUNNERS[type(check)](check)
    except TimeoutError:
        outcome = failed("timeout", f"no answer within {limit:g}s")
    except Exception as exc:  # a probe's bug must not fail the device's other checks
        outcome = failed("error", f"probe failed: {type(exc).__name__}")
    return outcome, time.monotonic() - t0


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
