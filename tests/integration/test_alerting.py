"""The alerting layer: Prometheus rules and Alertmanager config, checked by the real tools.

promtool checks and unit-tests the rules in simulated time (real `for:` durations); amtool
checks the Alertmanager config; and a real Alertmanager, fed through its API with a cut of
200 sites behind one POP, proves "one cut, one page": the webhook gets exactly one
notification for the POP (the UplinkDown alone) while three unrelated outages page as
usual, and the Telegram and e-mail text renders in Bahasa Indonesia with local time.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.alerting_harness import (
    ALERTMANAGER,
    BOT_TOKEN,
    GROUP_INTERVAL,
    TEMPLATES,
    AlertmanagerSetup,
    alertmanager_setup,
    fake_receivers,
    render_secrets,
    route_of,
    running_alertmanager,
    tool,
)
from tests.helpers import ROOT, async_wait_for

pytestmark = pytest.mark.integration

PROMETHEUS = ROOT / "deploy" / "prometheus"
GENERATOR = PROMETHEUS / "tests" / "gen_uplink_cut_test.py"


# ----------------------------------------------------------------------- static checks


def test_promtool_accepts_the_rule_files() -> None:
    rules = sorted(str(p) for p in (PROMETHEUS / "rules").glob("*.yml"))
    assert len(rules) == 2
    result = tool("promtool", "check", "rules", *rules)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_200_site_test_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "uplink_cut_200_test.yml"
    result = tool(sys.executable, str(GENERATOR), "--output", str(fresh))
    assert result.returncode == 0, result.stderr
    committed = PROMETHEUS / "tests" / "uplink_cut_200_test.yml"
    assert fresh.read_text() == committed.read_text(), (
        f"run `python {GENERATOR.relative_to(ROOT)}` and commit the result"
    )


def test_promtool_rule_unit_tests_pass() -> None:
    tests = sorted(str(p) for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert len(tests) >= 5, tests
    result = tool("promtool", "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(tests), result.stdout


def test_promtool_accepts_the_prometheus_config() -> None:
    result = tool("promtool", "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout


def test_amtool_accepts_the_alertmanager_config() -> None:
    result = tool("amtool", "check-config", str(ALERTMANAGER / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 templates" in result.stdout
    assert "4 inhibit rules" in result.stdout


def test_no_secret_is_inline_in_the_alertmanager_config() -> None:
    config = yaml.safe_load((ALERTMANAGER / "alertmanager.yml").read_text())
    assert "smtp_auth_password" not in config["global"]
    assert config["global"]["smtp_auth_password_file"].startswith("/etc/alertmanager/secrets/")
    for receiver in config["receivers"]:
        for telegram in receiver.get("telegram_configs", []):
            assert telegram["bot_token"].startswith("@file:/etc/alertmanager/secrets/")
        for hook in receiver.get("webhook_configs", []):
            auth = hook.get("http_config", {}).get("authorization", {})
            assert "credentials" not in auth


# ------------------------------------------------------------------- render_secrets.py


def telegram_config(bot_token: str) -> dict[str, Any]:
    return {
        "route": {"receiver": "t"},
        "receivers": [{"name": "t", "telegram_configs": [{"bot_token": bot_token, "chat_id": -1}]}],
    }


def test_render_secrets_reads_the_bot_token_from_its_file(tmp_path: Path) -> None:
    token = tmp_path / "bot-token"
    token.write_text(BOT_TOKEN + "\n")
    source = tmp_path / "am.yml"
    source.write_text(yaml.safe_dump(telegram_config(f"@file:{token}")))
    out = tmp_path / "run" / "am.yml"
    result = render_secrets(source, out)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rendered = yaml.safe_load(out.read_text())
    assert rendered["receivers"][0]["telegram_configs"][0]["bot_token"] == BOT_TOKEN
    check = tool("amtool", "check-config", str(out))
    assert check.returncode == 0, check.stdout + check.stderr

    # Alertmanager >= 0.26: no secret in the output at all
    result = render_secrets(source, out, "--bot-token-file")
    assert result.returncode == 0, result.stderr
    telegram = yaml.safe_load(out.read_text())["receivers"][0]["telegram_configs"][0]
    assert telegram == {"bot_token_file": str(token), "chat_id": -1}
    assert BOT_TOKEN not in out.read_text()


def test_render_secrets_refuses_an_inline_token_and_never_prints_one(tmp_path: Path) -> None:
    source = tmp_path / "am.yml"
    source.write_text(yaml.safe_dump(telegram_config(BOT_TOKEN)))
    result = render_secrets(source, tmp_path / "out.yml")
    assert result.returncode == 1
    assert "never inline" in result.stderr
    assert BOT_TOKEN not in result.stderr + result.stdout
    assert not (tmp_path / "out.yml").exists()

    bad = tmp_path / "bot-token"
    bad.write_text("4242424242 test-Token with a typo\n")
    source.write_text(yaml.safe_dump(telegram_config(f"@file:{bad}")))
    result = render_secrets(source, tmp_path / "out.yml")
    assert result.returncode == 1
    assert "does not hold a Telegram bot token" in result.stderr
    assert "typo" not in result.stderr


# ------------------------------------------------------------- a real Alertmanager


@pytest.fixture
def am_setup(tmp_path: Path) -> AlertmanagerSetup:
    return alertmanager_setup(tmp_path)


def site_alert(
    alertname: str,
    site: str,
    root: str,
    name: str,
    *,
    network: str = "public",
    kabupaten: str = "Kutai Timur",
    **annotations: str,
) -> dict[str, Any]:
    """An alert as netmon's rules produce it (labels and the main annotations)."""
    severity = {"SiteUnreachable": "info"}.get(alertname, "page")
    since = datetime(2024, 5, 14, 1, 30, tzinfo=UTC)  # 09:30 WITA
    return {
        "labels": {
            "alertname": alertname,
            "severity": severity,
            "site": site,
            "root": root,
            "name": name,
            "kind": "pop" if site.startswith("pop-") else "village_office",
            "kabupaten": kabupaten,
            "kecamatan": "Sangkulirang",
            "network": network,
            "timezone": "Asia/Makassar",
            "tz": "WITA",
        },
        "annotations": {
            "summary": f"MATI: {name} (Kec. Sangkulirang)",
            "summary_en": f"DOWN: {name} (Sangkulirang)",
            "since": str(int(since.timestamp())),
            "since_local": "14-05-2024 09:30 WITA",
            "cause": "device",
            "contact": "Pak Yusuf (+62 811 5550 0100)",
            "map_url": "https://www.openstreetmap.org/?mlat=0.98&mlon=117.98",
            **annotations,
        },
        "startsAt": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }


