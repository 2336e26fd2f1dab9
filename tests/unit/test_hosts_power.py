"""Issue 14, hosts and power: ucd_snmp, host_resources' RAM rows, ups_mib, apc, and a UPS
polled by SNMP as the site's power evidence.

Expected values are read from the recordings with tests/snmprec_reader.py and the MIBs'
definitions applied here: UCD-SNMP-MIB laLoadInt is the load average x 100 (rows 1, 2, 3 =
1, 5, 15 minutes) and its memory group is in kB; hrStorage is in allocation units;
RFC 1628 upsEstimatedChargeRemaining is a percent, upsEstimatedMinutesRemaining minutes,
upsBatteryVoltage 0.1 V DC, upsInputFrequency 0.1 Hz, upsOutputPercentLoad a percent,
upsOutputSource battery(5) means the output runs from the battery; PowerNet-MIB
upsAdvBatteryRunTimeRemaining is TimeTicks (0.01 s) and upsBasicOutputStatus onBattery(3).
openwrt and riello are real recordings (tests/recordings/README.md); the memory group and
the APC values below are built from the MIBs and verify nothing on a device.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from collectors.snmp.detect import Identity, candidates, choose
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.plan import Value
from collectors.snmp.profile import builtin_profiles
from netmon.api import Labels, Sample
from tests.helpers import ROOT, promtool_check, raw_poll
from tests.snmprec_reader import Recording
from tests.unit.test_status import World, all_up, province

OPENWRT = ROOT / "tests/recordings/openwrt.snmprec"
RIELLO = ROOT / "tests/recordings/riello.snmprec"
ABB = ROOT / "tests/recordings/abbups_abbups.snmprec"
GOLDEN = ROOT / "tests/golden"
LA_LOAD_INT = "1.3.6.1.4.1.2021.10.1.5"
HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
UPS = "1.3.6.1.2.1.33.1"
APC = "1.3.6.1.4.1.318.1.1.1"
BASE: Labels = (("site", "s"), ("device", "d"))


def exposition(recording: Path, *profiles: str) -> str:
    """What `netmon profile test PROFILE... --recording FILE` prints."""
    command = ["profile", "test", *profiles, "--recording", str(recording)]
    done = subprocess.run(
        [sys.executable, "-m", "netmon", *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def values(text: str, name: str) -> dict[str, float]:
    """Series of one metric: the label block after the base labels -> value."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split(",", 2)[2].rstrip("}") if labels.count(",") > 1 else ""] = float(value)
    return out


def mapped(wire: dict[str, Value], *names: str) -> list[Sample]:
    profiles = [builtin_profiles()[n] for n in names]
    result = Engine(profiles, 60.0, 4096).map(raw_poll(wire, profiles), DeviceState(), BASE)
    return [s for part in result.parts for s in part.samples]


def only(samples: list[Sample], name: str) -> dict[Labels, float]:
    return {s.labels[len(BASE) :]: s.value for s in samples if s.name == name}


# --- openwrt: Net-SNMP on Linux (OpenWrt 21.02), UCD laTable and hrStorage memory rows ---


def test_openwrt_load_averages_are_la_load_int_over_100() -> None:
    rec = Recording.read(OPENWRT)
    load = rec.numbers(LA_LOAD_INT)
    want = {f'period="Load-{m}"': load[row] / 100 for row, m in (("1", 1), ("2", 5), ("3", 15))}
    got = values(exposition(OPENWRT, "system", "ucd_snmp"), "netmon_host_load_average")
    assert got == pytest.approx(want)
    assert want == pytest.approx(
        {'period="Load-1"': 0.16, 'period="Load-5"': 0.03, 'period="Load-15"': 0.01}
    )


