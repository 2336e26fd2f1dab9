"""The outage journal in the daemon: a site that goes down and comes back leaves exactly
one record, with the times and the cause the status showed, and a restart keeps it.
The daemon also exports the contracts of the contract files."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from netmon.status import journal
from tests.harness import Running, start
from tests.helpers import async_wait_for, values
from tests.service_servers import write_camera_config

SITE = "pasar-sangatta"
CONTRACT = """\
contracts:
  - id: tlk-pasar-2026
    isp: Telkom Indonesia
    title: CCTV pasar
    start: 2026-01-01
    end: 2030-12-31
    measured_at: cpe
    bandwidth_mbps: 20
    sites: [pasar-sangatta]
"""


class Port:
    """A loopback port that stays ours: listening (the check connects) or bound only
    (a connect is refused), switched by closing one socket and binding the next."""

    def __init__(self) -> None:
        self.sock = self._bound(0)
        self.port: int = self.sock.getsockname()[1]
        self.sock.listen(128)  # never accepted: a few polls' connects fit the queue

    @staticmethod
    def _bound(port: int) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    def refuse(self) -> None:
        self.sock.close()
        self.sock = self._bound(self.port)

    def listen(self) -> None:
        self.sock.close()
        self.sock = self._bound(self.port)
        self.sock.listen(128)


@contextlib.contextmanager
def port() -> Iterator[Port]:
    p = Port()
    try:
        yield p
    finally:
        p.sock.close()


def status(running: Running) -> tuple[str, str]:
    engine = running.daemon.status
    assert engine is not None
    state = engine.published[SITE]
    return state.status, state.cause


async def test_an_outage_is_journaled_once_when_it_closes_and_a_restart_keeps_it(
    tmp_path: Path,
) -> None:
    with port() as tcp:
        config = write_camera_config(
            tmp_path,
            f"            - {{name: web, kind: tcp, port: {tcp.port}}}\n",
            address="127.0.0.1",
            main="defaults: {interval: 1s, deadline: 1s}\n"
            "status: {hold: 0s, interval: 200ms, state_file: state/sites.json}\n",
            timeout="500ms",
        )
        (tmp_path / "contracts").mkdir()
        (tmp_path / "contracts" / "telkom.yaml").write_text(CONTRACT)
        path = tmp_path / "state" / "outages.jsonl"  # the default: beside the state file

        async with start(config) as running:

            async def site_is(wanted: str) -> bool:
                return status(running)[0] == wanted

            await async_wait_for(lambda: site_is("up"), 10, "the site up")
            _, text = await running.get("/metrics")
            info = values(text, "netmon_contract_info", contract="tlk-pasar-2026", site=SITE)
            assert info == [1.0]
            assert values(text, "netmon_contract_info", isp="Telkom Indonesia", measured_at="cpe")
            # 20 Mbit/s is 2.5 MB/s
            assert values(text, "netmon_contract_bandwidth_bytes", site=SITE) == [2_500_000.0]

            before_down = time.time()
            tcp.refuse()
            await async_wait_for(lambda: site_is("down"), 10, "the site down")
            seen_down = time.time()
            cause = status(running)[1]
            assert cause == "device"  # its only device's check is refused
            assert not path.exists()  # an open outage is not in the journal

            before_up = time.time()
            tcp.listen()
            await async_wait_for(lambda: site_is("up"), 10, "the site up again")
            seen_up = time.time()

            async def journaled() -> bool:
                return path.exists() and bool(path.read_text())

            await async_wait_for(journaled, 5, "the outage in the journal")

        lines = path.read_text().splitlines()
        assert len(lines) == 1
        record = json.loads(lines[0])
        assert (record["site"], record["root"], record["cause"], record["state"]) == (
            SITE,
            SITE,
            cause,
            "down",
        )
        assert (record["maintenance"], record["power_cut"], record["stale"]) == (
            False,
            False,
            False,
        )
        # the failing poll may have started just before the switch (0.5 s: half an interval)
        assert before_down - 0.5 <= record["start"] <= seen_down
        assert before_up <= record["end"] <= seen_up

        async with start(config) as running:
            await async_wait_for(lambda: site_is_up(running), 10, "the site up after restart")
            assert journal.read(path, 0, 2e9) == [journal.Outage.parse(record)]
        assert path.read_text().splitlines() == lines


async def site_is_up(running: Running) -> bool:
    return status(running)[0] == "up"
