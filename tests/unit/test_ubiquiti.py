"""Ubiquiti families (issue 14): airMAX (airos), airFiber (airfiber), read right.

Expected values come from the recordings through tests/snmprec_reader.py and the MIBs'
definitions applied here (UBNT-AirMAX-MIB: ubntAirMaxQuality/Capacity percent,
ubntAirMaxAirtime percent x 10, ubntRadioDistance metres, ubntRadioRssi per chain indexed
radio.chain; UBNT-AirFIBER-MIB: radioLinkDistM metres, rx/txCapacity bit/s, rxPowerN dBm,
radioNTempC Celsius at columns 8 and 10, tx/rxFrequency sent in kHz although the MIB says
MHz). Detection is written from what the agents say (Frogfoot's 10002.1 + "Linux").
"""

from __future__ import annotations

import os
import statistics

import pytest

from collectors import REGISTRY
from collectors.snmp.detect import Identity, candidates, choose
from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.plan import Value
from collectors.snmp.profile import builtin_profiles
from netmon.api import Sample
from netmon.exposition import join_families, render_samples
from netmon.tools.simulate import recordings_dir
from tests.helpers import ROOT, promtool_check, raw_poll
from tests.snmprec_reader import Recording

NEW = ROOT / "tests/recordings"
GOLDEN = ROOT / "tests/golden"
BASE = (("site", "s"), ("device", "d"))
AIRMAX = "1.3.6.1.4.1.41112.1.4"
AF = "1.3.6.1.4.1.41112.1.3"


def load(name: str) -> Recording:
    path = NEW / f"{name}.snmprec"
    return Recording.read(path if path.exists() else recordings_dir() / f"{name}.snmprec")


def poll(name: str, profiles: list[str], extra: dict[str, Value] | None = None) -> list[Sample]:
    specs = [builtin_profiles()[p] for p in profiles]
    wire: dict[str, Value] = {**dict(load(name).wire()), **(extra or {})}
    result = Engine(specs, 60.0, 4096).map(raw_poll(wire, specs), DeviceState(), BASE)
    return [s for part in result.parts for s in part.samples]


def series(samples: list[Sample], name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(dict(s.labels).items() - set(BASE)): s.value for s in samples if s.name == name
    }


@pytest.mark.parametrize("name", ["airos", "airos_airos8"])
def test_airmax_chains_quality_capacity_airtime_distance(name: str) -> None:
    rec = load(name)
    got = poll(name, ["system", "if_mib", "airos"])
    chains = {
        frozenset({("radio", oid.split(".")[-2]), ("chain", oid.split(".")[-1])}): float(n)
        for oid, n in rec.numbers(f"{AIRMAX}.2.1.2").items()
    }
    assert len(chains) == 2
    assert series(got, "netmon_wireless_chain_rssi_level") == chains
    distance = rec[f"{AIRMAX}.1.1.7.1"].number
    assert series(got, "netmon_wireless_distance_meters") == {frozenset({("radio", "1")}): distance}
    one = frozenset({("radio", "1")})
    for column, metric, scale in [
        (3, "netmon_wireless_airmax_quality_ratio", 0.01),  # percent
        (4, "netmon_wireless_airmax_capacity_ratio", 0.01),  # percent
        (7, "netmon_wireless_airtime_ratio", 1e-3),  # percent x 10
    ]:
        rows = rec.numbers(f"{AIRMAX}.6.1.{column}")
        assert series(got, metric) == pytest.approx({one: rows["1"] * scale} if rows else {})


def test_rocket_prism_values_by_hand() -> None:
    """Read off the file by eye: 14400 m, chains 48/50, quality 53 %, capacity 50 %."""
    got = poll("airos", ["system", "if_mib", "airos"])
    assert series(got, "netmon_wireless_distance_meters") == {frozenset({("radio", "1")}): 14400}
    assert sorted(series(got, "netmon_wireless_chain_rssi_level").values()) == [48, 50]
    assert series(got, "netmon_wireless_airmax_quality_ratio") == {
        frozenset({("radio", "1")}): 0.53
    }


def test_station_table_is_summarised_never_per_client() -> None:
    """ubntStaTable rows (MIB-built here: no public recording has them): count, min and
    median signal per radio; no label carries the station's MAC."""
    signals = {"0.39.34.1.2.3": -61, "0.39.34.1.2.4": -77, "0.39.34.1.2.5": -70, "0.39.34.1.2.6": 0}
    extra: dict[str, Value] = {f"{AIRMAX}.7.1.3.1.{mac}": v for mac, v in signals.items()}
    got = poll("airos", ["airos"], extra)
    real = [v for v in signals.values() if v != 0]  # 0: "no reading"
    signal = series(got, "netmon_wireless_signal_dbm")
    assert signal[frozenset({("radio", "1"), ("stat", "min")})] == min(real)
    assert signal[frozenset({("radio", "1"), ("stat", "median")})] == statistics.median(real)
    assert series(got, "netmon_wireless_registered_stations") == {
        frozenset({("radio", "1")}): len(signals)
    }
    assert all("mac" not in dict(s.labels) for s in got)
    assert not any(":" in v or "0.39.34" in v for s in got for _, v in s.labels)