def test_openwrt_ram_rows_hold_buffers_and_cache_apart_from_physical_memory() -> None:
    """Net-SNMP's "Physical memory" used counts buffers and cache; its own rows give them, so
    memory in use = physical - buffers - cached (what host_resources' docs say to compute)."""
    rec = Recording.read(OPENWRT)
    descr = rec.texts(f"{HR_STORAGE}.3")
    units, used = rec.numbers(f"{HR_STORAGE}.4"), rec.numbers(f"{HR_STORAGE}.6")
    row = {d: i for i, d in descr.items()}
    in_bytes = {d: float(used[i] * units[i]) for d, i in row.items()}
    got = values(exposition(OPENWRT, "system", "host_resources"), "netmon_host_storage_used_bytes")
    for name in ("Physical memory", "Memory buffers", "Cached memory"):
        assert got[f'storage="{name}"'] == in_bytes[name]
    physical, buffers, cached = (
        in_bytes[n] for n in ("Physical memory", "Memory buffers", "Cached memory")
    )
    honest = physical - buffers - cached
    assert honest == (72852 - 2204 - 21216) * 1024  # kB rows of the recording, by hand
    assert honest / physical < 0.7  # a third of "used" was buffers and cache


def test_ucd_memory_group_in_kb_becomes_bytes() -> None:
    """Built from UCD-SNMP-MIB (the recordings have no memory group): values in kB."""
    wire: dict[str, Value] = {
        "1.3.6.1.4.1.2021.4.3.0": 1048572,  # memTotalSwap
        "1.3.6.1.4.1.2021.4.4.0": 1000000,  # memAvailSwap
        "1.3.6.1.4.1.2021.4.5.0": 8000000,  # memTotalReal
        "1.3.6.1.4.1.2021.4.6.0": 500000,  # memAvailReal
        "1.3.6.1.4.1.2021.4.13.0": 10000,  # memShared
        "1.3.6.1.4.1.2021.4.14.0": 300000,  # memBuffer
        "1.3.6.1.4.1.2021.4.15.0": 6700000,  # memCached
        "1.3.6.1.4.1.2021.4.16.0": 7300000,  # memSysAvail
    }
    samples = mapped(wire, "ucd_snmp")
    kb = {
        "netmon_host_swap_size_bytes": 1048572,
        "netmon_host_swap_free_bytes": 1000000,
        "netmon_host_memory_size_bytes": 8000000,
        "netmon_host_memory_available_bytes": 500000,
        "netmon_host_memory_shared_bytes": 10000,
        "netmon_host_memory_buffers_bytes": 300000,
        "netmon_host_memory_cached_bytes": 6700000,
        "netmon_host_memory_sys_available_bytes": 7300000,
    }
    for name, value in kb.items():
        assert only(samples, name) == {(): value * 1024.0}, name
    used = 8000000 - 500000 - 300000 - 6700000  # in use without buffers and cache: 6 %
    assert used / 8000000 == pytest.approx(0.0625)


# --- riello: RFC 1628 UPS-MIB on a Riello NetMan 204 ----------------------------------------


