"""Expected values read straight from the real recordings, by the MIBs' definitions.

Each recording is read with tests/snmprec_reader.py, not with netmon's decoder; the
test applies the MIB object's definition (unit, scale, "no reading") to the recorded
value to get what netmon must export, maps the same recording through netmon's
engine, and compares. Recordings: the five in shared/testdata/snmprec and the ones in
tests/recordings (its README gives source, commit, licence and quirks of each).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

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
#: Gauge32 2^32-128: "no reading" in MikroTik's mtxrOpticalTable (SwOS), never a value
NO_READING = 2**32 - 128
PROFILES: dict[str, list[str]] = {
    "routeros": ["system", "if_mib", "mikrotik", "host_resources"],
    "airos_airos8": ["system", "if_mib", "airos"],
    "vrp_ce12804-withvrf": ["system", "if_mib"],
    "smartax": ["system", "huawei_olt"],
    "linux": ["system", "host_resources"],
    # tests/recordings; a SwOS switch gets what a user would apply to it: mikrotik
    "swos": ["system", "if_mib", "mikrotik"],
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
AIROS = sorted(n for n, p in PROFILES.items() if "airos" in p)

SYS_UPTIME, HR_UPTIME = "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.25.1.1.0"
ENGINE_TIME = "1.3.6.1.6.3.10.2.1.3.0"
IF, IFX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
OPT = "1.3.6.1.4.1.14988.1.1.19.1.1"  # MIKROTIK-MIB mtxrOpticalTable
UBNT = "1.3.6.1.4.1.41112.1.4"  # UBNT-AirMAX-MIB
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


# --- UBNT-AirMAX-MIB and IEEE802dot11-MIB --------------------------------------------------


def airos_expected(rec: Recording, rates: bool) -> Expected:
    out: Expected = {}
    if not rates:
        for radio, var in rec.column(f"{UBNT}.1.1.4").items():  # ubntRadioFreq: MHz
            out[("netmon_wireless_frequency_hertz", radio)] = var.number * 1e6
        for radio, var in rec.column(f"{UBNT}.1.1.6").items():  # ubntRadioTxPower: dBm
            out[("netmon_wireless_tx_power_dbm", radio)] = float(var.number)
    per_metric = {
        "netmon_wireless_signal_dbm": (5, 1.0),  # ubntWlStatSignal "Signal strength, dBm"
        "netmon_wireless_noise_floor_dbm": (8, 1.0),  # ubntWlStatNoiseFloor, dBm
        "netmon_wireless_ccq_ratio": (7, 0.01),  # ubntWlStatCcq "CCQ in %"
        "netmon_wireless_clients": (15, 1.0),  # ubntWlStatStaCount "Station count"
    }
    if rates:
        # ubntWlStatTxRate/RxRate ("TX rate", no unit in the MIB): bit/s on airOS 8,
        # kbit/s on airOS 5.x/6.x (M-series); the firmware is in dot11manufacturerProductVersion
        version = rec.first_text(DOT11_VERSION) or ""
        major = re.search(r"\.v(\d+)\.", version)
        assert major, f"{rec.name}: no airOS version in {version!r}"
        per_second = 1000 / 8 if int(major.group(1)) < 8 else 1 / 8  # bytes/s per MIB unit
        per_metric = {
            "netmon_wireless_tx_rate_bytes_per_second": (9, per_second),
            "netmon_wireless_rx_rate_bytes_per_second": (10, per_second),
        }
    for metric, (column, scale) in per_metric.items():
        for radio, var in rec.column(f"{UBNT}.5.1.{column}").items():
            out[(metric, radio)] = var.number * scale
    return out


@pytest.mark.parametrize("name", AIROS)
def test_airos_radio_values(name: str) -> None:
    rec = load(name)
    # the radio's own signal is stat="link"; the stations' (below) min and median
    want = {
        (m, f"{radio}/link" if m == "netmon_wireless_signal_dbm" else f"{radio}/"): v
        for (m, radio), v in airos_expected(rec, rates=False).items()
    }
    signals: dict[str, list[int]] = {}  # ubntStaSignal, dBm; index: radio, station MAC (6)
    for index, var in rec.column(f"{UBNT}.7.1.3").items():
        signals.setdefault(index.split(".")[0], []).append(var.number)
    for radio, values in signals.items():  # no per-station series: DESIGN's privacy rule
        want[("netmon_wireless_signal_dbm", f"{radio}/min")] = float(min(values))
        want[("netmon_wireless_signal_dbm", f"{radio}/median")] = statistics.median(values)
        want[("netmon_wireless_registered_stations", f"{radio}/")] = float(len(values))
    got = collect(Device(name).poll(rec), {m for m, _ in want}, ("radio", "stat"))
    check(got, want)


@pytest.mark.parametrize("name", AIROS)
def test_airos_link_rate_unit_follows_firmware(name: str) -> None:
    rec = load(name)
    want = airos_expected(rec, rates=True)
    got = collect(Device(name).poll(rec), {m for m, _ in want}, ("radio",))
    check(got, want)


# --- MIKROTIK-MIB --------------------------------------------------------------------------

#: metric -> (mtxrOpticalTable column, factor to the metric's unit)
OPTICAL = {
    "netmon_optical_rx_power_dbm": (10, 1e-3),  # mtxrOpticalRxPower: IDiv1000, UNITS "dBm"
    "netmon_optical_tx_power_dbm": (9, 1e-3),  # mtxrOpticalTxPower: IDiv1000, UNITS "dBm"
    "netmon_optical_temperature_celsius": (6, 1.0),  # mtxrOpticalTemperature: Gauge32 "C"
    "netmon_optical_supply_voltage_volts": (7, 1e-3),  # mtxrOpticalSupplyVoltage: GDiv1000 "V"
    "netmon_optical_bias_current_amperes": (8, 1e-3),  # mtxrOpticalTxBiasCurrent: Gauge32 "mA"
    "netmon_optical_wavelength_meters": (5, 1e-11),  # mtxrOpticalWavelength: GDiv100 "nm"
}


def optical_expected(rec: Recording) -> Expected:
    ifnames = {i: iface.name for i, iface in interfaces(rec).items()}
    names = rec.texts(f"{OPT}.2")  # mtxrOpticalName; its index is the port's ifIndex
    rows = sorted({i for c in (2, 5, 6, 7, 8, 9, 10) for i in rec.column(f"{OPT}.{c}")}, key=int)
    label = {i: names.get(i) or ifnames.get(i, "") for i in rows}
    seen = Counter(label.values())
    out: Expected = {}
    for i in rows:
        vcc = rec.get(f"{OPT}.7.{i}")
        if vcc is None or vcc.number in (0, NO_READING):
            continue  # no module in the cage: a powered SFP reads about 3.3 V (SFF-8472)
        name = f"{label[i]}#{i}" if seen[label[i]] > 1 else label[i]
        for metric, (column, scale) in OPTICAL.items():
            var = rec.get(f"{OPT}.{column}.{i}")
            if var is None or var.number == NO_READING or (column == 5 and var.number == 0):
                continue  # absent, "no reading", or no wavelength: no sample
            out[(metric, name)] = var.number * scale
    return out


@pytest.mark.parametrize("name", ["routeros", "swos"])
def test_mikrotik_optical_values(name: str) -> None:
    rec = load(name)
    got = collect(Device(name).poll(rec), set(OPTICAL), ("ifname",))
    check(got, optical_expected(rec))


@pytest.mark.parametrize("name", ["routeros", "swos"])
def test_mikrotik_health(name: str) -> None:
    rec = load(name)
    samples = Device(name).poll(rec)
    health = "1.3.6.1.4.1.14988.1.1.3"
    # mtxrHlVoltage: Voltage (DISPLAY-HINT "d-1", 0.1 V); mtxrHlTemperature: Temperature (0.1 C)
    assert scalar(samples, "netmon_device_supply_voltage_volts") == [
        pytest.approx(rec[f"{health}.8.0"].number / 10)
    ]
    assert scalar(samples, "netmon_device_temperature_celsius") == [
        pytest.approx(rec[f"{health}.10.0"].number / 10)
    ]


def test_swos_optical_no_reading_never_becomes_a_value() -> None:
    rec = load("swos")
    cells = [o for o, v in rec.column(OPT).items() if v.value == NO_READING]
    assert len(cells) == 2  # temperature of row 5, wavelength of row 6
    samples = Device("swos").poll(rec)
    forms = [NO_READING * scale for _, scale in OPTICAL.values()]
    assert [s for s in samples if any(math.isclose(s.value, f) for f in forms)] == []


def test_swos_port_without_module_has_no_optical_series() -> None:
    samples = Device("swos").poll(load("swos"))
    # both rows: supply 0 V, bias 0 mA, no power columns; wavelength 0 or "no reading"
    assert [s for s in samples if s.name.startswith("netmon_optical_")] == []


def test_swos_rows_named_sfp_and_empty_stay_two_label_sets() -> None:
    """Modules in both cages: SwOS's names, routeros' sfp1 readings, row 5's "no reading" kept."""
    rec, donor = load("swos"), load("routeros")
    changes: dict[str, Var] = {}
    for column in (5, 6, 7, 8, 9, 10):
        reading = donor[f"{OPT}.{column}.25"]
        for row in ("5", "6"):
            oid = f"{OPT}.{column}.{row}"
            if (row, column) != ("5", 6):  # row 5's temperature stays 4294967168
                changes[oid] = Var(oid, reading.tag, reading.value)
    variant = rec.replaced(changes)
    assert variant[f"{OPT}.6.5"].value == NO_READING
    device = Device("swos")
    samples = device.poll(variant)
    want = optical_expected(variant)
    # "SFP" (index 5) and "" (index 6, whose ifName is "SFP") clash: both get "#index"
    assert {label for _, label in want} == {"SFP#5", "SFP#6"}
    assert len(want) == 11  # 6 readings each, less row 5's temperature
    check(collect(samples, set(OPTICAL), ("ifname",)), want)
    assert device.dropped["sentinel"] + device.dropped["implausible"] >= 1


