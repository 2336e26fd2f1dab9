"""Profile tooling (`netmon profile test|check|new`) as functions: replay of the real
recordings, the check's rules with their file:line:col, a profile started from a walk.

Expected values are read from the recordings with tests/snmprec_reader.py, and expected
positions are found in the crafted YAML text by the test itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.snmp.profile import load_profile
from collectors.snmp.tooling.check import check
from collectors.snmp.tooling.mibs import TABLES
from collectors.snmp.tooling.new import new_profile
from collectors.snmp.tooling.recording import RecordingError, read_values
from collectors.snmp.tooling.replay import find_profiles, replay
from collectors.snmp.tooling.units import unit_problem
from netmon.tools.simulate import recordings_dir
from tests.helpers import values
from tests.snmprec_reader import Recording

#: recording -> the profiles its device is polled with
PROFILES = {
    "routeros": ["system", "if_mib", "mikrotik"],
    "airos_airos8": ["system", "if_mib", "airos"],
    "vrp_ce12804-withvrf": ["system", "if_mib"],
    "smartax": ["system", "huawei_olt"],
    "linux": ["system", "host_resources"],
}
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_NAME, IF_DESCR = "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.2.2.1.2"
HC_IN, IN_32 = "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.2.2.1.10"


def recording(name: str) -> Recording:
    return Recording.read(recordings_dir() / f"{name}.snmprec")


def ifname(rec: Recording, index: str) -> str:
    return rec.texts(IF_NAME).get(index) or rec.texts(IF_DESCR)[index]


def test_every_recording_has_its_profiles_listed() -> None:
    assert {p.stem for p in recordings_dir().glob("*.snmprec")} == set(PROFILES)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_replay_exports_sysname_and_octets_as_read_from_the_file(name: str) -> None:
    rec = recording(name)
    result = replay(
        read_values(recordings_dir() / f"{name}.snmprec"), find_profiles(PROFILES[name])
    )
    sys_name = rec[SYS_NAME].text if SYS_NAME in rec else ""  # linux.snmprec has none
    info = values(result.text, "netmon_device_info", sys_name=sys_name)
    assert info == [1.0]
    octets = rec.numbers(HC_IN) or rec.numbers(IN_32)
    for index, raw in list(octets.items())[:3]:
        got = values(result.text, "netmon_interface_receive_bytes_total", ifname=ifname(rec, index))
        # a 32-bit counter starts its running total at 0; a 64-bit one is the raw value
        assert got == [float(raw) if rec.numbers(HC_IN) else 0.0], index
    assert set(result.dropped) >= {"decode", "implausible", "sentinel"}


def test_replay_reads_routeros_hc_octets_above_2_to_the_32() -> None:
    rec = recording("routeros")
    big = {i: v for i, v in rec.numbers(HC_IN).items() if v > 2**32}
    assert big, "the recording has a Counter64 above 2^32"
    result = replay(rec.wire(), find_profiles(PROFILES["routeros"]))
    for index, raw in big.items():
        got = values(result.text, "netmon_interface_receive_bytes_total", ifname=ifname(rec, index))
        assert got == [float(raw)]


def test_replay_counts_smartax_cpu_sentinels_as_dropped() -> None:
    rec = recording("smartax")
    cpu = rec.numbers("1.3.6.1.4.1.2011.2.6.7.1.1.2.1.5")
    result = replay(rec.wire(), find_profiles(PROFILES["smartax"]))
    assert result.dropped["sentinel"] >= sum(1 for v in cpu.values() if v == -1) > 0


def test_find_profiles_refuses_unknown_and_repeated_names() -> None:
    with pytest.raises(Exception, match="unknown profile 'nope'"):
        find_profiles(["nope"])
    with pytest.raises(Exception, match="given twice"):
        find_profiles(["if_mib", "if_mib"])


def test_walk_output_is_read_like_the_recording(tmp_path: Path) -> None:
    walk = tmp_path / "dev.walk"
    walk.write_text(
        '.1.3.6.1.2.1.1.1.0 = STRING: "first line\nsecond line"\n'
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.14988.1\n"
        ".1.3.6.1.2.1.1.3.0 = Timeticks: (123456) 0:20:34.56\n"
        ".1.3.6.1.2.1.2.2.1.8.1 = INTEGER: up(1)\n"
        '.1.3.6.1.2.1.2.2.1.2.1 = ""\n'
        ".1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 6422347895\n"
        ".1.3.6.1.2.1.31.1.1.1.15.1 = Gauge32: 1000\n"
        ".1.3.6.1.4.1.9.1.0 = Hex-STRING: 00 1A FF \n"
        ".1.3.6.1.4.1.9.2.0 = No Such Object available on this agent at this OID\n"
    )
    assert read_values(walk) == {
        "1.3.6.1.2.1.1.1.0": b"first line\nsecond line",
        "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.14988.1",
        "1.3.6.1.2.1.1.3.0": 123456,
        "1.3.6.1.2.1.2.2.1.8.1": 1,
        "1.3.6.1.2.1.2.2.1.2.1": b"",
        "1.3.6.1.2.1.31.1.1.1.6.1": 6422347895,
        "1.3.6.1.2.1.31.1.1.1.15.1": 1000,
        "1.3.6.1.4.1.9.1.0": b"\x00\x1a\xff",
    }


def test_a_walk_with_symbolic_oids_is_refused_with_its_line(tmp_path: Path) -> None:
    walk = tmp_path / "named.walk"
    walk.write_text(".1.3.6.1.2.1.1.5.0 = STRING: x\nSNMPv2-MIB::sysName.0 = STRING: x\n")
    with pytest.raises(RecordingError, match=r"named\.walk:2:1: .*snmpwalk -On"):
        read_values(walk)


def test_builtin_profiles_pass_the_check() -> None:
    result = check()
    assert result.problems == []
    assert result.files == len(list(Path("collectors/snmp/profiles").glob("*.yaml")))


def where(text: str, needle: str, file: str) -> str:
    """file:line:col of the first occurrence of ``needle`` in ``text`` (1-based)."""
    before = text[: text.index(needle)]
    return f"{file}:{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


BROKEN = """\
name: broken
description: crafted to break every rule
tables:
  - name: t
    walk: [1.3.6.1.4.1.99.1]
    columns:
      a: {oid: 1.3.6.1.4.1.99.1.1}
    labels: {port: "@index", site: "@index"}
    metrics:
      - name: netmon_board_temperature
        help: no unit
        value: a
      - name: netmon_board_load_percent
        help: not a base unit
        value: a
      - name: netmon_board_errors_total
        help: a gauge named like a counter
        value: a
      - name: netmon_interface_oper_up
        help: another HELP than the built-in one
        value: a
      - name: netmon_board_state
        help: state
        value: a
        labels: {port: x}
      - name: netmon_board_value_volts
        help: first
        value: a
      - name: netmon_board_value_volts
        help: first
        value: a
