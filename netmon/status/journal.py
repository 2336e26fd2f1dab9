"""The outage journal: every closed outage, one JSON line each, kept for years.

Prometheus keeps weeks; a dispute with an ISP comes months later. So each outage is
appended here as it closes (status.journal_file): open in append mode, write one line,
flush, fsync. A crash can at worst tear the line being written; the reader skips and
counts such a line, and the next append starts on a fresh line, so one torn record
never costs another. One file, never rotated: back it up with the state file.

Outages still open are not here: they are in the state file and the status API.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from netmon import logging as nlog
from netmon.config import LoadedConfig
from netmon.status.engine import SiteState, StatusEngine

log = nlog.get("netmon.status")

#: an outage spanning a daemon restart whose gap is longer than this many status
#: intervals happened partly while netmon was blind (``stale``)
STALE_INTERVALS = 3
#: a line longer than this is not a record netmon wrote (read in bounded pieces)
MAX_LINE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Outage:
    """One closed outage of one site."""

    site: str
    #: the failed site at the top of the outage (the site itself when it was down)
    root: str
    #: link | power | device | uplink | unknown
    cause: str
    #: the link the site was down by, when the cause is link ("" otherwise)
    link: str
    #: Unix seconds (UTC), when the outage began and when the site was back
    start: float
    end: float
    #: down | unreachable: the status the outage began with
    state: str
    #: in maintenance (inventory flag or Alertmanager silence) during it: a record is
    #: split where maintenance begins or ends, so this holds for the whole record
    maintenance: bool = False
    #: during a declared power cut (site.power_cuts): a record is split at a cut's edges
    power_cut: bool = False
    #: netmon was blind during part of it (it spans a restart gap)
    stale: bool = False

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"

    @classmethod
    def parse(cls, data: Any) -> Outage:
        """A record from a decoded line; ValueError when it is not one netmon wrote."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.type == "str" and isinstance(value, str):
                values[f.name] = value
            elif f.type == "float" and isinstance(value, int | float) and _number(value):
                values[f.name] = float(value)
            elif f.type == "bool" and isinstance(value, bool):
                values[f.name] = value
            elif f.type == "bool" and value is None:
                values[f.name] = False  # a flag added later: absent in older lines
            else:
                raise ValueError(f"field {f.name}: {value!r}")
        outage = cls(**values)
        if outage.end < outage.start:
            raise ValueError("ends before it starts")
        return outage


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Scan:
    """What a read found: the records, and the lines that were not records (torn)."""

    outages: list[Outage]
    skipped: int


def append(path: Path, record: Outage) -> None:
    """Append one record and sync it to disk before returning.

    A previous write torn by a crash left no newline at the end: a newline first, so
    that only the torn line is lost (the reader skips it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        data = record.line().encode()
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def scan(path: Path, start: float | None = None, end: float | None = None) -> Scan:
    """The records overlapping [start, end) (all without bounds), in file order; lines
    that are not records are skipped and counted. No file: nothing, not an error."""
    found: list[Outage] = []
    skipped = 0
    try:
        with path.open("rb") as src:
            while line := src.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE:  # not netmon's: skip the rest of it
                    while line and not line.endswith(b"\n"):
                        line = src.readline(MAX_LINE + 1)
                    skipped += 1
                    continue
                if not line.strip():
                    continue
                try:
                    outage = Outage.parse(json.loads(line))
                except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                    skipped += 1
                    continue
                if (start is None or outage.end > start) and (end is None or outage.start < end):
                    found.append(outage)
    except FileNotFoundError:
        pass
    return Scan(found, skipped)


def read(path: Path, start: float, end: float) -> list[Outage]:
    """The closed outages overlapping [start, end); unreadable lines are logged."""
    result = scan(path, start, end)
    if result.skipped:
        log.warning("journal lines skipped", file=str(path), lines=result.skipped)
    return result.outages


def journal_file(config: LoadedConfig) -> Path | None:
    """status.journal_file, relative to the folder of netmon.yaml; by default
    outages.jsonl beside the state file; None: neither is set."""
    status, base = config.main.status, config.path.parent
    if status.journal_file is not None:
        return base / status.journal_file
    if status.state_file is not None:
        return (base / status.state_file).parent / "outages.jsonl"
    return None


@dataclass(slots=True)
class _Open:
    """An outage not closed yet: the state it began with (its detail kept current while
    the status stays the same) and what has been seen during it."""

    state: SiteState
    maintenance: bool = False
    stale: bool = False


def _in_maintenance(engine: StatusEngine, sid: str) -> bool:
    """In maintenance now: the inventory's flag, or an Alertmanager silence of the site."""
    return engine.inventory.sites[sid].maintenance or sid in engine.silenced


def _same_outage(opened: SiteState, after: SiteState, sid: str) -> bool:
    """The same status behind the same root: one record goes on (the detail may change)."""
    return after.status == opened.status and (after.upstream or sid) == (opened.upstream or sid)


