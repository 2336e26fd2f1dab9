"""Hostile input against one running daemon: its RSS must stay under 200 MB throughout.

Run (no root needed; net-snmp's snmptrap and snmpsim must be installed)::

    .venv/bin/python bench/hostile_rss.py [--sites 200] [--json PATH]

One real ``python -m netmon run`` monitors the demo's simulated province (the demo's
site generator, snmpsim serving the demo's animated recordings) with a trap receiver
on a free loopback port and reload over HTTP enabled. A thread samples the daemon's
VmRSS and VmHWM (/proc/PID/status) every 100 ms while, one after the other:

1. config bombs are written into its config folder and POSTed to /-/reload (one also
   by SIGHUP); each must be refused with an error, and the good config, restored,
   must load again;
2. 500 slow HTTP clients dribble one header line every 2 s for 15 s (reconnecting
   when closed), with scrapes in the middle;
3. 67 malformed HTTP requests (huge headers and queries, path traversal, invalid
   methods, big bodies, bad percent-encoding): status codes counted, 5xx reported;
4. a trap flood: a real snmptrap datagram replayed 10,000 times a second for 5 s
   from one source by a separate process, with scrapes during it;
5. 200 concurrent scrapers of /metrics for 10 s.

Prints a table (case, max RSS, daemon alive, outcome). Exit 1 if the RSS ever went
over --limit-mb or the daemon died; 2 if a case's other expectation failed (a 5xx, a
refused good reload, a failed scrape after a case).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _path in (REPO_ROOT, HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from hostile_cases import (  # noqa: E402
    TRAP_COMMUNITY,
    Bench,
    Row,
    Sampler,
    config_case,
    hostile_http,
    scrapers,
    slow_clients,
    trap_flood,
)
from hostile_inputs import CONFIG_BOMBS, alias_bomb  # noqa: E402

from netmon.tools.demo import cctv_sites, recordings  # noqa: E402
from netmon.tools.demo import province as prov  # noqa: E402
from netmon.tools.demo.cctv import Cctv  # noqa: E402
from netmon.tools.simulate import (  # noqa: E402
    SnmpSim,
    free_tcp_port,
    free_udp_port,
    start_snmpsim,
    stop_process,
)

NEVER = 10.0**9  # the demo's scripted incidents (reboot, fade) never happen here


def serve_cctv(root: Path, draft: dict[str, dict[str, Any]]) -> Cctv:
    """The demo's camera and NVR servers, served by a loop in a thread of their own (not
    the loop of the hostile clients); closed with the process."""
    cctv = Cctv(cctv_sites.servers(draft), [], root / cctv_sites.NVR_CA, root / "certs" / "nvr.key")
    threading.Thread(target=asyncio.run, args=(cctv.run(),), daemon=True).start()
    return cctv


def write_province(
    root: Path, sites: int, sims: list[SnmpSim], interval: float, port: int, trap_port: int
) -> Path:
    """The demo's province and config, plus a trap receiver; one snmpsim per kabupaten
    round robin, as the demo spreads them."""
    draft = prov.province(sites, 0)
    cctv = serve_cctv(root, draft)
    home = {
        site["id"]: sims[k % len(sims)].port
        for k, data in enumerate(draft.values())
        for site in data["sites"]
    }
    content = prov.province(sites, sims[0].port, home, endpoints=cctv.endpoints)
    config = prov.write_config(root, content, interval, f"127.0.0.1:{port}")
    (root / "secrets" / "trap-community").write_text(TRAP_COMMUNITY + "\n")
    main = yaml.safe_load(config.read_text())
    main["traps"] = {
        "listen": f"127.0.0.1:{trap_port}",
        "communities": [{"file": "secrets/trap-community"}],
    }
    assert main["http"]["reload_enabled"] is True
    config.write_text(yaml.safe_dump(main, sort_keys=False))
    return config


def table(rows: list[Row], limit: float) -> str:
    out = [
        "| case | RSS before MB | max RSS MB | daemon alive | outcome |",
        "|---|---:|---:|---|---|",
    ]
    for row in rows:
        flag = " **over**" if row.max_rss_mb > limit else ""
        problem = f" **problem: {row.problem}**" if row.problem else ""
        outcome = row.outcome.split("\n")[0].replace("|", "\\|")
        alive = (
            "yes" if row.alive and row.scrape_ok else ("up, scrape failed" if row.alive else "DIED")
        )
        out.append(
            f"| {row.case} | {row.rss_before_mb:.1f} | {row.max_rss_mb:.1f}{flag} | {alive}"
            f" | {outcome}{problem} |"
        )
    return "\n".join(out)


async def run_cases(bench: Bench, args: argparse.Namespace) -> None:
    for name, spoil in CONFIG_BOMBS.items():
        if not any(skip in name for skip in args.skip):
            await config_case(bench, name, spoil)
    if not any(skip in "alias bomb by SIGHUP" for skip in args.skip):
        await config_case(bench, "alias bomb by SIGHUP", alias_bomb, sighup=True)
    await slow_clients(bench, args.slow_clients, args.slow_seconds)
    await hostile_http(bench)
    await trap_flood(bench, args.flood_rate, args.flood_seconds)
    await scrapers(bench, args.scrapers, args.scrape_seconds)


def start_daemon(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    """The daemon, its output to a file (a pipe nobody reads could stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)


