"""Transceiver DOM and switch health (ENTITY-SENSOR-MIB, CISCO-ENTITY-SENSOR-MIB, vendor
MIBs): expected values read straight from the real recordings, by the MIBs'
definitions, as test_recording_values.py does.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest

from tests.snmprec_reader import Recording, Var
from tests.unit.test_recording_values import (
    Device,
    Expected,
    check,
    collect,
    interfaces,
    load,
)

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


#: DDM-MGMT-MIB swDdmPowerInfoTable and swDdmPowerUnit.0 (mw(1), dbm(2); DEFVAL mw)
DDM, POWER_UNIT = "1.3.6.1.4.1.171.12.72.2.1.1.1", "1.3.6.1.4.1.171.12.72.1.3.0"
#: one module as a DES-3200 shows it (Observium's D-Link DDM walk): column -> text, per unit
MODULE = {
    "mw": {2: "45.2305", 3: "3.2477", 4: "31.584", 5: "0.0583", 6: "0.0932"},
    "dbm": {2: "45.2305", 3: "3.2477", 4: "31.584", 5: "-12.3807", 6: "-10.2826"},
}


@pytest.mark.parametrize(
    ("unit", "readings"),
    [(1, "mw"), (2, "dbm"), (None, "mw")],  # None: firmware without swDdmPowerUnit (mW)
)
def test_dlink_module_power_is_dbm_whatever_the_switch_reports_it_in(
    unit: int | None, readings: str
) -> None:
    """The real DES-3200-18 table with port 1 holding a module: power text is in the unit of
    swDdmPowerUnit.0, mW unless it says dbm(2); netmon exports dBm either way."""
    rec = load("dlink_des3200_ddm_excerpt")
    assert POWER_UNIT not in rec  # this firmware has no swDdmPowerUnit
    module = MODULE[readings]
    changes = {f"{DDM}.{c}.1": Var(f"{DDM}.{c}.1", "4", t.encode()) for c, t in module.items()}
    if unit is not None:
        changes[POWER_UNIT] = Var(POWER_UNIT, "2", unit)
    device = Device("dlink_des3200_ddm_excerpt")
    samples = device.poll(rec.replaced(changes))
    got = {s.name: s.value for s in samples if s.name.startswith("netmon_optical_")}

    def dbm(column: int) -> float:
        number = float(module[column])
        return number if readings == "dbm" else 10 * math.log10(number)  # mW -> dBm

    assert got == pytest.approx(
        {
            "netmon_optical_tx_power_dbm": dbm(5),
            "netmon_optical_rx_power_dbm": dbm(6),
            "netmon_optical_temperature_celsius": 45.2305,
            "netmon_optical_supply_voltage_volts": 3.2477,
            "netmon_optical_bias_current_amperes": 0.031584,
        }
    )
    # the same module read in mW and in dBm agrees to the 4 decimals the switch prints
    assert dbm(6) == pytest.approx(-10.2826 if readings == "dbm" else -10.3058, abs=1e-4)
    assert device.dropped["decode"] == 0
