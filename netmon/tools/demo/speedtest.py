"""The demo's test-file server: files of a known size sent at a paced rate, for the
throughput checks of the contracted village offices (what an ISP's link would deliver).

``GET /<bits per second>/<bytes>.bin`` (a query string is ignored) answers ``<bytes>``
bytes, the headers at once and then the body paced so that byte ``k`` leaves no earlier
than ``k * 8 / rate`` seconds after the headers: the last byte leaves ``bytes * 8 / rate``
seconds after them. Each answer is recorded (:class:`Delivery`: bytes written, when the
headers and the last byte left), so a test can hold netmon's measurement against the
server's own clock.

A raw asyncio server like the CCTV's (netmon.tools.demo.cctv): its socket is bound and
listening before the config names its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from dataclasses import dataclass

#: the most a request head may take
MAX_HEAD = 8192
#: the largest file the server sends (a demo, not a benchmark)
MAX_SIZE = 256 * 1024 * 1024
#: paced writes per second (smaller chunks: smoother pace, more wake-ups)
WRITES_PER_SECOND = 50
PATH = re.compile(rb"^GET /(\d+)/(\d+)\.bin(?:\?\S*)? HTTP/1\.[01]\r\n")


def chunk_size(bits_per_second: int) -> int:
    """The bytes of one paced write: WRITES_PER_SECOND writes a second, at least 1 KiB."""
    return max(1024, bits_per_second // 8 // WRITES_PER_SECOND)


def path(bits_per_second: int, size: int) -> str:
    """The path of a ``size``-byte file sent at ``bits_per_second``."""
    return f"/{bits_per_second}/{size}.bin"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One answer as the server sent it (monotonic times)."""

    rate: int  # the pace asked for, bits per second
    size: int  # the file's size
    sent: int  # body bytes written before the file ended or the client hung up
    began: float  # the headers were written
    ended: float  # the last byte was written

    @property
    def bytes_per_second(self) -> float:
        return self.sent / (self.ended - self.began)


class FileServer:
    """Paced files on 127.0.0.1, on a port of its own (``port``)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.deliveries: list[Delivery] = []
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    def url(self, bits_per_second: int, size: int) -> str:
        return f"http://127.0.0.1:{self.port}{path(bits_per_second, size)}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, sock=self.sock, limit=MAX_HEAD)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.open):
            writer.transport.abort()
        if self.server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)

    async def run(self) -> None:
        """Serve until cancelled (a background task of the demo's loop)."""
        try:
            await self.start()
            await asyncio.Event().wait()
        finally:
            await self.stop()

    def close(self) -> None:
        self.sock.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            found = PATH.match(head)
            if found is None or not 0 < int(found[2]) <= MAX_SIZE or int(found[1]) <= 0:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            await self._send(writer, int(found[1]), int(found[2]))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that hung up or sent garbage: the demo's terminal stays quiet
        finally:
            self.open.discard(writer)
            writer.transport.abort()

    async def _send(self, writer: asyncio.StreamWriter, rate: int, size: int) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            + f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        began = time.monotonic()
        chunk = chunk_size(rate)
        block = b"\0" * chunk
        sent = 0
        try:
            while sent < size:
                n = min(chunk, size - sent)
                due = began + (sent + n) * 8 / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))  # the pace itself
                writer.write(block[:n])
                await writer.drain()
                sent += n
        finally:
            self.deliveries.append(Delivery(rate, size, sent, began, time.monotonic()))
