"""The netmon command as a user runs it: check, poll, run with SIGHUP (demo: test_demo)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from netmon import logging as nlog
from netmon.tools.simulate import SnmpSim, free_tcp_port
from tests.conftest import SECRET_COMMUNITY
from tests.helpers import ROOT, values, wait_for, write_config

pytestmark = pytest.mark.integration


def netmon(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )


def run_netmon(config: Path) -> tuple[subprocess.Popen[str], str]:
    """`netmon run` on a free port, its output piped; (process, base URL)."""
    port = free_tcp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "netmon", "run", "-c", str(config), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return proc, f"http://127.0.0.1:{port}"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        body: bytes = resp.read()
        return body.decode()


def reachable(url: str) -> bool:
    try:
        get(url)
    except OSError:
        return False
    return True


def test_check_prints_a_summary_of_the_example_province() -> None:
    env = {
        "NETMON_SNMP_COMMUNITY": "x",
        "NETMON_SNMPV3_AUTH_KEY": "a",
        "NETMON_SNMPV3_PRIV_KEY": "p",
        "NETMON_MQTT_PASSWORD": "y",
    }
    result = netmon("check", "-c", "config/netmon.yaml", env=env)
    assert result.returncode == 0, result.stderr
    assert "OK, 36 sites, 68 devices" in result.stdout
    assert "mqtt: 3 subscriptions (power, status, ups)" in result.stdout
    assert "Kutai Timur" in result.stdout


def test_check_reports_every_error_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "netmon.yaml").write_text("listen: nowhere\ndefaults: {interval: often}\n")
    result = netmon("check", "-c", str(tmp_path / "netmon.yaml"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].endswith("netmon.yaml:1:9: listen: listen must be host:port, got 'nowhere'")
    assert "netmon.yaml:2:22: defaults.interval: not a duration: 'often'" in lines[1]
    assert lines[-1] == "2 error(s); nothing was changed"


def test_check_without_secrets() -> None:
    secrets = (
        "NETMON_SNMP_COMMUNITY",
        "NETMON_SNMPV3_AUTH_KEY",
        "NETMON_SNMPV3_PRIV_KEY",
        "NETMON_MQTT_PASSWORD",
    )
    env = {k: v for k, v in os.environ.items() if k not in secrets}
    result = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-c", "config/netmon.yaml", "--no-secrets"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_poll_prints_the_metrics_of_one_device(snmpsim: SnmpSim) -> None:
    result = netmon(
        "poll",
        "127.0.0.1",
        "--port",
        str(snmpsim.port),
        "--profile",
        "if_mib,mikrotik",
        "--community-env",
        "NM_COMMUNITY",
        env={"NM_COMMUNITY": SECRET_COMMUNITY},
    )
    assert result.returncode == 0, result.stderr
    assert values(result.stdout, "netmon_optical_rx_power_dbm", ifname="sfp1") == [-5.673]
    assert values(result.stdout, "netmon_interface_oper_up", ifname="WAN") == [1.0]
    assert SECRET_COMMUNITY not in result.stdout + result.stderr


def test_poll_with_a_literal_community_warns(snmpsim: SnmpSim) -> None:
    result = netmon(
        "poll",
        "127.0.0.1",
        "--port",
        str(snmpsim.port),
        "--community",
        "linux",
        "--profile",
        "host_resources",
    )
    assert result.returncode == 0
    assert "--community puts a secret in your shell history" in result.stderr


def test_poll_of_a_dead_device_exits_1_and_says_why(snmpsim: SnmpSim) -> None:
    result = netmon(
        "poll",
        "127.0.0.1",
        "--port",
        str(snmpsim.port),
        "--timeout",
        "0.3",
        "--community-env",
        "NM_COMMUNITY",
        env={"NM_COMMUNITY": "nobody-home"},
    )
    assert result.returncode == 1
    assert "poll failed: timeout" in result.stderr
    assert "nobody-home" not in result.stdout + result.stderr
    assert values(result.stdout, "netmon_target_up") == [0.0]


def test_poll_without_a_community_is_refused() -> None:
    result = netmon("poll", "127.0.0.1")
    assert result.returncode == 2
    assert "--community-env" in result.stderr


def test_run_reloads_on_sighup_and_stops_on_sigterm(tmp_path: Path, snmpsim: SnmpSim) -> None:
    devices = {
        "rtr-a": (SECRET_COMMUNITY, ["system", "if_mib"]),
        "srv-b": ("linux", ["system", "host_resources"]),
    }
    config = write_config(tmp_path, snmpsim.port, devices, reload_enabled=False)
    proc, base = run_netmon(config)
    try:

        def polled(ids: set[str]) -> bool:
            if not reachable(base + "/-/ready"):
                return False
            data: list[dict[str, Any]] = json.loads(get(base + "/api/v1/targets"))["data"]
            return {t["device"] for t in data if t["polls"] > 0} == ids

        wait_for(lambda: polled({"rtr-a", "srv-b"}), 20, "both devices polled")
        write_config(tmp_path, snmpsim.port, {"srv-b": devices["srv-b"]}, reload_enabled=False)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: 'device="rtr-a"' not in get(base + "/metrics"), 10, "rtr-a gone")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    _, stderr = proc.communicate(timeout=10)
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert events[0] == "config loaded"
    assert "config reloaded" in events
    assert events[-1] == "stopping"
    assert SECRET_COMMUNITY not in stderr


async def test_a_background_task_that_fails_stops_serve_with_exit_1(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    """The demo's relays, pager and simulator run beside netmon; one dying (its port
    taken, say) must stop the demo loudly, not leave it playing a broken script."""
    from netmon.cli import serve

    config = write_config(tmp_path, snmpsim.port, {"rtr": ("routeros", ["system"])})

    async def broken() -> None:
        raise OSError(98, "Address already in use")

    log = tmp_path / "netmon.log"
    try:
        with log.open("w") as out:
            code = await serve(
                str(config), f"127.0.0.1:{free_tcp_port()}", 60, [broken], log_stream=out
            )
    finally:
        nlog.configure("info", "json")  # later tests must not log into the closed file
    assert code == 1
    assert "a background task failed; stopping" in log.read_text()
    assert "Address already in use" in log.read_text()


def test_a_hostile_file_on_sighup_is_one_counted_line_not_a_traceback(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    """Issue 10, item 8: a RecursionError from a file nested thousands deep escaped the
    SIGHUP reload ("Task exception was never retrieved", a 3,000-line traceback in the
    JSON log) and was not counted as a failed reload."""
    config = write_config(
        tmp_path, snmpsim.port, {"rtr-a": (SECRET_COMMUNITY, ["system"])}, reload_enabled=False
    )
    proc, base = run_netmon(config)
    try:
        wait_for(lambda: reachable(base + "/-/ready"), 20, "netmon ready")
        (tmp_path / "sites" / "deep.yaml").write_text("sites: " + "[" * 5000 + "]" * 5000)
        proc.send_signal(signal.SIGHUP)

        def failed() -> bool:
            text = get(base + "/metrics")
            return values(text, "netmon_config_reloads_total", result="failure") == [1.0]

        wait_for(failed, 20, "the reload counted as failed")
        assert '"device": "rtr-a"' in get(base + "/api/v1/targets")  # the old config runs on
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    _, stderr = proc.communicate(timeout=10)
    assert "Traceback" not in stderr
    assert "never retrieved" not in stderr
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line is a JSON event
    errors = [e for e in lines if e["level"] == "error"]
    assert len(errors) == 1, errors
    assert "sites/deep.yaml" in errors[0]["error"]
