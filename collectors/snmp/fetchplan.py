"""What a device's profiles need from it: columns (not whole tables) and scalars.

A profile's ``walk`` names whole table entries, but a poll walks only the
columns its metrics, labels and counter rules refer to: the ifTable has 22
columns and IF-MIB metrics use 11 of them. The varbinds of each column are
handed to the engine under the walk root the column sits under, in column
order, as if the whole entry had been walked. Columns marked ``slow`` are
fetched only when :class:`collectors.snmp.slowcache.SlowCache` says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.snmp.profile import Profile, TableSpec

#: IF-MIB ifNumber.0: a change means interfaces came or went (their names are re-read)
IF_NUMBER = "1.3.6.1.2.1.2.1.0"


@dataclass(frozen=True, slots=True)
class ColumnWalk:
    oid: str
    #: the table's walk root the column sits under (the engine's key for its varbinds)
    root: str
    slow: bool


@dataclass(frozen=True, slots=True)
class TablePlan:
    key: str
    columns: tuple[ColumnWalk, ...]

    @property
    def fast(self) -> tuple[ColumnWalk, ...]:
        return tuple(c for c in self.columns if not c.slow)

    @property
    def slow(self) -> tuple[ColumnWalk, ...]:
        return tuple(c for c in self.columns if c.slow)


@dataclass(frozen=True, slots=True)
class ScalarPlan:
    """Scalar OIDs to GET exactly and columns whose first instance is wanted, fast and slow."""

    exact: tuple[str, ...]
    first: tuple[str, ...]
    slow_exact: tuple[str, ...]
    slow_first: tuple[str, ...]
    #: uptime sources (OID, TimeTicks?) for reboot detection
    uptimes: tuple[tuple[str, bool], ...]
    #: ask ifNumber.0 too: an interfaces table has slow columns
    if_number: bool


#: how backhaul peers may be found (collectors.snmp.peers.keys): every way
EVERY_PEER = frozenset({"mac", "ip"})


def used_columns(spec: TableSpec, peers: frozenset[str] = EVERY_PEER) -> list[str]:
    """Columns a table's metrics, labels and rules refer to; all of them when none is named
    (a table only counted: its rows are what matters). ``peers``: how the device's backhaul
    peers can be found (mac, ip); a station table that matches them otherwise (none: a
    device with no peer in the inventory) skips the columns only per_peer metrics read."""
    named = set(spec.column_refs())
    used = [name for name in spec.columns if name in named] or list(spec.columns)
    if spec.peers is None or spec.peers.as_ in peers:
        return used
    kept = set(spec.column_refs(per_peer=False))
    return [name for name in used if name in kept] or used


def _column_number(oid: str) -> int:
    return int(oid.rpartition(".")[2])


#: plans per set of profiles (by identity; the profiles are kept, so no id is reused) and
#: how the device's backhaul peers can be found: every poll asks, and devices share a few sets of
#: profiles. Cleared past _PLANS_MAX
_PLANS: dict[tuple[object, ...], tuple[tuple[Profile, ...], list[TablePlan], ScalarPlan]] = {}
_PLANS_MAX = 1024


def plans(
    profiles: Iterable[Profile], peers: frozenset[str] = EVERY_PEER
) -> tuple[list[TablePlan], ScalarPlan]:
    """:func:`table_plans` and :func:`scalar_plan` of these profiles, computed once."""
    kept = tuple(profiles)
    key = (*map(id, kept), peers)
    found = _PLANS.get(key)
    if found is None:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        found = _PLANS[key] = (kept, table_plans(kept, peers), scalar_plan(kept))
    return found[1], found[2]


def table_plans(profiles: Iterable[Profile], peers: frozenset[str] = EVERY_PEER) -> list[TablePlan]:
    plans: list[TablePlan] = []
    for profile in profiles:
        for spec in profile.tables:
            columns = [spec.columns[name] for name in used_columns(spec, peers)]
            walks = sorted(
                {ColumnWalk(c.oid, c.oid.rpartition(".")[0], c.slow) for c in columns},
                key=lambda w: (spec.walk.index(w.root), _column_number(w.oid)),
            )
            plans.append(TablePlan(f"{profile.name}.{spec.name}", tuple(walks)))
    return plans


def scalar_plan(profiles: Iterable[Profile]) -> ScalarPlan:
    profiles = list(profiles)
    specs = [s for p in profiles for s in p.scalars.values()]
    uptimes: dict[str, bool] = {}
    for profile in profiles:
        for metric in profile.metrics:
            if metric.uptime:
                for src in metric.value:
                    scalar = profile.scalars[src.column]
                    uptimes[scalar.oid] = scalar.type == "timeticks"
    if_number = any(
        spec.interfaces and any(c.slow for c in spec.columns.values())
        for p in profiles
        for spec in p.tables
    )
    return ScalarPlan(
        exact=tuple(sorted({s.oid for s in specs if not s.first and not s.slow})),
        first=tuple(sorted({s.oid for s in specs if s.first and not s.slow})),
        slow_exact=tuple(sorted({s.oid for s in specs if not s.first and s.slow})),
        slow_first=tuple(sorted({s.oid for s in specs if s.first and s.slow})),
        uptimes=tuple(sorted(uptimes.items())),
        if_number=if_number,
    )
