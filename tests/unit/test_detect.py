"""Issue 13 item 3: a device that names no profiles gets them from its sysObjectID and
sysDescr, at the first poll and again after a reboot or a firmware change.

The expected choice for each recording is written here from what the vendors' agents
are known to be, not derived from the profiles' rules: MikroTik's enterprise is 14988
(.1 RouterOS, which also serves HOST-RESOURCES-MIB; .2 SwOS, which does not), Ubiquiti
airOS answers with Frogfoot's 10002.1 and a bare "Linux ..." sysDescr, Huawei is 2011
(SmartAX OLTs say "Integrated Access Software", VRP routers do not and get no OLT
profile), Net-SNMP on Linux is 8072. Each identity is read from the recording file with
tests/snmprec_reader.py; the collector tests serve it from a real UDP agent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from collectors import REGISTRY
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.detect import Identity, candidates, choose
from collectors.snmp.params import SnmpParams
from collectors.snmp.profile import builtin_profiles
from netmon.api import Sample, Snapshot, TargetRef
from netmon.config import load
from netmon.tools.simulate import recordings_dir
from tests.helpers import ROOT, snmp_of
from tests.moving_agent import Iface, ManualClock, MovingAgent
from tests.snmp_ber import OCTETS, OID, Var, oid
from tests.snmprec_reader import Recording

SYS_DESCR, SYS_OBJECT_ID = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0"
#: recording -> the profiles a device like it should get, by vendor knowledge
EXPECTED: dict[str, list[str]] = {
    # RouterOS 6.40.5 (14988.1): MIKROTIK-MIB, and its HOST-RESOURCES cpu and storage
    "routeros": ["system", "if_mib", "host_resources", "mikrotik"],
    # SwOS (14988.2): MIKROTIK-MIB health and optical, no HOST-RESOURCES
    "swos": ["system", "if_mib", "mikrotik"],
    # a CCR2004 on RouterOS 7.24 (14988.1): its health only in mtxrGaugeTable
    "routeros_ccr2004-7.24": ["system", "if_mib", "host_resources", "mikrotik"],
    # Ubiquiti (airMAX, airFiber): airOS 8 LiteBeam, Rocket Prism; airOS 5/6 NanoStations
    # and the AF-11 all say 10002.1 + "Linux ...": both Ubiquiti profiles, the radio's
    # own MIB answers (the other walks an empty subtree)
    "airos_airos8": ["system", "if_mib", "airfiber", "airos"],
    "airos": ["system", "if_mib", "airfiber", "airos"],
    "airos5_nanostation_loco_m5_built": ["system", "if_mib", "airfiber", "airos"],
    "airos6_nanostation_m5_built": ["system", "if_mib", "airfiber", "airos"],
    "airos-af": ["system", "if_mib", "airfiber", "airos"],
    # Huawei VRP (issue 14, Huawei VRP / LLDP): CloudEngine CE12804 (VRP 8.150) and an
    # S5720 campus switch (VRP 5.170) say "Versatile Routing Platform": huawei_vrp
    "vrp_ce12804-withvrf": ["system", "if_mib", "huawei_vrp"],
    "vrp_5720_excerpt": ["system", "if_mib", "huawei_vrp"],
    # OLTs (issue 14, ZTE / FiberHome): ZTE ZXA10 C320 is 3902.1082; FiberHome AN5516 is
    # 5875.800
    "zxa10": ["system", "if_mib", "zte_olt"],
    "fiberhome": ["system", "if_mib", "fiberhome_olt"],
    # Huawei SmartAX MA5600T OLT
    "smartax": ["system", "if_mib", "huawei_olt"],
    # Net-SNMP on Linux 4.9
    "linux": ["system", "if_mib", "host_resources"],
    # access switches (D-Link 171): DES-3200-18, AGENT-GENERAL-MIB CPU
    "dlink_des": ["system", "if_mib", "dlink"],
    # issue 14, entity_sensor: Arista (30065) DOM from ENTITY-SENSOR-MIB; Cisco (9) reads
    # its own CISCO-ENTITY-SENSOR-MIB in `cisco`; TP-Link JetStream (11863)
    "arista_eos_excerpt": ["system", "if_mib", "entity_sensor"],
    "ios_2960x_excerpt": ["system", "if_mib", "cisco"],
    "jetstream_excerpt": ["system", "if_mib", "tplink"],
    # a real airOS 5.6 NanoStation M5 (snmpsim-data): Ubiquiti's own 41112.1.4, airos only
    "airos5_nanostation_m5_excerpt": ["system", "if_mib", "airos"],
    # a real DES-3200-18 (snmpsim-data), D-Link's enterprise 171
    "dlink_des3200_ddm_excerpt": ["system", "if_mib", "dlink"],
}
# hosts and power (issue 14, ucd_snmp / ups_mib / apc): Net-SNMP (8072) also serves
# UCD-SNMP-MIB (load averages, memory apart from buffers and cache); a Linksys WRT1200AC
# on OpenWrt 21.02 is Net-SNMP too; Riello's NetMan cards (5491) speak RFC 1628 UPS-MIB
EXPECTED["linux"] = ["system", "if_mib", "host_resources", "ucd_snmp"]
EXPECTED["openwrt"] = ["system", "if_mib", "host_resources", "ucd_snmp"]
EXPECTED["riello"] = ["system", "if_mib", "ups_mib"]
# an ABB PowerScale UPS card: Net-SNMP (8072) on "Linux ABB-...", RFC 1628 UPS-MIB values
EXPECTED["abbups_abbups"] = ["system", "if_mib", "host_resources", "ucd_snmp", "ups_mib"]
# Ubiquiti LTU (issue 14): an airFiber 5XHD on LTU firmware 1.1.1-BETA2 and 1.4.0 answers
# with Net-SNMP's Linux OID (8072.3.2.10), like any Linux host, but its kernel is a
# real-time ARM one ("SMP PREEMPT RT ... armv7l"); LibreNMS tells it apart by a GET of
# UBNT-AFLTU-MIB afLTUFirmwareVersion.0. Net-SNMP also serves HOST-RESOURCES and UCD there
EXPECTED["airos-af-ltu"] = ["system", "if_mib", "host_resources", "ltu", "ucd_snmp"]
EXPECTED["airos-af-ltu_1.4.0"] = ["system", "if_mib", "host_resources", "ltu", "ucd_snmp"]
FOLDERS = (recordings_dir(), ROOT / "tests" / "recordings")


def recording(name: str) -> Recording:
    for folder in FOLDERS:
        if (folder / f"{name}.snmprec").exists():
            return Recording.read(folder / f"{name}.snmprec")
    raise AssertionError(f"no recording {name}")


def identity_of(name: str) -> Identity:
    rec = recording(name)
    return Identity(rec[SYS_OBJECT_ID].text.lstrip("."), rec[SYS_DESCR].text)


def test_every_recording_of_the_suite_has_an_expected_choice() -> None:
    found = {p.stem for folder in FOLDERS for p in folder.glob("*.snmprec")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detection_picks_the_vendor_profiles_of_each_recording(name: str) -> None:
    builtin = builtin_profiles()
    base = [builtin["system"], builtin["if_mib"]]
    profiles, reasons = choose(identity_of(name), candidates(builtin.values()), base)
    assert [p.name for p in profiles] == EXPECTED[name]
    assert [n for n, _ in reasons] == EXPECTED[name][2:]  # each added one says why


def test_a_bare_linux_on_another_enterprise_is_not_an_airos_radio() -> None:
    """10002.1 alone (Frogfoot) is not enough, nor is "Linux" alone."""
    builtin = builtin_profiles()
    pick = candidates(builtin.values())
    assert choose(Identity("1.3.6.1.4.1.10002.1", "FreeBSD 13"), pick, [])[0] == ()
    assert choose(Identity("1.3.6.1.4.1.99999.1", "Linux 5.10"), pick, [])[0] == ()
    # under 14988 arc by arc: 1.3.6.1.4.1.149880 is someone else
    assert choose(Identity("1.3.6.1.4.1.149880.1", "router"), pick, [])[0] == ()


def test_a_linux_host_on_arm_is_not_an_ltu_radio() -> None:
    """Net-SNMP on ARM without the real-time kernel (a Raspberry Pi, an OpenWrt router) and
    a real-time kernel on a PC are hosts: host_resources and ucd_snmp, no ltu."""
    builtin = builtin_profiles()
    pick = candidates(builtin.values())
    net_snmp = "1.3.6.1.4.1.8072.3.2.10"
    for descr in (
        "Linux pi 5.10.17-v7+ #1403 SMP Mon Feb 22 11:29:51 GMT 2021 armv7l",
        "Linux rt-box 3.14.65-rt #1 SMP PREEMPT RT Wed Jan 11 10:00:00 UTC 2023 x86_64",
    ):
        chosen = [p.name for p in choose(Identity(net_snmp, descr), pick, [])[0]]
        assert chosen == ["host_resources", "ucd_snmp"], descr


# -- the config: omitted detects, [] probes, a list stays ----------------------------------


def write(tmp_path: Path, device: dict[str, Any], main: str = "") -> Path:
    site = {"id": "pop-a", "name": "POP A", "kind": "pop", "devices": [device]}
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "a.yaml").write_text(
        yaml.safe_dump({"kabupaten": "Berau", "sites": [site]}, sort_keys=False)
    )
    (tmp_path / "netmon.yaml").write_text(
        main + "defaults: {snmp: {community: {env: T_COMMUNITY}}}\n"
    )
    return tmp_path / "netmon.yaml"


def params_of(tmp_path: Path, **keys: Any) -> SnmpParams | None:
    config = load(write(tmp_path, {"id": "sw-a", "address": "127.0.0.1", **keys}), REGISTRY)
    settings = config.inventory.devices["sw-a"].settings("snmp")
    assert settings is None or isinstance(settings, SnmpParams)
    return settings


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_COMMUNITY", "public")


def test_a_device_without_profiles_detects_on_top_of_system_and_if_mib(tmp_path: Path) -> None:
    params = params_of(tmp_path)
    assert params is not None
    assert params.profiles == ("system", "if_mib")
    assert params.detect_from is not None
    assert {p.name for p in params.detect_from} >= {
        "mikrotik",
        "airos",
        "airfiber",
        "huawei_olt",
    } | {"host_resources"}
    assert {"dlink", "tplink", "cisco"} <= {p.name for p in params.detect_from}  # switches
    assert {"ucd_snmp", "ups_mib", "apc"} <= {p.name for p in params.detect_from}  # hosts, power


def test_a_users_profile_with_detect_rules_takes_part(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "swos_poe.yaml").write_text(
        "name: swos_poe\ndescription: PoE of SwOS switches\n"
        "detect:\n  - {sys_object_id: [1.3.6.1.4.1.14988.2]}\n"
    )
    device = {"id": "sw-a", "address": "127.0.0.1"}
    config = load(write(tmp_path, device, "profiles_dirs: [mine]\n"), REGISTRY)
    params = snmp_of(config.inventory.devices["sw-a"])
    assert params.detect_from is not None
    base = list(params.specs)
    chosen, _ = choose(identity_of("swos"), params.detect_from, base)
    assert [p.name for p in chosen] == ["system", "if_mib", "mikrotik", "swos_poe"]
    chosen, _ = choose(identity_of("routeros"), params.detect_from, base)
    assert "swos_poe" not in [p.name for p in chosen]


def test_an_empty_list_stays_probe_only(tmp_path: Path) -> None:
    assert params_of(tmp_path, profiles=[], icmp=True) is None


def test_an_explicit_list_is_polled_as_written(tmp_path: Path) -> None:
    params = params_of(tmp_path, profiles=["system", "airos"])
    assert params is not None
    assert (params.profiles, params.detect_from) == (("system", "airos"), None)


# -- the collector against a real UDP agent ----------------------------------------------


def serve_identity(agent: MovingAgent, sys_object_id: str, sys_descr: str) -> None:
    agent.extra[oid(SYS_OBJECT_ID)] = Var(OID, oid(sys_object_id))
    agent.extra[oid(SYS_DESCR)] = Var(OCTETS, sys_descr.encode())


def samples(snapshot: Snapshot, name: str) -> list[Sample]:
    return [s for p in snapshot.parts for s in p.samples if s.name == name]


def info(snapshot: Snapshot) -> dict[str, str]:
    (sample,) = samples(snapshot, "netmon_device_profiles_info")
    assert sample.value == 1.0
    return dict(sample.labels)


def detecting(tmp_path: Path, port: int) -> SnmpParams:
    config = load(write(tmp_path, {"id": "sw-a", "address": "127.0.0.1", "port": port}), REGISTRY)
    return snmp_of(config.inventory.devices["sw-a"])


ETHER1 = Iface(1, "ether1", speed=100_000_000, rates={"in_octets": 1000})
TARGET = TargetRef(site="pop-a", device="sw-a", collector="snmp")


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_the_collector_detects_each_recordings_identity_and_says_so(
    tmp_path: Path, name: str
) -> None:
    said = identity_of(name)
    clock = ManualClock(time.monotonic())
    with MovingAgent([ETHER1], clock) as agent:
        serve_identity(agent, said.sys_object_id, said.sys_descr)
        collector = SnmpCollector()
        with structlog.testing.capture_logs() as logs:
            snapshot = await collector.poll(TARGET, detecting(tmp_path, agent.port), 10.0)
    assert snapshot.ok, snapshot.error_detail
    got = info(snapshot)
    assert got["profiles"] == ",".join(EXPECTED[name])
    for added in EXPECTED[name][2:]:
        assert f"{added} (sysObjectID under 1.3.6.1.4.1." in got["reason"]
    if EXPECTED[name] == ["system", "if_mib"]:
        assert got["reason"] == "no vendor rule matched"
    (device_info,) = samples(snapshot, "netmon_device_info")
    assert dict(device_info.labels)["profiles"] == ",".join(EXPECTED[name])  # polled with them
    logged = [e for e in logs if e["event"] == "profiles detected"]
    assert [(e["site"], e["device"], e["profiles"], e["trigger"]) for e in logged] == [
        ("pop-a", "sw-a", ",".join(EXPECTED[name]), "first")
    ]
    assert logged[0]["reason"] == got["reason"]


async def test_an_explicit_list_asks_nothing_and_exports_no_choice(tmp_path: Path) -> None:
    clock = ManualClock(time.monotonic())
    with MovingAgent([ETHER1], clock) as agent:
        device = {"id": "sw-a", "address": "127.0.0.1", "port": agent.port, "profiles": ["system"]}
        params = snmp_of(load(write(tmp_path, device), REGISTRY).inventory.devices["sw-a"])
        snapshot = await SnmpCollector().poll(TARGET, params, 10.0)
    assert snapshot.ok, snapshot.error_detail
    assert samples(snapshot, "netmon_device_profiles_info") == []
    (device_info,) = samples(snapshot, "netmon_device_info")
    assert dict(device_info.labels)["profiles"] == "system"
    # sysDescr and sysObjectID once: the system profile's own (slow) GET, no detection GET
    identity = (oid(SYS_DESCR), oid(SYS_OBJECT_ID))
    assert [s.request for s in agent.served if s.request == identity] == [identity]


async def test_a_firmware_change_after_a_reboot_detects_again(tmp_path: Path) -> None:
    """A RouterOS box reinstalled as a Linux server (new sysObjectID and sysDescr) while it
    rebooted: the poll that sees the reboot re-reads sysDescr, the next one detects."""
    clock = ManualClock(time.monotonic())
    with MovingAgent([ETHER1], clock) as agent:
        serve_identity(agent, "1.3.6.1.4.1.14988.1", "RouterOS RB4011")
        params = detecting(tmp_path, agent.port)
        collector = SnmpCollector()
        with structlog.testing.capture_logs() as logs:
            first = await collector.poll(TARGET, params, 10.0)
            assert info(first)["profiles"] == "system,if_mib,host_resources,mikrotik"
            steady = await collector.poll(TARGET, params, 10.0)  # nothing new: no detection
            assert info(steady) == info(first)
            clock.now += 30
            agent.reboot()
            serve_identity(agent, "1.3.6.1.4.1.8072.3.2.10", "Linux srv 6.1.0 x86_64")
            clock.now += 5
            rebooted = await collector.poll(TARGET, params, 10.0)
            (reboots,) = samples(rebooted, "netmon_device_reboots_total")
            assert reboots.value == 1
            clock.now += 5
            after = await collector.poll(TARGET, params, 10.0)
    assert after.ok, after.error_detail
    assert info(after)["profiles"] == "system,if_mib,host_resources,ucd_snmp"
    assert info(after)["reason"].startswith("host_resources (sysObjectID under 1.3.6.1.4.1.8072)")
    (device_info,) = samples(after, "netmon_device_info")
    assert dict(device_info.labels)["profiles"] == "system,if_mib,host_resources,ucd_snmp"
    (reboots,) = samples(after, "netmon_device_reboots_total")
    assert reboots.value == 1  # the device's state outlived the new profiles
    detected = [(e["profiles"], e["trigger"]) for e in logs if e["event"] == "profiles detected"]
    assert detected == [
        ("system,if_mib,host_resources,mikrotik", "first"),
        ("system,if_mib,host_resources,ucd_snmp", "reboot"),
    ]


async def test_a_failed_first_detection_fails_the_poll_and_the_next_one_detects(
    tmp_path: Path,
) -> None:
    clock = ManualClock(time.monotonic())
    with MovingAgent([ETHER1], clock) as agent:
        serve_identity(agent, "1.3.6.1.4.1.14988.2", "CSS106-1G-4P-1S SwOS v2.11")
        params = detecting(tmp_path, agent.port)
        agent.community = b"not-this-one"  # the agent ignores our requests: a timeout
        silent = SnmpParams(**{**_fields(params), "timeout": 0.2, "retries": 0})
        collector = SnmpCollector()
        failed = await collector.poll(TARGET, silent, 5.0)
        assert (failed.ok, failed.error) == (False, "timeout")
        assert "profile detection" in (failed.error_detail or "")
        agent.community = b"public"
        answered = await collector.poll(TARGET, silent, 5.0)
    assert answered.ok, answered.error_detail
    assert info(answered)["profiles"] == "system,if_mib,mikrotik"


def _fields(params: SnmpParams) -> dict[str, Any]:
    return {name: getattr(params, name) for name in SnmpParams.__dataclass_fields__}
