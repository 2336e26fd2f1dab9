"""What a profile says about its values and tables: columns and their types, sources and
their scaling, ``where`` conditions, metrics, and tables, station tables (``peers``) among
them. The profile itself, and reading profile files, is :mod:`collectors.snmp.profile`;
the names here that other modules import from there can still be imported from there.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from collectors.snmp import refs
from netmon.api import MetricName

#: the label of per_peer series: the inventory's id of the peer device (never its MAC)
PEER_LABEL = "peer"
_OID = re.compile(r"^\d+(\.\d+)+$")

#: integer32: signed per the MIB; an agent that sends it as an unsigned Gauge32
#: (4294967168 for -128) is read as the MIB defines it
ValueKind = Literal[
    "gauge", "integer32", "counter32", "counter64", "timeticks", "string", "oid", "number_text"
]


class ProfileModel(BaseModel):
    """The model of every part of a profile: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _numeric_oid(value: str) -> str:
    value = value.lstrip(".")
    if not _OID.match(value):
        msg = f"not a numeric OID: {value!r}"
        raise ValueError(msg)
    return value


#: a numeric OID; a leading dot is dropped
Oid = Annotated[str, AfterValidator(_numeric_oid)]


class Column(ProfileModel):
    oid: Oid
    type: ValueKind = "gauge"
    counts: Literal["bytes", "packets"] | None = None
    """what a counter32 column counts, so a wrap can be told from a clear by the line's speed:
    bytes, or packets (at most speed/64 a second); unknown = any decrease is ambiguous
    """
    slow: bool = False
    """changes rarely (names, descriptions): walked again only on the slow refresh period, a
    reboot, an ifNumber change or a new row; other polls reuse the last walk
    """


class Condition(ProfileModel):
    """A device fact that picks a source: firmware, sysObjectID, sysDescr, any scalar.

    ``fact`` names a scalar of one of the device's profiles (sysDescr,
    dot11manufacturerProductVersion, ...) or a device_info key (firmware,
    model, vendor, sys_object_id); ``matches`` is a regular expression
    searched in its text. The last known value of a fact is kept, so a
    poll that loses the scalar does not flip the unit.
    """

    fact: str
    matches: str

    @field_validator("matches")
    @classmethod
    def _regex(cls, value: str) -> str:
        return regex(value)


def regex(value: str) -> str:
    """``value``, if it is a regular expression; else the ValueError pydantic reports."""
    try:
        re.compile(value)
    except re.error as exc:
        msg = f"not a regular expression: {value!r}: {exc}"
        raise ValueError(msg) from None
    return value


def _regex(value: str | None) -> str | None:
    return None if value is None else regex(value)


class Where(ProfileModel):
    """A condition on a value of the row (or scalar): the row is used only when it holds."""

    model_config = ConfigDict(populate_by_name=True)

    column: str
    in_: list[float] | None = Field(default=None, alias="in")
    """the value is one of these numbers (ENTITY-SENSOR-MIB entPhySensorType: 6 watts)"""
    matches: Annotated[str | None, AfterValidator(_regex)] = None
    """a regular expression found in the value's text (entPhysicalDescr: "Receive")"""
    absent_ok: bool = False
    """a row without the column passes (an agent that does not fill an optional column)"""

    @model_validator(mode="after")
    def _one_test(self) -> Where:
        if (self.in_ is None) == (self.matches is None):
            msg = "a where condition takes one of: in, matches"
            raise ValueError(msg)
        return self


class Exp10(ProfileModel):
    """A power of ten taken from a column: the value is multiplied by 10^(times x column +
    plus). ENTITY-SENSOR-MIB: scale (yocto(1)..units(9)..yotta(17)) is
    {times: 3, plus: -27}, precision (decimal places) is {times: -1}."""

    column: str
    times: int = 1
    plus: int = 0


class Source(ProfileModel):
    """One place a value may come from, with its scaling."""

    column: str
    scale: float = 1.0
    times: str | None = None
    """multiply by another column of the same row (hrStorageSize x AllocationUnits)"""
    exp10: list[Exp10] = Field(default_factory=list)
    """multiply by powers of ten read from the row (a per-row scale and precision)"""
    to_dbm: bool = False
    """the value, scaled, is in watts: exported as dBm (10 log10(W / 1 mW)); 0 W or less is
    dropped (implausible)"""
    when: Condition | None = None
    """use this source only on devices whose fact matches (units that depend on firmware)"""
    where: list[Where] = Field(default_factory=list)
    """use this source only on rows where these hold (a unit that depends on the row)"""

    def columns(self) -> list[str]:
        out = [self.column, *(e.column for e in self.exp10), *(w.column for w in self.where)]
        return out + ([self.times] if self.times else [])


