"""The ready /metrics answer: negotiation, OpenMetrics, one gzip member, freshness."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from netmon.answer_build import Format, Ready, Sources, build
from netmon.api import MetricMeta, MetricType, Part, Sample, Snapshot, TargetRef
from netmon.metrics_answer import SERVE_STALE, Answers, Variant, negotiate
from netmon.store import Store

#: what Prometheus 2.x sends (scrape/scrape.go, scrapeAcceptHeader) and curl's default
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@pytest.mark.parametrize(
    ("accept", "encoding", "want"),
    [
        (PROMETHEUS_ACCEPT, "gzip", Variant(Format.OPENMETRICS, True)),
        ("*/*", "", Variant(Format.TEXT, False)),
        ("", "deflate, gzip;q=1.0, *;q=0.5", Variant(Format.TEXT, True)),
        ("text/plain;version=0.0.4", "gzip;q=0", Variant(Format.TEXT, False)),
        # only an OpenMetrics version we do not write: the text format
        ("application/openmetrics-text;version=0.0.1", "identity", Variant(Format.TEXT, False)),
        # the client prefers the text format
        (
            "text/plain;q=1,application/openmetrics-text;q=0.2",
            "",
            Variant(Format.TEXT, False),
        ),
    ],
)
def test_negotiation(accept: str, encoding: str, want: Variant) -> None:
    assert negotiate(accept, encoding) == want


META = (
    MetricMeta("netmon_if_in_octets_total", MetricType.COUNTER, 'In "octets".'),
    MetricMeta("netmon_if_up", MetricType.GAUGE, "1 up.\nsecond line"),
    MetricMeta("netmon_odd_counter", MetricType.COUNTER, "A counter not named _total."),
)


def _store() -> Store:
    store = Store(META)
    for device, octets in (("r1", 12345.0), ("r2", 2.5e12)):
        target = TargetRef(site="s", device=device, collector="snmp")
        labels = (("site", "s"), ("device", device), ("ifname", 'eth"0'))
        samples = [
            Sample("netmon_if_in_octets_total", labels, octets),
            Sample("netmon_if_up", labels, 1.0),
            Sample("netmon_odd_counter", labels, 3.0),
            Sample("netmon_no_meta", labels, 7.0),
        ]
        store.apply(Snapshot(target, 1000.0, 0.1, [Part("p", samples)]), 60, now=1000.0)
    store.render(now=1000.0)
    return store


def _sources(store: Store, generation: object = 1) -> Sources:
    return Sources(generation, store.meta, store.exported())


def _tail() -> bytes:
    registry = CollectorRegistry()
    Counter("netmon_scrapes", "Scrapes.", registry=registry).inc(4)
    out: bytes = openmetrics_latest(registry)  # type: ignore[no-untyped-call]
    return out


def test_openmetrics_parses_strictly_with_the_values_put_in() -> None:
    ready = build(_sources(_store()), Format.OPENMETRICS, plain=True, gzip=False)
    text = b"".join(ready.parts(False, _tail())).decode()
    parsed = text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
    families = {f.name: f for f in parsed}  # parsing raises if invalid
    octets = families["netmon_if_in_octets"]
    assert octets.type == "counter"
    assert sorted(s.value for s in octets.samples) == [12345.0, 2.5e12]
    assert {s.labels["ifname"] for s in octets.samples} == {'eth"0'}
    assert families["netmon_if_up"].documentation == "1 up.\nsecond line"
    assert families["netmon_if_in_octets"].documentation == 'In "octets".'
    assert families["netmon_odd_counter"].type == "unknown"
    assert families["netmon_no_meta"].type == "unknown"
    assert families["netmon_scrapes"].samples[0].value == 4.0
    assert text.endswith("# EOF\n")


def test_the_text_format_is_the_stores_own_render() -> None:
    store = _store()
    ready = build(_sources(store), Format.TEXT, plain=True, gzip=False)
    assert b"".join(ready.parts(False, b"")).decode() == store.render(now=1000.0)


def test_gzip_is_one_member_of_the_plain_answer_and_this_scrapes_tail() -> None:
    ready = build(_sources(_store()), Format.TEXT, plain=True, gzip=True)
    first = b"".join(ready.parts(True, b"tail_a 1\n"))
    second = b"".join(ready.parts(True, b"tail_b 2\n"))  # the kept state is copied, not used
    plain = b"".join(ready.parts(False, b""))
    for data, tail in ((first, b"tail_a 1\n"), (second, b"tail_b 2\n")):
        reader = zlib.decompressobj(31)
        assert reader.decompress(data) == plain + tail
        assert reader.eof
        assert reader.unused_data == b""
        assert gzip.decompress(data) == plain + tail


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_change_is_built_once_for_every_scrape_waiting_and_not_before() -> None:
    store = _store()
    clock = _Clock()
    builds: list[float] = []
    answers = Answers(
        lambda: store.generation, lambda: _sources(store, store.generation), clock, builds.append
    )
    try:
        variant = Variant(Format.TEXT, gzip=True)
        first = await answers.get(variant)
        assert len(builds) == 1
        assert await answers.get(variant) is first  # nothing changed: the same answer
        target = TargetRef(site="s", device="r1", collector="snmp")
        labels = (("site", "s"), ("device", "r1"), ("ifname", 'eth"0'))
        samples = [Sample("netmon_if_up", labels, 0.0)]
        store.apply(Snapshot(target, 1001.0, 0.1, [Part("p", samples)]), 60, now=1001.0)
        store.render(now=1001.0)
        clock.now += 10  # older than three build times: built again, once for all three
        got = await asyncio.gather(*(answers.get(variant) for _ in range(3)))
        assert len(builds) == 2
        assert got[0] is got[1] is got[2] is not first
        text = gzip.decompress(b"".join(got[0].parts(True, b""))).decode()
        assert 'netmon_if_up{site="s",device="r1",ifname="eth\\"0"} 0' in text
    finally:
        answers.close()


def test_a_scrapers_rhythm_is_learnt_and_each_scrape_prepared_once() -> None:
    clock = _Clock()
    answers = Answers(lambda: 0, lambda: Sources(0, {}, []), clock)
    try:
        answers._learn("prometheus-a", 100.0)
        assert answers.next_scrape(100.0) is None  # one scrape: no rhythm yet
        answers._learn("prometheus-a", 115.0)
        assert answers.next_scrape(116.0) == 130.0
        answers._prepared = 130.0
        assert answers.next_scrape(129.0) == 145.0  # 130 is prepared for already
        answers._learn("prometheus-b", 120.0)
        answers._learn("prometheus-b", 180.0)
        assert answers.next_scrape(181.0) == 175.0  # a's missed scrapes skipped
    finally:
        answers.close()


def test_the_daemons_own_metrics_in_both_formats_say_what_prometheus_client_says() -> None:
    """netmon/registry_text.py against prometheus_client's own writers (parsed), every
    family type the daemon uses: counter with labels, gauge, info, histogram."""
    from prometheus_client import Gauge, Histogram, Info
    from prometheus_client import generate_latest as text_latest
    from prometheus_client.parser import text_string_to_metric_families as parse_text

    from netmon.registry_text import render_registry

    registry = CollectorRegistry()
    Counter("netmon_x_total", 'Xs by "reason".\nline 2', ["reason"], registry=registry).labels(
        'a"b\\c'
    ).inc(3)
    Gauge("netmon_y", "A gauge.", registry=registry).set(2.5)
    Info("netmon_build", "Build.", registry=registry).info({"version": "1.0"})
    Histogram("netmon_lag_seconds", "Lag.", buckets=(0.1, 1), registry=registry).observe(0.5)

    def samples(families: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families  # type: ignore[attr-defined]
            for s in f.samples
            if not s.name.endswith("_created")
        }

    want_text = samples(parse_text(text_latest(registry).decode()))
    got_text = samples(parse_text(render_registry(registry, False).decode()))
    assert got_text == want_text
    assert want_text[("netmon_x_total", (("reason", 'a"b\\c'),))] == 3.0
    want_om = samples(text_string_to_metric_families(openmetrics_latest(registry).decode()))  # type: ignore[no-untyped-call]
    got_om = samples(text_string_to_metric_families(render_registry(registry, True).decode()))  # type: ignore[no-untyped-call]
    assert got_om == want_om
    assert ("netmon_build_info", (("version", "1.0"),)) in got_om


def _change(store: Store, value: float) -> None:
    target = TargetRef(site="s", device="r1", collector="snmp")
    labels = (("site", "s"), ("device", "r1"), ("ifname", "eth0"))
    samples = [Sample("netmon_if_up", labels, value)]
    store.apply(Snapshot(target, 1001.0, 0.1, [Part("p", samples)]), 60, now=1001.0)
    store.render(now=1001.0)


def _slow_builds(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Each build takes ``seconds`` of real time more (a big province's build)."""
    import time

    def slow(*args: Any) -> Ready:
        time.sleep(seconds)
        return build(*args)

    monkeypatch.setattr("netmon.metrics_answer.build", slow)


