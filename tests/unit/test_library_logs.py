"""Issue 12: bad input gets a clear error, not a flood of stack traces. aiohttp logs every
malformed request it refuses with a traceback of its own; netmon routes those records
through structlog as one line each (the error's type and message, capped)."""

from __future__ import annotations

import asyncio
import io
import json

from aiohttp import web

from netmon import logging as nlog
from netmon.tools.simulate import free_tcp_port

HOSTILE = (
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
)


async def ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_a_refused_request_is_one_line_without_a_traceback() -> None:
    out = io.StringIO()
    nlog.configure("info", "json", out)
    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_tcp_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        for request in HOSTILE:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)
            assert b" 400 " in answer.split(b"\r\n")[0]
            writer.close()
    finally:
        await runner.cleanup()
    lines = out.getvalue().splitlines()
    assert "Traceback" not in out.getvalue()
    records = [json.loads(line) for line in lines]
    refused = [r for r in records if r["event"].startswith("Error handling request")]
    assert len(refused) == len(HOSTILE)
    assert all(len(r["error"]) <= 300 and "\n" not in r["error"] for r in refused)
    assert refused[0]["error"].startswith("BadStatusLine")
