"""The status page at ``/``: which sites are not up, why and since when, for a NOC screen
or a technician's phone on a slow village link.

Server-side HTML only: no JavaScript, one small inline stylesheet, filters as a plain GET
form, refreshed by ``<meta http-equiv=refresh>`` whose URL keeps the filters. Times are the
site's local time (WIB, WITA, WIT). Labels are Bahasa Indonesia unless ``?lang=en``.

This module decides what the page shows (a ``View``); templates/page.html lays it out with
autoescaping on, so every string from the inventory or the query is escaped; the words are
data in texts/<lang>.yaml (page_text.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from netmon.status.engine import StatusEngine
from netmon.status.page_templates import PAGE
from netmon.status.page_text import (
    DEFAULT_ZONE,
    HEADERS,
    MAX_PARAM,
    ORDER,
    PROBLEMS,
    REFRESH_SECONDS,
    link_detail,
    local_time,
    word,
)
from netmon.status.page_text import duration as duration  # re-exported: page.duration
from netmon.status.view import outages_json, site_json

if TYPE_CHECKING:
    from netmon.daemon import Daemon


@dataclass(frozen=True, slots=True)
class Query:
    """The page's filters, from the query string; every value stays text, cut short."""

    kabupaten: str = ""
    status: str = ""
    q: str = ""
    lang: str = "id"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Query:
        def get(key: str) -> str:
            return params.get(key, "").strip()[:MAX_PARAM]

        return cls(
            get("kabupaten"), get("status").lower(), get("q"), "en" if get("lang") == "en" else "id"
        )

    def url(self, **change: str) -> str:
        """A relative link to this page with some filters changed (works under a prefix)."""
        query = replace(self, **change)
        pairs = [(f.name, getattr(query, f.name)) for f in fields(query)]
        text = urlencode([(k, v) for k, v in pairs if v and not (k == "lang" and v == "id")])
        return f"?{text}" if text else "./"


@dataclass(frozen=True, slots=True)
class Progress:
    """Whether the states can be trusted: started, first round done, polls still coming."""

    ready: bool
    targets: int = 0
    polled: int = 0
    stale: int = 0


def progress(
    ready: bool, engine: StatusEngine | None, now: float, polled_kinds: Collection[str]
) -> Progress:
    """Polled targets only: a telemetry source that stays quiet is a site state, not this."""
    if engine is None:
        return Progress(False)
    entries = [e for e in engine.store.entries().values() if e.target.collector in polled_kinds]
    polled = [e for e in entries if e.polls > 0]
    stale = sum(1 for e in polled if now - e.last_started > 3 * e.interval)
    return Progress(ready, len(entries), len(polled), stale)


