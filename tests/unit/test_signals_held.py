"""Spawning a child with the hang-up and termination signals held off (the demo's
handlers raise: one run between the child's exec and Popen's return left the child
running with nothing holding it)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from netmon.tools.simulate import signals_held


class _HungUp(Exception):
    pass


@pytest.fixture
def raising_hangup() -> Iterator[None]:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise _HungUp

    before = signal.signal(signal.SIGHUP, handler)
    yield
    signal.signal(signal.SIGHUP, before)


def _spawn_hung_up(children: list[subprocess.Popen[bytes]]) -> None:
    with signals_held():
        os.kill(os.getpid(), signal.SIGHUP)  # arrives "during" the spawn
        children.append(subprocess.Popen(["sleep", "30"]))
        # the handler has not run yet: the child is known to the caller


def test_a_hangup_while_spawning_arrives_after_the_child_is_held(raising_hangup: None) -> None:
    """With another thread alive too (a signal to the process may go to any thread)."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, args=(30,))
    other.start()
    children: list[subprocess.Popen[bytes]] = []
    try:
        with pytest.raises(_HungUp):
            _spawn_hung_up(children)
        assert len(children) == 1
        assert children[0].poll() is None  # the child runs, with its default handlers
        with pytest.raises(_HungUp):  # and the handler is back for later signals
            signal.raise_signal(signal.SIGHUP)
    finally:
        stop.set()
        other.join(10)
        for child in children:
            child.kill()
            child.wait(10)
