"""The status page rendered on a synthetic province: escaping, filters, language, local
time, order, size; and served over HTTP with gzip and no caching."""

from __future__ import annotations

import dataclasses
import gzip
import re
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import cast
from urllib.parse import quote_plus

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from collectors import REGISTRY
from collectors.snmp import SnmpParams
from netmon.api import Part, Sample, Secret, Snapshot, TargetRef
from netmon.daemon import Daemon
from netmon.inventory import Device, Inventory, Link, LinkEnd, Site
from netmon.status.engine import SiteState, StatusEngine
from netmon.status.evidence import Kinds
from netmon.status.page import (
    Progress,
    Query,
    accepts_gzip,
    duration,
    progress,
    render,
    respond,
)
from netmon.store import Store
from tests.helpers import make_site

HOSTILE = "<script>alert('x')</script> & \"Desa\""
NOW = datetime(2025, 11, 23, 9, 0, tzinfo=UTC).timestamp()  # 17:00 WITA, 16:00 WIB
#: 06:05 UTC: 14:05 WITA, 13:05 WIB; 2 h 55 m before NOW (the POP failed 10 min earlier)
SINCE = datetime(2025, 11, 23, 6, 5, tzinfo=UTC).timestamp()
READY = Progress(ready=True, targets=3, polled=3)


def site(
    sid: str,
    kabupaten: str = "Berau",
    *,
    name: str = "",
    timezone: str = "Asia/Makassar",
    uplinks: tuple[str, ...] = (),
    maintenance: bool = False,
) -> Site:
    return make_site(
        sid,
        name=name or f"Kantor Desa {sid}",
        kabupaten=kabupaten,
        timezone=timezone,
        uplinks=uplinks,
        maintenance=maintenance,
        contact_name="Pak Budi",
        contact_phone="+62 811 000",
    )


def engine(sites: list[Site], states: dict[str, SiteState]) -> StatusEngine:
    devices = {
        d: Device(
            d,
            s.id,
            "10.9.8.7",
            60.0,
            30.0,
            (("snmp", SnmpParams("10.9.8.7", community=Secret("s3cret"))),),
        )
        for s in sites
        for d in s.devices
    }
    inv = Inventory({s.id: s for s in sites}, devices, {})
    eng = StatusEngine(inv, Store(), kinds=Kinds.of(REGISTRY))
    for sid in eng.published:
        eng.published[sid] = states.get(sid, SiteState("up", since=NOW - 86400))
    return eng


def province() -> StatusEngine:
    """Berau (WITA): a POP down with two villages behind it, one degraded village, one up;
    Paser (WIB here, to compare clocks): one village down since the same instant."""
    sites = [
        site("pop", name="POP Tanjung Redeb"),
        site("desa-1", uplinks=("pop",)),
        site("desa-2", uplinks=("pop",), maintenance=True),
        site("desa-3", uplinks=("pop",)),
        site("desa-4"),
        site("paser-1", "Paser", timezone="Asia/Jakarta"),
        site("paser-2", "Paser", timezone="Asia/Jakarta"),
    ]
    return engine(
        sites,
        {
            "pop": SiteState("down", "power", "", SINCE - 600),
            "desa-1": SiteState("unreachable", "uplink", "pop", SINCE + 60),
            "desa-2": SiteState("unreachable", "uplink", "pop", SINCE + 30),
            "desa-3": SiteState("degraded", "uplink", "pop", SINCE + 90),
            "paser-1": SiteState("down", "device", "", SINCE),
        },
    )


