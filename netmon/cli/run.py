"""`netmon run`: the daemon, until SIGINT/SIGTERM; SIGHUP reloads."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO

from netmon import __version__
from netmon import logging as nlog
from netmon.api import Registry, cancel_and_wait
from netmon.config import ConfigErrors

#: --log-level/--log-format as given (None: not given), for serve() to weigh against the config
LOG_FROM_CLI: dict[str, str | None] = {}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("-c", "--config", default="config/netmon.yaml")
    run.add_argument("--listen", help="host:port, overrides the config")
    run.add_argument(
        "--shard",
        help="run this shard of the config's shards: name, index or pod name (NETMON_SHARD)",
    )
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    if args.shard:
        os.environ["NETMON_SHARD"] = args.shard  # read with the config, also on reload
    return asyncio.run(serve(args.config, args.listen))


async def serve(
    config_path: str,
    listen: str | None = None,
    duration: float | None = None,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    log_stream: TextIO | None = None,
    hangup_stops: bool = False,
    registry: Registry | None = None,
) -> int:
    """Run the daemon until SIGINT/SIGTERM (or ``duration`` seconds).

    ``background``: coroutines to run beside it on the same loop (the demo's
    simulators), cancelled when it stops. ``log_stream``: where the log goes once
    the config is read (default stderr; the demo keeps its terminal for the story).
    ``hangup_stops``: SIGHUP stops instead of reloading (the demo: its terminal closed).
    ``registry``: the collectors to run (default: netmon's own, collectors.REGISTRY).
    """
    from aiohttp import web

    from netmon.cli.wiring import REGISTRY, profiles
    from netmon.daemon import Daemon, StartError
    from netmon.http import make_app

    log = nlog.get("netmon")
    if log_stream is not None:  # from the first line, config errors included
        nlog.configure(LOG_FROM_CLI.get("level") or "info", "json", log_stream)
    daemon = Daemon(config_path, profiles(), REGISTRY if registry is None else registry)
    try:
        config = daemon.load_initial()
    except ConfigErrors as exc:
        for error in exc.errors:
            log.error("config error", error=str(error))
        return 1
    # the config's log section, unless the command line said otherwise
    nlog.configure(
        LOG_FROM_CLI.get("level") or config.main.log.level,
        LOG_FROM_CLI.get("format") or config.main.log.format,
        log_stream,
    )
    address = listen or config.main.listen
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        log.error("cannot listen: not host:port", listen=address)
        return 2
    # the ports first, then anything that connects out (MQTT, SNMP, Alertmanager): a
    # second instance started by mistake stops here, before it takes the running one's
    # MQTT session (the client id is fixed) or polls its devices
    runner = web.AppRunner(make_app(daemon), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host.strip("[]") or "0.0.0.0", int(port)).start()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        log.error("cannot start", error=f"http: cannot listen on {address} (TCP): {reason}")
        await runner.cleanup()
        return 1
    try:
        await daemon.start()
    except StartError as exc:
        log.error("cannot start", error=str(exc))
        await daemon.stop()
        await runner.cleanup()
        return 1
    log.info("listening", url=f"http://{host or '0.0.0.0'}:{port}/metrics", version=__version__)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reloads: set[asyncio.Task[tuple[bool, list[str]]]] = set()

    def hangup() -> None:
        """SIGHUP: reload (which never raises: a failure is counted and logged there)."""
        task = asyncio.create_task(daemon.reload(), name="reload")
        reloads.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, stop.set if hangup_stops else hangup)
    coros = [make() for make in background]
    tasks = [
        asyncio.create_task(coro, name=getattr(coro, "__qualname__", "background"))
        for coro in coros
    ]
    failed: list[str] = []

    def ended(task: asyncio.Task[None]) -> None:
        """A background task must not die unseen (the demo's relays, pager, simulator)."""
        if task.cancelled() or task.exception() is None:
            return
        failed.append(task.get_name())
        log.error(
            "a background task failed; stopping", task=task.get_name(), error=repr(task.exception())
        )
        stop.set()

    for task in tasks:
        task.add_done_callback(ended)
    try:
        if duration is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
    finally:
        log.info("stopping")
        for reload in reloads:
            reload.cancel()
        await cancel_and_wait(tasks)
        await daemon.stop()
        await runner.cleanup()
    return 1 if failed else 0
