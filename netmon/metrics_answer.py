"""The /metrics answer, kept ready: joined, encoded and gzipped off the event loop.

Targets are rendered when their snapshots arrive (``netmon.render_loop``); what is left
for an answer is to join every target's families under one HELP/TYPE each, encode and
(Prometheus asks for it) gzip. At 10,000 devices that is ~190 MB of text: too much for
the event loop, and too much to redo at every scrape of two Prometheus replicas. So an
answer is built in a worker thread (``netmon.answer_build``: a few hundred kilobytes at a
time, giving way to the event loop between them), once per change and format, and
kept. A scrape is then served from the ready answer: its handler costs the same however
much changed.

Freshness: a scrape gets the ready answer when nothing changed since; when builds are
quick (under 0.25 s) it otherwise waits for a new build (one at a time, shared by every
scrape waiting). When builds are slow (a big province), waiting would make the scrape as
slow as a build, so a scrape never waits for one: it gets the ready answer when that is
at most ``SERVE_STALE`` seconds old, and one is built behind it when the ready answer is
older than three builds. Each scraper's rhythm is learnt (Prometheus scrapes on a fixed
period) and the next answer is built just before it is due, so a regular scraper gets a
fresh answer, and waits for nothing. A scrape waits only when there is no answer for its
format yet, when it is older than ``SERVE_STALE``, or when the config was loaded since:
a reload's first scrape shows the new config's sites and devices, never the old ones.

A plain (not gzipped) scrape when gzip is also asked for (Prometheus asks for gzip; curl
does not) is served by inflating the ready gzip answer in a worker thread, rather than
keeping a second, uncompressed copy (~170 MB at 10,000 devices).

The small, always-changing tail (the daemon's own metrics: scrape counts, the event
loop's lag) is appended per scrape. With gzip, the compressor's state after the big part
is kept and copied per scrape, so the answer is still one gzip member (some clients read
only the first member of a multi-member stream).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from netmon.answer_build import Format, Ready, Sources, build
from netmon.give_way import GiveWay

#: builds quicker than this (seconds) are done on the event loop, not in the thread
INLINE = 0.002
#: builds taking this long (seconds) allow serving an answer up to three builds old, and
#: a scrape is not made to wait for a build (see SERVE_STALE)
STALE_FROM = 0.25
#: with slow builds: the oldest answer (seconds) a scrape is served rather than wait
SERVE_STALE = 60.0
#: a scraper not seen for this long is forgotten (its rhythm, and its format's answer)
FORGET = 600.0


CONTENT_TYPES = {
    Format.TEXT: "text/plain; version=0.0.4; charset=utf-8",
    Format.OPENMETRICS: "application/openmetrics-text; version=1.0.0; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Variant:
    format: Format = Format.TEXT
    gzip: bool = False


def _ranges(header_value: str) -> Iterable[tuple[str, dict[str, str]]]:
    for item in header_value.split(","):
        token, *params = (p.strip() for p in item.split(";"))
        if token:
            yield (
                token.lower(),
                {
                    k.strip().lower(): v.strip().strip('"')
                    for k, _, v in (p.partition("=") for p in params)
                },
            )


def _q(params: Mapping[str, str]) -> float:
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 0.0


def negotiate(accept: str, accept_encoding: str) -> Variant:
    """OpenMetrics 1.0.0 when the client prefers it (Prometheus does), the text format
    otherwise; gzip when accepted."""
    om = text = 0.0
    for media, params in _ranges(accept):
        if media == "application/openmetrics-text" and params.get("version", "1.0.0") == "1.0.0":
            om = max(om, _q(params))
        elif media in ("text/plain", "*/*", "text/*"):
            text = max(text, _q(params) if media == "text/plain" else min(_q(params), 0.01))
    fmt = Format.OPENMETRICS if om > 0 and om >= text else Format.TEXT
    gzip = any(t == "gzip" and _q(p) > 0 for t, p in _ranges(accept_encoding))
    return Variant(fmt, gzip)


@dataclass(slots=True)
class _Scraper:
    last: float
    period: float | None = None


class _Use(StrEnum):
    FRESH = "fresh"
    STALE = "stale"  # served, and a newer one built behind it
    WAIT = "wait"


@dataclass(slots=True)
class _Stats:
    builds: int = 0
    last_cost: float = INLINE  # unknown yet: the first build goes to the thread
    asked: dict[Variant, float] = field(default_factory=dict)


class Answers:
    """Ready answers per format, built in one worker thread, shared by every scrape."""

    def __init__(
        self,
        generation: Callable[[], object],
        sources: Callable[[], Sources],
        clock: Callable[[], float] = time.monotonic,
        on_build: Callable[[float], None] | None = None,
        before: Callable[[], Awaitable[None]] | None = None,
        epoch: Callable[[], object] = lambda: 0,
    ) -> None:
        """``generation``: changes whenever what ``sources`` gives would (cheap to ask);
        ``on_build``: told each build's wall time; ``before``: awaited first by each
        scrape (the render loop's flush: what arrived before the scrape is in it);
        ``epoch``: changes at each config load (``Sources.epoch``)."""
        self._generation = generation
        self._epoch = epoch
        self._sources = sources
        self._before = before
        self._clock = clock
        self._on_build = on_build
        self._ready: dict[Format, Ready] = {}
        self._building: asyncio.Future[None] | None = None
        self._scrapers: dict[str, _Scraper] = {}
        self._stats = _Stats()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="netmon-answer")
        self._wake = asyncio.Event()
        #: the scrape time the last ahead-of-time build was for
        self._prepared = float("-inf")
        #: a scrape was served a stale answer: build a newer one behind it
        self._rebuild = False

    @property
    def build_seconds(self) -> float:
        """How long the last build took (wall time)."""
        return self._stats.last_cost

    def max_age(self) -> float:
        """How old a ready answer may be and still be served after a change: three
        builds' time when a build takes long (STALE_FROM), else nothing: each scrape then
        shows every change before it."""
        cost = self._stats.last_cost
        return 3 * cost if cost >= STALE_FROM else 0.0

    async def get(self, variant: Variant, scraper: str = "") -> Ready:
        """The ready answer for this variant: fresh enough, or built now."""
        if self._before is not None:
            await self._before()
        now = self._clock()
        self._stats.asked[variant] = now
        self._learn(scraper, now)
        while True:
            ready = self._ready.get(variant.format)
            use = _Use.WAIT if ready is None else self._judge(ready, variant, now)
            if use is _Use.STALE and self._building is None:
                self._rebuild = True
                self._wake.set()
            if ready is not None and use is not _Use.WAIT:
                return ready
            if self._building is not None:
                await asyncio.shield(self._building)  # someone else's build: share it
                continue
            await self._build()
            ready = self._ready[variant.format]
            if ready.has(variant.gzip):
                return ready

    def _judge(self, ready: Ready, variant: Variant, now: float) -> _Use:
        """Whether a scrape is served this answer (see the module's "Freshness")."""
        if not ready.has(variant.gzip) or ready.epoch != self._epoch():
            return _Use.WAIT
        age = now - ready.started
        if ready.generation == self._generation() or age <= self.max_age():
            return _Use.FRESH
        if self._stats.last_cost >= STALE_FROM and age <= SERVE_STALE:
            return _Use.STALE
        return _Use.WAIT

    def _learn(self, scraper: str, now: float) -> None:
        """A scraper's rhythm, so its next answer is ready when it comes."""
        if not scraper:
            return
        seen = self._scrapers.get(scraper)
        if seen is None:
            self._scrapers[scraper] = _Scraper(now)
        else:
            gap = now - seen.last
            seen.period = gap if gap > 0.5 else seen.period  # a retry is no rhythm
            seen.last = now
        self._wake.set()

    def _wanted(self, now: float) -> dict[Format, tuple[bool, bool]]:
        """Per format: (plain, gzip), from what was asked within FORGET."""
        out: dict[Format, tuple[bool, bool]] = {}
        for variant, at in list(self._stats.asked.items()):
            if now - at > FORGET:
                del self._stats.asked[variant]
                continue
            plain, gzip = out.get(variant.format, (False, False))
            out[variant.format] = (plain or not variant.gzip, gzip or variant.gzip)
        # plain is inflated from gzip when both are asked: not kept twice
        return {fmt: (plain and not gzip, gzip) for fmt, (plain, gzip) in out.items()}

    async def _build(self) -> None:
        loop = asyncio.get_running_loop()
        self._building = loop.create_future()
        try:
            started = self._clock()
            sources = self._sources()
            wanted = self._wanted(started)
            if not wanted:
                return
            t0 = time.monotonic()
            built: dict[Format, Ready] = {}
            for fmt, (plain, gzip) in wanted.items():
                if self._stats.last_cost < INLINE:  # a thread's hand-offs would cost more
                    ready = build(sources, fmt, plain, gzip)
                else:
                    pause = GiveWay(loop)
                    ready = await loop.run_in_executor(
                        self._executor, build, sources, fmt, plain, gzip, pause
                    )
                ready.started = started
                built[fmt] = ready
            self._ready = built
            self._stats.builds += 1
            self._stats.last_cost = time.monotonic() - t0
            if self._on_build is not None:
                self._on_build(self._stats.last_cost)
        finally:
            self._building.set_result(None)
            self._building = None

    def next_scrape(self, now: float) -> float | None:
        """When the next scrape is expected that no build has been made ahead for."""
        expected: float | None = None
        for name, seen in list(self._scrapers.items()):
            if now - seen.last > FORGET:
                del self._scrapers[name]
            elif seen.period is not None:
                at = seen.last + seen.period
                while at <= self._prepared + 0.5 or at < now - seen.period / 2:
                    at += seen.period  # prepared for already, or missed
                expected = at if expected is None else min(expected, at)
        return expected

    async def run(self) -> None:
        """Build ahead of each scraper's next scrape, when something changed since."""
        while True:
            now = self._clock()
            scrape = self.next_scrape(now)
            self._wake.clear()
            if self._rebuild:  # a scrape was served a stale answer
                self._rebuild = False
                if self._building is None:
                    await self._build()
                continue
            if scrape is None or self.max_age() == 0:
                await self._wait(None)  # quick builds: each scrape builds its own
                continue
            start = scrape - 1.5 * self._stats.last_cost - 0.25
            if start > now:
                await self._wait(start - now)
                continue
            self._prepared = scrape
            current = self._generation()
            stale = any(r.generation != current for r in self._ready.values())
            if stale and self._building is None:
                await self._build()

    async def _wait(self, seconds: float | None) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
