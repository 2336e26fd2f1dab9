"""`--web.config.file`: TLS, client certificates and basic auth on every endpoint, in the
exporter-toolkit's format (issue 12, item 3), checked with Debian's real Prometheus.

One netmon for the module: TLS with a server certificate from a test CA, client
certificates required (RequireAndVerifyClientCert) and a bcrypt-hashed password. The
expected answers come from the toolkit's documentation and from Prometheus itself.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from collectors import REGISTRY
from netmon.tools.simulate import free_tcp_port
from netmon.tools.stack import Service, prometheus_with
from tests.helpers import values, wait_for
from tests.tls_certs import CA, Pair
from tests.web_daemon import Daemon, netmon_run, start_fails

pytestmark = pytest.mark.integration

USER = "prometheus"
PASSWORD = "c0rrect-h0rse-Bq7"
WRONG = "wr0ng-h0rse-Bq7"
HEADER_TIMEOUT = 3.0


@dataclass
class Secured:
    daemon: Daemon
    root: Path
    ca: Pair
    client: Pair
    rogue_client: Pair  # from another CA
    hashed: str
    server_key: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.daemon.port}"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("web")
    ca = CA(root / "tls")
    server = ca.server()
    client = ca.client("client", "prometheus.netmon.test")
    rogue = CA(root / "rogue", "rogue").client("rogue-client", "prometheus.netmon.test")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    web = {
        "tls_server_config": {
            # relative paths: to the web config's own folder, as exporter-toolkit reads them
            "cert_file": "tls/server.pem",
            "key_file": "tls/server.key",
            "client_ca_file": "tls/ca.pem",
            "client_auth_type": "RequireAndVerifyClientCert",
            "min_version": "TLS12",
        },
        "http_server_config": {
            "headers": {"X-Frame-Options": "deny", "X-Content-Type-Options": "nosniff"}
        },
        "basic_auth_users": {USER: hashed},
    }
    (root / "web.yml").write_text(yaml.safe_dump(web))
    flags = (f"--web.config.file={root / 'web.yml'}", f"--web.read-header-timeout={HEADER_TIMEOUT}")
    with netmon_run(root, *flags) as daemon:
        yield Secured(daemon, root, ca.pair, client, rogue, hashed, server.key)


def client_context(s: Secured, cert: Pair | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(s.ca.cert))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx


def call(
    base: str,
    path: str,
    *,
    method: str = "GET",
    auth: tuple[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request: (status, headers, body); an HTTP error status is an answer too."""
    request = urllib.request.Request(base + path, method=method)  # noqa: S310 - loopback
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def metrics(s: Secured) -> str:
    status, _, body = call(
        s.base, "/metrics", auth=(USER, PASSWORD), context=client_context(s, s.client)
    )
    assert status == 200
    return body


def counter(text: str, name: str, reason: str) -> float:
    (value,) = values(text, name, reason=reason)
    return value


@pytest.fixture
def prometheus(secured: Secured, tmp_path: Path) -> Iterator[Service]:
    """Prometheus with three jobs on the same netmon: right, wrong password, no cert."""
    (tmp_path / "right").write_text(PASSWORD)
    (tmp_path / "wrong").write_text(WRONG)
    target = [{"targets": [f"127.0.0.1:{secured.daemon.port}"]}]
    tls = {"ca_file": str(secured.ca.cert)}
    with_cert = {**tls, "cert_file": str(secured.client.cert), "key_file": str(secured.client.key)}

    def job(name: str, tls_config: dict[str, str], password: str) -> dict[str, Any]:
        return {
            "job_name": name,
            "scheme": "https",
            "tls_config": tls_config,
            "basic_auth": {"username": USER, "password_file": str(tmp_path / password)},
            "static_configs": target,
        }

    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            job("right", with_cert, "right"),
            job("wrong_password", with_cert, "wrong"),
            job("no_client_cert", tls, "right"),
        ],
    }
    with prometheus_with(config, tmp_path / "prometheus", free_tcp_port()) as p:
        yield p


def prom_get(prometheus: Service, path: str) -> Any:
    with urllib.request.urlopen(prometheus.url + path, timeout=10) as resp:  # noqa: S310
        return json.loads(resp.read())["data"]


