"""Test hosts in network namespaces the tests create themselves (ip netns + veth).

The only non-loopback addresses tests touch: a /30 between this machine and
a namespace made for the test, deleted afterwards.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_ids = itertools.count(1)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class NetnsHost:
    namespace: str
    address: str  # inside the namespace
    outer: str  # our end's interface name
    inner: str

    def cut(self) -> None:
        """The link to the host goes down (a fibre cut, a dead radio)."""
        ip("netns", "exec", self.namespace, "ip", "link", "set", self.inner, "down")

    def repair(self) -> None:
        ip("netns", "exec", self.namespace, "ip", "link", "set", self.inner, "up")


@contextmanager
def netns_host() -> Iterator[NetnsHost]:
    n = next(_ids)
    tag = f"{os.getpid() % 10000}{n}"
    namespace, outer, inner = f"netmon-t{tag}", f"nmo{tag}", f"nmi{tag}"
    octet = (os.getpid() + n) % 250 + 1
    ours, theirs = f"10.254.{octet}.1", f"10.254.{octet}.2"
    ip("netns", "add", namespace)
    try:
        ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", namespace)
        ip("addr", "add", f"{ours}/30", "dev", outer)
        ip("link", "set", outer, "up")
        ip("netns", "exec", namespace, "ip", "addr", "add", f"{theirs}/30", "dev", inner)
        ip("netns", "exec", namespace, "ip", "link", "set", inner, "up")
        ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        yield NetnsHost(namespace, theirs, outer, inner)
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
