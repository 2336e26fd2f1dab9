"""Issue 10's SNMP defects, one test each, on the engine with hand-made polls.

Every expected number is worked out in the test from the MIB's definition:
Counter32 wraps at 2^32, ifSpeed is bit/s, ifHighSpeed Mbit/s, TimeTicks are
hundredths of a second, MIKROTIK-MIB optical power is Integer32 in 0.001 dBm.
"""

from __future__ import annotations

from collections import Counter

from collectors.snmp.engine import DeviceState, Engine, RawPoll, TableWalk, Varbinds
from collectors.snmp.profile import builtin_profiles, parse_profile
from netmon.api import Labels, Sample
from tests.helpers import walk_of

BASE: Labels = (("site", "s"), ("device", "d"))
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
OPT = "1.3.6.1.4.1.14988.1.1.19.1.1"
MT_WL = "1.3.6.1.4.1.14988.1.1.1.3.1"


def engine(*profiles: str, interval: float = 60.0) -> Engine:
    return Engine([builtin_profiles()[p] for p in profiles], interval, 4096)


def run(
    e: Engine, state: DeviceState, now: float, scalars: dict[str, object], **tables: Varbinds
) -> tuple[list[Sample], Counter[str]]:
    raw = RawPoll(dict(scalars), {k.replace("__", "."): walk(k, v) for k, v in tables.items()})  # type: ignore[arg-type]
    result = e.map(raw, state, BASE, now)
    return [s for p in result.parts for s in p.samples], result.dropped


def walk(key: str, varbinds: Varbinds) -> TableWalk:
    """Group varbinds by the subtrees the profile's table walks, as the walker would."""
    profile, table = key.split("__")
    spec = next(t for t in builtin_profiles()[profile].tables if t.name == table)
    return {r: [(o, v) for o, v in varbinds if o.startswith(r + ".")] for r in spec.walk}


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    want = set(labels.items())
    found = [s.value for s in samples if s.name == name and want <= set(s.labels)]
    assert len(found) <= 1, found
    return found[0] if found else None


def port(index: int, name: bytes, **cols: int) -> Varbinds:
    numbers = {"speed": 5, "in": 10, "out": 16}
    out: Varbinds = [(f"{IF}.2.{index}", name)]
    out += [(f"{IF}.{numbers[c]}.{index}", v) for c, v in cols.items() if c in numbers]
    xnumbers = {"hcin": 6, "high": 15, "disc": 19}
    out += [(f"{IFX}.{xnumbers[c]}.{index}", v) for c, v in cols.items() if c in xnumbers]
    return sorted(out)


# -- item 1: one failed poll forgets the device ----------------------------------------


def test_a_reboot_while_unreachable_is_counted_at_the_next_answer() -> None:
    """1060 s of uptime, ten minutes dark, then 3 s: the device rebooted in between."""
    e, state = engine("system", "if_mib"), DeviceState()
    s, _ = run(e, state, 0.0, {SYS_UPTIME: 106_000}, if_mib__interfaces=port(1, b"e1", **{"in": 0}))
    assert value(s, "netmon_device_reboots_total") == 0
    s, _ = run(e, state, 600.0, {SYS_UPTIME: 300})
    assert value(s, "netmon_device_reboots_total") == 1
    assert value(s, "netmon_snmp_resets_total", reason="reboot") == 0  # no 32-bit row yet


def test_a_reboot_that_outlasted_the_old_uptime_is_still_a_reboot() -> None:
    """Up 100 s, dark an hour, now up 3000 s: it booted 50 minutes ago, after the last poll."""
    e, state = engine("system"), DeviceState()
    run(e, state, 0.0, {SYS_UPTIME: 10_000})
    s, _ = run(e, state, 3600.0, {SYS_UPTIME: 300_000})
    assert value(s, "netmon_device_reboots_total") == 1


def test_32bit_totals_continue_across_lost_polls() -> None:
    """The state is kept: three polls lost, the total goes on from where it was."""
    e, state = engine("if_mib"), DeviceState()
    mbit100 = 100_000_000
    s, _ = run(e, state, 0.0, {}, if_mib__interfaces=port(1, b"e1", speed=mbit100, **{"in": 1000}))
    assert value(s, "netmon_interface_receive_bytes_total") == 0
    s, _ = run(
        e, state, 240.0, {}, if_mib__interfaces=port(1, b"e1", speed=mbit100, **{"in": 9000})
    )
    assert value(s, "netmon_interface_receive_bytes_total") == 8000