def test_routeros_wireless_values() -> None:
    rec = load("routeros")
    ifnames = {i: iface.name for i, iface in interfaces(rec).items()}
    ap = "1.3.6.1.4.1.14988.1.1.1.3.1"  # mtxrWlApTable, indexed by the interface's ifIndex
    want: Expected = {}  # key: (metric, "ifname/stat")
    for i, var in rec.column(f"{ap}.6").items():  # mtxrWlApClientCount
        want[("netmon_wireless_clients", f"{ifnames[i]}/")] = float(var.number)
    for i, var in rec.column(f"{ap}.10").items():  # mtxrWlApOverallTxCCQ: percent
        want[("netmon_wireless_ccq_ratio", f"{ifnames[i]}/")] = var.number / 100
    # mtxrWlApFreq "megahertz", mtxrWlApNoiseFloor dBm; a virtual AP reads 0 for both: none
    for column, metric, scale in ((7, "frequency_hertz", 1e6), (9, "noise_floor_dbm", 1.0)):
        for i, var in rec.column(f"{ap}.{column}").items():
            if var.number:
                want[(f"netmon_wireless_{metric}", f"{ifnames[i]}/")] = var.number * scale
    strength: dict[str, list[int]] = {}  # mtxrWlRtabStrength: dBm, index = MAC (6) + ifIndex
    for index, var in rec.column("1.3.6.1.4.1.14988.1.1.1.2.1.3").items():
        strength.setdefault(ifnames[index.split(".")[6]], []).append(var.number)
    for name, values in strength.items():  # summarised per interface, no per-station series
        want[("netmon_wireless_signal_dbm", f"{name}/min")] = float(min(values))
        want[("netmon_wireless_signal_dbm", f"{name}/median")] = statistics.median(values)
        want[("netmon_wireless_registered_stations", f"{name}/")] = float(len(values))
    samples = Device("routeros").poll(rec)
    got = collect(samples, {m for m, _ in want}, ("ifname", "stat"))
    check(got, want)


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


