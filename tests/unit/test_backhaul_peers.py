"""Station tables follow DESIGN's privacy rule: per-peer series only for the backhaul peers
the inventory names (the far ends of a device's radio links, by their radio_mac).

Expected values are read from the .snmprec files as text here, and MACs are turned into
index arcs here, never by netmon."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from collectors import REGISTRY
from collectors.snmp import builtin_profiles
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.fetchplan import used_columns
from collectors.snmp.peers import ip_key, mac_key
from collectors.snmp.plan import Value
from collectors.snmp.profile import ProfileError, parse_profile
from netmon.api import Sample
from netmon.config import ConfigErrors, load
from tests.helpers import ROOT, raw_poll, snmp_of
from tests.snmprec_reader import Recording

AIROS5 = ROOT / "tests/recordings/airos5_nanostation_m5_excerpt.snmprec"
LTU = ROOT / "tests/recordings/airos-af-ltu_1.4.0.snmprec"
ROUTEROS = ROOT.parent / "shared/testdata/snmprec/routeros.snmprec"
#: ubntStaTable (UBNT-AirMAX-MIB), index ubntWlStatIndex (1 arc) + ubntStaMac (6 arcs)
UBNT_STA = "1.3.6.1.4.1.41112.1.4.7.1"
#: mtxrWlRtabTable (MIKROTIK-MIB), index mtxrWlRtabAddr (6 arcs) + mtxrWlRtabIface
MTXR_RTAB = "1.3.6.1.4.1.14988.1.1.1.2.1"
#: afLTUStationTable (UBNT-AFLTU-MIB), index: the station's MAC (6 arcs)
LTU_STA = "1.3.6.1.4.1.41112.1.10.1.4.1"
AIROS5_MAC = "68:72:51:00:34:25"
ROUTEROS_MAC = "00:27:10:32:ed:60"  # registered on ifIndex 9 (ifName wlan4)
LTU_MAC = "18:e8:29:1e:38:d6"


def arcs(mac: str) -> str:
    return ".".join(str(int(octet, 16)) for octet in mac.split(":"))


def raw(path: Path, oid: str) -> int:
    """The integer recorded for ``oid``, read from the file's text."""
    for line in path.read_text().splitlines():
        got, _, value = line.split("|", 2)
        if got == oid:
            return int(value)
    msg = f"{oid} not in {path.name}"
    raise AssertionError(msg)


MAIN = """\
inventory: ["sites/*.yaml"]
defaults:
  snmp:
    community: {env: TEST_COMMUNITY}
"""


def sites(radio_mac: str | None, kind: str = "radio", peer_profiles: str = "[system]") -> str:
    mac = f', radio_mac: "{radio_mac}"' if radio_mac else ""
    return f"""\
kabupaten: Berau
sites:
  - id: pop-a
    name: POP A
    kind: pop
    devices:
      - {{id: ap-a, address: 10.20.1.2, profiles: [system, if_mib, airos]}}
      - {{id: rb-a, address: 10.20.1.4, profiles: [system, if_mib, mikrotik]}}
      - {{id: ltu-a, address: 10.20.1.6, profiles: [system, if_mib, ltu]}}
      - {{id: lone-a, address: 10.20.1.8, profiles: [system, if_mib, airos]}}
  - id: desa-b
    name: Kantor Desa B
    kind: village_office
    uplinks: [pop-a]
    devices:
      - {{id: cpe-b, address: 10.20.2.3, profiles: {peer_profiles}{mac}}}
      - {{id: sta-b, address: 10.20.2.5, profiles: [system], radio_mac: "{ROUTEROS_MAC}"}}
      - {{id: ltu-b, address: 10.20.2.7, profiles: [system], radio_mac: "{LTU_MAC}"}}
links:
  - {{id: ab, kind: {kind}, a: "pop-a/ap-a:ath0", b: "desa-b/cpe-b:ath0"}}
  - {{id: rb, kind: radio, a: "pop-a/rb-a:wlan4", b: "desa-b/sta-b:wlan1"}}
  - {{id: lt, kind: radio, a: "desa-b/ltu-b:ath0", b: "pop-a/ltu-a:ath0"}}
"""


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_COMMUNITY", "public-test")


def inventory(tmp: Path, site_text: str) -> Any:
    (tmp / "sites").mkdir(exist_ok=True)
    (tmp / "netmon.yaml").write_text(MAIN)
    (tmp / "sites" / "berau.yaml").write_text(site_text)
    return load(tmp / "netmon.yaml", REGISTRY).inventory


