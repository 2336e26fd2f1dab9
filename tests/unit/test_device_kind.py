"""Issue 11, item 1: a collector kind that brings its own per-device settings runs
through config, scheduler, status and /metrics with no edit under netmon/.

The kind "echo" exists only here: its block is validated by its own model (with
file:line:col errors), it builds its own poll settings, and its result counts as
evidence that the site is alive, like a probe.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from collectors import REGISTRY
from netmon.api import (
    BlockContext,
    BlockError,
    DeviceKind,
    MetricMeta,
    MetricType,
    Part,
    Registry,
    Sample,
    SecretRef,
    Snapshot,
    Strict,
    TargetRef,
)
from netmon.config import ConfigErrors, load
from netmon.daemon import Daemon
from tests.helpers import async_wait_for, values

ECHO_UP = MetricMeta("netmon_echo_up", MetricType.GAUGE, "1 when the echo answered.")


class EchoBlock(Strict):
    answer: bool = True
    delay: float = Field(default=0.0, ge=0, le=1)
    token: SecretRef | None = None


class EchoCollector:
    """Answers what its settings say: no network at all."""

    kind = "echo"

    def __init__(self) -> None:
        self.answers: dict[str, bool] = {}  # device -> override, set by the test

    def metadata(self) -> Sequence[MetricMeta]:
        return [ECHO_UP]

    async def poll(self, target: TargetRef, settings: Any, deadline: float) -> Snapshot:
        up = self.answers.get(target.device, settings["answer"])
        sample = Sample(ECHO_UP.name, target.labels, 1.0 if up else 0.0)
        error = None if up else "timeout"
        return Snapshot(target, time.time(), 0.0, [Part("echo", [sample])], error=error)

    def forget(self, target: TargetRef) -> None:
        return None


def build(block: EchoBlock, ctx: BlockContext) -> dict[str, Any]:
    if block.delay > 0.5 and ctx.address.startswith("127."):
        raise BlockError(("delay",), "loopback answers at once: no delay above 0.5")
    token = ctx.resolve(block.token, ("token",)) if block.token is not None else None
    return {"answer": block.answer, "address": ctx.address, "token": token}


@pytest.fixture
def echo() -> EchoCollector:
    return EchoCollector()


@pytest.fixture
def registry(echo: EchoCollector) -> Registry:
    """netmon's collectors and the echo kind, listed here as collectors/__init__.py
    lists netmon's own."""
    spec = DeviceKind(kind="echo", key="echo", model=EchoBlock, build=build)
    return Registry(
        polling={**REGISTRY.polling, "echo": lambda _options: echo},
        streams=REGISTRY.streams,
        device_kinds=[*REGISTRY.device_kinds, spec],
    )


def write(root: Path, device: str) -> Path:
    (root / "sites").mkdir(exist_ok=True)
    (root / "netmon.yaml").write_text(
        "inventory: sites/*.yaml\ndefaults: {interval: 1s, deadline: 1s}\nstatus: {hold: 0s}\n"
    )
    (root / "sites" / "berau.yaml").write_text(
        "kabupaten: Berau\n"
        "sites:\n"
        "  - id: cctv-pasar\n"
        "    name: CCTV Pasar Tanjung Redeb\n"
        "    kind: public_area\n"
        "    devices:\n"
        f"      - {device}\n"
    )
    return root / "netmon.yaml"


def test_a_block_of_a_new_kind_is_validated_at_its_line(tmp_path: Path, registry: Registry) -> None:
    path = write(tmp_path, "{id: cam-1, address: 127.0.0.1, profiles: [], echo: {answr: true}}")
    with pytest.raises(ConfigErrors, match=r"berau.yaml:7:\d+: sites.0.devices.0.echo.answr"):
        load(path, registry)


def test_a_block_that_cannot_run_is_an_error_inside_it(tmp_path: Path, registry: Registry) -> None:
    path = write(tmp_path, "{id: cam-1, address: 127.0.0.1, profiles: [], echo: {delay: 0.9}}")
    with pytest.raises(ConfigErrors, match=r"berau.yaml:7:\d+: sites.0.devices.0.echo.delay: "):
        load(path, registry)


def test_a_device_watched_only_by_the_new_kind_is_a_device(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECHO_TOKEN", "s3cret-t0ken")
    device = "{id: cam-1, address: 127.0.0.1, profiles: [], echo: {token: {env: ECHO_TOKEN}}}"
    loaded = load(write(tmp_path, device), registry)
    ((kind, settings),) = loaded.inventory.devices["cam-1"].polls
    assert kind == "echo"
    assert settings["address"] == "127.0.0.1"
    assert settings["token"].reveal() == "s3cret-t0ken"
    assert "s3cret" not in repr(settings)


async def test_the_new_kind_runs_through_scheduler_status_and_metrics(
    tmp_path: Path, echo: EchoCollector, registry: Registry
) -> None:
    config = write(tmp_path, "{id: cam-1, address: 127.0.0.1, profiles: [], echo: {}}")
    daemon = Daemon(config, registry)
    daemon.load_initial()
    await daemon.start()
    try:

        async def echoed() -> bool:
            return values(daemon.store.render(), "netmon_echo_up") == [1.0]

        def status() -> str:
            assert daemon.status is not None
            return daemon.status.published["cctv-pasar"].status

        async def up() -> bool:
            return status() == "up"

        async def down() -> bool:
            return status() == "down"

        await async_wait_for(echoed, 10, "the echo polled")
        assert values(daemon.store.render(), "netmon_target_up", collector="echo") == [1.0]
        await async_wait_for(up, 10, "the camera's site up")
        echo.answers["cam-1"] = False  # the camera stops answering: the site is down
        assert daemon.scheduler.poll_now(TargetRef("cctv-pasar", "cam-1", "echo").key)
        await async_wait_for(down, 10, "the camera's site down")
    finally:
        await daemon.stop()
