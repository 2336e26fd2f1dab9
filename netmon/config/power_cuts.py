"""Declared power cuts: PLN's announced outages (pemadaman terjadwal) by kabupaten,
kecamatan or site, written in the site files so that the SLA figures leave them out.

A site on battery may well stay up through a short cut; one that goes dark during a
declared cut is still shown and alerted on as it is, but those minutes count neither
for nor against its availability (DESIGN: maintenance and declared power-cut windows
are excluded from SLA figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from pydantic import Field

from netmon.schema import ZONES, Id, Strict

#: a site's declared windows: (start, end) in Unix seconds, end exclusive
Windows = tuple[tuple[float, float], ...]


class PowerCutConfig(Strict):
    """One announced cut. Without kecamatan and sites it covers the whole file."""

    start: datetime
    """when the power goes: ISO 8601 such as 2026-11-24T08:00; without an offset it is the
    file's local time (its timezone), with one (+08:00) exactly that instant
    """
    end: datetime
    """when the power is back; after start"""
    kecamatan: list[str] = Field(default_factory=list)
    """the kecamatan it covers (as written on the sites)"""
    sites: list[Id] = Field(default_factory=list)
    """single sites of this file it covers, besides those kecamatan"""
    note: str = ""
    """what PLN announced, for whoever reads the config later"""


class Problem(NamedTuple):
    """A declared cut that does not fit its file, at ``path`` in the file."""

    path: tuple[str | int, ...]
    message: str


def _instant(when: datetime, zone: str) -> float:
    if when.tzinfo is None:
        hours = ZONES.get(zone, (0, "UTC"))[0]
        when = when.replace(tzinfo=timezone(timedelta(hours=hours)))
    return when.timestamp()


def resolve(
    cuts: Sequence[PowerCutConfig],
    zone: str,
    kecamatan_of: Mapping[str, str],
) -> tuple[dict[str, Windows], list[Problem]]:
    """Each site of one file (``kecamatan_of``: site id -> its kecamatan, "" if none)
    -> the windows that cover it; and what is wrong with the declared cuts."""
    problems: list[Problem] = []
    known = set(kecamatan_of.values()) - {""}
    covered: dict[str, list[tuple[float, float]]] = {sid: [] for sid in kecamatan_of}
    for i, cut in enumerate(cuts):
        start, end = _instant(cut.start, zone), _instant(cut.end, zone)
        at = ("power_cuts", i)
        bad = [
            Problem((*at, "kecamatan", j), f"no site of this file is in kecamatan {name!r}")
            for j, name in enumerate(cut.kecamatan)
            if name not in known
        ] + [
            Problem((*at, "sites", j), f"no site {sid!r} in this file")
            for j, sid in enumerate(cut.sites)
            if sid not in kecamatan_of
        ]
        if end <= start:
            bad.append(Problem((*at, "end"), "the power cut must end after it starts"))
        problems.extend(bad)
        if bad:
            continue
        whole = not cut.kecamatan and not cut.sites
        for sid, kec in kecamatan_of.items():
            if whole or sid in cut.sites or kec in cut.kecamatan:
                covered[sid].append((start, end))
    return {sid: tuple(sorted(w)) for sid, w in covered.items()}, problems


def active(windows: Windows, now: float) -> bool:
    return any(start <= now < end for start, end in windows)
