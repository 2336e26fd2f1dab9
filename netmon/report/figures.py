"""A month's figures per site and contract, computed from the outage journal alone: pure
functions of contracts, outages, the month and the site's time zone (no I/O, no clock).

What counts against an ISP (issue 15's shared contract): an outage of a site in the
contract that overlaps the month and the contract period and is not excluded. An outage is
excluded as ``power`` (its cause is power: a flat village battery), ``power_cut`` (a
declared PLN cut overlapped it), ``maintenance`` (the site was in maintenance) or
``monitoring_stale`` (netmon itself was blind), each only when the contract lists that
reason in ``excludes``. A site unreachable behind another takes the reasons of its
root's outage too (the sites behind a flat village battery). Month and contract
boundaries are local midnights in the SITE's zone (WITA UTC+8, WIB UTC+7), so an outage
across the month's last midnight counts only its part inside the month. Availability =
1 - counted seconds / seconds of the month.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from netmon.schema import ZONES

#: the reasons an outage may be excluded, in the order the report names them
REASONS = ("power", "power_cut", "maintenance", "monitoring_stale")
DEFAULT_ZONE = "Asia/Makassar"


class TargetsLike(Protocol):
    @property
    def availability(self) -> float | None: ...
    @property
    def rtt_p95_ms(self) -> float | None: ...
    @property
    def loss_ratio(self) -> float | None: ...
    @property
    def throughput_ratio(self) -> float | None: ...


class ContractLike(Protocol):
    """What the report reads of netmon.config.contracts.Contract."""

    @property
    def id(self) -> str: ...
    @property
    def isp(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def measured_at(self) -> str: ...
    @property
    def bandwidth_mbps(self) -> float: ...
    @property
    def sites(self) -> tuple[str, ...]: ...
    @property
    def targets(self) -> TargetsLike: ...
    @property
    def excludes(self) -> frozenset[str]: ...
    @property
    def penalties(self) -> Sequence[tuple[float, float]]: ...


class OutageLike(Protocol):
    """What the report reads of netmon.status.journal.Outage."""

    @property
    def site(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def cause(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def state(self) -> str: ...
    @property
    def maintenance(self) -> bool: ...
    @property
    def power_cut(self) -> bool: ...
    @property
    def stale(self) -> bool: ...


def zone_of(name: str) -> timezone:
    """The fixed offset of an Indonesian zone name (no tz database needed)."""
    hours, abbrev = ZONES.get(name, ZONES[DEFAULT_ZONE])
    return timezone(timedelta(hours=hours), abbrev)


def parse_month(month: str) -> tuple[int, int]:
    """``2026-11`` -> (2026, 11); anything else is a ValueError naming the format."""
    try:
        year_s, mon_s = month.split("-")
        year, mon = int(year_s), int(mon_s)
    except ValueError:
        raise ValueError(f"not a month: {month!r} (use YYYY-MM, e.g. 2026-11)") from None
    if not (1 <= mon <= 12 and 2000 <= year <= 2200 and len(year_s) == 4):
        raise ValueError(f"not a month: {month!r} (use YYYY-MM, e.g. 2026-11)")
    return year, mon


def local_midnight(day: date, zone: str) -> float:
    """Unix seconds of 00:00 local time on ``day`` in ``zone``."""
    return datetime(day.year, day.month, day.day, tzinfo=zone_of(zone)).timestamp()


def contract_period(contract: ContractLike, zone: str) -> tuple[float, float]:
    """[start, end) of the contract in Unix seconds: its local dates, both inclusive."""
    return (
        local_midnight(contract.start, zone),
        local_midnight(contract.end + timedelta(days=1), zone),
    )


def month_bounds(month: str, zone: str) -> tuple[float, float]:
    """[start, end) of the month in Unix seconds, local midnights in ``zone``."""
    year, mon = parse_month(month)
    first = date(year, mon, 1)
    after = date(year + mon // 12, mon % 12 + 1, 1)
    return local_midnight(first, zone), local_midnight(after, zone)


def _applies(outage: OutageLike) -> dict[str, bool]:
    return {
        "power": outage.cause == "power",
        "power_cut": outage.power_cut,
        "maintenance": outage.maintenance,
        "monitoring_stale": outage.stale,
    }


def exclusion_reasons(
    outage: OutageLike, excludes: Iterable[str], root: OutageLike | None = None
) -> tuple[str, ...]:
    """The contract's reasons that exclude this outage ("" tuple: it counts). A site
    unreachable behind another takes the reasons of its root's outage too: the villages
    that share a village office's connection were cut off by its flat battery, not by
    the ISP; behind a cut ISP link they count, as the root's outage does."""
    applies = _applies(outage)
    inherited = _applies(root) if root is not None else {}
    allowed = set(excludes)
    return tuple(r for r in REASONS if (applies[r] or inherited.get(r, False)) and r in allowed)


