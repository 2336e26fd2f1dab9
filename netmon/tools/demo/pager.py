"""The demo's stand-in for the technicians' phones: Alertmanager's webhooks, printed.

Every receiver of the project's Alertmanager config posts here under its own name
(noc, a kabupaten's technicians, its coordinator), so the console shows who would
have been paged, with the alert's text in Bahasa Indonesia and in English.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web


def describe(receiver: str, payload: dict[str, Any]) -> list[str]:
    """One line per alert of a notification."""
    lines = []
    for alert in payload.get("alerts", []):
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        state = "RESOLVED" if alert.get("status") == "resolved" else "FIRING"
        summary = notes.get("summary") or labels.get("alertname", "?")
        english = notes.get("summary_en")
        text = f"page -> {receiver}: {state} {labels.get('alertname', '?')}: {summary}"
        lines.append(text + (f"  [en: {english}]" if english and english != summary else ""))
    return lines


async def serve_pager(port: int, say: Callable[[str], None]) -> None:
    """Serve the webhook endpoint on 127.0.0.1:``port`` until cancelled."""

    async def hook(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="not JSON")
        for line in describe(request.match_info["receiver"], payload):
            say(" ".join(line.split()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{receiver}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()  # serve until the demo stops
    finally:
        await runner.cleanup()