def the_cut() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """UplinkDown for pop-x, 200 sites behind it, and 3 unrelated outages + 1 NOC alert."""
    uplink = site_alert(
        "UplinkDown",
        "pop-x",
        "pop-x",
        "POP Sangkulirang",
        network="intranet",
        cause="power",
        sites_behind="200",
        affected_sites="201",
        isp="Telkom",
        isp_circuit="TLK-SKL-0042",
        devices="rtr-pop-x: MikroTik CCR2004-16G-2S+",
        summary="UPLINK PUTUS: POP Sangkulirang (Kec. Sangkulirang), 200 situs di belakangnya",
        summary_en="UPLINK DOWN: POP Sangkulirang (Sangkulirang), 200 site(s) behind it",
    )
    kabupaten = ("Kutai Timur", "Kutai Kartanegara", "Berau")
    behind = [
        site_alert(
            "SiteDown" if i % 2 == 0 else "SiteUnreachable",
            f"desa-{i:03d}",
            "pop-x",
            f"Desa {i:03d}",
            network="intranet" if i % 3 == 0 else "public",
            kabupaten=kabupaten[i % 3],
        )
        for i in range(200)
    ]
    unrelated = [
        site_alert("SiteDown", "desa-a", "desa-a", "Kantor Desa Sangatta Utara"),
        site_alert("SiteDown", "desa-b", "desa-b", "Kantor Desa Gunung Tabur", kabupaten="Berau"),
        site_alert(
            "SiteDown",
            "kantor-c",
            "kantor-c",
            "Kantor Camat Tenggarong",
            network="intranet",
            kabupaten="Kutai Kartanegara",
        ),
    ]
    noc = {
        "labels": {
            "alertname": "MonitoringStale",
            "severity": "noc",
            "stale": "mqtt",
            "job": "netmon",
            "instance": "netmon-1:9800",
        },
        "annotations": {"summary": "Pemantauan terhenti: netmon-1:9800 terputus dari MQTT"},
    }
    return uplink, behind, [*unrelated, noc]


