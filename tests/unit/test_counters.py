"""The counter and uptime rules, table by table (collectors/snmp/counters.py).

Expected values are worked out by hand from the definitions: a Counter32
wraps at 2^32 (RFC 2578 section 7.1.6); TimeTicks are hundredths of a second
and wrap at 2^32 too (497.1 days); a 10 Mbit/s line carries 1.25 MB/s.
"""

from __future__ import annotations

import math

import pytest

from collectors.snmp.counters import (
    COUNTER32_WRAP,
    Fake,
    Reset,
    extend32,
    fake_hc,
    is_reboot,
    line_capacity,
    wrap_risk,
)
from netmon.plausible import RANGES, plausible, unit_range

MBIT10 = 10_000_000 / 8  # bytes per second
GBIT1 = 1_000_000_000 / 8
WRAP_S = 2**32 / 100  # TimeTicks wrap, in seconds


@pytest.mark.parametrize(
    ("last", "now", "elapsed", "ticks", "rebooted", "why"),
    [
        (None, 5.0, 60.0, True, False, "first reading"),
        (1000.0, 1060.0, 60.0, True, False, "normal poll"),
        (1000.0, 1000.0, 60.0, True, False, "frozen uptime (a recording) is no reboot"),
        (12.34, 12.34, 3600.0, True, False, "a small frozen uptime polled an hour later"),
        (1000.0, 3.0, 60.0, True, True, "went backwards"),
        # the case: 1060 s -> 3 s across an outage
        (1060.0, 3.0, 600.0, True, True, "rebooted while unreachable"),
        # down for an hour, rebooted 50 min ago: uptime 3000 s is above the last 100 s
        (100.0, 3000.0, 3600.0, True, True, "outage outlasted the previous uptime"),
        (5000.0, 8600.0, 3600.0, True, False, "an hour of lost polls, no reboot"),
        (WRAP_S - 30, 20.0, 50.0, True, False, "TimeTicks wrap, right on time"),
        (WRAP_S - 30, 20.0, 50.0, False, True, "snmpEngineTime (no TimeTicks) does not wrap there"),
        (1000.0, 5000.0, 60.0, True, False, "uptime that jumps ahead is no reboot"),
        (WRAP_S - 3000, 5.0, 60.0, True, True, "a drop far from the wrap point"),
    ],
)
def test_reboot(
    last: float | None, now: float, elapsed: float, ticks: bool, rebooted: bool, why: str
) -> None:
    assert is_reboot(last, now, elapsed, 60.0, ticks=ticks) is rebooted, why


@pytest.mark.parametrize(
    ("last", "raw", "speed", "elapsed", "total", "reset", "why"),
    [
        (None, 123, MBIT10, 60.0, 0, None, "first reading: a clean zero"),
        (1000, 5000, MBIT10, 60.0, 4000, None, "a normal delta"),
        (COUNTER32_WRAP - 1000, 500, MBIT10, 60.0, 1500, None, "a wrap the line could carry"),
        # the case: cleared on a 10 Mbit/s link, the wrap reading would be 1.29 GB
        (3_000_000_000, 5_000, MBIT10, 60.0, 5_000, Reset.CLEARED, "cleared"),
        (COUNTER32_WRAP - 1000, 500, None, 60.0, 500, Reset.AMBIGUOUS, "speed unknown"),
        # 1 Gbit/s for 60 s is 7.5 GB: one wrap or two, nobody can tell
        (COUNTER32_WRAP - 1000, 500, GBIT1, 60.0, 500, Reset.AMBIGUOUS, "line carries 2^32"),
        # 10 Mbit/s for an hour of lost polls is 4.5 GB: ambiguous too
        (COUNTER32_WRAP - 1000, 500, MBIT10, 3600.0, 500, Reset.AMBIGUOUS, "long outage"),
    ],
)
def test_extend32(
    last: int | None,
    raw: int,
    speed: float | None,
    elapsed: float,
    total: int,
    reset: Reset | None,
    why: str,
) -> None:
    step = extend32(last, 0, raw, capacity=line_capacity(speed, elapsed))
    assert (step.total, step.reset) == (total, reset), why


