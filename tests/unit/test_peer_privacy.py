"""DESIGN's privacy rule in station tables, where the profile format could break it: a
table with ``peers`` gives aggregates and per-peer series only, no label reads the
station's MAC, and a peer address two inventory devices share finds neither. And airOS's
per-peer CCQ and airMAX figures, verified on airOS 5 only: a 0 is no reading.

Expected values are read from the .snmprec file as text here, MACs turned into index arcs
here, never by netmon."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from collectors.snmp import builtin_profiles
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.plan import Value
from collectors.snmp.profile import ProfileError, load_dir, parse_profile
from tests.helpers import raw_poll, snmp_of
from tests.snmprec_reader import Recording
from tests.unit.test_backhaul_peers import (
    AIROS5,
    AIROS5_MAC,
    UBNT_STA,
    arcs,
    assert_no_mac,
    inventory,
    per_peer,
    raw,
    table_profile,
)

SIGNAL = {"name": "netmon_wireless_signal_dbm", "help": "h", "value": "signal"}
PEER_SIGNAL = {**SIGNAL, "per_peer": True}
#: a station table indexed by radio and MAC, its station named by the MAC part
BY_MAC = {
    "index": [{"name": "radio", "length": 1}, {"name": "mac", "length": 6}],
    "peers": {"match": "@index.mac", "as": "mac"},
    "labels": {"radio": "@index.radio"},
}
#: the same table, its station named by an address column
BY_IP = {**BY_MAC, "peers": {"match": "ip", "as": "ip"}}
COUNT = {"name": "netmon_wireless_registered_stations", "help": "h", "aggregate": "count"}


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_COMMUNITY", "public-test")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # one series per row is one per station
        ({**BY_MAC, "metrics": [PEER_SIGNAL, SIGNAL]}, "aggregate and per_peer metrics only"),
        (
            {**BY_MAC, "metrics": [PEER_SIGNAL, {**COUNT, "info": {"radio": "@index.radio"}}]},
            "aggregate and per_peer metrics only",
        ),
        (
            {**BY_MAC, "metrics": [PEER_SIGNAL, {**SIGNAL, "info": {"x": "@index.radio"}}]},
            "aggregate and per_peer metrics only",
        ),
        # labels and keys that read the station: the index, its MAC part, the match column
        ({**BY_MAC, "labels": {"radio": "@index"}}, "reads what names the station"),
        ({**BY_MAC, "labels": {"radio": "@index.mac"}}, "reads what names the station"),
        ({**BY_MAC, "labels": {"radio": "@index.radio|@index.mac"}}, "what names the station"),
        ({**BY_MAC, "labels": {"ifname": "@ifname(index.mac)"}}, "what names the station"),
        ({**BY_MAC, "labels": {"ifname": "@ifname(index)"}}, "what names the station"),
        ({**BY_MAC, "labels": {"x": "@lookup(radios.radio, index.mac)"}}, "names the station"),
        ({**BY_MAC, "key": "@index.mac"}, "key: '@index.mac' reads what names the station"),
        ({**BY_IP, "labels": {"radio": "@index"}}, "reads what names the station"),
        ({**BY_IP, "labels": {"addr": "ip"}}, "reads what names the station"),
        ({**BY_IP, "labels": {"addr": "@match(ip, ^(\\d+))"}}, "reads what names the station"),
        ({**BY_IP, "key": "ip"}, "key: 'ip' reads what names the station"),
        # both put the index in a label
        ({**BY_MAC, "unique_label": "radio"}, "unique_label: not in a table with peers"),
        ({**BY_MAC, "interfaces": True}, "interfaces: not in a table with peers"),
        # the whole index of several parts is never a MAC
        ({**BY_MAC, "peers": {"match": "@index", "as": "mac"}}, "name the station's part"),
    ],
)
def test_station_table_shapes_that_could_leak_a_station_are_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError, match=re.escape(message)):
        parse_profile(table_profile(**change), "t.yaml")


#: a user's profile of ubntStaTable: the noise floor as a plain per-row metric. The
#: stations of a radio share {radio}, and the identity rule made them unique by appending
#: the index (radio.MAC): radio="1#1.104.114.81.0.52.37"
LEAKY = """\
name: airos_peers
description: station noise floor
tables:
  - name: stations
    walk: [1.3.6.1.4.1.41112.1.4.7.1]
    index: [{name: radio, length: 1}, {name: mac, length: 6}]
    columns:
      ubntStaSignal: {oid: 1.3.6.1.4.1.41112.1.4.7.1.3}
      ubntStaNoiseFloor: {oid: 1.3.6.1.4.1.41112.1.4.7.1.4}
    labels:
      radio: "@index.radio"
    peers: {match: "@index.mac", as: mac}
    metrics:
      - name: netmon_wireless_signal_dbm
        help: h
        value: ubntStaSignal
        per_peer: true
      - name: netmon_wireless_noise_floor_dbm
        help: h
        value: ubntStaNoiseFloor
