"""Site: one site in depth, for the technician on the phone with the village."""

from __future__ import annotations

from grafana import levels
from grafana import promql as q
from grafana.dashboard import dashboard
from grafana.noc import AVAILABILITY_STEPS, STATE_MAPPINGS
from grafana.panels import (
    GREEN,
    JSON,
    RED,
    Grid,
    link,
    override,
    stat,
    state_timeline,
    table,
    target,
    thresholds,
)
from grafana.site_counters import counter_panels
from grafana.site_readings import (
    CELL_BACKGROUND,
    UP_DOWN,
    at_site,
    interface_panels,
    power_panels,
    probe_panels,
    radio_panels,
)
from grafana.site_services import service_panels


def status_panels(g: Grid) -> None:
    g.add(
        stat(
            "State",
            "The site's state now (up, degraded, unreachable, down, unknown), from its "
            "devices, its uplinks and its power telemetry.",
            [target(q.state_code(), "{{site}}", instant=True)],
            mappings=STATE_MAPPINGS,
        ),
        4,
        4,
    )
    g.add(
        stat(
            "In this state for",
            "Time since the state began (kept across netmon restarts).",
            [
                target(
                    "time() - max by (site) "
                    f"({at_site('netmon_site_status_since_timestamp_seconds')})",
                    "since",
                    instant=True,
                )
            ],
            unit="dtdurations",
            color_mode="none",
        ),
        4,
        4,
    )
    fine = at_site("netmon_site_status", 'status=~"up|unknown"')
    cause = (
        f"max by (cause, upstream) ({at_site('netmon_site_status_cause')}) or label_replace("
        f'max by (site) ({fine} == 1), "cause", "none", "", "")'
    )
    g.add(
        stat(
            "Cause",
            "Why the site is not up: device (a device at the site fails), uplink (its "
            "uplink failed: see the outage root), power (telemetry says the power is out), "
            "link (a link to it fails); none while up.",
            [target(cause, "{{cause}}", instant=True)],
            text_mode="name",
            color_mode="none",
        ),
        4,
        4,
    )
    g.add(
        stat(
            "Outage root",
            "The highest failed site above this one: the site to fix first. It is the site "
            "itself when it is up or the failure is its own. Click for the root's dashboard.",
            [target(f"max by (root) ({at_site('netmon_site_root')})", "{{root}}", instant=True)],
            text_mode="name",
            color_mode="none",
            links=[
                link(
                    "Open the root site",
                    "/d/netmon-site/netmon-site?${__url_time_range}&${datasource:queryparam}"
                    "&var-site=${__field.labels.root}",
                )
            ],
        ),
        4,
        4,
    )
    g.add(
        stat(
            "Availability",
            "Share of time up or degraded over the last 1, 7 and 30 days (rolling; "
            "maintenance windows left out). Red below "
            f"{levels.AVAILABILITY_LOW:.0%}, green from {levels.AVAILABILITY_GOOD:.0%}.",
            [
                target(f'site:netmon_site_available:ratio{w}{{site=~"$site"}}', w, instant=True)
                for w in ("1d", "7d", "30d")
            ],
            unit="percentunit",
            decimals=2,
            steps=AVAILABILITY_STEPS,
        ),
        8,
        4,
    )
    g.add(
        state_timeline(
            "State history",
            "The site's state over the selected time range.",
            [target(q.named(q.state_code()), "{{name}}")],
            mappings=STATE_MAPPINGS,
        ),
        24,
        4,
    )
    info = {
        label: label.replace("_", " ").capitalize()
        for label in (
            *("name", "kind", "kabupaten", "kecamatan", "network", "uplink", "uplink_kind"),
            *("isp", "isp_circuit", "contact_name", "contact_phone", "timezone", "maintenance"),
        )
    }
    g.add(
        table(
            "Site",
            "Inventory attributes of the site (from the netmon config).",
            [target(f"max by ({', '.join(info)}) ({at_site('netmon_site_info')})", table=True)],
            columns=info,
        ),
        24,
        3,
    )


def device_panels(g: Grid) -> None:
    targets = "site, device, collector"
    g.add(
        table(
            "Devices",
            "Every poll target at the site: whether its last poll succeeded, what it is, "
            "how long it has been up, reboots in the selected time range, how long the last "
            "poll took and how long ago the last good poll was.",
            [
                target(f"max by ({targets}) ({at_site('netmon_target_up')})", table=True),
                target(
                    "max by (site, device, vendor, model, firmware) "
                    f"({at_site('netmon_device_info')})",
                    table=True,
                ),
                target(
                    f"max by (site, device) ({at_site('netmon_device_uptime_seconds')})",
                    table=True,
                ),
                target(
                    "sum by (site, device) (increase("
                    f"{at_site('netmon_device_reboots_total')}[$__range]))",
                    table=True,
                ),
                target(
                    f"max by ({targets}) ({at_site('netmon_poll_duration_seconds')})",
                    table=True,
                ),
                target(
                    f"time() - max by ({targets}) "
                    f"({at_site('netmon_last_poll_success_timestamp_seconds')})",
                    table=True,
                ),
            ],
            columns={
                "device": "Device",
                "collector": "Collector",
                "Value #A": "Poll",
                "vendor": "Vendor",
                "model": "Model",
                "firmware": "Firmware",
                "Value #C": "Uptime",
                "Value #D": "Reboots",
                "Value #E": "Poll took",
                "Value #F": "Last good poll",
            },
            sort_by="Device",
            overrides=[
                override("Poll", mappings=UP_DOWN, custom__cellOptions=CELL_BACKGROUND),
                override("Uptime", unit="dtdurations"),
                override(
                    "Reboots",
                    decimals=0,
                    thresholds=thresholds((GREEN, None), (RED, 1)),
                    custom__cellOptions={"type": "color-text"},
                ),
                override("Poll took", unit="s"),
                override("Last good poll", unit="dtdurations"),
            ],
        ),
        24,
        7,
    )


def panels() -> Grid:
    g = Grid()
    g.row("Status")
    status_panels(g)
    g.row("Devices")
    device_panels(g)
    g.row("Dropped values and counter resets")
    counter_panels(g)
    g.row("Interfaces")
    interface_panels(g)
    g.row("Optical, radio and users")
    radio_panels(g)
    g.row("Power")
    power_panels(g)
    g.row("Reachability probes")
    probe_panels(g)
    g.row("Service checks")
    service_panels(g)
    return g


def build() -> JSON:
    return dashboard(
        "netmon-site",
        "One site in depth: state and its history, devices, values dropped and counter "
        "resets, interface traffic, optical and radio levels, power, probes and service "
        "checks.",
        panels(),
        one_site=True,
    )