@dataclass(frozen=True, slots=True)
class Row:
    """One site in a list: a problem site in three short lines (who, where, why and since
    when), an up site in one (``detail`` empty)."""

    site: str
    name: str
    kind: str
    kabupaten: str
    kecamatan: str
    maintenance: bool  # in the inventory, or under an Alertmanager silence of the site
    power_cut: bool  # PLN announced one for now: an outage with a known reason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """Problem sites of one state; unreachable ones by the failed site they sit behind
    (``behind`` names it; empty in the other states)."""

    behind: str
    sites: list[Row]


@dataclass(frozen=True, slots=True)
class Section:
    """The problem sites of one state, the biggest group first."""

    state: str
    sites: int
    groups: list[Group]


@dataclass(frozen=True, slots=True)
class Outage:
    """An open outage that takes down more than its root."""

    root: str
    name: str
    kabupaten: str
    status: str
    cause: str
    since: str
    sites: int


@dataclass(frozen=True, slots=True)
class Count:
    """How many of the selected sites are in a state; the link sets or clears that filter."""

    state: str
    sites: int
    href: str


@dataclass(frozen=True, slots=True)
class Listing:
    """Everything under the title once there is a status engine: the filter form, the
    counts, and (unless a filter value is unknown) the outages and the sites."""

    kabupaten: list[str]  # the filter's choices
    states: tuple[str, ...]
    max_length: int
    reset: str  # the link that clears the filters
    total: int
    counts: list[Count]
    errors: list[str]  # unknown filter values, in words
    outages: list[Outage]
    sections: list[Section]
    up: list[tuple[str, list[Row]]]  # by kabupaten
    up_total: int
    up_open: bool


@dataclass(frozen=True, slots=True)
class View:
    """What one rendering of the page shows."""

    query: Query
    notes: list[str]  # why the states may not be trusted yet, in words
    listing: Listing | None
    refresh: str
    refresh_seconds: int
    updated: str  # the local time of the rendering
    switch_lang: str
    switch_href: str


def _sort_key(row: dict[str, Any]) -> tuple[int, float, str, str]:
    """Worst state first, then the longest-lasting, then by name."""
    return (ORDER.index(row["status"]), row["since"] or float("inf"), row["name"], row["site"])


class _Page:
    """The view for one query at one instant."""

    def __init__(self, engine: StatusEngine | None, query: Query, now: float) -> None:
        self.engine = engine
        self.q = query
        self.now = now

    def t(self, key: str, **values: Any) -> str:
        return word(key, self.q.lang, **values)

    def cause(self, cause: str | None, link: dict[str, Any] | None = None) -> str:
        """The cause in words; a link cause names the link and its near end's reading."""
        words = self.t(f"cause.{cause or 'unknown'}")
        return f"{words} {link_detail(link, self.q.lang)}" if link else words

    def since(self, ts: float | None, tz_name: str) -> str:
        if not ts:
            return ""
        try:
            when = local_time(ts, tz_name, self.q.lang, self.now)
        except (ValueError, OverflowError, OSError):  # one absurd time must not cost the page
            return ""
        return f"{self.t('since')} {when} ({duration(self.now - ts, self.q.lang)})"

    def site_name(self, sid: str) -> str:
        assert self.engine is not None
        site = self.engine.inventory.sites.get(sid)
        return f"{site.name} ({sid})" if site else sid

    def notes(self, progress: Progress) -> list[str]:
        notes = []
        if self.engine is None or not progress.ready:
            notes.append(self.t("not_ready"))
        elif progress.polled < progress.targets:
            notes.append(self.t("first", done=progress.polled, total=progress.targets))
        if progress.stale:
            notes.append(self.t("stale", n=progress.stale, total=progress.targets))
        return notes

    def listing(self) -> tuple[Listing, str]:
        """The listing, and the time zone most of its sites are in (for the footer)."""
        assert self.engine is not None
        inv, q = self.engine.inventory, self.q
        kabupaten = sorted({s.kabupaten for s in inv.exported_sites.values()})
        needle = q.q.casefold()
        rows = [
            site_json(inv, self.engine, sid)
            for sid, site in inv.exported_sites.items()
            if (not q.kabupaten or site.kabupaten == q.kabupaten)
            and (not needle or needle in f"{sid} {site.name} {site.kecamatan}".casefold())
        ]
        errors = []
        if q.kabupaten and q.kabupaten not in kabupaten:
            errors.append(self.t("bad_kab", v=q.kabupaten))
        if q.status and q.status not in ORDER:
            errors.append(self.t("bad_status", v=q.status))
        zones = Counter(inv.sites[r["site"]].timezone for r in rows)
        tz_name = zones.most_common(1)[0][0] if zones else DEFAULT_ZONE
        shown = sorted((r for r in rows if not q.status or r["status"] == q.status), key=_sort_key)
        up = [r for r in shown if r["status"] == "up"]
        got = Counter(r["status"] for r in rows)
        listing = Listing(
            kabupaten=kabupaten,
            states=ORDER,
            max_length=MAX_PARAM,
            reset=Query(lang=q.lang).url(),
            total=len(rows),
            counts=[Count(s, got[s], q.url(status="" if q.status == s else s)) for s in ORDER],
            errors=errors,
            outages=[] if errors else self.outages({r["site"] for r in rows}),
            sections=[] if errors else self.sections(shown),
            up=[] if errors else self.up(up),
            up_total=len(up),
            up_open=q.status == "up" or bool(q.q),
        )
        return listing, tz_name

    def outages(self, shown: set[str]) -> list[Outage]:
        """Outages that take down more than their root, touching the sites shown; a lone
        down site is only in its state's list."""
        assert self.engine is not None
        if self.q.status:
            return []
        out = []
        for o in outages_json(self.engine):
            if o["sites_affected"] < 2 or not shown.intersection(o["sites"]):
                continue
            tz = self.engine.inventory.sites[o["root"]].timezone
            cause, since = self.cause(o["cause"], o["link"]), self.since(o["since"], tz)
            out.append(
                Outage(
                    o["root"],
                    o["name"],
                    o["kabupaten"],
                    o["status"],
                    cause,
                    since,
                    o["sites_affected"],
                )
            )
        return out

    def sections(self, rows: list[dict[str, Any]]) -> list[Section]:
        """The sites that are not up, by state, worst first; unreachable ones by the
        failed site they sit behind, the biggest cut first."""
        assert self.engine is not None
        sites = self.engine.inventory.sites
        out = []
        for state in PROBLEMS:
            members = [r for r in rows if r["status"] == state]
            if not members:
                continue
            behind: dict[str, list[dict[str, Any]]] = {}
            for r in members:
                key = (r["upstream"] or "") if state == "unreachable" else ""
                behind.setdefault(key, []).append(r)
            groups = [
                Group(
                    self.site_name(upstream) if upstream else "",
                    [self.problem(r, sites[r["site"]].timezone) for r in group],
                )
                for upstream, group in sorted(behind.items(), key=lambda kv: -len(kv[1]))
            ]
            out.append(Section(state, len(members), groups))
        return out

    def problem(self, row: dict[str, Any], tz_name: str) -> Row:
        if row["status"] == "degraded" and row["upstream"]:
            why = self.t("backup", name=self.site_name(row["upstream"]))
        elif row["status"] in ("down", "degraded"):
            why = self.cause(row["cause"], row["link"])
        else:
            why = ""
        detail = " · ".join(x for x in (why, self.since(row["since"], tz_name)) if x)
        return _row(row, detail)

    def up(self, rows: list[dict[str, Any]]) -> list[tuple[str, list[Row]]]:
        by_kab: dict[str, list[Row]] = {}
        for r in sorted(rows, key=lambda r: (r["kabupaten"], r["name"], r["site"])):
            by_kab.setdefault(r["kabupaten"], []).append(_row(r))
        return list(by_kab.items())


