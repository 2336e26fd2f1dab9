"""`/api/v1/report` on a daemon running in this process: a config, a contract and an
outage journal written here by hand in local wall-clock times; the expected seconds and
availabilities are worked out below from those times, not by the code under test."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp import web

from collectors import REGISTRY
from netmon.daemon import Daemon
from netmon.http import make_app
from netmon.http_auth import WebConfigSource, WebSecurity
from netmon.tools.simulate import free_tcp_port
from netmon.web_config import load_web_config
from tests.harness import Running, start
from tests.report_data import NOVEMBER, WIB, WITA, record

pytestmark = pytest.mark.integration


NETMON_YAML = """\
listen: "127.0.0.1:9800"
inventory: sites/*.yaml
status:
  journal_file: outages.jsonl
"""
KUTIM = """\
kabupaten: Kutai Timur
timezone: Asia/Makassar
sites:
  - {id: desa-a, name: Kantor Desa A, kind: village_office}
  - {id: desa-b, name: Puskesmas B, kind: puskesmas}
"""
WEST = """\
kabupaten: Contoh Barat
timezone: Asia/Jakarta
sites:
  - {id: desa-w, name: Kantor Desa W, kind: village_office}
  - {id: desa-x, name: Sekolah X, kind: school}
"""
# monitoring_stale is NOT excluded by this contract: netmon's blind time counts
CONTRACTS = """\
contracts:
  - id: isp-x-2026
    isp: PT ISP X
    title: Internet desa 2026
    start: 2026-01-01
    end: 2026-12-31
    measured_at: router
    bandwidth_mbps: 20
    sites: [desa-a, desa-b, desa-w]
    targets: {availability: 0.999, rtt_p95_ms: 150}
    excludes: [power, power_cut, maintenance]
    penalties:
      - {below: 0.999, percent: 5}
      - {below: 0.99, percent: 10}
"""


JOURNAL = [
    # desa-a: a cut of 2:30:15 (9015 s) counts; a flat battery of 4 h is excluded (power)
    record(
        "desa-a",
        datetime(2026, 11, 10, 8, 0, 0, tzinfo=WITA),
        datetime(2026, 11, 10, 10, 30, 15, tzinfo=WITA),
    ),
    record(
        "desa-a",
        datetime(2026, 11, 12, 1, tzinfo=WITA),
        datetime(2026, 11, 12, 5, tzinfo=WITA),
        cause="power",
    ),
    # an October outage is not November's
    record("desa-a", datetime(2026, 10, 3, 9, tzinfo=WITA), datetime(2026, 10, 3, 12, tzinfo=WITA)),
    # desa-b: maintenance, 1 h, excluded; 20 min while netmon was blind: counts (1200 s)
    record(
        "desa-b",
        datetime(2026, 11, 15, 10, tzinfo=WITA),
        datetime(2026, 11, 15, 11, tzinfo=WITA),
        maintenance=True,
    ),
    record(
        "desa-b",
        datetime(2026, 11, 20, 14, tzinfo=WITA),
        datetime(2026, 11, 20, 14, 20, tzinfo=WITA),
        stale=True,
    ),
    # desa-w (WIB): 23:30 WIB on 31 October to 00:15 on 1 November: 900 s in November;
    # 23:00 WIB on 30 November to 01:00 on 1 December: 3600 s in November
    record(
        "desa-w",
        datetime(2026, 10, 31, 23, 30, tzinfo=WIB),
        datetime(2026, 11, 1, 0, 15, tzinfo=WIB),
    ),
    record("desa-w", datetime(2026, 11, 30, 23, tzinfo=WIB), datetime(2026, 12, 1, 1, tzinfo=WIB)),
    # desa-x: under no contract; a declared power cut, excluded
    record(
        "desa-x",
        datetime(2026, 11, 5, 9, tzinfo=WIB),
        datetime(2026, 11, 5, 9, 45, tzinfo=WIB),
        cause="power",
        power_cut=True,
    ),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "sites").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "netmon.yaml").write_text(NETMON_YAML)
    (tmp_path / "sites" / "kutim.yaml").write_text(KUTIM)
    (tmp_path / "sites" / "west.yaml").write_text(WEST)
    (tmp_path / "contracts" / "isp-x.yaml").write_text(CONTRACTS)
    (tmp_path / "outages.jsonl").write_text("".join(JOURNAL))
    return tmp_path / "netmon.yaml"


@pytest.fixture
async def daemon(config: Path) -> AsyncIterator[Running]:
    async with start(config) as running:
        yield running


async def get_json(running: Running, path: str) -> tuple[int, Any]:
    status, body = await running.get(path)
    return status, json.loads(body)


async def test_a_contract_month_as_json(daemon: Running) -> None:
    status, body = await get_json(daemon, "/api/v1/report?month=2026-11&contract=isp-x-2026")
    assert status == 200, body
    assert body["status"] == "success"
    data = body["data"]
    assert data["month"] == "2026-11"
    assert "--prometheus" in data["quality"]
    (report,) = data["reports"]
    assert (report["scope"], report["name"]) == ("contract", "isp-x-2026")
    (contract,) = report["contracts"]
    assert contract["isp"] == "PT ISP X"
    assert contract["targets"]["availability"] == 0.999
    assert contract["excludes"] == ["maintenance", "power", "power_cut"]
    assert contract["penalties"] == [
        {"below": 0.999, "percent": 5},
        {"below": 0.99, "percent": 10},
    ]
    rows = {r["site"]: r for r in report["rows"]}
    assert set(rows) == {"desa-a", "desa-b", "desa-w"}
    a, b, w = rows["desa-a"], rows["desa-b"], rows["desa-w"]

    assert a["month_start"] == "2026-11-01T00:00:00+08:00"
    assert a["month_seconds"] == NOVEMBER
    assert (a["counted_seconds"], a["excluded_seconds"]) == (9015, 4 * 3600)
    assert a["availability"] == pytest.approx(1 - 9015 / NOVEMBER, abs=1e-9)
    assert (a["availability_met"], a["penalty_percent"]) == (False, 5)
    (cut,) = a["outages_counted"]
    assert (cut["start"], cut["end"]) == ("2026-11-10T08:00:00+08:00", "2026-11-10T10:30:15+08:00")
    assert (cut["cause"], cut["link"], cut["excluded_by"]) == ("link", "fo-x-1", [])
    (battery,) = a["outages_excluded"]
    assert (battery["cause"], battery["excluded_by"], battery["seconds"]) == (
        "power",
        ["power"],
        14400,
    )

    assert (b["counted_seconds"], b["excluded_seconds"]) == (1200, 3600)
    assert b["outages_excluded"][0]["excluded_by"] == ["maintenance"]
    assert b["availability"] == pytest.approx(1 - 1200 / NOVEMBER, abs=1e-9)
    assert (b["availability_met"], b["penalty_percent"]) == (True, 0)

    assert w["timezone"] == "WIB"
    assert (w["month_start"], w["month_end"]) == (
        "2026-11-01T00:00:00+07:00",
        "2026-12-01T00:00:00+07:00",
    )
    assert [(o["start"], o["end"], o["seconds"]) for o in w["outages_counted"]] == [
        ("2026-11-01T00:00:00+07:00", "2026-11-01T00:15:00+07:00", 900),
        ("2026-11-30T23:00:00+07:00", "2026-12-01T00:00:00+07:00", 3600),
    ]
    assert w["availability"] == pytest.approx(1 - 4500 / NOVEMBER, abs=1e-9)
    assert w["penalty_percent"] == 5
    # quality figures need Prometheus: null, never a made-up number
    assert {a[k] for k in ("rtt_p95_ms", "loss_ratio", "utilisation_p95")} == {None}

    summary = report["summary"]
    assert summary["sites"] == 3
    assert summary["targets_missed"] == 2  # desa-a and desa-w
    assert (summary["outages_counted"], summary["outages_excluded"]) == (4, 2)
    assert summary["counted_seconds"] == 9015 + 1200 + 4500
    mean = 1 - (9015 + 1200 + 4500) / 3 / NOVEMBER
    assert summary["availability_mean"] == pytest.approx(mean, abs=1e-9)


async def test_a_kabupaten_lists_sites_under_no_contract_too(daemon: Running) -> None:
    status, body = await get_json(daemon, "/api/v1/report?month=2026-11&kabupaten=Contoh%20Barat")
    assert status == 200, body
    (report,) = body["data"]["reports"]
    assert (report["scope"], report["name"]) == ("kabupaten", "Contoh Barat")
    rows = {r["site"]: r for r in report["rows"]}
    assert set(rows) == {"desa-w", "desa-x"}
    x = rows["desa-x"]
    assert (x["contract"], x["availability_target"], x["availability"]) == (None, None, 1.0)
    assert x["outages_excluded"][0]["excluded_by"] == ["power", "power_cut"]
    assert x["excluded_seconds"] == 45 * 60


async def test_without_a_filter_every_contract_and_kabupaten(daemon: Running) -> None:
    status, body = await get_json(daemon, "/api/v1/report?month=2026-11")
    assert status == 200, body
    names = [(r["scope"], r["name"]) for r in body["data"]["reports"]]
    assert names == [
        ("contract", "isp-x-2026"),
        ("kabupaten", "Contoh Barat"),
        ("kabupaten", "Kutai Timur"),
    ]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "month is required"),
        ("?month=2026-13", "YYYY-MM"),
        ("?month=november", "YYYY-MM"),
        ("?month=2026-11&contract=nope", "no contract 'nope'"),
        ("?month=2026-11&kabupaten=Atlantis", "no kabupaten 'Atlantis'"),
    ],
)
async def test_a_bad_month_or_unknown_contract_is_a_400(
    daemon: Running, query: str, says: str
) -> None:
    status, body = await get_json(daemon, "/api/v1/report" + query)
    assert status == 400
    assert body["status"] == "error"
    assert says in body["error"]


@contextlib.asynccontextmanager
async def secured_app(config: Path, web_yml: Path) -> AsyncIterator[str]:
    """The daemon's app behind the web config's basic auth, as `netmon run` builds it."""
    daemon = Daemon(config, REGISTRY)
    daemon.load_initial()
    security = WebSecurity(WebConfigSource(load_web_config(web_yml)), daemon.metrics)
    port = free_tcp_port()
    runner = web.AppRunner(make_app(daemon, [security.middleware]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_the_report_is_behind_the_web_security(config: Path, tmp_path: Path) -> None:
    web_yml = tmp_path / "web.yml"
    hashed = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(4)).decode()
    web_yml.write_text(f"basic_auth_users:\n  diskominfo: {hashed}\n")
    url = "/api/v1/report?month=2026-11&contract=isp-x-2026"
    async with secured_app(config, web_yml) as base, aiohttp.ClientSession() as http:
        async with http.get(base + url) as resp:
            assert resp.status == 401
            assert "isp-x-2026" not in await resp.text()
        auth = {"Authorization": "Basic " + base64.b64encode(b"diskominfo:s3cret-pass").decode()}
        async with http.get(base + url, headers=auth) as resp:
            assert resp.status == 200
            assert (await resp.json())["data"]["reports"][0]["name"] == "isp-x-2026"
