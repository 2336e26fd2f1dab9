"""Processes of a scale run: started pinned to a core, read from /proc, always stopped."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import types
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class Stopped(Exception):
    """SIGTERM, SIGINT or the time limit: the run ends, its processes are stopped."""


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads (children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


@dataclass
class Procs:
    """The run's child processes; ``stop_all`` ends them (TERM, then KILL), newest first.
    Every instance is also in :data:`EVERY`, for :func:`stop_everything` on the way out."""

    logs: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        EVERY.append(self)

    def start(self, name: str, cmd: Sequence[str], cpu: int | None) -> subprocess.Popen[bytes]:
        """``cmd`` under ``taskset -c cpu`` (when given and there), output to logs/name.log."""
        if cpu is not None and shutil.which("taskset") and cpu < (os.cpu_count() or 1):
            cmd = ["taskset", "-c", str(cpu), *cmd]
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process in self.started:
            self.started.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.started)):
            self.stop(process)


EVERY: list[Procs] = []


def stop_everything() -> None:
    """Whatever any :class:`Procs` started and is still running (errors, signals)."""
    for procs in reversed(EVERY):
        procs.stop_all()


async def wait_until(
    what: str, check: Callable[[], Awaitable[bool]], within: float, every: float = 0.5
) -> None:
    """Await ``check()`` until it is true; :class:`TimeoutError` naming ``what`` after
    ``within`` seconds. ``every``: not faster, a check can be a big JSON answer."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {within:.0f}s waiting for {what}")
        await asyncio.sleep(every)


def bounded(seconds: float) -> None:
    """SIGTERM/SIGINT and a SIGALRM after ``seconds`` raise :class:`Stopped`."""

    def handler(signum: int, frame: types.FrameType | None) -> None:
        raise Stopped(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, handler)
    signal.alarm(max(1, int(seconds)))


def pin_self(cpu: int) -> None:
    """Keep the harness (HTTP clients, /proc reads) off netmon's core."""
    if cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})
