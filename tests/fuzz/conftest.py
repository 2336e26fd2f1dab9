"""The trap receiver and the HTTP app live across a module's examples (pysnmp and a
daemon are slow to build); close them when the session ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz import http_target, trap_target


@pytest.fixture(scope="session", autouse=True)
def _close_shared() -> Iterator[None]:
    yield
    if trap_target._receiver is not None:
        trap_target._receiver.close()
        trap_target._receiver = None
    if http_target._app is not None:
        http_target._app.close()
        http_target._app = None
