"""`netmon profiles`: the SNMP profiles shipped with netmon, and the broken ones."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profiles = sub.add_parser("profiles", help="list the SNMP profiles")
    profiles.set_defaults(func=cmd_profiles)


def cmd_profiles(_args: argparse.Namespace) -> int:
    from netmon.cli.wiring import profiles

    known = profiles()
    specs = known.specs
    for name, description in sorted(known.items()):
        profile = specs.get(name)
        unverified = profile is not None and not profile.verified
        print(f"{name:<16} {description}" + (" (not verified on a device)" if unverified else ""))
    broken = known.broken
    for name, error in sorted(broken.items()):
        print(f"{name:<16} BROKEN (devices using it are not polled):\n{error}", file=sys.stderr)
    return 1 if broken else 0
