"""The broker connection: connect, subscribe, apply, acknowledge, reconnect.

aiomqtt does not reconnect by itself; this loop does, with capped
exponential backoff and jitter (many villages' agents and netmon must not
hammer a broker that just came back in lockstep). A session that stayed
connected for at least one keepalive interval was a good one: the wait after
it starts again from ``reconnect_min``. The session is persistent
(MQTT 5: clean_start off with a session expiry; 3.1.1: clean_session off,
fixed client id) and subscriptions are QoS 1, so the broker queues what is
published while netmon is away. Each message is acknowledged only after it
was applied, so nothing acknowledged is lost; a repeat after a reconnect is
dropped by the sources' dedup.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import CollectorRegistry, Counter, Gauge

from collectors.mqtt.config import MqttConfig
from collectors.mqtt.session import ack, batches, enable_manual_ack
from collectors.mqtt.sources import Sources
from netmon.api import read_secret

log = structlog.get_logger("netmon.mqtt")


class MqttMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # labelled by broker: no series at all while MQTT is not configured (a constant 0
        # would read as "monitoring is broken" to every deployment without MQTT)
        self.connected = Gauge(
            "netmon_mqtt_connected",
            "1 while connected to the MQTT broker (only when MQTT is configured).",
            ["broker"],
            registry=registry,
        )
        self.reconnects = Counter(
            "netmon_mqtt_reconnects_total",
            "Connection attempts after the first (the broker went away or refused).",
            registry=registry,
        )
        self.connect_errors = Counter(
            "netmon_mqtt_connect_errors_total",
            "Failed connections by reason (auth, tls, refused, timeout, error).",
            ["reason"],
            registry=registry,
        )
        self.messages = Counter(
            "netmon_mqtt_messages",
            "Messages by subscription and result (applied, duplicate, malformed, bad_value, "
            "no_values, implausible, too_large, unknown_topic, unknown_site, other_shard, "
            "over_budget).",
            ["subscription", "result"],
            registry=registry,
        )
        self.retained = Counter(
            "netmon_mqtt_retained_messages",
            "Retained messages received (applied with their age; see "
            "netmon_mqtt_message_age_seconds).",
            ["subscription"],
            registry=registry,
        )
        self.stale = Counter(
            "netmon_mqtt_sources_stale",
            "Telemetry sources that went silent past their TTL.",
            registry=registry,
        )


class LastError(logging.Handler):
    """Keeps the last warning or error paho logged: the only trace of a broker that
    ends a TLS session before CONNACK (aiomqtt then reports a timeout)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