def mapped(path: Path, profiles: list[str], peers: dict[str, str]) -> list[Sample]:
    specs = [builtin_profiles()[p] for p in profiles]
    wire: dict[str, Value] = dict(Recording.read(path).wire())
    base = (("site", "pop-a"), ("device", "dev"))
    result = Engine(specs, 60.0, 4096).map(raw_poll(wire, specs), DeviceState(), base, peers=peers)
    return [s for part in result.parts for s in part.samples]


def per_peer(samples: list[Sample]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels)): s.value for s in samples if "peer" in dict(s.labels)}


def assert_no_mac(samples: list[Sample], mac: str) -> None:
    forms = {mac, mac.replace(":", ""), mac.replace(":", "-"), arcs(mac)}
    for sample in samples:
        for _, value in sample.labels:
            assert not any(form in value.lower() for form in forms), sample


# -- the inventory: which devices are whose peers ---------------------------------------


def test_radio_link_makes_the_far_end_a_peer_by_its_mac_and_address(tmp_path: Path) -> None:
    inv = inventory(tmp_path, sites(AIROS5_MAC))
    assert set(snmp_of(inv.devices["ap-a"]).peers) == {
        (f"mac:{AIROS5_MAC}", "cpe-b"),
        ("ip:10.20.2.3", "cpe-b"),
    }
    # both ends: the CPE's peer is the AP, found by its address (the AP has no radio_mac)
    assert snmp_of(inv.devices["cpe-b"]).peers == (("ip:10.20.1.2", "ap-a"),)
    assert snmp_of(inv.devices["lone-a"]).peers == ()


def test_only_radio_links_make_peers(tmp_path: Path) -> None:
    inv = inventory(tmp_path, sites(AIROS5_MAC, kind="fiber"))
    assert snmp_of(inv.devices["ap-a"]).peers == ()


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("68-72-51-00-34-25", AIROS5_MAC),
        ("6872.5100.3425", AIROS5_MAC),
        ("AA:BB:CC:00:11:EE", "aa:bb:cc:00:11:ee"),
    ],
)
def test_radio_mac_is_written_any_usual_way(tmp_path: Path, written: str, canonical: str) -> None:
    inv = inventory(tmp_path, sites(written))
    assert (f"mac:{canonical}", "cpe-b") in snmp_of(inv.devices["ap-a"]).peers


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('radio_mac: "68:72:51:00:34"', "not a MAC address"),
        ('radio_mac: "68:72-51:00:34:25"', "not a MAC address"),
        # YAML 1.1 reads it as a base-60 number: the error says to quote it
        ("radio_mac: 12:34:56:00:11:22", "write it in quotes"),
    ],
)
def test_a_bad_radio_mac_is_an_error_at_its_line(tmp_path: Path, line: str, message: str) -> None:
    text = sites(None).replace("profiles: [system]}", "profiles: [system], " + line + "}", 1)
    with pytest.raises(ConfigErrors) as info:
        inventory(tmp_path, text)
    errors = [str(e) for e in info.value.errors]
    assert any("berau.yaml:16:" in e and "radio_mac" in e and message in e for e in errors), errors


# -- the mapping: per-peer series from real recordings ----------------------------------


def test_airos_station_of_a_named_peer_gets_its_own_series(tmp_path: Path) -> None:
    params = snmp_of(inventory(tmp_path, sites(AIROS5_MAC)).devices["ap-a"])
    samples = mapped(AIROS5, ["system", "if_mib", "airos"], dict(params.peers))
    row = f"1.{arcs(AIROS5_MAC)}"  # radio 1
    labels = {("site", "pop-a"), ("device", "dev"), ("radio", "1"), ("peer", "cpe-b")}

    def column(number: int) -> int:
        return raw(AIROS5, f"{UBNT_STA}.{number}.{row}")

    # airOS 5.6 (sysDescr/firmware "XW.ar934x.v5.6-beta4"): rates in kbit/s; CCQ and the
    # airMAX figures in percent; distance in metres; signal in dBm (UBNT-AirMAX-MIB)
    assert per_peer(samples) == {
        ("netmon_wireless_signal_dbm", frozenset(labels)): column(3),
        ("netmon_wireless_distance_meters", frozenset(labels)): column(5),
        ("netmon_wireless_ccq_ratio", frozenset(labels)): column(6) / 100,
        ("netmon_wireless_airmax_quality_ratio", frozenset(labels)): column(8) / 100,
        ("netmon_wireless_airmax_capacity_ratio", frozenset(labels)): column(9) / 100,
        ("netmon_wireless_tx_rate_bytes_per_second", frozenset(labels)): column(11) * 1000 / 8,
        ("netmon_wireless_rx_rate_bytes_per_second", frozenset(labels)): column(12) * 1000 / 8,
    }
    assert column(3) == -64  # the recording's one station, as read by hand
    assert_no_mac(samples, AIROS5_MAC)