class Parsed(HTMLParser):
    """Rows of the page as (row class, text), checking that every element is closed."""

    VOID = frozenset({"meta", "br", "input", "link"})

    def __init__(self, text: str) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.rows: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self._text: list[str] | None = None
        self.feed(text)
        self.close()
        assert self.stack == [], f"unclosed: {self.stack}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "br" and self._text is not None:
            self._text.append(" | ")
        if tag in self.VOID:
            return
        cls = a.get("class") or ""
        if tag == "li":
            parent = self.stack[-1][1] if self.stack else ""
            cls = cls or parent
            self._text = []
            if a.get("id"):
                self.ids.append(str(a["id"]))
        self.stack.append((tag, cls))

    def handle_endtag(self, tag: str) -> None:
        open_tag, cls = self.stack.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"
        if tag == "li" and self._text is not None:
            self.rows.append((cls, "".join(self._text)))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def row(self, needle: str) -> tuple[str, str]:
        found = [r for r in self.rows if needle in r[1]]
        assert len(found) == 1, f"{needle}: {found}"
        return found[0]


def page(eng: StatusEngine | None = None, prog: Progress = READY, **query: str) -> str:
    """The page for this query (keyword arguments are query parameters)."""
    return render(eng or province(), Query.parse(query), now=NOW, progress=prog)


def test_problem_sites_by_state_worst_and_longest_first_with_cause_and_since() -> None:
    text = page()
    parsed = Parsed(text)
    assert parsed.ids == ["s-pop", "s-paser-1", "s-desa-2", "s-desa-1", "s-desa-3"]
    # the open outage first: the POP and the two sites it cuts off
    cls, pop = parsed.rows[0]
    assert cls == "down"
    assert pop.startswith("POP Tanjung Redeb pop · Berau | Penyebab: listrik · sejak 23 Nov")
    assert pop.endswith("· 3 situs terdampak")  # the degraded one still works
    assert "Gangguan aktif (1)" in text  # paser-1 alone is no outage block of its own
    cls, row = parsed.row("desa-2 ")
    assert cls == "unreachable"
    assert "<h3>di belakang POP Tanjung Redeb (pop) (2)</h3>" in text  # grouped by the cut
    assert "pemeliharaan" in row
    assert "Berau / Sambaliung" in row
    assert "kantor desa" in row
    cls, row = parsed.row("desa-3 ")
    assert cls == "degraded"
    assert "lewat jalur cadangan, POP Tanjung Redeb (pop) gagal" in row
    # up sites are folded away, one line each, and no problem site is among them
    up = [t for c, t in parsed.rows if c == "u"]
    assert len(up) == 2
    assert any("desa-4" in t for t in up)
    assert not any("pop" in t for t in up)
    assert re.search(r"<details><summary[^>]*>Normal \(2\)</summary>", text)
    assert "7 situs" in text
    assert ">Mati 2<" in text
    assert ">Tak terjangkau 2<" in text


def test_since_is_the_sites_local_time_and_how_long_ago() -> None:
    parsed = Parsed(page())
    assert parsed.row("pop | ")[1].endswith("listrik · sejak 23 Nov 13:55 WITA (3 j 5 m)")
    assert "sejak 23 Nov 14:05 WITA (2 j 54 m)" in parsed.row("desa-2 ")[1]
    assert "sejak 23 Nov 13:05 WIB (2 j 55 m)" in parsed.row("paser-1 ")[1]
    english = Parsed(page(lang="en"))
    assert "since 23 Nov 13:05 WIB (2 h 55 m)" in english.row("paser-1 ")[1]


def test_a_time_out_of_any_calendar_costs_its_since_not_the_page() -> None:
    """datetime cannot show the year 55840 (a since saved in milliseconds): that site
    shows no since, and every other site still renders."""
    sites = [site("pop"), site("desa-1", uplinks=("pop",))]
    states = {
        "pop": SiteState("down", "device", "", 1_700_000_000_000.0),
        "desa-1": SiteState("unreachable", "uplink", "pop", SINCE),
    }
    parsed = Parsed(page(engine(sites, states)))
    assert "sejak" not in parsed.row("pop | ")[1]
    assert "sejak 23 Nov 14:05 WITA" in parsed.row("desa-1 ")[1]


