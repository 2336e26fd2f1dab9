"""MQTT telemetry end to end against real mosquitto brokers started by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml

from collectors.mqtt.broker import Mosquitto, start_mosquitto
from collectors.mqtt.session import ack, enable_manual_ack
from collectors.mqtt.simulator import TelemetrySimulator
from tests.harness import Running, start
from tests.helpers import async_wait_for, values

pytestmark = pytest.mark.integration

SITES = ["desa-a", "desa-b"]
POWER: dict[str, Any] = {
    "name": "power",
    "topic": "desa/{kabupaten}/{site}/power/{sensor}",
    "device": "{site}-{sensor}",
    "sequence": "seq",
    "timestamp": "ts",
    "metrics": [
        {"field": "battery.voltage", "name": "netmon_power_battery_voltage_volts"},
        {"field": "solar.power", "name": "netmon_power_solar_watts"},
        {
            "field": "energy_wh",
            "name": "netmon_power_solar_energy_joules_total",
            "type": "counter",
            "scale": 3600,
        },
    ],
}
STATUS: dict[str, Any] = {
    "name": "status",
    "topic": "desa/{kabupaten}/{site}/status",
    "format": "status",
    "device": "agent-{site}",
}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with start_mosquitto(tmp_path / "broker") as b:
        yield b


def write(root: Path, mqtt: dict[str, Any]) -> Path:
    (root / "sites").mkdir(parents=True, exist_ok=True)
    main = {"listen": "127.0.0.1:9800", "mqtt": mqtt}
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    sites = [{"id": s, "name": s, "kind": "village_office"} for s in SITES]
    (root / "sites/k.yaml").write_text(yaml.safe_dump({"kabupaten": "K", "sites": sites}))
    return root / "netmon.yaml"


def mqtt_section(broker: Mosquitto, *subs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "url": f"mqtt://127.0.0.1:{broker.port}",
        "client_id": "netmon-test",
        "reconnect_min": 0.05,
        "reconnect_max": 0.5,
        "subscriptions": list(subs) or [POWER, STATUS],
        **extra,
    }


def power(seq: int, **extra: Any) -> bytes:
    body = {
        "seq": seq,
        "ts": time.time(),
        "battery": {"voltage": 12.5},
        "solar": {"power": 80},
        "energy_wh": seq,
    }
    body.update(extra)
    return json.dumps(body).encode()


async def metric(running: Running, name: str, **labels: str) -> list[float]:
    _, text = await running.get("/metrics")
    return values(text, name, **labels)


async def connected(running: Running) -> bool:
    return await metric(running, "netmon_mqtt_connected") == [1.0]


async def applied(running: Running, at_least: int) -> bool:
    got = await metric(running, "netmon_mqtt_messages_total", result="applied")
    return sum(got) >= at_least


async def test_each_payload_format_becomes_metrics(tmp_path: Path, broker: Mosquitto) -> None:
    subs = [
        POWER,
        {
            "name": "victron",
            "topic": "N/{portal}/{site}/battery/{instance}/Dc/0/Voltage",
            "format": "victron",
            "device": "victron-{site}",
            "metrics": [{"field": "value", "name": "netmon_power_battery_voltage_volts"}],
        },
        {
            "name": "temperature",
            "topic": "desa/{kabupaten}/{site}/temp/{sensor}",
            "format": "number",
            "device": "{site}-{sensor}",
            "metrics": [{"field": "value", "name": "netmon_sensor_temperature_celsius"}],
        },
        {
            "name": "tasmota",
            "topic": "tele/{site}/{plug}/{kind}",
            "format": "tasmota",
            "device": "{site}-{plug}",
            "metrics": [
                {"field": "ENERGY.Power", "name": "netmon_power_load_watts"},
                {"field": "value", "name": "netmon_power_relay_on", "map": {"ON": 1, "OFF": 0}},
            ],
        },
    ]
    async with start(write(tmp_path, mqtt_section(broker, *subs))) as running:
        await async_wait_for(lambda: connected(running), 10, "netmon connected")
        async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
            await pub.publish("desa/kutim/desa-a/power/mppt", power(1), qos=1)
            await pub.publish("N/c0ffee/desa-b/battery/256/Dc/0/Voltage", b'{"value": 13.2}', qos=1)
            await pub.publish("desa/kutim/desa-a/temp/rack", b"31.5", qos=1)
            await pub.publish("tele/desa-b/plug1/SENSOR", b'{"ENERGY": {"Power": 42}}', qos=1)
            await pub.publish("tele/desa-b/plug1/POWER", b"ON", qos=1)
        await async_wait_for(lambda: applied(running, 5), 10, "five messages applied")
        _, text = await running.get("/metrics")
    assert values(text, "netmon_power_battery_voltage_volts", device="desa-a-mppt") == [12.5]
    assert values(text, "netmon_power_solar_energy_joules_total", device="desa-a-mppt") == [3600]
    assert values(text, "netmon_power_battery_voltage_volts", device="victron-desa-b") == [13.2]
    assert values(text, "netmon_sensor_temperature_celsius", device="desa-a-rack") == [31.5]
    assert values(text, "netmon_power_load_watts", device="desa-b-plug1") == [42.0]
    assert values(text, "netmon_power_relay_on", device="desa-b-plug1") == [1.0]


async def test_last_will_marks_the_site_down_at_once(tmp_path: Path, broker: Mosquitto) -> None:
    async with start(write(tmp_path, mqtt_section(broker))) as running:
        await async_wait_for(lambda: connected(running), 10, "netmon connected")
        # a real site agent: mosquitto_pub holding a connection with a Last Will
        agent = await asyncio.create_subprocess_exec(
            *("mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-l"),
            *("-t", "desa/kutim/desa-a/power/mppt", "--will-topic", "desa/kutim/desa-a/status"),
            *("--will-payload", "offline", "--will-qos", "1"),
            stdin=asyncio.subprocess.PIPE,
        )
        try:
            assert agent.stdin is not None
            agent.stdin.write(power(1) + b"\n")
            await agent.stdin.drain()

            async def up() -> bool:
                return await metric(running, "netmon_target_up", device="desa-a-mppt") == [1.0]

            await async_wait_for(up, 10, "the agent's telemetry applied")
        finally:
            agent.kill()  # a power cut: no DISCONNECT, so the broker publishes the will
            await asyncio.wait_for(agent.wait(), 10)
        started = time.monotonic()

        async def down() -> bool:
            return await metric(running, "netmon_target_up", device="desa-a-mppt") == [0.0]

        await async_wait_for(down, 10, "the site marked down by the Last Will")
        assert time.monotonic() - started < 5  # at once, not after a TTL of 300 s
        assert await metric(running, "netmon_power_battery_voltage_volts", site="desa-a") == []


async def test_a_silent_source_goes_stale_after_its_ttl(tmp_path: Path, broker: Mosquitto) -> None:
    section = mqtt_section(broker, {**POWER, "ttl": 1})
    async with start(write(tmp_path, section)) as running:
        await async_wait_for(lambda: connected(running), 10, "netmon connected")
        async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
            await pub.publish("desa/kutim/desa-b/power/mppt", power(1), qos=1)
        await async_wait_for(lambda: applied(running, 1), 10, "applied")

        async def stale() -> bool:
            return await metric(running, "netmon_target_up", device="desa-b-mppt") == [0.0]

        await async_wait_for(stale, 10, "stale after 1 s")
        assert await metric(running, "netmon_power_solar_watts", device="desa-b-mppt") == []
        assert await metric(running, "netmon_mqtt_sources_stale_total") == [1.0]


async def publish_through_restarts(broker: Mosquitto, count: int, restarts: int) -> int:
    """QoS 1, each message re-sent until acknowledged; the broker restarts along the way."""
    seq, done, retries = 1, 0, 0
    every = count // (restarts + 1)
    while seq <= count:
        try:
            async with aiomqtt.Client("127.0.0.1", broker.port, identifier="publisher") as pub:
                while seq <= count:
                    await pub.publish("desa/kutim/desa-a/power/mppt", power(seq), qos=1)
                    seq += 1
                    if done < restarts and seq % every == 0:
                        done += 1
                        await asyncio.to_thread(broker.restart)
        except aiomqtt.MqttError:
            retries += 1  # the broker went away mid-publish: reconnect, send seq again
    return retries


async def test_ten_broker_restarts_lose_nothing_and_apply_nothing_twice(
    tmp_path: Path, broker: Mosquitto
) -> None:
    async with start(write(tmp_path, mqtt_section(broker))) as running:
        await async_wait_for(lambda: connected(running), 10, "netmon connected")
        await publish_through_restarts(broker, 5000, restarts=10)
        await async_wait_for(lambda: applied(running, 5000), 60, "all 5,000 applied")
        assert await metric(running, "netmon_mqtt_messages_total", result="applied") == [5000.0]
        energy = await metric(running, "netmon_power_solar_energy_joules_total")
        assert energy == [5000 * 3600.0]  # the last cumulative value, once
        assert (await metric(running, "netmon_mqtt_reconnects_total"))[0] >= 1
        await async_wait_for(lambda: connected(running), 10, "connected again at the end")
    assert broker.log.count("mosquitto version") >= 11  # it really restarted ten times


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_messages_published_while_netmon_is_down_arrive(
    tmp_path: Path, broker: Mosquitto, protocol: str
) -> None:
    config = write(tmp_path, mqtt_section(broker, protocol=protocol))
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        async with start(config) as running:
            await async_wait_for(lambda: connected(running), 10, "netmon connected")
            for seq in range(1, 101):
                await pub.publish("desa/kutim/desa-a/power/mppt", power(seq), qos=1)
            await async_wait_for(lambda: applied(running, 100), 10, "first 100 applied")
        # netmon is gone; the broker keeps its persistent session and queues for it
        for seq in range(101, 301):
            await pub.publish("desa/kutim/desa-a/power/mppt", power(seq), qos=1)
        async with start(config) as again:
            await async_wait_for(lambda: applied(again, 200), 20, "the 200 queued arrive")
            energy = await metric(again, "netmon_power_solar_energy_joules_total")
            assert energy == [300 * 3600.0]


async def test_a_rogue_publisher_stays_within_the_budget(tmp_path: Path, broker: Mosquitto) -> None:
    section = mqtt_section(
        broker, {**POWER, "max_sources": 50, "sequence": None, "timestamp": None}
    )
    async with start(write(tmp_path, section)) as running:
        await async_wait_for(lambda: connected(running), 10, "netmon connected")
        body = json.dumps({"battery": {"voltage": 1}}).encode()
        async with aiomqtt.Client("127.0.0.1", broker.port, max_queued_outgoing_messages=0) as pub:
            for i in range(100_000):
                await pub.publish(f"desa/kutim/desa-a/power/rogue-{i}", body, qos=0)

        async def all_counted() -> bool:
            got = await metric(running, "netmon_mqtt_messages_total")
            return sum(got) >= 100_000

        await async_wait_for(all_counted, 60, "100,000 messages counted")
        assert await metric(running, "netmon_mqtt_messages_total", result="applied") == [50.0]
        over = await metric(running, "netmon_mqtt_messages_total", result="over_budget")
        assert over == [99_950.0]
        assert len(await metric(running, "netmon_target_up", collector="mqtt")) == 50


async def test_a_wrong_password_is_a_clear_error(tmp_path: Path) -> None:
    with start_mosquitto(tmp_path / "broker", users={"netmon": "right-pass-123"}) as broker:
        (tmp_path / "pw").write_text("wrong-pass-456\n")
        section = mqtt_section(broker, username="netmon", password={"file": "pw"})
        async with start(write(tmp_path, section)) as running:

            async def refused() -> bool:
                got = await metric(running, "netmon_mqtt_connect_errors_total", reason="auth")
                return bool(got) and got[0] >= 1

            await async_wait_for(refused, 10, "an auth error counted")
            assert await metric(running, "netmon_mqtt_connected") == [0.0]
            logs = running.logs.getvalue()
            assert "the broker refused the user name or password" in logs
            assert "wrong-pass-456" not in logs


async def test_tls_with_the_broker_ca(tmp_path: Path) -> None:
    with start_mosquitto(tmp_path / "broker", tls=True) as broker:
        assert broker.tls is not None
        assert broker.tls_port is not None
        section = mqtt_section(broker, tls={"ca": str(broker.tls.ca_cert)})
        section["url"] = f"mqtts://127.0.0.1:{broker.tls_port}"
        async with start(write(tmp_path, section)) as running:
            await async_wait_for(lambda: connected(running), 10, "connected over TLS")
            context = ssl.create_default_context(cafile=str(broker.tls.ca_cert))
            async with aiomqtt.Client("127.0.0.1", broker.tls_port, tls_context=context) as pub:
                await pub.publish("desa/kutim/desa-a/power/mppt", power(1), qos=1)
            await async_wait_for(lambda: applied(running, 1), 10, "applied over TLS")


async def test_an_unacknowledged_message_comes_back(broker: Mosquitto) -> None:
    """Guards collectors/mqtt/session.py: fails if aiomqtt or paho change under it."""

    def client() -> aiomqtt.Client:
        c = aiomqtt.Client("127.0.0.1", broker.port, identifier="ack-test", clean_session=False)
        enable_manual_ack(c)
        return c

    async def first(c: aiomqtt.Client) -> aiomqtt.Message:
        async for message in c.messages:
            return message
        raise AssertionError("no message")

    async with client() as sub:
        await sub.subscribe("guard/#", qos=1)
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        await pub.publish("guard/1", b"one", qos=1)
    async with client() as sub:
        got = await asyncio.wait_for(first(sub), 5)
        assert got.payload == b"one"  # received, deliberately not acknowledged
    async with client() as sub:
        again = await asyncio.wait_for(first(sub), 5)
        assert again.payload == b"one"  # redelivered: manual ack is in force
        ack(sub, again)
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        await pub.publish("guard/2", b"two", qos=1)
    async with client() as sub:
        after = await asyncio.wait_for(first(sub), 5)
        assert after.payload == b"two"  # "one" is gone: the ack reached the broker


async def test_simulated_villages_report_and_a_flat_battery_goes_offline(
    tmp_path: Path, broker: Mosquitto
) -> None:
    power_sub = {
        **POWER,
        "metrics": [
            *POWER["metrics"],
            {"field": "battery.soc", "name": "netmon_power_battery_ratio", "scale": 0.01},
            {"field": "grid", "name": "netmon_power_on_grid"},
        ],
    }
    section = mqtt_section(broker, power_sub, STATUS)
    sim = TelemetrySimulator(
        "127.0.0.1", broker.port, [(s, "kutim") for s in SITES], interval=0.2, speed=3600
    )
    async with start(write(tmp_path, section)) as running:
        await async_wait_for(lambda: connected(running), 10, "netmon connected")
        task = asyncio.create_task(sim.run())
        try:

            async def both_up() -> bool:
                a = await metric(running, "netmon_target_up", device="desa-a-mppt")
                b = await metric(running, "netmon_target_up", device="desa-b-mppt")
                return a == b == [1.0]

            await async_wait_for(both_up, 15, "telemetry from both villages")
            ratio = await metric(running, "netmon_power_battery_ratio", device="desa-a-mppt")
            assert 0.0 < ratio[0] <= 1.0
            sim.cut_power("desa-a")

            async def a_down() -> bool:
                return await metric(running, "netmon_target_up", device="desa-a-mppt") == [0.0]

            await async_wait_for(a_down, 20, "desa-a's battery runs flat, its will fires")
            assert await metric(running, "netmon_target_up", device="desa-b-mppt") == [1.0]
            assert await metric(running, "netmon_target_up", device="agent-desa-a") == [0.0]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_shared_subscriptions_split_one_stream(tmp_path: Path, broker: Mosquitto) -> None:
    """Two instances in one $share group: each message is applied by exactly one of them."""
    stateless = {**POWER, "shared_group": "netmon", "sequence": None, "timestamp": None}
    one = write(tmp_path / "one", mqtt_section(broker, stateless, client_id="netmon-1"))
    two = write(tmp_path / "two", mqtt_section(broker, stateless, client_id="netmon-2"))
    async with start(one) as first, start(two) as second:
        await async_wait_for(lambda: connected(first), 10, "first connected")
        await async_wait_for(lambda: connected(second), 10, "second connected")
        async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
            for i in range(200):
                await pub.publish(f"desa/kutim/desa-a/power/s{i}", power(1), qos=1)

        async def split() -> bool:
            a = sum(await metric(first, "netmon_mqtt_messages_total", result="applied"))
            b = sum(await metric(second, "netmon_mqtt_messages_total", result="applied"))
            return a + b >= 200

        await async_wait_for(split, 15, "all 200 applied across the two")
        a = sum(await metric(first, "netmon_mqtt_messages_total", result="applied"))
        b = sum(await metric(second, "netmon_mqtt_messages_total", result="applied"))
        assert a + b == 200
        assert a > 0
        assert b > 0
