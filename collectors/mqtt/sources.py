"""Telemetry sources: what each (site, device) last said, whether it is alive.

A source is one target of the store (collector "mqtt"). Each message updates
its values and liveness; a source silent for its subscription's TTL goes
stale (its series vanish, ``netmon_target_up`` 0), and a Last Will "offline"
on a site's status topic takes every MQTT source of that site down at once.

At-least-once delivery is made idempotent here: a message whose per-source
sequence number or payload timestamp is not newer than the last one applied
is a repeat (``duplicate``) and changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from collectors.mqtt.config import MqttConfig, Subscription
from collectors.mqtt.mapping import (
    PayloadError,
    TopicMatcher,
    decode,
    field_of,
    field_value,
    fill,
    metric_labels,
)
from netmon.api import Labels, MetricMeta, MetricType, Part, Sample, Sink, Snapshot, TargetRef

log = structlog.get_logger("netmon.mqtt")

OFFLINE = frozenset({"offline", "lost", "dead", "down", "0", "false"})
#: a sequence number this far below the last one is a device that restarted counting
REORDER_WINDOW = 1000

META = (
    MetricMeta(
        "netmon_mqtt_message_age_seconds",
        MetricType.GAUGE,
        "Age of the last applied message when it arrived, from its payload timestamp "
        "(large for a retained message from long ago).",
    ),
    MetricMeta(
        "netmon_mqtt_last_message_timestamp_seconds",
        MetricType.GAUGE,
        "When the source last said something (payload time if it has one, else arrival).",
    ),
)


@dataclass(slots=True)
class Source:
    target: TargetRef
    subscription: Subscription
    last_seen: float = 0.0
    last_sequence: int | None = None
    last_timestamp: float | None = None
    state: str = "up"  # up | offline | stale
    values: dict[tuple[str, Labels], float] = field(default_factory=dict)
    age: float | None = None


class Sources:
    def __init__(
        self,
        config: MqttConfig,
        sink: Sink,
        site_exists: Callable[[str], bool],
        clock: Callable[[], float] = time.time,
        *,
        elsewhere: Callable[[str], bool] = lambda _site: False,
    ) -> None:
        self.config = config
        self.sink = sink
        self.site_exists = site_exists
        self.elsewhere = elsewhere
        self.clock = clock
        self.matchers = [(sub, TopicMatcher(sub.topic)) for sub in config.subscriptions]
        self.sources: dict[tuple[str, str], Source] = {}
        self.per_subscription: Counter[str] = Counter()

    def handle(self, topic: str, payload: bytes) -> tuple[str, str]:
        """Apply one message; returns (result, subscription name) for the counters."""
        if len(payload) > self.config.max_payload_bytes:
            return "too_large", ""
        found = self._match(topic)
        if found is None:
            return "unknown_topic", ""
        sub, names = found
        site = names["site"]
        if not self.site_exists(site):
            # another shard's site: expected on a shared topic filter, not an error
            return ("other_shard" if self.elsewhere(site) else "unknown_site"), sub.name
        try:
            decoded = decode(sub, payload)
        except PayloadError as exc:
            return exc.reason, sub.name
        device = fill(sub.device, names) or sub.name
        key = (site, device)
        source = self.sources.get(key)
        if source is None:
            if self.per_subscription[sub.name] >= sub.max_sources:
                return "over_budget", sub.name
            source = Source(TargetRef(site, device, "mqtt"), sub)
            self.sources[key] = source
            self.per_subscription[sub.name] += 1
        now = self.clock()
        if decoded.state is not None:
            return self._status(source, decoded.state, now), sub.name
        if self._repeat(source, decoded.sequence, decoded.timestamp):
            return "duplicate", sub.name
        base: Labels = (("site", site), ("device", device))
        base += tuple((k, fill(v, names)) for k, v in sub.labels.items())
        updates: list[tuple[tuple[str, Labels], float]] = []
        try:
            for metric in sub.metrics:
                value = field_value(metric, field_of(decoded, metric))
                if value is not None:
                    updates.append(((metric.name, metric_labels(metric, names, base)), value))
        except PayloadError as exc:
            return exc.reason, sub.name  # never half a message
        source.values.update(updates)
        if decoded.sequence is not None:
            source.last_sequence = decoded.sequence
        if decoded.timestamp is not None:
            source.last_timestamp = decoded.timestamp
        # a retained message from long ago must not make a dead site look alive
        source.last_seen = min(now, decoded.timestamp) if decoded.timestamp else now
        source.age = now - decoded.timestamp if decoded.timestamp is not None else None
        self._up(source)
        self._publish(source, now)
        return "applied", sub.name

    def _match(self, topic: str) -> tuple[Subscription, dict[str, str]] | None:
        for sub, matcher in self.matchers:
            names = matcher.match(topic)
            if names is not None:
                return sub, names
        return None

    @staticmethod
    def _repeat(source: Source, sequence: int | None, timestamp: float | None) -> bool:
        """A redelivery or an older message, not something new.

        A sequence number not above the last one is a repeat, unless the payload
        time is newer: then the device restarted its counter (a reboot must not
        silence it until it counts past its old number). Without a payload time,
        a drop far below the last number is taken as such a restart.
        """
        last_ts = source.last_timestamp
        if sequence is not None and source.last_sequence is not None:
            if sequence > source.last_sequence:
                return False
            if timestamp is not None and last_ts is not None:
                return timestamp <= last_ts
            return sequence > source.last_sequence - REORDER_WINDOW
        if timestamp is not None and last_ts is not None:
            return timestamp <= last_ts
        return False

    def _status(self, source: Source, state: str, now: float) -> str:
        if state in OFFLINE:
            # the site's agent is gone (Last Will): everything it reported goes down now
            # (the status source itself is among them: a new one starts "up")
            for other in self.sources.values():
                if other.target.site == source.target.site and other.state == "up":
                    self._down(other, "offline", now)
        else:
            self._up(source)
            source.last_seen = now
            self._publish(source, now)
        return "applied"

    @staticmethod
    def _up(source: Source) -> None:
        if source.state != "up":
            log.info(
                "telemetry source recovered",
                site=source.target.site,
                device=source.target.device,
                was=source.state,
            )
        source.state = "up"

    def _publish(self, source: Source, now: float) -> None:
        labels = source.target.labels
        samples = [Sample(name, lbls, value) for (name, lbls), value in source.values.items()]
        samples.append(
            Sample("netmon_mqtt_last_message_timestamp_seconds", labels, source.last_seen)
        )
        if source.age is not None:
            samples.append(Sample("netmon_mqtt_message_age_seconds", labels, round(source.age, 3)))
        snapshot = Snapshot(source.target, now, 0.0, [Part("mqtt", samples)])
        self.sink.apply(snapshot, source.subscription.ttl, now, replace=True)

    def _down(self, source: Source, reason: str, now: float) -> None:
        """Logged once: a source only goes down from up."""
        log.warning(
            "telemetry source down",
            site=source.target.site,
            device=source.target.device,
            reason=reason,
        )
        source.state = reason
        source.values.clear()
        detail = (
            "Last Will: the site's agent went offline"
            if reason == "offline"
            else (f"silent for more than {source.subscription.ttl:g}s")
        )
        snapshot = Snapshot(source.target, now, 0.0, [], error=reason, error_detail=detail)
        self.sink.apply(snapshot, source.subscription.ttl, now, replace=True)

    def expire(self) -> int:
        """Sources silent past their TTL go stale, long-dead ones are forgotten.

        Returns how many went stale.
        """
        now = self.clock()
        went = 0
        for key, source in list(self.sources.items()):
            ttl = source.subscription.ttl
            if source.state == "up" and now - source.last_seen > ttl:
                self._down(source, "stale", now)
                went += 1
            elif source.state != "up" and now - source.last_seen > 10 * ttl:
                # gone for good (or a rogue one-off): free its slot in the budget
                del self.sources[key]
                self.per_subscription[source.subscription.name] -= 1
                self.sink.remove(source.target.key)
        return went

    def drop_sites(self, keep: Callable[[str], bool]) -> None:
        """After a reload: sources of sites no longer in the inventory vanish at once."""
        for key, source in list(self.sources.items()):
            if not keep(source.target.site):
                del self.sources[key]
                self.per_subscription[source.subscription.name] -= 1
                self.sink.remove(source.target.key)
