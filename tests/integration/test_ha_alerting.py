"""High availability: everything doubled, and a cut is still one page.

Two sides, as deploy/prometheus/prometheus-ha.yml draws them. Each side runs a netmon
replica of shard "berau" (its own MQTT client id, so its own persistent session at the
broker) and a Prometheus run from that file (replica=a / b: the project's alert rules,
timings scaled 1/60) that scrapes its own side's netmon and alerts to both
Alertmanagers, which gossip on loopback. The fibre to a POP is cut (a relay in front of
its and its villages' agents goes silent): both replicas see the POP down with the
villages behind it (the same `root`), both Prometheus fire UplinkDown, both
Alertmanagers hold it as one alert (the replica label is dropped before it is sent), and
one notification reaches the receiver. Then side a's netmon dies: side a pages the NOC
about its own netmon, and the page of the cut, still confirmed by side b, stays active:
not inhibited by it, as it would be without the side in its instance label.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
import yaml

from collectors.mqtt.broker import Mosquitto, start_mosquitto
from netmon.tools import stack
from netmon.tools.simulate import SnmpSim, free_tcp_port, free_udp_port, relay
from tests.alerting_harness import Received, alertmanager_setup, fake_receivers
from tests.ha_stack import (
    free_gossip_port,
    replica_config,
    rule_files,
    start_clustered_alertmanager,
)
from tests.harness import Running, start
from tests.helpers import async_wait_for, parse_exposition, power_mqtt, values

pytestmark = pytest.mark.integration

SIDES = ("a", "b")
VILLAGES = 3
SHARD, INSTANCE = "berau", "netmon-berau"
PEER_TIMEOUT = 2.0  # s an Alertmanager waits for the one before it to send
#: after a notification: long enough for the second member to have sent its own, had
#: the gossip not told it; and for a group_interval (2 s in the test config) more
SETTLE = 2 * PEER_TIMEOUT + 3.0


def _device(did: str, port: int) -> dict[str, Any]:
    return {
        "id": did,
        "address": "127.0.0.1",
        "port": port,
        "profiles": ["system"],
        "snmp": {"community": {"file": "secrets/routeros"}},
    }


def write_replica(root: Path, side: str, agents: int, direct: int, broker: int) -> Path:
    """Side ``side``'s netmon.yaml and site files: the same on both sides but for the MQTT
    client id (netmon appends the shard: netmon-a-berau, netmon-b-berau). The POP and its
    villages answer on ``agents`` (the relay that is cut), the Puskesmas, which reports
    its battery by MQTT, on ``direct`` (a site whose power source answers is reachable:
    behind the cut it would be degraded, not unreachable)."""
    (root / "sites").mkdir(parents=True)
    (root / "secrets").mkdir()
    (root / "secrets" / "routeros").write_text("routeros\n")
    berau = {
        "kabupaten": "Berau",
        "sites": [
            {"id": "pop", "name": "POP Tanjung Redeb", "kind": "pop",
             "devices": [_device("rtr-pop", agents)]},
            *(
                {"id": f"desa-{i}", "name": f"Kantor Desa {i}", "kind": "village_office",
                 "kecamatan": "Tanjung Redeb", "uplinks": ["pop"],
                 "devices": [_device(f"rtr-desa-{i}", agents)]}
                for i in range(1, VILLAGES + 1)
            ),
            {"id": "puskesmas", "name": "Puskesmas Tanjung Redeb", "kind": "puskesmas",
             "devices": [_device("rtr-puskesmas", direct)]},
        ],
    }  # fmt: skip
    # the other shard's kabupaten: in the config, not run by this test
    paser = {
        "kabupaten": "Paser",
        "sites": [{"id": "desa-paser", "name": "Desa Paser", "kind": "village_office",
                   "devices": [_device("rtr-paser", free_udp_port())]}],
    }  # fmt: skip
    main = {
        "defaults": {
            "interval": "1s",
            "deadline": "1s",
            "snmp": {"timeout": "300ms", "retries": 0},
        },
        "status": {"hold": 0, "interval": "200ms"},
        "shards": [
            {"name": SHARD, "kabupaten": ["Berau"]},
            {"name": "paser", "kabupaten": ["Paser"]},
        ],
        "mqtt": power_mqtt(broker, f"netmon-{side}"),
    }
    (root / "sites" / "berau.yaml").write_text(yaml.safe_dump(berau))
    (root / "sites" / "paser.yaml").write_text(yaml.safe_dump(paser))
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    return root / "netmon.yaml"


@dataclass
class Side:
    netmon: Running
    prometheus: str
    alertmanager: str
    stop_netmon: contextlib.AsyncExitStack


@dataclass
class Pair:
    sides: dict[str, Side]
    received: Received
    broker: Mosquitto
    cut: Any  # the relay in front of the POP's and villages' agents


async def get_json(url: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as resp:
        return await resp.json()


async def query(prom: str, promql: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = (await get_json(f"{prom}/api/v1/query", query=promql))["data"][
        "result"
    ]
    return result


async def am_alerts(am: str, alertname: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = await get_json(
        f"{am}/api/v2/alerts", filter=f'alertname="{alertname}"'
    )
    return alerts


async def metrics(running: Running) -> str:
    return (await running.get("/metrics"))[1]


@contextlib.contextmanager
def alertmanagers(tmp: Path) -> Iterator[tuple[list[str], int]]:
    """Two Alertmanagers with the project's config (receivers pointed at the fake
    endpoints, timings shortened: tests/alerting_harness.py), gossiping with each other;
    their URLs and the fake endpoints' port."""
    setup = alertmanager_setup(tmp)
    cluster = [free_gossip_port(), free_gossip_port()]
    with contextlib.ExitStack() as members:
        urls = [
            members.enter_context(
                start_clustered_alertmanager(
                    setup.config,
                    tmp / f"am-{side}",
                    free_tcp_port(),
                    cluster[i],
                    [cluster[1 - i]],
                    PEER_TIMEOUT,
                )
            ).url
            for i, side in enumerate(SIDES)
        ]
        yield urls, setup.hook_port


