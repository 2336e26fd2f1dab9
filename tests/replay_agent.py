"""Many SNMPv2c agents in one cheap process: a recording replayed from pre-encoded replies.

Built for the scale harness (bench/scale) and its scaled-down test: thousands of village
routers polled every minute need tens of thousands of varbinds a second, more than
snmpsim or snmpd serve on one core. Every simulated device is one UDP socket on
127.0.0.1 (its own port), so a reply always leaves from the address and port the
request went to (gufo-snmp's sockets are connected: a reply from anywhere else would
never reach them). All devices serve the same recording.

Hot path: a request is split at its request-id without decoding it; the bytes after the
request-id (error fields or non-repeaters/max-repetitions, then the varbinds), the PDU
type and the request-id's length are the key of an encoded response, into which the
request's request-id is copied (same length, so no length field changes). A key not
seen yet is answered by the generic codec (tests/snmp_ber.py, RFC 3416 GET, GETNEXT and
GETBULK, noSuchInstance and endOfMibView included) and cached.

Counters move: the IF-MIB counters grow at a fixed rate per column and interface, and
sysUpTime/hrSystemUptime follow the clock. The responses are re-encoded once per
``step`` seconds (the cache is cleared), so rate() over two polls is realistic and the
cost stays one encode per distinct request per step. A dead device is a bound socket
nobody reads, with a tiny receive buffer: requests time out, no ICMP error comes back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netmon.tools.simulate import recordings_dir
from tests.moving_agent import _bulk, _next  # the RFC 3416 GETNEXT/GETBULK rules, reused
from tests.snmp_ber import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    GET,
    GETBULK,
    GETNEXT,
    INTEGER,
    IPADDRESS,
    NO_SUCH_INSTANCE,
    NULL,
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
from tests.snmprec_reader import Recording

_TAGS = {
    "2": INTEGER,
    "4": OCTETS,
    "4x": OCTETS,
    "6": OID,
    "64": IPADDRESS,
    "64x": IPADDRESS,
    "5": NULL,
    "65": COUNTER32,
    "66": GAUGE32,
    "67": TIMETICKS,
    "70": COUNTER64,
}
_WRAP = {COUNTER32: 2**32, COUNTER64: 2**64, TIMETICKS: 2**32}
IF_TABLE, IF_X_TABLE = oid("1.3.6.1.2.1.2.2.1"), oid("1.3.6.1.2.1.31.1.1.1")
UPTIMES = {oid("1.3.6.1.2.1.1.3.0"), oid("1.3.6.1.2.1.25.1.1.0")}
#: columns counting octets (ifInOctets, ifOutOctets, ifHCInOctets, ifHCOutOctets)
OCTET_COLUMNS = {(IF_TABLE, 10), (IF_TABLE, 16), (IF_X_TABLE, 6), (IF_X_TABLE, 10)}
#: columns counting unicast packets; every other IF-MIB counter counts rare events
PACKET_COLUMNS = {(IF_TABLE, 11), (IF_TABLE, 17), (IF_X_TABLE, 7), (IF_X_TABLE, 11)}
MAX_MESSAGE = 65_000


def rate(o: Oid, tag: int) -> float:
    """Growth per second of one variable (0: it stays as recorded)."""
    if o in UPTIMES:
        return 100.0  # TimeTicks: hundredths of a second
    if tag not in (COUNTER32, COUNTER64):
        return 0.0
    for table in (IF_TABLE, IF_X_TABLE):
        if o[: len(table)] == table and len(o) == len(table) + 2:
            column, index = o[-2], o[-1]
            if (table, column) in OCTET_COLUMNS:
                return 20_000.0 + (index * 7919) % 100_000  # 20-120 kB/s per interface
            if (table, column) in PACKET_COLUMNS:
                return 20.0 + index
            return 0.05
    return 0.0


def to_var(tag: str, value: int | bytes | str | None) -> Var:
    ber = _TAGS[tag]
    if ber == NULL:
        return Var(NULL)
    if ber == OID:
        assert isinstance(value, str)
        return Var(OID, oid(value))
    if ber == IPADDRESS:
        assert isinstance(value, str)
        return Var(IPADDRESS, socket.inet_aton(value))
    assert not isinstance(value, str)
    return Var(ber, value)


class Model:
    """The recording as typed variables, some of which move with time."""

    def __init__(self, recording: Recording) -> None:
        self.static: dict[Oid, Var] = {}
        self.moving: dict[Oid, tuple[int, int, float]] = {}  # oid -> (tag, start, per second)
        for text, var in recording.items():
            typed = to_var(var.tag, var.value)
            per_second = rate(oid(text), typed.tag)
            if per_second and isinstance(typed.value, int):
                self.moving[oid(text)] = (typed.tag, typed.value, per_second)
            else:
                self.static[oid(text)] = typed

    def view(self, elapsed: float) -> dict[Oid, Var]:
        """Every variable ``elapsed`` seconds after the agent started."""
        out = dict(self.static)
        for o, (tag, start, per_second) in self.moving.items():
            out[o] = Var(tag, int(start + per_second * elapsed) % _WRAP[tag])
        return dict(sorted(out.items()))

    def answer(self, request: Message, view: dict[Oid, Var]) -> tuple[tuple[Oid, Var], ...]:
        oids = tuple(o for o, _ in request.varbinds)
        if request.pdu == GET:
            return tuple((o, view.get(o, Var(NO_SUCH_INSTANCE))) for o in oids)
        if request.pdu == GETNEXT:
            return tuple(_next(view, oids))
        answer = _bulk(view, request)
        while answer and len(answer) > len(oids) and len(answer) * 40 > MAX_MESSAGE:
            answer.pop()  # RFC 3416 4.2.3: drop varbinds from the end until it fits
        return tuple(answer)


def split(data: bytes) -> tuple[int, int, int] | None:
    """(PDU tag position, request-id start, request-id end) of a v2c message; None when
    it is not laid out the short way this fast path reads (the generic codec decides)."""
    try:
        if data[0] != 0x30:
            return None
        pos = 2 if data[1] < 0x80 else 2 + (data[1] & 0x7F)
        if data[pos : pos + 3] != b"\x02\x01\x01" or data[pos + 3] != 0x04:
            return None
        size = data[pos + 4]
        if size >= 0x80:
            return None
        tag_at = pos + 5 + size
        first = data[tag_at + 1]
        start = tag_at + 2 if first < 0x80 else tag_at + 2 + (first & 0x7F)
        if data[start] != 0x02 or data[start + 1] >= 0x80:
            return None
        return tag_at, start, start + 2 + data[start + 1]
    except IndexError:
        return None


class Replies:
    """Request bytes -> response bytes, from the cache or the generic codec."""

    def __init__(self, model: Model, community: bytes, step: float) -> None:
        self.model = model
        self.community = community
        #: the community TLV's length byte and value, as they sit before the PDU
        self.framed = bytes([len(community)]) + community
        self.step = step
        self.started = time.monotonic()
        self.epoch = -1
        self.view: dict[Oid, Var] = {}
        #: (PDU tag, request-id TLV length, bytes after the request-id) -> (head, tail, varbinds)
        self.cache: dict[tuple[int, int, bytes], tuple[bytes, bytes, int]] = {}
        self.stats = {"requests": 0, "answered": 0, "varbinds": 0, "encoded": 0, "ignored": 0}

    def tick(self, now: float) -> None:
        epoch = int((now - self.started) / self.step)
        if epoch != self.epoch:
            self.epoch = epoch
            self.view = self.model.view(epoch * self.step)
            self.cache.clear()

    def reply(self, data: bytes) -> bytes | None:
        stats = self.stats
        stats["requests"] += 1
        cut = split(data)
        size = len(self.community)
        if cut is None or data[cut[0] - size - 1 : cut[0]] != self.framed:
            return self._generic(data)
        tag_at, start, end = cut
        hit = self.cache.get((data[tag_at], end - start, data[end:]))
        if hit is None:
            return self._generic(data, (data[tag_at], end - start, data[end:]))
        head, tail, count = hit
        stats["answered"] += 1
        stats["varbinds"] += count
        return head + data[start:end] + tail

    def _generic(self, data: bytes, key: tuple[int, int, bytes] | None = None) -> bytes | None:
        try:
            request = decode(data)
        except BerError:
            request = None
        if request is None or request.community != self.community:
            self.stats["ignored"] += 1
            return None
        if request.pdu not in (GET, GETNEXT, GETBULK):
            self.stats["ignored"] += 1
            return None
        varbinds = self.model.answer(request, self.view)
        reply = encode(Message(self.community, RESPONSE, request.request_id, 0, 0, varbinds))
        self.stats["encoded"] += 1
        self.stats["answered"] += 1
        self.stats["varbinds"] += len(varbinds)
        cut = split(reply)
        if key is not None and cut is not None and cut[2] - cut[1] == key[1]:
            self.cache[key] = (reply[: cut[1]], reply[cut[2] :], len(varbinds))
        return reply


def bind(count: int, *, dead: bool) -> list[socket.socket]:
    """``count`` UDP sockets on 127.0.0.1, each on a port the kernel picks."""
    out = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if dead:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        out.append(sock)
    return out


def _drain(sock: socket.socket, replies: Replies, burst: int = 16) -> None:
    for _ in range(burst):
        try:
            data, addr = sock.recvfrom(65_535)
        except (BlockingIOError, InterruptedError):
            return
        answer = replies.reply(data)
        if answer is not None:
            try:
                sock.sendto(answer, addr)
            except OSError:  # the poller's socket is gone (ECONNREFUSED, full buffer)
                replies.stats["ignored"] += 1


def serve(
    live: list[socket.socket], replies: Replies, stats: Path | None, stop: list[bool]
) -> None:
    """Answer until ``stop[0]``; write the counters to ``stats`` once a second."""
    poller = select.epoll()
    by_fd = {s.fileno(): s for s in live}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    next_write = 0.0
    try:
        while not stop[0]:
            events = poller.poll(0.5, 1024)
            now = time.monotonic()
            replies.tick(now)
            for fd, _ in events:
                _drain(by_fd[fd], replies)
            if stats is not None and now >= next_write:
                write_json(stats, {**replies.stats, "at": time.time()})
                next_write = now + 1.0
    finally:
        poller.close()
        if stats is not None:
            write_json(stats, {**replies.stats, "at": time.time()})


def write_json(path: Path, data: object) -> None:
    """Atomically: a reader never sees half a file."""
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data))
    part.replace(path)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a started agent wrote: its pid and the ports of its live and dead devices."""

    pid: int
    live: list[int]
    dead: list[int]


