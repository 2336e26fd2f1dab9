"""Real servers on loopback for the service probe tests: an HTTPS server with a
self-signed certificate, TCP ports that refuse or never accept, a tiny RTSP responder
with digest auth, dnsmasq, and paced test files (the demo's file server)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netmon.tools.demo.speedtest import FileServer
from netmon.tools.simulate import free_udp_port

#: what the SIMPUS page says (the body_match of the tests)
PAGE = b"<html><title>SIMPUS Puskesmas Sangatta</title></html>"
#: the big page: this marker sits after BIG_OFFSET bytes of filler
MARKER = b"SIMPUS-END"
BIG_OFFSET = 1024 * 1024
BIG_TOTAL = 64 * 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    not_after: dt.datetime


def self_signed(
    folder: Path, name: str, *, not_before: dt.datetime, not_after: dt.datetime
) -> Certificate:
    """A self-signed certificate for ``name`` and 127.0.0.1 (its own CA), with the
    validity the test chose: the expected dates come from here, not from the probe."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    alt = x509.SubjectAlternativeName(
        [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(alt, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path, not_after)


def whole_seconds(when: dt.datetime) -> dt.datetime:
    return when.replace(microsecond=0)


@dataclass
class WebServer:
    port: int
    #: bytes the big page got out before the client hung up, once its handler ended
    big_sent: list[int] = field(default_factory=list)
    #: Authorization headers the /private page was sent
    auth_seen: list[str] = field(default_factory=list)


def web_app(server: WebServer, basic: tuple[str, str] | None) -> web.Application:
    """/ the page, /broken 503, /private the page behind basic auth (``basic``: user,
    password; None: nobody gets in), /big 64 MiB with MARKER after 1 MiB."""
    login = ":".join(basic).encode() if basic is not None else None
    wanted = "Basic " + base64.b64encode(login).decode() if login is not None else None

    async def page(_request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    async def broken(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="maintenance")

    async def private(request: web.Request) -> web.Response:
        got = request.headers.get("Authorization", "")
        server.auth_seen.append(got)
        if wanted is None or got != wanted:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="simpus"'})
        return web.Response(body=PAGE, content_type="text/html")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = BIG_TOTAL
        await response.prepare(request)
        sent = 0
        try:
            while sent < BIG_TOTAL:
                if sent <= BIG_OFFSET < sent + CHUNK:
                    at = BIG_OFFSET - sent
                    chunk = b"x" * at + MARKER + b"x" * (CHUNK - at - len(MARKER))
                else:
                    chunk = b"x" * CHUNK
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: that is the point
        finally:
            server.big_sent.append(sent)
        return response

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/broken", broken)
    app.router.add_get("/private", private)
    app.router.add_get("/big", big)
    return app


@contextlib.asynccontextmanager
async def web_server(
    tls: Certificate | None, basic: tuple[str, str] | None = None
) -> AsyncIterator[WebServer]:
    """The SIMPUS web app on 127.0.0.1 (HTTPS with ``tls``), on a port of its own."""
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = WebServer(port=sock.getsockname()[1])
    runner = web.AppRunner(web_app(server, basic))
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=context).start()
    try:
        yield server
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def file_server() -> AsyncIterator[FileServer]:
    """Files of known size at a paced rate (``server.url(bits_per_second, size)``); every
    answer is recorded in ``server.deliveries`` with the server's own times."""
    server = FileServer()
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        server.close()


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: a connect gets a RST (refused), and the port
    stays ours for the test (a closed one could be taken by anyone)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextlib.contextmanager
def never_accepting_port() -> Iterator[int]:
    """A listener that never accepts, its queue full: Linux drops further SYNs, so a
    connect hangs until the client gives up (a real timeout, no firewall needed)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers: list[socket.socket] = []
        try:
            while True:  # backlog 0 holds one; fill until a connect no longer completes
                filler = socket.socket()
                fillers.append(filler)
                filler.settimeout(0.3)
                try:
                    filler.connect(("127.0.0.1", port))
                except TimeoutError:
                    break
                if len(fillers) > 16:
                    raise RuntimeError("the accept queue never filled")
            yield port
        finally:
            for filler in fillers:
                filler.close()


# --------------------------------------------------------------------------- RTSP


@dataclass
class RtspServer:
    port: int
    #: every request's head, as received
    requests: list[str] = field(default_factory=list)


REALM = "IP Camera(C1234)"
NONCE = "4f1e6b2a9c"


def digest_ok(authorization: str, user: str, password: str, uri: str) -> bool:
    """RFC 2617 digest (MD5, no qop: what most cameras offer), computed here on its own."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', authorization.removeprefix("Digest ")))
    ha1 = hashlib.md5(f"{user}:{REALM}:{password}".encode()).hexdigest()  # noqa: S324
    ha2 = hashlib.md5(f"OPTIONS:{uri}".encode()).hexdigest()  # noqa: S324
    expected = hashlib.md5(f"{ha1}:{NONCE}:{ha2}".encode()).hexdigest()  # noqa: S324
    return (
        params.get("username") == user
        and params.get("uri") == uri
        and params.get("nonce") == NONCE
        and params.get("response") == expected
    )


@contextlib.asynccontextmanager
async def rtsp_server(credentials: tuple[str, str] | None = None) -> AsyncIterator[RtspServer]:
    """Answers OPTIONS with 200, or with 401 + a digest challenge until the request
    carries the right digest for ``credentials``."""
    server = RtspServer(port=0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                server.requests.append(head)
                lines = head.split("\r\n")
                method, uri, _ = lines[0].split(" ", 2)
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                cseq = headers.get("CSeq", "0")
                if method != "OPTIONS":
                    answer = f"RTSP/1.0 405 Method Not Allowed\r\nCSeq: {cseq}\r\n\r\n"
                elif credentials is not None and not digest_ok(
                    headers.get("Authorization", ""), *credentials, uri
                ):
                    answer = (
                        f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                        f'WWW-Authenticate: Digest realm="{REALM}", nonce="{NONCE}", '
                        'stale="FALSE"\r\nWWW-Authenticate: Basic realm="IP Camera"\r\n\r\n'
                    )
                else:
                    answer = (
                        f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
                        "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
                    )
                writer.write(answer.encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


# --------------------------------------------------------------------------- DNS


@dataclass(frozen=True)
class Dnsmasq:
    port: int
    log: Path


#: the names dnsmasq serves: portal.test -> 127.0.0.1 and ::1; gone.test -> NXDOMAIN
RECORDS = ("/portal.test/127.0.0.1", "/portal.test/::1", "/gone.test/")


def answers(port: int) -> bool:
    query = dns.message.make_query("portal.test", "A")
    try:
        dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2)
    except (dns.exception.Timeout, OSError):
        return False
    return True


@contextlib.contextmanager
def dnsmasq(workdir: Path) -> Iterator[Dnsmasq]:
    """dnsmasq on a free loopback port, answering only from its --address records. It
    binds the port for TCP too, which a free UDP port does not promise: a start that
    finds either taken is tried again on another port (3 times)."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not os.access(binary, os.X_OK):
        raise RuntimeError("dnsmasq is not installed: run scripts/bootstrap.sh")
    log = workdir / "dnsmasq.log"
    for attempt in range(3):
        port = free_udp_port()
        cmd = [
            binary,
            "--no-daemon",
            "--conf-file=/dev/null",
            f"--port={port}",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--pid-file=",
            "--log-queries",
            *(f"--address={record}" for record in RECORDS),
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")  # it would switch to nobody and lose its log file
        with log.open("w") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while not answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.02)  # polling a condition with a deadline, as tests.helpers does
            else:
                yield Dnsmasq(port, log)
                return
            text = log.read_text()
            if "in use" not in text or attempt == 2:
                raise RuntimeError(f"dnsmasq did not start on port {port}: {text}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def silent_udp_port() -> Iterator[int]:
    """A UDP port that is bound but never read: queries vanish (a DNS timeout)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def in_days(days: float) -> dt.datetime:
    return whole_seconds(dt.datetime.now(dt.UTC) + dt.timedelta(days=days))


def write_camera_config(
    root: Path,
    checks: str,
    *,
    address: str = "10.30.1.11",
    main: str = "defaults: {interval: 1m, deadline: 30s}\n",
    timeout: str | None = None,
) -> Path:
    """netmon.yaml and one site file: a market CCTV site whose one camera has only a
    ``service:`` block with these ``checks`` lines (YAML, indented 12 spaces)."""
    (root / "sites").mkdir(exist_ok=True)
    (root / "netmon.yaml").write_text("inventory: sites/*.yaml\n" + main)
    (root / "sites" / "kutim.yaml").write_text(
        "kabupaten: Kutai Timur\n"
        "sites:\n"
        "  - id: pasar-sangatta\n"
        "    name: CCTV Pasar Induk Sangatta\n"
        "    kind: public_area\n"
        "    devices:\n"
        "      - id: cam-pasar-1\n"
        f"        address: {address}\n"
        "        profiles: []\n"
        "        service:\n"
        + (f"          timeout: {timeout}\n" if timeout else "")
        + "          checks:\n"
        + checks
    )
    return root / "netmon.yaml"
