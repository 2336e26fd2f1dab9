"""Reloads (issue 10, item 8): a job is its settings, a removed target stays removed, a
reload is applied whole or not at all, and every failure is one counted, logged line."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon.api import TargetRef
from netmon.daemon import Daemon
from netmon.tools.simulate import free_udp_port
from tests.fake_poller import FakePoller, running_daemon
from tests.helpers import async_wait_for, values, write_config

DEVICES = {"rtr-a": ("public", ["system"]), "rtr-b": ("public", ["system"])}
KEY_A, KEY_B = "snmp:site-rtr-a/rtr-a", "snmp:site-rtr-b/rtr-b"


def metric(daemon: Daemon, name: str, **labels: str) -> list[float]:
    return values(daemon.exposition().decode(), name, **labels)


async def test_a_reload_that_changes_nothing_cancels_no_poll_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, release = asyncio.Event(), asyncio.Event()
    cancelled: list[str] = []

    async def slow(target: TargetRef) -> None:
        inside.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.append(target.device)
            raise

    poller = FakePoller({"rtr-a": slow})
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    async with running_daemon(config, poller, monkeypatch) as (daemon, logs):
        assert daemon.poll_now(KEY_A)
        await asyncio.wait_for(inside.wait(), 5)
        assert await daemon.reload() == (True, [])
        release.set()

        async def applied() -> bool:
            return daemon.store.entries()[KEY_A].polls == 1 or bool(cancelled)

        await async_wait_for(applied, 5, "the poll in flight to finish")
        assert cancelled == []
        reloaded = [e for e in logs.events() if e["event"] == "config reloaded"]
        assert (reloaded[0]["started"], reloaded[0]["stopped"]) == (0, 0)
        assert 0 < reloaded[0]["load_s"] < 30  # the load's own time, said in the line


async def test_a_removed_target_does_not_come_back_from_a_poll_that_swallowed_its_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, release = asyncio.Event(), asyncio.Event()
    swallowed: list[int] = []

    async def stubborn(_target: TargetRef) -> None:
        inside.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:  # a library on 3.11 can eat a cancel
                swallowed.append(1)

    poller = FakePoller({"rtr-b": stubborn})
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    async with running_daemon(config, poller, monkeypatch) as (daemon, _):
        assert daemon.poll_now(KEY_B)
        await asyncio.wait_for(inside.wait(), 5)
        write_config(tmp_path, 161, {"rtr-a": DEVICES["rtr-a"]}, interval="1h")
        reload = asyncio.create_task(daemon.reload())

        async def cancel_seen() -> bool:
            return bool(swallowed)

        await async_wait_for(cancel_seen, 5, "the reload's cancel reaching the poll")
        release.set()
        assert await asyncio.wait_for(reload, 10) == (True, [])

        async def returned() -> bool:
            return "rtr-b" in poller.returned

        await async_wait_for(returned, 5, "the stubborn poll to return")
        assert KEY_B not in daemon.store.entries()
        assert metric(daemon, "netmon_device_uptime_seconds", device="rtr-b") == []


def deep_nesting(root: Path) -> str:
    (root / "sites" / "deep.yaml").write_text("kabupaten: K\nsites: " + "[" * 3000 + "]" * 3000)
    return "sites/deep.yaml"


def alias_into_itself(root: Path) -> str:
    (root / "sites" / "alias.yaml").write_text("kabupaten: K\nsites: &loop [*loop]\n")
    return "sites/alias.yaml"


def latin1_secret(root: Path) -> str:
    (root / "secrets" / "rtr-a").write_bytes("rahasia-désa\n".encode("latin-1"))
    return "secrets/rtr-a"


@pytest.mark.parametrize("spoil", [deep_nesting, alias_into_itself, latin1_secret])
async def test_a_hostile_file_is_one_counted_logged_failure_that_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: object
) -> None:
    """RecursionError and UnicodeDecodeError escaped the reload ("Task exception was never
    retrieved", a 3,000-line traceback, not counted)."""
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    async with running_daemon(config, FakePoller(), monkeypatch) as (daemon, logs):
        write_config(tmp_path, 161, {"rtr-a": DEVICES["rtr-a"]}, interval="1h")
        assert callable(spoil)
        named = spoil(tmp_path)
        ok, lines = await daemon.reload()
        assert not ok
        assert any(named in line for line in lines), lines
        assert metric(daemon, "netmon_config_reloads_total", result="failure") == [1.0]
        assert metric(daemon, "netmon_config_reloads_total", result="success") == [1.0]
        assert daemon.store.keys() == {KEY_A, KEY_B}  # the old config runs on
        errors = [e for e in logs.events() if e["level"] == "error"]
        assert len(errors) == 1, errors
        assert named in errors[0]["error"] or named in str(errors[0])
        assert "Traceback" not in logs.getvalue()


def with_traps(config: Path, port: int) -> None:
    main = yaml.safe_load(config.read_text())
    main["traps"] = {"listen": f"127.0.0.1:{port}", "communities": [{"file": "secrets/rtr-a"}]}
    config.write_text(yaml.safe_dump(main))


def claimed(port: int) -> bool:
    """Whether something holds this UDP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


async def test_a_reload_whose_trap_port_is_taken_leaves_the_old_config_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_port, new_port = free_udp_port(), free_udp_port()
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    with_traps(config, old_port)
    async with running_daemon(config, FakePoller(), monkeypatch) as (daemon, logs):
        assert claimed(old_port)
        before = daemon.config
        write_config(tmp_path, 161, {"rtr-a": DEVICES["rtr-a"]}, interval="1h")
        with_traps(config, new_port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", new_port))
            ok, lines = await daemon.reload()
        assert not ok
        assert len(lines) == 1
        assert f"127.0.0.1:{new_port}" in lines[0]
        assert "in use" in lines[0]
        assert daemon.config is before
        assert daemon.store.keys() == {KEY_A, KEY_B}  # rtr-b was not removed
        assert claimed(old_port)  # the receiver still listens where it did
        assert metric(daemon, "netmon_config_reloads_total", result="failure") == [1.0]
        errors = [e for e in logs.events() if e["level"] == "error"]
        assert len(errors) == 1
        # the port is free again: the same reload now goes through, and moves the receiver
        assert await daemon.reload() == (True, [])
        assert daemon.store.keys() == {KEY_A}
        assert claimed(new_port)
        assert not claimed(old_port)


async def test_a_reload_that_keeps_the_trap_port_keeps_listening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new receiver on the same port cannot bind it again: it takes over the socket."""
    port = free_udp_port()
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    with_traps(config, port)
    async with running_daemon(config, FakePoller(), monkeypatch) as (daemon, _):
        receiver = daemon.streams["traps"]
        engine = getattr(receiver, "engine", None)
        main = yaml.safe_load(config.read_text())
        main["traps"]["communities"].append({"file": "secrets/rtr-b"})
        config.write_text(yaml.safe_dump(main))
        assert await daemon.reload() == (True, [])
        assert getattr(receiver, "engine", None) is not engine  # rebuilt with both
        assert claimed(port)
    assert not claimed(port)  # and stop() lets it go


def test_an_alias_bomb_is_refused_quickly_at_its_line(tmp_path: Path) -> None:
    """Nine levels of nine aliases would expand to 387 million values and hold a reload
    for a quarter of an hour; it is refused at the limit, naming the file."""
    from netmon.config.yamlmarks import MAX_ALIAS_VALUES, ConfigErrors, load_marked

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    with pytest.raises(ConfigErrors, match=rf"bomb.yaml:\d+:\d+: .*more than {MAX_ALIAS_VALUES}"):
        load_marked(bomb)
    assert time.monotonic() - started < 10


def test_an_alias_into_itself_is_named_at_its_line(tmp_path: Path) -> None:
    from netmon.config.yamlmarks import ConfigErrors, load_marked

    loop = tmp_path / "loop.yaml"
    loop.write_text("sites:\n  - &me\n    id: a\n    children: [*me]\n")
    with pytest.raises(ConfigErrors, match=r"loop.yaml:\d+:\d+: .*contains it"):
        load_marked(loop)


async def test_site_series_a_reload_leaves_for_later_are_current_in_any_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a reload the sites' series are re-rendered a step a turn; the status loop
    catches up by itself, and a scrape's answer before it has them current."""
    from netmon.metrics_answer import Variant
    from netmon.status import loop as status_loop
    from netmon.tasks import Pace

    monkeypatch.setattr(status_loop, "Pace", lambda: Pace(0.0))  # a site a step
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    sites = tmp_path / "sites" / "test.yaml"
    async with running_daemon(config, FakePoller({}), monkeypatch) as (daemon, _):
        sites.write_text(sites.read_text().replace("name: Site rtr-b", "name: Desa Baru"))
        assert await daemon.reload() == (True, [])
        assert daemon.status_loop._stale  # left for later: what this test is about
        ready = await daemon.answers.get(Variant())
        answer = b"".join(ready.parts(False, b"")).decode()
        assert 'name="Desa Baru"' in answer
        assert 'name="Site rtr-b"' not in answer
        sites.write_text(sites.read_text().replace("name: Desa Baru", "name: Desa Lama"))
        assert await daemon.reload() == (True, [])

        async def caught_up() -> bool:
            return not daemon.status_loop._stale

        await async_wait_for(caught_up, 5, "the status loop re-rendering every site")
        shown = "".join(t for f in daemon.status_loop.families for t in f.values())
        assert 'name="Desa Lama"' in shown


async def test_a_reload_gives_new_and_changed_targets_their_entries_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    poller = FakePoller({})
    config = write_config(tmp_path, 161, {"rtr-a": DEVICES["rtr-a"]}, interval="1h")
    async with running_daemon(config, poller, monkeypatch) as (daemon, _):
        kept = daemon.store.entries()[KEY_A]
        write_config(tmp_path, 161, DEVICES, interval="1h")  # rtr-b is new
        assert await daemon.reload() == (True, [])
        entries = daemon.store.entries()
        assert entries[KEY_A] is kept  # unchanged settings: the same entry, state and all
        assert entries[KEY_B].interval == 3600.0
        write_config(tmp_path, 161, DEVICES, interval="30m")  # both changed
        assert await daemon.reload() == (True, [])
        entries = daemon.store.entries()
        assert (entries[KEY_A].interval, entries[KEY_B].interval) == (1800.0, 1800.0)
        write_config(tmp_path, 161, {"rtr-b": DEVICES["rtr-b"]}, interval="30m")
        assert await daemon.reload() == (True, [])
        assert set(daemon.store.entries()) == {KEY_B}


@pytest.mark.parametrize("fails", [False, True])
async def test_a_reload_builds_its_jobs_without_collections_and_leaves_the_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    import gc

    poller = FakePoller({})
    config = write_config(tmp_path, 161, DEVICES, interval="1h")
    async with running_daemon(config, poller, monkeypatch) as (daemon, _):
        seen: list[bool] = []
        prepare = daemon._prepare

        def watched(loaded: Any, pace: Any) -> Any:
            seen.append(gc.isenabled())
            if fails:
                raise RuntimeError("a bug in the preparation")
            return prepare(loaded, pace)

        monkeypatch.setattr(daemon, "_prepare", watched)
        assert gc.isenabled()
        ok, errors = await daemon.reload()
        assert ok is not fails
        assert seen == [False]
        assert gc.isenabled()
        if fails:
            assert "a bug in the preparation" in errors[0]