"""


def test_a_user_profile_that_leaked_the_mac_is_refused_at_its_table(tmp_path: Path) -> None:
    (tmp_path / "airos_peers.yaml").write_text(LEAKY)
    found = load_dir(tmp_path, "config/profiles")
    assert "airos_peers" not in found.valid
    line = LEAKY.splitlines().index("  - name: stations") + 1
    error = found.broken["airos_peers"]
    assert error.startswith(f"config/profiles/airos_peers.yaml:{line}:"), error
    assert "tables.0" in error
    assert "metrics.1 (netmon_wireless_noise_floor_dbm)" in error
    # as an aggregate it is allowed, and over the recording's one station it is that
    # station's noise floor, labelled by its radio only
    fixed = LEAKY.replace(
        "value: ubntStaNoiseFloor\n", "value: ubntStaNoiseFloor\n" + " " * 8 + "aggregate: min\n"
    )
    (tmp_path / "airos_peers.yaml").write_text(fixed)
    profile = load_dir(tmp_path, "config/profiles").valid["airos_peers"]
    wire: dict[str, Value] = dict(Recording.read(AIROS5).wire())
    result = Engine([profile], 60.0, 4096).map(
        raw_poll(wire, [profile]), DeviceState(), (), peers={}
    )
    samples = [s for part in result.parts for s in part.samples]
    noise = [s for s in samples if s.name == "netmon_wireless_noise_floor_dbm"]
    floor = raw(AIROS5, f"{UBNT_STA}.4.1.{arcs(AIROS5_MAC)}")
    assert [(dict(s.labels), s.value) for s in noise] == [({"radio": "1"}, floor)]
    assert floor == -101  # ubntStaNoiseFloor of the one station, as read by hand
    assert_no_mac(samples, AIROS5_MAC)


# -- wrap risk of a peer's row: never its index in a label or a log line -----------------


def test_a_wrap_risk_on_a_station_row_names_the_peer_not_the_mac() -> None:
    spec = table_profile(
        **BY_IP,
        columns={
            "ip": {"oid": "1.3.6.1.4.1.9999.1.1.2", "type": "string"},
            "octets": {"oid": "1.3.6.1.4.1.9999.1.1.3", "type": "counter32", "counts": "bytes"},
            "speed": {"oid": "1.3.6.1.4.1.9999.1.1.4"},
        },
        line_speed=["speed"],
        metrics=[
            COUNT,
            {
                "name": "netmon_wireless_rx_bytes_total",
                "type": "counter",
                "help": "h",
                "value": "octets",
                "per_peer": True,
            },
        ],
    )
    profile = parse_profile(spec, "t.yaml")
    peer, other = "1." + arcs(AIROS5_MAC), "1." + arcs("68:72:51:00:34:26")
    wire: dict[str, Value] = {}
    for index, address in ((peer, "10.20.2.3"), (other, "10.20.2.9")):
        wire[f"1.3.6.1.4.1.9999.1.1.2.{index}"] = address
        wire[f"1.3.6.1.4.1.9999.1.1.3.{index}"] = 1000
        wire[f"1.3.6.1.4.1.9999.1.1.4.{index}"] = 10**9  # bytes/s: 2^32 in under 5 s
    result = Engine([profile], 60.0, 4096).map(
        raw_poll(wire, [profile]), DeviceState(), (), peers={"ip:10.20.2.3": "cpe-b"}
    )
    samples = [s for part in result.parts for s in part.samples]
    risks = [dict(s.labels) for s in samples if s.name == "netmon_interface_wrap_risk"]
    assert risks == [{"radio": "1", "peer": "cpe-b"}]
    assert result.wrap_risks == ["t.stations station of peer cpe-b"]
    assert_no_mac(samples, AIROS5_MAC)


# -- peers found by address: an address two peers share finds neither --------------------


def shared_address(mac: str | None) -> str:
    radio_mac = f', radio_mac: "{mac}"' if mac else ""
    return f"""\
