"""Bytes of SNMP messages, estimated from their PDUs (gufo-snmp does not expose them).

gufo-snmp encodes and decodes in Rust and hands back only the decoded
values, so the size of each datagram is computed here with the BER rules
from what was asked and what came back. For SNMPv1/v2c this is exact up to
the length of the request-id (taken as 4 content bytes, what gufo sends) and
the type of each value (a decoded ``str`` is taken as an OID, or an
IpAddress when it has four arcs). A GETBULK response also carries the
varbinds past the end of the walked column, which gufo drops: they are
counted as the average varbind of the same response. SNMPv3 adds a fixed
estimate of its header, security parameters and encryption framing.
Each datagram also counts its IP and UDP headers (28 bytes over IPv4, 48
over IPv6); link-layer framing is not counted. The benchmark
(bench/snmp_bytes.py) checks these figures against interface counters.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.snmp.plan import Value

#: gufo-snmp's request-id: a 4-byte INTEGER content
REQUEST_ID = 4
#: IPv4 + UDP headers; IPv6 + UDP is 48
IP_UDP = 28
IP6_UDP = 48
#: SNMPv3 message beyond a v2c one, without the user name: header data (msgID, maxSize,
#: flags, model), USM parameters (engine id, boots, time, 12-byte auth and 8-byte priv
#: parameters), scoped PDU (context engine id and name) and the encrypted octet string
V3_EXTRA = 100


def _len_len(length: int) -> int:
    if length < 0x80:
        return 1
    return 1 + (length.bit_length() + 7) // 8


def tlv(content: int) -> int:
    """Bytes of a BER tag-length-value with ``content`` bytes of content."""
    return 1 + _len_len(content) + content


def int_content(value: int) -> int:
    """Content bytes of a two's complement INTEGER (unsigned types get a leading 0)."""
    if value >= 0:
        return value.bit_length() // 8 + 1
    return (~value).bit_length() // 8 + 1


def _oid_content(oid: str) -> int:
    arcs = [int(a) for a in oid.split(".") if a]
    if len(arcs) < 2:
        return 1
    size = _arc(40 * arcs[0] + arcs[1])
    for arc in arcs[2:]:
        size += _arc(arc)
    return size


#: content bytes of OID prefixes (all arcs but the last): a table's column OIDs, so a
#: few thousand; emptied when it grows past _PREFIXES_MAX (a walk of odd indexes)
_PREFIXES: dict[str, int] = {}
_PREFIXES_MAX = 50_000


def oid_content(oid: str) -> int:
    """Content bytes of an OID. Hot (every varbind of every poll): the prefix's size is
    looked up, only the last arc is counted (an arc of one or two digits is one byte)."""
    prefix, _, last = oid.rpartition(".")
    size = _PREFIXES.get(prefix)
    if size is None:
        if sum(1 for arc in prefix.split(".") if arc) < 2:  # the first two share a byte
            return _oid_content(oid)
        if len(_PREFIXES) >= _PREFIXES_MAX:
            _PREFIXES.clear()
        size = _PREFIXES[prefix] = _oid_content(prefix)
    return size + (1 if len(last) < 3 else _arc(int(last)))


def _arc(arc: int) -> int:
    return max(1, (arc.bit_length() + 6) // 7)


def value_size(value: Value) -> int:
    """Bytes of one encoded value, by its decoded Python type."""
    if value is None:
        return 2  # NULL, noSuchObject, endOfMibView
    kind = type(value)
    if kind is int:  # inline: at most 9 content bytes, so a one-byte length
        assert isinstance(value, int)
        return 3 + (value if value >= 0 else ~value).bit_length() // 8
    if kind is bytes:
        assert isinstance(value, bytes)
        size = len(value)
        return 2 + size if size < 0x80 else tlv(size)
    if isinstance(value, bytes):
        return tlv(len(value))
    if isinstance(value, float):
        return tlv(9)  # Opaque float
    if isinstance(value, str):
        arcs = value.split(".")
        if len(arcs) == 4 and all(a.isdigit() and int(a) < 256 for a in arcs):
            return tlv(4)  # IpAddress
        return tlv(oid_content(value))
    return tlv(len(str(value)))


def varbind_size(oid: str, value: Value) -> int:
    content = oid_content(oid)
    inner = (2 + content if content < 0x80 else tlv(content)) + value_size(value)
    return 2 + inner if inner < 0x80 else tlv(inner)


class Framing:
    """Sizes of whole datagrams for one device's version, credentials and address."""

    __slots__ = ("extra", "ip", "version")

    def __init__(self, version: str, community: str, user: str, address: str) -> None:
        self.version = 0 if version == "1" else 1 if version == "2c" else 3
        self.ip = IP6_UDP if ":" in address else IP_UDP
        if self.version == 3:
            self.extra = V3_EXTRA + len(user.encode())
        else:
            self.extra = tlv(len(community.encode()))

    def datagram(self, varbinds: int, last_field: int = 0) -> int:
        """A message around a PDU whose varbind list has ``varbinds`` content bytes.

        ``last_field``: the value of the PDU's third integer (error-index, or
        max-repetitions of a GETBULK).
        """
        pdu = tlv(REQUEST_ID) + tlv(1) + tlv(int_content(last_field)) + tlv(varbinds)
        message = tlv(1) + self.extra + tlv(pdu)
        return self.ip + tlv(message)

    def request(self, oids: Iterable[str], max_repetitions: int = 0) -> int:
        """A GET, GETNEXT or GETBULK request for these OIDs."""
        return self.datagram(sum(varbind_size(o, None) for o in oids), max_repetitions)

    def response(self, varbinds: Iterable[tuple[str, Value]], dropped: int = 0) -> int:
        """A response carrying these varbinds, plus ``dropped`` that gufo did not return."""
        sizes = [varbind_size(o, v) for o, v in varbinds]
        body = sum(sizes)
        if dropped and sizes:
            body += dropped * (body // len(sizes))
        return self.datagram(body)
