"""Expected values read straight from the real recordings, by the MIBs' definitions.

Each recording is read with tests/snmprec_reader.py, not with netmon's decoder; the
test applies the MIB object's definition (unit, scale, "no reading") to the recorded
value to get what netmon must export, maps the same recording through netmon's
engine, and compares. Recordings: the five in shared/testdata/snmprec and the ones in
tests/recordings (its README gives source, commit, licence and quirks of each).

Here: the helpers, IF-MIB, identity and host resources; the vendor MIBs are in
test_recording_values_{airos,ltu,mikrotik,sensors}.py, which import the helpers from here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import pytest

from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.plan import Value
from collectors.snmp.profile import builtin_profiles
from netmon.api import Labels, Sample
from netmon.tools.simulate import recordings_dir
from tests.helpers import ROOT, raw_poll
from tests.snmprec_reader import Recording, Var

NEW = ROOT / "tests/recordings"
BASE: Labels = (("site", "s"), ("device", "d"))
PROFILES: dict[str, list[str]] = {
    "routeros": ["system", "if_mib", "mikrotik", "host_resources"],
    "airos_airos8": ["system", "if_mib", "airos"],
    "vrp_ce12804-withvrf": ["system", "if_mib"],
    "smartax": ["system", "huawei_olt"],
    "linux": ["system", "host_resources"],
    # tests/recordings; a SwOS switch gets what a user would apply to it: mikrotik
    "swos": ["system", "if_mib", "mikrotik"],
    # RouterOS 7.24 on a CCR2004 (LibreNMS): health in mtxrGaugeTable, a copper SFP+ module
    "routeros_ccr2004-7.24": ["system", "if_mib", "mikrotik", "host_resources"],
    "airos": ["system", "if_mib", "airos"],
    "airos6_nanostation_m5_built": ["system", "if_mib", "airos"],
    "airos5_nanostation_loco_m5_built": ["system", "if_mib", "airos"],
    # issue 14, entity_sensor / cisco / tplink: LibreNMS excerpts (tests/recordings/README.md)
    "arista_eos_excerpt": ["system", "entity_sensor"],
    "ios_2960x_excerpt": ["system", "if_mib", "cisco"],
    "jetstream_excerpt": ["system", "tplink"],
    # a real airOS 5.6 M-series radio (etingof/snmpsim-data, excerpt): rates in kbit/s
    "airos5_nanostation_m5_excerpt": ["system", "if_mib", "airos"],
    # a real D-Link DES-3200-18 (etingof/snmpsim-data, excerpt): DDM table, no module in it
    "dlink_des3200_ddm_excerpt": ["system", "if_mib", "dlink"],
    # airFiber 5XHD on LTU firmware (LibreNMS): UBNT-AFLTU-MIB and Net-SNMP's host MIBs
    "airos-af-ltu": ["system", "if_mib", "host_resources", "ltu", "ucd_snmp"],
    "airos-af-ltu_1.4.0": ["system", "if_mib", "host_resources", "ltu", "ucd_snmp"],
}
WITH_IF_MIB = sorted(n for n, p in PROFILES.items() if "if_mib" in p)

SYS_UPTIME, HR_UPTIME = "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.25.1.1.0"
ENGINE_TIME = "1.3.6.1.6.3.10.2.1.3.0"
IF, IFX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
LTU = "1.3.6.1.4.1.41112.1.10.1"  # UBNT-AFLTU-MIB afLTUMIB
DOT11_NAME, DOT11_VERSION = "1.2.840.10036.3.1.2.1.3", "1.2.840.10036.3.1.2.1.4"

Expected = dict[tuple[str, str], float]


def load(name: str) -> Recording:
    path = NEW / f"{name}.snmprec"
    return Recording.read(path if path.exists() else recordings_dir() / f"{name}.snmprec")


class Device:
    """One device: netmon's engine and its state, polled with (copies of) a recording."""

    def __init__(self, name: str) -> None:
        self.profiles = [builtin_profiles()[p] for p in PROFILES[name]]
        self.engine = Engine(self.profiles, 60.0, 4096)
        self.state = DeviceState()
        self.dropped: Counter[str] = Counter()

    def poll(self, rec: Recording) -> list[Sample]:
        wire: dict[str, Value] = dict(rec.wire())
        result = self.engine.map(raw_poll(wire, self.profiles), self.state, BASE)
        self.dropped = result.dropped
        return [s for part in result.parts for s in part.samples]


