"""Service probes against real servers the tests start on loopback: an aiohttp HTTPS server
with a self-signed certificate near expiry (and one expired), a TCP port that refuses and
one that never accepts, a tiny RTSP responder with digest auth, and dnsmasq."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors import REGISTRY
from collectors.service import (
    ServiceCollector,
    ServiceSettings,
    build_params,
    secrets_from,
)
from collectors.service.params import ServiceParams
from netmon.api import BlockContext, Registry, Snapshot, TargetRef
from netmon.daemon import Daemon
from netmon.store import Store
from tests.helpers import async_wait_for, promtool_check, values
from tests.service_servers import (
    BIG_OFFSET,
    BIG_TOTAL,
    MARKER,
    Certificate,
    Dnsmasq,
    dnsmasq,
    in_days,
    never_accepting_port,
    refusing_port,
    rtsp_server,
    self_signed,
    silent_udp_port,
    web_server,
    write_camera_config,
)

pytestmark = pytest.mark.integration
TARGET = TargetRef("pasar-sangatta", "cam-pasar-1", "service")
NOW = dt.datetime.now(dt.UTC)


def params(tmp_path: Path, *checks: dict[str, Any], timeout: str = "2s") -> ServiceParams:
    settings = ServiceSettings.model_validate({"checks": list(checks), "timeout": timeout})
    return build_params(settings, BlockContext("127.0.0.1", tmp_path, secrets_from(tmp_path)))


def series(snapshot: Snapshot, name: str, **labels: str) -> list[float]:
    want = set(labels.items())
    return [
        s.value
        for part in snapshot.parts
        for s in part.samples
        if s.name == name and want <= set(s.labels)
    ]


def up(snapshot: Snapshot, check: str) -> float:
    (value,) = series(snapshot, "netmon_service_up", check=check)
    return value


def failures(snapshot: Snapshot, check: str) -> dict[str, float]:
    """reason -> count of one check's netmon_service_failures_total."""
    return {
        dict(s.labels)["reason"]: s.value
        for part in snapshot.parts
        for s in part.samples
        if s.name == "netmon_service_failures_total" and ("check", check) in s.labels
    }


def reason(snapshot: Snapshot, check: str) -> str:
    """The reason this poll counted for the check (exactly one counter moved by 1)."""
    moved = [r for r, n in failures(snapshot, check).items() if n == 1]
    assert len(moved) == 1, failures(snapshot, check)
    return moved[0]


@pytest.fixture
def near_expiry(tmp_path: Path) -> Certificate:
    """portal.test's certificate: valid since yesterday, expires in 5 days."""
    return self_signed(
        tmp_path / "near", "portal.test", not_before=in_days(-1), not_after=in_days(5)
    )


@pytest.fixture
def expired(tmp_path: Path) -> Certificate:
    return self_signed(
        tmp_path / "old", "portal.test", not_before=in_days(-30), not_after=in_days(-2)
    )


@pytest.fixture(scope="module")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dnsmasq]:
    with dnsmasq(tmp_path_factory.mktemp("dnsmasq")) as server:
        yield server


# ------------------------------------------------------------------------------- TCP


async def test_tcp_open_refused_and_never_accepting(tmp_path: Path) -> None:
    async with web_server(None) as web:
        with refusing_port() as closed, never_accepting_port() as stuck:
            p = params(
                tmp_path,
                {"name": "web", "kind": "tcp", "port": web.port},
                {"name": "closed", "kind": "tcp", "port": closed},
                {"name": "stuck", "kind": "tcp", "port": stuck, "timeout": "1s"},
                {"name": "stuck-too", "kind": "tcp", "port": stuck, "timeout": "1s"},
            )
            t0 = time.monotonic()
            snapshot = await ServiceCollector().poll(TARGET, p, 5)
            took = time.monotonic() - t0
    assert (up(snapshot, "web"), up(snapshot, "closed"), up(snapshot, "stuck")) == (1, 0, 0)
    assert reason(snapshot, "closed") == "refused"
    assert reason(snapshot, "stuck") == "timeout"
    (stuck_took,) = series(snapshot, "netmon_service_duration_seconds", check="stuck")
    assert 1.0 <= stuck_took < 1.8
    assert took < 1.8  # the two 1 s timeouts ran side by side, not one after the other
    assert snapshot.ok  # one check passed: the device answers
    assert series(snapshot, "netmon_device_up") == []  # the SNMP collector's series
    assert snapshot.error is None
    assert "closed (refused" in snapshot.error_detail
    assert "stuck (timeout" in snapshot.error_detail


