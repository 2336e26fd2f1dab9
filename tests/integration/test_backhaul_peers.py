"""Per-peer station series through the whole path: site files -> config load -> SNMP
params -> a poll of snmpsim serving the real recordings -> the exposition.

DESIGN's privacy rule: a station gets series of its own only when the inventory names it
as the far end of a radio link (its radio_mac); the MAC never appears in the exposition.
Expected values are read from the .snmprec files as text, MACs turned into index arcs here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors import REGISTRY
from netmon.api import TargetRef
from netmon.config import load
from netmon.store import Store
from netmon.tools.simulate import SnmpSim, recordings_dir, start_snmpsim
from tests.helpers import ROOT, parse_exposition, promtool_check, snmp_of
from tests.unit.test_backhaul_peers import arcs, raw

pytestmark = pytest.mark.integration
LOCAL = ROOT / "tests/recordings"
AIROS5 = LOCAL / "airos5_nanostation_m5_excerpt.snmprec"
LTU = LOCAL / "airos-af-ltu_1.4.0.snmprec"
ROUTEROS = recordings_dir() / "routeros.snmprec"


#: radio -> (its recording, profiles, the MAC of the one station named in the inventory,
#: the metric, the OID of that station's signal as the MIB defines it (dBm), labels):
#: ubntStaSignal (index radio.MAC), mtxrWlRtabStrength (MAC.ifIndex, ifIndex 9 is wlan4),
#: afLTUStaRxPower0 (MAC)
RADIOS = {
    "ap-a": (
        AIROS5,
        "[system, if_mib, airos]",
        "68:72:51:00:34:25",
        "netmon_wireless_signal_dbm",
        "1.3.6.1.4.1.41112.1.4.7.1.3.1.{}",
        {"radio": "1"},
    ),
    "rb-a": (
        ROUTEROS,
        "[system, if_mib, mikrotik]",
        "00:27:10:32:ed:60",
        "netmon_wireless_signal_dbm",
        "1.3.6.1.4.1.14988.1.1.1.2.1.3.{}.9",
        {"ifname": "wlan4"},
    ),
    "ltu-a": (
        LTU,
        "[system, if_mib, ltu]",
        "18:e8:29:1e:38:d6",
        "netmon_wireless_chain_rx_power_dbm",
        "1.3.6.1.4.1.41112.1.10.1.4.1.5.{}",
        {"chain": "0", "side": "local"},
    ),
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SnmpSim]:
    with start_snmpsim(files=[AIROS5, LTU, ROUTEROS], quiet=True) as started:
        yield started


@pytest.fixture(autouse=True)
def _communities(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMUNITY_DEFAULT", "public-test")
    for device, (path, *_) in RADIOS.items():
        monkeypatch.setenv(f"COMMUNITY_{device.replace('-', '_').upper()}", path.stem)


def write(tmp: Path, port: int, *, named: bool) -> Path:
    """Each radio at a POP, and at a village the station it lists, joined by radio links;
    ``named``: the stations' radio_mac are in the inventory."""
    radios, stations, links = [], [], []
    for number, (device, (_, profiles, mac, *_)) in enumerate(RADIOS.items(), start=1):
        env = f"COMMUNITY_{device.replace('-', '_').upper()}"
        radios.append(
            f"      - {{id: {device}, address: 127.0.0.1, port: {port}, profiles: {profiles}, "
            f"snmp: {{community: {{env: {env}}}}}}}"
        )
        radio_mac = f', radio_mac: "{mac}"' if named else ""
        stations.append(
            f"      - {{id: sta-{device}, address: 192.0.2.{number}, profiles: [system]"
            f"{radio_mac}}}"
        )
        links.append(
            f"  - {{id: link-{device}, kind: radio, a: 'pop-a/{device}:ath0', "
            f"b: 'desa-b/sta-{device}:ath0'}}"
        )
    sites = "\n".join(
        [
            "kabupaten: Berau",
            "sites:",
            "  - id: pop-a",
            "    name: POP A",
            "    kind: pop",
            "    devices:",
            *radios,
            "  - id: desa-b",
            "    name: Desa B",
            "    kind: village_office",
            "    uplinks: [pop-a]",
            "    devices:",
            *stations,
            "links:",
            *links,
            "",
        ]
    )
    (tmp / "sites").mkdir(exist_ok=True)
    (tmp / "sites" / "berau.yaml").write_text(sites)
    main = "defaults:\n  snmp: {timeout: 5s, community: {env: COMMUNITY_DEFAULT}}\n"
    (tmp / "netmon.yaml").write_text(main)
    return tmp / "netmon.yaml"


async def poll(config: Path, device: str) -> str:
    """One poll of the device with the settings the config built, as exposition text."""
    inventory = load(config, REGISTRY).inventory
    params = snmp_of(inventory.devices[device])
    snmp = REGISTRY.collector_factory("snmp")({})
    target = TargetRef(site="pop-a", device=device, collector="snmp")
    snapshot = await snmp.poll(target, params, deadline=30.0)
    assert snapshot.ok, snapshot.error_detail
    assert not snapshot.partial, snapshot.error_detail
    store = Store([*snmp.metadata(), *snapshot.meta])
    store.apply(snapshot, interval=params.interval)
    return store.render()


def assert_no_mac(text: str, mac: str) -> None:
    """Neither the MAC in any usual spelling nor its index arcs are in the exposition."""
    lowered = text.lower()
    for form in (mac, mac.replace(":", ""), mac.replace(":", "-"), arcs(mac)):
        assert form not in lowered, form


@pytest.mark.parametrize("device", sorted(RADIOS))
async def test_a_named_backhaul_peer_gets_its_own_signal(
    sim: SnmpSim, tmp_path: Path, device: str
) -> None:
    path, _, mac, metric, oid, labels = RADIOS[device]
    text = await poll(write(tmp_path, sim.port, named=True), device)
    series = parse_exposition(text)
    peers = {k: v for k, v in series.items() if any(name == "peer" for name, _ in k[1])}
    wanted = frozenset({("site", "pop-a"), ("device", device), ("peer", f"sta-{device}")})
    assert peers[(metric, wanted | frozenset(labels.items()))] == raw(path, oid.format(arcs(mac)))
    # every per-peer series is of that peer
    assert {dict(k[1])["peer"] for k in peers} == {f"sta-{device}"}
    assert_no_mac(text, mac)
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("device", sorted(RADIOS))
async def test_without_radio_mac_no_station_has_series_of_its_own(
    sim: SnmpSim, tmp_path: Path, device: str
) -> None:
    path, _, mac, metric, oid, _labels = RADIOS[device]
    text = await poll(write(tmp_path, sim.port, named=False), device)
    assert not re.search(r'[{,]peer="', text)
    assert_no_mac(text, mac)
    # the station is still counted and in the summary (min over the stations)
    series = parse_exposition(text)
    assert any(
        name == "netmon_wireless_registered_stations" and v >= 1 for (name, _), v in series.items()
    )
    signals = [v for (name, _), v in series.items() if name == metric]
    assert signals
    assert min(signals) <= raw(path, oid.format(arcs(mac)))