# -- item 2: a cleared counter on a slow link is no wrap --------------------------------


def poll_in(e: Engine, state: DeviceState, at: float, raw: int, **cols: int) -> list[Sample]:
    s, _ = run(e, state, at, {}, if_mib__interfaces=port(1, b"e1", **{"in": raw}, **cols))
    return s


def test_a_cleared_counter_on_a_10_mbit_link_is_not_a_wrap() -> None:
    """3.0e9 -> 5000 in 60 s: a wrap would be 1.29 GB; 10 Mbit/s carries 75 MB a minute."""
    e, state = engine("if_mib"), DeviceState()
    poll_in(e, state, 0.0, 2_000_000_000, speed=10_000_000)
    s = poll_in(e, state, 60.0, 3_000_000_000, speed=10_000_000)
    assert value(s, "netmon_interface_receive_bytes_total") == 1_000_000_000
    s = poll_in(e, state, 120.0, 5_000, speed=10_000_000)
    assert value(s, "netmon_interface_receive_bytes_total") == 1_000_005_000
    assert value(s, "netmon_snmp_resets_total", reason="cleared") == 1


def test_a_wrap_the_line_could_carry_is_a_wrap() -> None:
    e, state = engine("if_mib"), DeviceState()
    poll_in(e, state, 0.0, 2**32 - 1_000_000, speed=100_000_000)
    s = poll_in(e, state, 60.0, 500_000, speed=100_000_000)
    assert value(s, "netmon_interface_receive_bytes_total") == 1_500_000
    assert value(s, "netmon_snmp_resets_total", reason="cleared") == 0


def test_unknown_speed_makes_a_decrease_ambiguous() -> None:
    """PPPoE and tunnels say ifSpeed 0: the number of wraps is unknowable."""
    e, state = engine("if_mib"), DeviceState()
    poll_in(e, state, 0.0, 2**32 - 1000, speed=0)
    s = poll_in(e, state, 60.0, 700, speed=0)
    assert value(s, "netmon_interface_receive_bytes_total") == 700
    assert value(s, "netmon_snmp_resets_total", reason="ambiguous") == 1


def test_a_discontinuity_time_that_moved_is_a_reset() -> None:
    e, state = engine("if_mib"), DeviceState()
    poll_in(e, state, 0.0, 500_000, speed=100_000_000, disc=0)
    s = poll_in(e, state, 60.0, 600_000, speed=100_000_000, disc=0)
    assert value(s, "netmon_interface_receive_bytes_total") == 100_000
    s = poll_in(e, state, 120.0, 2_000, speed=100_000_000, disc=1234)
    assert value(s, "netmon_interface_receive_bytes_total") == 102_000
    assert value(s, "netmon_snmp_resets_total", reason="discontinuity") == 1


def test_interfaces_that_can_wrap_between_polls_are_flagged_once() -> None:
    """1 Gbit/s x 60 s = 7.5 GB > 2^32 on a 32-bit-only interface."""
    e, state = engine("if_mib"), DeviceState()
    raw = RawPoll(
        {}, {"if_mib.interfaces": walk_of(port(1, b"e1", speed=1_000_000_000, **{"in": 5}))}
    )
    first = e.map(raw, state, BASE, 0.0)
    samples = [s for p in first.parts for s in p.samples]
    assert value(samples, "netmon_interface_wrap_risk", ifname="e1") == 1
    assert first.wrap_risks == ["e1"]
    assert e.map(raw, state, BASE, 60.0).wrap_risks == []  # logged once, series stays
    slow = RawPoll(
        {}, {"if_mib.interfaces": walk_of(port(1, b"e1", speed=100_000_000, **{"in": 5}))}
    )
    samples = [s for p in e.map(slow, DeviceState(), BASE, 0.0).parts for s in p.samples]
    assert value(samples, "netmon_interface_wrap_risk") is None


def test_hc_columns_stuck_at_zero_fall_back_to_32_bit() -> None:
    e, state = engine("if_mib"), DeviceState()
    s = poll_in(e, state, 0.0, 4000, speed=100_000_000, hcin=0)
    assert value(s, "netmon_interface_receive_bytes_total") == 0  # the 32-bit total from 0
    s = poll_in(e, state, 60.0, 9000, speed=100_000_000, hcin=0)
    assert value(s, "netmon_interface_receive_bytes_total") == 5000
    assert value(s, "netmon_snmp_hc_fallbacks_total", reason="hc_stuck") == 1


