"""End to end: a POP's link is cut, 200 villages behind it go dark; one page arrives.

Real parts throughout: net-snmp snmpd serving the POP and its villages from a
network namespace this test creates (the cut is its veth going down), netmon,
Prometheus 2.42 with the project's rules (alert durations shortened by netmon/tools/stack:
minutes become seconds, as DESIGN.md says end-to-end tests do), and Alertmanager with
the project's route tree and inhibition, its receivers pointed at a local fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from gufo.snmp.sync import SnmpSession

from netmon.tools import stack
from netmon.tools.simulate import SnmpSim, free_tcp_port
from tests.alerting_harness import alertmanager_setup, fake_receivers, running_alertmanager
from tests.harness import Running, start
from tests.helpers import async_wait_for, wait_for
from tests.netns import NetnsHost, netns_host

pytestmark = pytest.mark.integration
VILLAGES = 200
COMMUNITY = "e2e-c0mmunity"


@contextlib.contextmanager
def snmpd_in(host: NetnsHost, workdir: Path) -> Iterator[int]:
    """net-snmp snmpd inside the test host's namespace, answering our side of the veth.

    (gufo's Snmpd helper allows only 127.0.0.1 as a source.) Ready means it answers.
    """
    port = 1161
    conf = workdir / "snmpd.conf"
    conf.write_text(f"rocommunity {COMMUNITY} 10.254.0.0/16\ndontLogTCPWrappersConnects yes\n")
    state = workdir / "snmpd-state"
    state.mkdir()
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            host.namespace,
            "/usr/sbin/snmpd",
            "-f",
            "-Lo",
            "-C",
            "-c",
            str(conf),
            f"udp:{host.address}:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(state)},
    )
    try:

        def answers() -> bool:
            try:
                SnmpSession(host.address, port, community=COMMUNITY, timeout=0.3).get(
                    "1.3.6.1.2.1.1.3.0"
                )
            except (TimeoutError, OSError):
                return False
            return True

        wait_for(answers, 15, "snmpd in the namespace answering")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write(root: Path, sim_port: int, pop_address: str, pop_port: int) -> Path:
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "snmpsim").write_text("routeros\n")
    (root / "community").write_text(COMMUNITY + "\n")

    def dev(did: str, address: str, port: int, secret: str) -> dict[str, Any]:
        return {
            "id": did,
            "address": address,
            "port": port,
            "profiles": ["system"],
            "snmp": {"community": {"file": secret}},
        }

    sites: list[dict[str, Any]] = [
        {
            "id": "noc",
            "name": "NOC Samarinda",
            "kind": "noc",
            "network": "intranet",
            "devices": [dev("rtr-noc", "127.0.0.1", sim_port, "snmpsim")],
        },
        {
            "id": "pop-berau",
            "name": "POP Tanjung Redeb",
            "kind": "pop",
            "network": "intranet",
            "uplinks": ["noc"],
            "devices": [dev("rtr-pop", pop_address, pop_port, "community")],
        },
    ]
    sites += [
        {
            "id": f"desa-{i:03d}",
            "name": f"Kantor Desa {i}",
            "kind": "village_office",
            "kecamatan": "Tanjung Redeb",
            "location": {"lat": 2.15, "lon": 117.49},
            "uplinks": ["pop-berau"],
            "devices": [dev(f"rtr-desa-{i:03d}", pop_address, pop_port, "community")],
        }
        for i in range(VILLAGES)
    ]
    main = {
        "defaults": {
            "interval": "1s",
            "deadline": "1s",
            # snmpsim serves v2c; the intranet POPs need the explicit override for it
            "snmp": {"timeout": "300ms", "retries": 0, "insecure_on_intranet": True},
        },
        "scheduler": {"max_concurrency": 64},
        "status": {"hold": 0, "interval": "200ms"},
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    (root / "sites/berau.yaml").write_text(yaml.safe_dump({"kabupaten": "Berau", "sites": sites}))
    return root / "netmon.yaml"


@contextlib.asynccontextmanager
async def prometheus(workdir: Path, netmon: str, alertmanager: str) -> AsyncIterator[str]:
    """The project's rules, alert timings scaled 1/60 (minutes become seconds)."""
    service = await asyncio.to_thread(
        stack.start_prometheus,
        workdir,
        free_tcp_port(),
        netmon.removeprefix("http://"),
        alertmanager.removeprefix("http://"),
        scrape_interval=1.0,
        factor=1 / 60,
    )
    try:
        yield service.url
    finally:
        await asyncio.to_thread(service.stop)


async def query(url: str, promql: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v1/query", params={"query": promql}) as resp,
    ):
        result: list[dict[str, Any]] = (await resp.json())["data"]["result"]
        return result


async def statuses(running: Running) -> dict[str, str]:
    _, body = await running.get("/api/v1/sites")
    return {s["site"]: s["status"] for s in json.loads(body)["data"]}


async def test_a_pop_cut_with_200_villages_is_one_page(tmp_path: Path, snmpsim: SnmpSim) -> None:
    (tmp_path / "am").mkdir()
    setup = alertmanager_setup(tmp_path / "am")
    with netns_host() as host, snmpd_in(host, tmp_path) as snmp_port:
        config = write(tmp_path / "netmon", snmpsim.port, host.address, snmp_port)
        async with (
            fake_receivers(setup.hook_port) as received,
            running_alertmanager(setup) as alertmanager,
            start(config) as running,
            prometheus(tmp_path / "prom", running.base, alertmanager) as prom,
        ):

            async def all_up() -> bool:
                return set((await statuses(running)).values()) == {"up"}

            await async_wait_for(all_up, 30, "NOC, POP and 200 villages up")

            async def scraped() -> bool:
                return bool(await query(prom, 'netmon_site_status{status="up"} == 1'))

            await async_wait_for(scraped, 20, "prometheus scraping netmon")
            host.cut()  # the fibre to the POP is cut: the POP and its villages go dark
            cut = time.monotonic()

            async def outage() -> bool:
                got = await statuses(running)
                return got["pop-berau"] == "down" and all(
                    got[f"desa-{i:03d}"] == "unreachable" for i in range(VILLAGES)
                )

            await async_wait_for(outage, 15, "the POP down and its villages unreachable")
            detected = time.monotonic() - cut

            def pages() -> list[dict[str, Any]]:
                out = [p for _, p in received.webhooks]
                out += [{"telegram": t} for _, t in received.telegram]
                return out

            async def paged() -> bool:
                return bool(pages())

            await async_wait_for(paged, 30, "the page for the cut")
            paged_after = time.monotonic() - cut

            async def dependents_settled() -> bool:
                # SiteUnreachable has SiteDown's for:; once it fires, a SiteDown would too
                firing = await query(
                    prom, 'ALERTS{alertname="SiteUnreachable", alertstate="firing"}'
                )
                return len(firing) == VILLAGES

            await async_wait_for(dependents_settled, 30, "every village's alert settled")
            site_down = await query(prom, 'ALERTS{alertname="SiteDown"}')
            assert site_down == []
            uplink = await query(prom, 'ALERTS{alertname="UplinkDown", alertstate="firing"}')
            assert [a["metric"]["root"] for a in uplink] == ["pop-berau"]
            # one more group interval for any late notification, then count
            deadline = time.monotonic() + 3.0
            await async_wait_for(lambda: _after(deadline), 5, "a group interval")
            notifications = pages()
            assert len(notifications) == 1, notifications
            alerts = notifications[0].get("alerts", [])
            assert {a["labels"]["alertname"] for a in alerts} == {"UplinkDown"}
            print(f"\ncut -> netmon outage {detected:.2f} s, -> page {paged_after:.2f} s")
            # interval + timeout, plus slack for a loaded 2-core CI machine: this is a bound
            # on the design (no waiting for extra poll rounds), the measured figure (about
            # 1.35 s) lives in docs/benchmarks.md, not in a timed test
            assert detected <= 2 * (1 + 0.3)


async def _after(deadline: float) -> bool:
    return time.monotonic() >= deadline