async def test_a_device_whose_checks_all_fail_is_down_with_the_first_reason(
    tmp_path: Path,
) -> None:
    with never_accepting_port() as stuck, refusing_port() as closed:
        p = params(
            tmp_path,
            {"name": "rtsp", "kind": "tcp", "port": stuck, "timeout": "300ms"},
            {"name": "web", "kind": "tcp", "port": closed},
        )
        snapshot = await ServiceCollector().poll(TARGET, p, 5)
    assert snapshot.error == "timeout"  # the first check's reason, in config order
    assert snapshot.error_detail.startswith("every check failed: rtsp (timeout")
    assert series(snapshot, "netmon_device_up") == []
    assert snapshot.error is not None
    # the failed checks' series are kept (part ok): a dead camera shows up 0, not nothing
    assert all(part.ok for part in snapshot.parts)


async def test_the_poll_ends_at_its_deadline(tmp_path: Path) -> None:
    with never_accepting_port() as stuck:
        p = params(tmp_path, {"name": "rtsp", "kind": "tcp", "port": stuck}, timeout="10s")
        t0 = time.monotonic()
        snapshot = await ServiceCollector().poll(TARGET, p, 0.5)
        took = time.monotonic() - t0
    assert 0.5 <= took < 1.5  # the check's own timeout is 10 s
    assert snapshot.error == "timeout"


async def test_failures_count_per_reason_from_zero_and_forget_resets(tmp_path: Path) -> None:
    collector = ServiceCollector()
    with refusing_port() as closed:
        p = params(tmp_path, {"name": "web", "kind": "tcp", "port": closed})
        for _ in range(3):
            snapshot = await collector.poll(TARGET, p, 5)
        other = await collector.poll(TargetRef("s", "d", "service"), p, 5)
    counts = failures(snapshot, "web")
    assert counts == {
        "refused": 3,
        "timeout": 0,
        "tls": 0,
        "dns": 0,
        "status": 0,
        "mismatch": 0,
        "error": 0,
    }
    assert failures(other, "web")["refused"] == 1  # per target
    collector.forget(TARGET)
    with refusing_port() as closed:
        p = params(tmp_path, {"name": "web", "kind": "tcp", "port": closed})
        assert failures(await collector.poll(TARGET, p, 5), "web")["refused"] == 1


# ------------------------------------------------------------------------- TLS, HTTP


async def test_certificate_near_expiry_verified_with_its_ca(
    tmp_path: Path, near_expiry: Certificate
) -> None:
    async with web_server(near_expiry) as web:
        p = params(
            tmp_path,
            {"name": "cert", "kind": "tls", "port": web.port, "ca": str(near_expiry.cert)},
            {
                "name": "cert-by-name",
                "kind": "tls",
                "port": web.port,
                "server_name": "portal.test",
                "ca": str(near_expiry.cert),
            },
            {
                "name": "portal",
                "kind": "http",
                "url": f"https://127.0.0.1:{web.port}/",
                "ca": str(near_expiry.cert),
                "body_match": "SIMPUS",
            },
        )
        snapshot = await ServiceCollector().poll(TARGET, p, 5)
    assert (up(snapshot, "cert"), up(snapshot, "cert-by-name"), up(snapshot, "portal")) == (1, 1, 1)
    expiry = series(snapshot, "netmon_tls_certificate_expiry_timestamp_seconds", check="cert")
    assert expiry == [near_expiry.not_after.timestamp()]
    days_left = (expiry[0] - time.time()) / 86400
    assert 4.9 < days_left <= 5.0
    # only tls checks report a date
    assert series(snapshot, "netmon_tls_certificate_expiry_timestamp_seconds", check="portal") == []


