"""Fetch what the profiles ask for, over links that lose packets.

gufo-snmp has a timeout but no retries. A lost request inside a walk is
retried by asking the same bulk iterator again: it re-sends the request for
the last OID it had, so the walk resumes instead of starting over (checked
against net-snmp with a lossy proxy: no duplicates, no gaps). A table that
still fails is reported as failed; the others go on (a partial poll).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    Md5Key,
    NoSuchInstance,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpAuthError,
    SnmpDecodeError,
    SnmpError,
    SnmpVersion,
    User,
)
from gufo.snmp._fast import GetIter
from gufo.snmp.aio import SnmpSession

from collectors.snmp.engine import RawPoll, Varbinds
from collectors.snmp.params import SnmpParams
from collectors.snmp.plan import Value
from collectors.snmp.profile import Profile

_AUTH = {
    "md5": Md5Key,
    "sha1": Sha1Key,
    "sha224": Sha224Key,
    "sha256": Sha256Key,
    "sha384": Sha384Key,
    "sha512": Sha512Key,
}
_PRIV = {"des": DesKey, "aes128": Aes128Key, "aes192": Aes192Key, "aes256": Aes256Key}
_VERSION = {"1": SnmpVersion.v1, "2c": SnmpVersion.v2c, "3": SnmpVersion.v3}
GET_BATCH = 16
T = TypeVar("T")
Batch = list[tuple[str, Value] | None]


class PollFailed(Exception):
    """The device did not answer usefully at all; ``reason`` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def is_decoder_panic(exc: BaseException) -> bool:
    """pyo3 turns a Rust panic into PanicException, which derives from BaseException.

    Seen here: random bytes as an SNMP reply panic gufo-snmp 0.13's BER decoder
    ("index out of bounds"). Garbage from the network must never end a poll task.
    """
    return type(exc).__name__ == "PanicException"


