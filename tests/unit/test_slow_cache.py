"""Low-bandwidth polling (issue 13, item 5): only used columns, slow ones cached.

A moving agent (tests/moving_agent.py) answers in this process behind a relay
that loses nothing but records every request and counts every datagram's
bytes, so what netmon asked for and what crossed the wire are seen from
outside netmon. The expected column sets are read off the IF-MIB profile by
hand (collectors/snmp/profiles/if_mib.yaml), not from netmon's plan.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from collectors.snmp import SnmpCollector, SnmpParams, slowcache
from collectors.snmp.engine import RawPoll
from collectors.snmp.profile import builtin_profiles
from collectors.snmp.slowcache import SlowCache
from collectors.snmp.walker import Walker, make_session
from netmon.api import Secret, Snapshot, TargetRef
from tests.lossy_relay import Address, Faults, LossyRelay
from tests.moving_agent import Iface, ManualClock, MovingAgent
from tests.snmp_ber import GETBULK, GETNEXT, INTEGER, Var, decode, oid

COMMUNITY = "slow-c0mmunity"
TARGET = TargetRef("site-slow", "rtr-slow", "snmp")
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
#: IF-MIB columns the if_mib profile's metrics, labels, line speed and discontinuity name
USED = {
    *(f"{IF_ENTRY}.{n}" for n in (2, 4, 5, 7, 8, 10, 13, 14, 16, 19, 20)),
    *(f"{IFX_ENTRY}.{n}" for n in (1, 6, 10, 15, 18, 19)),
}
#: ifDescr, ifName, ifAlias: marked slow in the profile
SLOW = {f"{IF_ENTRY}.2", f"{IFX_ENTRY}.1", f"{IFX_ENTRY}.18"}
#: ifCounterDiscontinuityTime: the moving agent has none, so it is not walked in steady state
LACKED = {f"{IFX_ENTRY}.19"}
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
#: IPv4 + UDP headers around each datagram's payload
IP_UDP = 28

IFACES = (
    Iface(1, "ether1", 1_000_000_000, {"in_octets": 4_000_000}, hc=True),
    Iface(2, "wlan1", 300_000_000, {"in_octets": 1_000_000}),
)
NEW = Iface(3, "sfp1", 1_000_000_000, {"in_octets": 2_000_000})


class CountingRelay(LossyRelay):
    """Loses nothing; records each request's PDU type and OIDs, counts bytes both ways."""

    def __init__(self, agent: Address) -> None:
        super().__init__(agent, Faults(), 0, drop_request=self._seen)
        self.requests: list[tuple[int, tuple[str, ...]]] = []
        self.bytes_up = 0
        self.bytes_down = 0

    def _seen(self, data: bytes) -> bool:
        self.bytes_up += len(data) + IP_UDP
        message = decode(data)
        oids = tuple(".".join(map(str, o)) for o, _ in message.varbinds)
        self.requests.append((message.pdu, oids))
        return False

    def _send(self, data: bytes, client: Address) -> None:
        self.bytes_down += len(data) + IP_UDP
        super()._send(data, client)

    def take(self) -> list[tuple[int, tuple[str, ...]]]:
        out, self.requests = self.requests, []
        return out


def _column(o: str) -> str:
    """The IF-MIB column an OID lies in (a table entry itself stays as it is)."""
    for entry in (IF_ENTRY, IFX_ENTRY):
        if o.startswith(entry + "."):
            return ".".join(o.split(".")[: entry.count(".") + 2])
    return o


def walked(requests: list[tuple[int, tuple[str, ...]]]) -> set[str]:
    """Columns (or whole subtrees) a walk asked for."""
    return {_column(o) for pdu, oids in requests if pdu in (GETBULK, GETNEXT) for o in oids}


def fetched(requests: list[tuple[int, tuple[str, ...]]]) -> set[str]:
    """Every OID asked for, by any PDU."""
    return {o for _, oids in requests for o in oids}


def params(port: int) -> SnmpParams:
    return SnmpParams(
        address="127.0.0.1",
        port=port,
        community=Secret(COMMUNITY),
        timeout=0.2,
        retries=1,
        profiles=("system", "if_mib"),
        interval=60.0,
    )


