"""The one place that reaches into aiomqtt's and paho-mqtt's internals: manual
acknowledgements, and taking messages in batches.

aiomqtt 2.5 acknowledges a QoS 1 message as soon as paho receives it. netmon
must acknowledge only after the message is applied to the store, so that a
crash in between makes the broker deliver it again. paho 2.x has
``manual_ack_set(True)`` and ``ack(mid, qos)``; aiomqtt keeps the paho client
in ``Client._client``. tests/integration/test_mqtt.py fails if an upgrade of
either library breaks this (an unacknowledged message must come back).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt

#: at most this many messages are applied before their acknowledgements go out
BATCH = 32


async def batches(client: aiomqtt.Client) -> AsyncIterator[list[aiomqtt.Message]]:
    """Messages as they queue up: everything already queued (up to BATCH) at once.

    aiomqtt's ``async for`` creates a Task and an ``asyncio.wait`` per message
    (about 25 us each here, docs/benchmarks.md); here that happens only when the
    queue is empty. Like aiomqtt's iterator, a disconnection ends the iteration
    with MqttError (else the session would never notice and never reconnect).
    Reads the private ``_queue`` and ``_disconnected``; unbounded, as DESIGN.md
    asks: a bounded queue drops silently.
    """
    queue: asyncio.Queue[aiomqtt.Message] = client._queue
    disconnected: asyncio.Future[None] = client._disconnected
    while True:
        try:
            first = queue.get_nowait()
        except asyncio.QueueEmpty:
            task = asyncio.ensure_future(queue.get())
            try:
                done, _ = await asyncio.wait(
                    (task, disconnected), return_when=asyncio.FIRST_COMPLETED
                )
            except asyncio.CancelledError:
                task.cancel()
                raise
            if task not in done:
                task.cancel()
                msg = "Disconnected during message iteration"
                raise aiomqtt.MqttError(msg) from disconnected.exception()
            first = task.result()
        batch = [first]
        while len(batch) < BATCH:
            try:
                batch.append(queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        yield batch


def enable_manual_ack(client: aiomqtt.Client) -> None:
    """Call before connecting (before ``async with client``)."""
    paho: Any = client._client
    paho.manual_ack_set(True)


def drop_connection(client: aiomqtt.Client) -> None:
    """End the connection without a DISCONNECT, as a power cut does: the broker then
    publishes the client's Last Will (the simulator's dying village agents).

    shutdown(), not close(): the descriptor stays valid for paho's own cleanup."""
    paho: Any = client._client
    sock = paho.socket()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge a QoS 1 message that has been applied."""
    if message.qos > 0:
        paho: Any = client._client
        paho.ack(message.mid, message.qos)
