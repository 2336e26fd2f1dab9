"""`netmon profile test`: what profiles yield from a recording, with no agent.

The recording becomes the :class:`RawPoll` a walker would have fetched from an agent
serving it, and the poll's own :class:`Engine` maps it; the snapshot goes through the
daemon's store and renderer, so the text is what ``/metrics`` would serve for that device.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from collectors.snmp.collector import BASE_META, answered
from collectors.snmp.engine import DeviceState, Engine, RawPoll
from collectors.snmp.plan import Value
from collectors.snmp.profile import Profile, ProfileError, load_builtin, load_profile
from netmon.api import MetricMeta, TargetRef
from netmon.store import Store


def find_profiles(wanted: Iterable[str], dirs: Iterable[Path] = ()) -> list[Profile]:
    """Profiles by file path (``x.yaml``) or by name: ``dirs`` in order, then the built-in.

    :class:`ProfileError` for a broken or unknown one (file:line:col for a broken file).
    """
    folders = list(dirs)
    builtin = load_builtin()
    out: list[Profile] = []
    for item in wanted:
        if item in {p.name for p in out} or Path(item).stem in {p.name for p in out}:
            msg = f"profile {item!r} is given twice"
            raise ProfileError(msg)
        path = Path(item)
        if item.endswith((".yaml", ".yml")) or path.is_file():
            out.append(load_profile(path, item))
            continue
        found = next((d / f"{item}.yaml" for d in folders if (d / f"{item}.yaml").is_file()), None)
        if found is not None:
            out.append(load_profile(found, str(found)))
        elif item in builtin.valid:
            out.append(builtin.valid[item])
        elif item in builtin.broken:
            raise ProfileError(builtin.broken[item])
        else:
            known = ", ".join(sorted(builtin.valid))
            msg = f"unknown profile {item!r} (built-in: {known}; or give a path to a .yaml file)"
            raise ProfileError(msg)
    return out


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(a) for a in oid.split(".") if a.isdigit())


def raw_poll(values: Mapping[str, Value], profiles: Iterable[Profile]) -> RawPoll:
    """What the walker would fetch from an agent serving ``values`` (GETs, then walks)."""
    ordered = sorted(values.items(), key=lambda item: _arcs(item[0]))
    raw = RawPoll({}, {})
    for profile in profiles:
        for spec in profile.scalars.values():
            if spec.first:  # the first non-empty instance under the column
                prefix = spec.oid + "."
                got = next((v for o, v in ordered if o.startswith(prefix) and v != b""), None)
                if got is not None:
                    raw.scalars[spec.oid] = got
            elif spec.oid in values:
                raw.scalars[spec.oid] = values[spec.oid]
        for table in profile.tables:
            raw.tables[f"{profile.name}.{table.name}"] = {
                root: [(o, v) for o, v in ordered if o.startswith(root + ".")]
                for root in table.walk
            }
    return raw


@dataclass(frozen=True, slots=True)
class Replay:
    """The exposition text, and what a profile author wants to know about it."""

    text: str
    #: reason -> samples dropped (sentinel, implausible, decode, label_cap, ...)
    dropped: dict[str, int]
    #: part ("<profile>.<table>", "<profile>.scalars") -> samples it produced
    samples: dict[str, int]


def metadata(profiles: Iterable[Profile]) -> list[MetricMeta]:
    """HELP and TYPE as the SNMP collector gives them: its own, then each profile's."""
    seen: dict[str, MetricMeta] = {m.name: m for m in BASE_META}
    for profile in profiles:
        for meta in profile.metric_meta():
            seen.setdefault(meta.name, meta)
    return list(seen.values())


def replay(
    values: Mapping[str, Value],
    profiles: list[Profile],
    *,
    device: str = "recording",
    site: str = "adhoc",
    interval: float = 60.0,
    max_rows: int = 4096,
) -> Replay:
    """One poll of a device that serves ``values``, through the poll's engine and store."""
    target = TargetRef(site=site, device=device, collector="snmp")
    base = target.labels
    started, t0 = time.time(), time.monotonic()
    mapped = Engine(profiles, interval, max_rows).map(
        raw_poll(values, profiles), DeviceState(), base, t0
    )
    snapshot = answered(target, mapped, started, t0)
    dropped = snapshot.dropped
    given = {p.name for p in profiles}
    builtin = [p for name, p in load_builtin().valid.items() if name not in given]
    store = Store(metadata([*builtin, *profiles]))
    store.apply(snapshot, interval=interval)
    quiet = {f"{p.name}.scalars" for p in profiles if not p.metrics} | {"counters"}
    samples = {p.name: len(p.samples) for p in mapped.parts if p.name not in quiet}
    return Replay(store.render(), dropped, samples)
