"""Datagram sizes estimated from decoded PDUs agree with a real BER encoding.

The reference is tests/snmp_ber.py, an encoder written for the test agents and
independent of collectors/snmp/wirebytes.py (whose hot path caches OID prefixes and
inlines the value sizes).
"""

from __future__ import annotations

import random

from collectors.snmp.wirebytes import Framing, varbind_size
from tests.snmp_ber import (
    COUNTER64,
    GETBULK,
    INTEGER,
    NULL,
    OCTETS,
    RESPONSE,
    SEQUENCE,
    Message,
    Var,
    _encode_oid,
    _tlv,
    encode,
    encode_value,
    oid,
)

IP_UDP = 28


def _random_oid(rng: random.Random) -> str:
    arcs = [1, 3, 6, 1] + [
        rng.choice((rng.randint(0, 127), rng.randint(128, 20_000), rng.randint(0, 2**32 - 1)))
        for _ in range(rng.randint(1, 12))
    ]
    return ".".join(map(str, arcs))


def _random_value(rng: random.Random) -> tuple[int | bytes | None, Var]:
    kind = rng.randrange(4)
    if kind == 0:
        return None, Var(NULL)
    if kind == 1:
        value = rng.choice((rng.randint(0, 255), rng.randint(0, 2**64 - 1)))
        return value, Var(COUNTER64, value)
    if kind == 2:
        value = rng.randint(-(2**31), 2**31 - 1)
        return value, Var(INTEGER, value)
    raw = bytes(rng.randrange(256) for _ in range(rng.choice((0, 5, 127, 128, 300))))
    return raw, Var(OCTETS, raw)


def test_each_varbind_is_as_long_as_its_ber_encoding() -> None:
    rng = random.Random(16)
    for _ in range(5_000):
        text = _random_oid(rng)
        decoded, var = _random_value(rng)
        ber = _tlv(SEQUENCE, _tlv(0x06, _encode_oid(oid(text))) + encode_value(var))
        assert varbind_size(text, decoded) == len(ber), (text, var)
        # the same column again: the cached prefix gives the same answer
        assert varbind_size(text, decoded) == len(ber)


def test_a_getbulk_response_datagram_is_as_long_as_its_encoding() -> None:
    rng = random.Random(7)
    varbinds = []
    decoded = []
    for column in (2, 10, 16):
        for index in (1, 2, 127, 128, 300, 70_000):
            text = f"1.3.6.1.2.1.2.2.1.{column}.{index}"
            value, var = _random_value(rng)
            varbinds.append((oid(text), var))
            decoded.append((text, value))
    message = Message(b"public", RESPONSE, 0x12345678, 0, 0, tuple(varbinds))
    framing = Framing("2c", "public", "", "192.0.2.1")
    assert framing.response(decoded) == len(encode(message)) + IP_UDP
    request = Message(b"public", GETBULK, 0x12345678, 0, 50, ((oid("1.3.6.1.2.1.2.2"), Var(NULL)),))
    assert framing.request(["1.3.6.1.2.1.2.2"], 50) == len(encode(request)) + IP_UDP
