"""/metrics is written in slices: small parts joined, big ones cut (netmon.http.slices)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from netmon.http import slices


async def _each(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _written(parts: list[bytes], size: int) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [bytes(piece) async for piece in slices(_each(parts), size)]

    return asyncio.run(collect())


def test_a_family_per_part_is_one_write() -> None:
    parts = [b"# HELP a x\n# TYPE a gauge\n", b'a{d="1"} 1\n'] * 50
    written = _written(parts, 1024 * 1024)
    assert written == [b"".join(parts)]


def test_a_big_part_is_cut_into_full_writes() -> None:
    written = _written([b"ab", b"x" * 10, b"cd"], 4)
    assert written == [b"abxx", b"xxxx", b"xxxx", b"cd"]


@given(st.lists(st.binary(max_size=40), max_size=30), st.integers(1, 64))
def test_the_bytes_and_their_order_are_kept_and_no_write_is_over_size(
    parts: list[bytes], size: int
) -> None:
    written = _written(parts, size)
    assert b"".join(written) == b"".join(parts)
    assert all(0 < len(piece) <= size for piece in written)
    # every write but the last is a full one
    assert all(len(piece) == size for piece in written[:-1])
