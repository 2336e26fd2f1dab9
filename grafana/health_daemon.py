"""netmon health dashboard, the daemon itself: scheduler, MQTT, scrape, process, config."""

from __future__ import annotations

from grafana import promql as q
from grafana.panels import (
    GREEN,
    ORANGE,
    RED,
    Grid,
    bargauge,
    override,
    site_link,
    stat,
    state_timeline,
    target,
    thresholds,
    timeseries,
    value_mappings,
)

PER_MINUTE = "suffix: /min"
PER_SECOND_MSG = "suffix: msg/s"
#: the netmon processes among Prometheus' targets
NETMON = "on (job, instance) group_left () max by (job, instance) (netmon_build_info)"


def per_minute(counter: str, by: str, site: bool = True) -> str:
    """Events per minute of a counter, summed by `by`; per-target counters follow the
    variables."""
    series = f"rate({q.metric(counter) if site else counter}[$__rate_interval])"
    if site:
        series = q.selected(series)
    return f"60 * sum by ({by}) ({series})"


def daemon(expr: str) -> str:
    return f"{expr} * {NETMON}"


def scheduler_panels(g: Grid) -> None:
    lag = "sum by (job, instance, le) (rate(netmon_scheduler_lag_seconds_bucket[$__rate_interval]))"
    g.add(
        timeseries(
            "Scheduler lag",
            "How late polls start against their due time (waiting for a concurrency slot), "
            "median and 99th percentile. Lag near the interval means netmon needs more "
            "concurrency or a shard.",
            [
                target(f"histogram_quantile(0.5, {lag})", "{{instance}} median"),
                target(f"histogram_quantile(0.99, {lag})", "{{instance}} p99"),
            ],
            unit="s",
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "Polls running",
            "Polls in flight and targets scheduled, per netmon instance.",
            [
                target("netmon_scheduler_running_polls", "{{instance}} running"),
                target("netmon_scheduler_targets", "{{instance}} targets"),
            ],
            unit="short",
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "Skipped and crashed polls",
            "Polls skipped because the previous poll of the target still ran, and polls "
            "that raised instead of reporting (a netmon bug: see its log), per minute.",
            [
                target(
                    per_minute("netmon_scheduler_skipped_polls_total", "instance", site=False),
                    "{{instance}} skipped",
                ),
                target(
                    per_minute("netmon_scheduler_crashed_polls_total", "instance", site=False),
                    "{{instance}} crashed",
                ),
            ],
            unit=PER_MINUTE,
            steps=thresholds((GREEN, None), (RED, 0.1)),
            threshold_style="line",
        ),
        8,
        8,
    )


def mqtt_panels(g: Grid) -> None:
    g.add(
        timeseries(
            "MQTT messages",
            "Telemetry messages per second by subscription and result: applied, duplicate "
            "(a redelivery, dropped), malformed, bad_value, too_large, unknown_topic, "
            "unknown_site, over_budget.",
            [
                target(
                    "sum by (subscription, result) (rate(netmon_mqtt_messages_total"
                    "[$__rate_interval]))",
                    "{{subscription}} {{result}}",
                )
            ],
            unit=PER_SECOND_MSG,
            stack=True,
            fill=40,
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "MQTT reconnects and stale sources",
            "Per minute: reconnections to the broker, and telemetry sources that went "
            "silent past their TTL (a village agent or charge controller that stopped "
            "talking).",
            [
                target(
                    per_minute("netmon_mqtt_reconnects_total", "instance", site=False),
                    "{{instance}} reconnects",
                ),
                target(
                    per_minute("netmon_mqtt_sources_stale_total", "instance", site=False),
                    "{{instance}} sources gone stale",
                ),
            ],
            unit=PER_MINUTE,
        ),
        12,
        8,
    )
    g.add(
        state_timeline(
            "MQTT broker connection",
            "Whether each netmon instance is connected to its MQTT broker. Disconnected "
            "for 5 minutes raises MonitoringStale (stale=mqtt).",
            [target("max by (instance) (netmon_mqtt_connected)", "{{instance}}")],
            mappings=value_mappings({0: ("disconnected", RED), 1: ("connected", GREEN)}),
        ),
        12,
        5,
    )
    silent = q.named(
        f"time() - max by (site) ({q.metric('netmon_mqtt_last_message_timestamp_seconds')})"
    )
    g.add(
        bargauge(
            "Quietest telemetry sites",
            "Selected sites whose telemetry has been silent longest (time since any of "
            "their MQTT sources last said something).",
            [target(f"topk(10, {silent})", "{{name}}", instant=True)],
            unit="dtdurations",
            steps=thresholds((GREEN, None), (ORANGE, 120), (RED, 900)),
            links=[site_link()],
        ),
        12,
        5,
    )


def exposition_panels(g: Grid) -> None:
    g.add(
        timeseries(
            "Scrape size",
            "Bytes of netmon's last /metrics answer and samples Prometheus took from it. "
            "A jump is new devices or a label going wild.",
            [
                target("netmon_exposition_bytes", "{{instance}} bytes"),
                target(daemon("scrape_samples_scraped"), "{{instance}} samples"),
            ],
            unit="bytes",
            overrides=[
                override(" samples$", regex=True, unit="short", custom__axisPlacement="right")
            ],
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "Scrape duration",
            "How long Prometheus took to scrape netmon. Close to the scrape timeout means "
            "lost scrapes (and MonitoringStale).",
            [target(daemon("scrape_duration_seconds"), "{{instance}}")],
            unit="s",
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "netmon CPU and memory",
            "CPU (share of one core) and resident memory of the netmon process.",
            [
                target(
                    daemon("rate(process_cpu_seconds_total[$__rate_interval])"), "{{instance}} cpu"
                ),
                target(daemon("process_resident_memory_bytes"), "{{instance}} memory"),
            ],
            unit="percentunit",
            overrides=[
                override(" memory$", regex=True, unit="bytes", custom__axisPlacement="right")
            ],
        ),
        8,
        8,
    )
    g.add(
        stat(
            "Config",
            "Time since the last good config load, errors in the last failed reload (0 "
            "after a good one) and failed reloads in the selected time range.",
            [
                target(
                    "time() - max by (instance) "
                    "(netmon_config_last_reload_success_timestamp_seconds)",
                    "{{instance}} loaded",
                    instant=True,
                ),
                target(
                    "max by (instance) (netmon_config_errors)", "{{instance}} errors", instant=True
                ),
                target(
                    "sum by (instance) (increase(netmon_config_reloads_total"
                    '{result="failure"}[$__range]))'
                    " or sum by (instance) (netmon_config_errors * 0)",
                    "{{instance}} failed reloads",
                    instant=True,
                ),
            ],
            color_mode="value",
            overrides=[
                override(" loaded$", regex=True, unit="dtdurations"),
                override(
                    " (errors|failed reloads)$",
                    regex=True,
                    decimals=0,
                    thresholds=thresholds((GREEN, None), (RED, 1)),
                ),
            ],
        ),
        12,
        4,
    )
    g.add(
        timeseries(
            "Traps received",
            "SNMP traps and informs per minute by result: accepted, unknown_source (a "
            "device not in the inventory), bad_community, bad_auth, malformed.",
            [target(per_minute("netmon_traps_received_total", "result", site=False), "{{result}}")],
            unit=PER_MINUTE,
        ),
        12,
        4,
    )