def classify(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) for an exception; details never contain credentials."""
    if isinstance(exc, TimeoutError):
        return "timeout", "no answer within the timeout (down, unreachable, or wrong credentials)"
    if isinstance(exc, SnmpAuthError):
        return "auth", f"SNMPv3 authentication failed: {exc}"
    if isinstance(exc, SnmpDecodeError):
        return "decode", f"undecodable reply: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "port unreachable (no agent listening)"
    if isinstance(exc, OSError):
        return "network", f"network error: {exc.strerror or exc}"
    if isinstance(exc, SnmpError):
        return "agent_error", f"agent error: {exc}"
    return "internal", f"{type(exc).__name__}: {exc}"


def make_session(params: SnmpParams) -> SnmpSession:
    user: User | None = None
    if params.version == "3":
        v3 = params.user
        if v3 is None:
            raise PollFailed("config", "SNMPv3 without a user")
        auth = (
            _AUTH[v3.auth_protocol](v3.auth_key.reveal().encode())
            if v3.auth_protocol and v3.auth_key
            else None
        )
        priv = (
            _PRIV[v3.priv_protocol](v3.priv_key.reveal().encode())
            if v3.priv_protocol and v3.priv_key
            else None
        )
        user = User(v3.name, auth_key=auth, priv_key=priv)
    community = params.community.reveal() if params.community else "public"
    return SnmpSession(
        params.address,
        params.port,
        community=community,
        user=user,
        version=_VERSION[params.version],
        timeout=params.timeout,
        max_repetitions=params.max_repetitions,
    )


@dataclass(slots=True)
class Walker:
    """One device's fetch, recording progress so a deadline keeps what arrived."""

    session: SnmpSession
    params: SnmpParams
    raw: RawPoll = field(default_factory=lambda: RawPoll({}, {}))
    answered: bool = False
    requests: int = 0
    _pending: tuple[asyncio.Future[Batch], Callable[[], Batch]] | None = None

    async def run(self, profiles: Iterable[Profile]) -> RawPoll:
        """Fetch everything; ``answered`` turns true only when data arrives.

        An SNMPv3 discovery reply does not count: an agent answers it for any
        user, even with wrong keys.
        """
        profiles = list(profiles)
        for profile in profiles:
            for table in profile.tables:
                self.raw.failed_tables[f"{profile.name}.{table.name}"] = "pending"
        if self.params.version == "3":
            await self._guard(partial(self._retry, self.session.refresh))
        await self._scalars(profiles)
        for profile in profiles:
            for table in profile.tables:
                key = f"{profile.name}.{table.name}"
                got: dict[str, Varbinds] = {}
                for root in table.walk:
                    got[root] = []
                    error = await self._walk(root, got[root])
                    if error is not None:
                        self.raw.failed_tables[key] = error
                        break
                else:
                    del self.raw.failed_tables[key]
                self.raw.tables[key] = got
        return self.raw

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """Call, re-trying on timeout; the last TimeoutError goes to the caller."""
        for _ in range(self.params.retries):
            self.requests += 1
            try:
                return await call()
            except TimeoutError:
                continue
        self.requests += 1
        return await call()

    async def _scalars(self, profiles: list[Profile]) -> None:
        exact = sorted({s.oid for p in profiles for s in p.scalars.values() if not s.first})
        firsts = sorted({s.oid for p in profiles for s in p.scalars.values() if s.first})
        for start in range(0, len(exact), GET_BATCH):
            batch = exact[start : start + GET_BATCH]
            try:
                got = await self._guard(partial(self._retry, partial(self.session.get_many, batch)))
            except SnmpError:
                if self.params.version != "1":
                    raise
                got = await self._one_by_one(batch)  # v1 fails the PDU on one missing OID
            self.answered = True
            self.raw.scalars.update(got)
        for oid in firsts:
            value = await self._first(oid)
            if value is not None:
                self.raw.scalars[oid] = value

    @staticmethod
    async def _guard(call: Callable[[], Awaitable[T]]) -> T:
        """gufo's decoder can panic on garbage (a Rust panic, a BaseException): make it an error."""
        try:
            return await call()
        except BaseException as exc:
            if is_decoder_panic(exc):
                raise SnmpDecodeError(f"undecodable reply ({exc})") from None
            raise

    async def _one_by_one(self, oids: list[str]) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for oid in oids:
            try:
                out[oid] = await self._retry(partial(self.session.get, oid))
            except (NoSuchInstance, SnmpError):
                continue
        return out

    async def _first(self, column: str) -> Value:
        """The first instance under a column (model names in entPhysicalTable)."""
        iterator = self.session.getbulk(column, max_repetitions=2).__aiter__()
        tries = 0
        while True:
            try:
                self.requests += 1
                oid, value = await iterator.__anext__()
            except StopAsyncIteration:
                return None
            except TimeoutError:
                tries += 1
                if tries > self.params.retries:
                    return None
                continue
            except BaseException as exc:
                if is_decoder_panic(exc):
                    raise SnmpDecodeError(f"undecodable reply ({exc})") from None
                raise
            self.answered = True
            if value not in (b"", None):
                return value
            if not oid.startswith(column + "."):
                return None

    async def _walk(self, root: str, out: Varbinds) -> str | None:
        """Walk one subtree into ``out``; None when complete, else the failure reason."""
        seen: set[str] = set()
        cap = self.params.max_varbinds
        try:
            async for batch in self._batches(root):
                self.answered = True
                for oid, value in batch:
                    if oid in seen:
                        return "oid_loop"  # an agent repeating an OID would never end
                    seen.add(oid)
                    out.append((oid, value))
                if len(seen) > cap:
                    return "too_big"
        except TimeoutError:
            if not self.answered:
                raise
            return "timeout"
        except SnmpError as exc:
            if not self.answered:
                raise
            return classify(exc)[0]
        except BaseException as exc:
            # gufo's decoder panics on garbage (a BaseException): this table's fault, not the loop's
            if not is_decoder_panic(exc):
                raise
            if not self.answered:
                raise SnmpDecodeError(f"undecodable reply ({exc})") from None
            return "decode"
        return None

    async def _batches(self, root: str) -> AsyncIterator[list[tuple[str, Value]]]:
        """GETBULK responses as whole batches, each request retried on timeout.

        The only place that reaches into gufo-snmp's internals (the session's
        ``_sock`` and its non-blocking ``send_get_bulk``/``recv_get_bulk``).
        gufo's public iterator costs one coroutine per varbind and an
        ``asyncio.wait_for`` (a Task on Python 3.11) plus two ``epoll_ctl``
        calls per request; here the socket's reader stays registered for the
        whole walk and each request is one future with a ``call_later``
        timeout (docs/benchmarks.md has the numbers).
        tests/integration/test_snmpd.py fails if a gufo upgrade breaks this.
        A retry re-sends the request for the same OID: the walk resumes.
        """
        session = self.session
        if self.params.version == "1":  # no GETBULK in v1
            async for item in session.getnext(root):
                yield [item]
            return
        sock: Any = session._sock
        ctx = GetIter(root, self.params.max_repetitions)
        send = partial(sock.send_get_bulk, ctx)
        recv = partial(sock.recv_get_bulk, ctx)
        loop = asyncio.get_running_loop()
        fd = sock.get_fd()
        loop.add_reader(fd, self._readable)
        try:
            while True:
                batch = await self._retry(partial(self._bulk_once, loop, send, recv))
                if not batch:
                    return
                if batch[-1] is None:
                    yield [item for item in batch if item is not None]
                    return
                yield batch  # type: ignore[misc]  # no None before the end
        finally:
            self._pending = None
            loop.remove_reader(fd)

    def _readable(self) -> None:
        """Reader callback: complete the pending request with the response."""
        pending = self._pending
        if pending is None:
            return
        future, recv = pending
        if future.done():
            return
        try:
            future.set_result(recv())
        except BlockingIOError:
            return  # nothing for this request (a late answer to an earlier try): keep waiting
        except StopAsyncIteration:
            future.set_result([])  # gufo: the first OID left the subtree, end of walk
        except BaseException as exc:
            future.set_exception(exc)

    async def _bulk_once(
        self,
        loop: asyncio.AbstractEventLoop,
        send: Callable[[], None],
        recv: Callable[[], Batch],
    ) -> Batch:
        """One request/response; ``TimeoutError`` after the per-request timeout."""
        future: asyncio.Future[Batch] = loop.create_future()
        self._pending = (future, recv)
        try:
            send()
        except BlockingIOError:
            await self.session._send(send)  # send buffer full: let gufo wait for it
        timer = loop.call_later(self.params.timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()


def _expire(future: asyncio.Future[Batch]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
