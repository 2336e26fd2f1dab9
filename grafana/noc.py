"""NOC overview: the wall screen. Where is it broken, how big is it, what is fading."""

from __future__ import annotations

from grafana import levels
from grafana import promql as q
from grafana.dashboard import dashboard
from grafana.links import worst_links_table
from grafana.panels import (
    GREEN,
    JSON,
    ORANGE,
    RED,
    YELLOW,
    Grid,
    Panel,
    bargauge,
    geomap,
    override,
    site_link,
    stat,
    table,
    target,
    thresholds,
    timeseries,
    value_mappings,
)

#: East Kalimantan, where the example province's sites are
CENTER = (0.5, 116.6)

STATE_MAPPINGS = value_mappings({code: (text, color) for code, text, color in q.STATES.values()})
AVAILABILITY_STEPS = thresholds(
    (RED, None), (ORANGE, levels.AVAILABILITY_LOW), (GREEN, levels.AVAILABILITY_GOOD)
)
#: the outages that take down a selected site, by their root (the failed site at the
#: top): with kabupaten=Berau, a dead NOC core that cuts Berau off is one of Berau's
#: outages although the core is in Samarinda. With shards each exports its share of one
#: outage under the same root, so the shares are summed first.
OUTAGES = (
    "sum by (root) (netmon_outage_sites) and on (root) "
    f"group by (root) (netmon_site_root and on (site) {q.SITES})"
)
#: selected sites that are not up, valued by their state code
NOT_UP = q.selected(f"{q.state_code()} > 0")
NOT_UP_STATES = 'status!="up"'


def state_colors(cell: bool = False) -> list[JSON]:
    """One colour per state name (a legend entry or a column called up, down, ...)."""
    extra: JSON = {"custom__cellOptions": {"type": "color-text"}} if cell else {}
    return [
        override(text, color={"fixedColor": color, "mode": "fixed"}, **extra)
        for _code, text, color in q.STATES.values()
    ]


def outage_table() -> Panel:
    # the root may be outside the selection (a POP above the selected villages): its
    # name and since come from the unfiltered series
    names = q.as_label("max by (site, name, kabupaten) (netmon_site_info)", "root", "site")
    since = q.as_label("max by (site) (netmon_site_status_since_timestamp_seconds)", "root", "site")
    cause = q.as_label("max by (site, cause) (netmon_site_status_cause)", "root", "site")
    return table(
        "Open outages",
        "One row per open outage: the failed site at its top (root), how many sites it "
        "takes down (the root included), why, and for how long. Click a row for the root "
        "site's dashboard.",
        [
            target(
                f"max by (root) ({OUTAGES}) * on (root) group_left (name, kabupaten) {names}",
                table=True,
            ),
            target(f"time() - max by (root) ({since}) and on (root) ({OUTAGES})", table=True),
            target(f"max by (root, cause) ({cause}) and on (root) ({OUTAGES})", table=True),
        ],
        columns={
            "name": "Root site",
            "kabupaten": "Kabupaten",
            "cause": "Cause",
            "Value #A": "Sites down",
            "Value #B": "For",
            "root": "root",
        },
        sort_by="Sites down",
        descending=True,
        overrides=[
            override("For", unit="dtdurations"),
            override(
                "Sites down",
                thresholds=thresholds((ORANGE, None), (RED, 5)),
                custom__cellOptions={"type": "color-background", "mode": "basic"},
            ),
        ],
        links=[site_link("root")],
    )


def not_up_table() -> Panel:
    return table(
        "Sites not up",
        "Selected sites in any state but up, the worst state first: why (cause), the "
        "failed site above it (upstream, for unreachable sites) and for how long. Click a "
        "row for the site's dashboard.",
        [
            target(q.named(q.state_code() + " > 0", "name, kabupaten, kind"), table=True),
            target(
                f"time() - max by (site) "
                f"({q.metric('netmon_site_status_since_timestamp_seconds')}) "
                f"and on (site) ({NOT_UP})",
                table=True,
            ),
            target(
                f"max by (site, cause, upstream) ({q.metric('netmon_site_status_cause')}) "
                f"and on (site) ({NOT_UP})",
                table=True,
            ),
        ],
        columns={
            "name": "Site",
            "kabupaten": "Kabupaten",
            "kind": "Kind",
            "Value #A": "State",
            "cause": "Cause",
            "upstream": "Upstream",
            "Value #B": "For",
            "site": "site",
        },
        sort_by="State",
        descending=True,
        overrides=[
            override("For", unit="dtdurations"),
            override(
                "State",
                mappings=STATE_MAPPINGS,
                custom__cellOptions={"type": "color-background", "mode": "basic"},
            ),
        ],
        links=[site_link()],
    )


