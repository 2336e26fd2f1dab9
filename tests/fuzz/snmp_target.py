"""SNMP varbinds through the builtin profiles' mapping (collectors/snmp/engine.py).

Every value type gufo-snmp hands over (int, bytes, str, float, None), in any column a
profile reads, with huge and negative integers and OIDs in any order. The declared
rejections are the engine's ``dropped`` counter (netmon_samples_dropped_total); an
exception of any kind is a failure.
"""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import strategies as st

from collectors.snmp.engine import DeviceState, Engine, RawPoll, TableWalk
from collectors.snmp.plan import Value
from collectors.snmp.profile import Profile, builtin_profiles

PROFILES: dict[str, Profile] = builtin_profiles()
BASE = (("site", "fuzz"), ("device", "dev-1"))

#: the edges: 32/64-bit wraps, beyond any counter, negative
EDGES = [0, 1, -1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 2**64, 2**64 + 1]
EDGES += [-(2**31), -(2**63), 10**30, -(10**30)]

values: st.SearchStrategy[Value] = st.one_of(
    st.none(),
    st.sampled_from(EDGES),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=300),
    st.binary(max_size=24),
    st.text(max_size=24),
    st.floats(allow_nan=True, allow_infinity=True),
    # an OID value (sysObjectID, a RowPointer): gufo-snmp gives it as dotted text
    st.lists(st.integers(0, 2**32 + 5), min_size=0, max_size=12).map(
        lambda arcs: ".".join(str(a) for a in arcs)
    ),
)

#: a row index: one arc, several (a MAC, an IP), or junk after the column
indices = st.one_of(
    st.integers(0, 2**32 + 1).map(str),
    st.lists(st.integers(0, 300), min_size=1, max_size=8).map(lambda a: ".".join(map(str, a))),
    st.sampled_from(["", ".", "1..2", "-1", "x", "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17"]),
)

profile_sets = st.one_of(
    st.just(list(PROFILES)),
    st.lists(st.sampled_from(sorted(PROFILES)), min_size=1, max_size=4, unique=True),
)


def _scalar_oids(profiles: list[Profile]) -> list[str]:
    out = []
    for p in profiles:
        for spec in p.scalars.values():
            out += [spec.oid, spec.oid + ".0"] if spec.first else [spec.oid]
    return sorted(set(out))


@st.composite
def polls(draw: st.DrawFn, profiles: list[Profile]) -> RawPoll:
    """One raw poll: some scalars, and every table's walk with random varbinds."""
    scalar_oids = _scalar_oids(profiles)
    scalars: dict[str, Value] = {}
    if scalar_oids:
        for oid in draw(st.lists(st.sampled_from(scalar_oids), max_size=len(scalar_oids))):
            scalars[oid] = draw(values)
    tables: dict[str, TableWalk] = {}
    failed: dict[str, str] = {}
    for p in profiles:
        for table in p.tables:
            key = f"{p.name}.{table.name}"
            if draw(st.integers(0, 15)) == 0:
                failed[key] = "timeout"
                continue
            columns = sorted({c.oid for c in table.columns.values()})
            walk: TableWalk = {root: [] for root in table.walk}
            rows = draw(st.lists(indices, max_size=6))
            for _ in range(draw(st.integers(0, 24)) if rows else 0):
                column = draw(st.sampled_from(columns))
                oid = f"{column}.{draw(st.sampled_from(rows))}"
                root = next((r for r in table.walk if oid.startswith(r + ".")), table.walk[0])
                # a walk that went outside its subtree, or repeated an OID, happens too
                walk[root].append((oid, draw(values)))
            for root in walk:
                if draw(st.booleans()):
                    walk[root] = draw(st.permutations(walk[root]))
            tables[key] = walk
    return RawPoll(scalars, tables, failed)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[str], list[RawPoll], list[float]]:
    names = draw(profile_sets)
    profiles = [PROFILES[n] for n in names]
    raws = draw(st.lists(polls(profiles), min_size=1, max_size=3))
    gaps = draw(st.lists(st.floats(0, 10**6), min_size=len(raws), max_size=len(raws)))
    return names, raws, gaps


def check(case: tuple[list[str], list[RawPoll], list[float]]) -> Counter[str]:
    """Map the polls in turn on one device state; the result is the drop counts."""
    names, raws, gaps = case
    engine = Engine([PROFILES[n] for n in names], 60.0, 64)
    state = DeviceState()
    dropped: Counter[str] = Counter()
    now = 1000.0
    for raw, gap in zip(raws, gaps, strict=True):
        now += gap
        mapped = engine.map(raw, state, BASE, now)
        dropped.update(mapped.dropped)
        for part in mapped.parts:
            for sample in part.samples:
                assert isinstance(sample.value, float | int), sample
                assert not math.isnan(sample.value), sample
                for _, label in sample.labels:
                    assert isinstance(label, str), sample
    return dropped