def test_riello_ups_values_by_rfc_1628() -> None:
    rec = Recording.read(RIELLO)
    text = exposition(RIELLO, "system", "ups_mib")
    source = rec[f"{UPS}.4.1.0"].number
    assert source == 3  # normal: the output runs from the mains
    scalars = {
        "netmon_power_on_grid": 1.0,
        "netmon_power_battery_ratio": rec[f"{UPS}.2.4.0"].number / 100,
        "netmon_ups_runtime_remaining_seconds": rec[f"{UPS}.2.3.0"].number * 60.0,
        "netmon_ups_on_battery_seconds": float(rec[f"{UPS}.2.2.0"].number),
        "netmon_ups_battery_low": 0.0,  # upsBatteryStatus batteryNormal(2)
        "netmon_power_battery_voltage_volts": rec[f"{UPS}.2.5.0"].number / 10,
        "netmon_ups_battery_temperature_celsius": float(rec[f"{UPS}.2.7.0"].number),
    }
    assert rec[f"{UPS}.2.1.0"].number == 2
    for name, want in scalars.items():
        assert values(text, name) == pytest.approx({"": want}), name
    lines = {f'line="{i}"' for i in rec.numbers(f"{UPS}.3.3.1.3")}
    volts = {f'line="{i}"': float(v) for i, v in rec.numbers(f"{UPS}.3.3.1.3").items()}
    # upsInputFrequency 0 is no reading (lines 2 and 3 of this single-phase unit read 0 V,
    # 0 Hz; Observium takes a frequency only when > 0)
    hertz = {f'line="{i}"': v / 10 for i, v in rec.numbers(f"{UPS}.3.3.1.2").items() if v}
    load = {f'line="{i}"': v / 100 for i, v in rec.numbers(f"{UPS}.4.4.1.5").items()}
    assert set(volts) == lines == {'line="1"', 'line="2"', 'line="3"'}
    assert set(hertz) == {'line="1"'}
    assert values(text, "netmon_ups_input_voltage_volts") == volts
    assert values(text, "netmon_ups_input_frequency_hertz") == pytest.approx(hertz)
    assert values(text, "netmon_ups_output_load_ratio") == pytest.approx(load)
    assert (volts['line="1"'], hertz['line="1"'], load['line="1"']) == (242.0, 50.1, 0.08)


def test_abb_three_phase_ups_values_by_rfc_1628() -> None:
    """An ABB PowerScale card (Net-SNMP on Linux, LibreNMS abbups_abbups): three input and
    output lines, all live, read with the profiles detection gives it."""
    rec = Recording.read(ABB)
    text = exposition(ABB, "system", "host_resources", "ucd_snmp", "ups_mib")
    assert rec[f"{UPS}.4.1.0"].number == 3  # upsOutputSource normal(3): on the mains
    scalars = {
        "netmon_power_on_grid": 1.0,
        "netmon_power_battery_ratio": rec[f"{UPS}.2.4.0"].number / 100,  # percent
        "netmon_ups_runtime_remaining_seconds": rec[f"{UPS}.2.3.0"].number * 60.0,  # minutes
        "netmon_power_battery_voltage_volts": rec[f"{UPS}.2.5.0"].number / 10,  # 0.1 V DC
    }
    for name, want in scalars.items():
        assert values(text, name) == pytest.approx({"": want}), name
    assert scalars["netmon_power_battery_voltage_volts"] == pytest.approx(434.8)
    assert rec[f"{UPS}.2.7.0"].number == 0  # upsBatteryTemperature: this card has no sensor
    assert values(text, "netmon_ups_battery_temperature_celsius") == {}
    volts = {f'line="{i}"': float(v) for i, v in rec.numbers(f"{UPS}.3.3.1.3").items()}
    hertz = {f'line="{i}"': v / 10 for i, v in rec.numbers(f"{UPS}.3.3.1.2").items()}
    load = {f'line="{i}"': v / 100 for i, v in rec.numbers(f"{UPS}.4.4.1.5").items()}
    assert volts == {'line="1"': 239.0, 'line="2"': 239.0, 'line="3"': 238.0}
    assert values(text, "netmon_ups_input_voltage_volts") == volts
    assert values(text, "netmon_ups_input_frequency_hertz") == pytest.approx(hertz)
    assert values(text, "netmon_ups_output_load_ratio") == pytest.approx(load)


@pytest.mark.parametrize(
    ("name", "profiles"),
    [("openwrt", ("system", "host_resources", "ucd_snmp")), ("riello", ("system", "ups_mib"))],
)
def test_golden_exposition_and_promtool(name: str, profiles: tuple[str, ...]) -> None:
    text = exposition(ROOT / f"tests/recordings/{name}.snmprec", *profiles)
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr
    keep = ("netmon_last_poll_success_timestamp_seconds", "netmon_poll_duration_seconds")
    got = "".join(x for x in text.splitlines(keepends=True) if not x.startswith(keep))
    golden = GOLDEN / f"{name}.prom"
    assert golden.exists(), f"missing {golden}"
    assert got == golden.read_text()


