"""ISP contracts as data: which sites an ISP serves under which contract, what it
promised them each month, and what does not count against it.

Contract files sit beside the site files (netmon.yaml ``contracts:``, globs) and are
validated like them, every problem at ``file:line:col``: unknown sites or circuits, a
site in two contracts whose periods overlap (a month's outage would count against two
ISPs, or twice against one), a start after the end, a duplicate id. Circuits are
resolved here, once, to the sites whose ``isp.circuit_id`` they name, so the monthly
report and the exported series work with sites only.
"""

from __future__ import annotations

import glob
import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from netmon.config.validate import validate
from netmon.config.yamlmarks import ConfigError, ConfigErrors, MarkedDoc, PathKey
from netmon.inventory import Inventory
from netmon.schema import Id, Strict

#: what may be left out of an ISP's figures: an outage caused by the site's power (a flat
#: battery), one during a declared PLN cut, one in maintenance, time netmon was blind
Exclusion = Literal["power", "power_cut", "maintenance", "monitoring_stale"]
EXCLUSIONS: tuple[Exclusion, ...] = ("power", "power_cut", "maintenance", "monitoring_stale")


class Targets(Strict):
    """Monthly targets of a contract, per site; a target left out is not judged."""

    availability: float | None = Field(default=None, ge=0, le=1)
    """share of the month the site must be up, 0..1 (0.99: 99 %)"""
    rtt_p95_ms: float | None = Field(default=None, gt=0)
    """the month's 95th percentile of the round-trip time must stay below this, in ms"""
    loss_ratio: float | None = Field(default=None, ge=0, le=1)
    """the month's packet loss must stay below this ratio, 0..1 (0.01: 1 %)"""
    throughput_ratio: float | None = Field(default=None, ge=0, le=1)
    """the month's mean delivered throughput over the contracted bandwidth must reach this,
    0..1 (0.8: 80 %); measured by the sites' throughput checks (service kind, a scheduled
    download), not judged where a site has none"""


class Penalty(Strict):
    """One row of a penalty table: availability below ``below`` costs ``percent``."""

    below: float = Field(ge=0, le=1)
    """availability (0..1) under which this penalty applies"""
    percent: float = Field(ge=0, le=100)
    """the share of the monthly fee withheld, in percent"""


class ContractConfig(Strict):
    """One ISP contract as written in a contract file."""

    id: Id
    """the contract's id, unique over all contract files (lower case, digits and -)"""
    isp: str = Field(min_length=1)
    """the ISP's name as the report shows it, e.g. Telkom Indonesia"""
    title: str = Field(min_length=1)
    """the contract's title as the report shows it"""
    start: date
    """first day of the contract (inclusive), a local date in the sites' zone: 2026-01-01"""
    end: date
    """last day of the contract (inclusive)"""
    measured_at: Literal["router", "cpe"]
    """where the service is measured: the village router, or the ISP's CPE device"""
    bandwidth_mbps: float = Field(gt=0)
    """contracted bandwidth per site, in Mbit/s"""
    sites: list[Id] = Field(default_factory=list)
    """sites the contract covers (ids from the site files)"""
    circuits: list[str] = Field(default_factory=list)
    """circuits the contract covers: each stands for the sites whose isp.circuit_id it is"""
    targets: Targets = Targets()
    """the monthly targets per site"""
    excludes: list[Exclusion] = Field(default_factory=lambda: list(EXCLUSIONS))
    """what does not count against the ISP: power (an outage caused by the site's power),
    power_cut (during a declared PLN cut), maintenance (inventory flag or silence),
    monitoring_stale (netmon was blind); default all four"""
    penalties: list[Penalty] = Field(default_factory=list)
    """the penalty table, if the contract has one: rows sorted by below, descending"""

    @field_validator("excludes")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        twice = sorted({x for x in value if value.count(x) > 1})
        if twice:
            msg = f"listed more than once: {', '.join(twice)}"
            raise ValueError(msg)
        return value

    @field_validator("penalties")
    @classmethod
    def _descending(cls, value: list[Penalty]) -> list[Penalty]:
        belows = [p.below for p in value]
        if any(a <= b for a, b in itertools.pairwise(belows)):
            msg = "penalty rows must be sorted by below, descending, each below once"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _covers_something(self) -> ContractConfig:
        if not self.sites and not self.circuits:
            msg = "a contract covers sites or circuits: give at least one of them"
            raise ValueError(msg)
        return self


class ContractFile(Strict):
    """A contract file: the ISP contracts it holds."""

    contracts: list[ContractConfig] = Field(default_factory=list)
    """the contracts"""


