"""`netmon demo`: a simulated province monitored end to end, no set-up needed.

snmpsim serves the five real recordings; a generated inventory spreads a
few dozen sites over three kabupaten (NOC, POPs with OLT and core switch,
villages with MikroTik routers and airOS radios, servers), all pointing at
that one agent with the recording's name as community. One device is given a
community nobody serves, so the demo also shows what a dead device looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import yaml

from netmon.simulate import free_udp_port, relay, start_snmpsim

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


def province(
    sites: int, port: int, ports: dict[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """kabupaten slug -> site file content, ``sites`` sites in all.

    ``ports``: site -> the port its devices answer on instead (a relay the demo
    can cut when the site loses its power)."""
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
            here = (ports or {}).get(sid, port)
            devices = [
                _device(
                    f"rtr-{slug}-{i + 1:03d}", "routeros", ["system", "if_mib", "mikrotik"], here
                )
            ]
            if radio:
                devices.append(
                    _device(
                        f"radio-{slug}-{i + 1:03d}",
                        "airos_airos8",
                        ["system", "if_mib", "airos"],
                        here,
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
    sites: int,
    port: int,
    interval: float,
    listen: str,
    mqtt_port: int | None = None,
    ports: dict[str, int] | None = None,
) -> Path:
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
        "status": {"hold": "5s", "state_file": "state/sites.json"},
    }
    if mqtt_port is not None:
        main["mqtt"] = {
            "url": f"mqtt://127.0.0.1:{mqtt_port}",
            "client_id": "netmon-demo",
            "subscriptions": POWER_SUBSCRIPTIONS,
        }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main, sort_keys=False))
    for slug, content in province(sites, port, ports).items():
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
  curl -s {base}/metrics | grep netmon_power_battery_ratio
  (one CPE never answers on purpose: look for state "down"; after 20 s a village
   loses its power, its battery runs flat and its agent's Last Will takes it down)
Ctrl-C stops everything this demo started.
"""


def villages(content: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(site, kabupaten slug) of every village-level site: the ones with solar power."""
    return [
        (site["id"], slug)
        for slug, data in content.items()
        for site in data["sites"]
        if site["kind"] not in ("pop", "noc")
    ]


def run_demo(
    sites: int, duration: float | None, listen: str, interval: float, speed: float = 120.0
) -> int:
    from collectors.mqtt.broker import Mosquitto, start_mosquitto
    from collectors.mqtt.simulator import TelemetrySimulator
    from netmon.cli import serve

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="netmon-demo-")))
        sim = stack.enter_context(start_snmpsim())
        broker: Mosquitto | None = None
        if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
            broker = stack.enter_context(start_mosquitto(tmp / "mosquitto"))
        else:
            print("mosquitto is not installed: the demo runs without MQTT power telemetry")
        all_villages = villages(province(sites, sim.port))
        victim = all_villages[min(2, len(all_villages) - 1)][0]
        victim_port = free_udp_port()  # the victim's devices answer through a relay
        dark = {"on": False}
        config = write_config(
            tmp,
            sites,
            sim.port,
            interval,
            listen,
            broker.port if broker else None,
            {victim: victim_port},
        )

        async def victim_relay() -> None:
            await relay(sim.port, lambda _n: "drop" if dark["on"] else "send", port=victim_port)
            await asyncio.Event().wait()  # serve until the demo stops

        def flat(site: str) -> None:
            if site == victim and not dark["on"]:
                dark["on"] = True  # no power: its router and radio go dark with the agent
                print(f"incident: {victim}'s battery is flat; the site is dark", flush=True)

        background: list[Callable[[], Coroutine[Any, Any, None]]] = [victim_relay]
        if broker is not None:
            telemetry = TelemetrySimulator(
                "127.0.0.1", broker.port, all_villages, interval=5.0, speed=speed, on_dead=flat
            )

            async def incidents() -> None:
                await asyncio.sleep(20)  # the script's clock: 20 s into the demo
                telemetry.cut_power(victim)
                print(f"incident: {victim} lost its grid power; its battery drains", flush=True)

            background += [telemetry.run, incidents]
        print(TOUR.format(base=f"http://{listen}", config=config), flush=True)
        return asyncio.run(serve(str(config), listen, duration, background))