# --- UPS state from the MIBs' enumerations (built values) ---------------------------------


@pytest.mark.parametrize(
    ("source", "on_grid"),
    [(3, 1.0), (4, 1.0), (6, 1.0), (7, 1.0), (5, 0.0), (2, None), (1, None)],
)
def test_ups_mib_output_source_says_mains_or_battery(source: int, on_grid: float | None) -> None:
    """normal, bypass, booster, reducer: mains; battery(5): not; other, none: unknown."""
    samples = mapped({f"{UPS}.4.1.0": source}, "ups_mib")
    assert only(samples, "netmon_power_on_grid") == ({} if on_grid is None else {(): on_grid})


@pytest.mark.parametrize(
    ("raw", "hertz"),
    [
        (501, 50.1),  # UPS-MIB upsInputFrequency: 0.1 Hertz (Riello, ABB)
        (599, 59.9),
        (50, 50.0),  # an SNR ERD-4 sends whole hertz (Observium: "50 (incorrect) vs 500")
        (60, 60.0),
        (0, None),  # no reading (RouterOS serving a USB UPS, beside 220 V)
    ],
)
def test_ups_input_frequency_in_tenths_or_whole_hertz(raw: int, hertz: float | None) -> None:
    samples = mapped({f"{UPS}.3.3.1.2.1": raw, f"{UPS}.3.3.1.3.1": 220}, "ups_mib")
    got = only(samples, "netmon_ups_input_frequency_hertz")
    assert got == ({} if hertz is None else {(("line", "1"),): pytest.approx(hertz)})


def test_apc_on_battery_with_capacity_runtime_and_input() -> None:
    wire: dict[str, Value] = {
        f"{APC}.2.1.1.0": 3,  # upsBasicBatteryStatus batteryLow
        f"{APC}.2.2.1.0": 23,  # upsAdvBatteryCapacity, percent
        f"{APC}.2.2.2.0": 31,  # upsAdvBatteryTemperature, C
        f"{APC}.2.2.3.0": 72000,  # upsAdvBatteryRunTimeRemaining, TimeTicks
        f"{APC}.2.2.8.0": 24,  # upsAdvBatteryActualVoltage, V DC
        f"{APC}.3.2.1.0": 0,  # upsAdvInputLineVoltage: the mains are gone
        f"{APC}.3.2.4.0": 0,  # upsAdvInputFrequency
        f"{APC}.4.1.1.0": 3,  # upsBasicOutputStatus onBattery
        f"{APC}.4.2.3.0": 41,  # upsAdvOutputLoad, percent
    }
    samples = mapped(wire, "apc")
    line = (("line", "1"),)
    assert only(samples, "netmon_power_on_grid") == {(): 0.0}
    assert only(samples, "netmon_power_battery_ratio") == {(): 0.23}
    assert only(samples, "netmon_ups_runtime_remaining_seconds") == {(): 720.0}
    assert only(samples, "netmon_ups_battery_low") == {(): 1.0}
    assert only(samples, "netmon_power_battery_voltage_volts") == {(): 24.0}
    assert only(samples, "netmon_ups_battery_temperature_celsius") == {(): 31.0}
    assert only(samples, "netmon_ups_input_voltage_volts") == {line: 0.0}
    assert only(samples, "netmon_ups_output_load_ratio") == {line: 0.41}
    online = mapped({**wire, f"{APC}.4.1.1.0": 2}, "apc")  # onLine
    assert only(online, "netmon_power_on_grid") == {(): 1.0}
    testing = mapped({**wire, f"{APC}.4.1.1.0": 15}, "apc")  # onBatteryTest: grid unknown
    assert only(testing, "netmon_power_on_grid") == {}


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sys_object_id", "sys_descr", "added"),
    [
        ("1.3.6.1.4.1.8072.3.2.10", "Linux OpenWrt 5.4.137", ["host_resources", "ucd_snmp"]),
        ("1.3.6.1.4.1.8072.3.2.8", "FreeBSD pfsense 11.2", ["host_resources", "ucd_snmp"]),
        ("1.3.6.1.4.1.5491.304", "Netman 204", ["ups_mib"]),  # riello recording
        ("1.3.6.1.2.1.33", '"CS121 v 5.14.50"', ["ups_mib"]),  # librenms generex-ups stub
        ("1.3.6.1.4.1.2254.2.4", "UPS SNMP Agent", ["ups_mib"]),  # librenms deltaups
        ("1.3.6.1.4.1.24681", "Linux hostname 4.2.2", ["host_resources"]),  # librenms qnap
        (  # librenms abbups_abbups: Net-SNMP on an ABB PowerScale card, UPS-MIB values
            "1.3.6.1.4.1.8072.3.2.10",
            "Linux ABB-acd364-201f0a 6.6.0-qno #1 Fri Dec 20 10:36:54 UTC 2024 armv5tejl",
            ["host_resources", "ucd_snmp", "ups_mib"],
        ),
        ("1.3.6.1.4.1.318.1.3.2.12", "APC Web/SNMP Management Card", ["apc"]),  # Smart-UPS
        ("1.3.6.1.4.1.318.1.3.8.4", "APC Web/SNMP Management Card", []),  # librenms apc: NetBotz
        ("1.3.6.1.4.1.14988.1", "RouterOS RB4011", ["host_resources", "mikrotik"]),  # no UCD
        ("1.3.6.1.4.1.10002.1", "Linux 2.6.32.68", ["airos"]),  # airOS: no UCD in recordings
    ],
)
def test_detection_of_hosts_and_ups(sys_object_id: str, sys_descr: str, added: list[str]) -> None:
    builtin = builtin_profiles()
    chosen, _ = choose(Identity(sys_object_id, sys_descr), candidates(builtin.values()), [])
    mine = {"host_resources", "ucd_snmp", "ups_mib", "apc", "mikrotik", "airos"}
    assert [p.name for p in chosen if p.name in mine] == added


