"""A flapping path: netmon's numbers stay right behind a link that drops, delays and
duplicates, and goes dark while the router reboots (issue 10, items 1 and 6).

An agent whose counters and uptime move (tests/moving_agent.py) sits behind a
lossy relay (tests/lossy_relay.py). netmon's SNMP collector polls it 200
times, about one poll in five failing; after every poll the store is scraped.
Expected values come from the agent's own state (what it counted, when it
booted), never from netmon's code. The agent's clock is frozen per poll, so
every request of one poll sees the same counters and the expected totals are
exact; a tolerance of what one poll gap can hide covers a reply the agent
sent but the poller gave up on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from itertools import pairwise

import pytest

from collectors.snmp import SnmpCollector, SnmpParams
from netmon.api import Secret, TargetRef
from netmon.store import Store
from tests.helpers import parse_exposition
from tests.lossy_relay import Faults, LossyRelay
from tests.moving_agent import (
    IF_TABLE,
    IF_X_TABLE,
    Iface,
    ManualClock,
    MovingAgent,
    walk_ends,
    walks_under,
)
from tests.snmp_ber import INTEGER, OCTETS, Var, oid

pytestmark = pytest.mark.integration

COMMUNITY = "flap-c0mmunity"
TARGET = TargetRef("site-flap", "rtr-flap", "snmp")
POLLS, CYCLE, DARK = 200, 20, range(14, 18)  # dark 4 polls in every 20: 20% fail
REBOOTS = (95, 155)  # polls at which the agent reboots, both inside a dark window
SEED = 20261
FAULTS = Faults(loss=0.1, delay=0.1, max_delay=0.05, duplicate=0.05)
INTERVAL, TIMEOUT, DEADLINE = 1.0, 0.1, 3.0

Key = tuple[str, frozenset[tuple[str, str]]]
Scrape = dict[Key, float]
#: IF-MIB counter -> netmon's metric (the profile's mapping of ifIn/OutOctets etc.)
METRICS = {
    "in_octets": "netmon_interface_receive_bytes_total",
    "out_octets": "netmon_interface_transmit_bytes_total",
    "in_errors": "netmon_interface_receive_errors_total",
    "out_errors": "netmon_interface_transmit_errors_total",
    "in_discards": "netmon_interface_receive_discards_total",
    "out_discards": "netmon_interface_transmit_discards_total",
}
REBOOTS_TOTAL = "netmon_device_reboots_total"
SMALL = {"in_errors": 3, "out_errors": 1, "in_discards": 2, "out_discards": 1}
WRAP = 2**32


def _near_wrap(rate: int, seconds: int) -> int:
    """A Counter32 start that wraps ``seconds`` into the run."""
    return WRAP - rate * seconds


IFACES = (
    # 1 Gbit/s with 64-bit counters, 5 TB in already
    Iface(
        1,
        "ether1",
        1_000_000_000,
        {"in_octets": 40_000_000, "out_octets": 10_000_000, **SMALL},
        {"in_octets": 5 * 10**12, "out_octets": 2 * 10**12, "in_errors": 7},
        hc=True,
    ),
    # 32-bit only (no ifHC columns), both directions wrap a few seconds in
    Iface(
        2,
        "wlan1",
        300_000_000,
        {"in_octets": 12_000_000, "out_octets": 3_000_000, **SMALL},
        {"in_octets": _near_wrap(12_000_000, 3), "out_octets": _near_wrap(3_000_000, 5)},
        if_type=71,
    ),
    Iface(
        3,
        "ether2",
        100_000_000,
        {"in_octets": 5_000_000, "out_octets": 2_000_000, **SMALL},
        {"in_octets": _near_wrap(5_000_000, 4), "out_octets": _near_wrap(2_000_000, 6)},
    ),
)


def params(port: int, profiles: tuple[str, ...] = ("system", "if_mib")) -> SnmpParams:
    return SnmpParams(
        address="127.0.0.1",
        port=port,
        community=Secret(COMMUNITY),
        timeout=TIMEOUT,
        retries=1,
        profiles=profiles,
        interval=INTERVAL,
    )


@dataclass
class Run:
    agent: MovingAgent
    ticks: list[float]  # the agent's (frozen) clock during each poll
    scrapes: list[Scrape]  # /metrics after each poll
    errors: list[str | None]  # netmon's verdict per poll (for messages only)
    relay: dict[str, int]
    open_sockets_after: int
    seconds: float


async def _flap() -> Run:
    clock = ManualClock(time.monotonic())
    collector = SnmpCollector()
    store = Store(collector.metadata())
    ticks: list[float] = []
    scrapes: list[Scrape] = []
    errors: list[str | None] = []
    started = time.monotonic()
    with (
        MovingAgent(IFACES, clock, community=COMMUNITY) as agent,
        LossyRelay(("127.0.0.1", agent.port), FAULTS, SEED, lifetime=150) as relay,
    ):
        p = params(relay.port)
        for k in range(POLLS):
            relay.dark = k % CYCLE in DARK
            clock.now = time.monotonic()
            if k in REBOOTS:
                assert relay.dark, "a reboot in this test happens while the path is dark"
                agent.reboot()
            snapshot = await collector.poll(TARGET, p, DEADLINE)
            ticks.append(clock.now)
            errors.append(snapshot.error)
            store.apply(snapshot, INTERVAL)
            scrapes.append(parse_exposition(store.render()))
        collector.forget(TARGET)
    return Run(
        agent,
        ticks,
        scrapes,
        errors,
        dict(relay.stats),
        relay.open_sockets,
        time.monotonic() - started,
    )


@pytest.fixture(scope="module")
def run() -> Run:
    """The 200 polls, once for the module; each test checks one invariant on the scrapes."""
    return asyncio.run(_flap())


def _series(run: Run, metric: str, ifname: str | None = None) -> list[Key]:
    keys = {key for scrape in run.scrapes for key in scrape if key[0] == metric}
    return sorted(k for k in keys if ifname is None or ("ifname", ifname) in k[1])


def _counters(run: Run, *, hc: bool) -> dict[Key, tuple[Iface, str]]:
    """netmon's counter series -> (interface, counter) on the agent: the running totals of
    Counter32 columns, or (``hc``) the octets read from Counter64 columns."""
    out: dict[Key, tuple[Iface, str]] = {}
    for iface in IFACES:
        for counter, metric in METRICS.items():
            if (iface.hc and counter.endswith("octets")) == hc:
                for key in _series(run, metric, iface.name):
                    out[key] = (iface, counter)
    return out


def _decreases(run: Run, keys: list[Key]) -> list[tuple[int, Key, float, float]]:
    """(scrape, series, last value seen, value now) for every step down."""
    out: list[tuple[int, Key, float, float]] = []
    last: dict[Key, float] = {}
    for n, scrape in enumerate(run.scrapes):
        for key in keys:
            if key not in scrape:
                continue
            if key in last and scrape[key] < last[key]:
                out.append((n, key, last[key], scrape[key]))
            last[key] = scrape[key]
    return out


def _describe(run: Run, found: list[tuple[int, Key, float, float]]) -> str:
    lines = [f"{len(found)} decreases across {len({k for _, k, _, _ in found})} series"]
    for n, key, before, after in found[:5]:
        labels = dict(key[1])
        lines.append(
            f"  scrape {n} (poll before it: {run.errors[n - 1] or 'ok'}): "
            f"{key[0]}{{ifname={labels.get('ifname', '')!r}}} {before:.0f} -> {after:.0f}"
        )
    return "\n".join(lines)


def _value_at(run: Run, key: Key, n: int) -> float | None:
    """The series' value in scrape ``n``, else the last one before it."""
    for scrape in reversed(run.scrapes[: n + 1]):
        if key in scrape:
            return scrape[key]
    return None


