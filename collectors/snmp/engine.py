"""Turn raw SNMP values into samples, as the profiles say.

Pure: no network here. The walker hands over what it fetched (scalars by
OID, table varbinds by walked subtree), together with the per-device state
that must survive between polls (32-bit counter totals, last uptime). That
makes the mapping testable directly on the recordings, byte for byte.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from collectors.snmp.plan import LabelRef, MetricPlan, Value, to_number, to_text
from collectors.snmp.profile import Profile, TableSpec
from netmon.api import Labels, Part, Sample

Varbinds = list[tuple[str, Value]]
#: a table's walk: walked subtree -> its varbinds (the walker knows which root each came from)
TableWalk = dict[str, Varbinds]
Rows = dict[str, dict[str, Value]]

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
    tables: dict[str, TableWalk]  # key: "<profile>.<table>"
    failed_tables: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Mapped:
    parts: list[Part]
    dropped: Counter[str]
    reboot: bool = False


class _Table:
    """A table spec compiled: column dispatch, label references, metric plans."""

    __slots__ = ("by_root", "index_lengths", "index_names", "key", "labels", "plans", "spec")

    def __init__(self, key: str, spec: TableSpec) -> None:
        self.key = key
        self.spec = spec
        self.by_root: dict[str, dict[str, str]] = {}
        for name, col in spec.columns.items():
            root, _, last = col.oid.rpartition(".")
            self.by_root.setdefault(root, {})[last] = name
        counter32 = frozenset(n for n, c in spec.columns.items() if c.type == "counter32")
        self.plans = [MetricPlan(m, counter32) for m in spec.metrics]
        self.labels = [(name, LabelRef(ref)) for name, ref in spec.labels.items()]
        self.index_lengths = [p.length for p in spec.index]
        self.index_names = [p.name for p in spec.index]


class Engine:
    """Maps one device's raw poll through its profiles."""

    def __init__(self, profiles: list[Profile], interval: float, max_rows: int) -> None:
        self.profiles = profiles
        self.interval = interval
        self.max_rows = max_rows
        # interfaces tables first: other tables look up ifname by ifIndex
        self.tables = sorted(
            (_Table(f"{p.name}.{t.name}", t) for p in profiles for t in p.tables),
            key=lambda t: not t.spec.interfaces,
        )
        self.scalar_plans = [(p, [MetricPlan(m) for m in p.metrics]) for p in profiles]

    def map(self, raw: RawPoll, state: DeviceState, base: Labels) -> Mapped:
        dropped: Counter[str] = Counter()
        parts: list[Part] = []
        reboot = False
        info: dict[str, str] = {}
        for profile, plans in self.scalar_plans:
            values = {name: raw.scalars.get(spec.oid) for name, spec in profile.scalars.items()}
            samples: list[Sample] = []
            for plan in plans:
                got = plan.value(values, dropped)
                if got is None:
                    continue
                if plan.uptime:
                    src = next(s[0] for s in plan.sources if values.get(s[0]) is not None)
                    raw_value = to_number(values[src]) or 0.0
                    ticks = profile.scalars[src].type == "timeticks"
                    reboot = self._reboot(state, src, raw_value, ticks) or reboot
                    samples.append(
                        Sample("netmon_device_reboots_total", base, float(state.reboots))
                    )
                samples.append(Sample(plan.name, base + plan.fixed, got))
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
        for table in self.tables:
            if table.key in raw.failed_tables:
                parts.append(Part(table.key, [], ok=False, error=raw.failed_tables[table.key]))
                continue
            walk = raw.tables.get(table.key, {})
            samples = self._table(table, walk, state, base, ifnames, dropped, reboot)
            parts.append(Part(table.key, samples))
        return Mapped(parts, dropped, reboot)

    def _reboot(self, state: DeviceState, src: str, raw_value: float, ticks: bool) -> bool:
        """Uptime going backwards is a reboot, unless TimeTicks just wrapped."""
        reboot = False
        if state.uptime_source == src and raw_value < state.uptime_raw:
            margin = 3 * self.interval * 100
            wrapped = ticks and state.uptime_raw > TICKS_WRAP - margin and raw_value < margin
            if not wrapped:
                state.reboots += 1
                reboot = True
        state.uptime_source = src
        state.uptime_raw = raw_value
        return reboot

    @staticmethod
    def _rows(table: _Table, walk: TableWalk) -> Rows:
        """Varbinds -> rows by instance index. Hot path: one split per varbind."""
        rows: Rows = {}
        for root, varbinds in walk.items():
            by_number = table.by_root.get(root)
            if by_number is None:
                continue
            cut = len(root) + 1
            for oid, value in varbinds:
                number, _, index = oid[cut:].partition(".")
                column = by_number.get(number)
                if column is None or not index:
                    continue
                row = rows.get(index)
                if row is None:
                    rows[index] = row = {}
                row[column] = value
        return rows

    def _row_labels(
        self, table: _Table, rows: Rows, ifnames: dict[str, str], dropped: Counter[str]
    ) -> dict[str, Labels]:
        simple = table.index_lengths == [None]
        out: dict[str, Labels] = {}
        for index, row in rows.items():
            if simple:
                idx = {table.index_names[0]: index}
            else:
                parts = _split_index(index, table.index_lengths)
                if parts is None:
                    dropped["bad_index"] += 1
                    continue
                idx = dict(zip(table.index_names, parts, strict=True))
            out[index] = tuple(
                (n, ref.resolve(row, index, idx, ifnames)) for n, ref in table.labels
            )
        if table.spec.unique_label is not None:
            _make_unique(out, table.spec.unique_label)
        if table.spec.interfaces:
            for index, labels in out.items():
                ifnames[index] = dict(labels).get("ifname", f"ifindex-{index}")
        return out

    def _table(
        self,
        table: _Table,
        walk: TableWalk,
        state: DeviceState,
        base: Labels,
        ifnames: dict[str, str],
        dropped: Counter[str],
        reboot: bool,
    ) -> list[Sample]:
        rows = self._rows(table, walk)
        if len(rows) > self.max_rows:
            dropped["label_cap"] += len(rows) - self.max_rows
            rows = dict(list(rows.items())[: self.max_rows])
        row_labels = self._row_labels(table, rows, ifnames, dropped)
        full = {index: base + labels for index, labels in row_labels.items()}
        samples: list[Sample] = []
        append = samples.append
        for plan in table.plans:
            if plan.aggregate is not None:
                samples.extend(self._aggregate(plan, table, rows, row_labels, base, dropped))
                continue
            fixed = plan.fixed
            if plan.info is not None:
                for index, labels in full.items():
                    row = rows[index]
                    extra = tuple((k, ref.resolve(row, index, {}, ifnames)) for k, ref in plan.info)
                    append(Sample(plan.name, labels + extra + fixed, 1.0))
                continue
            for index, labels in full.items():
                row = rows[index]
                for column, scale, times, counter32 in plan.sources:
                    raw = row.get(column)
                    if raw is None:
                        continue
                    if counter32 and type(raw) is int:
                        key = (table.key, index, column)
                        value: float | None = float(_extend32(state, key, raw, reboot))
                    else:
                        value = plan.convert(raw, scale, times, row, dropped)
                    if value is not None:
                        append(Sample(plan.name, labels + fixed if fixed else labels, value))
                    break
        return samples

    @staticmethod
    def _aggregate(
        plan: MetricPlan,
        table: _Table,
        rows: Rows,
        row_labels: dict[str, Labels],
        base: Labels,
        dropped: Counter[str],
    ) -> Iterable[Sample]:
        groups: dict[Labels, list[str]] = {}
        for index, labels in row_labels.items():
            groups.setdefault(labels, []).append(index)
        fixed = plan.fixed
        if plan.aggregate == "count" and not table.labels and not groups:
            yield Sample(plan.name, base + fixed, 0.0)
            return
        for labels, indexes in groups.items():
            if plan.aggregate == "count":
                yield Sample(plan.name, base + labels + fixed, float(len(indexes)))
                continue
            values = [v for i in indexes if (v := plan.value(rows[i], dropped)) is not None]
            if not values:
                continue
            op = plan.aggregate
            if op == "min":
                result = min(values)
            elif op == "max":
                result = max(values)
            elif op == "sum":
                result = sum(values)
            else:
                result = statistics.median(values)
            yield Sample(plan.name, base + labels + fixed, float(result))


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


def _make_unique(row_labels: dict[str, Labels], label: str) -> None:
    """Empty names become ifindex-N; duplicate names get #index appended."""
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
