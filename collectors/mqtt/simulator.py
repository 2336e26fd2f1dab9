"""Simulated village power telemetry over MQTT, for the demo, tests and benchmarks.

Each site runs a small solar installation: panels follow a day/night curve
(local time, with passing clouds), a battery charges from them and feeds the
load (router, radio, sometimes a Puskesmas fridge), and some sites have grid
power that comes and goes. A site whose battery runs flat goes silent; its
agent's connection drops and the broker publishes its Last Will ("offline"),
exactly as a real agent behind a dead battery would.

Topics (the demo's and the example config's subscriptions):
  desa/{kabupaten}/{site}/power/mppt   JSON telemetry
  desa/{kabupaten}/{site}/status       "online" (retained) or the will "offline"
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiomqtt

from collectors.mqtt.session import drop_connection
from netmon.api import cancel_and_wait

WITA = 8 * 3600  # local time of East Kalimantan, for the sun


@dataclass(slots=True)
class SitePower:
    site: str
    kabupaten: str
    panel_watts: float
    battery_wh: float
    load_watts: float
    soc: float = 0.7  # state of charge, 0..1
    on_grid: bool = False
    grid_available: bool = False
    energy_wh: float = 0.0  # cumulative solar energy: a counter on the device
    seq: int = 0
    alive: bool = True
    #: scripted incident: the load grows (a dying battery drains faster)
    drain_factor: float = 1.0
    clouds: float = 1.0
    solar_watts_now: float = 0.0

    @property
    def voltage(self) -> float:
        # a 12 V lead-acid bank: 11.8 V empty .. 12.8 V full, more while charging
        return round(11.8 + self.soc + (0.5 if self.solar_watts_now > self.load_watts else 0.0), 2)

    def step(self, sim_time: float, dt: float, rng: random.Random) -> None:
        hour = ((sim_time + WITA) % 86400) / 3600
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 12))
        self.clouds = min(1.0, max(0.2, self.clouds + rng.uniform(-0.1, 0.1)))
        self.solar_watts_now = self.panel_watts * sun * self.clouds
        if self.grid_available and rng.random() < 0.01:
            self.on_grid = not self.on_grid  # PLN supply in villages comes and goes
        load = self.load_watts * self.drain_factor
        net = self.solar_watts_now - (0.0 if self.on_grid else load)
        self.soc = min(1.0, max(0.0, self.soc + net * dt / 3600 / self.battery_wh))
        self.energy_wh += self.solar_watts_now * dt / 3600
        if self.soc <= 0.0:
            self.alive = False

    def payload(self, now: float) -> bytes:
        self.seq += 1
        return json.dumps(
            {
                "seq": self.seq,
                "ts": round(now, 3),
                "battery": {"voltage": self.voltage, "soc": round(self.soc * 100, 1)},
                "solar": {"power": round(self.solar_watts_now, 1)},
                "load": {"power": round(self.load_watts * self.drain_factor, 1)},
                "grid": self.on_grid,
                "energy_wh": round(self.energy_wh, 3),
            }
        ).encode()


def make_sites(sites: Sequence[tuple[str, str]], seed: int = 7) -> list[SitePower]:
    rng = random.Random(seed)
    out = []
    for site, kabupaten in sites:
        grid = rng.random() < 0.4
        out.append(
            SitePower(
                site=site,
                kabupaten=kabupaten,
                panel_watts=rng.choice([200.0, 300.0, 450.0]),
                # sized for a night (12 h x 45 W < 60 % of 2400 Wh): only the script's
                # victim, whose load grows, runs flat
                battery_wh=rng.choice([2400.0, 3600.0]),
                load_watts=rng.uniform(25, 45),
                soc=rng.uniform(0.6, 0.95),
                grid_available=grid,
                on_grid=grid,
            )
        )
    return out


class TelemetrySimulator:
    """Publishes every site's telemetry each ``interval`` real seconds.

    ``speed`` is simulated seconds per real second: at 720 a day passes in two
    minutes and the demo shows sunset, night and a battery running flat.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sites: Sequence[tuple[str, str]],
        *,
        interval: float = 5.0,
        speed: float = 1.0,
        seed: int = 7,
        start: float | None = None,
        on_dead: Callable[[str], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.sites = make_sites(sites, seed)
        self.interval = interval
        self.speed = speed
        self.rng = random.Random(seed)
        self.sim_time = time.time() if start is None else start
        self.published = 0
        #: called with the site when its battery runs flat (the demo cuts its devices too)
        self.on_dead = on_dead
        self._agents: dict[str, asyncio.Task[None]] = {}
        self._queues: dict[str, asyncio.Queue[bytes | None]] = {}
        #: set while the site's uplink works: its agent can reach the broker
        self._online = {site.site: asyncio.Event() for site in self.sites}
        for event in self._online.values():
            event.set()

    def site(self, name: str) -> SitePower:
        return next(s for s in self.sites if s.site == name)

    def cut_power(self, name: str, drain: float = 40.0) -> None:
        """Scripted incident: the grid is gone and the load drains the battery fast."""
        site = self.site(name)
        site.grid_available = site.on_grid = False
        site.drain_factor = drain

    def isolate(self, names: Sequence[str]) -> None:
        """Scripted incident: the sites' uplink is gone; their agents lose the broker
        (it publishes their wills) and wait, still measuring, until reconnect()."""
        for name in names:
            if name in self._online and self._online[name].is_set():
                self._online[name].clear()
                if name in self._queues:
                    self._queues[name].put_nowait(None)

    def reconnect(self, names: Sequence[str]) -> None:
        for name in names:
            if name in self._online:
                self._online[name].set()

    async def run(self, duration: float | None = None) -> None:
        for site in self.sites:
            queue: asyncio.Queue[bytes | None] = asyncio.Queue()
            self._queues[site.site] = queue
            self._agents[site.site] = asyncio.create_task(self._agent(site, queue))
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while deadline is None or time.monotonic() < deadline:
                now = time.time()
                self.sim_time += self.interval * self.speed
                for site in self.sites:
                    if not site.alive:
                        continue
                    site.step(self.sim_time, self.interval * self.speed, self.rng)
                    payload = site.payload(now) if site.alive else None
                    if payload is None and self.on_dead is not None:
                        self.on_dead(site.site)
                    if payload is None or self._online[site.site].is_set():
                        self._queues[site.site].put_nowait(payload)
                await asyncio.sleep(self.interval)  # the telemetry period itself, not a sync
        finally:
            await cancel_and_wait(self._agents.values())

    async def _agent(self, site: SitePower, queue: asyncio.Queue[bytes | None]) -> None:
        """One site's agent: its own connection with a Last Will, like the real ones.

        When the battery is flat the agent dies for good: the connection ends
        without a goodbye (the broker publishes the will) and nothing reconnects.
        """
        base = f"desa/{site.kabupaten}/{site.site}"
        will = aiomqtt.Will(f"{base}/status", b"offline", qos=1, retain=True)
        while site.alive:
            await self._online[site.site].wait()  # cut off: no way to the broker
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier=f"agent-{site.site}", will=will, keepalive=10
                ) as client:
                    await client.publish(f"{base}/status", b"online", qos=1, retain=True)
                    while True:
                        payload = await queue.get()
                        if payload is None:
                            drop_connection(client)
                            break
                        await client.publish(f"{base}/power/mppt", payload, qos=1)
                        self.published += 1
            except aiomqtt.MqttError:
                if not site.alive:
                    return  # the connection died with the battery, as intended
                await asyncio.sleep(1.0)  # broker away: retry like an agent would
