"""`/api/v1/report?month=YYYY-MM[&contract=ID][&kabupaten=NAME]`: the figures `netmon
report` computes, as JSON, from the running daemon's config, its outage journal and the
live status (outages still open end, for the answer, at the time of the request).

Journal figures only: the quality figures (RTT, loss, utilisation, throughput, the
recording rules' availability) need Prometheus and come from `netmon report
--prometheus`; here they are null. The journal is read in a worker thread (it is kept
for years and may be large), never on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from netmon.config import LoadedConfig
from netmon.report import assemble, sources
from netmon.report import figures as fig
from netmon.status.engine import StatusEngine
from netmon.status.journal import journal_file
from netmon.status.journal import read as read_journal

QUALITY_NOTE = (
    "journal figures only: RTT p95, loss, utilisation and throughput need Prometheus "
    "(netmon report --prometheus URL)"
)


def _error(message: str) -> web.Response:
    return web.json_response({"status": "error", "error": message}, status=400)


def open_outages(
    config: LoadedConfig, engine: StatusEngine | None, now: float
) -> list[assemble.OpenOutage]:
    """Outages still open now, from the live status (as sources.outages reads them from
    the state file)."""
    if engine is None:
        return []
    inventory = config.inventory.sites
    out: list[assemble.OpenOutage] = []
    for sid, st in engine.published.items():
        if not st.failed or sid not in inventory or st.since <= 0:
            continue
        out.append(assemble.open_outage(inventory[sid], st, now, sid in engine.silenced))
    return out


def _iso(ts: float, zone: str) -> str:
    return datetime.fromtimestamp(ts, fig.zone_of(zone)).isoformat()


def _outage(c: fig.Clipped, zone: str) -> dict[str, Any]:
    o = c.outage
    return {
        "root": o.root,
        "cause": o.cause,
        "link": o.link,
        "state": o.state,
        "start": _iso(c.start, zone),
        "end": _iso(c.end, zone),
        "seconds": round(c.seconds, 3),
        "open": c.open,
        "excluded_by": list(c.reasons),
    }


def _contract(c: fig.ContractLike) -> dict[str, Any]:
    t = c.targets
    return {
        "id": c.id,
        "isp": c.isp,
        "title": c.title,
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "measured_at": c.measured_at,
        "bandwidth_mbps": c.bandwidth_mbps,
        "targets": {
            "availability": t.availability,
            "rtt_p95_ms": t.rtt_p95_ms,
            "loss_ratio": t.loss_ratio,
            "throughput_ratio": t.throughput_ratio,
        },
        "excludes": sorted(c.excludes),
        "penalties": [{"below": b, "percent": p} for b, p in c.penalties],
    }


def _row(r: assemble.Row) -> dict[str, Any]:
    f, zone = r.figures, r.site.timezone
    return {
        "site": r.site.id,
        "name": r.site.name,
        "kabupaten": r.site.kabupaten,
        "kecamatan": r.site.kecamatan,
        "kind": r.site.kind,
        "timezone": fig.zone_of(zone).tzname(None),
        "contract": f.contract or None,
        "isp": r.contract.isp if r.contract is not None else None,
        "month_start": _iso(f.month_start, zone),
        "month_end": _iso(f.month_end, zone),
        "month_seconds": f.month_seconds,
        "counted_seconds": round(f.counted_seconds, 3),
        "excluded_seconds": round(f.excluded_seconds, 3),
        "availability": f.availability,
        "availability_target": f.target,
        "availability_met": f.met,
        "penalty_percent": f.penalty,
        # quality figures: Prometheus only (netmon report --prometheus)
        "rtt_p95_ms": None,
        "loss_ratio": None,
        "utilisation_p95": None,
        "hours_above_80": None,
        "throughput_mbps": None,
        "throughput_ratio": None,
        "outages_counted": [_outage(c, zone) for c in f.counted],
        "outages_excluded": [_outage(c, zone) for c in f.excluded],
    }


def report_json(report: assemble.Report) -> dict[str, Any]:
    figures = [r.figures for r in report.rows]
    under = [f for f in figures if f.contract]
    return {
        "scope": report.scope,
        "name": report.name,
        "month": report.month,
        "contracts": [_contract(c) for c in report.contracts],
        "summary": {
            "sites": len({r.site.id for r in report.rows}),
            "availability_mean": fig.mean_availability(under or figures),
            "targets_missed": sum(1 for f in figures if f.met is False),
            "outages_counted": sum(len(f.counted) for f in figures),
            "outages_excluded": sum(len(f.excluded) for f in figures),
            "counted_seconds": round(sum(f.counted_seconds for f in figures), 3),
        },
        "rows": [_row(r) for r in report.rows],
    }


def _build(
    config: LoadedConfig,
    opened: list[assemble.OpenOutage],
    query: Mapping[str, str],
    now: float,
) -> list[assemble.Report]:
    """Reads the journal: run in a worker thread (the live status is read before, on the
    event loop that changes it)."""
    path = journal_file(config)
    outages: list[fig.OutageLike] = []
    if path is not None:
        outages.extend(read_journal(path, 0.0, now + sources.MARGIN))
    outages.extend(opened)
    return assemble.build(
        query["month"],
        sources.sites(config),
        sources.contracts(config),
        outages,
        contract_id=query.get("contract"),
        kabupaten=query.get("kabupaten"),
    )


async def handle(
    request: web.Request, config: LoadedConfig | None, engine: StatusEngine | None
) -> web.Response:
    """The route's body; `make_app` passes the daemon's current config and status."""
    month = request.query.get("month")
    if not month:
        return _error("month is required: ?month=YYYY-MM (e.g. 2026-11)")
    try:
        fig.parse_month(month)
    except ValueError as exc:
        return _error(str(exc)[:200])
    if config is None:
        return web.json_response({"status": "error", "error": "starting"}, status=503)
    query = {k: request.query[k] for k in ("month", "contract", "kabupaten") if k in request.query}
    now = time.time()
    opened = open_outages(config, engine, now)
    try:
        reports = await asyncio.to_thread(_build, config, opened, query, now)
    except ValueError as exc:  # an unknown contract or kabupaten
        return _error(str(exc)[:500])
    return web.json_response(
        {
            "status": "success",
            "data": {
                "month": month,
                "quality": QUALITY_NOTE,
                "reports": [report_json(r) for r in reports],
            },
        }
    )