# --- ENTITY-SENSOR-MIB (RFC 3433), CISCO-ENTITY-SENSOR-MIB: transceiver DOM ---------------

ENT = "1.3.6.1.2.1.47.1.1.1.1"  # ENTITY-MIB entPhysicalDescr (2), entPhysicalContainedIn (4)
ALIAS = "1.3.6.1.2.1.47.1.3.2.1.2"  # entAliasMappingIdentifier, index entity.logical
#: recording -> the sensor table (type 1, scale 2, precision 3, value 4, status 5)
SENSORS = {
    "arista_eos_excerpt": "1.3.6.1.2.1.99.1.1.1",  # ENTITY-SENSOR-MIB entPhySensorEntry
    # CISCO-ENTITY-SENSOR-MIB entSensorValueEntry (same columns, and dBm(14))
    "ios_2960x_excerpt": "1.3.6.1.4.1.9.9.91.1.1.1.1",
}
#: ARISTA-ENTITY-SENSOR-MIB aristaEntSensorThresholdEntry: low warning 1, low critical 2,
#: high warning 3, high critical 4, in the sensor's own unit
ARISTA_THRESHOLDS = "1.3.6.1.4.1.30065.3.12.1.1.1"
THRESHOLD_NAMES = {1: "low_warning", 2: "low_alarm", 3: "high_warning", 4: "high_alarm"}
#: EntitySensorValue: -1000000000 underflow, +1000000000 overflow (no reading)
OUT_OF_RANGE = (-(10**9), 10**9)
#: EntitySensorDataType -> metric (power by direction, below)
BY_TYPE = {
    4: "netmon_optical_supply_voltage_volts",  # voltsDC
    5: "netmon_optical_bias_current_amperes",  # amperes
    8: "netmon_optical_temperature_celsius",  # celsius
}