async def _until(check: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _text(ready: Ready) -> str:
    return gzip.decompress(b"".join(ready.parts(True, b""))).decode()


async def test_with_slow_builds_a_scrape_never_waits_for_one_and_gets_a_newer_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Builds of 0.3 s (>= STALE_FROM): a scrape after a change is served the ready
    answer at once and a newer one is built behind it; past SERVE_STALE it waits."""
    _slow_builds(monkeypatch, 0.3)
    store = _store()
    clock = _Clock()
    builds: list[float] = []
    answers = Answers(
        lambda: store.generation, lambda: _sources(store, store.generation), clock, builds.append
    )
    runner = asyncio.create_task(answers.run())
    try:
        variant = Variant(Format.TEXT, gzip=True)
        first = await answers.get(variant)
        assert builds[0] >= 0.3
        _change(store, 0.0)
        clock.now += 10  # older than three builds, younger than SERVE_STALE
        assert await answers.get(variant) is first  # served at once: no build waited for
        assert len(builds) == 1
        await _until(lambda: len(builds) == 2)  # built behind it
        second = await answers.get(variant)
        assert second is not first
        assert 'device="r1",ifname="eth0"} 0' in _text(second)
        _change(store, 1.0)
        clock.now += SERVE_STALE + 1  # too old to serve: this scrape waits for a build
        third = await answers.get(variant)
        assert len(builds) == 3
        assert 'device="r1",ifname="eth0"} 1' in _text(third)
    finally:
        runner.cancel()
        answers.close()


async def test_an_answer_of_an_earlier_config_load_is_never_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _slow_builds(monkeypatch, 0.3)
    store = _store()
    loads = [1]
    answers = Answers(
        lambda: store.generation,
        lambda: Sources(store.generation, store.meta, store.exported(), loads[0]),
        _Clock(),
        epoch=lambda: loads[0],
    )
    try:
        variant = Variant(Format.OPENMETRICS, gzip=True)
        first = await answers.get(variant)
        assert await answers.get(variant) is first
        loads[0] = 2  # a reload: same data, same clock, yet a new answer
        second = await answers.get(variant)
        assert second is not first
        assert second.epoch == 2
    finally:
        answers.close()


async def test_plain_is_inflated_from_the_gzip_answer_when_both_are_asked() -> None:
    store = _store()
    answers = Answers(lambda: 1, lambda: _sources(store), _Clock())
    tail = b"netmon_tail 1\n"
    try:
        await answers.get(Variant(Format.TEXT, gzip=True))
        ready = await answers.get(Variant(Format.TEXT, gzip=False))
        assert ready.plain is None  # the gzip answer serves it: no second copy built
        size, chunks = ready.answer(False, tail)
        body = b"".join([c async for c in chunks])
        assert body == store.render(now=1000.0).encode() + tail
        assert size == len(body)
        gz_size, gz_chunks = ready.answer(True, tail)
        gz_body = b"".join([c async for c in gz_chunks])
        assert gzip.decompress(gz_body) == body
        assert gz_size == len(gz_body)
    finally:
        answers.close()


async def test_when_both_are_asked_only_gzip_is_kept() -> None:
    store = _store()
    generation = [1]
    answers = Answers(lambda: generation[0], lambda: _sources(store, generation[0]), _Clock())
    try:
        await answers.get(Variant(Format.TEXT, gzip=False))
        await answers.get(Variant(Format.TEXT, gzip=True))
        generation[0] = 2
        ready = await answers.get(Variant(Format.TEXT, gzip=False))
        assert ready.plain is None
        assert ready.gzip_state is not None
    finally:
        answers.close()