def root_parts(
    outage: OutageLike, outages: Iterable[OutageLike]
) -> list[tuple[float, float, OutageLike | None]]:
    """``outage``'s span cut where its root's records begin and end, each part with the
    root's record over it: the journal writes a root's outage as parts (maintenance
    beginning, a declared cut's edge), so a site behind it takes each part's reasons for
    that part's time only. A part no root record covers (the site noticed a poll after
    its root) takes the nearest one's. One part with None: the site is its own root, or
    its root's outage is not known."""
    whole: list[tuple[float, float, OutageLike | None]] = [(outage.start, outage.end, None)]
    if outage.root == outage.site:
        return whole
    overlapping = (o for o in outages if o.site == outage.root and o.start < outage.end)
    roots = sorted((o for o in overlapping if outage.start < o.end), key=lambda o: (o.start, o.end))
    if not roots:
        return whole
    inside = {t for o in roots for t in (o.start, o.end) if outage.start < t < outage.end}
    edges = sorted({outage.start, outage.end, *inside})

    def nearest(a: float, b: float) -> OutageLike:
        return min(roots, key=lambda o: max(o.start - b, a - o.end, 0.0))

    parts: list[tuple[float, float, OutageLike | None]] = []
    for a, b in itertools.pairwise(edges):
        over = [o for o in roots if o.start < b and a < o.end]
        root = max(over, key=lambda o: min(o.end, b) - max(o.start, a)) if over else nearest(a, b)
        if parts and parts[-1][2] is root:
            parts[-1] = (parts[-1][0], b, root)
        else:
            parts.append((a, b, root))
    return parts or whole


def penalty_percent(availability: float, penalties: Sequence[tuple[float, float]]) -> float:
    """The table's percent for an availability: the highest percent of the rows whose
    ``below`` the availability falls under; 0 when none (or no table)."""
    hit = [percent for below, percent in penalties if availability < below]
    return max(hit, default=0.0)


