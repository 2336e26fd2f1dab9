"""The `service:` block through the real config loader: errors at file:line:col inside
the block (also inside a check, whose kind pydantic puts into its error paths), secrets
resolved where they stand, never echoed. The collectors are netmon's own list
(collectors.REGISTRY), handed to the loader as the CLI does."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors import REGISTRY
from collectors.service import ServiceParams
from collectors.service.params import RtspProbe
from netmon.config import ConfigErrors, load
from tests.service_servers import write_camera_config


def write(root: Path, service: str) -> Path:
    return write_camera_config(root, service)


def errors_of(path: Path) -> str:
    with pytest.raises(ConfigErrors) as caught:
        load(path, REGISTRY)
    return str(caught.value)


def test_a_valid_block_becomes_the_devices_service_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAM_RTSP", "rtsp://admin:Kamera-77pQ@10.30.1.11/stream1")
    path = write(
        tmp_path,
        "            - {name: rtsp, kind: rtsp, url: {env: CAM_RTSP}}\n"
        "            - {name: web, kind: tcp, port: 80}\n",
    )
    loaded = load(path, REGISTRY)
    ((kind, params),) = loaded.inventory.devices["cam-pasar-1"].polls
    assert kind == "service"
    assert isinstance(params, ServiceParams)
    rtsp = params.checks[0]
    assert isinstance(rtsp, RtspProbe)
    assert (rtsp.host, rtsp.port, rtsp.path) == ("10.30.1.11", 554, "/stream1")
    assert rtsp.auth is not None
    assert rtsp.auth.password.reveal() == "Kamera-77pQ"


@pytest.mark.parametrize(
    ("check", "at", "message"),
    [
        ("{name: web, kind: tcp}", "{name", "checks.0.port: Field required"),
        (
            "{name: web, kind: tcp, port: 80, body_match: x}",
            "body_match",
            "checks.0.body_match: unknown key 'body_match'",
        ),
        (
            "{name: cam, kind: rtsp, username: admin, password: Kamera-77pQ}",
            "Kamera-77pQ",
            "checks.0.password: secrets are references, not literals",
        ),
        (
            "{name: cam, kind: rtsp, url: {env: NETMON_TEST_UNSET}}",
            "{env",
            "checks.0.url: environment variable NETMON_TEST_UNSET is not set",
        ),
        (
            "{name: dns, kind: dns, query: portal.example, server: ns1.example}",
            "ns1.example",
            "checks.0.server: the DNS server must be an IP address",
        ),
    ],
)
def test_errors_point_into_the_check(tmp_path: Path, check: str, at: str, message: str) -> None:
    """The expected line and column are where ``at`` stands in the YAML written here."""
    line = f"            - {check}"
    text = errors_of(write(tmp_path, line + "\n"))
    expected = f"kutim.yaml:12:{line.index(at) + 1}: sites.0.devices.0.service.{message}"
    assert expected in text, text
    assert "Kamera-77pQ" not in text