def test_extend32_reboot_and_discontinuity_take_the_raw_value() -> None:
    step = extend32(9000, 100, 700, capacity=1e12, reboot=True)
    assert (step.total, step.reset) == (800, Reset.REBOOT)
    step = extend32(900, 100, 9700, capacity=1e12, discontinuity=True)
    assert (step.total, step.reset) == (9800, Reset.DISCONTINUITY)


def test_packet_counters_use_the_smallest_frame() -> None:
    # 10 Mbit/s = 1.25 MB/s = 19,531 frames of 64 bytes a second
    cap = line_capacity(MBIT10, 60.0, packets=True)
    assert cap is not None
    assert math.isclose(cap, MBIT10 / 64 * (60 * 1.25 + 5))
    # a packet counter that dropped by 3e9 on that line was cleared, not wrapped
    step = extend32(3_000_000_000, 0, 10, capacity=cap)
    assert step.reset is Reset.CLEARED


@pytest.mark.parametrize(
    ("last_hc", "hc", "c32", "reset", "fake"),
    [
        (None, 0, 12345, False, Fake.STUCK),
        (None, 0, 0, False, None),  # an idle port
        (5000, 5100, 5100, False, None),
        (COUNTER32_WRAP - 10, 100, 100, False, Fake.WRAPS_32),
        (COUNTER32_WRAP - 10, 100, 100, True, None),  # a reboot restarts a real one too
        (3 * COUNTER32_WRAP, 3 * COUNTER32_WRAP + 100, 100, False, None),  # beyond 2^32
    ],
)
def test_fake_hc(last_hc: int | None, hc: int, c32: int, reset: bool, fake: Fake | None) -> None:
    assert fake_hc(last_hc, hc, c32, reset=reset) is fake


def test_wrap_risk_is_speed_times_interval_against_2_32() -> None:
    # 2^32 bytes in 60 s needs 71.6 MB/s (573 Mbit/s)
    assert not wrap_risk(100_000_000 / 8, 60.0)
    assert wrap_risk(GBIT1, 60.0)
    assert not wrap_risk(None, 60.0)
    assert wrap_risk(100_000_000 / 8, 600.0)  # a VSAT-style 10 min interval at 100 Mbit/s


@pytest.mark.parametrize(
    ("metric", "inside", "outside"),
    [
        ("netmon_optical_rx_power_dbm", [-40.0, -5.673, 3.0], [4294967.168, -200.0]),
        ("netmon_wireless_signal_dbm", [-95.0, -43.0], [4294967168.0]),
        ("netmon_optical_temperature_celsius", [-20.0, 40.0, 95.0], [4294967168.0, -128.5]),
        ("netmon_power_battery_volts", [-48.0, 12.6, 54.0], [6553.5, 1e300]),
        ("netmon_optical_bias_current_amperes", [0.007, 0.0], [65.535e3]),
        ("netmon_power_battery_ratio", [0.0, 0.42, 1.0], [-0.5, 1.5]),
        ("netmon_optical_wavelength_meters", [8.5e-7, 1.31e-6], [-1.0]),
        ("netmon_device_uptime_seconds", [0.0, 20205.0], [-1.0, 1e12]),
        ("netmon_power_last_report_timestamp_seconds", [1.7e9, 2.5e9], [0.0, 86400.0, 1e300]),
    ],
)
def test_each_unit_family_has_one_range(
    metric: str, inside: list[float], outside: list[float]
) -> None:
    assert unit_range(metric) is not None
    for value in inside:
        assert plausible(metric, value), (metric, value)
    for value in outside:
        assert not plausible(metric, value), (metric, value)


def test_nan_infinite_and_counters() -> None:
    assert not plausible("netmon_interface_speed_bytes", math.nan)
    assert not plausible("netmon_optical_rx_power_dbm", math.inf)
    # counters and unitless values have no range, only finiteness
    assert plausible("netmon_interface_receive_bytes_total", 2.0**70)
    assert unit_range("netmon_device_seconds_total") is None
    assert set(RANGES) >= {"dbm", "celsius", "volts", "amperes", "ratio", "meters", "seconds"}