@dataclass(frozen=True, slots=True)
class Clipped:
    """One outage as the month sees it: its part inside the month and contract period."""

    outage: OutageLike
    start: float  # clipped, Unix seconds
    end: float
    reasons: tuple[str, ...]  # why excluded; empty = counts against the ISP
    open: bool = False  # still going when the report was made

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def counts(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class SiteFigures:
    site: str
    contract: str  # "" for a site no contract covers (a kabupaten report lists it too)
    zone: str
    month_start: float
    month_end: float
    counted: tuple[Clipped, ...]
    excluded: tuple[Clipped, ...]
    availability: float
    target: float | None
    penalty: float  # percent; 0 without a table or when the target is met

    @property
    def month_seconds(self) -> float:
        return self.month_end - self.month_start

    @property
    def counted_seconds(self) -> float:
        return sum(c.seconds for c in self.counted)

    @property
    def excluded_seconds(self) -> float:
        return sum(c.seconds for c in self.excluded)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.availability >= self.target


def clip(
    outages: Iterable[OutageLike],
    window: tuple[float, float],
    excludes: Iterable[str],
    everyone: Sequence[OutageLike] = (),
) -> list[Clipped]:
    """The outages' parts inside ``window`` ([start, end)), each with its exclusion
    reasons (and its root's, found among ``everyone``). Where one site's outages overlap
    (a record written twice), the overlapped time is taken once, by the earlier one. An
    outage still open (``open`` true, its ``end`` the time of the report) is marked so."""
    lo, hi = window
    excludes = frozenset(excludes)
    parts: list[Clipped] = []
    for o in sorted(outages, key=lambda o: (o.start, o.end)):
        start, stop = max(o.start, lo), min(o.end, hi)
        if parts:
            start = max(start, parts[-1].end)
        if stop <= start:
            continue
        is_open = bool(getattr(o, "open", False))
        for a, b, root in root_parts(o, everyone):
            a, b = max(a, start), min(b, stop)
            if b <= a:
                continue
            reasons = exclusion_reasons(o, excludes, root)
            if parts and parts[-1].outage is o and parts[-1].reasons == reasons:
                parts[-1] = replace(parts[-1], end=b)  # the same reasons go on
            else:
                parts.append(Clipped(o, a, b, reasons, is_open))
    return parts


def site_figures(
    site: str,
    zone: str,
    month: str,
    outages: Iterable[OutageLike],
    contract: ContractLike | None,
) -> SiteFigures:
    """A site's month: the outages that count (against ``contract``'s ISP) and those
    excluded, its availability, target and penalty. Without a contract, every reason is
    an exclusion and there is no target."""
    lo, hi = month_bounds(month, zone)
    window = (lo, hi)
    if contract is not None:
        c_lo, c_hi = contract_period(contract, zone)
        window = (max(lo, c_lo), min(hi, c_hi))
    excludes = contract.excludes if contract is not None else frozenset(REASONS)
    everyone = list(outages)
    mine = [o for o in everyone if o.site == site]
    parts = clip(mine, window, excludes, everyone) if window[0] < window[1] else []
    counted = tuple(p for p in parts if p.counts)
    excluded = tuple(p for p in parts if not p.counts)
    availability = 1.0 - sum(p.seconds for p in counted) / (hi - lo)
    target = contract.targets.availability if contract is not None else None
    table = contract.penalties if contract is not None else ()
    return SiteFigures(
        site=site,
        contract=contract.id if contract is not None else "",
        zone=zone,
        month_start=lo,
        month_end=hi,
        counted=counted,
        excluded=excluded,
        availability=availability,
        target=target,
        penalty=penalty_percent(availability, table),
    )


def contract_overlaps(contract: ContractLike, month: str, zone: str) -> bool:
    """Whether the contract period shares any time with the month (in ``zone``)."""
    lo, hi = month_bounds(month, zone)
    c_lo, c_hi = contract_period(contract, zone)
    return c_lo < hi and lo < c_hi


def rules_model(contract: ContractLike, figures: SiteFigures) -> bool:
    """The recording rules speak for this contract's month: it leaves out every reason
    (as the rules do) and runs the whole month in the site's zone (the rules know no
    contract dates)."""
    if frozenset(contract.excludes) != frozenset(REASONS):
        return False
    start, end = contract_period(contract, figures.zone)
    return start <= figures.month_start and figures.month_end <= end


def mean_availability(figures: Sequence[SiteFigures]) -> float | None:
    """Every site weighs the same (like the kabupaten recording rules)."""
    return sum(f.availability for f in figures) / len(figures) if figures else None


def transitions_tolerance(figures: SiteFigures, scrape_interval: float) -> float:
    """How far the recording rules' availability may be from the journal's and still
    agree: one scrape interval per transition (each outage has two), as a ratio."""
    transitions = 2 * (len(figures.counted) + len(figures.excluded))
    return max(transitions, 1) * scrape_interval / figures.month_seconds


def by_site(contracts: Mapping[str, ContractLike]) -> dict[str, list[ContractLike]]:
    """site -> the contracts that cover it (a site may change contract between years)."""
    out: dict[str, list[ContractLike]] = {}
    for c in contracts.values():
        for s in c.sites:
            out.setdefault(s, []).append(c)
    return out