def sensor_value(raw: int, kind: int, scale: int, precision: int) -> float | None:
    """EntitySensorDataScale: 10^(3 x (scale - 9)); EntitySensorPrecision: decimal places.
    watts(6) is exported in dBm (10 log10(P / 1 mW)), dBm(14) as it is."""
    if raw in OUT_OF_RANGE:
        return None
    value = Fraction(raw) * Fraction(10) ** (3 * (scale - 9) - precision)
    if kind == 6:
        return 10 * math.log10(value * 1000) if value > 0 else None
    return float(value)


def sensor_port(rec: Recording, index: str) -> str | None:
    """The port of a sensor: its parent's (or its own) alias ifIndex -> ifName/ifDescr,
    else the interface that ends entPhysicalDescr ("... Sensor for Ethernet1", Arista)."""
    ifnames = {i: iface.name for i, iface in interfaces(rec).items()}
    # the identifier is IF-MIB's ifIndex instance, 1.3.6.1.2.1.2.2.1.1.<ifIndex>
    aliases = {i.split(".")[0]: v.text.rsplit(".", 1)[1] for i, v in rec.column(ALIAS).items()}
    parent = rec.get(f"{ENT}.4.{index}")
    for entity in [str(parent.number)] if parent is not None else []:
        if entity in aliases:
            return ifnames[aliases[entity]]
    if index in aliases:
        return ifnames[aliases[index]]
    found = re.search(r"\bfor (\S+)$", rec[f"{ENT}.2.{index}"].text)
    return found.group(1) if found else None


def dom_expected(rec: Recording) -> Expected:
    """Per port: the weakest lane (lowest power and voltage, highest temperature and bias)
    and the strictest thresholds; a port here has one sensor of each kind anyway."""
    table = SENSORS[rec.name]
    per: dict[tuple[str, str], list[float]] = {}
    for index, kind_var in rec.column(f"{table}.1").items():
        status = rec.get(f"{table}.5.{index}")
        port = sensor_port(rec, index)
        if port is None or (status is not None and status.number != 1):  # ok(1) only
            continue
        kind, scale = kind_var.number, rec[f"{table}.2.{index}"].number
        precision = rec[f"{table}.3.{index}"].number
        descr = rec[f"{ENT}.2.{index}"].text.lower()
        if kind in (6, 14):  # watts or dBm: the direction is in the description
            direction = "rx" if re.search(r"\b(rx|receive)\b", descr) else "tx"
            metric = f"netmon_optical_{direction}_power"
        elif kind in BY_TYPE:
            metric = BY_TYPE[kind]
        else:
            continue
        raw = rec[f"{table}.4.{index}"].number
        reading = sensor_value(raw, kind, scale, precision)
        if reading is not None:
            name = f"{metric}_dbm" if kind in (6, 14) else metric
            per.setdefault((name, port), []).append(reading)
        if kind not in (6, 14):
            continue
        for column, which in THRESHOLD_NAMES.items():
            limit = rec.get(f"{ARISTA_THRESHOLDS}.{column}.{index}")
            if limit is not None:
                value = sensor_value(limit.number, kind, scale, precision)
                if value is not None:
                    per.setdefault((f"{metric}_{which}_dbm", port), []).append(value)
    strongest = ("temperature", "bias", "high_")
    return {k: (max(v) if any(w in k[0] for w in strongest) else min(v)) for k, v in per.items()}


