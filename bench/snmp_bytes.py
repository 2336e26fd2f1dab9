"""Bytes on the wire per steady-state poll: netmon vs prometheus-snmp-exporter.

Run as root (it creates a network namespace)::

    .venv/bin/python bench/snmp_bytes.py [--polls 20] [--json out.json]

What happens:

1. A namespace ``nmbytes<pid>`` is created, reached by a veth pair made here
   (169.254.78.1/30 on our end, 169.254.78.2/30 inside; IPv6 off and static
   neighbour entries on both ends, so the link carries SNMP and nothing else).
2. snmpsim runs inside the namespace on 169.254.78.2:161, serving
   shared/testdata/snmprec/routeros.snmprec and airos_airos8.snmprec
   (community = recording name).
3. For each device: netmon (one ``SnmpCollector`` and the same ``TargetRef``
   for every poll, so the slow-column cache works as in the daemon) polls it
   twice to warm up, then ``--polls`` times measured; then snmp_exporter with
   a ``snmp.yml`` module written here that walks the same columns and GETs the
   same scalars (the generator is not packaged in Debian, so the module is
   written by hand from the profiles), one scrape to warm up, ``--polls``
   measured. Bytes are the veth's tx/rx byte counters
   (/sys/class/net/<if>/statistics) around the measured polls: every frame,
   retries included, Ethernet header included (14 bytes a frame).
4. netmon's own estimate (``netmon_poll_bytes_total``) over the same polls is
   printed next to the wire figures. Everything is torn down in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gufo.snmp.aio import SnmpSession  # noqa: E402

from collectors.snmp.collector import SnmpCollector  # noqa: E402
from collectors.snmp.fetchplan import scalar_plan, table_plans  # noqa: E402
from collectors.snmp.params import SnmpParams  # noqa: E402
from collectors.snmp.profile import builtin_profiles  # noqa: E402
from netmon.api import Secret, TargetRef  # noqa: E402
from netmon.tools.simulate import _responder, recordings_dir  # noqa: E402

HOST_IP, AGENT_IP = "169.254.78.1", "169.254.78.2"
#: snmpsim drops to nobody before it binds: an unprivileged port
AGENT_PORT = 16100
DEVICES = {
    "routeros": ("system", "if_mib", "mikrotik", "host_resources"),
    "airos_airos8": ("system", "if_mib", "airos"),
}
MAX_REP = 25
INTERVAL = 60.0
POLLS_PER_MONTH = 30 * 24 * 3600 / INTERVAL
ETHERNET = 14


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class Link:
    namespace: str
    outer: str
    inner: str

    def counters(self) -> dict[str, int]:
        base = Path("/sys/class/net") / self.outer / "statistics"
        names = ("tx_bytes", "rx_bytes", "tx_packets", "rx_packets")
        return {n: int((base / n).read_text()) for n in names}


@contextmanager
def link() -> Iterator[Link]:
    tag = str(os.getpid())
    ns, outer, inner = f"nmbytes{tag}", f"nbo{tag}", f"nbi{tag}"
    ip("netns", "add", ns)
    try:
        ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns)
        for where, dev in ((None, outer), (ns, inner)):
            pre = ["netns", "exec", ns, "sysctl"] if where else []
            cmd = [*pre, "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"]
            if where:
                ip(*cmd)
            else:
                subprocess.run(["sysctl", *cmd[1:]], check=True, capture_output=True)
        ip("addr", "add", f"{HOST_IP}/30", "dev", outer)
        ip("netns", "exec", ns, "ip", "addr", "add", f"{AGENT_IP}/30", "dev", inner)
        ip("link", "set", outer, "up")
        ip("netns", "exec", ns, "ip", "link", "set", inner, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        mac_out = Path(f"/sys/class/net/{outer}/address").read_text().strip()
        mac_in = subprocess.run(
            ["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{inner}/address"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        ip("neigh", "replace", AGENT_IP, "lladdr", mac_in, "dev", outer, "nud", "permanent")
        ip("netns", "exec", ns, "ip", "neigh", "replace", HOST_IP, "lladdr", mac_out, "dev", inner)
        route = subprocess.run(
            ["ip", "route", "get", AGENT_IP], check=True, capture_output=True, text=True
        ).stdout
        if f"dev {outer} " not in route:
            raise RuntimeError(f"route to {AGENT_IP} is not via {outer}: {route}")
        yield Link(ns, outer, inner)
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@contextmanager
def process(cmd: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up in {timeout:g}s")


def snmpsim_up() -> bool:
    async def get() -> object:
        async with SnmpSession(AGENT_IP, AGENT_PORT, community="routeros", timeout=1.0) as session:
            return await session.get("1.3.6.1.2.1.1.3.0")

    try:
        asyncio.run(get())
    except Exception:
        return False
    return True


def exporter_module(device: str) -> dict[str, Any]:
    """The same columns and scalars netmon asks for; first-instance scalars are walked."""
    profiles = [builtin_profiles()[p] for p in DEVICES[device]]
    plan = scalar_plan(profiles)
    walk = [c.oid for t in table_plans(profiles) for c in t.columns]
    walk += list(plan.first + plan.slow_first)
    return {
        "walk": walk,
        "get": sorted(plan.exact + plan.slow_exact),
        "version": 2,
        "max_repetitions": MAX_REP,
        "retries": 1,
        "timeout": "3s",
        "auth": {"community": device},
        "metrics": [],
    }


def scrape(port: int, device: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/snmp?module={device}&target={AGENT_IP}:{AGENT_PORT}")
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"snmp_exporter: {response.status} {body[:200]!r}")
    return len(body)


def delta(before: dict[str, int], after: dict[str, int], polls: int) -> dict[str, float]:
    d = {k: after[k] - before[k] for k in before}
    frames = d["tx_packets"] + d["rx_packets"]
    return {
        "sent": d["tx_bytes"] / polls,
        "received": d["rx_bytes"] / polls,
        "total": (d["tx_bytes"] + d["rx_bytes"]) / polls,
        "frames": frames / polls,
        "total_ip": (d["tx_bytes"] + d["rx_bytes"] - ETHERNET * frames) / polls,
    }


async def netmon_polls(lk: Link, device: str, polls: int) -> dict[str, float]:
    collector = SnmpCollector()
    params = SnmpParams(
        address=AGENT_IP,
        port=AGENT_PORT,
        version="2c",
        community=Secret(device),
        timeout=3.0,
        retries=1,
        max_repetitions=MAX_REP,
        profiles=DEVICES[device],
        interval=INTERVAL,
    )
    target = TargetRef(site="bench", device=device, collector="snmp")
    for _ in range(2):
        snapshot = await collector.poll(target, params, deadline=30)
        if not snapshot.ok or snapshot.error_detail:
            raise RuntimeError(f"netmon warm-up poll failed: {snapshot.error_detail}")
    state = collector._devices[target.key].state
    est0 = state.bytes_sent + state.bytes_received
    before = lk.counters()
    for _ in range(polls):
        snapshot = await collector.poll(target, params, deadline=30)
        if not snapshot.ok or snapshot.error_detail:
            raise RuntimeError(f"netmon poll failed: {snapshot.error_detail}")
    out = delta(before, lk.counters(), polls)
    out["estimate"] = (state.bytes_sent + state.bytes_received - est0) / polls
    out["samples"] = float(sum(len(p.samples) for p in snapshot.parts))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="netmon-bytes-"))
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cores {platform.release()}",
        "polls": args.polls,
        "max_repetitions": MAX_REP,
        "devices": {},
    }
    try:
        data, cache = work / "data", work / "cache"
        data.mkdir()
        cache.mkdir()
        for name in DEVICES:
            shutil.copy(recordings_dir() / f"{name}.snmprec", data / f"{name}.snmprec")
        os.chmod(work, 0o755)  # noqa: S103 - snmpsim drops to nobody
        for path in (data, *data.iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(cache, 0o1777)  # noqa: S103
        config = {name: exporter_module(name) for name in DEVICES}
        (work / "snmp.yml").write_text(json.dumps(config, indent=1))  # JSON is YAML
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with link() as lk:
            sim = [
                "ip", "netns", "exec", lk.namespace, str(_responder()),
                f"--data-dir={data}", f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint={AGENT_IP}:{AGENT_PORT}", "--log-level=error",
                "--process-user=nobody", "--process-group=nogroup",
            ]  # fmt: skip
            exporter = [
                "prometheus-snmp-exporter",
                f"--config.file={work / 'snmp.yml'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ]
            with (
                process(sim, work / "snmpsim.log"),
                process(exporter, work / "exporter.log"),
            ):
                wait_until(snmpsim_up, "snmpsim")
                wait_until(lambda: _exporter_up(port), "snmp_exporter")
                for device in DEVICES:
                    ours = asyncio.run(netmon_polls(lk, device, args.polls))
                    scrape(port, device)  # warm-up, like netmon's
                    before = lk.counters()
                    for _ in range(args.polls):
                        scrape(port, device)
                    theirs = delta(before, lk.counters(), args.polls)
                    results["devices"][device] = {
                        "netmon": ours,
                        "snmp_exporter": theirs,
                        "ratio": theirs["total"] / ours["total"],
                        "walk_columns": len(config[device]["walk"]),
                        "get_scalars": len(config[device]["get"]),
                    }
    except Exception:
        for log in sorted(work.glob("*.log")):
            print(f"--- {log.name}:\n{log.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _exporter_up(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/metrics")
        return conn.getresponse().status == 200
    except OSError:
        return False


def report(results: dict[str, Any]) -> None:
    print(f"# {results['date']} {results['machine']}; {results['polls']} polls each")
    print(
        "| device | tool | sent B/poll | received B/poll | total B/poll (wire) | frames/poll "
        "| netmon estimate B/poll (IP) | MB/month at 60 s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    site = {"netmon": 0.0, "snmp_exporter": 0.0}
    for device, row in results["devices"].items():
        for tool in ("netmon", "snmp_exporter"):
            r = row[tool]
            month = r["total"] * POLLS_PER_MONTH / 1e6
            site[tool] += month
            est = f"{r['estimate']:.0f} (wire IP {r['total_ip']:.0f})" if "estimate" in r else ""
            print(
                f"| {device} | {tool} | {r['sent']:.0f} | {r['received']:.0f} | {r['total']:.0f} "
                f"| {r['frames']:.1f} | {est} | {month:.1f} |"
            )
        print(f"| {device} | ratio exporter/netmon | | | {row['ratio']:.2f}x | | | |")
    print(
        f"site (one MikroTik + one airMAX) MB/month at 60 s: netmon {site['netmon']:.1f}, "
        f"snmp_exporter {site['snmp_exporter']:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
