"""Profile mapping on the real recordings, and the counter/uptime rules."""

from __future__ import annotations

from collections import Counter

import pytest

from collectors.snmp.engine import COUNTER32_WRAP, DeviceState, Engine, RawPoll, Varbinds
from collectors.snmp.profile import ProfileError, builtin_profiles, parse_profile
from netmon.api import Labels, Sample
from tests.helpers import raw_poll, read_snmprec, walk_of

BASE: Labels = (("site", "s"), ("device", "d"))


def mapped(
    recording: str, profiles: list[str], state: DeviceState | None = None, interval: float = 60.0
) -> tuple[list[Sample], Counter[str]]:
    ps = [builtin_profiles()[p] for p in profiles]
    engine = Engine(ps, interval, 4096)
    result = engine.map(raw_poll(read_snmprec(recording), ps), state or DeviceState(), BASE)
    return [s for part in result.parts for s in part.samples], result.dropped


def series(samples: list[Sample], name: str, **labels: str) -> dict[Labels, float]:
    want = set(labels.items())
    return {s.labels: s.value for s in samples if s.name == name and want <= set(s.labels)}


def one(samples: list[Sample], name: str, **labels: str) -> float:
    found = series(samples, name, **labels)
    assert len(found) == 1, f"{name} {labels}: {found}"
    return next(iter(found.values()))


def test_every_profile_file_is_valid() -> None:
    profiles = builtin_profiles()
    wanted = {"system", "if_mib", "mikrotik", "airos", "host_resources", "huawei_olt"}
    assert wanted <= set(profiles)


def test_mikrotik_sfp_optical_values_match_the_recording() -> None:
    samples, _ = mapped("routeros", ["system", "if_mib", "mikrotik"])
    # 1.3.6.1.4.1.14988.1.1.19.1.1.10.25|2|-5673 (0.001 dBm), .9.25|2|-4879, .6.25|66|40
    assert one(samples, "netmon_optical_rx_power_dbm", ifname="sfp1") == -5.673
    assert one(samples, "netmon_optical_tx_power_dbm", ifname="sfp1") == -4.879
    assert one(samples, "netmon_optical_temperature_celsius", ifname="sfp1") == 40.0
    assert one(samples, "netmon_optical_supply_voltage_volts", ifname="sfp1") == 3.302
    assert one(samples, "netmon_optical_bias_current_amperes", ifname="sfp1") == 0.007


def test_mikrotik_health_wireless_and_identity() -> None:
    samples, _ = mapped("routeros", ["system", "if_mib", "mikrotik"])
    assert one(samples, "netmon_device_supply_voltage_volts") == 15.4  # 154 dV
    assert one(samples, "netmon_device_temperature_celsius") == 33.0  # 330 dC
    info = dict(next(iter(series(samples, "netmon_device_info"))))
    assert info["vendor"] == "MikroTik"
    assert info["firmware"] == "6.40.5"
    assert "RB952Ui-5ac2nD" in info["model"]
    # CCQ 70 % on wlan1 (ifIndex 1); 7 clients there
    assert one(samples, "netmon_wireless_ccq_ratio", ifname="wlan1") == 0.7
    assert one(samples, "netmon_wireless_clients", ifname="wlan1") == 7.0


def test_wireless_clients_are_summarised_never_listed() -> None:
    samples, _ = mapped("routeros", ["system", "if_mib", "mikrotik"])
    signal = series(samples, "netmon_wireless_signal_dbm")
    # seven stations on ifIndex 1 (wlan1): -63 -82 -85 -75 -43 -87 -91 ...
    assert one(samples, "netmon_wireless_signal_dbm", ifname="wlan1", stat="min") == -91.0
    assert one(samples, "netmon_wireless_registered_stations", ifname="wlan1") == 7.0
    # no label anywhere carries a station's MAC (the first 6 arcs of the table index)
    prefix = "1.3.6.1.4.1.14988.1.1.1.2.1.3."
    recording = read_snmprec("routeros")
    macs = {".".join(o[len(prefix) :].split(".")[:6]) for o in recording if o.startswith(prefix)}
    assert len(macs) == 11
    for sample in samples:
        for _, value in sample.labels:
            assert not any(mac in value for mac in macs), sample
    assert all(dict(labels)["stat"] in ("min", "median") for labels in signal)


