"""The `netmon` command: check, run, poll, demo, profiles."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

from netmon import __version__
from netmon import logging as nlog
from netmon.api import Secret, V3User, cancel_and_wait
from netmon.config import ConfigErrors, load

#: --log-level/--log-format as given (None: not given), for serve() to weigh against the config
_LOG_FROM_CLI: dict[str, str | None] = {}


class ProfileNames(dict[str, str]):
    """Valid profile name -> description; ``broken`` has each broken file's error."""

    broken: dict[str, str]


def _profiles() -> ProfileNames:
    import collectors  # noqa: F401 - registers collectors
    from collectors.snmp.profile import load_builtin

    loaded = load_builtin()
    names = ProfileNames({name: p.description for name, p in loaded.valid.items()})
    names.broken = dict(loaded.broken)
    return names


def cmd_check(args: argparse.Namespace) -> int:
    try:
        config = load(args.config, _profiles(), secrets=not args.no_secrets)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        count = sum(1 for e in exc.errors if not e.note)
        print(f"{count} error(s); nothing was changed", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    inv = config.inventory
    print(
        f"{args.config}: OK, {len(inv.sites)} sites, {len(inv.devices)} devices, "
        f"{len(inv.links)} links in {len(inv.files)} file(s)"
    )
    width = max((len(k) for k in inv.summary()), default=9)
    print(f"  {'kabupaten':<{width}}  sites  devices")
    for kabupaten, (sites, devices) in inv.summary().items():
        print(f"  {kabupaten:<{width}}  {sites:>5}  {devices:>7}")
    if inv.owned is not None:
        print(
            f"shard {inv.shard} (NETMON_SHARD): exports {len(inv.owned)} sites, polls "
            f"{len(inv.sites) - len(inv.owned)} ancestor site(s) read-only, leaves "
            f"{len(inv.elsewhere)} to the other shards"
        )
    else:
        summary = inv.summary()
        for shard in config.main.shards:
            sites = sum(summary.get(k, (0, 0))[0] for k in shard.kabupaten)
            devices = sum(summary.get(k, (0, 0))[1] for k in shard.kabupaten)
            print(f"shard {shard.name}: {sites} sites, {devices} devices")
    for name, section in config.sections.items():
        subs = getattr(section, "subscriptions", [])
        print(f"{name}: {len(subs)} subscriptions ({', '.join(s.name for s in subs)})")
    return 0


async def serve(
    config_path: str,
    listen: str | None = None,
    duration: float | None = None,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    log_stream: TextIO | None = None,
    hangup_stops: bool = False,
) -> int:
    """Run the daemon until SIGINT/SIGTERM (or ``duration`` seconds).

    ``background``: coroutines to run beside it on the same loop (the demo's
    simulators), cancelled when it stops. ``log_stream``: where the log goes once
    the config is read (default stderr; the demo keeps its terminal for the story).
    ``hangup_stops``: SIGHUP stops instead of reloading (the demo: its terminal closed).
    """
    from aiohttp import web

    from netmon.daemon import Daemon, StartError
    from netmon.http import make_app

    log = nlog.get("netmon")
    if log_stream is not None:  # from the first line, config errors included
        nlog.configure(_LOG_FROM_CLI.get("level") or "info", "json", log_stream)
    daemon = Daemon(config_path, _profiles())
    try:
        config = daemon.load_initial()
    except ConfigErrors as exc:
        for error in exc.errors:
            log.error("config error", error=str(error))
        return 1
    # the config's log section, unless the command line said otherwise
    nlog.configure(
        _LOG_FROM_CLI.get("level") or config.main.log.level,
        _LOG_FROM_CLI.get("format") or config.main.log.format,
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


def cmd_run(args: argparse.Namespace) -> int:
    if args.shard:
        os.environ["NETMON_SHARD"] = args.shard  # read with the config, also on reload
    return asyncio.run(serve(args.config, args.listen))


def _secret_arg(args: argparse.Namespace, name: str) -> str | None:
    """--NAME-env / --NAME-file / --NAME (a literal, with a warning: shell history keeps it)."""
    env = getattr(args, f"{name}_env")
    file = getattr(args, f"{name}_file")
    literal = getattr(args, name)
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SystemExit(f"netmon poll: environment variable {env} is not set")
        return value
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"netmon poll: cannot read {file}: {exc.strerror}") from None
    if literal is not None:
        flag = name.replace("_", "-")
        print(
            f"warning: --{flag} puts a secret in your shell history and the process list; "
            f"prefer --{flag}-env or --{flag}-file",
            file=sys.stderr,
        )
    return literal  # type: ignore[no-any-return]


def cmd_poll(args: argparse.Namespace) -> int:
    from netmon.oneshot import poll_once

    profiles = [p for item in args.profile for p in item.split(",") if p] or ["system", "if_mib"]
    known = _profiles()
    broken = known.broken
    for name in [p for p in profiles if p in broken]:
        print(f"profile {name} is broken:\n{broken[name]}", file=sys.stderr)
        return 2
    unknown = [p for p in profiles if p not in known]
    if unknown:
        print(
            f"unknown profile(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            file=sys.stderr,
        )
        return 2
    if "system" not in profiles:
        profiles.insert(0, "system")
    user = None
    if args.snmp_version == "3":
        if not args.v3_user:
            print("SNMPv3 needs --v3-user", file=sys.stderr)
            return 2
        auth, priv = _secret_arg(args, "auth_key"), _secret_arg(args, "priv_key")
        user = V3User(
            name=args.v3_user,
            auth_protocol=args.auth_protocol if auth else None,
            auth_key=Secret(auth) if auth else None,
            priv_protocol=args.priv_protocol if priv else None,
            priv_key=Secret(priv) if priv else None,
        )
    community = _secret_arg(args, "community")
    if args.snmp_version != "3" and community is None:
        print(
            "give the community with --community-env NAME or --community-file PATH", file=sys.stderr
        )
        return 2
    snapshot, text = asyncio.run(
        poll_once(
            args.address,
            args.port,
            profiles,
            community,
            version=args.snmp_version,
            user=user,
            timeout=args.timeout,
            retries=args.retries,
            deadline=args.deadline,
            device=args.device,
        )
    )
    sys.stdout.write(text)
    if not snapshot.ok:
        print(f"poll failed: {snapshot.error}: {snapshot.error_detail}", file=sys.stderr)
        return 1
    if snapshot.error_detail:
        print(f"partial poll: {snapshot.error_detail}", file=sys.stderr)
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    if args.what == "config":
        from netmon.configref import render

        sys.stdout.write(render())
        return 0
    if args.what == "alerts":
        from netmon.alertref import alert_reference

        sys.stdout.write(alert_reference())
        return 0
    from netmon.reference import metric_reference

    sys.stdout.write(metric_reference())
    return 0


def cmd_profiles(_args: argparse.Namespace) -> int:
    known = _profiles()
    for name, description in sorted(known.items()):
        print(f"{name:<16} {description}")
    broken = known.broken
    for name, error in sorted(broken.items()):
        print(f"{name:<16} BROKEN (devices using it are not polled):\n{error}", file=sys.stderr)
    return 1 if broken else 0


#: the demo's bounds: one machine runs every agent, village and telemetry connection
DEMO_MAX_SITES = 1000


def demo_option_problems(args: argparse.Namespace) -> list[str]:
    """What is wrong with the demo's options, each said in a line."""
    problems = []
    if not 16 <= args.sites <= DEMO_MAX_SITES:
        problems.append(
            f"--sites must be 16 to {DEMO_MAX_SITES} (the NOC, 5 POPs and their villages; "
            "one machine simulates them all)"
        )
    if args.interval < 1:
        problems.append("--interval must be at least 1 second")
    if args.speed <= 0:
        problems.append("--speed must be above 0 (how much faster the sun and batteries run)")
    if args.duration is not None and args.duration <= 0:
        problems.append("--duration must be above 0 seconds (leave it out to run until Ctrl-C)")
    for flag, port in (
        ("--prometheus-port", args.prometheus_port),
        ("--alertmanager-port", args.alertmanager_port),
    ):
        if not 0 <= port <= 65535:
            problems.append(f"{flag} must be 0 to 65535 (0: any free port)")
    return problems


def cmd_demo(args: argparse.Namespace) -> int:
    from netmon.demo import Options, run_demo

    problems = demo_option_problems(args)
    if problems:
        for problem in problems:
            print(f"netmon demo: {problem}", file=sys.stderr)
        return 2
    return run_demo(
        Options(
            sites=args.sites,
            duration=args.duration,
            listen=args.listen,
            interval=args.interval,
            speed=args.speed,
            prometheus_port=args.prometheus_port,
            alertmanager_port=args.alertmanager_port,
            alerting=not args.no_alerting,
            broker=args.broker,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netmon", description=__doc__)
    parser.add_argument("--version", action="version", version=f"netmon {__version__}")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["debug", "info", "warning", "error"],
        help="default: $NETMON_LOG_LEVEL, else the config's log.level, else info",
    )
    parser.add_argument(
        "--log-format",
        default=None,
        choices=["auto", "json", "console"],
        help="default: the config's log.format, else auto",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate the config and print a summary")
    check.add_argument("-c", "--config", default="config/netmon.yaml")
    check.add_argument(
        "--no-secrets",
        action="store_true",
        help="check secret references for shape only, without reading them (for CI)",
    )
    check.set_defaults(func=cmd_check)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("-c", "--config", default="config/netmon.yaml")
    run.add_argument("--listen", help="host:port, overrides the config")
    run.add_argument(
        "--shard",
        help="run this shard of the config's shards: name, index or pod name (NETMON_SHARD)",
    )
    run.set_defaults(func=cmd_run)

    poll = sub.add_parser("poll", help="poll one device once and print its metrics")
    poll.add_argument("address")
    poll.add_argument("--port", type=int, default=161)
    poll.add_argument(
        "--profile",
        action="append",
        default=[],
        help="profile name(s), repeat or comma-separate (default system,if_mib)",
    )
    poll.add_argument("--snmp-version", choices=["1", "2c", "3"], default="2c")
    for name in ("community", "auth-key", "priv-key"):
        poll.add_argument(f"--{name}-env", metavar="VAR", help=f"read the {name} from $VAR")
        poll.add_argument(f"--{name}-file", metavar="PATH", help=f"read the {name} from a file")
        poll.add_argument(f"--{name}", help=f"the {name} itself (discouraged: shell history)")
    poll.add_argument("--v3-user")
    poll.add_argument(
        "--auth-protocol",
        default="sha256",
        choices=["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
    )
    poll.add_argument(
        "--priv-protocol", default="aes128", choices=["des", "aes128", "aes192", "aes256"]
    )
    poll.add_argument("--timeout", type=float, default=2.0)
    poll.add_argument("--retries", type=int, default=1)
    poll.add_argument("--deadline", type=float, default=30.0)
    poll.add_argument("--device", default="adhoc", help="device label in the output")
    poll.set_defaults(func=cmd_poll)

    demo = sub.add_parser("demo", help="a simulated province monitored end to end")
    demo.add_argument("--sites", type=int, default=200, help="sites in all (at least 16)")
    demo.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    demo.add_argument("--listen", default="127.0.0.1:9800")
    demo.add_argument("--interval", type=float, default=30.0, help="SNMP poll interval, s")
    demo.add_argument(
        "--speed",
        type=float,
        default=120.0,
        help="simulated seconds per real second for the solar/battery telemetry",
    )
    demo.add_argument("--prometheus-port", type=int, default=9090, help="0 or busy: any free port")
    demo.add_argument(
        "--alertmanager-port", type=int, default=9093, help="0 or busy: any free port"
    )
    demo.add_argument(
        "--no-alerting", action="store_true", help="do not start Prometheus and Alertmanager"
    )
    demo.add_argument(
        "--broker",
        choices=["auto", "mosquitto", "embedded", "none"],
        default="auto",
        help="MQTT broker: mosquitto when installed, else the embedded amqtt (auto)",
    )
    demo.set_defaults(func=cmd_demo)

    profiles = sub.add_parser("profiles", help="list the SNMP profiles")
    profiles.set_defaults(func=cmd_profiles)

    reference = sub.add_parser(
        "reference",
        help="print the metric reference (docs/metrics.md) or the configuration reference",
    )
    reference.add_argument(
        "what",
        nargs="?",
        default="metrics",
        choices=["metrics", "config", "alerts"],
        help="metrics: docs/metrics.md; config: docs/configuration.md; alerts: docs/alerts.md",
    )
    reference.set_defaults(func=cmd_reference)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env_level = os.environ.get("NETMON_LOG_LEVEL", "").lower()
    if args.log_level is None and env_level not in ("", "debug", "info", "warning", "error"):
        print(f"NETMON_LOG_LEVEL={env_level!r} is not a log level", file=sys.stderr)
        return 2
    _LOG_FROM_CLI.update(level=args.log_level, format=args.log_format)
    nlog.configure(args.log_level or env_level or "info", args.log_format or "auto")
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