def _complete_ticks(run: Run) -> list[float]:
    """Polls in which the agent served the end of every interfaces column walked (of both
    subtrees): netmon skips columns the agent lacks, so a subtree's end is no sign.

    The relay loses requests only, so what the agent served reached the poller."""
    walked: dict[float, set[tuple[int, ...]]] = {}
    for s in run.agent.served:
        for table in (IF_TABLE, IF_X_TABLE):
            if s.request and s.request[0][: len(table)] == table and len(s.request[0]) > len(table):
                walked.setdefault(s.at, set()).add(s.request[0][: len(table) + 1])
    ends = {c: walk_ends(run.agent.served, c) for cs in walked.values() for c in cs}
    return sorted(
        t
        for t, columns in walked.items()
        if {c[: len(IF_TABLE)] for c in columns} >= {IF_TABLE}
        and any(c[: len(IF_X_TABLE)] == IF_X_TABLE for c in columns)
        and all(t in ends[c] for c in columns)
    )


def _windows() -> list[range]:
    return [range(c + DARK.start, c + DARK.stop) for c in range(0, POLLS, CYCLE)]


def test_the_harness_flaps_as_specified(run: Run) -> None:
    """The run is what the other tests assume: a sanity check of the harness, not of netmon."""
    served_at = {s.at for s in run.agent.served}
    silent = [k for k, t in enumerate(run.ticks) if t not in served_at]
    assert 0.18 <= len(silent) / POLLS <= 0.30, silent  # about 20% of polls get no answer
    assert {k for w in _windows() for k in w} <= set(silent)
    assert run.relay["lost"] > 0
    assert run.relay["delayed"] > 0
    assert run.relay["duplicated"] > 0
    assert len(run.agent.boots) == 1 + len(REBOOTS)
    complete = _complete_ticks(run)
    assert len(complete) > POLLS // 2
    # polls that answered but lost the interfaces walk (a partial poll) are part of the test
    assert served_at - set(complete), "no partial poll: raise FAULTS.loss or change SEED"
    # a Counter32 wrapped between two complete polls before the first reboot
    wlan1 = IFACES[1]
    before_reboot = [t for t in complete if run.agent.boot_at(t) == 0]
    raw = [run.agent.count(wlan1, "in_octets", t) % WRAP for t in before_reboot]
    assert any(b < a for a, b in pairwise(raw)), "no 32-bit wrap was exercised"
    assert run.open_sockets_after == 0
    assert not run.agent.running
    assert run.seconds < 90