class MetricSpec(ProfileModel):
    name: MetricName
    type: Literal["gauge", "counter"] = "gauge"
    help: str
    value: list[Source] = Field(default_factory=list)
    """sources tried in order; the first present in the row wins"""
    map: dict[str, float] | None = None
    """numeric value -> exported value; "default" for anything else"""
    sentinels: list[float] = Field(default_factory=list)
    """raw values that mean "no reading": dropped and counted, never exported"""
    labels: dict[str, str] = Field(default_factory=dict)
    """extra fixed labels (e.g. stat: min)"""
    info: dict[str, str] | None = None
    """info-style metric: value 1, labels from these references"""
    aggregate: Literal["count", "min", "max", "median", "sum"] | None = None
    """aggregate over rows that share the table's labels"""
    uptime: bool = False
    """this value is the device uptime: feed reboot detection"""
    where: list[Where] = Field(default_factory=list)
    """only rows where every condition holds give this metric (ENTITY-SENSOR-MIB: the
    sensor type); aggregates and counts go over those rows"""
    per_peer: bool = False
    """one series per row whose station is a backhaul peer named in the inventory (the
    table's ``peers``), labelled peer=<its device id>; other rows give none (DESIGN:
    privacy and cardinality)"""

    def columns(self) -> list[str]:
        """The columns (or scalars) this metric reads, info labels aside."""
        return [c for s in self.value for c in s.columns()] + [w.column for w in self.where]

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
        if self.per_peer and (self.aggregate or self.info is not None or PEER_LABEL in self.labels):
            msg = f"a per_peer metric is one value per peer: no aggregate, info, {PEER_LABEL} label"
            raise ValueError(msg)
        return self


class PeerMatch(ProfileModel):
    """How a row of a station (registration) table names its station, to find it among the
    device's radio-link peers of the inventory: by the peer's ``radio_mac`` or address."""

    model_config = ConfigDict(populate_by_name=True)

    match: str
    """"@index", "@index.NAME" (that part of the instance index: ubntStaMac, mtxrWlRtabAddr)
    or a column (ubntStaLastIp)"""
    as_: Literal["mac", "ip"] = Field(alias="as")
    """a MAC address (6 arcs, 6 bytes or hex text) or an IP address (4 arcs or text)"""

    def column(self) -> str | None:
        return None if self.match.startswith("@") else self.match


class IndexPart(ProfileModel):
    name: str
    length: int | None = Field(default=None, ge=1)
    """number of sub-identifiers; None = the rest"""


