"""Two shards of one province in-process: each site exported once, an uplink in one
shard decides "unreachable" in the other, and outage sizes add up across shards."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml

from collectors.mqtt.broker import start_mosquitto
from netmon.tools.simulate import SnmpSim, free_udp_port
from tests.harness import Running, start
from tests.helpers import async_wait_for, power_mqtt, values

pytestmark = pytest.mark.integration


def _dev(did: str, port: int) -> dict[str, Any]:
    return {
        "id": did,
        "address": "127.0.0.1",
        "port": port,
        "profiles": ["system"],
        "snmp": {"community": {"file": "secrets/routeros"}},
    }


def province(root: Path, pop_port: int, village_port: int) -> Path:
    """Kota: the POP. Desa: two villages behind the POP. Each side's routers answer on
    its port (a port nobody serves: dark)."""
    (root / "sites").mkdir(parents=True)
    (root / "secrets").mkdir()
    (root / "secrets" / "routeros").write_text("routeros\n")
    kota = {
        "kabupaten": "Kota",
        "sites": [
            {"id": "pop", "name": "POP", "kind": "pop", "devices": [_dev("rtr-pop", pop_port)]}
        ],
    }
    desa = {
        "kabupaten": "Desa",
        "sites": [
            {
                "id": f"desa-{i}",
                "name": f"Desa {i}",
                "kind": "village_office",
                "uplinks": ["pop"],
                "devices": [_dev(f"rtr-desa-{i}", village_port)],
            }
            for i in (1, 2)
        ],
    }
    main = {
        "listen": "127.0.0.1:9800",
        "defaults": {"interval": "1s", "deadline": "1s", "snmp": {"timeout": "300ms"}},
        "status": {"hold": "0s"},
        "shards": [
            {"name": "kota", "kabupaten": ["Kota"]},
            {"name": "desa", "kabupaten": ["Desa"]},
        ],
    }
    (root / "sites" / "kota.yaml").write_text(yaml.safe_dump(kota))
    (root / "sites" / "desa.yaml").write_text(yaml.safe_dump(desa))
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    return root / "netmon.yaml"


async def metrics(running: Running) -> str:
    return (await running.get("/metrics"))[1]


async def test_each_site_is_exported_by_one_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a cut at the POP: it and the villages behind it are dark (villages that still
    # answered would be reachable after all: degraded, once their next poll succeeds)
    dark = free_udp_port()
    config = province(tmp_path, dark, dark)
    monkeypatch.setenv("NETMON_SHARD", "desa")
    async with start(config) as desa:
        monkeypatch.setenv("NETMON_SHARD", "kota")
        async with start(config) as kota:

            async def settled() -> bool:
                text = await metrics(desa)
                return values(text, "netmon_site_status", site="desa-1", status="unreachable") == [
                    1.0
                ] and values(
                    await metrics(kota), "netmon_site_status", site="pop", status="down"
                ) == [1.0]

            await async_wait_for(settled, 20, "pop down in its shard, villages unreachable")
            desa_text, kota_text = await metrics(desa), await metrics(kota)
    # the desa shard polled the POP (that is how it knows) but exports nothing of it
    assert not values(desa_text, "netmon_site_status", site="pop", status="down")
    assert not values(desa_text, "netmon_target_up", device="rtr-pop")
    assert values(desa_text, "netmon_site_root", site="desa-2", root="pop") == [1.0]
    # outage sizes add up: the POP itself in its shard, its two villages in the other
    assert values(kota_text, "netmon_outage_sites", root="pop") == [1.0]
    assert values(desa_text, "netmon_outage_sites", root="pop") == [2.0]
    assert values(kota_text, "netmon_shard_info", shard="kota") == [1.0]
    assert values(desa_text, "netmon_shard_info", shard="desa") == [1.0]
    assert not values(kota_text, "netmon_site_status", site="desa-1", status="unreachable")


async def test_mqtt_shards_each_hear_their_own_sites(tmp_path: Path, snmpsim: SnmpSim) -> None:
    """One broker, one config: the narrowed shard (mqtt_topics) is only sent its own
    kabupaten's messages; the other hears everything and drops desa's as other_shard."""
    with start_mosquitto(tmp_path / "broker") as broker:
        config = province(tmp_path / "cfg", free_udp_port(), snmpsim.port)
        main = yaml.safe_load(config.read_text())
        main["shards"][1]["mqtt_topics"] = {"kabupaten": ["desa"]}
        main["mqtt"] = power_mqtt(broker.port, "netmon")
        config.write_text(yaml.safe_dump(main))
        async with contextlib.AsyncExitStack() as stack:
            shards: dict[str, Running] = {}
            for name in ("desa", "kota"):
                with pytest.MonkeyPatch.context() as env:
                    env.setenv("NETMON_SHARD", name)  # read when the config loads
                    shards[name] = await stack.enter_async_context(start(config))
            desa, kota = shards["desa"], shards["kota"]

            async def both_connected() -> bool:
                for running in (desa, kota):
                    if values(await metrics(running), "netmon_mqtt_connected") != [1.0]:
                        return False
                return True

            await async_wait_for(both_connected, 15, "both shards on the broker")
            async with aiomqtt.Client("127.0.0.1", broker.port, identifier="pub") as pub:
                await pub.publish("prov/kota/pop/power", b'{"v": 12.5}', qos=1)
                await pub.publish("prov/desa/desa-1/power", b'{"v": 12.1}', qos=1)

            async def applied() -> bool:
                d, k = await metrics(desa), await metrics(kota)
                return bool(
                    values(d, "netmon_power_battery_voltage_volts", site="desa-1")
                    and values(k, "netmon_power_battery_voltage_volts", site="pop")
                    and values(k, "netmon_mqtt_messages_total", result="other_shard")
                )

            await async_wait_for(applied, 15, "each shard applied its own site")
            desa_text, kota_text = await metrics(desa), await metrics(kota)
    # the narrowed shard was never sent kota's message: nothing to drop
    assert not values(desa_text, "netmon_mqtt_messages_total", result="other_shard")
    assert not values(desa_text, "netmon_power_battery_voltage_volts", site="pop")
    assert values(kota_text, "netmon_mqtt_messages_total", result="other_shard") == [1.0]
    assert not values(kota_text, "netmon_power_battery_voltage_volts", site="desa-1")