def test_extended_32bit_totals_never_go_down(run: Run) -> None:
    keys = sorted(_counters(run, hc=False))
    assert len(keys) == len(METRICS) * 3 - 2  # 6 per interface, less ether1's two HC ones
    found = _decreases(run, keys)
    assert not found, _describe(run, found)


def test_reboots_total_never_goes_down(run: Run) -> None:
    keys = _series(run, REBOOTS_TOTAL)
    assert len(keys) == 1
    found = _decreases(run, keys)
    assert not found, _describe(run, found)


def test_a_64bit_counter_goes_down_only_at_a_counted_reboot(run: Run) -> None:
    (reboots,) = _series(run, REBOOTS_TOTAL)
    keys = sorted(_counters(run, hc=True))
    assert len(keys) == 2
    last: dict[Key, tuple[float, float]] = {}  # series -> (value, reboots_total then)
    uncounted: list[str] = []
    for n, scrape in enumerate(run.scrapes):
        count = scrape.get(reboots, 0.0)
        for key in keys:
            if key not in scrape:
                continue
            if key in last and scrape[key] < last[key][0] and count <= last[key][1]:
                uncounted.append(
                    f"scrape {n}: {key[0]} {last[key][0]:.0f} -> {scrape[key]:.0f} "
                    f"with {REBOOTS_TOTAL} {last[key][1]:.0f} -> {count:.0f}"
                )
            last[key] = (scrape[key], count)
    assert not uncounted, "\n".join(uncounted)


def test_a_reboot_while_dark_is_counted_exactly_once(run: Run) -> None:
    """Between the scrape before an outage and the scrape before the next one,
    reboots_total grows by the number of reboots the agent did in that outage."""
    (reboots,) = _series(run, REBOOTS_TOTAL)
    windows = _windows()
    wrong: list[str] = []
    for w, window in enumerate(windows):
        end = windows[w + 1].start - 1 if w + 1 < len(windows) else POLLS - 1
        before = _value_at(run, reboots, window.start - 1)
        after = _value_at(run, reboots, end)
        done = sum(1 for r in REBOOTS if r in window)
        uptime = (
            f" (agent uptime {run.agent.uptime(run.ticks[window.start - 1]):.1f}s -> "
            f"{run.agent.uptime(run.ticks[window.stop]):.1f}s)"
            if done
            else ""
        )
        if before is None or after is None or after - before != done:
            wrong.append(
                f"outage at polls {window.start}-{window.stop - 1}: {done} reboot(s){uptime}, "
                f"{REBOOTS_TOTAL} {before} -> {after}"
            )
    final = _value_at(run, reboots, POLLS - 1)
    assert not wrong, "\n".join([*wrong, f"final {REBOOTS_TOTAL} {final}, agent {len(REBOOTS)}"])
    assert final == len(REBOOTS)


def _expected_total(run: Run, iface: Iface, counter: str, complete: list[float]) -> int:
    """What a poller that saw these polls should have added up, from the agent's state:
    each step's increase; after a reboot, what the device counted since it booted."""
    agent = run.agent
    total = 0
    for a, b in pairwise(complete):
        if agent.boot_at(a) == agent.boot_at(b):
            total += agent.count(iface, counter, b) - agent.count(iface, counter, a)
        else:
            total += agent.count(iface, counter, b)
    return total


