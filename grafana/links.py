"""Fibre and radio links: both ends of every inventory link against the alert thresholds."""

from __future__ import annotations

from grafana import levels
from grafana import promql as q
from grafana.dashboard import dashboard
from grafana.panels import (
    GREEN,
    JSON,
    LINKS_DASHBOARD,
    ORANGE,
    RED,
    Grid,
    Panel,
    bargauge,
    override,
    table,
    target,
    thresholds,
    timeseries,
)

END_LEGEND = "{{link}} {{end}}: {{name}} {{device}} {{ifname}}"
OPTICAL_STEPS = thresholds(
    (RED, None), (ORANGE, levels.OPTICAL_LOW_DBM), (GREEN, levels.OPTICAL_MARGINAL_DBM)
)
RADIO_STEPS = thresholds(
    (RED, None), (ORANGE, levels.RADIO_LOW_DBM), (GREEN, levels.RADIO_MARGINAL_DBM)
)
UTILISATION_STEPS = thresholds(
    (GREEN, None), (ORANGE, levels.UTILISATION_BUSY), (RED, levels.UTILISATION_FULL)
)
ERROR_STEPS = thresholds((GREEN, None), (RED, levels.LINK_ERRORS_PER_SECOND))
CCQ_STEPS = thresholds(
    (RED, None), (ORANGE, levels.CCQ_LOW_RATIO), (GREEN, levels.CCQ_MARGINAL_RATIO)
)


def _per_interface(stat: str, name: str) -> str:
    return f"{stat} by (site, device, ifname) ({name})"


def _optical(name: str) -> str:
    """An SFP reading at both ends of the fibre links (no site pre-filter: far ends)."""
    return q.at_link_ends(_per_interface("min", name), "fiber")


def _worst_per_link(expr: str) -> str:
    return f"min by (link) ({expr})"


def _link_names() -> str:
    """link, kind and the names of the sites at both ends, for the selected links."""
    named = "max by (site, name) (netmon_site_info)"
    a_side = q.as_label(
        f"{q.as_label('netmon_link_info', 'site', 'a_site')} * on (site) group_left (name) {named}",
        "a_name",
        "name",
    )
    a_side = f"max by (link, kind, b_site, a_name) ({a_side})"
    both = q.as_label(
        f"{q.as_label(a_side, 'site', 'b_site')} * on (site) group_left (name) {named}",
        "b_name",
        "name",
    )
    selected = f"group by (link) ({q.link_ends('.*')})"
    return f"max by (link, kind, a_name, b_name) ({both}) and on (link) {selected}"


def worst_links_table() -> Panel:
    """Every selected link, the weakest first: margin of its worst end to the alarm level."""
    ends = q.link_ends(".*")
    optical = (
        f"({q.link_ends('fiber')}) * on (site, device, ifname) group_left () "
        f"({_per_interface('min', 'netmon_optical_rx_power_dbm')})"
    )
    radio = q.wireless_at_link_ends("netmon_wireless_signal_dbm", "min")
    level = f"{_worst_per_link(optical)} or {_worst_per_link(radio)}"
    margin = (
        f"({_worst_per_link(optical)} - ({levels.OPTICAL_LOW_DBM:g})) or "
        f"({_worst_per_link(radio)} - ({levels.RADIO_LOW_DBM:g}))"
    )
    utilisation = (
        f"max by (link) (({ends}) * on (site, device, ifname) group_left () "
        f"{_per_interface('max', 'ifname:netmon_interface_utilisation:max_ratio_rate5m')})"
    )
    errors = (
        f"max by (link) (({ends}) * on (site, device, ifname) group_left () "
        f"({q.errors_per_second(site=False)}))"
    )
    return table(
        "Worst links",
        "Fibre and radio links with an end at a selected site, the weakest first. Margin = "
        f"worst end's level above the alarm level ({levels.OPTICAL_LOW_DBM:g} dBm optical "
        f"receive power for fibre, as OpticalPowerLow; {levels.RADIO_LOW_DBM:g} dBm signal "
        "for radio). Utilisation is the busier direction of the busier end; errors are the "
        "worse end's, both directions (as LinkErrorsHigh counts an interface).",
        [
            target(_link_names(), table=True),
            target(level, table=True),
            target(margin, table=True),
            target(utilisation, table=True),
            target(errors, table=True),
        ],
        columns={
            "link": "Link",
            "kind": "Kind",
            "a_name": "A end",
            "b_name": "B end",
            "Value #B": "Level (dBm)",
            "Value #C": "Margin (dB)",
            "Value #D": "Utilisation",
            "Value #E": "Errors/s",
        },
        sort_by="Margin (dB)",
        overrides=[
            override("Level (dBm)", unit="dBm", decimals=1),
            override(
                "Margin (dB)",
                unit="dB",
                decimals=1,
                thresholds=thresholds((RED, None), (ORANGE, 0), (GREEN, 2)),
                custom__cellOptions={"type": "color-background", "mode": "basic"},
            ),
            override(
                "Utilisation",
                unit="percentunit",
                thresholds=UTILISATION_STEPS,
                custom__cellOptions={"type": "color-text"},
            ),
            override(
                "Errors/s",
                unit="pps",
                decimals=2,
                thresholds=ERROR_STEPS,
                custom__cellOptions={"type": "color-text"},
            ),
        ],
        links=[LINKS_DASHBOARD],
    )


