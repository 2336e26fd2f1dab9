"""Site state as metrics, as JSON for /api/v1, and on disk across restarts."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netmon.api import Labels, MetricMeta, MetricType, Sample
from netmon.config import power_cuts
from netmon.config.contracts import Contract
from netmon.exposition import join_families, render_samples
from netmon.inventory import Inventory, Site
from netmon.status import contract_series
from netmon.status.engine import SiteState, StatusEngine

#: 2100-01-01 UTC: a saved ``since`` beyond it is not seconds (milliseconds, say)
LATEST_SINCE = 4_102_444_800.0
STATUSES = ("up", "degraded", "down", "unreachable", "unknown")

META = {
    m.name: m
    for m in (
        MetricMeta(
            "netmon_site_info",
            MetricType.GAUGE,
            "Site attributes from the inventory; join with * on(site) group_left(...).",
        ),
        MetricMeta(
            "netmon_site_status",
            MetricType.GAUGE,
            "Site state set: exactly one of up, degraded, down, unreachable, unknown is 1.",
        ),
        MetricMeta(
            "netmon_site_status_cause",
            MetricType.GAUGE,
            "Why a site is not up (device, uplink, power, link, unknown); upstream names "
            "the failed site at the top of the outage; when the cause is link, link names it "
            "and near_site/near_device/near_ifname its end on the parent's device.",
        ),
        MetricMeta(
            "netmon_site_status_since_timestamp_seconds",
            MetricType.GAUGE,
            "When the site's current status began (kept across netmon restarts).",
        ),
        MetricMeta(
            "netmon_site_root",
            MetricType.GAUGE,
            "For every site: root is the highest failed site above it, or itself.",
        ),
        MetricMeta(
            "netmon_outage_sites",
            MetricType.GAUGE,
            "Sites an open outage takes down, by its root (the root included).",
        ),
        MetricMeta(
            "netmon_site_power_cut_declared",
            MetricType.GAUGE,
            "1 during a power cut declared in the site files (PLN's announced outages), else "
            "0; only for sites with one declared. The SLA rules leave those minutes out.",
        ),
        MetricMeta(
            "netmon_site_silenced",
            MetricType.GAUGE,
            "1 for a site an active Alertmanager silence of whole sites covers: maintenance "
            "announced there instead of in the inventory (left out of the SLA too).",
        ),
        MetricMeta(
            "netmon_link_info",
            MetricType.GAUGE,
            "Links between device interfaces, from the inventory.",
        ),
        *contract_series.META.values(),
    )
}


def _site_labels(site: Site) -> Labels:
    return (
        ("site", site.id),
        ("name", site.name),
        ("kind", site.kind),
        ("kabupaten", site.kabupaten),
        ("kecamatan", site.kecamatan),
        ("network", site.network),
        ("lat", "" if site.lat is None else f"{site.lat:g}"),
        ("lon", "" if site.lon is None else f"{site.lon:g}"),
        ("uplink", site.uplinks[0] if site.uplinks else ""),
        ("uplink_kind", site.uplink_kind),
        ("timezone", site.timezone),
        ("contact_name", site.contact_name),
        ("contact_phone", site.contact_phone),
        ("isp", site.isp_name),
        ("isp_circuit", site.isp_circuit),
        ("maintenance", "true" if site.maintenance else "false"),
    )


def time_dependent(engine: StatusEngine, now: float) -> tuple[frozenset[str], frozenset[str]]:
    """What the site series show that no state change announces: the sites in a declared
    power cut now, and the silenced ones. A change of either needs a new render."""
    sites = engine.inventory.sites
    cut = frozenset(
        sid for sid in engine.power_cut_sites if power_cuts.active(sites[sid].power_cuts, now)
    )
    return cut, engine.silenced


def render(
    engine: StatusEngine,
    now: float | None = None,
    contracts: Mapping[str, Contract] | None = None,
) -> str:
    return join_families(META, [render_families(engine, now, contracts)])


def render_families(
    engine: StatusEngine,
    now: float | None = None,
    contracts: Mapping[str, Contract] | None = None,
) -> dict[str, str]:
    """The site series, rendered per family (joined with the targets' per scrape)."""
    now = time.time() if now is None else now
    samples: list[Sample] = []
    for sid in engine.inventory.exported_sites:
        samples.extend(site_samples(engine, sid, now))
    samples.extend(global_samples(engine, contracts))
    return render_samples(samples)


def site_samples(engine: StatusEngine, sid: str, now: float) -> list[Sample]:
    """One site's series: its attributes, status, cause, root (rendered per site, so a
    change re-renders that site, not the province)."""
    site = engine.inventory.sites[sid]
    state = engine.published[sid]
    base = (("site", sid),)
    samples = [Sample("netmon_site_info", _site_labels(site), 1.0)]
    if site.power_cuts:
        cut = 1.0 if power_cuts.active(site.power_cuts, now) else 0.0
        samples.append(Sample("netmon_site_power_cut_declared", base, cut))
    if sid in engine.silenced:
        samples.append(Sample("netmon_site_silenced", base, 1.0))
    samples.extend(
        Sample("netmon_site_status", (*base, ("status", s)), 1.0 if state.status == s else 0.0)
        for s in STATUSES
    )
    if state.status not in ("up", "unknown"):
        cause = (*base, ("cause", state.cause or "unknown"), ("upstream", state.upstream))
        samples.append(Sample("netmon_site_status_cause", cause + _link(engine, sid), 1.0))
    if state.since:
        samples.append(
            Sample("netmon_site_status_since_timestamp_seconds", base, round(state.since, 3))
        )
    samples.append(Sample("netmon_site_root", (*base, ("root", engine.root(sid))), 1.0))
    return samples


def global_samples(
    engine: StatusEngine, contracts: Mapping[str, Contract] | None = None
) -> list[Sample]:
    """The series of no one site: outages by root, the links, the contracts."""
    return [*outage_samples(engine), *config_samples(engine, contracts)]


def outage_samples(engine: StatusEngine) -> list[Sample]:
    """Sites taken down, by root: change with the sites' states."""
    return [
        Sample("netmon_outage_sites", (("root", root),), float(len(sites)))
        for root, sites in engine.outages().items()
    ]


def config_samples(
    engine: StatusEngine, contracts: Mapping[str, Contract] | None = None
) -> list[Sample]:
    """The links and the contracts: they change with the config only (rendered once per
    load: a link per site is 10,000 lines at every evaluation of a province)."""
    inv = engine.inventory
    samples = []
    for link in inv.links.values():
        if not (inv.exported(link.a.site) or inv.exported(link.b.site)):
            continue  # between two read-only ancestors: another shard exports it
        labels = (
            ("link", link.id),
            ("kind", link.kind),
            ("a_site", link.a.site),
            ("a_device", link.a.device),
            ("a_ifname", link.a.ifname),
            ("b_site", link.b.site),
            ("b_device", link.b.device),
            ("b_ifname", link.b.ifname),
        )
        samples.append(Sample("netmon_link_info", labels, 1.0))
    samples.extend(contract_series.samples(contracts or {}, inv))
    return samples


def _link(engine: StatusEngine, sid: str) -> Labels:
    """The link a site is down by, and its near end (where the alerts read its rx power
    and oper status): static per link, so no series churn."""
    state, uplink = engine.published[sid], engine.evidence.uplinks.get(sid)
    if not state.link or uplink is None or uplink.link != state.link:
        return ()
    near = uplink.near
    return (
        ("link", state.link),
        ("near_site", near.site),
        ("near_device", near.device),
        ("near_ifname", near.ifname),
    )


def link_json(engine: StatusEngine, sid: str) -> dict[str, Any] | None:
    """The link a site is down by, with what its near end reads now."""
    state, uplink = engine.published[sid], engine.evidence.uplinks.get(sid)
    if not state.link or uplink is None or uplink.link != state.link:
        return None
    now = engine.evidence.near_end(uplink).reading(engine.store)
    return {
        "id": uplink.link,
        "kind": uplink.kind,
        "near_end": uplink.end,
        "oper_up": now.oper_up,
        "rx_power_dbm": now.rx_power_dbm,
    }


def site_json(inventory: Inventory, engine: StatusEngine, sid: str) -> dict[str, Any]:
    site = inventory.sites[sid]
    state = engine.published[sid]
    return {
        "site": sid,
        "name": site.name,
        "kind": site.kind,
        "kabupaten": site.kabupaten,
        "kecamatan": site.kecamatan,
        "network": site.network,
        "status": state.status,
        "cause": state.cause or None,
        "upstream": state.upstream or None,
        "root": engine.root(sid),
        "since": state.since or None,
        "link": link_json(engine, sid),
        "maintenance": site.maintenance,
        "silenced": sid in engine.silenced,
        "power_cut_declared": power_cuts.active(site.power_cuts, time.time()),
        "location": None if site.lat is None else {"lat": site.lat, "lon": site.lon},
    }


def outages_json(engine: StatusEngine) -> list[dict[str, Any]]:
    """Open outages, the biggest first."""
    out = []
    outages = engine.outages()
    for root, sites in sorted(outages.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        state = engine.published[root]
        out.append(
            {
                "root": root,
                "name": engine.inventory.sites[root].name,
                "kabupaten": engine.inventory.sites[root].kabupaten,
                "status": state.status,
                "cause": state.cause or None,
                "link": link_json(engine, root),
                "since": state.since or None,
                "sites_affected": len(sites),
                "sites": sites,
            }
        )
    return out


def save(path: Path, engine: StatusEngine) -> None:
    """Atomically: a crash mid-write leaves the previous file, never half of one."""
    data = {
        "version": 1,
        "sites": {
            sid: {
                "status": s.status,
                "cause": s.cause,
                "upstream": s.upstream,
                "since": s.since,
                "link": s.link,
            }
            for sid, s in engine.published.items()
            if s.status != "unknown"
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, SiteState]:
    """The saved states; an absent or unreadable file is an empty start, never a crash."""
    try:
        data = json.loads(path.read_text())
        sites = data["sites"]
        states = {
            sid: SiteState(
                str(s["status"]),
                str(s["cause"]),
                str(s["upstream"]),
                float(s["since"]),
                str(s.get("link", "")),  # files from before links were named have none
            )
            for sid, s in sites.items()
            if s.get("status") in STATUSES
        }
        # a since that is not a time netmon could have written (NaN, milliseconds, a
        # zero) would be shown and alerted on as such: start that site afresh
        return {sid: st for sid, st in states.items() if 0 < st.since < LATEST_SINCE}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