def collect(samples: list[Sample], names: set[str], key: tuple[str, ...]) -> Expected:
    """(metric, label values joined by "/") -> value; a repeated key shows up as its own entry."""
    out: Expected = {}
    for s in samples:
        if s.name in names:
            labels = dict(s.labels)
            k = (s.name, "/".join(labels.get(part, "") for part in key))
            while k in out:
                k = (k[0], k[1] + " <same label set again>")
            out[k] = s.value
    return out


def scalar(samples: list[Sample], name: str) -> list[float]:
    return [s.value for s in samples if s.name == name]


def check(got: Expected, want: Expected) -> None:
    """Every expected series with its value, and nothing else; the differences in the message."""
    missing = sorted(set(want) - set(got))
    unexpected = {k: v for k, v in sorted(got.items()) if k not in want}
    wrong = {
        k: f"got {got[k]!r}, want {want[k]!r}"
        for k in sorted(want)
        if k in got and not math.isclose(got[k], want[k], rel_tol=1e-12, abs_tol=1e-18)
    }
    assert (missing, unexpected, wrong) == ([], {}, {}), "(missing, unexpected, wrong)"


# --- IF-MIB (RFC 2863) -------------------------------------------------------------------

#: metric -> (Counter64 column or None, Counter32 column)
COUNTERS: dict[str, tuple[str | None, str]] = {
    # ifHCInOctets / ifInOctets: octets received
    "netmon_interface_receive_bytes_total": (f"{IFX}.6", f"{IF}.10"),
    # ifHCOutOctets / ifOutOctets: octets sent
    "netmon_interface_transmit_bytes_total": (f"{IFX}.10", f"{IF}.16"),
    "netmon_interface_receive_errors_total": (None, f"{IF}.14"),  # ifInErrors, packets
    "netmon_interface_transmit_errors_total": (None, f"{IF}.20"),  # ifOutErrors, packets
    "netmon_interface_receive_discards_total": (None, f"{IF}.13"),  # ifInDiscards, packets
    "netmon_interface_transmit_discards_total": (None, f"{IF}.19"),  # ifOutDiscards, packets
}
GAUGES = {f"netmon_interface_{m}" for m in ("speed_bytes", "oper_up", "admin_up", "mtu_bytes")}


@dataclass
class Iface:
    name: str
    hc: dict[str, int] = field(default_factory=dict)  # exported as recorded
    c32: dict[str, int] = field(default_factory=dict)  # running totals from 0
    gauge: dict[str, float] = field(default_factory=dict)


def interfaces(rec: Recording) -> dict[str, Iface]:
    """ifIndex -> what netmon must export for that interface."""
    # label values lose surrounding blanks (D-Link's ifDescr ends in a space)
    descr = {i: t.strip() for i, t in rec.texts(f"{IF}.2").items()}
    names = {i: t.strip() for i, t in rec.texts(f"{IFX}.1").items()}
    indexes = sorted(set(descr) | set(names), key=int)
    # DESIGN: interface identity is ifName, else ifDescr; a name two rows share gets "#ifIndex"
    chosen = {i: names.get(i) or descr.get(i, "") for i in indexes}
    assert all(chosen.values()), f"{rec.name}: an interface without ifName and ifDescr"
    seen = Counter(chosen.values())
    out: dict[str, Iface] = {}
    for i in indexes:
        iface = Iface(f"{chosen[i]}#{i}" if seen[chosen[i]] > 1 else chosen[i])
        for metric, (hc_oid, c32_oid) in COUNTERS.items():
            hc = rec.get(f"{hc_oid}.{i}") if hc_oid else None
            c32 = rec.get(f"{c32_oid}.{i}")
            # an HC column at 0 beside a 32-bit twin above 0 is a cheap switch's fake
            # (a real Counter64 equals its Counter32 twin modulo 2^32)
            if hc is not None and not (hc.number == 0 and c32 is not None and c32.number > 0):
                iface.hc[metric] = hc.number
            elif c32 is not None:
                iface.c32[metric] = c32.number
        high, speed = rec.get(f"{IFX}.15.{i}"), rec.get(f"{IF}.5.{i}")
        if high is not None:  # ifHighSpeed: units of 1,000,000 bits per second
            iface.gauge["netmon_interface_speed_bytes"] = high.number * 1_000_000 / 8
        elif speed is not None:  # ifSpeed: bits per second
            iface.gauge["netmon_interface_speed_bytes"] = speed.number / 8
        for metric, column in (("oper_up", 8), ("admin_up", 7)):  # ifOper/AdminStatus up(1)
            status = rec.get(f"{IF}.{column}.{i}")
            if status is not None:
                iface.gauge[f"netmon_interface_{metric}"] = float(status.number == 1)
        mtu = rec.get(f"{IF}.4.{i}")  # ifMtu: octets
        if mtu is not None:
            iface.gauge["netmon_interface_mtu_bytes"] = float(mtu.number)
        out[i] = iface
    return out


