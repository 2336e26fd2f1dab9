"""`netmon demo`: a simulated province monitored end to end, no set-up needed.

snmpsim serves the five real recordings; a generated inventory spreads a
few dozen sites over three kabupaten (NOC, POPs with OLT and core switch,
villages with MikroTik routers and airOS radios, servers), all pointing at
that one agent with the recording's name as community. One device is given a
community nobody serves, so the demo also shows what a dead device looks like.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import yaml

from netmon.simulate import start_snmpsim

KABUPATEN = [
    ("Kutai Timur", "kutai-timur", 0.51, 117.55, ["Sangatta Utara", "Bengalon", "Muara Wahau"]),
    ("Berau", "berau", 2.15, 117.49, ["Tanjung Redeb", "Talisayan", "Kelay"]),
    ("Kutai Barat", "kutai-barat", -0.23, 115.70, ["Barong Tongkok", "Melak", "Long Iram"]),
]
VILLAGE_KINDS = ["village_office", "puskesmas", "school", "public_area"]


def _device(dev_id: str, community: str, profiles: list[str], port: int) -> dict[str, Any]:
    return {
        "id": dev_id,
        "address": "127.0.0.1",
        "port": port,
        "profiles": profiles,
        "snmp": {"community": {"file": f"secrets/{community}"}},
    }


def province(sites: int, port: int) -> dict[str, dict[str, Any]]:
    """kabupaten slug -> site file content, about ``sites`` sites in all."""
    files: dict[str, dict[str, Any]] = {
        "provinsi": {
            "kabupaten": "Samarinda",
            "sites": [
                {
                    "id": "noc-samarinda",
                    "name": "NOC Diskominfo Provinsi",
                    "kind": "noc",
                    "network": "intranet",
                    "kecamatan": "Samarinda Ulu",
                    "location": {"lat": -0.49, "lon": 117.15},
                    "devices": [
                        _device(
                            "core-samarinda", "vrp_ce12804-withvrf", ["system", "if_mib"], port
                        ),
                        _device("srv-samarinda", "linux", ["system", "host_resources"], port),
                    ],
                }
            ],
            "links": [],
        }
    }
    # the NOC and one POP per kabupaten, the rest villages spread evenly: exactly `sites`
    villages = max(0, sites - 1 - len(KABUPATEN))
    share, extra = divmod(villages, len(KABUPATEN))
    for k, (name, slug, lat, lon, kecamatan) in enumerate(KABUPATEN):
        count = share + (1 if k < extra else 0)
        pop = f"pop-{slug}"
        site_list: list[dict[str, Any]] = [
            {
                "id": pop,
                "name": f"POP {name}",
                "kind": "pop",
                "network": "intranet",
                "kecamatan": kecamatan[0],
                "location": {"lat": lat, "lon": lon},
                "uplinks": ["noc-samarinda"],
                "devices": [
                    _device(f"olt-{slug}", "smartax", ["system", "huawei_olt"], port),
                    _device(f"rtr-{slug}", "routeros", ["system", "if_mib", "mikrotik"], port),
                ],
            }
        ]
        links = [
            {
                "id": f"fo-samarinda-{slug}",
                "kind": "fiber",
                "a": "noc-samarinda/core-samarinda:100GE1/0/1",
                "b": f"{pop}/rtr-{slug}:sfp1",
            }
        ]
        for i in range(count):
            sid = f"desa-{slug}-{i + 1:03d}"
            kind = VILLAGE_KINDS[i % len(VILLAGE_KINDS)]
            radio = i % 3 == 0
            devices = [
                _device(
                    f"rtr-{slug}-{i + 1:03d}", "routeros", ["system", "if_mib", "mikrotik"], port
                )
            ]
            if radio:
                devices.append(
                    _device(
                        f"radio-{slug}-{i + 1:03d}",
                        "airos_airos8",
                        ["system", "if_mib", "airos"],
                        port,
                    )
                )
                links.append(
                    {
                        "id": f"radio-{slug}-{i + 1:03d}",
                        "kind": "radio",
                        "a": f"{pop}/rtr-{slug}:wlan1",
                        "b": f"{sid}/radio-{slug}-{i + 1:03d}:ath0",
                    }
                )
            if k == 0 and i == 1:
                # a device whose agent never answers: shows a down target in the demo
                devices.append(
                    _device(f"cpe-{slug}-{i + 1:03d}", "no-such-agent", ["system"], port)
                )
            site_list.append(
                {
                    "id": sid,
                    "name": f"{kind.replace('_', ' ').title()} {kecamatan[i % 3]} {i + 1}",
                    "kind": kind,
                    "kecamatan": kecamatan[i % 3],
                    "location": {
                        "lat": round(lat + 0.01 * (i % 9), 4),
                        "lon": round(lon + 0.01 * (i // 9), 4),
                    },
                    "uplinks": [pop],
                    "devices": devices,
                }
            )
        files[slug] = {"kabupaten": name, "sites": site_list, "links": links}
    return files


def write_config(root: Path, sites: int, port: int, interval: float, listen: str) -> Path:
    (root / "sites").mkdir(parents=True)
    (root / "secrets").mkdir()
    for community in (
        "routeros",
        "airos_airos8",
        "vrp_ce12804-withvrf",
        "smartax",
        "linux",
        "no-such-agent",
    ):
        (root / "secrets" / community).write_text(community + "\n")
    main = {
        "listen": listen,
        "inventory": ["sites/*.yaml"],
        "defaults": {
            "interval": f"{interval}s",
            "deadline": f"{max(interval - 1, 1)}s",
            "snmp": {"version": "2c", "timeout": "1s", "retries": 1},
        },
        "http": {"reload_enabled": True},
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main, sort_keys=False))
    for slug, content in province(sites, port).items():
        (root / "sites" / f"{slug}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    return root / "netmon.yaml"


TOUR = """
netmon demo: a simulated province is being monitored.
  metrics        {base}/metrics
  targets (JSON) {base}/api/v1/targets
  health         {base}/-/healthy
  config         {config}   (edit, then: curl -X POST {base}/-/reload)
Try:
  curl -s {base}/metrics | grep netmon_optical_rx_power_dbm
  curl -s {base}/api/v1/targets | python3 -m json.tool | less
  (one CPE never answers on purpose: look for state "down")
Ctrl-C stops everything this demo started.
"""


def run_demo(sites: int, duration: float | None, listen: str, interval: float) -> int:
    from netmon.cli import serve

    with tempfile.TemporaryDirectory(prefix="netmon-demo-") as tmp, start_snmpsim() as sim:
        config = write_config(Path(tmp), sites, sim.port, interval, listen)
        print(TOUR.format(base=f"http://{listen}", config=config), flush=True)
        return asyncio.run(serve(str(config), listen, duration))
