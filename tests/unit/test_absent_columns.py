"""Columns a device does not have are not walked in steady state (issue 13, item 5).

The moving agent (tests/moving_agent.py) fills ifHCInOctets and ifHCOutOctets
(ifXTable columns 6 and 10) only for interfaces made with ``hc=True`` and has no
ifCounterDiscontinuityTime (ifXTable column 19) at all, while the if_mib profile
uses all three (collectors/snmp/profiles/if_mib.yaml). Those are the absent
columns expected here, read off the agent's definition, not from netmon's
plan. A counting relay (tests/unit/test_slow_cache.py) records every request.
"""

from __future__ import annotations

import time

from collectors.snmp import SnmpCollector, slowcache
from collectors.snmp.engine import RawPoll
from collectors.snmp.profile import builtin_profiles
from collectors.snmp.slowcache import SlowCache
from collectors.snmp.walker import Walker, make_session
from netmon.api import Sample, TargetRef
from tests.moving_agent import Iface
from tests.snmp_ber import INTEGER, OCTETS, Var, oid
from tests.unit.test_slow_cache import (
    IF_NUMBER,
    IFX_ENTRY,
    SLOW,
    USED,
    CountingRelay,
    agent_behind_relay,
    names,
    params,
    walk,
    walked,
)

#: ifHCInOctets, ifHCOutOctets (HC interfaces only), ifCounterDiscontinuityTime (never)
HC = {f"{IFX_ENTRY}.6", f"{IFX_ENTRY}.10"}
ABSENT = {*HC, f"{IFX_ENTRY}.19"}
#: two interfaces without HC counters: the agent has none of ABSENT
PLAIN = (
    Iface(1, "ether1", 100_000_000, {"in_octets": 4_000}),
    Iface(2, "wlan1", 54_000_000, {"in_octets": 1_000}),
)
HC_IFACE = Iface(3, "sfp1", 1_000_000_000, {"in_octets": 2_000_000}, hc=True)
#: MIKROTIK-MIB mtxrHotspotActiveUserTable's column the mikrotik profile walks
HOTSPOT_USERS = "1.3.6.1.4.1.14988.1.1.5.1.1.3"


async def test_absent_columns_are_not_requested_in_steady_state() -> None:
    cache = SlowCache()
    async with agent_behind_relay(PLAIN) as (_agent, relay, clock):
        await walk(relay, cache, clock.now)
        before = relay.take()
        clock.now += 60.0
        second = await walk(relay, cache, clock.now)
        after = relay.take()
        full = await walk(relay, SlowCache(), clock.now)  # same agent time, nothing cached
    assert walked(before) == USED  # the first poll finds out what is absent
    assert walked(after) == USED - SLOW - ABSENT
    assert second.tables == full.tables
    assert not second.failed_tables


async def test_absent_columns_are_walked_again_after_the_refresh_period() -> None:
    cache = SlowCache()
    async with agent_behind_relay(PLAIN) as (_agent, relay, clock):
        start = clock.now
        await walk(relay, cache, start)
        relay.take()
        clock.now = start + slowcache.REFRESH_S - 60.0
        await walk(relay, cache, clock.now)
        within = relay.take()
        clock.now = start + slowcache.REFRESH_S + 1.0
        await walk(relay, cache, clock.now)
        past = relay.take()
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        later = relay.take()
    assert not walked(within) & ABSENT
    assert walked(past) == USED
    assert not walked(later) & ABSENT


async def test_absent_columns_are_walked_again_after_a_reboot() -> None:
    cache = SlowCache()
    async with agent_behind_relay(PLAIN) as (agent, relay, clock):
        await walk(relay, cache, clock.now)
        assert walked(relay.take()) >= ABSENT
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        assert not walked(relay.take()) & ABSENT
        clock.now += 30.0
        agent.reboot()  # after a firmware upgrade, the same rows have HC counters
        agent.ifaces[1] = Iface(1, "ether1", 100_000_000, {"in_octets": 4_000}, hc=True)
        clock.now += 30.0
        raw = await walk(relay, cache, clock.now)
        after = relay.take()
    assert walked(after) >= ABSENT
    got = raw.tables["if_mib.interfaces"][IFX_ENTRY]
    assert {o for o, _ in got if o.startswith(f"{IFX_ENTRY}.6.")} == {f"{IFX_ENTRY}.6.1"}


