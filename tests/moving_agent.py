"""An SNMPv2c agent whose counters and uptime move, and which can reboot.

No recording moves like a real router behind a flapping link: counters that
grow at a known rate and wrap at 2^32, uptime that follows the clock, and a
reboot that restarts uptime *and* counters (hrSystemUptime too, unlike a
restart of net-snmp's snmpd). This agent does, in the test's own event loop,
and keeps what it served so a test can compute what a poller should have
seen from the agent's own state, not from the poller's code.

Time comes from ``clock`` (seconds). A test that freezes it per poll gets the
same value for every request of one poll, which makes the expected totals
exact. Every answer is logged in ``served``.
"""

from __future__ import annotations

import asyncio
import bisect
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tests.snmp_ber import (
    COUNTER32,
    COUNTER64,
    END_OF_MIB_VIEW,
    GAUGE32,
    GET,
    GETBULK,
    GETNEXT,
    INTEGER,
    NO_SUCH_INSTANCE,
    OCTETS,
    OID,
    RESPONSE,
    TIMETICKS,
    BerError,
    Message,
    Oid,
    Var,
    decode,
    encode,
    oid,
)

IF_TABLE = oid("1.3.6.1.2.1.2.2.1")
IF_X_TABLE = oid("1.3.6.1.2.1.31.1.1.1")
SYS_UPTIME = oid("1.3.6.1.2.1.1.3.0")
HR_SYSTEM_UPTIME = oid("1.3.6.1.2.1.25.1.1.0")
#: IF-MIB column number -> counter name, for ifTable (32-bit) and ifXTable (HC, 64-bit)
COUNTER_COLUMNS = {
    10: "in_octets",
    11: "in_ucast",
    13: "in_discards",
    14: "in_errors",
    16: "out_octets",
    17: "out_ucast",
    19: "out_discards",
    20: "out_errors",
}
HC_COLUMNS = {6: "in_octets", 7: "in_ucast", 10: "out_octets", 11: "out_ucast"}


class ManualClock:
    """A clock the test sets: ``clock.now = time.monotonic()`` once per poll."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True, slots=True)
class Iface:
    """One interface: counters grow at ``rates`` per second from ``starts`` (their values when
    the agent was created; 0 after a reboot). ``hc`` adds the ifXTable Counter64 columns."""

    index: int
    name: str
    speed: int  # bit/s
    rates: Mapping[str, int]
    starts: Mapping[str, int] = field(default_factory=dict)
    hc: bool = False
    if_type: int = 6  # ethernetCsmacd


@dataclass(frozen=True, slots=True)
class Served:
    """One answered request: the agent's clock then, the request and the OIDs answered."""

    at: float
    pdu: int
    request: tuple[Oid, ...]
    answer: tuple[tuple[Oid, int], ...]  # (oid, value tag)


