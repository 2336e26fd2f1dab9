"""The daemon's own metrics (reloads, inventory size, shard, build), in a registry of
their own: no global state, and the metric reference lists them from here."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Info

from netmon import __version__


class DaemonMetrics:
    """Daemon-level metrics in a registry of their own (no global state)."""

    def __init__(self) -> None:
        from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR):
            self.registry.register(collector)
        self.reloads = Counter(
            "netmon_config_reloads_total",
            "Config loads by result (success, failure).",
            ["result"],
            registry=self.registry,
        )
        self.config_errors = Gauge(
            "netmon_config_errors",
            "Errors found in the config at the last failed reload (0 after a good one).",
            registry=self.registry,
        )
        self.last_reload = Gauge(
            "netmon_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
            registry=self.registry,
        )
        self.sites = Gauge(
            "netmon_inventory_sites", "Sites in the inventory.", registry=self.registry
        )
        self.devices = Gauge(
            "netmon_inventory_devices", "Devices in the inventory.", registry=self.registry
        )
        self.shard = Info(
            "netmon_shard",
            "The shard of the province this instance monitors (all: no sharding).",
            registry=self.registry,
        )
        self.scrape_bytes = Gauge(
            "netmon_exposition_bytes", "Size of the last /metrics answer.", registry=self.registry
        )
        Info("netmon_build", "netmon version.", registry=self.registry).info(
            {"version": __version__}
        )
