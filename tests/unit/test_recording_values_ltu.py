"""LTU radios (UBNT-AFLTU-MIB, airFiber 5XHD): expected values read straight from the real
recordings, by the MIB's definitions, as test_recording_values.py does.
"""

from __future__ import annotations

import re
import statistics

import pytest

from tests.snmprec_reader import Recording
from tests.unit.test_recording_values import (
    LTU,
    PROFILES,
    Device,
    Expected,
    check,
    collect,
    load,
    scalar,
)

# --- UBNT-AFLTU-MIB (LTU, airFiber 5XHD) -----------------------------------------------------

LTU_NAMES = sorted(n for n, p in PROFILES.items() if "ltu" in p)


def ltu_expected(rec: Recording) -> Expected:
    """Key: (metric, "chain/side/direction/stat")."""
    out: Expected = {}
    radio = {  # afLTUConfig / afLTUStatus scalars (.0): column, metric, factor
        (f"{LTU}.2.2.0", "netmon_wireless_frequency_hertz", 1e6),  # afLTUFrequency, "MHz"
        (f"{LTU}.2.4.0", "netmon_wireless_channel_width_hertz", 1e6),  # afLTUBandwidth, "MHz"
        (f"{LTU}.2.6.0", "netmon_wireless_tx_eirp_dbm", 1.0),  # afLTUTxEIRP "in dBm"
        (f"{LTU}.3.5.0", "netmon_device_memory_used_ratio", 0.01),  # afLTUMemoryUsage "%"
        (f"{LTU}.3.6.0", "netmon_device_cpu_ratio", 0.01),  # afLTUCpuUsage "%"
    }
    for oid, metric, factor in radio:
        if oid in rec:
            out[(metric, "///")] = rec[oid].number * factor
    station = f"{LTU}.4.1"  # afLTUStationEntry, INDEX afLTUStaRemoteMac (6 arcs)
    macs = {index.split(".", 1)[1] for index in rec.column(station)}  # column.MAC
    out[("netmon_wireless_registered_stations", "///")] = float(len(macs))
    # afLTUSta(Remote)RxPower0/1, UNITS "dBm": what this radio (local) and the station
    # (remote) receive; one value per station, summarised: no per-station series
    for column, chain, side in ((5, "0", "local"), (6, "1", "local"), (16, "0", "remote")):
        values = list(rec.numbers(f"{station}.{column}").values())
        if values:
            out[("netmon_wireless_chain_rx_power_dbm", f"{chain}/{side}//min")] = min(values)
            out[("netmon_wireless_chain_rx_power_dbm", f"{chain}/{side}//median")] = (
                statistics.median(values)
            )
    values = list(rec.numbers(f"{station}.17").values())  # afLTUStaRemoteRxPower1
    if values:
        out[("netmon_wireless_chain_rx_power_dbm", "1/remote//min")] = min(values)
        out[("netmon_wireless_chain_rx_power_dbm", "1/remote//median")] = statistics.median(values)
    for column, direction in ((3, "tx"), (4, "rx")):  # afLTUSta{Tx,Rx}Capacity, "Kbps"
        kbits = list(rec.numbers(f"{station}.{column}").values())
        if kbits:
            key = f"//{direction}/"
            out[("netmon_wireless_capacity_bytes_per_second", key + "min")] = min(kbits) * 125
            out[("netmon_wireless_capacity_bytes_per_second", key + "median")] = (
                statistics.median(kbits) * 125
            )
    # afLTUStaRemoteDistance: the MIB says km; the radios send metres (LibreNMS divides by
    # 1000 to show km). The farthest station.
    metres = list(rec.numbers(f"{station}.23").values())
    if metres:
        out[("netmon_wireless_distance_meters", "///max")] = float(max(metres))
    return out


@pytest.mark.parametrize("name", LTU_NAMES)
def test_ltu_radio_values(name: str) -> None:
    rec = load(name)
    want = ltu_expected(rec)
    samples = Device(name).poll(rec)
    got = collect(samples, {m for m, _ in want}, ("chain", "side", "direction", "stat"))
    check(got, want)
    labels = {v for s in samples for _, v in s.labels}
    macs = {i.split(".", 1)[1] for i in rec.column(f"{LTU}.4.1")}  # column.MAC
    assert not labels & macs  # DESIGN's privacy rule: the station's MAC is never a label
    assert not [v for v in labels if re.fullmatch(r"([0-9a-f]{2}[:-]){5}[0-9a-f]{2}", v.lower())]


def test_ltu_af5xhd_read_by_hand() -> None:
    """airFiber 5XHD, LTU firmware v1.4.0: 5795 MHz, 18 dBm EIRP, one station at 3844 m,
    heard at -57 / -48 dBm on chains 0 / 1, capacity 140.8 Mbit/s out, 444.8 Mbit/s in;
    two CPUs at 91 % and 22 % (hrProcessorLoad); 247768 kB of RAM, 51148 free, 6228 in
    buffers, 17224 cached (UCD memory group): 173168 kB really in use."""
    samples = Device("airos-af-ltu_1.4.0").poll(load("airos-af-ltu_1.4.0"))
    assert scalar(samples, "netmon_wireless_frequency_hertz") == [5.795e9]
    assert scalar(samples, "netmon_wireless_tx_eirp_dbm") == [18]
    assert scalar(samples, "netmon_wireless_registered_stations") == [1]
    assert scalar(samples, "netmon_wireless_distance_meters") == [3844]  # 3.8 km, not 3844 km
    assert sorted(set(scalar(samples, "netmon_wireless_chain_rx_power_dbm"))) == [-57, -48]
    capacity = collect(samples, {"netmon_wireless_capacity_bytes_per_second"}, ("direction",))
    assert set(capacity.values()) == {140_800_000 / 8, 444_800_000 / 8}
    assert sorted(scalar(samples, "netmon_host_cpu_load_ratio")) == [0.22, 0.91]
    memory = {
        m: scalar(samples, f"netmon_host_memory_{m}_bytes")[0] / 1024
        for m in ("size", "available", "buffers", "cached")
    }
    assert memory == {"size": 247768, "available": 51148, "buffers": 6228, "cached": 17224}
    in_use = memory["size"] - memory["available"] - memory["buffers"] - memory["cached"]
    assert in_use == 173168