def test_profiles_without_a_real_recording_say_so() -> None:
    builtin = builtin_profiles()
    assert builtin["apc"].verified == []
    assert any("riello.snmprec" in v for v in builtin["ups_mib"].verified)
    assert any("openwrt.snmprec" in v for v in builtin["ucd_snmp"].verified)


# --- the site's power cause from a UPS polled by SNMP -------------------------------------


def ups_samples(source: int, charge: int, minutes: int) -> list[Sample]:
    """What the ups_mib profile exports for these UPS-MIB values, labelled for the site."""
    wire: dict[str, Value] = {
        f"{UPS}.4.1.0": source,
        f"{UPS}.2.4.0": charge,
        f"{UPS}.2.3.0": minutes,
    }
    profiles = [builtin_profiles()["ups_mib"]]
    labels: Labels = (("site", "desa-0"), ("device", "ups-desa-0"))
    result = Engine(profiles, 60.0, 4096).map(raw_poll(wire, profiles), DeviceState(), labels)
    return [s for part in result.parts for s in part.samples]


def dark_site(source: int, charge: int) -> tuple[str, str]:
    """desa-0's UPS reports, then the UPS and the router go silent while the POP answers."""
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    world.poll("ups-desa-0", "desa-0", up=True, samples=ups_samples(source, charge, 9))
    world.tick()
    world.now += 600
    world.poll("ups-desa-0", "desa-0", up=False)
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=True)
    state = world.tick()["desa-0"]
    return state, world.engine.published["desa-0"].cause


def test_a_snmp_ups_on_battery_at_low_charge_makes_a_dark_site_a_power_outage() -> None:
    assert dark_site(source=5, charge=12) == ("down", "power")  # battery(5), 12 %


def test_a_snmp_ups_on_mains_leaves_a_dark_site_a_device_outage() -> None:
    assert dark_site(source=3, charge=100) == ("down", "device")
