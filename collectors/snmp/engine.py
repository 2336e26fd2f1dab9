"""Turn raw SNMP values into samples, as the profiles say.

Pure: no network here. The walker hands over what it fetched (scalars by
OID, table varbinds by table), together with the per-device state that must
survive between polls (32-bit counter totals, last uptime). That makes the
mapping testable directly on the recordings, byte for byte.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from collectors.snmp.profile import MetricSpec, Profile, Source, TableSpec
from netmon.api import Labels, Part, Sample, clean_label_value

Value = None | str | bytes | int | float
Varbinds = list[tuple[str, Value]]

TICKS_WRAP = 2**32
COUNTER32_WRAP = 2**32


@dataclass(slots=True)
class DeviceState:
    """What one device's mapping remembers from poll to poll."""

    #: (table, index, column) -> (last raw value, running total since netmon started)
    counters: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)
    uptime_source: str = ""
    uptime_raw: float = -1.0
    reboots: int = 0


@dataclass(slots=True)
class RawPoll:
    scalars: dict[str, Value]
    tables: dict[str, Varbinds]  # key: "<profile>.<table>"
    failed_tables: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Mapped:
    parts: list[Part]
    dropped: Counter[str]
    reboot: bool = False


def to_number(value: Value) -> float | None:
    """SNMP numbers arrive as int; some agents send numbers as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
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


def _split_index(index: str, lengths: list[int | None]) -> list[str] | None:
    """Split an instance index into its parts (e.g. MAC + ifIndex); None if malformed."""
    arcs = index.split(".")
    out: list[str] = []
    pos = 0
    for length in lengths:
        end = len(arcs) if length is None else pos + length
        out.append(".".join(arcs[pos:end]))
        pos = end
    if pos != len(arcs) or not all(out):
        return None
    return out


class Engine:
    """Maps one device's raw poll through its profiles."""

    def __init__(self, profiles: list[Profile], interval: float, max_rows: int) -> None:
        self.profiles = profiles
        self.interval = interval
        self.max_rows = max_rows
        # interfaces tables first: other tables look up ifname by ifIndex
        self.tables: list[tuple[str, TableSpec]] = sorted(
            ((f"{p.name}.{t.name}", t) for p in profiles for t in p.tables),
            key=lambda kt: not kt[1].interfaces,
        )
        self.column_types: dict[str, dict[str, str]] = {
            key: {name: col.type for name, col in t.columns.items()} for key, t in self.tables
        }

    # -- scalars ---------------------------------------------------------------
    def map(self, raw: RawPoll, state: DeviceState, base: Labels) -> Mapped:
        dropped: Counter[str] = Counter()
        parts: list[Part] = []
        reboot = False
        info: dict[str, str] = {}
        for profile in self.profiles:
            values = {name: raw.scalars.get(spec.oid) for name, spec in profile.scalars.items()}
            samples: list[Sample] = []
            for metric in profile.metrics:
                got = self._value(metric, values, dropped)
                if got is None:
                    continue
                if metric.uptime:
                    src = next(s.column for s in metric.value if values.get(s.column) is not None)
                    raw_value = to_number(values[src]) or 0.0
                    reboot = self._reboot(state, src, raw_value, profile, reboot)
                    samples.append(
                        Sample("netmon_device_reboots_total", base, float(state.reboots))
                    )
                samples.append(Sample(metric.name, base + tuple(metric.labels.items()), got))
            for key, spec in profile.device_info.items():
                text = spec.literal or ""
                if spec.scalar is not None:
                    text = to_text(values.get(spec.scalar))
                    if spec.enterprise is not None:
                        text = _enterprise(text, spec.enterprise)
                if text:
                    info[key] = text
            parts.append(Part(f"{profile.name}.scalars", samples))
        labels = (
            ("firmware", info.get("firmware", "")),
            ("model", info.get("model", "")),
            ("profiles", ",".join(p.name for p in self.profiles)),
            ("sys_name", info.get("sys_name", "")),
            ("sys_object_id", info.get("sys_object_id", "")),
            ("vendor", info.get("vendor", "")),
        )
        parts.append(Part("device_info", [Sample("netmon_device_info", base + labels, 1.0)]))
        ifnames: dict[str, str] = {}
        for key, table in self.tables:
            if key in raw.failed_tables:
                parts.append(Part(key, [], ok=False, error=raw.failed_tables[key]))
                continue
            samples = self._table(
                key, table, raw.tables.get(key, []), state, base, ifnames, dropped, reboot
            )
            parts.append(Part(key, samples))
        return Mapped(parts, dropped, reboot)

    def _reboot(
        self, state: DeviceState, src: str, raw_value: float, profile: Profile, already: bool
    ) -> bool:
        """Uptime going backwards is a reboot, unless TimeTicks just wrapped."""
        reboot = already
        if state.uptime_source == src and raw_value < state.uptime_raw:
            ticks = profile.scalars[src].type == "timeticks"
            margin = 3 * self.interval * 100
            wrapped = ticks and state.uptime_raw > TICKS_WRAP - margin and raw_value < margin
            if not wrapped:
                state.reboots += 1
                reboot = True
        state.uptime_source = src
        state.uptime_raw = raw_value
        return reboot

    def _value(
        self, metric: MetricSpec, values: dict[str, Value], dropped: Counter[str]
    ) -> float | None:
        for src in metric.value:
            raw = values.get(src.column)
            if raw is None:
                continue
            return self._convert(metric, src, raw, values, dropped)
        return None

    def _convert(
        self,
        metric: MetricSpec,
        src: Source,
        raw: Value,
        row: dict[str, Value],
        dropped: Counter[str],
    ) -> float | None:
        number = to_number(raw)
        if number is None:
            dropped["decode"] += 1
            return None
        if number in metric.sentinels:
            dropped["sentinel"] += 1
            return None
        if metric.map is not None:
            key = str(int(number)) if number.is_integer() else str(number)
            mapped = metric.map.get(key, metric.map.get("default"))
            if mapped is None:
                dropped["unmapped"] += 1
            return mapped
        if src.times is not None:
            factor = to_number(row.get(src.times))
            if factor is None:
                dropped["decode"] += 1
                return None
            number *= factor
        if src.scale == 1.0:
            return number
        # 12 significant digits: -4879 * 0.001 is -4.879, not -4.8790000000000004
        return float(f"{number * src.scale:.12g}")

    # -- tables ----------------------------------------------------------------
    def _rows(self, table: TableSpec, varbinds: Varbinds) -> dict[str, dict[str, Value]]:
        columns: dict[str, dict[str, str]] = {}
        for name, col in table.columns.items():
            root, _, last = col.oid.rpartition(".")
            columns.setdefault(root, {})[last] = name
        rows: dict[str, dict[str, Value]] = {}
        roots = sorted(columns, key=len, reverse=True)
        for oid, value in varbinds:
            for root in roots:
                if oid.startswith(root) and oid[len(root) : len(root) + 1] == ".":
                    colnum, _, index = oid[len(root) + 1 :].partition(".")
                    column = columns[root].get(colnum)
                    if column is not None and index:
                        rows.setdefault(index, {})[column] = value
                    break
        return rows

    def _table(
        self,
        key: str,
        table: TableSpec,
        varbinds: Varbinds,
        state: DeviceState,
        base: Labels,
        ifnames: dict[str, str],
        dropped: Counter[str],
        reboot: bool,
    ) -> list[Sample]:
        rows = self._rows(table, varbinds)
        if len(rows) > self.max_rows:
            dropped["label_cap"] += len(rows) - self.max_rows
            rows = dict(list(rows.items())[: self.max_rows])
        lengths = [p.length for p in table.index]
        names = [p.name for p in table.index]
        row_labels: dict[str, Labels] = {}
        for index, row in rows.items():
            parts = _split_index(index, lengths)
            if parts is None:
                dropped["bad_index"] += 1
                continue
            idx = dict(zip(names, parts, strict=True))
            row_labels[index] = tuple(
                (label, _resolve(ref, row, index, idx, ifnames))
                for label, ref in table.labels.items()
            )
        if table.unique_label is not None:
            _make_unique(row_labels, table.unique_label)
        if table.interfaces:
            for index, labels in row_labels.items():
                ifnames[index] = dict(labels).get("ifname", f"ifindex-{index}")
        samples: list[Sample] = []
        groups: dict[Labels, list[str]] = {}
        for index, labels in row_labels.items():
            groups.setdefault(labels, []).append(index)
        for metric in table.metrics:
            if metric.aggregate is not None:
                samples.extend(self._aggregate(metric, table, rows, groups, base, dropped))
                continue
            fixed = tuple(metric.labels.items())
            for index, labels in row_labels.items():
                row = rows[index]
                if metric.info is not None:
                    info = tuple(
                        (k, _resolve(ref, row, index, {}, ifnames))
                        for k, ref in metric.info.items()
                    )
                    samples.append(Sample(metric.name, base + labels + info + fixed, 1.0))
                    continue
                value = self._row_value(key, metric, row, index, state, dropped, reboot)
                if value is not None:
                    samples.append(Sample(metric.name, base + labels + fixed, value))
        return samples

    def _row_value(
        self,
        key: str,
        metric: MetricSpec,
        row: dict[str, Value],
        index: str,
        state: DeviceState,
        dropped: Counter[str],
        reboot: bool,
    ) -> float | None:
        for src in metric.value:
            raw = row.get(src.column)
            if raw is None:
                continue
            if self.column_types[key].get(src.column) == "counter32" and isinstance(raw, int):
                return float(_extend32(state, (key, index, src.column), raw, reboot))
            return self._convert(metric, src, raw, row, dropped)
        return None

    def _aggregate(
        self,
        metric: MetricSpec,
        table: TableSpec,
        rows: dict[str, dict[str, Value]],
        groups: dict[Labels, list[str]],
        base: Labels,
        dropped: Counter[str],
    ) -> Iterable[Sample]:
        fixed = tuple(metric.labels.items())
        if metric.aggregate == "count" and not table.labels and not groups:
            yield Sample(metric.name, base + fixed, 0.0)
            return
        for labels, indexes in groups.items():
            if metric.aggregate == "count":
                yield Sample(metric.name, base + labels + fixed, float(len(indexes)))
                continue
            values = [
                v for i in indexes if (v := self._value(metric, rows[i], dropped)) is not None
            ]
            if not values:
                continue
            op = metric.aggregate
            result = (
                min(values)
                if op == "min"
                else max(values)
                if op == "max"
                else sum(values)
                if op == "sum"
                else statistics.median(values)
            )
            yield Sample(metric.name, base + labels + fixed, float(result))


