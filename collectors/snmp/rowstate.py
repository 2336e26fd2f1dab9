"""One table row's values for one poll: counter rules applied with the device's state.

The rules themselves are pure functions in :mod:`collectors.snmp.counters`;
this module feeds them what a row knows (its line speed, its discontinuity
time, the time since the table's last complete walk) and keeps the results
in :class:`DeviceState`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from collectors.snmp.counters import extend32, fake_hc, line_capacity, wrap_risk
from collectors.snmp.plan import MetricPlan, Src, Value, to_number, usable
from collectors.snmp.profile import TableSpec
from collectors.snmp.state import DeviceState
from netmon.api import Labels


class TableRules:
    """What a table spec says about its rows' counters, compiled once."""

    __slots__ = ("absent", "counts", "discontinuity", "key", "speed", "unique")

    def __init__(self, key: str, spec: TableSpec) -> None:
        self.key = key
        self.counts = {n: c.counts for n, c in spec.columns.items() if c.counts is not None}
        self.speed = tuple((s.column, s.scale) for s in spec.line_speed)
        self.discontinuity = spec.discontinuity
        self.absent = {c: frozenset(v) for c, v in spec.absent_when.items()}
        labels = list(spec.labels)
        self.unique = spec.unique_label or (labels[0] if labels else None)

    def is_absent(self, row: Mapping[str, Value]) -> bool:
        """An SFP cage with no module: every listed column says "nothing here"."""
        for column, values in self.absent.items():
            number = to_number(row.get(column))
            if number is None or number not in values:
                return False
        return True

    def unique_labels(self, groups: dict[str, Labels]) -> dict[str, Labels]:
        """No two rows share a label set: a clash appends #index (DESIGN's identity rule).

        Every row of a clash is renamed, not all but the first: which row an
        agent lists first is no identity.
        """
        seen = Counter(groups.values())
        if all(n == 1 for n in seen.values()):
            return groups
        out: dict[str, Labels] = {}
        for index, labels in groups.items():
            if seen[labels] == 1:
                out[index] = labels
            elif self.unique is None:
                out[index] = (*labels, ("index", index))
            else:
                out[index] = tuple(
                    (k, f"{v}#{index}" if k == self.unique else v) for k, v in labels
                )
        return out


class RowValues:
    """Values of one row at a time, for one table in one poll."""

    __slots__ = (
        "at_risk",
        "disc",
        "elapsed",
        "index",
        "interval",
        "missed_reboot",
        "reboot",
        "row",
        "rules",
        "speed",
        "state",
    )

    def __init__(
        self, state: DeviceState, rules: TableRules, interval: float, elapsed: float | None
    ) -> None:
        self.state = state
        self.rules = rules
        self.interval = interval
        #: seconds since this table's last complete walk (None: first walk)
        self.elapsed = elapsed
        # a reboot counted while this table's walk failed: its counters restarted since
        # their last reading, which this walk is the first to see (without this a 64-bit
        # counter that went down looks like a fake one wrapping at 2^32)
        seen = state.table_reboots.get(rules.key)
        self.missed_reboot = seen is not None and seen != state.reboots
        state.table_reboots[rules.key] = state.reboots
        self.index = ""
        self.row: Mapping[str, Value] = {}
        self.speed: float | None = None
        self.reboot = False
        self.disc = False
        self.at_risk = False

    def load(self, index: str, row: Mapping[str, Value], reboot: bool) -> None:
        self.index, self.row, self.at_risk = index, row, False
        self.reboot = reboot or self.missed_reboot
        self.speed = None
        for column, scale in self.rules.speed:
            number = to_number(row.get(column))
            if number is not None and number > 0:
                self.speed = number * scale
                break
        self.disc = False
        if self.rules.discontinuity is not None:
            value = row.get(self.rules.discontinuity)
            if type(value) is int:
                key = (self.rules.key, index)
                last = self.state.discontinuity.get(key)
                self.disc = last is not None and last != value
                self.state.discontinuity[key] = value

    def value(self, plan: MetricPlan, dropped: Counter[str]) -> float | None:
        """The first present source that applies; counters by the counter rules."""
        row = self.row
        for src, twin in plan.twins:
            if not usable(src, row, self.state.facts):
                continue
            raw = row[src.column]
            kind = src.kind
            if kind == "counter64" and type(raw) is int:
                if twin is not None and not self._hc_trusted(src, twin, raw):
                    continue
                return float(raw)
            if kind == "counter32" and type(raw) is int:
                return float(self._extend(src.column, raw))
            signed = kind == "integer32"
            return plan.convert(raw, src.scale, src.times, row, dropped, signed=signed, src=src)
        return None

    def _hc_trusted(self, src: Src, twin: Src, raw: int) -> bool:
        """Use the HC column, unless it is a cheap switch's fake (then its 32-bit twin)."""
        state = self.state
        key = (self.rules.key, self.index, src.column)
        if key in state.fake_hc:
            return False
        twin_raw = self.row.get(twin.column)
        c32 = twin_raw if type(twin_raw) is int else None
        fake = fake_hc(state.hc_last.get(key), raw, c32, reset=self.reboot or self.disc)
        if fake is not None:
            state.fake_hc[key] = fake.value
            state.fallbacks[fake] += 1
            return False
        state.hc_last[key] = raw
        if c32 is not None:
            # should the HC column turn out fake, the 32-bit total goes on from here
            state.counters[(self.rules.key, self.index, twin.column)] = (c32, raw)
        return True

    def _extend(self, column: str, raw: int) -> int:
        counters = self.state.counters
        key = (self.rules.key, self.index, column)
        counts = self.rules.counts.get(column)
        if counts == "bytes" and wrap_risk(self.speed, self.interval):
            self.at_risk = True
        last = counters.get(key)
        if last is not None and raw >= last[0] and not (self.reboot or self.disc):
            total = last[1] + raw - last[0]  # hot path: the counter went up
            counters[key] = (raw, total)
            return total
        capacity = None
        if counts is not None and self.elapsed is not None:
            capacity = line_capacity(self.speed, self.elapsed, packets=counts == "packets")
        step = extend32(
            last[0] if last else None,
            last[1] if last else 0,
            raw,
            capacity=capacity,
            reboot=self.reboot,
            discontinuity=self.disc,
        )
        counters[key] = (raw, step.total)
        if step.reset is not None:
            self.state.resets[step.reset] += 1
        return step.total
