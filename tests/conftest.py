"""Fixtures that start real agents: snmpsim with the recordings, net-snmp snmpd, the demo."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from netmon.tools.simulate import SnmpSim, free_udp_port, recordings_dir, start_snmpsim
from tests.demo_harness import DemoStack, session_demo

#: a community that must never show up in logs, metrics, /api output or errors
SECRET_COMMUNITY = "s3cr3t-Zq9xK"


@pytest.fixture(scope="session")
def snmpsim() -> Iterator[SnmpSim]:
    """One snmpsim for the session; community = recording name, plus the MikroTik
    recording again under SECRET_COMMUNITY for leak checks."""
    routeros = (recordings_dir() / "routeros.snmprec").read_text()
    with start_snmpsim(extra={SECRET_COMMUNITY: routeros}) as sim:
        yield sim


@pytest.fixture(scope="session")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    """`netmon demo` with Prometheus and Alertmanager, shared by the tests that need it:
    attributes netmon, prometheus, alertmanager (base URLs) and plan (the incidents).

    Its script plays once (the fibre is cut 24 s after the start and spliced at 100 s),
    so the tests that watch an incident live (test_demo.py) must come first; the
    dashboard queries (test_demo_dashboards.py, sorted after it) want the history."""
    with session_demo(tmp_path_factory.mktemp("demo")) as stack:
        yield stack


@pytest.fixture
def udp_port() -> int:
    return free_udp_port()


def need(binary: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if binary == "snmpd" else None)
    if path is None:
        pytest.fail(f"{binary} is not installed: run scripts/bootstrap.sh")
    return path
