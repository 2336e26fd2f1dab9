"""Maintenance announced as an Alertmanager silence, read from a real Alertmanager."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import yaml

from netmon.tools import stack
from netmon.tools.simulate import SnmpSim, free_tcp_port
from tests.harness import Running, start
from tests.helpers import async_wait_for, values, write_config

pytestmark = pytest.mark.integration


def configured(tmp_path: Path, sim_port: int, alertmanager: str) -> Path:
    config = write_config(
        tmp_path / "netmon",
        sim_port,
        {"rtr-a": ("routeros", ["system"]), "rtr-b": ("routeros", ["system"])},
    )
    main = yaml.safe_load(config.read_text())
    main["status"] = {"silences": {"alertmanager": alertmanager, "interval": "200ms"}}
    config.write_text(yaml.safe_dump(main))
    return config


async def silenced(running: Running) -> dict[str, float]:
    _, text = await running.get("/metrics")
    return {
        site: value
        for site in ("site-rtr-a", "site-rtr-b")
        for value in values(text, "netmon_site_silenced", site=site)
    }


async def test_a_silence_of_a_site_is_its_maintenance_while_it_lasts(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    port = free_tcp_port()
    with stack.start_alertmanager(tmp_path / "am", port, "http://127.0.0.1:9", 1.0) as am:
        async with start(configured(tmp_path, snmpsim.port, am.url)) as running:
            now = time.time()
            body = {
                "matchers": [
                    {"name": "site", "value": "site-rtr-a", "isRegex": False, "isEqual": True}
                ],
                "startsAt": datetime.fromtimestamp(now, UTC).isoformat(),
                "endsAt": datetime.fromtimestamp(now + 3600, UTC).isoformat(),
                "createdBy": "teknisi",
                "comment": "ganti baterai",
            }
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{am.url}/api/v2/silences", json=body) as resp:
                    assert resp.status == 200, await resp.text()
                    silence_id = (await resp.json())["silenceID"]

                async def on() -> bool:
                    return await silenced(running) == {"site-rtr-a": 1.0}

                await async_wait_for(on, 10, "site-rtr-a silenced, site-rtr-b not")
                _, text = await running.get("/api/v1/sites")
                sites = {s["site"]: s for s in json.loads(text)["data"]}
                assert sites["site-rtr-a"]["silenced"] is True
                assert sites["site-rtr-b"]["silenced"] is False
                _, page = await running.get("/?q=rtr-a")
                assert "pemeliharaan" in page

                async with http.delete(f"{am.url}/api/v2/silence/{silence_id}") as resp:
                    assert resp.status == 200, await resp.text()

                async def off() -> bool:
                    return await silenced(running) == {}

                await async_wait_for(off, 10, "the expired silence no longer counts")


async def test_an_unreachable_alertmanager_is_counted_not_fatal(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    nowhere = f"http://127.0.0.1:{free_tcp_port()}"  # nothing listens there
    async with start(configured(tmp_path, snmpsim.port, nowhere)) as running:

        async def counted() -> bool:
            _, text = await running.get("/metrics")
            return sum(values(text, "netmon_alertmanager_silence_reads_total", result="error")) >= 2

        await async_wait_for(counted, 10, "failed reads counted")
        assert await silenced(running) == {}
        assert "cannot read alertmanager silences" in running.logs.getvalue()


async def test_a_declared_power_cut_shows_when_it_begins_without_any_state_change(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    """The site series are re-rendered when a cut begins or ends, not only when some
    site changes state (every site here stays up throughout)."""
    config = write_config(tmp_path, snmpsim.port, {"rtr-a": ("routeros", ["system"])})
    begins = time.time() + 5
    site_file = tmp_path / "sites" / "test.yaml"
    sites = yaml.safe_load(site_file.read_text())
    sites["power_cuts"] = [
        {
            "start": datetime.fromtimestamp(begins, UTC).isoformat(),
            "end": datetime.fromtimestamp(begins + 3600, UTC).isoformat(),
        }
    ]
    site_file.write_text(yaml.safe_dump(sites))
    async with start(config) as running:

        async def declared() -> list[float]:
            _, text = await running.get("/metrics")
            return values(text, "netmon_site_power_cut_declared", site="site-rtr-a")

        assert await declared() == [0.0]

        async def begun() -> bool:
            return await declared() == [1.0]

        await async_wait_for(begun, 15, "the cut shown once it began")
        assert time.time() >= begins