@contextlib.asynccontextmanager
async def ha_pair(
    tmp: Path, snmpsim: SnmpSim, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Pair]:
    (tmp / "am").mkdir()
    cut, agents = await relay(snmpsim.port, lambda _n: "send")
    monkeypatch.setenv("NETMON_SHARD", SHARD)  # both sides run replicas of one shard
    rules = rule_files(tmp / "rules", 1 / 60)
    async with contextlib.AsyncExitStack() as outer:
        if cut.transport is not None:
            outer.callback(cut.transport.close)
        broker = outer.enter_context(start_mosquitto(tmp / "broker"))
        ams, hook = outer.enter_context(alertmanagers(tmp / "am"))
        received = await outer.enter_async_context(fake_receivers(hook))
        sides = {}
        for side in SIDES:
            stop = contextlib.AsyncExitStack()
            outer.push_async_callback(stop.aclose)
            config = write_replica(tmp / f"netmon-{side}", side, agents, snmpsim.port, broker.port)
            running = await stop.enter_async_context(start(config))
            prom_config = replica_config(
                side,
                netmon=running.base.removeprefix("http://"),
                instance=INSTANCE,
                rules=rules,
                interval=1.0,
                alertmanagers=[url.removeprefix("http://") for url in ams],
            )
            prom = await asyncio.to_thread(
                functools.partial(
                    stack.prometheus_with, prom_config, tmp / f"prom-{side}", free_tcp_port()
                )
            )
            outer.callback(prom.stop)
            sides[side] = Side(running, prom.url, ams[SIDES.index(side)], stop)
        yield Pair(sides, received, broker, cut)


async def _after(deadline: float) -> bool:
    return time.monotonic() >= deadline


async def wait_out(seconds: float) -> None:
    """Let ``seconds`` pass (for notifications that must NOT come), bounded."""
    deadline = time.monotonic() + seconds
    await async_wait_for(lambda: _after(deadline), seconds + 5, f"{seconds:g} s to pass")