def paho_logger(handler: LastError) -> logging.Logger:
    """A logger for one runner's clients. Not registered with logging (a reload must not
    leak one): it records into ``handler`` and passes records on to aiomqtt's "mqtt"."""
    logger = logging.Logger("mqtt.netmon", logging.WARNING)
    logger.parent = logging.getLogger("mqtt")
    logger.addHandler(handler)
    return logger


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes (aiomqtt raises ``MqttError(str(e)) from None``,
    the original stays as ``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _in_tls_handshake(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "do_handshake":
            return True
        tb = tb.tb_next
    return False


def _tls_reason(exc: BaseException, logged: str) -> str | None:
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause}"
        if isinstance(cause, OSError) and _in_tls_handshake(cause):
            # a plain MQTT listener resets a TLS ClientHello
            return f"TLS handshake failed: {cause} (is the port a TLS listener?)"
    text = str(exc).lower()
    if "certificate" in text or "ssl" in text:
        return f"TLS handshake failed: {exc}"
    if "timed out" in text and ("ssl" in logged.lower() or "tls" in logged.lower()):
        # TLS 1.3: the broker refuses the client certificate after the handshake
        return (
            f"the broker ended the TLS session: {logged} (does it accept this client certificate?)"
        )
    return None


def connect_reason(exc: BaseException, logged: str = "") -> tuple[str, str]:
    """(reason, message for the log); never contains the password.

    ``logged``: the last warning paho logged during the attempt, if any.
    """
    text = str(exc)
    lowered = text.lower()
    tls = _tls_reason(exc, logged)
    if tls is not None:
        return "tls", tls
    if "not authori" in lowered or "bad user name or password" in lowered or "code:5" in lowered:
        return "auth", "the broker refused the user name or password"
    if isinstance(exc, ConnectionRefusedError) or "refused" in lowered:
        return "refused", f"connection refused: {text}"
    if isinstance(exc, TimeoutError) or "timed out" in lowered:
        also = f" (last transport error: {logged})" if logged else ""
        return "timeout", f"the broker did not answer in time{also}"
    return "error", text or type(exc).__name__


class MqttRunner:
    def __init__(
        self, config: MqttConfig, base: Path, sources: Sources, metrics: MqttMetrics
    ) -> None:
        self.config = config
        self.base = base
        self.sources = sources
        self.metrics = metrics
        self.connected = asyncio.Event()
        self.metrics.connected.labels(self.broker).set(0)  # configured: the series exists
        self._was_connected = False
        self._last_error: str | None = None
        self._paho_log = LastError()
        self._logger = paho_logger(self._paho_log)
        #: monotonic time the current session was established (None: not connected)
        self._connected_at: float | None = None

    @property
    def broker(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def _tls(self) -> ssl.SSLContext | None:
        tls = self.config.tls
        if not self.config.use_tls:
            return None
        ca = str(self.base / tls.ca) if tls is not None and tls.ca else None
        context = ssl.create_default_context(cafile=ca)
        if tls is not None and tls.cert and tls.key:
            context.load_cert_chain(str(self.base / tls.cert), str(self.base / tls.key))
        if tls is not None and tls.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def client(self) -> aiomqtt.Client:
        cfg = self.config
        password = read_secret(cfg.password, self.base) if cfg.password else None
        kwargs: dict[str, Any] = {}
        if cfg.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = int(cfg.session_expiry)
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=props)
        else:
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=False)
        client = aiomqtt.Client(
            cfg.host,
            cfg.port,
            username=cfg.username,
            password=password,
            identifier=cfg.client_id,
            keepalive=int(cfg.keepalive),
            tls_context=self._tls(),
            timeout=10,
            logger=self._logger,
            **kwargs,
        )
        enable_manual_ack(client)
        return client

    async def run(self) -> None:
        """Forever: connect, consume, and on any failure back off and reconnect."""
        delay = self.config.reconnect_min
        first = True
        while True:
            if not first:
                self.metrics.reconnects.inc()
            first = False
            self._paho_log.last = ""
            self._connected_at = None
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason, message = connect_reason(exc, self._paho_log.last)
                self.metrics.connect_errors.labels(reason).inc()
                if self._last_error != reason:
                    log.error(
                        "mqtt connection failed",
                        reason=reason,
                        error=message,
                        broker=f"{self.config.host}:{self.config.port}",
                    )
                    self._last_error = reason
            finally:
                if self.connected.is_set():
                    log.warning(
                        "mqtt disconnected", broker=f"{self.config.host}:{self.config.port}"
                    )
                self.connected.clear()
                self.sources.listening(False)
                self.metrics.connected.labels(self.broker).set(0)
            if self._connected_at is not None and (
                time.monotonic() - self._connected_at >= self.config.keepalive
            ):
                delay = self.config.reconnect_min  # a good session: start over
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.config.reconnect_max)

    async def _session(self) -> None:
        async with self.client() as client:
            subs: list[tuple[str, int]] = [
                (topic, sub.qos)
                for sub in self.config.subscriptions
                for topic in sub.mqtt_filters(self.config.narrow)
            ]
            if subs:
                await client.subscribe(subs)
            self.connected.set()
            self.sources.listening(True)
            self._connected_at = time.monotonic()
            self._was_connected = True
            self.metrics.connected.labels(self.broker).set(1)
            log.info(
                "mqtt connected",
                broker=f"{self.config.host}:{self.config.port}",
                subscriptions=len(subs),
            )
            self._last_error = None
            messages = self.metrics.messages
            retained = self.metrics.retained
            async for batch in batches(client):
                for message in batch:
                    payload = message.payload
                    raw = payload if isinstance(payload, bytes) else str(payload or "").encode()
                    result, sub = self.sources.handle(
                        message.topic.value, raw, retained=bool(message.retain)
                    )
                    messages.labels(sub, result).inc()
                    if message.retain:
                        retained.labels(sub).inc()
                # only now, all applied: a crash before here means redelivery. Acking a
                # batch together costs one write cycle instead of one per message.
                for message in batch:
                    ack(client, message)

    async def expire_loop(self, every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            went = self.sources.expire()
            if went:
                self.metrics.stale.inc(went)