@pytest.mark.parametrize("name", sorted(SENSORS))
def test_entity_sensor_dom_values(name: str) -> None:
    rec = load(name)
    want = dom_expected(rec)
    samples = Device(name).poll(rec)
    got = collect(samples, {n for n in {s.name for s in samples} if "_optical_" in n}, ("ifname",))
    check(got, want)


def test_arista_dom_read_by_hand() -> None:
    """A few values worked out from the recording's lines with the MIB, by hand."""
    samples = Device("arista_eos_excerpt").poll(load("arista_eos_excerpt"))
    got = collect(samples, {s.name for s in samples}, ("ifname",))
    # DOM TX Power Sensor for Ethernet1 (100301212): watts(6), milli(8), precision 4,
    # 6322: 0.6322 mW = -1.991 dBm
    assert got[("netmon_optical_tx_power_dbm", "Ethernet1")] == pytest.approx(-1.99146, abs=1e-5)
    # its RX power reads 1: 0.0001 mW = -40 dBm (a module that sees almost no light)
    assert got[("netmon_optical_rx_power_dbm", "Ethernet1")] == pytest.approx(-40.0)
    # Ethernet2's RX power reads -1000000000, the MIB's underflow: no series at all
    assert ("netmon_optical_rx_power_dbm", "Ethernet2") not in got
    # DOM TX Bias Sensor (100301211): amperes(5), milli(8), precision 2, 3345: 33.45 mA
    assert got[("netmon_optical_bias_current_amperes", "Ethernet1")] == pytest.approx(0.03345)
    # Ethernet47 RX low critical 229 (0.0229 mW, -16.40 dBm) is netmon's low alarm
    assert got[("netmon_optical_rx_power_low_alarm_dbm", "Ethernet47")] == pytest.approx(
        -16.4016, abs=1e-4
    )
    # "Cpu temp sensor" (100006001, 53.3 C) belongs to no port: no optical series
    assert 53.3 not in {round(v, 1) for (m, _), v in got.items() if "temperature" in m}


def test_cisco_dom_cpu_and_memory_read_by_hand() -> None:
    samples = Device("ios_2960x_excerpt").poll(load("ios_2960x_excerpt"))
    got = collect(samples, {s.name for s in samples}, ("ifname", "pool", "cpu"))
    # "Gi1/0/52 Receive Power Sensor" (1067): dBm(14), units(9), precision 1, -47: -4.7 dBm,
    # in module 1062, entAliasMappingIdentifier 1062.0 = ifIndex 10152, ifName Gi1/0/52
    assert got[("netmon_optical_rx_power_dbm", "Gi1/0/52//")] == -4.7
    assert got[("netmon_optical_rx_power_dbm", "Gi3/0/52//")] == -7.3
    # Bias Current Sensor (1065): amperes(5), milli(8), precision 1, 61: 6.1 mA
    assert got[("netmon_optical_bias_current_amperes", "Gi1/0/52//")] == pytest.approx(0.0061)
    # CISCO-PROCESS-MIB cpmCPUTotal5minRev (column 8) = 53 percent; the deprecated
    # cpmCPUTotal5min (column 5) reads 52: the profile must take the Rev column
    assert got[("netmon_device_cpu_ratio", "//1")] == 0.53
    # CISCO-MEMORY-POOL-MIB ciscoMemoryPoolUsed (5) / Free (6), bytes, pool 1 "Processor"
    assert got[("netmon_device_memory_used_bytes", "/Processor/")] == 50661572
    assert got[("netmon_device_memory_free_bytes", "/Processor/")] == 392203472


