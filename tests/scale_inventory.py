"""A generated province for scale runs: N village routers, some of them dead.

Used by the scale harness (bench/scale) and its scaled-down test. Every site is a
village office with one MikroTik router (profiles system, if_mib, mikrotik) on
127.0.0.1 at the port tests/replay_agent.py bound for it. Sites are spread over
``kabupaten`` site files (one per kabupaten, as an admin keeps them), with the dead
devices spread evenly among them, so every shard of a sharded config has some.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROFILES = ["system", "if_mib", "mikrotik"]


@dataclass(frozen=True, slots=True)
class SimDevice:
    id: str
    site: str
    kabupaten: str
    port: int
    dead: bool


@dataclass(frozen=True, slots=True)
class Province:
    config: Path
    devices: tuple[SimDevice, ...]

    @property
    def live(self) -> list[SimDevice]:
        return [d for d in self.devices if not d.dead]

    @property
    def dead(self) -> list[SimDevice]:
        return [d for d in self.devices if d.dead]

    def in_kabupaten(self, names: Sequence[str]) -> set[str]:
        return {d.id for d in self.devices if d.kabupaten in names}


@dataclass(frozen=True, slots=True)
class Settings:
    """How netmon polls the province (the parts a scale run varies)."""

    interval: float = 60.0
    timeout: float = 2.0
    retries: int = 1
    kabupaten: int = 10
    #: None: netmon's own default (or its sizing from the inventory)
    max_concurrency: int | None = None
    max_repetitions: int | None = None
    #: split the kabupaten into this many shards (0: no shards section)
    shards: int = 0


def is_dead(i: int, share: float) -> bool:
    """Device ``i`` of a run is dead: ``share`` of every stretch of devices, evenly."""
    return int((i + 1) * share) > int(i * share)


def assign(live: Sequence[int], dead: Sequence[int], kabupaten: int) -> list[SimDevice]:
    """Devices in inventory order, each on a port of the agent; the dead ones spread
    evenly (device i is dead when :func:`is_dead` says so for the dead share)."""
    total = len(live) + len(dead)
    share = len(dead) / total if total else 0.0
    live_ports, dead_ports = iter(live), iter(dead)
    out = []
    for i in range(total):
        gone = is_dead(i, share)
        port = next(dead_ports) if gone else next(live_ports)
        k = i % kabupaten
        out.append(SimDevice(f"rtr-desa-{i:05d}", f"desa-{i:05d}", f"Kab {k:02d}", port, gone))
    return out


def _seconds(value: float) -> str:
    return f"{int(value * 1000)}ms"


def write_province(
    root: Path,
    live: Sequence[int],
    dead: Sequence[int],
    community: str,
    settings: Settings,
) -> Province:
    """netmon.yaml, sites/kab-NN.yaml and the community's secret file under ``root``."""
    kab = max(1, settings.kabupaten)
    devices = assign(live, dead, kab)
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "secrets").mkdir(exist_ok=True)
    secret = root / "secrets" / "community"
    secret.write_text(community + "\n")
    secret.chmod(0o600)
    files: dict[str, list[dict[str, Any]]] = {}
    for d in devices:
        files.setdefault(d.kabupaten, []).append(
            {
                "id": d.site,
                "name": f"Kantor Desa {d.site[5:]}",
                "kind": "village_office",
                "devices": [
                    {"id": d.id, "address": "127.0.0.1", "port": d.port, "profiles": PROFILES}
                ],
            }
        )
    for name, sites in (files or {"Kab 00": []}).items():
        path = root / "sites" / f"kab-{name.split()[-1]}.yaml"
        path.write_text(yaml.safe_dump({"kabupaten": name, "sites": sites}, sort_keys=False))
    snmp: dict[str, Any] = {
        "version": "2c",
        "community": {"file": "secrets/community"},
        "timeout": _seconds(settings.timeout),
        "retries": settings.retries,
    }
    if settings.max_repetitions is not None:
        snmp["max_repetitions"] = settings.max_repetitions
    interval = _seconds(settings.interval)
    main: dict[str, Any] = {
        "listen": "127.0.0.1:9800",
        "inventory": ["sites/*.yaml"],
        "defaults": {"interval": interval, "deadline": interval, "snmp": snmp},
        "http": {"reload_enabled": False},
    }
    if settings.max_concurrency is not None:
        main["scheduler"] = {"max_concurrency": settings.max_concurrency}
    if settings.shards:
        names = sorted(files)
        main["shards"] = [
            {"name": f"shard-{s}", "kabupaten": names[s :: settings.shards]}
            for s in range(settings.shards)
        ]
    (root / "netmon.yaml").write_text(yaml.safe_dump(main, sort_keys=False))
    return Province(root / "netmon.yaml", tuple(devices))