kabupaten: Berau
sites:
  - id: pop-a
    name: POP A
    kind: pop
    devices:
      - {{id: ap-a, address: 10.20.1.2, profiles: [system, if_mib, airos]}}
  - id: desa-b
    name: Kantor Desa B
    kind: village_office
    uplinks: [pop-a]
    devices:
      - {{id: cpe-b, address: 10.20.2.3, profiles: [system]{radio_mac}}}
      - {{id: cpe-c, address: 10.20.2.3, port: 1161, profiles: [system]}}
links:
  - {{id: ab, kind: radio, a: "pop-a/ap-a:ath0", b: "desa-b/cpe-b:ath0"}}
  - {{id: ac, kind: radio, a: "pop-a/ap-a:ath1", b: "desa-b/cpe-c:ath0"}}
"""


def test_an_address_two_peers_share_gives_no_per_peer_series(tmp_path: Path) -> None:
    params = snmp_of(inventory(tmp_path, shared_address(None)).devices["ap-a"])
    assert params.peers == ()
    # a station table matched by address: the row of 10.20.2.3 is nobody's
    profile = parse_profile(table_profile(peers={"match": "ip", "as": "ip"}), "t.yaml")
    wire: dict[str, Value] = {
        "1.3.6.1.4.1.9999.1.1.2.7": "10.20.2.3",
        "1.3.6.1.4.1.9999.1.1.3.7": -60,
    }
    result = Engine([profile], 60.0, 4096).map(
        raw_poll(wire, [profile]), DeviceState(), (), peers=dict(params.peers)
    )
    assert not [s for p in result.parts for s in p.samples if "peer" in dict(s.labels)]


def test_a_peer_with_a_shared_address_is_still_found_by_its_mac(tmp_path: Path) -> None:
    params = snmp_of(inventory(tmp_path, shared_address(AIROS5_MAC)).devices["ap-a"])
    assert params.peers == ((f"mac:{AIROS5_MAC}", "cpe-b"),)


# -- airOS: a peer's figures verified on airOS 5 only --------------------------------------


def test_airos_peer_ccq_and_airmax_figures_of_0_are_no_reading() -> None:
    """A peer's CCQ and airMAX quality/capacity are verified on airOS 5 only (percent);
    0 means no reading (a station of a later airOS said ubntStaAmq/Amc 0): dropped."""
    specs = [builtin_profiles()[p] for p in ("system", "if_mib", "airos")]
    row = f"1.{arcs(AIROS5_MAC)}"
    wire: dict[str, Value] = dict(Recording.read(AIROS5).wire())
    for number in (6, 8, 9):  # ubntStaCcq, ubntStaAmq, ubntStaAmc
        wire[f"{UBNT_STA}.{number}.{row}"] = 0
    peers = {f"mac:{AIROS5_MAC}": "cpe-b"}
    result = Engine(specs, 60.0, 4096).map(raw_poll(wire, specs), DeviceState(), (), peers=peers)
    got = {name for name, _ in per_peer([s for p in result.parts for s in p.samples])}
    assert got == {
        "netmon_wireless_signal_dbm",
        "netmon_wireless_distance_meters",
        "netmon_wireless_tx_rate_bytes_per_second",
        "netmon_wireless_rx_rate_bytes_per_second",
    }
    assert result.dropped["sentinel"] == 3