"""


def test_check_names_each_rule_at_its_file_line_col(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    got = [str(p) for p in check(tmp_path, "mine").problems]
    f = "mine/broken.yaml"
    second_volts = BROKEN.index("- name: netmon_board_value_volts", BROKEN.index("help: first"))
    expected = [
        f"{where(BROKEN, 'site: ', f)}: label-clash: 'site' is set by netmon from the inventory",
        f"{where(BROKEN, 'netmon_board_temperature', f)}: unit-family: _temperature names a "
        "quantity without its unit; end the name in _celsius",
        f"{where(BROKEN, 'netmon_board_load_percent', f)}: unit-family: _percent is not a unit "
        "of the metric contract; name it in base units: _ratio (scale: 0.01)",
        f"{where(BROKEN, 'netmon_board_errors_total', f)}: type-suffix: only a counter's name "
        "ends in _total (this one is a gauge)",
        f"{where(BROKEN, 'another HELP', f)}: help-mismatch: HELP of netmon_interface_oper_up "
        "differs from the one at ",
        f"{where(BROKEN, 'port: x', f)}: label-clash: netmon_board_state sets 'port' twice "
        "(labels here, and table t)",
    ]
    assert len(got) == len(expected) + 1, "\n".join(got)
    for want, line in zip(expected, got[:-1], strict=True):
        assert line.startswith(want), f"{line}\n!= {want}"
    volts_line = BROKEN[:second_volts].count("\n") + 1
    assert got[-1].startswith(f"{f}:{volts_line}:15: duplicate-metric: netmon_board_value_volts")


def test_check_reports_schema_errors_with_their_position(tmp_path: Path) -> None:
    text = "name: odd\ndescription: x\ntables:\n  - name: t\n    walk: [1.3.6.1]\n    colums: {}\n"
    (tmp_path / "odd.yaml").write_text(text)
    got = [str(p) for p in check(tmp_path, "d").problems]
    want = f"{where(text, '{}', 'd/odd.yaml')}: schema: tables.0.colums: Extra inputs"
    assert any(line.startswith(want) for line in got), got


def test_a_folder_profile_replaces_the_builtin_one_of_its_name(tmp_path: Path) -> None:
    text = Path("collectors/snmp/profiles/airos.yaml").read_text()
    old = "Client connection quality (CCQ) of the radio, 0..1 (percent in the MIB)."
    assert old in text
    (tmp_path / "airos.yaml").write_text(text.replace(old, "CCQ in percent."))
    result = check(tmp_path, "p")
    assert any("replaces the built-in profile 'airos'" in n for n in result.notes)
    got = [str(p) for p in result.problems]
    # the folder's airos is compared with mikrotik's HELP, and the built-in airos is not read
    assert len(got) == 1, got
    assert got[0].startswith("collectors/snmp/profiles/mikrotik.yaml:")
    assert "differs from the one at p/airos.yaml:" in got[0]


@pytest.mark.parametrize(
    ("name", "counter", "rule"),
    [
        ("netmon_optical_rx_power_dbm", False, None),
        ("netmon_wireless_tx_rate_bytes_per_second", False, None),
        ("netmon_power_solar_energy_joules_total", True, None),
        ("netmon_last_poll_success_timestamp_seconds", False, None),
        ("netmon_wireless_clients", False, None),
        ("netmon_board_info", False, None),
        ("netmon_rx_power_mw", False, "unit-family"),
        ("netmon_link_speed_mbps", False, "unit-family"),
        ("netmon_celsius_board", False, "unit-family"),
        ("netmon_cpu_load", False, "unit-family"),
        ("netmon_packets_total", False, "type-suffix"),
    ],
)
def test_unit_rule(name: str, counter: bool, rule: str | None) -> None:
    problem = unit_problem(name, counter=counter)
    assert (problem.split(":")[0] if problem else None) == rule


def routeros_as_walk(path: Path) -> None:
    """The routeros recording rewritten as `snmpwalk -On` prints it."""
    kinds = {"2": "INTEGER", "65": "Counter32", "66": "Gauge32", "70": "Counter64", "6": "OID"}
    lines = []
    for oid, var in recording("routeros").items():
        if var.tag == "67":
            lines.append(f".{oid} = Timeticks: ({var.number}) 1 day, 0:00:00.00")
        elif var.tag in kinds:
            lines.append(f".{oid} = {kinds[var.tag]}: {var.text}")
        elif var.tag == "64":
            lines.append(f".{oid} = IpAddress: {var.text}")
        elif isinstance(var.value, bytes) and var.value and var.value.isascii():
            lines.append(f'.{oid} = STRING: "{var.value.decode()}"')
        elif isinstance(var.value, bytes):
            lines.append(
                f".{oid} = Hex-STRING: {var.value.hex(' ').upper()}"
                if var.value
                else f'.{oid} = ""'
            )
    path.write_text("\n".join(lines) + "\n")


def test_new_profile_from_a_walk_loads_and_yields_the_if_mib_series(tmp_path: Path) -> None:
    walk = tmp_path / "rb952.walk"
    routeros_as_walk(walk)
    made = new_profile(read_values(walk), "rb952", "rb952.walk")
    titles = {f.table.title for f in made.found}
    assert {"IF-MIB ifTable/ifXTable", "ENTITY-MIB entPhysicalTable"} <= titles
    assert "MikroTik (MIKROTIK-MIB)" in titles
    assert "UPS-MIB upsBattery" in {m.title for m in made.missing}
    (tmp_path / "rb952.yaml").write_text(made.text)
    profile = load_profile(tmp_path / "rb952.yaml", "rb952.yaml")
    rec = recording("routeros")
    result = replay(read_values(walk), [*find_profiles(["system"]), profile])
    for index, raw in rec.numbers(HC_IN).items():
        got = values(result.text, "netmon_interface_receive_bytes_total", ifname=ifname(rec, index))
        assert got == [float(raw)], index
    assert check(tmp_path, "p").problems == []


def test_every_mib_snippet_passes_the_check_with_the_builtin_profiles(tmp_path: Path) -> None:
    one_of_each = {f"{mib.roots[0]}.1.1": 1 for mib in TABLES}
    made = new_profile(one_of_each, "everything", "synthetic")
    assert [m.title for m in made.missing] == []
    (tmp_path / "everything.yaml").write_text(made.text)
    result = check(tmp_path, "p")
    assert [str(p) for p in result.problems] == []


#: lines as LibreNMS recordings hold them: an AF60's IpAddress in hex (airos-af60_v3.4) and a
#: Delta UPS card's NULL upsBatteryCurrent (deltaups)
SNMPSIM_TAGS = (
    "1.3.6.1.2.1.33.1.2.6.0|5|\n"
    "1.3.6.1.4.1.41112.1.11.1.1.5.1|64x|0afa000a\n"
    "1.3.6.1.4.1.41112.1.11.1.1.6.1|64|10.250.0.1\n"
)


def test_null_and_hex_ip_lines_read_as_a_client_hands_them_over(tmp_path: Path) -> None:
    path = tmp_path / "tags.snmprec"
    path.write_text(SNMPSIM_TAGS)
    want = {
        "1.3.6.1.2.1.33.1.2.6.0": None,  # NULL: no value (was b"", a decode error)
        "1.3.6.1.4.1.41112.1.11.1.1.5.1": "10.250.0.10",  # 0a.fa.00.0a
        "1.3.6.1.4.1.41112.1.11.1.1.6.1": "10.250.0.1",
    }
    assert read_values(path) == want
    # the tests' own reader agrees
    assert dict(Recording.read(path).wire()) == want
    (tmp_path / "bad.snmprec").write_text("1.3.6.1.2.1.4.20.1.1.1|64x|0afa00\n")
    with pytest.raises(RecordingError):
        read_values(tmp_path / "bad.snmprec")
