"""Read what a device served: an snmpsim ``.snmprec`` recording or ``snmpwalk -On`` output.

Values come out as gufo-snmp hands them to the walker (integers, octets as bytes, OIDs
and IP addresses as dotted text), so the engine sees a recording exactly as a poll.
"""

from __future__ import annotations

import re
from pathlib import Path

from collectors.snmp.plan import Value

#: snmprec tags of the integer types: Integer32, Counter32, Gauge32, TimeTicks, Counter64
_INTEGER_TAGS = frozenset({"2", "65", "66", "67", "70"})
_OID = re.compile(r"^\.?\d+(\.\d+)+$")
#: ``.1.3.6.1.2.1.1.5.0 = STRING: "name"``; the type is absent for an empty string
_WALK_LINE = re.compile(r"^(\.?\d+(?:\.\d+)+) = (?:([A-Za-z0-9-]+): ?)?(.*)$")
_WALK_INTEGERS = frozenset({"INTEGER", "Counter32", "Gauge32", "Counter64", "Unsigned32"})
#: what snmpwalk prints instead of a value past the end of a view
_NO_VALUE = ("No Such Object", "No Such Instance", "No more variables")


class RecordingError(ValueError):
    """A line that is neither snmprec nor snmpwalk output; names file:line."""


def read_values(path: Path) -> dict[str, Value]:
    """OID (no leading dot) -> value, from a ``.snmprec`` file or ``snmpwalk -On`` output."""
    text = path.read_text(encoding="utf-8", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "|" in first and " = " not in first:
        return _snmprec(text, str(path))
    return _walk(text, str(path))


def _snmprec(text: str, where: str) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("|", 2)
        if len(parts) != 3 or not _OID.match(parts[0]):
            msg = f"{where}:{number}:1: not OID|TYPE|VALUE: {line[:80]!r}"
            raise RecordingError(msg)
        oid, tag, raw = parts[0].lstrip("."), parts[1], parts[2]
        if tag in _INTEGER_TAGS:
            try:
                out[oid] = int(raw)
            except ValueError:
                msg = f"{where}:{number}:{len(oid) + len(tag) + 3}: not an integer: {raw!r}"
                raise RecordingError(msg) from None
        elif tag == "4x":
            try:
                out[oid] = bytes.fromhex(raw)
            except ValueError:
                msg = f"{where}:{number}:{len(oid) + len(tag) + 3}: not hex: {raw!r}"
                raise RecordingError(msg) from None
        elif tag in ("6", "64"):
            out[oid] = raw.lstrip(".")
        elif tag == "64x":  # IpAddress as hex (snmpsim): 0afa000a is 10.250.0.10
            try:
                octets = bytes.fromhex(raw)
            except ValueError:
                octets = b""
            if len(octets) != 4:
                msg = f"{where}:{number}:{len(oid) + len(tag) + 3}: not 4 hex octets: {raw!r}"
                raise RecordingError(msg)
            out[oid] = ".".join(str(b) for b in octets)
        elif tag == "5":  # NULL: the agent has no value, as an SNMP client hands it over
            out[oid] = None
        else:
            out[oid] = raw.encode()
    return out


def _walk(text: str, where: str) -> dict[str, Value]:
    out: dict[str, Value] = {}
    #: the OID of a quoted string still open: its value goes on over the next lines
    open_oid: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if open_oid is not None:
            previous = out[open_oid]
            if isinstance(previous, bytes):
                out[open_oid] = previous + b"\n" + line.removesuffix('"').encode()
            if line.endswith('"'):
                open_oid = None
            continue
        match = _WALK_LINE.match(line)
        if match is None:
            if not line.strip():
                continue
            msg = f"{where}:{number}:1: not `OID = TYPE: VALUE` (snmpwalk -On): {line[:80]!r}"
            raise RecordingError(msg)
        oid, kind, raw = match.group(1).lstrip("."), match.group(2) or "STRING", match.group(3)
        if raw.startswith(_NO_VALUE):
            continue
        out[oid] = _walk_value(kind, raw)
        if kind == "STRING" and raw.startswith('"') and (len(raw) == 1 or not raw.endswith('"')):
            open_oid = oid
    return out


def _walk_value(kind: str, raw: str) -> Value:
    if kind in _WALK_INTEGERS:
        # INTEGER: up(1) with the MIB loaded; Gauge32: 1000 Mbit/s with DISPLAY-HINTs
        enum = re.search(r"\((-?\d+)\)\s*$", raw)
        number = enum.group(1) if enum else raw.split()[0] if raw.split() else "0"
        try:
            return int(number)
        except ValueError:
            return raw.encode()
    if kind == "Timeticks":
        ticks = re.match(r"\((\d+)\)", raw)
        return int(ticks.group(1)) if ticks else 0
    if kind == "Hex-STRING":
        return bytes.fromhex(raw.replace(" ", ""))
    if kind in ("OID", "IpAddress"):
        return raw.strip().lstrip(".")
    if raw.startswith('"'):
        raw = raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
    return raw.encode()