def test_hc_columns_that_wrap_at_2_32_fall_back_and_the_total_goes_on() -> None:
    e, state = engine("if_mib"), DeviceState()
    top = 2**32 - 1000
    s = poll_in(e, state, 0.0, top, speed=100_000_000, hcin=top)
    assert value(s, "netmon_interface_receive_bytes_total") == top  # HC trusted so far
    s = poll_in(e, state, 60.0, 3000, speed=100_000_000, hcin=3000)
    # the fake HC wrapped like a Counter32: the total goes on from 2^32-1000 by 4000
    assert value(s, "netmon_interface_receive_bytes_total") == top + 4000
    assert value(s, "netmon_snmp_hc_fallbacks_total", reason="hc_wraps_32") == 1


# -- item 3: sentinels become readings --------------------------------------------------


def optical_row(index: int, name: bytes, **cols: int) -> Varbinds:
    numbers = {"wavelength": 5, "temperature": 6, "voltage": 7, "bias": 8, "tx": 9, "rx": 10}
    out: Varbinds = [(f"{OPT}.2.{index}", name)]
    out += [(f"{OPT}.{numbers[c]}.{index}", v) for c, v in cols.items()]
    return out


def test_swos_gauge32_no_reading_is_dropped_not_exported() -> None:
    """SwOS sends -128 as Gauge32 4294967168: a sentinel, not 4294967168 C or +4294967 dBm."""
    e, state = engine("mikrotik"), DeviceState()
    row = optical_row(
        1, b"sfp1", wavelength=131000, temperature=4294967168, tx=4294962417, rx=4294967168
    )
    s, dropped = run(e, state, 0.0, {}, mikrotik__optical=row)
    assert value(s, "netmon_optical_temperature_celsius") is None
    assert value(s, "netmon_optical_rx_power_dbm") is None
    # -4879 sent as Gauge32 (2^32 - 4879) is the MIB's Integer32 -4879: -4.879 dBm
    assert value(s, "netmon_optical_tx_power_dbm") == -4.879
    assert value(s, "netmon_optical_wavelength_meters") == 1.31e-6
    assert dropped["sentinel"] == 2


def test_values_outside_their_unit_range_are_dropped_as_implausible() -> None:
    profile = parse_profile(
        {
            "name": "odd",
            "description": "a vendor table nobody has met",
            "scalars": {"t": {"oid": "1.3.6.1.4.1.9999.1.0"}, "v": {"oid": "1.3.6.1.4.1.9999.2.0"}},
            "metrics": [
                {"name": "netmon_device_temperature_celsius", "help": "h", "value": "t"},
                {"name": "netmon_device_supply_voltage_volts", "help": "h", "value": "v"},
            ],
        },
        "odd.yaml",
    )
    e = Engine([profile], 60.0, 4096)
    raw = RawPoll({"1.3.6.1.4.1.9999.1.0": 65535, "1.3.6.1.4.1.9999.2.0": -48}, {})
    result = e.map(raw, DeviceState(), BASE, 0.0)
    samples = [s for p in result.parts for s in p.samples]
    assert value(samples, "netmon_device_temperature_celsius") is None
    assert value(samples, "netmon_device_supply_voltage_volts") == -48  # a -48 V rectifier
    assert result.dropped["implausible"] == 1


def test_a_port_with_no_module_yields_no_optical_series() -> None:
    e = engine("mikrotik")
    rows = optical_row(5, b"SFP", wavelength=0, temperature=4294967168, voltage=0, bias=0)
    rows += optical_row(6, b"", wavelength=4294967168, temperature=0, voltage=0, bias=0)
    s, _ = run(e, DeviceState(), 0.0, {}, mikrotik__optical=rows)
    assert [x for x in s if x.name.startswith("netmon_optical_")] == []


def test_a_module_without_a_wavelength_reading_keeps_its_other_readings() -> None:
    """Copper and DAC modules say no wavelength; their voltage still is a reading."""
    rows = optical_row(7, b"sfp2", wavelength=4294967168, voltage=3300, rx=-7000)
    s, dropped = run(engine("mikrotik"), DeviceState(), 0.0, {}, mikrotik__optical=rows)
    assert value(s, "netmon_optical_supply_voltage_volts") == 3.3
    assert value(s, "netmon_optical_rx_power_dbm") == -7.0
    assert value(s, "netmon_optical_wavelength_meters") is None
    assert dropped["sentinel"] == 1


# -- item 4: two rows, one label set ----------------------------------------------------


