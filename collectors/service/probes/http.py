"""HTTP(S) GET: the expected status, and a pattern in at most ``max_body`` bytes."""

from __future__ import annotations

import re
import ssl
from base64 import b64encode
from dataclasses import dataclass

import aiohttp
from yarl import URL

from collectors.service.params import Credentials, HttpProbe
from collectors.service.probes.outcome import PASSED, Outcome, failed, from_exception
from collectors.service.probes.sockets import client_context
from netmon.api import Secret

HEADERS = {"User-Agent": "netmon-service-probe"}


@dataclass(frozen=True, slots=True)
class Request:
    """Where a GET goes and with what: the URL without its user, the headers (basic auth
    from the probe's credentials or from user:password in a secret URL), the TLS check."""

    url: URL
    headers: dict[str, str]
    verify: ssl.SSLContext | bool


def request(
    given: str | Secret, auth: Credentials | None, verify: bool, ca: str | None
) -> Request | Outcome:
    """The request of an http or throughput check, or the outcome when it cannot be made
    (an unreadable CA bundle)."""
    url = URL(given.reveal() if isinstance(given, Secret) else given)
    headers = dict(HEADERS)
    login = None
    if auth is not None:
        login = (auth.username.reveal(), auth.password.reveal())
    elif url.user is not None:  # user:password in a secret URL: sent as basic auth
        login = (url.user, url.password or "")
    if login is not None:
        headers["Authorization"] = "Basic " + b64encode(":".join(login).encode()).decode()
    context: ssl.SSLContext | bool = False
    if verify:
        try:
            context = client_context(ca)
        except (OSError, ssl.SSLError) as exc:
            return failed("error", f"cannot load the CA bundle: {exc.strerror or exc}")
    return Request(url.with_user(None), headers, context)


async def http(probe: HttpProbe) -> Outcome:
    """One GET on a fresh connection (closed afterwards: no keep-alive between polls, so
    every poll proves the connect). The body is read only for ``body_match``, and then
    only its first ``max_body`` bytes: the connection is closed on the rest."""
    made = request(probe.url, probe.auth, probe.verify, probe.ca)
    if isinstance(made, Outcome):
        return made
    url, headers, verify = made.url, made.headers, made.verify
    connector = aiohttp.TCPConnector(force_close=True, limit=1)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, headers=headers) as session,
            session.get(url, allow_redirects=False, ssl=verify) as response,
        ):
            if response.status != probe.expect_status:
                return failed("status", f"HTTP {response.status}, expected {probe.expect_status}")
            if probe.body_match is None:
                return PASSED
            body = await read_capped(response.content, probe.max_body)
    except aiohttp.ClientError as exc:
        return classify(exc)
    except (OSError, ValueError) as exc:
        return from_exception(exc) if isinstance(exc, OSError) else failed("error", "bad URL")
    if re.search(probe.body_match, body.decode("utf-8", "replace")) is None:
        return failed("mismatch", f"body_match not found in the first {len(body)} bytes")
    return PASSED


async def read_capped(stream: aiohttp.StreamReader, cap: int) -> bytes:
    """At most ``cap`` bytes of the body (fewer when it ends first)."""
    chunks: list[bytes] = []
    have = 0
    while have < cap:
        chunk = await stream.read(cap - have)
        if not chunk:
            break
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


def classify(exc: aiohttp.ClientError) -> Outcome:
    """aiohttp's errors as reasons. Their text can hold the URL: it is never used."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return from_exception(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientSSLError):
        return failed("tls", "TLS handshake failed")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return failed("dns", "cannot resolve the host name")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return from_exception(exc.os_error)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return failed("timeout", "no answer in time")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return failed("error", "the server closed the connection without an answer")
    if isinstance(exc, aiohttp.InvalidURL):
        return failed("error", "bad URL")
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return failed("error", "not a valid HTTP answer")
    return failed("error", f"HTTP failed: {type(exc).__name__}")
