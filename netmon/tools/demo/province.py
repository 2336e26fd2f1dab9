"""The demo's province: a generated inventory over five kabupaten of East Kalimantan.

The provincial NOC in Samarinda (its core, a server, and the aggregation router where
the POPs' fibres end, one SFP+ port each); per kabupaten a POP (OLT and router) on a
fibre from the NOC; below it villages in groups of four: a village office (kantor desa) on
a radio, VSAT or fibre link from the POP, sharing its connection on to a Puskesmas, a
school and a public area. Every device points at the one snmpsim with a recording's
name as community. One CPE is given a community nobody serves, so the demo also shows
what a dead device looks like. A few public CCTV points hang under villages, and some
village offices have an NVR: their cameras are watched by service checks
(netmon/tools/demo/cctv_sites.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from netmon.config import power_cuts
from netmon.config.power_cuts import PowerCutConfig
from netmon.config.site_models import SiteFile
from netmon.tools.demo import cctv_sites
from netmon.tools.demo import contracts as demo_contracts
from netmon.tools.demo.recordings import FIBRE_AGG

KABUPATEN = [
    ("Kutai Timur", "kutai-timur", 0.51, 117.55, ["Sangatta Utara", "Bengalon", "Muara Wahau"]),
    ("Berau", "berau", 2.15, 117.49, ["Tanjung Redeb", "Talisayan", "Kelay"]),
    ("Kutai Barat", "kutai-barat", -0.23, 115.70, ["Barong Tongkok", "Melak", "Long Iram"]),
    (
        "Kutai Kartanegara",
        "kutai-kartanegara",
        -0.41,
        116.99,
        ["Tenggarong", "Loa Kulu", "Muara Badak"],
    ),
    ("Paser", "paser", -1.90, 116.20, ["Tanah Grogot", "Long Kali", "Batu Sopang"]),
]
NOC, AGG = "noc-samarinda", "agg-samarinda"
VILLAGE_KINDS = ["village_office", "puskesmas", "school", "public_area"]
KIND_NAMES = {
    "village_office": "Kantor Desa",
    "puskesmas": "Puskesmas",
    "school": "SD Negeri",
    "public_area": "Area Publik",
}


def _device(dev_id: str, community: str, profiles: list[str], port: int) -> dict[str, Any]:
    return {
        "id": dev_id,
        "address": "127.0.0.1",
        "port": port,
        "profiles": profiles,
        "snmp": {"community": {"file": f"secrets/{community}"}},
    }


def fibre_port(k: int) -> str:
    """The NOC aggregation router's port of the fibre to kabupaten ``k``'s POP."""
    return f"sfp-sfpplus{k + 1}"


def fibre_link(slug: str) -> str:
    """The id of the fibre from the NOC to a kabupaten's POP."""
    return f"fo-samarinda-{slug}"


def fibres() -> list[tuple[str, str]]:
    """(port of the aggregation router, link id) of every POP's fibre from the NOC."""
    return [(fibre_port(k), fibre_link(kab[1])) for k, kab in enumerate(KABUPATEN)]