def test_a_site_in_a_declared_power_cut_says_so() -> None:
    now = time.time()  # the API's view of a declared cut is the wall clock's
    sites = [
        dataclasses.replace(site("pop"), power_cuts=((now - 60, now + 3600),)),
        site("desa-1", uplinks=("pop",)),
    ]
    states = {
        "pop": SiteState("down", "power", "", SINCE),
        "desa-1": SiteState("unreachable", "uplink", "pop", SINCE),
    }
    parsed = Parsed(page(engine(sites, states)))
    assert parsed.row("pemadaman PLN terjadwal")[1].startswith("Kantor Desa pop pop ")
    assert "pemadaman" not in parsed.row("desa-1 desa-1")[1]
    english = Parsed(page(engine(sites, states), lang="en"))
    assert english.row("scheduled power cut")[1].startswith("Kantor Desa pop pop ")


def test_gzip_only_where_the_client_allows_it() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert accepts_gzip("*")
    assert accepts_gzip("identity, *;q=0.5")
    assert not accepts_gzip("")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("identity, gzip;q=0, *;q=1")
    assert not accepts_gzip("gzip;q=nonsense")


def test_durations_keep_the_two_largest_units() -> None:
    assert duration(3 * 3600 + 5 * 60 + 9, "id") == "3 j 5 m"
    assert duration(2 * 86400 + 3600, "id") == "2 hr 1 j"
    assert duration(42, "id") == "42 dtk"
    assert duration(2 * 86400 + 3600, "en") == "2 d 1 h"
    assert duration(42, "en") == "42 s"
    assert duration(-5, "en") == "0 s"  # a clock step never shows a negative age


def test_every_inventory_string_is_escaped_and_there_is_no_script() -> None:
    sites = [site("evil", name=HOSTILE, kabupaten=HOSTILE), site("fine")]
    eng = engine(sites, {"evil": SiteState("down", "device", "", SINCE)})
    queries: list[dict[str, str]] = [{}, {"kabupaten": HOSTILE}, {"q": HOSTILE}]
    for query in [*queries, {"kabupaten": "<b>x</b>"}, {"status": "<i>"}, {"lang": '"><b>'}]:
        text = render(eng, Query.parse(query), now=NOW, progress=READY)
        assert "<script" not in text.lower()
        assert "<b>x</b>" not in text
        assert "<i>" not in text
        Parsed(text)  # still well-formed
    text = page(eng, kabupaten=HOSTILE)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Desa&quot;" in text
    assert Parsed(text).ids == ["s-evil"]
    # what the daemon knows but a page must never show
    assert "s3cret" not in text
    assert "10.9.8.7" not in text


def test_the_kabupaten_filter_keeps_only_its_sites_and_the_outages_touching_them() -> None:
    parsed = Parsed(page(kabupaten="Paser"))
    assert parsed.ids == ["s-paser-1"]
    assert all("Berau" not in t and "pop" not in t for _, t in parsed.rows)
    assert [t for c, t in parsed.rows if c == "u"] == ["Kantor Desa paser-2 paser-2 · Sambaliung"]
    text = page(kabupaten="Paser")
    assert '<option value="Paser" selected>Paser</option>' in text
    assert "2 situs" in text


def test_the_status_filter_and_the_search() -> None:
    parsed = Parsed(page(status="unreachable"))
    assert parsed.ids == ["s-desa-2", "s-desa-1"]  # no outage block, no up list
    assert not [c for c, _ in parsed.rows if c in ("u", "down")]
    up = page(status="up")
    assert "<details open>" in up
    assert Parsed(up).ids == []
    found = Parsed(page(q="PASER-1"))
    assert found.ids == ["s-paser-1"]


def test_unknown_filter_values_say_so_and_list_nothing() -> None:
    text = page(kabupaten="Atlantis")
    assert "Kabupaten “Atlantis” tidak ada di inventaris." in text
    assert Parsed(text).rows == []
    text = page(status="sideways", lang="en")
    assert "Unknown status “sideways”; pick one from the list." in text
    assert Parsed(text).rows == []
    long = page(kabupaten="x" * 5000)
    assert "x" * 101 not in long  # echoed back cut short


