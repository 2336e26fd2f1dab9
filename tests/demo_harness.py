"""`netmon demo` as a user starts it (the real command, a child process) for tests."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netmon.tools.demo import province, script
from netmon.tools.simulate import free_tcp_port, interrupt_group
from tests.helpers import ROOT, wait_for

#: the session's demo: small, fast polls, a quick day for the batteries
SITES, INTERVAL, SPEED = 24, 4.0, 600.0


def fetch(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        body: bytes = resp.read()
        return body.decode()


def fetch_json(url: str) -> Any:
    return json.loads(fetch(url))


def ready(url: str) -> bool:
    try:
        fetch(url + "/-/ready", timeout=2)
    except (urllib.error.URLError, OSError):
        return False
    return True


@dataclass
class DemoStack:
    """A running demo: base URLs of netmon, its Prometheus and Alertmanager."""

    netmon: str
    prometheus: str
    alertmanager: str
    process: subprocess.Popen[bytes]
    output: Path
    plan: script.Plan

    @property
    def stdout(self) -> str:
        return self.output.read_text(errors="replace")

    def sites(self) -> dict[str, dict[str, Any]]:
        data = fetch_json(self.netmon + "/api/v1/sites")["data"]
        return {site["site"]: site for site in data}

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' active alerts (pending and firing)."""
        alerts: list[dict[str, Any]] = fetch_json(self.prometheus + "/api/v1/alerts")["data"][
            "alerts"
        ]
        return alerts

    def firing(self, alertname: str, **labels: str) -> bool:
        return any(
            a["state"] == "firing"
            and a["labels"].get("alertname") == alertname
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in self.alerts()
        )


def demo_command(port: int, prom: int, am: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "netmon",
        "--log-format=json",
        "demo",
        f"--listen=127.0.0.1:{port}",
        f"--prometheus-port={prom}",
        f"--alertmanager-port={am}",
        *extra,
    ]


@contextlib.contextmanager
def running_demo(workdir: Path, *extra: str, within: float = 90.0) -> Iterator[DemoStack]:
    """Start the demo and wait until netmon, Prometheus and Alertmanager are ready;
    stop it with SIGINT (Ctrl-C) afterwards and check it exits cleanly."""
    stack = _started(workdir, extra, within)
    proc = stack.process
    try:
        yield stack
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
        code = proc.wait(timeout=60)
        assert code == 0, f"the demo exited with {code}:\n{stack.stdout[-3000:]}"
    finally:
        _stop(proc)


def _started(workdir: Path, extra: tuple[str, ...], within: float) -> DemoStack:
    """The demo, ready. Its ports are found free before it binds them, and another
    process can take one meanwhile (a fresh CI run: "cannot listen ... Address already in
    use"): such a start is tried again on new ports, three times in all."""
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "demo.out"
    for attempt in range(3):
        port, prom, am = free_tcp_port(), free_tcp_port(), free_tcp_port()
        with output.open("wb") as out:
            # its own process group: whatever it started can be found and stopped afterwards
            proc = subprocess.Popen(
                demo_command(port, prom, am, *extra),
                stdout=out,
                stderr=out,
                cwd=ROOT,
                start_new_session=True,
            )
        stack = DemoStack(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{prom}",
            f"http://127.0.0.1:{am}",
            proc,
            output,
            script.plan(province.province(SITES, 0), INTERVAL),
        )

        def up(stack: DemoStack = stack) -> bool:
            if stack.process.poll() is not None:
                raise AssertionError(f"the demo exited early:\n{stack.stdout[-3000:]}")
            # --no-alerting: the demo starts no Prometheus or Alertmanager of its own
            alone = "--no-alerting" in extra
            urls = [stack.netmon] if alone else [stack.netmon, stack.prometheus, stack.alertmanager]
            return all(ready(url) for url in urls)

        try:
            wait_for(up, within, "netmon, Prometheus and Alertmanager of the demo ready")
            return stack
        except BaseException:
            _stop(proc)
            if attempt == 2 or "Address already in use" not in stack.stdout:
                raise
    raise AssertionError("unreachable")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the demo as Ctrl-C does, so that it stops what it started; then anything left
    of its group (a snmpsim at 80 % CPU would slow every later test) is killed."""
    interrupt_group(proc, 30)


def session_demo(workdir: Path) -> contextlib.AbstractContextManager[DemoStack]:
    """The demo the dashboard and demo tests share (one Prometheus history for both)."""
    return running_demo(
        workdir,
        f"--sites={SITES}",
        f"--interval={INTERVAL:g}",
        f"--speed={SPEED:g}",
        "--duration=900",
    )
