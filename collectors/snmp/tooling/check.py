"""`netmon profile check`: what the profile schema alone cannot see.

Rules (each problem names its rule):

- ``schema``: the file does not load (unknown field, bad OID, unknown column ...).
- ``duplicate-metric``: one profile defines a metric twice with the same labels: two
  series would share one label set.
- ``label-clash``: a label set twice on one series (a table label, a fixed label, an info
  label, or ``site``/``device``, which netmon sets from the inventory), or a label name
  Prometheus does not accept.
- ``unit-family`` / ``type-suffix``: the name's unit is not one of the contract's (see
  :mod:`collectors.snmp.tooling.units`).
- ``help-mismatch`` / ``type-mismatch``: one metric name with two HELP texts or types
  across the profiles (or against the SNMP collector's own metrics): ``/metrics`` shows one
  HELP per family, picked by load order, so one of them would be silently wrong.

The built-in profiles are always checked; a folder's files are checked together with them,
and a file there replaces the built-in profile of the same name, as ``profiles_dirs`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from collectors.snmp.collector import BASE_META
from collectors.snmp.profile import (
    PEER_LABEL,
    PROFILE_DIR,
    MetricSpec,
    Profile,
    ProfileError,
    TableSpec,
    load_profile,
)
from collectors.snmp.tooling.units import unit_problem
from netmon.api import MarkedDoc, load_marked

BUILTIN_SHOWN = "collectors/snmp/profiles"
#: labels netmon sets on every series of a device, from the inventory
BASE_LABELS = ("site", "device")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_WHERE = re.compile(r"^(.*?):(\d+):(\d+): (.*)$")
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


@dataclass(slots=True)
class CheckResult:
    problems: list[Problem] = field(default_factory=list)
    #: remarks that are not problems (a folder's profile replaces a built-in one)
    notes: list[str] = field(default_factory=list)
    #: files checked
    files: int = 0


@dataclass(frozen=True, slots=True)
class _File:
    source: str
    profile: Profile
    doc: MarkedDoc

    def at(self, path: Path_, message: str, *, key: bool = False) -> Problem:
        pos = self.doc.position(path, key=key)
        return Problem(pos.file, pos.line, pos.col, message)


def check(directory: Path | None = None, shown: str | None = None) -> CheckResult:
    """Check the built-in profiles, and ``directory``'s ``*.yaml`` with them."""
    result = CheckResult()
    files: dict[str, tuple[Path, str]] = {
        p.stem: (p, f"{BUILTIN_SHOWN}/{p.name}") for p in sorted(PROFILE_DIR.glob("*.yaml"))
    }
    if directory is not None:
        where = (shown if shown is not None else str(directory)).rstrip("/")
        for path in sorted(directory.glob("*.yaml")):
            if path.stem in files:
                result.notes.append(
                    f"{where}/{path.name} replaces the built-in profile {path.stem!r}"
                )
            files[path.stem] = (path, f"{where}/{path.name}")
    loaded: list[_File] = []
    for path, source in files.values():
        result.files += 1
        try:
            profile = load_profile(path, source)
        except ProfileError as exc:
            result.problems.extend(_schema_problems(str(exc), source))
            continue
        loaded.append(_File(source, profile, load_marked(path, source)))
    for file in loaded:
        result.problems.extend(_profile_problems(file))
    result.problems.extend(_meta_problems(loaded))
    result.problems.sort()
    return result


def _schema_problems(text: str, source: str) -> Iterator[Problem]:
    for line in text.splitlines():
        match = _WHERE.match(line)
        if match is None:
            yield Problem(source, 1, 1, f"schema: {line}")
        else:
            file, row, col, message = match.groups()
            yield Problem(file, int(row), int(col), f"schema: {message}")


def _specs(profile: Profile) -> Iterator[tuple[Path_, MetricSpec, TableSpec | None]]:
    for i, metric in enumerate(profile.metrics):
        yield ("metrics", i), metric, None
    for t, table in enumerate(profile.tables):
        for i, metric in enumerate(table.metrics):
            yield ("tables", t, "metrics", i), metric, table


def _profile_problems(file: _File) -> Iterator[Problem]:
    profile = file.profile
    for t, spec in enumerate(profile.tables):
        for label in spec.labels:
            path: Path_ = ("tables", t, "labels", label)
            if label in BASE_LABELS:
                yield file.at(
                    path, f"label-clash: {label!r} is set by netmon from the inventory", key=True
                )
            elif not _LABEL_NAME.match(label) or label.startswith("__"):
                yield file.at(path, f"label-clash: {label!r} is not a label name", key=True)
    seen: dict[tuple[object, ...], Path_] = {}
    for path, metric, table in _specs(profile):
        problem = unit_problem(metric.name, counter=metric.type == "counter")
        if problem is not None:
            yield file.at((*path, "name"), problem)
        yield from _label_problems(file, path, metric, table)
        table_labels = frozenset(table.labels) if table is not None else frozenset()
        table_labels |= {PEER_LABEL} if metric.per_peer else set()  # one series per peer
        signature = (metric.name, table_labels, frozenset(metric.labels.items()))
        first = seen.setdefault(signature, path)
        if first != path:
            where = file.doc.position((*first, "name"))
            yield file.at(
                (*path, "name"),
                f"duplicate-metric: {metric.name} is already defined at {where} with the "
                "same labels: two series would share one label set",
            )


def _label_problems(
    file: _File, path: Path_, metric: MetricSpec, table: TableSpec | None
) -> Iterator[Problem]:
    taken = {label: "netmon (inventory)" for label in BASE_LABELS}
    if table is not None:
        taken.update(dict.fromkeys(table.labels, f"table {table.name}"))
    for kind, names in (("labels", metric.labels), ("info", metric.info or {})):
        for label in names:
            where: Path_ = (*path, kind, label)
            if label in taken:
                yield file.at(
                    where,
                    f"label-clash: {metric.name} sets {label!r} twice ({kind} here, "
                    f"and {taken[label]})",
                    key=True,
                )
            elif not _LABEL_NAME.match(label) or label.startswith("__"):
                yield file.at(where, f"label-clash: {label!r} is not a label name", key=True)
            taken[label] = f"its {kind}"


def _meta_problems(loaded: list[_File]) -> Iterator[Problem]:
    first: dict[str, tuple[str, str, str]] = {
        m.name: ("the SNMP collector's own metric", m.help, m.type.value) for m in BASE_META
    }
    for file in loaded:
        for path, metric, _table in _specs(file.profile):
            where = str(file.doc.position((*path, "name")))
            known = first.setdefault(metric.name, (where, metric.help, metric.type))
            if known[1] != metric.help:
                yield file.at(
                    (*path, "help"),
                    f"help-mismatch: HELP of {metric.name} differs from the one at {known[0]} "
                    f"({known[1]!r}); one metric has one HELP",
                )
            if known[2] != metric.type:
                yield file.at(
                    (*path, "type"),
                    f"type-mismatch: {metric.name} is a {metric.type} here and a {known[2]} "
                    f"at {known[0]}",
                )