def test_two_optical_rows_with_one_name_get_two_label_sets() -> None:
    """ "SFP" and "" (which resolves to the ifName "SFP"): both stay, told apart by index."""
    e = engine("if_mib", "mikrotik")
    rows = optical_row(5, b"SFP", wavelength=131000, temperature=30, rx=-5000)
    rows += optical_row(6, b"", wavelength=131000, temperature=31, rx=-6000)
    ifs = port(6, b"SFP")
    s, _ = run(e, DeviceState(), 0.0, {}, if_mib__interfaces=ifs, mikrotik__optical=rows)
    rx = {dict(x.labels)["ifname"]: x.value for x in s if x.name == "netmon_optical_rx_power_dbm"}
    assert rx == {"SFP#5": -5.0, "SFP#6": -6.0}
    keys = [(x.name, x.labels) for x in s]
    assert len(keys) == len(set(keys))


# -- item 5: units that depend on firmware ----------------------------------------------

AIROS_FW = "1.2.840.10036.3.1.2.1.4"
AIROS_RATE = "1.3.6.1.4.1.41112.1.4.5.1.9.1"


def test_airos_m_series_rate_is_kbit_per_second() -> None:
    e = engine("airos")
    for firmware, raw_rate, expected in [
        (b"XM.ar7240.v6.3.11.34009.210325.1502", 130_000, 130_000 * 1000 / 8),  # kbit/s
        (b"XW.ar934x.v5.6.3.28591.151130.1749", 65_000, 65_000 * 1000 / 8),
        (b"WA.ar934x.v8.6.2.41239.190822.1633", 130_000_000, 130_000_000 / 8),  # bit/s
    ]:
        raw = RawPoll(
            {AIROS_FW: firmware},
            {
                "airos.radio": {
                    "1.3.6.1.4.1.41112.1.4.1.1": [],
                    "1.3.6.1.4.1.41112.1.4.5.1": [(AIROS_RATE, raw_rate)],
                }
            },
        )
        samples = [s for p in e.map(raw, DeviceState(), BASE, 0.0).parts for s in p.samples]
        assert value(samples, "netmon_wireless_tx_rate_bytes_per_second") == expected, firmware


def test_a_poll_that_loses_the_firmware_keeps_the_unit() -> None:
    e, state = engine("airos"), DeviceState()
    tables = {
        "airos.radio": {
            "1.3.6.1.4.1.41112.1.4.1.1": [],
            "1.3.6.1.4.1.41112.1.4.5.1": [(AIROS_RATE, 130_000)],
        }
    }
    e.map(RawPoll({AIROS_FW: b"XM.ar7240.v6.3.11"}, tables), state, BASE, 0.0)  # type: ignore[arg-type]
    later = e.map(RawPoll({}, tables), state, BASE, 60.0)  # type: ignore[arg-type]
    samples = [s for p in later.parts for s in p.samples]
    assert value(samples, "netmon_wireless_tx_rate_bytes_per_second") == 130_000 * 1000 / 8


# -- item 6: names that flip on a partial poll ------------------------------------------


def wireless(index: int, clients: int) -> Varbinds:
    return [(f"{MT_WL}.6.{index}", clients)]


def test_ifname_survives_a_poll_that_lost_the_interfaces_table() -> None:
    e, state = engine("if_mib", "mikrotik"), DeviceState()
    run(
        e,
        state,
        0.0,
        {},
        if_mib__interfaces=port(3, b"wlan1"),
        mikrotik__wireless_interfaces=wireless(3, 7),
    )
    raw = RawPoll(
        {}, {"mikrotik.wireless_interfaces": walk("mikrotik__wireless_interfaces", wireless(3, 8))}
    )
    raw.failed_tables["if_mib.interfaces"] = "timeout"
    samples = [s for p in e.map(raw, state, BASE, 60.0).parts for s in p.samples]
    assert value(samples, "netmon_wireless_clients", ifname="wlan1") == 8
    assert value(samples, "netmon_wireless_clients", ifname="ifindex-3") is None


def test_counter_state_of_interfaces_that_are_gone_is_pruned() -> None:
    e, state = engine("if_mib"), DeviceState()
    both = port(1, b"e1", **{"in": 5}) + port(9, b"pppoe-out", **{"in": 7})
    run(e, state, 0.0, {}, if_mib__interfaces=sorted(both))
    assert {k[1] for k in state.counters} == {"1", "9"}
    run(e, state, 60.0, {}, if_mib__interfaces=port(1, b"e1", **{"in": 6}))
    assert {k[1] for k in state.counters} == {"1"}
    assert state.ifnames == {"1": "e1"}