def _one_poll(run: Run, iface: Iface, counter: str) -> int:
    """The most one poll gap can hide: the largest increase between two consecutive polls."""
    agent = run.agent
    return max(
        agent.count(iface, counter, b) - agent.count(iface, counter, a)
        for a, b in pairwise(run.ticks)
        if agent.boot_at(a) == agent.boot_at(b)
    )


def test_the_total_increase_equals_what_the_agent_counted(run: Run) -> None:
    complete = _complete_ticks(run)
    final = run.scrapes[-1]
    off: list[str] = []
    for hc in (False, True):
        for key, (iface, counter) in sorted(_counters(run, hc=hc).items()):
            if hc:  # the raw Counter64 at the last poll that read it
                want = run.agent.count(iface, counter, complete[-1])
            else:
                want = _expected_total(run, iface, counter, complete)
            got = final.get(key)
            slack = _one_poll(run, iface, counter)
            if got is None or abs(got - want) > slack:
                off.append(
                    f"{key[0]}{{ifname={iface.name!r}}}: netmon {got}, agent {want} (+-{slack})"
                )
    assert not off, "\n".join(off)


# item 6: a partial poll must not rename another table's series

WLAN = 2
RTAB = "1.3.6.1.4.1.14988.1.1.1.2.1"  # MIKROTIK-MIB mtxrWlRtabTable
AP = "1.3.6.1.4.1.14988.1.1.1.3.1"  # MIKROTIK-MIB mtxrWlApTable
MAC = "0.12.66.1.2.3"  # a registered station (index: MAC as 6 arcs, then ifIndex)


def _wireless(strength: int, clients: int) -> dict[tuple[int, ...], Var]:
    return {
        oid(f"{RTAB}.3.{MAC}.{WLAN}"): Var(INTEGER, strength),  # mtxrWlRtabStrength, dBm
        oid(f"{AP}.4.{WLAN}"): Var(OCTETS, b"desa-wifi"),  # mtxrWlApSsid
        oid(f"{AP}.6.{WLAN}"): Var(INTEGER, clients),  # mtxrWlApClientCount
        oid(f"{AP}.7.{WLAN}"): Var(INTEGER, 5180),  # mtxrWlApFreq, MHz
    }


def _renamed(text: str) -> list[str]:
    """Series whose ifname is not one the agent's IF-MIB gives (``ifindex-2`` and such)."""
    names = {i.name for i in IFACES}
    return sorted(
        f"{name}{{ifname={dict(labels)['ifname']!r}}}"
        for name, labels in parse_exposition(text)
        if dict(labels).get("ifname", "wlan1") not in names
    )


async def test_ifname_labels_survive_a_failed_interfaces_walk() -> None:
    clock = ManualClock(time.monotonic())
    collector = SnmpCollector()
    store = Store(collector.metadata())
    lose_if_mib = False

    def drop(data: bytes) -> bool:
        return lose_if_mib and walks_under(data, (IF_TABLE, IF_X_TABLE))

    with (
        MovingAgent(IFACES, clock, community=COMMUNITY) as agent,
        LossyRelay(("127.0.0.1", agent.port), Faults(), SEED, drop_request=drop) as relay,
    ):
        p = params(relay.port, ("system", "if_mib", "mikrotik"))
        agent.extra = _wireless(-62, 4)
        first = await collector.poll(TARGET, p, DEADLINE)
        store.apply(first, INTERVAL)
        text = store.render()
        assert first.error is None, first.error_detail
        assert parse_exposition(text)[_signal_key(text)] == -62
        assert ("ifname", "wlan1") in _signal_key(text)[1]  # named from IF-MIB's ifName
        assert _renamed(text) == []

        # the IF-MIB walk now fails (its requests are lost); the wireless tables answer
        lose_if_mib = True
        agent.extra = _wireless(-71, 9)
        clock.now = time.monotonic()
        second = await collector.poll(TARGET, p, DEADLINE)
        store.apply(second, INTERVAL)
        text = store.render()
        collector.forget(TARGET)
    assert clock.now not in walk_ends(agent.served, IF_TABLE)  # the walk really failed
    assert relay.stats["lost"] >= 2  # the first try and its retry
    assert second.error is None, second.error_detail  # up, partial
    renamed = _renamed(text)
    assert not renamed, f"series renamed after a failed IF-MIB walk: {renamed}"
    assert parse_exposition(text)[_signal_key(text)] == -71  # fresh: the wireless table answered


def _signal_key(text: str) -> Key:
    """The min-signal series of the wireless interface, whatever its ifname label says."""
    found = [
        key
        for key in parse_exposition(text)
        if key[0] == "netmon_wireless_signal_dbm" and ("stat", "min") in key[1]
    ]
    assert len(found) == 1, found
    return found[0]