class TableSpec(ProfileModel):
    name: str
    walk: list[str]
    """subtrees to walk; columns must sit directly under one of them (root.N)"""
    columns: dict[str, Column]
    index: list[IndexPart] = Field(default_factory=lambda: [IndexPart(name="index")])
    labels: dict[str, str] = Field(default_factory=dict)
    """label name -> reference: "colA|colB" (first non-empty), "@index", "@index.NAME",
    "@ifname(index.NAME)" (ifName of that ifIndex, from the if_mib table of this poll)
    """
    unique_label: str | None = None
    """make this label unique per row by appending #index to duplicates"""
    interfaces: bool = False
    """this table defines ifIndex -> ifname for @ifname() look-ups"""
    line_speed: list[Source] = Field(default_factory=list)
    """the row's line speed in bytes per second (first present and non-zero source): what a
    32-bit counter of the row could have carried decides wrap or clear
    """
    discontinuity: str | None = None
    """a TimeTicks column that changes when the row's counters were reset
    (ifCounterDiscontinuityTime)
    """
    absent_when: dict[str, list[float]] = Field(default_factory=dict)
    """column -> raw values that mean "nothing here"; a row where every listed column holds one
    of its values (an SFP cage with no module) yields no series at all
    """
    require: list[str] = Field(default_factory=list)
    """labels that must not be empty: a row where one is (a board sensor in a table of port
    sensors, no interface found) yields no series at all"""
    key: str | None = None
    """a reference, resolved per row: the key @lookup() of later tables finds this table's
    rows by (default: the instance index). entAliasMappingTable: "@index.entity"."""
    peers: PeerMatch | None = None
    """a station table: how a row names its station; rows of backhaul peers named in the
    inventory give the ``per_peer`` metrics, the others none"""
    metrics: list[MetricSpec]

    @field_validator("line_speed", mode="before")
    @classmethod
    def _speed_sources(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        return [{"column": v} if isinstance(v, str) else v for v in items]

    @field_validator("walk", mode="before")
    @classmethod
    def _walk(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        return [str(v).lstrip(".") for v in items]

    def column_refs(self, *, per_peer: bool = True) -> list[str]:
        """Every column the table's metrics, labels and rules read (without ``per_peer``:
        but the ones only its per_peer metrics and peers read)."""
        out = [c for m in self.metrics if per_peer or not m.per_peer for c in m.columns()]
        label_refs = [*(r for m in self.metrics for r in (m.info or {}).values())]
        label_refs += [*self.labels.values(), *([self.key] if self.key else [])]
        out += [c for ref in label_refs for c in refs.columns(ref)]
        out += [s.column for s in self.line_speed] + list(self.absent_when)
        out += [c for c in [self.peers.column() if self.peers and per_peer else None] if c]
        return out + ([self.discontinuity] if self.discontinuity else [])

    @model_validator(mode="after")
    def _columns_under_walk(self) -> TableSpec:
        for name, col in self.columns.items():
            parent, _, last = col.oid.rpartition(".")
            if parent not in self.walk or not last.isdigit():
                msg = f"column {name} ({col.oid}) is not directly under a walked subtree"
                raise ValueError(msg)
        for column in self.column_refs():
            if column not in self.columns:
                msg = f"unknown column {column!r}"
                raise ValueError(msg)
        for label in self.require:
            if label not in self.labels:
                msg = f"require: {label!r} is not a label of the table"
                raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _peers(self) -> TableSpec:
        if (self.peers is None) == any(m.per_peer for m in self.metrics):
            msg = "per_peer metrics and the table's peers: {match: ..., as: mac|ip} go together"
            raise ValueError(msg)
        match = self.peers.match if self.peers else "@index"
        parts = [p.name for p in self.index]
        if match not in ("@index", *(f"@index.{p}" for p in parts)) and match.startswith("@"):
            msg = f"peers.match: {match!r} is not @index, @index.NAME ({parts}) or a column"
            raise ValueError(msg)
        if self.peers and PEER_LABEL in self.labels:
            msg = f"label {PEER_LABEL!r} is the one per_peer metrics add"
            raise ValueError(msg)
        if self.peers is not None:
            _private(self, self.peers)
        return self


def _private(table: TableSpec, peers: PeerMatch) -> None:
    """DESIGN's privacy rule in a station table: a row is one station (a phone on a public
    access point), and its index or match column names it (the MAC). So every metric is an
    aggregate over the rows (by labels that group stations: the radio, the interface) or
    per_peer; nothing is one series per row (an info metric is), and no label or key reads
    the station's identity. Otherwise rows share a label set, and the identity rule makes
    them unique by appending the index, the MAC, to a label."""
    parts = [p.name for p in table.index]
    if peers.match == "@index" and len(parts) > 1:
        msg = (
            f"peers.match: '@index' is the whole index ({', '.join(parts)}), never one MAC or "
            "address: name the station's part, @index.NAME"
        )
        raise ValueError(msg)
    for number, metric in enumerate(table.metrics):
        if metric.info is not None or not (metric.aggregate or metric.per_peer):
            msg = (
                f"metrics.{number} ({metric.name}): a table with peers gives aggregate and "
                "per_peer metrics only (no info): one series per row is one per station, a "
                "per-client series (DESIGN: privacy)"
            )
            raise ValueError(msg)
    refs_of = [(f"labels.{n}", r) for n, r in table.labels.items()]
    for where, ref in [*refs_of, *([("key", table.key)] if table.key else [])]:
        if _names_station(ref, peers, parts):
            msg = (
                f"{where}: {ref!r} reads what names the station (@index, {peers.match}): in "
                "a table with peers the MAC or address never becomes a label or key (DESIGN: "
                "privacy)"
            )
            raise ValueError(msg)
    for key, wanted in (("unique_label", table.unique_label), ("interfaces", table.interfaces)):
        if wanted:
            msg = f"{key}: not in a table with peers (it would put the index, a MAC, in a label)"
            raise ValueError(msg)


def _names_station(ref: str, peers: PeerMatch, parts: list[str]) -> bool:
    """Does ``ref`` read the whole index, the index part the station is matched by, or the
    match column (also as the key of @ifname, @lookup or @match)?"""
    column = peers.column()
    part = parts[0] if peers.match == "@index" else peers.match.removeprefix("@index.")
    station = {("index", ""), ("column", column) if column else ("part", part)}
    kinds = {"index": "index", "index_part": "part", "column": "column"}
    for got in refs.parse(ref):
        if got.kind in kinds and (kinds[got.kind], got.arg) in station:
            return True
        if got.key is not None and (got.key.kind, got.key.name) in station:
            return True
    return False
