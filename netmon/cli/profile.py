"""`netmon profile test|check|new`: write and try an SNMP profile without an agent."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = sub.add_parser("profile", help="test, check or start an SNMP profile")
    tools = profile.add_subparsers(dest="profile_command", required=True)
    test = tools.add_parser(
        "test", help="print what profiles yield from a recording (.snmprec or snmpwalk -On)"
    )
    test.add_argument("profiles", nargs="+", metavar="PROFILE", help="a name or a .yaml file")
    test.add_argument("--recording", required=True, type=Path, metavar="FILE")
    test.add_argument(
        "--profiles-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="look names up here first, as profiles_dirs does (repeatable)",
    )
    test.add_argument("--device", default=None, help="device label (default: the file name)")
    test.set_defaults(func=cmd_test)
    check = tools.add_parser(
        "check", help="validate profiles (the built-in ones, and DIR's with them)"
    )
    check.add_argument("dir", nargs="?", type=Path, metavar="DIR")
    check.set_defaults(func=cmd_check)
    new = tools.add_parser("new", help="start a profile from a walk of an unknown device")
    new.add_argument("--walk", required=True, type=Path, metavar="FILE")
    new.add_argument("--name", help="profile name (default: from --output, else the walk)")
    new.add_argument("-o", "--output", type=Path, help="write the YAML here (default: stdout)")
    new.set_defaults(func=cmd_new)


def cmd_test(args: argparse.Namespace) -> int:
    from netmon.cli.wiring import ProfileError, RecordingError, find_profiles, read_values, replay

    try:
        profiles = find_profiles(args.profiles, args.profiles_dir)
        values = read_values(args.recording)
    except (ProfileError, RecordingError) as exc:
        print(f"netmon profile test: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"netmon profile test: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    device = args.device or args.recording.stem
    result = replay(values, profiles, device=device)
    sys.stdout.write(result.text)
    tables = ", ".join(f"{part} {n}" for part, n in result.samples.items())
    print(f"# samples by part: {tables}", file=sys.stderr)
    dropped = ", ".join(f"{reason} {n}" for reason, n in sorted(result.dropped.items()))
    print(f"# dropped samples by reason: {dropped}", file=sys.stderr)
    empty = [part for part, n in result.samples.items() if n == 0 and part != "device_info"]
    if empty:
        print(f"# no samples from: {', '.join(empty)}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from netmon.cli.wiring import check_profiles

    directory: Path | None = args.dir
    if directory is not None and not directory.is_dir():
        print(f"netmon profile check: not a folder: {directory}", file=sys.stderr)
        return 2
    result = check_profiles(directory, str(directory) if directory is not None else None)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in result.problems:
        print(problem)
    if result.problems:
        print(f"{len(result.problems)} problem(s) in {result.files} file(s)", file=sys.stderr)
        return 1
    print(f"{result.files} profile file(s) checked, no problems", file=sys.stderr)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from netmon.cli.wiring import RecordingError, new_profile, profile_name, read_values

    try:
        values = read_values(args.walk)
    except RecordingError as exc:
        print(f"netmon profile new: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"netmon profile new: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    output: Path | None = args.output
    name = args.name or profile_name((output or args.walk).stem)
    if output is not None and output.stem != name:
        print(f"netmon profile new: {output} must be called {name}.yaml", file=sys.stderr)
        return 2
    made = new_profile(values, name, args.walk.name)
    if output is None:
        sys.stdout.write(made.text)
    else:
        output.write_text(made.text, encoding="utf-8")
    for item in made.found:
        covered = item.table.covered_by or (item.table.builtin or "").partition(".")[0]
        extra = f" (the built-in profile {covered} reads it)" if covered else ""
        print(f"found: {item.table.title}: {item.values} values{extra}", file=sys.stderr)
    for mib in made.missing:
        print(f"not found: {mib.title}", file=sys.stderr)
    for oid, count in made.vendor:
        print(f"unmapped vendor subtree: {oid}: {count} values", file=sys.stderr)
    if output is not None:
        print(f"wrote {output} (profile {name})", file=sys.stderr)
    return 0
