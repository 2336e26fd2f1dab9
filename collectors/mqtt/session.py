"""The one place that reaches into paho-mqtt under aiomqtt: manual acknowledgements.

aiomqtt 2.5 acknowledges a QoS 1 message as soon as paho receives it. netmon
must acknowledge only after the message is applied to the store, so that a
crash in between makes the broker deliver it again. paho 2.x has
``manual_ack_set(True)`` and ``ack(mid, qos)``; aiomqtt keeps the paho client
in ``Client._client``. tests/integration/test_mqtt.py fails if an upgrade of
either library breaks this (an unacknowledged message must come back).
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import aiomqtt


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
