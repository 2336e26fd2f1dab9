"""SNMP traps and informs with pysnmp: a linkDown acts at once, not at the next poll.

A trap is mapped to a device by snmpTrapAddress.0, then by the v3 engine id
(devices' trap_engine_id), and only then by its source address (NAT and
duplicate default addresses exist). linkDown/linkUp update
``netmon_trap_interface_up`` and ask for a fresh poll of the device at once;
the status engine reads a linkDown on a site's uplink as a link outage.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as pconfig
from pysnmp.entity import engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.api import v2c

from collectors.trap.config import TrapConfig
from collectors.trap.gate import Gate, GatedUdpTransport, SourceLimiter
from collectors.trap.index import TrapIndex
from netmon.api import (
    LINK_EVENT_UP,
    Directory,
    MetricMeta,
    MetricType,
    Part,
    Role,
    Sample,
    Sink,
    Snapshot,
    StreamSpec,
    TargetRef,
    clean_label_value,
    read_secret,
)

log = structlog.get_logger("netmon.trap")

TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
IF_INDEX, IF_DESCR, IF_NAME = (
    "1.3.6.1.2.1.2.2.1.1.",
    "1.3.6.1.2.1.2.2.1.2.",
    "1.3.6.1.2.1.31.1.1.1.1.",
)
KINDS = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
}
_AUTH = {
    "md5": pconfig.USM_AUTH_HMAC96_MD5,
    "sha1": pconfig.USM_AUTH_HMAC96_SHA,
    "sha224": pconfig.USM_AUTH_HMAC128_SHA224,
    "sha256": pconfig.USM_AUTH_HMAC192_SHA256,
    "sha384": pconfig.USM_AUTH_HMAC256_SHA384,
    "sha512": pconfig.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "des": pconfig.USM_PRIV_CBC56_DES,
    "aes128": pconfig.USM_PRIV_CFB128_AES,
    "aes192": pconfig.USM_PRIV_CFB192_AES,
    "aes256": pconfig.USM_PRIV_CFB256_AES,
}
#: bytes of socket receive buffer asked for
RECEIVE_BUFFER = 4 * 1024 * 1024
#: pysnmp's own counters of what it refused, turned into our result labels
REFUSED = {
    ("__SNMPv2-MIB", "snmpInBadCommunityNames"): "bad_community",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"): "bad_auth",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"): "bad_auth",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"): "bad_auth",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"): "bad_auth",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows"): "bad_auth",
}
META = (
    MetricMeta(
        "netmon_trap_interface_up",
        MetricType.GAUGE,
        "Interface state from the last linkDown (0) or linkUp (1) trap.",
    ),
    MetricMeta(
        "netmon_trap_last_timestamp_seconds",
        MetricType.GAUGE,
        "When the device's last accepted trap arrived.",
    ),
)


class TrapCollector:
    kind = "trap"

    def __init__(self, sink: Sink, directory: Directory, registry: CollectorRegistry) -> None:
        self.sink = sink
        self.directory = directory
        self._index: TrapIndex | None = None
        self.received = Counter(
            "netmon_traps_received",
            "Traps and informs by result (accepted, unknown_source, bad_community, bad_auth, "
            "malformed; insecure: from a device on the closed intranet without SNMPv3 authPriv; "
            "rate_limited and oversize are dropped before decoding).",
            ["result"],
            registry=registry,
        )
        self.config: TrapConfig | None = None
        self.engine: Any = None
        self._seen: dict[str, int] = {}
        self._interfaces: dict[str, dict[str, float]] = {}  # target key -> ifname -> up
        self._published: dict[str, TargetRef] = {}  # devices with trap series
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self._gate: Gate | None = None
        self._report_after = 0.0  # monotonic: when drops may be logged again

    def metadata(self) -> Sequence[MetricMeta]:
        return META

    def configure(self, section: Any | None, base: Path) -> None:
        """Start, restart or stop the receiver; all or nothing.

        The new receiver is built first, on a socket bound here and now (pysnmp would
        bind later, in a task whose failure nobody sees): a port that is taken, or a
        secret that cannot be read, raises OSError/SecretError and the running
        receiver goes on as it was."""
        config: TrapConfig | None = section
        if config == self.config and self.engine is not None:
            return
        if config is None:
            self._close()
            self.config = None
            return
        sock = self._claim(config)
        gate = self._make_gate(config)
        try:
            eng = self._engine(config, base, sock, gate)
        except BaseException:
            sock.close()
            raise
        self._close()
        self.engine, self.config, self._sock, self._gate = eng, config, sock, gate
        self._seen = {}
        self._task = asyncio.create_task(self._count_refused(), name="trap-refused")
        log.info("trap receiver listening", listen=config.listen)

    def _claim(self, config: TrapConfig) -> socket.socket:
        """The UDP socket to listen on: the running one again when the address is the
        same (a second bind would fail on our own port), else a new one bound now."""
        running = self.config.address if self.config is not None else None
        if self._sock is not None and running == config.address:
            return self._sock.dup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # room for a burst while the loop is busy elsewhere (the kernel caps the request
        # at net.core.rmem_max; a full queue loses traps before anything can count them)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        try:
            sock.bind(config.address)
        except OSError as exc:
            sock.close()
            reason = exc.strerror or str(exc)
            raise OSError(exc.errno, f"cannot listen on {config.listen} (UDP): {reason}") from None
        return sock

    def _make_gate(self, config: TrapConfig) -> Gate:
        limiter = SourceLimiter(config.rate_per_source, config.burst)
        limited, oversize = self.received.labels("rate_limited"), self.received.labels("oversize")
        malformed = self.received.labels("malformed")
        return Gate(limiter, config.max_message_size, limited, oversize, malformed)

    def _engine(self, config: TrapConfig, base: Path, sock: socket.socket, gate: Gate) -> Any:
        # secrets first: once the transport exists, nothing else here should fail
        communities = [read_secret(ref, base) for ref in config.communities]
        users = [
            (
                user,
                read_secret(user.auth_key, base),
                read_secret(user.priv_key, base) if user.priv_key else None,
            )
            for user in config.users
        ]
        eng = engine.SnmpEngine()
        transport = GatedUdpTransport(gate).open_server_mode(sock=sock)
        pconfig.add_transport(eng, udp.DOMAIN_NAME, transport)
        for i, community in enumerate(communities):
            pconfig.add_v1_system(eng, f"community-{i}", community)
        for user, auth, priv in users:
            for engine_id in user.engine_ids:
                args: list[Any] = [eng, user.name, _AUTH[user.auth_protocol], auth]
                if user.priv_protocol and priv:
                    args += [_PRIV[user.priv_protocol], priv]
                pconfig.add_v3_user(*args, securityEngineId=v2c.OctetString(hexValue=engine_id))
        ntfrcv.NotificationReceiver(eng, self._received)
        return eng

    def sites_changed(self) -> None:
        """Devices gone from the inventory lose their trap series at once; traps are
        mapped to the devices of the new inventory, by an index built at the first trap
        (10,000 devices: 10-25 ms, which a reload's swap need not pay when no trap
        comes)."""
        self._index = None
        for key in list(self._published):
            target = self._published[key]
            if not self.directory.device_exists(target.site, target.device):
                del self._published[key]
                self._interfaces.pop(key, None)
                self.sink.remove(TargetRef(target.site, target.device, "trap").key)

    def _received(
        self,
        snmp_engine: Any,
        _ref: Any,
        _ctx_engine: Any,
        _ctx_name: Any,
        var_binds: Any,
        _cb_ctx: Any,
    ) -> None:
        """pysnmp's callback, on our event loop: one trap or inform."""
        try:
            context = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
            source = str(context["transportAddress"][0])
            engine_id = context.get("securityEngineId")
            engine_hex = bytes(engine_id).hex() if engine_id is not None else None
            # USM (3) at authPriv (3): the only traps the closed intranet accepts
            auth_priv = int(context["securityModel"]) == 3 and int(context["securityLevel"]) == 3
            binds = {str(oid): value for oid, value in var_binds}
            kind = KINDS.get(str(binds.get(TRAP_OID, "")), "other")
        except Exception:
            self.received.labels("malformed").inc()
            return
        address = str(binds[TRAP_ADDRESS].prettyPrint()) if TRAP_ADDRESS in binds else source
        if self._index is None:  # the first trap since the inventory changed
            self._index = TrapIndex(self.directory)
        target = self._index.device_for(address, engine_hex)
        if target is None:
            self.received.labels("unknown_source").inc()
            log.info("trap from an unknown source", source=source, address=address, kind=kind)
            return
        if target in self._index.intranet and not auth_priv:
            self.received.labels("insecure").inc()
            log.warning(
                "trap from a device on the closed intranet without SNMPv3 authPriv, dropped",
                site=target.site,
                device=target.device,
                kind=kind,
            )
            return
        self.received.labels("accepted").inc()
        if kind in ("linkDown", "linkUp"):
            self._link(target, binds, 1.0 if kind == "linkUp" else 0.0)
        self._publish(target)
        self.directory.poll_now(target.key)  # the poll confirms, and catches reboots at once

    def _link(self, device: TargetRef, binds: dict[str, Any], up: float) -> None:
        ifname = None
        ifindex = None
        for oid, value in binds.items():
            # a varbind of the wrong type (an OID for ifName, NULL for ifIndex) names nothing
            if oid.startswith(IF_NAME) or oid.startswith(IF_DESCR):
                octets = getattr(value, "asOctets", None)
                ifname = (clean_label_value(octets()) if octets else None) or ifname
            elif oid.startswith(IF_INDEX):
                try:
                    ifindex = str(int(value))
                except (TypeError, ValueError):
                    continue
        if ifname is None and ifindex is not None:
            ifname = self.directory.ifname(device.key, ifindex) or f"ifindex-{ifindex}"
        if ifname is None:
            return
        self._interfaces.setdefault(device.key, {})[ifname] = up
        log.info(
            "link trap",
            site=device.site,
            device=device.device,
            ifname=ifname,
            state="up" if up else "down",
        )

    def _publish(self, device: TargetRef) -> None:
        self._published[device.key] = device
        target = TargetRef(device.site, device.device, "trap")
        now = time.time()
        samples = [Sample("netmon_trap_last_timestamp_seconds", target.labels, round(now, 3))]
        for ifname, up in self._interfaces.get(device.key, {}).items():
            samples.append(
                Sample("netmon_trap_interface_up", (*target.labels, ("ifname", ifname)), up)
            )
        self.sink.apply(
            Snapshot(target, now, 0.0, [Part("trap", samples)]), 3600.0, now, replace=True
        )

    async def _count_refused(self, every: float = 1.0) -> None:
        """pysnmp drops bad traps inside its stack; its MIB counters say how many."""
        while True:
            await asyncio.sleep(every)
            builder = self.engine.get_mib_builder()
            for (module, name), result in REFUSED.items():
                (counter,) = builder.import_symbols(module, name)
                value = int(counter.syntax)
                delta = value - self._seen.get(name, 0)
                if delta > 0:
                    self.received.labels(result).inc(delta)
                    log.warning("traps refused", reason=result, counter=name, count=delta)
                self._seen[name] = value
            self._report_dropped()

    def _report_dropped(self, quiet: float = 10.0) -> None:
        """Log what the gate dropped: the first drops at once, then at most one line per
        ``quiet`` seconds (a flood must not become a flood of log lines)."""
        now = time.monotonic()
        if self._gate is None or now < self._report_after:
            return
        total, by_source = self._gate.report()
        if total:
            log.warning("traps dropped before decoding", count=total, sources=by_source)
            self._report_after = now + quiet

    def _close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.engine is not None:
            self.engine.close_dispatcher()
            self.engine = None
        self._gate = None
        if self._sock is not None:  # the transport closed it; a dup() keeps the port
            self._sock.close()
            self._sock = None

    async def stop(self) -> None:
        self._close()


#: its section of netmon.yaml, `traps:`
#: pushed events: a linkDown names a cut at once, but proves nothing about life
TRAPS = StreamSpec(
    section="traps",
    model=TrapConfig,
    factory=TrapCollector,
    kind="trap",
    role=Role.EVENTS,
    evidence=frozenset({LINK_EVENT_UP}),
)

__all__ = ["TRAPS", "TrapCollector", "TrapConfig"]