@dataclass(frozen=True, slots=True)
class Contract:
    """A validated contract, its circuits resolved to sites."""

    id: str
    isp: str
    title: str
    start: date
    end: date
    measured_at: str
    bandwidth_mbps: float
    #: the sites it covers: those listed, then those its circuits resolved to
    sites: tuple[str, ...]
    targets: Targets
    excludes: frozenset[str]
    #: (below, percent), below descending
    penalties: tuple[tuple[float, float], ...]
    #: the contract file, as errors name it
    source: str

    @property
    def bandwidth_bytes(self) -> float:
        """The contracted bandwidth in bytes per second (base units, like the series)."""
        return self.bandwidth_mbps * 1_000_000 / 8

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


def contract_files(patterns: Iterable[str], base: Path) -> list[Path]:
    """The files the globs match (relative ones relative to ``base``), each once."""
    found: list[Path] = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        found.extend(Path(p) for p in sorted(glob.glob(full, recursive=True)))
    return list(dict.fromkeys(found))


@dataclass(slots=True)
class _Placed:
    config: ContractConfig
    doc: MarkedDoc
    path: PathKey
    #: site -> where the contract names it (its sites or circuits entry)
    sites: dict[str, PathKey]


def load_contracts(
    patterns: Sequence[str],
    base: Path,
    inventory: Inventory,
    read: Callable[[Path], MarkedDoc],
    errors: list[ConfigError],
    check_references: bool = True,
) -> dict[str, Contract]:
    """Every contract of the files the globs match, by id; problems go to ``errors``.

    ``read``: how the loader reads a YAML file (within its load budget);
    ``check_references``: False when the site files have errors of their own (an
    unknown site would then only be a phantom)."""
    placed: dict[str, _Placed] = {}
    for file in contract_files(patterns, base):
        try:
            doc = read(file)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        model = validate(ContractFile, doc, errors)
        if model is None:
            continue
        for i, config in enumerate(model.contracts):
            path: PathKey = ("contracts", i)
            if config.id in placed:
                first = placed[config.id]
                where = first.doc.position((*first.path, "id"))
                message = f"duplicate contract id {config.id!r} (first at {where})"
                errors.append(doc.error((*path, "id"), message))
                continue
            if config.start > config.end:
                errors.append(doc.error((*path, "end"), "the contract ends before it starts"))
            sites = _resolve(config, doc, path, inventory, errors if check_references else [])
            placed[config.id] = _Placed(config, doc, path, sites)
    if check_references:
        _overlaps(list(placed.values()), errors)
    return {cid: _contract(p) for cid, p in placed.items()}


def _resolve(
    config: ContractConfig,
    doc: MarkedDoc,
    path: PathKey,
    inventory: Inventory,
    errors: list[ConfigError],
) -> dict[str, PathKey]:
    """site -> where the contract names it; unknown sites and circuits are errors."""
    out: dict[str, PathKey] = {}
    for j, sid in enumerate(config.sites):
        at: PathKey = (*path, "sites", j)
        if sid not in inventory.sites:
            errors.append(doc.error(at, f"no site {sid!r} in the site files"))
            continue
        out.setdefault(sid, at)
    by_circuit: dict[str, list[str]] = {}
    for sid, site in inventory.sites.items():
        if site.isp_circuit:
            by_circuit.setdefault(site.isp_circuit, []).append(sid)
    for j, circuit in enumerate(config.circuits):
        at = (*path, "circuits", j)
        found = by_circuit.get(circuit)
        if not found:
            errors.append(doc.error(at, f"no site has isp.circuit_id {circuit!r}"))
            continue
        for sid in found:
            out.setdefault(sid, at)
    return out


def _overlaps(placed: list[_Placed], errors: list[ConfigError]) -> None:
    """A site in two contracts whose periods overlap is an error at the later one."""
    holder: dict[str, list[_Placed]] = {}
    for here in placed:
        for sid, at in here.sites.items():
            for other in holder.get(sid, []):
                a, b = here.config, other.config
                if a.start <= b.end and b.start <= a.end:
                    where = other.doc.position(other.sites[sid])
                    message = (
                        f"site {sid!r} is also in contract {b.id!r} ({where}) for an "
                        f"overlapping period ({b.start} to {b.end})"
                    )
                    errors.append(here.doc.error(at, message))
            holder.setdefault(sid, []).append(here)


def _contract(p: _Placed) -> Contract:
    c = p.config
    return Contract(
        id=c.id,
        isp=c.isp,
        title=c.title,
        start=c.start,
        end=c.end,
        measured_at=c.measured_at,
        bandwidth_mbps=c.bandwidth_mbps,
        sites=tuple(p.sites),
        targets=c.targets,
        excludes=frozenset(c.excludes),
        penalties=tuple((x.below, x.percent) for x in c.penalties),
        source=p.doc.file,
    )


def of_site(contracts: Mapping[str, Contract], site: str, day: date) -> Contract | None:
    """The contract that covers ``site`` on ``day`` (at most one: overlaps are refused)."""
    return next((c for c in contracts.values() if site in c.sites and c.covers(day)), None)
