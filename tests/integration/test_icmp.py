"""ICMP probes against loopback and a test host in a namespace that the test cuts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from collectors.icmp import IcmpCollector, IcmpParams
from netmon.api import TargetRef
from tests.harness import start
from tests.helpers import async_wait_for, values
from tests.netns import netns_host

pytestmark = pytest.mark.integration
TARGET = TargetRef("site-a", "cpe-a", "icmp")


async def test_loopback_answers() -> None:
    snapshot = await IcmpCollector().poll(TARGET, IcmpParams("127.0.0.1", count=3), 5)
    assert snapshot.ok
    samples = {s.name: s.value for part in snapshot.parts for s in part.samples}
    assert samples["netmon_probe_loss_ratio"] == 0.0
    assert 0 < samples["netmon_probe_rtt_seconds"] < 0.1


async def test_a_cut_host_is_down_with_full_loss() -> None:
    with netns_host() as host:
        collector = IcmpCollector()
        params = IcmpParams(host.address, count=2, interval=0.1, timeout=0.5)
        assert (await collector.poll(TARGET, params, 5)).ok
        host.cut()
        snapshot = await collector.poll(TARGET, params, 5)
        assert snapshot.error == "timeout"
        samples = {s.name: s.value for part in snapshot.parts for s in part.samples}
        assert samples == {"netmon_probe_loss_ratio": 1.0}


async def test_a_probe_only_device_keeps_its_site_watched(tmp_path: Path) -> None:
    with netns_host() as host:
        (tmp_path / "sites").mkdir()
        main = {
            "defaults": {"interval": "1s", "deadline": "1s"},
            "status": {"hold": 0, "interval": "200ms"},
        }
        sites = [
            {
                "id": "desa-vsat",
                "name": "Desa VSAT",
                "kind": "village_office",
                "devices": [
                    {
                        "id": "modem-vsat",
                        "address": host.address,
                        "profiles": [],
                        "icmp": {"count": 2, "interval": "100ms", "timeout": "300ms"},
                    }
                ],
            }
        ]
        (tmp_path / "netmon.yaml").write_text(yaml.safe_dump(main))
        (tmp_path / "sites/k.yaml").write_text(yaml.safe_dump({"kabupaten": "K", "sites": sites}))
        async with start(tmp_path / "netmon.yaml") as running:

            async def site_is(status: str) -> bool:
                _, body = await running.get("/api/v1/sites")
                return bool(json.loads(body)["data"][0]["status"] == status)

            await async_wait_for(lambda: site_is("up"), 10, "the VSAT site up by its probe")
            _, text = await running.get("/metrics")
            assert values(text, "netmon_probe_loss_ratio", device="modem-vsat") == [0.0]
            assert values(text, "netmon_target_up", device="modem-vsat", collector="icmp") == [1.0]
            assert values(text, "netmon_target_up", collector="snmp") == []  # no SNMP for it
            host.cut()
            await async_wait_for(lambda: site_is("down"), 10, "the site down when the link is cut")
