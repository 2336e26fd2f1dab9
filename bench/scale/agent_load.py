"""What the replay agent costs: its CPU per request and per varbind under a closed-loop load.

``python -m bench.scale.agent_load --devices 2000 --seconds 20``. The agent runs pinned
to ``--agent-cpu``; this process (pinned to ``--client-cpu``) keeps one request in
flight per simulated device, with the requests a steady-state netmon poll of a village
router sends (a GET of the fast scalars, a GETBULK per fast column, max-repetitions =
the column's rows + 1). The agent's utime+stime over the run divided by the requests
answered is its cost per request; 1 / that is what one core of it can serve.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from collectors.snmp.fetchplan import scalar_plan, table_plans
from collectors.snmp.profile import builtin_profiles
from netmon.tools.simulate import recordings_dir
from tests.scale_inventory import PROFILES
from tests.snmp_ber import GET, GETBULK, NULL, Message, Var, encode, oid
from tests.snmprec_reader import Recording

from .netmon_side import start_agent
from .procs import Procs, cpu_seconds, pin_self, stop_everything


def netmon_requests(community: str) -> list[bytes]:
    """The datagrams of one steady-state poll (slow columns and scalars cached)."""
    profiles = [builtin_profiles()[name] for name in PROFILES]
    rec = Recording.read(recordings_dir() / "routeros.snmprec")
    plan = scalar_plan(profiles)
    scalars = tuple((oid(o), Var(NULL)) for o in plan.exact)
    out = [encode(Message(community.encode(), GET, 1, 0, 0, scalars))]
    for table in table_plans(profiles):
        for column in table.fast:
            rows = len(rec.column(column.oid))
            if rows:  # a column the device lacks is skipped after the first poll
                varbinds = ((oid(column.oid), Var(NULL)),)
                message = Message(community.encode(), GETBULK, 1, 0, rows + 1, varbinds)
                out.append(encode(message))
    return out


def load(ports: list[int], requests: list[bytes], seconds: float) -> tuple[int, int]:
    """Closed loop for ``seconds``: (requests answered, requests lost)."""
    socks = []
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        socks.append(sock)
    poller = select.epoll()
    by_fd = {s.fileno(): (s, i) for i, s in enumerate(socks)}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    step = [0] * len(socks)
    answered = lost = 0
    end = time.monotonic() + seconds
    for sock in socks:
        sock.send(requests[0])
    try:
        while time.monotonic() < end:
            events = poller.poll(0.5)
            if not events:  # a lost datagram: send every socket's next request again
                lost += 1
                for i, sock in enumerate(socks):
                    sock.send(requests[step[i] % len(requests)])
                continue
            for fd, _ in events:
                sock, i = by_fd[fd]
                try:
                    sock.recv(65_535)
                except BlockingIOError:
                    continue
                answered += 1
                step[i] += 1
                sock.send(requests[step[i] % len(requests)])
    finally:
        poller.close()
        for sock in socks:
            sock.close()
    return answered, lost


async def run(args: argparse.Namespace, work: Path) -> dict[str, float]:
    procs = Procs(work)
    agent = await start_agent(procs, work, args.devices, 0, args.agent_cpu)
    requests = netmon_requests(agent.community)
    before_cpu, before = cpu_seconds(agent.pid), agent.stats()
    began = time.monotonic()
    answered, lost = load(agent.live, requests, args.seconds)
    elapsed = time.monotonic() - began
    await asyncio.sleep(1.2)  # the agent writes its counters once a second
    cpu, after = cpu_seconds(agent.pid) - before_cpu, agent.stats()
    procs.stop_all()
    varbinds = after["varbinds"] - before["varbinds"]
    served = after["answered"] - before["answered"]
    per_request = cpu / served
    return {
        "devices": args.devices,
        "seconds": round(elapsed, 1),
        "requests_answered": served,
        "client_answered": answered,
        "client_stalls": lost,
        "agent_cpu_share": round(cpu / elapsed, 3),
        "agent_us_per_request": round(1e6 * per_request, 2),
        "varbinds_per_request": round(varbinds / served, 1),
        "capacity_requests_per_core_s": round(1 / per_request),
        "capacity_varbinds_per_core_s": round(varbinds / served / per_request),
        "requests_per_poll": len(requests),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale.agent_load", description=__doc__)
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--agent-cpu", type=int, default=1)
    p.add_argument("--client-cpu", type=int, default=0)
    args = p.parse_args(argv)
    pin_self(args.client_cpu)
    with tempfile.TemporaryDirectory(prefix="netmon-agent-load-") as work:
        try:
            result = asyncio.run(run(args, Path(work)))
        finally:
            stop_everything()
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
