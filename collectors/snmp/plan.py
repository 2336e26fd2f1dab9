"""Profiles compiled for the hot path: label references and metric conversions.

A profile is read once; a poll maps hundreds of rows through it. Parsing a
reference like ``"ifName|ifDescr"`` or checking a column's type per row and
per metric costs more than the SNMP walk itself (docs/benchmarks.md), so it
is all decided here, once per device.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple

from collectors.snmp import refs
from collectors.snmp.profile import MetricSpec, Where
from netmon.api import Labels, clean_label_value, plausible

Value = None | str | bytes | int | float

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
    NULs after the text are a C buffer's padding, not part of it: "eth0" padded to 16
    bytes (a Delta UPS card's ifDescr) is "eth0", not 65:74:68:30:00:...; all NULs is "".
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex(":")
        body = value.rstrip(b"\x00")
        control = len(body) - len(body.translate(None, _CONTROL_BYTES))
        if control and control * 3 >= len(body):
            return value.hex(":")
        value = body
    if isinstance(value, bytes | str):
        return clean_label_value(value)
    return str(value)


class LabelRef:
    """A compiled label reference (syntax: :mod:`collectors.snmp.refs`).

    ``"colA|colB"`` (first non-empty column), ``"@index"`` (the whole instance
    index), ``"@index.NAME"`` (one part of it), ``"@ifname(KEY)"`` (the interface
    name of that ifIndex, from this poll's interfaces table; a key column holding an OID,
    like entAliasMappingIdentifier's ifIndex.N, gives its last arc),
    ``"@lookup(TABLE.LABEL, KEY)"`` (label LABEL of the row of TABLE, a table declared
    before this one, whose key is KEY: LLDP's lldpRemLocalPortNum -> lldpLocPortTable's
    port name), ``"@match(COLUMN, REGEX)"`` (the first group of REGEX in the column's
    text, or the whole match; nothing when it does not match). KEY is ``index``,
    ``index.NAME`` or a column.
    """

    __slots__ = ("parts",)

    def __init__(self, ref: str) -> None:
        self.parts = tuple(
            (
                p.kind,
                p.arg,
                p.key or refs.Key("index", ""),
                re.compile(p.arg) if p.kind == "match" else None,
            )
            for p in refs.parse(ref)
        )

    def resolve(
        self,
        row: Mapping[str, Value],
        index: str,
        idx: Mapping[str, str],
        ifnames: Mapping[str, str],
        looked_up: Mapping[str, Mapping[str, Labels]] | None = None,
    ) -> str:
        for kind, arg, key, pattern in self.parts:
            if kind == "column":
                text = to_text(row.get(arg))
            elif kind == "index":
                text = index
            elif kind == "index_part":
                text = idx.get(arg, "")
            elif pattern is not None:  # @match
                found = pattern.search(to_text(row.get(key.name)))
                text = (found.group(1) if pattern.groups else found.group(0)) if found else ""
            elif kind == "ifname":
                ifindex = _key(key, row, index, idx)
                if key.kind == "column":  # an OID value (ifIndex.N): its last arc
                    ifindex = ifindex.rpartition(".")[2]
                text = ifnames.get(ifindex, f"ifindex-{ifindex}" if ifindex else "")
            else:
                table, _, label = arg.rpartition(".")
                row_labels = (looked_up or {}).get(table, {}).get(_key(key, row, index, idx), ())
                text = dict(row_labels).get(label, "")
            if text:
                return text
        return ""


def _key(key: refs.Key, row: Mapping[str, Value], index: str, idx: Mapping[str, str]) -> str:
    if key.kind == "index":
        return index
    if key.kind == "part":
        return idx.get(key.name, "")
    return to_text(row.get(key.name))


Cond = tuple[str, frozenset[float] | None, re.Pattern[str] | None, bool]


def conditions(where: list[Where]) -> tuple[Cond, ...]:
    """(column, numbers, pattern, absent_ok) of each condition."""
    return tuple(
        (
            w.column,
            frozenset(w.in_) if w.in_ is not None else None,
            re.compile(w.matches) if w.matches is not None else None,
            w.absent_ok,
        )
        for w in where
    )


def holds(conds: tuple[Cond, ...], row: Mapping[str, Value]) -> bool:
    """Every condition holds for the row (or scalars)."""
    for column, numbers, pattern, absent_ok in conds:
        value = row.get(column)
        if value is None:
            if absent_ok:
                continue
            return False
        if numbers is not None:
            if to_number(value) not in numbers:
                return False
        elif pattern is not None and pattern.search(to_text(value)) is None:
            return False
    return True


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
    #: (column, times, plus): multiply by 10^(times x column + plus)
    exp10: tuple[tuple[str, int, int], ...] = ()
    #: the scaled value is in watts: export dBm
    dbm: bool = False
    #: use only on rows where these hold
    where: tuple[Cond, ...] = ()


def applies(src: Src, facts: Mapping[str, str]) -> bool:
    return src.when is None or src.when[1].search(facts.get(src.when[0], "")) is not None


def usable(src: Src, row: Mapping[str, Value], facts: Mapping[str, str]) -> bool:
    """The source has a value in the row, and its device and row conditions hold."""
    return (
        row.get(src.column) is not None
        and (src.when is None or applies(src, facts))
        and (not src.where or holds(src.where, row))
    )


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
        "where",
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
                tuple((e.column, e.times, e.plus) for e in s.exp10),
                s.to_dbm,
                conditions(s.where),
            )
            for s in spec.value
        )
        self.where = conditions(spec.where)
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
        #: no counter rules, no conditions, no per-row powers: the hot path converts directly
        self.plain = all(
            s.when is None
            and not s.where
            and not s.exp10
            and not s.dbm
            and s.kind not in ("counter32", "counter64")
            for s in self.sources
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

    def accepts(self, row: Mapping[str, Value]) -> bool:
        """The metric's row conditions hold (no conditions: every row)."""
        return not self.where or holds(self.where, row)

    def convert(
        self,
        raw: Value,
        scale: float,
        times: str,
        row: Mapping[str, Value],
        dropped: Counter[str],
        *,
        signed: bool = False,
        src: Src | None = None,
    ) -> float | None:
        """``src``: its per-row powers of ten and watts -> dBm apply too."""
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
        if src is not None and (src.exp10 or src.dbm):
            powered = _powers(number * scale, src, row, dropped)
            if powered is None:
                return None
            number, scale = powered, 1.0
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
            if usable(src, row, facts or {}):
                raw = row[src.column]
                signed = src.kind == "integer32"
                return self.convert(raw, src.scale, src.times, row, dropped, signed=signed, src=src)
        return None


def _powers(
    number: float, src: Src, row: Mapping[str, Value], dropped: Counter[str]
) -> float | None:
    """x 10^(times x column + plus) for each power column, then watts -> dBm if asked."""
    exponent = 0
    for column, times, plus in src.exp10:
        power = to_number(row.get(column))
        if power is None or not power.is_integer():
            dropped["decode"] += 1
            return None
        exponent += times * int(power) + plus
    # dividing by an exact power of ten rounds once: 6322 / 10^7 is 0.0006322
    number = number * 10**exponent if exponent >= 0 else number / 10 ** (-exponent)
    if src.dbm:
        if number <= 0:  # no light is -inf dBm, not a reading
            dropped["implausible"] += 1
            return None
        return 10 * math.log10(number) + 30  # dBm = 10 log10(W / 1 mW)
    return float(f"{number:.12g}")