def test_prometheus_scrapes_over_tls_with_basic_auth_and_is_refused_otherwise(
    secured: Secured, prometheus: Service
) -> None:
    def scraped() -> dict[str, dict[str, Any]]:
        targets = prom_get(prometheus, "/api/v1/targets")["activeTargets"]
        return {t["labels"]["job"]: t for t in targets if t["health"] != "unknown"}

    wait_for(lambda: len(scraped()) == 3, 30, "Prometheus scraped every job once")
    jobs = scraped()
    assert jobs["right"]["health"] == "up", jobs["right"]["lastError"]
    assert jobs["wrong_password"]["health"] == "down"
    assert "401" in jobs["wrong_password"]["lastError"]
    assert jobs["no_client_cert"]["health"] == "down"
    assert "401" not in jobs["no_client_cert"]["lastError"]  # refused before any HTTP
    # netmon's series arrived through the TLS + basic auth job
    query = '/api/v1/query?query=netmon_build_info{job="right"}'
    wait_for(lambda: len(prom_get(prometheus, query)["result"]) == 1, 15, "series stored")
    text = metrics(secured)
    assert counter(text, "netmon_http_auth_failures_total", "invalid") >= 1
    assert counter(text, "netmon_http_connections_closed_total", "tls_handshake") >= 1


def test_every_endpoint_needs_the_password(secured: Secured) -> None:
    """Every route the app has (enumerated, so a later one is covered as well), and a
    path that is not one: 401 without the password or with a wrong one."""
    from netmon.daemon import Daemon as NetmonDaemon
    from netmon.http import make_app

    routes = {
        (route.method, route.resource.canonical.replace("{", "").replace("}", ""))
        for route in make_app(NetmonDaemon(Path("unread.yaml"), REGISTRY)).router.routes()
        if route.resource is not None
    }
    assert {("GET", "/metrics"), ("POST", "/-/reload"), ("GET", "/")} <= routes
    assert any(path.startswith("/api/") for _, path in routes)
    ctx = client_context(secured, secured.client)
    before = metrics(secured)
    for method, path in sorted(routes | {("GET", "/no-such-page")}):
        for auth in (None, (USER, WRONG), ("nobody", PASSWORD)):
            status, headers, _ = call(secured.base, path, method=method, auth=auth, context=ctx)
            assert status == 401, (method, path, auth)
            assert headers["WWW-Authenticate"] == "Basic"
            assert headers["X-Frame-Options"] == "deny"
        status, headers, _ = call(
            secured.base, path, method=method, auth=(USER, PASSWORD), context=ctx
        )
        assert status != 401, (method, path)
        assert headers["X-Content-Type-Options"] == "nosniff"
    after = metrics(secured)
    asked = len(routes) + 1
    for reason, times in (("missing", asked), ("invalid", 2 * asked)):
        got = counter(after, "netmon_http_auth_failures_total", reason)
        assert got - counter(before, "netmon_http_auth_failures_total", reason) == times


@pytest.mark.parametrize("who", ["no certificate", "a certificate of another CA"])
def test_without_a_trusted_client_certificate_there_is_no_http_at_all(
    secured: Secured, who: str
) -> None:
    before = counter(metrics(secured), "netmon_http_connections_closed_total", "tls_handshake")
    cert = None if who == "no certificate" else secured.rogue_client
    context = client_context(secured, cert)
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
        call(secured.base, "/metrics", auth=(USER, PASSWORD), context=context)  # no answer
    after = counter(metrics(secured), "netmon_http_connections_closed_total", "tls_handshake")
    assert after - before == 1


def test_a_silent_connection_to_the_tls_port_is_closed_at_the_header_timeout(
    secured: Secured,
) -> None:
    """The deadline runs from the accept, handshake included: a client that connects and
    never says hello does not keep the socket."""
    with socket.create_connection(("127.0.0.1", secured.daemon.port), timeout=15) as sock:
        opened = time.monotonic()
        assert sock.recv(1) == b""  # the server closed it
        lived = time.monotonic() - opened
    assert HEADER_TIMEOUT - 0.2 <= lived < HEADER_TIMEOUT + 3


def test_a_keepalive_tls_connection_idle_past_the_header_timeout_still_serves(
    secured: Secured,
) -> None:
    """Prometheus keeps its connection between scrapes: idle is not slow."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    context = client_context(secured, secured.client)
    conn = http.client.HTTPSConnection("127.0.0.1", secured.daemon.port, context=context)
    try:
        conn.request("GET", "/-/healthy", headers=headers)
        assert conn.getresponse().read() == b"OK\n"
        first = conn.sock
        # a witness opened now is closed once the header timeout has passed
        with socket.create_connection(("127.0.0.1", secured.daemon.port), timeout=15) as w:
            assert w.recv(1) == b""
        conn.request("GET", "/-/healthy", headers=headers)
        assert conn.getresponse().read() == b"OK\n"
        assert conn.sock is first  # the same connection, not a new one
    finally:
        conn.close()


def test_plain_http_to_the_tls_port_gets_nothing(secured: Secured) -> None:
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        call(f"http://127.0.0.1:{secured.daemon.port}", "/metrics", auth=(USER, PASSWORD))


# toolkit's testdata/web_config_users_noTLS.good.yml: hashes made by htpasswd ($2y$), with
# the passwords its handler tests use (alice123, ...); basic auth without TLS is allowed
TOOLKIT_USERS = """\
basic_auth_users:
  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby
  carol: $2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu
