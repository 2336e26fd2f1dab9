"""The `mqtt:` section of netmon.yaml: broker, session, and subscriptions as data.

A subscription maps a topic filter with named wildcards
(``desa/{kabupaten}/{site}/power/{sensor}``) and a payload format onto
metrics. ``{site}`` must name a site of the inventory; the rest become labels
or the source's device name.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from netmon.api import Duration, MetricName, SecretRef, Strict

_NAMED = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
_TEMPLATE_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class TlsConfig(Strict):
    """TLS to the broker (mqtts:// uses TLS with the system's CAs even without this).
    Relative paths are relative to the folder of netmon.yaml."""

    ca: str | None = None  # CA bundle path; None = the system's
    """CA bundle (PEM) the broker's certificate is checked against; unset: the system's"""
    cert: str | None = None  # client certificate (brokers that require one)
    """client certificate (PEM), for brokers that require one; needs key"""
    key: str | None = None
    """the client certificate's private key (PEM)"""
    insecure: bool = False
    """only for lab brokers with self-signed certs and no CA at hand"""

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert is None) != (self.key is None):
            msg = "give both cert and key, or neither"
            raise ValueError(msg)
        return self


class FieldMetric(Strict):
    """One payload field -> one metric."""

    field: str = Field(min_length=1)  # dotted path in JSON ("battery.voltage"), "value" otherwise
    """the payload field: a dotted path in JSON ("battery.voltage"), "value" for the formats
    number, victron and tasmota text
    """
    name: MetricName
    """the metric's name"""
    type: Literal["gauge", "counter"] = "gauge"
    """gauge, or counter for cumulative device values only (the name ends in _total)"""
    help: str = ""
    """HELP text of the metric (empty: the field and the subscription's name)"""
    scale: float = 1.0
    """the value is multiplied by this (0.01: percent to ratio, 3600: Wh to J)"""
    map: dict[str, float] | None = None
    """text or boolean payload values -> numbers ({"ON": 1, "OFF": 0, "true": 1})"""
    labels: dict[str, str] = Field(default_factory=dict)
    """extra labels of this metric; values may use the topic's names ("{sensor}")"""

    @model_validator(mode="after")
    def _counter(self) -> FieldMetric:
        if self.type == "counter" and not self.name.endswith("_total"):
            msg = "counter names end in _total (and come only from cumulative device values)"
            raise ValueError(msg)
        return self


class Subscription(Strict):
    """One topic filter, and how its payloads become metrics."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    """unique name; the subscription label of netmon_mqtt_messages_total"""
    topic: str
    """MQTT levels; "{name}" captures one level; a final "#" matches the rest"""
    format: Literal["json", "number", "tasmota", "victron", "status"] = "json"
    """payload format: json (fields by dotted path), number (one number, field "value"), victron
    ({"value": x}), tasmota (JSON SENSOR, or ON/OFF text as field "value"), status
    (online/offline or {"state": ...}: a site agent's Last Will; offline takes all the site's
    MQTT sources down)
    """
    qos: Literal[0, 1] = 1
    """1: at least once; 0 only for data you can afford to lose"""
    shared_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]+$")
    """MQTT 5 shared subscription group: several netmon instances split the stream. Only for
    stateless topics (the same source must reach the same instance otherwise).
    """
    ttl: Duration = 300.0
    """a source silent this long is stale: its series vanish, netmon_target_up goes 0"""
    device: str = "{site}"
    """device label of the source, from the topic's names"""
    sequence: str | None = None
    """JSON field with a per-source sequence number: repeats are dropped"""
    timestamp: str | None = None
    """JSON field with the payload's own time (unix seconds or ISO 8601): repeats are dropped,
    the age of retained messages is known
    """
    max_sources: int = Field(default=5000, ge=1)
    """distinct sources this subscription may create (cardinality budget)"""
    labels: dict[str, str] = Field(default_factory=dict)
    """extra labels of all its metrics; values may use the topic's names ("{sensor}")"""
    metrics: list[FieldMetric] = Field(default_factory=list)
    """payload fields to metrics (none needed with format status)"""

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        levels = value.split("/")
        names: list[str] = []
        for i, level in enumerate(levels):
            if level == "#" and i != len(levels) - 1:
                msg = "# may only be the last level"
                raise ValueError(msg)
            if level == "+":
                msg = "name the wildcard: {name} instead of +"
                raise ValueError(msg)
            if "{" in level or "}" in level:
                match = _NAMED.match(level)
                if not match:
                    msg = f"a wildcard is a whole level like {{site}}, got {level!r}"
                    raise ValueError(msg)
                names.append(match.group(1))
        if "site" not in names:
            msg = "the topic must capture {site}: every series belongs to a site"
            raise ValueError(msg)
        if len(set(names)) != len(names):
            msg = "a wildcard name is used twice"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _templates(self) -> Subscription:
        names = set(self.wildcards)
        used = _TEMPLATE_VAR.findall(self.device)
        for value in self.labels.values():
            used += _TEMPLATE_VAR.findall(value)
        for metric in self.metrics:
            for value in metric.labels.values():
                used += _TEMPLATE_VAR.findall(value)
        unknown = sorted(set(used) - names)
        if unknown:
            msg = f"templates use {unknown} but the topic only captures {sorted(names)}"
            raise ValueError(msg)
        if self.format != "status" and not self.metrics:
            msg = "a subscription needs metrics (or format: status)"
            raise ValueError(msg)
        return self

    @property
    def wildcards(self) -> list[str]:
        return [m.group(1) for lvl in self.topic.split("/") if (m := _NAMED.match(lvl))]

    @property
    def mqtt_filter(self) -> str:
        """The filter sent to the broker: names become "+", shared groups get their prefix."""
        return self.mqtt_filters({})[0]

    def mqtt_filters(self, narrow: dict[str, list[str]]) -> list[str]:
        """The filters sent to the broker, one per combination of the ``narrow`` values of
        named levels (a shard's own kabupaten); other names become "+"."""
        options: list[list[str]] = []
        for level in self.topic.split("/"):
            named = _NAMED.match(level)
            if named is None:
                options.append([level])
            else:
                options.append(list(narrow.get(named.group(1)) or ["+"]))
        plain = ["/".join(combo) for combo in itertools.product(*options)]
        prefix = f"$share/{self.shared_group}/" if self.shared_group else ""
        return [prefix + p for p in plain]


