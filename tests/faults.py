"""Network faults no real agent produces on demand: lost, late and garbage UDP replies,
and a cut that can be switched on and off. A loopback UDP proxy in front of a real agent."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import cast

from netmon.simulate import free_udp_port


class LossyProxy(asyncio.DatagramProtocol):
    """Forwards UDP to the agent; ``fate(n)`` decides per request: send, drop, delay, garbage."""

    def __init__(self, agent_port: int, fate: Callable[[int], str]) -> None:
        self.agent = ("127.0.0.1", agent_port)
        self.fate = fate
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the selector UDP transport is not an instance of the DatagramTransport ABC
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        fate = self.fate(self.requests)
        if fate == "drop":
            return
        if fate == "garbage":
            assert self.transport is not None
            self.transport.sendto(os.urandom(64), addr)
            return
        task = asyncio.create_task(self._forward(data, addr, 0.4 if fate == "late" else 0.0))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _forward(self, data: bytes, client: tuple[str, int], delay: float) -> None:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[bytes] = loop.create_future()

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if not reply.done():
                    reply.set_result(data)

        transport, _ = await loop.create_datagram_endpoint(Back, remote_addr=self.agent)
        try:
            transport.sendto(data)
            answer = await asyncio.wait_for(reply, 5)
            if delay:
                await asyncio.sleep(delay)  # the fault itself: an answer that arrives late
            assert self.transport is not None
            self.transport.sendto(answer, client)
        finally:
            transport.close()


async def proxy(
    agent_port: int, fate: Callable[[int], str], host: str = "127.0.0.1"
) -> tuple[LossyProxy, int]:
    """A proxy on ``host`` (any loopback address) in front of an agent on 127.0.0.1."""
    loop = asyncio.get_running_loop()
    port = free_udp_port()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: LossyProxy(agent_port, fate), local_addr=(host, port)
    )
    return protocol, port