async def test_absent_columns_are_walked_again_when_if_number_changes() -> None:
    cache = SlowCache()
    async with agent_behind_relay(PLAIN) as (agent, relay, clock):
        await walk(relay, cache, clock.now)
        assert walked(relay.take()) >= ABSENT
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        assert not walked(relay.take()) & ABSENT
        agent.extra = {oid(IF_NUMBER): Var(INTEGER, len(PLAIN) + 1)}  # the rows stay
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        after = relay.take()
    assert walked(after) >= ABSENT


async def test_a_new_row_walks_the_absent_columns_and_its_counters_are_seen() -> None:
    cache = SlowCache()
    async with agent_behind_relay(PLAIN) as (agent, relay, clock):
        await walk(relay, cache, clock.now)
        assert walked(relay.take()) >= ABSENT
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        assert not walked(relay.take()) & ABSENT
        agent.ifaces[HC_IFACE.index] = HC_IFACE
        agent.extra = {oid(IF_NUMBER): Var(INTEGER, len(PLAIN))}  # ifNumber.0 unchanged
        clock.now += 60.0
        raw = await walk(relay, cache, clock.now)
        new_row = relay.take()
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        steady = relay.take()
    assert walked(new_row) >= ABSENT
    walk_ = dict(raw.tables["if_mib.interfaces"][IFX_ENTRY])
    assert f"{IFX_ENTRY}.6.3" in walk_
    assert f"{IFX_ENTRY}.10.3" in walk_
    assert names(raw) == {"1": b"ether1", "2": b"wlan1", "3": b"sfp1"}
    # the HC columns have rows now; the discontinuity time is still absent
    assert walked(steady) == USED - SLOW - {f"{IFX_ENTRY}.19"}


async def test_an_empty_table_is_not_an_absent_column() -> None:
    """No hotspot users now is no reason not to look for them next poll."""
    cache = SlowCache()
    async with agent_behind_relay(PLAIN) as (agent, relay, clock):
        await _mikrotik_walk(relay, cache, clock.now)
        clock.now += 60.0
        await _mikrotik_walk(relay, cache, clock.now)
        second = relay.take()
        agent.extra = {oid(f"{HOTSPOT_USERS}.7"): Var(OCTETS, b"guest-7")}
        clock.now += 60.0
        raw = await _mikrotik_walk(relay, cache, clock.now)
    assert HOTSPOT_USERS in walked(second)
    users = [v for rows in raw.tables["mikrotik.hotspot"].values() for v in rows]
    assert users == [(f"{HOTSPOT_USERS}.7", b"guest-7")]


async def _mikrotik_walk(relay: CountingRelay, cache: SlowCache, now: float) -> RawPoll:
    p = params(relay.port)
    profiles = builtin_profiles()
    walker = Walker(make_session(p), p, cache=cache, now=now)
    return await walker.run([profiles["system"], profiles["if_mib"], profiles["mikrotik"]])


def _exposition(samples: list[Sample]) -> list[Sample]:
    """The device's series; netmon's own poll metrics (bytes, duration) differ by design."""
    return sorted(s for s in samples if not s.name.startswith("netmon_poll_"))


async def test_the_exposition_is_identical_to_a_full_walks() -> None:
    """Two collectors poll the same agent at the same agent time: one remembers the absent
    columns, the other's cache expires before every poll (a full walk every time)."""
    target = TargetRef("site-absent", "rtr-absent", "snmp")
    cached, full = SnmpCollector(), SnmpCollector()
    async with agent_behind_relay(PLAIN) as (_agent, relay, clock):
        p = params(relay.port)
        for n in range(3):
            clock.now = time.monotonic()
            ours = await cached.poll(target, p, 3.0)
            cached_requests = relay.take()
            theirs = await full.poll(target, p, 3.0)
            full_requests = relay.take()
            full._devices[target.key].state.slow.refresh_s = 0.0  # next poll: a refresh
            assert ours.error is None
            assert theirs.error is None
            assert walked(full_requests) == USED
            if n:
                assert not walked(cached_requests) & ABSENT
            got = _exposition([s for part in ours.parts for s in part.samples])
            want = _exposition([s for part in theirs.parts for s in part.samples])
            assert got == want
            assert any(s.name.startswith("netmon_interface") for s in got)
        cached.forget(target)
        full.forget(target)
