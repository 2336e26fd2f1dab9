"""`netmon poll`: poll one device once over SNMP and print its metrics."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from netmon.api import Secret


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    poll = sub.add_parser("poll", help="poll one device once and print its metrics")
    poll.add_argument("address")
    poll.add_argument("--port", type=int, default=161)
    poll.add_argument(
        "--profile",
        action="append",
        default=[],
        help="profile name(s), repeat or comma-separate (default: system,if_mib and the "
        "profiles the device's sysObjectID and sysDescr call for, detected as for a device "
        "that names none; what was detected and why goes to stderr)",
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
    poll.add_argument(
        "--profiles-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of your own profiles, searched before the built-in ones (repeatable)",
    )
    poll.set_defaults(func=cmd_poll)


def secret_arg(args: argparse.Namespace, name: str) -> str | None:
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
    from netmon.cli.wiring import REGISTRY, V3User, poll_once, profiles

    named = [p for item in args.profile for p in item.split(",") if p]
    wanted = named or ["system", "if_mib"]
    known = profiles(args.profiles_dir)
    missing = [d for d in args.profiles_dir if not os.path.isdir(d)]
    if missing:
        print(f"not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    broken = known.broken
    for name in [p for p in wanted if p in broken]:
        print(f"profile {name} is broken:\n{broken[name]}", file=sys.stderr)
        return 2
    unknown = [p for p in wanted if p not in known]
    if unknown:
        print(
            f"unknown profile(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            file=sys.stderr,
        )
        return 2
    if "system" not in wanted:
        wanted.insert(0, "system")
    user = None
    if args.snmp_version == "3":
        if not args.v3_user:
            print("SNMPv3 needs --v3-user", file=sys.stderr)
            return 2
        auth, priv = secret_arg(args, "auth_key"), secret_arg(args, "priv_key")
        user = V3User(
            name=args.v3_user,
            auth_protocol=args.auth_protocol if auth else None,
            auth_key=Secret(auth) if auth else None,
            priv_protocol=args.priv_protocol if priv else None,
            priv_key=Secret(priv) if priv else None,
        )
    community = secret_arg(args, "community")
    if args.snmp_version != "3" and community is None:
        print(
            "give the community with --community-env NAME or --community-file PATH", file=sys.stderr
        )
        return 2
    snapshot, text = asyncio.run(
        poll_once(
            args.address,
            args.port,
            wanted,
            community,
            version=args.snmp_version,
            user=user,
            timeout=args.timeout,
            retries=args.retries,
            deadline=args.deadline,
            device=args.device,
            registry=REGISTRY,
            specs=tuple(known.specs[name] for name in wanted),
            detect_from=None if named else tuple(known.specs.values()),
            on_detect=lambda text: print(text, file=sys.stderr),
        )
    )
    sys.stdout.write(text)
    if not snapshot.ok:
        print(f"poll failed: {snapshot.error}: {snapshot.error_detail}", file=sys.stderr)
        return 1
    if snapshot.error_detail:
        print(f"partial poll: {snapshot.error_detail}", file=sys.stderr)
    return 0
