"""MikroTik (MIKROTIK-MIB: optical, health, wireless): expected values read straight from
the real recordings, by the MIB's definitions, as test_recording_values.py does.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest

from tests.snmprec_reader import Recording, Var
from tests.unit.test_recording_values import (
    Device,
    Expected,
    check,
    collect,
    interfaces,
    load,
    scalar,
)

OPT = "1.3.6.1.4.1.14988.1.1.19.1.1"  # MIKROTIK-MIB mtxrOpticalTable
#: Gauge32 2^32-128: "no reading" in MikroTik's mtxrOpticalTable (SwOS), never a value
NO_READING = 2**32 - 128


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
        wavelength, bias = rec.get(f"{OPT}.5.{i}"), rec.get(f"{OPT}.8.{i}")
        # no wavelength and no bias current: a module without a laser (copper S+RJ10), whose
        # power columns read 0, i.e. 1 mW: not a reading
        laser = any(v is not None and v.number != 0 for v in (wavelength, bias))
        for metric, (column, scale) in OPTICAL.items():
            var = rec.get(f"{OPT}.{column}.{i}")
            if var is None or var.number == NO_READING or (column == 5 and var.number == 0):
                continue  # absent, "no reading", or no wavelength: no sample
            if column in (8, 9, 10) and not laser:
                continue
            out[(metric, name)] = var.number * scale
    return out


@pytest.mark.parametrize("name", ["routeros", "swos", "routeros_ccr2004-7.24"])
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


def test_a_copper_module_has_temperature_and_supply_but_no_optical_power() -> None:
    """CCR2004, RouterOS 7.24: sfp-sfpplus1 holds an S+RJ10 (10G-baseT copper): wavelength 0,
    bias 0 mA, tx and rx power 0 (0 dBm would be 1 mW of light it has no laser to make)."""
    rec = load("routeros_ccr2004-7.24")
    row = {c: rec[f"{OPT}.{c}.2"].value for c in (5, 6, 7, 8, 9, 10)}
    assert row == {5: 0, 6: 54, 7: 3352, 8: 0, 9: 0, 10: 0}
    assert rec[f"{OPT}.14.2"].text == "S+RJ10"
    samples = Device("routeros_ccr2004-7.24").poll(rec)
    got = collect(samples, set(OPTICAL), ("ifname",))
    assert got == {
        ("netmon_optical_temperature_celsius", "sfp-sfpplus1-uplink1"): 54.0,
        ("netmon_optical_supply_voltage_volts", "sfp-sfpplus1-uplink1"): 3.352,
    }


#: MIKROTIK-MIB mtxrGaugeUnit -> (metric, factor): celsius(1), rpm(2), dV(3), dA(4), dW(5)
GAUGE_UNITS = {
    1: ("netmon_device_sensor_temperature_celsius", 1.0),
    2: ("netmon_device_fan_speed_rpm", 1.0),
    3: ("netmon_device_sensor_voltage_volts", 0.1),
    4: ("netmon_device_sensor_current_amperes", 0.1),
    5: ("netmon_device_sensor_power_watts", 0.1),
}
GAUGE = "1.3.6.1.4.1.14988.1.1.3.100.1"  # mtxrGaugeTable: 2 name, 3 value, 4 unit
HEALTH = "1.3.6.1.4.1.14988.1.1.3"  # mtxrHealth: 8.0 mtxrHlVoltage, 10.0 mtxrHlTemperature


def test_routeros7_gauge_table_values() -> None:
    """RouterOS 7 on a CCR2004 has none of the mtxrHl health scalars: its temperatures and
    fans are rows of mtxrGaugeTable, each with its unit; status(6) rows are not readings."""
    rec = load("routeros_ccr2004-7.24")
    assert f"{HEALTH}.10.0" not in rec
    assert f"{HEALTH}.8.0" not in rec
    names, units = rec.texts(f"{GAUGE}.2"), rec.numbers(f"{GAUGE}.4")
    want: Expected = {}
    for index, value in rec.numbers(f"{GAUGE}.3").items():
        if units[index] in GAUGE_UNITS:
            metric, factor = GAUGE_UNITS[units[index]]
            want[(metric, names[index])] = value * factor
    assert len(want) == 7  # 5 temperatures, 2 fans; fan-state and psu1/2-state are status
    samples = Device("routeros_ccr2004-7.24").poll(rec)
    got = collect(samples, {m for m, _ in GAUGE_UNITS.values()}, ("sensor",))
    check(got, want)


def test_gauge_voltages_and_currents_are_deci_units() -> None:
    """dV, dA and dW rows (a hAP's `voltage`, a PSU's current and power) are tenths."""
    rec = load("routeros_ccr2004-7.24")
    rows = {"7201": ("voltage", 3, 243), "7301": ("psu1-current", 4, 17), "7501": ("power", 5, 305)}
    changes: dict[str, Var] = {}
    for index, (name, unit, value) in rows.items():
        for column, var_value, tag in ((2, name.encode(), "4"), (3, value, "2"), (4, unit, "2")):
            oid = f"{GAUGE}.{column}.{index}"
            changes[oid] = Var(oid, tag, var_value)
    samples = Device("routeros_ccr2004-7.24").poll(rec.replaced(changes))
    got = collect(samples, {m for m, _ in GAUGE_UNITS.values()}, ("sensor",))
    assert got[("netmon_device_sensor_voltage_volts", "voltage")] == pytest.approx(24.3)
    assert got[("netmon_device_sensor_current_amperes", "psu1-current")] == pytest.approx(1.7)
    assert got[("netmon_device_sensor_power_watts", "power")] == pytest.approx(30.5)
