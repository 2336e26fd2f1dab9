"""Issue 14: Huawei VRP, LLDP neighbours and `netmon check --lldp`'s verdicts.

Expected values are read from the recordings with tests/snmprec_reader.py and the MIBs'
definitions applied here: LLDP-MIB (lldpRemLocalPortNum is an LLDP port number, named by
lldpLocPortTable; chassis ids of subtype macAddress(4) are 6 octets, shown as hex),
HUAWEI-ENTITY-EXTENT-MIB (CPU and memory in percent, temperature in C, optical
thresholds in 0.01 dBm, optical power in 0.01 dBm on VRP 8 and uW on VRP 5).
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from collectors.snmp.detect import Identity, candidates, choose
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.plan import Value
from collectors.snmp.profile import builtin_profiles
from collectors.snmp.tooling.lldp_check import (
    Neighbour,
    Seen,
    Status,
    check_links,
    judge,
    seen_from,
)
from netmon.api import Labels, Sample
from netmon.inventory import Inventory, Link, LinkEnd
from netmon.tools.simulate import recordings_dir
from tests.helpers import ROOT, raw_poll
from tests.snmprec_reader import Recording

BASE: Labels = (("site", "s"), ("device", "d"))
LLDP_REC = ROOT / "tests/recordings/vrp_5720_excerpt.snmprec"
LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
REM = "1.0.8802.1.1.2.1.4.1.1"
SYS_DESCR, SYS_OBJECT_ID = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0"
ENT_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"
STATE = "1.3.6.1.4.1.2011.5.25.31.1.1.1.1"
OPTICAL = "1.3.6.1.4.1.2011.5.25.31.1.1.3.1"


def mapped(profiles: list[str], wire: dict[str, Value]) -> tuple[list[Sample], Counter[str]]:
    specs = [builtin_profiles()[p] for p in profiles]
    result = Engine(specs, 60.0, 4096).map(raw_poll(wire, specs), DeviceState(), BASE)
    return [s for part in result.parts for s in part.samples], result.dropped


# -- LLDP on a real recording ---------------------------------------------------------


def test_lldp_neighbours_of_the_s5720_recording() -> None:
    rec = Recording.read(LLDP_REC)
    local = rec.texts(LOC_PORT_ID)  # LLDP port number -> port name
    expected = set()
    for index, name in rec.texts(f"{REM}.9").items():
        _time_mark, port, _rem = index.split(".")
        chassis = rec[f"{REM}.5.{index}"].value
        assert isinstance(chassis, bytes)
        assert len(chassis) == 6
        assert rec[f"{REM}.4.{index}"].number == 4
        expected.add((local[port], name, rec[f"{REM}.7.{index}"].text, chassis.hex(":")))
    assert len(expected) == 5
    samples, _ = mapped(["system", "lldp"], dict(rec.wire()))
    got = {
        (d["ifname"], d["neighbor_sysname"], d["neighbor_port"], d["neighbor_chassis"])
        for d in (dict(s.labels) for s in samples if s.name == "netmon_lldp_neighbor_info")
    }
    assert got == expected
    # the LLDP port number is not the ifIndex: port 49 is XGigabitEthernet0/0/1 (ifIndex 54)
    assert ("XGigabitEthernet0/0/1", "CE-NG", "10GE1/0/42", "b4:fb:f9:ad:b8:81") in got


def test_neighbour_labels_are_cleaned() -> None:
    rec = Recording.read(LLDP_REC)
    wire: dict[str, Value] = dict(rec.wire())
    wire[f"{REM}.9.8626.50.1"] = b"evil\nname\x1b[31m" + b"x" * 300
    samples, _ = mapped(["lldp"], wire)
    names = [
        dict(s.labels)["neighbor_sysname"] for s in samples if s.name == "netmon_lldp_neighbor_info"
    ]
    bad = [n for n in names if n.startswith("evil")]
    assert bad
    assert "\n" not in bad[0]
    assert "\x1b" not in bad[0]
    assert len(bad[0]) <= 128


# -- detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [recordings_dir() / "vrp_ce12804-withvrf.snmprec", LLDP_REC],
    ids=["ce12804", "s5720"],
)
def test_vrp_devices_get_huawei_vrp_and_not_the_olt_profile(path: object) -> None:
    rec = Recording.read(path)  # type: ignore[arg-type]
    identity = Identity(rec[SYS_OBJECT_ID].text.lstrip("."), rec[SYS_DESCR].text)
    picked, _ = choose(identity, candidates(builtin_profiles().values()), [])
    assert "huawei_vrp" in [p.name for p in picked]
    assert "huawei_olt" not in [p.name for p in picked]


def test_smartax_is_not_a_vrp_device() -> None:
    rec = Recording.read(recordings_dir() / "smartax.snmprec")
    identity = Identity(rec[SYS_OBJECT_ID].text.lstrip("."), rec[SYS_DESCR].text)
    picked, _ = choose(identity, candidates(builtin_profiles().values()), [])
    assert "huawei_vrp" not in [p.name for p in picked]


# -- huawei_vrp on the real S5720 recording (VRP 5.170) ---------------------------------


def test_huawei_vrp_readings_of_the_s5720_recording() -> None:
    rec = Recording.read(LLDP_REC)
    names = rec.texts(ENT_NAME)
    expected: dict[tuple[str, str], float] = {}
    for index, volts in rec.numbers(f"{OPTICAL}.6").items():
        if volts == -1:  # an empty cage: -1 everywhere, -255 C
            assert rec[f"{OPTICAL}.5.{index}"].number == -255
            continue
        port = names[index]
        micro_w = {d: rec[f"{OPTICAL}.{c}.{index}"].number for d, c in (("rx", 8), ("tx", 9))}
        for d, column in (("rx", 32), ("tx", 33)):
            dbm = float(rec[f"{OPTICAL}.{column}.{index}"].text) / 100  # lane: 0.01 dBm
            # the same reading in uW (column 8/9, the MIB's unit on VRP 5) agrees
            assert dbm == pytest.approx(10 * math.log10(micro_w[d] / 1000), abs=0.05)
            expected[(f"netmon_optical_{d}_power_dbm", port)] = dbm
        for column, name in (
            (13, "rx_power_low_alarm"),
            (14, "rx_power_high_alarm"),
            (15, "tx_power_low_alarm"),
            (16, "tx_power_high_alarm"),
            (20, "rx_power_low_warning"),
            (21, "rx_power_high_warning"),
            (22, "tx_power_low_warning"),
            (23, "tx_power_high_warning"),
        ):
            raw = rec[f"{OPTICAL}.{column}.{index}"].number
            expected[(f"netmon_optical_{name}_dbm", port)] = raw / 100
        expected[("netmon_optical_temperature_celsius", port)] = rec[f"{OPTICAL}.5.{index}"].number
        expected[("netmon_optical_supply_voltage_volts", port)] = volts / 1000
        bias = rec[f"{OPTICAL}.7.{index}"].number
        expected[("netmon_optical_bias_current_amperes", port)] = bias / 1e6
    for index, cpu in rec.numbers(f"{STATE}.5").items():
        mem, temp = rec[f"{STATE}.7.{index}"].number, rec[f"{STATE}.11.{index}"].number
        if (cpu, mem, temp) == (0, 0, 0):
            continue
        expected[("netmon_device_cpu_ratio", names[index])] = cpu / 100
        expected[("netmon_device_memory_used_ratio", names[index])] = mem / 100
        expected[("netmon_device_temperature_celsius", names[index])] = temp
    assert len(expected) == 3 * 13 + 3  # three SFPs (13 series each), one MPU
    samples, dropped = mapped(["system", "huawei_vrp"], dict(rec.wire()))
    got = {
        (s.name, dict(s.labels).get("ifname") or dict(s.labels)["entity"]): s.value
        for s in samples
        if s.name.startswith(("netmon_optical_", "netmon_device_cpu", "netmon_device_mem"))
        or s.name == "netmon_device_temperature_celsius"
    }
    assert got == pytest.approx(expected)
    assert got[("netmon_optical_rx_power_dbm", "XGigabitEthernet0/0/1")] == pytest.approx(-2.7019)
    assert dropped["decode"] == 0


# -- huawei_vrp: units by firmware (rows built from the MIB: not a verification) --------

SFP, MPU, PORT = "67469390", "67108873", "67108869"


def vrp_rows(sys_descr: bytes) -> dict[str, Value]:
    return {
        SYS_DESCR: sys_descr,
        f"{ENT_NAME}.{MPU}": b"MPU Board 1",
        f"{ENT_NAME}.{SFP}": b"XGigabitEthernet0/0/1",
        f"{ENT_NAME}.{PORT}": b"FAN 1",
        f"{STATE}.5.{MPU}": 12,  # hwEntityCpuUsage, %
        f"{STATE}.7.{MPU}": 57,  # hwEntityMemUsage, %
        f"{STATE}.11.{MPU}": 41,  # hwEntityTemperature, C
        f"{STATE}.5.{PORT}": 0,
        f"{STATE}.7.{PORT}": 0,
        f"{STATE}.11.{PORT}": 0,
        f"{OPTICAL}.5.{SFP}": 35,  # C
        f"{OPTICAL}.6.{SFP}": 3310,  # mV
        f"{OPTICAL}.7.{SFP}": 5900,  # uA
        f"{OPTICAL}.8.{SFP}": -270,  # 0.01 dBm on VRP 8; uW on VRP 5
        f"{OPTICAL}.9.{SFP}": -228,
        f"{OPTICAL}.13.{SFP}": -1429,
        f"{OPTICAL}.14.{SFP}": 340,
        f"{OPTICAL}.15.{SFP}": -1160,
        f"{OPTICAL}.16.{SFP}": -1,  # no threshold
    }


def by_name(samples: list[Sample]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in samples:
        labels = dict(s.labels)
        out.setdefault(s.name, {})[labels.get("entity") or labels.get("ifname", "")] = s.value
    return out


def test_vrp8_optical_power_is_hundredths_of_a_dbm() -> None:
    ce = Recording.read(recordings_dir() / "vrp_ce12804-withvrf.snmprec")
    assert "Version 8.150" in ce[SYS_DESCR].text
    samples, dropped = mapped(["system", "huawei_vrp"], vrp_rows(ce[SYS_DESCR].value))  # type: ignore[arg-type]
    got = by_name(samples)
    port = "XGigabitEthernet0/0/1"
    assert got["netmon_optical_rx_power_dbm"] == {port: pytest.approx(-2.70)}
    assert got["netmon_optical_tx_power_dbm"] == {port: pytest.approx(-2.28)}
    assert got["netmon_optical_rx_power_low_alarm_dbm"] == {port: pytest.approx(-14.29)}
    assert got["netmon_optical_rx_power_high_alarm_dbm"] == {port: pytest.approx(3.40)}
    assert got["netmon_optical_tx_power_low_alarm_dbm"] == {port: pytest.approx(-11.60)}
    assert "netmon_optical_tx_power_high_alarm_dbm" not in got  # -1: none
    assert dropped["sentinel"] == 1
    assert got["netmon_optical_supply_voltage_volts"] == {port: pytest.approx(3.31)}
    assert got["netmon_optical_bias_current_amperes"] == {port: pytest.approx(0.0059)}
    assert got["netmon_optical_temperature_celsius"] == {port: 35}
    # the MPU has readings; the fan row reads 0 everywhere and yields none
    assert got["netmon_device_cpu_ratio"] == {"MPU Board 1": pytest.approx(0.12)}
    assert got["netmon_device_memory_used_ratio"] == {"MPU Board 1": pytest.approx(0.57)}
    assert got["netmon_device_temperature_celsius"] == {"MPU Board 1": 41}


def test_vrp5_power_in_microwatts_without_lane_columns_is_left_out_not_mislabelled() -> None:
    s5720 = Recording.read(LLDP_REC)
    assert "Version 5.170" in s5720[SYS_DESCR].text
    samples, _ = mapped(["system", "huawei_vrp"], vrp_rows(s5720[SYS_DESCR].value))  # type: ignore[arg-type]
    got = by_name(samples)
    assert "netmon_optical_rx_power_dbm" not in got
    assert "netmon_optical_tx_power_dbm" not in got
    # the thresholds are 0.01 dBm on every firmware
    assert got["netmon_optical_rx_power_low_alarm_dbm"] == {
        "XGigabitEthernet0/0/1": pytest.approx(-14.29)
    }


# -- check --lldp: the verdicts -------------------------------------------------------


def link(lid: str, a: str, b: str) -> Link:
    def end(text: str) -> LinkEnd:
        site_device, _, ifname = text.partition(":")
        site, _, device = site_device.partition("/")
        return LinkEnd(site, device, ifname)

    return Link(lid, "fiber", end(a), end(b))


SW = Seen(
    "sw-a.example.net",
    (
        Neighbour("ge-0/0/1", "core-b.example.net", "ge-0/0/9", "aa:bb"),
        Neighbour("ge-0/0/2", "someone", "eth0", "cc:dd"),
    ),
)


def test_a_link_seen_from_either_end_is_confirmed() -> None:
    seen = {"sw-a": SW, "core-b": Seen(error="timeout")}
    verdict = judge(link("l1", "a/sw-a:ge-0/0/1", "b/core-b:ge-0/0/9"), seen)
    assert verdict.status is Status.CONFIRMED
    # from the other side: core-b's own LLDP names sw-a by its sysName's host part
    seen = {"core-b": Seen("core-b", (Neighbour("GE-0/0/9", "SW-A", "ge-0/0/1", ""),))}
    verdict = judge(link("l1", "a/sw-a:ge-0/0/1", "b/core-b:ge-0/0/9"), seen)
    assert verdict.status is Status.CONFIRMED


def test_another_device_or_port_on_the_link_port_is_a_mismatch() -> None:
    seen = {"sw-a": SW}
    wrong_device = judge(link("l2", "a/sw-a:ge-0/0/2", "b/core-b:ge-0/0/9"), seen)
    assert wrong_device.status is Status.MISMATCH
    assert "someone eth0" in wrong_device.detail
    wrong_port = judge(link("l3", "a/sw-a:ge-0/0/1", "b/core-b:ge-0/0/8"), seen)
    assert wrong_port.status is Status.MISMATCH
    assert "core-b:ge-0/0/8" in wrong_port.detail


def test_no_neighbour_or_no_answer_is_no_data() -> None:
    seen = {"sw-a": SW, "core-b": Seen(error="timeout")}
    silent = judge(link("l4", "a/sw-a:ge-0/0/3", "b/core-b:ge-0/0/9"), seen)
    assert silent.status is Status.NO_DATA
    assert "no neighbour" in silent.detail
    assert "timeout" in silent.detail


def test_verdicts_come_in_link_order_and_from_samples() -> None:
    seen = seen_from(
        [
            ("netmon_device_info", {"sys_name": "sw-a"}),
            ("netmon_lldp_neighbor_info", {"ifname": "p1", "neighbor_sysname": "core-b",
                                           "neighbor_port": "p9", "neighbor_chassis": "x"}),
        ]
    )  # fmt: skip
    assert seen == Seen("sw-a", (Neighbour("p1", "core-b", "p9", "x"),))
    inv = Inventory(
        sites={},
        devices={},
        links={
            "z": link("z", "a/sw-a:p2", "b/core-b:p9"),
            "a": link("a", "a/sw-a:p1", "b/core-b:p9"),
        },
    )
    verdicts = check_links(inv, {"sw-a": seen})
    assert [(v.link, v.status) for v in verdicts] == [
        ("a", Status.CONFIRMED),
        ("z", Status.NO_DATA),
    ]


# -- OLTs: FiberHome (real recording), ZTE (detection real, tables MIB-built) ------------

FH_CARD = "1.3.6.1.4.1.5875.800.3.9.8.1.1"


def test_fiberhome_card_cpu_and_memory_of_the_an5516_recording() -> None:
    rec = Recording.read(ROOT / "tests/recordings/fiberhome.snmprec")
    # mgrCardCpuUtil / mgrCardMemUtil: hundredths of a percent (LibreNMS divides by 100)
    expected = {
        ("netmon_board_cpu_ratio", slot): raw / 10000
        for slot, raw in rec.numbers(f"{FH_CARD}.5").items()
    } | {
        ("netmon_board_memory_used_ratio", slot): raw / 10000
        for slot, raw in rec.numbers(f"{FH_CARD}.6").items()
    }
    assert expected[("netmon_board_cpu_ratio", "9")] == pytest.approx(0.0458)
    samples, _ = mapped(["system", "fiberhome_olt"], dict(rec.wire()))
    got = {
        (s.name, dict(s.labels)["slot"]): s.value
        for s in samples
        if s.name in ("netmon_board_cpu_ratio", "netmon_board_memory_used_ratio")
    }
    assert got == pytest.approx(expected)
    info = next(dict(s.labels) for s in samples if s.name == "netmon_device_info")
    assert info["firmware"] == rec["1.3.6.1.4.1.5875.800.3.9.4.3.0"].text == "RP0700"


ZXAN_STATE = "1.3.6.1.4.1.3902.1012.3.28.2.1.4"
TITAN_STATE = "1.3.6.1.4.1.3902.1082.500.10.2.3.8.1.4"


@pytest.mark.parametrize("tree", [ZXAN_STATE, TITAN_STATE], ids=["zxan", "titan"])
def test_zte_onu_states_are_counted_per_pon_port(tree: str) -> None:
    """MIB-built rows (not a verification): two PON ports, ONU phase states by the MIB's
    enumeration (4 working, 2 LOS, 5 dying gasp, 7 offline, 6 auth failed)."""
    pon1, pon2 = "268501248", "268501504"
    wire: dict[str, Value] = {
        "1.3.6.1.2.1.31.1.1.1.1." + pon1: b"gpon_1/1/1",
        "1.3.6.1.2.1.31.1.1.1.1." + pon2: b"gpon_1/1/2",
    }
    states = {pon1: [4, 4, 4, 2, 5], pon2: [7, 6, 4]}
    for port, onus in states.items():
        for onu, state in enumerate(onus, start=1):
            wire[f"{tree}.{port}.{onu}"] = state
    samples, _ = mapped(["if_mib", "zte_olt"], wire)
    got = {
        (dict(s.labels)["ifname"], dict(s.labels)["state"]): s.value
        for s in samples
        if s.name == "netmon_pon_onus"
    }
    assert got == {
        ("gpon_1/1/1", "working"): 3,
        ("gpon_1/1/1", "los"): 1,
        ("gpon_1/1/1", "dying_gasp"): 1,
        ("gpon_1/1/1", "offline"): 0,
        ("gpon_1/1/1", "other"): 0,
        ("gpon_1/1/2", "working"): 1,
        ("gpon_1/1/2", "los"): 0,
        ("gpon_1/1/2", "dying_gasp"): 0,
        ("gpon_1/1/2", "offline"): 1,
        ("gpon_1/1/2", "other"): 1,
    }