class MqttConfig(Strict):
    """MQTT telemetry: the broker, the session and the subscriptions. The delivery
    guarantee is in collectors/mqtt/README.md, the broker settings it needs in
    docs/mqtt-broker.md."""

    url: str = "mqtt://127.0.0.1:1883"
    """the broker: mqtt://host[:port] (port 1883) or mqtts://host[:port] (TLS, port 8883),
    without credentials
    """
    client_id: str = Field(default="netmon-1", min_length=1, max_length=64)
    """fixed, so the broker keeps this instance's persistent session across restarts"""
    username: str | None = None
    """user name at the broker"""
    password: SecretRef | None = None
    """password at the broker"""
    tls: TlsConfig | None = None
    protocol: Literal["3.1.1", "5"] = "5"
    """MQTT protocol version"""
    session_expiry: Duration = 7 * 86400.0
    """MQTT 5: how long the broker keeps the session (and queues QoS 1) while netmon is away"""
    keepalive: Duration = 30.0
    """MQTT keepalive: pings when idle, so a dead connection is noticed"""
    max_payload_bytes: int = Field(default=64 * 1024, ge=16)
    """larger messages are refused (result too_large)"""
    max_clock_skew: Duration = 86400.0
    """a payload time further ahead of its arrival than this (or before 2020) is no time: the
    message is applied with its arrival time and the time is counted in
    netmon_samples_dropped_total{reason="bad_time"} (a device clock 7 or 8 hours ahead, local
    time sent as UTC, still fits the default)
    """
    sequence_window: int = Field(default=64, ge=1)
    """a sequence number more than this below the last one applied is a device that restarted
    counting, not a repeat (for sources without payload times); keep it above the broker's
    max_inflight_messages (mosquitto: 20) plus what a device resends after a reconnect (paho:
    20)
    """
    reconnect_min: Duration = 0.5
    """first wait before reconnecting; it doubles (jittered) up to reconnect_max"""
    reconnect_max: Duration = 30.0
    """longest wait between attempts to reconnect"""
    subscriptions: list[Subscription] = Field(default_factory=list)
    """what to subscribe to, and how payloads become metrics"""
    narrow: dict[str, list[str]] = Field(default_factory=dict)
    """subscribe only where named topic levels take these values; set from the running shard's
    mqtt_topics (shards[] in netmon.yaml), rarely by hand
    """

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            msg = f"url must be mqtt://host[:port] or mqtts://host[:port], got {value!r}"
            raise ValueError(msg)
        if parts.username or parts.password:
            msg = "put credentials in username/password (a secret reference), not the url"
            raise ValueError(msg)
        return value

    @field_validator("subscriptions")
    @classmethod
    def _unique(cls, value: list[Subscription]) -> list[Subscription]:
        names = [s.name for s in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            msg = f"subscription names must be unique: {dupes}"
            raise ValueError(msg)
        return value

    @property
    def host(self) -> str:
        host = urlsplit(self.url).hostname
        assert host is not None
        return host

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def use_tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts" or self.tls is not None
