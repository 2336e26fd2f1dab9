"""`netmon demo`: a simulated province monitored end to end (see netmon.tools.demo)."""

from __future__ import annotations

import argparse
import sys

#: the demo's bounds: one machine runs every agent, village and telemetry connection
DEMO_MAX_SITES = 1000


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    from netmon.tools.demo import Options, run_demo

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
