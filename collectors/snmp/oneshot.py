"""Poll one device once and return its exposition text (`netmon poll`, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.detect import candidates
from collectors.snmp.params import SnmpParams, V3User
from collectors.snmp.profile import Profile
from netmon.api import Registry, Secret, Snapshot, TargetRef
from netmon.store import Store


async def poll_text(*args: Any, **kwargs: Any) -> str:
    """One poll, as exposition text (the benchmark's and the tests' entry point)."""
    _snapshot, text = await poll_once(*args, **kwargs)
    return text


async def poll_once(
    address: str,
    port: int = 161,
    profiles: list[str] | tuple[str, ...] = ("system", "if_mib"),
    community: str | None = None,
    *,
    version: str = "2c",
    user: V3User | None = None,
    timeout: float = 2.0,  # noqa: ASYNC109 - the SNMP request timeout, not a deadline
    retries: int = 1,
    max_repetitions: int = 25,
    deadline: float = 30.0,
    site: str = "adhoc",
    device: str = "adhoc",
    registry: Registry,
    specs: tuple[Profile, ...] = (),
    detect_from: tuple[Profile, ...] | None = None,
    on_detect: Callable[[str], None] | None = None,
) -> tuple[Snapshot, str]:
    """One poll through the same collector, store and renderer the daemon uses;
    ``registry``: where the SNMP collector comes from (collectors.REGISTRY); ``specs``:
    the profiles themselves (from a user's folder), else the built-in ones by name;
    ``detect_from``: detect (as for a device that names no profiles) among these, adding
    to ``profiles`` the ones whose rules match; ``on_detect`` gets what was detected and
    why, as text."""
    snmp = registry.collector_factory("snmp")({})
    params = SnmpParams(
        address=address,
        port=port,
        version=version,
        community=Secret(community) if community is not None else None,
        user=user,
        timeout=timeout,
        retries=retries,
        max_repetitions=max_repetitions,
        profiles=tuple(profiles),
        interval=deadline,
        specs=specs,
        detect_from=candidates(detect_from) if detect_from is not None else None,
    )
    target = TargetRef(site=site, device=device, collector="snmp")
    snapshot = await snmp.poll(target, params, deadline=deadline)
    detection = snmp.detection(target) if isinstance(snmp, SnmpCollector) else None
    if detection is not None and on_detect is not None:
        on_detect(detection.text())
    extra = [*specs, *(detection.profiles if detection is not None else ())]
    store = Store([*snmp.metadata(), *(m for p in extra for m in p.metric_meta())])
    store.apply(snapshot, interval=deadline)
    return snapshot, store.render()
