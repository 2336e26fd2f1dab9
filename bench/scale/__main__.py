"""python -m bench.scale: see bench/README.md ("Scale") and bench/scale/__init__.py."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .netmon_side import SLOW_CALLBACKS
from .procs import Procs, Stopped, bounded, pin_self, stop_everything
from .report import details, machine, markdown, write_json
from .run import baseline_rss, one_size
from .soak import soak

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("--devices", type=_sizes, default=[1000], help="sizes, e.g. 1000,5000,10000")
    p.add_argument("--dead", type=float, default=0.1, help="share of devices that never answer")
    p.add_argument("--interval", type=float, default=60.0, help="poll interval, seconds")
    p.add_argument("--window", type=float, default=300.0, help="measured seconds per tool")
    p.add_argument("--scrape-every", type=float, default=15.0, help="netmon /metrics scrapes")
    p.add_argument("--timeout", type=float, default=2.0, help="SNMP timeout, seconds")
    p.add_argument("--retries", type=int, default=1)
    p.add_argument("--kabupaten", type=int, default=10, help="site files the sites spread over")
    p.add_argument("--max-concurrency", type=int, help="scheduler.max_concurrency (netmon's own)")
    p.add_argument("--max-repetitions", type=int, help="snmp.max_repetitions (netmon's own)")
    p.add_argument("--netmon-cpu", type=int, default=0, help="core for netmon / the exporter")
    p.add_argument("--agent-cpu", type=int, default=1, help="core for the agent and this harness")
    p.add_argument("--exporter", default="/usr/bin/prometheus-snmp-exporter", help="'' to skip")
    p.add_argument("--exporter-walk", choices=["columns", "tables"], default="columns")
    p.add_argument("--no-baseline", action="store_true", help="skip the empty netmon's RSS")
    p.add_argument("--reloads", type=int, default=3, help="timed SIGHUP reloads after the window")
    p.add_argument("--soak", type=float, metavar="SECONDS", help="soak mode for this long")
    p.add_argument("--sample-every", type=float, default=60.0, help="soak: seconds per row")
    p.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/scale-DATE.json)")
    p.add_argument("--time-limit", type=float, help="stop everything after this many seconds")
    p.add_argument(
        "--slow-callbacks",
        type=float,
        metavar="SECONDS",
        help="log each event-loop callback of netmon's that took longer (to its log, with --keep)",
    )
    args = p.parse_args(argv)
    if args.slow_callbacks:
        os.environ[SLOW_CALLBACKS] = str(args.slow_callbacks)
    if args.exporter and not Path(args.exporter).exists():
        p.error(f"{args.exporter} not found (--exporter '' skips the peer)")
    args.duration = args.soak
    return args


def time_limit(args: argparse.Namespace) -> float:
    """Enough for every phase of every size, with room; --time-limit overrides."""
    if args.time_limit:
        return float(args.time_limit)
    interval: float = args.interval
    window: float = args.window
    per_phase = 5 * interval + 300  # start, warm-up (two polls each), scrapes in flight
    if args.soak:
        return float(args.soak) + per_phase
    phases = 2 if args.exporter else 1
    return 60 + len(args.devices) * phases * (per_phase + window)


async def main_async(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):  # cancel: finally blocks run
        loop.add_signal_handler(sig, main_task.cancel, f"stopped by {sig.name}")
    out: dict[str, Any] = {"machine": machine(), "args": _jsonable(vars(args))}
    base = Procs(work)
    try:
        if args.no_baseline:
            args.baseline_rss = 0
        else:
            import aiohttp

            async with aiohttp.ClientSession() as http:
                args.baseline_rss = await baseline_rss(base, http, work, args.netmon_cpu)
        out["baseline_rss_mb"] = round(args.baseline_rss / 2**20, 1)
        if args.soak:
            size = work / f"soak-{args.devices[0]}"
            size.mkdir()
            procs = Procs(size)
            try:
                stem = f"scale-soak-{args.devices[0]}-{time.strftime('%F-%H%M')}"
                path = args.out.with_suffix(".csv") if args.out else RESULTS / f"{stem}.csv"
                out["soak"] = await soak(args, procs, path)
            finally:
                procs.stop_all()
            return out
        out["results"] = []
        for n in args.devices:
            size = work / f"n{n}"
            size.mkdir()
            procs = Procs(size)
            try:
                out["results"].append(await one_size(args, procs, n))
            finally:
                procs.stop_all()
            print(markdown(out["results"][-1:]), flush=True)
    finally:
        base.stop_all()
    return out


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    pin_self(args.agent_cpu)
    bounded(time_limit(args))
    work = Path(tempfile.mkdtemp(prefix="netmon-scale-"))
    try:
        result = asyncio.run(main_async(args, work))
    except (Stopped, asyncio.CancelledError) as why:
        print(f"{why or 'stopped'}: every process it started is stopped", file=sys.stderr)
        return 3
    finally:
        signal.alarm(0)
        stop_everything()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    kind = "soak" if args.soak else "scale"
    path = args.out or RESULTS / f"{kind}-{time.strftime('%F-%H%M')}.json"
    write_json(path, result)
    if "results" in result:
        print("\n" + markdown(result["results"]) + "\n\n" + details(result["results"]))
    else:
        print(result["soak"])
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
