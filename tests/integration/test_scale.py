"""The scale harness scaled down: 150 village routers (10% dead) on the replay agent.

Correctness only (the numbers are bench/scale's job): every device is exported, each
live one with exactly the series its recording implies, the dead ones down; a scrape
while every device is being polled answers in time; the plain, gzip and OpenMetrics
answers parse; two shards of the same province poll disjoint sets that add up to it.
The agent and the config writer are the harness's own (tests/replay_agent.py,
tests/scale_inventory.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

from netmon.tools.simulate import recordings_dir, stop_process
from tests.deploy_checks import need
from tests.helpers import ROOT, parse_exposition, promtool_check, wait_for
from tests.replay_agent import Manifest, command, read_manifest
from tests.scale_inventory import Province, Settings, write_province
from tests.snmprec_reader import Recording
from tests.web_daemon import Daemon, netmon_process

pytestmark = pytest.mark.integration

DEVICES, DEAD = 150, 15
COMMUNITY = "scale-test"
#: a storm: 150 devices every 3 s, each poll walking some 20 columns; a dead device's
#: poll (two tries of 1 s) ends before its next one is due
SETTINGS = Settings(interval=3.0, timeout=1.0, retries=1, kabupaten=4)
SCRAPE_BOUND = 5.0
IF, IFX = "1.3.6.1.2.1.2.2.1.", "1.3.6.1.2.1.31.1.1.1."
MT = "1.3.6.1.4.1.14988.1.1."
NO_READING = 4294967168  # -128 sent as Gauge32 (MIKROTIK-MIB "no reading")


def expected_series(rec: Recording) -> Counter[str]:
    """Series per metric name for one router, from its recording and the MIBs: a metric
    has a series per row that has one of its source columns (minus the MIB's sentinels)."""

    def rows(*columns: str, skip: tuple[int, ...] = ()) -> int:
        found = set()
        for column in columns:
            found |= {i for i, v in rec.column(column).items() if v.value not in skip}
        return len(found)

    def scalar(o: str) -> int:
        return int(o in rec)

    stations = {index.rsplit(".", 1)[1] for index in rec.column(MT + "1.2.1.3")}
    optical = {  # rows with a module: a wavelength and a supply voltage reading
        i
        for i, v in rec.column(MT + "19.1.1.5").items()
        if v.value not in (0, NO_READING)
        and rec.get(f"{MT}19.1.1.7.{i}") is not None
        and rec[f"{MT}19.1.1.7.{i}"].value not in (0, NO_READING)
    }
    return Counter(
        {
            "netmon_interface_info": rows(IF + "2"),
            "netmon_interface_receive_bytes_total": rows(IFX + "6", IF + "10"),
            "netmon_interface_transmit_bytes_total": rows(IFX + "10", IF + "16"),
            "netmon_interface_receive_errors_total": rows(IF + "14"),
            "netmon_interface_transmit_errors_total": rows(IF + "20"),
            "netmon_interface_receive_discards_total": rows(IF + "13"),
            "netmon_interface_transmit_discards_total": rows(IF + "19"),
            "netmon_interface_oper_up": rows(IF + "8"),
            "netmon_interface_admin_up": rows(IF + "7"),
            "netmon_interface_speed_bytes": rows(IFX + "15", IF + "5"),
            "netmon_interface_mtu_bytes": rows(IF + "4"),
            "netmon_optical_rx_power_dbm": len(optical),
            "netmon_optical_tx_power_dbm": len(optical),
            "netmon_optical_temperature_celsius": len(optical),
            "netmon_optical_supply_voltage_volts": len(optical),
            "netmon_optical_bias_current_amperes": len(optical),
            "netmon_optical_wavelength_meters": len(optical),
            "netmon_wireless_clients": rows(MT + "1.3.1.6"),
            "netmon_wireless_ccq_ratio": rows(MT + "1.3.1.10"),
            "netmon_wireless_frequency_hertz": rows(MT + "1.3.1.7", skip=(0,)),
            "netmon_wireless_noise_floor_dbm": rows(MT + "1.3.1.9", skip=(0,)),
            "netmon_wireless_info": rows(MT + "1.3.1.4"),
            "netmon_wireless_signal_dbm": 2 * len(stations),  # stat=min and stat=median
            "netmon_wireless_registered_stations": len(stations),
            "netmon_hotspot_active_users": 1,  # a count: 0 when the table is empty
            "netmon_device_uptime_seconds": 1,
            "netmon_device_supply_voltage_volts": scalar(MT + "3.8.0"),
            "netmon_device_temperature_celsius": scalar(MT + "3.10.0"),
            "netmon_device_cpu_temperature_celsius": scalar(MT + "3.11.0"),
            "netmon_dhcp_leases": scalar(MT + "6.1.0"),
            "netmon_device_info": 1,
        }
    )


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manifest]:
    work = tmp_path_factory.mktemp("agent")
    path = work / "manifest.json"
    cmd = command(COMMUNITY, DEVICES - DEAD, DEAD, path, None)
    with (work / "agent.log").open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_for(lambda: read_manifest(path) is not None, 30, "the replay agent's ports")
        manifest = read_manifest(path)
        assert manifest is not None
        yield manifest
    finally:
        stop_process(process)