def test_english_on_request_with_a_link_back_and_filters_kept() -> None:
    default = page(kabupaten="Paser")
    assert '<html lang="id">' in default
    assert '<a href="?kabupaten=Paser&amp;lang=en" hreflang="en">English</a>' in default
    text = page(kabupaten="Paser", lang="en")
    assert '<html lang="en">' in text
    assert "Down (1)" in text
    assert "Mati" not in text
    assert '<input type="hidden" name="lang" value="en">' in text
    assert '<a href="?kabupaten=Paser" hreflang="id">Bahasa Indonesia</a>' in text
    assert page(lang="fr").startswith('<!DOCTYPE html><html lang="id">')


def test_phone_friendly_head_refresh_keeps_filters_and_foot_links() -> None:
    text = page(kabupaten="Paser", status="down")
    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in text
    assert '<meta http-equiv="refresh" content="30;url=?kabupaten=Paser&amp;status=down">' in text
    assert text.count("<style>") == 1
    assert '<form method="get"' in text
    for link in ("api/v1/sites", "metrics"):
        assert f'<a href="{link}">' in text
    assert 'content="30;url=./"' in page()


def test_a_monitoring_hint_until_the_first_round_is_done_or_when_polls_stop() -> None:
    starting = page(prog=Progress(ready=True, targets=300, polled=12))
    assert "Putaran polling pertama belum selesai (12 dari 300 target)" in starting
    assert "netmon belum siap" in render(None, Query(), now=NOW, progress=Progress(False))
    stale = page(prog=Progress(ready=True, targets=10, polled=10, stale=10), lang="en")
    assert "Monitoring stale: 10 of 10 targets" in stale
    assert 'role="alert"' not in page()
    # measured on the store: targets with no poll yet, and polls older than 3 intervals
    eng = province()
    eng.store.ensure(TargetRef("pop", "rtr-pop", "snmp"), 60.0)
    eng.store.ensure(TargetRef("desa-1", "rtr-desa-1", "snmp"), 60.0)
    eng.store.ensure(TargetRef("desa-1", "rtr-desa-1", "mqtt"), 60.0)  # quiet telemetry
    entry = eng.store.entries()["snmp:desa-1/rtr-desa-1"]
    entry.polls, entry.last_started = 5, NOW - 200
    assert progress(True, eng, NOW, ["snmp", "icmp"]) == Progress(True, 2, 1, 1)


def test_three_hundred_sites_stay_a_small_page() -> None:
    kabs = ["Berau", "Kutai Kartanegara", "Kutai Timur", "Paser", "Mahakam Ulu"]
    sites = [site(f"pop-{k}", kabs[k]) for k in range(5)]
    sites += [site(f"desa-{i:03d}", kabs[i % 5], uplinks=(f"pop-{i % 5}",)) for i in range(295)]
    usual = {f"desa-{i:03d}": SiteState("down", "device", "", SINCE + i) for i in range(0, 295, 15)}
    text = page(engine(sites, usual))
    assert len(Parsed(text).ids) == 20
    assert len(text.encode()) < 40_000, len(text.encode())
    assert len(gzip.compress(text.encode())) < 8_000
    # a province-wide cut: every site failed, the page is still a few tens of KB
    cut = {s.id: SiteState("unreachable", "uplink", "pop-0", SINCE) for s in sites}
    cut["pop-0"] = SiteState("down", "device", "", SINCE)
    worst = page(engine(sites, cut))
    assert len(Parsed(worst).ids) == 300
    assert len(worst.encode()) < 60_000, len(worst.encode())


