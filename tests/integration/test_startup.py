"""Start-up: claim the ports before any outside connection, and say nothing of what is
not polled yet (issue 10, items 11 and 12)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.mqtt.broker import Mosquitto, start_mosquitto
from netmon.tools.simulate import SnmpSim, free_tcp_port, free_udp_port
from tests.conftest import SECRET_COMMUNITY
from tests.harness import start
from tests.helpers import ROOT, values, wait_for, write_config

pytestmark = pytest.mark.integration

CLIENT_ID = "netmon-test"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with start_mosquitto(tmp_path / "broker") as b:
        yield b


def connections_as(broker: Mosquitto, client_id: str) -> int:
    """CONNECTs the broker accepted with this client id (mosquitto logs each one)."""
    return sum(
        1
        for line in broker.log.splitlines()
        if "New client connected" in line and f" as {client_id} (" in line
    )


def write_with_mqtt(root: Path, broker: Mosquitto, listen: int, traps: int) -> Path:
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "trap-community").write_text("trap-c0mm\n")
    main: dict[str, Any] = {
        "listen": f"127.0.0.1:{listen}",
        "mqtt": {
            "url": f"mqtt://127.0.0.1:{broker.port}",
            "client_id": CLIENT_ID,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "subscriptions": [
                {
                    "name": "status",
                    "topic": "desa/{kabupaten}/{site}/status",
                    "format": "status",
                    "device": "agent-{site}",
                }
            ],
        },
        "traps": {"listen": f"127.0.0.1:{traps}", "communities": [{"file": "trap-community"}]},
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    sites = [{"id": "desa-a", "name": "Desa A", "kind": "village_office"}]
    (root / "sites/k.yaml").write_text(yaml.safe_dump({"kabupaten": "K", "sites": sites}))
    return root / "netmon.yaml"


@pytest.mark.parametrize("taken", ["listen", "traps"])
def test_a_taken_port_fails_in_one_line_before_any_connection(
    tmp_path: Path, broker: Mosquitto, taken: str
) -> None:
    """Item 12: the running instance holds the broker session under the fixed client id;
    a second `netmon run` whose port is taken must not knock it off, and must say why
    in one line (no traceback)."""
    # the running instance, as the broker sees it: a client holding the session
    first = subprocess.Popen(
        [
            *("mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-i", CLIENT_ID),
            *("-t", "ping", "-q", "1", "-C", "1"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: connections_as(broker, CLIENT_ID) == 1, 10, "the first client in")
        listen, traps = free_tcp_port(), free_udp_port()
        config = write_with_mqtt(tmp_path / "netmon", broker, listen, traps)
        kind = socket.SOCK_STREAM if taken == "listen" else socket.SOCK_DGRAM
        port = listen if taken == "listen" else traps
        with socket.socket(socket.AF_INET, kind) as holder:
            holder.bind(("127.0.0.1", port))
            if kind == socket.SOCK_STREAM:
                holder.listen()
            result = subprocess.run(
                [sys.executable, "-m", "netmon", "run", "-c", str(config)],
                capture_output=True,
                text=True,
                timeout=30,
                cwd=ROOT,
                check=False,
            )
        assert result.returncode not in (0, None)
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.splitlines()
        errors = [line for line in lines if json.loads(line)["level"] == "error"]  # all JSON
        assert len(errors) == 1, result.stderr
        assert f"127.0.0.1:{port}" in errors[0]
        assert "in use" in errors[0].lower()
        # netmon never connected as the running instance's client id ...
        assert connections_as(broker, CLIENT_ID) == 1, broker.log
        assert "already connected, closing old connection" not in broker.log
        # ... and the running instance still has its session: it gets the next message
        subprocess.run(
            [
                *("mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port)),
                *("-t", "ping", "-q", "1", "-m", "still-here"),
            ],
            check=True,
            timeout=10,
        )
        out, _ = first.communicate(timeout=10)
        assert out.strip() == "still-here"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)


async def test_metrics_right_after_start_show_no_target_as_down(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    """Item 11: for up to one interval after a start, a target not polled yet is unknown.
    Every device here answers, so a `netmon_target_up 0` can only be a false down."""
    devices = {
        "rtr-a": (SECRET_COMMUNITY, ["system", "if_mib"]),
        "srv-b": ("linux", ["system"]),
        "olt-c": ("smartax", ["system"]),
    }
    # a VSAT-like interval: the first polls are spread over the coming hour
    config = write_config(tmp_path, snmpsim.port, devices, interval="1h")
    async with start(config) as running:
        _, text = await running.get("/metrics")
        status, body = await running.get("/api/v1/targets")
        targets = {t["device"]: t for t in json.loads(body)["data"]}
        _, sites_body = await running.get("/api/v1/sites")
    assert status == 200
    unpolled = [d for d, t in targets.items() if t["polls"] == 0]
    assert unpolled  # all three due within the first second of an hour: practically never
    for device in devices:
        up = values(text, "netmon_target_up", device=device)
        assert 0.0 not in up, f"{device} shown down before netmon knows: {up}"
    for device in unpolled:
        assert values(text, "netmon_target_up", device=device) == []
        assert values(text, "netmon_poll_duration_seconds", device=device) == []
    # the status engine does not call a never-polled site down either
    sites = {s["site"]: s["status"] for s in json.loads(sites_body)["data"]}
    for device in unpolled:
        assert sites[f"site-{device}"] == "unknown"
