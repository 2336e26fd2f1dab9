"""HTTP API on the collectors' event loop: /metrics, health, reload, targets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from netmon.daemon import Daemon
from netmon.status import page as status_page
from netmon.status import view as status_view

DAEMON: web.AppKey[Daemon] = web.AppKey("daemon", Daemon)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: web.Request) -> web.Response:
    body = request.app[DAEMON].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


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


async def targets(request: web.Request) -> web.Response:
    """Each target: state, last poll, last error, duration. No credentials, ever."""
    daemon = request.app[DAEMON]
    inventory = daemon.config.inventory if daemon.config else None
    out: list[dict[str, Any]] = []
    for entry in daemon.store.entries().values():
        device = inventory.devices.get(entry.target.device) if inventory else None
        out.append(
            {
                "site": entry.target.site,
                "device": entry.target.device,
                "collector": entry.target.collector,
                "address": device.snmp.address if device else None,
                "profiles": list(device.snmp.profiles) if device else [],
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
        )
    out.sort(key=lambda t: (t["site"], t["device"]))
    return web.json_response({"status": "success", "data": out})


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
    inv = daemon.config.inventory
    data = [
        status_view.site_json(inv, daemon.status, sid)
        for sid, site in sorted(inv.exported_sites.items())
        if (kabupaten is None or site.kabupaten == kabupaten)
        and (status is None or daemon.status.published[sid].status == status)
    ]
    return web.json_response({"status": "success", "data": data})


async def outages(request: web.Request) -> web.Response:
    """Open outages, biggest first, with the sites each takes down."""
    daemon = request.app[DAEMON]
    data = status_view.outages_json(daemon.status) if daemon.status is not None else []
    return web.json_response({"status": "success", "data": data})


async def index(request: web.Request) -> web.Response:
    """The status page (HTML, no JavaScript); HEAD too."""
    return status_page.respond(request, request.app[DAEMON])


def make_app(daemon: Daemon) -> web.Application:
    app = web.Application()
    app[DAEMON] = daemon
    app.router.add_get("/", index)  # add_get serves HEAD as well
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_get("/api/v1/targets", targets)
    app.router.add_get("/api/v1/sites", sites)
    app.router.add_get("/api/v1/outages", outages)
    return app