async def test_a_cut_is_one_page_with_two_of_everything(
    tmp_path: Path, snmpsim: SnmpSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ha_pair(tmp_path, snmpsim, monkeypatch) as pair:
        a, b = pair.sides["a"], pair.sides["b"]

        async def ready() -> bool:
            for one in (a, b):
                _, body = await one.netmon.get("/api/v1/sites")
                if {s["status"] for s in json.loads(body)["data"]} != {"up"}:
                    return False
                if values(await metrics(one.netmon), "netmon_mqtt_connected") != [1.0]:
                    return False
                if not await query(one.prometheus, 'netmon_site_status{status="up"} == 1'):
                    return False
                status = await get_json(f"{one.alertmanager}/api/v2/status")
                if status["cluster"]["status"] != "ready" or len(status["cluster"]["peers"]) != 2:
                    return False
            return True

        await async_wait_for(ready, 40, "both sides up, scraped, on the broker; AMs clustered")

        # each replica has its own persistent session (clean start off: c0) at the broker,
        # and neither throws the other off
        log = pair.broker.log
        for side in SIDES:
            assert re.search(rf"New client connected .* as netmon-{side}-{SHARD} \(p5, c0,", log)
        assert "already connected, closing old connection" not in log
        async with aiomqtt.Client("127.0.0.1", pair.broker.port, identifier="pub") as pub:
            await pub.publish("prov/berau/puskesmas/power", b'{"v": 12.4}', qos=1)

        async def both_heard() -> bool:
            texts = [await metrics(s.netmon) for s in (a, b)]
            return all(values(t, "netmon_power_battery_voltage_volts") == [12.4] for t in texts)

        await async_wait_for(both_heard, 10, "the telemetry on both replicas")

        pair.cut.dark = True  # the fibre to the POP is cut
        cut = time.monotonic()

        async def paged() -> bool:
            return bool(pair.received.webhooks)

        await async_wait_for(paged, 40, "the page for the cut")
        paged_after = time.monotonic() - cut

        async def settled() -> bool:
            # SiteUnreachable has SiteDown's for:; once it fires on both sides, any
            # other page of the cut would have fired too
            for one in (a, b):
                firing = await query(
                    one.prometheus, 'ALERTS{alertname="SiteUnreachable", alertstate="firing"}'
                )
                if len(firing) != VILLAGES:
                    return False
            return True

        await async_wait_for(settled, 30, "every village's alert firing on both sides")
        await wait_out(SETTLE)

        # both replicas name the POP as the root of every village, as each other does
        roots = [
            {
                (dict(labels)["site"], dict(labels)["root"])
                for name, labels in parse_exposition(await metrics(s.netmon))
                if name == "netmon_site_root"
            }
            for s in (a, b)
        ]
        assert roots[0] == roots[1]
        assert {(f"desa-{i}", "pop") for i in range(1, VILLAGES + 1)} <= roots[0]
        # both sides fired it, both Alertmanagers hold it once, without the replica label
        for one in (a, b):
            firing = await query(one.prometheus, 'ALERTS{alertname="UplinkDown"}')
            assert [f["metric"]["alertstate"] for f in firing] == ["firing"]
            (held,) = await am_alerts(one.alertmanager, "UplinkDown")
            assert held["labels"]["root"] == "pop"
            assert "replica" not in held["labels"]
            assert held["labels"]["instance"] == INSTANCE
        # ... and one notification was sent: the kabupaten's receiver, webhook and Telegram
        pages = [name for name, _ in pair.received.webhooks]
        assert pages == ["berau"], pair.received.webhooks
        (page,) = pair.received.to("berau")
        assert {x["labels"]["alertname"] for x in page["alerts"]} == {"UplinkDown"}
        assert len(pair.received.telegram) == 1
        assert "UPLINK PUTUS" in pair.received.telegram[0][1]["text"]
        print(f"\ncut -> one page after {paged_after:.1f} s")

        # side a's netmon dies: side a pages the NOC about it, naming the side, and the
        # cut's page, which side b still confirms, is not held back by it
        await a.stop_netmon.aclose()

        async def stale_paged() -> bool:
            return bool(pair.received.to("noc"))

        await async_wait_for(stale_paged, 30, "the NOC paged about side a's netmon")
        (stale,) = pair.received.to("noc")
        (alert,) = stale["alerts"]
        assert alert["labels"]["alertname"] == "MonitoringStale"
        assert alert["labels"]["instance"] == f"{INSTANCE}/a"
        for one in (a, b):
            (held,) = await am_alerts(one.alertmanager, "UplinkDown")
            assert held["status"]["state"] == "active", held["status"]
        assert [name for name, _ in pair.received.webhooks] == ["berau", "noc"]
        assert len(pair.received.telegram) == 1
