"""`netmon run`: the daemon, until SIGINT/SIGTERM; SIGHUP reloads."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from netmon import __version__
from netmon import logging as nlog
from netmon.api import Registry, cancel_and_wait
from netmon.config import ConfigErrors
from netmon.http_guard import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS

if TYPE_CHECKING:
    from netmon.http_auth import WebConfigSource

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
    run.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default="",
        metavar="FILE",
        help="TLS, basic auth and headers for every HTTP endpoint, in the Prometheus"
        " exporter-toolkit's format (the file node_exporter takes)",
    )
    run.add_argument(
        "--web.read-header-timeout",
        dest="header_timeout",
        type=_seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="DURATION",
        help="close a connection that has not sent a whole request header in this time,"
        f" TLS handshake included (default {DEFAULT_HEADER_TIMEOUT:g}s)",
    )
    run.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="at this many open connections a new one closes the oldest one still waiting"
        f" for its request (default {DEFAULT_MAX_CONNECTIONS})",
    )
    run.set_defaults(func=cmd_run)


def _seconds(text: str) -> float:
    """A duration flag: Go's form (10s, 1m30s, 500ms) or plain seconds."""
    from netmon.web_config import go_duration

    try:
        seconds: float | None = float(text)
    except ValueError:
        seconds = go_duration(text)
    if seconds is None or not seconds > 0:
        raise argparse.ArgumentTypeError(f"not a positive duration: {text!r}")
    return seconds


@dataclass(frozen=True)
class HttpOptions:
    """How the HTTP port is served: the web config file, the slow-client limits."""

    web_config_file: str | None = None
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def cmd_run(args: argparse.Namespace) -> int:
    if args.shard:
        os.environ["NETMON_SHARD"] = args.shard  # read with the config, also on reload
    if args.max_connections < 1:
        print("--web.max-connections must be at least 1", file=sys.stderr)
        return 2
    http = HttpOptions(args.web_config_file or None, args.header_timeout, args.max_connections)
    return asyncio.run(serve(args.config, args.listen, http=http))


async def serve(
    config_path: str,
    listen: str | None = None,
    duration: float | None = None,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    log_stream: TextIO | None = None,
    hangup_stops: bool = False,
    registry: Registry | None = None,
    http: HttpOptions | None = None,
) -> int:
    """Run the daemon until SIGINT/SIGTERM (or ``duration`` seconds).

    ``background``: coroutines to run beside it on the same loop (the demo's
    simulators), cancelled when it stops. ``log_stream``: where the log goes once
    the config is read (default stderr; the demo keeps its terminal for the story).
    ``hangup_stops``: SIGHUP stops instead of reloading (the demo: its terminal closed).
    ``registry``: the collectors to run (default: netmon's own, collectors.REGISTRY).
    ``http``: the web config file and the slow-client limits (default: none, defaults).
    """
    from aiohttp import web

    from netmon.cli.wiring import REGISTRY
    from netmon.daemon import Daemon, StartError
    from netmon.http import make_app
    from netmon.http_auth import WebConfigSource, WebSecurity
    from netmon.http_guard import ConnectionGuard, GuardedSite
    from netmon.web_config import WebConfigError, load_web_config

    http = http or HttpOptions()

    log = nlog.get("netmon")
    if log_stream is not None:  # from the first line, config errors included
        nlog.configure(LOG_FROM_CLI.get("level") or "info", "json", log_stream)
    daemon = Daemon(config_path, REGISTRY if registry is None else registry)
    try:
        config = daemon.load_initial()
    except ConfigErrors as exc:
        for error in exc.errors:
            log.error("config error", error=str(error))
        return 1
    if registry is None:  # the child finds netmon's own registry by name
        daemon.load_in_child("netmon.cli.wiring:REGISTRY")
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
    source: WebConfigSource | None = None
    if http.web_config_file:
        try:  # checked whole (certificates and keys loaded) before the port is claimed
            source = WebConfigSource(load_web_config(http.web_config_file))
        except WebConfigError as exc:
            log.error("cannot start", error=str(exc))
            return 1
        _log_web_config(source)
    guard = ConnectionGuard(
        daemon.metrics,
        http.header_timeout,
        http.max_connections,
        tls=source if source is not None and source.tls_on else None,
    )
    middlewares = [guard.middleware]
    security = WebSecurity(source, daemon.metrics) if source is not None else None
    if security is not None:
        middlewares.append(security.middleware)
    app = make_app(daemon, middlewares)
    if security is not None:
        app.on_response_prepare.append(security.on_prepare)
    # the ports first, then anything that connects out (MQTT, SNMP, Alertmanager): a
    # second instance started by mistake stops here, before it takes the running one's
    # MQTT session (the client id is fixed) or polls its devices
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await GuardedSite(runner, host.strip("[]") or "0.0.0.0", int(port), guard).start()
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
    scheme = "https" if guard.tls is not None else "http"
    url = f"{scheme}://{host or '0.0.0.0'}:{port}/metrics"
    log.info("listening", url=url, version=__version__)
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


def _log_web_config(source: WebConfigSource) -> None:
    """What the web config turned on; never a user's hash or a key."""
    log = nlog.get("netmon")
    config = source.config()
    assert config is not None  # just loaded
    log.info(
        "web config",
        file=str(source.path),
        tls=source.tls_on,
        client_auth=config.tls.client_auth_type or "NoClientCert",
        basic_auth_users=len(config.users),
        headers=[name for name, _ in config.headers],
    )
    if config.users and not source.tls_on:
        log.warning("basic auth without TLS: passwords cross the network readable")
