"""The status page at ``/``: which sites are not up, why and since when, for a NOC screen
or a technician's phone on a slow village link.

Server-side HTML only: no JavaScript, one small inline stylesheet, filters as a plain GET
form, refreshed by ``<meta http-equiv=refresh>`` whose URL keeps the filters. Times are the
site's local time (WIB, WITA, WIT). Every string from the inventory or the query is escaped.
Labels are Bahasa Indonesia unless ``?lang=en``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone, tzinfo
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from netmon.schema import ZONES
from netmon.status.engine import StatusEngine
from netmon.status.page_text import (
    CSS,
    DEFAULT_ZONE,
    HEADERS,
    MAX_PARAM,
    ORDER,
    PROBLEMS,
    REFRESH_SECONDS,
    link_detail,
    word,
)
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


def zone(name: str) -> tuple[tzinfo, str]:
    """The inventory allows only Indonesia's three zones; anything else shows as UTC."""
    hours, abbr = ZONES.get(name, (0, "UTC"))
    return timezone(timedelta(hours=hours), abbr), abbr


def local_time(ts: float, tz_name: str, lang: str, now: float, fmt: str = "%H:%M") -> str:
    """``23 Nov 14:05 WITA``; the year only when it is not the current one."""
    tz, abbr = zone(tz_name)
    at = datetime.fromtimestamp(ts, tz)
    month = word("months", lang).split()[at.month - 1]
    year = "" if at.year == datetime.fromtimestamp(now, tz).year else f" {at.year}"
    return f"{at.day} {month}{year} {at.strftime(fmt)} {abbr}"