class MovingAgent:
    """Serves SNMPv2c on 127.0.0.1 (an OS-chosen port) from the running event loop.

    Use as a context manager inside a coroutine; ``port`` is where it listens.
    ``extra`` holds further OIDs (other tables); a test may change them between polls.
    """

    def __init__(
        self,
        ifaces: Iterable[Iface],
        clock: Callable[[], float],
        *,
        community: str = "public",
        uptime: float = 1060.0,
        sys_object_id: str = "1.3.6.1.4.1.14988.1",
    ) -> None:
        self.ifaces = {i.index: i for i in ifaces}
        self.clock = clock
        self.community = community.encode()
        self.sys_object_id = oid(sys_object_id)
        #: boot times by the clock; the device was already up ``uptime`` seconds at start
        self.created = clock()
        self.boots = [self.created - uptime]
        self.extra: dict[Oid, Var] = {}
        self.served: list[Served] = []
        self.ignored = 0
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        assert self._sock is not None, "the agent is not running"
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def running(self) -> bool:
        return self._sock is not None

    def __enter__(self) -> MovingAgent:
        self._loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._readable)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
        self._sock = None

    # the device's state, as a function of the clock

    def reboot(self) -> None:
        """Uptime and every counter restart from 0 now."""
        self.boots.append(self.clock())

    def boot_at(self, t: float) -> int:
        """Which boot (0 = the one before the test) was running at clock time ``t``."""
        return bisect.bisect_right(self.boots, t) - 1

    def uptime(self, t: float) -> float:
        return t - self.boots[self.boot_at(t)]

    def count(self, iface: Iface, name: str, t: float) -> int:
        """The counter at clock time ``t`` before any wrap: ``starts`` plus what was counted
        since the test began, or after a reboot what was counted since that boot."""
        boot = self.boot_at(t)
        if boot == 0:  # the counters stood at ``starts`` when the test began
            since, start = self.created, iface.starts.get(name, 0)
        else:
            since, start = self.boots[boot], 0
        return start + int(iface.rates.get(name, 0) * (t - since))

    def view(self, t: float) -> dict[Oid, Var]:
        """Every OID the agent holds at clock time ``t``."""
        ticks = int(self.uptime(t) * 100) % 2**32
        out: dict[Oid, Var] = {
            oid("1.3.6.1.2.1.1.1.0"): Var(OCTETS, b"RouterOS RB4011 (moving test agent)"),
            oid("1.3.6.1.2.1.1.2.0"): Var(OID, self.sys_object_id),
            SYS_UPTIME: Var(TIMETICKS, ticks),
            oid("1.3.6.1.2.1.1.5.0"): Var(OCTETS, b"rtr-flap"),
            oid("1.3.6.1.2.1.2.1.0"): Var(INTEGER, len(self.ifaces)),
            HR_SYSTEM_UPTIME: Var(TIMETICKS, ticks),
            oid("1.3.6.1.6.3.10.2.1.3.0"): Var(INTEGER, int(self.uptime(t))),
        }
        for i, f in self.ifaces.items():
            name = f.name.encode()
            row = {
                1: Var(INTEGER, i),
                2: Var(OCTETS, name),
                3: Var(INTEGER, f.if_type),
                4: Var(INTEGER, 1500),
                5: Var(GAUGE32, min(f.speed, 2**32 - 1)),
                7: Var(INTEGER, 1),
                8: Var(INTEGER, 1),
                9: Var(TIMETICKS, 0),
            }
            for column, counter in COUNTER_COLUMNS.items():
                row[column] = Var(COUNTER32, self.count(f, counter, t) % 2**32)
            for column, value in row.items():
                out[(*IF_TABLE, column, i)] = value
            xrow = {1: Var(OCTETS, name), 15: Var(GAUGE32, f.speed // 1_000_000)}
            xrow[18] = Var(OCTETS, b"")
            if f.hc:
                for column, counter in HC_COLUMNS.items():
                    xrow[column] = Var(COUNTER64, self.count(f, counter, t) % 2**64)
            for column, value in xrow.items():
                out[(*IF_X_TABLE, column, i)] = value
        out.update(self.extra)
        return out

    # the protocol

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data, addr = self._sock.recvfrom(65535)
            except BlockingIOError:
                return
            reply = self.answer(data)
            if reply is not None:
                self._sock.sendto(reply, addr)

    def answer(self, data: bytes) -> bytes | None:
        """The response to one request, or None (garbage, or not for this community)."""
        try:
            request = decode(data)
        except BerError:
            self.ignored += 1
            return None
        if request.community != self.community or request.pdu not in (GET, GETNEXT, GETBULK):
            self.ignored += 1
            return None
        oids = tuple(o for o, _ in request.varbinds)
        now = self.clock()
        view = self.view(now)
        if request.pdu == GET:
            answer = [(o, view.get(o, Var(NO_SUCH_INSTANCE))) for o in oids]
        else:
            answer = _bulk(view, request) if request.pdu == GETBULK else _next(view, oids)
        self.served.append(Served(now, request.pdu, oids, tuple((o, v.tag) for o, v in answer)))
        reply = Message(request.community, RESPONSE, request.request_id, 0, 0, tuple(answer))
        return encode(reply)


def _under(o: Oid, prefix: Oid) -> bool:
    return o[: len(prefix)] == prefix


def _successor(keys: list[Oid], view: Mapping[Oid, Var], o: Oid) -> tuple[Oid, Var]:
    at = bisect.bisect_right(keys, o)
    if at == len(keys):
        return o, Var(END_OF_MIB_VIEW)
    return keys[at], view[keys[at]]


def _next(view: Mapping[Oid, Var], oids: tuple[Oid, ...]) -> list[tuple[Oid, Var]]:
    keys = sorted(view)
    return [_successor(keys, view, o) for o in oids]


def _bulk(view: Mapping[Oid, Var], request: Message) -> list[tuple[Oid, Var]]:
    """GETBULK as RFC 3416 4.2.3: non-repeaters once, then up to max-repetitions rows."""
    keys = sorted(view)
    oids = [o for o, _ in request.varbinds]
    non_repeaters = max(0, min(request.a, len(oids)))
    out = [_successor(keys, view, o) for o in oids[:non_repeaters]]
    current = oids[non_repeaters:]
    for _ in range(max(0, request.b) if current else 0):
        row = [_successor(keys, view, o) for o in current]
        out.extend(row)
        if all(v.tag == END_OF_MIB_VIEW for _, v in row):
            break
        current = [o for o, _ in row]
    return out


def walk_ends(served: Iterable[Served], root: Oid) -> set[float]:
    """Clock times at which a walk of ``root`` got its last page: an answer to a GETNEXT or
    GETBULK for an OID under ``root`` that leaves the subtree (or ends the MIB view)."""
    out: set[float] = set()
    for s in served:
        if s.pdu == GET or not s.request or not _under(s.request[0], root):
            continue
        if any(not _under(o, root) or tag == END_OF_MIB_VIEW for o, tag in s.answer):
            out.add(s.at)
    return out


def walks_under(data: bytes, roots: Iterable[Oid]) -> bool:
    """Whether a request datagram is a GETNEXT/GETBULK for an OID under one of ``roots``
    (for a relay that loses one table's walk and nothing else)."""
    try:
        request = decode(data)
    except BerError:
        return False
    if request.pdu == GET or not request.varbinds:
        return False
    first = request.varbinds[0][0]
    return any(_under(first, root) for root in roots)
