"""Fetch what the profiles ask for, over links that lose packets.

gufo-snmp has a timeout but no retries. A lost request inside a walk is
retried by asking the same bulk iterator again: it re-sends the request for
the last OID it had, so the walk resumes instead of starting over (checked
against net-snmp with a lossy proxy: no duplicates, no gaps). A table that
still fails is reported as failed; the others go on (a partial poll).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from gufo.snmp import NoSuchInstance, SnmpDecodeError, SnmpError
from gufo.snmp._fast import GetIter
from gufo.snmp.aio import SnmpSession

from collectors.snmp.engine import RawPoll, TableWalk, Varbinds
from collectors.snmp.fetchplan import IF_NUMBER, ScalarPlan, TablePlan, plans
from collectors.snmp.params import SnmpParams
from collectors.snmp.plan import Value
from collectors.snmp.profile import Profile
from collectors.snmp.session import PollFailed, classify, is_decoder_panic, make_session
from collectors.snmp.slowcache import SlowCache
from collectors.snmp.wirebytes import Framing

__all__ = ["PollFailed", "Walker", "classify", "is_decoder_panic", "make_session"]
GET_BATCH = 16
T = TypeVar("T")
Batch = list[tuple[str, Value] | None]
#: usmStatsUnknownEngineIDs.0: what an SNMPv3 discovery reply carries
_ENGINE_ID = "1.3.6.1.6.3.15.1.1.4.0"


@dataclass(slots=True)
class Walker:
    """One device's fetch, recording progress so a deadline keeps what arrived.

    ``cache`` holds the slow columns and scalars between polls (the device's
    state keeps it); ``sent``/``received`` are the bytes of this poll's datagrams
    as :mod:`collectors.snmp.wirebytes` estimates them, retries included.
    """

    session: SnmpSession
    params: SnmpParams
    cache: SlowCache = field(default_factory=SlowCache)
    #: monotonic time of this poll (the slow cache's clock)
    now: float = field(default_factory=time.monotonic)
    raw: RawPoll = field(default_factory=lambda: RawPoll({}, {}))
    answered: bool = False
    requests: int = 0
    sent: int = 0
    received: int = 0
    framing: Framing = field(init=False)
    _pending: tuple[asyncio.Future[Batch], Callable[[], Batch]] | None = None

    def __post_init__(self) -> None:
        p = self.params
        community = p.community.reveal() if p.community else "public"
        self.framing = Framing(p.version, community, p.user.name if p.user else "", p.address)

    async def run(self, profiles: Iterable[Profile]) -> RawPoll:
        """Fetch everything; ``answered`` turns true only when data arrives.

        An SNMPv3 discovery reply does not count: an agent answers it for any
        user, even with wrong keys.
        """
        tables, scalars = plans(
            profiles, frozenset(k.partition(":")[0] for k, _ in self.params.peers)
        )
        for table in tables:
            self.raw.failed_tables[table.key] = "pending"
        if self.params.version == "3":
            await self._guard(partial(self._retry, self.session.refresh, self.framing.request(())))
            self.received += self.framing.response([(_ENGINE_ID, b"x" * 17)])
        refresh = await self._scalars(scalars)
        for table in tables:
            await self._table(table, refresh)
        return self.raw

    async def _table(self, table: TablePlan, refresh: bool) -> None:
        """Walk a table's columns; the slow ones come from the cache unless it is stale.

        A stale cache (a refresh, a slow column never read) walks every column in
        table order, like a whole-table walk; a row the cache has not seen walks the
        slow columns after the fast ones. Fast columns the device does not have are
        skipped, unless the cache is stale or a row is new (then they are walked too).
        Any failed walk fails the table and leaves the cache as it was.
        """
        key, cache = table.key, self.cache
        slow = [c.oid for c in table.slow]
        cached = cache.columns.get(key, {})
        stale = bool(slow) and (refresh or any(oid not in cached for oid in slow))
        skip = frozenset() if stale else cache.skipped(key, refresh)
        walked: dict[str, Varbinds] = {}
        todo = [c.oid for c in table.columns if (stale or not c.slow) and c.oid not in skip]
        rows: set[str] | None = None
        while todo:
            for oid in todo:
                out = walked.setdefault(oid, [])
                error = await self._walk(oid, out, self._reps(oid), sum(map(len, walked.values())))
                if error is not None:
                    self.raw.failed_tables[key] = error
                    return
            fast = {c.oid: walked.get(c.oid, []) for c in table.fast}
            rows = _indexes(fast) if fast else None
            new = rows is not None and not rows <= cache.rows.get(key, set())
            todo = []
            if skip and (new or cache.recheck(key, rows or set())):
                todo, skip = sorted(skip, key=_column_order(table)), frozenset()
            if not stale and new:
                stale, todo = True, todo + slow  # a new row: read the names again
        if stale:
            for oid in slow:
                cache.store_column(key, oid, walked[oid])
            cache.rows[key] = (rows or set()) | _indexes({o: walked[o] for o in slow})
        if not skip:  # every fast column was walked: which ones the device lacks is known
            cache.store_absent(key, {c.oid: walked[c.oid] for c in table.fast}, rows or set())
        for oid in skip:
            walked[oid] = []
        for oid in slow:
            if oid not in walked:
                cut = len(oid) + 1
                keep = cached[oid]
                walked[oid] = keep if rows is None else [v for v in keep if v[0][cut:] in rows]
        for oid, varbinds in walked.items():
            cache.sizes[oid] = len(varbinds)
        got: TableWalk = {}
        for column in table.columns:
            got.setdefault(column.root, []).extend(walked[column.oid])
        del self.raw.failed_tables[key]
        self.raw.tables[key] = got

    def _reps(self, column: str) -> int:
        """Max-repetitions for a column: its last row count + 1 ends it in one response."""
        known = self.cache.sizes.get(column)
        cap = self.params.max_repetitions
        return cap if known is None else max(1, min(cap, known + 1))

    async def _retry(self, call: Callable[[], Awaitable[T]], size: int = 0) -> T:
        """Call, re-trying on timeout; the last TimeoutError goes to the caller.

        ``size``: bytes of the request each call sends.
        """
        for _ in range(self.params.retries):
            self.requests += 1
            self.sent += size
            try:
                return await call()
            except TimeoutError:
                continue
        self.requests += 1
        self.sent += size
        return await call()

    async def _scalars(self, plan: ScalarPlan) -> bool:
        """The fast scalars, then the slow ones when the cache says so; True: refresh tables."""
        exact = list(plan.exact) + ([IF_NUMBER] if plan.if_number else [])
        got = await self._get(exact)
        if_number = got.pop(IF_NUMBER, None)
        for oid in plan.first:
            value = await self._first(oid)
            if value is not None:
                got[oid] = value
        self.raw.scalars.update(got)
        probe = dict(got)
        if if_number is not None:
            probe[IF_NUMBER] = if_number
        cache = self.cache
        refresh = cache.check(probe, plan.uptimes, self.params.interval, self.now) is not None
        missing = cache.missing_scalars(plan.slow_exact, refresh)
        slow = await self._get(missing)
        for oid in missing:
            cache.scalars[oid] = slow.get(oid)
        for oid in cache.missing_scalars(plan.slow_first, refresh):
            cache.scalars[oid] = await self._first(oid)
        self.raw.scalars.update({k: v for k, v in cache.scalars.items() if v is not None})
        return refresh

    async def _get(self, oids: list[str]) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for start in range(0, len(oids), GET_BATCH):
            batch = oids[start : start + GET_BATCH]
            size = self.framing.request(batch)
            try:
                got = await self._guard(
                    partial(self._retry, partial(self.session.get_many, batch), size)
                )
                self.received += self.framing.response((o, got.get(o)) for o in batch)
            except SnmpError:
                if self.params.version != "1":
                    raise
                got = await self._one_by_one(batch)  # v1 fails the PDU on one missing OID
            self.answered = True
            out.update(got)
        return out

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
                out[oid] = await self._retry(
                    partial(self.session.get, oid), self.framing.request([oid])
                )
            except (NoSuchInstance, SnmpError):
                self.received += self.framing.response([(oid, None)])
                continue
            self.received += self.framing.response([(oid, out[oid])])
        return out

    async def _first(self, column: str) -> Value:
        """The first instance under a column (model names in entPhysicalTable)."""
        iterator = self.session.getbulk(column, max_repetitions=2).__aiter__()
        tries = items = 0
        last = column
        while True:
            try:
                self.requests += 1
                if items % 2 == 0:  # gufo asks for two at a time; every other item is buffered
                    self.sent += self.framing.request([last], 2)
                oid, value = await iterator.__anext__()
                items += 1
                last = oid
                if items % 2 == 1:
                    self.received += self.framing.response([(oid, value)], dropped=1)
            except StopAsyncIteration:
                self.received += self.framing.response([(last, None)], dropped=1)
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

    async def _walk(
        self, root: str, out: Varbinds, max_repetitions: int | None = None, before: int = 0
    ) -> str | None:
        """Walk one subtree into ``out``; None when complete, else the failure reason.

        ``before``: varbinds already walked for the same table (its columns share the cap).
        """
        seen: set[str] = set()
        cap = self.params.max_varbinds - before
        batches = (
            self._batches(root) if max_repetitions is None else self._batches(root, max_repetitions)
        )
        try:
            async for batch in batches:
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

    async def _batches(
        self, root: str, max_repetitions: int | None = None
    ) -> AsyncIterator[list[tuple[str, Value]]]:
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
        framing = self.framing
        if self.params.version == "1":  # no GETBULK in v1
            self.sent += framing.request([root])
            async for item in session.getnext(root):
                self.received += framing.response([item])
                self.sent += framing.request([item[0]])
                yield [item]
            self.received += framing.response([(root, None)])
            return
        reps = self.params.max_repetitions if max_repetitions is None else max_repetitions
        sock: Any = session._sock
        ctx = GetIter(root, reps)
        send = partial(sock.send_get_bulk, ctx)
        recv = partial(sock.recv_get_bulk, ctx)
        loop = asyncio.get_running_loop()
        fd = sock.get_fd()
        loop.add_reader(fd, self._readable)
        last = root
        try:
            while True:
                size = framing.request([last], reps)
                batch = await self._retry(partial(self._bulk_once, loop, send, recv), size)
                items = [item for item in batch if item is not None]
                # the varbinds past the subtree's end arrived too; gufo drops them
                self.received += framing.response(
                    items or [(last, 0)], dropped=reps - len(items) if len(items) < reps else 0
                )
                if not items:
                    return
                last = items[-1][0]
                if batch[-1] is None:
                    yield items
                    return
                yield items
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


def _indexes(walks: dict[str, Varbinds]) -> set[str]:
    """Row indexes found under each walked column."""
    return {oid[len(column) + 1 :] for column, varbinds in walks.items() for oid, _ in varbinds}


def _column_order(table: TablePlan) -> Callable[[str], int]:
    """Sort key: a column's place in its table (walks stay in table order)."""
    order = [c.oid for c in table.columns]
    return order.index


def _expire(future: asyncio.Future[Batch]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
