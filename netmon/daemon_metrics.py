"""The daemon's own metrics (reloads, inventory size, shard, build), in a registry of
their own: no global state, and the metric reference lists them from here."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

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
        self.config_info = Info(
            "netmon_config",
            "The config running: sha256 of netmon.yaml and the site files (path and bytes), "
            "and the git revision of their checkout (-dirty: changed since; empty: no git).",
            registry=self.registry,
        )
        self.shard = Info(
            "netmon_shard",
            "The shard of the province this instance monitors (all: no sharding).",
            registry=self.registry,
        )
        self.scrape_bytes = Gauge(
            "netmon_exposition_bytes", "Size of the last /metrics answer.", registry=self.registry
        )
        self.answer_build = Histogram(
            "netmon_metrics_answer_build_seconds",
            "Time to join, encode and gzip the /metrics answer (in a worker thread, once per"
            " change and format, ahead of each scraper's next scrape when its rhythm is known).",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.http_connections = Gauge(
            "netmon_http_connections",
            "Open connections to the HTTP port (/metrics, /api, the status page).",
            registry=self.registry,
        )
        self.http_connections_closed = Counter(
            "netmon_http_connections_closed_total",
            "HTTP connections netmon closed itself, by reason: header_timeout (no whole"
            " request within --web.read-header-timeout), evicted (the oldest waiting one, at"
            " --web.max-connections), refused (at the cap with every connection busy),"
            " tls_handshake (a failed or too slow TLS handshake).",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("header_timeout", "evicted", "refused", "tls_handshake"):
            self.http_connections_closed.labels(reason)
        self.http_auth_failures = Counter(
            "netmon_http_auth_failures_total",
            "HTTP requests refused by basic auth (--web.config.file), by reason: missing"
            " (no or malformed credentials), invalid (unknown user or wrong password).",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("missing", "invalid"):
            self.http_auth_failures.labels(reason)
        self.http_rate_limited = Counter(
            "netmon_http_rate_limited_total",
            "HTTP requests answered 429 by the web config's rate_limit.",
            registry=self.registry,
        )
        Info("netmon_build", "netmon version.", registry=self.registry).info(
            {"version": __version__}
        )
