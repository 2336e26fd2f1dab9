"""Maintenance by Alertmanager silence: DESIGN lets a site be in maintenance by an
inventory flag or by a silence, and leaves maintenance out of the SLA figures.

netmon reads Alertmanager's active silences (GET /api/v2/silences) every
``interval``. A silence is site maintenance when it silences *whole sites*: every
matcher is a positive one on ``site`` or ``kabupaten`` (a silence that names an
alertname, a device or a severity hushes some alerts, the site is still in service).
The silenced sites are exported as ``netmon_site_silenced{site}`` and left out of the
SLA by the recording rules. When Alertmanager cannot be read, the last known set holds
for ``hold`` and is then dropped, so an outage of Alertmanager does not keep sites out
of the SLA for ever.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from netmon.config.models import SilencesConfig
from netmon.tasks import cancel_and_wait

log = structlog.get_logger("netmon.silences")

#: what a body that is not Alertmanager's list of silences raises in maintenance_sites
BAD_BODY = (ValueError, TypeError, AttributeError, KeyError)
#: labels a whole-site silence may match on (every site alert carries both)
SITE_LABELS = ("site", "kabupaten")


def _matches(matcher: Mapping[str, Any], value: str) -> bool:
    wanted = str(matcher.get("value", ""))
    if matcher.get("isRegex"):
        return re.fullmatch(wanted, value) is not None  # Alertmanager anchors its regexes
    return value == wanted


def maintenance_sites(
    silences: Iterable[Mapping[str, Any]], kabupaten_of: Mapping[str, str]
) -> frozenset[str]:
    """The sites (``kabupaten_of``: site -> its kabupaten) that active whole-site
    silences cover. Silences with another matcher, a negative one or a regex Python
    cannot read are not maintenance."""
    covered: set[str] = set()
    for silence in silences:
        if silence.get("status", {}).get("state") != "active":
            continue
        matchers = silence.get("matchers") or []
        if not matchers or any(
            m.get("name") not in SITE_LABELS or m.get("isEqual", True) is False for m in matchers
        ):
            continue
        try:
            covered.update(
                site
                for site, kabupaten in kabupaten_of.items()
                if all(_matches(m, site if m["name"] == "site" else kabupaten) for m in matchers)
            )
        except re.error:
            log.warning("silence with a regex netmon cannot read", id=silence.get("id"))
    return frozenset(covered)


class SilenceWatcher:
    """Reads the silences in a loop; ``sites(now)`` is the current maintenance set."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reads = Counter(
            "netmon_alertmanager_silence_reads",
            "Reads of Alertmanager's silences by result (ok, error).",
            ["result"],
            registry=registry,
        )
        self.silenced = Gauge(
            "netmon_alertmanager_silenced_sites",
            "Sites in maintenance by an Alertmanager silence now.",
            registry=registry,
        )
        self.config: SilencesConfig | None = None
        self.kabupaten_of: dict[str, str] = {}
        self._sites: frozenset[str] = frozenset()
        self._read_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._started = False

    def sites(self, now: float) -> frozenset[str]:
        config = self.config
        if config is None or now - self._read_at > config.hold + config.interval:
            return frozenset()
        return self._sites

    def configure(self, config: SilencesConfig | None, kabupaten_of: Mapping[str, str]) -> None:
        """On every config load; reading starts with start() and restarts on a change."""
        self.kabupaten_of = dict(kabupaten_of)
        if config == self.config:
            return
        self._cancel()
        self.config = config
        self._sites, self._read_at = frozenset(), 0.0
        self.silenced.set(0)
        if self._started:
            self.start()

    def start(self) -> None:
        self._started = True
        if self.config is not None and self._task is None:
            self._task = asyncio.create_task(self._run(self.config), name="alertmanager-silences")

    def _cancel(self) -> None:
        """A changed config: the old reader goes; it holds nothing worth waiting for."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._started = False
        if task is not None:
            await cancel_and_wait([task])

    async def _run(self, config: SilencesConfig) -> None:
        timeout = aiohttp.ClientTimeout(total=config.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            failing = False
            while True:
                try:
                    async with http.get(f"{config.alertmanager}/api/v2/silences") as resp:
                        resp.raise_for_status()
                        body: list[dict[str, Any]] = await resp.json()
                    self._sites = maintenance_sites(body, self.kabupaten_of)
                    self._read_at = time.time()
                    self.reads.labels("ok").inc()
                    if failing:
                        log.info("alertmanager silences readable again")
                    failing = False
                except (aiohttp.ClientError, TimeoutError, *BAD_BODY) as exc:
                    self.reads.labels("error").inc()
                    if not failing:  # once per failure, not once per interval
                        log.warning(
                            "cannot read alertmanager silences; the last ones hold",
                            url=config.alertmanager,
                            error=repr(exc),
                            hold=config.hold,
                        )
                    failing = True
                self.silenced.set(len(self.sites(time.time())))
                await asyncio.sleep(config.interval)
