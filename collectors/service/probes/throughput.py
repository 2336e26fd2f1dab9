"""Delivered throughput: one HTTP(S) GET of a file of known size, timed.

The rate is the body bytes counted over the time from the response's headers to the last
byte counted, so the connect and the server's first-byte delay (a VSAT round trip) do not
dilute it. The run ends at ``max_bytes``, at the end of the body, or shortly before the
check's timeout, whichever comes first: a slow link still yields what it delivered in
that time (a measurement, not a failure), while no body byte at all is a failure. The
body is not decompressed (``Accept-Encoding: identity``, and aiohttp's decoding off): the
bytes counted are the bytes that crossed the link.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from collectors.service.params import ThroughputProbe
from collectors.service.probes.http import classify, request
from collectors.service.probes.outcome import Outcome, failed, from_exception

#: what a chunk read asks for at most (aiohttp hands over what it has buffered)
CHUNK = 256 * 1024


def budget(timeout: float) -> float:
    """The time a run may take: the timeout less a margin, so the run ends itself with
    what it measured before the collector's own timeout cancels it."""
    return timeout - min(0.5, timeout / 10)


@dataclass(slots=True)
class Progress:
    """What arrived so far; kept outside the timed block so a run cut short keeps it."""

    began: float = 0.0  # monotonic time the response's headers arrived
    last: float = 0.0  # monotonic time the last counted byte arrived
    received: int = 0


async def fetch(probe: ThroughputProbe) -> Outcome:
    """Download at most ``max_bytes`` of ``url`` within the probe's timeout."""
    made = request(probe.url, None, probe.verify, probe.ca)
    if isinstance(made, Outcome):
        return made
    progress = Progress()
    connector = aiohttp.TCPConnector(force_close=True, limit=1)
    headers = {**made.headers, "Accept-Encoding": "identity"}
    try:
        async with (
            asyncio.timeout(budget(probe.timeout)),
            aiohttp.ClientSession(
                connector=connector, headers=headers, auto_decompress=False
            ) as session,
            session.get(made.url, allow_redirects=False, ssl=made.verify) as response,
        ):
            if response.status != 200:
                return failed("status", f"HTTP {response.status}, expected 200")
            progress.began = progress.last = time.monotonic()
            await _count(response.content, probe.max_bytes, progress)
    except TimeoutError:
        if progress.received == 0:
            what = "no answer" if not progress.began else "no body byte"
            return failed("timeout", f"{what} within {budget(probe.timeout):g}s")
    except aiohttp.ClientError as exc:
        return classify(exc)
    except (OSError, ValueError) as exc:
        return from_exception(exc) if isinstance(exc, OSError) else failed("error", "bad URL")
    if progress.received == 0:
        return failed("error", "the body was empty")
    if progress.last <= progress.began:
        return failed("error", "the whole body came with the headers: too small to time")
    return Outcome(received=progress.received, window=progress.last - progress.began)


async def _count(stream: aiohttp.StreamReader, cap: int, progress: Progress) -> None:
    """Count the body's bytes as they arrive, up to ``cap``; the rest is never read (the
    connection closes on it)."""
    while progress.received < cap:
        chunk = await stream.readany()
        if not chunk:
            return
        progress.received += min(len(chunk), cap - progress.received)
        progress.last = time.monotonic()
