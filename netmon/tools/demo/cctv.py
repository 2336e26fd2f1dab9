"""The demo's CCTV: camera stream servers and NVR web pages on loopback ports.

Each camera's RTSP server is a small responder answering ``OPTIONS`` with
``RTSP/1.0 200 OK``; each NVR also serves its web page over HTTPS with a
self-signed certificate made at start (its own CA: the checks trust it through
``ca:``, and the certificate panel has a date to show). A dead camera's port is
bound but never listens, so a connect is refused, as when its stream server died.

A server behind the fibre cut goes *dark*: it still accepts connections (the port
stays the demo's) but never answers, so a check waits until its timeout, as it
would for a camera beyond a cut path; the repair lights it again.

The sockets are bound and listening before netmon reads the config: the ports in
the config are already taken, and a probe that comes before the servers run waits
in the accept queue instead of being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: how long the NVRs' certificate is valid: no CertificateExpiring in the demo's story
CERT_DAYS = 90
#: the most a request head may take (a probe sends a few hundred bytes)
MAX_HEAD = 8192
#: the NVR's page; the checks' body_match looks for "NVR"
PAGE = b"<html><head><title>NVR</title></head><body>NVR: 4 kamera aktif</body></html>\n"


def write_certificate(cert: Path, key: Path, days: int = CERT_DAYS) -> None:
    """A self-signed certificate for 127.0.0.1 (a CA of its own, so a check can trust it
    with ``ca:``), valid from an hour ago for ``days`` days."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nvr.demo.netmon")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.parent.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class Responder:
    """One listening socket: an RTSP stream server, or an NVR's HTTPS page (``tls``)."""

    def __init__(self, kind: str, tls: ssl.SSLContext | None = None) -> None:
        self.kind = kind
        self.tls = tls
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        #: while set, connections are accepted and then never answered (a cut path)
        self.dark = False
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, sock=self.sock, limit=MAX_HEAD)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.open):  # held connections would keep wait_closed waiting
            writer.transport.abort()
        if self.server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            if self.dark:
                while await reader.read(4096):  # nothing comes back until the client gives up
                    pass
                return
            if self.tls is not None:
                await writer.start_tls(self.tls)
            if self.kind == "rtsp":
                await _rtsp(reader, writer)
            else:
                await _page(reader, writer)
        except (
            OSError,
            EOFError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass  # a probe that hung up or sent garbage: the demo's terminal stays quiet
        finally:
            self.open.discard(writer)
            writer.transport.abort()


async def _rtsp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request on the connection: OPTIONS with 200, anything else 405."""
    while True:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        method = lines[0].split(" ", 1)[0]
        cseq = next(
            (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("cseq:")),
            "0",
        )
        if method == "OPTIONS":
            status, extra = "200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n"
        else:
            status, extra = "405 Method Not Allowed", ""
        writer.write(f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}\r\n".encode())
        await writer.drain()


async def _page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One GET, one answer: the NVR's page, then the connection closes."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        + f"Content-Length: {len(PAGE)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + PAGE
    )
    await writer.drain()


class Cctv:
    """The servers of the demo's cameras and NVRs, by (device, server) as
    ``province.servers`` names them: ``rtsp`` or ``web``."""

    def __init__(
        self, wanted: Iterable[tuple[str, str]], dead: Iterable[str], cert: Path, key: Path
    ) -> None:
        wanted, dead = list(wanted), set(dead)
        tls = None
        if any(server == "web" for _, server in wanted):
            write_certificate(cert, key)
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(cert, key)
        self.responders: dict[tuple[str, str], Responder] = {}
        #: the dead devices' ports: bound, never listening (a connect is refused), and
        #: held so that nothing else takes them while the demo runs
        self.refusing: dict[tuple[str, str], socket.socket] = {}
        try:
            for device, server in wanted:
                if device in dead:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    self.refusing[(device, server)] = sock
                    sock.bind(("127.0.0.1", 0))
                else:
                    responder = Responder(server, tls if server == "web" else None)
                    self.responders[(device, server)] = responder
        except BaseException:
            self.close()
            raise

    @property
    def endpoints(self) -> Mapping[tuple[str, str], int]:
        """(device, server) -> its port, for the config."""
        ports = {key: r.port for key, r in self.responders.items()}
        ports |= {key: s.getsockname()[1] for key, s in self.refusing.items()}
        return ports

    def of(self, devices: Iterable[str]) -> list[Responder]:
        """The servers of these devices (the ones the fibre cut darkens)."""
        wanted = set(devices)
        return [r for (device, _), r in self.responders.items() if device in wanted]

    async def run(self) -> None:
        """Serve until cancelled (a background task of the demo's loop)."""
        try:
            for responder in self.responders.values():
                await responder.start()
            await asyncio.Event().wait()
        finally:
            for responder in self.responders.values():
                await responder.stop()

    def close(self) -> None:
        for responder in self.responders.values():
            responder.sock.close()
        for sock in self.refusing.values():
            sock.close()
