"""Fetch what the profiles ask for, over links that lose packets.

gufo-snmp has a timeout but no retries. A lost request inside a walk is
retried by asking the same bulk iterator again: it re-sends the request for
the last OID it had, so the walk resumes instead of starting over (checked
against net-snmp with a lossy proxy: no duplicates, no gaps). A table that
still fails is reported as failed; the others go on (a partial poll).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

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
from gufo.snmp.aio import SnmpSession

from collectors.snmp.engine import RawPoll, Value, Varbinds
from collectors.snmp.profile import Profile
from netmon.api import SnmpParams

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


class PollFailed(Exception):
    """The device did not answer usefully at all; ``reason`` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


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

    async def run(self, profiles: Iterable[Profile]) -> RawPoll:
        profiles = list(profiles)
        if self.params.version == "3":
            await self._retry(self.session.refresh)
            self.answered = True
        await self._scalars(profiles)
        for profile in profiles:
            for table in profile.tables:
                key = f"{profile.name}.{table.name}"
                self.raw.failed_tables[key] = "pending"
        for profile in profiles:
            for table in profile.tables:
                key = f"{profile.name}.{table.name}"
                got: Varbinds = []
                for root in table.walk:
                    error = await self._walk(root, got)
                    if error is not None:
                        self.raw.failed_tables[key] = error
                        break
                else:
                    del self.raw.failed_tables[key]
                self.raw.tables[key] = got
        return self.raw

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.params.retries + 1):
            self.requests += 1
            try:
                return await call()
            except TimeoutError:
                if attempt == self.params.retries:
                    if not self.answered:
                        raise
                    raise PollFailed("timeout", "device stopped answering mid-poll") from None
        raise AssertionError("unreachable")

    async def _scalars(self, profiles: list[Profile]) -> None:
        exact = sorted({s.oid for p in profiles for s in p.scalars.values() if not s.first})
        firsts = sorted({s.oid for p in profiles for s in p.scalars.values() if s.first})
        for start in range(0, len(exact), GET_BATCH):
            batch = exact[start : start + GET_BATCH]
            try:
                got = await self._retry(partial(self.session.get_many, batch))
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
            self.answered = True
            if value not in (b"", None):
                return value
            if not oid.startswith(column + "."):
                return None

    async def _walk(self, root: str, out: Varbinds) -> str | None:
        """Walk one subtree into ``out``; None when complete, else the failure reason."""
        iterator = self.session.getbulk(root).__aiter__()
        seen: set[str] = set()
        tries = 0
        cap = self.params.max_varbinds
        while True:
            try:
                oid, value = await iterator.__anext__()
            except StopAsyncIteration:
                return None
            except TimeoutError:
                tries += 1
                self.requests += 1
                if tries > self.params.retries:
                    if not self.answered:
                        raise
                    return "timeout"
                continue
            except SnmpError as exc:
                if not self.answered:
                    raise
                return classify(exc)[0]
            tries = 0
            self.answered = True
            if oid in seen:
                return "oid_loop"  # an agent that answers the same OID again would never end
            seen.add(oid)
            out.append((oid, value))
            if len(seen) > cap:
                return "too_big"
