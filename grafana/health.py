"""netmon health: is the monitoring itself working (polls, scheduler, MQTT, scrapes)?

Per-target panels follow the template variables; daemon panels (scheduler, MQTT,
process, scrape) show every netmon instance Prometheus scrapes, recognised by its
netmon_build_info series.
"""

from __future__ import annotations

from grafana import promql as q
from grafana.dashboard import dashboard
from grafana.health_daemon import (
    PER_MINUTE,
    exposition_panels,
    mqtt_panels,
    per_minute,
    scheduler_panels,
)
from grafana.panels import (
    GREEN,
    JSON,
    ORANGE,
    RED,
    Grid,
    bargauge,
    override,
    site_link,
    stat,
    table,
    target,
    thresholds,
    timeseries,
)


def target_panels(g: Grid) -> None:
    up = q.selected(q.metric("netmon_target_up"))
    g.add(
        stat(
            "Targets",
            "Poll targets of the selected sites per collector (snmp, icmp, mqtt): how many "
            "answered their last poll and how many did not.",
            [
                target(f"sum by (collector) ({up})", "{{collector}} up", instant=True),
                target(f"sum by (collector) (1 - ({up}))", "{{collector}} down", instant=True),
            ],
            overrides=[
                override(" down$", regex=True, thresholds=thresholds((GREEN, None), (RED, 1))),
            ],
        ),
        12,
        4,
    )
    g.add(
        stat(
            "Inventory and scheduler",
            "Sites and devices in netmon's inventory, targets scheduled and polls running "
            "now (all netmon instances).",
            [
                # each site is exported by exactly one shard; the shards' own inventory
                # counts include the ancestors each polls read-only
                target("count(group by (site) (netmon_site_info))", "sites", instant=True),
                target(
                    "count(group by (site, device) (netmon_device_info))", "devices", instant=True
                ),
                target("sum(netmon_scheduler_targets)", "targets", instant=True),
                target("sum(netmon_scheduler_running_polls)", "polls running", instant=True),
            ],
            color_mode="none",
        ),
        12,
        4,
    )
    since = q.metric("netmon_last_poll_success_timestamp_seconds")
    keys = "site, device, collector"
    g.add(
        table(
            "Targets down",
            "Targets of the selected sites whose last poll failed: where, which collector, "
            "how long since the last good poll and the failures per minute by reason.",
            [
                target(q.named(f"max by ({keys}) ({up}) == 0", "name, kabupaten"), table=True),
                target(
                    f"time() - max by ({keys}) ({since}) and on ({keys}) ({up} == 0)",
                    table=True,
                ),
                target(
                    f"60 * sum by ({keys}, reason) (rate("
                    f"{q.metric('netmon_poll_errors_total')}[$__rate_interval])) "
                    f"and on ({keys}) ({up} == 0)",
                    table=True,
                ),
            ],
            columns={
                "name": "Site",
                "kabupaten": "Kabupaten",
                "device": "Device",
                "collector": "Collector",
                "reason": "Reason",
                "Value #C": "Failures",
                "Value #B": "Last good poll",
                "site": "site",
            },
            sort_by="Last good poll",
            descending=True,
            overrides=[
                override("Last good poll", unit="dtdurations"),
                override("Failures", unit=PER_MINUTE, decimals=1),
            ],
            links=[site_link()],
        ),
        24,
        7,
    )


def poll_panels(g: Grid) -> None:
    duration = q.selected(q.metric("netmon_poll_duration_seconds"))
    g.add(
        timeseries(
            "Poll duration",
            "Wall time of the last poll of each target, per collector: median and slowest. "
            "A slowest poll near the deadline (netmon.yaml `deadline`) means partial polls "
            "are coming.",
            [
                target(f"quantile by (collector) (0.5, {duration})", "{{collector}} median"),
                target(f"max by (collector) ({duration})", "{{collector}} slowest"),
            ],
            unit="s",
        ),
        12,
        8,
    )
    g.add(
        bargauge(
            "Slowest targets",
            "The ten selected targets whose last poll took longest.",
            [
                target(
                    "topk(10, " + q.named(f"max by (site, device, collector) ({duration})") + ")",
                    "{{name}} {{device}} ({{collector}})",
                    instant=True,
                )
            ],
            unit="s",
            steps=thresholds((GREEN, None), (ORANGE, 5), (RED, 15)),
            links=[site_link()],
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Poll errors by reason",
            "Failed or partial polls per minute of the selected sites by collector and "
            "reason (timeout, auth, decode, deadline, partial, offline, stale...). Timeouts "
            "are field outages or wrong credentials; deadline and partial are netmon or "
            "link capacity.",
            [
                target(
                    per_minute("netmon_poll_errors_total", "collector, reason"),
                    "{{collector}} {{reason}}",
                )
            ],
            unit=PER_MINUTE,
            stack=True,
            fill=40,
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Samples dropped by reason",
            "Values dropped on purpose per minute: sentinel (the device said 'no reading'), "
            "implausible (outside the range of its unit family), decode, unmapped, "
            "label_cap (too many interfaces or peers), bad_index. Per device: the Site "
            "dashboard.",
            [
                target(
                    per_minute("netmon_samples_dropped_total", "collector, reason"),
                    "{{collector}} {{reason}}",
                )
            ],
            unit=PER_MINUTE,
        ),
        12,
        8,
    )


def panels() -> Grid:
    g = Grid()
    g.row("Targets")
    target_panels(g)
    g.row("Polling")
    poll_panels(g)
    g.row("Scheduler")
    scheduler_panels(g)
    g.row("MQTT telemetry")
    mqtt_panels(g)
    g.row("Exposition, process and config")
    exposition_panels(g)
    return g


def build() -> JSON:
    return dashboard(
        "netmon-health",
        "Is the monitoring itself healthy: targets, poll durations and errors, scheduler "
        "lag, MQTT telemetry, scrape size, process and config.",
        panels(),
    )