async def test_served_gzip_compressed_uncached_for_get_and_head() -> None:
    fake = SimpleNamespace(status=province(), ready=True, pollers={"snmp": None})

    async def handler(request: web.Request) -> web.Response:
        return respond(request, cast(Daemon, fake))

    app = web.Application()
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/", headers={"Accept-Encoding": "gzip"})
        assert resp.status == 200
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Vary"] == "Accept-Encoding"  # a cache must not mix the two
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "script-src" not in resp.headers["Content-Security-Policy"]
        assert "POP Tanjung Redeb" in await resp.text()
        plain = await client.get("/?kabupaten=Nowhere", headers={"Accept-Encoding": "identity"})
        assert plain.status == 200
        assert "Content-Encoding" not in plain.headers
        assert "tidak ada di inventaris" in await plain.text()
        refused = await client.get("/", headers={"Accept-Encoding": "gzip;q=0"})
        assert "Content-Encoding" not in refused.headers
        assert refused.headers["Vary"] == "Accept-Encoding"
        head = await client.head("/")
        assert head.status == 200
        assert await head.read() == b""


def test_a_link_outage_names_the_link_and_its_near_ends_reading() -> None:
    """A fibre cut: the POP is down by its link, and the page says which link and what the
    NOC's end of it reads (oper down, receive power at the loss-of-signal floor)."""
    sites = [
        site("noc", name="NOC Samarinda"),
        site("pop", name="POP Tanjung Redeb", uplinks=("noc",)),
        site("desa-1", uplinks=("pop",)),
    ]
    fibre = Link(
        "fo-noc-pop", "fiber", LinkEnd("noc", "rtr-noc", "sfp1"), LinkEnd("pop", "rtr-pop", "sfp1")
    )
    devices = {
        d: Device(d, s.id, "10.9.8.7", 60.0, 30.0, (("snmp", SnmpParams("10.9.8.7")),))
        for s in sites
        for d in s.devices
    }
    store = Store()
    for sid, at in (("pop", NOW - 60), ("desa-1", NOW - 60), ("noc", NOW - 30)):
        target = TargetRef(sid, f"rtr-{sid}", "snmp")
        if sid != "noc":  # the POP and its village: dark
            store.apply(Snapshot(target, at, 1.0, [], error="timeout"), 60.0, at)
            continue
        labels = (("site", "noc"), ("device", "rtr-noc"), ("ifname", "sfp1"))
        end = [
            Sample("netmon_interface_oper_up", labels, 0.0),
            Sample("netmon_optical_rx_power_dbm", labels, -40.0),
        ]
        store.apply(Snapshot(target, at, 0.1, [Part("if", end)]), 60.0, at)
    eng = StatusEngine(
        Inventory({s.id: s for s in sites}, devices, {fibre.id: fibre}),
        store,
        hold=0,
        kinds=Kinds.of(REGISTRY),
    )
    eng.evaluate(NOW)
    assert eng.published["pop"].status == "down"
    said = "tautan fo-noc-pop (ujung noc/rtr-noc:sfp1: antarmuka mati, daya terima -40.0 dBm)"
    rows = [text for _, text in Parsed(page(eng)).rows if "POP Tanjung Redeb" in text]
    assert len(rows) == 2  # its outage, and its own row among the down sites
    assert all(said in text for text in rows)
    said = "link fo-noc-pop (near end noc/rtr-noc:sfp1: interface down, rx power -40.0 dBm)"
    assert said in Parsed(page(eng, lang="en")).row("POP Tanjung Redeb pop |")[1]


