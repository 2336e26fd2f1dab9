"""A small, independent reader of snmpsim ``.snmprec`` recordings, for expected values.

Tests that compute what netmon must export read the recording with this
module, not with anything under ``collectors/``, so a bug in netmon's
decoding cannot hide in both the expectation and the result.

Format (snmpsim): one variable per line, ``OID|TYPE|VALUE``, sorted by OID.
TYPE is the ASN.1 tag: ``2`` Integer32, ``4`` OCTET STRING, ``4x`` OCTET
STRING in hex, ``6`` OBJECT IDENTIFIER, ``64`` IpAddress (``64x``: in hex), ``65``
Counter32, ``66`` Gauge32, ``67`` TimeTicks, ``70`` Counter64, ``5`` NULL (no value).
Anything else (snmpsim variation modules, other tags) is refused with the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: tag -> (name, lowest, highest) for the integer types (RFC 2578 ranges)
INTEGERS: dict[str, tuple[str, int, int]] = {
    "2": ("Integer32", -(2**31), 2**31 - 1),
    "65": ("Counter32", 0, 2**32 - 1),
    "66": ("Gauge32", 0, 2**32 - 1),
    "67": ("TimeTicks", 0, 2**32 - 1),
    "70": ("Counter64", 0, 2**64 - 1),
}
TAGS = frozenset({*INTEGERS, "4", "4x", "6", "64", "64x", "5"})
_OID = re.compile(r"^\d+(\.\d+)+$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")

#: what an SNMP client hands over for one variable: ints, octets, OIDs as dotted text
Wire = int | bytes | str | None


class RecordingError(ValueError):
    """A line of a recording that this reader does not accept."""


@dataclass(frozen=True, slots=True)
class Var:
    """One recorded variable: its tag and its decoded value."""

    oid: str
    tag: str
    value: Wire

    @property
    def number(self) -> int:
        if not isinstance(self.value, int):
            msg = f"{self.oid} is {self.tag}, not an integer type"
            raise TypeError(msg)
        return self.value

    @property
    def text(self) -> str:
        if isinstance(self.value, bytes):
            return self.value.decode("utf-8", errors="replace")
        return str(self.value)


def parse_line(line: str, where: str) -> Var:
    """One ``OID|TYPE|VALUE`` line; ``where`` names file:line in errors."""
    parts = line.split("|", 2)
    if len(parts) != 3:
        msg = f"{where}: not OID|TYPE|VALUE: {line!r}"
        raise RecordingError(msg)
    oid, tag, raw = parts
    if not _OID.match(oid):
        msg = f"{where}: not a numeric OID: {oid!r}"
        raise RecordingError(msg)
    if tag not in TAGS:
        msg = f"{where}: type {tag!r} is not one of {sorted(TAGS)}"
        raise RecordingError(msg)
    value: Wire
    if tag in INTEGERS:
        name, low, high = INTEGERS[tag]
        try:
            value = int(raw)
        except ValueError:
            msg = f"{where}: {name} value {raw!r} is not an integer"
            raise RecordingError(msg) from None
        if not low <= value <= high:
            msg = f"{where}: {name} value {value} outside {low}..{high}"
            raise RecordingError(msg)
    elif tag == "4x":
        try:
            value = bytes.fromhex(raw)
        except ValueError:
            msg = f"{where}: hex OCTET STRING {raw!r} is not hex"
            raise RecordingError(msg) from None
    elif tag == "4":
        value = raw.encode()
    elif tag == "6":
        if not _OID.match(raw):
            msg = f"{where}: OBJECT IDENTIFIER {raw!r} is not numeric"
            raise RecordingError(msg)
        value = raw
    elif tag == "5":
        value = None  # NULL: what a client gets for an object the agent has no value of
    elif tag == "64x":
        if not re.fullmatch(r"[0-9a-fA-F]{8}", raw):
            msg = f"{where}: hex IpAddress {raw!r} is not 4 octets"
            raise RecordingError(msg)
        value = ".".join(str(b) for b in bytes.fromhex(raw))
    else:
        if not _IPV4.match(raw):
            msg = f"{where}: IpAddress {raw!r} is not a dotted quad"
            raise RecordingError(msg)
        value = raw
    return Var(oid, tag, value)


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(a) for a in oid.split("."))


class Recording(Mapping[str, Var]):
    """A recording: OID -> Var, in file order, with lookups by MIB column."""

    def __init__(self, name: str, variables: dict[str, Var]) -> None:
        self.name = name
        self._vars = variables

    @classmethod
    def read(cls, path: Path) -> Recording:
        variables: dict[str, Var] = {}
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line:
                continue
            var = parse_line(line, f"{path}:{number}")
            if var.oid in variables:
                msg = f"{path}:{number}: {var.oid} recorded twice"
                raise RecordingError(msg)
            variables[var.oid] = var
        order = [_arcs(o) for o in variables]
        if order != sorted(order):
            msg = f"{path}: OIDs are not sorted (snmpsim walks would come out wrong)"
            raise RecordingError(msg)
        return cls(path.stem, variables)

    def __getitem__(self, oid: str) -> Var:
        return self._vars[oid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)

    def column(self, oid: str) -> dict[str, Var]:
        """Instance index -> variable, for every instance of a column (or subtree)."""
        prefix = oid + "."
        return {o[len(prefix) :]: v for o, v in self._vars.items() if o.startswith(prefix)}

    def numbers(self, oid: str) -> dict[str, int]:
        return {i: v.number for i, v in self.column(oid).items()}

    def texts(self, oid: str) -> dict[str, str]:
        return {i: v.text for i, v in self.column(oid).items()}

    def first_text(self, oid: str) -> str | None:
        """The first non-empty instance of a column (dot11 tables index it by ifIndex)."""
        return next((v.text for v in self.column(oid).values() if v.value), None)

    def wire(self) -> dict[str, Wire]:
        """OID -> value as an SNMP client returns it, to feed netmon's mapping."""
        return {o: v.value for o, v in self._vars.items()}

    def replaced(self, changes: Mapping[str, Var]) -> Recording:
        """A copy with some variables replaced or added (a later poll, a variant)."""
        merged = dict(self._vars)
        merged.update(changes)
        ordered = dict(sorted(merged.items(), key=lambda item: _arcs(item[0])))
        return Recording(self.name, ordered)