def panels() -> Grid:
    g = Grid()
    g.add(worst_links_table(), 24, 9)

    g.row("Fibre")
    g.add(
        timeseries(
            "Optical receive power, both ends",
            "SFP receive power at each end of the fibre links (DOM). OpticalPowerLow fires "
            f"below {levels.OPTICAL_LOW_DBM:g} dBm (red band), OpticalPowerMarginal below "
            f"{levels.OPTICAL_MARGINAL_DBM:g} dBm for an hour (orange band). A slow slide "
            "is a dirty connector or a bent fibre; a step is a splice or a cut.",
            [target(_optical("netmon_optical_rx_power_dbm"), END_LEGEND)],
            unit="dBm",
            decimals=1,
            steps=OPTICAL_STEPS,
            threshold_style="area",
        ),
        12,
        9,
    )
    g.add(
        timeseries(
            "Optical transmit power, both ends",
            "SFP transmit power at each end. A falling transmit power with a steady receive "
            "power at the far end points at the laser of this end, not the fibre.",
            [target(_optical("netmon_optical_tx_power_dbm"), END_LEGEND)],
            unit="dBm",
            decimals=1,
        ),
        12,
        9,
    )
    g.add(
        bargauge(
            "Receive margin to the alarm level",
            f"Receive power minus {levels.OPTICAL_LOW_DBM:g} dBm per fibre end, now: how "
            "many dB of extra loss the link takes before OpticalPowerLow fires. Orange "
            "below 2 dB (the OpticalPowerMarginal level).",
            [
                target(
                    f"sort(({_optical('netmon_optical_rx_power_dbm')}) - "
                    f"({levels.OPTICAL_LOW_DBM:g}))",
                    END_LEGEND,
                    instant=True,
                )
            ],
            unit="dB",
            decimals=1,
            min=0,
            steps=thresholds((RED, None), (ORANGE, 0), (GREEN, 2)),
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "SFP temperature, both ends",
            "SFP module temperature. Most modules are specified to 70 C (commercial) or "
            "85 C (industrial); a hot module drifts in power before it fails.",
            [target(_optical("netmon_optical_temperature_celsius"), END_LEGEND)],
            unit="celsius",
            steps=thresholds((GREEN, None), (ORANGE, 60), (RED, 70)),
            threshold_style="dashed",
        ),
        12,
        8,
    )

    g.row("Radio")
    g.add(
        timeseries(
            "Radio signal, both ends",
            "Received signal at each end of the radio links: the airOS station's link "
            "signal and, on a MikroTik access point, its weakest registered station. "
            f"Orange below {levels.RADIO_MARGINAL_DBM:g} dBm, red below "
            f"{levels.RADIO_LOW_DBM:g} dBm. A fade that follows the time of day is rain or "
            "heat; a step is alignment or an obstacle.",
            [target(q.wireless_at_link_ends("netmon_wireless_signal_dbm", "min"), END_LEGEND)],
            unit="dBm",
            steps=RADIO_STEPS,
            threshold_style="area",
        ),
        12,
        9,
    )
    g.add(
        timeseries(
            "Client connection quality (CCQ), both ends",
            "Share of frames delivered without retries (airOS/MikroTik CCQ). Below "
            f"{levels.CCQ_MARGINAL_RATIO:.0%} the link retransmits a lot; below "
            f"{levels.CCQ_LOW_RATIO:.0%} users notice.",
            [target(q.wireless_at_link_ends("netmon_wireless_ccq_ratio", "min"), END_LEGEND)],
            unit="percentunit",
            min=0,
            max=1,
            steps=CCQ_STEPS,
            threshold_style="area",
        ),
        12,
        9,
    )
    g.add(
        timeseries(
            "Noise floor, both ends",
            "Radio noise floor. A rising floor (interference from a new neighbour on the "
            "channel) eats the margin as surely as a falling signal.",
            [
                target(
                    q.wireless_at_link_ends("netmon_wireless_noise_floor_dbm", "max"),
                    END_LEGEND,
                )
            ],
            unit="dBm",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Radio link rates",
            "Current modulation rate of the airOS stations, transmit and receive: it "
            "drops in steps as the signal fades, before the link fails.",
            [
                target(
                    q.wireless_at_link_ends("netmon_wireless_tx_rate_bytes_per_second", "min"),
                    END_LEGEND + " tx",
                ),
                target(
                    q.wireless_at_link_ends("netmon_wireless_rx_rate_bytes_per_second", "min"),
                    END_LEGEND + " rx",
                ),
            ],
            unit="Bps",
        ),
        12,
        8,
    )

    g.row("Traffic and errors")
    ends = q.link_ends(".*")
    g.add(
        timeseries(
            "Errors, both ends",
            "Receive + transmit errors per second at each link end. LinkErrorsHigh fires "
            f"above {levels.LINK_ERRORS_PER_SECOND:g}/s for 15 minutes (red line).",
            [
                target(
                    q.with_site_name(
                        f"({ends}) * on (site, device, ifname) group_left () "
                        f"({q.errors_per_second(site=False)})"
                    ),
                    END_LEGEND,
                )
            ],
            unit="pps",
            steps=ERROR_STEPS,
            threshold_style="line",
        ),
        12,
        8,
    )
    utilisation = "ifname:netmon_interface_utilisation:max_ratio_rate5m"
    g.add(
        timeseries(
            "Utilisation, both ends",
            "Busier direction of each link end against its interface speed (recorded over "
            f"5m). Orange from {levels.UTILISATION_BUSY:.0%}, red from "
            f"{levels.UTILISATION_FULL:.0%}: a full backhaul looks like an outage to users. "
            "Interfaces with an unknown speed (0) are not shown.",
            [target(q.at_link_ends(_per_interface("max", utilisation), ".*"), END_LEGEND)],
            unit="percentunit",
            min=0,
            steps=UTILISATION_STEPS,
            threshold_style="dashed",
        ),
        12,
        8,
    )
    return g


def build() -> JSON:
    return dashboard(
        "netmon-links",
        "Fibre and radio links from the inventory: optical power at both ends against the "
        "alert thresholds, radio signal and quality, errors and utilisation.",
        panels(),
    )
