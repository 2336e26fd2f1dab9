"""The demo's MQTT broker when Debian's mosquitto is not installed: amqtt, in a thread.

amqtt speaks MQTT 3.1.1 only, so the demo's netmon subscribes with protocol 3.1.1
then. It keeps sessions in memory: fine for a demo, not the broker production wants
(docs/mqtt-broker.md says which broker settings the delivery guarantee needs). It runs
on its own event loop in a thread, started and ready before netmon, stopped after it,
like the mosquitto process it stands in for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from netmon.tools.simulate import free_tcp_port, poll_until, tcp_accepts


@contextlib.contextmanager
def embedded_broker(timeout: float = 30.0) -> Iterator[int]:
    """amqtt on 127.0.0.1; yields its port once it accepts connections."""
    from amqtt.broker import Broker

    logging.getLogger("amqtt").setLevel(logging.WARNING)  # it logs every connection
    port = free_tcp_port()
    config: dict[str, Any] = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()
    failed: list[BaseException] = []

    async def serve() -> None:
        broker = Broker(config)
        await broker.start()
        try:
            await stopping.wait()
        finally:
            await asyncio.wait_for(broker.shutdown(), 10)

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:
            failed.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="amqtt", daemon=True)
    thread.start()
    up = poll_until(
        lambda: bool(failed) or not thread.is_alive() or tcp_accepts("127.0.0.1", port), timeout
    )
    if not up or failed or not thread.is_alive():
        msg = f"the embedded MQTT broker did not start: {failed[0] if failed else 'timeout'}"
        raise RuntimeError(msg)
    try:
        yield port
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
            thread.join(timeout=15)