def test_without_a_named_peer_no_station_series_and_the_aggregates_stay(tmp_path: Path) -> None:
    profiles = ["system", "if_mib", "airos"]
    with_peer = mapped(AIROS5, profiles, {f"mac:{AIROS5_MAC}": "cpe-b"})
    for peers in ({}, {"mac:68:72:51:00:34:26": "other"}, {"ip:10.20.2.3": "cpe-b"}):
        samples = mapped(AIROS5, profiles, peers)
        assert not per_peer(samples)
        assert_no_mac(samples, AIROS5_MAC)
        # everything else is as with the peer: counts and min/median over all stations
        assert samples == [s for s in with_peer if "peer" not in dict(s.labels)]
    # the inventory without radio_mac: the AP's peer is known by address only, and
    # ubntStaTable is matched by MAC
    params = snmp_of(inventory(tmp_path, sites(None)).devices["ap-a"])
    assert params.peers == (("ip:10.20.2.3", "cpe-b"),)
    assert not per_peer(mapped(AIROS5, profiles, dict(params.peers)))


def test_mikrotik_registration_of_a_named_peer(tmp_path: Path) -> None:
    params = snmp_of(inventory(tmp_path, sites(AIROS5_MAC)).devices["rb-a"])
    samples = mapped(ROUTEROS, ["system", "if_mib", "mikrotik"], dict(params.peers))
    strength = raw(ROUTEROS, f"{MTXR_RTAB}.3.{arcs(ROUTEROS_MAC)}.9")
    labels = {("site", "pop-a"), ("device", "dev"), ("ifname", "wlan4"), ("peer", "sta-b")}
    # the recording has mtxrWlRtabStrength only: no tx/rx rate series
    assert per_peer(samples) == {("netmon_wireless_signal_dbm", frozenset(labels)): strength}
    assert strength == -63
    assert_no_mac(samples, ROUTEROS_MAC)
    # the other ten registrations are phones or CPEs nobody named: no series of their own
    assert not per_peer(mapped(ROUTEROS, ["system", "if_mib", "mikrotik"], {}))


def test_ltu_station_of_a_named_peer(tmp_path: Path) -> None:
    params = snmp_of(inventory(tmp_path, sites(AIROS5_MAC)).devices["ltu-a"])
    samples = mapped(LTU, ["system", "if_mib", "ltu"], dict(params.peers))
    base = {("site", "pop-a"), ("device", "dev"), ("peer", "ltu-b")}

    def column(number: int) -> int:
        return raw(LTU, f"{LTU_STA}.{number}.{arcs(LTU_MAC)}")

    rx = "netmon_wireless_chain_rx_power_dbm"
    capacity = "netmon_wireless_capacity_bytes_per_second"
    # UBNT-AFLTU-MIB: rx power dBm, capacity kbit/s; the remote power columns are not in
    # the recording, distance in metres (see ltu.yaml)
    assert per_peer(samples) == {
        (rx, frozenset(base | {("chain", "0"), ("side", "local")})): column(5),
        (rx, frozenset(base | {("chain", "1"), ("side", "local")})): column(6),
        (capacity, frozenset(base | {("direction", "tx")})): column(3) * 1000 / 8,
        (capacity, frozenset(base | {("direction", "rx")})): column(4) * 1000 / 8,
        ("netmon_wireless_distance_meters", frozenset(base)): column(23),
    }
    assert_no_mac(samples, LTU_MAC)


def test_a_peer_matched_twice_with_the_same_labels_is_one_series() -> None:
    """Two rows naming one peer by address (an IP column) give one series, not two."""
    profile = parse_profile(table_profile(peers={"match": "ip", "as": "ip"}), "t")
    wire: dict[str, Value] = {
        "1.3.6.1.4.1.9999.1.1.2.7": "10.20.2.3",
        "1.3.6.1.4.1.9999.1.1.2.8": "10.20.2.3",
        "1.3.6.1.4.1.9999.1.1.3.7": -60,
        "1.3.6.1.4.1.9999.1.1.3.8": -70,
    }
    result = Engine([profile], 60.0, 4096).map(
        raw_poll(wire, [profile]), DeviceState(), (), peers={"ip:10.20.2.3": "cpe-b"}
    )
    got = [s for p in result.parts for s in p.samples if "peer" in dict(s.labels)]
    assert len(got) == 1
    assert dict(got[0].labels) == {"peer": "cpe-b"}


