"""Fuzz: trap datagrams through the trap collector's receive path (gate, pysnmp, callback)."""

from __future__ import annotations

from hypothesis import given

from tests import snmp_ber as ber
from tests.fuzz.bounds import SUITE
from tests.fuzz.trap_target import (
    COMMUNITY,
    LINK_DOWN,
    TRAP_OID,
    TRAP_V2,
    check,
    datagrams,
    receiver,
)


@SUITE
@given(datagrams)
def test_no_datagram_raises_or_reaches_the_loop_as_an_error(case: list[bytes]) -> None:
    check(case)


def test_what_pyasn1_chokes_on_is_counted_malformed() -> None:
    """b'\\x60\\x00' (an empty [APPLICATION 0] constructed) makes pyasn1 raise TypeError
    from clone(); found by this fuzzing: before the fix it reached the event loop."""
    rx = receiver()
    before = rx.counts()["malformed"]
    check([b"\x60\x00"])
    assert rx.counts()["malformed"] == before + 1


def test_a_link_down_with_wrongly_typed_interface_varbinds_is_still_accepted() -> None:
    """ifName as an OID and ifIndex as NULL name no interface; the trap still counts
    as accepted and asks for a poll (found by this fuzzing: AttributeError, ValueError)."""
    rx = receiver()
    binds = (
        (ber.oid("1.3.6.1.2.1.1.3.0"), ber.Var(ber.TIMETICKS, 5)),
        (TRAP_OID, ber.Var(ber.OID, LINK_DOWN)),
        (ber.oid("1.3.6.1.2.1.31.1.1.1.1.3"), ber.Var(ber.OID, (1, 3, 6))),
        (ber.oid("1.3.6.1.2.1.2.2.1.1.3"), ber.Var(ber.NULL)),
    )
    trap = ber.encode(ber.Message(COMMUNITY, TRAP_V2, 7, 0, 0, binds))
    accepted, polled = rx.counts()["accepted"], rx.directory.polled
    check([trap])
    assert rx.counts()["accepted"] == accepted + 1
    assert rx.directory.polled == polled + 1