def _extend32(state: DeviceState, key: tuple[str, str, str], raw: int, reboot: bool) -> int:
    """A Counter32 as a running total from 0: wraps add up, netmon restarts start at 0."""
    previous = state.counters.get(key)
    if previous is None:
        state.counters[key] = (raw, 0)
        return 0
    last, total = previous
    if reboot:
        delta = raw  # the device counted from 0 since it booted
    elif raw >= last:
        delta = raw - last
    else:
        delta = raw + COUNTER32_WRAP - last
    total += delta
    state.counters[key] = (raw, total)
    return total


def _resolve(
    ref: str, row: dict[str, Value], index: str, idx: dict[str, str], ifnames: dict[str, str]
) -> str:
    """A label reference: "colA|colB" (first non-empty), "@index", "@index.NAME", "@ifname(...)"."""
    for part in ref.split("|"):
        if part == "@index":
            text = index
        elif part.startswith("@index."):
            text = idx.get(part[7:], "")
        elif part.startswith("@ifname(") and part.endswith(")"):
            inner = part[8:-1]
            ifindex = index if inner == "index" else idx.get(inner.removeprefix("index."), "")
            text = ifnames.get(ifindex, f"ifindex-{ifindex}" if ifindex else "")
        else:
            text = to_text(row.get(part))
        if text:
            return text
    return ""


def _make_unique(row_labels: dict[str, Labels], label: str) -> None:
    seen: Counter[str] = Counter(dict(labels).get(label, "") for labels in row_labels.values())
    for index, labels in row_labels.items():
        current = dict(labels)
        value = current.get(label, "")
        if not value:
            current[label] = f"ifindex-{index}" if label == "ifname" else f"index-{index}"
        elif seen[value] > 1:
            current[label] = f"{value}#{index}"
        else:
            continue
        row_labels[index] = tuple(current.items())


def _enterprise(oid: str, names: dict[int, str]) -> str:
    prefix = "1.3.6.1.4.1."
    if not oid.startswith(prefix):
        return ""
    number = oid[len(prefix) :].split(".", 1)[0]
    return names.get(int(number), f"enterprise-{number}") if number.isdigit() else ""
