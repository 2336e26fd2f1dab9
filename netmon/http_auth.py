"""Every HTTP endpoint behind the web config: basic auth, security headers, rate limit.

One aiohttp middleware in front of the whole application, so an endpoint added later
(`/snmp`, reports) is guarded without anyone remembering to: unauthenticated requests get
401 before routing, as exporter-toolkit answers before its mux (an unknown path is 401
too, not 404).

As exporter-toolkit does, the file is read again when it changes (checked by its
modification time and size on each request), so a new password or certificate is in
use at once; a file that became invalid answers 500 to every request (and fails every
TLS handshake) until it is fixed, with one error in the log per change. A user that does
not exist is checked against a fixed hash too, so timing does not tell names apart;
results are cached (by an HMAC of user, hash and password under a key made at start:
no password is kept) and one bcrypt runs at a time, off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

import bcrypt
from aiohttp import web

from netmon import logging as nlog
from netmon.daemon_metrics import DaemonMetrics
from netmon.web_config import WebConfig, WebConfigError, load_web_config, tls_context

log = nlog.get("netmon.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: bcrypt (cost 10) of a random text nobody knows: compared when the user does not exist
_NO_USER_HASH = b"$2b$10$SO1bKOK7S3lbu29GuqrtSOQU/7HMXQQ1eZRpQuIZoi5LTTjj4Up3y"
_CACHE_SIZE = 100  # as exporter-toolkit's


#: the http_server_config headers of a request, for on_prepare
HEADERS: web.RequestKey[dict[str, str]] = web.RequestKey("netmon.web_config.headers", dict)


def _stamp(paths: tuple[Path, ...]) -> tuple[tuple[int, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            out.append((-1, -1, -1))
            continue
        out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


class WebConfigSource:
    """The web config file as it is now: read again when it (or a TLS file) changed."""

    def __init__(self, config: WebConfig) -> None:
        self.path = config.path
        self.tls_on = config.tls.enabled  # fixed at start, as in exporter-toolkit
        self._config: WebConfig | None = config
        self._stamp = _stamp((self.path,))
        self._context = tls_context(config)
        self._context_stamp = _stamp((self.path, *config.tls.files()))
        self._reported: str | None = None

    def config(self) -> WebConfig | None:
        """The current config; None while the file is invalid."""
        stamp = _stamp((self.path,))
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._config = load_web_config(self.path)
            except WebConfigError as exc:
                self._config = None
                self._report(str(exc))
            else:
                self._report(None)
        return self._config

    def tls_context(self) -> ssl.SSLContext | None:
        """The context for a new connection; None while the files do not make one."""
        config = self.config()
        if config is None:
            return None
        stamp = _stamp((self.path, *config.tls.files()))
        if stamp != self._context_stamp or self._context is None:
            self._context_stamp = stamp
            try:
                self._context = tls_context(config)
            except WebConfigError as exc:
                self._context = None
                self._report(str(exc))
            else:
                if self._context is None:  # served over TLS since the start
                    self._report(f"web config {self.path}: TLS is off now; restart netmon")
        return self._context

    def allowed_sans(self) -> tuple[str, ...] | None:
        """client_allowed_sans of the current file (None: any verified client)."""
        return self._config.tls.client_allowed_sans if self._config is not None else None

    def _report(self, error: str | None) -> None:
        if error is not None and error != self._reported:
            log.error("web config unusable; answering 500 until it is fixed", error=error)
        elif error is None and self._reported is not None:
            log.info("web config usable again", file=str(self.path))
        self._reported = error


class TokenBucket:
    """exporter-toolkit's rate_limit: one request per ``interval`` seconds, ``burst`` at
    once (Go's rate.Limiter; a burst of 0 lets nothing through, as there)."""

    def __init__(self, interval: float, burst: int) -> None:
        self.rate = 1.0 / interval
        self.burst = burst
        self.tokens = float(burst)
        self.last = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _credentials(header: str | None) -> tuple[str, bytes] | None:
    """User and password from ``Authorization: Basic``, as Go's Request.BasicAuth."""
    if header is None or header[:6].lower() != "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:], validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


class WebSecurity:
    """The middleware: rate limit, then headers and basic auth, on every request."""

    def __init__(self, source: WebConfigSource, metrics: DaemonMetrics) -> None:
        self.source = source
        self.metrics = metrics
        config = source.config()
        assert config is not None  # checked at start
        self.limiter = (
            TokenBucket(config.rate_interval, config.rate_burst) if config.rate_interval else None
        )
        self._key = os.urandom(32)
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._bcrypt = asyncio.Lock()

    async def _check(self, users: dict[str, bytes], user: str, password: bytes) -> bool:
        hashed = users.get(user)
        known = hashed is not None
        hashed = hashed if hashed is not None else _NO_USER_HASH
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (user.encode(), hashed, password):
            mac.update(len(part).to_bytes(4, "big") + part)
        key = mac.digest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        async with self._bcrypt:  # one at a time: it is CPU-heavy (about 70 ms at cost 10)
            try:
                ok = await asyncio.to_thread(bcrypt.checkpw, password, hashed)
            except ValueError:
                ok = False
        ok = ok and known
        self._cache[key] = ok
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return ok

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        config = self.source.config()
        if config is None:
            return web.Response(status=500, text="Internal Server Error\n")
        if self.limiter is not None and not self.limiter.allow():
            self.metrics.http_rate_limited.inc()
            return web.Response(status=429, text="Too Many Requests\n")
        headers = dict(config.headers)
        if config.users:
            creds = _credentials(request.headers.get("Authorization"))
            if creds is None or not await self._check(config.users, *creds):
                reason = "missing" if creds is None else "invalid"
                self.metrics.http_auth_failures.labels(reason).inc()
                headers["WWW-Authenticate"] = "Basic"
                return web.Response(status=401, text="Unauthorized\n", headers=headers)
        request[HEADERS] = headers  # for a streamed answer: see on_prepare
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(headers)
            raise
        if not response.prepared:
            response.headers.update(headers)
        return response

    @staticmethod
    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        """The headers on a response the handler streams itself (/metrics): its headers
        are sent before the middleware sees it again."""
        response.headers.update(request.get(HEADERS, {}))
