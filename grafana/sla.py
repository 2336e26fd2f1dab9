"""Kabupaten SLA: availability over 1, 7 and 30 days, per kabupaten, site kind, uplink kind.

All figures come from the recorded per-site series (site:netmon_site_available:ratio*,
deploy/prometheus/rules/netmon-recording.yml): up or degraded counts as available,
unknown counts neither way, maintenance and declared power cuts are left out. They are
rolling windows; a calendar-month report in local time is a query with `@` (see the rules
file).
"""

from __future__ import annotations

from grafana import levels
from grafana import promql as q
from grafana.dashboard import dashboard
from grafana.noc import AVAILABILITY_STEPS
from grafana.panels import (
    GREEN,
    JSON,
    ORANGE,
    RED,
    Grid,
    Panel,
    override,
    site_link,
    stat,
    table,
    target,
    thresholds,
    timeseries,
)

WINDOWS = ("1d", "7d", "30d")
CELL = {"type": "color-background", "mode": "basic"}
MAINTENANCE = 'maintenance="true"'


def _site_ratio(window: str) -> str:
    return q.selected(f'site:netmon_site_available:ratio{window}{{site=~"$site"}}')


def _availability_overrides() -> list[JSON]:
    return [
        override(
            w,
            unit="percentunit",
            decimals=2,
            thresholds=AVAILABILITY_STEPS,
            custom__cellOptions=CELL,
        )
        for w in WINDOWS
    ]


def per_group_table(by: str, title: str, heading: str, description: str) -> Panel:
    per_site = f"max by (site, {by}) ({q.SITES})"
    if by == "uplink_kind":
        per_site = q.no_uplink_kind(per_site)
    sites = f"count by ({by}) ({per_site})"
    return table(
        title,
        description,
        [
            *(target(q.availability(w, by), table=True) for w in WINDOWS),
            target(sites, table=True),
        ],
        columns={
            by: heading,
            "Value #A": "1d",
            "Value #B": "7d",
            "Value #C": "30d",
            "Value #D": "Sites",
        },
        sort_by="30d",
        overrides=_availability_overrides(),
    )


def panels() -> Grid:
    g = Grid()
    g.add(
        stat(
            "Availability of the selected sites",
            "Share of time the selected sites were up or degraded over the last 1, 7 and "
            "30 days; every site weighs the same. Red below "
            f"{levels.AVAILABILITY_LOW:.0%}, green from {levels.AVAILABILITY_GOOD:.0%}.",
            [target(f"avg({_site_ratio(w)})", w, instant=True) for w in WINDOWS],
            unit="percentunit",
            decimals=3,
            steps=AVAILABILITY_STEPS,
        ),
        12,
        5,
    )
    g.add(
        stat(
            "Sites below target (30d)",
            f"Selected sites available less than {levels.AVAILABILITY_LOW:.0%} of the last "
            "30 days.",
            [
                target(
                    f"count({_site_ratio('30d')} < {levels.AVAILABILITY_LOW}) or vector(0)",
                    "sites",
                    instant=True,
                )
            ],
            steps=thresholds((GREEN, None), (ORANGE, 1), (RED, 5)),
        ),
        6,
        5,
    )
    g.add(
        stat(
            "Left out now: maintenance, declared power cuts",
            "Selected sites in maintenance (the inventory's flag, or an Alertmanager silence "
            "of whole sites), and sites inside a power cut PLN announced (power_cuts in the "
            "site files), now. Their time is left out of every figure here.",
            [
                target(
                    f"count(({q.sites(MAINTENANCE)}) or on (site) "
                    f"({q.selected(q.metric('netmon_site_silenced'))})) or vector(0)",
                    "maintenance",
                    instant=True,
                ),
                target(
                    f"count({q.selected(q.metric('netmon_site_power_cut_declared'))} == 1) "
                    "or vector(0)",
                    "power cut",
                    instant=True,
                ),
            ],
            color_mode="none",
        ),
        6,
        5,
    )
    g.add(
        per_group_table(
            "kabupaten",
            "Availability per kabupaten",
            "Kabupaten",
            "Availability of the selected sites per kabupaten over the last 1, 7 and 30 "
            "days, and how many sites count. The weakest kabupaten first.",
        ),
        24,
        7,
    )
    g.add(
        per_group_table(
            "kind",
            "Availability per site kind",
            "Site kind",
            "Availability per kind of site (village office, puskesmas, school, public "
            "area, government office, POP, NOC).",
        ),
        12,
        8,
    )
    g.add(
        per_group_table(
            "uplink_kind",
            "Availability per uplink kind",
            "Uplink",
            "Availability by the kind of the link a site hangs on (fibre, radio, VSAT, "
            "...; none = no link in the inventory): where the weak technology is.",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Availability per kabupaten, rolling day",
            "Each kabupaten's availability over the 24 hours before every point in time: "
            "a dip is an outage day.",
            [target(q.availability("1d", "kabupaten"), "{{kabupaten}}")],
            unit="percentunit",
            decimals=2,
            max=1,
            steps=AVAILABILITY_STEPS,
            threshold_style="dashed",
        ),
        24,
        8,
    )
    worst = f"bottomk(20, {_site_ratio('30d')})"
    g.add(
        table(
            "Weakest sites (30d)",
            "The 20 selected sites with the lowest availability over the last 30 days, "
            "with their 7-day and 1-day figures. Click a row for the site's dashboard.",
            [
                target(q.named(worst, "name, kabupaten, kind"), table=True),
                target(f"{_site_ratio('7d')} and on (site) {worst}", table=True),
                target(f"{_site_ratio('1d')} and on (site) {worst}", table=True),
            ],
            columns={
                "name": "Site",
                "kabupaten": "Kabupaten",
                "kind": "Kind",
                "Value #A": "30d",
                "Value #B": "7d",
                "Value #C": "1d",
                "site": "site",
            },
            sort_by="30d",
            overrides=_availability_overrides(),
            links=[site_link()],
        ),
        24,
        10,
    )
    return g


def build() -> JSON:
    return dashboard(
        "netmon-sla",
        "Site availability (SLA) over 1, 7 and 30 days per kabupaten, site kind and uplink "
        "kind, from the recorded availability series.",
        panels(),
    )