class Recorder:
    """Follows the published site states and appends an outage when it closes (a site
    back to up or degraded from down or unreachable). An outage that changes while it
    lasts (down to unreachable or back, another root above it, maintenance beginning or
    ending, a declared cut's edge) is written as consecutive records, each true for its
    whole span: a report excludes exactly the time a reason held, never a whole outage
    for a reason seen at one moment of it."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.interval = 1.0
        self._open: dict[str, _Open] = {}
        #: records a failed write left to the next try
        self._pending: list[Outage] = []
        self._heartbeat: Path | None = None
        self._beat = 0.0
        #: what the open outages' maintenance flags were last checked against (the
        #: inventory, the silenced sites): only a change of one can change a flag
        self._flags_of: tuple[object, frozenset[str]] | None = None

    def configure(self, path: Path | None, interval: float, state_file: Path | None) -> None:
        """``path``: the journal (None: none); ``interval``: status.interval; the state
        file is where netmon marks the time it was last alive."""
        self.path, self.interval, self._heartbeat = path, interval, state_file

    def restored(self, engine: StatusEngine, now: float) -> None:
        """At start: the outages the state file says are open. When netmon was away
        longer than STALE_INTERVALS status intervals (the state file's modification
        time, kept fresh by :meth:`observe`, is when it was last alive) they are stale."""
        last = _mtime(self._heartbeat)
        gap = now - last if last is not None else 0.0
        stale = gap > STALE_INTERVALS * self.interval
        for sid, state in engine.published.items():
            if state.failed:
                self._open[sid] = _Open(state, _in_maintenance(engine, sid), stale)
        self._touch(now)

    def observe(
        self,
        engine: StatusEngine,
        changes: Iterable[tuple[str, SiteState, SiteState]],
        now: float,
    ) -> list[Outage]:
        """Follow one evaluation's published changes; append and return what closed."""
        closed: list[Outage] = []
        for sid, _before, after in changes:
            if not engine.inventory.exported(sid):
                continue  # a read-only ancestor: the shard that exports it journals it
            opened = self._open.get(sid)
            if after.failed:
                if opened is None:
                    self._open[sid] = _Open(after, _in_maintenance(engine, sid))
                elif _same_outage(opened.state, after, sid):  # new detail (cause, link)
                    opened.state = replace(after, since=opened.state.since)
                else:  # another status or root: this part ends where the next begins
                    moved = after.status != opened.state.status
                    at = max(after.since if moved else now, opened.state.since)
                    closed += self._record(engine, sid, opened, at)
                    self._open[sid] = _Open(replace(after, since=at), opened.maintenance)
            elif after.status != "unknown" and opened is not None:
                del self._open[sid]
                closed += self._record(engine, sid, opened, after.since)
        closed += self._maintenance_edges(engine, now)
        self._write(closed)
        self._touch(now)
        return closed

    def _maintenance_edges(self, engine: StatusEngine, now: float) -> list[Outage]:
        """Split the open outages whose maintenance flag changed (a silence began or
        ended, a reload flagged a site); drop those of sites the inventory lost. Only
        after such a change: every open outage of a mass cut at every evaluation was
        most of the status loop's time."""
        flags_of = (engine.inventory, engine.silenced)
        if self._flags_of is not None and (
            self._flags_of[0] is flags_of[0] and self._flags_of[1] == flags_of[1]
        ):
            return []
        self._flags_of = flags_of
        closed: list[Outage] = []
        sites = engine.inventory.sites
        for sid, opened in list(self._open.items()):
            if sid not in sites:
                del self._open[sid]  # removed from the inventory
                continue
            flag = _in_maintenance(engine, sid)
            if flag == opened.maintenance:
                continue
            if now <= opened.state.since:  # began at this evaluation: one record
                opened.maintenance = flag
                continue
            closed += self._record(engine, sid, opened, now)
            self._open[sid] = _Open(replace(opened.state, since=now), flag)
        return closed

    def _record(self, engine: StatusEngine, sid: str, opened: _Open, end: float) -> list[Outage]:
        """The closed part, split at the edges of the declared power cuts inside it."""
        state = opened.state
        start = state.since
        end = max(end, start)
        cuts = engine.inventory.sites[sid].power_cuts
        edges = sorted({start, end, *(t for c in cuts for t in c if start < t < end)})
        spans = list(itertools.pairwise(edges)) or [(start, end)]
        return [
            Outage(
                site=sid,
                root=state.upstream or sid,
                cause=state.cause or "unknown",
                link=state.link,
                start=a,
                end=b,
                state=state.status,
                maintenance=opened.maintenance,
                power_cut=any(c0 <= (a + b) / 2 < c1 for c0, c1 in cuts) if b > a else False,
                stale=opened.stale,
            )
            for a, b in spans
        ]

    def _write(self, closed: list[Outage]) -> None:
        if self.path is None:
            self._pending.clear()
            return
        todo, self._pending = [*self._pending, *closed], []
        for i, record in enumerate(todo):
            try:
                append(self.path, record)
            except OSError as exc:
                self._pending = todo[i:]
                log.error(
                    "cannot append to the outage journal",
                    file=str(self.path),
                    error=exc.strerror,
                    waiting=len(self._pending),
                )
                return

    def _touch(self, now: float) -> None:
        """Mark the state file with the time netmon was last alive (at most once per
        status interval: a metadata update, no data written)."""
        if self._heartbeat is None or now - self._beat < self.interval:
            return
        self._beat = now
        with contextlib.suppress(OSError):  # not written yet (no change so far), or gone
            os.utime(self._heartbeat, (now, now))


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime
    except OSError:
        return None