def later(rec: Recording, octets: int = 1_000_000, packets: int = 7) -> Recording:
    """The next poll: every IF-MIB counter moved on, uptimes advanced 60 s."""
    changes: dict[str, Var] = {}
    for metric, columns in COUNTERS.items():
        step = octets if metric.endswith("bytes_total") else packets
        for column in filter(None, columns):
            for i, var in rec.column(column).items():
                modulo = 2**64 if var.tag == "70" else 2**32  # a Counter32 wraps at 2^32
                oid = f"{column}.{i}"
                changes[oid] = Var(oid, var.tag, (var.number + step) % modulo)
    for oid, step in ((SYS_UPTIME, 6000), (HR_UPTIME, 6000), (ENGINE_TIME, 60)):
        if oid in rec:
            changes[oid] = Var(oid, rec[oid].tag, rec[oid].number + step)
    return rec.replaced(changes)


@pytest.mark.parametrize("name", WITH_IF_MIB)
def test_interfaces_first_poll(name: str) -> None:
    rec = load(name)
    want = interfaces(rec)
    samples = Device(name).poll(rec)
    info = [dict(s.labels) for s in samples if s.name == "netmon_interface_info"]
    descr = {i: t.strip() for i, t in rec.texts(f"{IF}.2").items()}  # stripped, as labels
    assert sorted((d["ifname"], d["ifindex"], d["ifdescr"]) for d in info) == sorted(
        (iface.name, i, descr.get(i, "")) for i, iface in want.items()
    )
    expected: Expected = {}
    for iface in want.values():
        expected.update({(m, iface.name): float(v) for m, v in iface.hc.items()})
        # netmon starts a Counter32's running total at 0 when it first sees it
        expected.update({(m, iface.name): 0.0 for m in iface.c32})
        expected.update({(m, iface.name): v for m, v in iface.gauge.items()})
    check(collect(samples, {*COUNTERS, *GAUGES}, ("ifname",)), expected)


