"""The SNMP collector against real agents when the path fails: state kept, faults contained.

snmpsim serves hand-written recordings (values chosen here, so the expected
numbers come from the recording, not from the code); the relay from
netmon.tools.simulate cuts the path and, like the demo's reboot, switches the device
to another recording by rewriting the community in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from collectors.snmp import SnmpCollector, SnmpParams
from netmon.api import Secret, TargetRef
from netmon.store import Store
from netmon.tools.simulate import UdpRelay, free_udp_port, relay, start_snmpsim
from tests.helpers import values
from tests.snmpd_agent import running_snmpd

pytestmark = pytest.mark.integration

TARGET = TargetRef("site-r", "rtr-r", "snmp")
IF = "1.3.6.1.2.1.2.2.1"


def recording(uptime_ticks: int, octets: int, optical_temp: int, voltage_dv: int) -> str:
    """A MikroTik-like agent: uptime, one 32-bit-only port, an SFP, board voltage."""
    lines = [
        f"1.3.6.1.2.1.1.3.0|67|{uptime_ticks}",
        f"{IF}.2.1|4|ether1",
        f"{IF}.5.1|66|100000000",
        f"{IF}.8.1|2|1",
        f"{IF}.10.1|65|{octets}",
        "1.3.6.1.4.1.14988.1.1.3.8.0|2|" + str(voltage_dv),
        "1.3.6.1.4.1.14988.1.1.19.1.1.2.2|4|sfp1",
        "1.3.6.1.4.1.14988.1.1.19.1.1.5.2|66|131000",
        f"1.3.6.1.4.1.14988.1.1.19.1.1.6.2|66|{optical_temp}",
        "1.3.6.1.4.1.14988.1.1.19.1.1.10.2|2|-5673",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def agents() -> Iterator[int]:
    # before: up 1060 s, 5000 bytes in; after a reboot: up 3 s, 700 bytes since boot.
    # "bad-v1" has the SwOS no-reading temperature and a board voltage of 6553.5 V
    extra = {
        "dev-a1": recording(106_000, 5_000, 40, 154),
        "dev-b1": recording(300, 700, 40, 154),
        "bad-v1": recording(50_000, 1, 4294967168, 65535),
    }
    with start_snmpsim(files=[], extra=extra, quiet=True) as sim:
        yield sim.port


def params(port: int, community: str, **kw: object) -> SnmpParams:
    base: dict[str, object] = {
        "address": "127.0.0.1",
        "port": port,
        "community": Secret(community),
        "timeout": 0.3,
        "retries": 0,
        "profiles": ("system", "if_mib", "mikrotik"),
    }
    base.update(kw)
    return SnmpParams(**base)  # type: ignore[arg-type]


async def test_a_reboot_during_an_outage_is_counted_and_totals_go_on(agents: int) -> None:
    """Item 1: a timeout used to drop the device's state, so this reboot was never seen."""
    path, port = await relay(agents, lambda n: "send")
    collector, store = SnmpCollector(), Store()
    store.add_meta(collector.metadata())
    p = params(port, "dev-a1")

    async def poll() -> str:
        snapshot = await collector.poll(TARGET, p, 5.0)
        store.apply(snapshot, 60)
        return snapshot.error or ""

    assert await poll() == ""
    text = store.render()
    assert values(text, "netmon_device_reboots_total") == [0.0]
    assert values(text, "netmon_interface_receive_bytes_total") == [0.0]
    path.dark = True  # the router is unreachable while it reboots
    assert await poll() == "timeout"
    path.swap = (b"dev-a1", b"dev-b1")  # same length: the device now answers as rebooted
    path.dark = False
    assert await poll() == ""
    text = store.render()
    assert values(text, "netmon_device_reboots_total") == [1.0]
    # the device counted 700 bytes since it booted: added to the total, not a restart at 0
    assert values(text, "netmon_interface_receive_bytes_total") == [700.0]
    assert values(text, "netmon_snmp_resets_total", reason="reboot") == [1.0]
    assert values(text, "netmon_device_uptime_seconds") == [3.0]


async def test_dropped_values_show_in_metrics_by_reason(agents: int) -> None:
    """Item 3: 4294967168 C and 6553.5 V are not readings; /metrics says what was dropped."""
    collector, store = SnmpCollector(), Store()
    store.add_meta(collector.metadata())
    snapshot = await collector.poll(TARGET, params(agents, "bad-v1"), 5.0)
    assert snapshot.error is None, snapshot.error_detail
    store.apply(snapshot, 60)
    text = store.render()
    assert values(text, "netmon_optical_temperature_celsius") == []
    assert values(text, "netmon_device_supply_voltage_volts") == []
    assert values(text, "netmon_optical_rx_power_dbm", ifname="sfp1") == [-5.673]
    assert values(text, "netmon_samples_dropped_total", reason="sentinel") == [1.0]
    assert values(text, "netmon_samples_dropped_total", reason="implausible") == [1.0]
    assert values(text, "netmon_samples_dropped_total", reason="decode") == [0.0]


class _PanicRelay(UdpRelay):
    """Forwards the first request (the GET of scalars), then answers with bytes that panic
    gufo-snmp 0.13's BER decoder: a SEQUENCE whose length runs past the datagram."""

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.requests >= 1 and self.transport is not None:
            self.requests += 1
            self.transport.sendto(bytes.fromhex("30f902010104067075626c6963a51c0204"), addr)
            return
        super().datagram_received(data, addr)


@pytest.fixture(scope="module")
def snmpd() -> Iterator[int]:
    with running_snmpd(community="panic-test") as port:
        yield port


async def test_a_decoder_panic_mid_walk_is_that_polls_decode_error(snmpd: int) -> None:
    """Item 7: pyo3's PanicException is a BaseException; it used to escape the poll."""
    loop = asyncio.get_running_loop()
    port = free_udp_port()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _PanicRelay(snmpd, lambda n: "send"), local_addr=("127.0.0.1", port)
    )
    try:
        p = params(port, "panic-test", profiles=("system", "if_mib"))
        snapshot = await SnmpCollector().poll(TARGET, p, 5.0)
    finally:
        transport.close()
    assert snapshot.error is None  # the scalars came back: up, partial
    assert "if_mib.interfaces (decode)" in snapshot.error_detail