def province(
    sites: int,
    port: int,
    ports: dict[str, int] | None = None,
    communities: dict[str, str] | None = None,
    probed: set[str] | None = None,
    power_cut_at: float | None = None,
    endpoints: Mapping[tuple[str, str], int] | None = None,
    file_server: int | None = None,
) -> dict[str, dict[str, Any]]:
    """kabupaten slug -> site file content, ``sites`` sites in all (the CCTV points
    among them).

    ``ports``: site (or device) -> the port its devices answer on instead (a relay the
    demo's script cuts or rewires); ``communities``: device -> the recording it gets;
    ``probed``: sites whose first device also gets an ICMP probe (loopback answers
    every echo, so only sites the script leaves alone); ``power_cut_at``: when PLN's
    announced cut in Paser's first kecamatan began (it lasts 8 hours; the sites ride
    through on batteries and gensets, and the SLA leaves the hours out);
    ``endpoints``: (device, server) -> the port of a camera's or NVR's server
    (netmon.tools.demo.cctv), 0 until they are bound; ``file_server``: the port of the
    test-file server (netmon.tools.demo.speedtest): the contracted village offices the
    script leaves alone get a file server device with a throughput check on it."""
    files: dict[str, dict[str, Any]] = {
        "provinsi": {
            "kabupaten": "Samarinda",
            "sites": [
                {
                    "id": NOC,
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
                        _device(AGG, FIBRE_AGG, ["system", "if_mib", "mikrotik"], port),
                    ],
                }
            ],
            "links": [],
        }
    }
    # the NOC, one POP per kabupaten and the CCTV points, the rest villages spread
    # evenly: exactly `sites`
    villages = max(0, sites - 1 - len(KABUPATEN) - len(cctv_sites.CCTV))
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
                "uplinks": [NOC],
                "devices": [
                    _device(f"olt-{slug}", "smartax", ["system", "huawei_olt"], port),
                    _device(f"rtr-{slug}", "routeros", ["system", "if_mib", "mikrotik"], port),
                ],
            }
        ]
        links = [
            {
                "id": fibre_link(slug),
                "kind": "fiber",
                "a": f"{NOC}/{AGG}:{fibre_port(k)}",
                "b": f"{pop}/rtr-{slug}:sfp1",
            }
        ]
        for i in range(count):
            site, link = _village(slug, pop, lat, lon, kecamatan, i, port)
            site_list.append(site)
            links.extend(link)
            if k == 0 and i == 1:
                # a device whose agent never answers: shows a down target in the demo
                site["devices"].append(
                    _device(f"cpe-{slug}-{i + 1:03d}", "no-such-agent", ["system"], port)
                )
        cctv_sites.add_nvr(k, slug, site_list[1:])
        for point in cctv_sites.cctv_sites(k, slug, site_list[1:]):
            parent = next(s for s in site_list if s["id"] == point["uplinks"][0])
            site_list.append(point)
            links.append(cctv_sites.cctv_link(point, parent))
        files[slug] = {"kabupaten": name, "sites": site_list, "links": links}
        if slug == "paser" and power_cut_at is not None:
            files[slug]["power_cuts"] = [
                {
                    "start": _iso(power_cut_at),
                    "end": _iso(power_cut_at + 8 * 3600),
                    "kecamatan": [kecamatan[0]],
                    "note": "PLN: pemeliharaan jaringan (pemadaman terjadwal)",
                }
            ]
    for content in files.values():
        for site in content["sites"]:
            for device in site["devices"]:
                if "service" in device:
                    cctv_sites.fill_ports(device, endpoints or {})
                if "snmp" not in device:
                    continue
                device["port"] = (ports or {}).get(
                    device["id"], (ports or {}).get(site["id"], port)
                )
                community = (communities or {}).get(device["id"])
                if community:
                    device["snmp"]["community"]["file"] = f"secrets/{community}"
            if site["id"] in (probed or set()):
                site["devices"][0]["icmp"] = True
    if file_server is not None:
        paced = dict(demo_contracts.paced_offices(files))
        for content in files.values():
            for site in content["sites"]:
                if site["id"] in paced:
                    device = demo_contracts.file_server_device(
                        site["id"], file_server, paced[site["id"]]
                    )
                    site["devices"].append(device)
    return files


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _village(
    slug: str, pop: str, lat: float, lon: float, kecamatan: list[str], i: int, port: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Site ``i`` of a kabupaten: groups of four, a village office (kantor desa) on a
    link from the POP (every other one a radio link) sharing its connection on to
    a Puskesmas, a school and a public area over cables from its router, which
    therefore sit behind it."""
    sid = f"desa-{slug}-{i + 1:03d}"
    kind = VILLAGE_KINDS[i % len(VILLAGE_KINDS)]
    office = f"desa-{slug}-{i - i % 4 + 1:03d}"
    where = kecamatan[(i // 4) % len(kecamatan)]
    devices = [
        _device(f"rtr-{slug}-{i + 1:03d}", "routeros", ["system", "if_mib", "mikrotik"], port)
    ]
    links: list[dict[str, Any]] = []
    if kind == "village_office" and (i // 4) % 2 == 0:
        radio = f"radio-{slug}-{i + 1:03d}"
        devices.append(_device(radio, "airos_airos8", ["system", "if_mib", "airos"], port))
        links.append(
            {
                "id": radio,
                "kind": "radio",
                "a": f"{pop}/rtr-{slug}:wlan1",
                "b": f"{sid}/{radio}:ath0",
            }
        )
    elif kind == "village_office":
        link_kind = "vsat" if (i // 4) % 4 == 1 else "fiber"
        links.append(
            {
                "id": f"{link_kind}-{slug}-{i + 1:03d}",
                "kind": link_kind,
                "a": f"{pop}/rtr-{slug}:ether{2 + i // 4}",
                "b": f"{sid}/rtr-{slug}-{i + 1:03d}:ether1",
            }
        )
    else:  # a cable from a port of the office's router to this site's WAN port
        links.append(
            {
                "id": f"lan-{slug}-{i + 1:03d}",
                "kind": "copper",
                "a": f"{office}/rtr-{slug}-{i - i % 4 + 1:03d}:ether{1 + i % 4}",
                "b": f"{sid}/rtr-{slug}-{i + 1:03d}:WAN",
            }
        )
    site = {
        "id": sid,
        "name": f"{KIND_NAMES[kind]} {where} {i // 4 + 1}",
        "kind": kind,
        "kecamatan": where,
        "location": {
            "lat": round(lat + 0.02 * ((i // 4) % 6) + 0.003 * (i % 4), 4),
            "lon": round(lon + 0.02 * (i // 24) + 0.003 * (i % 4), 4),
        },
        "uplinks": [pop if kind == "village_office" else office],
        "devices": devices,
    }
    return site, links


POWER_SUBSCRIPTIONS: list[dict[str, Any]] = [
    {
        "name": "power",
        "topic": "desa/{kabupaten}/{site}/power/{sensor}",
        "device": "{site}-{sensor}",
        "sequence": "seq",
        "timestamp": "ts",
        "ttl": "2m",
        "metrics": [
            {
                "field": "battery.voltage",
                "name": "netmon_power_battery_voltage_volts",
                "help": "Battery voltage at the site's charge controller.",
            },
            {
                "field": "battery.soc",
                "name": "netmon_power_battery_ratio",
                "scale": 0.01,
                "help": "Battery state of charge, 0..1.",
            },
            {
                "field": "solar.power",
                "name": "netmon_power_solar_watts",
                "help": "Power from the solar panels.",
            },
            {
                "field": "load.power",
                "name": "netmon_power_load_watts",
                "help": "Power drawn by the site's equipment.",
            },
            {
                "field": "grid",
                "name": "netmon_power_on_grid",
                "help": "1 while the site has grid (PLN) power.",
            },
            {
                "field": "energy_wh",
                "name": "netmon_power_solar_energy_joules_total",
                "type": "counter",
                "scale": 3600,
                "help": "Solar energy harvested (device counter).",
            },
        ],
    },
    {
        "name": "status",
        "topic": "desa/{kabupaten}/{site}/status",
        "format": "status",
        "device": "agent-{site}",
    },
]


def write_config(
    root: Path,
    content: dict[str, dict[str, Any]],
    interval: float,
    listen: str,
    mqtt_port: int | None = None,
    mqtt_protocol: str = "5",
    alertmanager: str | None = None,
) -> Path:
    """netmon.yaml, sites/*.yaml and the community files (one per recording in use)."""
    (root / "sites").mkdir(parents=True)
    (root / "secrets").mkdir()
    for data in content.values():
        for site in data["sites"]:
            for device in site["devices"]:
                if "snmp" not in device:
                    continue  # a camera or an NVR: service checks only
                path = root / device["snmp"]["community"]["file"]
                path.write_text(path.name + "\n")
    status: dict[str, Any] = {
        "hold": "5s",
        "state_file": "state/sites.json",
        "journal_file": "state/outages.jsonl",
    }
    if alertmanager is not None:
        status["silences"] = {"alertmanager": alertmanager, "interval": "10s"}
    main: dict[str, Any] = {
        "listen": listen,
        "inventory": ["sites/*.yaml"],
        "defaults": {
            "interval": f"{interval}s",
            "deadline": f"{max(interval - 1, 1)}s",
            "snmp": {"version": "2c", "timeout": "2s", "retries": 1},
            # the simulated agents (snmpsim) pick a recording by community or SNMPv3
            # context name, and gufo-snmp sends no context name: the demo's intranet polls
            # its recordings with v2c, by the explicit override the closed intranet needs
            # (logged at every load, netmon_snmp_insecure_override 1 on those devices)
            "by_network": {"intranet": {"snmp": {"insecure_on_intranet": True}}},
        },
        "http": {"reload_enabled": True},
        "status": status,
    }
    if mqtt_port is not None:
        main["mqtt"] = {
            "url": f"mqtt://127.0.0.1:{mqtt_port}",
            "protocol": mqtt_protocol,
            "client_id": "netmon-demo",
            "subscriptions": POWER_SUBSCRIPTIONS,
        }
    main["contracts"] = ["contracts/*.yaml"]
    (root / "netmon.yaml").write_text(yaml.safe_dump(main, sort_keys=False))
    for slug, data in content.items():
        (root / "sites" / f"{slug}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (root / "contracts").mkdir()
    text = yaml.safe_dump(demo_contracts.contract_file(content), sort_keys=False)
    (root / "contracts" / "demo.yaml").write_text(text)
    return root / "netmon.yaml"


def in_declared_cut(content: dict[str, dict[str, Any]]) -> list[str]:
    """The village-level sites a declared power cut covers, by the loader's own rule."""
    covered: set[str] = set()
    for data in content.values():
        cuts = [PowerCutConfig.model_validate(c) for c in data.get("power_cuts", [])]
        zone = data.get("timezone", SiteFile.model_fields["timezone"].default)
        kecamatan_of = {s["id"]: s.get("kecamatan") or "" for s in data["sites"]}
        windows, _ = power_cuts.resolve(cuts, zone, kecamatan_of)
        covered.update(sid for sid, declared in windows.items() if declared)
    return [sid for sid, _ in villages(content) if sid in covered]


def villages(content: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(site, kabupaten slug) of every village-level site: the ones with solar power."""
    return [
        (site["id"], slug)
        for slug, data in content.items()
        for site in data["sites"]
        if site["kind"] not in ("pop", "noc")
    ]
