"""The `netmon` command's parser and entry point; each command lives in a module of
its own (check, run, poll, demo, profiles, reference)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from netmon import __version__
from netmon import logging as nlog
from netmon.cli import check, demo, poll, profile, profiles, reference, report, run

DESCRIPTION = "The `netmon` command: check, run, poll, demo, profiles."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netmon", description=DESCRIPTION)
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
    for command in (check, run, poll, demo, profiles, profile, reference, report):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env_level = os.environ.get("NETMON_LOG_LEVEL", "").lower()
    if args.log_level is None and env_level not in ("", "debug", "info", "warning", "error"):
        print(f"NETMON_LOG_LEVEL={env_level!r} is not a log level", file=sys.stderr)
        return 2
    run.LOG_FROM_CLI.update(level=args.log_level, format=args.log_format)
    nlog.configure(args.log_level or env_level or "info", args.log_format or "auto")
    code: int = args.func(args)
    return code
