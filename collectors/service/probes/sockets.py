"""Plain TCP and TLS probes: does the port accept, is the certificate valid and until when."""

from __future__ import annotations

import asyncio
import functools
import os
import ssl

from cryptography import x509

from collectors.service.params import TcpProbe, TlsProbe
from collectors.service.probes.outcome import PASSED, Outcome, failed, from_exception


async def tcp(probe: TcpProbe) -> Outcome:
    """A connection accepted is a pass; nothing is sent (a camera's stream port counts)."""
    try:
        _, writer = await asyncio.open_connection(probe.host, probe.port)
    except OSError as exc:
        return from_exception(exc)
    writer.transport.abort()
    return PASSED


async def tls(probe: TlsProbe) -> Outcome:
    """A verified handshake passes. When verification fails (expired, untrusted, wrong
    name) the check fails with reason tls, and a second, unverified handshake still
    fetches the certificate so its not-after is reported: an expired certificate is
    exactly when the date matters most."""
    try:
        context = client_context(probe.ca)
    except (OSError, ssl.SSLError) as exc:
        return failed("error", f"cannot load the CA bundle: {exc.strerror or exc}")
    try:
        der = await peer_certificate(probe, context)
    except ssl.SSLCertVerificationError as exc:
        rejected = from_exception(exc)
        try:
            der = await peer_certificate(probe, _unverified())
        except OSError:
            return rejected
        return failed("tls", rejected.detail, not_after(der))
    except OSError as exc:
        return from_exception(exc)
    expiry = not_after(der)
    if expiry is None:
        return failed("tls", "the certificate could not be read")
    return Outcome(not_after=expiry)


async def peer_certificate(probe: TlsProbe, context: ssl.SSLContext) -> bytes:
    """The server's certificate (DER) after a handshake with ``context``."""
    _, writer = await asyncio.open_connection(
        probe.host, probe.port, ssl=context, server_hostname=probe.server_name
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.transport.abort()
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return bytes(der)


def not_after(der: bytes) -> float | None:
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    except ValueError:
        return None


def client_context(ca: str | None) -> ssl.SSLContext:
    """A verifying client context: the CA bundle at ``ca``, else the system's. Cached
    (loading the system store costs milliseconds) until the bundle file changes."""
    stamp = os.stat(ca).st_mtime_ns if ca is not None else 0
    return _context(ca, stamp)


@functools.lru_cache(maxsize=64)
def _context(ca: str | None, _stamp: int) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


@functools.lru_cache(maxsize=1)
def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read the date of a rejected certificate
    return context
