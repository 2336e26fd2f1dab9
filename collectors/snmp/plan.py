"""Profiles compiled for the hot path: label references and metric conversions.

A profile is read once; a poll maps hundreds of rows through it. Parsing a
reference like ``"ifName|ifDescr"`` or checking a column's type per row and
per metric costs more than the SNMP walk itself (docs/benchmarks.md), so it
is all decided here, once per device.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple

from collectors.snmp.profile import MetricSpec
from netmon.api import Labels, clean_label_value, plausible

Value = None | str | bytes | int | float

_COLUMN, _INDEX, _INDEX_PART, _IFNAME, _LOOKUP = range(5)
SIGNED_TOP = 2.0**31
UNSIGNED_END = 2.0**32


def to_number(value: Value) -> float | None:
    """SNMP numbers arrive as int; some agents send numbers as text."""
    if type(value) is int or type(value) is float:
        return float(value)
    if isinstance(value, bytes):
        try:
            return float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    return None


#: bytes that text does not hold (tab, newline and carriage return aside)
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def to_text(value: Value) -> str:
    """Label text. An OCTET STRING that is not text (a MAC address, LLDP's chassis id) is
    shown as colon-separated hex: it is not UTF-8, or a third or more of it is control
    bytes (00:11:22:33:44:55). A text with a stray control character stays text (cleaned).
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex(":")
        control = len(value) - len(value.translate(None, _CONTROL_BYTES))
        if control and control * 3 >= len(value):
            return value.hex(":")
    if isinstance(value, bytes | str):
        return clean_label_value(value)
    return str(value)


class LabelRef:
    """A compiled label reference.

    ``"colA|colB"`` (first non-empty column), ``"@index"`` (the whole instance
    index), ``"@index.NAME"`` (one part of it), ``"@ifname(index[.NAME])"``
    (the interface name of that ifIndex, from this poll's interfaces table),
    ``"@lookup(TABLE.LABEL, index[.NAME])"`` (label LABEL of the row of TABLE, a table
    of the same profile declared before this one, whose index is that part of this one's:
    LLDP's lldpRemLocalPortNum -> lldpLocPortTable's port name).
    """

    __slots__ = ("parts",)

    def __init__(self, ref: str) -> None:
        parts: list[tuple[int, str]] = []
        for part in ref.split("|"):
            if part == "@index":
                parts.append((_INDEX, ""))
            elif part.startswith("@index."):
                parts.append((_INDEX_PART, part[7:]))
            elif part.startswith("@ifname(") and part.endswith(")"):
                inner = part[8:-1]
                parts.append((_IFNAME, "" if inner == "index" else inner.removeprefix("index.")))
            elif part.startswith("@lookup(") and part.endswith(")"):
                target, _, inner = part[8:-1].partition(",")
                inner = inner.strip()
                arg = "" if inner == "index" else inner.removeprefix("index.")
                parts.append((_LOOKUP, f"{target.strip()},{arg}"))
            else:
                parts.append((_COLUMN, part))
        self.parts = tuple(parts)

    def resolve(
        self,
        row: Mapping[str, Value],
        index: str,
        idx: Mapping[str, str],
        ifnames: Mapping[str, str],
        looked_up: Mapping[str, Mapping[str, Labels]] | None = None,
    ) -> str:
        for kind, arg in self.parts:
            if kind == _COLUMN:
                text = to_text(row.get(arg))
            elif kind == _INDEX:
                text = index
            elif kind == _INDEX_PART:
                text = idx.get(arg, "")
            elif kind == _IFNAME:
                ifindex = idx.get(arg, "") if arg else index
                text = ifnames.get(ifindex, f"ifindex-{ifindex}" if ifindex else "")
            else:
                target, _, part_name = arg.partition(",")
                table, _, label = target.rpartition(".")
                key = idx.get(part_name, "") if part_name else index
                row_labels = (looked_up or {}).get(table, {}).get(key, ())
                text = dict(row_labels).get(label, "")
            if text:
                return text
        return ""


class Src(NamedTuple):
    """One source of a metric, compiled."""

    column: str
    scale: float
    #: multiply by this column of the row ("" for none)
    times: str
    #: the column's declared type (counter32 and counter64 get counter rules)
    kind: str
    #: (fact, pattern): use only when the device's fact matches
    when: tuple[str, re.Pattern[str]] | None


def applies(src: Src, facts: Mapping[str, str]) -> bool:
    return src.when is None or src.when[1].search(facts.get(src.when[0], "")) is not None


class MetricPlan:
    """One metric of a profile, ready to convert raw values."""

    __slots__ = (
        "aggregate",
        "fixed",
        "info",
        "map",
        "map_default",
        "name",
        "plain",
        "plain_sources",
        "sentinels",
        "sources",
        "twins",
        "uptime",
    )

    def __init__(self, spec: MetricSpec, kinds: Mapping[str, str] | None = None) -> None:
        self.name = spec.name
        self.fixed: Labels = tuple(spec.labels.items())
        kinds = kinds or {}
        self.sources: tuple[Src, ...] = tuple(
            Src(
                s.column,
                s.scale,
                s.times or "",
                kinds.get(s.column, "gauge"),
                (s.when.fact, re.compile(s.when.matches)) if s.when is not None else None,
            )
            for s in spec.value
        )
        self.map: dict[float, float] | None = None
        self.map_default: float | None = None
        if spec.map is not None:
            self.map = {float(k): v for k, v in spec.map.items() if k != "default"}
            self.map_default = spec.map.get("default")
        self.sentinels = frozenset(spec.sentinels)
        self.info = (
            tuple((k, LabelRef(ref)) for k, ref in spec.info.items())
            if spec.info is not None
            else None
        )
        self.aggregate = spec.aggregate
        self.uptime = spec.uptime
        #: no counter rules and no device conditions: the hot path converts directly
        self.plain = all(
            s.when is None and s.kind not in ("counter32", "counter64") for s in self.sources
        )
        #: each source with the 32-bit column after it that can stand in for it (an HC twin)
        self.twins = tuple(
            (s, next((t for t in self.sources[i + 1 :] if t.kind == "counter32"), None))
            for i, s in enumerate(self.sources)
        )
        #: (column, scale, times, signed) of a plain plan's sources
        self.plain_sources = tuple(
            (s.column, s.scale, s.times, s.kind == "integer32") for s in self.sources
        )

    def convert(
        self,
        raw: Value,
        scale: float,
        times: str,
        row: Mapping[str, Value],
        dropped: Counter[str],
        *,
        signed: bool = False,
    ) -> float | None:
        number = float(raw) if type(raw) is int else to_number(raw)
        if number is None:
            dropped["decode"] += 1
            return None
        if signed and SIGNED_TOP <= number < UNSIGNED_END:
            number -= UNSIGNED_END  # two's complement sent as Gauge32
        if self.sentinels and number in self.sentinels:
            dropped["sentinel"] += 1
            return None
        if self.map is not None:
            mapped = self.map.get(number, self.map_default)
            if mapped is None:
                dropped["unmapped"] += 1
            return mapped
        if times:
            factor = to_number(row.get(times))
            if factor is None:
                dropped["decode"] += 1
                return None
            number *= factor
        if scale != 1.0:
            # 12 significant digits: -4879 * 0.001 is -4.879, not -4.8790000000000004
            number = float(f"{number * scale:.12g}")
        if not plausible(self.name, number):
            dropped["implausible"] += 1
            return None
        return number

    def value(
        self,
        row: Mapping[str, Value],
        dropped: Counter[str],
        facts: Mapping[str, str] | None = None,
    ) -> float | None:
        """The first present source that applies, converted (no Counter32 extension)."""
        for src in self.sources:
            raw = row.get(src.column)
            if raw is not None and (src.when is None or applies(src, facts or {})):
                return self.convert(
                    raw, src.scale, src.times, row, dropped, signed=src.kind == "integer32"
                )
        return None
