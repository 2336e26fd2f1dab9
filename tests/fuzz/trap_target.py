"""Trap datagrams through the collector's receive path: the gate, pysnmp's decoder and
the collector's callback (collectors/trap/__init__.py), on a real TrapCollector bound to
a loopback port. Datagrams are handed to its transport as the kernel would hand them
(``datagram_received``), so no packet is lost and each case is deterministic.

Inputs: v2c traps built with tests/snmp_ber.py (independent of pysnmp) whose varbinds
are random in type and value (a linkDown whose ifIndex is a string, whose ifName is an
OID, a snmpTrapAddress.0 that is an integer...), the same with bytes flipped or cut, and
random bytes. The declared rejections are netmon_traps_received_total's results
(malformed, unknown_source, bad_community, bad_auth; oversize, rate_limited before
decoding) and pysnmp's own silent drop of what it cannot decode (snmpInASNParseErrs);
an exception anywhere (raised, or reported to the event loop) is a failure.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from pysnmp.carrier.asyncio.dgram import udp

from collectors.trap import TrapCollector, TrapConfig
from netmon.api import DeviceView, Snapshot, StaticDirectory
from netmon.tools.simulate import free_udp_port
from tests import snmp_ber as ber

COMMUNITY = b"fuzz-c0mm"
SOURCE = ("127.0.0.1", 40162)
TRAP_V2 = 0xA7
INFORM = 0xA6
LINK_DOWN, LINK_UP = ber.oid("1.3.6.1.6.3.1.1.5.3"), ber.oid("1.3.6.1.6.3.1.1.5.4")
TRAP_OID = ber.oid("1.3.6.1.6.3.1.1.4.1.0")
UPTIME = ber.oid("1.3.6.1.2.1.1.3.0")
#: the varbinds the collector reads: ifIndex, ifDescr, ifName, snmpTrapAddress.0
READ = [
    ber.oid("1.3.6.1.2.1.2.2.1.1.3"),
    ber.oid("1.3.6.1.2.1.2.2.1.2.3"),
    ber.oid("1.3.6.1.2.1.31.1.1.1.1.3"),
    ber.oid("1.3.6.1.6.3.18.1.3.0"),
    TRAP_OID,
]
RESULTS = {"accepted", "unknown_source", "bad_community", "bad_auth", "malformed"}
RESULTS |= {"rate_limited", "oversize"}


class Sink:
    def __init__(self) -> None:
        self.snapshots = 0

    def apply(self, snapshot: Snapshot, *_args: Any, **_kwargs: Any) -> None:
        self.snapshots += 1

    def remove(self, key: str) -> None:
        pass


class Directory(StaticDirectory):
    """One site, one device at 127.0.0.1 (where the traps come from)."""

    def __init__(self) -> None:
        super().__init__(["fuzz"])
        self.polled = 0

    def device_exists(self, site: str, device: str) -> bool:
        return (site, device) == ("fuzz", "dev-1")

    def devices(self) -> Iterator[DeviceView]:
        polls: Mapping[str, Any] = {"snmp": None}
        return iter([DeviceView("fuzz", "dev-1", "127.0.0.1", polls)])

    def poll_now(self, key: str) -> bool:
        self.polled += 1
        return True


arcs = st.lists(st.integers(0, 2**32 + 3), min_size=0, max_size=10)
ber_values = st.one_of(
    st.integers(-(2**80), 2**80).map(lambda v: ber.Var(ber.INTEGER, v)),
    st.sampled_from([ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64]).flatmap(
        lambda tag: st.integers(0, ber._UNSIGNED[tag] - 1).map(lambda v: ber.Var(tag, v))
    ),
    st.binary(max_size=40).map(lambda v: ber.Var(ber.OCTETS, v)),
    st.binary(min_size=0, max_size=6).map(lambda v: ber.Var(ber.IPADDRESS, v)),
    st.sampled_from([LINK_DOWN, LINK_UP, (1, 3), (2, 39, 2**40)]).map(
        lambda v: ber.Var(ber.OID, v)
    ),
    st.lists(st.integers(0, 2**40), min_size=2, max_size=8).map(
        lambda v: ber.Var(ber.OID, (min(v[0], 2), min(v[1], 39), *v[2:]))
    ),
    st.sampled_from([ber.NULL, ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW]).map(
        ber.Var
    ),
)
names = st.one_of(
    st.sampled_from(READ),
    arcs.map(lambda a: (1, 3, 6, 1, 2, 1, 2, 2, 1, *a)),
    st.lists(st.integers(0, 2**40), min_size=2, max_size=12).map(
        lambda v: (min(v[0], 2), min(v[1], 39), *v[2:])
    ),
)


@st.composite
def traps(draw: st.DrawFn) -> bytes:
    binds: list[tuple[ber.Oid, ber.Var]] = []
    if draw(st.booleans()):  # the form RFC 3416 asks for: sysUpTime.0, snmpTrapOID.0 first
        binds += [(UPTIME, ber.Var(ber.TIMETICKS, draw(st.integers(0, 2**32 - 1))))]
        binds += [(TRAP_OID, ber.Var(ber.OID, draw(st.sampled_from([LINK_DOWN, LINK_UP]))))]
    binds += draw(st.lists(st.tuples(names, ber_values), max_size=8))
    message = ber.Message(
        community=draw(st.sampled_from([COMMUNITY, COMMUNITY, b"public", b""])),
        pdu=draw(st.sampled_from([TRAP_V2, TRAP_V2, INFORM, ber.RESPONSE, ber.GET])),
        request_id=draw(st.integers(-(2**31), 2**31 - 1)),
        a=draw(st.integers(-5, 20)),
        b=draw(st.integers(-5, 20)),
        varbinds=tuple(binds),
    )
    return ber.encode(message)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(traps()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


datagrams = st.lists(
    st.one_of(traps(), damaged(), st.binary(max_size=200), st.binary(min_size=9000, max_size=9001)),
    min_size=1,
    max_size=5,
)


class Receiver:
    """One TrapCollector on its own event loop, kept across cases (pysnmp is slow to set
    up); exceptions the loop sees are kept in ``errors``."""

    def __init__(self) -> None:
        os.environ["NETMON_FUZZ_TRAP_COMMUNITY"] = COMMUNITY.decode()
        self.loop = asyncio.new_event_loop()
        self.errors: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.errors.append(context))
        self.registry = CollectorRegistry()
        self.directory = Directory()
        self.collector = TrapCollector(Sink(), self.directory, self.registry)
        self.config = TrapConfig.model_validate(
            {
                "listen": f"127.0.0.1:{free_udp_port()}",
                "communities": [{"env": "NETMON_FUZZ_TRAP_COMMUNITY"}],
                "rate_per_source": 1e9,
                "burst": 10**9,
            }
        )
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        self.collector.configure(self.config, Path("."))
        self.collector.sites_changed()

    def counts(self) -> dict[str, float]:
        out = {}
        for result in RESULTS:
            got = self.registry.get_sample_value("netmon_traps_received_total", {"result": result})
            out[result] = got or 0.0
        return out

    def parse_errors(self) -> int:
        builder = self.collector.engine.get_mib_builder()
        (errs,) = builder.import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")
        return int(errs.syntax)

    async def _feed(self, datagrams: list[bytes]) -> None:
        transport = self.collector.engine.transport_dispatcher.get_transport(udp.DOMAIN_NAME)
        for datagram in datagrams:
            transport.datagram_received(datagram, SOURCE)
            for _ in range(3):  # pysnmp handles it in call_soon callbacks
                await asyncio.sleep(0)

    def feed(self, datagrams: list[bytes]) -> None:
        self.loop.run_until_complete(self._feed(datagrams))

    def close(self) -> None:
        self.loop.run_until_complete(self.collector.stop())
        self.loop.close()


_receiver: Receiver | None = None


def receiver() -> Receiver:
    global _receiver  # one pysnmp engine for the whole run
    if _receiver is None:
        _receiver = Receiver()
    return _receiver


def check(datagrams: list[bytes]) -> None:
    """Every datagram ends as a counted result or a parse error pysnmp counted; nothing
    raises and the loop sees no exception."""
    rx = receiver()
    before = rx.errors[:]
    rx.feed(datagrams)
    new = rx.errors[len(before) :]
    assert not new, [(c.get("message"), repr(c.get("exception"))) for c in new]
