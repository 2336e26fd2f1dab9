"""Prometheus and Alertmanager beside a netmon: the project's own rules and routes.

`netmon demo` and the end-to-end tests start Debian's binaries with the files in
deploy/, only their timings scaled down (a `for: 5m` that takes 5 minutes makes a
poor demo) and every receiver pointed at a local webhook instead of Telegram or
e-mail. Nothing here is a copy of the rules: they are read from deploy/ each time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netmon.tools.simulate import poll_until, signals_held, stop_process

ROOT = Path(__file__).resolve().parents[3]  # the repository
RULES = ROOT / "deploy" / "prometheus" / "rules"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def available() -> str | None:
    """Why the stack cannot run here, or None when it can."""
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not Path(binary).exists() and not shutil.which(Path(binary).name):
            return f"{binary} is not installed (Debian: prometheus, prometheus-alertmanager)"
    if not RULES.is_dir() or not ALERTMANAGER_CONFIG.exists():
        return f"the project's deploy/ files are not beside netmon ({ROOT})"
    return None


def scaled(duration: str, factor: float) -> str:
    """A Prometheus duration times ``factor``, in whole seconds, at least 1s."""
    match = re.fullmatch(r"(\d+)([smhd])", duration)
    if match is None:
        msg = f"not a simple duration: {duration!r}"
        raise ValueError(msg)
    seconds = int(match.group(1)) * _UNITS[match.group(2)] * factor
    return f"{max(1, round(seconds))}s"


def _scaled_rules(
    name: str, target: Path, factor: float, group_keys: tuple[str, ...], rule_keys: tuple[str, ...]
) -> Path:
    """deploy/prometheus/rules/``name`` with the given durations times ``factor``."""
    rules = yaml.safe_load((RULES / name).read_text())
    for group in rules["groups"]:
        for item in (group, *group["rules"]):
            keys = group_keys if item is group else rule_keys
            for key in keys:
                if key in item:
                    item[key] = scaled(item[key], factor)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(rules, sort_keys=False))
    return target


def scaled_alert_rules(target: Path, factor: float) -> Path:
    """netmon-alerts.yml with every `for:`, `keep_firing_for:` and group ``interval:``
    times ``factor`` (its 5m groups record the history DeviceValuesLost and OnBatteryLong
    read, and the Site dashboard's "Values per poll" shows: unscaled, their first run came
    up to 5 real minutes after the start)."""
    return _scaled_rules(
        "netmon-alerts.yml", target, factor, ("interval",), ("for", "keep_firing_for")
    )


def scaled_recording_rules(target: Path, factor: float) -> Path:
    """netmon-recording.yml with every group's own ``interval:`` times ``factor`` (the
    5m availability group would otherwise first run up to 5 minutes after the start)."""
    return _scaled_rules("netmon-recording.yml", target, factor, ("interval",), ())


def alertmanager_config(hook: str, factor: float) -> dict[str, Any]:
    """The real route tree and inhibit rules; receivers become webhooks to ``hook``/name."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config.pop("templates", None)  # only the Telegram and e-mail texts use them
    # no SMTP here: keep only what is not about sending mail
    config["global"] = {k: v for k, v in config.get("global", {}).items() if "smtp" not in k}
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in route:
                route[key] = scaled(route[key], factor)
        routes.extend(route.get("routes", []))
    config["receivers"] = [
        {
            "name": receiver["name"],
            "webhook_configs": [
                {"url": f"{hook}/{receiver['name']}", "send_resolved": True, "max_alerts": 20}
            ],
        }
        for receiver in config["receivers"]
    ]
    return config


@dataclass
class Service:
    """One started server: its URL, process and log."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_process(self.process, grace=15)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:  # noqa: S310 - local
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_service(name: str, cmd: list[str], url: str, log: Path, timeout: float) -> Service:
    service: Service | None = None

    def exited() -> bool:
        return service is None or service.process.poll() is not None

    try:
        # the child keeps its own copy of the descriptor; see signals_held
        with signals_held(), log.open("wb") as out:
            child = subprocess.Popen(cmd, stdout=out, stderr=out)
            service = Service(name, url, child, log)
        ready = poll_until(lambda: exited() or _ready(url), timeout, interval=0.1)
    except BaseException:  # Ctrl-C while waiting: stop what was started
        if service is not None:
            service.stop()
        raise
    if ready and not exited():
        return service
    if exited():
        msg = f"{name} exited with {service.process.returncode}: {log.read_text()[-1500:]}"
        raise RuntimeError(msg)
    service.stop()
    msg = f"{name} was not ready within {timeout:g}s: {log.read_text()[-1500:]}"
    raise TimeoutError(msg)


def start_prometheus(
    workdir: Path,
    port: int,
    netmon: str,
    alertmanager: str | None,
    scrape_interval: float,
    factor: float,
    timeout: float = 60.0,
) -> Service:
    """Prometheus scraping ``netmon`` (host:port) with the project's rules."""
    workdir.mkdir(parents=True, exist_ok=True)
    every = f"{max(1, round(scrape_interval))}s"
    config: dict[str, Any] = {
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "rule_files": [
            str(scaled_recording_rules(workdir / "netmon-recording.yml", factor)),
            str(scaled_alert_rules(workdir / "netmon-alerts.yml", factor)),
        ],
        "scrape_configs": [{"job_name": "netmon", "static_configs": [{"targets": [netmon]}]}],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return prometheus_with(config, workdir, port, timeout)


def prometheus_with(
    config: dict[str, Any],
    workdir: Path,
    port: int,
    timeout: float = 60.0,
    data_dir: Path | None = None,
) -> Service:
    """Debian's Prometheus with this configuration, its data and log in ``workdir``
    (the data in ``data_dir`` instead when given, e.g. blocks made by promtool)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [
        shutil.which("prometheus") or PROMETHEUS,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={data_dir or workdir / 'data'}",
        "--storage.tsdb.retention.time=35d",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    return start_service("prometheus", cmd, f"http://127.0.0.1:{port}", workdir / "log", timeout)


def start_alertmanager(
    workdir: Path, port: int, hook: str, factor: float, timeout: float = 60.0
) -> Service:
    """Alertmanager with the project's routes; every receiver posts to ``hook``/name."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(yaml.safe_dump(alertmanager_config(hook, factor), sort_keys=False))
    cmd = [
        shutil.which("prometheus-alertmanager") or ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return start_service("alertmanager", cmd, f"http://127.0.0.1:{port}", workdir / "log", timeout)