def test_every_interface_of_the_recording_is_present() -> None:
    recording = read_snmprec("vrp_ce12804-withvrf")
    descr = {o for o in recording if o.startswith("1.3.6.1.2.1.2.2.1.2.")}
    samples, _ = mapped("vrp_ce12804-withvrf", ["system", "if_mib"])
    info = series(samples, "netmon_interface_info")
    assert len(descr) == 120
    assert len(info) == 120
    assert len(series(samples, "netmon_interface_receive_bytes_total")) == 120
    # no two series share a label set
    keys = [(s.name, s.labels) for s in samples]
    assert len(keys) == len(set(keys))


def test_hc_counters_are_used_when_present() -> None:
    samples, _ = mapped("routeros", ["system", "if_mib"])
    # ifHCInOctets.3 = 6422347895 (above 2^32), ifName.3 = WAN
    assert one(samples, "netmon_interface_receive_bytes_total", ifname="WAN") == 6422347895.0


def test_32bit_counters_start_at_zero_and_survive_a_wrap() -> None:
    ps = [builtin_profiles()["if_mib"]]
    engine = Engine(ps, 60.0, 4096)
    state = DeviceState()
    key = "1.3.6.1.2.1.2.2.1.10.1"  # ifInOctets.1, no HC column: airOS-style agent
    speed = "1.3.6.1.2.1.2.2.1.5.1"  # ifSpeed 100 Mbit/s: 12.5 MB/s, 750 MB a minute

    def poll(raw_value: int, at: float) -> float:
        varbinds: Varbinds = [
            ("1.3.6.1.2.1.2.2.1.2.1", b"ath0"),
            (speed, 100_000_000),
            (key, raw_value),
        ]
        raw = RawPoll({}, {"if_mib.interfaces": walk_of(varbinds)})
        result = engine.map(raw, state, BASE, at)
        samples = [s for p in result.parts for s in p.samples]
        return one(samples, "netmon_interface_receive_bytes_total", ifname="ath0")

    assert poll(COUNTER32_WRAP - 1000, 0.0) == 0.0  # a netmon start is a clean zero, not a spike
    assert poll(COUNTER32_WRAP - 10, 60.0) == 990.0
    assert poll(500, 120.0) == 990.0 + 10 + 500  # wrapped: +510, not a reset
    assert poll(1500, 180.0) == 2500.0
    assert state.resets.total() == 0


def test_reboot_counts_and_counters_continue() -> None:
    ps = [builtin_profiles()["system"], builtin_profiles()["if_mib"]]
    engine = Engine(ps, 60.0, 4096)
    state = DeviceState()
    up, octets = "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.2.1.10.1"

    def poll(ticks: int, raw_value: int) -> tuple[float, float]:
        raw = RawPoll(
            {up: ticks},
            {
                "if_mib.interfaces": walk_of(
                    [("1.3.6.1.2.1.2.2.1.2.1", b"ether1"), (octets, raw_value)]
                )
            },
        )
        samples = [s for p in engine.map(raw, state, BASE).parts for s in p.samples]
        return (
            one(samples, "netmon_device_reboots_total"),
            one(samples, "netmon_interface_receive_bytes_total"),
        )

    assert poll(100_000, 5_000) == (0.0, 0.0)
    assert poll(106_000, 8_000) == (0.0, 3000.0)
    # uptime went back: a reboot; the device counted 700 bytes since it booted
    assert poll(3_000, 700) == (1.0, 3700.0)


def test_timeticks_wrap_is_not_a_reboot() -> None:
    ps = [builtin_profiles()["system"]]
    engine = Engine(ps, 60.0, 4096)
    state = DeviceState()
    up = "1.3.6.1.2.1.1.3.0"
    # 497 days: sysUpTime wraps; 30 s before the wrap, then 20 s after it, 50 s later
    for ticks, at in ((2**32 - 3000, 0.0), (2000, 50.0)):
        result = engine.map(RawPoll({up: ticks}, {}), state, BASE, at)
        samples = [s for p in result.parts for s in p.samples]
    assert one(samples, "netmon_device_reboots_total") == 0.0


def test_uptime_prefers_hr_system_uptime() -> None:
    samples, _ = mapped("routeros", ["system"])
    # hrSystemUptime 2020500 ticks vs sysUpTime 2020400
    assert one(samples, "netmon_device_uptime_seconds") == 20205.0


def test_sentinels_are_dropped_and_counted() -> None:
    samples, dropped = mapped("smartax", ["system", "huawei_olt"])
    cpu = series(samples, "netmon_board_cpu_ratio")
    slots = {dict(labels)["slot"] for labels in cpu}
    assert "17" not in slots  # -1 on the uplink boards
    assert "18" not in slots
    assert one(samples, "netmon_board_cpu_ratio", frame="0", slot="8") == 0.26
    assert dropped["sentinel"] >= 2
    assert all(v >= 0 for v in cpu.values())


