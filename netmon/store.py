"""The store: the latest snapshot of every target, rendered once, joined per scrape.

A poll's snapshot replaces the target's previous one as a whole. Over bad
links a table (or the whole device) sometimes fails; its last good samples
then stay for up to ``RETAIN_INTERVALS`` intervals so dashboards do not
flicker, and vanish after that. A target removed from the config is dropped
at once: no stale series.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from netmon.api import MetricMeta, MetricType, Part, Sample, Snapshot, TargetRef
from netmon.exposition import join_families, render_samples

RETAIN_INTERVALS = 3

HEALTH_META = (
    MetricMeta(
        "netmon_target_up",
        MetricType.GAUGE,
        "1 when the last poll of the target succeeded, 0 when it failed; no series before "
        "its first poll (unknown is not down).",
    ),
    MetricMeta(
        "netmon_poll_duration_seconds",
        MetricType.GAUGE,
        "Wall time of the last poll of the target.",
    ),
    MetricMeta(
        "netmon_last_poll_success_timestamp_seconds",
        MetricType.GAUGE,
        "Unix time of the last successful poll of the target.",
    ),
    MetricMeta(
        "netmon_poll_errors_total",
        MetricType.COUNTER,
        "Failed or partial polls by reason (timeout, auth, decode, deadline, partial, ...).",
    ),
    MetricMeta(
        "netmon_samples_dropped_total",
        MetricType.COUNTER,
        "Values dropped on purpose by reason: sentinel, implausible (outside its unit's range), "
        "decode, unmapped, label_cap, bad_index, bad_time (an MQTT payload time that is no time), "
        "duplicate (a second series with a label set already seen for the target).",
    ),
)


@dataclass(slots=True)
class _Kept:
    part: Part
    at: float


@dataclass(slots=True)
class TargetEntry:
    target: TargetRef
    interval: float
    parts: dict[str, _Kept] = field(default_factory=dict)
    polls: int = 0
    last_started: float = 0.0
    last_success: float = 0.0
    last_duration: float = 0.0
    last_error: str | None = None
    last_error_detail: str = ""
    errors: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    rendered: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.polls == 0:
            return "unknown"
        if self.last_error is not None:
            return "down"
        return "partial" if self.last_error_detail else "up"


@dataclass(frozen=True, slots=True)
class Change:
    """What the last apply changed, for logging once per state change."""

    target: TargetRef
    before: str
    after: str
    reason: str | None
    detail: str


class Store:
    def __init__(self, meta: Iterable[MetricMeta] = ()) -> None:
        self._entries: dict[str, TargetEntry] = {}
        self._dirty: set[str] = set()
        self._meta: dict[str, MetricMeta] = {m.name: m for m in (*HEALTH_META, *meta)}
        self._cache: str | None = None
        #: the cache encoded, shared by every scrape until the next change
        self._cache_bytes: tuple[str, bytes] | None = None
        #: sites polled here but exported by another shard (read-only ancestors)
        self._hidden: frozenset[str] = frozenset()

    def hide_sites(self, sites: frozenset[str]) -> None:
        """Keep polling these sites' targets for status, leave them out of /metrics."""
        if sites != self._hidden:
            self._hidden = sites
            self._cache = None

    def add_meta(self, meta: Iterable[MetricMeta]) -> None:
        new = [m for m in meta if m.name not in self._meta]
        for m in new:
            self._meta[m.name] = m
        if new:  # HELP/TYPE of a family first seen: render again
            self._cache = None

    def entries(self) -> Mapping[str, TargetEntry]:
        return self._entries

    def ensure(self, target: TargetRef, interval: float) -> TargetEntry:
        entry = self._entries.get(target.key)
        if entry is None or entry.target != target:
            entry = TargetEntry(target, interval)
            self._entries[target.key] = entry
            self._dirty.add(target.key)  # rendered at the next scrape, like every change
            self._cache = None
        entry.interval = interval
        return entry

    def remove(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._dirty.discard(key)
            self._cache = None

    def sample(self, key: str, name: str, **labels: str) -> Sample | None:
        """The current sample of one series of a target whose labels include ``labels``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        want = tuple(labels.items())
        for kept in entry.parts.values():
            for sample in kept.part.samples:
                if sample.name == name and all(pair in sample.labels for pair in want):
                    return sample
        return None

    def value(self, key: str, name: str, **labels: str) -> float | None:
        """The current value of one series of a target (None when absent)."""
        found = self.sample(key, name, **labels)
        return None if found is None else found.value

    def keys(self) -> set[str]:
        return set(self._entries)

    def apply(
        self,
        snapshot: Snapshot,
        interval: float,
        now: float | None = None,
        *,
        replace: bool = False,
    ) -> Change:
        """Swap in a snapshot. Parts it lacks are kept (retention) unless ``replace``.

        Rendering waits for the next scrape: a telemetry source may send many
        messages between two scrapes, and only the last state is exposed.
        """
        now = time.time() if now is None else now
        if snapshot.meta:  # families of a collector's own (a user's SNMP profile)
            self.add_meta(snapshot.meta)
        entry = self.ensure(snapshot.target, interval)
        before = entry.state
        entry.polls += 1
        entry.last_started = snapshot.started
        entry.last_duration = snapshot.duration
        entry.last_error = snapshot.error
        entry.last_error_detail = snapshot.error_detail
        entry.dropped.update(snapshot.dropped)
        if snapshot.error is not None:
            entry.errors[snapshot.error] += 1
        else:
            entry.last_success = snapshot.started + snapshot.duration
            if snapshot.partial:
                entry.errors["partial"] += 1
        if replace:
            entry.parts.clear()
        for part in snapshot.parts:
            if part.ok:
                entry.parts[part.name] = _Kept(part, now)
        self._dirty.add(snapshot.target.key)
        self._cache = None
        return Change(
            snapshot.target, before, entry.state, snapshot.error, snapshot.error_detail or ""
        )

    def _render(self, entry: TargetEntry, now: float) -> None:
        horizon = now - RETAIN_INTERVALS * entry.interval
        for name in [n for n, kept in entry.parts.items() if kept.at < horizon]:
            del entry.parts[name]
        samples: list[Sample] = [s for kept in entry.parts.values() for s in kept.part.samples]
        samples.extend(self._health(entry))
        entry.rendered = render_samples(samples, entry.dropped)
        self._cache = None

    def _health(self, entry: TargetEntry) -> list[Sample]:
        if entry.polls == 0:
            # not polled yet is unknown: no netmon_target_up at all, never a false 0 (for
            # up to one interval after a start or reload; five minutes for VSAT)
            return []
        t = entry.target
        labels = (*t.labels, ("collector", t.collector))
        out = [
            Sample("netmon_target_up", labels, 1.0 if entry.state in ("up", "partial") else 0.0),
            Sample("netmon_poll_duration_seconds", labels, round(entry.last_duration, 6)),
            Sample(
                "netmon_last_poll_success_timestamp_seconds", labels, round(entry.last_success, 3)
            ),
        ]
        out.extend(
            Sample("netmon_poll_errors_total", (*labels, ("reason", r)), float(n))
            for r, n in sorted(entry.errors.items())
        )
        out.extend(
            Sample("netmon_samples_dropped_total", (*labels, ("reason", r)), float(n))
            for r, n in sorted(entry.dropped.items())
        )
        return out

    def expire(self, now: float | None = None) -> None:
        """Drop retained parts that grew too old without a fresh poll."""
        now = time.time() if now is None else now
        for entry in self._entries.values():
            horizon = now - RETAIN_INTERVALS * entry.interval
            if any(kept.at < horizon for kept in entry.parts.values()):
                self._render(entry, now)

    def render_bytes(self, now: float | None = None) -> bytes:
        """:meth:`render` as UTF-8, encoded once per change: concurrent scrapes share one
        copy instead of holding one each (200 scrapers of a 5 MB exposition)."""
        text = self.render(now)
        if self._cache_bytes is None or self._cache_bytes[0] is not text:
            self._cache_bytes = (text, text.encode())
        return self._cache_bytes[1]

    def render(self, now: float | None = None) -> str:
        if self._dirty:
            now = time.time() if now is None else now
            for key in self._dirty:
                entry = self._entries.get(key)
                if entry is not None:
                    self._render(entry, now)
            self._dirty.clear()
        if self._cache is None:
            self._cache = join_families(
                self._meta,
                (e.rendered for e in self._entries.values() if e.target.site not in self._hidden),
            )
        return self._cache
