"""The trap receiver's gate: a token bucket per source, a size cap, and both applied
before pysnmp decodes anything (a flood must cost next to nothing)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from collectors.trap import TrapCollector, TrapConfig
from collectors.trap.gate import LOGGED_SOURCES, Gate, SourceLimiter
from netmon.api import Snapshot, StaticDirectory
from netmon.tools.simulate import free_udp_port
from tests.helpers import async_wait_for

#: what net-snmp 5.9.3 sent for `snmptrap -v2c -c trap-c0mm <host> "" coldStart
#: snmpTrapAddress.0 a 127.0.0.3`, captured off the wire
COLD_START = bytes.fromhex(
    "305b0201010409747261702d63306d6da74b0204702dd1a9020100020100303d300f06082b060102010103"
    "0043030085a33017060a2b06010603010104010006092b0601060301010501301106092b06010603120103"
    "0040047f000003"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_source_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    limiter = SourceLimiter(rate=10, burst=5, clock=clock)
    assert [limiter.allow("10.0.0.1") for _ in range(7)] == [True] * 5 + [False] * 2
    clock.now += 0.35  # 3.5 tokens at 10 a second
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True] * 3 + [False]
    clock.now += 3600  # a long quiet saves up no more than the burst
    assert sum(limiter.allow("10.0.0.1") for _ in range(20)) == 5


def test_one_source_flooding_leaves_the_others_their_own_buckets() -> None:
    clock = Clock()
    limiter = SourceLimiter(rate=1, burst=2, clock=clock)
    flood = [limiter.allow("10.0.0.66") for _ in range(1000)]
    assert flood.count(True) == 2
    assert [limiter.allow("10.0.0.7"), limiter.allow("10.0.0.7")] == [True, True]


def test_tracked_sources_are_bounded_and_the_least_recently_heard_is_forgotten() -> None:
    clock = Clock()
    limiter = SourceLimiter(rate=0.001, burst=1, max_sources=2, clock=clock)
    assert limiter.allow("a")
    assert limiter.allow("b")
    assert not limiter.allow("a")  # a is now heard more recently than b
    assert limiter.allow("c")  # b is forgotten, not a
    assert len(limiter) == 2
    assert not limiter.allow("a")  # still empty: remembered
    assert limiter.allow("b")  # forgotten, so it starts with a full bucket again


def counters() -> tuple[CollectorRegistry, Counter, Counter]:
    registry = CollectorRegistry()
    counter = Counter("t_traps", "test", ["result"], registry=registry)
    return registry, counter.labels("rate_limited"), counter.labels("oversize")


def test_a_big_datagram_costs_a_token_per_started_kib_and_oversize_is_refused() -> None:
    registry, limited, oversize = counters()
    gate = Gate(SourceLimiter(rate=0.001, burst=5, clock=Clock()), 8192, limited, oversize)
    assert gate.admit("10.0.0.1", 3000)  # 3 tokens: 2 left
    assert not gate.admit("10.0.0.1", 3000)
    assert gate.admit("10.0.0.1", 1024)  # 1 KiB is 1 token
    assert gate.admit("10.0.0.1", 1)
    assert not gate.admit("10.0.0.1", 1)
    assert not gate.admit("10.0.0.2", 8193)  # refused on size alone, bucket untouched
    assert gate.admit("10.0.0.2", 8192)  # costs 8 tokens, capped at the burst (5)
    assert registry.get_sample_value("t_traps_total", {"result": "rate_limited"}) == 2
    assert registry.get_sample_value("t_traps_total", {"result": "oversize"}) == 1


def test_the_report_names_the_sources_that_lost_most_and_starts_over() -> None:
    _, limited, oversize = counters()
    gate = Gate(SourceLimiter(rate=0.001, burst=1, clock=Clock()), 8192, limited, oversize)
    for i in range(LOGGED_SOURCES + 5):
        for _ in range(i + 2):  # source i loses i + 1
            gate.admit(f"10.0.1.{i}", 100)
    total, top = gate.report()
    n = LOGGED_SOURCES + 5
    assert total == n * (n + 1) // 2
    assert list(top.values()) == list(range(n, n - LOGGED_SOURCES, -1))
    assert next(iter(top)) == f"10.0.1.{n - 1}"
    assert gate.report() == (0, {})


def test_the_config_has_limits_by_default_and_refuses_nonsense() -> None:
    config = TrapConfig()
    assert config.rate_per_source > 0
    assert config.burst >= 1
    assert 484 <= config.max_message_size <= 65535
    for bad in ({"rate_per_source": 0}, {"burst": 0}, {"max_message_size": 100}):
        with pytest.raises(ValidationError):
            TrapConfig.model_validate(bad)


class Sink:
    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    def apply(self, snapshot: Snapshot, *_args: Any, **_kwargs: Any) -> None:
        self.snapshots.append(snapshot)

    def remove(self, key: str) -> None:
        pass


def send(port: int, source: str, datagram: bytes, times: int = 1) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for _ in range(times):
            sock.sendto(datagram, ("127.0.0.1", port))


async def test_refused_datagrams_never_reach_pysnmp_and_are_counted_and_logged(
    tmp_path: Path,
) -> None:
    (tmp_path / "community").write_text("trap-c0mm\n")
    port = free_udp_port()
    config = TrapConfig.model_validate(
        {
            "listen": f"127.0.0.1:{port}",
            "communities": [{"file": "community"}],
            "rate_per_source": 0.001,
            "burst": 3,
            "max_message_size": 1000,
        }
    )
    registry = CollectorRegistry()
    collector = TrapCollector(Sink(), StaticDirectory(), registry)
    with structlog.testing.capture_logs() as logs:
        collector.configure(config, tmp_path)
        try:
            await flood_and_count(collector, registry, port, logs)
        finally:
            await collector.stop()


async def flood_and_count(
    collector: TrapCollector, registry: CollectorRegistry, port: int, logs: list[Any]
) -> None:
    def count(result: str) -> float:
        return registry.get_sample_value("netmon_traps_received_total", {"result": result}) or 0

    def decoded() -> int:
        builder = collector.engine.get_mib_builder()
        (packets,) = builder.import_symbols("__SNMPv2-MIB", "snmpInPkts")
        return int(packets.syntax)

    send(port, "127.0.0.1", COLD_START, times=10)  # a flood: 3 pass, 7 counted
    send(port, "127.0.0.2", COLD_START)  # a quiet source has its own bucket
    send(port, "127.0.0.4", b"\x30" * 1001)  # too big: dropped undecoded

    async def all_seen() -> bool:
        # the collector's directory knows no device: a decoded trap is unknown_source
        return count("unknown_source") + count("rate_limited") + count("oversize") == 12

    await async_wait_for(all_seen, 5, "every datagram accounted for")
    assert (count("unknown_source"), count("rate_limited"), count("oversize")) == (4, 7, 1)
    assert decoded() == 4
    assert count("malformed") == 0

    def dropped_lines() -> list[Any]:
        return [e for e in logs if e["event"] == "traps dropped before decoding"]

    async def logged() -> bool:
        return bool(dropped_lines())

    await async_wait_for(logged, 5, "the drops logged")
    assert dropped_lines() == [
        {
            "event": "traps dropped before decoding",
            "log_level": "warning",
            "count": 8,
            "sources": {"127.0.0.1": 7, "127.0.0.4": 1},
        }
    ]
    send(port, "127.0.0.1", COLD_START, times=5)

    async def counted_again() -> bool:
        return count("rate_limited") == 12

    await async_wait_for(counted_again, 5, "the second flood counted")
    collector._report_dropped()
    assert len(dropped_lines()) == 1, "a flood must not become a flood of log lines"