@pytest.mark.parametrize("name", WITH_IF_MIB)
def test_interfaces_second_poll_adds_what_the_counters_moved(name: str) -> None:
    rec = load(name)
    device = Device(name)
    device.poll(rec)
    samples = device.poll(later(rec))
    expected: Expected = {}
    for iface in interfaces(rec).values():
        for metric, raw in iface.hc.items():
            expected[(metric, iface.name)] = float(raw + 1_000_000)
        for metric in iface.c32:  # a wrap (airos6 eth0 is 1 MB below 2^32) still adds 1 MB
            expected[(metric, iface.name)] = 1_000_000.0 if metric.endswith("bytes_total") else 7.0
    got = collect(samples, set(COUNTERS), ("ifname",))
    check(got, expected)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_uptime_and_identity(name: str) -> None:
    rec = load(name)
    samples = Device(name).poll(rec)
    if HR_UPTIME in rec:  # HOST-RESOURCES-MIB hrSystemUptime: TimeTicks, 1/100 s
        want = [rec[HR_UPTIME].number / 100]
    elif ENGINE_TIME in rec:  # SNMP-FRAMEWORK-MIB snmpEngineTime: seconds
        want = [float(rec[ENGINE_TIME].number)]
    elif SYS_UPTIME in rec:  # SNMPv2-MIB sysUpTime: TimeTicks, 1/100 s
        want = [rec[SYS_UPTIME].number / 100]
    else:
        want = []  # linux.snmprec has no uptime object at all: no series, not 0
    assert scalar(samples, "netmon_device_uptime_seconds") == pytest.approx(want)
    info = [dict(s.labels) for s in samples if s.name == "netmon_device_info"]
    assert len(info) == 1
    sys_oid = rec["1.3.6.1.2.1.1.2.0"].text
    assert info[0]["sys_object_id"] == sys_oid
    # IANA enterprise numbers; airOS answers with 10002 (Frogfoot), netmon calls it Ubiquiti
    vendors = {"14988": "MikroTik", "10002": "Ubiquiti", "2011": "Huawei", "8072": "Net-SNMP"}
    vendors |= {"9": "Cisco", "30065": "Arista", "11863": "TP-Link", "41112": "Ubiquiti"}
    vendors |= {"171": "D-Link"}
    if "ltu" in PROFILES[name]:  # a Net-SNMP agent; UBNT-AFLTU-MIB says what the radio is
        assert info[0]["vendor"] == "Ubiquiti"
        assert info[0]["model"] == rec[f"{LTU}.3.2.0"].text  # afLTUDevModel
        assert info[0]["firmware"] == rec[f"{LTU}.3.4.0"].text  # afLTUFirmwareVersion
    else:
        assert info[0]["vendor"] == vendors[sys_oid.split(".")[6]]
    if "airos" in PROFILES[name]:
        assert info[0]["model"] == rec.first_text(DOT11_NAME)
        assert info[0]["firmware"] == rec.first_text(DOT11_VERSION)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_no_two_series_share_a_label_set(name: str) -> None:
    samples = Device(name).poll(load(name))
    keys = Counter((s.name, s.labels) for s in samples)
    assert [k for k, n in keys.items() if n > 1] == []


# --- HOST-RESOURCES-MIB and HUAWEI board table ----------------------------------------------


@pytest.mark.parametrize("name", ["linux", "routeros"])
def test_host_resources_values(name: str) -> None:
    rec = load(name)
    want: Expected = {}
    # hrProcessorLoad: percent of the last minute the processor was not idle
    for cpu, var in rec.column("1.3.6.1.2.1.25.3.3.1.2").items():
        want[("netmon_host_cpu_load_ratio", cpu)] = var.number / 100
    storage = "1.3.6.1.2.1.25.2.3.1"  # hrStorageSize/Used in hrStorageAllocationUnits bytes
    units, descr = rec.numbers(f"{storage}.4"), rec.texts(f"{storage}.3")
    for column, metric in ((5, "size"), (6, "used")):
        for i, var in rec.column(f"{storage}.{column}").items():
            want[(f"netmon_host_storage_{metric}_bytes", descr[i])] = float(var.number * units[i])
    samples = Device(name).poll(rec)
    got = collect(samples, {m for m, _ in want}, ("cpu", "storage"))
    want = {(m, f"{k}/" if m.endswith("ratio") else f"/{k}"): v for (m, k), v in want.items()}
    assert len(want) >= 3
    check(got, want)


def test_smartax_board_values() -> None:
    rec = load("smartax")
    board = "1.3.6.1.4.1.2011.2.6.7.1.1.2.1"  # hwBoardTable, index frame.slot
    want: Expected = {}
    for index, var in rec.column(f"{board}.5").items():  # hwMusaBoardCpuRate: percent
        if var.number != -1:  # -1: the board gives no reading (the uplink boards)
            want[("netmon_board_cpu_ratio", index.replace(".", "/"))] = var.number / 100
    for index, var in rec.column(f"{board}.10").items():  # hwMusaBoardTemperature: Celsius
        if var.number not in (-1, 2**31 - 1):
            want[("netmon_board_temperature_celsius", index.replace(".", "/"))] = var.number
    samples = Device("smartax").poll(rec)
    got = collect(samples, {m for m, _ in want}, ("frame", "slot"))
    assert len(want) == 28  # 15 boards; two of them read CPU -1
    check(got, want)
    info = [dict(s.labels) for s in samples if s.name == "netmon_board_info"]
    types = {f"{d['frame']}/{d['slot']}": d["board_type"] for d in info}  # hwMusaBoardType
    assert types == {i.replace(".", "/"): t for i, t in rec.texts(f"{board}.7").items()}
