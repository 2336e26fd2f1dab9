"""When throughput checks run: once per period each, at a moment of their own, never
just because netmon started (a province's checks must not download all at once)."""

from __future__ import annotations

import itertools
from collections import Counter

from collectors.service.params import ThroughputProbe
from collectors.service.probes.outcome import Outcome
from collectors.service.schedule import Run, Schedule

HOUR = 3600.0
T0 = 1_790_000_000.0  # any wall-clock time


def check(name: str = "speed", every: float = HOUR) -> ThroughputProbe:
    return ThroughputProbe(name, "http://10.0.0.5/4M.bin", 4 << 20, every, None, True, 30.0)


def runs(schedule: Schedule, key: str, c: ThroughputProbe, polls: list[float]) -> list[float]:
    return [t for t in polls if schedule.due(key, c, t)]


def test_nothing_at_the_first_poll_then_once_per_period() -> None:
    schedule, c = Schedule(), check()
    polls = [T0 + 60 * i for i in range(4 * 60 + 1)]  # a poll a minute for four hours
    ran = runs(schedule, "desa-1/fs-1/service", c, polls)
    assert T0 not in ran
    assert len(ran) in (3, 4)  # the first comes at its own moment, within the first hour
    assert ran[0] - T0 <= HOUR
    gaps = [b - a for a, b in itertools.pairwise(ran)]
    assert gaps == [HOUR] * len(gaps)


def test_a_poll_interval_longer_than_every_runs_at_every_poll() -> None:
    schedule, c = Schedule(), check(every=60)
    polls = [T0 + 300 * i for i in range(6)]
    assert runs(schedule, "k", c, polls) == polls[1:]


def test_checks_of_a_province_spread_over_the_period() -> None:
    """1,000 village file servers on one schedule: their first runs fall all over the
    hour (uniform would put ~17 in each minute), not in a burst."""
    schedule, c = Schedule(), check()
    polls = [T0 + 60 * i for i in range(61)]
    firsts = []
    for n in range(1000):
        key = f"desa-{n:04d}/fs-{n:04d}/service"
        firsts.append(runs(schedule, key, c, polls)[0])
    per_minute = Counter(int((t - T0) // 60) for t in firsts)
    assert len(per_minute) >= 55
    assert max(per_minute.values()) <= 45


def test_a_new_every_starts_over_and_forgotten_checks_go() -> None:
    schedule = Schedule()
    c = check()
    polls = [T0 + 60 * i for i in range(62)]
    assert runs(schedule, "k", c, polls)
    changed = check(every=2 * HOUR)
    assert not schedule.due("k", changed, polls[-1])  # seen anew: waits for its moment
    schedule.ran("k", "speed", Run(Outcome(received=1, window=1.0), 1.0, T0))
    schedule.ran("k", "old", Run(Outcome(received=1, window=1.0), 1.0, T0))
    schedule.keep("k", {"speed"})
    assert schedule.last("k", "old") is None
    assert schedule.last("k", "speed") is not None
    schedule.forget("k")
    assert schedule.last("k", "speed") is None
    assert not schedule.due("k", c, polls[-1] + HOUR)  # forgotten: first sight again
