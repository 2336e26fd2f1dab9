"""MQTT edge cases against real mosquitto brokers (issue 10, item 10): device restarts,
implausible values and empty messages through the broker, failed TLS handshakes, and
the reconnect wait after a good session."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from collectors.mqtt.broker import Mosquitto, start_mosquitto
from collectors.mqtt.broker_files import make_tls
from tests.harness import start
from tests.helpers import async_wait_for, values
from tests.integration.test_mqtt import (
    POWER,
    STATUS,
    connected,
    metric,
    mqtt_section,
    power,
    write,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with start_mosquitto(tmp_path / "broker") as b:
        yield b


async def test_restarts_implausible_values_and_empty_messages_through_a_real_broker(
    tmp_path: Path, broker: Mosquitto
) -> None:
    """The broker's retain flag reaches the sources (a retained "online", resent on every
    subscribe, is no restart sign; a live one is), and drops show in /metrics."""
    seq_only = {
        **POWER,
        "timestamp": None,
        "metrics": [
            *POWER["metrics"],
            {"field": "battery.soc", "name": "netmon_power_battery_ratio", "scale": 0.01},
        ],
    }
    topic, status = "desa/kutim/desa-a/power/mppt", "desa/kutim/desa-a/status"
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        await pub.publish(status, b"online", qos=1, retain=True)  # before netmon subscribes
        async with start(write(tmp_path, mqtt_section(broker, seq_only, STATUS))) as running:
            await async_wait_for(lambda: connected(running), 10, "netmon connected")

            async def results(count: int) -> bool:
                return sum(await metric(running, "netmon_mqtt_messages_total")) >= count

            await async_wait_for(lambda: results(1), 10, "the retained online")
            await pub.publish(topic, power(30), qos=1)
            await pub.publish(topic, power(0), qos=1)  # 30 below, no sign: a repeat
            await async_wait_for(lambda: results(3), 10, "three messages")
            await pub.publish(status, b"online", qos=1, retain=True)  # the agent restarted
            await pub.publish(topic, power(0, battery={"voltage": 12.5, "soc": -50}), qos=1)
            await pub.publish("desa/kutim/desa-b/power/fuzz", b'{"x": [1]}', qos=1)
            await async_wait_for(lambda: results(6), 10, "six messages")
            _, text = await running.get("/metrics")
    mppt = {"device": "desa-a-mppt"}
    assert values(text, "netmon_mqtt_messages_total", result="duplicate") == [1.0]
    assert values(text, "netmon_mqtt_messages_total", result="no_values") == [1.0]
    assert values(text, "netmon_mqtt_source_restarts_total", **mppt) == [1.0]
    assert values(text, "netmon_power_solar_energy_joules_total", **mppt) == [0.0]  # seq 0's
    assert values(text, "netmon_power_battery_ratio", **mppt) == []
    assert values(text, "netmon_samples_dropped_total", reason="implausible", **mppt) == [1.0]
    assert values(text, "netmon_target_up", site="desa-b") == []


def tls_section(tmp_path: Path, broker: Mosquitto, case: str) -> dict[str, Any]:
    """netmon's mqtt: section for one way of getting TLS wrong against ``broker``."""
    assert broker.tls is not None
    assert broker.tls_port is not None
    other = make_tls(tmp_path / "other-ca")  # a CA that signed nothing of the broker's
    section = mqtt_section(broker, tls={"ca": str(broker.tls.ca_cert)})
    section["url"] = f"mqtts://127.0.0.1:{broker.tls_port}"
    if case == "wrong CA":
        section["tls"] = {"ca": str(other.ca_cert)}
    elif case == "plain port":
        section["url"] = f"mqtts://127.0.0.1:{broker.port}"
    elif case == "foreign client certificate":  # TLS 1.3 refuses it after the handshake
        section["tls"] |= {"cert": str(other.client_cert), "key": str(other.client_key)}
    return section


@pytest.mark.parametrize(
    ("case", "require_certificate", "says"),
    [
        ("wrong CA", False, "CERTIFICATE_VERIFY_FAILED"),
        ("plain port", False, "is the port a TLS listener?"),
        ("foreign client certificate", True, "TLSV1_ALERT_UNKNOWN_CA"),
        ("no client certificate", True, "CERTIFICATE_REQUIRED"),
    ],
)
async def test_a_failed_tls_handshake_is_counted_as_tls(
    tmp_path: Path, case: str, require_certificate: bool, says: str
) -> None:
    """Measured before the fix: "plain port" was counted as error (a reset inside
    do_handshake), the client certificate cases as timeout (aiomqtt ignores the
    broker's alert that comes after a TLS 1.3 handshake); "wrong CA" was already tls."""
    with start_mosquitto(
        tmp_path / "broker", tls=True, require_certificate=require_certificate
    ) as broker:
        async with start(write(tmp_path, tls_section(tmp_path, broker, case))) as running:

            async def counted() -> bool:
                return bool(await metric(running, "netmon_mqtt_connect_errors_total"))

            # the client certificate case waits for aiomqtt's 10 s CONNACK timeout
            await async_wait_for(counted, 30, "a failed connection counted")
            _, text = await running.get("/metrics")  # one scrape: attempts go on meanwhile
            errors = values(text, "netmon_mqtt_connect_errors_total")
            assert values(text, "netmon_mqtt_connect_errors_total", reason="tls") == errors
            assert values(text, "netmon_mqtt_connected") == [0.0]
            failed = [
                json.loads(line)
                for line in running.logs.getvalue().splitlines()
                if "mqtt connection failed" in line
            ]
            assert failed
            assert failed[0]["reason"] == "tls"
            error = failed[0]["error"]
            if require_certificate:
                # the broker's alert comes after a TLS 1.3 handshake: read when it arrives
                # before the close, else an EOF; netmon then names the likely cause
                assert says in error or "does it accept this client certificate?" in error
            else:
                assert says in error


async def test_the_reconnect_wait_starts_over_after_a_good_session(tmp_path: Path) -> None:
    """The wait doubles while the broker is away (0.05 s .. 3.2 s over seven failures);
    a session that stayed up for a keepalive (1 s) resets it, so a broker restart
    afterwards is followed at once (before the fix: 3.2 to 6.4 s later)."""
    with start_mosquitto(tmp_path / "broker") as broker:
        broker.stop()
        section = mqtt_section(broker, reconnect_min=0.05, reconnect_max=30, keepalive=1)
        async with start(write(tmp_path, section)) as running:

            async def failed_seven_times() -> bool:
                return sum(await metric(running, "netmon_mqtt_connect_errors_total")) >= 7

            await async_wait_for(failed_seven_times, 20, "seven failed attempts")
            await asyncio.to_thread(broker.start)
            await async_wait_for(lambda: connected(running), 10, "connected after 3.2 s at most")
            await asyncio.sleep(1.5)  # the scenario: a session longer than a keepalive
            assert await connected(running)
            await asyncio.to_thread(broker.restart)
            back = time.monotonic()
            await async_wait_for(lambda: connected(running), 10, "connected again")
            assert time.monotonic() - back < 2.0
            assert (await metric(running, "netmon_mqtt_reconnects_total"))[0] >= 8
