"""`netmon profile new`: a starting profile from a walk of a device netmon does not know.

It lists the standard tables the walk has (see :mod:`collectors.snmp.tooling.mibs`) as a
profile that loads as it is, and names what it cannot map: the vendor subtrees that need
an engineer with the vendor's MIB.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from collectors.snmp.plan import Value
from collectors.snmp.profile import builtin_profiles, parse_profile
from collectors.snmp.tooling.mibs import TABLES, MibTable

_ENTERPRISES = "1.3.6.1.4.1."


@dataclass(frozen=True, slots=True)
class Found:
    table: MibTable
    values: int


@dataclass(frozen=True, slots=True)
class NewProfile:
    name: str
    #: the profile as YAML, with comments; it loads as it is
    text: str
    found: list[Found]
    missing: list[MibTable]
    #: enterprise subtrees (1.3.6.1.4.1.N) no known table covers, with their value counts
    vendor: list[tuple[str, int]]


def profile_name(text: str) -> str:
    """A profile name from a file name: lower case, [a-z0-9_]."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return name if name and not name[0].isdigit() else f"device_{name}"


def _under(oid: str, roots: tuple[str, ...]) -> bool:
    return any(oid.startswith(root + ".") for root in roots)


def _builtin_table(ref: str) -> dict[str, Any]:
    profile, _, table = ref.partition(".")
    spec = next(t for t in builtin_profiles()[profile].tables if t.name == table)
    data: dict[str, Any] = _tidy(spec.model_dump(mode="json", exclude_defaults=True))
    return data


def _tidy(data: Any) -> Any:
    """Shorthands a person would write: ``value: col`` and ``125000``, not ``125000.0``."""
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, list):
        items = [_tidy(v) for v in data]
        if items and all(isinstance(v, dict) and list(v) == ["column"] for v in items):
            columns = [v["column"] for v in items]
            return columns[0] if len(columns) == 1 else columns
        return items
    if isinstance(data, dict):
        return {k: _tidy(v) for k, v in data.items()}
    return data


def _dump(data: Any, indent: int, *, flow: bool | None = None) -> str:
    """YAML of ``data``; leaf mappings and lists in flow style unless ``flow`` is False."""
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=flow, width=96)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _comment(text: str, indent: int) -> str:
    return f"{' ' * indent}# {text}\n"


def new_profile(values: Mapping[str, Value], name: str, source: str) -> NewProfile:
    """The starting profile for a device that serves ``values``."""
    found: list[Found] = []
    missing: list[MibTable] = []
    for mib in TABLES:
        count = sum(1 for oid in values if _under(oid, mib.roots))
        if count:
            found.append(Found(mib, count))
        else:
            missing.append(mib)
    known = tuple(root for mib in TABLES for root in mib.roots)
    vendor: Counter[str] = Counter()
    for oid in values:
        if oid.startswith(_ENTERPRISES) and not _under(oid, known):
            vendor[".".join(oid.split(".")[:7])] += 1
    scalars: dict[str, Any] = {}
    metrics: list[dict[str, Any]] = []
    tables: list[str] = []
    for item in found:
        mib = item.table
        scalars.update(mib.scalars)
        metrics.extend(mib.metrics)
        if mib.builtin is not None:
            builtin = mib.builtin.partition(".")[0]
            tables.append(
                _comment(f"{mib.title}: the table of the built-in profile {builtin};", 2)
                + _comment(f"list `{builtin}` in the device's profiles instead of keeping it", 2)
                + _dump([_builtin_table(mib.builtin)], 2)
            )
        elif mib.table is not None:
            note = _comment(f"{mib.title}: {mib.note}", 2) if mib.note else ""
            tables.append(note or _comment(mib.title, 2))
            tables[-1] += _dump([mib.table], 2)
    lines = [
        f"# Starting profile made by `netmon profile new` from {source}.\n",
        "# Review every metric, delete what you do not need, then `netmon profile check`.\n",
    ]
    covered = [f for f in found if f.table.covered_by]
    for item in covered:
        lines.append(
            f"# {item.table.title}: read by the built-in profile {item.table.covered_by}\n"
        )
    if vendor:
        lines.append("# vendor subtrees no known table covers (map them from the vendor's MIB):\n")
        lines.extend(f"#   {oid}: {count} values\n" for oid, count in vendor.most_common(10))
    header = {"name": name, "description": f"{name} (from a walk; describe me)"}
    lines.append(_dump(header, 0, flow=False))
    if scalars:
        lines.append(_dump({"scalars": scalars}, 0))
    if metrics:
        lines.append(_dump({"metrics": metrics}, 0))
    lines.append("tables:\n" + "".join(tables) if tables else "tables: []\n")
    text = "".join(lines)
    parse_profile(yaml.safe_load(text), f"{name}.yaml")  # it must load as it is
    return NewProfile(name, text, found, missing, list(vendor.most_common()))
