"""A fault inside a poll is that poll's error, for any collector (issue 10, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.api import TargetRef
from tests.fake_poller import FakePoller, running_daemon
from tests.helpers import async_wait_for, values, write_config


class PanicException(BaseException):  # pyo3 names it so; netmon reads the name
    """What pyo3 raises for a Rust panic (gufo-snmp's decoder on garbage)."""


async def test_a_decoder_panic_is_the_polls_decode_error_and_polling_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panic passed the collector's and the scheduler's `except Exception`; the poll
    loop died silently and the device was never polled again."""
    panics: list[int] = []

    async def garbage_once(_target: TargetRef) -> None:
        if not panics:
            panics.append(1)
            raise PanicException("called `Result::unwrap()` on an `Err` value")

    poller = FakePoller({"radio": garbage_once})
    config = write_config(tmp_path, 161, {"radio": ("public", ["system"])}, interval="1h")
    key = "snmp:site-radio/radio"
    async with running_daemon(config, poller, monkeypatch) as (daemon, logs):
        assert daemon.poll_now(key)

        async def failed() -> bool:
            return daemon.store.entries()[key].polls == 1

        await async_wait_for(failed, 5, "the panicking poll counted")
        text = daemon.exposition().decode()
        assert values(text, "netmon_poll_errors_total", device="radio", reason="decode") == [1.0]
        assert values(text, "netmon_target_up", device="radio") == [0.0]
        assert values(text, "netmon_scheduler_crashed_polls_total") == [1.0]
        assert daemon.poll_now(key)  # the loop is alive: it answers the next request

        async def recovered() -> bool:
            return daemon.store.entries()[key].polls == 2

        await async_wait_for(recovered, 5, "the next poll after the panic")
        assert values(daemon.exposition().decode(), "netmon_target_up", device="radio") == [1.0]
        logged = [e for e in logs.events() if e["level"] == "error"]
        assert len(logged) == 1
        assert "PanicException" in logged[0]["error"]
        assert "Traceback" not in logs.getvalue()