def test_airos_radio_and_model() -> None:
    samples, _ = mapped("airos_airos8", ["system", "if_mib", "airos"])
    assert one(samples, "netmon_wireless_signal_dbm", stat="link") == -70.0
    assert one(samples, "netmon_wireless_noise_floor_dbm") == -91.0
    assert one(samples, "netmon_wireless_frequency_hertz") == 5.78e9
    info = dict(next(iter(series(samples, "netmon_device_info"))))
    assert info["model"] == "LiteBeam 5AC Gen2"
    assert info["vendor"] == "Ubiquiti"
    # 32-bit only agent: counters start from 0 on the first poll
    assert set(series(samples, "netmon_interface_receive_bytes_total").values()) == {0.0}


def test_duplicate_interface_names_get_the_index() -> None:
    engine = Engine([builtin_profiles()["if_mib"]], 60.0, 4096)
    raw = RawPoll(
        {},
        {
            "if_mib.interfaces": walk_of(
                [
                    ("1.3.6.1.2.1.2.2.1.2.4", b"eth0"),
                    ("1.3.6.1.2.1.2.2.1.2.7", b"eth0"),
                    ("1.3.6.1.2.1.2.2.1.2.9", b""),
                    ("1.3.6.1.2.1.2.2.1.2.11", b"br\x00\n0"),
                    ("1.3.6.1.2.1.2.2.1.8.4", 1),
                    ("1.3.6.1.2.1.2.2.1.8.7", 2),
                ]
            )
        },
    )
    samples = [s for p in engine.map(raw, DeviceState(), BASE).parts for s in p.samples]
    names = {dict(labels)["ifname"] for labels in series(samples, "netmon_interface_info")}
    assert names == {"eth0#4", "eth0#7", "ifindex-9", "br 0"}
    assert one(samples, "netmon_interface_oper_up", ifname="eth0#7") == 0.0


def test_wrong_types_from_the_agent_are_counted_not_fatal() -> None:
    engine = Engine([builtin_profiles()["if_mib"]], 60.0, 4096)
    raw = RawPoll(
        {},
        {
            "if_mib.interfaces": walk_of(
                [
                    ("1.3.6.1.2.1.2.2.1.2.1", b"eth0"),
                    ("1.3.6.1.2.1.2.2.1.4.1", b"not a number"),  # ifMtu as garbage text
                    ("1.3.6.1.2.1.2.2.1.8.1", "1.3.6.1"),  # ifOperStatus as an OID
                    ("1.3.6.1.2.1.31.1.1.1.15.1", b"1000"),  # ifHighSpeed as text: parsed
                ]
            )
        },
    )
    result = engine.map(raw, DeviceState(), BASE)
    samples = [s for p in result.parts for s in p.samples]
    assert result.dropped["decode"] == 2
    assert one(samples, "netmon_interface_speed_bytes", ifname="eth0") == 125_000_000.0
    assert series(samples, "netmon_interface_mtu_bytes") == {}


def test_table_row_cap_is_counted() -> None:
    engine = Engine([builtin_profiles()["if_mib"]], 60.0, max_rows=10)
    varbinds: Varbinds = [(f"1.3.6.1.2.1.2.2.1.2.{i}", f"if{i}".encode()) for i in range(1, 51)]
    result = engine.map(RawPoll({}, {"if_mib.interfaces": walk_of(varbinds)}), DeviceState(), BASE)
    samples = [s for p in result.parts for s in p.samples]
    assert len(series(samples, "netmon_interface_info")) == 10
    assert result.dropped["label_cap"] == 40


def test_a_broken_profile_names_its_file_and_field() -> None:
    bad = {
        "name": "x",
        "description": "d",
        "tables": [
            {
                "name": "t",
                "walk": ["1.3.6.1.2"],
                "columns": {"c": {"oid": "1.3.6.1.9.9"}},
                "metrics": [],
            }
        ],
    }
    with pytest.raises(ProfileError, match=r"profiles/x.yaml: tables.0: .*not directly under"):
        parse_profile(bad, "profiles/x.yaml")


def test_the_collectors_list_names_every_collector() -> None:
    from collectors import REGISTRY

    assert REGISTRY.polling_kinds() == ["icmp", "service", "snmp"]
    assert sorted(REGISTRY.sections()) == ["mqtt", "traps"]
