"""A reboot counted in a poll that lost the interfaces table (flapping test, 2nd reboot).

The next complete walk sees 64-bit counters lower than before. Without the reboot
carried over to that walk they looked like a cheap switch's fake HC counters
wrapping at 2^32, and netmon fell back to the 32-bit column for good: the byte
totals became the old total plus the new count (the flapping test's 2.4x).
"""

from __future__ import annotations

import time

from collectors.snmp import SnmpCollector, SnmpParams
from netmon.api import Secret, TargetRef
from netmon.store import Store
from tests.helpers import values
from tests.lossy_relay import Faults, LossyRelay
from tests.moving_agent import IF_TABLE, IF_X_TABLE, Iface, ManualClock, MovingAgent, walks_under

TARGET = TargetRef("site-boot", "rtr-boot", "snmp")
# a 64-bit counter below 2^32, as after an earlier reboot
ETHER1 = Iface(1, "ether1", 1_000_000_000, {"in_octets": 40_000_000}, {"in_octets": 10**9}, hc=True)
RX = "netmon_interface_receive_bytes_total"


async def test_a_reboot_seen_while_the_table_failed_resets_at_its_next_walk() -> None:
    clock = ManualClock(time.monotonic())
    collector = SnmpCollector()
    store = Store(collector.metadata())
    lose = False

    def drop(data: bytes) -> bool:
        return lose and walks_under(data, (IF_TABLE, IF_X_TABLE))

    with (
        MovingAgent([ETHER1], clock, community="c") as agent,
        LossyRelay(("127.0.0.1", agent.port), Faults(), 1, drop_request=drop) as relay,
    ):
        p = SnmpParams(
            address="127.0.0.1",
            port=relay.port,
            community=Secret("c"),
            timeout=0.2,
            retries=1,
            profiles=("system", "if_mib"),
            interval=1.0,
        )
        texts: list[str] = []
        for step in range(3):
            clock.now += 1.0
            lose = step == 1
            if step == 1:
                agent.reboot()
                clock.now += 0.5
            snapshot = await collector.poll(TARGET, p, 3.0)
            assert snapshot.error is None, snapshot.error_detail
            store.apply(snapshot, 60.0)
            texts.append(store.render())
        collector.forget(TARGET)
    assert values(texts[1], "netmon_device_reboots_total") == [1.0]
    assert values(texts[1], RX) == []  # the previous boot's series are not kept
    assert values(texts[2], RX) == [float(agent.count(ETHER1, "in_octets", clock.now))]
    assert set(values(texts[2], "netmon_snmp_hc_fallbacks_total")) == {0.0}