@asynccontextmanager
async def agent_behind_relay(
    ifaces: tuple[Iface, ...] = IFACES,
) -> AsyncIterator[tuple[MovingAgent, CountingRelay, ManualClock]]:
    clock = ManualClock(1000.0)
    with MovingAgent(ifaces, clock, community=COMMUNITY) as agent:
        relay = CountingRelay(("127.0.0.1", agent.port))
        with relay:
            yield agent, relay, clock


async def walk(relay: CountingRelay, cache: SlowCache, now: float) -> RawPoll:
    """One poll's fetch at monotonic time ``now`` (the agent's clock says the same)."""
    p = params(relay.port)
    profiles = builtin_profiles()
    walker = Walker(make_session(p), p, cache=cache, now=now)
    return await walker.run([profiles["system"], profiles["if_mib"]])


def names(raw: RawPoll) -> dict[str, bytes]:
    """ifName by ifIndex, as handed to the engine."""
    walk = raw.tables["if_mib.interfaces"].get(IFX_ENTRY, [])
    cut = len(IFX_ENTRY) + 3  # ".1."
    return {o[cut:]: v for o, v in walk if o.startswith(f"{IFX_ENTRY}.1.") and isinstance(v, bytes)}


async def test_only_the_columns_the_profiles_use_are_requested() -> None:
    async with agent_behind_relay() as (_agent, relay, _clock):
        raw = await walk(relay, SlowCache(), 1000.0)
        requests = relay.take()
    assert not raw.failed_tables
    got = walked(requests)
    assert got == USED, f"extra: {sorted(got - USED)}, missing: {sorted(USED - got)}"
    assert f"{IF_ENTRY}.3" not in fetched(requests)  # ifType: no metric uses it


async def test_cached_slow_columns_are_not_walked_on_the_next_poll() -> None:
    cache = SlowCache()
    async with agent_behind_relay() as (_agent, relay, clock):
        first = await walk(relay, cache, clock.now)
        before = relay.take()
        clock.now += 60.0
        second = await walk(relay, cache, clock.now)
        after = relay.take()
    assert walked(before) >= SLOW
    assert SYS_DESCR in fetched(before)
    assert walked(after) == USED - SLOW - LACKED
    assert SYS_DESCR not in fetched(after)
    # the engine still gets the names and sysDescr, from the cache
    assert names(second) == names(first) == {"1": b"ether1", "2": b"wlan1"}
    assert second.scalars[SYS_DESCR] == first.scalars[SYS_DESCR]


async def test_a_cached_poll_hands_the_engine_what_a_full_walk_does() -> None:
    """Same rows, same columns, same order: the engine cannot tell the cache was used."""
    cache = SlowCache()
    async with agent_behind_relay() as (_agent, relay, clock):
        await walk(relay, cache, clock.now)
        clock.now += 60.0
        cached = await walk(relay, cache, clock.now)
        assert walked(relay.take())  # (the cached poll walked, without the slow columns)
        full = await walk(relay, SlowCache(), clock.now)
    assert walked(relay.requests) >= SLOW
    assert cached.tables == full.tables
    assert list(cached.tables["if_mib.interfaces"]) == list(full.tables["if_mib.interfaces"])
    assert cached.scalars == full.scalars


async def test_slow_columns_are_walked_again_after_the_refresh_period() -> None:
    cache = SlowCache()
    async with agent_behind_relay() as (_agent, relay, clock):
        start = clock.now
        await walk(relay, cache, start)
        relay.take()
        clock.now = start + slowcache.REFRESH_S - 60.0
        await walk(relay, cache, clock.now)
        within = relay.take()
        clock.now = start + slowcache.REFRESH_S + 1.0
        await walk(relay, cache, clock.now)
        past = relay.take()
    assert not walked(within) & SLOW
    assert walked(past) >= SLOW
    assert SYS_DESCR in fetched(past)


