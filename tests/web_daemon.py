"""`netmon run` as a process for the HTTP-side tests: its flags, its log, its port."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netmon.tools.simulate import free_tcp_port, stop_process
from tests.helpers import ROOT, wait_for, write_config


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"netmon exited {self.process.returncode}:\n{self.log}")
        return any(e.get("event") == "listening" for e in self.events())


def empty_config(root: Path) -> Path:
    """A netmon.yaml with no devices: these tests are about the HTTP port only."""
    return write_config(root, 1, {}, interval="60s")


@contextlib.contextmanager
def netmon_run(root: Path, *flags: str) -> Iterator[Daemon]:
    """`netmon run` with ``flags`` on a free loopback port, until it says it listens."""
    config = empty_config(root / "config")
    with netmon_process(config, *flags, log_file=root / "netmon.log") as daemon:
        yield daemon


@contextlib.contextmanager
def netmon_process(config: Path, *flags: str, log_file: Path) -> Iterator[Daemon]:
    """`netmon run -c config` with ``flags`` on a free loopback port, its output in
    ``log_file``, until it says it listens; stopped afterwards."""
    port = free_tcp_port()
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "netmon", "--log-format", "json", "run"),
                *("-c", str(config), "--listen", f"127.0.0.1:{port}", *flags),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    daemon = Daemon(process, port, log_file)
    try:
        wait_for(daemon.listening, 30, "netmon listening")
        yield daemon
    finally:
        stop_process(process)


def start_fails(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`netmon run` with ``flags`` that must not start: its exit and output."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "netmon", "--log-format", "json", "run"),
            *("-c", str(empty_config(root / "config")), "--listen", f"127.0.0.1:{free_tcp_port()}"),
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