"""


def test_a_node_exporter_file_without_tls_and_a_changed_password_without_restart(
    tmp_path: Path,
) -> None:
    web = tmp_path / "web.yml"
    web.write_text(TOOLKIT_USERS)
    with netmon_run(tmp_path, f"--web.config.file={web}") as daemon:
        base = f"http://127.0.0.1:{daemon.port}"
        assert call(base, "/metrics")[0] == 401
        assert call(base, "/metrics", auth=("alice", "alice123"))[0] == 200
        assert call(base, "/api/v1/sites", auth=("carol", "carol123"))[0] == 200
        assert call(base, "/metrics", auth=("alice", "carol123"))[0] == 401
        warnings = [e for e in daemon.events() if e["level"] == "warning"]
        assert any("without TLS" in e["event"] for e in warnings)
        # a new hash for alice: in use at the next request, as exporter-toolkit does
        new = bcrypt.hashpw(b"n3w-pass", bcrypt.gensalt(4)).decode()
        web.write_text(f"basic_auth_users:\n  alice: {new}\n")
        assert call(base, "/metrics", auth=("alice", "n3w-pass"))[0] == 200
        assert call(base, "/metrics", auth=("alice", "alice123"))[0] == 401
        # broken while running: 500 (nobody gets in), one error naming the file; fixed: back
        web.write_text(f"basic_auth_users:\n  alice: {new}\nno_such_key: 1\n")
        assert call(base, "/metrics", auth=("alice", "n3w-pass"))[0] == 500
        assert call(base, "/metrics", auth=("alice", "n3w-pass"))[0] == 500
        errors = [e for e in daemon.events() if e["level"] == "error"]
        assert len(errors) == 1
        assert f"{web}:3:1" in errors[0]["error"]
        assert "no_such_key" in errors[0]["error"]
        web.write_text(f"basic_auth_users:\n  alice: {new}\n")
        assert call(base, "/metrics", auth=("alice", "n3w-pass"))[0] == 200
    log = daemon.log
    for secret in ("alice123", "carol123", "n3w-pass", new, "$2y$12$1DpfPeqF9HzHJt"):
        assert secret not in log


BAD_FILES = {
    "unknown key": ("tls_server_config:\n  cert_filse: server.crt\n", "unknown key"),
    "header not allowed": ("http_server_config:\n  headers:\n    X-Foo: bar\n", "unknown key"),
    "X-Frame-Options foo": (
        "http_server_config:\n  headers:\n    X-Frame-Options: foo\n",
        "one of deny, sameorigin",
    ),
    "not a bcrypt hash": ("basic_auth_users:\n  john: doe-Xq81\n", "not a bcrypt hash"),
    "missing cert file": (
        "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
        "nope.crt",
    ),
    "wrong TLS version": (
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS111\n",
        "unknown TLS version",
    ),
    "client auth type": (
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sure\n",
        "invalid ClientAuth",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_an_unusable_web_config_stops_the_start_in_one_line_naming_the_file(
    tmp_path: Path, case: str
) -> None:
    text, expected = BAD_FILES[case]
    web = tmp_path / "web.yml"
    web.write_text(text)
    result = start_fails(tmp_path, f"--web.config.file={web}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [e for e in map(json.loads, result.stderr.splitlines()) if e["level"] == "error"]
    assert len(errors) == 1, result.stderr
    assert str(web) in errors[0]["error"]
    assert expected in errors[0]["error"]
    assert "doe-Xq81" not in result.stderr  # a hash (here: not even one) is never shown
    assert not any(e["event"] == "listening" for e in map(json.loads, result.stderr.splitlines()))


def test_nothing_secret_reaches_the_log(secured: Secured) -> None:
    """Last in the module: after every request above, the log has no password, no hash
    and no part of the server's key."""
    log = secured.daemon.log
    key_body = "".join(secured.server_key.read_text().splitlines()[1:-1])
    for secret in (PASSWORD, WRONG, secured.hashed, secured.hashed[7:30], key_body[10:40]):
        assert secret not in log
    assert "PRIVATE KEY" not in log
