"""HTTP API on the collectors' event loop: /metrics, health, reload, targets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from netmon.daemon import Daemon
from netmon.http_json import sliced_success
from netmon.inventory import Device
from netmon.metrics_answer import CONTENT_TYPES, negotiate
from netmon.report import api as report_api
from netmon.status import page as status_page
from netmon.status import view as status_view
from netmon.store import TargetEntry

DAEMON: web.AppKey[Daemon] = web.AppKey("daemon", Daemon)


#: /metrics is written in slices of this size, each after the last one drained: a slow
#: scraper holds at most about this much of the answer in its socket's buffer, and the
#: answer itself is one copy shared by every scrape. Each slice costs a turn of the event
#: loop: at 64 KB a plain answer of 10,000 devices (170 MB) took 2,600 turns, 2.7-5 s of
#: a busy loop; at 1 MB the kernel takes what its socket buffer holds per turn
CHUNK = 1024 * 1024


#: scrapes answered at once; more wait their turn (each in flight holds socket buffers and
#: its own small parts of the answer: 200 scrapers must not cost 200 of them)
SCRAPES_AT_ONCE = 16
SCRAPES: web.AppKey[asyncio.Semaphore] = web.AppKey("scrapes", asyncio.Semaphore)


async def metrics(request: web.Request) -> web.StreamResponse:
    """The ready answer (netmon.metrics_answer) in the format and encoding asked for."""
    daemon = request.app[DAEMON]
    variant = negotiate(
        request.headers.get("Accept", ""), request.headers.get("Accept-Encoding", "")
    )
    scraper = f"{request.remote} {request.headers.get('User-Agent', '')}"
    async with request.app[SCRAPES]:
        ready = await daemon.answers.get(variant, scraper)
        tail = daemon.tail(variant.format)
        size, chunks = ready.answer(variant.gzip, tail)
        daemon.metrics.scrape_bytes.set(size)
        headers = {"Content-Type": CONTENT_TYPES[variant.format], "Vary": "Accept, Accept-Encoding"}
        if variant.gzip:
            headers["Content-Encoding"] = "gzip"
        response = web.StreamResponse(headers=headers)
        response.content_length = size
        await response.prepare(request)
        async for piece in slices(chunks, CHUNK):
            await response.write(piece)
        await response.write_eof()
        return response


async def slices(parts: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes | memoryview]:
    """The parts in writes of ``size`` bytes (the last one shorter): small parts joined
    (an answer is a part per family: for a one-device answer of 40 KB that was ~50
    writes, each a trip through aiohttp, 0.45 ms of a 1.1 ms scrape), big ones cut."""
    held: list[bytes | memoryview] = []
    count = 0
    async for part in parts:
        view = memoryview(part)
        while count + len(view) >= size:  # a write's worth: what is held, topped up
            take = size - count
            yield view[:take] if not held else b"".join([*held, view[:take]])
            held, count, view = [], 0, view[take:]
        if view:
            held.append(view)
            count += len(view)
    if held:
        yield b"".join(held)


async def healthy(_request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    if request.app[DAEMON].ready:
        return web.Response(text="Ready\n")
    return web.Response(status=503, text="Not ready\n")


async def reload(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    assert daemon.config is not None
    if not daemon.config.main.http.reload_enabled:
        return web.json_response(
            {"status": "error", "error": "reload over HTTP is disabled (http.reload_enabled)"},
            status=403,
        )
    if not daemon.ready:  # the port is claimed before start(): nothing to reload yet
        return web.json_response({"status": "error", "error": "starting"}, status=503)
    ok, errors = await daemon.reload()
    if ok:
        return web.json_response({"status": "success"})
    return web.json_response({"status": "error", "errors": errors}, status=400)


def _iso(ts: float) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else None


def _described(daemon: Daemon, device: Device | None) -> dict[str, Any]:
    """What each collector kind shows of the device's settings (SNMP: its profiles)."""
    out: dict[str, Any] = {}
    kinds = daemon.registry.kinds()
    for kind, settings in device.polls if device is not None else ():
        describe = kinds[kind].describe if kind in kinds else None
        if describe is not None:
            out.update(describe(settings))
    return out


