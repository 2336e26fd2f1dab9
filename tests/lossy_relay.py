"""A UDP relay on loopback that loses, delays and duplicates, and can go dark.

Sits between a poller and an agent, like a radio link in the rain. Every
decision comes from one seeded ``random.Random`` in arrival order, so a run
is repeatable as long as the poller sends the same packets. Requests may be
lost on the way in (a reply lost on the way back looks the same to the
poller, but would leave the agent believing it answered); replies may be
held back (up to ``max_delay``) or sent twice. ``dark`` drops everything in
both directions, including replies still held back.

Runs in the test's event loop with plain non-blocking sockets: no tasks to
leak; ``close()`` (or leaving the ``with`` block) removes the readers,
cancels held-back replies and closes every socket. A ``lifetime`` bounds it
even if a test forgets to close it.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Faults:
    """Probabilities per packet: ``loss`` per request, ``delay``/``duplicate`` per reply."""

    loss: float = 0.0
    delay: float = 0.0
    max_delay: float = 0.05
    duplicate: float = 0.0


class LossyRelay:
    """Forwards 127.0.0.1:``port`` to ``agent``; one upstream socket per client address."""

    def __init__(
        self,
        agent: Address,
        faults: Faults,
        seed: int,
        *,
        lifetime: float = 300.0,
        drop_request: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.agent = agent
        self.faults = faults
        self.random = random.Random(seed)
        self.lifetime = lifetime
        #: requests for which this returns True are dropped (e.g. one subtree only)
        self.drop_request = drop_request
        self.dark = False
        self.stats: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._front: socket.socket | None = None
        self._upstream: dict[Address, socket.socket] = {}
        self._held: dict[int, asyncio.TimerHandle] = {}
        self._holds = 0
        self._stop: asyncio.TimerHandle | None = None

    @property
    def port(self) -> int:
        assert self._front is not None, "the relay is not running"
        port: int = self._front.getsockname()[1]
        return port

    def __enter__(self) -> LossyRelay:
        self._loop = asyncio.get_running_loop()
        self._front = self._socket(("127.0.0.1", 0), None)
        self._loop.add_reader(self._front.fileno(), self._from_client)
        self._stop = self._loop.call_later(self.lifetime, self.close)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Idempotent: stop forwarding, drop held-back replies, close every socket."""
        if self._loop is None:
            return
        for handle in self._held.values():
            handle.cancel()
        self._held.clear()
        if self._stop is not None:
            self._stop.cancel()
        for sock in [s for s in (self._front, *self._upstream.values()) if s is not None]:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self._front = None
        self._upstream.clear()
        self._loop = None

    @property
    def open_sockets(self) -> int:
        return (self._front is not None) + len(self._upstream)

    @staticmethod
    def _socket(bind: Address, connect: Address | None) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(bind)
        if connect is not None:
            sock.connect(connect)
        return sock

    def _from_client(self) -> None:
        assert self._front is not None
        assert self._loop is not None
        while True:
            try:
                data, client = self._front.recvfrom(65535)
            except BlockingIOError:
                return
            self.stats["requests"] += 1
            if self.dark:
                self.stats["dark"] += 1
                continue
            if self.random.random() < self.faults.loss or (
                self.drop_request is not None and self.drop_request(data)
            ):
                self.stats["lost"] += 1
                continue
            up = self._upstream.get(client)
            if up is None:
                up = self._upstream[client] = self._socket(("127.0.0.1", 0), self.agent)
                self._loop.add_reader(up.fileno(), self._from_agent, up, client)
            try:
                up.send(data)
                self.stats["forwarded"] += 1
            except OSError:  # the agent is gone (ICMP port unreachable): like a loss
                self.stats["unreachable"] += 1

    def _from_agent(self, up: socket.socket, client: Address) -> None:
        assert self._loop is not None
        while True:
            try:
                data = up.recv(65535)
            except BlockingIOError:
                return
            except OSError:
                self.stats["unreachable"] += 1
                return
            self.stats["replies"] += 1
            copies = 2 if self.random.random() < self.faults.duplicate else 1
            self.stats["duplicated"] += copies - 1
            for _ in range(copies):
                if self.random.random() < self.faults.delay:
                    self.stats["delayed"] += 1
                    wait = self.random.uniform(0.001, self.faults.max_delay)
                    self._holds += 1
                    self._held[self._holds] = self._loop.call_later(
                        wait, self._release, self._holds, data, client
                    )
                else:
                    self._send(data, client)

    def _release(self, token: int, data: bytes, client: Address) -> None:
        del self._held[token]
        self._send(data, client)

    def _send(self, data: bytes, client: Address) -> None:
        if self.dark or self._front is None:
            self.stats["dark"] += 1
            return
        try:
            self._front.sendto(data, client)
        except OSError:  # the poller closed its socket (a new session): nothing to do
            self.stats["unreachable"] += 1