def test_tplink_cpu_is_the_five_minute_percent() -> None:
    rec = load("jetstream_excerpt")
    # TPLINK-SYSMONITOR-MIB tpSysMonitorCpu5Minutes (column 4), INTEGER (0..100), unit 1
    want = rec["1.3.6.1.4.1.11863.6.4.1.1.1.1.4.1"].number / 100
    samples = Device("jetstream_excerpt").poll(rec)
    assert collect(samples, {"netmon_device_cpu_ratio"}, ("unit",)) == {
        ("netmon_device_cpu_ratio", "1"): want
    }


def test_airos5_real_radio_rates_are_kbit_per_second() -> None:
    """NanoStation M5 on airOS 5.6 (XW.ar934x.v5.6-beta4): ubntWlStatTxRate 162000 and
    RxRate 120000 are kbit/s (162 Mbit/s, an HT40 two-stream rate), 20.25 and 15 MB/s."""
    samples = Device("airos5_nanostation_m5_excerpt").poll(load("airos5_nanostation_m5_excerpt"))
    assert scalar(samples, "netmon_wireless_tx_rate_bytes_per_second") == [162_000 * 1000 / 8]
    assert scalar(samples, "netmon_wireless_rx_rate_bytes_per_second") == [120_000 * 1000 / 8]
    # ubntAirMaxQuality 71 %, ubntAirMaxCapacity 41 %
    assert scalar(samples, "netmon_wireless_airmax_quality_ratio") == [0.71]
    assert scalar(samples, "netmon_wireless_airmax_capacity_ratio") == [0.41]


def test_dlink_ports_without_a_module_give_no_optical_series_and_no_decode_errors() -> None:
    """DDM-MGMT-MIB swDdmPowerInfoTable of a DES-3200-18 (R4.04.004) with no SFP in its two
    combo cages: every reading of all 18 ports is the text "  -" (no digit at all)."""
    rec = load("dlink_des3200_ddm_excerpt")
    table = rec.texts("1.3.6.1.4.1.171.12.72.2.1.1.1")
    readings = {i: t for i, t in table.items() if not i.startswith("1.")}  # column 1: port
    assert len(readings) == 5 * 18
    assert set(readings.values()) == {"  -"}
    device = Device("dlink_des3200_ddm_excerpt")
    samples = device.poll(rec)
    assert [s for s in samples if s.name.startswith("netmon_optical_")] == []
    assert device.dropped["decode"] == 0


# --- UBNT-AFLTU-MIB (LTU, airFiber 5XHD) -----------------------------------------------------

LTU_NAMES = sorted(n for n, p in PROFILES.items() if "ltu" in p)