async def bench_main(args: argparse.Namespace, root: Path, sims: list[SnmpSim]) -> dict[str, Any]:
    port, trap_port = free_tcp_port(), free_udp_port()
    config = write_province(root, args.sites, sims, args.interval, port, trap_port)
    log = root / "netmon.log"
    cmd = [sys.executable, "-m", "netmon", "run", "-c", str(config)]
    cmd += ["--listen", f"127.0.0.1:{port}", "--web.read-header-timeout", args.read_header_timeout]
    proc = start_daemon(cmd, log)
    sampler = Sampler(proc.pid)
    sampler.start()
    started = time.monotonic()
    result: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as http:
            bench = Bench(port, trap_port, root, proc, sampler, http)
            while True:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(bench.base + "/-/ready") as resp:
                        if resp.status == 200:
                            break
                if proc.poll() is not None or time.monotonic() - started > 120:
                    raise RuntimeError("netmon did not get ready:\n" + log.read_text()[-3000:])
                await asyncio.sleep(0.2)
            ready = time.monotonic()
            print(f"ready after {ready - started:.1f}s; warming up {args.warmup:g}s", flush=True)
            await asyncio.sleep(args.warmup)  # the first polls of every device
            text, _ = await bench.scrape()
            baseline = {
                "rss_mb": sampler.samples[-1][1] / 1024,
                "max_rss_warmup_mb": sampler.max_mb(started, time.monotonic()),
                "metrics_bytes": len(text or ""),
                "devices": sum(
                    1 for line in (text or "").splitlines() if line.startswith("netmon_target_up{")
                ),
            }
            print(f"baseline: {baseline}", flush=True)
            await run_cases(bench, args)
            result = {"baseline": baseline, "rows": [asdict(r) for r in bench.rows]}
    finally:
        sampler.stopped.set()
        sampler.join(2)
        stop_process(proc)
    result["vm_hwm_mb"] = sampler.hwm_mb()
    result["max_rss_mb"] = sampler.max_mb(0, time.monotonic())
    result["tracebacks_in_log"] = log.read_text(errors="replace").count("Traceback")
    if args.keep_log:
        args.keep_log.write_bytes(log.read_bytes())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=200, help="the demo's province size")
    parser.add_argument("--interval", type=float, default=30.0, help="poll interval, s")
    parser.add_argument(
        "--warmup", type=float, default=40.0, help="s after ready, before the cases"
    )
    parser.add_argument("--limit-mb", type=float, default=200.0)
    parser.add_argument("--read-header-timeout", default="5s")
    parser.add_argument("--slow-clients", type=int, default=500)
    parser.add_argument("--slow-seconds", type=float, default=15.0)
    parser.add_argument("--flood-rate", type=int, default=10_000)
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--scrapers", type=int, default=200)
    parser.add_argument("--scrape-seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument(
        "--skip", action="append", default=[], help="skip the config cases naming this"
    )
    parser.add_argument("--keep-log", type=Path, help="copy the daemon's log here")
    args = parser.parse_args()
    agents = recordings.demo_recordings(NEVER, NEVER, 1.0, fibres=prov.fibres())
    with (
        tempfile.TemporaryDirectory(prefix="netmon-hostile-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        sims = [
            stack.enter_context(start_snmpsim(files=[], extra=agents, quiet=True))
            for _ in range(1 if args.sites <= 100 else 2)
        ]
        result = asyncio.run(bench_main(args, Path(tmp), sims))
    rows = [Row(**r) for r in result["rows"]]
    print()
    print(table(rows, args.limit_mb))
    print(
        f"\nbaseline: {result['baseline']}; overall max RSS {result['max_rss_mb']:.1f} MB,"
        f" VmHWM {result['vm_hwm_mb']:.1f} MB; Tracebacks in the log: {result['tracebacks_in_log']}"
    )
    for row in rows:
        if "\n" in row.outcome:
            print(f"\n{row.case}, per request:\n{row.outcome.split(chr(10), 1)[1]}")
    if args.json:
        result["machine"] = {"nproc": os.cpu_count(), "python": platform.python_version()}
        args.json.write_text(json.dumps(result, indent=1))
    if (
        any(r.max_rss_mb > args.limit_mb or not r.alive for r in rows)
        or float(result["vm_hwm_mb"]) > args.limit_mb
    ):
        return 1
    return 2 if any(r.problem for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