def test_airfiber_af11_values_from_the_recording() -> None:
    rec = load("airos-af")
    got = poll("airos-af", ["system", "if_mib", "airfiber"])
    one = ("radio", "1")
    freq = series(got, "netmon_wireless_frequency_hertz")
    assert freq == {
        frozenset({one, ("direction", "tx")}): rec[f"{AF}.1.1.5.1"].number * 1e3,
        frozenset({one, ("direction", "rx")}): rec[f"{AF}.1.1.6.1"].number * 1e3,
    }
    assert 10.7e9 < freq[frozenset({one, ("direction", "tx")})] < 11.7e9  # the 11 GHz band
    assert series(got, "netmon_wireless_distance_meters") == {
        frozenset({one}): rec[f"{AF}.2.1.4.1"].number
    }
    assert series(got, "netmon_wireless_capacity_bytes_per_second") == {
        frozenset({one, ("direction", "rx")}): rec[f"{AF}.2.1.5.1"].number / 8,
        frozenset({one, ("direction", "tx")}): rec[f"{AF}.2.1.6.1"].number / 8,
    }
    assert series(got, "netmon_wireless_chain_rx_power_dbm") == {
        frozenset({one, ("chain", "0"), ("side", "local")}): rec[f"{AF}.2.1.11.1"].number,
        frozenset({one, ("chain", "1"), ("side", "local")}): rec[f"{AF}.2.1.14.1"].number,
    }
    assert series(got, "netmon_wireless_radio_temperature_celsius") == {
        frozenset({one, ("chain", "0")}): rec[f"{AF}.2.1.8.1"].number,
        frozenset({one, ("chain", "1")}): rec[f"{AF}.2.1.10.1"].number,
    }
    assert series(got, "netmon_wireless_info") == {
        frozenset({one, ("firmware", rec[f"{AF}.2.1.40.1"].text)}): 1.0
    }


@pytest.mark.parametrize(
    ("tx", "rx", "want_tx", "want_rx"),
    [
        (11485000, 10995000, 11.485e9, 10.995e9),  # the AF-11 recording: kHz
        (24100, 24150, 24.1e9, 24.15e9),  # what UBNT-AirFIBER-MIB says: MHz (an AF24)
        (5800, 5300, 5.8e9, 5.3e9),  # an AF-5 sending MHz
        (60480000, 60480000, 60.48e9, 60.48e9),  # 60 GHz in kHz
    ],
)
def test_airfiber_frequency_in_mhz_or_khz(tx: int, rx: int, want_tx: float, want_rx: float) -> None:
    """The MIB says txFrequency/rxFrequency are MHz; the AF-11 firmware sends kHz. Either
    reads right: no airFiber band is at 100 GHz (6 digits of MHz) or under 100 MHz (5 of kHz)."""
    got = poll("airos-af", ["airfiber"], {f"{AF}.1.1.5.1": tx, f"{AF}.1.1.6.1": rx})
    one = ("radio", "1")
    assert series(got, "netmon_wireless_frequency_hertz") == pytest.approx(
        {
            frozenset({one, ("direction", "tx")}): want_tx,
            frozenset({one, ("direction", "rx")}): want_rx,
        }
    )


def test_airfiber_by_hand() -> None:
    got = poll("airos-af", ["airfiber"])
    assert series(got, "netmon_wireless_distance_meters") == {frozenset({("radio", "1")}): 11450}
    assert sorted(series(got, "netmon_wireless_chain_rx_power_dbm").values()) == [-42, -42]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("airos-af", ["system", "if_mib", "airfiber", "airos"]),
        ("airos", ["system", "if_mib", "airfiber", "airos"]),
    ],
)
def test_detection_of_ubiquiti_radios(name: str, expected: list[str]) -> None:
    rec = load(name)
    said = Identity(rec["1.3.6.1.2.1.1.2.0"].text.lstrip("."), rec["1.3.6.1.2.1.1.1.0"].text)
    builtin = builtin_profiles()
    chosen, _ = choose(said, candidates(builtin.values()), [builtin["system"], builtin["if_mib"]])
    assert [p.name for p in chosen] == expected


def test_airfiber_golden_and_promtool() -> None:
    samples = poll("airos-af", ["system", "if_mib", "airfiber"])
    metas = REGISTRY.collector_factory("snmp")({}).metadata()
    text = join_families({m.name: m for m in metas}, [render_samples(samples)])
    golden = GOLDEN / "airos-af.prom"
    if os.environ.get("NETMON_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert text == golden.read_text()
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr


def test_profiles_say_where_they_were_verified() -> None:
    builtin = builtin_profiles()
    assert any("airos.snmprec" in v for v in builtin["airos"].verified)
    assert any("airos-af.snmprec" in v for v in builtin["airfiber"].verified)