def _row(row: dict[str, Any], detail: str = "") -> Row:
    return Row(
        row["site"],
        row["name"],
        row["kind"],
        row["kabupaten"],
        row["kecamatan"],
        maintenance=bool(row["maintenance"] or row.get("silenced")),
        power_cut=bool(row.get("power_cut_declared")),
        detail=detail,
    )


def view(engine: StatusEngine | None, query: Query, *, now: float, progress: Progress) -> View:
    """What the page shows for the sites the query selects."""
    page = _Page(engine, query, now)
    listing, tz_name = page.listing() if engine is not None else (None, DEFAULT_ZONE)
    other = "en" if query.lang == "id" else "id"
    return View(
        query=query,
        notes=page.notes(progress),
        listing=listing,
        refresh=f"{REFRESH_SECONDS};url={query.url()}",
        refresh_seconds=REFRESH_SECONDS,
        updated=local_time(now, tz_name, query.lang, now, "%H:%M:%S"),
        switch_lang=other,
        switch_href=query.url(lang=other),
    )


def render(engine: StatusEngine | None, query: Query, *, now: float, progress: Progress) -> str:
    """The whole page, for the sites the query selects."""
    shown = view(engine, query, now=now, progress=progress)
    return PAGE.render(v=shown, t=partial(word, lang=query.lang))


def respond(request: web.Request, daemon: Daemon) -> web.Response:
    """``GET /`` (and HEAD): the page, gzip-compressed when the client accepts it."""
    now = time.time()
    query = Query.parse(request.query)
    text = render(
        daemon.status,
        query,
        now=now,
        progress=progress(daemon.ready, daemon.status, now, daemon.pollers),
    )
    resp = web.Response(text=text, content_type="text/html", charset="utf-8", headers=HEADERS)
    resp.headers["Vary"] = "Accept-Encoding"
    if accepts_gzip(request.headers.get("Accept-Encoding", "")):
        resp.enable_compression(web.ContentCoding.gzip)
    return resp


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110: ``gzip;q=0`` refuses it,
    ``*`` stands for any coding not named)."""
    weights: dict[str, float] = {}
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            weights[coding.strip()] = q
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0
