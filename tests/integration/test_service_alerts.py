"""ServiceDown and CertificateExpiring in Alertmanager: a camera's page behind a cut is held
back by the cut's UplinkDown (equal: [root]); certificates go to the admins only.

The rules themselves are unit-tested by promtool (deploy/prometheus/tests/service_test.yml,
run by test_alerting.py's glob)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.alerting_harness import (
    alertmanager_setup,
    fake_receivers,
    route_of,
    running_alertmanager,
)
from tests.helpers import async_wait_for

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=admin", "alertname=CertificateExpiring", "days=30"], "admins"),
        (
            [
                "severity=admin",
                "alertname=CertificateExpiring",
                "days=7",
                "network=public",
                "kabupaten=Berau",
            ],
            "admins",
        ),
        (["severity=admin", "alertname=CertificateExpiring", "network=intranet"], "admins"),
        (["severity=page", "alertname=ServiceDown", "network=public", "kabupaten=Berau"], "berau"),
        (["severity=page", "alertname=ServiceDown", "network=intranet"], "intranet-webhook"),
    ],
)
def test_certificates_go_to_the_admins_and_service_pages_to_the_technicians(
    labels: list[str], receiver: str
) -> None:
    assert route_of(*labels) == receiver


def alert(
    alertname: str, severity: str, site: str, root: str | None, **labels: str
) -> dict[str, Any]:
    all_labels = {
        "alertname": alertname,
        "severity": severity,
        "site": site,
        "kabupaten": "Kutai Timur",
        "network": "public",
        **({"root": root} if root is not None else {}),
        **labels,
    }
    return {
        "labels": all_labels,
        "annotations": {"summary": f"{alertname} {site}"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
    }


async def test_a_camera_behind_a_cut_is_held_back_and_certificates_reach_only_the_admins(
    tmp_path: Path,
) -> None:
    setup = alertmanager_setup(tmp_path)
    uplink = alert("UplinkDown", "page", "pop-x", "pop-x")
    behind = alert("ServiceDown", "page", "desa-cctv", "pop-x", device="cam-desa", check="rtsp")
    elsewhere = alert("ServiceDown", "page", "pasar", "pasar", device="cam-pasar", check="rtsp")
    certificate = alert(
        "CertificateExpiring", "admin", "diskominfo", None, device="portal", check="cert", days="7"
    )
    async with (
        fake_receivers(setup.hook_port) as received,
        running_alertmanager(setup) as url,
        aiohttp.ClientSession() as http,
    ):
        async with http.post(f"{url}/api/v2/alerts", json=[uplink]) as resp:
            assert resp.status == 200, await resp.text()

        async def states() -> dict[str, dict[str, Any]]:
            async with http.get(f"{url}/api/v2/alerts") as resp:
                body: list[dict[str, Any]] = await resp.json()
            return {a["labels"]["site"]: a["status"] for a in body}

        async def uplink_known() -> bool:
            return "pop-x" in await states()

        await async_wait_for(uplink_known, within=10, what="UplinkDown stored")
        async with http.post(f"{url}/api/v2/alerts", json=[behind, elsewhere, certificate]) as resp:
            assert resp.status == 200, await resp.text()

        def names(receiver: str) -> list[str]:
            return sorted(
                a["labels"]["alertname"] + ":" + a["labels"]["site"]
                for payload in received.to(receiver)
                for a in payload["alerts"]
            )

        async def settled() -> bool:
            sent = len(names("kutai-timur")) == 2 and len(names("admins")) == 1
            return sent and len(await states()) == 4

        await async_wait_for(settled, within=20, what="all stored, the pages sent")
        state = await states()
        assert state["desa-cctv"]["state"] == "suppressed"
        assert state["desa-cctv"]["inhibitedBy"]
        assert state["pasar"]["state"] == "active"
        assert state["diskominfo"]["state"] == "active"

        assert names("admins") == ["CertificateExpiring:diskominfo"]
        # the technicians (webhook copy of the kabupaten route) got the pages, not the cert
        assert names("kutai-timur") == ["ServiceDown:pasar", "UplinkDown:pop-x"]
        assert all("CertificateExpiring" not in p["text"] for _, p in received.telegram)