async def targets(request: web.Request) -> web.Response:
    """Each target: state, last poll, last error, duration. No credentials, ever."""
    daemon = request.app[DAEMON]
    inventory = daemon.config.inventory if daemon.config else None

    def row(entry: TargetEntry) -> dict[str, Any]:
        device = inventory.devices.get(entry.target.device) if inventory else None
        return {
            "site": entry.target.site,
            "device": entry.target.device,
            "collector": entry.target.collector,
            "address": device.address if device else None,
            **_described(daemon, device),
            "interval_seconds": entry.interval,
            "state": entry.state,
            "polls": entry.polls,
            "last_poll": _iso(entry.last_started),
            "last_success": _iso(entry.last_success),
            "last_duration_seconds": round(entry.last_duration, 6),
            "last_error": entry.last_error,
            "last_error_detail": entry.last_error_detail or None,
            "errors": dict(entry.errors),
        }

    entries = sorted(
        daemon.store.entries().values(), key=lambda e: (e.target.site, e.target.device)
    )
    return await sliced_success(entries, row)


async def sites(request: web.Request) -> web.Response:
    """Every site: status, cause, upstream, root, since. ?kabupaten= and ?status= filter."""
    daemon = request.app[DAEMON]
    kabupaten = request.query.get("kabupaten")
    status = request.query.get("status")
    if status is not None:
        status = status.strip().lower()
        if status not in status_view.STATUSES:
            return web.json_response(
                {
                    "status": "error",
                    "error": f"unknown status {status[:40]!r}; one of "
                    + ", ".join(status_view.STATUSES),
                },
                status=400,
            )
    if daemon.status is None or daemon.config is None:
        return web.json_response({"status": "success", "data": []})
    inv, engine = daemon.config.inventory, daemon.status
    chosen = [
        sid
        for sid, site in sorted(inv.exported_sites.items())
        if (kabupaten is None or site.kabupaten == kabupaten)
        and (status is None or engine.published[sid].status == status)
    ]

    def row(sid: str) -> dict[str, Any] | None:
        if sid not in engine.published:  # removed by a reload since
            return None
        return status_view.site_json(inv, engine, sid)

    return await sliced_success(chosen, row)


async def outages(request: web.Request) -> web.Response:
    """Open outages, biggest first, with the sites each takes down."""
    daemon = request.app[DAEMON]
    data = status_view.outages_json(daemon.status) if daemon.status is not None else []
    return web.json_response({"status": "success", "data": data})


async def report(request: web.Request) -> web.Response:
    """The month's figures per contract and kabupaten (netmon/report/api.py)."""
    daemon = request.app[DAEMON]
    return await report_api.handle(request, daemon.config, daemon.status)


async def index(request: web.Request) -> web.Response:
    """The status page (HTML, no JavaScript); HEAD too."""
    return status_page.respond(request, request.app[DAEMON])


def make_app(daemon: Daemon, middlewares: Iterable[Middleware] = ()) -> web.Application:
    """``middlewares``: run in front of every route, present and future (netmon run: the
    connection guard, then the web config's auth and headers)."""
    app = web.Application(middlewares=list(middlewares))
    app[DAEMON] = daemon
    app[SCRAPES] = asyncio.Semaphore(SCRAPES_AT_ONCE)
    app.router.add_get("/", index)  # add_get serves HEAD as well
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_get("/api/v1/targets", targets)
    app.router.add_get("/api/v1/sites", sites)
    app.router.add_get("/api/v1/outages", outages)
    app.router.add_get("/api/v1/report", report)
    for route in daemon.registry.routes:  # the collectors' own (e.g. /snmp)
        app.router.add_get(route.path, route.factory(daemon.directory, daemon.metrics.registry))
    return app
