"""CPU per poll of an ifTable+ifXTable walk: netmon vs prometheus-snmp-exporter.

Run as root (it creates a network namespace)::

    sudo .venv/bin/python bench/snmp_poll.py --json bench-result.json

What happens:

1. A network namespace ``netmon-bench-<pid>`` is created with loopback and
   ``--interfaces`` veth ends (default 24, i.e. 25 interfaces with ``lo``).
2. The script re-executes itself inside that namespace (``ip netns exec``).
   Everything below runs there and talks only to 127.0.0.1 of that namespace.
3. net-snmp ``snmpd`` is started with a generated config (random v2c
   community), and ``prometheus-snmp-exporter`` with a generated ``snmp.yml``
   whose module ``if`` walks exactly ifTable and ifXTable.
4. In interleaved batches, each tool polls the same agent:

   * ``snmp_exporter``: HTTP scrapes of ``/snmp?module=if&target=...``; CPU is
     the exporter process's utime+stime from ``/proc/PID/stat`` (so it
     includes its SNMP client, HTTP server and rendering, not our client).
   * ``netmon``: ``collectors.snmp.oneshot.poll_text(...)`` in this process (SNMP walk,
     parsing and rendering of the exposition text); CPU is
     ``time.process_time()`` around each call.
   * ``gufo-snmp bare``: the two getbulk walks only, no parsing or rendering,
     for reference.

   The agent's (snmpd's) CPU per poll is recorded too, as a check that every
   tool asked for the same work.
5. A markdown table is printed, and the raw numbers are written as JSON
   (``--json``). Everything is torn down in ``finally``; the whole run is
   bounded by ``--time-limit`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import http.client
import importlib
import json
import os
import platform
import pstats
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

IF_TABLE = "1.3.6.1.2.1.2.2"
IF_X_TABLE = "1.3.6.1.2.1.31.1.1"
WALK_ROOTS = (IF_TABLE, IF_X_TABLE)
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
EXPORTER_MODULE = "if"
NETMON_PROFILES = ["if_mib"]
TOOLS = ("snmp_exporter", "netmon", "gufo_bare")
ONLY_CHOICES = {"exporter": "snmp_exporter", "netmon": "netmon", "gufo": "gufo_bare"}
REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_NETMON_MS = 3.0
TARGET_RATIO = 3.0


class BenchError(RuntimeError):
    """A setup step failed; the message says which."""


class PollText(Protocol):
    """The netmon one-shot API the benchmark drives (``collectors.snmp.oneshot.poll_text``)."""

    def __call__(
        self,
        *,
        address: str,
        port: int,
        profiles: list[str],
        community: str,
        timeout: float,
        max_repetitions: int,
        registry: Any,
    ) -> Awaitable[str]: ...


@dataclass
class ToolResult:
    """Measurements of one tool over all batches."""

    tool: str
    polls: int = 0
    batch_cpu_ms: list[float] = field(default_factory=list)
    batch_agent_cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    varbinds_per_poll: int | None = None
    samples_per_poll: int | None = None
    note: str = ""

    def summary(self) -> dict[str, Any]:
        """Aggregate numbers (per poll) for the table and the JSON file."""
        return {
            "tool": self.tool,
            "polls": self.polls,
            "batches": len(self.batch_cpu_ms),
            "cpu_ms_mean": statistics.fmean(self.batch_cpu_ms),
            "cpu_ms_median": statistics.median(self.batch_cpu_ms),
            "cpu_ms_min_batch": min(self.batch_cpu_ms),
            "cpu_ms_max_batch": max(self.batch_cpu_ms),
            "agent_cpu_ms_mean": statistics.fmean(self.batch_agent_cpu_ms),
            "wall_ms_median": statistics.median(self.wall_ms),
            "varbinds_per_poll": self.varbinds_per_poll,
            "samples_per_poll": self.samples_per_poll,
            "batch_cpu_ms": self.batch_cpu_ms,
            "batch_agent_cpu_ms": self.batch_agent_cpu_ms,
            "note": self.note,
        }


# --------------------------------------------------------------------------- helpers


def _run(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=30)


def _proc_cpu_seconds(pid: int) -> float:
    """utime+stime of a whole process (all threads, live and exited) in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _count_samples(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def _sample_value(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    from netmon.tools.simulate import stop_process

    stop_process(proc, grace=5)


def _raise_on_sigterm() -> None:
    def handler(signum: int, frame: types.FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# --------------------------------------------------------------------------- configs


def snmpd_config(community: str) -> str:
    """v2c read-only for 127.0.0.1 only; no per-request connection log lines."""
    return (
        "# generated by bench/snmp_poll.py\n"
        f"rocommunity {community} 127.0.0.1\n"
        "dontLogTCPWrappersConnects yes\n"
    )


# (column, name, type) as prometheus-snmp-generator emits them for IF-MIB with
# the upstream if_mib overrides: ifDescr/ifName/ifAlias become lookup labels,
# ifType is EnumAsInfo; ifSpecific (an OID) has no metric type and is skipped.
_IF_TABLE_COLUMNS = [
    (1, "ifIndex", "gauge"),
    (3, "ifType", "EnumAsInfo"),
    (4, "ifMtu", "gauge"),
    (5, "ifSpeed", "gauge"),
    (6, "ifPhysAddress", "PhysAddress48"),
    (7, "ifAdminStatus", "gauge"),
    (8, "ifOperStatus", "gauge"),
    (9, "ifLastChange", "gauge"),
    (10, "ifInOctets", "counter"),
    (11, "ifInUcastPkts", "counter"),
    (12, "ifInNUcastPkts", "counter"),
    (13, "ifInDiscards", "counter"),
    (14, "ifInErrors", "counter"),
    (15, "ifInUnknownProtos", "counter"),
    (16, "ifOutOctets", "counter"),
    (17, "ifOutUcastPkts", "counter"),
    (18, "ifOutNUcastPkts", "counter"),
    (19, "ifOutDiscards", "counter"),
    (20, "ifOutErrors", "counter"),
    (21, "ifOutQLen", "gauge"),
]
_IF_X_TABLE_COLUMNS = [
    (2, "ifInMulticastPkts", "counter"),
    (3, "ifInBroadcastPkts", "counter"),
    (4, "ifOutMulticastPkts", "counter"),
    (5, "ifOutBroadcastPkts", "counter"),
    (6, "ifHCInOctets", "counter"),
    (7, "ifHCInUcastPkts", "counter"),
    (8, "ifHCInMulticastPkts", "counter"),
    (9, "ifHCInBroadcastPkts", "counter"),
    (10, "ifHCOutOctets", "counter"),
    (11, "ifHCOutUcastPkts", "counter"),
    (12, "ifHCOutMulticastPkts", "counter"),
    (13, "ifHCOutBroadcastPkts", "counter"),
    (14, "ifLinkUpDownTrapEnable", "gauge"),
    (15, "ifHighSpeed", "gauge"),
    (16, "ifPromiscuousMode", "gauge"),
    (17, "ifConnectorPresent", "gauge"),
    (19, "ifCounterDiscontinuityTime", "gauge"),
]
_IF_TYPE_ENUM = {
    1: "other",
    6: "ethernetCsmacd",
    24: "softwareLoopback",
    53: "propVirtual",
    131: "tunnel",
    135: "l2vlan",
    161: "ieee8023adLag",
}
_LOOKUPS = [
    ("ifAlias", f"{IF_X_TABLE}.1.18"),
    ("ifDescr", f"{IF_TABLE}.1.2"),
    ("ifName", f"{IF_X_TABLE}.1.1"),
]


def exporter_config(community: str, max_repetitions: int) -> str:
    """snmp.yml (snmp_exporter 0.21 format) with one module walking ifTable and ifXTable.

    Shaped like prometheus-snmp-generator's output for the upstream ``if_mib``
    module (ifAlias/ifDescr/ifName as labels on every interface series).
    """
    out = [
        "# generated by bench/snmp_poll.py (snmp_exporter 0.21 format)",
        f"{EXPORTER_MODULE}:",
        "  walk:",
        *(f"  - {root}" for root in WALK_ROOTS),
        "  metrics:",
    ]
    columns = [(f"{IF_TABLE}.1.{c}", n, t) for c, n, t in _IF_TABLE_COLUMNS]
    columns += [(f"{IF_X_TABLE}.1.{c}", n, t) for c, n, t in _IF_X_TABLE_COLUMNS]
    for oid, name, kind in columns:
        out += [
            f"  - name: {name}",
            f"    oid: {oid}",
            f"    type: {kind}",
            f"    help: {name} - {oid}",
            "    indexes:",
            "    - labelname: ifIndex",
            "      type: gauge",
            "    lookups:",
        ]
        for label, lookup_oid in _LOOKUPS:
            out += [
                "    - labels:",
                "      - ifIndex",
                f"      labelname: {label}",
                f"      oid: {lookup_oid}",
                "      type: DisplayString",
            ]
        if kind == "EnumAsInfo":
            out.append("    enum_values:")
            out += [f"      {k}: {v}" for k, v in _IF_TYPE_ENUM.items()]
    out += [
        "  version: 2",
        f"  max_repetitions: {max_repetitions}",
        "  retries: 0",
        "  timeout: 5s",
        "  auth:",
        f"    community: {community}",
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------- outer: netns


def _netns_setup(ns: str, veth_ends: int) -> None:
    _run(["ip", "netns", "add", ns])
    _run(["ip", "-n", ns, "link", "set", "lo", "up"])
    pairs = (veth_ends + 1) // 2
    for i in range(pairs):
        a, b = f"nbv{i}a", f"nbv{i}b"
        if 2 * i + 1 < veth_ends:
            _run(["ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b])
            _run(["ip", "-n", ns, "link", "set", b, "up"])
        else:  # odd count: the last one is a dummy interface
            _run(["ip", "-n", ns, "link", "add", a, "type", "dummy"])
        _run(["ip", "-n", ns, "link", "set", a, "up"])


def _netns_teardown(ns: str) -> None:
    listed = _run(["ip", "netns", "list"], check=False).stdout.split()
    if ns not in listed:
        return
    # Anything still running in our own namespace was started by this run.
    for _ in range(2):
        pids = _run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        if not pids:
            break
        time.sleep(0.2)
    _run(["ip", "netns", "del", ns], check=False)


def outer_main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("snmp_poll.py must run as root: it creates a network namespace", file=sys.stderr)
        return 2
    for tool in ("ip", args.snmpd, args.exporter):
        if shutil.which(tool) is None:
            print(f"not found: {tool}", file=sys.stderr)
            return 2
    deadline = time.monotonic() + args.time_limit
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    ns = f"netmon-bench-{os.getpid()}"
    _raise_on_sigterm()
    inner: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        try:
            try:
                _netns_setup(ns, args.interfaces)
            except subprocess.CalledProcessError as exc:
                print(f"namespace setup failed: {exc.args[1]}: {exc.stderr}", file=sys.stderr)
                return 1
            cmd = [
                "ip", "netns", "exec", ns,
                sys.executable, str(Path(__file__).resolve()),
                *sys.argv[1:],
                "--inner-result", str(result_path),
                "--inner-seconds", f"{deadline - time.monotonic() - 10:.1f}",
            ]  # fmt: skip
            inner = subprocess.Popen(cmd, start_new_session=True)
            try:
                rc = inner.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"time limit ({args.time_limit} s) reached, aborting", file=sys.stderr)
                return 3
            if rc != 0 or not result_path.exists():
                print(f"benchmark run failed (exit {rc})", file=sys.stderr)
                return 1
            result = json.loads(result_path.read_text())
        finally:
            if inner is not None and inner.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(inner.pid, signal.SIGTERM)
                try:
                    inner.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(inner.pid, signal.SIGKILL)
                    inner.wait(timeout=5)
            _netns_teardown(ns)
    result["machine"] = machine_info() | {"loadavg_before": load_before}
    result["command"] = " ".join([Path(sys.executable).name, *sys.argv])
    table = markdown_table(result)
    print(table)
    for line in verdict(result):
        print(line)
    if args.profile and Path(args.profile).exists():
        print(f"\ncProfile of netmon polls ({args.profile}), top functions by own time:")
        pstats.Stats(args.profile, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    if args.check and any(line.startswith("FAIL") for line in verdict(result)):
        return 4
    return 0


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "date": dt.date.today().isoformat(),
    }


def markdown_table(result: dict[str, Any]) -> str:
    rows = result["results"]
    ref = next((r for r in rows if r["tool"] == "snmp_exporter"), None)
    head = (
        "| tool | polls | CPU ms/poll mean | CPU ms/poll median (of batches) "
        "| batch range | wall ms/poll median | agent CPU ms/poll "
        "| varbinds/poll | samples/poll | snmp_exporter ÷ tool |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        ratio = f"{ref['cpu_ms_mean'] / r['cpu_ms_mean']:.1f}x" if ref else "n/a"
        lines.append(
            f"| {r['tool']} | {r['polls']} | {r['cpu_ms_mean']:.2f} | {r['cpu_ms_median']:.2f} "
            f"| {r['cpu_ms_min_batch']:.2f}-{r['cpu_ms_max_batch']:.2f} "
            f"| {r['wall_ms_median']:.2f} | {r['agent_cpu_ms_mean']:.2f} "
            f"| {r['varbinds_per_poll'] if r['varbinds_per_poll'] is not None else 'n/a'} "
            f"| {r['samples_per_poll'] if r['samples_per_poll'] is not None else 'n/a'} "
            f"| {ratio} |"
        )
    return "\n".join(lines)


def verdict(result: dict[str, Any]) -> list[str]:
    by_tool = {r["tool"]: r for r in result["results"]}
    net, ref = by_tool.get("netmon"), by_tool.get("snmp_exporter")
    if net is None:
        return ["netmon not measured: no verdict"]
    out = []
    ms = net["cpu_ms_mean"]
    ok = ms <= TARGET_NETMON_MS
    out.append(f"{'PASS' if ok else 'FAIL'}: netmon {ms:.2f} ms CPU/poll (target <= 3 ms)")
    if ref is not None:
        ratio = ref["cpu_ms_mean"] / ms
        ok = ratio >= TARGET_RATIO
        word = "PASS" if ok else "FAIL"
        out.append(f"{word}: snmp_exporter/netmon = {ratio:.1f}x (target >= 3x)")
    return out


# --------------------------------------------------------------------------- inner: tools


async def gufo_walk(port: int, community: str, max_repetitions: int) -> int:
    """The bare reference: getbulk over both tables, values discarded."""
    from gufo.snmp.aio import SnmpSession

    n = 0
    session = SnmpSession(
        "127.0.0.1", port, community=community, timeout=2.0, max_repetitions=max_repetitions
    )
    for root in WALK_ROOTS:
        async for _oid, _value in session.getbulk(root):
            n += 1
    return n


def load_poll_text() -> PollText:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        module = importlib.import_module("collectors.snmp.oneshot")
    except ImportError as exc:
        msg = (
            f"cannot import collectors.snmp.oneshot ({exc}); measure the others with "
            "--only exporter --only gufo"
        )
        raise BenchError(msg) from exc
    poll_text: PollText = module.poll_text
    return poll_text


class Inner:
    """Everything that runs inside the namespace."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.deadline: float = time.monotonic() + float(args.inner_seconds)
        self.community = secrets.token_hex(8)
        self.snmp_port = _free_port(socket.SOCK_DGRAM)
        self.http_port = _free_port(socket.SOCK_STREAM)
        self.snmpd: subprocess.Popen[bytes] | None = None
        self.exporter: subprocess.Popen[bytes] | None = None
        self.http: http.client.HTTPConnection | None = None
        self.poll_text: PollText | None = None

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("benchmark time limit reached")
        return left

    # ---- processes

    def start_snmpd(self) -> None:
        conf = self.tmp / "snmpd.conf"
        conf.write_text(snmpd_config(self.community))
        conf.chmod(0o600)
        state = self.tmp / "snmpd-state"  # snmpd writes its persistent files here
        mibs = self.tmp / "mibs"  # empty: no MIB parsing noise at start
        state.mkdir()
        mibs.mkdir()
        log = (self.tmp / "snmpd.log").open("wb")
        cmd = [
            self.args.snmpd, "-f", "-Lo", "-C", "-c", str(conf),
            f"udp:127.0.0.1:{self.snmp_port}",
        ]  # fmt: skip
        env = {"SNMP_PERSISTENT_DIR": str(state), "MIBDIRS": str(mibs), "MIBS": ""}
        self.snmpd = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

    async def wait_snmpd(self) -> None:
        from gufo.snmp.aio import SnmpSession

        limit = time.monotonic() + min(20.0, self.remaining())
        session = SnmpSession("127.0.0.1", self.snmp_port, community=self.community, timeout=0.3)
        while True:
            assert self.snmpd is not None
            if self.snmpd.poll() is not None:
                log = (self.tmp / "snmpd.log").read_text(errors="replace")
                raise BenchError(f"snmpd exited with {self.snmpd.returncode}:\n{log}")
            try:
                await session.get(SYS_UPTIME)
            except (TimeoutError, OSError):
                if time.monotonic() > limit:
                    raise BenchError("snmpd did not answer within 20 s") from None
                await asyncio.sleep(0.05)  # poll interval, not synchronisation
            else:
                return

    def start_exporter(self) -> None:
        conf = self.tmp / "snmp.yml"
        conf.write_text(exporter_config(self.community, self.args.max_repetitions))
        conf.chmod(0o600)
        log = (self.tmp / "exporter.log").open("wb")
        cmd = [
            self.args.exporter,
            f"--config.file={conf}",
            f"--web.listen-address=127.0.0.1:{self.http_port}",
            "--log.level=warn",
        ]
        env = {"PATH": "/usr/bin:/bin", "GOMAXPROCS": os.environ.get("GOMAXPROCS", "")}
        env = {k: v for k, v in env.items() if v}
        self.exporter = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)

    def wait_exporter(self) -> None:
        limit = time.monotonic() + min(20.0, self.remaining())
        while True:
            assert self.exporter is not None
            if self.exporter.poll() is not None:
                log = (self.tmp / "exporter.log").read_text(errors="replace")
                raise BenchError(f"snmp_exporter exited with {self.exporter.returncode}:\n{log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=1)
                conn.request("GET", "/")
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            if status == 200:
                return
            if time.monotonic() > limit:
                raise BenchError("snmp_exporter did not answer within 20 s")
            time.sleep(0.05)  # poll interval, not synchronisation

    def stop(self) -> None:
        if self.http is not None:
            self.http.close()
        _stop(self.exporter)
        _stop(self.snmpd)

    # ---- one poll per tool

    def scrape(self) -> str:
        if self.http is None:
            self.http = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        path = f"/snmp?module={EXPORTER_MODULE}&target=127.0.0.1:{self.snmp_port}"
        self.http.request("GET", path)
        resp = self.http.getresponse()
        body = resp.read().decode()
        if resp.status != 200:
            raise BenchError(f"snmp_exporter answered {resp.status}: {body[:500]}")
        return body

    async def netmon_poll(self) -> str:
        from collectors import REGISTRY

        assert self.poll_text is not None
        return await self.poll_text(
            registry=REGISTRY,
            address="127.0.0.1",
            port=self.snmp_port,
            profiles=list(NETMON_PROFILES),
            community=self.community,
            timeout=2.0,
            max_repetitions=self.args.max_repetitions,
        )

    async def netmon_varbinds(self) -> int:
        """Varbinds one netmon poll fetches: its walker bypasses gufo's public iterator."""
        from collectors.snmp import SnmpParams, builtin_profiles
        from collectors.snmp.walker import Walker, make_session
        from netmon.api import Secret

        params = SnmpParams(
            "127.0.0.1",
            self.snmp_port,
            community=Secret(self.community),
            max_repetitions=self.args.max_repetitions,
            profiles=tuple(NETMON_PROFILES),
        )
        walker = Walker(make_session(params), params)
        raw = await walker.run([builtin_profiles()[p] for p in params.profiles])
        walked = sum(len(v) for walk in raw.tables.values() for v in walk.values())
        return walked + len(raw.scalars)

    # ---- batches

    def exporter_batch(self, n: int, res: ToolResult) -> None:
        assert self.exporter is not None
        assert self.snmpd is not None
        agent0 = _proc_cpu_seconds(self.snmpd.pid)
        cpu0 = _proc_cpu_seconds(self.exporter.pid)
        for _ in range(n):
            self.remaining()
            t0 = time.perf_counter()
            self.scrape()
            res.wall_ms.append((time.perf_counter() - t0) * 1e3)
        cpu1 = _proc_cpu_seconds(self.exporter.pid)
        agent1 = _proc_cpu_seconds(self.snmpd.pid)
        res.batch_cpu_ms.append((cpu1 - cpu0) * 1e3 / n)
        res.batch_agent_cpu_ms.append((agent1 - agent0) * 1e3 / n)
        res.polls += n

    async def inprocess_batch(
        self, n: int, res: ToolResult, poll: Callable[[], Awaitable[object]]
    ) -> None:
        assert self.snmpd is not None
        agent0 = _proc_cpu_seconds(self.snmpd.pid)
        cpu = 0.0
        for _ in range(n):
            self.remaining()
            w0 = time.perf_counter()
            c0 = time.process_time()
            await poll()
            cpu += time.process_time() - c0
            res.wall_ms.append((time.perf_counter() - w0) * 1e3)
        agent1 = _proc_cpu_seconds(self.snmpd.pid)
        res.batch_cpu_ms.append(cpu * 1e3 / n)
        res.batch_agent_cpu_ms.append((agent1 - agent0) * 1e3 / n)
        res.polls += n

    async def gufo_poll(self) -> int:
        return await gufo_walk(self.snmp_port, self.community, self.args.max_repetitions)

    async def run(self, tools: list[str]) -> dict[str, Any]:
        self.start_snmpd()
        await self.wait_snmpd()
        varbinds = await self.gufo_poll()
        results = {t: ToolResult(t) for t in tools}
        if "snmp_exporter" in tools:
            self.start_exporter()
            await asyncio.to_thread(self.wait_exporter)
            body = await asyncio.to_thread(self.scrape)
            res = results["snmp_exporter"]
            pdus = _sample_value(body, "snmp_scrape_pdus_returned")
            res.varbinds_per_poll = int(pdus) if pdus is not None else None
            res.samples_per_poll = _count_samples(body)
            res.note = "CPU of the exporter process (SNMP + HTTP + rendering)"
            if "ifHCInOctets" not in body:
                raise BenchError(f"snmp_exporter output lacks ifHCInOctets:\n{body[:2000]}")
        if "netmon" in tools:
            self.poll_text = load_poll_text()
            text = await self.netmon_poll()
            if "netmon_interface_" not in text:
                raise BenchError(f"netmon output has no interface series:\n{text[:2000]}")
            res = results["netmon"]
            res.varbinds_per_poll = await self.netmon_varbinds()
            res.samples_per_poll = _count_samples(text)
            res.note = "process_time() around poll_text (SNMP + parsing + rendering)"
        if "gufo_bare" in tools:
            res = results["gufo_bare"]
            res.varbinds_per_poll = varbinds
            res.note = "getbulk of both tables, no parsing or rendering"

        # warm-up: not measured
        for _ in range(self.args.warmup):
            for tool in tools:
                await self.poll_once(tool)

        per_batch = max(1, self.args.polls // self.args.batches)
        for b in range(self.args.batches):
            order = tools[b % len(tools) :] + tools[: b % len(tools)]
            for tool in order:
                self.remaining()
                if tool == "snmp_exporter":
                    await asyncio.to_thread(self.exporter_batch, per_batch, results[tool])
                elif tool == "netmon":
                    await self.inprocess_batch(per_batch, results[tool], self.netmon_poll)
                else:
                    await self.inprocess_batch(per_batch, results[tool], self.gufo_poll)
        if self.args.profile and "netmon" in tools:
            await self.profile_netmon(per_batch, self.args.profile)
        return {
            "config": {
                "interfaces_in_netns": self.args.interfaces + 1,
                "walk_roots": list(WALK_ROOTS),
                "varbinds_per_walk": varbinds,
                "max_repetitions": self.args.max_repetitions,
                "batches": self.args.batches,
                "polls_per_batch": per_batch,
                "warmup_polls": self.args.warmup,
                "clock_ticks_per_s": os.sysconf("SC_CLK_TCK"),
            },
            "versions": versions(self.args),
            "results": [results[t].summary() for t in tools],
        }

    async def profile_netmon(self, n: int, path: str) -> None:
        """cProfile ``n`` more netmon polls (not part of the measurement)."""
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: waiting is not cost
        profiler.enable()
        for _ in range(n):
            await self.netmon_poll()
        profiler.disable()
        profiler.dump_stats(path)

    async def poll_once(self, tool: str) -> None:
        if tool == "snmp_exporter":
            await asyncio.to_thread(self.scrape)
        elif tool == "netmon":
            await self.netmon_poll()
        else:
            await self.gufo_poll()


def versions(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    with contextlib.suppress(Exception):
        text = _run([args.exporter, "--version"], check=False)
        out["snmp_exporter"] = (text.stdout + text.stderr).splitlines()[0]
    with contextlib.suppress(Exception):
        text = _run([args.snmpd, "-v"], check=False)
        out["snmpd"] = next(ln for ln in text.stdout.splitlines() if "version" in ln).strip()
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        out["gufo_snmp"] = version("gufo_snmp")
    return out


def inner_main(args: argparse.Namespace, tools: list[str]) -> int:
    _raise_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="netmon-bench-inner-") as tmp:
        inner = Inner(args, Path(tmp))
        try:

            async def bounded() -> dict[str, Any]:
                async with asyncio.timeout(inner.remaining()):
                    return await inner.run(tools)

            result = asyncio.run(bounded())
        except (BenchError, TimeoutError) as exc:
            print(f"error: {exc or 'time limit reached'}", file=sys.stderr)
            return 1
        finally:
            inner.stop()
    Path(args.inner_result).write_text(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--only",
        action="append",
        choices=sorted(ONLY_CHOICES),
        help="measure only this tool (repeatable); default: exporter, netmon and gufo",
    )
    p.add_argument("--polls", type=int, default=500, help="polls per tool (default 500)")
    p.add_argument("--batches", type=int, default=10, help="batches per tool (default 10)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured polls per tool first")
    p.add_argument(
        "--interfaces",
        type=int,
        default=24,
        help="veth ends in the namespace besides lo (default 24: 25 interfaces)",
    )
    p.add_argument("--max-repetitions", type=int, default=25, help="for all three tools")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--time-limit", type=float, default=300.0, help="abort after this many s")
    p.add_argument("--check", action="store_true", help="exit 4 if a target is missed")
    p.add_argument(
        "--profile", help="after measuring, cProfile netmon polls and write pstats data here"
    )
    p.add_argument("--snmpd", default="/usr/sbin/snmpd")
    p.add_argument("--exporter", default="/usr/bin/prometheus-snmp-exporter")
    p.add_argument("--inner-result", help=argparse.SUPPRESS)
    p.add_argument("--inner-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.polls < 1 or args.batches < 1 or args.interfaces < 1:
        p.error("--polls, --batches and --interfaces must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    only = args.only or sorted(ONLY_CHOICES)
    tools = [t for t in TOOLS if t in {ONLY_CHOICES[o] for o in only}]
    if args.inner_result:
        return inner_main(args, tools)
    return outer_main(args)


if __name__ == "__main__":
    sys.exit(main())