def province(root: Path, agent: Manifest, shards: int = 0) -> Province:
    settings = dataclasses.replace(SETTINGS, shards=shards)
    return write_province(root, agent.live, agent.dead, COMMUNITY, settings)


def netmon(config: Path, *flags: str) -> contextlib.AbstractContextManager[Daemon]:
    log_file = config.parent / f"netmon{'-'.join(flags)}.log"
    return netmon_process(config, *flags, log_file=log_file)


def get(daemon: Daemon, path: str, **headers: str) -> tuple[float, dict[str, str], bytes]:
    """(seconds, headers, body) of one GET."""
    request = urllib.request.Request(f"http://127.0.0.1:{daemon.port}{path}", headers=headers)
    began = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (http, loopback)
        body = resp.read()
        return time.monotonic() - began, dict(resp.headers), body


def targets(daemon: Daemon) -> dict[str, dict[str, Any]]:
    data = json.loads(get(daemon, "/api/v1/targets")[2])["data"]
    return {t["device"]: t for t in data}


def all_polled(daemon: Daemon, devices: set[str], polls: int = 1) -> bool:
    got = targets(daemon)
    return set(got) == devices and all(t["polls"] >= polls for t in got.values())


def settled(daemon: Daemon, prov: Province) -> bool:
    """Every device polled twice, the live ones up and the dead ones down (a live one can
    be partial for a poll when a reply is late on a busy machine: the next poll clears it)."""
    got = targets(daemon)
    want = {d.id: "down" if d.dead else "up" for d in prov.devices}
    return {k: t["state"] for k, t in got.items()} == want and all(
        t["polls"] >= 2 for t in got.values()
    )


def per_device(text: str) -> dict[str, Counter[str]]:
    """device -> series per metric name."""
    out: dict[str, Counter[str]] = {}
    for (name, labels), _ in parse_exposition(text).items():
        device = dict(labels).get("device")
        if device is not None:
            out.setdefault(device, Counter())[name] += 1
    return out


