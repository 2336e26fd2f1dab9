"""Which reports a run makes and what goes in each: one per contract and one per
kabupaten (or just the one asked for), each a list of rows (site x contract) with the
journal's figures and, when Prometheus is given, its quality figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netmon.report import figures as fig
from netmon.report import prometheus as prom

if TYPE_CHECKING:
    from netmon.inventory import Site
    from netmon.status.engine import SiteState


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: str
    name: str
    kind: str
    kabupaten: str
    kecamatan: str
    timezone: str


@dataclass(frozen=True, slots=True)
class OpenOutage:
    """An outage still going when the report is made (from the state file): it ends,
    for the report, at the report's time."""

    site: str
    root: str
    cause: str
    link: str
    start: float
    end: float
    state: str
    maintenance: bool
    power_cut: bool
    stale: bool = False
    open: bool = True


def open_outage(site: Site, state: SiteState, now: float, silenced: bool = False) -> OpenOutage:
    """A site's outage still going at ``now`` (its published state), ending then."""
    return OpenOutage(
        site=site.id,
        root=state.upstream or site.id,
        cause=state.cause or "unknown",
        link=state.link,
        start=state.since,
        end=max(now, state.since),
        state=state.status,
        maintenance=site.maintenance or silenced,
        power_cut=any(a < now and state.since < b for a, b in site.power_cuts),
    )


@dataclass(frozen=True, slots=True)
class Row:
    site: SiteInfo
    contract: fig.ContractLike | None
    figures: fig.SiteFigures
    quality: prom.Quality | None = None

    @property
    def throughput_ratio(self) -> float | None:
        """Delivered throughput over the contracted bandwidth (Prometheus and a contract
        needed, and a throughput check at the site)."""
        q, c = self.quality, self.contract
        if q is None or q.throughput is None or c is None:
            return None
        return q.throughput * 8 / (c.bandwidth_mbps * 1_000_000)

    @property
    def throughput_met(self) -> bool | None:
        ratio = self.throughput_ratio
        target = self.contract.targets.throughput_ratio if self.contract is not None else None
        return None if ratio is None or target is None else ratio >= target

    def differs(self, scrape_interval: float) -> bool:
        """The recording rules' availability is further from the journal's than one
        scrape interval per transition (only known with Prometheus). The rules leave out
        what a contract leaves out by default (every reason) and know no contract dates:
        a contract that counts one of the reasons, or begins or ends inside the month, is
        judged by the journal alone; without a contract the site's rule counts a flat
        battery, so those outages are counted here too."""
        q, f = self.quality, self.figures
        if q is None or q.availability is None:
            return False
        journal = f.availability
        if self.contract is None:
            power = sum(p.seconds for p in f.excluded if p.reasons == ("power",))
            journal -= power / f.month_seconds
        elif not fig.rules_model(self.contract, f):
            return False
        return abs(q.availability - journal) > fig.transitions_tolerance(f, scrape_interval)


@dataclass(frozen=True, slots=True)
class Report:
    scope: str  # contract | kabupaten
    name: str  # the contract id or the kabupaten's name
    month: str
    contracts: tuple[fig.ContractLike, ...]
    rows: tuple[Row, ...]
    prometheus: bool  # quality figures were asked for
    scrape_interval: float = 30.0  # the allowed gap per transition, journal vs rules

    @property
    def slug(self) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.name.lower())
        return f"{self.scope}-{safe}"


def _rows(
    pairs: Iterable[tuple[SiteInfo, fig.ContractLike | None]],
    month: str,
    outages: Sequence[fig.OutageLike],
) -> list[Row]:
    return [
        Row(site, contract, fig.site_figures(site.id, site.timezone, month, outages, contract))
        for site, contract in pairs
    ]


def _with_quality(rows: list[Row], url: str | None, timeout: float) -> list[Row]:
    """Rows with Prometheus' figures, one set of queries per (contract, zone)."""
    if url is None:
        return rows
    groups: dict[tuple[str, str, float, float], list[str]] = {}
    for r in rows:
        key = (r.figures.contract, r.site.timezone, r.figures.month_start, r.figures.month_end)
        groups.setdefault(key, []).append(r.site.id)
    found: dict[tuple[str, str], prom.Quality] = {}
    for (contract, _zone, lo, hi), sites in groups.items():
        for site, q in prom.quality(url, sites, contract, lo, hi, timeout).items():
            found[(contract, site)] = q
    return [
        Row(r.site, r.contract, r.figures, found.get((r.figures.contract, r.site.id))) for r in rows
    ]


def build(
    month: str,
    sites: Mapping[str, SiteInfo],
    contracts: Mapping[str, fig.ContractLike],
    outages: Sequence[fig.OutageLike],
    *,
    contract_id: str | None = None,
    kabupaten: str | None = None,
    prometheus: str | None = None,
    timeout: float = 30.0,
    scrape_interval: float = 30.0,
) -> list[Report]:
    """The reports for the month: the asked contract or kabupaten, else every contract
    active in the month and every kabupaten with a site under contract. Raises
    ValueError for an unknown contract or kabupaten."""
    fig.parse_month(month)
    zone_any = next(iter(sites.values())).timezone if sites else fig.DEFAULT_ZONE
    active = {
        cid: c
        for cid, c in contracts.items()
        if any(fig.contract_overlaps(c, month, sites[s].timezone) for s in c.sites if s in sites)
        or (not c.sites and fig.contract_overlaps(c, month, zone_any))
    }
    if contract_id is not None and contract_id not in contracts:
        raise ValueError(f"no contract {contract_id!r} (known: {', '.join(sorted(contracts))})")
    kabs = sorted({s.kabupaten for s in sites.values()})
    if kabupaten is not None and kabupaten not in kabs:
        raise ValueError(f"no kabupaten {kabupaten!r} (known: {', '.join(kabs)})")
    covering = fig.by_site(active)
    reports: list[Report] = []
    wanted_contracts = (
        [contract_id] if contract_id is not None else [] if kabupaten else sorted(active)
    )
    for cid in wanted_contracts:
        c = contracts[cid]
        pairs = [(sites[s], c) for s in c.sites if s in sites]
        rows = _with_quality(_rows(pairs, month, outages), prometheus, timeout)
        reports.append(
            Report(
                "contract", cid, month, (c,), tuple(rows), prometheus is not None, scrape_interval
            )
        )
    wanted_kabs = [kabupaten] if kabupaten is not None else [] if contract_id else kabs
    for kab in wanted_kabs:
        in_kab = sorted((s for s in sites.values() if s.kabupaten == kab), key=lambda s: s.id)
        kab_pairs: list[tuple[SiteInfo, fig.ContractLike | None]] = []
        for s in in_kab:
            kab_pairs.extend((s, c) for c in covering.get(s.id, []))
        if not kab_pairs and kabupaten is None:
            continue  # a kabupaten with no contracted site gets no report of its own
        kab_pairs.extend((s, None) for s in in_kab if s.id not in covering)
        rows = _with_quality(_rows(kab_pairs, month, outages), prometheus, timeout)
        used = tuple(dict.fromkeys(c for _, c in kab_pairs if c is not None))
        reports.append(
            Report(
                "kabupaten", kab, month, used, tuple(rows), prometheus is not None, scrape_interval
            )
        )
    return reports
