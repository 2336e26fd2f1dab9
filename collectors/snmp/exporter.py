"""``/snmp?target=DEVICE&module=PROFILE[,..]``: snmp_exporter's multi-target pattern, for
a migration, limited to the inventory.

``target`` must name a device of the current config (its id, or its address) that netmon
polls with SNMP; it is polled with that device's own credentials and policy (version,
user or community, timeouts, retries, bulk size), never with anything the request says.
``module`` picks profiles (snmp_exporter's modules): the device's own, or built-in ones;
without it, the device's own. Each (device, modules) keeps its state between scrapes like
a scheduled poll (32-bit counters go on summing, reboots are seen), and a scrape that
comes while one is in flight waits for it. Anything else is refused (400) and counted in
``netmon_snmp_exporter_requests_total{result}``; no secret is ever in an answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from collectors.snmp.catalogue import catalogue_of_builtin
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.params import SnmpParams
from netmon.api import Directory, RouteSpec, TargetRef
from netmon.store import Store

KIND = "snmp"
#: the collector label of these answers' health series (not the scheduled poll's)
ROUTE_KIND = "snmp_exporter"
#: /snmp polls running at once; more wait their turn
AT_ONCE = 8
#: (device, modules) kept at most: each holds a device's state between scrapes
MAX_KEPT = 1024
RESULTS = ("ok", "failed", "unknown_target", "unknown_module", "bad_request")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _refuse(counter: Counter, result: str, message: str) -> web.Response:
    counter.labels(result).inc()
    return web.Response(status=400, text=f"{message}\n")


class SnmpRoute:
    """The handler, with the state of every (device, modules) it polled."""

    def __init__(self, directory: Directory, registry: CollectorRegistry) -> None:
        self.directory = directory
        self.requests = Counter(
            "netmon_snmp_exporter_requests",
            "Requests to /snmp by result: ok, failed (the device did not answer), "
            "unknown_target (not a device netmon polls with SNMP), unknown_module, "
            "bad_request.",
            ["result"],
            registry=registry,
        )
        for result in RESULTS:
            self.requests.labels(result)
        self._running = asyncio.Semaphore(AT_ONCE)
        #: (device, modules) -> its lock and collector (its state between scrapes)
        self._kept: OrderedDict[str, tuple[asyncio.Lock, SnmpCollector]] = OrderedDict()

    def _device(self, wanted: str) -> tuple[str, str, SnmpParams] | None:
        for device in self.directory.devices():
            params = device.polls.get(KIND)
            if isinstance(params, SnmpParams) and wanted in (device.id, device.address):
                return device.site, device.id, params
        return None

    async def handle(self, request: web.Request) -> web.Response:
        query = request.query
        if set(query) - {"target", "module"} or len(query.getall("target", [])) != 1:
            return _refuse(self.requests, "bad_request", "give exactly one target (and module)")
        found = self._device(query["target"])
        if found is None:
            message = "target: not a device in the inventory that netmon polls with SNMP"
            return _refuse(self.requests, "unknown_target", message)
        site, device, params = found
        own = {p.name: p for p in params.specs}
        catalogue = catalogue_of_builtin().valid
        names = [n for m in query.getall("module", []) for n in m.split(",") if n]
        unknown = [n for n in names if n not in own and n not in catalogue]
        if unknown:
            message = f"module: unknown profile(s) {', '.join(sorted(set(unknown)))[:200]}"
            return _refuse(self.requests, "unknown_module", message)
        if names and "system" not in names:
            names.insert(0, "system")
        specs = tuple(own.get(n) or catalogue[n] for n in names) if names else params.specs
        wanted = dataclasses.replace(params, profiles=tuple(p.name for p in specs), specs=specs)
        if names:  # the modules asked for, exactly: no detected profiles on top
            wanted = dataclasses.replace(wanted, detect_from=None)
        lock, collector = self._keep(f"{site}/{device}/{','.join(wanted.profiles)}")
        target = TargetRef(site, device, ROUTE_KIND)
        async with lock, self._running:
            deadline = _deadline(request, params.interval)
            snapshot = await collector.poll(target, wanted, deadline=deadline)
        store = Store([*collector.metadata(), *snapshot.meta])
        store.apply(snapshot, interval=params.interval)
        self.requests.labels("ok" if snapshot.ok else "failed").inc()
        return web.Response(body=store.render_bytes(), headers={"Content-Type": CONTENT_TYPE})

    def _keep(self, key: str) -> tuple[asyncio.Lock, SnmpCollector]:
        kept = self._kept.get(key)
        if kept is None:
            if len(self._kept) >= MAX_KEPT:  # the least recently scraped is forgotten
                self._kept.popitem(last=False)
            kept = self._kept[key] = (asyncio.Lock(), SnmpCollector())
        self._kept.move_to_end(key)
        return kept


def _deadline(request: web.Request, interval: float) -> float:
    """Prometheus's scrape timeout (its header) less a margin, else 10 s; never more than
    the device's interval."""
    try:
        given = float(request.headers.get("X-Prometheus-Scrape-Timeout-Seconds", "10.5"))
    except ValueError:
        given = 10.5
    return max(0.5, min(given - 0.5, interval))


def _factory(directory: Any, registry: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    return SnmpRoute(directory, registry).handle


#: /snmp, listed in the registry's routes
SNMP_ROUTE = RouteSpec(path="/snmp", factory=_factory)
