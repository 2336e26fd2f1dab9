"""Throughput checks against a real HTTP server on loopback that sends files of a known
size at a paced rate (netmon/tools/demo/speedtest.py). The expected rate is the server's
pace (given in bits per second, as a contract is; netmon exports bytes per second, the
base unit promtool asks for) and the server's own record of each answer (bytes written,
when the headers and the last byte left), never a number netmon computed."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from collectors.service import ServiceCollector, ServiceSettings, build_params, secrets_from
from collectors.service.collector import run_checks
from collectors.service.params import ServiceParams, ThroughputProbe
from collectors.service.probes.throughput import budget, fetch
from netmon.api import BlockContext, Snapshot, TargetRef
from netmon.store import Store
from netmon.tools.demo.speedtest import chunk_size
from tests.helpers import async_wait_for, promtool_check, values
from tests.service_servers import file_server, never_accepting_port, refusing_port

pytestmark = pytest.mark.integration
TARGET = TargetRef("desa-bengalon-1", "fileserver-bengalon-1", "service")
MIB = 1024 * 1024


def params(tmp_path: Path, *checks: dict[str, Any], timeout: str = "5s") -> ServiceParams:
    settings = ServiceSettings.model_validate({"checks": list(checks), "timeout": timeout})
    return build_params(settings, BlockContext("127.0.0.1", tmp_path, secrets_from(tmp_path)))


def probe(tmp_path: Path, url: str, **more: Any) -> ThroughputProbe:
    """The throughput check of a device that also has a tcp check (its liveness)."""
    check = {"name": "speed", "kind": "throughput", "url": url, **more}
    built = params(tmp_path, check, {"name": "web", "kind": "tcp", "port": 80}).checks[0]
    assert isinstance(built, ThroughputProbe)
    return built


def series(snapshot: Snapshot, name: str, check: str) -> list[float]:
    return [
        s.value
        for part in snapshot.parts
        for s in part.samples
        if s.name == name and ("check", check) in s.labels
    ]


@pytest.mark.parametrize(
    ("pace", "size"), [(8_000_000, 1 * MIB), (2_000_000, MIB // 4), (40_000_000, 4 * MIB)]
)
async def test_the_rate_is_the_servers_pace(tmp_path: Path, pace: int, size: int) -> None:
    async with file_server() as server:
        outcome = await fetch(probe(tmp_path, server.url(pace, size), max_bytes=8 * MIB))
        (sent,) = server.deliveries
    assert outcome.up, outcome
    assert outcome.received == sent.sent == size
    rate = outcome.bytes_per_second
    assert rate is not None
    assert rate == pytest.approx(pace / 8, rel=0.03)
    assert rate == pytest.approx(sent.bytes_per_second, rel=0.02)


async def test_a_run_ends_at_max_bytes_and_the_server_is_left_with_the_rest(
    tmp_path: Path,
) -> None:
    """Bounded size: 1 MiB of an 8 MiB file is read, then the connection closes; the paced
    server got little further than that before it noticed (VSAT pays per byte). The last
    byte counted came in the server's write that holds byte 1 MiB: that write's due time
    is what the expected rate is measured against."""
    pace = 16_000_000
    chunk = chunk_size(pace)
    last_write_due = math.ceil(MIB / chunk) * chunk * 8 / pace
    async with file_server() as server:
        outcome = await fetch(probe(tmp_path, server.url(pace, 8 * MIB), max_bytes=MIB))

        async def hung_up() -> bool:
            return len(server.deliveries) == 1

        await async_wait_for(hung_up, 10, "the server to see the hang-up")
    assert outcome.received == MIB
    assert outcome.bytes_per_second == pytest.approx(MIB / last_write_due, rel=0.03)
    assert server.deliveries[0].sent < 1.5 * MIB


async def test_a_run_ends_before_the_poll_deadline_with_what_it_measured(
    tmp_path: Path,
) -> None:
    """Bounded time: a 16 MiB file at 4 Mbit/s takes 33 s; under a 2 s poll deadline the
    run stops itself shortly before it (budget) and reports the rate of what arrived: a
    slow link is a measurement, not a failure."""
    async with file_server() as server:
        check = probe(tmp_path, server.url(4_000_000, 16 * MIB), max_bytes=64 * MIB)
        t0 = time.monotonic()
        ((outcome, took),) = await run_checks([check], 2.0)
        elapsed = time.monotonic() - t0
    assert outcome.up, outcome
    assert elapsed < 2.0
    assert took == pytest.approx(budget(2.0), abs=0.15)
    assert outcome.bytes_per_second == pytest.approx(4_000_000 / 8, rel=0.05)
    # what arrived is what the pace allows in the run's time, not the whole file
    assert outcome.received * 8 / 4_000_000 == pytest.approx(budget(2.0), abs=0.15)


async def test_failures_have_the_usual_reasons(tmp_path: Path) -> None:
    async with file_server() as server:
        missing = f"http://127.0.0.1:{server.port}/no-such-file"
        assert (await fetch(probe(tmp_path, missing))).reason == "status"
    with refusing_port() as closed:
        refused = await fetch(probe(tmp_path, f"http://127.0.0.1:{closed}/1/1.bin"))
    assert refused.reason == "refused"
    with never_accepting_port() as stuck:
        ((late, _),) = await run_checks(
            [probe(tmp_path, f"http://127.0.0.1:{stuck}/f.bin", timeout="1s")], 5
        )
    assert late.reason == "timeout"


async def test_in_the_collector_it_runs_once_per_period_and_never_takes_the_device_down(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two throughput checks (one good, one whose file is missing) beside a tcp check,
    polled as the scheduler would: nothing is downloaded at the first poll, each runs
    once within its first period, its result stands until the next run, the failed one
    counts its reason, and the device stays up on its tcp check. The good one's URL is a
    secret with a token: it shows nowhere."""
    token = "k3y-Rahasia-77"
    async with file_server() as server:
        monkeypatch.setenv("SPEED_URL", server.url(8_000_000, MIB // 2) + f"?key={token}")
        p = params(
            tmp_path,
            {"name": "web", "kind": "tcp", "port": server.port},
            {"name": "speed", "kind": "throughput", "url": {"env": "SPEED_URL"},
             "every": "10s"},
            {"name": "gone", "kind": "throughput",
             "url": f"http://127.0.0.1:{server.port}/gone.bin", "every": "10s"},
        )  # fmt: skip
        collector = ServiceCollector()
        first = await collector.poll(TARGET, p, 4)
        assert series(first, "netmon_service_up", "web") == [1.0]
        assert series(first, "netmon_service_up", "speed") == []  # not run yet
        assert server.deliveries == []
        last: list[Snapshot] = [first]

        async def both_ran() -> bool:
            last[0] = await collector.poll(TARGET, p, 4)
            return all(series(last[0], "netmon_service_up", c) for c in ("speed", "gone"))

        await async_wait_for(both_ran, 25, "both throughput checks to run")
        snapshot = last[0]
        assert snapshot.error is None  # up: its tcp check passed
        assert series(snapshot, "netmon_service_up", "speed") == [1.0]
        (rate,) = series(snapshot, "netmon_service_throughput_bytes_per_second", "speed")
        assert rate == pytest.approx(8_000_000 / 8, rel=0.03)
        assert series(snapshot, "netmon_service_throughput_received_bytes", "speed") == [MIB // 2]
        assert series(snapshot, "netmon_service_up", "gone") == [0.0]
        assert series(snapshot, "netmon_service_throughput_bytes_per_second", "gone") == []
        assert "gone (status: HTTP 404" in snapshot.error_detail
        # the next poll in the same period downloads nothing: the last run stands
        again = await collector.poll(TARGET, p, 4)
        assert series(again, "netmon_service_throughput_bytes_per_second", "speed") == [rate]
        assert len(server.deliveries) == 1
    failed = {
        dict(s.labels)["reason"]: s.value
        for part in again.parts
        for s in part.samples
        if s.name == "netmon_service_failures_total" and ("check", "gone") in s.labels
    }
    assert failed["status"] == 1
    assert sum(failed.values()) == 1
    store = Store(collector.metadata())
    store.apply(again, 60)
    exposition = store.render()
    assert values(exposition, "netmon_service_throughput_bytes_per_second", check="speed") == [rate]
    assert promtool_check(exposition).returncode == 0
    for text in (exposition, again.error_detail, repr(p), repr(again), caplog.text):
        assert token not in text
