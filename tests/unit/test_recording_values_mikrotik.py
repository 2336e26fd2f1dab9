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
