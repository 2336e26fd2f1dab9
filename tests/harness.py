"""An in-process netmon daemon with its HTTP API, for integration tests."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from collectors import REGISTRY
from netmon import logging as nlog
from netmon.daemon import Daemon
from netmon.http import make_app
from netmon.tools.simulate import free_tcp_port


class Running:
    def __init__(self, daemon: Daemon, base: str, logs: io.StringIO, config: Path) -> None:
        self.daemon = daemon
        self.base = base
        self.logs = logs
        self.config = config
        self.http = aiohttp.ClientSession()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as resp:
            return resp.status, await resp.text()

    async def post(self, path: str) -> tuple[int, Any]:
        async with self.http.post(self.base + path) as resp:
            return resp.status, await resp.json()

    async def targets(self) -> dict[str, dict[str, Any]]:
        _, body = await self.get("/api/v1/targets")
        return {t["device"]: t for t in json.loads(body)["data"]}

    async def all_polled(self, devices: set[str]) -> bool:
        got = await self.targets()
        return set(got) == devices and all(t["polls"] >= 1 for t in got.values())


@contextlib.asynccontextmanager
async def start(config: Path) -> AsyncIterator[Running]:
    logs = io.StringIO()
    nlog.configure("info", "json", logs)
    daemon = Daemon(config, REGISTRY)
    daemon.load_initial()
    port = free_tcp_port()
    runner = web.AppRunner(make_app(daemon))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await daemon.start()
    running = Running(daemon, f"http://127.0.0.1:{port}", logs, config)
    try:
        yield running
    finally:
        await running.http.close()
        await daemon.stop()
        await runner.cleanup()
