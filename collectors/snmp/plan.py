"""Profiles compiled for the hot path: label references and metric conversions.

A profile is read once; a poll maps hundreds of rows through it. Parsing a
reference like ``"ifName|ifDescr"`` or checking a column's type per row and
per metric costs more than the SNMP walk itself (docs/benchmarks.md), so it
is all decided here, once per device.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from collectors.snmp.profile import MetricSpec
from netmon.api import Labels, clean_label_value

Value = None | str | bytes | int | float

_COLUMN, _INDEX, _INDEX_PART, _IFNAME = range(4)


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


def to_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | str):
        return clean_label_value(value)
    return str(value)


class LabelRef:
    """A compiled label reference.

    ``"colA|colB"`` (first non-empty column), ``"@index"`` (the whole instance
    index), ``"@index.NAME"`` (one part of it), ``"@ifname(index[.NAME])"``
    (the interface name of that ifIndex, from this poll's interfaces table).
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
            else:
                parts.append((_COLUMN, part))
        self.parts = tuple(parts)

    def resolve(
        self,
        row: Mapping[str, Value],
        index: str,
        idx: Mapping[str, str],
        ifnames: Mapping[str, str],
    ) -> str:
        for kind, arg in self.parts:
            if kind == _COLUMN:
                text = to_text(row.get(arg))
            elif kind == _INDEX:
                text = index
            elif kind == _INDEX_PART:
                text = idx.get(arg, "")
            else:
                ifindex = idx.get(arg, "") if arg else index
                text = ifnames.get(ifindex, f"ifindex-{ifindex}" if ifindex else "")
            if text:
                return text
        return ""


class MetricPlan:
    """One metric of a profile, ready to convert raw values."""

    __slots__ = (
        "aggregate",
        "fixed",
        "info",
        "map",
        "map_default",
        "name",
        "sentinels",
        "sources",
        "uptime",
    )

    def __init__(self, spec: MetricSpec, counter32: frozenset[str] = frozenset()) -> None:
        self.name = spec.name
        self.fixed: Labels = tuple(spec.labels.items())
        #: (column, scale, times column or "", column is a Counter32 to extend)
        self.sources: tuple[tuple[str, float, str, bool], ...] = tuple(
            (s.column, s.scale, s.times or "", s.column in counter32) for s in spec.value
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

    def convert(
        self, raw: Value, scale: float, times: str, row: Mapping[str, Value], dropped: Counter[str]
    ) -> float | None:
        number = float(raw) if type(raw) is int else to_number(raw)
        if number is None:
            dropped["decode"] += 1
            return None
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
        if scale == 1.0:
            return number
        # 12 significant digits: -4879 * 0.001 is -4.879, not -4.8790000000000004
        return float(f"{number * scale:.12g}")

    def value(self, row: Mapping[str, Value], dropped: Counter[str]) -> float | None:
        """The first present source, converted (no Counter32 extension)."""
        for column, scale, times, _ in self.sources:
            raw = row.get(column)
            if raw is not None:
                return self.convert(raw, scale, times, row, dropped)
        return None
