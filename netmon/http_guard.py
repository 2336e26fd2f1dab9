"""Slow clients cannot hold the HTTP port: a request-header deadline and a connection cap.

aiohttp waits for a request's headers as long as the client keeps the socket open (a
client sending one header line every 5 s was never closed). Here every connection sits
behind a thin protocol that knows its state:

- pending: accepted (or, on a keep-alive connection, a first byte of the next request
  arrived) and no complete request yet. It must become a request within
  ``header_timeout`` seconds of that moment, TLS handshake included, or it is closed
  (reason ``header_timeout``; a handshake that fails is ``tls_handshake``).
- busy: aiohttp has the whole request header and is running a handler.
- idle: keep-alive between requests (aiohttp's keep-alive timeout applies).

At ``max_connections`` open connections a new one closes the oldest pending connection
(else the oldest idle one; reason ``evicted``); when every connection is busy the new one
is closed at once (``refused``). So a scrape gets through while hundreds of slow clients
are connected, and netmon never runs out of file descriptors because of them.

TLS is done here too (``loop.start_tls`` on the accepted socket), so a connection counts
and has its deadline from the moment it is accepted, not only after its handshake.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from netmon import logging as nlog
from netmon.daemon_metrics import DaemonMetrics
from netmon.web_config import san_allowed

log = nlog.get("netmon.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 512  # Prometheus's own --web.max-connections default


class TLSSource(Protocol):
    def tls_context(self) -> ssl.SSLContext | None: ...

    def allowed_sans(self) -> tuple[str, ...] | None: ...


class State(enum.Enum):
    PENDING = "pending"
    BUSY = "busy"
    IDLE = "idle"


class GuardedConnection(asyncio.Protocol):
    """Stands between the socket and aiohttp's protocol, passing everything through."""

    def __init__(
        self, guard: ConnectionGuard, inner_factory: Callable[[], asyncio.Protocol]
    ) -> None:
        self.guard = guard
        self.inner_factory = inner_factory
        self.inner: asyncio.Protocol | None = None
        self.raw: asyncio.Transport | None = None
        self.transport: asyncio.BaseTransport | None = None  # what aiohttp sees
        self.state = State.PENDING
        self.timer: asyncio.TimerHandle | None = None
        self.data_while_busy = False
        self.reason: str | None = None  # set when netmon closed it
        self.lost = False
        self._early: list[bytes] = []  # decrypted before aiohttp's protocol existed
        self._early_eof = False
        self._handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.raw = transport
        if not self.guard.admit(self):
            return
        if self.guard.tls is None:
            self._start(transport)
            return
        transport.pause_reading()
        self._handshake = asyncio.get_running_loop().create_task(self._upgrade(self.guard.tls))

    async def _upgrade(self, tls: TLSSource) -> None:
        assert self.raw is not None
        context = tls.tls_context()
        if context is None:  # the web config became invalid: no handshake (as Go's)
            self.guard.close(self, "tls_handshake")
            return
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self.raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self.guard.header_timeout,
            )
        except Exception as exc:  # any failed handshake (ssl, reset, timeout) closes it
            log.debug("TLS handshake failed", error=exc.__class__.__name__)
            self.guard.close(self, "tls_handshake")
            return
        if self.lost or self.reason is not None or transport is None:
            return
        sans = tls.allowed_sans()
        if sans is not None:
            peer = transport.get_extra_info("ssl_object")
            der = peer.getpeercert(binary_form=True) if peer is not None else None
            if not san_allowed(der, sans):
                self.guard.close(self, "tls_handshake")
                return
        self._start(transport)

    def _start(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner = self.inner_factory()
        self.guard.by_transport[transport] = self
        self.inner.connection_made(transport)
        for data in self._early:
            self.data_received(data)
        self._early.clear()
        if self._early_eof and self.inner.eof_received() is not True:
            transport.close()

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            self._early.append(data)
            return
        self.guard.on_data(self)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.inner is None:
            self._early_eof = True
            return True  # keep the transport open until aiohttp's protocol decides
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.guard.forget(self)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


class ConnectionGuard:
    """Every open connection's state; closes the slow ones (see the module's text)."""

    def __init__(
        self,
        metrics: DaemonMetrics,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        tls: TLSSource | None = None,
    ) -> None:
        self.metrics = metrics
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.tls = tls
        self.open: dict[GuardedConnection, None] = {}
        self.pending: OrderedDict[GuardedConnection, None] = OrderedDict()
        self.idle: OrderedDict[GuardedConnection, None] = OrderedDict()
        self.by_transport: dict[asyncio.BaseTransport, GuardedConnection] = {}

    def protocol_factory(
        self, inner_factory: Callable[[], asyncio.Protocol]
    ) -> Callable[[], GuardedConnection]:
        return lambda: GuardedConnection(self, inner_factory)

    def admit(self, conn: GuardedConnection) -> bool:
        """A new connection: make room at the cap, or refuse it."""
        if len(self.open) >= self.max_connections:
            victim = next(iter(self.pending), None) or next(iter(self.idle), None)
            if victim is None:
                self.close(conn, "refused")
                return False
            self.close(victim, "evicted")
        self.open[conn] = None
        self._pend(conn)
        self.metrics.http_connections.set(len(self.open))
        return True

    def _pend(self, conn: GuardedConnection) -> None:
        conn.state = State.PENDING
        self.idle.pop(conn, None)
        self.pending[conn] = None
        self.pending.move_to_end(conn)
        if conn.timer is not None:
            conn.timer.cancel()
        loop = asyncio.get_running_loop()
        conn.timer = loop.call_later(self.header_timeout, self._expire, conn)

    def _expire(self, conn: GuardedConnection) -> None:
        conn.timer = None
        if conn.state is State.PENDING and conn in self.open:
            self.close(conn, "header_timeout")

    def on_data(self, conn: GuardedConnection) -> None:
        if conn.state is State.IDLE:
            self._pend(conn)  # the next request began: its header has the same deadline
        elif conn.state is State.BUSY:
            conn.data_while_busy = True

    def busy(self, conn: GuardedConnection) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        self.pending.pop(conn, None)
        self.idle.pop(conn, None)
        conn.state = State.BUSY
        conn.data_while_busy = False

    def done(self, conn: GuardedConnection) -> None:
        if conn not in self.open:
            return
        if conn.data_while_busy:  # a pipelined request began while this one ran
            self._pend(conn)
            return
        conn.state = State.IDLE
        self.idle[conn] = None

    def close(self, conn: GuardedConnection, reason: str) -> None:
        """Close a connection and count why (once, however often it is asked)."""
        if conn.reason is not None or conn.lost:
            return
        conn.reason = reason
        self.metrics.http_connections_closed.labels(reason).inc()
        self.forget(conn)  # its place is free now; connection_lost comes a little later
        if conn.raw is not None:
            conn.raw.abort()

    def forget(self, conn: GuardedConnection) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        self.open.pop(conn, None)
        self.pending.pop(conn, None)
        self.idle.pop(conn, None)
        if conn.transport is not None:
            self.by_transport.pop(conn.transport, None)
        self.metrics.http_connections.set(len(self.open))

    def close_waiting(self) -> None:
        """At shutdown: connections not in a request go at once (not counted)."""
        for conn in [*self.pending, *self.idle]:
            if conn.raw is not None:
                conn.raw.abort()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A request whose header is complete: its connection is busy until it returns."""
        transport = request.transport
        conn = self.by_transport.get(transport) if transport is not None else None
        if conn is None:  # not served through a GuardedSite (tests' in-process harness)
            return await handler(request)
        self.busy(conn)
        try:
            return await handler(request)
        finally:
            self.done(conn)


class GuardedSite(web.TCPSite):
    """aiohttp's TCPSite with every connection behind a ConnectionGuard."""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard
    ) -> None:
        super().__init__(runner, host, port)
        self.guard = guard

    @property
    def name(self) -> str:
        scheme = "https" if self.guard.tls is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.protocol_factory(server), self._host, self._port, backlog=self._backlog
        )

    async def stop(self) -> None:
        await super().stop()
        self.guard.close_waiting()
