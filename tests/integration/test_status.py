"""Site state on real polls: a POP cut becomes one outage; states survive a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon.tools.simulate import SnmpSim
from tests.faults import proxy
from tests.harness import Running, start
from tests.helpers import async_wait_for, values

pytestmark = pytest.mark.integration

VILLAGES = ["desa-1", "desa-2", "desa-3"]


def write(root: Path, direct: int, behind_cut: int) -> Path:
    """NOC on snmpsim directly; the POP and its villages through a switchable cut."""
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "secret").write_text("routeros\n")

    def dev(did: str, port: int) -> dict[str, Any]:
        return {
            "id": did,
            "address": "127.0.0.1",
            "port": port,
            "profiles": ["system"],
            "snmp": {"community": {"file": "secret"}},
        }

    sites = [
        {"id": "noc", "name": "NOC", "kind": "noc", "devices": [dev("rtr-noc", direct)]},
        {
            "id": "pop",
            "name": "POP Tanjung Redeb",
            "kind": "pop",
            "uplinks": ["noc"],
            "devices": [dev("rtr-pop", behind_cut)],
        },
        *(
            {
                "id": v,
                "name": f"Kantor Desa {v}",
                "kind": "village_office",
                "uplinks": ["pop"],
                "devices": [dev(f"rtr-{v}", behind_cut)],
            }
            for v in VILLAGES
        ),
    ]
    main = {
        "defaults": {
            "interval": "1s",
            "deadline": "1s",
            "snmp": {"timeout": "300ms", "retries": 0},
        },
        "status": {"hold": 0, "interval": "200ms", "state_file": "state/sites.json"},
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    (root / "sites/berau.yaml").write_text(yaml.safe_dump({"kabupaten": "Berau", "sites": sites}))
    return root / "netmon.yaml"


async def statuses(running: Running) -> dict[str, str]:
    _, body = await running.get("/api/v1/sites")
    return {s["site"]: s["status"] for s in json.loads(body)["data"]}


async def test_a_pop_cut_is_one_outage_and_states_survive_a_restart(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    cut = {"on": False}
    _, port = await proxy(snmpsim.port, lambda _n: "drop" if cut["on"] else "send")
    config = write(tmp_path, snmpsim.port, port)
    async with start(config) as running:

        async def all_up() -> bool:
            return set((await statuses(running)).values()) == {"up"}

        await async_wait_for(all_up, 15, "every site up")
        cut["on"] = True
        started = time.monotonic()

        async def outage() -> bool:
            got = await statuses(running)
            return got["pop"] == "down" and all(got[v] == "unreachable" for v in VILLAGES)

        await async_wait_for(outage, 15, "the POP down, its villages unreachable")
        detection = time.monotonic() - started
        assert detection < 1 + 0.3 + 1.5  # interval + timeout + evaluation and margin
        _, body = await running.get("/api/v1/outages")
        outages = json.loads(body)["data"]
        assert [(o["root"], o["sites_affected"]) for o in outages] == [("pop", 4)]
        _, body = await running.get("/api/v1/sites?status=UNREACHABLE")  # as the page does
        assert sorted(s["site"] for s in json.loads(body)["data"]) == sorted(VILLAGES)
        code, body = await running.get("/api/v1/sites?status=kaput")
        assert code == 400, body
        assert "one of up, degraded, down, unreachable, unknown" in body
        _, text = await running.get("/metrics")
        assert values(text, "netmon_outage_sites", root="pop") == [4.0]
        assert values(text, "netmon_site_root", site="desa-2", root="pop") == [1.0]
        assert values(text, "netmon_site_status", site="noc", status="up") == [1.0]
        assert values(
            text, "netmon_site_status_cause", site="desa-2", cause="uplink", upstream="pop"
        ) == [1.0]
        since = values(text, "netmon_site_status_since_timestamp_seconds", site="pop")[0]
        logs = running.logs.getvalue()
        assert '"event": "site status"' in logs
    # netmon restarts during the outage: the saved states stand before any poll
    async with start(config) as again:
        got = await statuses(again)
        assert got["pop"] == "down"
        assert got["desa-1"] == "unreachable"
        _, text = await again.get("/metrics")
        assert values(text, "netmon_site_status_since_timestamp_seconds", site="pop") == [since]
        cut["on"] = False

        async def recovered() -> bool:
            return set((await statuses(again)).values()) == {"up"}

        await async_wait_for(recovered, 15, "everything back up after the repair")
