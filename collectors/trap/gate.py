"""What a trap datagram must pass before pysnmp decodes it: a size cap and a token
bucket per source address.

Decoding is the expensive part (pysnmp and pyasn1 in Python: about 0.5 ms for a small
trap, 150 ms for a 64 KB one), and it runs on the event loop that also polls and answers
scrapes. So a flood is refused here, on the source address and the datagram's length
alone, for the price of a dict lookup; what is refused is counted, never decoded.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import Counter
from pysnmp.carrier.asyncio.dgram import udp

log = structlog.get_logger("netmon.trap")

#: source addresses with a bucket; beyond it the least recently heard one is forgotten
#: (it starts again with a full bucket when it sends again)
MAX_SOURCES = 10_000
#: bytes a token pays for: a big datagram costs more to decode, so it costs more tokens
TOKEN_BYTES = 1024
#: sources whose drops the log names, per report
LOGGED_SOURCES = 10


class SourceLimiter:
    """A token bucket per source address: ``rate`` tokens a second, at most ``burst``
    saved up; a new source starts with a full bucket. The least recently heard source is
    forgotten when ``max_sources`` are tracked, so memory stays bounded whatever the
    senders."""

    def __init__(
        self,
        rate: float,
        burst: float,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_sources = max_sources
        self._clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # source -> [tokens, at]

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, source: str, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens from the source's bucket; False (and nothing taken) when
        it holds fewer."""
        now = self._clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= self.max_sources:
                self._buckets.popitem(last=False)
            bucket = self._buckets[source] = [self.burst, now]
        else:
            self._buckets.move_to_end(source)
            tokens = bucket[0] + (now - bucket[1]) * self.rate
            bucket[0] = tokens if tokens < self.burst else self.burst
            bucket[1] = now
        if bucket[0] >= cost:
            bucket[0] -= cost
            return True
        return False


class Gate:
    """Admits a datagram or counts why not: ``oversize`` above ``max_size`` bytes,
    ``rate_limited`` when its source's bucket is empty. A datagram costs one token per
    started KiB (capped at the burst, so any admissible size can pass)."""

    def __init__(
        self,
        limiter: SourceLimiter,
        max_size: int,
        limited: Counter,
        oversize: Counter,
        malformed: Counter | None = None,
    ) -> None:
        self.limiter = limiter
        self.max_size = max_size
        self.limited = limited
        self.oversize = oversize
        #: what pysnmp's decoder raised on instead of dropping it (counted, never a crash)
        self.malformed = malformed
        self._total = 0  # drops since the last report
        self._dropped: dict[str, int] = {}  # source -> drops since the last report

    def admit(self, source: str, size: int) -> bool:
        if size > self.max_size:
            self.oversize.inc()
            self._tally(source)
            return False
        cost = (size + TOKEN_BYTES - 1) // TOKEN_BYTES or 1
        if self.limiter.allow(source, min(cost, self.limiter.burst)):
            return True
        self.limited.inc()
        self._tally(source)
        return False

    def _tally(self, source: str) -> None:
        self._total += 1
        # bounded: spoofed sources must not grow it without limit between reports
        if source in self._dropped:
            self._dropped[source] += 1
        elif len(self._dropped) < MAX_SOURCES:
            self._dropped[source] = 1

    def report(self) -> tuple[int, dict[str, int]]:
        """Drops since the last report: how many, and by source for the LOGGED_SOURCES
        sources that lost most (for the log; a source address is no metric label)."""
        total, dropped = self._total, self._dropped
        self._total, self._dropped = 0, {}
        top = sorted(dropped.items(), key=lambda item: (-item[1], item[0]))
        return total, dict(top[:LOGGED_SOURCES])


class GatedUdpTransport(udp.UdpAsyncioTransport):  # type: ignore[misc]  # pysnmp is untyped
    """pysnmp's asyncio UDP transport, asking the gate before anything is decoded."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:
        if self.gate.admit(transportAddress[0], len(datagram)):
            self.loop.call_soon(self._decode, transportAddress, datagram)

    def _decode(self, address: Any, datagram: bytes) -> None:
        """pysnmp's receive path, as its own datagram_received would schedule it; some
        garbage makes pyasn1 raise (TypeError from a constructed type's clone) where it
        should count a parse error: that is a malformed trap, not an event-loop error."""
        if self._callback_function is None:  # closed since it arrived
            return
        try:
            self._callback_function(self, address, datagram)
        except Exception as exc:
            if self.gate.malformed is None:
                raise
            self.gate.malformed.inc()
            log.info("undecodable trap", source=address[0], error=type(exc).__name__)
