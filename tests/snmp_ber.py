"""Just enough BER for SNMPv2c messages: what a test agent needs to read GET, GETNEXT and
GETBULK requests and write their responses (RFC 3416 PDUs, RFC 2578 application types).

Test code only. Independent of the client under test (gufo-snmp); tests/moving_agent.py
uses it to serve counters that move.
"""

from __future__ import annotations

from dataclasses import dataclass

Oid = tuple[int, ...]

INTEGER, OCTETS, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IPADDRESS, COUNTER32, GAUGE32, TIMETICKS, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5

_UNSIGNED = {COUNTER32: 2**32, GAUGE32: 2**32, TIMETICKS: 2**32, COUNTER64: 2**64}
_EMPTY = {NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW}


class BerError(ValueError):
    """The bytes are not an SNMPv2c message this codec understands."""


@dataclass(frozen=True, slots=True)
class Var:
    """A typed SNMP value: ``tag`` is the BER tag, ``value`` an int, bytes, Oid or None."""

    tag: int
    value: int | bytes | Oid | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """An SNMPv2c message. For GETBULK ``a``/``b`` are non-repeaters/max-repetitions,
    otherwise error-status/error-index."""

    community: bytes
    pdu: int
    request_id: int
    a: int
    b: int
    varbinds: tuple[tuple[Oid, Var], ...]


def oid(text: str) -> Oid:
    return tuple(int(arc) for arc in text.strip(".").split("."))


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _signed(value: int) -> bytes:
    size = (value + (value < 0)).bit_length() // 8 + 1
    return value.to_bytes(size, "big", signed=True)


def _encode_oid(value: Oid) -> bytes:
    if len(value) < 2:
        raise BerError(f"an OID needs two arcs: {value}")
    out = bytearray([40 * value[0] + value[1]])
    for arc in value[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_value(var: Var) -> bytes:
    v = var.value
    if var.tag in _EMPTY:
        return _tlv(var.tag, b"")
    if var.tag == INTEGER and isinstance(v, int):
        return _tlv(INTEGER, _signed(v))
    if var.tag in _UNSIGNED and isinstance(v, int):
        if not 0 <= v < _UNSIGNED[var.tag]:
            raise BerError(f"{v} is out of range for tag {var.tag:#x}")
        return _tlv(var.tag, v.to_bytes(v.bit_length() // 8 + 1, "big"))
    if var.tag in (OCTETS, IPADDRESS) and isinstance(v, bytes):
        return _tlv(var.tag, v)
    if var.tag == OID and isinstance(v, tuple):
        return _tlv(OID, _encode_oid(v))
    raise BerError(f"cannot encode {var}")


def encode(message: Message) -> bytes:
    varbinds = b"".join(
        _tlv(SEQUENCE, _tlv(OID, _encode_oid(o)) + encode_value(v)) for o, v in message.varbinds
    )
    pdu = _tlv(
        message.pdu,
        _tlv(INTEGER, _signed(message.request_id))
        + _tlv(INTEGER, _signed(message.a))
        + _tlv(INTEGER, _signed(message.b))
        + _tlv(SEQUENCE, varbinds),
    )
    return _tlv(SEQUENCE, _tlv(INTEGER, b"\x01") + _tlv(OCTETS, message.community) + pdu)


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, position after it) of the TLV at ``pos``."""
    if pos + 2 > len(data):
        raise BerError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        size = first & 0x7F
        if size == 0 or size > 4 or pos + size > len(data):
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    else:
        length = first
    if pos + length > len(data):
        raise BerError("truncated")
    return tag, data[pos : pos + length], pos + length


def _items(data: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, content, pos = _read(data, pos)
        out.append((tag, content))
    return out


def _decode_oid(raw: bytes) -> Oid:
    if not raw:
        raise BerError("empty OID")
    arcs = list(divmod(raw[0], 40)) if raw[0] < 80 else [2, raw[0] - 80]
    arc = 0
    for byte in raw[1:]:
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
    return tuple(arcs)


def decode_value(tag: int, raw: bytes) -> Var:
    if tag in _EMPTY:
        return Var(tag)
    if tag == INTEGER:
        return Var(tag, int.from_bytes(raw, "big", signed=True))
    if tag in _UNSIGNED:
        return Var(tag, int.from_bytes(raw, "big"))
    if tag in (OCTETS, IPADDRESS):
        return Var(tag, raw)
    if tag == OID:
        return Var(tag, _decode_oid(raw))
    raise BerError(f"unknown value tag {tag:#x}")


def decode(data: bytes) -> Message:
    """An SNMPv2c message; :class:`BerError` for anything else (v1, v3, garbage)."""
    tag, body, end = _read(data, 0)
    if tag != SEQUENCE or end != len(data):
        raise BerError("not one SEQUENCE")
    parts = _items(body)
    if len(parts) != 3 or parts[0] != (INTEGER, b"\x01") or parts[1][0] != OCTETS:
        raise BerError("not SNMPv2c")
    pdu_tag, pdu_body = parts[2]
    fields = _items(pdu_body)
    if len(fields) != 4 or any(t != INTEGER for t, _ in fields[:3]) or fields[3][0] != SEQUENCE:
        raise BerError("malformed PDU")
    varbinds: list[tuple[Oid, Var]] = []
    for vb_tag, vb in _items(fields[3][1]):
        pair = _items(vb)
        if vb_tag != SEQUENCE or len(pair) != 2 or pair[0][0] != OID:
            raise BerError("malformed varbind")
        varbinds.append((_decode_oid(pair[0][1]), decode_value(*pair[1])))
    request_id, a, b = (int.from_bytes(c, "big", signed=True) for _, c in fields[:3])
    return Message(parts[1][1], pdu_tag, request_id, a, b, tuple(varbinds))
