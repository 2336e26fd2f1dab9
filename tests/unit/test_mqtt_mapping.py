"""MQTT topic matching, payload formats and sources, on the real store (no broker)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from collectors.mqtt.config import MqttConfig, Subscription
from collectors.mqtt.mapping import PayloadError, TopicMatcher, decode
from collectors.mqtt.sources import Sources
from netmon.store import Store
from tests.helpers import values

POWER = {
    "name": "power",
    "topic": "desa/{kabupaten}/{site}/power/{sensor}",
    "device": "{site}-{sensor}",
    "sequence": "seq",
    "timestamp": "ts",
    "ttl": 60,
    "max_sources": 3,
    "labels": {"kabupaten": "{kabupaten}"},
    "metrics": [
        {"field": "battery.voltage", "name": "netmon_power_battery_voltage_volts"},
        {"field": "battery.soc", "name": "netmon_power_battery_ratio", "scale": 0.01},
        {"field": "solar.power", "name": "netmon_power_solar_watts"},
        {"field": "grid", "name": "netmon_power_on_grid", "map": {"true": 1, "false": 0}},
        {
            "field": "energy_wh",
            "name": "netmon_power_solar_energy_joules_total",
            "type": "counter",
            "scale": 3600,
        },
    ],
}
STATUS = {
    "name": "status",
    "topic": "desa/{kabupaten}/{site}/status",
    "format": "status",
    "device": "agent-{site}",
}
SITES = {"desa-a", "desa-b"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make(*subs: dict[str, Any]) -> tuple[Sources, Store, Clock]:
    config = MqttConfig.model_validate({"subscriptions": list(subs) or [POWER, STATUS]})
    store = Store()
    clock = Clock()
    return Sources(config, store, SITES.__contains__, clock), store, clock


def power(seq: int, ts: float, **extra: Any) -> bytes:
    body = {
        "seq": seq,
        "ts": ts,
        "battery": {"voltage": 12.6, "soc": 80},
        "solar": {"power": 120},
        "grid": False,
        "energy_wh": 1000 + seq,
    }
    body.update(extra)
    return json.dumps(body).encode()


def test_topic_matcher_captures_names() -> None:
    m = TopicMatcher("desa/{kabupaten}/{site}/power/{sensor}")
    assert m.match("desa/kutim/desa-a/power/mppt") == {
        "kabupaten": "kutim",
        "site": "desa-a",
        "sensor": "mppt",
    }
    assert m.match("desa/kutim/desa-a/power") is None
    assert m.match("desa/kutim//power/mppt") is None  # an empty level names nothing
    assert m.match("kota/kutim/desa-a/power/mppt") is None
    rest = TopicMatcher("N/{portal}/{site}/#")
    assert rest.match("N/abc/desa-a/battery/0/Dc/0/Voltage") == {"portal": "abc", "site": "desa-a"}


def test_config_rejects_bad_topics_and_templates() -> None:
    with pytest.raises(ValidationError, match="must capture"):
        Subscription.model_validate({**POWER, "topic": "desa/{kabupaten}/power/{sensor}"})
    with pytest.raises(ValidationError, match=r"name the wildcard"):
        Subscription.model_validate({**POWER, "topic": "desa/+/{site}/power/{sensor}"})
    with pytest.raises(ValidationError, match="templates use"):
        Subscription.model_validate({**POWER, "device": "{site}-{nope}"})
    with pytest.raises(ValidationError, match="_total"):
        Subscription.model_validate(
            {**POWER, "metrics": [{"field": "e", "name": "netmon_power_energy", "type": "counter"}]}
        )
    with pytest.raises(ValidationError, match="credentials"):
        MqttConfig.model_validate({"url": "mqtt://user:pw@broker:1883"})
    shared = Subscription.model_validate({**POWER, "shared_group": "netmon"})
    assert shared.mqtt_filter == "$share/netmon/desa/+/+/power/+"


@pytest.mark.parametrize(
    ("fmt", "payload", "expected"),
    [
        ("number", b" 12.75 ", {"value": 12.75}),
        ("victron", b'{"value": 13.1}', {"value": 13.1}),
        ("tasmota", b'{"ENERGY": {"Power": 42}}', {"ENERGY": {"Power": 42}}),
        ("tasmota", b"ON", {"value": "ON"}),
    ],
)
def test_payload_formats(fmt: str, payload: bytes, expected: dict[str, Any]) -> None:
    sub = Subscription.model_validate({**POWER, "format": fmt, "sequence": None, "timestamp": None})
    assert decode(sub, payload).fields == expected


@pytest.mark.parametrize(
    ("fmt", "payload", "reason"),
    [
        ("json", b"{not json", "malformed"),
        ("json", b"[1, 2]", "malformed"),
        ("json", b'{"seq": "seven"}', "bad_value"),
        ("json", b'{"seq": 1, "ts": "2026-11-23T10:00:00"}', "bad_value"),  # no time zone
        ("number", b"NaN-ish", "malformed"),
        ("victron", b'{"v": 1}', "malformed"),
        ("json", b"[" * 100_000, "malformed"),  # absurd nesting
    ],
)
def test_bad_payloads_are_named(fmt: str, payload: bytes, reason: str) -> None:
    sub = Subscription.model_validate({**POWER, "format": fmt})
    with pytest.raises(PayloadError) as info:
        decode(sub, payload)
    assert info.value.reason == reason


def test_a_message_becomes_series_of_its_source() -> None:
    sources, store, clock = make()
    assert sources.handle("desa/kutim/desa-a/power/mppt", power(1, clock.now)) == (
        "applied",
        "power",
    )
    text = store.render(now=clock.now)
    want = {"site": "desa-a", "device": "desa-a-mppt", "kabupaten": "kutim"}
    assert values(text, "netmon_power_battery_voltage_volts", **want) == [12.6]
    assert values(text, "netmon_power_battery_ratio", **want) == [0.8]
    assert values(text, "netmon_power_on_grid", **want) == [0.0]
    assert values(text, "netmon_power_solar_energy_joules_total", **want) == [1001 * 3600.0]
    assert values(text, "netmon_target_up", device="desa-a-mppt", collector="mqtt") == [1.0]


@pytest.mark.parametrize(
    ("topic", "payload", "result"),
    [
        ("desa/kutim/desa-zz/power/mppt", power(1, 1.8e9), "unknown_site"),
        ("kota/x/y", b"{}", "unknown_topic"),
        ("desa/kutim/desa-a/power/mppt", b"x" * 70_000, "too_large"),
        ("desa/kutim/desa-a/power/mppt", power(1, 1.8e9, battery={"voltage": "NaN"}), "bad_value"),
        ("desa/kutim/desa-a/power/mppt", power(1, 1.8e9, solar={"power": [1]}), "bad_value"),
    ],
)
def test_rejected_messages_change_nothing(topic: str, payload: bytes, result: str) -> None:
    sources, store, clock = make()
    assert sources.handle(topic, payload)[0] == result
    assert "netmon_power" not in store.render(now=clock.now)


def test_another_shards_site_is_not_an_error() -> None:
    config = MqttConfig.model_validate({"subscriptions": [POWER]})
    store = Store()
    sources = Sources(
        config, store, SITES.__contains__, Clock(), elsewhere={"desa-zz"}.__contains__
    )
    assert sources.handle("desa/kutim/desa-zz/power/mppt", power(1, 1.8e9))[0] == "other_shard"
    assert sources.handle("desa/kutim/desa-yy/power/mppt", power(1, 1.8e9))[0] == "unknown_site"
    assert "netmon_power" not in store.render()


def test_repeats_are_dropped_by_sequence_and_by_time() -> None:
    sources, _store, clock = make()
    topic = "desa/kutim/desa-a/power/mppt"
    assert sources.handle(topic, power(5, clock.now))[0] == "applied"
    assert sources.handle(topic, power(5, clock.now))[0] == "duplicate"  # QoS 1 redelivery
    assert sources.handle(topic, power(4, clock.now - 1))[0] == "duplicate"
    assert sources.handle(topic, power(6, clock.now + 1))[0] == "applied"
    assert sources.handle(topic, power(1, clock.now + 2))[0] == "applied"  # device restarted: ok
    no_ts = {**POWER, "timestamp": None}
    sources3, _, _ = make(no_ts)
    assert sources3.handle(topic, power(2000, 0))[0] == "applied"
    assert sources3.handle(topic, power(1990, 0))[0] == "duplicate"  # within the window
    assert sources3.handle(topic, power(3, 0))[0] == "applied"  # far below: a restart
    no_seq = {**POWER, "sequence": None}
    sources2, _, clock2 = make(no_seq)
    assert sources2.handle(topic, power(0, clock2.now))[0] == "applied"
    assert sources2.handle(topic, power(0, clock2.now))[0] == "duplicate"


def test_a_silent_source_goes_stale_and_its_series_vanish() -> None:
    sources, store, clock = make()
    sources.handle("desa/kutim/desa-a/power/mppt", power(1, clock.now))
    clock.now += 59
    assert sources.expire() == 0
    clock.now += 2
    assert sources.expire() == 1
    text = store.render(now=clock.now)
    assert values(text, "netmon_power_battery_voltage_volts") == []
    assert values(text, "netmon_target_up", device="desa-a-mppt") == [0.0]
    assert values(text, "netmon_poll_errors_total", reason="stale") == [1.0]


def test_last_will_takes_every_source_of_the_site_down_at_once() -> None:
    sources, store, clock = make()
    sources.handle("desa/kutim/desa-a/power/mppt", power(1, clock.now))
    sources.handle("desa/kutim/desa-a/power/bms", power(1, clock.now))
    sources.handle("desa/kutim/desa-b/power/mppt", power(1, clock.now))
    assert sources.handle("desa/kutim/desa-a/status", b"offline") == ("applied", "status")
    text = store.render(now=clock.now)
    assert values(text, "netmon_target_up", site="desa-a") == [0.0, 0.0, 0.0]
    assert values(text, "netmon_target_up", site="desa-b") == [1.0]
    assert values(text, "netmon_power_battery_voltage_volts", site="desa-a") == []


def test_an_old_retained_message_is_applied_with_its_age_and_goes_stale_soon() -> None:
    sources, store, clock = make()
    sources.handle("desa/kutim/desa-a/power/mppt", power(1, clock.now - 50))
    text = store.render(now=clock.now)
    assert values(text, "netmon_mqtt_message_age_seconds") == [50.0]
    clock.now += 11  # 61 s after it was measured: past the 60 s TTL
    assert sources.expire() == 1


def test_the_budget_caps_sources_per_subscription() -> None:
    sources, store, clock = make()
    results = [
        sources.handle(f"desa/k/desa-a/power/s{i}", power(1, clock.now))[0] for i in range(10)
    ]
    assert results.count("applied") == 3
    assert results.count("over_budget") == 7
    assert len(values(store.render(now=clock.now), "netmon_target_up")) == 3


def test_sites_removed_from_the_inventory_lose_their_sources() -> None:
    sources, store, clock = make()
    sources.handle("desa/k/desa-a/power/mppt", power(1, clock.now))
    sources.handle("desa/k/desa-b/power/mppt", power(1, clock.now))
    sources.drop_sites({"desa-b"}.__contains__)
    text = store.render(now=clock.now)
    assert values(text, "netmon_target_up", site="desa-a") == []
    assert values(text, "netmon_target_up", site="desa-b") == [1.0]


def test_the_collector_sample_is_valid() -> None:
    import yaml

    from tests.helpers import ROOT

    data = yaml.safe_load((ROOT / "collectors/mqtt/sample.yaml").read_text())
    config = MqttConfig.model_validate(data["mqtt"])
    assert [s.name for s in config.subscriptions] == ["power", "status", "plugs"]
    assert config.subscriptions[2].mqtt_filter == "$share/netmon/tele/+/+/#"
