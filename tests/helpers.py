"""Test helpers: read .snmprec recordings, wait on conditions, run the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from collectors.snmp import SnmpParams
from collectors.snmp.engine import RawPoll, TableWalk, Varbinds
from collectors.snmp.plan import Value
from collectors.snmp.profile import Profile
from netmon.inventory import Device, Site
from netmon.tools.simulate import recordings_dir

ROOT = Path(__file__).resolve().parent.parent
INT_TYPES = {"2", "65", "66", "67", "70"}


def read_snmprec(name: str) -> dict[str, Value]:
    """OID -> value as gufo-snmp would return it (ints, bytes, OIDs as text)."""
    out: dict[str, Value] = {}
    for line in (recordings_dir() / f"{name}.snmprec").read_text().splitlines():
        oid, kind, value = line.split("|", 2)
        if kind in INT_TYPES:
            out[oid] = int(value)
        elif kind == "4x":
            out[oid] = bytes.fromhex(value)
        elif kind == "6":
            out[oid] = value
        else:
            out[oid] = value.encode()
    return out


def raw_poll(recording: dict[str, Value], profiles: list[Profile]) -> RawPoll:
    """What the walker would fetch from an agent serving this recording."""
    raw = RawPoll({}, {})
    for profile in profiles:
        for spec in profile.scalars.values():
            if spec.first:
                got = next(
                    (v for o, v in recording.items() if o.startswith(spec.oid + ".") and v),
                    None,
                )
                if got is not None:
                    raw.scalars[spec.oid] = got
            elif spec.oid in recording:
                raw.scalars[spec.oid] = recording[spec.oid]
        for table in profile.tables:
            raw.tables[f"{profile.name}.{table.name}"] = {
                root: [(o, v) for o, v in recording.items() if o.startswith(root + ".")]
                for root in table.walk
            }
    return raw


def walk_of(varbinds: Varbinds) -> TableWalk:
    """Group hand-written IF-MIB varbinds by the subtree they were walked from."""
    roots = ("1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1")
    return {r: [(o, v) for o, v in varbinds if o.startswith(r + ".")] for r in roots}


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """`promtool check metrics` on exposition text (lint and parse)."""
    return subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll a condition until true or the deadline; never a bare sleep as synchronisation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


async def async_wait_for(
    predicate: Callable[[], Awaitable[bool]], within: float = 10.0, what: str = ""
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {within}s waiting for {what or predicate}")


def parse_exposition(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Sample lines -> {(name, labels): value}, with the prometheus_client parser."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def values(text: str, name: str, **labels: str) -> list[float]:
    """Values of the series called ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return [v for (n, ls), v in parse_exposition(text).items() if n == name and want <= ls]


def write_config(
    root: Path,
    port: int,
    devices: dict[str, tuple[str, list[str]]],
    *,
    interval: str = "1s",
    reload_enabled: bool = True,
) -> Path:
    """A netmon.yaml + one site file: device id -> (community, profiles), all on snmpsim.

    Each device gets its own site (site id = "site-" + device id). Communities
    are read from files, as an admin would keep them.
    """
    import yaml

    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "secrets").mkdir(exist_ok=True)
    sites = []
    for device, (community, profiles) in devices.items():
        (root / "secrets" / device).write_text(community + "\n")
        sites.append(
            {
                "id": f"site-{device}",
                "name": f"Site {device}",
                "kind": "village_office",
                "devices": [
                    {
                        "id": device,
                        "address": "127.0.0.1",
                        "port": port,
                        "profiles": profiles,
                        "snmp": {"community": {"file": f"secrets/{device}"}},
                    }
                ],
            }
        )
    main = {
        "listen": "127.0.0.1:9800",
        "defaults": {
            "interval": interval,
            "deadline": interval,
            "snmp": {"timeout": "500ms", "retries": 1},
        },
        "http": {"reload_enabled": reload_enabled},
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    (root / "sites" / "test.yaml").write_text(
        yaml.safe_dump({"kabupaten": "Kabupaten Uji", "sites": sites})
    )
    return root / "netmon.yaml"


def make_site(sid: str, **changes: Any) -> Site:
    """A village office with plain defaults; a test overrides what it is about."""
    base = Site(
        id=sid,
        name=f"Kantor Desa {sid}",
        kind="village_office",
        kabupaten="Berau",
        kecamatan="Sambaliung",
        network="public",
        timezone="Asia/Makassar",
        lat=None,
        lon=None,
        uplinks=(),
        uplink_kind="",
        maintenance=False,
        contact_name="",
        contact_phone="",
        isp_name="",
        isp_circuit="",
        devices=(f"rtr-{sid}",),
        source="t.yaml",
    )
    if changes.get("uplinks") and "uplink_kind" not in changes:
        changes["uplink_kind"] = "fiber"
    return dataclasses.replace(base, **changes)


def snmp_of(device: Device) -> SnmpParams:
    """The SNMP poll settings the config built for a device (it must have them)."""
    params = device.settings("snmp")
    assert isinstance(params, SnmpParams), f"{device.id} is not polled by SNMP"
    return params


def power_mqtt(port: int, client_id: str) -> dict[str, Any]:
    """An mqtt: section on a test broker with one subscription: each site's solar
    charger's battery voltage on prov/{kabupaten}/{site}/power (shards, replicas)."""
    return {
        "url": f"mqtt://127.0.0.1:{port}",
        "client_id": client_id,
        "reconnect_min": 0.05,
        "subscriptions": [
            {
                "name": "power",
                "topic": "prov/{kabupaten}/{site}/power",
                "device": "{site}-mppt",
                "metrics": [
                    {"field": "v", "name": "netmon_power_battery_voltage_volts", "help": "V."}
                ],
            }
        ],
    }
