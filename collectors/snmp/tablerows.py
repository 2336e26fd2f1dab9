"""A table's walk as rows: its spec compiled, varbinds grouped into rows by instance
index, each row's labels, and the aggregates over rows (count, min, max, sum, median).

Pure, like :mod:`collectors.snmp.engine`, which maps the rows' values into samples.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable

from collectors.snmp.peers import PeerRule
from collectors.snmp.plan import LabelRef, MetricPlan, Value
from collectors.snmp.profile import TableSpec
from collectors.snmp.rowstate import TableRules
from netmon.api import Labels, Sample

Varbinds = list[tuple[str, Value]]
#: a table's walk: walked subtree -> its varbinds (the walker knows which root each came from)
TableWalk = dict[str, Varbinds]
Rows = dict[str, dict[str, Value]]


class CompiledTable:
    """A table spec compiled: column dispatch, label references, metric plans."""

    __slots__ = (
        "by_root",
        "index_lengths",
        "index_names",
        "info_plans",
        "key",
        "key_ref",
        "labels",
        "peers",
        "plans",
        "rules",
        "spec",
        "value_plans",
    )

    def __init__(self, key: str, spec: TableSpec) -> None:
        self.key = key
        self.spec = spec
        self.by_root: dict[str, dict[str, str]] = {}
        for name, col in spec.columns.items():
            root, _, last = col.oid.rpartition(".")
            self.by_root.setdefault(root, {})[last] = name
        kinds = {n: c.type for n, c in spec.columns.items()}
        self.plans = [MetricPlan(m, kinds) for m in spec.metrics]
        #: per row: plans with one value each, and info plans (aggregates go over rows);
        #: per_peer plans only on rows of the device's backhaul peers
        per_peer = [p for m, p in zip(spec.metrics, self.plans, strict=True) if m.per_peer]
        self.value_plans = [
            p for p in self.plans if p.aggregate is None and p.info is None and p not in per_peer
        ]
        self.info_plans = [p for p in self.plans if p.info is not None]
        self.peers = PeerRule(spec.peers, spec.index, per_peer) if spec.peers else None
        self.rules = TableRules(key, spec)
        self.labels = [(name, LabelRef(ref)) for name, ref in spec.labels.items()]
        self.key_ref = LabelRef(spec.key) if spec.key else None
        self.index_lengths = [p.length for p in spec.index]
        self.index_names = [p.name for p in spec.index]


def rows_of(table: CompiledTable, walk: TableWalk) -> Rows:
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


def row_labels(
    table: CompiledTable,
    rows: Rows,
    ifnames: dict[str, str],
    dropped: Counter[str],
    looked_up: dict[str, dict[str, Labels]] | None = None,
    keys: dict[str, str] | None = None,
) -> dict[str, Labels]:
    """Labels per row; rows missing a required label go (from ``rows`` too). ``keys``
    gets each row's @lookup key when the table declares one."""
    simple = table.index_lengths == [None]
    required = table.spec.require
    out: dict[str, Labels] = {}
    for index, row in list(rows.items()):
        if simple:
            idx = {table.index_names[0]: index}
        else:
            parts = split_index(index, table.index_lengths)
            if parts is None:
                dropped["bad_index"] += 1
                del rows[index]
                continue
            idx = dict(zip(table.index_names, parts, strict=True))
        labels = tuple(
            (n, ref.resolve(row, index, idx, ifnames, looked_up)) for n, ref in table.labels
        )
        if required and not all(v for n, v in labels if n in required):
            del rows[index]
            continue
        out[index] = labels
        if keys is not None and table.key_ref is not None:
            keys.setdefault(table.key_ref.resolve(row, index, idx, ifnames, looked_up), index)
    if table.spec.unique_label is not None:
        make_unique(out, table.spec.unique_label)
    if table.spec.interfaces:
        for index, labels in out.items():
            ifnames[index] = dict(labels).get("ifname", f"ifindex-{index}")
    return out


def aggregate(
    plan: MetricPlan,
    table: CompiledTable,
    rows: Rows,
    labels_of: dict[str, Labels],
    base: Labels,
    dropped: Counter[str],
) -> Iterable[Sample]:
    """The plan's aggregate over the rows that share labels (``labels_of``: by index)."""
    groups: dict[Labels, list[str]] = {}
    for index, labels in labels_of.items():
        kept = groups.setdefault(labels, [])
        if plan.accepts(rows[index]):
            kept.append(index)
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


def split_index(index: str, lengths: list[int | None]) -> list[str] | None:
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


def make_unique(labels_of: dict[str, Labels], label: str) -> None:
    """Empty names become ifindex-N; duplicate names get #index appended."""
    seen: Counter[str] = Counter(dict(labels).get(label, "") for labels in labels_of.values())
    for index, labels in labels_of.items():
        current = dict(labels)
        value = current.get(label, "")
        if not value:
            current[label] = f"ifindex-{index}" if label == "ifname" else f"index-{index}"
        elif seen[value] > 1:
            current[label] = f"{value}#{index}"
        else:
            continue
        labels_of[index] = tuple(current.items())