class Events(HTMLParser):
    """Every tag, attribute and piece of text of a page, in order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.events: list[tuple[str, ...]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, *(f"{k}={v}" for k, v in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))


def named(word: str) -> StatusEngine:
    """A province where every inventory string the page shows is ``word``: names, the
    kabupaten, the kecamatan, the site kind, the link's id and interface. The POP is down
    by its fibre (the link cause names both), a village is on its backup path, two more are
    cut off behind the POP (grouped under its name), one is up and in maintenance."""
    sites = [
        dataclasses.replace(site(sid, word, name=f"{word} {sid}", **extra), kecamatan=word)
        for sid, extra in (
            ("noc", {}),
            ("pop", {"uplinks": ("noc",)}),
            ("desa-1", {"uplinks": ("pop",)}),
            ("desa-2", {"uplinks": ("pop",)}),
            ("desa-3", {"uplinks": ("pop", "noc")}),
            ("desa-4", {"maintenance": True}),
        )
    ]
    sites[2] = dataclasses.replace(sites[2], kind=word)
    fibre = Link(
        f"fo-{word}", "fiber", LinkEnd("noc", "rtr-noc", word), LinkEnd("pop", "rtr-pop", "sfp1")
    )
    devices = {
        d: Device(d, s.id, "10.9.8.7", 60.0, 30.0, (("snmp", SnmpParams("10.9.8.7")),))
        for s in sites
        for d in s.devices
    }
    store = Store()
    dark = Snapshot(TargetRef("pop", "rtr-pop", "snmp"), NOW - 60, 1.0, [], error="timeout")
    store.apply(dark, 60.0, NOW - 60)
    labels = (("site", "noc"), ("device", "rtr-noc"), ("ifname", word))
    end = [Sample("netmon_interface_oper_up", labels, 0.0)]
    target = TargetRef("noc", "rtr-noc", "snmp")
    store.apply(Snapshot(target, NOW - 30, 0.1, [Part("if", end)]), 60.0, NOW - 30)
    eng = StatusEngine(
        Inventory({s.id: s for s in sites}, devices, {fibre.id: fibre}),
        store,
        hold=0,
        kinds=Kinds.of(REGISTRY),
    )
    eng.evaluate(NOW)
    assert eng.published["pop"].cause == "link"
    eng.published.update(
        {
            "desa-1": SiteState("unreachable", "uplink", "pop", SINCE),
            "desa-2": SiteState("unreachable", "uplink", "pop", SINCE),
            "desa-3": SiteState("degraded", "uplink", "pop", SINCE),
            "desa-4": SiteState("up", since=SINCE),
        }
    )
    return eng


def test_hostile_inventory_text_is_only_ever_text_wherever_the_page_shows_it() -> None:
    """The same page with a script tag (and quotes, an ampersand) in every inventory string
    as with a plain word: the same elements and attributes in the same order, the hostile
    string only as text or as an attribute's value (URL-encoded in a link), never markup."""
    plain = "Xyzzy"
    hostile, benign = named(HOSTILE), named(plain)
    for query in ({}, {"lang": "en"}, {"kabupaten": "{}"}, {"q": "{}"}, {"status": "unreachable"}):
        bad = page(hostile, READY, **{k: v.format(HOSTILE) for k, v in query.items()})
        good = page(benign, READY, **{k: v.format(plain) for k, v in query.items()})
        assert "<script" not in bad.lower()
        seen = [
            tuple(x.replace(HOSTILE, plain).replace(quote_plus(HOSTILE), plain) for x in e)
            for e in Events(bad).events
        ]
        assert seen == Events(good).events, query
        assert bad.count(HOSTILE) == 0
    # every place was filled in (so each one was tried with the hostile string)
    text = page(benign)
    for shown in (
        "Xyzzy pop",  # a name
        "<h3>di belakang Xyzzy pop (pop) (2)</h3>",  # the site a cut is behind
        "lewat jalur cadangan, Xyzzy pop (pop) gagal",  # the site a backup path avoids
        "tautan fo-Xyzzy (ujung noc/rtr-noc:Xyzzy: antarmuka mati)",  # the link and its end
        "<small>Xyzzy / Xyzzy · Xyzzy</small>",  # kabupaten, kecamatan, kind
        "<small>desa-4 · Xyzzy</small> <span",  # an up site's kecamatan, then its mark
        '<option value="Xyzzy">Xyzzy</option>',  # the kabupaten filter
    ):
        assert shown in text, shown