async def test_slow_columns_are_walked_again_after_a_reboot() -> None:
    cache = SlowCache()
    async with agent_behind_relay() as (agent, relay, clock):
        await walk(relay, cache, clock.now)
        relay.take()
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        assert not walked(relay.take()) & SLOW
        clock.now += 30.0
        agent.reboot()  # uptime goes back to 0
        clock.now += 30.0
        await walk(relay, cache, clock.now)
        after = relay.take()
    assert walked(after) >= SLOW
    assert SYS_DESCR in fetched(after)


async def test_slow_columns_are_walked_again_when_if_number_changes() -> None:
    """ifNumber.0 says an interface came or went, even before a row shows it."""
    cache = SlowCache()
    async with agent_behind_relay() as (agent, relay, clock):
        await walk(relay, cache, clock.now)
        relay.take()
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        assert not walked(relay.take()) & SLOW
        agent.extra = {oid(IF_NUMBER): Var(INTEGER, len(IFACES) + 1)}  # the rows stay
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        after = relay.take()
    assert walked(after) >= SLOW


async def test_a_new_row_walks_the_slow_columns_and_is_named() -> None:
    cache = SlowCache()
    async with agent_behind_relay() as (agent, relay, clock):
        await walk(relay, cache, clock.now)
        relay.take()
        clock.now += 60.0
        await walk(relay, cache, clock.now)
        assert not walked(relay.take()) & SLOW
        agent.ifaces[NEW.index] = NEW
        agent.extra = {oid(IF_NUMBER): Var(INTEGER, len(IFACES))}  # ifNumber.0 unchanged
        clock.now += 60.0
        raw = await walk(relay, cache, clock.now)
        after = relay.take()
    assert walked(after) >= SLOW
    assert names(raw) == {"1": b"ether1", "2": b"wlan1", "3": b"sfp1"}


async def _poll(collector: SnmpCollector, relay: CountingRelay, clock: ManualClock) -> Snapshot:
    clock.now = time.monotonic()  # the collector's clock: the agent's uptime follows it
    return await collector.poll(TARGET, params(relay.port), 3.0)


async def test_a_failed_poll_keeps_the_cache() -> None:
    collector = SnmpCollector()
    async with agent_behind_relay() as (_agent, relay, clock):
        assert (await _poll(collector, relay, clock)).error is None
        relay.take()
        relay.dark = True
        failed = await _poll(collector, relay, clock)
        relay.dark = False
        later = await _poll(collector, relay, clock)
        after = relay.take()
        collector.forget(TARGET)
    assert failed.error == "timeout"
    assert later.error is None
    assert not later.error_detail
    assert walked(after) == USED - SLOW - LACKED
    assert SYS_DESCR not in fetched(after)


def _bytes(snapshot: Snapshot) -> dict[str, float]:
    return {
        dict(s.labels)["direction"]: s.value
        for part in snapshot.parts
        for s in part.samples
        if s.name == "netmon_poll_bytes_total"
    }


async def test_poll_bytes_total_moves_by_the_bytes_on_the_wire() -> None:
    """Against an agent whose MIB goes on past IF-MIB (as a router's does): gufo-snmp drops
    the varbinds past a column without saying how many, netmon counts max-repetitions."""
    collector = SnmpCollector()
    async with agent_behind_relay() as (agent, relay, clock):
        agent.extra = {oid(f"1.3.6.1.4.1.14988.1.1.7.{n}.0"): Var(INTEGER, n) for n in range(60)}
        first = _bytes(await _poll(collector, relay, clock))
        up, down = relay.bytes_up, relay.bytes_down
        for _ in range(3):  # cached polls: fewer bytes, still counted
            last = _bytes(await _poll(collector, relay, clock))
        collector.forget(TARGET)
        cached_up, cached_down = relay.bytes_up - up, relay.bytes_down - down
    assert abs(first["sent"] - up) <= 0.2 * up, (first, up)
    assert abs(first["received"] - down) <= 0.2 * down, (first, down)
    sent, received = last["sent"] - first["sent"], last["received"] - first["received"]
    assert abs(sent - cached_up) <= 0.2 * cached_up, (sent, cached_up)
    assert abs(received - cached_down) <= 0.2 * cached_down, (received, cached_down)
    assert cached_down < 3 * down  # the cache did spare bytes
