"""The demo's CCTV servers (netmon/tools/demo/cctv.py), spoken to on the wire: by hand-written
RTSP and HTTPS clients (the protocol as the RFCs write it), and by netmon's own service
probes as the demo runs them."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509

from collectors import REGISTRY
from collectors.service.collector import run_checks
from collectors.service.params import HttpProbe, RtspProbe, TlsProbe
from netmon.config import load
from netmon.tools.demo import cctv_sites, province, script
from netmon.tools.demo.cctv import Cctv

SERVERS = [("cam-a", "rtsp"), ("cam-dead", "rtsp"), ("nvr-a", "web"), ("nvr-a", "rtsp")]


@pytest.fixture
async def cctv(tmp_path: Path) -> AsyncIterator[Cctv]:
    servers = Cctv(SERVERS, ["cam-dead"], tmp_path / "nvr.pem", tmp_path / "nvr.key")
    task = asyncio.create_task(servers.run())
    try:
        yield servers
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        servers.close()


async def rtsp_options(port: int, cseq: int = 7, wait: float = 2.0) -> str:
    """One OPTIONS request (RFC 2326 10.1) by hand; the answer's head, or "" if none came
    within ``wait`` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"OPTIONS rtsp://127.0.0.1:{port}/stream1 RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n".encode()
        )
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
        except TimeoutError:
            return ""
        return head.decode()
    finally:
        writer.close()


async def test_a_camera_answers_options_with_200_and_echoes_the_cseq(cctv: Cctv) -> None:
    head = await rtsp_options(cctv.endpoints[("cam-a", "rtsp")], cseq=42)
    lines = head.split("\r\n")
    assert lines[0] == "RTSP/1.0 200 OK"
    assert "CSeq: 42" in lines  # RFC 2326 12.17: the answer carries the request's CSeq


async def test_the_dead_camera_refuses_and_nothing_else_takes_its_port(cctv: Cctv) -> None:
    port = cctv.endpoints[("cam-dead", "rtsp")]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    with socket.socket() as other, pytest.raises(OSError, match="in use"):
        other.bind(("127.0.0.1", port))  # held by the demo while it runs


async def test_a_dark_camera_accepts_but_never_answers_until_lit_again(cctv: Cctv) -> None:
    port = cctv.endpoints[("cam-a", "rtsp")]
    (server,) = cctv.of(["cam-a"])
    server.dark = True
    assert await rtsp_options(port, wait=0.5) == ""  # a cut path: no answer, no refusal
    server.dark = False
    assert (await rtsp_options(port)).startswith("RTSP/1.0 200 OK")


async def test_the_nvr_page_is_https_with_a_certificate_its_ca_file_verifies(
    cctv: Cctv, tmp_path: Path
) -> None:
    port = cctv.endpoints[("nvr-a", "web")]
    context = ssl.create_default_context(cafile=str(tmp_path / "nvr.pem"))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
    )
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = (await asyncio.wait_for(reader.read(), 5)).decode()
    writer.close()
    assert answer.startswith("HTTP/1.1 200 OK\r\n")
    head, _, body = answer.partition("\r\n\r\n")
    length = next(
        int(h.split(":")[1]) for h in head.split("\r\n") if h.startswith("Content-Length")
    )
    assert len(body.encode()) == length
    assert "NVR" in body


async def test_netmons_probes_see_up_refused_and_a_cut_as_the_demo_means(
    cctv: Cctv, tmp_path: Path
) -> None:
    ports = cctv.endpoints
    ca = str(tmp_path / "nvr.pem")
    checks = (
        RtspProbe("cam", "127.0.0.1", ports[("cam-a", "rtsp")], "/stream1", None, 1.0),
        RtspProbe("dead", "127.0.0.1", ports[("cam-dead", "rtsp")], "/stream1", None, 1.0),
        HttpProbe(
            name="web",
            url=f"https://127.0.0.1:{ports[('nvr-a', 'web')]}/",
            expect_status=200,
            body_match="NVR",
            max_body=4096,
            auth=None,
            ca=ca,
            verify=True,
            timeout=2.0,
        ),
        TlsProbe("cert", "127.0.0.1", ports[("nvr-a", "web")], "127.0.0.1", ca, 2.0),
    )
    results = [outcome for outcome, _ in await run_checks(checks, 3.0)]
    assert [o.reason for o in results] == [None, "refused", None, None]
    issued = x509.load_pem_x509_certificate((tmp_path / "nvr.pem").read_bytes())
    assert results[3].not_after == issued.not_valid_after_utc.timestamp()
    for server in cctv.of(["cam-a", "nvr-a"]):
        server.dark = True
    dark = [outcome.reason for outcome, _ in await run_checks(checks, 1.5)]
    assert dark == ["timeout", "refused", "timeout", "timeout"]


def test_the_province_has_its_cctv_points_within_the_sites_asked_for() -> None:
    content = province.province(24, 0)
    sites = {s["id"]: s for data in content.values() for s in data["sites"]}
    assert len(sites) == 24
    cctv = {sid for sid, s in sites.items() if s["kind"] == "cctv"}
    assert len(cctv) == len(cctv_sites.CCTV)
    for sid in cctv:  # a camera point hangs under a village, with no SNMP of its own
        assert sites[sites[sid]["uplinks"][0]]["kind"] not in ("pop", "noc", "cctv")
        assert all("snmp" not in d and d["service"]["checks"] for d in sites[sid]["devices"])
    plan = script.plan(content, 4.0)
    assert plan.dead_camera[0] in cctv
    assert plan.cut_services
    assert all(site in plan.cut_sites for site, _ in plan.cut_services)
    assert plan.dead_camera[0] not in plan.relayed  # no incident of the script touches it


def test_the_demo_config_has_the_bound_ports_and_the_nvr_ca(tmp_path: Path) -> None:
    draft = province.province(24, 0)
    plan = script.plan(draft, 4.0)
    servers = Cctv(
        cctv_sites.servers(draft),
        [plan.dead_camera[1]],
        tmp_path / cctv_sites.NVR_CA,
        tmp_path / "certs" / "nvr.key",
    )
    try:
        content = province.province(24, 1161, endpoints=servers.endpoints)
        config = province.write_config(tmp_path, content, 4.0, "127.0.0.1:9800")
        assert (config.parent / cctv_sites.NVR_CA).is_file()
        ports = {
            (device["id"], check["name"]): check["port"]
            for _, device in cctv_sites.service_devices(content)
            for check in device["service"]["checks"]
        }
        dead = plan.dead_camera[1]
        assert ports[(dead, "rtsp")] == servers.endpoints[(dead, "rtsp")]
        refused = socket.socket()
        assert refused.connect_ex(("127.0.0.1", ports[(dead, "rtsp")])) != 0
        refused.close()
        live = [port for (device, _), port in ports.items() if device != dead]
        assert all(port > 0 for port in live)
        assert all(accepts(port) for port in live)  # listening before netmon reads them
        loaded = load(str(config), REGISTRY)  # what the demo's netmon reads
        assert len(loaded.inventory.sites) == 24
        assert not loaded.warnings  # every CCTV point has its link to the village
    finally:
        servers.close()


def accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