def duration(seconds: float, lang: str) -> str:
    """``3 j 5 m``: the two largest units."""
    d_, h_, m_, s_ = word("units", lang).split()
    left = int(max(0.0, seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{days} {d_} {hours} {h_}"
    if hours:
        return f"{hours} {h_} {minutes} {m_}"
    return f"{minutes} {m_}" if minutes else f"{secs} {s_}"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _sort_key(row: dict[str, Any]) -> tuple[int, float, str, str]:
    """Worst state first, then the longest-lasting, then by name."""
    return (ORDER.index(row["status"]), row["since"] or float("inf"), row["name"], row["site"])


class _Page:
    """One rendering of the page for one query at one instant."""

    def __init__(self, engine: StatusEngine | None, query: Query, now: float) -> None:
        self.engine = engine
        self.q = query
        self.now = now

    def t(self, key: str) -> str:
        return word(key, self.q.lang)

    def cause(self, cause: str | None, link: dict[str, Any] | None = None) -> str:
        """The cause in words; a link cause names the link and its near end's reading."""
        words = self.t(f"cause.{cause or 'unknown'}")
        return f"{words} {link_detail(link, self.q.lang)}" if link else words

    def kind(self, kind: str) -> str:
        return self.t(f"kind.{kind}")

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

    def counts(self, rows: list[dict[str, Any]]) -> str:
        got = Counter(r["status"] for r in rows)
        links = []
        for state in ORDER:
            label = f"{self.t(f'state.{state}')} {got[state]}"
            cls = f"{state}{'' if got[state] else ' z'}"
            href = self.q.url(status="" if self.q.status == state else state)
            links.append(f'<a class="{cls}" href="{_e(href)}">{_e(label)}</a>')
        total = self.t("sites").format(n=len(rows))
        return f'<p class="n">{_e(total)}: {"".join(links)}</p>'

    def form(self, kabupaten: list[str]) -> str:
        t, q = self.t, self.q
        kabs = "".join(
            f'<option value="{_e(k)}"{" selected" if k == q.kabupaten else ""}>{_e(k)}</option>'
            for k in kabupaten
        )
        states = "".join(
            f'<option value="{s}"{" selected" if s == q.status else ""}>{_e(t(f"state.{s}"))}'
            "</option>"
            for s in ORDER
        )
        lang = '<input type="hidden" name="lang" value="en">' if q.lang == "en" else ""
        return (
            '<form method="get">'
            f'<label>Kabupaten <select name="kabupaten"><option value="">{_e(t("all"))}</option>'
            f"{kabs}</select></label> "
            f'<label>Status <select name="status"><option value="">{_e(t("all"))}</option>'
            f"{states}</select></label> "
            f'<label>{_e(t("search"))} <input name="q" value="{_e(q.q)}" size="12" '
            f'maxlength="{MAX_PARAM}"></label> {lang}<button type="submit">{_e(t("show"))}</button>'
            f' <a href="{_e(Query(lang=q.lang).url())}">{_e(t("reset"))}</a></form>'
        )

    def outages(self, shown: set[str]) -> str:
        """Outages that take down more than their root, touching the sites shown; a lone
        down site is only in its state's list."""
        assert self.engine is not None
        if self.q.status:
            return ""
        items = []
        for o in outages_json(self.engine):
            if o["sites_affected"] < 2 or not shown.intersection(o["sites"]):
                continue
            tz = self.engine.inventory.sites[o["root"]].timezone
            items.append(
                f'<li class="{_e(o["status"])}"><a href="#s-{_e(o["root"])}"><b>{_e(o["name"])}'
                f"</b></a> <small>{_e(o['root'])} · {_e(o['kabupaten'])}</small><br>"
                f"{_e(self.t('cause'))}: {_e(self.cause(o['cause'], o['link']))} · "
                f"{_e(self.since(o['since'], tz))} · "
                f"<b>{_e(self.t('affected').format(n=o['sites_affected']))}</b></li>"
            )
        if not items:
            return ""
        return f"<h2>{_e(self.t('outages'))} ({len(items)})</h2><ul>{''.join(items)}</ul>"

    def problem(self, row: dict[str, Any], tz_name: str) -> str:
        """A site that is not up, in three short lines: who, where, why and since when.
        Unreachable ones are listed under the failed site they sit behind."""
        maint = self.badges(row)
        place = f"{row['kabupaten']} / {row['kecamatan']}" if row["kecamatan"] else row["kabupaten"]
        if row["status"] == "degraded" and row["upstream"]:
            why = self.t("backup").format(name=self.site_name(row["upstream"]))
        elif row["status"] in ("down", "degraded"):
            why = self.cause(row["cause"], row["link"])
        else:
            why = ""
        detail = " · ".join(x for x in (why, self.since(row["since"], tz_name)) if x)
        return (
            f'<li id="s-{_e(row["site"])}"><b>{_e(row["name"])}</b> <small>{_e(row["site"])}'
            f"</small>{maint}<br><small>{_e(place)} · {_e(self.kind(row['kind']))}</small>"
            + (f"<br>{_e(detail)}" if detail else "")
            + "</li>"
        )

    def badges(self, row: dict[str, Any]) -> str:
        """Maintenance, and a power cut PLN announced: outages with a known reason."""
        keys = [
            k
            for k, on in (
                ("maint", row["maintenance"] or row.get("silenced")),
                ("power_cut", row.get("power_cut_declared")),
            )
            if on
        ]
        return "".join(f' <span class="m">{_e(self.t(k))}</span>' for k in keys)

    def up_list(self, rows: list[dict[str, Any]]) -> str:
        """The many up sites, folded, by kabupaten; one short line each."""
        by_kab: dict[str, list[str]] = {}
        for r in sorted(rows, key=lambda r: (r["kabupaten"], r["name"], r["site"])):
            maint = self.badges(r)
            place = f" · {_e(r['kecamatan'])}" if r["kecamatan"] else ""
            by_kab.setdefault(r["kabupaten"], []).append(
                f"<li>{_e(r['name'])} <small>{_e(r['site'])}{place}</small>{maint}</li>"
            )
        opened = " open" if self.q.status == "up" or self.q.q else ""
        groups = "".join(
            f'<h3>{_e(kab)} ({len(items)})</h3><ul class="u">{"".join(items)}</ul>'
            for kab, items in by_kab.items()
        )
        label = f"{self.t('state.up')} ({len(rows)})"
        return f'<details{opened}><summary class="up">{_e(label)}</summary>{groups}</details>'

    def body(self, rows: list[dict[str, Any]]) -> str:
        assert self.engine is not None
        sites = self.engine.inventory.sites
        parts = []
        for state in PROBLEMS:
            group = [r for r in rows if r["status"] == state]
            if not group:
                continue
            parts.append(f"<h2>{_e(self.t(f'state.{state}'))} ({len(group)})</h2>")
            # unreachable sites by the failed site they sit behind, the biggest cut first
            behind: dict[str, list[dict[str, Any]]] = {}
            for r in group:
                key = (r["upstream"] or "") if state == "unreachable" else ""
                behind.setdefault(key, []).append(r)
            for upstream, members in sorted(behind.items(), key=lambda kv: -len(kv[1])):
                if upstream:
                    label = f"{self.t('behind')} {self.site_name(upstream)} ({len(members)})"
                    parts.append(f"<h3>{_e(label)}</h3>")
                items = "".join(self.problem(r, sites[r["site"]].timezone) for r in members)
                parts.append(f'<ul class="{state}">{items}</ul>')
        up = [r for r in rows if r["status"] == "up"]
        if not parts and up:
            parts.append(f"<p>{_e(self.t('all_up'))}</p>")
        if up:
            parts.append(self.up_list(up))
        return "".join(parts)


def render(engine: StatusEngine | None, query: Query, *, now: float, progress: Progress) -> str:
    """The whole page, for the sites the query selects."""
    page = _Page(engine, query, now)
    t = page.t
    notes: list[str] = []
    if engine is None or not progress.ready:
        notes.append(t("not_ready"))
    elif progress.polled < progress.targets:
        notes.append(t("first").format(done=progress.polled, total=progress.targets))
    if progress.stale:
        notes.append(t("stale").format(n=progress.stale, total=progress.targets))
    body, tz_name = "", DEFAULT_ZONE
    if engine is not None:
        inv = engine.inventory
        kabupaten = sorted({s.kabupaten for s in inv.exported_sites.values()})
        needle = query.q.casefold()
        rows = [
            site_json(inv, engine, sid)
            for sid, site in inv.exported_sites.items()
            if (not query.kabupaten or site.kabupaten == query.kabupaten)
            and (not needle or needle in f"{sid} {site.name} {site.kecamatan}".casefold())
        ]
        errors = []
        if query.kabupaten and query.kabupaten not in kabupaten:
            errors.append(t("bad_kab").format(v=query.kabupaten))
        if query.status and query.status not in ORDER:
            errors.append(t("bad_status").format(v=query.status))
        zones = Counter(inv.sites[r["site"]].timezone for r in rows)
        tz_name = zones.most_common(1)[0][0] if zones else DEFAULT_ZONE
        shown = sorted(
            (r for r in rows if not query.status or r["status"] == query.status), key=_sort_key
        )
        listed = page.body(shown) if not errors else ""
        body = (
            page.form(kabupaten)
            + page.counts(rows)
            + "".join(f'<p class="w">{_e(m)}</p>' for m in errors)
            + ("" if errors else page.outages({r["site"] for r in rows}))
            + (listed or ("" if errors else f"<p>{_e(t('none'))}</p>"))
        )
    return _document(page, body, tz_name, notes)


def _document(page: _Page, body: str, tz_name: str, notes: list[str]) -> str:
    q, t = page.q, page.t
    code, name = ("en" if q.lang == "id" else "id"), t("switch")
    refresh = _e(f"{REFRESH_SECONDS};url={q.url()}")
    stamp = t("updated").format(
        t=local_time(page.now, tz_name, q.lang, page.now, "%H:%M:%S"), s=REFRESH_SECONDS
    )
    return (
        f'<!DOCTYPE html><html lang="{q.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta http-equiv="refresh" content="{refresh}">'
        f"<title>{_e(t('title'))} · netmon</title><style>{CSS}</style></head><body>"
        f"<h1>{_e(t('title'))}</h1>"
        + "".join(f'<p class="w" role="alert">{_e(n)}</p>' for n in notes)
        + body
        + f'<footer><p>{_e(stamp)} <a href="{_e(q.url(lang=code))}" hreflang="{code}">'
        f"{_e(name)}</a></p><p>"
        '<a href="api/v1/sites">/api/v1/sites</a> · <a href="api/v1/outages">/api/v1/outages</a>'
        ' · <a href="metrics">/metrics</a></p></footer></body></html>'
    )


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
