"""A worker thread's work gives way to the event loop (netmon.give_way), and the
/metrics build that uses it gives the same answer."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Mapping

import pytest

from netmon.answer_build import Format, Sources, build
from netmon.give_way import GiveWay


async def test_the_worker_waits_until_the_loop_came_round() -> None:
    """The loop is blocked for 0.2 s after the worker asked for a turn: the worker goes
    on only after that (it would have gone on at once without the wait)."""
    loop = asyncio.get_running_loop()
    give_way = GiveWay(loop, slice_seconds=0.0)
    order: list[str] = []
    asking = threading.Event()

    def worker() -> None:
        asking.set()
        give_way()
        order.append("worker went on")

    thread = threading.Thread(target=worker)
    thread.start()
    assert asking.wait(5)
    time.sleep(0.2)  # noqa: ASYNC251 - the point: the loop is busy, none of its callbacks run
    order.append("loop free")
    await asyncio.to_thread(thread.join, 5)
    assert order == ["loop free", "worker went on"]
    assert give_way.turns == 1
    assert give_way.waited > 0.1


async def test_no_turn_is_asked_within_a_slice_and_a_closed_loop_is_not_waited_for() -> None:
    loop = asyncio.get_running_loop()
    give_way = GiveWay(loop, slice_seconds=60.0)
    await asyncio.to_thread(give_way)
    assert give_way.turns == 0
    closed = asyncio.new_event_loop()
    closed.close()
    gone = GiveWay(closed, slice_seconds=0.0, wait_at_most=30.0)
    began = time.monotonic()
    gone()
    assert time.monotonic() - began < 5
    assert gone.turns == 0


def test_a_build_that_gives_way_is_the_same_answer_in_many_slices() -> None:
    rendered: list[Mapping[str, str]] = [
        {
            f"netmon_f{f}": "".join(
                f'netmon_f{f}{{device="d{d}",ifname="e{i}"}} {d * i + f}\n' for i in range(3)
            )
            for f in range(5)
        }
        for d in range(3000)
    ]
    sources = Sources(1, {}, rendered)
    pauses: list[int] = []
    sliced = build(sources, Format.TEXT, True, True, lambda: pauses.append(1))
    whole = build(sources, Format.TEXT, True, True)
    plain = b"".join(whole.parts(False, b""))
    assert b"".join(sliced.parts(False, b"")) == plain
    assert gzip.decompress(b"".join(sliced.parts(True, b""))) == plain
    assert plain.count(b"\n") == 3000 * 5 * 3 + 5  # samples and TYPE (no meta: no HELP)
    # grouping (every 256 targets), each joined piece (1,000 texts) and compressed slice
    assert len(pauses) >= 3000 // 256 + 5 * 3


async def test_a_plain_scrape_inflated_in_many_hops_is_the_plain_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netmon import answer_build

    monkeypatch.setattr(answer_build, "INFLATE_AT_ONCE", 512)  # many hops
    rendered: list[Mapping[str, str]] = [
        {"netmon_x": f'netmon_x{{device="d{d}"}} {d * 7919 % 10007}\n'} for d in range(20000)
    ]
    sources = Sources(1, {}, rendered)
    plain = b"".join(build(sources, Format.TEXT, True, False).parts(False, b"tail 1\n"))
    gzipped = build(sources, Format.TEXT, False, True)
    assert gzipped.plain is None
    size, chunks = gzipped.answer(False, b"tail 1\n")
    got = [c async for c in chunks]
    assert b"".join(got) == plain
    assert size == len(plain)
    assert len(got) > 2  # it came in several hops (and the tail)
