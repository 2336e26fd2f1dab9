"""Simulated SNMP agents: snmpsim serving the real recordings.

Used by `netmon demo` and by the integration tests, so both run the same
real agent. snmpsim refuses to run as root unless it can drop to an
unprivileged user; it then needs a world-readable Python, data folder and a
writable cache (see shared/testdata/README.md for the pitfalls).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import cast

RECORDINGS_ENV = "NETMON_RECORDINGS"


#: the signals the demo unwinds on (its handlers raise)
HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held off while a child is spawned: the demo's handlers
    raise, and one run between the child's exec and Popen's return left the child running
    with nothing holding it (a fresh-clone CI run: snmpsim still up after a hangup).
    Meanwhile they are only noted; at the end of the block the handlers are back and each
    noted signal is raised again, where the caller's cleanup sees the process. (Blocking
    them would not do: a signal to the process goes to any thread not blocking it.)
    Outside the main thread, where handlers cannot be set, nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        noted.append(signum)

    before = {sig: signal.signal(sig, note) for sig in HELD}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(noted):
            signal.raise_signal(signum)


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """SIGTERM, ``grace`` seconds to exit, then SIGKILL; never waits unbounded."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def interrupt_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """Stop a process that leads its own process group as Ctrl-C does (SIGINT, ``grace``
    seconds to stop what it started), then SIGKILL whatever is left of the group."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def poll_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until true or the deadline: readiness checks, never a fixed wait."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tcp_accepts(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (a connection is accepted)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def recordings_dir() -> Path:
    """Where the .snmprec files are: $NETMON_RECORDINGS, else ../shared/testdata/snmprec."""
    env = os.environ.get(RECORDINGS_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[3]  # the repository
    for candidate in (here.parent / "shared/testdata/snmprec", here / "tests/data/snmprec"):
        if candidate.is_dir():
            return candidate
    msg = f"no SNMP recordings found; set {RECORDINGS_ENV}"
    raise FileNotFoundError(msg)


def _responder() -> Path:
    exe = Path(sys.executable).parent / "snmpsim-command-responder"
    if not exe.exists():
        found = shutil.which("snmpsim-command-responder")
        if not found:
            msg = "snmpsim is not installed (pip install snmpsim pysmi)"
            raise FileNotFoundError(msg)
        exe = Path(found)
    return exe


@dataclass
class SnmpSim:
    """A running snmpsim; each recording is a community (its file name without .snmprec)."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> str:
        return (self.workdir / "snmpsim.log").read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SnmpSim:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _answers(port: int, communities: list[str], deadline: float, alive: Callable[[], bool]) -> bool:
    """Ready means a real answer for every community, not the log line.

    snmpsim logs "Listening" a moment before its socket answers, and builds a
    recording's index on the first request to it: probing each one also warms
    the indexes, so the first real poll does not time out.
    """
    from gufo.snmp import SnmpError
    from gufo.snmp.sync import SnmpSession

    for community in communities:
        while True:
            try:
                SnmpSession("127.0.0.1", port, community=community, timeout=2).get(
                    "1.3.6.1.2.1.1.2.0"
                )
                break
            except SnmpError:
                break  # an answer, even "no such object", means it is serving
            except (TimeoutError, OSError):
                if time.monotonic() > deadline or not alive():
                    return False  # a dead snmpsim says why in its log: the caller reads it
                time.sleep(0.05)
    return True


def start_snmpsim(
    files: Iterable[Path] | None = None,
    port: int | None = None,
    extra: dict[str, str] | None = None,
    timeout: float = 60.0,
    quiet: bool = False,
) -> SnmpSim:
    """Start snmpsim on 127.0.0.1 with copies of the recordings; wait until it listens.

    ``extra`` adds recordings by community name -> file text (tests use it for
    hostile agents). ``quiet`` logs errors only: at its default level snmpsim
    writes every request and answer to its log, which halves what it can serve.
    """
    port = port or free_udp_port()
    workdir = Path(tempfile.mkdtemp(prefix="netmon-snmpsim-"))
    data, cache = workdir / "data", workdir / "cache"
    data.mkdir()
    cache.mkdir()
    for path in files if files is not None else sorted(recordings_dir().glob("*.snmprec")):
        shutil.copy(path, data / path.name)
    for name, text in (extra or {}).items():
        (data / f"{name}.snmprec").write_text(text)
    communities = [p.stem for p in data.glob("*.snmprec")]
    # snmpsim drops to nobody when started as root: it must read the data, write the cache
    os.chmod(workdir, 0o755)  # noqa: S103
    for path in (data, *data.iterdir()):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(cache, 0o1777)  # noqa: S103
    cmd = [
        str(_responder()),
        f"--data-dir={data}",
        f"--cache-dir={cache}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
    ]
    if quiet:
        cmd.append("--log-level=error")
    if os.geteuid() == 0:
        cmd += ["--process-user=nobody", "--process-group=nogroup"]
    sim: SnmpSim | None = None
    try:
        with signals_held(), (workdir / "snmpsim.log").open("wb") as logfile:
            process = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, cwd=workdir)
            sim = SnmpSim(port, workdir, process)
        deadline = time.monotonic() + timeout

        def alive() -> bool:
            return process.poll() is None

        while time.monotonic() < deadline:
            if process.poll() is not None:
                msg = f"snmpsim exited with {process.returncode}:\n{sim.log[-2000:]}"
                raise RuntimeError(msg)
            if (quiet or "Listening at" in sim.log) and _answers(
                port, communities, deadline, alive
            ):
                return sim
            time.sleep(0.05)  # polling for readiness, bounded by the deadline
        msg = f"snmpsim did not start within {timeout}s"
        raise TimeoutError(msg)
    except BaseException:  # Ctrl-C while waiting too: no process or folder left behind
        if sim is not None:
            sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise


class UdpRelay(asyncio.DatagramProtocol):
    """Forwards UDP to an agent; ``fate(n)`` decides per request: send, drop, late, garbage.

    The demo puts a village's devices behind one and cuts it when the village's
    battery runs flat; the tests use it for faults no real agent produces on demand.
    """

    def __init__(self, agent_port: int, fate: Callable[[int], str]) -> None:
        self.agent = ("127.0.0.1", agent_port)
        self.fate = fate
        self.requests = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        #: (old, new): requests carry ``new`` instead of ``old``, answers the reverse; the
        #: demo moves a device to another recording this way (same length: no re-encoding)
        self.swap: tuple[bytes, bytes] | None = None
        #: while set, every request is dropped (the demo's fibre cut or flat battery)
        self.dark = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the selector UDP transport is not an instance of the DatagramTransport ABC
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        if self.dark:
            return
        fate = self.fate(self.requests)
        if self.swap is not None:
            data = data.replace(self.swap[0], self.swap[1], 1)
        if fate == "drop":
            return
        if fate == "garbage":
            assert self.transport is not None
            self.transport.sendto(os.urandom(64), addr)
            return
        task = asyncio.create_task(self._forward(data, addr, 0.4 if fate == "late" else 0.0))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _forward(self, data: bytes, client: tuple[str, int], delay: float) -> None:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[bytes] = loop.create_future()

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if not reply.done():
                    reply.set_result(data)

        transport, _ = await loop.create_datagram_endpoint(Back, remote_addr=self.agent)
        try:
            transport.sendto(data)
            answer = await asyncio.wait_for(reply, 5)
            if delay:
                await asyncio.sleep(delay)  # the fault itself: an answer that arrives late
            if self.swap is not None:
                answer = answer.replace(self.swap[1], self.swap[0], 1)
            assert self.transport is not None
            self.transport.sendto(answer, client)
        finally:
            transport.close()


async def relay(
    agent_port: int, fate: Callable[[int], str], host: str = "127.0.0.1", port: int | None = None
) -> tuple[UdpRelay, int]:
    """A relay on ``host`` (any loopback address) in front of an agent on 127.0.0.1."""
    loop = asyncio.get_running_loop()
    port = port or free_udp_port()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: UdpRelay(agent_port, fate), local_addr=(host, port)
    )
    return protocol, port