def panels() -> Grid:
    g = Grid()
    g.row("Province now")
    g.add(
        stat(
            "Sites by state",
            "How many of the selected sites are in each state now. degraded = reachable on "
            "a backup path, or a device at the site failed; unreachable = behind a failed "
            "uplink; down = the site itself failed; unknown = no result yet.",
            [
                target(
                    "sum by (status) (max by (site, status) "
                    f"({q.selected(q.metric('netmon_site_status'))}))",
                    "{{status}}",
                    instant=True,
                )
            ],
            overrides=state_colors(),
        ),
        10,
        4,
    )
    g.add(
        stat(
            "Outages",
            "Outages open now: one per failed site at the top of a failure (its root). One "
            "fibre cut is one outage however many villages are behind it.",
            [target(f"count({OUTAGES}) or vector(0)", "outages", instant=True)],
            steps=thresholds((GREEN, None), (RED, 1)),
        ),
        3,
        4,
    )
    g.add(
        stat(
            "Sites in outages",
            "Sites taken down by the open outages, the roots included.",
            [target(f"sum({OUTAGES}) or vector(0)", "sites", instant=True)],
            steps=thresholds((GREEN, None), (ORANGE, 1), (RED, 10)),
        ),
        3,
        4,
    )
    g.add(
        stat(
            "Availability 1d / 30d",
            "Share of time the selected sites were up or degraded over the last day and 30 "
            "days (recorded SLA series; every site weighs the same). Red below "
            f"{levels.AVAILABILITY_LOW:.0%}, green from {levels.AVAILABILITY_GOOD:.0%}.",
            [
                target(
                    f"avg({q.selected('site:netmon_site_available:ratio1d')})", "1d", instant=True
                ),
                target(
                    f"avg({q.selected('site:netmon_site_available:ratio30d')})", "30d", instant=True
                ),
            ],
            unit="percentunit",
            decimals=2,
            steps=AVAILABILITY_STEPS,
        ),
        8,
        4,
    )
    site_map = geomap(
        "Sites",
        "Every selected site at its inventory location, coloured by its state (green up, "
        "yellow degraded, grey unknown, orange unreachable, red down). Click a site for its "
        "Site dashboard. Sites without a location are not drawn.",
        [
            target(
                q.named(q.state_code(), "name, kind, kabupaten, lat, lon")
                + ' and on (site) netmon_site_info{lat!="", lon!=""}',
                table=True,
            )
        ],
        color_field="Value",
        center=CENTER,
        zoom=6,
        overrides=[override("Value", mappings=STATE_MAPPINGS)],
        links=[site_link()],
    )
    matrix = "kabupaten\\status"
    per_kabupaten = table(
        "Sites per state and kabupaten",
        "Count of selected sites in each state, per kabupaten, now.",
        [
            target(
                "sum by (kabupaten, status) (max by (site, status) "
                f"({q.metric('netmon_site_status')}) * on (site) group_left (kabupaten) "
                f"max by (site, kabupaten) ({q.SITES}))",
                table=True,
            )
        ],
        columns={matrix: "Kabupaten", **{text: text for _c, text, _col in q.STATES.values()}},
        reshape={
            "id": "groupingToMatrix",
            "options": {"columnField": "status", "rowField": "kabupaten", "valueField": "Value"},
        },
        sort_by="Kabupaten",
        overrides=state_colors(cell=True),
    )
    g.add(site_map, 14, 16)
    g.stack(10, (per_kabupaten, 7), (outage_table(), 9))

    g.row("Needs attention")
    g.add(not_up_table(), 12, 10)
    g.add(worst_links_table(), 12, 10)
    g.add(
        timeseries(
            "Sites not up over time",
            "Selected sites in each state but up, over time: the shape of an outage (a "
            "fibre cut is a step of unreachable sites behind one down POP).",
            [
                target(
                    "sum by (status) (max by (site, status) "
                    f"({q.selected(q.metric('netmon_site_status', NOT_UP_STATES))}))",
                    "{{status}}",
                )
            ],
            unit="short",
            stack=True,
            fill=60,
            overrides=state_colors(),
            legend={"displayMode": "list", "placement": "bottom", "showLegend": True},
        ),
        12,
        8,
    )
    battery = q.named(f"min by (site) ({q.metric('netmon_power_battery_ratio')})")
    g.add(
        bargauge(
            "Lowest batteries",
            "The ten selected sites with the least battery charge (solar/battery sites, "
            "from MQTT telemetry). Red below "
            f"{levels.BATTERY_LOW_RATIO:.0%}, where OnBatteryLong fires.",
            [target(f"bottomk(10, {battery})", "{{name}}", instant=True)],
            unit="percentunit",
            min=0,
            max=1,
            steps=thresholds(
                (RED, None), (ORANGE, levels.BATTERY_LOW_RATIO), (YELLOW, 0.5), (GREEN, 0.7)
            ),
            links=[site_link()],
        ),
        12,
        8,
    )
    return g


def build() -> JSON:
    return dashboard(
        "netmon-noc",
        "Province overview for the NOC wall screen: site states on a map, open outages, "
        "sites that need attention, the weakest links and batteries.",
        panels(),
    )