def ltu_expected(rec: Recording) -> Expected:
    """Key: (metric, "chain/side/direction/stat")."""
    out: Expected = {}
    radio = {  # afLTUConfig / afLTUStatus scalars (.0): column, metric, factor
        (f"{LTU}.2.2.0", "netmon_wireless_frequency_hertz", 1e6),  # afLTUFrequency, "MHz"
        (f"{LTU}.2.4.0", "netmon_wireless_channel_width_hertz", 1e6),  # afLTUBandwidth, "MHz"
        (f"{LTU}.2.6.0", "netmon_wireless_tx_eirp_dbm", 1.0),  # afLTUTxEIRP "in dBm"
        (f"{LTU}.3.5.0", "netmon_device_memory_used_ratio", 0.01),  # afLTUMemoryUsage "%"
        (f"{LTU}.3.6.0", "netmon_device_cpu_ratio", 0.01),  # afLTUCpuUsage "%"
    }
    for oid, metric, factor in radio:
        if oid in rec:
            out[(metric, "///")] = rec[oid].number * factor
    station = f"{LTU}.4.1"  # afLTUStationEntry, INDEX afLTUStaRemoteMac (6 arcs)
    macs = {index.split(".", 1)[1] for index in rec.column(station)}  # column.MAC
    out[("netmon_wireless_registered_stations", "///")] = float(len(macs))
    # afLTUSta(Remote)RxPower0/1, UNITS "dBm": what this radio (local) and the station
    # (remote) receive; one value per station, summarised: no per-station series
    for column, chain, side in ((5, "0", "local"), (6, "1", "local"), (16, "0", "remote")):
        values = list(rec.numbers(f"{station}.{column}").values())
        if values:
            out[("netmon_wireless_chain_rx_power_dbm", f"{chain}/{side}//min")] = min(values)
            out[("netmon_wireless_chain_rx_power_dbm", f"{chain}/{side}//median")] = (
                statistics.median(values)
            )
    values = list(rec.numbers(f"{station}.17").values())  # afLTUStaRemoteRxPower1
    if values:
        out[("netmon_wireless_chain_rx_power_dbm", "1/remote//min")] = min(values)
        out[("netmon_wireless_chain_rx_power_dbm", "1/remote//median")] = statistics.median(values)
    for column, direction in ((3, "tx"), (4, "rx")):  # afLTUSta{Tx,Rx}Capacity, "Kbps"
        kbits = list(rec.numbers(f"{station}.{column}").values())
        if kbits:
            key = f"//{direction}/"
            out[("netmon_wireless_capacity_bytes_per_second", key + "min")] = min(kbits) * 125
            out[("netmon_wireless_capacity_bytes_per_second", key + "median")] = (
                statistics.median(kbits) * 125
            )
    # afLTUStaRemoteDistance: the MIB says km; the radios send metres (LibreNMS divides by
    # 1000 to show km). The farthest station.
    metres = list(rec.numbers(f"{station}.23").values())
    if metres:
        out[("netmon_wireless_distance_meters", "///max")] = float(max(metres))
    return out


@pytest.mark.parametrize("name", LTU_NAMES)
def test_ltu_radio_values(name: str) -> None:
    rec = load(name)
    want = ltu_expected(rec)
    samples = Device(name).poll(rec)
    got = collect(samples, {m for m, _ in want}, ("chain", "side", "direction", "stat"))
    check(got, want)
    labels = {v for s in samples for _, v in s.labels}
    macs = {i.split(".", 1)[1] for i in rec.column(f"{LTU}.4.1")}  # column.MAC
    assert not labels & macs  # DESIGN's privacy rule: the station's MAC is never a label
    assert not [v for v in labels if re.fullmatch(r"([0-9a-f]{2}[:-]){5}[0-9a-f]{2}", v.lower())]


def test_ltu_af5xhd_read_by_hand() -> None:
    """airFiber 5XHD, LTU firmware v1.4.0: 5795 MHz, 18 dBm EIRP, one station at 3844 m,
    heard at -57 / -48 dBm on chains 0 / 1, capacity 140.8 Mbit/s out, 444.8 Mbit/s in;
    two CPUs at 91 % and 22 % (hrProcessorLoad); 247768 kB of RAM, 51148 free, 6228 in
    buffers, 17224 cached (UCD memory group): 173168 kB really in use."""
    samples = Device("airos-af-ltu_1.4.0").poll(load("airos-af-ltu_1.4.0"))
    assert scalar(samples, "netmon_wireless_frequency_hertz") == [5.795e9]
    assert scalar(samples, "netmon_wireless_tx_eirp_dbm") == [18]
    assert scalar(samples, "netmon_wireless_registered_stations") == [1]
    assert scalar(samples, "netmon_wireless_distance_meters") == [3844]  # 3.8 km, not 3844 km
    assert sorted(set(scalar(samples, "netmon_wireless_chain_rx_power_dbm"))) == [-57, -48]
    capacity = collect(samples, {"netmon_wireless_capacity_bytes_per_second"}, ("direction",))
    assert set(capacity.values()) == {140_800_000 / 8, 444_800_000 / 8}
    assert sorted(scalar(samples, "netmon_host_cpu_load_ratio")) == [0.22, 0.91]
    memory = {
        m: scalar(samples, f"netmon_host_memory_{m}_bytes")[0] / 1024
        for m in ("size", "available", "buffers", "cached")
    }
    assert memory == {"size": 247768, "available": 51148, "buffers": 6228, "cached": 17224}
    in_use = memory["size"] - memory["available"] - memory["buffers"] - memory["cached"]
    assert in_use == 173168
