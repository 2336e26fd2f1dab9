"""Turn raw SNMP values into samples, as the profiles say.

Pure: no network here. The walker hands over what it fetched (scalars by
OID, table varbinds by walked subtree), together with the per-device state
that must survive between polls (32-bit counter totals, last uptime). That
makes the mapping testable directly on the recordings, byte for byte. A table's walk
becomes rows, and each row its labels, in :mod:`collectors.snmp.tablerows`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from collectors.snmp.counters import COUNTER32_WRAP, Fake, Reset, is_reboot
from collectors.snmp.plan import MetricPlan, Value, to_text
from collectors.snmp.profile import PEER_LABEL, Profile
from collectors.snmp.rowstate import RowValues
from collectors.snmp.state import DeviceState
from collectors.snmp.tablerows import (
    CompiledTable,
    TableWalk,
    Varbinds,
    aggregate,
    row_labels,
    rows_of,
)
from netmon.api import Labels, Part, Sample

__all__ = ["COUNTER32_WRAP", "DeviceState", "Engine", "Mapped", "RawPoll", "TableWalk", "Varbinds"]


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
    #: interfaces newly found able to wrap a 32-bit counter in one interval (log once)
    wrap_risks: list[str] = field(default_factory=list)
    #: table name (in its profile) -> index -> labels, of the tables mapped so far, for
    #: ``@lookup(TABLE.LABEL, ...)`` references of later tables
    looked_up: dict[str, dict[str, Labels]] = field(default_factory=dict)


class Engine:
    """Maps one device's raw poll through its profiles."""

    def __init__(self, profiles: list[Profile], interval: float, max_rows: int) -> None:
        self.profiles = profiles
        self.interval = interval
        self.max_rows = max_rows
        # interfaces tables first: other tables look up ifname by ifIndex
        self.tables = sorted(
            (CompiledTable(f"{p.name}.{t.name}", t) for p in profiles for t in p.tables),
            key=lambda t: not t.spec.interfaces,
        )
        self.scalar_plans = [
            (p, [MetricPlan(m, {n: c.type for n, c in p.scalars.items()}) for m in p.metrics])
            for p in profiles
        ]

    def map(
        self,
        raw: RawPoll,
        state: DeviceState,
        base: Labels,
        now: float | None = None,
        peers: Mapping[str, str] | None = None,
    ) -> Mapped:
        """Map one poll; ``now`` is a monotonic clock (seconds) for what elapsed since the last;
        ``peers``: the device's backhaul peers, key (collectors.snmp.peers.keys) -> device id."""
        now = time.monotonic() if now is None else now
        out = Mapped([], Counter())
        values_by_profile = [
            {name: raw.scalars.get(spec.oid) for name, spec in profile.scalars.items()}
            for profile, _ in self.scalar_plans
        ]
        info = self._facts(values_by_profile, state)
        for (profile, plans), values in zip(self.scalar_plans, values_by_profile, strict=True):
            samples: list[Sample] = []
            for plan in plans:
                got = plan.value(values, out.dropped, state.facts)
                if got is None:
                    continue
                if plan.uptime:
                    src = next(s for s in plan.sources if values.get(s.column) is not None)
                    out.reboot = self._reboot(state, src.column, got, src.kind, now) or out.reboot
                    samples.append(
                        Sample("netmon_device_reboots_total", base, float(state.reboots))
                    )
                samples.append(Sample(plan.name, base + plan.fixed, got))
            out.parts.append(Part(f"{profile.name}.scalars", samples))
        labels = (
            ("firmware", info.get("firmware", "")),
            ("model", info.get("model", "")),
            ("profiles", ",".join(p.name for p in self.profiles)),
            ("sys_name", info.get("sys_name", "")),
            ("sys_object_id", info.get("sys_object_id", "")),
            ("vendor", info.get("vendor", "")),
        )
        out.parts.append(Part("device_info", [Sample("netmon_device_info", base + labels, 1.0)]))
        # the last known names serve a poll that lost the interfaces table, unless it rebooted
        ifnames: dict[str, str] = {} if out.reboot else dict(state.ifnames)
        for table in self.tables:
            if table.key in raw.failed_tables:
                error = raw.failed_tables[table.key]
                if out.reboot:  # its last good series are the previous boot's: they go
                    out.parts.append(Part(table.key, []))
                    out.parts.append(Part(f"{table.key}.failed", [], ok=False, error=error))
                else:
                    out.parts.append(Part(table.key, [], ok=False, error=error))
                continue
            walk = raw.tables.get(table.key, {})
            if table.spec.interfaces:
                ifnames.clear()
            samples = self._table(table, walk, state, base, ifnames, out, now, peers or {})
            if table.spec.interfaces:
                state.ifnames = dict(ifnames)
            out.parts.append(Part(table.key, samples))
        out.parts.append(Part("counters", self._counter_samples(state, base)))
        return out

    def _facts(
        self, values_by_profile: list[dict[str, Value]], state: DeviceState
    ) -> dict[str, str]:
        """device_info labels; every text scalar and info label becomes a known fact."""
        info: dict[str, str] = {}
        for (profile, _), values in zip(self.scalar_plans, values_by_profile, strict=True):
            for name, value in values.items():
                text = to_text(value) if profile.scalars[name].type in ("string", "oid") else ""
                if text:
                    state.facts[name] = text
            for key, spec in profile.device_info.items():
                text = spec.literal or ""
                if spec.scalar is not None:
                    text = to_text(values.get(spec.scalar))
                    if spec.enterprise is not None:
                        text = _enterprise(text, spec.enterprise)
                if text:
                    info[key] = text
        state.facts.update(info)
        return info

    def _reboot(self, state: DeviceState, src: str, seconds: float, kind: str, now: float) -> bool:
        """Uptime says the device booted since its last reading (not a TimeTicks wrap)."""
        last = state.uptimes.get(src)
        state.uptimes[src] = (seconds, now)
        if last is None:
            return False
        ticks = kind == "timeticks"
        if not is_reboot(last[0], seconds, now - last[1], self.interval, ticks=ticks):
            return False
        state.reboots += 1
        return True

    @staticmethod
    def _counter_samples(state: DeviceState, base: Labels) -> list[Sample]:
        """Resets and fake-HC fallbacks since netmon started; every reason from 0."""
        out = [
            Sample("netmon_snmp_resets_total", (*base, ("reason", r.value)), state.resets[r])
            for r in Reset
        ]
        out.extend(
            Sample(
                "netmon_snmp_hc_fallbacks_total", (*base, ("reason", f.value)), state.fallbacks[f]
            )
            for f in Fake
        )
        return out

    def _table(
        self,
        table: CompiledTable,
        walk: TableWalk,
        state: DeviceState,
        base: Labels,
        ifnames: dict[str, str],
        out: Mapped,
        now: float,
        peers: Mapping[str, str],
    ) -> list[Sample]:
        dropped = out.dropped
        rows = rows_of(table, walk)
        rules = table.rules
        if rules.absent:
            rows = {i: r for i, r in rows.items() if not rules.is_absent(r)}
        if len(rows) > self.max_rows:
            dropped["label_cap"] += len(rows) - self.max_rows
            rows = dict(list(rows.items())[: self.max_rows])
        keys: dict[str, str] = {}
        groups = row_labels(table, rows, ifnames, dropped, out.looked_up, keys)
        out.looked_up[table.spec.name] = (
            {key: groups[index] for key, index in keys.items()} if table.key_ref else groups
        )
        full = {index: base + labels for index, labels in rules.unique_labels(groups).items()}
        last_walk = state.table_at.get(table.key)
        state.table_at[table.key] = now
        state.prune(table.key, rows)
        rowstate = RowValues(
            state, rules, self.interval, None if last_walk is None else now - last_walk
        )
        samples: list[Sample] = []
        append = samples.append
        value_plans, info_plans = table.value_plans, table.info_plans
        peer_rule, seen = (table.peers if peers else None), set[Labels]()
        for index, labels in full.items():
            row = rows[index]
            rowstate.load(index, row, out.reboot)
            for plan in info_plans:
                if plan.where and not plan.accepts(row):
                    continue
                info = plan.info or ()
                extra = tuple((k, ref.resolve(row, index, {}, ifnames)) for k, ref in info)
                append(Sample(plan.name, labels + extra + plan.fixed, 1.0))
            for plan in value_plans:
                if plan.where and not plan.accepts(row):
                    continue
                if plan.plain:  # hot path, inline: most columns are plain gauges
                    value = None
                    for column, scale, times, signed in plan.plain_sources:
                        raw = row.get(column)
                        if raw is not None:
                            value = plan.convert(raw, scale, times, row, dropped, signed=signed)
                            break
                else:
                    value = rowstate.value(plan, dropped)
                if value is not None:
                    append(Sample(plan.name, labels + plan.fixed if plan.fixed else labels, value))
            station = None
            if peer_rule is not None:  # the labels before unique_labels: no index label
                station = peer_rule.labels(peers, rowstate, base + groups[index])
                if station is not None:
                    samples += peer_rule.samples(station, rowstate, dropped, seen)
            if rowstate.at_risk:
                risk = _wrap_risk(table, index, labels, station)
                if risk is not None:
                    append(Sample("netmon_interface_wrap_risk", risk[0], 1.0))
                    if (table.key, index) not in state.wrap_risk:
                        state.wrap_risk.add((table.key, index))
                        out.wrap_risks.append(risk[1])
        for plan in table.plans:
            if plan.aggregate is not None:
                samples.extend(aggregate(plan, table, rows, groups, base, dropped))
        return samples


def _wrap_risk(
    table: CompiledTable, index: str, labels: Labels, station: Labels | None
) -> tuple[Labels, str] | None:
    """The labels of a row's wrap-risk series, and how the log line names the row (its
    ifname, else its index). A station table's index is the station's MAC: only a backhaul
    peer's row reads values of its own, and it goes by the peer (DESIGN: privacy)."""
    if table.peers is None:
        return labels, dict(labels).get("ifname", index)
    if station is None:
        return None
    named = dict(station)
    return station, f"{named.get('ifname', table.key)} station of peer {named[PEER_LABEL]}"


def _enterprise(oid: str, names: dict[int, str]) -> str:
    prefix = "1.3.6.1.4.1."
    if not oid.startswith(prefix):
        return ""
    number = oid[len(prefix) :].split(".", 1)[0]
    return names.get(int(number), f"enterprise-{number}") if number.isdigit() else ""
