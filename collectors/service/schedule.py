"""When a device's throughput checks run, and what the last run found.

A throughput check downloads a file: it runs once per ``every``, not at every poll. Each
check has its own moment within the period (a phase from a hash of the target and the
check's name), so a province's checks do not all download at once, neither every hour
nor when netmon starts: a check first runs at the first poll after its moment comes
round, at most ``every`` after netmon started. Between runs its last result stands.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from collectors.service.params import ThroughputProbe
from collectors.service.probes.outcome import Outcome


@dataclass(frozen=True, slots=True)
class Run:
    """The last run of a throughput check: its outcome, how long it took, when it ended."""

    outcome: Outcome
    took: float
    ended: float


@dataclass(slots=True)
class _Slot:
    every: float
    slot: int


class Schedule:
    """Per target key and check name: the period slot last run in, and the last run."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._runs: dict[tuple[str, str], Run] = {}

    @staticmethod
    def slot(key: str, check: ThroughputProbe, now: float) -> int:
        """The period ``now`` falls in, periods starting at the check's own phase."""
        phase = zlib.crc32(f"{key}\0{check.name}".encode()) / 2**32 * check.every
        return math.floor((now - phase) / check.every)

    def due(self, key: str, check: ThroughputProbe, now: float) -> bool:
        """Whether the check runs at this poll: a new period has begun since it last ran
        (or since it was first seen: netmon's start is no reason to download)."""
        slot = self.slot(key, check, now)
        known = self._slots.get((key, check.name))
        if known is None or known.every != check.every:
            self._slots[(key, check.name)] = _Slot(check.every, slot)
            return False
        if slot <= known.slot:
            return False
        known.slot = slot
        return True

    def ran(self, key: str, name: str, run: Run) -> None:
        self._runs[(key, name)] = run

    def last(self, key: str, name: str) -> Run | None:
        return self._runs.get((key, name))

    def keep(self, key: str, names: set[str]) -> None:
        """Forget the checks of ``key`` not in ``names`` (renamed or removed)."""
        for table in (self._slots, self._runs):
            for k in [k for k in table if k[0] == key and k[1] not in names]:
                del table[k]

    def forget(self, key: str) -> None:
        self.keep(key, set())
