"""SNMP profiles: vendor MIB mappings kept as YAML data.

A profile names scalars (fetched with one GET) and tables (GETBULK walks),
and maps their values onto metric names of the contract. Adding a vendor
means adding a YAML file under ``profiles/``, not code. See README.md for the
format; ``load_profiles`` validates every file strictly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

# the parts of a profile (NAME as NAME: other modules import it from here, as before)
from collectors.snmp.profile_tables import PEER_LABEL as PEER_LABEL
from collectors.snmp.profile_tables import IndexPart as IndexPart
from collectors.snmp.profile_tables import MetricSpec as MetricSpec
from collectors.snmp.profile_tables import Oid, ProfileModel, ValueKind, regex
from collectors.snmp.profile_tables import PeerMatch as PeerMatch
from collectors.snmp.profile_tables import TableSpec as TableSpec
from collectors.snmp.profile_tables import Where as Where
from netmon.api import ConfigErrors, MarkedDoc, MetricMeta, MetricType, load_marked

PROFILE_DIR = Path(__file__).parent / "profiles"


class ScalarSpec(ProfileModel):
    oid: Oid
    type: ValueKind = "gauge"
    first: bool = False
    """fetch the first row of this column instead of an exact instance"""
    slow: bool = False
    """changes rarely (sysDescr, model, firmware): fetched like a slow table column"""


class InfoSpec(ProfileModel):
    """A label of netmon_device_info filled from a scalar."""

    scalar: str | None = None
    literal: str | None = None
    enterprise: dict[int, str] | None = None
    """for sysObjectID: enterprise number -> name"""


class DetectRule(ProfileModel):
    """One way to recognise a device by what it says of itself (LibreNMS's OS detection):
    every key given must match; a profile is picked when any of its rules matches."""

    sys_object_id: list[Oid] = Field(default_factory=list)
    """sysObjectID is one of these or sits under one (enterprise 14988 matches 14988.1)"""
    sys_descr: list[str] = Field(default_factory=list)
    """regular expressions; one must be found in sysDescr"""

    @field_validator("sys_descr")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return [regex(pattern) for pattern in value]

    @model_validator(mode="after")
    def _not_empty(self) -> DetectRule:
        if not self.sys_object_id and not self.sys_descr:
            msg = "a detect rule needs sys_object_id or sys_descr"
            raise ValueError(msg)
        return self


class Profile(ProfileModel):
    name: str
    description: str
    detect: list[DetectRule] = Field(default_factory=list)
    """when a device that names no profiles gets this one; none: only when named"""
    verified: list[str] = Field(default_factory=list)
    """real recordings this profile was tested against ("model, firmware, recording");
    none: "not verified on a device" (data built from the MIB does not count)
    """
    scalars: dict[str, ScalarSpec] = Field(default_factory=dict)
    metrics: list[MetricSpec] = Field(default_factory=list)
    device_info: dict[str, InfoSpec] = Field(default_factory=dict)
    tables: list[TableSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> Profile:
        for metric in self.metrics:
            if metric.per_peer:
                msg = f"metric {metric.name}: per_peer is for metrics of a table with peers"
                raise ValueError(msg)
            for column in metric.columns():
                if column not in self.scalars:
                    msg = f"metric {metric.name}: unknown scalar {column!r}"
                    raise ValueError(msg)
        for key, info in self.device_info.items():
            if info.scalar is not None and info.scalar not in self.scalars:
                msg = f"device_info.{key}: unknown scalar {info.scalar!r}"
                raise ValueError(msg)
        return self

    def metric_meta(self) -> list[MetricMeta]:
        specs = [*self.metrics, *(m for t in self.tables for m in t.metrics)]
        return [MetricMeta(m.name, MetricType(m.type), m.help) for m in specs]


class ProfileError(Exception):
    """A profile file is broken; names the file, line, column and field."""


def _describe(source: str, exc: ValidationError, doc: MarkedDoc | None) -> str:
    lines = []
    for e in exc.errors(include_url=False):
        path = tuple(e["loc"])
        where = str(doc.position(path)) if doc is not None else source
        lines.append(f"{where}: {'.'.join(map(str, path))}: {e['msg']}")
    return "\n".join(lines)


def parse_profile(data: Any, source: str, doc: MarkedDoc | None = None) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(_describe(source, exc, doc)) from None


def load_profile(path: Path, source: str) -> Profile:
    """One profile file, validated; :class:`ProfileError` names file:line:col."""
    try:
        doc = load_marked(path, source)
    except ConfigErrors as exc:
        raise ProfileError(str(exc)) from None
    except RecursionError:
        raise ProfileError(f"{source}:1:1: nested too deeply to read") from None
    profile = parse_profile(doc.data, source, doc)
    if profile.name != path.stem:
        msg = f"{doc.position(('name',))}: name: {profile.name!r} must match the file name"
        raise ProfileError(msg)
    return profile


@dataclass(frozen=True, slots=True)
class Profiles:
    """Every profile file read: the valid ones, and each broken one's error."""

    valid: dict[str, Profile]
    broken: dict[str, str]


def load_dir(directory: Path, shown: str) -> Profiles:
    """Every ``*.yaml`` profile in a folder; ``shown`` is the folder as errors name it.

    A broken file stops only what uses it: the others load, and the broken
    one's error (file:line:col: field: message) is kept for whoever asks
    for that profile by name.
    """
    valid: dict[str, Profile] = {}
    broken: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            valid[path.stem] = load_profile(path, f"{shown}/{path.name}")
        except ProfileError as exc:
            broken[path.stem] = str(exc)
    return Profiles(valid, broken)


@cache
def load_builtin() -> Profiles:
    """The profiles shipped in profiles/*.yaml, read once per process."""
    return load_dir(PROFILE_DIR, "collectors/snmp/profiles")


def builtin_profiles() -> dict[str, Profile]:
    """The valid shipped profiles (see :func:`load_builtin` for the broken ones)."""
    return load_builtin().valid
