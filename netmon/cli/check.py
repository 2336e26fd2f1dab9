"""`netmon check`: validate the config and print a summary."""

from __future__ import annotations

import argparse
import sys

from netmon.config import ConfigErrors, load
from netmon.inventory import Inventory


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="validate the config and print a summary")
    check.add_argument("-c", "--config", default="config/netmon.yaml")
    check.add_argument(
        "--no-secrets",
        action="store_true",
        help="check secret references for shape only, without reading them (for CI)",
    )
    check.add_argument(
        "--lldp",
        action="store_true",
        help="poll LLDP once on the links' devices and compare what they see with `links:`"
        " (exit 1 on a mismatch)",
    )
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from netmon.cli.wiring import REGISTRY

    try:
        config = load(args.config, REGISTRY, secrets=not args.no_secrets)
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
    if getattr(args, "lldp", False):
        return _check_lldp(config.inventory)
    return 0


def _check_lldp(inventory: Inventory) -> int:
    """Each link: confirmed, the device sees something else (exit 1), or no LLDP data."""
    import asyncio

    from netmon.cli.wiring import REGISTRY, LldpStatus, lldp_check

    verdicts = asyncio.run(lldp_check(inventory, REGISTRY))
    print(f"LLDP: {len(verdicts)} link(s)")
    for verdict in verdicts:
        print(f"  {verdict.line()}")
    return 1 if any(v.status is LldpStatus.MISMATCH for v in verdicts) else 0