async def test_an_untrusted_or_expired_certificate_fails_with_tls_and_still_has_a_date(
    tmp_path: Path, near_expiry: Certificate, expired: Certificate
) -> None:
    async with web_server(near_expiry) as web, web_server(expired) as old:
        p = params(
            tmp_path,
            # no CA given: the system's store does not know this self-signed certificate
            {"name": "untrusted", "kind": "tls", "port": web.port},
            {"name": "expired", "kind": "tls", "port": old.port, "ca": str(expired.cert)},
            {"name": "wrong-name", "kind": "tls", "port": web.port, "server_name": "simpus.test",
             "ca": str(near_expiry.cert)},
            {"name": "portal", "kind": "http", "url": f"https://127.0.0.1:{old.port}/",
             "ca": str(expired.cert)},
            {"name": "portal-unverified", "kind": "http", "verify": False,
             "url": f"https://127.0.0.1:{old.port}/"},
            {"name": "no-ca", "kind": "tls", "port": web.port, "ca": "missing.pem"},
        )  # fmt: skip
        snapshot = await ServiceCollector().poll(TARGET, p, 5)
    for check in ("untrusted", "expired", "wrong-name", "portal"):
        assert up(snapshot, check) == 0, check
        assert reason(snapshot, check) == "tls", check
    assert up(snapshot, "portal-unverified") == 1
    expiry = "netmon_tls_certificate_expiry_timestamp_seconds"
    assert series(snapshot, expiry, check="untrusted") == [near_expiry.not_after.timestamp()]
    assert series(snapshot, expiry, check="expired") == [expired.not_after.timestamp()]
    detail = snapshot.error_detail
    assert "expired (tls: certificate not valid: certificate has expired" in detail
    assert reason(snapshot, "no-ca") == "error"
    assert "no-ca (error: cannot load the CA bundle: No such file or directory)" in detail


