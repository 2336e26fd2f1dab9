"""A real Alertmanager for tests: the project's config with its receivers pointed at
fake endpoints (webhooks, the Telegram API) that record what they were sent."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from netmon.tools.simulate import free_tcp_port
from netmon.tools.stack import start_service
from tests.helpers import ROOT

ALERTMANAGER = ROOT / "deploy" / "alertmanager"
TEMPLATES = ALERTMANAGER / "templates" / "netmon.tmpl"
RENDER = ALERTMANAGER / "render_secrets.py"
AM_BINARY = "/usr/bin/prometheus-alertmanager"
BOT_TOKEN = "4242424242:test-Token_for-the-mock"
WEBHOOK_TOKEN = "webhook-bearer-for-tests"
GROUP_INTERVAL = 2.0  # seconds, in the test copy of the config


def tool(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def route_of(*labels: str) -> str:
    """The receiver the shipped Alertmanager config routes these labels to (amtool)."""
    config = f"--config.file={ALERTMANAGER / 'alertmanager.yml'}"
    result = tool("amtool", "config", "routes", "test", config, *labels)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def render_secrets(source: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return tool("python3", str(RENDER), str(source), str(output), *extra)


@dataclass
class Received:
    """What the fake webhook endpoints and the fake Telegram API were sent."""

    webhooks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    telegram: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    bad_auth: list[str] = field(default_factory=list)

    def to(self, receiver: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.webhooks if name == receiver]

    def count(self) -> int:
        return len(self.webhooks) + len(self.telegram)


def fake_endpoints(received: Received) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        name = request.match_info["receiver"]
        # these two carry a bearer token read from a file
        bearer = request.headers.get("Authorization") == f"Bearer {WEBHOOK_TOKEN}"
        if name in ("noc", "intranet-webhook") and not bearer:
            received.bad_auth.append(name)
        received.webhooks.append((name, await request.json()))
        return web.Response(text="ok")

    async def telegram(request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await request.json()
        received.telegram.append((token, params))
        assert method == "sendMessage"
        message = {
            "message_id": len(received.telegram),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "supergroup"},
            "text": params.get("text", ""),
        }
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_post("/webhook/{receiver}", webhook)
    app.router.add_post("/telegram/bot{token}/{method}", telegram)
    return app


@dataclass
class AlertmanagerSetup:
    config: Path
    data: Path
    log: Path
    port: int
    hook_port: int


def alertmanager_setup(tmp_path: Path) -> AlertmanagerSetup:
    """The real config with its route tree and inhibit rules, receivers pointed at the
    test's own endpoints and timings shortened; rendered by render_secrets.py."""
    hook_port = free_tcp_port()
    hook = f"http://127.0.0.1:{hook_port}"
    token = tmp_path / "secrets" / "telegram-bot-token"
    bearer = tmp_path / "secrets" / "webhook-token"
    token.parent.mkdir()
    token.write_text(BOT_TOKEN + "\n")
    bearer.write_text(WEBHOOK_TOKEN)

    config = yaml.safe_load((ALERTMANAGER / "alertmanager.yml").read_text())
    config["templates"] = [str(TEMPLATES)]
    routes = [config["route"], *config["route"]["routes"]]
    for route in routes:
        route.update(group_wait="1s", group_interval=f"{GROUP_INTERVAL:g}s", repeat_interval="1h")
    for receiver in config["receivers"]:
        name = receiver["name"]
        receiver.pop("email_configs", None)  # no SMTP server here
        hooks = receiver.setdefault("webhook_configs", [{"send_resolved": True}])
        for hook_config in hooks:
            hook_config["url"] = f"{hook}/webhook/{name}"
            auth = hook_config.get("http_config", {}).get("authorization")
            if auth is not None:
                auth["credentials_file"] = str(bearer)
        for telegram in receiver.get("telegram_configs", []):
            assert telegram["bot_token"].startswith("@file:")
            telegram["bot_token"] = f"@file:{token}"
            telegram["api_url"] = f"{hook}/telegram"
    source = tmp_path / "alertmanager.yml"
    source.write_text(yaml.safe_dump(config, sort_keys=False))

    rendered = tmp_path / "run" / "alertmanager.yml"
    result = render_secrets(source, rendered)
    assert result.returncode == 0, result.stderr
    check = tool("amtool", "check-config", str(rendered))
    assert check.returncode == 0, check.stdout + check.stderr
    return AlertmanagerSetup(
        config=rendered,
        data=tmp_path / "data",
        log=tmp_path / "alertmanager.log",
        port=free_tcp_port(),
        hook_port=hook_port,
    )


@contextlib.asynccontextmanager
async def running_alertmanager(setup: AlertmanagerSetup) -> AsyncIterator[str]:
    if not os.access(AM_BINARY, os.X_OK):
        pytest.fail(f"{AM_BINARY} is not installed: run scripts/bootstrap.sh")
    url = f"http://127.0.0.1:{setup.port}"
    cmd = [
        AM_BINARY,
        f"--config.file={setup.config}",
        f"--storage.path={setup.data}",
        f"--web.listen-address=127.0.0.1:{setup.port}",
        "--cluster.listen-address=",
        "--log.level=info",
    ]
    # the demo's starter: ready on /-/ready, an early exit said with the log, stopped
    # with a bounded SIGTERM then SIGKILL
    start = functools.partial(start_service, "alertmanager", cmd, url, setup.log, 15.0)
    with await asyncio.to_thread(start):
        yield url


@contextlib.asynccontextmanager
async def fake_receivers(port: int) -> AsyncIterator[Received]:
    received = Received()
    runner = web.AppRunner(fake_endpoints(received))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield received
    finally:
        await runner.cleanup()
