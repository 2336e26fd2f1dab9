"""SNMP profiles: vendor MIB mappings kept as YAML data.

A profile names scalars (fetched with one GET) and tables (GETBULK walks),
and maps their values onto metric names of the contract. Adding a vendor
means adding a YAML file under ``profiles/``, not code. See README.md for the
format; ``load_profiles`` validates every file strictly.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from netmon.api import MetricMeta, MetricName, MetricType

PROFILE_DIR = Path(__file__).parent / "profiles"
_OID = re.compile(r"^\d+(\.\d+)+$")

ValueKind = Literal["gauge", "counter32", "counter64", "timeticks", "string", "oid", "number_text"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _numeric_oid(value: str) -> str:
    value = value.lstrip(".")
    if not _OID.match(value):
        msg = f"not a numeric OID: {value!r}"
        raise ValueError(msg)
    return value


#: a numeric OID; a leading dot is dropped
Oid = Annotated[str, AfterValidator(_numeric_oid)]


class Column(_Strict):
    oid: Oid
    type: ValueKind = "gauge"


class Source(_Strict):
    """One place a value may come from, with its scaling."""

    column: str
    scale: float = 1.0
    #: multiply by another column of the same row (hrStorageSize x AllocationUnits)
    times: str | None = None


class MetricSpec(_Strict):
    name: MetricName
    type: Literal["gauge", "counter"] = "gauge"
    help: str
    #: sources tried in order; the first present in the row wins
    value: list[Source] = Field(default_factory=list)
    #: numeric value -> exported value; "default" for anything else
    map: dict[str, float] | None = None
    #: raw values that mean "no reading": dropped and counted, never exported
    sentinels: list[float] = Field(default_factory=list)
    #: extra fixed labels (e.g. stat: min)
    labels: dict[str, str] = Field(default_factory=dict)
    #: info-style metric: value 1, labels from these references
    info: dict[str, str] | None = None
    #: aggregate over rows that share the table's labels
    aggregate: Literal["count", "min", "max", "median", "sum"] | None = None
    #: this value is the device uptime: feed reboot detection
    uptime: bool = False

    @field_validator("value", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        # shorthand: "col" or ["a", "b"] or [{column: a, scale: 2}]
        items = value if isinstance(value, list) else [value]
        return [{"column": v} if isinstance(v, str) else v for v in items]

    @model_validator(mode="after")
    def _shape(self) -> MetricSpec:
        if self.info is None and not self.value and self.aggregate != "count":
            msg = "a metric needs value (or info, or aggregate: count)"
            raise ValueError(msg)
        if self.type == "counter" and not self.name.endswith("_total"):
            msg = "counter names end in _total"
            raise ValueError(msg)
        return self


class IndexPart(_Strict):
    name: str
    #: number of sub-identifiers; None = the rest
    length: int | None = Field(default=None, ge=1)


class TableSpec(_Strict):
    name: str
    #: subtrees to walk; columns must sit directly under one of them (root.N)
    walk: list[str]
    columns: dict[str, Column]
    index: list[IndexPart] = Field(default_factory=lambda: [IndexPart(name="index")])
    #: label name -> reference: "colA|colB" (first non-empty), "@index", "@index.NAME",
    #: "@ifname(index.NAME)" (ifName of that ifIndex, from the if_mib table of this poll)
    labels: dict[str, str] = Field(default_factory=dict)
    #: make this label unique per row by appending #index to duplicates
    unique_label: str | None = None
    #: this table defines ifIndex -> ifname for @ifname() look-ups
    interfaces: bool = False
    metrics: list[MetricSpec]

    @field_validator("walk", mode="before")
    @classmethod
    def _walk(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        return [str(v).lstrip(".") for v in items]

    @model_validator(mode="after")
    def _columns_under_walk(self) -> TableSpec:
        for name, col in self.columns.items():
            parent, _, last = col.oid.rpartition(".")
            if parent not in self.walk or not last.isdigit():
                msg = f"column {name} ({col.oid}) is not directly under a walked subtree"
                raise ValueError(msg)
        refs = [s.column for m in self.metrics for s in m.value]
        refs += [s.times for m in self.metrics for s in m.value if s.times]
        refs += [r for m in self.metrics for r in (m.info or {}).values()]
        refs += list(self.labels.values())
        for ref in refs:
            for part in ref.split("|"):
                if not part.startswith("@") and part not in self.columns:
                    msg = f"unknown column {part!r}"
                    raise ValueError(msg)
        return self


class ScalarSpec(_Strict):
    oid: Oid
    type: ValueKind = "gauge"
    #: fetch the first row of this column instead of an exact instance
    first: bool = False


class InfoSpec(_Strict):
    """A label of netmon_device_info filled from a scalar."""

    scalar: str | None = None
    literal: str | None = None
    #: for sysObjectID: enterprise number -> name
    enterprise: dict[int, str] | None = None


class Profile(_Strict):
    name: str
    description: str
    scalars: dict[str, ScalarSpec] = Field(default_factory=dict)
    metrics: list[MetricSpec] = Field(default_factory=list)
    device_info: dict[str, InfoSpec] = Field(default_factory=dict)
    tables: list[TableSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> Profile:
        for metric in self.metrics:
            for src in metric.value:
                if src.column not in self.scalars:
                    msg = f"metric {metric.name}: unknown scalar {src.column!r}"
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
    """A profile file is broken; names the file and the field."""


def parse_profile(data: Any, source: str) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{source}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise ProfileError("\n".join(lines)) from None


@cache
def builtin_profiles() -> dict[str, Profile]:
    """Every profile shipped in profiles/*.yaml, validated once per process."""
    out: dict[str, Profile] = {}
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        source = f"collectors/snmp/profiles/{path.name}"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ProfileError(f"{source}: {exc}") from None
        profile = parse_profile(data, source)
        if profile.name != path.stem:
            msg = f"{source}: name {profile.name!r} must match the file name"
            raise ProfileError(msg)
        out[profile.name] = profile
    return out
