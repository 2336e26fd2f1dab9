"""Issue 13 item 4: /snmp?target=DEVICE&module=PROFILE, snmp_exporter's multi-target
pattern limited to the inventory. A real Prometheus scrapes it with the relabelling users
already have for snmp_exporter; a target outside the inventory is refused and counted;
the device is polled with its own credentials, never the request's. Expected values are
read from the recording snmpsim serves."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from netmon.tools.simulate import SnmpSim, free_tcp_port, recordings_dir
from netmon.tools.stack import prometheus_with
from tests.conftest import SECRET_COMMUNITY
from tests.harness import Running, start
from tests.helpers import async_wait_for, values

pytestmark = pytest.mark.integration


def recorded(oid: str) -> str:
    """One value of routeros.snmprec, read from the file."""
    for line in (recordings_dir() / "routeros.snmprec").read_text().splitlines():
        got, _kind, value = line.split("|", 2)
        if got == oid:
            return value
    raise LookupError(oid)


@pytest.fixture
async def running(tmp_path: Path, snmpsim: SnmpSim) -> AsyncIterator[Running]:
    (tmp_path / "sites").mkdir()
    (tmp_path / "community").write_text(SECRET_COMMUNITY + "\n")
    (tmp_path / "netmon.yaml").write_text(
        "defaults: {interval: 300s, deadline: 10s, snmp: {community: {file: community}}}\n"
    )
    (tmp_path / "sites" / "a.yaml").write_text(
        "kabupaten: Berau\nsites:\n  - id: pop-a\n    name: POP A\n    kind: pop\n"
        f"    devices:\n      - {{id: rtr-a, address: 127.0.0.1, port: {snmpsim.port}, "
        "profiles: [system, if_mib, mikrotik]}\n"
        f"      - {{id: rtr-d, address: 127.0.0.1, port: {snmpsim.port}}}\n"  # detected
    )
    async with start(tmp_path / "netmon.yaml") as running:
        yield running


async def test_snmp_answers_for_a_device_of_the_inventory(running: Running) -> None:
    status, text = await running.get("/snmp?target=rtr-a&module=if_mib")
    assert status == 200
    assert SECRET_COMMUNITY not in text  # its own credentials, never in the answer
    (info,) = [ln for ln in text.splitlines() if ln.startswith("netmon_device_info{")]
    assert f'sys_object_id="{recorded("1.3.6.1.2.1.1.2.0")}"' in info
    # ifHighSpeed of ifIndex 1, in Mbit/s in the recording, bytes per second here
    mbits = float(recorded("1.3.6.1.2.1.31.1.1.1.15.1"))
    speeds = values(text, "netmon_interface_speed_bytes", device="rtr-a")
    assert mbits * 1e6 / 8 in speeds
    assert not values(text, "netmon_mikrotik_health_temperature_celsius")  # not asked for
    status, by_address = await running.get("/snmp?target=127.0.0.1")  # its own profiles
    assert status == 200
    assert "netmon_device_info{" in by_address


async def test_modules_asked_for_are_polled_exactly(running: Running) -> None:
    """A device whose profiles are detected: its own are the detected ones; modules given
    in the request are polled as given, nothing detected on top."""
    status, own = await running.get("/snmp?target=rtr-d")
    assert status == 200
    (detected,) = [ln for ln in own.splitlines() if ln.startswith("netmon_device_profiles_info")]
    assert "mikrotik" in detected  # sysObjectID 1.3.6.1.4.1.14988.1 in the recording
    status, asked = await running.get("/snmp?target=rtr-d&module=if_mib")
    assert status == 200
    assert "netmon_device_profiles_info" not in asked
    assert "netmon_interface_receive_bytes_total{" in asked


async def test_anything_else_is_refused_and_counted(running: Running) -> None:
    sent: dict[str, float] = {}
    for query, result in (
        ("target=10.9.9.9", "unknown_target"),
        ("target=rtr-zz", "unknown_target"),
        ("target=rtr-a&module=no_such", "unknown_module"),
        ("module=if_mib", "bad_request"),
        ("target=rtr-a&target=rtr-a", "bad_request"),
        (f"target=rtr-a&community={SECRET_COMMUNITY}", "bad_request"),
    ):
        status, text = await running.get("/snmp?" + query)
        sent[result] = sent.get(result, 0.0) + 1
        assert status == 400, query
        assert SECRET_COMMUNITY not in text
    _, metrics = await running.get("/metrics")
    got = {
        r: values(metrics, "netmon_snmp_exporter_requests_total", result=r)
        for r in ("unknown_target", "unknown_module", "bad_request")
    }
    assert got == {result: [count] for result, count in sent.items()}
    assert sent == {"unknown_target": 2, "unknown_module": 1, "bad_request": 3}


async def test_a_real_prometheus_scrapes_it_like_snmp_exporter(
    running: Running, tmp_path: Path
) -> None:
    netmon = running.base.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {  # snmp_exporter's documented relabelling, the exporter's address changed
                "job_name": "snmp",
                "metrics_path": "/snmp",
                "params": {"module": ["if_mib"]},
                "static_configs": [{"targets": ["rtr-a", "192.0.2.7"]}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": netmon},
                ],
            }
        ],
    }
    with prometheus_with(config, tmp_path / "prometheus", free_tcp_port()) as p:

        def query(expr: str) -> list[dict[str, Any]]:
            url = f"{p.url}/api/v1/query?query={urllib.parse.quote(expr)}"
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
                result: list[dict[str, Any]] = json.load(resp)["data"]["result"]
                return result

        async def both_scraped() -> bool:
            up = await asyncio.to_thread(query, 'up{job="snmp"}')
            return len(up) == 2

        await async_wait_for(both_scraped, 30, "both targets scraped")
        up = {r["metric"]["instance"]: r["value"][1] for r in query('up{job="snmp"}')}
        assert up == {"rtr-a": "1", "192.0.2.7": "0"}  # outside the inventory: refused
        stored = query('netmon_device_info{job="snmp",instance="rtr-a"}')
        assert stored[0]["metric"]["sys_object_id"] == recorded("1.3.6.1.2.1.1.2.0")
