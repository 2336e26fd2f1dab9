"""A real net-snmp snmpd on a free loopback port, through gufo-snmp's Snmpd helper.

A port found free can be taken before snmpd binds it, and snmpd then exits at start
("snmpd is terminated prematurely", seen once in CI): a start that fails is tried again on
another port, three times in all, then the error stands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from gufo.snmp.snmpd import Snmpd

from netmon.tools.simulate import free_udp_port


@contextlib.contextmanager
def running_snmpd(**settings: Any) -> Iterator[int]:
    """snmpd with gufo's ``Snmpd`` ``settings`` (community, users, ...); yields its port."""
    for attempt in range(3):
        port = free_udp_port()
        agent = Snmpd(port=port, **settings)
        try:
            agent.__enter__()
        except RuntimeError:
            agent.__exit__(None, None, None)  # its config file and state folder
            if attempt == 2:
                raise
            continue
        try:
            yield port
        finally:
            agent.__exit__(None, None, None)
        return
