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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from netmon.api import Labels, MetricMeta, MetricType, Sample, Snapshot, TargetRef
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
    """A part's samples, column-wise, and when they arrived.

    Three tuples, not a list of samples: the garbage collector walks every tracked
    object of the oldest generation at each full collection, and starts one whenever a
    quarter of it is new. 10,000 devices keep ~1.7 M samples; as NamedTuples (or
    tuples holding a still-tracked label tuple) they made a full collection of ~0.5-1 s,
    a stall of the event loop, every few seconds. A row's label tuple is shared by its
    samples; and tuples, not lists: the collector stops tracking a tuple of untracked
    items (names, floats, label pairs) the first time it sees one, while a list stays
    tracked and each collection walks every item of it."""

    names: tuple[str, ...]
    labels: tuple[Labels, ...]
    values: tuple[float, ...]
    at: float

    @classmethod
    def of(cls, samples: list[Sample], at: float) -> _Kept:
        names, labels, values = zip(*samples, strict=True) if samples else ((), (), ())
        return cls(names, labels, values, at)

    def samples(self) -> Iterable[tuple[str, Labels, float]]:
        return zip(self.names, self.labels, self.values, strict=True)


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
    #: when it was last rendered (Unix time), and its snapshots applied so far
    rendered_at: float = float("-inf")
    version: int = 0
    #: label text of each label set of the last render (the next poll has the same ones)
    labels: dict[Labels, str] = field(default_factory=dict)

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
        #: grows with every change of what /metrics shows (a render, a target gone)
        self.generation = 0
        #: told when a target has something new to render (the render loop's wake-up)
        self.on_dirty: Callable[[], None] | None = None
        #: told how many samples each applied snapshot kept, polled or streamed (the
        #: daemon's garbage-collector tuning freezes by work done: GcTuning.delivered)
        self.on_applied: Callable[[int], None] | None = None
        #: targets applied or removed since the status engine last asked (take_changes)
        self._changes: set[str] = set()

    def _changed(self) -> None:
        self._cache = None
        self.generation += 1

    def _mark(self, key: str) -> None:
        self._dirty.add(key)
        if self.on_dirty is not None:
            self.on_dirty()

    def hide_sites(self, sites: frozenset[str]) -> None:
        """Keep polling these sites' targets for status, leave them out of /metrics."""
        if sites != self._hidden:
            self._hidden = sites
            self._changed()

    def add_meta(self, meta: Iterable[MetricMeta]) -> None:
        new = [m for m in meta if m.name not in self._meta]
        for m in new:
            self._meta[m.name] = m
        if new:  # HELP/TYPE of a family first seen: render again
            self._changed()

    @property
    def meta(self) -> Mapping[str, MetricMeta]:
        return self._meta

    def entries(self) -> Mapping[str, TargetEntry]:
        return self._entries

    def ensure(self, target: TargetRef, interval: float) -> TargetEntry:
        entry = self._entries.get(target.key)
        if entry is None or entry.target != target:
            entry = TargetEntry(target, interval)
            self._entries[target.key] = entry
            self._changed()  # nothing to render before its first snapshot
        entry.interval = interval
        return entry

    def remove(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._dirty.discard(key)
            self._changes.add(key)
            self._changed()

    def take_changes(self) -> set[str]:
        """The targets applied or removed since the last call (the status engine judges
        only their sites, not every site at every poll result)."""
        changes, self._changes = self._changes, set()
        return changes

    def sample(self, key: str, name: str, **labels: str) -> Sample | None:
        """The current sample of one series of a target whose labels include ``labels``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        want = tuple(labels.items())
        for kept in entry.parts.values():
            at = -1
            while True:  # the names searched in C: a status evaluation of 10,000 sites
                try:  # after a reload asks each target for a few series of its ~185
                    at = kept.names.index(name, at + 1)
                except ValueError:
                    break
                labels_of = kept.labels[at]
                if all(pair in labels_of for pair in want):
                    return Sample(name, labels_of, kept.values[at])
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

        The target is marked for rendering (the render loop does it soon after, at most
        once a second per target: a telemetry source may send many messages a second).
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
        kept = 0
        for part in snapshot.parts:
            if part.ok:
                entry.parts[part.name] = _Kept.of(part.samples, now)
                kept += len(part.samples)
        if self.on_applied is not None:
            self.on_applied(kept)
        entry.version += 1
        self._changes.add(snapshot.target.key)
        self._mark(snapshot.target.key)
        return Change(
            snapshot.target, before, entry.state, snapshot.error, snapshot.error_detail or ""
        )

    def _render(self, entry: TargetEntry, now: float) -> None:
        used: dict[Labels, str] = {}
        samples = self.prepare(entry, now)
        rendered = render_samples(samples, entry.dropped, entry.labels, used)
        entry.labels = used
        self.finish(entry, entry.version, rendered)

    def prepare(self, entry: TargetEntry, now: float) -> list[tuple[str, Labels, float]]:
        """The samples a render of ``entry`` writes (expired parts dropped first)."""
        horizon = now - RETAIN_INTERVALS * entry.interval
        for name in [n for n, kept in entry.parts.items() if kept.at < horizon]:
            del entry.parts[name]
        samples = [s for kept in entry.parts.values() for s in kept.samples()]
        samples.extend(self._health(entry))  # Samples are tuples too
        entry.rendered_at = now
        self._dirty.discard(entry.target.key)
        return samples

    def finish(self, entry: TargetEntry, version: int, rendered: dict[str, str]) -> None:
        """Put a render in place, unless the target changed or went meanwhile (a render
        in a worker thread): then it is rendered again."""
        if self._entries.get(entry.target.key) is not entry:
            return
        if entry.version != version:
            self._mark(entry.target.key)
            return
        entry.rendered = rendered
        self._changed()

    def size(self, key: str) -> int:
        """Samples a render of this target writes, about."""
        entry = self._entries.get(key)
        return 0 if entry is None else sum(len(k.names) for k in entry.parts.values())

    def pending(self, now: float, min_gap: float) -> tuple[list[str], float | None]:
        """Targets to render now (none rendered within ``min_gap`` seconds), and in how
        many seconds the next of the others is due (None: no other)."""
        due: list[str] = []
        wait: float | None = None
        for key in list(self._dirty):
            entry = self._entries.get(key)
            if entry is None:
                self._dirty.discard(key)
                continue
            left = entry.rendered_at + min_gap - now
            if left <= 0:
                due.append(key)
            else:
                wait = left if wait is None else min(wait, left)
        return due, wait

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

    def expire(self, now: float | None = None, keys: Iterable[str] | None = None) -> None:
        """Drop retained parts that grew too old without a fresh poll (of ``keys``: the
        daemon goes through its targets a slice at a time)."""
        now = time.time() if now is None else now
        entries = self._entries
        for key in entries if keys is None else keys:
            entry = entries.get(key)
            if entry is None:
                continue
            horizon = now - RETAIN_INTERVALS * entry.interval
            if any(kept.at < horizon for kept in entry.parts.values()):
                self._mark(key)

    def render_bytes(self, now: float | None = None) -> bytes:
        """:meth:`render` as UTF-8, encoded once per change: concurrent scrapes share one
        copy instead of holding one each (200 scrapers of a 5 MB exposition)."""
        text = self.render(now)
        if self._cache_bytes is None or self._cache_bytes[0] is not text:
            self._cache_bytes = (text, text.encode())
        return self._cache_bytes[1]

    def render_target(self, key: str, now: float) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            self._render(entry, now)

    def exported(self) -> list[Mapping[str, str]]:
        """Every exported target's rendered families, as they are now."""
        return [e.rendered for e in self._entries.values() if e.target.site not in self._hidden]

    def render(self, now: float | None = None) -> str:
        """The whole exposition, every pending target rendered first (tools and tests;
        the daemon renders in its render loop and joins off the event loop)."""
        if self._dirty:
            now = time.time() if now is None else now
            for key in list(self._dirty):
                self.render_target(key, now)
            self._dirty.clear()
        if self._cache is None:
            self._cache = join_families(self._meta, self.exported())
        return self._cache
