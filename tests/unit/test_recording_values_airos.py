"""airOS radios (UBNT-AirMAX-MIB, IEEE802dot11-MIB): expected values read straight from
the real recordings, by the MIBs' definitions, as test_recording_values.py does.
"""

from __future__ import annotations

import re
import statistics

import pytest

from tests.snmprec_reader import Recording
from tests.unit.test_recording_values import (
    DOT11_VERSION,
    PROFILES,
    Device,
    Expected,
    check,
    collect,
    load,
    scalar,
)

UBNT = "1.3.6.1.4.1.41112.1.4"  # UBNT-AirMAX-MIB
AIROS = sorted(n for n, p in PROFILES.items() if "airos" in p)


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


def test_airos5_real_radio_rates_are_kbit_per_second() -> None:
    """NanoStation M5 on airOS 5.6 (XW.ar934x.v5.6-beta4): ubntWlStatTxRate 162000 and
    RxRate 120000 are kbit/s (162 Mbit/s, an HT40 two-stream rate), 20.25 and 15 MB/s."""
    samples = Device("airos5_nanostation_m5_excerpt").poll(load("airos5_nanostation_m5_excerpt"))
    assert scalar(samples, "netmon_wireless_tx_rate_bytes_per_second") == [162_000 * 1000 / 8]
    assert scalar(samples, "netmon_wireless_rx_rate_bytes_per_second") == [120_000 * 1000 / 8]
    # ubntAirMaxQuality 71 %, ubntAirMaxCapacity 41 %
    assert scalar(samples, "netmon_wireless_airmax_quality_ratio") == [0.71]
    assert scalar(samples, "netmon_wireless_airmax_capacity_ratio") == [0.41]
