"""OCTET STRING values as label text: DisplayString text, NUL padding, binary as hex.

The padded names are a real agent's: a Delta UPS network card (LibreNMS
tests/snmpsim/deltaups.snmprec, 00a6ceb9) answers ifDescr (IF-MIB: DisplayString, "textual
information taken from the NVT ASCII character set", RFC 2579) as the name in a 16-byte
buffer filled with NULs, and has no ifXTable (so no ifName to fall back on).
"""

from __future__ import annotations

import pytest

from collectors.snmp.engine import DeviceState, Engine
from collectors.snmp.plan import Value, to_text
from collectors.snmp.profile import builtin_profiles
from tests.helpers import raw_poll

#: ifDescr lines of deltaups.snmprec, as recorded (tag 4x: hex)
DELTA_IFDESCR = {
    "1": "6C6F0000000000000000000000000000",
    "2": "65746830000000000000000000000000",
    "3": "74756E6C300000000000000000000000",
}


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (bytes.fromhex(DELTA_IFDESCR["1"]), "lo"),
        (bytes.fromhex(DELTA_IFDESCR["2"]), "eth0"),
        (bytes.fromhex(DELTA_IFDESCR["3"]), "tunl0"),
        (b"\x00" * 16, ""),  # an empty name in its buffer
        (b"ether1", "ether1"),
        # binary values stay hex, NULs included: a MAC ending in 00, an all-zero chassis id
        (bytes.fromhex("001122334400"), "00:11:22:33:44:00"),
        (bytes.fromhex("0c4de9a1b2c3"), "0c:4d:e9:a1:b2:c3"),
        (b"\x00\x00\x00\x00\x00\x01", "00:00:00:00:00:01"),
        (b"a\x01b\x02c\x03", "61:01:62:02:63:03"),  # half control bytes: not text
        (b"uplink\x07PLN", "uplink PLN"),  # one stray control character: text, cleaned
    ],
)
def test_octet_string_as_label_text(raw: bytes, text: str) -> None:
    assert to_text(raw) == text


def test_nul_padded_ifdescr_names_the_interfaces() -> None:
    profiles = [builtin_profiles()[p] for p in ("system", "if_mib")]
    wire: dict[str, Value] = {}
    for index, hexed in DELTA_IFDESCR.items():
        wire[f"1.3.6.1.2.1.2.2.1.2.{index}"] = bytes.fromhex(hexed)
        wire[f"1.3.6.1.2.1.2.2.1.8.{index}"] = 1  # ifOperStatus up
    result = Engine(profiles, 60.0, 4096).map(
        raw_poll(wire, profiles), DeviceState(), (("site", "s"), ("device", "d"))
    )
    info = [dict(s.labels) for p in result.parts for s in p.samples]
    names = {d["ifname"] for d in info if "ifname" in d}
    assert names == {"lo", "eth0", "tunl0"}
