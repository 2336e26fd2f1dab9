"""Counter and uptime rules: pure functions, table-tested (tests/unit/test_counters.py).

The province's links lose polls. What a device says between two good polls
is unknown, so every rule here decides from what is known: the last good
reading, the time since it, and what the line could have carried in that
time. snmp_exporter keeps the same kind of logic small and separate
(``pduToSamples``); so does netmon.

- **Reboot**: uptime went backwards (not a TimeTicks wrap), or it advanced
  less than the wall time since the last good reading by more than a slack.
  The second rule counts a reboot that happened while the device was
  unreachable, even when the outage outlasted the uptime it had before.
- **Counter32 went down**: after a reboot or a discontinuity it restarted from
  0. Otherwise it wrapped if the line could carry the wrap's delta in the
  time, and it was cleared if it could not. Where the line could have carried
  2^32 in that time, or its speed is unknown, the number of wraps is
  unknowable: the raw value is added as after a reset, and it is counted as
  ``ambiguous``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

COUNTER32_WRAP = 2**32
TICKS_WRAP = 2**32  # TimeTicks are hundredths of a second, unsigned 32-bit
#: extra room over speed x elapsed: requests within a poll are seconds apart
CAPACITY_MARGIN = 1.25
CAPACITY_SLACK_S = 5.0
#: the smallest Ethernet frame: a packet counter moves at most speed/64 per second
MIN_FRAME_BYTES = 64


class Reset(StrEnum):
    """Why a 32-bit running total took the raw value as a fresh start."""

    REBOOT = "reboot"
    DISCONTINUITY = "discontinuity"
    CLEARED = "cleared"
    AMBIGUOUS = "ambiguous"


def uptime_slack(interval: float, elapsed: float) -> float:
    """How much less than the wall time an uptime may advance without a reboot.

    Requests of one poll go out seconds apart (retries, other tables first),
    and device clocks drift; half an interval plus 5 % of the gap is room for
    both. A reboot is missed only when the device had been up less than this.
    """
    return 2.0 + 0.5 * interval + 0.05 * elapsed


def is_reboot(
    last: float | None,
    now_value: float,
    elapsed: float,
    interval: float,
    *,
    ticks: bool,
) -> bool:
    """Did the device reboot between a reading of ``last`` and ``now_value`` (both seconds)?

    ``elapsed`` is the wall time between the two readings; ``ticks`` says the
    source is TimeTicks, which wrap after 2^32 hundredths (497 days).
    Rebooted: the uptime went backwards, or it is shorter than the time since
    the last reading (the device booted after it: a reboot while it was
    unreachable, even one that outlasted its previous uptime). A frozen
    uptime (a recording, a stuck agent) is neither.
    """
    if last is None or now_value == last:
        return False  # a frozen uptime (a recording, a stuck agent) is no reboot
    slack = uptime_slack(interval, elapsed)
    wrap_s = TICKS_WRAP / 100.0
    near_wrap = ticks and last + elapsed + slack >= wrap_s
    if near_wrap and abs(now_value - (last + elapsed - wrap_s)) <= slack:
        return False  # the TimeTicks wrapped where they should have
    return now_value < last or now_value < elapsed - slack


def line_capacity(
    speed_bytes: float | None, elapsed: float, *, packets: bool = False
) -> float | None:
    """The most a counter could move in ``elapsed`` seconds on this line (None: unknown)."""
    if speed_bytes is None or speed_bytes <= 0 or elapsed < 0:
        return None
    per_second = speed_bytes / MIN_FRAME_BYTES if packets else speed_bytes
    return per_second * (elapsed * CAPACITY_MARGIN + CAPACITY_SLACK_S)


class Step(NamedTuple):
    """One reading of a Counter32 applied to its running total (a tuple: made per counter)."""

    total: int
    reset: Reset | None = None


def extend32(
    last_raw: int | None,
    total: int,
    raw: int,
    *,
    capacity: float | None,
    reboot: bool = False,
    discontinuity: bool = False,
) -> Step:
    """Add one reading to a running total that started at 0 when netmon first saw it."""
    if last_raw is None:
        return Step(total)
    if reboot:
        return Step(total + raw, Reset.REBOOT)
    if discontinuity:
        return Step(total + raw, Reset.DISCONTINUITY)
    if raw >= last_raw:
        return Step(total + raw - last_raw)
    wrap_delta = raw + COUNTER32_WRAP - last_raw
    if capacity is None or capacity >= COUNTER32_WRAP:
        return Step(total + raw, Reset.AMBIGUOUS)
    if wrap_delta <= capacity:
        return Step(total + wrap_delta)  # wrapped: no reset
    return Step(total + raw, Reset.CLEARED)


class Fake(StrEnum):
    """Why a 64-bit (HC) column is not trusted and its 32-bit twin is used."""

    STUCK = "hc_stuck"
    WRAPS_32 = "hc_wraps_32"


def fake_hc(
    last_hc: int | None,
    hc: int,
    c32: int | None,
    *,
    reset: bool,
) -> Fake | None:
    """Is this HC column a fake of a cheap switch?

    Stuck: it reads 0 while its 32-bit twin reads more than 0 (a real HC
    counter equals its twin modulo 2^32). Wraps at 32 bits: it went down from
    below 2^32 with no reboot or discontinuity (a real 64-bit counter does not
    wrap in the lifetime of a device).
    """
    if hc == 0 and c32 is not None and c32 > 0:
        return Fake.STUCK
    if not reset and last_hc is not None and hc < last_hc < COUNTER32_WRAP:
        return Fake.WRAPS_32
    return None


def wrap_risk(speed_bytes: float | None, interval: float) -> bool:
    """Could this line carry 2^32 bytes in one interval (a 32-bit counter wrap between polls)?"""
    return speed_bytes is not None and speed_bytes * interval >= COUNTER32_WRAP