def test_a_device_without_peers_does_not_walk_the_per_peer_columns() -> None:
    """The per-peer columns cost a GETBULK each per poll: walked only on a device whose
    backhaul peers can be found the way the table matches them (a MAC for these)."""
    tables = {
        (p, t.name): t
        for p in ("airos", "mikrotik", "ltu")
        for t in builtin_profiles()[p].tables
        if t.peers is not None
    }
    summary = {
        ("airos", "stations"): ["ubntStaSignal"],
        ("mikrotik", "wireless_registrations"): ["strength"],
        ("ltu", "stations"): [
            "afLTUStaTxCapacity",
            "afLTUStaRxCapacity",
            "afLTUStaRxPower0",
            "afLTUStaRxPower1",
            "afLTUStaRemoteRxPower0",
            "afLTUStaRemoteRxPower1",
            "afLTUStaRemoteDistance",
        ],
    }
    assert set(tables) == set(summary)
    for key, spec in tables.items():
        assert used_columns(spec, frozenset()) == summary[key]
        assert used_columns(spec, frozenset({"ip"})) == summary[key]
        assert used_columns(spec, frozenset({"mac"})) == list(spec.columns)


# -- keys and the profile format ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        bytes.fromhex("687251003425"),
        "104.114.81.0.52.37",
        "68:72:51:00:34:25",
        b"68-72-51-00-34-25",
        "6872.5100.3425",
        "68:72:51:0:34:25",
    ],
)
def test_mac_keys(value: str | bytes) -> None:
    assert mac_key(value) == f"mac:{AIROS5_MAC}"


@pytest.mark.parametrize("value", ["104.114.81.0.52", "1.2.3.4.5.300", b"\x01\x02", 5, None])
def test_not_mac_keys(value: Any) -> None:
    assert mac_key(value) is None


def test_ip_keys() -> None:
    assert ip_key("10.20.2.3") == ip_key(b"\x0a\x14\x02\x03") == "ip:10.20.2.3"
    assert ip_key("fe80::1") == ip_key(bytes.fromhex("fe80" + "0" * 27 + "1")) == "ip:fe80::1"
    assert ip_key("no") is None


def table_profile(**table: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "stations",
        "walk": ["1.3.6.1.4.1.9999.1.1"],
        "columns": {
            "ip": {"oid": "1.3.6.1.4.1.9999.1.1.2", "type": "string"},
            "signal": {"oid": "1.3.6.1.4.1.9999.1.1.3"},
        },
        "metrics": [
            {"name": "netmon_wireless_signal_dbm", "help": "h", "value": "signal", "per_peer": True}
        ],
    }
    spec.update(table)
    return {"name": "t", "description": "t", "tables": [spec]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "go together"),  # per_peer without peers
        (
            {
                "peers": {"match": "@index", "as": "mac"},
                "metrics": [
                    {
                        "name": "netmon_wireless_registered_stations",
                        "help": "h",
                        "aggregate": "count",
                    }
                ],
            },
            "go together",
        ),
        ({"peers": {"match": "@index.mac", "as": "mac"}}, "is not @index, @index.NAME"),
        ({"peers": {"match": "nosuch", "as": "ip"}}, "unknown column 'nosuch'"),
        ({"peers": {"match": "ip", "as": "name"}}, "peers.as"),
        ({"peers": {"match": "ip", "as": "ip"}, "labels": {"peer": "ip"}}, "per_peer metrics add"),
        (
            {
                "peers": {"match": "ip", "as": "ip"},
                "metrics": [
                    {
                        "name": "netmon_wireless_signal_dbm",
                        "help": "h",
                        "value": "signal",
                        "per_peer": True,
                        "aggregate": "min",
                    }
                ],
            },
            "no aggregate",
        ),
    ],
)
def test_profile_format_rules(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=re.escape(message)):
        parse_profile(table_profile(**change), "t.yaml")


def test_per_peer_is_for_table_metrics() -> None:
    data = {
        "name": "t",
        "description": "t",
        "scalars": {"s": {"oid": "1.3.6.1.4.1.9999.2.0"}},
        "metrics": [
            {"name": "netmon_wireless_signal_dbm", "help": "h", "value": "s", "per_peer": True}
        ],
    }
    with pytest.raises(ProfileError, match="per_peer is for metrics of a table with peers"):
        parse_profile(data, "t.yaml")
