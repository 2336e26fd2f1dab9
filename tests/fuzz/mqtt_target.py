"""MQTT topics and payloads through Sources.handle (collectors/mqtt/sources.py), with
the subscriptions of collectors/mqtt/sample.yaml plus one each of the formats it lacks.

The declared results are the labels of netmon_mqtt_messages_total listed in
collectors/mqtt/README.md ("Bad input"); an exception of any kind is a failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from collectors.mqtt.config import MqttConfig
from collectors.mqtt.sources import Sources
from netmon.store import Store

ROOT = Path(__file__).resolve().parents[2]
#: copied from collectors/mqtt/README.md, "Bad input"
RESULTS = {
    "applied",
    "duplicate",
    "malformed",
    "bad_value",
    "no_values",
    "implausible",
    "too_large",
    "unknown_topic",
    "unknown_site",
    "other_shard",
    "over_budget",
}
SITES = {"desa-a", "desa-b"}
EXTRA = [
    {
        "name": "volts",
        "topic": "raw/{site}/{sensor}/volts",
        "format": "number",
        "device": "{site}-{sensor}",
        "metrics": [{"field": "value", "name": "netmon_power_battery_voltage_volts"}],
    },
    {
        "name": "victron",
        "topic": "N/{site}/battery/{n}/Soc",
        "format": "victron",
        "device": "{site}-victron",
        "metrics": [{"field": "value", "name": "netmon_power_battery_ratio", "scale": 0.01}],
    },
]


def config() -> MqttConfig:
    sample = yaml.safe_load((ROOT / "collectors/mqtt/sample.yaml").read_text())["mqtt"]
    subs = sample["subscriptions"] + EXTRA
    return MqttConfig.model_validate({"subscriptions": subs, "max_payload_bytes": 4096})


CONFIG = config()

segment = st.one_of(
    st.sampled_from(["desa-a", "desa-b", "desa-z", "kutim", "mppt", "power", "status", "+", "#"]),
    st.text(max_size=12),
)
topics = st.one_of(
    st.sampled_from(
        [
            "desa/kutim/desa-a/power/mppt",
            "desa/kutim/desa-b/status",
            "tele/desa-a/fridge/SENSOR",
            "raw/desa-a/bat/volts",
            "N/desa-b/battery/1/Soc",
        ]
    ),
    st.lists(segment, min_size=1, max_size=7).map("/".join),
    st.text(max_size=40),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["NaN", "Infinity", "2026-12-06T03:00:00Z", "2026-12-06T03:00:00", "on"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = ["seq", "ts", "battery", "solar", "grid", "energy_wh", "ENERGY", "value", "state", "Time"]


@st.composite
def shaped(draw: st.DrawFn) -> bytes:
    """A JSON object with the fields the mappings look for, holding anything."""
    obj: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=len(KEYS), unique=True)):
        if key in ("battery", "solar", "ENERGY"):
            sub = ["voltage", "soc", "power", "Power"]
            obj[key] = {k: draw(json_values) for k in draw(st.lists(st.sampled_from(sub)))}
        else:
            obj[key] = draw(json_values)
    text = json.dumps(obj)
    if draw(st.booleans()):  # what Python's json writes and reads but JSON has not
        text = text.replace("0.5", "NaN").replace("1", "Infinity", 1)
    return text.encode()


payloads = st.one_of(
    shaped(),
    st.binary(max_size=64),
    st.sampled_from([b"", b"online", b"offline", b"{", b"[]", b"nan", b"-inf", b"1e999"]),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.integers(4000, 5000).map(lambda n: b"{" + b" " * n + b"}"),
)

messages = st.lists(st.tuples(topics, payloads, st.booleans()), min_size=1, max_size=6)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def check(case: list[tuple[str, bytes, bool]]) -> list[str]:
    """Feed the messages to one Sources on a real store; the results, each declared."""
    store = Store()
    clock = Clock()
    sources = Sources(CONFIG, store, SITES.__contains__, clock, elsewhere="desa-b".__eq__)
    results = []
    for topic, payload, retained in case:
        clock.now += 1.0
        result, _sub = sources.handle(topic, payload, retained=retained)
        assert result in RESULTS, (result, topic, payload)
        results.append(result)
    sources.expire()
    store.render(now=clock.now)
    return results