def render_template(name: str, data: Path) -> str:
    """`amtool template render` of one of netmon.tmpl's templates with webhook-shaped data."""
    result = tool(
        "amtool",
        "template",
        "render",
        f"--template.glob={TEMPLATES}",
        f"--template.text={{{{ template {json.dumps(name)} . }}}}",
        f"--template.data={data}",
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_one_cut_is_one_page_and_unrelated_outages_still_page(
    am_setup: AlertmanagerSetup, tmp_path: Path
) -> None:
    uplink, behind, others = the_cut()
    async with (
        fake_receivers(am_setup.hook_port) as received,
        running_alertmanager(am_setup) as url,
        aiohttp.ClientSession() as http,
    ):

        async def post(alerts: list[dict[str, Any]]) -> None:
            async with http.post(f"{url}/api/v2/alerts", json=alerts) as resp:
                assert resp.status == 200, await resp.text()

        async def alerts_in_am() -> list[dict[str, Any]]:
            async with http.get(f"{url}/api/v2/alerts") as resp:
                body: list[dict[str, Any]] = await resp.json()
                return body

        # the uplink first, as Prometheus sends it (its for: is the shorter one)
        await post([uplink])

        async def uplink_known() -> bool:
            return len(await alerts_in_am()) == 1

        await async_wait_for(uplink_known, within=10, what="UplinkDown stored")
        await post(behind + others)

        async def all_known() -> bool:
            return len(await alerts_in_am()) == 1 + len(behind) + len(others)

        await async_wait_for(all_known, within=10, what="all alerts stored")

        # pages: 2 on the intranet webhook (pop-x, kantor-c), Kutai Timur and Berau one
        # each on webhook and Telegram, the NOC one; nothing for Kutai Kartanegara or info
        expected = 2 + 2 + 2 + 1

        async def delivered() -> bool:
            return received.count() >= expected

        await async_wait_for(delivered, within=20, what=f"{expected} notifications")
        # Observation window, not synchronisation: with nothing changing, Alertmanager
        # flushes a group again only after group_interval; anything more would show now.
        await asyncio.sleep(2 * GROUP_INTERVAL + 1)

        assert received.count() == expected, (received.webhooks, received.telegram)
        assert received.bad_auth == []

        # exactly one notification for root=pop-x, and it holds the UplinkDown alone
        pop = [p for _, p in received.webhooks if p["groupLabels"].get("root") == "pop-x"]
        assert len(pop) == 1, pop
        assert [a["labels"]["alertname"] for a in pop[0]["alerts"]] == ["UplinkDown"]
        assert pop[0]["receiver"] == "intranet-webhook"
        assert pop[0]["truncatedAlerts"] == 0

        # the unrelated outages all paged, each on its own route
        roots = {
            name: sorted(p["groupLabels"].get("root", "") for p in received.to(name))
            for name in ("intranet-webhook", "kutai-timur", "berau", "kutai-kartanegara")
        }
        assert roots == {
            "intranet-webhook": ["kantor-c", "pop-x"],
            "kutai-timur": ["desa-a"],
            "berau": ["desa-b"],
            "kutai-kartanegara": [],
        }
        assert received.to("info-archive") == []
        noc = received.to("noc")
        assert [a["labels"]["alertname"] for p in noc for a in p["alerts"]] == ["MonitoringStale"]

        # inhibition: 100% of the dependent alerts suppressed by the UplinkDown, 0% of others
        stored = await alerts_in_am()
        state = {a["labels"]["site"]: a["status"] for a in stored if "site" in a["labels"]}
        assert state["pop-x"]["state"] == "active"
        behind_states = [state[f"desa-{i:03d}"] for i in range(200)]
        assert all(s["state"] == "suppressed" and s["inhibitedBy"] for s in behind_states)
        for site in ("desa-a", "desa-b", "kantor-c"):
            assert state[site]["state"] == "active", state[site]

        # Telegram: the kabupaten groups got the Indonesian text, rendered by Alertmanager
        # itself from netmon.tmpl, with the bot token from its file (never the reference)
        assert {token for token, _ in received.telegram} == {BOT_TOKEN}
        texts = {int(p["chat_id"]): p["text"] for _, p in received.telegram}
        assert set(texts) == {-1001000000101, -1001000000103}
        kutai_timur = texts[-1001000000101]
        assert "Kantor Desa Sangatta Utara" in kutai_timur
        assert "Sejak: 14-05-2024 09:30 WITA" in kutai_timur
        assert "Penyebab: perangkat" in kutai_timur
        assert "Kontak: Pak Yusuf (+62 811 5550 0100)" in kutai_timur
        assert "https://www.openstreetmap.org/?mlat=0.98&mlon=117.98" in kutai_timur

    # the page for the cut, rendered with amtool from exactly what the webhook received
    data = tmp_path / "pop-x.json"
    data.write_text(json.dumps(pop[0]))
    indonesian = await asyncio.to_thread(render_template, "netmon.message.id", data)
    assert "POP Sangkulirang" in indonesian
    assert "sejak" in indonesian.lower()
    assert "Sejak: 14-05-2024 09:30 WITA" in indonesian
    assert "Penyebab: listrik/daya" in indonesian
    assert "Situs terdampak: 200 situs di belakangnya (201 termasuk situs ini)" in indonesian
    assert "Sirkuit ISP: Telkom TLK-SKL-0042" in indonesian
    assert "Perangkat: rtr-pop-x: MikroTik CCR2004-16G-2S+" in indonesian
    english = await asyncio.to_thread(render_template, "netmon.message.en", data)
    assert "Since: 14-05-2024 09:30 WITA" in english
    assert "Cause: power" in english
    assert "Affected sites: 200 behind it (201 including this one)" in english
    subject = await asyncio.to_thread(render_template, "netmon.subject.id", data)
    assert subject.startswith("[netmon] GANGGUAN: UPLINK PUTUS: POP Sangkulirang")


async def test_a_stale_shard_holds_back_only_its_own_sites(am_setup: AlertmanagerSetup) -> None:
    """MonitoringStale of netmon-0 suppresses the site alerts netmon-0 exports; netmon-1's
    still page. Without any netmon target (no instance) everything is held back."""

    def on(alert: dict[str, Any], instance: str) -> dict[str, Any]:
        return {**alert, "labels": {**alert["labels"], "instance": instance}}

    stale = {
        "labels": {
            "alertname": "MonitoringStale",
            "severity": "noc",
            "stale": "scrape",
            "job": "netmon",
            "instance": "netmon-0:9800",
        },
        "annotations": {"summary": "Pemantauan terhenti: netmon netmon-0:9800"},
    }
    mine = on(site_alert("SiteDown", "desa-a", "desa-a", "Kantor Desa A"), "netmon-0:9800")
    other = on(site_alert("SiteDown", "desa-b", "desa-b", "Kantor Desa B"), "netmon-1:9800")
    async with (
        fake_receivers(am_setup.hook_port),
        running_alertmanager(am_setup) as url,
        aiohttp.ClientSession() as http,
    ):

        async def states() -> dict[str, str]:
            async with http.get(f"{url}/api/v2/alerts") as resp:
                body: list[dict[str, Any]] = await resp.json()
            return {a["labels"].get("site", "stale"): a["status"]["state"] for a in body}

        async with http.post(f"{url}/api/v2/alerts", json=[stale, mine, other]) as resp:
            assert resp.status == 200, await resp.text()

        async def settled() -> bool:
            return await states() == {
                "stale": "active",
                "desa-a": "suppressed",
                "desa-b": "active",
            }

        await async_wait_for(settled, within=10, what="netmon-0's site held back, netmon-1's not")

        absent = {**stale, "labels": {k: v for k, v in stale["labels"].items() if k != "instance"}}
        async with http.post(f"{url}/api/v2/alerts", json=[absent]) as resp:
            assert resp.status == 200, await resp.text()

        async def all_held() -> bool:
            got = await states()
            return got.get("desa-a") == got.get("desa-b") == "suppressed"

        await async_wait_for(all_held, within=10, what="no netmon at all: every site held")


def test_local_time_falls_back_to_the_alert_start_in_the_site_zone(tmp_path: Path) -> None:
    """Without since_local (e.g. netmon had no since yet) the start is shown per tz label."""
    starts = "2024-05-14T01:32:00Z"
    alerts = []
    for tz in ("WITA", "WIB", "WIT", ""):
        alerts.append(
            {
                "status": "firing",
                "labels": {"alertname": "SiteDown", "site": f"s-{tz}", "root": f"s-{tz}", "tz": tz},
                "annotations": {"summary": f"MATI: s-{tz}"},
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
            }
        )
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"status": "firing", "alerts": alerts, "groupLabels": {}}))
    text = render_template("netmon.message.id", data)
    for expected in (
        "14-05-2024 09:32 WITA",
        "14-05-2024 08:32 WIB",
        "14-05-2024 10:32 WIT",
        "14-05-2024 01:32 UTC",
    ):
        assert f"Sejak: {expected}" in text, text


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "network=public", "kabupaten=Berau"], "berau"),
        (["severity=page", "network=intranet", "kabupaten=Berau"], "intranet-webhook"),
        (["severity=escalate", "network=public", "kabupaten=Berau"], "berau-koordinator"),
        (
            ["severity=escalate", "network=public", "kabupaten=Kutai Timur"],
            "kutai-timur-koordinator",
        ),
        (["severity=escalate", "network=intranet"], "noc"),
        (["severity=noc", "alertname=MonitoringStale"], "noc"),
    ],
)
def test_routes_page_the_kabupaten_and_escalate_to_its_coordinator(
    labels: list[str], receiver: str
) -> None:
    assert route_of(*labels) == receiver
