"""Past one machine, with real servers on free loopback ports: VictoriaMetrics (Debian's
victoria-metrics) as Prometheus' long-term store, Prometheus replicas run from
deploy/prometheus/prometheus-ha.yml (targets and timings replaced, everything else as
shipped), and Alertmanagers that gossip in a cluster.

The starting, readiness and stopping of each server is netmon/tools/stack.py's, as for
the demo's Prometheus and Alertmanager.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon.tools import stack
from netmon.tools.simulate import free_tcp_port
from tests.demo_harness import fetch
from tests.helpers import ROOT, values

HA_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus-ha.yml"
VICTORIA_METRICS = "/usr/bin/victoria-metrics"


def need_binary(name: str, debian_path: str) -> str:
    found = shutil.which(name) or (debian_path if Path(debian_path).exists() else None)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/bootstrap.sh")
    return found


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of a server's own series ``name`` with ``labels`` (its /metrics page)."""
    return sum(values(fetch(url + "/metrics", timeout=10), name, **labels))


def start_victoriametrics(workdir: Path, port: int, timeout: float = 30.0) -> stack.Service:
    """Single-node VictoriaMetrics, data in ``workdir``. Query results are not cached and a
    sample is visible as soon as it is stored (no 30 s latency offset): the tests compare
    it with Prometheus at one moment."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        need_binary("victoria-metrics", VICTORIA_METRICS),
        f"-storageDataPath={workdir / 'data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=1y",
        "-search.latencyOffset=0s",
        "-search.disableCache",
        "-loggerLevel=WARN",
    ]
    url = f"http://127.0.0.1:{port}"
    return stack.start_service("victoria-metrics", cmd, url, workdir / "log", timeout)


def replica_config(
    replica: str,
    *,
    netmon: str,
    instance: str,
    rules: Sequence[Path],
    interval: float,
    alertmanagers: Sequence[str] = (),
    remote_write: str | None = None,
) -> dict[str, Any]:
    """deploy/prometheus/prometheus-ha.yml as side ``replica`` runs it: scraping ``netmon``
    (host:port) as ``instance``, evaluating ``rules`` every ``interval`` seconds, alerting
    to ``alertmanagers`` (host:port; none: no alerting), writing to the VictoriaMetrics at
    ``remote_write`` (its URL; None: no remote write). Relabelling is left as shipped."""
    config: dict[str, Any] = yaml.safe_load(HA_CONFIG.read_text())
    every = f"{max(1, round(interval))}s"
    config["global"].update(scrape_interval=every, scrape_timeout=every, evaluation_interval=every)
    assert "replica" in config["global"]["external_labels"]
    config["global"]["external_labels"]["replica"] = replica
    config["rule_files"] = [str(path) for path in rules]
    if alertmanagers:
        (targets,) = config["alerting"]["alertmanagers"][0]["static_configs"]
        targets["targets"] = list(alertmanagers)
    else:
        del config["alerting"]
    if remote_write is not None:
        (write,) = config["remote_write"]
        write["url"] = f"{remote_write}/api/v1/write"
        write["queue_config"] = {"batch_send_deadline": "1s"}  # seconds, not 5, behind
    else:
        del config["remote_write"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "netmon"]
    (static,) = job["static_configs"]
    static["targets"] = [netmon]
    static["labels"]["instance"] = instance
    config["scrape_configs"] = [job]
    return config


def rule_files(workdir: Path, factor: float) -> list[Path]:
    """The project's recording and alert rules, timings times ``factor``: `for:`,
    `keep_firing_for:` and every group's own `interval:` (the alert file's 5m helper
    groups too, whose series the dashboards read)."""
    alerts = stack.scaled_alert_rules(workdir / "netmon-alerts.yml", factor)
    doc = yaml.safe_load(alerts.read_text())
    for group in doc["groups"]:
        if "interval" in group:
            group["interval"] = stack.scaled(group["interval"], factor)
    alerts.write_text(yaml.safe_dump(doc, sort_keys=False))
    return [stack.scaled_recording_rules(workdir / "netmon-recording.yml", factor), alerts]


def free_gossip_port() -> int:
    """A port free on 127.0.0.1 for TCP and UDP alike: Alertmanager gossips on both."""
    while True:
        port = free_tcp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def start_clustered_alertmanager(
    config: Path,
    workdir: Path,
    port: int,
    cluster_port: int,
    peers: Sequence[int],
    peer_timeout: float,
    timeout: float = 30.0,
) -> stack.Service:
    """Alertmanager with ``config``, gossiping on 127.0.0.1:``cluster_port`` with the
    members on ``peers``. A member sends a notification only after the members before it
    (by position in the cluster) had ``peer_timeout`` seconds to send it themselves."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        need_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager"),
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--cluster.listen-address=127.0.0.1:{cluster_port}",
        *(f"--cluster.peer=127.0.0.1:{peer}" for peer in peers),
        f"--cluster.peer-timeout={peer_timeout:g}s",
        "--log.level=info",
    ]
    url = f"http://127.0.0.1:{port}"
    return stack.start_service("alertmanager", cmd, url, workdir / "log", timeout)