def command(
    community: str, live: int, dead: int, manifest: Path, stats: Path | None, step: float = 1.0
) -> list[str]:
    """The command line that starts an agent (run it from the repository root)."""
    cmd = [sys.executable, "-m", "tests.replay_agent", "--community", community]
    cmd += ["--live", str(live), "--dead", str(dead), "--step", str(step)]
    cmd += ["--manifest", str(manifest)]
    return cmd + (["--stats", str(stats)] if stats is not None else [])


def read_manifest(path: Path) -> Manifest | None:
    """The manifest once the agent has bound every port; None before."""
    if not path.exists():
        return None
    got = json.loads(path.read_text())
    return Manifest(got["pid"], got["live"], got["dead"])


def _ports(socks: list[socket.socket]) -> Iterator[int]:
    for sock in socks:
        port: int = sock.getsockname()[1]
        yield port


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.replay_agent", description=__doc__)
    p.add_argument("--recording", default="routeros", help="a .snmprec name (recordings dir)")
    p.add_argument("--community", required=True)
    p.add_argument("--live", type=int, required=True, help="devices that answer")
    p.add_argument("--dead", type=int, default=0, help="devices that never answer")
    p.add_argument("--step", type=float, default=1.0, help="seconds between counter moves")
    p.add_argument("--manifest", type=Path, required=True, help="JSON: pid, live/dead ports")
    p.add_argument("--stats", type=Path, help="JSON counters, rewritten once a second")
    args = p.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.live + args.dead + 64 <= hard:  # one descriptor per device
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    recording = Recording.read(recordings_dir() / f"{args.recording}.snmprec")
    replies = Replies(Model(recording), args.community.encode(), args.step)
    live, dead = bind(args.live, dead=False), bind(args.dead, dead=True)
    stop = [False]

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    manifest = {"pid": os.getpid(), "live": list(_ports(live)), "dead": list(_ports(dead))}
    write_json(args.manifest, manifest)
    serve(live, replies, args.stats, stop)
    for sock in live + dead:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