def _snmp(tool: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    """A net-snmp client (independent of netmon's gufo-snmp) against one simulated device."""
    cmd = [need(tool), "-v2c", "-c", COMMUNITY, "-On", "-t", "1", "-r", "0"]
    return subprocess.run(
        [*cmd, f"127.0.0.1:{port}", *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_agent_serves_the_recording_and_moves_counters(agent: Manifest) -> None:
    rec = Recording.read(recordings_dir() / "routeros.snmprec")
    port = agent.live[len(agent.live) // 2]
    walk = _snmp("snmpbulkwalk", port, "-Cr25", ".1")
    assert walk.returncode == 0, walk.stderr
    lines = walk.stdout.splitlines()
    assert "No more variables left in this MIB View" in lines[-1]  # endOfMibView
    oids = [line.split(" = ", 1)[0].lstrip(".") for line in lines[:-1]]
    assert oids == list(rec)  # every variable, in order
    hc_in = f"{IFX}6.1"
    first = int(_snmp("snmpget", port, hc_in).stdout.rsplit(" ", 1)[1])
    wait_for(
        lambda: int(_snmp("snmpget", port, hc_in).stdout.rsplit(" ", 1)[1]) > first,
        5,
        "ifHCInOctets.1 to grow",
    )
    assert first >= rec[hc_in].number
    dead = _snmp("snmpget", agent.dead[0], "1.3.6.1.2.1.1.3.0")
    assert dead.returncode != 0
    assert "Timeout" in dead.stderr + dead.stdout


def test_every_device_exported_with_the_recordings_series(tmp_path: Path, agent: Manifest) -> None:
    prov = province(tmp_path / "config", agent)
    ids = {d.id for d in prov.devices}
    want = expected_series(Recording.read(recordings_dir() / "routeros.snmprec"))
    with netmon(prov.config) as daemon:
        # the storm: every device's first poll (a full walk) within one 2 s interval
        scrapes = []
        deadline = time.monotonic() + 30
        while not all_polled(daemon, ids):
            assert time.monotonic() < deadline, "not every device polled within 30 s"
            seconds, _, body = get(daemon, "/metrics", **{"Accept-Encoding": "gzip"})
            scrapes.append(seconds)
            assert body
        wait_for(lambda: settled(daemon, prov), 30, "live devices up, dead ones down")
        _, _, plain = get(daemon, "/metrics", **{"Accept-Encoding": "identity"})
        text = plain.decode()
        api = targets(daemon)
    assert scrapes, "netmon polled every device before the first scrape: no storm seen"
    assert max(scrapes) < SCRAPE_BOUND, f"a scrape took {max(scrapes):.2f}s during the storm"
    series = per_device(text)
    exposition = parse_exposition(text)
    up = {dict(ls)["device"]: v for (n, ls), v in exposition.items() if n == "netmon_target_up"}
    assert set(up) == ids
    for device in prov.live:
        assert up[device.id] == 1.0, device.id
        got = Counter({name: series[device.id][name] for name in want})
        assert +got == +want, f"{device.id}: {got - want} extra, {want - got} missing"
        assert api[device.id]["state"] in ("up", "partial")
    for device in prov.dead:
        assert up[device.id] == 0.0, device.id
        assert not set(series[device.id]) & set(want), f"{device.id} has data series"
        assert api[device.id]["state"] == "down"
        assert api[device.id]["last_error"] == "timeout"
    # every live router has the same series, health and counters included (poll errors
    # aside: a reply late on a loaded machine makes a partial poll, counted by reason)
    shapes = {
        sum(n for name, n in series[d.id].items() if name != "netmon_poll_errors_total")
        for d in prov.live
    }
    assert len(shapes) == 1, f"live routers differ in series count: {sorted(shapes)}"


def test_plain_gzip_and_openmetrics_parse(tmp_path: Path, agent: Manifest) -> None:
    prov = province(tmp_path / "config", agent)
    with netmon(prov.config) as daemon:
        wait_for(lambda: all_polled(daemon, {d.id for d in prov.devices}), 30, "all polled")
        _, plain_headers, plain = get(daemon, "/metrics", **{"Accept-Encoding": "identity"})
        _, gz_headers, packed = get(daemon, "/metrics", **{"Accept-Encoding": "gzip"})
        _, om_headers, om = get(
            daemon,
            "/metrics",
            Accept="application/openmetrics-text; version=1.0.0",
            **{"Accept-Encoding": "identity"},
        )
    assert "Content-Encoding" not in plain_headers
    assert gz_headers.get("Content-Encoding") == "gzip"
    unpacked = gzip.decompress(packed)
    for body in (plain, unpacked):  # promtool 2.x reads no OpenMetrics ("info" types)
        check = promtool_check(body.decode())
        assert check.returncode == 0, check.stdout + check.stderr
    assert om_headers["Content-Type"].startswith("application/openmetrics-text")
    om_text = om.decode()
    assert om_text.endswith("# EOF\n")
    families = om_families(om_text)  # type: ignore[no-untyped-call]  # strict OM parser
    om_devices = {
        s.labels["device"] for f in families for s in f.samples if s.name == "netmon_target_up"
    }
    assert om_devices == {d.id for d in prov.devices}


def test_shards_are_disjoint_and_complete(tmp_path: Path, agent: Manifest) -> None:
    prov = province(tmp_path / "config", agent, shards=2)
    kab = sorted({d.kabupaten for d in prov.devices})
    owned = {f"shard-{s}": prov.in_kabupaten(kab[s::2]) for s in (0, 1)}
    exported: dict[str, set[str]] = {}
    with (
        netmon(prov.config, "--shard", "shard-0") as zero,
        netmon(prov.config, "--shard", "shard-1") as one,
    ):
        for name, daemon in (("shard-0", zero), ("shard-1", one)):
            devices = owned[name]
            wait_for(partial(all_polled, daemon, devices), 30, f"{name} polled")
            text = get(daemon, "/metrics")[2].decode()
            exported[name] = {
                dict(ls)["device"]
                for (n, ls), _ in parse_exposition(text).items()
                if n == "netmon_target_up"
            }
    assert exported == owned
    assert not exported["shard-0"] & exported["shard-1"]
    assert exported["shard-0"] | exported["shard-1"] == {d.id for d in prov.devices}