async def test_http_status_body_match_and_basic_auth(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SIMPUS_PASSWORD", "Rahasia-91xQ")
    async with web_server(None, basic=("dinkes", "Rahasia-91xQ")) as web:
        base = f"http://127.0.0.1:{web.port}"
        p = params(
            tmp_path,
            {"name": "page", "kind": "http", "port": web.port, "body_match": "SIMPUS P"},
            {"name": "broken", "kind": "http", "url": f"{base}/broken"},
            {"name": "maintenance", "kind": "http", "url": f"{base}/broken", "expect_status": 503},
            {"name": "wording", "kind": "http", "url": base, "body_match": "SIMRS"},
            {"name": "private", "kind": "http", "url": f"{base}/private", "username": "dinkes",
             "password": {"env": "SIMPUS_PASSWORD"}, "body_match": "Puskesmas"},
            {"name": "anonymous", "kind": "http", "url": f"{base}/private"},
        )  # fmt: skip
        snapshot = await ServiceCollector().poll(TARGET, p, 5)
    got = {c: up(snapshot, c) for c in ("page", "broken", "maintenance", "wording", "private")}
    assert got == {"page": 1, "broken": 0, "maintenance": 1, "wording": 0, "private": 1}
    assert reason(snapshot, "broken") == "status"
    assert "broken (status: HTTP 503, expected 200)" in snapshot.error_detail
    assert reason(snapshot, "wording") == "mismatch"
    assert reason(snapshot, "anonymous") == "status"
    assert web.auth_seen[-2:].count("Basic ZGlua2VzOlJhaGFzaWEtOTF4UQ==") == 1  # base64 by hand


async def test_the_body_is_read_only_up_to_max_body(tmp_path: Path) -> None:
    """VSAT pays per byte: the marker after 1 MiB is not found with a 64 KiB cap, and
    the server could not push the 64 MiB page through: the probe hung up."""
    async with web_server(None) as web:
        url = f"http://127.0.0.1:{web.port}/big"
        marker = MARKER.decode()
        p = params(
            tmp_path,
            {"name": "capped", "kind": "http", "url": url, "body_match": marker},
        )
        snapshot = await ServiceCollector().poll(TARGET, p, 5)
        assert reason(snapshot, "capped") == "mismatch"
        assert "first 65536 bytes" in snapshot.error_detail

        async def handler_ended() -> bool:
            return len(web.big_sent) == 1

        await async_wait_for(handler_ended, 10, "the big page's handler to end")
        capped_sent = web.big_sent[0]

        wide = {"name": "wide", "kind": "http", "url": url, "body_match": marker,
                "max_body": BIG_OFFSET + len(MARKER)}  # fmt: skip
        snapshot = await ServiceCollector().poll(TARGET, params(tmp_path, wide), 5)
        assert up(snapshot, "wide") == 1
    assert capped_sent < BIG_TOTAL / 4, capped_sent


# ------------------------------------------------------------------------------- DNS


async def test_dns_against_dnsmasq(tmp_path: Path, dns_server: Dnsmasq) -> None:
    server = f"127.0.0.1:{dns_server.port}"
    with silent_udp_port() as silent:
        p = params(
            tmp_path,
            {"name": "portal", "kind": "dns", "server": server, "query": "portal.test"},
            {"name": "portal-v6", "kind": "dns", "server": server, "query": "portal.test",
             "record": "AAAA", "expect": ["::1"]},
            {"name": "portal-ip", "kind": "dns", "server": server, "query": "portal.test",
             "expect": ["10.9.9.9", "127.0.0.1"]},
            {"name": "moved", "kind": "dns", "server": server, "query": "portal.test",
             "expect": ["10.9.9.9"]},
            {"name": "gone", "kind": "dns", "server": server, "query": "gone.test"},
            {"name": "silent", "kind": "dns", "server": f"127.0.0.1:{silent}",
             "query": "portal.test", "timeout": "500ms"},
        )  # fmt: skip
        snapshot = await ServiceCollector().poll(TARGET, p, 5)
    got = {c.name: up(snapshot, c.name) for c in p.checks}
    assert got == {
        "portal": 1,
        "portal-v6": 1,
        "portal-ip": 1,
        "moved": 0,
        "gone": 0,
        "silent": 0,
    }
    assert reason(snapshot, "moved") == "mismatch"
    assert "moved (mismatch: portal.test is 127.0.0.1, not one of 10.9.9.9)" in (
        snapshot.error_detail
    )
    assert reason(snapshot, "gone") == "dns"
    assert "gone (dns: A gone.test: NXDOMAIN)" in snapshot.error_detail
    assert reason(snapshot, "silent") == "timeout"
    # dnsmasq saw the queries (it is the server that answered, not a resolver of ours)
    assert "query[A] gone.test from 127.0.0.1" in dns_server.log.read_text()


# ------------------------------------------------------------------------------ RTSP


async def test_rtsp_options_with_and_without_digest_auth(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("CAM_PASSWORD", "salah")
    async with rtsp_server() as open_cam, rtsp_server(("admin", "Kamera-77pQ")) as locked:
        monkeypatch.setenv("CAM_URL", f"rtsp://admin:Kamera-77pQ@127.0.0.1:{locked.port}/s/101")
        async with web_server(None) as web:
            p = params(
                tmp_path,
                {"name": "open", "kind": "rtsp", "port": open_cam.port, "path": "/stream1"},
                {"name": "locked", "kind": "rtsp", "url": {"env": "CAM_URL"}},
                {"name": "wrong", "kind": "rtsp", "port": locked.port, "username": "admin",
                 "password": {"env": "CAM_PASSWORD"}},
                {"name": "anonymous", "kind": "rtsp", "port": locked.port},
                {"name": "not-rtsp", "kind": "rtsp", "port": web.port},
            )  # fmt: skip
            snapshot = await ServiceCollector().poll(TARGET, p, 5)
    got = {c.name: up(snapshot, c.name) for c in p.checks}
    assert got == {"open": 1, "locked": 1, "wrong": 0, "anonymous": 0, "not-rtsp": 0}
    assert open_cam.requests[0].startswith(
        f"OPTIONS rtsp://127.0.0.1:{open_cam.port}/stream1 RTSP/1.0\r\nCSeq: 1\r\n"
    )
    assert reason(snapshot, "wrong") == "status"
    assert "wrong (status: RTSP 401, expected 200 (wrong or missing credentials))" in (
        snapshot.error_detail
    )
    assert reason(snapshot, "anonymous") == "status"
    assert reason(snapshot, "not-rtsp") == "error"
    # the credentials went only into the digest, never into the request line
    assert all("Kamera-77pQ" not in r and "admin:" not in r for r in locked.requests)


# --------------------------------------------------------------------------- secrets


async def test_secrets_never_leave_the_collector(
    tmp_path: Path,
    monkeypatch: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Credentials of failing checks appear in no label, error detail, log line, repr
    or exposition; nor in the error of a secret that is no URL."""
    password, token = "Sup3r-Geheim-4u", "tok-8HsQ2"
    with refusing_port() as closed, never_accepting_port() as stuck:
        monkeypatch.setenv("CAM_URL", f"rtsp://admin:{password}@127.0.0.1:{closed}/live")
        monkeypatch.setenv("WEB_URL", f"http://op:{password}@127.0.0.1:{stuck}/?t={token}")
        monkeypatch.setenv("WEB_PASSWORD", password)
        p = params(
            tmp_path,
            {"name": "cam", "kind": "rtsp", "url": {"env": "CAM_URL"}},
            {"name": "web", "kind": "http", "url": {"env": "WEB_URL"}, "timeout": "300ms"},
            {"name": "nvr", "kind": "http", "port": closed, "username": "op",
             "password": {"env": "WEB_PASSWORD"}},
        )  # fmt: skip
        collector = ServiceCollector()
        snapshot = await collector.poll(TARGET, p, 5)
    assert snapshot.error == "refused"  # the failures really happened
    store = Store(collector.metadata())
    store.apply(snapshot, 60)
    exposition = store.render()
    assert values(exposition, "netmon_service_up", check="web") == [0.0]
    assert promtool_check(exposition).returncode == 0
    monkeypatch.setenv("WEB_URL", f"htp:/{password}")
    settings = ServiceSettings.model_validate(
        {"checks": [{"name": "web", "kind": "http", "url": {"env": "WEB_URL"}}]}
    )
    with pytest.raises(ValueError, match="WEB_URL") as bad:
        build_params(settings, BlockContext("127.0.0.1", tmp_path, secrets_from(tmp_path)))
    labels = [v for part in snapshot.parts for s in part.samples for _, v in s.labels]
    texts = {
        "labels": " ".join(labels),
        "detail": snapshot.error_detail,
        "parts": " ".join(str(part.error) for part in snapshot.parts),
        "exposition": exposition,
        "repr": repr(p) + repr(snapshot),
        "error": str(bad.value) + repr(bad.value),
        "logs": caplog.text + "".join(capsys.readouterr()),
    }
    for where, text in texts.items():
        for secret in (password, token):
            assert secret not in text, where


# ----------------------------------------------------------------------- in the daemon


async def test_a_camera_only_site_is_up_then_down_by_its_rtsp_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through config, scheduler, status and /metrics, the collector listed by hand here
    as collectors.REGISTRY lists it: a site whose only device is a camera is up while
    its RTSP server answers, and down when it is gone."""
    collector = ServiceCollector()
    registry = Registry(
        polling={**REGISTRY.polling, "service": lambda _options: collector},
        streams=REGISTRY.streams,
        device_kinds=REGISTRY.device_kinds,
    )
    async with contextlib.AsyncExitStack() as stack:
        camera_running = contextlib.AsyncExitStack()
        camera = await camera_running.enter_async_context(rtsp_server())
        stack.push_async_callback(camera_running.aclose)
        write_camera_site(tmp_path, camera.port)
        daemon = Daemon(tmp_path / "netmon.yaml", registry)
        daemon.load_initial()
        await daemon.start()
        stack.push_async_callback(daemon.stop)

        def status() -> str:
            assert daemon.status is not None
            return daemon.status.published["pasar-sangatta"].status

        async def site_is(wanted: str) -> bool:
            return status() == wanted

        await async_wait_for(lambda: site_is("up"), 10, "the camera's site up")
        text = daemon.store.render()
        assert values(text, "netmon_service_up", check="rtsp", kind="rtsp") == [1.0]
        assert values(text, "netmon_target_up", collector="service") == [1.0]
        assert camera.requests  # the camera really was asked

        await camera_running.aclose()  # the camera's RTSP server is gone: refused
        await async_wait_for(lambda: site_is("down"), 10, "the camera's site down")
        text = daemon.store.render()
        assert values(text, "netmon_service_up", check="rtsp") == [0.0]
        assert values(text, "netmon_target_up", collector="service") == [0.0]
        assert values(text, "netmon_poll_errors_total", reason="refused") != [0.0]


def write_camera_site(root: Path, port: int) -> None:
    write_camera_config(
        root,
        f"            - {{name: rtsp, kind: rtsp, port: {port}, path: /stream1}}\n",
        address="127.0.0.1",
        main="defaults: {interval: 1s, deadline: 1s}\nstatus: {hold: 0s, interval: 200ms}\n",
        timeout="500ms",
    )
