"""Telemetry sources: what each (site, device) last said, whether it is alive.

A source is one target of the store (collector "mqtt"). Each message updates
its values and liveness; a source silent for its subscription's TTL goes
stale (its series vanish, ``netmon_target_up`` 0), and a Last Will "offline"
on a site's status topic takes every MQTT source of that site down at once.

At-least-once delivery is made idempotent here: a message whose per-source
sequence number or payload timestamp is not newer than the last one applied
is a repeat (``duplicate``) and changes nothing, unless the device restarted
counting (the rules are in repeats.py). Every value passes the plausibility
range of its unit family (netmon/plausible.py); a message that yields no
valid value creates no source and marks none up.
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
from collectors.mqtt.repeats import Order, Verdict, advance, judge, payload_time
from netmon.api import (
    Labels,
    MetricMeta,
    MetricType,
    Part,
    Sample,
    Sink,
    Snapshot,
    TargetRef,
    plausible,
)

log = structlog.get_logger("netmon.mqtt")

OFFLINE = frozenset({"offline", "lost", "dead", "down", "0", "false"})

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
    MetricMeta(
        "netmon_mqtt_source_restarts_total",
        MetricType.COUNTER,
        "Times the source started counting again: its sequence number (or, without one, "
        "its payload time) went back and the message was new (collectors/mqtt/README.md).",
    ),
)


@dataclass(slots=True)
class Source:
    target: TargetRef
    subscription: Subscription
    last_seen: float = 0.0
    #: arrival of the last message applied (the store's last success)
    applied_at: float = 0.0
    order: Order = field(default_factory=Order)
    restarts: int = 0
    state: str = "up"  # up | offline | stale
    values: dict[tuple[str, Labels], float] = field(default_factory=dict)
    age: float | None = None
    #: reason -> values dropped since the last snapshot (netmon_samples_dropped_total)
    dropped: Counter[str] = field(default_factory=Counter)
    #: its last payload time was no time (logged once per change)
    clock_bad: bool = False


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
        #: since when netmon has been connected to the broker without a break (None:
        #: not connected); a source silent past its TTL while it was is a session ended
        self.listening_since: float | None = None

    def listening(self, connected: bool) -> None:
        """The runner's connection came up or went down."""
        self.listening_since = self.clock() if connected else None

    def handle(self, topic: str, payload: bytes, *, retained: bool = False) -> tuple[str, str]:
        """Apply one message; returns (result, subscription name) for the counters.

        ``retained``: the broker sent it because netmon (re)subscribed (old state).
        """
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
        source = self.sources.get((site, device))
        now = self.clock()
        if decoded.state is not None:
            source = source or self._create(sub, site, device)
            if source is None:
                return "over_budget", sub.name
            return self._status(source, decoded.state, now, retained), sub.name
        ts, no_time = payload_time(decoded.timestamp, now, self.config.max_clock_skew)
        verdict, sign = judge(
            source.order if source else Order(),
            decoded.sequence,
            ts,
            retained=retained,
            window=self.config.sequence_window,
        )
        if verdict is Verdict.REPEAT:
            return "duplicate", sub.name
        base: Labels = (("site", site), ("device", device))
        base += tuple((k, fill(v, names)) for k, v in sub.labels.items())
        updates: list[tuple[tuple[str, Labels], float]] = []
        implausible = 0
        try:
            for metric in sub.metrics:
                value = field_value(metric, field_of(decoded, metric))
                if value is None:
                    continue
                if plausible(metric.name, value):
                    updates.append(((metric.name, metric_labels(metric, names, base)), value))
                else:
                    implausible += 1  # a sentinel or a broken sensor: never exported
        except PayloadError as exc:
            return exc.reason, sub.name  # never half a message
        if not updates:
            # nothing to show: no source is created, refreshed or marked up by it
            if source is not None and implausible:
                source.dropped["implausible"] += implausible
                if source.state == "up":  # show the count now; values and age unchanged
                    self._publish(source, now, started=source.applied_at)
            return ("implausible" if implausible else "no_values"), sub.name
        source = source or self._create(sub, site, device)
        if source is None:
            return "over_budget", sub.name
        if implausible:
            source.dropped["implausible"] += implausible
        if decoded.timestamp is not None:
            self._clock_check(source, no_time)
        if verdict is Verdict.RESTART:
            self._restarted(source, sign, decoded.sequence)
        advance(source.order, decoded.sequence, ts)
        source.values.update(updates)
        # a retained message from long ago must not make a dead site look alive
        source.last_seen = min(now, ts) if ts is not None else now
        source.age = now - ts if ts is not None else None
        source.applied_at = now
        self._up(source)
        self._publish(source, now)
        return "applied", sub.name

    def _create(self, sub: Subscription, site: str, device: str) -> Source | None:
        """A new source, or None when the subscription's budget is spent."""
        if self.per_subscription[sub.name] >= sub.max_sources:
            return None
        source = Source(TargetRef(site, device, "mqtt"), sub)
        self.sources[(site, device)] = source
        self.per_subscription[sub.name] += 1
        return source

    def _clock_check(self, source: Source, no_time: str) -> None:
        """Count a payload time that is no time; log when a source's clock goes bad or good."""
        if no_time:
            source.dropped["bad_time"] += 1
        if bool(no_time) == source.clock_bad:
            return
        source.clock_bad = bool(no_time)
        t = source.target
        if no_time:
            log.warning(
                "payload time ignored, arrival time used",
                site=t.site,
                device=t.device,
                why=no_time,
            )
        else:
            log.info("payload times usable again", site=t.site, device=t.device)

    def _restarted(self, source: Source, sign: str, sequence: int | None) -> None:
        source.restarts += 1
        log.info(
            "telemetry source restarted counting",
            site=source.target.site,
            device=source.target.device,
            sign=sign,
            last=source.order.sequence,
            now=sequence,
        )

    def _match(self, topic: str) -> tuple[Subscription, dict[str, str]] | None:
        for sub, matcher in self.matchers:
            names = matcher.match(topic)
            if names is not None:
                return sub, names
        return None

    def _status(self, source: Source, state: str, now: float, retained: bool) -> str:
        if state in OFFLINE:
            # the site's agent is gone (Last Will): everything it reported goes down now
            # (the status source itself is among them: a new one starts "up")
            for other in self.sources.values():
                if other.target.site == source.target.site and other.state == "up":
                    self._down(other, "offline", now)
        else:
            if not retained:  # the agent (re)connected: the site's devices may count anew
                for other in self.sources.values():
                    if other.target.site == source.target.site:
                        other.order.session_ended = True
            self._up(source)
            source.last_seen = source.applied_at = now
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

    def _publish(self, source: Source, now: float, started: float | None = None) -> None:
        """``started``: when the shown values arrived, if not now."""
        labels = source.target.labels
        samples = [Sample(name, lbls, value) for (name, lbls), value in source.values.items()]
        samples.append(
            Sample("netmon_mqtt_last_message_timestamp_seconds", labels, source.last_seen)
        )
        if source.age is not None:
            samples.append(Sample("netmon_mqtt_message_age_seconds", labels, round(source.age, 3)))
        sub = source.subscription
        if sub.sequence or sub.timestamp:
            samples.append(
                Sample("netmon_mqtt_source_restarts_total", labels, float(source.restarts))
            )
        snapshot = Snapshot(
            source.target,
            now if started is None else started,
            0.0,
            [Part("mqtt", samples)],
            dropped=self._take_dropped(source),
        )
        self.sink.apply(snapshot, sub.ttl, now, replace=True)

    @staticmethod
    def _take_dropped(source: Source) -> dict[str, int]:
        dropped = dict(source.dropped)
        source.dropped.clear()
        return dropped

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
        heard = self.listening_since is not None and self.listening_since <= source.applied_at
        if reason == "offline" or heard:
            # its session ended (a Last Will, or silence netmon was there to hear; not
            # netmon's own outage, after which the broker first resends repeats)
            source.order.session_ended = True
        detail = (
            "Last Will: the site's agent went offline"
            if reason == "offline"
            else (f"silent for more than {source.subscription.ttl:g}s")
        )
        snapshot = Snapshot(
            source.target,
            now,
            0.0,
            [],
            error=reason,
            error_detail=detail,
            dropped=self._take_dropped(source),
        )
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
