"""MQTT telemetry: power, sensors and push-only devices, at least once, idempotent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from collectors.mqtt.config import MqttConfig
from collectors.mqtt.runner import MqttMetrics, MqttRunner
from collectors.mqtt.sources import META, Sources
from netmon.api import (
    POWER_EVIDENCE,
    Directory,
    MetricMeta,
    MetricType,
    Role,
    Sink,
    StreamSpec,
    cancel_and_wait,
)


class MqttCollector:
    kind = "mqtt"

    def __init__(self, sink: Sink, directory: Directory, registry: CollectorRegistry) -> None:
        self.sink = sink
        self.site_exists = directory.site_exists
        self.site_elsewhere = directory.site_elsewhere
        self.metrics = MqttMetrics(registry)
        self.config: MqttConfig | None = None
        self.base = Path()
        self.runner: MqttRunner | None = None
        self.sources: Sources | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def metadata(self) -> Sequence[MetricMeta]:
        metas = list(META)
        if self.config is not None:
            for sub in self.config.subscriptions:
                for m in sub.metrics:
                    help_text = m.help or f"{m.field} from MQTT subscription {sub.name}"
                    metas.append(MetricMeta(m.name, MetricType(m.type), help_text))
        return metas

    def configure(self, section: Any | None, base: Path) -> None:
        config: MqttConfig | None = section
        if config == self.config and base == self.base and self._tasks:
            return
        self._cancel()
        if self.sources is not None:
            self.sources.drop_sites(lambda _site: False)  # new subscriptions, new sources
        if self.runner is not None:
            with contextlib.suppress(KeyError):
                self.metrics.connected.remove(self.runner.broker)  # old broker: no series
        self.config, self.base = config, base
        if config is None:
            self.runner = self.sources = None
            return
        self.sources = Sources(config, self.sink, self.site_exists, elsewhere=self.site_elsewhere)
        self.runner = MqttRunner(config, base, self.sources, self.metrics)
        self._tasks = [
            asyncio.create_task(self.runner.run(), name="mqtt"),
            asyncio.create_task(self.runner.expire_loop(), name="mqtt-expire"),
        ]

    def sites_changed(self) -> None:
        if self.sources is not None:
            self.sources.drop_sites(self.site_exists)

    def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def stop(self) -> None:
        tasks = self._tasks
        self._tasks = []
        await cancel_and_wait(tasks)


def _provides(section: MqttConfig) -> frozenset[str]:
    """The metric names the subscriptions map payload fields to."""
    return frozenset(m.name for sub in section.subscriptions for m in sub.metrics)


#: its section of netmon.yaml, `mqtt:`
#: pushed telemetry: a site is alive while it arrives; mappings may carry power evidence
MQTT = StreamSpec(
    section="mqtt",
    model=MqttConfig,
    factory=MqttCollector,
    provides=_provides,
    kind="mqtt",
    role=Role.TELEMETRY,
    evidence=POWER_EVIDENCE,
)

__all__ = ["MQTT", "MqttCollector", "MqttConfig"]
